//! What each environment runs (`myhealthctl status`): from its release
//! record (commit, chart, digest per service; a service without one runs by
//! tag), who rolls it out (ArgoCD, syncing automatically or by hand, or
//! Helm through `deploy`), and — for one environment whose ArgoCD is
//! reachable — what is live: the sync status, the revision, the health and
//! whether the running images are the recorded ones. Typed rows: `Serialize`
//! for `--json`, `Display` for the text.

use std::fmt;

use serde::Serialize;

use crate::config::Config;
use crate::exit::Outcome;
use crate::names::{CHART_VERSION, Names};
use crate::ops::argocd::{self, App, Client, HealthStatus, Resource};
use crate::ops::release::{Record, short};
use crate::project::Project;

/// The rows of the environments `only` names (every one when empty), with
/// what is live when `server` (ArgoCD's API, `insecure`: its self-signed
/// certificate accepted) is given for one environment; `Differs` when what
/// is live is not what is recorded.
pub fn rows(
    p: &Project,
    cfg: &Config,
    only: &[String],
    server: Option<&String>,
    insecure: bool,
) -> anyhow::Result<(Vec<Row>, Outcome)> {
    let mut rows = Vec::new();
    let mut outcome = Outcome::Ok;
    for e in p.environments(cfg, only)? {
        let n = Names::of(cfg, e);
        let record = Record::of(e);
        let rolled_out_by = match (e.argocd.manage_release.value, e.argocd.auto_sync.value, e.release.is_some()) {
            (true, true, true) => "ArgoCD (syncs automatically)",
            (true, true, false) => "ArgoCD (syncs automatically from its first release)",
            (true, false, _) => "ArgoCD (synced by its release job, or by hand)",
            (false, ..) => "Helm (myhealthctl deploy)",
        };
        let by_tag: Vec<String> = e
            .services
            .iter()
            .map(|s| s.name.value.clone())
            .filter(|s| record.as_ref().is_none_or(|r| !r.images.contains_key(s)))
            .collect();
        // Live for the one environment named: a server is one cluster's.
        let live = match (server.filter(|_| only.len() == 1), e.argocd.manage_release.value) {
            (Some(server), true) => {
                let client = Client::new(server, insecure)?;
                let application = client.app(&n.argocd_app(), false)?;
                let external_secrets = client.external_secrets(&n.argocd_app())?;
                let not_running_recorded: Vec<String> = record
                    .as_ref()
                    .map(|r| argocd::missing(r, &application.images).into_iter().map(|(s, _)| s.to_string()).collect())
                    .unwrap_or_default();
                let live = Live { application, not_running_recorded, external_secrets };
                if !live.as_recorded() {
                    outcome = Outcome::Differs;
                }
                Some(live)
            }
            _ => None,
        };
        rows.push(Row {
            environment: e.name.value.clone(),
            rolled_out_by,
            record,
            by_tag,
            tag: CHART_VERSION,
            live,
            live_not_asked: server.is_none() && only.len() == 1,
        });
    }
    Ok((rows, outcome))
}

/// One environment, as `status` reports it (`--json`: one element of the
/// array; the text: its [`Display`](fmt::Display)).
#[derive(Serialize)]
pub struct Row {
    environment: String,
    rolled_out_by: &'static str,
    record: Option<Record>,
    /// Services the record does not pin: they run the chart's tag.
    by_tag: Vec<String>,
    tag: &'static str,
    live: Option<Live>,
    /// ENV was named without a server: the text says how to ask (not in the JSON).
    #[serde(skip)]
    live_not_asked: bool,
}

/// What ArgoCD reports live for the environment.
#[derive(Serialize)]
pub struct Live {
    application: App,
    /// Services whose recorded digest no live image carries.
    not_running_recorded: Vec<String>,
    external_secrets: Vec<Resource>,
}

impl Live {
    /// Synced, healthy, its secrets synced and running the recorded images.
    fn as_recorded(&self) -> bool {
        self.not_running_recorded.is_empty()
            && self.application.in_sync_and_healthy()
            && self.external_secrets.iter().all(|s| s.health == HealthStatus::Healthy)
    }
}

impl fmt::Display for Row {
    /// The text lines of one environment (no final newline).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}  — rolled out by {}", self.environment, self.rolled_out_by)?;
        match &self.record {
            None => write!(f, "\n  no release record: every service runs the tag `{}`", self.tag)?,
            Some(rec) => {
                write!(f, "\n  release: commit {}, chart {}", short(&rec.commit), rec.chart)?;
                for (s, d) in &rec.images {
                    write!(f, "\n    {s:<16} {}", short(d))?;
                }
            }
        }
        for s in &self.by_tag {
            write!(f, "\n    {s:<16} by tag `{}` (not in the record)", self.tag)?;
        }
        if let Some(live) = &self.live {
            let a = &live.application;
            write!(f, "\n  live ({}): {}, {} at {}", a.name, a.sync, a.health, short(&a.revision))?;
            for s in &live.external_secrets {
                write!(f, "\n  ExternalSecret {}/{}: {}", s.namespace, s.name, s.health)?;
            }
            if live.not_running_recorded.is_empty() {
                write!(f, "\n  live images: the recorded ones")?;
            } else {
                write!(f, "\n  live images: NOT the recorded ones for {}", live.not_running_recorded.join(", "))?;
            }
        } else if self.live_not_asked {
            write!(f, "\n  live: not asked (`--argocd-server` or `ARGOCD_SERVER` reaches its ArgoCD)")?;
        }
        Ok(())
    }
}
