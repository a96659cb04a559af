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

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use serde::Serialize;

use super::images::{self, PushImage};
use super::preconditions::Probe;
use super::terraform::{self, Invocation, PLAN_FILE};
use super::ui::{ask, step};
use crate::args::InitArgs;
use crate::exit::Outcome;
use crate::process::Process;
use crate::project::{Project, Target};

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

/// `helm upgrade` flags that roll a failed release back, for the Helm that
/// `argv` reports (Helm 4 renamed `--atomic`).
fn rollback_flags(helm_version: Process) -> (Vec<String>, Probe) {
    let answer = helm_version.output();
    let version = answer
        .as_ref()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string());
    let v4 = version.as_deref().is_some_and(|v| v.starts_with("v4"));
    let decided = match &version {
        Some(v) if v4 => format!("{v}: Helm 4's `--rollback-on-failure --wait=watcher`"),
        Some(v) => format!("{v}: `--atomic --wait`"),
        None => format!("no answer (is `{}` on PATH?): Helm 3's `--atomic --wait`", helm_version.program()),
    };
    let flags = if v4 {
        vec!["--rollback-on-failure".into(), "--wait=watcher".into()]
    } else {
        vec!["--atomic".into(), "--wait".into()]
    };
    (flags, Probe { argv: helm_version, decided })
}

/// `path` relative to `root` (as git takes it), or as is.
fn rel_to(root: &Path, path: &Path) -> String {
    path.strip_prefix(root).unwrap_or(path).display().to_string()
}

fn argv(parts: &[&str]) -> Vec<String> {
    parts.iter().map(|s| s.to_string()).collect()
}

/// `program ARGS` run from the project root (paths under it print relative).
fn cmd(root: &Path, program: &str, args: impl IntoIterator<Item = impl Into<String>>) -> Process {
    Process::new(program).args(args).cwd(root)
}

