//! `[ci]`: the workflows directory (inside the project, outside `.git` and
//! `generated/`), the runner label, and the extra jobs (names, `needs`, no
//! cycles).

use std::sync::OnceLock;

use regex::Regex;

use super::ctx::*;
use crate::pattern::re;

/// Jobs of `ci.yml` the generator writes itself; extra jobs may need them.
/// `[ci]`: the workflows directory, the runner label, the jobs.
pub(super) fn ci(c: &mut Ctx<'_, '_>) {
    let e = c.env;
    let wd = &e.ci.workflows_dir;
    let parts: Vec<&str> = wd.value.split('/').filter(|p| !p.is_empty() && *p != ".").collect();
    static PATH: OnceLock<Regex> = OnceLock::new();
    let plain = re(&PATH, r"^[A-Za-z0-9._/-]+$").is_match(&wd.value);
    if !plain || wd.value.starts_with('/') || parts.contains(&"..") || parts.is_empty() {
        c.err(
            wd,
            "ci.workflows_dir",
            format!("`{}` must be a relative path inside the project", wd.value),
            "e.g. `.github/workflows`",
        );
    } else if parts.contains(&".git") {
        c.err(
            wd,
            "ci.workflows_dir",
            format!("`{}` is inside `.git`", wd.value),
            "git's own directory is no place for workflows (a hook written there would run on every commit); use `.github/workflows`",
        );
    } else if parts[0] == "generated" {
        c.err(
            wd,
            "ci.workflows_dir",
            format!("`{}` is inside `generated/`", wd.value),
            "`generated/` is replaced as a whole on every render; use `.github/workflows`",
        );
    }
    static LABEL: OnceLock<Regex> = OnceLock::new();
    if !re(&LABEL, r"^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$").is_match(&e.ci.runs_on.value) {
        c.err(
            &e.ci.runs_on,
            "ci.runs_on",
            format!("`{}` is not a runner label", e.ci.runs_on.value.escape_debug()),
            "name one runner label: letters, digits, `.`, `_` and `-`, e.g. `ubuntu-24.04`",
        );
    }
    for l in &e.ci.release_runs_on.value {
        if !re(&LABEL, r"^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$").is_match(&l.value) {
            c.err(
                l,
                "ci.release_runs_on",
                format!("`{}` is not a runner label", l.value.escape_debug()),
                "runner labels: letters, digits, `.`, `_` and `-`, e.g. `[\"self-hosted\", \"myhealth-prod\"]`",
            );
        }
    }
    release_runner_reaches_the_cluster(c);
    ci_jobs(c);
}

/// GitHub's hosted runners (`ubuntu-*`, `windows-*`, `macos-*`): their
/// addresses are GitHub's, drawn from thousands of ranges.
fn github_hosted(labels: &[crate::config::span::Sp<String>]) -> bool {
    labels.len() == 1 && ["ubuntu-", "windows-", "macos-"].iter().any(|p| labels[0].value.starts_with(p))
}

/// deploy.yml's release job talks to the environment's Kubernetes API: on a
/// GitHub-hosted runner that works only when the public endpoint admits
/// everyone. Otherwise the job needs a runner that reaches the endpoint (a
/// self-hosted one in the VPC) — else the first release of that
/// environment times out.
fn release_runner_reaches_the_cluster(c: &mut Ctx<'_, '_>) {
    let e = c.env;
    // (An endpoint neither public nor private is an error of its own.)
    let unreachable = !e.eks.endpoint_public_access.value && !e.eks.endpoint_private_access.value;
    if !e.argocd.manage_release.value || !github_hosted(&e.ci.release_runs_on.value) || unreachable {
        return;
    }
    let open =
        e.eks.endpoint_public_access.value && e.eks.public_access_cidrs.value.iter().any(|c| c.value == "0.0.0.0/0");
    if open {
        return;
    }
    let env = e.name.value.clone();
    let label = e.ci.release_runs_on.value[0].value.clone();
    let message = format!(
        "`{env}`'s Kubernetes API does not admit GitHub's hosted runners, but its release job runs on `{label}`"
    );
    let help = format!(
        "set `ci.release_runs_on` under `[environments.{env}]` to the labels of a self-hosted runner inside the VPC (e.g. `[\"self-hosted\", \"{}-{env}\"]`; `myhealthctl doctor` checks one is registered), or admit `0.0.0.0/0` to the public endpoint",
        c.project.name.value
    );
    if e.eks.endpoint_public_access.value {
        c.err(&e.eks.public_access_cidrs, "eks.public_access_cidrs", message, help);
    } else {
        c.err(&e.eks.endpoint_public_access, "eks.endpoint_public_access", message, help);
    }
}

