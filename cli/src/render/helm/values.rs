//! The shape of the chart's values ([`Values`]): what its templates read,
//! and — through `schemars` — the `values.schema.json` Helm enforces. Only
//! types live here; `super` fills them from the config.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::Serialize;

/// Everything the chart's templates read.
#[derive(Serialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Values {
    pub global: Global,
    /// Every service of the environment, by its name in `myhealth.toml`.
    pub services: BTreeMap<String, Workload>,
    pub db_init: DbInit,
    pub ingress: Ingress,
    pub network_policies: NetworkPolicies,
    pub istio: Istio,
    pub monitoring: Monitoring,
    pub external_secrets: ExternalSecrets,
}

/// Shared by every object of the release.
#[derive(Serialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Global {
    /// Project name.
    #[schemars(regex(pattern = r"^[a-z][a-z0-9-]{0,39}$"))]
    pub project: String,
    /// Environment name.
    #[schemars(regex(pattern = r"^[a-z][a-z0-9-]{0,29}$"))]
    pub environment: String,
    /// Production policy applies.
    pub production: bool,
    /// AWS account of the environment (12 digits).
    #[schemars(regex(pattern = r"^[0-9]{12}$"))]
    pub aws_account_id: String,
    pub aws_region: String,
    /// Container registry (ECR) host.
    pub image_registry: String,
    /// Image tag of every service without a digest in the release record.
    pub image_tag: String,
    /// The environment's release record (`[environments.<env>.release]`), if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub release: Option<ReleaseInfo>,
}

/// Where the release's images came from (the digests are on each service).
#[derive(Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ReleaseInfo {
    /// The commit the images were built from.
    #[schemars(regex(pattern = r"^[0-9a-f]{40}$"))]
    pub commit: String,
    /// The chart version the release was verified with.
    pub chart: String,
}

/// CPU and memory, as Kubernetes quantities.
#[derive(Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Resources {
    pub requests: Quantities,
    pub limits: Quantities,
}

#[derive(Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Quantities {
    #[schemars(regex(pattern = r"^[0-9]+(\.[0-9]+)?m?$"))]
    pub cpu: String,
    #[schemars(regex(pattern = r"^[0-9]+(Ki|Mi|Gi|Ti|k|M|G|T)?$"))]
    pub memory: String,
}

/// A ServiceAccount and the AWS role it may assume (IRSA).
#[derive(Serialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ServiceAccount {
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = r"^arn:aws[a-z-]*:iam::[0-9]{12}:role/[A-Za-z0-9+=,.@_-]+$"))]
    pub role_arn: Option<String>,
}

/// One service: a Deployment (with its Service, HPA, PDB) or a CronJob.
#[derive(Serialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Workload {
    /// Name of its objects (Deployment/CronJob, Service, ServiceAccount, …).
    pub name: String,
    /// `app.kubernetes.io/component`: the service's name.
    pub component: String,
    /// Image repository under the registry.
    pub image: String,
    /// Image digest: when set, the image is pulled by digest, not tag (from the environment's release record).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = r"^sha256:[0-9a-f]{64}$"))]
    pub digest: Option<String>,
    pub service_account: ServiceAccount,
    pub resources: Resources,
    /// Plain environment variables (never secrets).
    pub env: BTreeMap<String, String>,
    /// Kubernetes Secrets (written by External Secrets) whose keys become environment variables.
    pub env_from: Vec<String>,
    pub links: Links,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deployment: Option<DeploymentSpec>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cron_job: Option<CronJobSpec>,
}

/// A long-running service.
#[derive(Serialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DeploymentSpec {
    /// Replicas when autoscaling is off.
    #[schemars(range(min = 1, max = 100))]
    pub replicas: u32,
    #[schemars(range(min = 1024, max = 65535))]
    pub port: u16,
    pub autoscaling: Autoscaling,
    /// PodDisruptionBudget: at most this many pods down at once (none with a single replica).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_unavailable: Option<u32>,
    /// How replicas spread over zones and nodes: `DoNotSchedule` (production) or `ScheduleAnyway`.
    #[schemars(regex(pattern = "^(DoNotSchedule|ScheduleAnyway)$"))]
    pub zone_spread: String,
    #[schemars(regex(pattern = "^(DoNotSchedule|ScheduleAnyway)$"))]
    pub host_spread: String,
    pub probes: Probes,
}

