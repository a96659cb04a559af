//! Rules across environments: cluster names unique per account and region;
//! API hosts unique; project-wide CI keys not set per environment.

use std::collections::BTreeMap;

use super::ctx::*;
use crate::config::doc::Doc;
use crate::config::model::*;
use crate::diagnostics::Diagnostic;

pub(super) fn cross_environment(doc: &Doc<'_>, cfg: &Config, out: &mut Vec<Diagnostic>) {
    // Two environments in one account and region cannot share a cluster name.
    let mut seen: BTreeMap<(String, String, String), String> = BTreeMap::new();
    for e in &cfg.environments {
        let key = (e.aws.account_id.value.clone(), e.aws.region.value.clone(), e.eks.cluster_name.value.clone());
        if let Some(first) = seen.get(&key) {
            let mut c = Ctx { doc, env: e, out, project: &cfg.project };
            c.err(
                &e.eks.cluster_name,
                "eks.cluster_name",
                format!(
                    "environments `{first}` and `{}` both name their EKS cluster `{}` in account `{}` {}",
                    e.name.value, key.2, key.0, key.1
                ),
                format!(
                    "set a distinct `eks.cluster_name` in `[environments.{}.eks]`, e.g. `{}-{}`",
                    e.name.value, key.2, e.name.value
                ),
            );
        } else {
            seen.insert(key, e.name.value.clone());
        }
    }
    // Two environments on one API host would claim the same custom domain,
    // certificate and DNS record.
    let mut hosts: BTreeMap<String, String> = BTreeMap::new();
    for e in &cfg.environments {
        let host = &e.api_gateway.host;
        match hosts.get(&host.value) {
            Some(first) => {
                let mut c = Ctx { doc, env: e, out, project: &cfg.project };
                c.err(
                    host,
                    "api_gateway.host",
                    format!("environments `{first}` and `{}` are both served on `{}`", e.name.value, host.value),
                    format!(
                        "give each environment its own: set `host` in `[environments.{}.api_gateway]`, e.g. `{}.{}`",
                        e.name.value, e.name.value, cfg.project.api_host.value
                    ),
                );
            }
            None => {
                hosts.insert(host.value.clone(), e.name.value.clone());
            }
        }
    }
    // The workflows are one set for the project: a per-environment value of a
    // project-wide CI key would be silently ignored, so it is refused.
    for e in &cfg.environments {
        let ci = &e.ci;
        let spans: Vec<(&str, Option<crate::config::span::Span>)> = vec![
            ("workflows_dir", ci.workflows_dir.span.clone()),
            ("pin_actions", ci.pin_actions.span.clone()),
            ("runs_on", ci.runs_on.span.clone()),
        ]
        .into_iter()
        .chain(ci.extra_jobs.iter().map(|j| ("extra_jobs", j.id.span.clone())))
        .collect();
        for (key, span) in spans {
            let Some(span) = span else { continue };
            if doc.path_at(span.start).starts_with("environments.") {
                out.push(
                    Diagnostic::error(format!("`ci.{key}` is project-wide: it cannot differ in `{}`", e.name.value))
                        .at(Some(span.clone()))
                        .key(doc.path_at(span.start))
                        .label(format!("set in `[environments.{}]`", e.name.value))
                        .help("set it in `[defaults.ci]`; only `require_approval` is per environment"),
                );
            }
        }
    }
}