impl Deploy {
    /// Work out every step of deploying `t`.
    pub fn plan(p: &Project, t: &Target<'_>, o: &Options) -> anyhow::Result<Deploy> {
        if o.skip_infra && o.skip_app {
            bail!("`--skip-infra` and `--skip-app` together leave nothing to deploy");
        }
        let (cfg, e) = (t.cfg, t.env);
        let bundled = p.bundled(cfg);
        let services = match &o.only {
            Some(s) if bundled.contains(s) => vec![s.clone()],
            Some(s) => bail!(
                "`{s}` is not a bundled service of `{}`; services: {}",
                p.display,
                bundled.iter().map(|n| format!("`{n}`")).collect::<Vec<_>>().join(", ")
            ),
            None => bundled.clone(),
        };
        let work = p.work_dir().join("deploy").join(t.name());
        let kubeconfig = work.join("kubeconfig").display().to_string();
        let names = crate::names::Names::of(cfg, e);
        let namespace = names.namespace();
        let release = names.release();
        // Helm and kubectl name the context flag differently; the kubeconfig flag alike.
        let (kube, kubectl_ctx): (Vec<String>, Vec<String>) = match &o.kube_context {
            Some(c) => (argv(&["--kube-context", c]), argv(&["--context", c])),
            None => (argv(&["--kubeconfig", &kubeconfig]), argv(&["--kubeconfig", &kubeconfig])),
        };

        let mut probes = Vec::new();
        let mut steps = vec![Step::Drift];
        if !o.skip_app && !o.skip_build {
            steps.push(Step::Build {
                services: services.clone(),
                argv: images::cargo_command(p, cfg),
                ca_bundle: o.ca_bundle.clone(),
                images: p.images_dir(),
            });
        }
        if !o.skip_infra {
            let production = e.production.value;
            steps.push(Step::TerraformInit(terraform::init_command(&t.tf_dir, &o.init)));
            steps.push(Step::TerraformPlan(terraform::plan_command(&t.tf_dir, false)));
            steps.push(Step::Approve {
                production,
                yes: o.yes,
                answer: if production { t.name().to_string() } else { "yes".into() },
            });
            steps.push(Step::TerraformApply(terraform::apply_command(&t.tf_dir, PLAN_FILE)));
        }
        if !o.skip_app {
            // The tag the images are built with now, or were built with (`--skip-build`).
            let tag = match o.skip_build {
                true => images::built_images(p)
                    .ok()
                    .and_then(|b| b.into_iter().find(|b| services.contains(&b.service)).map(|b| b.tag))
                    .unwrap_or_else(|| images::tag(&p.root)),
                false => images::tag(&p.root),
            };
            let tagged: Vec<(String, String)> = services.iter().map(|s| (s.clone(), tag.clone())).collect();
            let (registry, to_push) = images::push_plan(cfg, e, &tagged, o.registry.as_deref());
            steps.push(Step::Push { registry, images: to_push });
        }
        if !o.skip_app && e.argocd.manage_release.value {
            // The record names the commit that builds the images (checked
            // clean when the run starts: `preflight`).
            let commit = crate::git::run(&p.root, &["rev-parse", "HEAD"])
                .context("ArgoCD releases from git: the project must be a git repository")?;
            let env = t.name();
            let workflows = crate::project::workflows_dir(cfg);
            let config = rel_to(&p.root, &p.config_path);
            let git = |args: &[&str]| cmd(&p.root, "git", args.iter().copied());
            let add = git(&["add", "--", &config, &rel_to(&p.root, &t.out), &workflows]);

            let message = format!("release {env}: the images of {}", super::release::short(&commit));
            let paths = vec![config.clone(), rel_to(&p.root, &t.out), workflows.clone()];
            let commit_argv = git(&["commit", "--quiet", "-m", &message, "--"]).args(paths.iter().cloned());
            let remote = o.git_remote.clone();
            let base = e.argocd.target_revision.value.clone();
            let short = super::release::short(&commit);
            let repository = format!("{}/{}", cfg.project.github_owner.value, cfg.project.github_repo.value);
            steps.push(Step::Record { config: p.config_path.clone(), commit });
            // How the record reaches the branch ArgoCD follows, and how a
            // failed release is taken back the same way.
            let rollback = match e.argocd.release_by.value {
                crate::config::model::ReleaseBy::Push => {
                    let push = git(&["push", "--quiet", &remote, &format!("HEAD:{base}")]);
                    steps.push(Step::Commit { paths, argv: vec![add, commit_argv] });
                    steps.push(Step::GitPush { remote: remote.clone(), base: base.clone(), argv: push.clone() });
                    Rollback::Revert {
                        argv: vec![git(&["revert", "--no-edit", "HEAD"]), push],
                        application: names.argocd_app(),
                    }
                }
                crate::config::model::ReleaseBy::PullRequest => {
                    let branch = format!("release/{env}-{short}");
                    let switch = git(&["switch", "--quiet", "-c", &branch]);
                    let push = git(&["push", "--quiet", &remote, &format!("HEAD:refs/heads/{branch}")]);
                    steps.push(Step::Commit { paths, argv: vec![switch, add, commit_argv] });
                    steps.push(Step::GitPush { remote: remote.clone(), base: base.clone(), argv: push });
                    steps.push(Step::PullRequest {
                        repository: repository.clone(),
                        base: base.clone(),
                        head: branch,
                        title: message.clone(),
                        timeout_seconds: o.review_timeout.as_secs(),
                        back: git(&["switch", "--quiet", "-"]),
                        fetch: git(&["fetch", "--quiet", &remote, &base]),
                    });
                    Rollback::RevertPullRequest { repository, remote, base, branch: format!("revert/{env}-{short}") }
                }
            };
            steps.push(Step::Sync {
                server: o.argocd_server.clone(),
                application: names.argocd_app(),
                timeout_seconds: o.smoke_timeout.as_secs().max(crate::names::ARGOCD_SYNC_TIMEOUT_SECONDS),
            });
            steps.push(Step::Smoke {
                url: o.endpoint.as_ref().map(|u| u.trim_end_matches('/').to_string()),
                endpoint_argv: o.endpoint.is_none().then(|| terraform::output_command(&t.tf_dir).argv),
                fallback: format!("https://{}", names.api_host()),
                timeout_seconds: o.smoke_timeout.as_secs(),
                rollback,
            });
        } else if !o.skip_app {
            let values = work.join("images.yaml");
            steps.push(Step::ReleaseValues { path: values.clone(), image_tag: o.only.is_none() });
            if o.kube_context.is_none() {
                steps.push(Step::Kubeconfig {
                    argv: cmd(
                        &p.root,
                        "aws",
                        [
                            "eks",
                            "update-kubeconfig",
                            "--name",
                            &e.eks.cluster_name.value,
                            "--region",
                            &e.aws.region.value,
                            "--kubeconfig",
                            &kubeconfig,
                        ],
                    ),
                });
            }
            let ns_file = work.join("namespace.yaml");
            let kubectl = cmd(&p.root, "kubectl", kubectl_ctx).args([
                "apply",
                "--server-side",
                "--field-manager=myhealthctl",
                "-f",
                &ns_file.display().to_string(),
            ]);
            steps.push(Step::Namespace {
                path: ns_file,
                manifest: namespace_manifest(&namespace, &names.namespace_labels(), names.grafana_namespace())?,
                argv: kubectl,
            });
            let out = &t.out;
            let mut helm = cmd(
                &p.root,
                "helm",
                [
                    "upgrade",
                    "--install",
                    &release,
                    &out.join(crate::names::CHART_DIR).display().to_string(),
                    "--namespace",
                    &namespace,
                    "--values",
                    &out.join(names.values_file()).display().to_string(),
                    "--values",
                    &values.display().to_string(),
                ],
            );
            if o.only.is_some() {
                // The other services keep the digests of their last release.
                helm = helm.arg("--reset-then-reuse-values");
            }
            let (flags, probe) = rollback_flags(cmd(&p.root, "helm", ["version", "--short"]));
            probes.push(probe);
            let helm = helm.args(flags).args(["--timeout", &o.timeout]).args(kube.clone());
            steps.push(Step::Helm { argv: helm });
            let rollback = cmd(
                &p.root,
                "helm",
                ["rollback", &release, "--namespace", &namespace, "--wait", "--timeout", &o.timeout],
            )
            .args(kube);
            steps.push(Step::Smoke {
                url: o.endpoint.as_ref().map(|u| u.trim_end_matches('/').to_string()),
                endpoint_argv: o.endpoint.is_none().then(|| terraform::output_command(&t.tf_dir).argv),
                fallback: format!("https://{}", names.api_host()),
                timeout_seconds: o.smoke_timeout.as_secs(),
                rollback: Rollback::Helm { argv: rollback },
            });
        }
        let mut needs = super::preconditions::Needs {
            cargo: steps.iter().any(|s| matches!(s, Step::Build { .. })),
            terraform: !o.skip_infra,
            ..Default::default()
        };
        for s in &steps {
            match s {
                Step::Push { registry, .. } => needs.registry = Some(registry.clone()),
                Step::GitPush { remote, base, .. } => needs.git = Some((remote.clone(), base.clone())),
                Step::PullRequest { .. } => needs.github = true,
                Step::Sync { server, .. } => needs.argocd = Some(server.clone()),
                Step::Helm { .. } => needs.helm = Some(o.kube_context.clone()),
                _ => {}
            }
        }
        let preconditions = super::preconditions::check(&p.root, &needs, &mut probes);
        Ok(Deploy {
            environment: t.name().to_string(),
            root: p.root.clone(),
            probes,
            preconditions,
            timeout_seconds: o.review_timeout.as_secs(),
            steps,
            through: if e.argocd.manage_release.value { "argocd" } else { "helm" },
            argocd_insecure: o.argocd_insecure,
        })
    }