pub const CI_JOBS: [&str; 4] = ["fmt", "clippy", "test", "drift"];

pub(super) fn ci_jobs(c: &mut Ctx<'_, '_>) {
    let jobs = &c.env.ci.extra_jobs;
    static ID: OnceLock<Regex> = OnceLock::new();
    let id = re(&ID, r"^[a-z][a-z0-9_-]{0,62}$");
    for j in jobs {
        let key = format!("ci.extra_jobs.{}", j.id.value);
        if !id.is_match(&j.id.value) {
            c.err(
                &j.id,
                &key,
                format!("`{}` is not a job id", j.id.value),
                "start with a lowercase letter, then letters, digits, `-` or `_`, e.g. `docs-links`",
            );
        } else if CI_JOBS.contains(&j.id.value.as_str()) {
            c.err(
                &j.id,
                &key,
                format!("`{}` is a job `ci.yml` already has", j.id.value),
                "pick another id; to change the built-in job, override its template (docs/ci.md)",
            );
        }
        if j.run.value.trim().is_empty() {
            c.err(&j.run, &format!("{key}.run"), "`run` is empty".into(), "give the script the job runs");
        }
        if !(1..=360).contains(&j.timeout_minutes.value) {
            c.err(
                &j.timeout_minutes,
                &format!("{key}.timeout_minutes"),
                format!("`timeout_minutes` ({}) must be between 1 and 360", j.timeout_minutes.value),
                "GitHub cancels jobs after 360 minutes; e.g. `15`",
            );
        }
        for n in &j.needs {
            let known = CI_JOBS.contains(&n.value.as_str()) || jobs.iter().any(|o| o.id.value == n.value);
            if !known || n.value == j.id.value {
                let all: Vec<String> =
                    CI_JOBS.iter().map(|s| s.to_string()).chain(jobs.iter().map(|o| o.id.value.clone())).collect();
                c.err(
                    n,
                    &format!("{key}.needs"),
                    if known {
                        format!("job `{}` cannot need itself", n.value)
                    } else {
                        format!("`{}` is no job of `ci.yml`", n.value)
                    },
                    format!("jobs: {}", all.iter().map(|s| format!("`{s}`")).collect::<Vec<_>>().join(", ")),
                );
            }
        }
    }
    // GitHub refuses a workflow whose jobs need each other in a circle.
    let needs = |id: &str| -> Vec<String> {
        jobs.iter()
            .find(|j| j.id.value == id)
            .map(|j| j.needs.iter().map(|n| n.value.clone()).collect())
            .unwrap_or_default()
    };
    for j in jobs {
        // A path from one of `j`'s needs back to `j` is a cycle through `j`.
        let mut stack: Vec<(String, Vec<String>)> =
            j.needs.iter().map(|n| (n.value.clone(), vec![j.id.value.clone()])).collect();
        let mut seen = std::collections::BTreeSet::new();
        while let Some((at, path)) = stack.pop() {
            if at == j.id.value && path.len() > 1 {
                let mut cycle = path.clone();
                cycle.push(at);
                let first = j.needs.iter().find(|n| n.value == path[1]).unwrap_or(&j.needs[0]);
                c.err(
                    first,
                    &format!("ci.extra_jobs.{}.needs", j.id.value),
                    format!(
                        "jobs need each other in a circle: {}",
                        cycle.iter().map(|s| format!("`{s}`")).collect::<Vec<_>>().join(" → ")
                    ),
                    "GitHub refuses such a workflow: drop one of the `needs`",
                );
                return;
            }
            if !seen.insert(at.clone()) {
                continue;
            }
            for n in needs(&at) {
                let mut p = path.clone();
                p.push(at.clone());
                stack.push((n, p));
            }
        }
    }
}
