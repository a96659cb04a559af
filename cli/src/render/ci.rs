//! The GitHub Actions workflows' context: which environments exist and in
//! what order they are applied, the roles GitHub assumes in each (the
//! github-oidc module's names), the bundled services the build matrix runs
//! over, the actions at their pinned versions, and the config's extra jobs.
//! Project-wide CI settings come from `[defaults.ci]` (else the first
//! environment); `require_approval` is per environment.

use serde::Serialize;

use crate::config::Config;
use crate::names::{GithubEnvironment, GithubRole};

/// The third-party actions the workflows use: (key, repository, version, commit).
/// Versions run on Node 24 (GitHub removes Node 20 in 2026); commits are the
/// tags' commits, so pinning changes nothing but what a moved tag could do.
pub const ACTIONS: [(&str, &str, &str, &str); 7] = [
    ("checkout", "actions/checkout", "v6.0.2", "de0fac2e4500dabe0009e67214ff5f5447ce83dd"),
    ("upload_artifact", "actions/upload-artifact", "v6.0.0", "b7c566a772e6b6bfb58ed0dc250532a479d7789f"),
    ("download_artifact", "actions/download-artifact", "v7.0.0", "37930b1c2abaa49bbe596cd826c3c89aef350131"),
    ("setup_helm", "azure/setup-helm", "v5.0.0", "dda3372f752e03dde6b3237bc9431cdc2f7a02a2"),
    ("aws_credentials", "aws-actions/configure-aws-credentials", "v6.0.0", "8df5847569e6427dd6c4fb1cf565c83acfa8afa7"),
    ("setup_terraform", "hashicorp/setup-terraform", "v4.0.0", "5e8dbf3c6d9deaf4193ca7a8fb23f2ac83bb6c85"),
    ("trivy", "aquasecurity/trivy-action", "v0.36.0", "ed142fd0673e97e23eac54620cfb913e5ce36c25"),
];

/// Terraform the workflows install: one exact version, so a plan saved by
/// one job is applied by the same Terraform in the next (a plan file names
/// the version that wrote it; the tests run this one).
pub const TERRAFORM_VERSION: &str = "1.11.4";

/// How long each kind of job may run, in minutes — and so how long its
/// role's session lasts (`context::github_session_seconds`): a session
/// shorter than its job expires mid-apply.
pub fn job_minutes(role: GithubRole) -> u32 {
    match role {
        GithubRole::Plan => 60,
        GithubRole::Apply => 90,
        GithubRole::Release => 60,
    }
}

/// How long a saved plan waits for its approval: GitHub lets a deployment
/// wait 30 days for a reviewer, so the artifact lives as long.
pub const PLAN_ARTIFACT_DAYS: u32 = 30;

/// Helm the review installs to render the chart (`diff --manifests`); the
/// tests render with the Helm v4 SDK.
pub const HELM_VERSION: &str = "v4.1.4";

#[derive(Serialize)]
struct Context {
    project: String,
    runs_on: String,
    terraform_version: &'static str,
    helm_version: &'static str,
    /// Minutes each kind of job may run (and its role's session lasts).
    plan_minutes: u32,
    apply_minutes: u32,
    release_minutes: u32,
    plan_artifact_days: u32,
    /// Tag prefix of images a release record pins (ECR never expires them).
    release_tag_prefix: &'static str,
    /// The branch pull requests merge into; the applies run from it.
    main_branch: &'static str,
    /// The chart in the repository: a change there is released in order, as values are.
    chart_path: String,
    /// Each environment's plan role and region, as JSON (the review's plan matrix picks from it).
    plan_roles: String,
    /// `uses:` value per action key.
    actions: serde_json::Map<String, serde_json::Value>,
    /// In the order they are applied (the config's order).
    environments: Vec<Env>,
    /// Names, sorted.
    services: Vec<String>,
    extra_jobs: Vec<Job>,
}

#[derive(Serialize)]
struct Env {
    name: String,
    region: String,
    /// The roles its jobs assume, each from its own GitHub environment.
    plan_role: String,
    apply_role: String,
    release_role: String,
    /// `<env>-plan`: plans and drift checks (pull requests included).
    plan_environment: String,
    /// `<env>-infra`: the apply of the reviewed plan.
    infra_environment: String,
    /// `<env>-replan`: the apply of a plan that changed after the review.
    replan_environment: String,
    /// `<env>`: its releases.
    release_environment: String,
    /// Runner labels of its release job (it reaches the cluster).
    release_runs_on: Vec<String>,
    /// The chart's ArgoCD Application (promotion syncs it).
    argocd_app: String,
    cluster: String,
    require_approval: bool,
    /// The environment before it in the apply order (it promotes from there).
    after: Option<String>,
    /// ArgoCD rolls its release out (deploy.yml syncs it); else `myhealthctl deploy` with Helm.
    manage_release: bool,
    /// The nearest environment before it whose release deploy.yml runs: its
    /// release job waits for that one (a chart change goes in order).
    release_after: Option<String>,
    /// Its values file in the repository: a release (record) change shows there.
    values_file: String,
    /// Its container registry (ECR host) and each service's repository there, as JSON.
    registry: String,
    repositories: String,
    /// Each service's repository in the registry its releases are copied
    /// from (the first environment's), as JSON.
    source_repositories: String,
}