    /// Before anything runs, for a release through ArgoCD: the services are
    /// the commit the record will name, and the files the release commit
    /// takes hold nothing else uncommitted.
    fn preflight(&self) -> anyhow::Result<()> {
        let Some(Step::Commit { paths, .. }) = self.steps.iter().find(|s| matches!(s, Step::Commit { .. })) else {
            return Ok(());
        };
        super::release::build_commit(&self.root)?;
        let mut status = vec!["status", "--porcelain", "--"];
        status.extend(paths.iter().map(String::as_str));
        let pending = crate::git::run(&self.root, &status)?;
        if !pending.is_empty() {
            bail!(
                "ArgoCD releases `{}` from git, and these are not committed:\n{pending}\n  = help: commit them first: the release commit holds the release record only",
                self.environment
            );
        }
        // The push publishes HEAD: it must be the branch ArgoCD follows (or
        // one release commit on it), never other unpushed work.
        let Some(Step::GitPush { remote, base: branch, .. }) =
            self.steps.iter().find(|s| matches!(s, Step::GitPush { .. }))
        else {
            return Ok(());
        };
        crate::git::run(&self.root, &["fetch", "--quiet", remote, branch])?;
        let tip = crate::git::run(&self.root, &["rev-parse", "FETCH_HEAD"])?;
        let head = crate::git::run(&self.root, &["rev-parse", "HEAD"])?;
        let one_release_ahead = crate::git::run(&self.root, &["rev-parse", "HEAD~1"]).is_ok_and(|p| p == tip)
            && crate::git::run(&self.root, &["log", "-1", "--format=%s"])
                .is_ok_and(|m| m.starts_with(&format!("release {}: ", self.environment)));
        if head != tip && !one_release_ahead {
            bail!(
                "HEAD ({}) is not `{remote}/{branch}` ({}): the release commit would publish other commits with it\n  = help: deploy from `{branch}` as it is on `{remote}` (`git pull` or `git push` first)",
                super::release::short(&head),
                super::release::short(&tip)
            );
        }
        Ok(())
    }

    /// Undo a release ArgoCD rolled out: revert its commit, push, sync the
    /// revert and wait for it; always an error (the deploy failed).
    fn revert(
        &self,
        client: Option<&super::argocd::Client>,
        committed: bool,
        argv: &[Process],
        application: &str,
        what: &str,
    ) -> anyhow::Result<()> {
        let env = &self.environment;
        if !committed {
            bail!(
                "deploy of `{env}` failed its {what}; its release had not changed, so there is no release commit to revert"
            );
        }
        eprintln!("rolling the release back: {}", argv.iter().map(|a| self.sh(a)).collect::<Vec<_>>().join(" && "));
        let undone = (|| -> anyhow::Result<()> {
            for a in argv {
                run(a)?;
            }
            let head = crate::git::run(&self.root, &["rev-parse", "HEAD"])?;
            if let Some(c) = client {
                c.sync(application)?;
                let wait = Duration::from_secs(crate::names::ARGOCD_SYNC_TIMEOUT_SECONDS);
                c.wait(application, &head, wait, &|live| self.contains(&head, live))?;
            }
            Ok(())
        })();
        match undone {
            Ok(()) => bail!(
                "deploy of `{env}` failed its {what}; the release commit was reverted and ArgoCD synced the previous release"
            ),
            Err(r) => bail!("deploy of `{env}` failed its {what}, and the rollback failed too: {r:#}"),
        }
    }

