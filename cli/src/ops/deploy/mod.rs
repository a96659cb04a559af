//! The deploy of one environment as an ordered list of steps, worked out
//! before anything runs. Each step carries exactly what it executes — the
//! command line, the manifest, the references to push — so `--dry-run`
//! (text or JSON) shows what a run does by construction: the run executes
//! the very values the listing prints.
//!
//! drift check → build (cargo + OCI images) → terraform init → plan →
//! approval (prompt, or `--yes`) → apply of the saved plan → push (the
//! registries are Terraform's, so they exist from here on) → then, where
//! ArgoCD manages the release (`argocd.manage_release`, the default): the
//! pushed digests as the environment's release record in `myhealth.toml`,
//! rendered → committed and pushed to the branch ArgoCD follows → the
//! Application synced through ArgoCD's API and awaited (synced at that
//! commit, healthy) → smoke test → on failure the release commit reverted,
//! pushed and synced. So self-heal has nothing to undo: the release *is*
//! what git holds. Elsewhere, with Helm: the digests into a release values
//! file → kubeconfig → the namespace with its Pod Security / Istio labels →
//! `helm upgrade --install` (rolled back by Helm itself on failure) → smoke
//! test → on failure `helm rollback`. Both say what they rolled back.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Serialize;

use super::images::PushImage;
use super::preconditions::Probe;
use super::terraform::Invocation;
use crate::args::InitArgs;
use crate::process::Process;

mod plan;
mod pull_request;
mod rollback;
mod run;
mod show;

/// What the user asked of the deploy.
#[derive(Debug, Clone)]
pub struct Options {
    pub yes: bool,
    pub only: Option<String>,
    pub skip_infra: bool,
    pub skip_build: bool,
    pub skip_app: bool,
    pub registry: Option<String>,
    pub endpoint: Option<String>,
    pub kube_context: Option<String>,
    /// Helm's `--timeout` (`10m`): at most ten minutes of the run's.
    pub timeout: String,
    /// The whole run's bound (`--timeout`): every wait of ours gets what is
    /// left of it, and no step starts once it has passed.
    pub review_timeout: Duration,
    pub smoke_timeout: Duration,
    pub ca_bundle: PathBuf,
    pub init: InitArgs,
    pub argocd_server: Option<String>,
    pub argocd_insecure: bool,
    pub git_remote: String,
}

/// One step; each holds what it runs.
#[derive(Debug, Serialize)]
#[serde(tag = "step", rename_all = "snake_case")]
pub enum Step {
    /// `generated/` against the config (in-process).
    Drift,
    /// `argv` (cargo), then the images of `services` into `images` (in-process).
    Build {
        services: Vec<String>,
        argv: Process,
        ca_bundle: PathBuf,
        images: PathBuf,
    },
    /// Skipped while nothing it depends on changed since the last init.
    TerraformInit(Invocation),
    TerraformPlan(Invocation),
    /// Skipped when the plan has no changes; `answer` is what must be typed.
    Approve {
        production: bool,
        yes: bool,
        answer: String,
    },
    /// Skipped when the plan has no changes.
    TerraformApply(Invocation),
    /// Exactly these references (in-process, through the registry API).
    Push {
        registry: String,
        images: Vec<PushImage>,
    },
    /// The pushed digests (known once pushed) as a values file layered over the environment's.
    ReleaseValues {
        path: PathBuf,
        image_tag: bool,
    },
    Kubeconfig {
        argv: Process,
    },
    /// `manifest` written to `path`, then `argv` applies it.
    Namespace {
        path: PathBuf,
        manifest: String,
        argv: Process,
    },
    Helm {
        argv: Process,
    },
    /// The pushed digests as the environment's release record in `config`,
    /// and the tree rendered again (in-process).
    Record {
        config: PathBuf,
        commit: String,
    },
    /// The record committed (skipped when the release did not change) —
    /// on a branch of its own when it goes through a pull request — then
    /// pushed: to the branch ArgoCD follows, or to that branch.
    Commit {
        /// What the commit holds (checked clean before the run starts).
        paths: Vec<String>,
        argv: Vec<Process>,
    },
    GitPush {
        remote: String,
        /// The branch ArgoCD follows.
        base: String,
        argv: Process,
    },
    /// The release's branch as a pull request into `base` (GitHub's API),
    /// awaited until someone merges it (up to `timeout_seconds`; still open
    /// then, the deploy stops there and says so: nothing else changed).
    /// `back` returns the working tree to where the run began; `fetch`
    /// brings the merged commit.
    PullRequest {
        repository: String,
        base: String,
        head: String,
        title: String,
        timeout_seconds: u64,
        back: Process,
        fetch: Process,
    },
    /// ArgoCD syncs `application` (through its API at `server`) and it is
    /// awaited: synced at the pushed commit and healthy. On failure the
    /// release commit is reverted (`Smoke`'s rollback).
    Sync {
        server: Option<String>,
        application: String,
        timeout_seconds: u64,
    },
    /// `GET <url>/health` until 2xx; the URL from `endpoint_argv`'s `api_url`
    /// when not given, else `fallback`. On failure `rollback` runs.
    Smoke {
        url: Option<String>,
        endpoint_argv: Option<Process>,
        fallback: String,
        timeout_seconds: u64,
        rollback: Rollback,
    },
}

/// How a failed release is undone.
#[derive(Debug, Serialize)]
#[serde(tag = "by", rename_all = "snake_case")]
pub enum Rollback {
    /// `helm rollback` to the previous revision.
    Helm { argv: Process },
    /// The release commit reverted and pushed (`argv`), then `application`
    /// synced to the revert and awaited.
    Revert { argv: Vec<Process>, application: String },
    /// The branch ArgoCD follows is protected: the release's revert goes on
    /// `branch` and into a pull request someone merges.
    RevertPullRequest { repository: String, remote: String, base: String, branch: String },
}

/// The deploy of one environment.
#[derive(Debug, Serialize)]
pub struct Deploy {
    pub environment: String,
    #[serde(skip)]
    root: PathBuf,
    /// Commands run while working the steps out (`helm version --short`:
    /// Helm 4 renamed `--atomic`; the read-only checks of the
    /// preconditions), before any step, and what they decided.
    pub probes: Vec<Probe>,
    /// What the steps need from outside the repository, each met or not:
    /// a run starts only when all are.
    pub preconditions: Vec<super::preconditions::Precondition>,
    /// The whole run's bound, in seconds (`--timeout`).
    pub timeout_seconds: u64,
    pub steps: Vec<Step>,
    /// Who rolls the release out: `argocd` (it manages the release) or `helm`.
    pub through: &'static str,
    #[serde(skip)]
    argocd_insecure: bool,
}

/// `path` relative to `root` (as git takes it), or as is.
fn rel_to(root: &Path, path: &Path) -> String {
    path.strip_prefix(root).unwrap_or(path).display().to_string()
}

/// `program ARGS` run from the project root (paths under it print relative).
fn cmd(root: &Path, program: &str, args: impl IntoIterator<Item = impl Into<String>>) -> Process {
    Process::new(program).args(args).cwd(root)
}

/// Run a step's command (from the project root, as built); its output is
/// shown only when it fails.
fn execute(p: &Process) -> anyhow::Result<()> {
    p.run().map_err(|e| match e.not_started() {
        true => anyhow::Error::new(e).context(format!("cannot run `{}` (is it installed and on PATH?)", p.program())),
        false => e.into(),
    })?;
    Ok(())
}
