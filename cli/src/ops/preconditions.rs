//! What a deploy rests on outside the repository, checked all at once before
//! its first side effect: the tools its steps run (cargo, terraform at the
//! version the roots require, helm, kubectl, the AWS CLI), the registry's
//! credentials, ArgoCD's address and token, GitHub's token, the git remote
//! and the branch ArgoCD follows, the kube context. `--dry-run` lists each
//! with what is missing; a run stops before anything changes when one is.
//! Commands run here are read-only and listed as the deploy's probes.

use std::path::Path;

use serde::Serialize;

use crate::process::Process;

/// A command run while planning a deploy, and what its answer decided.
#[derive(Debug, Serialize)]
pub struct Probe {
    /// Listed (`--json`) as its argument vector.
    pub argv: Process,
    pub decided: String,
}

/// One thing the deploy needs, and whether it is there.
#[derive(Debug, Clone, Serialize)]
pub struct Precondition {
    pub what: String,
    pub met: bool,
    /// How to meet it, when it is not.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fix: Option<String>,
}

/// What the planned steps need.
#[derive(Debug, Default)]
pub struct Needs {
    pub cargo: bool,
    pub terraform: bool,
    /// The registry pushed to.
    pub registry: Option<String>,
    /// ArgoCD's API (the release through ArgoCD): the server given, if any.
    pub argocd: Option<Option<String>>,
    /// A pull request through GitHub's API.
    pub github: bool,
    /// The remote and the branch the release commit goes to.
    pub git: Option<(String, String)>,
    /// Helm's release: helm and kubectl, and the context given (else a
    /// kubeconfig from the AWS CLI).
    pub helm: Option<Option<String>>,
}

fn on_path(program: &str) -> bool {
    std::env::var_os("PATH").is_some_and(|paths| std::env::split_paths(&paths).any(|d| is_executable(&d.join(program))))
}