    /// Undo a release that went in by pull request: its revert on a branch
    /// of its own, into a pull request (the branch ArgoCD follows takes
    /// nothing else); always an error (the deploy failed).
    fn revert_by_pull_request(&self, r: &Rollback, committed: bool, merged: &str, what: &str) -> anyhow::Result<()> {
        let env = &self.environment;
        let Rollback::RevertPullRequest { repository, remote, base, branch } = r else { unreachable!() };
        if !committed {
            bail!(
                "deploy of `{env}` failed its {what}; the images were already its release, so there is nothing to revert"
            );
        }
        let done = (|| -> anyhow::Result<PullRequest> {
            let parents = crate::git::run(&self.root, &["rev-list", "--parents", "-n", "1", merged])?;
            let git = |args: &[&str]| cmd(&self.root, "git", args.iter().copied());
            let mut revert = git(&["revert", "--no-edit"]);
            if parents.split_whitespace().count() > 2 {
                revert = revert.args(["-m", "1"]);
            }
            let revert = revert.arg(merged);
            run(&git(&["switch", "--quiet", "-c", branch, merged]))?;
            let reverted = run(&revert)
                .and_then(|_| run(&git(&["push", "--quiet", remote, &format!("HEAD:refs/heads/{branch}")])));
            run(&git(&["switch", "--quiet", "-"]))?;
            reverted?;
            let gh = super::github::GitHub::from_env()?;
            open_pull_request(
                &gh,
                repository,
                base,
                branch,
                &format!("revert the release of {env} ({})", super::release::short(merged)),
                env,
            )
        })();
        match done {
            Ok(pr) => bail!(
                "deploy of `{env}` failed its {what}; the branch ArgoCD follows is protected, so its revert waits in pull request #{} ({}): merge it to put the previous release back",
                pr.number,
                pr.url
            ),
            Err(e) => bail!("deploy of `{env}` failed its {what}, and its revert could not be proposed: {e:#}"),
        }
    }

    /// Whether ArgoCD's `live` revision holds `ours`. ArgoCD syncs the branch
    /// it follows, whose head may be a commit that landed after ours (merged
    /// meanwhile): one the local repository does not know yet, so it is
    /// fetched before the answer is no.
    fn contains(&self, ours: &str, live: &str) -> bool {
        if crate::git::is_ancestor(&self.root, ours, live) {
            return true;
        }
        let Some(Step::GitPush { remote, base, .. }) = self.steps.iter().find(|s| matches!(s, Step::GitPush { .. }))
        else {
            return false;
        };
        let known = crate::git::run(&self.root, &["cat-file", "-e", &format!("{live}^{{commit}}")]).is_ok();
        !known
            && crate::git::run(&self.root, &["fetch", "--quiet", remote, base]).is_ok()
            && crate::git::is_ancestor(&self.root, ours, live)
    }

    /// A command as `--dry-run` prints it: paths relative to the project root.
    fn sh(&self, p: &Process) -> String {
        p.clone().shown_from(&self.root).to_string()
    }

    /// How a failed release is undone: the smoke test's rollback.
    fn rollback(&self) -> Option<&Rollback> {
        self.steps.iter().find_map(|s| match s {
            Step::Smoke { rollback, .. } => Some(rollback),
            _ => None,
        })
    }

    fn rel(&self, path: &Path) -> String {
        path.strip_prefix(&self.root).unwrap_or(path).display().to_string()
    }

