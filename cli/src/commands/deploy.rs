//! `myhealthctl deploy ENV`: the whole way from a commit to a running
//! environment, in one ordered list of steps that `--dry-run` prints and a
//! real run executes — the same list, so what is shown is what runs:
//!
//! drift check → build (cargo + OCI images) → terraform init/plan →
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
use clap::Args;

use super::plan::{self, InitArgs, PLAN_FILE, step};
use crate::cli::{Global, Outcome, Project, RenderArgs, TreeArgs};
use crate::config::Config;

#[derive(Args, Debug)]
pub struct DeployCmd {
    /// The environment to deploy
    #[arg(value_name = "ENV")]
    pub env: String,
    #[command(flatten)]
    pub args: TreeArgs,
    /// Apply the Terraform plan without asking (required to deploy a production environment unattended)
    #[arg(long)]
    pub yes: bool,
    /// Print the ordered steps and the exact commands, run nothing
    #[arg(long)]
    pub dry_run: bool,
    /// Build, push and roll out this service only (the others keep their deployed images)
    #[arg(long, value_name = "SERVICE")]
    pub only: Option<String>,
    /// No Terraform: deploy the application onto the existing infrastructure
    #[arg(long)]
    pub skip_infra: bool,
    /// No compiling: push and deploy the images `myhealthctl build` already wrote
    #[arg(long)]
    pub skip_build: bool,
    /// Infrastructure only: no images, no Helm release, no smoke test
    #[arg(long, conflicts_with_all = ["only", "skip_build", "skip_infra"])]
    pub skip_app: bool,
    /// Push to this registry (`host[:port]`) instead of the environment's ECR
    #[arg(long, value_name = "HOST")]
    pub registry: Option<String>,
    /// Smoke-test this base URL [default: the Terraform output `api_url`, else `https://<project.api_host>`]
    #[arg(long, value_name = "URL")]
    pub endpoint: Option<String>,
    /// Use this kubeconfig context [default: a kubeconfig for the environment's cluster from `aws eks update-kubeconfig`]
    #[arg(long, value_name = "CONTEXT")]
    pub kube_context: Option<String>,
    /// How long Helm waits for the release to become ready
    #[arg(long, value_name = "DURATION", default_value = "10m", value_parser = helm_duration)]
    pub timeout: String,
    /// How long the smoke test retries `/health` before it counts as failed (seconds)
    #[arg(long, value_name = "SECONDS", default_value_t = 120, value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub smoke_timeout: u64,
    /// CA certificates to put in the images
    #[arg(long, value_name = "FILE", default_value = "/etc/ssl/certs/ca-certificates.crt")]
    pub ca_bundle: PathBuf,
    #[command(flatten)]
    pub init: InitArgs,
}

/// A duration Helm takes (`90s`, `10m`, `1h`), at most a day.
fn helm_duration(s: &str) -> Result<String, String> {
    let (n, unit) = s.split_at(s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len()));
    let secs = match (n.parse::<u64>(), unit) {
        (Ok(n), "s") => n,
        (Ok(n), "m") => n * 60,
        (Ok(n), "h") => n * 3600,
        _ => return Err(format!("`{s}` is not a duration like `90s`, `10m` or `1h`")),
    };
    if !(1..=86_400).contains(&secs) {
        return Err(format!("`{s}` must be between 1s and 24h"));
    }
    Ok(s.to_string())
}

/// One step of a deploy; `argv` ones are external commands run exactly as shown.
#[derive(Debug)]
enum Step {
    Drift,
    Build { services: Vec<String>, cargo: Vec<String> },
    TerraformInit(Vec<String>),
    TerraformPlan(Vec<String>),
    Approve { production: bool },
    TerraformApply(Vec<String>),
    Push { services: Vec<String>, registry: String, tag: String },
    ReleaseValues { path: PathBuf },
    Kubeconfig(Vec<String>),
    Namespace { path: PathBuf, argv: Vec<String> },
    Helm(Vec<String>),
    Smoke { url: Option<String> },
}

