//! `myhealthctl drift ENV`: has the live platform drifted from the code?
//! Terraform's refresh-only plan of the environment's root, per resource
//! and attribute (state → live), each attributed to the key of
//! `myhealth.toml` that owns it where one does; with `--argocd-server`, the
//! sync and health of the environment's Applications (`ops::live`). Exit
//! codes (`crate::exit`): 0 no drift, 1 drift, 2 an error, 3 refused.

use clap::Args;

use crate::args::{Format, Global, InitArgs, TreeArgs};
use crate::exit::Outcome;
use crate::names::Names;
use crate::ops::{argocd, drift, live, terraform};
use crate::project::Project;

#[derive(Args, Debug)]
pub struct DriftCmd {
    /// The environment to check
    #[arg(value_name = "ENV")]
    pub env: String,
    #[command(flatten)]
    pub args: TreeArgs,
    /// ArgoCD's API of the environment's cluster (token in `ARGOCD_AUTH_TOKEN`)
    #[arg(long, env = "ARGOCD_SERVER", value_name = "URL")]
    pub argocd_server: Option<String>,
    /// Accept argocd-server's self-signed certificate
    #[arg(long, env = "ARGOCD_INSECURE")]
    pub argocd_insecure: bool,
    /// Output format (markdown: the scheduled workflow's issue body)
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// Same as `--format json`
    #[arg(long, conflicts_with = "format")]
    pub json: bool,
    /// Same as `--format markdown`
    #[arg(long, conflicts_with_all = ["format", "json"], hide = true)]
    pub markdown: bool,
    #[command(flatten)]
    pub init: InitArgs,
}

impl DriftCmd {
    pub fn run(self, g: &Global) -> anyhow::Result<Outcome> {
        let p = Project::locate(g)?;
        let cfg = p.read()?;
        let t = p.target(&cfg, &self.env, &self.args)?;
        // The owning keys are read off the config: the tree must be its render.
        drift::require_fresh(&p, &cfg, &t.render, &format!("drift of `{}` not checked", t.name()))?;
        terraform::init(&terraform::init_command(&t.tf_dir, &self.init), t.name())?;
        let mut report = live::terraform_drift(&t.tf_dir, t.name())?;
        if let Some(server) = &self.argocd_server {
            let c = argocd::Client::new(server, self.argocd_insecure)?;
            let n = Names::of(&cfg, t.env);
            let mut apps = vec![c.app(&n.argocd_root_app(), true)?];
            if t.env.argocd.manage_release.value {
                apps.push(c.app(&n.argocd_app(), true)?);
                report.external_secrets = Some(c.external_secrets(&n.argocd_app())?);
            }
            report.applications = Some(apps);
        }
        match self.format() {
            Format::Json => crate::outln!("{}", serde_json::to_string_pretty(&report)?),
            Format::Markdown => crate::out!("{}", live::text(&report, true)),
            Format::Text => crate::out!("{}", live::text(&report, false)),
        }
        Ok(if report.drifted() { Outcome::Differs } else { Outcome::Ok })
    }

    pub fn format(&self) -> Format {
        match (self.json, self.markdown) {
            (true, _) => Format::Json,
            (_, true) => Format::Markdown,
            _ => self.format,
        }
    }
}
