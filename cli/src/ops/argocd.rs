//! ArgoCD's API (the `argocd-server` REST gateway, `/api/v1/applications`):
//! read an Application's sync and health status and the images it runs
//! (`status.summary.images`), ask for a sync, wait until it has synced a
//! revision and is healthy. The server is `--argocd-server` / `ARGOCD_SERVER`
//! (the argocd CLI's variable), the token `ARGOCD_AUTH_TOKEN` — read from
//! the environment only, sent as a bearer token, never printed.

use std::time::{Duration, Instant};

use anyhow::bail;
use serde::Serialize;

mod status;
pub use status::{HealthStatus, OperationPhase, SyncStatus};

/// The environment variable holding the API token.
pub const TOKEN_VAR: &str = "ARGOCD_AUTH_TOKEN";

/// One ArgoCD server.
pub struct Client {
    api: super::api::JsonApi,
}

/// What an Application reports (the fields of its `status` we act on).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct App {
    pub name: String,
    pub sync: SyncStatus,
    /// The revision last synced (a commit id).
    pub revision: String,
    pub health: HealthStatus,
    /// The last operation's phase, if any.
    pub phase: Option<OperationPhase>,
    /// The revision the last sync operation applied (`operationState.syncResult.revision`).
    /// `sync.revision` moves on a mere comparison; this only when a sync ran.
    pub synced: Option<String>,
    /// `spec.syncPolicy.automated` is set: ArgoCD syncs a new commit by itself.
    pub automated: bool,
    pub message: Option<String>,
    /// Why ArgoCD could not compare it with git (a `ComparisonError`
    /// condition: the repository unreadable, the chart unrenderable) —
    /// nothing can sync until that is fixed.
    pub comparison_error: Option<String>,
    /// Every container image the Application's resources use.
    pub images: Vec<String>,
}

impl App {
    /// Synced to git and healthy: nothing to report.
    pub fn in_sync_and_healthy(&self) -> bool {
        self.sync == SyncStatus::Synced && self.health == HealthStatus::Healthy
    }
}

impl Client {
    /// `server` is a URL (`https://argocd.example.com`) or a host
    /// (`https://` is assumed); `insecure` accepts a self-signed
    /// certificate (argocd-server's own, behind `kubectl port-forward`).
    pub fn new(server: &str, insecure: bool) -> anyhow::Result<Client> {
        let base = if server.contains("://") { server.to_string() } else { format!("https://{server}") };
        let token = std::env::var(TOKEN_VAR).ok().filter(|t| !t.is_empty());
        let api = super::api::JsonApi::new("ArgoCD", &base, token, insecure, reqwest::header::HeaderMap::new())?;
        Ok(Client { api })
    }