#[derive(Serialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Probes {
    pub liveness_path: String,
    pub readiness_path: String,
    #[schemars(range(min = 1))]
    pub readiness_period_seconds: u32,
    #[schemars(range(min = 1))]
    pub readiness_failures: u32,
    #[schemars(range(min = 1))]
    pub timeout_seconds: u32,
}

#[derive(Serialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Autoscaling {
    pub enabled: bool,
    #[schemars(range(min = 1, max = 100))]
    pub min_replicas: u32,
    #[schemars(range(min = 1, max = 100))]
    pub max_replicas: u32,
    #[schemars(range(min = 1, max = 100))]
    pub target_cpu_percent: u32,
}

/// A service run on a schedule.
#[derive(Serialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CronJobSpec {
    /// Five-field cron schedule.
    #[schemars(regex(pattern = r"^\S+ \S+ \S+ \S+ \S+$"))]
    pub schedule: String,
    #[schemars(range(min = 0, max = 10))]
    pub backoff_limit: u32,
    /// A run taking longer is killed (and counts as failed).
    #[schemars(range(min = 30))]
    pub active_deadline_seconds: u32,
    pub successful_jobs_history_limit: u32,
    pub failed_jobs_history_limit: u32,
    /// Exit codes that end the Job at once instead of retrying it (the
    /// collector's two partial outcomes: some collections failed, the rest
    /// is stored — 3, the next scheduled run tries them again; 4, they need
    /// the user, and a retry would fail alike).
    pub fail_job_on_exit_codes: Vec<u32>,
}

/// A peer workload of the release.
#[derive(Serialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Peer {
    /// Its `app.kubernetes.io/component` label.
    pub component: String,
    /// Its ServiceAccount (its mesh identity).
    pub service_account: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
}

/// Who may reach the workload and what it may reach (NetworkPolicies and
/// Istio AuthorizationPolicies are both rendered from this).
#[derive(Serialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Links {
    pub from_ingress: bool,
    pub from_workloads: Vec<Peer>,
    pub from_namespace: bool,
    /// Prometheus scrapes `GET /metrics` on the service port.
    pub metrics: bool,
    pub database: bool,
    pub to_workloads: Vec<Peer>,
    pub https: bool,
}

/// The database job run before every sync as the master user: roles, grants.
#[derive(Serialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DbInit {
    pub enabled: bool,
    pub name: String,
    /// The service whose image (and digest) the job runs (`data-processor db-init`).
    pub image_from: String,
    pub service_account: ServiceAccount,
    pub env: BTreeMap<String, String>,
    pub resources: Resources,
}

/// The ingress path: the internal load balancer's target group fed with the
/// gateway's (or the api-service's) pods, and the Gateway that routes them.
#[derive(Serialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Ingress {
    pub enabled: bool,
    pub target_group_binding: TargetGroupBinding,
    /// The Istio Gateway listening on the gateway Service's HTTP port.
    pub gateway_name: String,
    pub gateway_port: u16,
}

/// The AWS Load Balancer Controller registers the pods behind this Service
/// in the Terraform's target group (found by name).
#[derive(Serialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TargetGroupBinding {
    pub name: String,
    pub namespace: String,
    #[schemars(length(max = 32))]
    pub target_group_name: String,
    pub service_name: String,
    pub service_port: u16,
}

/// Istio mesh security.
#[derive(Serialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Istio {
    pub enabled: bool,
    /// Peer authentication mode of the namespace.
    #[schemars(regex(pattern = "^(STRICT|PERMISSIVE)$"))]
    pub mtls_mode: String,
    pub namespace: String,
    /// The label (key, value) the ingress gateway pods carry.
    pub gateway_selector: BTreeMap<String, String>,
    /// How long the mesh keeps an idle connection to a service (below the
    /// services' header read timeout), e.g. `5s`.
    #[schemars(regex(pattern = "^[0-9]+s$"))]
    pub idle_timeout: String,
}

