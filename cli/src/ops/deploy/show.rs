//! `deploy --dry-run`: every step in order, with the command it runs as a
//! shell would take it (the [`Process`] prints itself).

use std::path::Path;

use super::{Deploy, Rollback, Step};
use crate::process::Process;

impl Deploy {
    /// A command as `--dry-run` prints it: paths relative to the project root.
    pub(super) fn sh(&self, p: &Process) -> String {
        p.clone().shown_from(&self.root).to_string()
    }

    /// How a failed release is undone: the smoke test's rollback.
    pub(super) fn rollback(&self) -> Option<&Rollback> {
        self.steps.iter().find_map(|s| match s {
            Step::Smoke { rollback, .. } => Some(rollback),
            _ => None,
        })
    }

    pub(super) fn rel(&self, path: &Path) -> String {
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
                        crate::ops::release::short(commit)
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
}
