//! The raw layer of `myhealth.toml`: exactly what the file says, every field
//! optional, every value carrying the byte span it came from.
//!
//! These types are also the source of the JSON Schema (`myhealthctl schema`)
//! and of `docs/config.md`, so their doc comments are user-facing text.

use super::model::{
    CapacityType, MtlsMode, NatMode, OidcSubject, ReleaseBy, SecretRef, ServiceKind, TagMutability, TaintEffect,
};
use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::Deserialize;

use super::span::Sp;

/// The whole file: project identity, defaults, and per-environment overrides.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "myhealth.toml")]
pub struct RawConfig {
    /// Project identity, shared by every environment (not overridable).
    pub project: RawProject,
    /// Settings every environment inherits; each `[environments.<name>]` table overrides them key by key (tables merge deeply, arrays and scalars replace).
    #[serde(default)]
    pub defaults: RawSettings,
    /// The environments to render, by DNS-safe name (at least one). Each holds overrides of `defaults`.
    #[serde(default)]
    pub environments: BTreeMap<Sp<String>, RawSettings>,
    /// The policies `validate` and `render` evaluate (not overridable per environment).
    pub policy: Option<RawPolicy>,
}

/// Policy as code: which built-in rules `validate` and `render` leave out (see `policy.md`, "Built-in rules").
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawPolicy {
    /// Built-in rules not to evaluate, by name, e.g. `["myhealth.builtin.production.deny_nat_per_az"]` (`myhealthctl policy builtin` lists them). Each one disabled is shown in the pull-request review.
    pub disable: Option<Sp<Vec<Sp<String>>>>,
}

/// Project identity.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawProject {
    /// Short DNS-safe project name, used as the prefix of every resource name.
    pub name: Option<Sp<String>>,
    /// The apex domain the platform lives under, e.g. `eric-n.com`.
    pub domain: Option<Sp<String>>,
    /// Public host name of the API, e.g. `api.myhealth.eric-n.com`. Default: `api.<name>.<domain>`.
    pub api_host: Option<Sp<String>>,
    /// GitHub repository that holds this project (used for OIDC trust and workflows).
    pub github: Option<RawGithub>,
}

/// A GitHub repository.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawGithub {
    /// Owner (user or organisation).
    pub owner: Option<Sp<String>>,
    /// Repository name.
    pub repo: Option<Sp<String>>,
    /// The owner's numeric id (`gh api repos/OWNER/REPO --jq .owner.id`). GitHub puts it in the OIDC subject of the immutable format; required for it.
    pub owner_id: Option<Sp<u64>>,
    /// The repository's numeric id (`gh api repos/OWNER/REPO --jq .id`). GitHub puts it in the OIDC subject of the immutable format; required for it.
    pub repo_id: Option<Sp<u64>>,
    /// The subject GitHub issues in this repository's OIDC tokens, which the AWS roles trust: `immutable` (`repo:OWNER@OWNER_ID/REPO@REPO_ID:…`, the default for repositories created or renamed since 2026-07-15, and for older ones that opted in) or `name` (`repo:OWNER/REPO:…`, older repositories that did not). `myhealthctl doctor` checks it against the repository. Default: `immutable`.
    pub oidc_subject: Option<Sp<OidcSubject>>,
}

/// Everything an environment can set. The same shape is used for `[defaults]` and each `[environments.<name>]`.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawSettings {
    /// Hold this environment to production policy (multi-AZ database, deletion protection, NAT per AZ, restricted API endpoint, immutable tags). Default: true for an environment named `prod` or `production`.
    pub production: Option<Sp<bool>>,
    /// AWS account and region.
    pub aws: Option<RawAws>,
    /// Terraform state backend.
    pub terraform: Option<RawTerraform>,
    /// VPC layout.
    pub network: Option<RawNetwork>,
    /// EKS cluster and node groups.
    pub eks: Option<RawEks>,
    /// PostgreSQL on RDS.
    pub rds: Option<RawRds>,
    /// Container registries (one repository per bundled service).
    pub ecr: Option<RawEcr>,
    /// HTTP API in front of the cluster.
    pub api_gateway: Option<RawApiGateway>,
    /// The bundled services, by name.
    pub services: Option<BTreeMap<Sp<String>, RawService>>,
    /// References to secrets in AWS Secrets Manager. Values are secret names or ARNs, never the secret itself.
    pub secrets: Option<RawSecrets>,
    /// Prometheus, Grafana and alerting.
    pub monitoring: Option<RawMonitoring>,
    /// Istio service mesh.
    pub istio: Option<RawIstio>,
    /// GitHub Actions workflows.
    pub ci: Option<RawCi>,
    /// Static frontend on S3 + CloudFront (off by default: Grafana is the UI).
    pub frontend: Option<RawFrontend>,
    /// GitOps: what ArgoCD syncs, and the platform add-on charts it installs.
    pub argocd: Option<RawArgocd>,
    /// A monthly cost budget: an AWS Budget on the environment's tagged costs, and the estimate held against it.
    pub budget: Option<RawBudget>,
    /// The release this environment runs: images by digest (written by `myhealthctl push --record`, `promote` and `deploy`; only under `[environments.<name>]`).
    pub release: Option<RawRelease>,
}

