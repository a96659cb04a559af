//! `myhealthctl status [ENV]`: what each environment runs, from its release
//! record (commit, chart, digest per service; a service without one runs by
//! tag), who rolls it out (ArgoCD, syncing automatically or by hand, or
//! Helm through `deploy`), and — for ENV, where its ArgoCD is reachable
//! (`--argocd-server`) — what is live: the sync status, the revision, the
//! health and whether the running images are the recorded ones
//! (`ops::release`, `ops::argocd`).

use clap::Args;

use crate::args::Global;
use crate::exit::Outcome;
use crate::names::Names;
use crate::ops::argocd::{self, Client};
use crate::ops::release::{Record, short};
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
        let mut rows = Vec::new();
        let mut outcome = Outcome::Ok;
        for e in p.environments(&cfg, &only)? {
            let n = Names::of(&cfg, e);
            let record = Record::of(e);
            let by = match (e.argocd.manage_release.value, e.argocd.auto_sync.value, e.release.is_some()) {
                (true, true, true) => "ArgoCD (syncs automatically)",
                (true, true, false) => "ArgoCD (syncs automatically from its first release)",
                (true, false, _) => "ArgoCD (synced by its release job, or by hand)",
                (false, ..) => "Helm (myhealthctl deploy)",
            };
            let unpinned: Vec<String> = e
                .services
                .iter()
                .map(|s| s.name.value.clone())
                .filter(|s| record.as_ref().is_none_or(|r| !r.images.contains_key(s)))
                .collect();
            // Live for the one environment named: a server is one cluster's.
            let live = match (self.argocd_server.as_ref().filter(|_| self.env.is_some()), e.argocd.manage_release.value)
            {
                (Some(server), true) => {
                    let client = Client::new(server, self.argocd_insecure)?;
                    let app = client.app(&n.argocd_app(), false)?;
                    let secrets = client.external_secrets(&n.argocd_app())?;
                    let missing: Vec<String> = record
                        .as_ref()
                        .map(|r| argocd::missing(r, &app.images).into_iter().map(|(s, _)| s.to_string()).collect())
                        .unwrap_or_default();
                    if !missing.is_empty()
                        || app.sync != "Synced"
                        || app.health != "Healthy"
                        || secrets.iter().any(|s| s.health != "Healthy")
                    {
                        outcome = Outcome::Differs;
                    }
                    Some(
                        serde_json::json!({ "application": app, "not_running_recorded": missing, "external_secrets": secrets }),
                    )
                }
                _ => None,
            };
            rows.push(serde_json::json!({
                "environment": e.name.value, "rolled_out_by": by, "record": record,
                "by_tag": unpinned, "tag": crate::names::CHART_VERSION, "live": live,
            }));
        }
        if self.json {
            crate::outln!("{}", serde_json::to_string_pretty(&rows)?);
            return Ok(outcome);
        }
        for (i, r) in rows.iter().enumerate() {
            if i > 0 {
                crate::outln!();
            }
            crate::outln!(
                "{}  — rolled out by {}",
                r["environment"].as_str().unwrap_or(""),
                r["rolled_out_by"].as_str().unwrap_or("")
            );
            match r["record"].as_object() {
                None => {
                    crate::outln!("  no release record: every service runs the tag `{}`", crate::names::CHART_VERSION)
                }
                Some(rec) => {
                    crate::outln!(
                        "  release: commit {}, chart {}",
                        short(rec["commit"].as_str().unwrap_or("")),
                        rec["chart"].as_str().unwrap_or("")
                    );
                    for (s, d) in rec["images"].as_object().into_iter().flatten() {
                        crate::outln!("    {s:<16} {}", short(d.as_str().unwrap_or("")));
                    }
                }
            }
            for s in r["by_tag"].as_array().into_iter().flatten() {
                crate::outln!(
                    "    {:<16} by tag `{}` (not in the record)",
                    s.as_str().unwrap_or(""),
                    crate::names::CHART_VERSION
                );
            }
            if let Some(live) = r["live"].as_object() {
                let a = &live["application"];
                crate::outln!(
                    "  live ({}): {}, {} at {}",
                    a["name"].as_str().unwrap_or(""),
                    a["sync"].as_str().unwrap_or(""),
                    a["health"].as_str().unwrap_or(""),
                    short(a["revision"].as_str().unwrap_or(""))
                );
                let missing: Vec<&str> =
                    live["not_running_recorded"].as_array().into_iter().flatten().filter_map(|v| v.as_str()).collect();
                for s in live["external_secrets"].as_array().into_iter().flatten() {
                    crate::outln!(
                        "  ExternalSecret {}/{}: {}",
                        s["namespace"].as_str().unwrap_or(""),
                        s["name"].as_str().unwrap_or(""),
                        s["health"].as_str().unwrap_or("")
                    );
                }
                if missing.is_empty() {
                    crate::outln!("  live images: the recorded ones");
                } else {
                    crate::outln!("  live images: NOT the recorded ones for {}", missing.join(", "));
                }
            } else if self.argocd_server.is_none() && self.env.is_some() {
                crate::outln!("  live: not asked (`--argocd-server` or `ARGOCD_SERVER` reaches its ArgoCD)");
            }
        }
        Ok(outcome)
    }
}
