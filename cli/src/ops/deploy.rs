//! The deploy of one environment as an ordered list of steps, worked out
//! before anything runs. Each step carries exactly what it executes — the
//! command line, the manifest, the references to push — so `--dry-run`
//! (text or JSON) shows what a run does by construction: the run executes
//! the very values the listing prints.
//!
//! drift check → build (cargo + OCI images) → terraform init → plan →
//! approval (prompt, or `--yes`) → apply of the saved plan → push (the
//! registries are Terraform's, so they exist from here on) → the pushed
//! digests into a release values file → kubeconfig → the namespace with its
//! Pod Security / Istio labels → `helm upgrade --install` (rolled back by Helm
//! itself on failure) → smoke test of `/health` through the environment's
//! endpoint → on failure `helm rollback`, and say so.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use serde::Serialize;

use super::images::{self, PushImage};
use super::terraform::{self, PLAN_FILE};
use super::ui::{ask, shell, step};
use crate::args::InitArgs;
use crate::exit::Outcome;
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
    /// Helm's `--timeout` (`10m`).
    pub timeout: String,
    pub smoke_timeout: Duration,
    pub ca_bundle: PathBuf,
    pub init: InitArgs,
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
        argv: Vec<String>,
        ca_bundle: PathBuf,
        images: PathBuf,
    },
    /// Skipped while nothing it depends on changed since the last init.
    TerraformInit {
        argv: Vec<String>,
    },
    TerraformPlan {
        argv: Vec<String>,
    },
    /// Skipped when the plan has no changes; `answer` is what must be typed.
    Approve {
        production: bool,
        yes: bool,
        answer: String,
    },
    /// Skipped when the plan has no changes.
    TerraformApply {
        argv: Vec<String>,
    },
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
        argv: Vec<String>,
    },
    /// `manifest` written to `path`, then `argv` applies it.
    Namespace {
        path: PathBuf,
        manifest: String,
        argv: Vec<String>,
    },
    Helm {
        argv: Vec<String>,
    },
    /// `GET <url>/health` until 2xx; the URL from `endpoint_argv`'s `api_url`
    /// when not given, else `fallback`. On failure `rollback` runs.
    Smoke {
        url: Option<String>,
        endpoint_argv: Option<Vec<String>>,
        fallback: String,
        timeout_seconds: u64,
        rollback: Vec<String>,
    },
}

/// The deploy of one environment.
#[derive(Debug, Serialize)]
pub struct Deploy {
    pub environment: String,
    #[serde(skip)]
    root: PathBuf,
    /// Commands run while working the steps out (`helm version --short`:
    /// Helm 4 renamed `--atomic`), before any step, and what they decided.
    pub probes: Vec<Probe>,
    pub steps: Vec<Step>,
    /// ArgoCD syncs this environment's chart automatically: a direct release would be reverted.
    pub argocd_auto_sync: bool,
}

/// A command run while planning, and what its answer decided.
#[derive(Debug, Serialize)]
pub struct Probe {
    pub argv: Vec<String>,
    pub decided: String,
}

