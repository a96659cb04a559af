//! `myhealthctl push ENV [SERVICE…]`: push the images `build` wrote to the
//! environment's registry (its ECR, or `--registry`), as
//! `<registry>/<project>/<service>:<tag>`, and record the digests in
//! `target/images/pushed-<env>.json` for `deploy` (`ops::images`).

use anyhow::bail;
use clap::Args;

use crate::args::Global;
use crate::exit::Outcome;
use crate::ops::images;
use crate::project::Project;

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
        let env = p.environment(&cfg, &self.env)?;
        let known = cfg.service_names();
        for s in &self.services {
            if !known.contains(s) {
                bail!(
                    "no service `{s}` in the config; services: {}",
                    known.iter().map(|n| format!("`{n}`")).collect::<Vec<_>>().join(", ")
                );
            }
        }
        // Each image under the tag it was built with.
        let built = images::built_images(&p)?;
        for s in &self.services {
            if !built.iter().any(|b| &b.service == s) {
                bail!("no image of `{s}` was built: run `myhealthctl build {s}`");
            }
        }
        let tagged: Vec<(String, String)> = built
            .into_iter()
            .filter(|b| self.services.is_empty() || self.services.contains(&b.service))
            .map(|b| (b.service, b.tag))
            .collect();
        let (host, plan) = images::push_plan(&cfg, env, &tagged, self.registry.as_deref());
        let pushed = images::push(&p, env, &host, &plan)?;
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