    /// One request that must succeed: its JSON body.
    fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<serde_json::Value>,
    ) -> anyhow::Result<serde_json::Value> {
        let (status, json) = self.api.request(method, path, body.as_ref())?;
        if status.is_success() {
            return Ok(json);
        }
        let said = json["message"].as_str().or(json["error"].as_str()).unwrap_or("").to_string();
        match status.as_u16() {
            401 | 403 => {
                bail!("ArgoCD refused the request ({status}): is `{TOKEN_VAR}` set to a token allowed to sync? {said}")
            }
            404 => bail!("ArgoCD has no such application ({path}): {said}"),
            _ => bail!("ArgoCD answered {status} to {path}: {said}"),
        }
    }

    /// The Application `name`, refreshed from git first when `refresh`.
    pub fn app(&self, name: &str, refresh: bool) -> anyhow::Result<App> {
        let q = if refresh { "?refresh=normal" } else { "" };
        let v = self.call(reqwest::Method::GET, &format!("/api/v1/applications/{name}{q}"), None)?;
        let st = &v["status"];
        let s = |x: &serde_json::Value| x.as_str().map(str::to_string);
        Ok(App {
            name: name.to_string(),
            sync: st["sync"]["status"].as_str().map_or(SyncStatus::Unknown, SyncStatus::parse),
            revision: s(&st["sync"]["revision"]).unwrap_or_default(),
            health: st["health"]["status"].as_str().map_or(HealthStatus::Unknown, HealthStatus::parse),
            phase: st["operationState"]["phase"].as_str().map(OperationPhase::parse),
            synced: s(&st["operationState"]["syncResult"]["revision"]),
            automated: v["spec"]["syncPolicy"]["automated"].is_object(),
            message: s(&st["operationState"]["message"]).or_else(|| s(&st["health"]["message"])),
            comparison_error: st["conditions"]
                .as_array()
                .into_iter()
                .flatten()
                .find(|c| c["type"] == "ComparisonError")
                .and_then(|c| s(&c["message"])),
            images: st["summary"]["images"]
                .as_array()
                .map(|a| a.iter().filter_map(|i| i.as_str().map(str::to_string)).collect())
                .unwrap_or_default(),
        })
    }

    /// Refresh `name` from git, then — unless ArgoCD syncs it by itself
    /// (auto-sync: the refresh already started that sync) — sync it to its
    /// target revision (the branch it follows; ArgoCD refuses another
    /// revision while auto-sync is on), pruning. A sync already under way
    /// is the one wanted.
    pub fn sync(&self, name: &str) -> anyhow::Result<()> {
        if self.app(name, true)?.automated {
            return Ok(());
        }
        match self.call(
            reqwest::Method::POST,
            &format!("/api/v1/applications/{name}/sync"),
            Some(serde_json::json!({ "name": name, "prune": true })),
        ) {
            Err(e) if format!("{e:#}").contains("another operation is already in progress") => Ok(()),
            r => r.map(|_| ()),
        }
    }

    /// Wait until a sync operation of `name` has applied `revision` (or a
    /// revision `contains` says includes it) and, that done, the
    /// application is synced and healthy; fail as soon as that operation
    /// fails or leaves it degraded. The state before that operation — an
    /// old failure, a comparison that already names the new commit — is
    /// not judged.
    pub fn wait(
        &self,
        name: &str,
        revision: &str,
        timeout: Duration,
        contains: &dyn Fn(&str) -> bool,
    ) -> anyhow::Result<App> {
        let deadline = Instant::now() + timeout;
        loop {
            let a = self.app(name, false)?;
            if let Some(why) = &a.comparison_error {
                // ArgoCD reports a repository error only once it has lasted
                // its grace period (`--repo-error-grace-period-seconds`), so
                // it is not waited out.
                let hint = if why.contains("authentication required") {
                    ": the repository is private and ArgoCD has no credential for it — set `argocd.repository_credential` and create its first repository Secret (docs/deploy.md, \"A private repository\"); `myhealthctl doctor --argocd-server` checks it"
                } else {
                    ""
                };
                bail!("ArgoCD cannot compare `{name}` with git: {why}{hint}");
            }
            let at = a.synced.as_deref().is_some_and(|r| r == revision || contains(r));
            let done = at && a.phase == Some(OperationPhase::Succeeded);
            if done && a.sync == SyncStatus::Synced && a.health == HealthStatus::Healthy {
                return Ok(a);
            }
            if at
                && (matches!(a.phase, Some(OperationPhase::Failed | OperationPhase::Error))
                    || (done && a.health == HealthStatus::Degraded))
            {
                bail!(
                    "`{name}` at {} is {} ({}){}",
                    super::release::short(revision),
                    a.health,
                    a.phase.as_ref().map_or("no operation", OperationPhase::as_str),
                    a.message.map(|m| format!(": {m}")).unwrap_or_default()
                );
            }
            if Instant::now() >= deadline {
                bail!(
                    "`{name}` did not become synced and healthy at {} within {} s (it is {} at {}, {})",
                    super::release::short(revision),
                    timeout.as_secs(),
                    a.sync,
                    super::release::short(a.synced.as_deref().unwrap_or(&a.revision)),
                    a.health
                );
            }
            std::thread::sleep(Duration::from_millis(500));
        }
    }
}

impl Client {
    /// The repository `url` as ArgoCD holds it (`connectionState`: whether
    /// it can read it with the credential it holds); `None` when ArgoCD
    /// holds no repository of that URL — or the token may not see it:
    /// ArgoCD answers both with PermissionDenied, so as not to say which
    /// repositories exist (server/repository/repository.go).
    pub fn repository(&self, url: &str) -> anyhow::Result<Option<serde_json::Value>> {
        // One path segment: its `/` and `:` escaped too.
        let enc = percent_encoding::utf8_percent_encode(url, percent_encoding::NON_ALPHANUMERIC);
        let path = format!("/api/v1/repositories/{enc}");
        match self.api.request(reqwest::Method::GET, &path, None)? {
            (s, v) if s.is_success() => Ok(Some(v)),
            (s, _) if s == reqwest::StatusCode::FORBIDDEN && self.api.has_token() => Ok(None),
            _ => self.call(reqwest::Method::GET, &path, None).map(Some),
        }
    }
}

/// One resource of an Application, as ArgoCD's resource tree reports it.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Resource {
    pub kind: String,
    pub namespace: String,
    pub name: String,
    /// ArgoCD's health of it (for an ExternalSecret: whether it synced its Secret).
    pub health: HealthStatus,
    pub message: Option<String>,
}

impl Client {
    /// The ExternalSecrets of `name` and their health (ArgoCD's built-in
    /// health check of `external-secrets.io/ExternalSecret` reads its
    /// `Ready` condition: Degraded when the store refused it).
    pub fn external_secrets(&self, name: &str) -> anyhow::Result<Vec<Resource>> {
        let v = self.call(reqwest::Method::GET, &format!("/api/v1/applications/{name}/resource-tree"), None)?;
        let s = |x: &serde_json::Value| x.as_str().unwrap_or_default().to_string();
        Ok(v["nodes"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|n| n["kind"] == "ExternalSecret")
            .map(|n| Resource {
                kind: s(&n["kind"]),
                namespace: s(&n["namespace"]),
                name: s(&n["name"]),
                health: n["health"]["status"].as_str().map_or(HealthStatus::Unknown, HealthStatus::parse),
                message: n["health"]["message"].as_str().map(str::to_string),
            })
            .collect())
    }
}

/// The recorded digests `live` does not run (service → digest).
pub fn missing<'r>(record: &'r super::release::Record, live: &[String]) -> Vec<(&'r str, &'r str)> {
    record
        .images
        .iter()
        .filter(|(_, d)| !live.iter().any(|i| i.ends_with(&format!("@{d}"))))
        .map(|(s, d)| (s.as_str(), d.as_str()))
        .collect()
}