    /// `--dry-run`: every step in order, with the exact command where one runs.
    pub fn show(&self) -> String {
        let sh = |a: &Process| self.sh(a);
        let mut out = format!(
            "deploy `{}`: {} steps, run from `{}`, released through {}\n",
            self.environment,
            self.steps.len(),
            self.root.display(),
            if self.through == "argocd" { "ArgoCD (it manages the release)" } else { "Helm" }
        );
        for p in &self.probes {
            out.push_str(&format!("asked while planning: $ {} → {}\n", sh(&p.argv), p.decided));
        }
        let unmet = self.preconditions.iter().filter(|p| !p.met).count();
        out.push_str(&format!(
            "preconditions ({}):\n",
            if unmet == 0 {
                "all met".to_string()
            } else {
                format!("{unmet} missing: a run would stop before its first step")
            }
        ));
        for p in &self.preconditions {
            match &p.fix {
                None => out.push_str(&format!("  ✓ {}\n", p.what)),
                Some(fix) => out.push_str(&format!("  ✗ {} — {fix}\n", p.what)),
            }
        }
        out.push_str(&format!("the whole run is bounded by {} s (`--timeout`)\n", self.timeout_seconds));
        for (i, s) in self.steps.iter().enumerate() {
            let n = i + 1;
            let (title, detail) = match s {
                Step::Drift => {
                    ("check that generated/ matches the config".into(), "myhealthctl diff (in-process)".into())
                }
                Step::Build { services, argv, images, .. } => (
                    format!("build {}", services.join(", ")),
                    format!(
                        "$ {}\n     then the OCI images (in-process): {}",
                        sh(argv),
                        services.iter().map(|s| format!("{}/{s}/", self.rel(images))).collect::<Vec<_>>().join(" ")
                    ),
                ),
                Step::TerraformInit(init) => (
                    "terraform init (skipped while nothing it depends on changed)".into(),
                    format!("$ {}", sh(&init.argv)),
                ),
                Step::TerraformPlan(plan) => ("terraform plan".into(), format!("$ {}", sh(&plan.argv))),
                Step::Approve { production, yes, answer } => (
                    "approve the plan (skipped when it has no changes)".into(),
                    if *yes {
                        "--yes: approved without asking".into()
                    } else if *production {
                        format!("prompt: type `{answer}` (production; `--yes` to skip)")
                    } else {
                        format!("prompt: type `{answer}` (`--yes` to skip)")
                    },
                ),
                Step::TerraformApply(apply) => (
                    "terraform apply of the saved plan (skipped when it has no changes)".into(),
                    format!(
                        "$ {}\n     then a random value into each generated secret without one (aws secretsmanager put-secret-value, the value on stdin)",
                        sh(&apply.argv)
                    ),
                ),
                Step::Push { images, .. } => (
                    "push the images, record their digests".into(),
                    images.iter().map(|i| format!("{}:{}", i.repository, i.tag)).collect::<Vec<_>>().join("\n     "),
                ),
                Step::ReleaseValues { path, image_tag } => (
                    "write the pushed digests into the release values".into(),
                    format!(
                        "{} (global.imageRegistry, {}services.<service>.digest)",
                        self.rel(path),
                        if *image_tag { "global.imageTag, " } else { "" }
                    ),
                ),
                Step::Kubeconfig { argv } => ("kubeconfig for the cluster".into(), format!("$ {}", sh(argv))),
                Step::Namespace { path, manifest, argv } => (
                    "the namespaces with their labels".into(),
                    format!(
                        "{}:\n{}     $ {}",
                        self.rel(path),
                        manifest.lines().map(|l| format!("       {l}\n")).collect::<String>(),
                        sh(argv)
                    ),
                ),
                Step::Helm { argv } => ("install or upgrade the release".into(), format!("$ {}", sh(argv))),
                Step::Record { config, commit } => (
                    "write the pushed digests as the release record, and render".into(),
                    format!(
                        "{}: [environments.{}.release] (commit {}, the chart, a digest per service)",
                        self.rel(config),
                        self.environment,
                        super::release::short(commit)
                    ),
                ),
                Step::Commit { argv, .. } => (
                    "commit the release (skipped when it did not change)".into(),
                    argv.iter().map(|a| format!("$ {}", sh(a))).collect::<Vec<_>>().join("\n     "),
                ),
                Step::GitPush { argv, .. } => ("push it".into(), format!("$ {}", sh(argv))),
                Step::PullRequest { repository, base, head, timeout_seconds, back, .. } => (
                    format!("a pull request of `{head}` into `{base}`, merged by a reviewer"),
                    format!(
                        "$ {}\n     POST /repos/{repository}/pulls (GitHub's API, GH_TOKEN), then until it is merged (up to {timeout_seconds} s; still open: the deploy stops, nothing else changed)",
                        sh(back)
                    ),
                ),
                Step::Sync { server, application, timeout_seconds } => (
                    format!("ArgoCD syncs `{application}`"),
                    format!(
                        "POST {}/api/v1/applications/{application}/sync, then until synced at the pushed commit and healthy (up to {timeout_seconds} s)",
                        server.as_deref().unwrap_or("<--argocd-server>")
                    ),
                ),
                Step::Smoke { url, endpoint_argv, fallback, timeout_seconds, rollback } => (
                    "smoke test".into(),
                    format!(
                        "{}GET {}/health until 200 (up to {timeout_seconds} s)\n     on failure: {}",
                        endpoint_argv
                            .as_ref()
                            .map(|a| format!("$ {} (its `api_url`, else {fallback})\n     ", sh(a)))
                            .unwrap_or_default(),
                        url.clone().unwrap_or_else(|| "<api_url>".into()),
                        match rollback {
                            Rollback::Helm { argv } => format!("$ {}", sh(argv)),
                            Rollback::Revert { argv, application } => format!(
                                "$ {}, then ArgoCD syncs `{application}`",
                                argv.iter().map(sh).collect::<Vec<_>>().join(" && ")
                            ),
                            Rollback::RevertPullRequest { branch, base, .. } => format!(
                                "git revert of the merged release on `{branch}`, a pull request of it into `{base}` for a reviewer to merge"
                            ),
                        }
                    ),
                ),
            };
            out.push_str(&format!("{n:>3}. {title}\n     {detail}\n"));
        }
        out
    }

