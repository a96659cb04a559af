//! The resolved configuration: one fully populated `Environment` per
//! `[environments.<name>]`, defaults applied. Every leaf keeps the span it
//! was set at (or none for a built-in default), so validation can point at
//! the exact line — including which override set it.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::span::Sp;

/// The chart's version (and the images' tag): the CLI's, so one release
/// of myhealthctl renders one chart; release records are judged against it.
pub const CHART_VERSION: &str = env!("CARGO_PKG_VERSION");

/// The whole resolved config.
#[derive(Debug, Clone, Serialize)]
pub struct Config {
    pub project: Project,
    /// In file order.
    pub environments: Vec<Environment>,
    /// `[defaults]` resolved on its own (an environment named `default`), if it resolves.
    pub defaults: Option<Environment>,
    /// Findings that do not stop anything (e.g. placeholders left in production), to show.
    #[serde(skip)]
    pub warnings: Option<crate::diagnostics::Report>,
    /// `[policy] disable`: the built-in policy rules not evaluated, each where the file names it.
    #[serde(skip)]
    pub disabled_rules: Vec<Sp<String>>,
}

impl Config {
    pub fn env(&self, name: &str) -> Option<&Environment> {
        self.environments.iter().find(|e| e.name.value == name)
    }
    pub fn env_names(&self) -> Vec<String> {
        self.environments.iter().map(|e| e.name.value.clone()).collect()
    }
    /// Every service any environment (or `[defaults]`) runs, once, sorted by name.
    pub fn service_names(&self) -> Vec<String> {
        let mut names: Vec<String> = self
            .environments
            .iter()
            .chain(self.defaults.as_ref())
            .flat_map(|e| e.services.iter().map(|s| s.name.value.clone()))
            .collect();
        names.sort();
        names.dedup();
        names
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Project {
    pub name: Sp<String>,
    pub domain: Sp<String>,
    pub api_host: Sp<String>,
    pub github_owner: Sp<String>,
    pub github_repo: Sp<String>,
    /// Numeric ids of the owner and the repository (the immutable OIDC subject carries them).
    pub github_owner_id: Option<Sp<u64>>,
    pub github_repo_id: Option<Sp<u64>>,
    pub oidc_subject: Sp<OidcSubject>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Environment {
    pub name: Sp<String>,
    pub production: Sp<bool>,
    pub aws: Aws,
    pub terraform: Terraform,
    pub network: Network,
    pub eks: Eks,
    pub rds: Rds,
    pub ecr: Ecr,
    pub api_gateway: ApiGateway,
    pub services: Vec<Service>,
    pub secrets: Secrets,
    pub monitoring: Monitoring,
    pub istio: Istio,
    pub ci: Ci,
    pub frontend: Frontend,
    pub argocd: Argocd,
    /// The release record, if one was written.
    pub release: Option<Release>,
    /// The monthly cost budget, if one is set.
    pub budget: Option<Budget>,
}

/// A monthly cost budget (`[budget]`).
#[derive(Debug, Clone, Serialize)]
pub struct Budget {
    pub monthly_usd: Sp<f64>,
    pub warn_percent: Sp<u8>,
    pub notify_emails: Vec<Sp<String>>,
    pub sns_topic_arns: Vec<Sp<String>>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Argocd {
    pub target_revision: Sp<String>,
    pub auto_sync: Sp<bool>,
    pub charts: AddonCharts,
    /// ArgoCD's own version.
    pub version: Sp<String>,
    /// ArgoCD syncs the environment's release; else `deploy` installs it with Helm.
    pub manage_release: Sp<bool>,
    /// ArgoCD's credential for a private repository (a secret reference).
    pub repository_credential: Option<Sp<SecretRef>>,
    /// How `deploy` puts a release onto the branch ArgoCD follows.
    pub release_by: Sp<ReleaseBy>,
}

/// What an environment runs, pinned (`[environments.<name>.release]`).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Release {
    pub commit: Sp<String>,
    pub chart: Sp<String>,
    /// Service name → image digest, sorted by service.
    pub images: Vec<(Sp<String>, Sp<String>)>,
}

impl Release {
    pub fn digest(&self, service: &str) -> Option<&str> {
        self.images.iter().find(|(s, _)| s.value == service).map(|(_, d)| d.value.as_str())
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct AddonCharts {
    pub istio: Sp<String>,
    pub external_secrets: Sp<String>,
    pub kube_prometheus_stack: Sp<String>,
    pub metrics_server: Sp<String>,
    pub cluster_autoscaler: Sp<String>,
    pub aws_load_balancer_controller: Sp<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Frontend {
    pub enabled: Sp<bool>,
    pub price_class: Sp<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Aws {
    pub region: Sp<String>,
    pub account_id: Sp<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Terraform {
    pub state_bucket: Sp<String>,
    pub state_region: Sp<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Network {
    pub vpc_cidr: Sp<String>,
    pub az_count: Sp<u8>,
    pub azs: Sp<Vec<Sp<String>>>,
    pub public_subnets: Sp<Vec<Sp<String>>>,
    pub private_subnets: Sp<Vec<Sp<String>>>,
    pub nat: Sp<NatMode>,
    pub vpc_endpoints: Sp<bool>,
    pub flow_logs_retention_days: Sp<u32>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Eks {
    pub cluster_name: Sp<String>,
    pub version: Sp<String>,
    pub endpoint_public_access: Sp<bool>,
    pub endpoint_private_access: Sp<bool>,
    pub public_access_cidrs: Sp<Vec<Sp<String>>>,
    pub log_retention_days: Sp<u32>,
    pub log_types: Sp<Vec<Sp<String>>>,
    pub addons: Addons,
    pub node_groups: Vec<NodeGroup>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Addons {
    pub vpc_cni: Sp<bool>,
    pub coredns: Sp<bool>,
    pub kube_proxy: Sp<bool>,
    pub ebs_csi: Sp<bool>,
}

#[derive(Debug, Clone, Serialize)]
pub struct NodeGroup {
    pub name: Sp<String>,
    pub instance_types: Sp<Vec<Sp<String>>>,
    pub capacity_type: Sp<CapacityType>,
    pub min_size: Sp<u32>,
    pub desired_size: Sp<u32>,
    pub max_size: Sp<u32>,
    pub disk_size_gb: Sp<u32>,
    pub max_unavailable: Sp<u32>,
    pub labels: Vec<(Sp<String>, Sp<String>)>,
    pub taints: Vec<Taint>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Taint {
    pub key: Sp<String>,
    pub value: Option<Sp<String>>,
    pub effect: Sp<TaintEffect>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Rds {
    pub engine_version: Sp<String>,
    pub auto_minor_version_upgrade: Sp<bool>,
    pub instance_class: Sp<String>,
    pub allocated_storage_gb: Sp<u32>,
    pub max_allocated_storage_gb: Sp<u32>,
    pub multi_az: Sp<bool>,
    pub deletion_protection: Sp<bool>,
    pub backup_retention_days: Sp<u32>,
    pub backup_window: Sp<String>,
    pub maintenance_window: Sp<String>,
    pub database_name: Sp<String>,
    pub master_username: Sp<String>,
    pub performance_insights: Sp<bool>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Ecr {
    pub image_tag_mutability: Sp<TagMutability>,
    pub keep_last: Sp<u32>,
    pub scan_on_push: Sp<bool>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ApiGateway {
    /// This environment's API host.
    pub host: Sp<String>,
    pub cors_allow_origins: Sp<Vec<Sp<String>>>,
    pub throttling_rate_limit: Sp<u32>,
    pub throttling_burst_limit: Sp<u32>,
    pub custom_domain: Sp<bool>,
    pub access_log_retention_days: Sp<u32>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Service {
    pub name: Sp<String>,
    pub kind: Sp<ServiceKind>,
    pub schedule: Option<Sp<String>>,
    pub replicas: Sp<u32>,
    pub port: Sp<u16>,
    pub autoscaling: Autoscaling,
    pub resources: Resources,
    pub env: Vec<(Sp<String>, Sp<String>)>,
    pub secret_env: Vec<(Sp<String>, Sp<SecretRef>)>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Autoscaling {
    pub enabled: Sp<bool>,
    pub min_replicas: Sp<u32>,
    pub max_replicas: Sp<u32>,
    pub target_cpu_percent: Sp<u32>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Resources {
    pub cpu_request: Sp<String>,
    pub cpu_limit: Sp<String>,
    pub memory_request: Sp<String>,
    pub memory_limit: Sp<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Secrets {
    pub oura_client: Sp<SecretRef>,
    pub oura_refresh_token: Sp<SecretRef>,
    pub jwt_signing_key: Sp<SecretRef>,
    pub api_password_hash: Sp<SecretRef>,
    pub grafana_admin: Sp<SecretRef>,
    pub grafana_db: Sp<SecretRef>,
}

impl Secrets {
    /// Every reference with its key name, in a fixed order.
    pub fn all(&self) -> [(&'static str, &Sp<SecretRef>); 6] {
        [
            ("oura_client", &self.oura_client),
            ("oura_refresh_token", &self.oura_refresh_token),
            ("jwt_signing_key", &self.jwt_signing_key),
            ("api_password_hash", &self.api_password_hash),
            ("grafana_admin", &self.grafana_admin),
            ("grafana_db", &self.grafana_db),
        ]
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Monitoring {
    pub enabled: Sp<bool>,
    pub prometheus_retention: Sp<String>,
    pub scrape_interval: Sp<String>,
    pub grafana: Sp<bool>,
    pub alerts: Sp<bool>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Istio {
    pub enabled: Sp<bool>,
    pub mtls_mode: Sp<MtlsMode>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Ci {
    pub workflows_dir: Sp<String>,
    pub pin_actions: Sp<bool>,
    pub runs_on: Sp<String>,
    /// Labels of the runner the release job runs on (reaches the cluster).
    pub release_runs_on: Sp<Vec<Sp<String>>>,
    pub require_approval: Sp<bool>,
    /// Sorted by id.
    pub extra_jobs: Vec<CiJob>,
}

#[derive(Debug, Clone, Serialize)]
pub struct CiJob {
    pub id: Sp<String>,
    pub run: Sp<String>,
    pub needs: Vec<Sp<String>>,
    pub timeout_minutes: Sp<u32>,
}

// ------------------------------------------------ value types of the config

/// How a release record reaches the branch ArgoCD follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ReleaseBy {
    /// On a branch of its own, through a pull request someone merges (the branch ArgoCD follows is protected).
    PullRequest,
    /// Pushed straight onto the branch (nobody protects it).
    Push,
}

/// The `sub` claim format of the repository's GitHub OIDC tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum OidcSubject {
    /// `repo:OWNER@OWNER_ID/REPO@REPO_ID:…`: names with their immutable ids (the default since 2026-07-15).
    Immutable,
    /// `repo:OWNER/REPO:…`: names only (repositories created before 2026-07-15 that did not opt in).
    Name,
}

/// How NAT gateways are laid out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum NatMode {
    /// One NAT gateway shared by all private subnets (cheapest; one AZ is a single point of failure).
    Single,
    /// One NAT gateway per availability zone.
    PerAz,
    /// No NAT: private subnets reach AWS only through VPC endpoints.
    None,
}

/// EC2 capacity type of a node group.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize, JsonSchema)]
pub enum CapacityType {
    /// Spot instances (cheap, may be reclaimed).
    #[serde(rename = "SPOT")]
    Spot,
    /// On-demand instances.
    #[serde(rename = "ON_DEMAND")]
    OnDemand,
}

/// Effect of a taint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize, JsonSchema)]
pub enum TaintEffect {
    /// Pods without a toleration are not scheduled.
    #[serde(rename = "NO_SCHEDULE")]
    NoSchedule,
    /// Avoid scheduling pods without a toleration.
    #[serde(rename = "PREFER_NO_SCHEDULE")]
    PreferNoSchedule,
    /// Evict running pods without a toleration.
    #[serde(rename = "NO_EXECUTE")]
    NoExecute,
}

/// Tag mutability of an ECR repository.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize, JsonSchema)]
pub enum TagMutability {
    /// Tags can be moved.
    #[serde(rename = "MUTABLE")]
    Mutable,
    /// Tags, once pushed, never move.
    #[serde(rename = "IMMUTABLE")]
    Immutable,
}

/// How a service runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ServiceKind {
    /// A long-running Deployment behind a Service.
    Deployment,
    /// A CronJob run on `schedule`.
    Cronjob,
}

/// Mutual TLS mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize, JsonSchema)]
pub enum MtlsMode {
    /// Only mTLS traffic is accepted.
    #[serde(rename = "STRICT")]
    Strict,
    /// mTLS and plain text are accepted.
    #[serde(rename = "PERMISSIVE")]
    Permissive,
}

/// A reference to a secret in AWS Secrets Manager: its name (path-like, e.g. `myhealth/oura/client`) or its ARN. Never the secret value.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(transparent)]
pub struct SecretRef(pub String);

impl SecretRef {
    /// Referenced by ARN: it lives elsewhere, the platform does not create it.
    pub fn is_arn(&self) -> bool {
        self.0.starts_with("arn:")
    }
}

/// Pattern a secret reference must match: an ARN, or a name with at least one `/`.
pub const SECRET_REF_PATTERN: &str = r"^(arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:[A-Za-z0-9/_+=.@-]+|[A-Za-z0-9_+=.@-]+(/[A-Za-z0-9_+=.@-]+)+)$";

impl JsonSchema for SecretRef {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "SecretRef".into()
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "string",
            "description": "A reference to a secret in AWS Secrets Manager: its name (path-like, e.g. `myhealth/oura/client`) or its ARN. Never the secret value.",
            "pattern": SECRET_REF_PATTERN,
        })
    }
}

/// How `myhealth.toml` spells a value type's variant (its serde name, the
/// one place it is written), for output that repeats it (`STRICT`, `per_az`).
pub fn spelling<T: serde::Serialize>(v: &T) -> String {
    match serde_json::to_value(v) {
        Ok(serde_json::Value::String(s)) => s,
        other => unreachable!("a value type's variant serializes as a string, not {other:?}"),
    }
}
