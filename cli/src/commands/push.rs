//! `myhealthctl push ENV [SERVICE…]`: push the images `build` wrote to the
//! environment's registry (its ECR, or `--registry`), as
//! `<registry>/<project>/<service>:<tag>`, and record the digests in
//! `target/images/pushed-<env>.json` for `deploy`.

use anyhow::{Context, bail};
use clap::Args;

use crate::cli::{Global, Outcome, Project};
use crate::registry::{self, Pushed};

#[derive(Args, Debug)]
pub struct PushCmd {
    /// The environment whose registry receives the images
    #[arg(value_name = "ENV")]
    pub env: String,
    /// Services to push [default: every image `build` wrote]
    #[arg(value_name = "SERVICE")]
    pub services: Vec<String>,
    /// Another registry (`host[:port]`) instead of the environment's ECR
    #[arg(long, value_name = "HOST")]
    pub registry: Option<String>,
    /// Print what was pushed as JSON
    #[arg(long)]
    pub json: bool,
}

impl PushCmd {
    pub fn run(self, g: &Global) -> anyhow::Result<Outcome> {
        let p = Project::locate(g)?;
        let cfg = p.load()?;
        p.render_options(&cfg, &crate::cli::RenderArgs { envs: vec![self.env.clone()], ..Default::default() })?;
        let pushed = push(&p, &cfg, &self.env, &self.services, self.registry.as_deref())?;
        if self.json {
            crate::outln!("{}", serde_json::to_string_pretty(&pushed)?);
        } else {
            for x in &pushed {
                let note = if x.already_present { " (already there)" } else { "" };
                crate::outln!("{:<16} {}:{}@{}{note}", x.service, x.repository, x.tag, x.digest);
            }
        }
        Ok(Outcome::Ok)
    }
}

/// Push and record; shared with `deploy`.
pub fn push(
    p: &Project,
    cfg: &crate::config::Config,
    env: &str,
    services: &[String],
    registry: Option<&str>,
) -> anyhow::Result<Vec<Pushed>> {
    let e = cfg.env(env).context("no such environment")?;
    let known = cfg.service_names();
    for s in services {
        if !known.contains(s) {
            bail!(
                "no service `{s}` in the config; services: {}",
                known.iter().map(|n| format!("`{n}`")).collect::<Vec<_>>().join(", ")
            );
        }
    }
    let images = super::build::images_dir(&p.root);
    let built: Vec<crate::image::Built> = serde_json::from_slice(
        &std::fs::read(images.join("images.json")).context("no images built yet: run `myhealthctl build` first")?,
    )?;
    for s in services {
        if !built.iter().any(|b| &b.service == s) {
            bail!("no image of `{s}` was built: run `myhealthctl build {s}`");
        }
    }
    let names = crate::names::Names::of(cfg, e);
    let host = registry.map(str::to_string).unwrap_or_else(|| names.ecr_host());
    let auth = registry::credentials(&host)?;
    let mut pushed = Vec::new();
    for b in built.iter().filter(|b| services.is_empty() || services.contains(&b.service)) {
        let repository = format!("{host}/{}", names.ecr_repository(&b.service));
        pushed.push(registry::push(&b.layout, &b.service, &repository, &b.tag, &auth)?);
    }
    super::build::write_atomic(&images.join(format!("pushed-{env}.json")), &serde_json::to_vec_pretty(&pushed)?)?;
    Ok(pushed)
}