    /// Run the steps in order, exactly as planned.
    pub fn run(&self, p: &Project, t: &Target<'_>) -> anyhow::Result<Outcome> {
        let env = &self.environment;
        let deadline = Instant::now() + Duration::from_secs(self.timeout_seconds);
        let left = || deadline.saturating_duration_since(Instant::now());
        super::preconditions::require(env, &self.preconditions)?;
        self.preflight()?;
        let mut pushed = Vec::new();
        let mut pushed_to = String::new();
        // ArgoCD path: whether a release commit was made (and so can be reverted), and the commit it synced.
        let mut committed = false;
        let mut revision = String::new();
        let argocd = |server: &Option<String>| -> anyhow::Result<super::argocd::Client> {
            let Some(server) = server else {
                bail!(
                    "ArgoCD manages the release of `{env}`: pass `--argocd-server URL` (or set `ARGOCD_SERVER`, with the token in `ARGOCD_AUTH_TOKEN`), or set `argocd.manage_release = false` to deploy it with Helm"
                );
            };
            super::argocd::Client::new(server, self.argocd_insecure)
        };
        let mut client = None;
        let mut plan: Option<terraform::Summary> = None;
        let mut on_branch: Option<BackOnFailure<'_>> = None;
        for (i, s) in self.steps.iter().enumerate() {
            // Out of time: no step starts. The waits of ours (a pull request's
            // merge, ArgoCD's sync, the smoke test) get what is left instead,
            // so a release already out fails there and is rolled back.
            let waits = matches!(s, Step::PullRequest { .. } | Step::Sync { .. } | Step::Smoke { .. });
            if !waits && left().is_zero() {
                bail!(
                    "the deploy of `{env}` ran out of its `--timeout` ({} s) before step {} of {}{}",
                    self.timeout_seconds,
                    i + 1,
                    self.steps.len(),
                    if plan.as_ref().is_some_and(|s| s.changes()) {
                        "; the infrastructure was applied, the release not changed"
                    } else {
                        "; the release was not changed"
                    }
                );
            }
            match s {
                Step::Drift => {
                    super::drift::require_fresh(
                        p,
                        t.cfg,
                        &t.render,
                        &format!("not deployed `{env}`: nothing was built, applied or installed"),
                    )?;
                }
                Step::Build { services, argv, ca_bundle, images } => {
                    images::compile(argv)?;
                    for b in images::package(p, t.cfg, services, ca_bundle, images)? {
                        eprintln!("   {:<16} {}  {:.1} MiB", b.service, b.digest, b.size as f64 / 1048576.0);
                    }
                }
                Step::TerraformInit(init) => terraform::init(init, env)?,
                Step::TerraformPlan(plan_cmd) => {
                    let summary = terraform::plan(plan_cmd, env)?;
                    crate::out!("{}", terraform::text(&summary));
                    plan = Some(summary);
                }
                Step::Approve { yes, answer, production } => {
                    if !plan.as_ref().is_some_and(|s| s.changes()) || *yes {
                        continue;
                    }
                    let question = if *production {
                        format!("apply this plan to production `{env}`? type its name")
                    } else {
                        format!("apply this plan to `{env}`? type `{answer}`")
                    };
                    if ask(&question)? != *answer {
                        return crate::exit::refuse(format!(
                            "not applied: the answer was not `{answer}`; nothing was changed"
                        ));
                    }
                }
                Step::TerraformApply(apply) => {
                    if plan.as_ref().is_some_and(|s| s.changes()) {
                        // Its output is shown only when it fails: the plan above said what it does.
                        terraform::apply(apply, env)?;
                    }
                    for x in step("generated secrets", || super::secrets::seed(t.cfg, t.env))? {
                        if x.written {
                            eprintln!("   generated a value for `{}`", x.secret);
                        }
                    }
                }
                Step::Push { registry, images } => {
                    pushed = step("push the images", || images::push(p, t.env, registry, images))?;
                    pushed_to = registry.clone();
                    for x in &pushed {
                        eprintln!("   {:<16} {}:{}@{}", x.service, x.repository, x.tag, x.digest);
                    }
                }
                Step::ReleaseValues { path, image_tag } => write(path, &release_values(env, &pushed, *image_tag)?)?,
                Step::Record { commit, .. } => {
                    let old = super::release::Record::of(t.env);
                    let new = super::release::Record::pushed(old.clone(), &pushed, commit.clone());
                    let lines = super::release::changes(old.as_ref(), &new);
                    if !lines.is_empty() {
                        images::pin_release(p, &pushed_to, &pushed)?;
                        super::release::record(p, env, &new)?;
                        let (_, changed) = super::release::rerender(p, &t.render.tree)?;
                        for l in &lines {
                            eprintln!("   {l}");
                        }
                        eprintln!("   recorded in `{}` ({changed} rendered files changed)", p.display);
                        committed = true;
                    } else {
                        eprintln!("   the release record of `{env}` already names these images");
                    }
                }
                Step::Commit { argv, paths } => {
                    if committed {
                        // Through a pull request the commit goes on a branch of its
                        // own: from the switch on, a failure puts the work tree back.
                        if let Some(Step::PullRequest { back, head, .. }) =
                            self.steps.iter().find(|s| matches!(s, Step::PullRequest { .. }))
                        {
                            on_branch = Some(BackOnFailure {
                                root: &self.root,
                                back: Some(back.clone()),
                                branch: head.clone(),
                                paths: paths.clone(),
                                pushed: false,
                            });
                        }
                        for a in argv {
                            run(a)?;
                        }
                    }
                }
                Step::GitPush { argv, .. } => {
                    let through_pr = self.steps.iter().any(|s| matches!(s, Step::PullRequest { .. }));
                    if through_pr && !committed {
                        // The same images: nothing to review, ArgoCD runs them already.
                        continue;
                    }
                    // Always: a release commit an earlier run made but could not push goes now
                    // (HEAD was the remote's tip or that commit: `preflight`).
                    step("push the release commit", || run(argv))?;
                    if let Some(b) = on_branch.as_mut() {
                        b.pushed = true;
                    }
                    revision = crate::git::run(&self.root, &["rev-parse", "HEAD"])?;
                }
                Step::PullRequest { repository, base, head, title, timeout_seconds, back, fetch } => {
                    if !committed {
                        // The same images: ArgoCD runs the tip of `base` already.
                        run(fetch)?;
                        revision = crate::git::run(&self.root, &["rev-parse", "FETCH_HEAD"])?;
                        continue;
                    }
                    run(back)?;
                    // Back where it began: nothing more to put back.
                    if let Some(b) = on_branch.as_mut() {
                        b.back = None;
                    }
                    let gh = super::github::GitHub::from_env()?;
                    let pr = step("open the release pull request", || {
                        open_pull_request(&gh, repository, base, head, title, &self.environment)
                    })?;
                    eprintln!("   #{} {}", pr.number, pr.url);
                    let wait = Duration::from_secs(*timeout_seconds).min(left());
                    let merged =
                        step(&format!("wait for #{} to be merged (up to {} s)", pr.number, wait.as_secs()), || {
                            await_merge(&gh, repository, pr.number, wait)
                        })?;
                    let Some(sha) = merged else {
                        return crate::exit::refuse(format!(
                            "not released yet: the release pull request #{} ({}) waits for a review; once merged, ArgoCD rolls it out (deploy.yml waits for it)",
                            pr.number, pr.url
                        ));
                    };
                    run(fetch)?;
                    revision = sha;
                }
                Step::Sync { server, application, timeout_seconds } => {
                    let c = argocd(server)?;
                    let wait = Duration::from_secs(*timeout_seconds).min(left());
                    let synced = step(&format!("ArgoCD syncs `{application}`"), || {
                        c.sync(application)?;
                        c.wait(application, &revision, wait, &|live| self.contains(&revision, live))
                    });
                    match synced {
                        Ok(a) => eprintln!(
                            "   `{application}`: {} and {} at {}",
                            a.sync,
                            a.health,
                            super::release::short(&a.revision)
                        ),
                        Err(e) => {
                            eprintln!("error: {e:#}");
                            match self.rollback() {
                                Some(Rollback::Revert { argv, .. }) => {
                                    self.revert(Some(&c), committed, argv, application, "sync")?;
                                }
                                Some(r @ Rollback::RevertPullRequest { .. }) => {
                                    self.revert_by_pull_request(r, committed, &revision, "sync")?;
                                }
                                _ => return Err(e),
                            }
                        }
                    }
                    client = Some(c);
                }
                Step::Kubeconfig { argv } => step("kubeconfig", || run(argv))?,
                Step::Namespace { path, manifest, argv } => {
                    write(path, manifest)?;
                    step("namespaces", || run(argv))?;
                }
                Step::Helm { argv } => {
                    // On failure Helm has already rolled the release back (`--atomic`).
                    step("helm upgrade --install", || run(argv)).map_err(|e| {
                        e.context("the release failed; Helm rolled it back to the previous revision (if there was one)")
                    })?;
                }
                Step::Smoke { url, endpoint_argv, fallback, timeout_seconds, rollback } => {
                    let base = match (url, endpoint_argv) {
                        (Some(u), _) => u.clone(),
                        (None, Some(a)) => terraform::output(a, "api_url").unwrap_or_else(|| fallback.clone()),
                        (None, None) => fallback.clone(),
                    };
                    let health = format!("{}/health", base.trim_end_matches('/'));
                    let timeout = Duration::from_secs(*timeout_seconds).min(left());
                    if let Err(e) = step(&format!("smoke test: GET {health}"), || smoke(&health, timeout)) {
                        eprintln!("error: the smoke test failed: {e:#}");
                        match rollback {
                            Rollback::Helm { argv } => {
                                eprintln!("rolling the release back: {}", self.sh(argv));
                                match run(argv) {
                                    Ok(()) => {
                                        bail!("deploy of `{env}` failed its smoke test; the release was rolled back")
                                    }
                                    Err(r) => bail!(
                                        "deploy of `{env}` failed its smoke test, and the rollback failed too: {r:#}"
                                    ),
                                }
                            }
                            Rollback::Revert { argv, application } => {
                                self.revert(client.as_ref(), committed, argv, application, "smoke test")?;
                            }
                            r @ Rollback::RevertPullRequest { .. } => {
                                self.revert_by_pull_request(r, committed, &revision, "smoke test")?;
                            }
                        }
                    }
                }
            }
        }
        crate::outln!("deployed `{env}`");
        Ok(Outcome::Ok)
    }
}

