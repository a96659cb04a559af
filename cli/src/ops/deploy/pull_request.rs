//! A release (or its revert) as a GitHub pull request: opened, and awaited
//! until someone merges it.

use std::time::{Duration, Instant};

use anyhow::{Context, bail};

/// A pull request GitHub opened.
pub(super) struct PullRequest {
    pub(super) number: u64,
    pub(super) url: String,
}

/// `POST /repos/{owner}/{repo}/pulls`: `head` into `base`.
pub(super) fn open_pull_request(
    gh: &crate::ops::github::GitHub,
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
pub(super) fn await_merge(
    gh: &crate::ops::github::GitHub,
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