/// Default deny, then explicit allows.
#[derive(Serialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NetworkPolicies {
    pub enabled: bool,
    /// Where the internal load balancer's traffic comes from when Istio is off (its nodes sit in these subnets).
    pub load_balancer_cidrs: Vec<String>,
    /// Where PostgreSQL lives (the private subnets).
    pub database_cidrs: Vec<String>,
    pub istio: bool,
    pub istio_namespace: String,
    /// Prometheus scrapes from here.
    pub monitoring_namespace: String,
}

/// Prometheus Operator objects and Grafana dashboards.
#[derive(Serialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Monitoring {
    pub enabled: bool,
    /// kube-prometheus-stack's namespace (Prometheus scrapes from there).
    pub namespace: String,
    /// The `release` label kube-prometheus-stack selects its monitors and rules by.
    pub prometheus_release: String,
    /// Prometheus' mesh identity (AuthorizationPolicies let it scrape).
    pub prometheus_service_account: String,
    #[schemars(regex(pattern = r"^[0-9]+(s|m)$"))]
    pub scrape_interval: String,
    /// `https` with the mesh certificate Prometheus gets from its own sidecar (Istio on), else `http`.
    #[schemars(regex(pattern = "^(http|https)$"))]
    pub scrape_scheme: String,
    /// Directory of that certificate in the Prometheus pod.
    pub scrape_certs_dir: String,
    pub alerts: bool,
    pub grafana: Grafana,
    /// Alert thresholds.
    pub error_rate_percent: f64,
    pub p95_latency_seconds: f64,
    /// The collector's last success may be this old before it alerts.
    pub collector_stale_minutes: u32,
    /// The CronJob whose last success is watched, if there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub collector_cron_job: Option<String>,
}

/// What the chart gives kube-prometheus-stack's Grafana. All of it lives in
/// Grafana's own namespace, so its sidecars need no cluster-wide read.
#[derive(Serialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Grafana {
    /// Provision the PostgreSQL datasource, the dashboards and the admin secret.
    pub enabled: bool,
    /// Grafana's namespace (kube-prometheus-stack's).
    pub namespace: String,
    /// Read-only database role the datasource logs in as; db-init creates it.
    #[schemars(regex(pattern = "^[a-z_][a-z0-9_]{0,62}$"))]
    pub database_user: String,
    /// Kubernetes Secret (`admin-user`, `admin-password`) Grafana's admin login comes from.
    pub admin_secret: String,
    pub datasource_secret: String,
}

/// External Secrets: the Kubernetes Secrets the workloads read, from AWS.
#[derive(Serialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ExternalSecrets {
    pub enabled: bool,
    /// How often AWS is re-read.
    #[schemars(regex(pattern = r"^[0-9]+(s|m|h)$"))]
    pub refresh_interval: String,
    pub secrets_manager_store: String,
    pub parameter_store: String,
    /// SSM parameter with the database connection (host, port, dbname), written by the Terraform.
    pub database_parameter: String,
    /// `sslmode` of the services' connections (RDS forces TLS).
    #[schemars(regex(pattern = "^(require|verify-ca|verify-full)$"))]
    pub database_sslmode: String,
    /// Kubernetes Secret names.
    pub database_secret: String,
    pub api_secret: String,
    pub oura_secret: String,
    /// Secrets Manager names (references, never values).
    pub oura_client: String,
    pub jwt_signing_key: String,
    pub api_password_hash: String,
    pub grafana_admin: String,
    pub grafana_database: String,
    /// One Secret per service with `secret_env`: variable → Secrets Manager reference.
    pub service_secrets: Vec<ServiceSecret>,
}

#[derive(Serialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ServiceSecret {
    pub name: String,
    pub data: BTreeMap<String, String>,
}
