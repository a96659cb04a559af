//! `myhealthctl drift ENV`: has the live platform drifted from the code?
//! Terraform's refresh-only plan of the environment's root, per resource
//! and attribute (state → live), each attributed to the key of
//! `myhealth.toml` that owns it where one does; with `--argocd-server`, the
//! sync and health of the environment's Applications (`ops::live`). Exit
//! codes as `plan`: 0 no drift, 2 drift, 1 an error.

use clap::Args;

use crate::args::{Global, InitArgs, TreeArgs};
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
    /// Print as JSON
    #[arg(long, conflicts_with = "markdown")]
    pub json: bool,
    /// Print as Markdown (the scheduled workflow's issue body)
    #[arg(long)]
    pub markdown: bool,
    #[command(flatten)]
    pub init: InitArgs,
}

impl DriftCmd {
    pub fn run(self, g: &Global) -> anyhow::Result<Outcome> {
        let p = Project::locate(g)?;
        let cfg = p.load()?;
        let t = p.target(&cfg, &self.env, &self.args)?;
        // The owning keys are read off the config: the tree must be its render.
        if drift::gate(&p, &cfg, &t.render)? != Outcome::Ok {
            return Ok(Outcome::Differs);
        }
        terraform::init(&terraform::init_argv(&t.tf_dir, &self.init), t.name())?;
        // Once terraform runs, a failure exits 1, as `plan` does (2 would read as drift).
        let mut report = match live::terraform_drift(&t.tf_dir, t.name()) {
            Ok(r) => r,
            Err(e) => {
                eprintln!("error: {e:#}");
                return Ok(Outcome::Failed);
            }
        };
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
        if self.json {
            crate::outln!("{}", serde_json::to_string_pretty(&report)?);
        } else {
            crate::out!("{}", live::text(&report, self.markdown));
        }
        Ok(if report.drifted() { Outcome::Changes } else { Outcome::Ok })
    }
}
