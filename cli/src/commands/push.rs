//! `myhealthctl push ENV [SERVICE…]`: push the images `build` wrote to the
//! environment's registry (its ECR, or `--registry`), as
//! `<registry>/<project>/<service>:<tag>`, and record the digests in
//! `target/images/pushed-<env>.json` for `deploy` (`ops::images`). With
//! `--record`, the digests become the environment's release record in
//! `myhealth.toml` (and the tree is rendered again); with `--verify-record`,
//! a digest other than the record's is refused (a promotion's rebuild at the
//! recorded commit must give the recorded images).

use anyhow::bail;
use clap::Args;

use crate::args::{Global, TreeArgs};
use crate::exit::Outcome;
use crate::ops::{images, release};
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
    /// Write the pushed digests as the environment's release record (`[environments.ENV.release]`) and render
    #[arg(long, conflicts_with = "verify_record")]
    pub record: bool,
    /// Exit 1 unless every pushed digest is the one the environment's release record names
    #[arg(long)]
    pub verify_record: bool,
    #[command(flatten)]
    pub tree: TreeArgs,
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
        // Before anything is pushed: the commit the record will name.
        let commit = if self.record { Some(release::build_commit(&p.root)?) } else { None };
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
        let name = env.name.value.clone();
        if self.verify_record {
            let Some(rec) = release::Record::of(env) else {
                eprintln!("error: `{name}` has no release record to verify against");
                return Ok(Outcome::Differs);
            };
            let wrong: Vec<String> = pushed
                .iter()
                .filter(|x| rec.images.get(&x.service) != Some(&x.digest))
                .map(|x| {
                    let want = rec.images.get(&x.service).map_or("no digest".to_string(), |d| release::short(d));
                    format!("`{}`: pushed {}, the record names {want}", x.service, release::short(&x.digest))
                })
                .collect();
            if !wrong.is_empty() {
                eprintln!("error: the pushed images are not the release of `{name}`:\n  {}", wrong.join("\n  "));
                return Ok(Outcome::Differs);
            }
            eprintln!("the pushed images are the release record of `{name}`");
        }
        if let Some(commit) = commit {
            images::pin_release(&p, &host, &pushed)?;
            let old = release::Record::of(env);
            let new = release::Record::pushed(old.clone(), &pushed, commit);
            release::record(&p, &name, &new)?;
            let (_, changed) = release::rerender(&p, &self.tree)?;
            for line in release::changes(old.as_ref(), &new) {
                eprintln!("   {line}");
            }
            eprintln!(
                "recorded the release of `{name}` in `{}` (rendered: {changed} files changed); commit both for review",
                p.display
            );
        }
        Ok(Outcome::Ok)
    }
}