/// A monthly cost budget.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawBudget {
    /// Monthly limit in US dollars, e.g. `250`. Above it `validate` fails for a production environment (warns otherwise); AWS notifies when the forecast passes it.
    pub monthly_usd: Sp<f64>,
    /// Percent of the limit at which actual spend notifies and the estimate warns (default 80).
    pub warn_percent: Option<Sp<u8>>,
    /// Email addresses notified.
    pub notify_emails: Option<Sp<Vec<Sp<String>>>>,
    /// SNS topic ARNs notified (in the environment's account and region).
    pub sns_topic_arns: Option<Sp<Vec<Sp<String>>>>,
}

/// A release record: what an environment runs, pinned. The chart pulls each
/// recorded image by digest; services without one run by tag.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawRelease {
    /// The commit of this repository the images were built from (40 hex digits).
    pub commit: Sp<String>,
    /// The version of the chart the release was verified with, e.g. `0.1.0`.
    pub chart: Sp<String>,
    /// Image digest per service, e.g. `api-service = "sha256:…"`.
    pub images: BTreeMap<Sp<String>, Sp<String>>,
}

/// ArgoCD: the Application of the chart and of the platform add-ons.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawArgocd {
    /// Git revision ArgoCD follows, e.g. `main`.
    pub target_revision: Option<Sp<String>>,
    /// Sync automatically with self-heal and pruning (default: on for the first environment, unless it is production; off for the others). Every environment follows the same branch, so a chart change would reach every auto-synced one at once: the others are synced by their release job (deploy.yml), each after the one before it released (docs/deploy.md, "Chart changes follow the promotion order").
    pub auto_sync: Option<Sp<bool>>,
    /// Versions of the platform add-on charts, pinned (referenced from their repositories, not vendored).
    pub charts: Option<RawAddonCharts>,
    /// ArgoCD itself, pinned, e.g. `3.5.1` (installed from `generated/argocd/install/`, see docs/deploy.md).
    pub version: Option<Sp<String>>,
    /// ArgoCD syncs the environment's release (default: true). When false, no Application of the chart is rendered and `myhealthctl deploy` installs it with Helm; the add-ons stay ArgoCD's.
    pub manage_release: Option<Sp<bool>>,
    /// ArgoCD's credential for this repository, when it is private: a Secrets Manager secret (name or ARN) holding JSON — a GitHub App with read access to contents (`githubAppID`, `githubAppInstallationID`, `githubAppPrivateKey`) or a read-only token (`username`, `password`). Rendered as an ExternalSecret of ArgoCD's repository Secret (`argocd/<env>/repository.yaml`); the first one is created by hand (docs/deploy.md, "A private repository"). `myhealthctl doctor` checks a private repository has one.
    pub repository_credential: Option<Sp<SecretRef>>,
    /// How `myhealthctl deploy` gets a release record onto the branch ArgoCD follows: `pull_request` (the default: that branch is protected, as docs/ci.md requires — the release goes on a branch of its own, through a pull request someone merges) or `push` (straight onto it, for a branch nobody protects).
    pub release_by: Option<Sp<ReleaseBy>>,
}

/// Pinned versions of the platform add-on Helm charts.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawAddonCharts {
    /// Istio (`base`, `istiod` and `gateway` charts), e.g. `1.27.3`.
    pub istio: Option<Sp<String>>,
    /// External Secrets Operator, e.g. `0.20.4`.
    pub external_secrets: Option<Sp<String>>,
    /// kube-prometheus-stack (Prometheus, Alertmanager, Grafana), e.g. `79.5.0`.
    pub kube_prometheus_stack: Option<Sp<String>>,
    /// metrics-server, e.g. `3.13.0`.
    pub metrics_server: Option<Sp<String>>,
    /// cluster-autoscaler, e.g. `9.52.1`.
    pub cluster_autoscaler: Option<Sp<String>>,
    /// AWS Load Balancer Controller (registers the ingress pods in the API's internal load balancer), e.g. `3.5.0`.
    pub aws_load_balancer_controller: Option<Sp<String>>,
}

