//! `myhealthctl status [ENV]`: what each environment runs, from its release
//! record (commit, chart, digest per service; a service without one runs by
//! tag), who rolls it out (ArgoCD, syncing automatically or by hand, or
//! Helm through `deploy`), and — for ENV, where its ArgoCD is reachable
//! (`--argocd-server`) — what is live: the sync status, the revision, the
//! health and whether the running images are the recorded ones
//! (`ops::status`, over `ops::release` and `ops::argocd`).

use clap::Args;

use crate::args::Global;
use crate::exit::Outcome;
use crate::project::Project;

#[derive(Args, Debug)]
pub struct StatusCmd {
    /// One environment (with what is live, given `--argocd-server`) [default: all, from the records]
    #[arg(value_name = "ENV")]
    pub env: Option<String>,
    /// ArgoCD's API of ENV's cluster (URL or host; token in `ARGOCD_AUTH_TOKEN`)
    #[arg(long, env = "ARGOCD_SERVER", value_name = "URL")]
    pub argocd_server: Option<String>,
    /// Accept argocd-server's self-signed certificate (behind `kubectl port-forward`)
    #[arg(long, env = "ARGOCD_INSECURE")]
    pub argocd_insecure: bool,
    /// Print as JSON
    #[arg(long)]
    pub json: bool,
}

impl StatusCmd {
    pub fn run(self, g: &Global) -> anyhow::Result<Outcome> {
        let p = Project::locate(g)?;
        let cfg = p.read()?;
        let only: Vec<String> = self.env.iter().cloned().collect();
        let (rows, outcome) =
            crate::ops::status::rows(&p, &cfg, &only, self.argocd_server.as_ref(), self.argocd_insecure)?;
        if self.json {
            crate::outln!("{}", serde_json::to_string_pretty(&rows)?);
            return Ok(outcome);
        }
        for (i, r) in rows.iter().enumerate() {
            if i > 0 {
                crate::outln!();
            }
            crate::outln!("{r}");
        }
        Ok(outcome)
    }
}
