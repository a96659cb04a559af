//! Taking a failed release back: the release commit reverted (pushed, and
//! synced by ArgoCD) or, where the branch ArgoCD follows is protected, its
//! revert proposed in a pull request; and the work tree put back when a
//! release branch is left behind by a failure.

use std::path::Path;
use std::time::Duration;

use anyhow::bail;

use super::pull_request::{PullRequest, open_pull_request};
use super::{Deploy, Rollback, Step, cmd, execute};
use crate::process::Process;

impl Deploy {
    /// Undo a release ArgoCD rolled out: revert its commit, push, sync the
    /// revert and wait for it; always an error (the deploy failed).
    pub(super) fn revert(
        &self,
        client: Option<&crate::ops::argocd::Client>,
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
                execute(a)?;
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
    pub(super) fn revert_by_pull_request(
        &self,
        r: &Rollback,
        committed: bool,
        merged: &str,
        what: &str,
    ) -> anyhow::Result<()> {
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
            execute(&git(&["switch", "--quiet", "-c", branch, merged]))?;
            let reverted = execute(&revert)
                .and_then(|_| execute(&git(&["push", "--quiet", remote, &format!("HEAD:refs/heads/{branch}")])));
            execute(&git(&["switch", "--quiet", "-"]))?;
            reverted?;
            let gh = crate::ops::github::GitHub::from_env()?;
            open_pull_request(
                &gh,
                repository,
                base,
                branch,
                &format!("revert the release of {env} ({})", crate::ops::release::short(merged)),
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
    pub(super) fn contains(&self, ours: &str, live: &str) -> bool {
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
}

/// While a release commit sits on its own branch (through a pull request),
/// a failure — any early return — puts the work tree back on the branch the
/// deploy began on, the files the commit holds as they were there; the
/// release branch goes too unless it was pushed (then it is named).
pub(super) struct BackOnFailure<'a> {
    pub(super) root: &'a Path,
    /// `git switch -`, until it has run.
    pub(super) back: Option<Process>,
    pub(super) branch: String,
    pub(super) paths: Vec<String>,
    pub(super) pushed: bool,
}

impl Drop for BackOnFailure<'_> {
    fn drop(&mut self) {
        let Some(back) = self.back.take() else { return };
        eprintln!("putting the work tree back on the branch the deploy began on");
        let _ = execute(&back);
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