/// The deploy of one environment, worked out before anything runs.
struct Deploy {
    env: String,
    root: PathBuf,
    steps: Vec<Step>,
    /// `helm rollback …`, run when the smoke test fails.
    rollback: Vec<String>,
    /// Environment's terraform root (for `terraform output`).
    tf_dir: PathBuf,
    /// `https://<api_host>`, when Terraform has no `api_url` output.
    fallback_endpoint: String,
    namespace: String,
    namespace_labels: BTreeMap<String, String>,
    /// Grafana's namespace, when the chart writes dashboards and its datasource there
    /// (kube-prometheus-stack's Application creates it too; applying it first is harmless).
    grafana_namespace: Option<String>,
    /// Set `global.imageTag` (not with `--only`: the others keep theirs).
    set_tag: bool,
    smoke_timeout: Duration,
    yes: bool,
    ca_bundle: PathBuf,
    registry_override: Option<String>,
    init: InitArgs,
    /// ArgoCD syncs this environment's chart automatically: a direct release would be reverted.
    argocd_auto_sync: bool,
}

/// `helm upgrade` flags that roll a failed release back: Helm 4 renamed `--atomic`.
fn rollback_flags() -> Vec<String> {
    let v4 = Command::new("helm")
        .args(["version", "--short"])
        .stdin(Stdio::null())
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim_start().starts_with("v4"));
    if v4 {
        vec!["--rollback-on-failure".into(), "--wait=watcher".into()]
    } else {
        vec!["--atomic".into(), "--wait".into()]
    }
}

impl DeployCmd {
    pub fn run(self, g: &Global) -> anyhow::Result<Outcome> {
        let p = Project::locate(g)?;
        let cfg = p.load()?;
        let args = self.args.for_env(&self.env);
        p.render_options(&cfg, &args)?;
        if self.skip_infra && self.skip_app {
            bail!("`--skip-infra` and `--skip-app` together leave nothing to deploy");
        }
        let deploy = self.plan_steps(&p, &cfg, &args)?;
        if self.dry_run {
            crate::out!("{}", deploy.show());
            return Ok(Outcome::Ok);
        }
        deploy.run(g, &p, &cfg, &args)
    }

    fn plan_steps(&self, p: &Project, cfg: &Config, args: &RenderArgs) -> anyhow::Result<Deploy> {
        let e = cfg.env(&self.env).context("no such environment")?;
        let bundled: Vec<String> =
            cfg.service_names().into_iter().filter(|s| super::build::is_bundled(&p.root, s)).collect();
        let services = match &self.only {
            Some(s) if bundled.contains(s) => vec![s.clone()],
            Some(s) => bail!(
                "`{s}` is not a bundled service of `{}`; services: {}",
                p.display,
                bundled.iter().map(|n| format!("`{n}`")).collect::<Vec<_>>().join(", ")
            ),
            None => bundled.clone(),
        };
        let tf_dir = p.out_dir(args).join("terraform/envs").join(&self.env);
        let work = super::build::target_dir(&p.root).join("deploy").join(&self.env);
        let values = work.join("images.yaml");
        let ns_file = work.join("namespace.yaml");
        let kubeconfig = work.join("kubeconfig");
        let names = crate::names::Names::of(cfg, e);
        let namespace = names.namespace();
        let release = names.release();
        let registry = self.registry.clone().unwrap_or_else(|| names.ecr_host());
        // Helm and kubectl name the context flag differently; the kubeconfig flag alike.
        let (kube, kubectl_ctx): (Vec<String>, Vec<String>) = match &self.kube_context {
            Some(c) => (vec!["--kube-context".into(), c.clone()], vec!["--context".into(), c.clone()]),
            None => {
                let k = vec!["--kubeconfig".into(), kubeconfig.display().to_string()];
                (k.clone(), k)
            }
        };

        let mut steps = vec![Step::Drift];
        if !self.skip_app && !self.skip_build {
            // Every bundled service in one cargo run (see `build`): the same binaries, the same digests.
            let mut cargo: Vec<String> = ["cargo", "build", "--release", "--locked"].map(String::from).to_vec();
            for s in &bundled {
                cargo.extend(["-p".into(), s.clone()]);
            }
            steps.push(Step::Build { services: services.clone(), cargo });
        }
        if !self.skip_infra {
            steps.push(Step::TerraformInit(plan::init_argv(&tf_dir, &self.init)));
            steps.push(Step::TerraformPlan(plan::plan_argv(&tf_dir, false)));
            steps.push(Step::Approve { production: e.production.value });
            steps.push(Step::TerraformApply(plan::apply_argv(&tf_dir, PLAN_FILE)));
        }
        let mut rollback = Vec::new();
        if !self.skip_app {
            steps.push(Step::Push {
                services: services.clone(),
                registry: registry.clone(),
                tag: super::build::tag(&p.root),
            });
            steps.push(Step::ReleaseValues { path: values.clone() });
            if self.kube_context.is_none() {
                steps.push(Step::Kubeconfig(
                    [
                        "aws",
                        "eks",
                        "update-kubeconfig",
                        "--name",
                        &e.eks.cluster_name.value,
                        "--region",
                        &e.aws.region.value,
                        "--kubeconfig",
                        &kubeconfig.display().to_string(),
                    ]
                    .map(String::from)
                    .to_vec(),
                ));
            }
            let mut kubectl: Vec<String> = vec!["kubectl".into()];
            kubectl.extend(kubectl_ctx);
            kubectl.extend(
                ["apply", "--server-side", "--field-manager=myhealthctl", "-f", &ns_file.display().to_string()]
                    .map(String::from),
            );
            steps.push(Step::Namespace { path: ns_file, argv: kubectl });
            let out = p.out_dir(args);
            let mut helm: Vec<String> = vec![
                "helm".into(),
                "upgrade".into(),
                "--install".into(),
                release.clone(),
                out.join(crate::names::CHART_DIR).display().to_string(),
                "--namespace".into(),
                namespace.clone(),
                "--values".into(),
                out.join(names.values_file()).display().to_string(),
                "--values".into(),
                values.display().to_string(),
            ];
            if self.only.is_some() {
                // The other services keep the digests of their last release.
                helm.push("--reset-then-reuse-values".into());
            }
            helm.extend(rollback_flags());
            helm.extend(["--timeout".into(), self.timeout.clone()]);
            helm.extend(kube.clone());
            steps.push(Step::Helm(helm));
            steps.push(Step::Smoke { url: self.endpoint.clone() });
            rollback = ["helm", "rollback", &release, "--namespace", &namespace, "--wait", "--timeout", &self.timeout]
                .map(String::from)
                .to_vec();
            rollback.extend(kube);
        }
        Ok(Deploy {
            env: self.env.clone(),
            root: p.root.clone(),
            steps,
            rollback,
            tf_dir,
            fallback_endpoint: format!("https://{}", names.api_host()),
            namespace,
            namespace_labels: names.namespace_labels(),
            grafana_namespace: names.grafana_namespace().map(String::from),
            set_tag: self.only.is_none(),
            smoke_timeout: Duration::from_secs(self.smoke_timeout),
            yes: self.yes,
            ca_bundle: self.ca_bundle.clone(),
            registry_override: self.registry.clone(),
            init: self.init.clone(),
            argocd_auto_sync: e.argocd.auto_sync.value,
        })
    }
}