/// Static frontend on S3 behind CloudFront.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawFrontend {
    /// Create the bucket and distribution.
    pub enabled: Option<Sp<bool>>,
    /// CloudFront price class: `PriceClass_100`, `PriceClass_200` or `PriceClass_All`.
    pub price_class: Option<Sp<String>>,
}

/// AWS account and region.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawAws {
    /// AWS region, e.g. `us-east-1`: one AWS lists, of the `aws` or `aws-us-gov` partition. Cost estimates use us-east-1's list prices, and say so for another region.
    pub region: Option<Sp<String>>,
    /// The 12-digit AWS account id.
    pub account_id: Option<Sp<String>>,
}

/// Terraform state backend (S3 with native lock files).
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawTerraform {
    /// S3 bucket holding the state. Default: `<project>-tfstate-<account_id>`.
    pub state_bucket: Option<Sp<String>>,
    /// Region of the state bucket. Default: `aws.region`.
    pub state_region: Option<Sp<String>>,
}

/// VPC layout.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawNetwork {
    /// The VPC's IPv4 CIDR block, e.g. `10.0.0.0/16`.
    pub vpc_cidr: Option<Sp<String>>,
    /// Number of availability zones to spread subnets over (2-6).
    pub az_count: Option<Sp<u8>>,
    /// Availability zone names, one per subnet pair, e.g. `["us-east-1a", "us-east-1b"]`. Default: the region's first `az_count` zones (a, b, c, …).
    pub azs: Option<Sp<Vec<Sp<String>>>>,
    /// Public subnet CIDRs, one per AZ, inside `vpc_cidr`.
    pub public_subnets: Option<Sp<Vec<Sp<String>>>>,
    /// Private subnet CIDRs, one per AZ, inside `vpc_cidr`.
    pub private_subnets: Option<Sp<Vec<Sp<String>>>>,
    /// NAT gateway layout: `single`, `per_az` or `none`.
    pub nat: Option<Sp<NatMode>>,
    /// Create VPC endpoints (S3 gateway; ECR, Secrets Manager and STS interfaces).
    pub vpc_endpoints: Option<Sp<bool>>,
    /// Retention of VPC flow logs in CloudWatch, in days (a CloudWatch-supported value).
    pub flow_logs_retention_days: Option<Sp<u32>>,
}

/// EKS cluster.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawEks {
    /// Cluster name. Default: `<project>-<environment>`.
    pub cluster_name: Option<Sp<String>>,
    /// Kubernetes version, e.g. `1.33` (one AWS currently supports).
    pub version: Option<Sp<String>>,
    /// Expose the API server endpoint publicly.
    pub endpoint_public_access: Option<Sp<bool>>,
    /// Expose the API server endpoint inside the VPC.
    pub endpoint_private_access: Option<Sp<bool>>,
    /// CIDRs allowed to reach the public endpoint.
    pub public_access_cidrs: Option<Sp<Vec<Sp<String>>>>,
    /// Retention of control-plane logs in CloudWatch, in days.
    pub log_retention_days: Option<Sp<u32>>,
    /// Control-plane log types to enable (`api`, `audit`, `authenticator`, `controllerManager`, `scheduler`).
    pub log_types: Option<Sp<Vec<Sp<String>>>>,
    /// Managed add-ons, each toggleable.
    pub addons: Option<RawAddons>,
    /// Managed node groups, by DNS-safe name.
    pub node_groups: Option<BTreeMap<Sp<String>, RawNodeGroup>>,
}

/// EKS managed add-ons.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawAddons {
    /// Amazon VPC CNI (with prefix delegation).
    pub vpc_cni: Option<Sp<bool>>,
    /// CoreDNS.
    pub coredns: Option<Sp<bool>>,
    /// kube-proxy.
    pub kube_proxy: Option<Sp<bool>>,
    /// Amazon EBS CSI driver (with its IRSA role).
    pub ebs_csi: Option<Sp<bool>>,
}

/// A managed node group.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawNodeGroup {
    /// EC2 instance types AWS lists, e.g. `["t3.medium"]`. The cost estimate prices the first.
    pub instance_types: Option<Sp<Vec<Sp<String>>>>,
    /// `SPOT` or `ON_DEMAND`.
    pub capacity_type: Option<Sp<CapacityType>>,
    /// Minimum number of nodes.
    pub min_size: Option<Sp<u32>>,
    /// Desired number of nodes (between min and max).
    pub desired_size: Option<Sp<u32>>,
    /// Maximum number of nodes.
    pub max_size: Option<Sp<u32>>,
    /// Root volume size in GiB.
    pub disk_size_gb: Option<Sp<u32>>,
    /// Nodes replaced at once during an update.
    pub max_unavailable: Option<Sp<u32>>,
    /// Kubernetes labels put on the nodes.
    pub labels: Option<BTreeMap<Sp<String>, Sp<String>>>,
    /// Kubernetes taints put on the nodes.
    pub taints: Option<Vec<RawTaint>>,
}