/// While a release commit sits on its own branch (through a pull request),
/// a failure — any early return — puts the work tree back on the branch the
/// deploy began on, the files the commit holds as they were there; the
/// release branch goes too unless it was pushed (then it is named).
struct BackOnFailure<'a> {
    root: &'a Path,
    /// `git switch -`, until it has run.
    back: Option<Process>,
    branch: String,
    paths: Vec<String>,
    pushed: bool,
}

impl Drop for BackOnFailure<'_> {
    fn drop(&mut self) {
        let Some(back) = self.back.take() else { return };
        eprintln!("putting the work tree back on the branch the deploy began on");
        let _ = run(&back);
        let mut restore = vec!["checkout", "--quiet", "HEAD", "--"];
        restore.extend(self.paths.iter().map(String::as_str));
        let _ = crate::git::run(self.root, &restore);
        if self.pushed {
            eprintln!("   the release branch `{}` was pushed; delete it there when it is not wanted", self.branch);
        } else {
            let _ = crate::git::run(self.root, &["branch", "--quiet", "-D", &self.branch]);
        }
    }
}

/// A pull request GitHub opened.
struct PullRequest {
    number: u64,
    url: String,
}

/// `POST /repos/{owner}/{repo}/pulls`: `head` into `base`.
fn open_pull_request(
    gh: &super::github::GitHub,
    repository: &str,
    base: &str,
    head: &str,
    title: &str,
    env: &str,
) -> anyhow::Result<PullRequest> {
    let body = serde_json::json!({
        "title": title,
        "head": head,
        "base": base,
        "body": format!("Opened by `myhealthctl deploy {env}`: the release record of `{env}`, pinned by digest. Merging it releases it; ArgoCD syncs the branch."),
    });
    let a = gh.post(&format!("/repos/{repository}/pulls"), body)?;
    if a.status != 201 {
        let said = a.body["message"].as_str().unwrap_or("");
        bail!(
            "GitHub refused the pull request ({}): {said}
  = help: GH_TOKEN (or GITHUB_TOKEN) must be a token that may open pull requests in `{repository}`; the branch `{head}` is pushed",
            a.status
        );
    }
    Ok(PullRequest {
        number: a.body["number"].as_u64().context("GitHub's answer names no pull request")?,
        url: a.body["html_url"].as_str().unwrap_or_default().to_string(),
    })
}