#[derive(Serialize)]
struct Job {
    id: String,
    run: String,
    needs: Vec<String>,
    timeout_minutes: u32,
}

pub fn context(cfg: &Config) -> minijinja::Value {
    let base = cfg.defaults.as_ref().or(cfg.environments.first()).expect("at least one environment");
    let ci = &base.ci;
    let actions = ACTIONS
        .iter()
        .map(|(key, repo, version, sha)| {
            let uses =
                if ci.pin_actions.value { format!("{repo}@{sha} # {version}") } else { format!("{repo}@{version}") };
            (key.to_string(), serde_json::Value::from(uses))
        })
        .collect();
    let mut prev: Option<String> = None;
    let mut prev_release: Option<String> = None;
    let environments: Vec<Env> = cfg
        .environments
        .iter()
        .map(|e| {
            let n = crate::names::Names::of(cfg, e);
            let source = n.release_source().unwrap_or_else(|| crate::names::Names::of(cfg, e));
            let repos = |n: &crate::names::Names| {
                serde_json::Value::Object(
                    e.services.iter().map(|s| (s.name.value.clone(), n.ecr_repository(&s.name.value).into())).collect(),
                )
                .to_string()
            };
            let env = Env {
                name: e.name.value.clone(),
                region: e.aws.region.value.clone(),
                plan_role: n.github_role(GithubRole::Plan),
                apply_role: n.github_role(GithubRole::Apply),
                release_role: n.github_role(GithubRole::Release),
                plan_environment: n.github_environment(GithubEnvironment::Plan),
                infra_environment: n.github_environment(GithubEnvironment::Infra),
                replan_environment: n.github_environment(GithubEnvironment::Replan),
                release_environment: n.github_environment(GithubEnvironment::Release),
                release_runs_on: e.ci.release_runs_on.value.iter().map(|l| l.value.clone()).collect(),
                argocd_app: n.argocd_app(),
                cluster: e.eks.cluster_name.value.clone(),
                require_approval: e.ci.require_approval.value || e.production.value,
                after: prev.clone(),
                manage_release: e.argocd.manage_release.value,
                release_after: prev_release.clone(),
                values_file: format!("{}/{}", crate::names::GENERATED_DIR, n.values_file()),
                registry: n.ecr_host(),
                repositories: repos(&n),
                source_repositories: repos(&source),
            };
            prev = Some(e.name.value.clone());
            if e.argocd.manage_release.value {
                prev_release = Some(e.name.value.clone());
            }
            env
        })
        .collect();
    let extra_jobs = ci
        .extra_jobs
        .iter()
        .map(|j| Job {
            id: j.id.value.clone(),
            run: j.run.value.clone(),
            needs: j.needs.iter().map(|n| n.value.clone()).collect(),
            timeout_minutes: j.timeout_minutes.value,
        })
        .collect();
    let plan_roles: serde_json::Map<String, serde_json::Value> = environments
        .iter()
        .map(|e| {
            (
                e.name.clone(),
                serde_json::json!({ "role": e.plan_role, "region": e.region, "github_environment": e.plan_environment }),
            )
        })
        .collect();
    minijinja::Value::from(minijinja::value::Serde(Context {
        project: cfg.project.name.value.clone(),
        runs_on: ci.runs_on.value.clone(),
        terraform_version: TERRAFORM_VERSION,
        helm_version: HELM_VERSION,
        plan_minutes: job_minutes(GithubRole::Plan),
        apply_minutes: job_minutes(GithubRole::Apply),
        release_minutes: job_minutes(GithubRole::Release),
        plan_artifact_days: PLAN_ARTIFACT_DAYS,
        release_tag_prefix: crate::names::RELEASE_TAG_PREFIX,
        main_branch: crate::names::MAIN_BRANCH,
        chart_path: crate::names::Names::of(cfg, base).chart_path(),
        plan_roles: serde_json::Value::Object(plan_roles).to_string(),
        actions,
        environments,
        services: cfg.service_names(),
        extra_jobs,
    }))
}

#[cfg(test)]
mod tests {
    /// The jobs validation calls built in (`config::validate::CI_JOBS`: an
    /// extra job may not take their ids, and may need them) are the jobs
    /// `ci.yml` has, with the extra jobs after them.
    #[test]
    fn the_built_in_jobs_are_the_jobs_of_ci_yml() {
        let text = include_str!("../../../myhealth.toml");
        let extra = "\n[defaults.ci.extra_jobs.docs-links]\nrun = \"true\"\nneeds = [\"test\"]\n";
        for (text, extra_ids) in [(text.to_string(), vec![]), (format!("{text}{extra}"), vec!["docs-links"])] {
            let source = crate::diagnostics::Source { name: "myhealth.toml".into(), text };
            let cfg = crate::config::load(source).unwrap();
            let tree = super::super::render(&cfg, &super::super::Templates::embedded(), &Default::default()).unwrap();
            let ci: serde_yaml_ng::Value = serde_yaml_ng::from_slice(&tree["workflows/ci.yml"]).unwrap();
            let jobs: Vec<&str> = ci["jobs"].as_mapping().unwrap().keys().filter_map(|k| k.as_str()).collect();
            let mut want: Vec<&str> = crate::config::validate::CI_JOBS.to_vec();
            want.extend(extra_ids);
            assert_eq!(jobs, want, "ci.yml's jobs and the built-in ids validation knows");
        }
    }
}