/// `helm upgrade` flags that roll a failed release back, for the Helm that
/// `argv` reports (Helm 4 renamed `--atomic`).
fn rollback_flags(argv: Vec<String>) -> (Vec<String>, Probe) {
    let answer = Command::new(&argv[0]).args(&argv[1..]).stdin(Stdio::null()).output();
    let version = answer
        .as_ref()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string());
    let v4 = version.as_deref().is_some_and(|v| v.starts_with("v4"));
    let decided = match &version {
        Some(v) if v4 => format!("{v}: Helm 4's `--rollback-on-failure --wait=watcher`"),
        Some(v) => format!("{v}: `--atomic --wait`"),
        None => format!("no answer (is `{}` on PATH?): Helm 3's `--atomic --wait`", argv[0]),
    };
    let flags = if v4 {
        vec!["--rollback-on-failure".into(), "--wait=watcher".into()]
    } else {
        vec!["--atomic".into(), "--wait".into()]
    };
    (flags, Probe { argv, decided })
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
                argv: images::cargo_argv(p, cfg),
                ca_bundle: o.ca_bundle.clone(),
                images: p.images_dir(),
            });
        }
        if !o.skip_infra {
            let production = e.production.value;
            steps.push(Step::TerraformInit { argv: terraform::init_argv(&t.tf_dir, &o.init) });
            steps.push(Step::TerraformPlan { argv: terraform::plan_argv(&t.tf_dir, false) });
            steps.push(Step::Approve {
                production,
                yes: o.yes,
                answer: if production { t.name().to_string() } else { "yes".into() },
            });
            steps.push(Step::TerraformApply { argv: terraform::apply_argv(&t.tf_dir, PLAN_FILE) });
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
            let values = work.join("images.yaml");
            steps.push(Step::ReleaseValues { path: values.clone(), image_tag: o.only.is_none() });
            if o.kube_context.is_none() {
                steps.push(Step::Kubeconfig {
                    argv: argv(&[
                        "aws",
                        "eks",
                        "update-kubeconfig",
                        "--name",
                        &e.eks.cluster_name.value,
                        "--region",
                        &e.aws.region.value,
                        "--kubeconfig",
                        &kubeconfig,
                    ]),
                });
            }
            let ns_file = work.join("namespace.yaml");
            let mut kubectl = vec!["kubectl".to_string()];
            kubectl.extend(kubectl_ctx);
            kubectl.extend(argv(&[
                "apply",
                "--server-side",
                "--field-manager=myhealthctl",
                "-f",
                &ns_file.display().to_string(),
            ]));
            steps.push(Step::Namespace {
                path: ns_file,
                manifest: namespace_manifest(&namespace, &names.namespace_labels(), names.grafana_namespace())?,
                argv: kubectl,
            });
            let out = &t.out;
            let mut helm = argv(&[
                "helm",
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
            ]);
            if o.only.is_some() {
                // The other services keep the digests of their last release.
                helm.push("--reset-then-reuse-values".into());
            }
            let (flags, probe) = rollback_flags(argv(&["helm", "version", "--short"]));
            helm.extend(flags);
            probes.push(probe);
            helm.extend(["--timeout".into(), o.timeout.clone()]);
            helm.extend(kube.clone());
            steps.push(Step::Helm { argv: helm });
            let mut rollback =
                argv(&["helm", "rollback", &release, "--namespace", &namespace, "--wait", "--timeout", &o.timeout]);
            rollback.extend(kube);
            steps.push(Step::Smoke {
                url: o.endpoint.as_ref().map(|u| u.trim_end_matches('/').to_string()),
                endpoint_argv: o.endpoint.is_none().then(|| terraform::output_argv(&t.tf_dir)),
                fallback: format!("https://{}", names.api_host()),
                timeout_seconds: o.smoke_timeout.as_secs(),
                rollback,
            });
        }
        Ok(Deploy {
            environment: t.name().to_string(),
            root: p.root.clone(),
            probes,
            steps,
            argocd_auto_sync: e.argocd.auto_sync.value,
        })
    }

    fn rel(&self, path: &Path) -> String {
        path.strip_prefix(&self.root).unwrap_or(path).display().to_string()
    }

    fn releases(&self) -> bool {
        self.steps.iter().any(|s| matches!(s, Step::Helm { .. }))
    }

    /// `--dry-run`: every step in order, with the exact command where one runs.
    pub fn show(&self) -> String {
        let sh = |a: &[String]| shell(&self.root, a);
        let mut out =
            format!("deploy `{}`: {} steps, run from `{}`\n", self.environment, self.steps.len(), self.root.display());
        if self.argocd_auto_sync && self.releases() {
            out.push_str(&format!(
                "note: ArgoCD syncs `{}` automatically; it will put the committed values back over this release\n",
                self.environment
            ));
        }
        for p in &self.probes {
            out.push_str(&format!("asked while planning: $ {} → {}\n", sh(&p.argv), p.decided));
        }
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
                Step::TerraformInit { argv } => {
                    ("terraform init (skipped while nothing it depends on changed)".into(), format!("$ {}", sh(argv)))
                }
                Step::TerraformPlan { argv } => ("terraform plan".into(), format!("$ {}", sh(argv))),
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
                Step::TerraformApply { argv } => (
                    "terraform apply of the saved plan (skipped when it has no changes)".into(),
                    format!("$ {}", sh(argv)),
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
                Step::Smoke { url, endpoint_argv, fallback, timeout_seconds, rollback } => (
                    "smoke test".into(),
                    format!(
                        "{}GET {}/health until 200 (up to {timeout_seconds} s)\n     on failure: $ {}",
                        endpoint_argv
                            .as_ref()
                            .map(|a| format!("$ {} (its `api_url`, else {fallback})\n     ", sh(a)))
                            .unwrap_or_default(),
                        url.clone().unwrap_or_else(|| "<api_url>".into()),
                        sh(rollback)
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
        if self.argocd_auto_sync && self.releases() {
            eprintln!(
                "warning: ArgoCD syncs `{env}` automatically; it will put the committed values back over this release"
            );
        }
        let mut pushed = Vec::new();
        let mut plan: Option<terraform::Summary> = None;
        for s in &self.steps {
            match s {
                Step::Drift => {
                    if super::drift::gate(p, t.cfg, &t.render)? != Outcome::Ok {
                        eprintln!("not deployed: nothing was built, applied or installed");
                        return Ok(Outcome::Differs);
                    }
                }
                Step::Build { services, argv, ca_bundle, images } => {
                    images::compile(p, argv)?;
                    for b in images::package(p, t.cfg, services, ca_bundle, images)? {
                        eprintln!("   {:<16} {}  {:.1} MiB", b.service, b.digest, b.size as f64 / 1048576.0);
                    }
                }
                Step::TerraformInit { argv } => terraform::init(argv, env)?,
                Step::TerraformPlan { argv } => {
                    let summary = terraform::plan(argv, env)?;
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
                        eprintln!("not applied: the answer was not `{answer}`; nothing was changed");
                        return Ok(Outcome::Differs);
                    }
                }
                Step::TerraformApply { argv } => {
                    if plan.as_ref().is_some_and(|s| s.changes()) {
                        // Its output is shown only when it fails: the plan above said what it does.
                        terraform::apply(argv, env)?;
                    }
                }
                Step::Push { registry, images } => {
                    pushed = step("push the images", || images::push(p, t.env, registry, images))?;
                    for x in &pushed {
                        eprintln!("   {:<16} {}:{}@{}", x.service, x.repository, x.tag, x.digest);
                    }
                }
                Step::ReleaseValues { path, image_tag } => write(path, &release_values(env, &pushed, *image_tag)?)?,
                Step::Kubeconfig { argv } => step("kubeconfig", || run(&self.root, argv))?,
                Step::Namespace { path, manifest, argv } => {
                    write(path, manifest)?;
                    step("namespaces", || run(&self.root, argv))?;
                }
                Step::Helm { argv } => {
                    // On failure Helm has already rolled the release back (`--atomic`).
                    step("helm upgrade --install", || run(&self.root, argv)).map_err(|e| {
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
                    let timeout = Duration::from_secs(*timeout_seconds);
                    if let Err(e) = step(&format!("smoke test: GET {health}"), || smoke(&health, timeout)) {
                        eprintln!("error: the smoke test failed: {e:#}");
                        eprintln!("rolling the release back: {}", shell(&self.root, rollback));
                        match run(&self.root, rollback) {
                            Ok(()) => bail!("deploy of `{env}` failed its smoke test; the release was rolled back"),
                            Err(r) => {
                                bail!("deploy of `{env}` failed its smoke test, and the rollback failed too: {r:#}")
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

/// Run a command from the project root; its output is shown only when it fails.
fn run(root: &Path, argv: &[String]) -> anyhow::Result<()> {
    let out = Command::new(&argv[0])
        .args(&argv[1..])
        .current_dir(root)
        .stdin(Stdio::null())
        .output()
        .with_context(|| format!("cannot run `{}` (is it installed and on PATH?)", argv[0]))?;
    if !out.status.success() {
        bail!(
            "`{}` failed ({}):\n{}{}",
            shell(root, argv),
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
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