/// A node taint.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawTaint {
    /// Taint key.
    pub key: Sp<String>,
    /// Taint value.
    pub value: Option<Sp<String>>,
    /// `NO_SCHEDULE`, `PREFER_NO_SCHEDULE` or `NO_EXECUTE`.
    pub effect: Sp<TaintEffect>,
}

/// PostgreSQL on RDS.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawRds {
    /// PostgreSQL engine version: the major, e.g. `16` (RDS picks and upgrades the minor), or an exact `16.4` with `auto_minor_version_upgrade = false`.
    pub engine_version: Option<Sp<String>>,
    /// Let RDS apply minor versions in the maintenance window (default on; then `engine_version` names only the major).
    pub auto_minor_version_upgrade: Option<Sp<bool>>,
    /// Instance class, one AWS lists for RDS for PostgreSQL, e.g. `db.t3.micro`.
    pub instance_class: Option<Sp<String>>,
    /// Initial storage in GiB (gp3, 20-65536).
    pub allocated_storage_gb: Option<Sp<u32>>,
    /// Storage autoscaling ceiling in GiB (at least `allocated_storage_gb`).
    pub max_allocated_storage_gb: Option<Sp<u32>>,
    /// Run a standby in a second AZ.
    pub multi_az: Option<Sp<bool>>,
    /// Refuse to delete the instance.
    pub deletion_protection: Option<Sp<bool>>,
    /// Days of automated backups (0-35).
    pub backup_retention_days: Option<Sp<u32>>,
    /// Daily backup window, UTC, `hh:mm-hh:mm`.
    pub backup_window: Option<Sp<String>>,
    /// Weekly maintenance window, UTC, `ddd:hh:mm-ddd:hh:mm`.
    pub maintenance_window: Option<Sp<String>>,
    /// Name of the application database.
    pub database_name: Option<Sp<String>>,
    /// Master user name (its password is managed by RDS in Secrets Manager).
    pub master_username: Option<Sp<String>>,
    /// Enable Performance Insights.
    pub performance_insights: Option<Sp<bool>>,
}

/// Container registries.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawEcr {
    /// `MUTABLE` or `IMMUTABLE`.
    pub image_tag_mutability: Option<Sp<TagMutability>>,
    /// Number of images kept per repository by the lifecycle policy.
    pub keep_last: Option<Sp<u32>>,
    /// Scan images on push.
    pub scan_on_push: Option<Sp<bool>>,
}

/// HTTP API in front of the cluster.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawApiGateway {
    /// The host name of this environment's API: its custom domain and certificate, what the VPC link verifies, the smoke test's URL. Default: `project.api_host` for a production environment, `<environment>.<project.api_host>` for the others (e.g. `dev.api.myhealth.example.com`). Each environment's must be its own, under `project.domain`.
    pub host: Option<Sp<String>>,
    /// Origins allowed by CORS, e.g. `["https://eric-n.com"]`. Default: `https://<project.domain>` for a production environment, `https://<environment>.<project.domain>` for the others.
    pub cors_allow_origins: Option<Sp<Vec<Sp<String>>>>,
    /// Steady-state requests per second on the default route.
    pub throttling_rate_limit: Option<Sp<u32>>,
    /// Burst of requests allowed on the default route (at least the rate limit).
    pub throttling_burst_limit: Option<Sp<u32>>,
    /// Serve the API on its `host` with an ACM certificate (a custom domain in `project.domain`'s hosted zone).
    pub custom_domain: Option<Sp<bool>>,
    /// Retention of access logs in CloudWatch, in days.
    pub access_log_retention_days: Option<Sp<u32>>,
}