/// A command line as a shell would take it, paths relative to the project root.
fn shell(root: &Path, argv: &[String]) -> String {
    let prefix = format!("{}/", root.display());
    argv.iter()
        .map(|a| {
            let a = a.replace(&prefix, "");
            if !a.is_empty() && a.chars().all(|c| c.is_ascii_alphanumeric() || "-_=./:@,+%".contains(c)) {
                a
            } else {
                format!("'{}'", a.replace('\'', r"'\''"))
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

impl Deploy {
    fn rel(&self, path: &Path) -> String {
        path.strip_prefix(&self.root).unwrap_or(path).display().to_string()
    }

    /// `--dry-run`: every step in order, with the exact command where one runs.
    fn show(&self) -> String {
        let mut out =
            format!("deploy `{}`: {} steps, run from `{}`\n", self.env, self.steps.len(), self.root.display());
        if self.argocd_auto_sync && self.steps.iter().any(|s| matches!(s, Step::Helm(_))) {
            out.push_str(&format!(
                "note: ArgoCD syncs `{}` automatically; it will put the committed values back over this release\n",
                self.env
            ));
        }
        for (i, s) in self.steps.iter().enumerate() {
            let n = i + 1;
            let (title, detail) = match s {
                Step::Drift => {
                    ("check that generated/ matches the config".into(), "myhealthctl diff (in-process)".into())
                }
                Step::Build { services, cargo } => (
                    format!("build {}", services.join(", ")),
                    format!(
                        "$ {}\n     then the OCI images (in-process): {}",
                        shell(&self.root, cargo),
                        services.iter().map(|s| format!("target/images/{s}/")).collect::<Vec<_>>().join(" ")
                    ),
                ),
                Step::TerraformInit(a) => (
                    "terraform init (skipped while nothing it depends on changed)".into(),
                    format!("$ terraform {}", shell(&self.root, a)),
                ),
                Step::TerraformPlan(a) => ("terraform plan".into(), format!("$ terraform {}", shell(&self.root, a))),
                Step::Approve { production } => (
                    "approve the plan (skipped when it has no changes)".into(),
                    if self.yes {
                        "--yes: approved without asking".into()
                    } else if *production {
                        format!("prompt: type `{}` (production; `--yes` to skip)", self.env)
                    } else {
                        "prompt: type `yes` (`--yes` to skip)".into()
                    },
                ),
                Step::TerraformApply(a) => {
                    ("terraform apply of the saved plan".into(), format!("$ terraform {}", shell(&self.root, a)))
                }
                Step::Push { services, registry, tag } => (
                    "push the images, record their digests".into(),
                    services
                        .iter()
                        .map(|s| format!("{registry}/{}/{s}:{tag}", self.namespace))
                        .collect::<Vec<_>>()
                        .join("\n     "),
                ),
                Step::ReleaseValues { path } => (
                    "write the pushed digests into the release values".into(),
                    format!(
                        "{} (global.imageRegistry, {}services.<service>.digest)",
                        self.rel(path),
                        if self.set_tag { "global.imageTag, " } else { "" }
                    ),
                ),
                Step::Kubeconfig(a) => ("kubeconfig for the cluster".into(), format!("$ {}", shell(&self.root, a))),
                Step::Namespace { path, argv } => (
                    match &self.grafana_namespace {
                        Some(g) => format!("namespace `{}` with its labels, and `{g}` (Grafana's)", self.namespace),
                        None => format!("namespace `{}` with its labels", self.namespace),
                    },
                    format!(
                        "{}: {}\n     $ {}",
                        self.rel(path),
                        self.namespace_labels.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(", "),
                        shell(&self.root, argv)
                    ),
                ),
                Step::Helm(a) => ("install or upgrade the release".into(), format!("$ {}", shell(&self.root, a))),
                Step::Smoke { url } => (
                    "smoke test".into(),
                    format!(
                        "GET {}/health until 200 (up to {} s)\n     on failure: $ {}",
                        url.as_deref()
                            .map(|u| u.trim_end_matches('/').to_string())
                            .unwrap_or_else(|| format!("<terraform output api_url, else {}>", self.fallback_endpoint)),
                        self.smoke_timeout.as_secs(),
                        shell(&self.root, &self.rollback)
                    ),
                ),
            };
            out.push_str(&format!("{n:>3}. {title}\n     {detail}\n"));
        }
        out
    }

    fn run(self, g: &Global, p: &Project, cfg: &Config, args: &RenderArgs) -> anyhow::Result<Outcome> {
        if self.argocd_auto_sync && self.steps.iter().any(|s| matches!(s, Step::Helm(_))) {
            eprintln!(
                "warning: ArgoCD syncs `{}` automatically; it will put the committed values back over this release",
                self.env
            );
        }
        let mut pushed = Vec::new();
        let mut applied = None;
        for s in &self.steps {
            match s {
                Step::Drift => {
                    if super::diff::DiffCmd::drift_gate(g, args)? != Outcome::Ok {
                        eprintln!("not deployed: nothing was built, applied or installed");
                        return Ok(Outcome::Differs);
                    }
                }
                Step::Build { services, .. } => {
                    let built = super::build::build(p, cfg, services, &self.ca_bundle)?;
                    for b in built {
                        eprintln!("   {:<16} {}  {:.1} MiB", b.service, b.digest, b.size as f64 / 1048576.0);
                    }
                }
                // init + plan + show, as `myhealthctl plan` does them.
                Step::TerraformInit(_) => {
                    let summary = plan::plan(&self.tf_dir, &self.env, &self.init, false)?;
                    crate::out!("{}", plan::text(&summary));
                    applied = Some(summary);
                }
                Step::TerraformPlan(_) => {}
                Step::Approve { production } => {
                    let summary = applied.as_ref().expect("plan before approval");
                    if !summary.changes() {
                        continue;
                    }
                    if !self.yes {
                        let (question, want) = if *production {
                            (format!("apply this plan to production `{}`? type its name", self.env), self.env.as_str())
                        } else {
                            (format!("apply this plan to `{}`? type `yes`", self.env), "yes")
                        };
                        let answer = plan::ask(&question)?;
                        if answer != want {
                            eprintln!("not applied: the answer was not `{want}`; nothing was changed");
                            return Ok(Outcome::Differs);
                        }
                    }
                }
                Step::TerraformApply(a) => {
                    if !applied.as_ref().is_some_and(|s| s.changes()) {
                        continue;
                    }
                    step(&format!("terraform apply ({})", self.env), || {
                        let (code, out) = plan::terraform(a)?;
                        if code != 0 {
                            bail!("`terraform apply` failed in `{}`:\n{out}", self.tf_dir.display());
                        }
                        Ok(())
                    })?;
                }
                Step::Push { services, .. } => {
                    pushed = step("push the images", || {
                        super::push::push(p, cfg, &self.env, services, self.registry_override.as_deref())
                    })?;
                    for x in &pushed {
                        eprintln!("   {:<16} {}:{}@{}", x.service, x.repository, x.tag, x.digest);
                    }
                }
                Step::ReleaseValues { path } => self.write_values(path, &pushed)?,
                Step::Kubeconfig(a) => step("kubeconfig", || run(&self.root, a))?,
                Step::Namespace { path, argv } => {
                    self.write_namespace(path)?;
                    step(&format!("namespace `{}`", self.namespace), || run(&self.root, argv))?;
                }
                Step::Helm(a) => {
                    // On failure Helm has already rolled the release back (`--atomic`).
                    step("helm upgrade --install", || run(&self.root, a)).map_err(|e| {
                        e.context("the release failed; Helm rolled it back to the previous revision (if there was one)")
                    })?;
                }
                Step::Smoke { url } => {
                    let base = match url {
                        Some(u) => u.clone(),
                        None => self.endpoint_from_terraform(),
                    };
                    let health = format!("{}/health", base.trim_end_matches('/'));
                    if let Err(e) = step(&format!("smoke test: GET {health}"), || smoke(&health, self.smoke_timeout)) {
                        eprintln!("error: the smoke test failed: {e:#}");
                        eprintln!("rolling the release back: {}", shell(&self.root, &self.rollback));
                        match run(&self.root, &self.rollback) {
                            Ok(()) => {
                                bail!("deploy of `{}` failed its smoke test; the release was rolled back", self.env)
                            }
                            Err(r) => bail!(
                                "deploy of `{}` failed its smoke test, and the rollback failed too: {r:#}",
                                self.env
                            ),
                        }
                    }
                }
            }
        }
        crate::outln!("deployed `{}`", self.env);
        Ok(Outcome::Ok)
    }

    /// The environment's API URL from the Terraform state, else the configured host.
    fn endpoint_from_terraform(&self) -> String {
        let out = plan::terraform(&[format!("-chdir={}", self.tf_dir.display()), "output".into(), "-json".into()]);
        out.ok()
            .filter(|(code, _)| *code == 0)
            .and_then(|(_, json)| serde_json::from_str::<serde_json::Value>(&json).ok())
            .and_then(|v| v["api_url"]["value"].as_str().map(str::to_string))
            .filter(|u| !u.is_empty())
            .unwrap_or_else(|| self.fallback_endpoint.clone())
    }

    /// The digests just pushed, as a values file layered over the environment's.
    fn write_values(&self, path: &Path, pushed: &[crate::registry::Pushed]) -> anyhow::Result<()> {
        let mut root = serde_json::Map::new();
        let mut global = serde_json::Map::new();
        if let Some(first) = pushed.first() {
            let host = first.repository.split('/').next().unwrap_or_default();
            global.insert("imageRegistry".into(), host.into());
            if self.set_tag {
                global.insert("imageTag".into(), first.tag.clone().into());
            }
        }
        root.insert("global".into(), global.into());
        // `services.<name>.digest`: the chart's key for each service is its name.
        let services: serde_json::Map<String, serde_json::Value> =
            pushed.iter().map(|x| (x.service.clone(), serde_json::json!({ "digest": x.digest }))).collect();
        root.insert("services".into(), services.into());
        let yaml = serde_yaml_ng::to_string(&root)?;
        write(
            path,
            &format!("# written by `myhealthctl deploy {}`: the images of this deploy, by digest\n{yaml}", self.env),
        )
    }

    fn write_namespace(&self, path: &Path) -> anyhow::Result<()> {
        let doc = serde_json::json!({
            "apiVersion": "v1",
            "kind": "Namespace",
            "metadata": { "name": self.namespace, "labels": self.namespace_labels },
        });
        let mut text = serde_yaml_ng::to_string(&doc)?;
        if let Some(ns) = &self.grafana_namespace {
            let doc = serde_json::json!({ "apiVersion": "v1", "kind": "Namespace", "metadata": { "name": ns } });
            text.push_str(&format!("---\n{}", serde_yaml_ng::to_string(&doc)?));
        }
        write(path, &text)
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shell_quoting() {
        let root = Path::new("/repo");
        let argv = ["helm", "--values", "/repo/generated/x.yaml", "it's"].map(String::from);
        assert_eq!(shell(root, &argv), r"helm --values generated/x.yaml 'it'\''s'");
    }
}