fn is_executable(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt as _;
    p.metadata().is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

fn set(var: &str) -> bool {
    std::env::var_os(var).is_some_and(|v| !v.is_empty())
}

/// Run a read-only probe in `root`: whether it succeeded, and its output.
fn probe(root: &Path, argv: &[&str], probes: &mut Vec<Probe>, decided: impl Fn(bool) -> String) -> (bool, String) {
    let process = Process::new(argv[0]).args(argv[1..].iter().copied()).cwd(root);
    let (ok, text) = match process.output() {
        Ok(o) => (o.status.success(), String::from_utf8_lossy(&o.stdout).into_owned()),
        Err(_) => (false, String::new()),
    };
    probes.push(Probe { argv: process, decided: decided(ok) });
    (ok, text)
}

/// The lowest Terraform the rendered roots accept (`required_version`).
const TERRAFORM_AT_LEAST: (u64, u64) = (1, 11);

fn terraform_version(json: &str) -> Option<(u64, u64)> {
    let v: serde_json::Value = serde_json::from_str(json).ok()?;
    let mut parts = v["terraform_version"].as_str()?.split('.');
    Some((parts.next()?.parse().ok()?, parts.next()?.parse().ok()?))
}

/// Check each need of `n`; probes run are appended to `probes`.
pub fn check(root: &Path, n: &Needs, probes: &mut Vec<Probe>) -> Vec<Precondition> {
    let mut out = Vec::new();
    let mut need = |what: String, met: bool, fix: String| {
        out.push(Precondition { what, met, fix: (!met).then_some(fix) });
    };
    if n.cargo {
        need(
            "`cargo` on PATH (the build)".into(),
            on_path("cargo"),
            "install Rust (rustup.rs), or `--skip-build`".into(),
        );
    }
    if n.terraform {
        let (min_major, min_minor) = TERRAFORM_AT_LEAST;
        let found = on_path("terraform")
            .then(|| probe(root, &["terraform", "version", "-json"], probes, |ok| format!("answered: {ok}")).1)
            .and_then(|j| terraform_version(&j));
        let met = found.is_some_and(|v| v >= TERRAFORM_AT_LEAST);
        let what = match found {
            Some((a, b)) => format!("terraform ≥ {min_major}.{min_minor} (found {a}.{b})"),
            None => format!("terraform ≥ {min_major}.{min_minor} on PATH"),
        };
        need(what, met, format!("install terraform {min_major}.{min_minor} or later, or `--skip-infra`"));
    }
    if let Some(host) = &n.registry {
        let met = crate::registry::has_credentials(host, on_path("aws"));
        need(
            format!("credentials for the registry `{host}`"),
            met,
            "install the AWS CLI and log in (`aws sso login`), or configure a Docker credential helper for it".into(),
        );
    }
    if let Some(server) = &n.argocd {
        need(
            "ArgoCD's API (`--argocd-server` or `ARGOCD_SERVER`)".into(),
            server.is_some(),
            "pass `--argocd-server URL` (ArgoCD's API, e.g. through a port-forward: docs/deploy.md), or set `argocd.manage_release = false` to deploy with Helm".into(),
        );
        need(
            "ArgoCD's token (`ARGOCD_AUTH_TOKEN`)".into(),
            set("ARGOCD_AUTH_TOKEN"),
            "set `ARGOCD_AUTH_TOKEN` to a token of the release account (docs/deploy.md)".into(),
        );
    }
    if n.github {
        need(
            "GitHub's token (`GH_TOKEN` or `GITHUB_TOKEN`) for the release pull request".into(),
            set("GH_TOKEN") || set("GITHUB_TOKEN"),
            "set `GH_TOKEN` (e.g. `GH_TOKEN=$(gh auth token)`), or `argocd.release_by = \"push\"` where the branch is not protected".into(),
        );
    }
    if let Some((remote, branch)) = &n.git {
        let (known, _) = probe(root, &["git", "remote", "get-url", remote], probes, |ok| {
            if ok { format!("`{remote}` is a remote") } else { format!("no remote `{remote}`") }
        });
        need(
            format!("the git remote `{remote}`"),
            known,
            format!("add it (`git remote add {remote} URL`), or name another with `--git-remote`"),
        );
        if known {
            let head = format!("refs/heads/{branch}");
            let (found, _) = probe(root, &["git", "ls-remote", "--exit-code", remote, &head], probes, |ok| {
                if ok { format!("`{branch}` exists there") } else { format!("no `{branch}` there") }
            });
            need(
                format!("the branch `{branch}` ArgoCD follows, on `{remote}`"),
                found,
                "push it, or set `argocd.target_revision` to the branch ArgoCD follows".to_string(),
            );
        }
    }
    if let Some(context) = &n.helm {
        need("`helm` on PATH".into(), on_path("helm"), "install Helm (helm.sh)".into());
        need("`kubectl` on PATH".into(), on_path("kubectl"), "install kubectl".into());
        match context {
            Some(ctx) => {
                let known = on_path("kubectl")
                    && probe(root, &["kubectl", "config", "get-contexts", ctx, "-o", "name"], probes, |ok| {
                        if ok { format!("the context `{ctx}` exists") } else { format!("no context `{ctx}`") }
                    })
                    .0;
                need(
                    format!("the kube context `{ctx}`"),
                    known,
                    "name one of `kubectl config get-contexts`, or leave `--kube-context` out for a kubeconfig from the AWS CLI".into(),
                );
            }
            None => need(
                "the AWS CLI (`aws eks update-kubeconfig`)".into(),
                on_path("aws"),
                "install the AWS CLI, or pass `--kube-context CTX`".into(),
            ),
        }
    }
    out
}

/// The unmet ones as one error, before anything ran.
pub fn require(environment: &str, all: &[Precondition]) -> anyhow::Result<()> {
    let unmet: Vec<&Precondition> = all.iter().filter(|p| !p.met).collect();
    if unmet.is_empty() {
        return Ok(());
    }
    let lines: Vec<String> =
        unmet.iter().map(|p| format!("  - {}: {}", p.what, p.fix.as_deref().unwrap_or("missing"))).collect();
    anyhow::bail!(
        "the deploy of `{environment}` cannot start — nothing was built, applied, pushed or committed; missing:\n{}",
        lines.join("\n")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terraform_versions() {
        assert_eq!(terraform_version(r#"{"terraform_version":"1.11.4"}"#), Some((1, 11)));
        assert!(terraform_version(r#"{"terraform_version":"1.9.8"}"#).unwrap() < TERRAFORM_AT_LEAST);
        assert!(terraform_version(r#"{"terraform_version":"1.12.0"}"#).unwrap() >= TERRAFORM_AT_LEAST);
        assert_eq!(terraform_version("not json"), None);
    }

    #[test]
    fn everything_missing_is_named_at_once() {
        let all = vec![
            Precondition { what: "a".into(), met: false, fix: Some("do a".into()) },
            Precondition { what: "b".into(), met: true, fix: None },
            Precondition { what: "c".into(), met: false, fix: Some("do c".into()) },
        ];
        let e = require("dev", &all).unwrap_err().to_string();
        assert!(e.contains("- a: do a") && e.contains("- c: do c") && !e.contains("- b"), "{e}");
        assert!(require("dev", &all[1..2]).is_ok());
    }
}
