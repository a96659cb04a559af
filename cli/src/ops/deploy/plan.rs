//! Working a deploy out: every step, with the exact command each runs,
//! before anything runs (the probes and preconditions included).

use std::collections::BTreeMap;

use anyhow::{Context, bail};

use super::{Deploy, Options, Rollback, Step, cmd, rel_to};
use crate::ops::images;
use crate::ops::preconditions::Probe;
use crate::ops::terraform::{self, PLAN_FILE};
use crate::process::Process;
use crate::project::{Project, Target};

/// `helm upgrade` flags that roll a failed release back, for the Helm that
/// `argv` reports (Helm 4 renamed `--atomic`).
pub(super) fn rollback_flags(helm_version: Process) -> (Vec<String>, Probe) {
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

fn argv(parts: &[&str]) -> Vec<String> {
    parts.iter().map(|s| s.to_string()).collect()
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

            let message = format!("release {env}: the images of {}", crate::ops::release::short(&commit));
            let paths = vec![config.clone(), rel_to(&p.root, &t.out), workflows.clone()];
            let commit_argv = git(&["commit", "--quiet", "-m", &message, "--"]).args(paths.iter().cloned());
            let remote = o.git_remote.clone();
            let base = e.argocd.target_revision.value.clone();
            let short = crate::ops::release::short(&commit);
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
        let mut needs = crate::ops::preconditions::Needs {
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
        let preconditions = crate::ops::preconditions::check(&p.root, &needs, &mut probes);
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
}

/// The namespace of the release with its labels, and Grafana's when the
/// chart writes dashboards and its datasource there (kube-prometheus-stack's
/// Application creates it too; applying it first is harmless).
pub(super) fn namespace_manifest(
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