/// A bundled service.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawService {
    /// `deployment` or `cronjob`.
    pub kind: Option<Sp<ServiceKind>>,
    /// Cron schedule (five fields) for a `cronjob`, e.g. `*/5 * * * *`.
    pub schedule: Option<Sp<String>>,
    /// Replicas of a `deployment` when autoscaling is off.
    pub replicas: Option<Sp<u32>>,
    /// Container port of a `deployment`.
    pub port: Option<Sp<u16>>,
    /// Horizontal pod autoscaling of a `deployment`.
    pub autoscaling: Option<RawAutoscaling>,
    /// CPU and memory requests and limits.
    pub resources: Option<RawResources>,
    /// Plain environment variables (never secrets: use `secret_env`).
    pub env: Option<BTreeMap<Sp<String>, Sp<String>>>,
    /// Environment variables taken from Secrets Manager: variable name to secret reference.
    pub secret_env: Option<BTreeMap<Sp<String>, Sp<SecretRef>>>,
}

/// Horizontal pod autoscaling.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawAutoscaling {
    /// Enable the HorizontalPodAutoscaler.
    pub enabled: Option<Sp<bool>>,
    /// Minimum replicas.
    pub min_replicas: Option<Sp<u32>>,
    /// Maximum replicas.
    pub max_replicas: Option<Sp<u32>>,
    /// Target average CPU utilisation, percent (1-100).
    pub target_cpu_percent: Option<Sp<u32>>,
}

/// Container resources as Kubernetes quantities.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawResources {
    /// CPU request, e.g. `100m`.
    pub cpu_request: Option<Sp<String>>,
    /// CPU limit, e.g. `500m`.
    pub cpu_limit: Option<Sp<String>>,
    /// Memory request, e.g. `128Mi`.
    pub memory_request: Option<Sp<String>>,
    /// Memory limit, e.g. `256Mi`.
    pub memory_limit: Option<Sp<String>>,
}

/// References to the platform's secrets in AWS Secrets Manager.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawSecrets {
    /// Oura OAuth client id and secret.
    pub oura_client: Option<Sp<SecretRef>>,
    /// Oura OAuth refresh token (rotated by the collector).
    pub oura_refresh_token: Option<Sp<SecretRef>>,
    /// Key that signs the API's JWTs.
    pub jwt_signing_key: Option<Sp<SecretRef>>,
    /// Argon2 hash of the API user's password.
    pub api_password_hash: Option<Sp<SecretRef>>,
    /// Grafana admin credentials.
    pub grafana_admin: Option<Sp<SecretRef>>,
    /// Password of the read-only database role Grafana's PostgreSQL datasource logs in as.
    pub grafana_db: Option<Sp<SecretRef>>,
}

/// Prometheus, Grafana and alerting.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawMonitoring {
    /// Deploy the monitoring stack.
    pub enabled: Option<Sp<bool>>,
    /// Prometheus retention, e.g. `15d`.
    pub prometheus_retention: Option<Sp<String>>,
    /// Prometheus scrape interval, e.g. `30s`.
    pub scrape_interval: Option<Sp<String>>,
    /// Deploy Grafana with the platform dashboards.
    pub grafana: Option<Sp<bool>>,
    /// Deploy the alerting rules.
    pub alerts: Option<Sp<bool>>,
}

/// Istio service mesh.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawIstio {
    /// Route traffic through Istio.
    pub enabled: Option<Sp<bool>>,
    /// Peer authentication mode.
    pub mtls_mode: Option<Sp<MtlsMode>>,
}

/// GitHub Actions workflows.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawCi {
    /// Where workflows are written, relative to the project root.
    pub workflows_dir: Option<Sp<String>>,
    /// Pin third-party actions to full commit SHAs.
    pub pin_actions: Option<Sp<bool>>,
    /// Runner label, e.g. `ubuntu-24.04`.
    pub runs_on: Option<Sp<String>>,
    /// Runner labels of the jobs that reach this environment's Kubernetes API (deploy.yml's release job), e.g. `["self-hosted", "myhealth-prod"]`: a runner inside the VPC when the API endpoint does not admit GitHub's hosted runners (`eks.public_access_cidrs` without `0.0.0.0/0`, or no public endpoint). Default: `[runs_on]`.
    pub release_runs_on: Option<Sp<Vec<Sp<String>>>>,
    /// Require a reviewer's approval before applying to this environment.
    pub require_approval: Option<Sp<bool>>,
    /// Jobs added to `ci.yml`, by job id: each checks out the repository and runs a script.
    pub extra_jobs: Option<BTreeMap<Sp<String>, RawCiJob>>,
}

/// A job of your own in `ci.yml`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawCiJob {
    /// Shell script run after checkout (bash, `set -euo pipefail`).
    pub run: Sp<String>,
    /// Jobs that must pass first: `fmt`, `clippy`, `test`, `drift` or another extra job.
    pub needs: Option<Vec<Sp<String>>>,
    /// Cancelled after this many minutes (default 15).
    pub timeout_minutes: Option<Sp<u32>>,
}
