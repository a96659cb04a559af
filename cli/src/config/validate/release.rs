//! `[environments.<name>.release]`: a record of one environment (never
//! `[defaults]`), a full commit id, a chart version, and a digest for each
//! service the environment runs, and for nothing else.

use std::sync::OnceLock;

use regex::Regex;

use super::ctx::*;
use crate::diagnostics::Diagnostic;
use crate::pattern::re;

pub(super) fn release(c: &mut Ctx<'_, '_>) {
    let e = c.env;
    let Some(r) = &e.release else { return };
    let env = e.name.value.clone();
    if r.commit.span.as_ref().is_some_and(|s| c.doc.path_at(s.start).starts_with("defaults.")) {
        c.err(
            &r.commit,
            "release",
            "a release record belongs to one environment, not `[defaults]`".into(),
            format!("move it under `[environments.{env}.release]` (`myhealthctl push {env} --record` writes one)"),
        );
        return;
    }
    static COMMIT: OnceLock<Regex> = OnceLock::new();
    static DIGEST: OnceLock<Regex> = OnceLock::new();
    static VERSION: OnceLock<Regex> = OnceLock::new();
    if !re(&COMMIT, r"^[0-9a-f]{40}$").is_match(&r.commit.value) {
        c.err(
            &r.commit,
            "release.commit",
            format!("`{}` is not a full commit id", r.commit.value.escape_debug()),
            "the 40 hex digits of `git rev-parse HEAD` where the images were built",
        );
    }
    if !re(&VERSION, r"^[0-9]+\.[0-9]+\.[0-9]+$").is_match(&r.chart.value) {
        c.err(
            &r.chart,
            "release.chart",
            format!("`{}` is not a chart version", r.chart.value.escape_debug()),
            "an exact version, e.g. `0.1.0`",
        );
    } else if r.chart.value != crate::config::model::CHART_VERSION {
        c.warn(
            &r.chart,
            "release.chart",
            format!(
                "the release of `{env}` was verified with chart {}; this tree renders chart {}",
                r.chart.value,
                crate::config::model::CHART_VERSION
            ),
            format!("record a release built from this tree (`myhealthctl push <first environment> --record`) and promote it to `{env}`"),
        );
    }
    let services: Vec<&str> = e.services.iter().map(|s| s.name.value.as_str()).collect();
    // A partial record would run the others by the chart's tag, which no
    // push creates (pushes are tagged by commit): every service is pinned.
    let unpinned: Vec<String> =
        services.iter().filter(|s| !r.images.iter().any(|(n, _)| n.value == **s)).map(|s| format!("`{s}`")).collect();
    if !unpinned.is_empty() {
        c.err(
            &r.commit,
            "release",
            format!("the release record of `{env}` has no digest for {}", unpinned.join(", ")),
            format!("a release pins every service: `myhealthctl push {env} --record` records them all"),
        );
    }
    for (service, digest) in &r.images {
        if !services.contains(&service.value.as_str()) {
            let near = services.iter().max_by(|a, b| {
                strsim::jaro_winkler(&service.value, a).total_cmp(&strsim::jaro_winkler(&service.value, b))
            });
            let near = near.filter(|n| strsim::jaro_winkler(&service.value, n) > 0.8);
            let d = Diagnostic::error(format!("`{}` is not a service of `{env}`", service.value.escape_debug()));
            // The key as the file writes it (bare, or quoted where TOML needs it).
            let d = match near {
                Some(n) => d.fix(crate::config::doc::key_path(&[n])),
                None => d,
            };
            c.push(
                d,
                service,
                "release.images",
                match near {
                    Some(n) => format!("did you mean `{n}`?"),
                    _ => format!(
                        "services of `{env}`: {}",
                        services.iter().map(|s| format!("`{s}`")).collect::<Vec<_>>().join(", ")
                    ),
                },
            );
        }
        if !re(&DIGEST, r"^sha256:[0-9a-f]{64}$").is_match(&digest.value) {
            c.err(
                digest,
                "release.images",
                format!("`{}` is not an image digest", digest.value.escape_debug()),
                "`sha256:` and 64 hex digits, as `myhealthctl push` prints",
            );
        }
    }
}