/// The commit `number` was merged as, once it is (`None`: still open after `timeout`).
fn await_merge(
    gh: &super::github::GitHub,
    repository: &str,
    number: u64,
    timeout: Duration,
) -> anyhow::Result<Option<String>> {
    let deadline = Instant::now() + timeout;
    loop {
        let a = gh.get(&format!("/repos/{repository}/pulls/{number}"))?;
        if !a.ok() {
            bail!("GitHub answered {} about pull request #{number}", a.status);
        }
        if a.body["merged"] == true {
            // Once merged, the commit on the base branch: a merge commit,
            // the squashed commit or the rebased tip (GitHub's description).
            return Ok(a.body["merge_commit_sha"].as_str().map(str::to_string));
        }
        if a.body["state"] == "closed" {
            bail!("pull request #{number} was closed without being merged: nothing was released");
        }
        if Instant::now() >= deadline {
            return Ok(None);
        }
        std::thread::sleep(Duration::from_secs(2).min(deadline.saturating_duration_since(Instant::now())));
    }
}

/// The namespace of the release with its labels, and Grafana's when the
/// chart writes dashboards and its datasource there (kube-prometheus-stack's
/// Application creates it too; applying it first is harmless).
fn namespace_manifest(
    namespace: &str,
    labels: &BTreeMap<String, String>,
    grafana: Option<&str>,
) -> anyhow::Result<String> {
    let doc = serde_json::json!({
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": { "name": namespace, "labels": labels },
    });
    let mut text = serde_yaml_ng::to_string(&doc)?;
    if let Some(ns) = grafana {
        let doc = serde_json::json!({ "apiVersion": "v1", "kind": "Namespace", "metadata": { "name": ns } });
        text.push_str(&format!("---\n{}", serde_yaml_ng::to_string(&doc)?));
    }
    Ok(text)
}

/// The digests just pushed, as a values file layered over the environment's.
fn release_values(env: &str, pushed: &[crate::registry::Pushed], image_tag: bool) -> anyhow::Result<String> {
    let mut root = serde_json::Map::new();
    let mut global = serde_json::Map::new();
    if let Some(first) = pushed.first() {
        let host = first.repository.split('/').next().unwrap_or_default();
        global.insert("imageRegistry".into(), host.into());
        if image_tag {
            global.insert("imageTag".into(), first.tag.clone().into());
        }
    }
    root.insert("global".into(), global.into());
    // `services.<name>.digest`: the chart's key for each service is its name.
    let services: serde_json::Map<String, serde_json::Value> =
        pushed.iter().map(|x| (x.service.clone(), serde_json::json!({ "digest": x.digest }))).collect();
    root.insert("services".into(), services.into());
    let yaml = serde_yaml_ng::to_string(&root)?;
    Ok(format!("# written by `myhealthctl deploy {env}`: the images of this deploy, by digest\n{yaml}"))
}

fn write(path: &Path, text: &str) -> anyhow::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(path, text).with_context(|| format!("cannot write `{}`", path.display()))
}

/// Run a step's command (from the project root, as built); its output is
/// shown only when it fails.
fn run(p: &Process) -> anyhow::Result<()> {
    p.run().map_err(|e| match e.not_started() {
        true => anyhow::Error::new(e).context(format!("cannot run `{}` (is it installed and on PATH?)", p.program())),
        false => e.into(),
    })?;
    Ok(())
}

/// GET `url` until it answers 2xx or `timeout` passes (a new load balancer
/// target, DNS or pods may take a while).
fn smoke(url: &str, timeout: Duration) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    // Built and sent inside the runtime: reqwest's timeouts need its timer.
    let client = runtime.block_on(async { reqwest::Client::builder().timeout(Duration::from_secs(10)).build() })?;
    let deadline = Instant::now() + timeout;
    let mut last;
    loop {
        last = match runtime.block_on(async { client.get(url).send().await }) {
            Ok(r) if r.status().is_success() => return Ok(()),
            Ok(r) => format!("answered {}", r.status()),
            Err(e) => format!("{e}"),
        };
        if Instant::now() >= deadline {
            bail!("`{url}` {last}");
        }
        std::thread::sleep(Duration::from_secs(2).min(deadline.saturating_duration_since(Instant::now())));
    }
}
