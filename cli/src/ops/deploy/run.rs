//! Running a planned deploy: the steps in order, exactly as planned, within
//! the run's `--timeout`; a failed release rolled back.

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

use super::pull_request::{await_merge, open_pull_request};
use super::rollback::BackOnFailure;
use super::{Deploy, Rollback, Step, execute};
use crate::exit::Outcome;
use crate::ops::images;
use crate::ops::terraform;
use crate::ops::ui::{ask, step};
use crate::project::{Project, Target};

impl Deploy {
    /// Before anything runs, for a release through ArgoCD: the services are
    /// the commit the record will name, and the files the release commit
    /// takes hold nothing else uncommitted.
    pub(super) fn preflight(&self) -> anyhow::Result<()> {
        let Some(Step::Commit { paths, .. }) = self.steps.iter().find(|s| matches!(s, Step::Commit { .. })) else {
            return Ok(());
        };
        crate::ops::release::build_commit(&self.root)?;
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
                crate::ops::release::short(&head),
                crate::ops::release::short(&tip)
            );
        }
        Ok(())
    }

    /// Run the steps in order, exactly as planned.
    pub fn run(&self, p: &Project, t: &Target<'_>) -> anyhow::Result<Outcome> {
        let env = &self.environment;
        let deadline = Instant::now() + Duration::from_secs(self.timeout_seconds);
        let left = || deadline.saturating_duration_since(Instant::now());
        crate::ops::preconditions::require(env, &self.preconditions)?;
        self.preflight()?;
        let mut pushed = Vec::new();
        let mut pushed_to = String::new();
        // ArgoCD path: whether a release commit was made (and so can be reverted), and the commit it synced.
        let mut committed = false;
        let mut revision = String::new();
        let argocd = |server: &Option<String>| -> anyhow::Result<crate::ops::argocd::Client> {
            let Some(server) = server else {
                bail!(
                    "ArgoCD manages the release of `{env}`: pass `--argocd-server URL` (or set `ARGOCD_SERVER`, with the token in `ARGOCD_AUTH_TOKEN`), or set `argocd.manage_release = false` to deploy it with Helm"
                );
            };
            crate::ops::argocd::Client::new(server, self.argocd_insecure)
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
                    crate::ops::drift::require_fresh(
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
                    for x in step("generated secrets", || crate::ops::secrets::seed(t.cfg, t.env))? {
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
                    let old = crate::ops::release::Record::of(t.env);
                    let new = crate::ops::release::Record::pushed(old.clone(), &pushed, commit.clone());
                    let lines = crate::ops::release::changes(old.as_ref(), &new);
                    if !lines.is_empty() {
                        images::pin_release(p, &pushed_to, &pushed)?;
                        crate::ops::release::record(p, env, &new)?;
                        let (_, changed) = crate::ops::release::rerender(p, &t.render.tree)?;
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
                            execute(a)?;
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
                    step("push the release commit", || execute(argv))?;
                    if let Some(b) = on_branch.as_mut() {
                        b.pushed = true;
                    }
                    revision = crate::git::run(&self.root, &["rev-parse", "HEAD"])?;
                }
                Step::PullRequest { repository, base, head, title, timeout_seconds, back, fetch } => {
                    if !committed {
                        // The same images: ArgoCD runs the tip of `base` already.
                        execute(fetch)?;
                        revision = crate::git::run(&self.root, &["rev-parse", "FETCH_HEAD"])?;
                        continue;
                    }
                    execute(back)?;
                    // Back where it began: nothing more to put back.
                    if let Some(b) = on_branch.as_mut() {
                        b.back = None;
                    }
                    let gh = crate::ops::github::GitHub::from_env()?;
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
                    execute(fetch)?;
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
                            crate::ops::release::short(&a.revision)
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
                Step::Kubeconfig { argv } => step("kubeconfig", || execute(argv))?,
                Step::Namespace { path, manifest, argv } => {
                    write(path, manifest)?;
                    step("namespaces", || execute(argv))?;
                }
                Step::Helm { argv } => {
                    // On failure Helm has already rolled the release back (`--atomic`).
                    step("helm upgrade --install", || execute(argv)).map_err(|e| {
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
                                match execute(argv) {
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

/// The digests just pushed, as a values file layered over the environment's.
pub(super) fn release_values(env: &str, pushed: &[crate::registry::Pushed], image_tag: bool) -> anyhow::Result<String> {
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

pub(super) fn write(path: &Path, text: &str) -> anyhow::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(path, text).with_context(|| format!("cannot write `{}`", path.display()))
}

/// GET `url` until it answers 2xx or `timeout` passes (a new load balancer
/// target, DNS or pods may take a while).
pub(super) fn smoke(url: &str, timeout: Duration) -> anyhow::Result<()> {
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
