//! `[argocd]`: every chart and ArgoCD itself pinned to an exact version,
//! production synced by hand, the target revision a git ref.

use super::ctx::*;
use super::grammar::*;

/// `[argocd]`: pinned versions, production syncs by hand, the revision is a git ref.
pub(super) fn argocd(c: &mut Ctx<'_, '_>) {
    let e = c.env;
    if let Some(r) = &e.argocd.repository_credential {
        secret_ref(c, r, "argocd.repository_credential");
    }
    let charts = &e.argocd.charts;
    for (key, v) in [
        ("argocd.charts.istio", &charts.istio),
        ("argocd.charts.external_secrets", &charts.external_secrets),
        ("argocd.charts.kube_prometheus_stack", &charts.kube_prometheus_stack),
        ("argocd.charts.metrics_server", &charts.metrics_server),
        ("argocd.charts.cluster_autoscaler", &charts.cluster_autoscaler),
        ("argocd.charts.aws_load_balancer_controller", &charts.aws_load_balancer_controller),
        ("argocd.version", &e.argocd.version),
    ] {
        let parts: Vec<&str> = v.value.split('.').collect();
        if parts.len() != 3 || parts.iter().any(|p| p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit())) {
            c.err(
                v,
                key,
                format!("`{}` is not a pinned chart version", v.value),
                "pin an exact version, e.g. `1.27.3` (ranges and `latest` would make renders drift)",
            );
        }
    }
    if e.production.value && e.argocd.auto_sync.value {
        c.err(
            &e.argocd.auto_sync,
            "argocd.auto_sync",
            "production syncs manually".to_string(),
            format!("set `auto_sync = false` under `[environments.{}.argocd]`: a production change is synced by a person after review", e.name.value),
        );
    }
    if !git_ref(&e.argocd.target_revision.value) {
        c.err(
            &e.argocd.target_revision,
            "argocd.target_revision",
            format!("`{}` is not a git branch, tag or commit", e.argocd.target_revision.value.escape_debug()),
            "name a branch or tag (letters, digits, `.`, `_`, `-`, `/`), e.g. `main`, or a commit's full SHA",
        );
    }
}
