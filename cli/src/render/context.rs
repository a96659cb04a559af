//! Typed template contexts, one per output family. Templates never see the
//! raw TOML: each context is built from the resolved model and holds
//! exactly what its templates use, already shaped for the target format.

use std::collections::BTreeMap;

use minijinja::Value;
use serde::Serialize;
use serde_json::{Value as Json, json};

use crate::config::Config;
use crate::config::model::Environment;
use crate::config::model::{CapacityType, NatMode, SecretRef};
use crate::config::span::Sp;
use crate::names::{self, GithubRole, KmsAlias, LogGroup, Names, ServiceRole};

/// Tags every AWS resource of an environment carries.
pub fn tags(cfg: &Config, env: &Environment) -> BTreeMap<String, String> {
    BTreeMap::from([
        ("Environment".into(), env.name.value.clone()),
        ("ManagedBy".into(), "myhealthctl".into()),
        ("Project".into(), cfg.project.name.value.clone()),
        ("Repository".into(), format!("{}/{}", cfg.project.github_owner.value, cfg.project.github_repo.value)),
    ])
}

/// A Terraform input variable of an environment root: declared in
/// `variables.tf`, set in `terraform.tfvars`.
#[derive(Serialize)]
pub struct TfVar {
    pub name: &'static str,
    /// HCL type constraint.
    #[serde(rename = "type")]
    pub ty: &'static str,
    pub description: &'static str,
}

/// Context of `terraform/envs/{env}/`.
#[derive(Serialize)]
pub struct TerraformEnv {
    pub project: String,
    pub environment: String,
    pub region: String,
    pub terraform_version: &'static str,
    pub aws_provider_version: &'static str,
    pub provider_lock: ProviderLock,
    pub state: StateBackend,
    pub variables: Vec<TfVar>,
    /// Variable values, in declaration order (for `terraform.tfvars`).
    pub tfvars: serde_json::Map<String, Json>,
    /// Inputs of the bootstrap root for this environment's state bucket.
    pub bootstrap: serde_json::Map<String, Json>,
    /// The collector service exists (it gets an IRSA role to rotate its token).
    pub collector: bool,
    /// Services use PostgreSQL: db-init gets its role.
    pub db_init: bool,
    /// HCL expressions (already quoted) of secrets the policies grant.
    pub oura_token_arn: String,
    pub grafana_db_arn: String,
    pub frontend: bool,
    /// `[budget]` is set: the budget module is instantiated.
    pub budget: bool,
}

#[derive(Serialize)]
pub struct StateBackend {
    pub bucket: String,
    pub key: String,
    pub region: String,
    /// The bootstrap's key, by alias.
    pub kms_key: String,
}

/// The Terraform versions every root and module pins (write-only
/// arguments, used for generated secrets, need 1.11).
pub const TERRAFORM_VERSION: &str = ">= 1.11";
pub const AWS_PROVIDER_VERSION: &str = "~> 5.100";

/// The provider every root's `.terraform.lock.hcl` pins, and its checksums.
/// `h1:` is the hash of the unpacked linux_amd64 package (what
/// `terraform providers lock -fs-mirror` computes, so offline mirrors verify);
/// `zh:` are HashiCorp's SHA256SUMS of the release's zip for every platform
/// (releases.hashicorp.com/terraform-provider-aws/5.100.0, as recorded by
/// `terraform init` from the registry), so downloads verify on any machine.
pub const AWS_PROVIDER_LOCK: ProviderLock = ProviderLock {
    version: "5.100.0",
    hashes: &[
        "h1:edXOJWE4ORX8Fm+dpVpICzMZJat4AX0VRCAy/xkcOc0=",
        "zh:054b8dd49f0549c9a7cc27d159e45327b7b65cf404da5e5a20da154b90b8a644",
        "zh:0b97bf8d5e03d15d83cc40b0530a1f84b459354939ba6f135a0086c20ebbe6b2",
        "zh:1589a2266af699cbd5d80737a0fe02e54ec9cf2ca54e7e00ac51c7359056f274",
        "zh:6330766f1d85f01ae6ea90d1b214b8b74cc8c1badc4696b165b36ddd4cc15f7b",
        "zh:7c8c2e30d8e55291b86fcb64bdf6c25489d538688545eb48fd74ad622e5d3862",
        "zh:99b1003bd9bd32ee323544da897148f46a527f622dc3971af63ea3e251596342",
        "zh:9b12af85486a96aedd8d7984b0ff811a4b42e3d88dad1a3fb4c0b580d04fa425",
        "zh:9f8b909d3ec50ade83c8062290378b1ec553edef6a447c56dadc01a99f4eaa93",
        "zh:aaef921ff9aabaf8b1869a86d692ebd24fbd4e12c21205034bb679b9caf883a2",
        "zh:ac882313207aba00dd5a76dbd572a0ddc818bb9cbf5c9d61b28fe30efaec951e",
        "zh:bb64e8aff37becab373a1a0cc1080990785304141af42ed6aa3dd4913b000421",
        "zh:dfe495f6621df5540d9c92ad40b8067376350b005c637ea6efac5dc15028add4",
        "zh:f0ddf0eaf052766cfe09dea8200a946519f653c384ab4336e2a4a64fdd6310e9",
        "zh:f1b7e684f4c7ae1eed272b6de7d2049bb87a0275cb04dbb7cda6636f600699c9",
        "zh:ff461571e3f233699bf690db319dfe46aec75e58726636a0d97dd9ac6e32fb70",
    ],
};

#[derive(Serialize, Clone, Copy)]
pub struct ProviderLock {
    pub version: &'static str,
    pub hashes: &'static [&'static str],
}

fn strs(v: &[Sp<String>]) -> Vec<String> {
    v.iter().map(|s| s.value.clone()).collect()
}

pub fn terraform_env(cfg: &Config, env: &Environment) -> Value {
    let e = env;
    let node_groups: serde_json::Map<String, Json> = e
        .eks
        .node_groups
        .iter()
        .map(|g| {
            (
                g.name.value.clone(),
                json!({
                    "instance_types": strs(&g.instance_types.value),
                    "capacity_type": match g.capacity_type.value { CapacityType::Spot => "SPOT", CapacityType::OnDemand => "ON_DEMAND" },
                    "min_size": g.min_size.value,
                    "desired_size": g.desired_size.value,
                    "max_size": g.max_size.value,
                    "disk_size_gb": g.disk_size_gb.value,
                    "max_unavailable": g.max_unavailable.value,
                    "labels": g.labels.iter().map(|(k, v)| (k.value.clone(), Json::from(v.value.clone()))).collect::<serde_json::Map<_, _>>(),
                    "taints": g.taints.iter().map(|t| json!({
                        "key": t.key.value,
                        "value": t.value.as_ref().map(|v| v.value.clone()),
                        "effect": serde_json::to_value(t.effect.value).unwrap_or(Json::Null),
                    })).collect::<Vec<_>>(),
                }),
            )
        })
        .collect();
    let n = Names::of(cfg, e);
    let secrets: serde_json::Map<String, Json> = n
        .created_secrets()
        .into_iter()
        .map(|c| (c.key, json!({ "name": c.name, "description": c.description })))
        .collect();
    let external_arns = n.external_secret_arns();
    // A policy's reference to one secret: the module's, or the ARN given.
    let arn_expr = |key: &str, r: &Sp<SecretRef>| {
        if r.value.is_arn() {
            super::hcl::value(&Json::from(r.value.0.clone()), 0)
        } else {
            format!("module.secrets.arns[{}]", super::hcl::value(&Json::from(key), 0))
        }
    };
    let service_accounts: serde_json::Map<String, Json> = n
        .irsa()
        .into_iter()
        .map(|b| (b.key.clone(), json!({ "role": b.role_name, "namespace": b.namespace, "name": b.service_account })))
        .collect();
    let db_users: serde_json::Map<String, Json> = n
        .db_services()
        .filter_map(|s| n.db_role(&s.name.value).map(|r| (s.name.value.clone(), Json::from(r))))
        .collect();
    let ecr_repositories: serde_json::Map<String, Json> =
        e.services.iter().map(|s| (s.name.value.clone(), Json::from(n.ecr_repository(&s.name.value)))).collect();
    let custom_domain = e.api_gateway.custom_domain.value.then(|| e.api_gateway.host.value.clone());

    let vars: Vec<(TfVar, Json)> = vec![
        (TfVar { name: "project", ty: "string", description: "Project name." }, json!(cfg.project.name.value)),
        (TfVar { name: "environment", ty: "string", description: "Environment name (also the GitHub environment that may apply it)." }, json!(e.name.value)),
        (TfVar { name: "name", ty: "string", description: "Prefix of the environment's resource names (VPC, database, load balancer, roles)." }, json!(n.prefix())),
        (TfVar { name: "region", ty: "string", description: "AWS region of the environment." }, json!(e.aws.region.value)),
        (TfVar { name: "account_id", ty: "string", description: "AWS account the environment must be applied to (guards against the wrong credentials)." }, json!(e.aws.account_id.value)),
        (TfVar { name: "vpc_cidr", ty: "string", description: "IPv4 CIDR block of the VPC." }, json!(e.network.vpc_cidr.value)),
        (TfVar { name: "azs", ty: "list(string)", description: "Availability zones, one per subnet pair (pinned, so a zone AWS adds never moves a subnet)." }, json!(strs(&e.network.azs.value))),
        (TfVar { name: "public_subnets", ty: "list(string)", description: "Public subnet CIDRs, one per availability zone." }, json!(strs(&e.network.public_subnets.value))),
        (TfVar { name: "private_subnets", ty: "list(string)", description: "Private subnet CIDRs, one per availability zone." }, json!(strs(&e.network.private_subnets.value))),
        (TfVar { name: "nat_mode", ty: "string", description: "NAT gateway layout: single, per_az or none." }, json!(match e.network.nat.value { NatMode::Single => "single", NatMode::PerAz => "per_az", NatMode::None => "none" })),
        (TfVar { name: "vpc_endpoints", ty: "bool", description: "Create the S3, ECR, Secrets Manager and STS VPC endpoints." }, json!(e.network.vpc_endpoints.value)),
        (TfVar { name: "flow_logs_retention_days", ty: "number", description: "Days VPC flow logs are kept." }, json!(e.network.flow_logs_retention_days.value)),
        (TfVar { name: "cluster_name", ty: "string", description: "Name of the EKS cluster." }, json!(e.eks.cluster_name.value)),
        (TfVar { name: "cluster_version", ty: "string", description: "Kubernetes version of the EKS cluster." }, json!(e.eks.version.value)),
        (TfVar { name: "endpoint_public_access", ty: "bool", description: "Expose the Kubernetes API endpoint publicly." }, json!(e.eks.endpoint_public_access.value)),
        (TfVar { name: "endpoint_private_access", ty: "bool", description: "Expose the Kubernetes API endpoint inside the VPC." }, json!(e.eks.endpoint_private_access.value)),
        (TfVar { name: "public_access_cidrs", ty: "list(string)", description: "CIDRs allowed to reach the public Kubernetes API endpoint." }, json!(strs(&e.eks.public_access_cidrs.value))),
        (TfVar { name: "cluster_log_types", ty: "list(string)", description: "Control-plane log types sent to CloudWatch." }, json!(strs(&e.eks.log_types.value))),
        (TfVar { name: "cluster_log_retention_days", ty: "number", description: "Days control-plane logs are kept." }, json!(e.eks.log_retention_days.value)),
        (
            TfVar { name: "addons", ty: "object({\n    vpc_cni    = bool\n    coredns    = bool\n    kube_proxy = bool\n    ebs_csi    = bool\n  })", description: "EKS managed add-ons to install." },
            json!({ "vpc_cni": e.eks.addons.vpc_cni.value, "coredns": e.eks.addons.coredns.value, "kube_proxy": e.eks.addons.kube_proxy.value, "ebs_csi": e.eks.addons.ebs_csi.value }),
        ),
        (
            TfVar {
                name: "node_groups",
                ty: "map(object({\n    instance_types  = list(string)\n    capacity_type   = string\n    min_size        = number\n    desired_size    = number\n    max_size        = number\n    disk_size_gb    = number\n    max_unavailable = number\n    labels          = map(string)\n    taints = list(object({\n      key    = string\n      value  = optional(string)\n      effect = string\n    }))\n  }))",
                description: "EKS managed node groups by name.",
            },
            Json::Object(node_groups),
        ),
        (TfVar { name: "db_engine_version", ty: "string", description: "PostgreSQL engine version." }, json!(e.rds.engine_version.value)),
        (TfVar { name: "db_instance_class", ty: "string", description: "RDS instance class." }, json!(e.rds.instance_class.value)),
        (TfVar { name: "db_allocated_storage_gb", ty: "number", description: "Initial database storage in GiB." }, json!(e.rds.allocated_storage_gb.value)),
        (TfVar { name: "db_max_allocated_storage_gb", ty: "number", description: "Database storage autoscaling ceiling in GiB." }, json!(e.rds.max_allocated_storage_gb.value)),
        (TfVar { name: "db_multi_az", ty: "bool", description: "Run the database with a standby in a second availability zone." }, json!(e.rds.multi_az.value)),
        (TfVar { name: "db_deletion_protection", ty: "bool", description: "Refuse to delete the database." }, json!(e.rds.deletion_protection.value)),
        (TfVar { name: "db_backup_retention_days", ty: "number", description: "Days of automated database backups." }, json!(e.rds.backup_retention_days.value)),
        (TfVar { name: "db_backup_window", ty: "string", description: "Daily backup window, UTC." }, json!(e.rds.backup_window.value)),
        (TfVar { name: "db_maintenance_window", ty: "string", description: "Weekly maintenance window, UTC." }, json!(e.rds.maintenance_window.value)),
        (TfVar { name: "db_name", ty: "string", description: "Name of the application database." }, json!(e.rds.database_name.value)),
        (TfVar { name: "db_master_username", ty: "string", description: "Database master user name (password managed by RDS)." }, json!(e.rds.master_username.value)),
        (TfVar { name: "db_performance_insights", ty: "bool", description: "Enable Performance Insights on the database." }, json!(e.rds.performance_insights.value)),
        (TfVar { name: "db_auto_minor_version_upgrade", ty: "bool", description: "Let RDS apply minor versions (db_engine_version then names only the major)." }, json!(e.rds.auto_minor_version_upgrade.value)),
        (TfVar { name: "db_parameter", ty: "string", description: "SSM parameter holding where the database is (no password)." }, json!(n.db_parameter())),
        (TfVar { name: "db_users", ty: "map(string)", description: "Database role of each service that logs in with IAM authentication." }, Json::Object(db_users)),
        (
            TfVar { name: "service_accounts", ty: "map(object({\n    role      = string\n    namespace = string\n    name      = string\n  }))", description: "Kubernetes ServiceAccounts that assume an IAM role (IRSA), by role suffix: the only subject each role trusts." },
            Json::Object(service_accounts),
        ),
        (TfVar { name: "ecr_repositories", ty: "map(string)", description: "Image repository name by service." }, Json::Object(ecr_repositories)),
        (TfVar { name: "ecr_image_tag_mutability", ty: "string", description: "MUTABLE or IMMUTABLE image tags." }, json!(serde_json::to_value(e.ecr.image_tag_mutability.value).unwrap_or(Json::Null))),
        (TfVar { name: "ecr_scan_on_push", ty: "bool", description: "Scan images when pushed." }, json!(e.ecr.scan_on_push.value)),
        (TfVar { name: "ecr_keep_last", ty: "number", description: "Images kept per repository." }, json!(e.ecr.keep_last.value)),
        (
            TfVar { name: "secrets", ty: "map(object({\n    name        = string\n    description = string\n  }))", description: "Secrets to create, by key (names only: values are set by the operator, or generated by `myhealthctl apply`)." },
            Json::Object(secrets),
        ),
        (TfVar { name: "external_secret_arns", ty: "list(string)", description: "Secrets referenced by ARN (created elsewhere) that External Secrets may read." }, json!(external_arns)),
        (TfVar { name: "api_cors_allow_origins", ty: "list(string)", description: "Origins allowed by the API's CORS policy." }, json!(strs(&e.api_gateway.cors_allow_origins.value))),
        (TfVar { name: "api_throttling_rate_limit", ty: "number", description: "Steady-state requests per second of the API." }, json!(e.api_gateway.throttling_rate_limit.value)),
        (TfVar { name: "api_throttling_burst_limit", ty: "number", description: "Burst of requests the API allows." }, json!(e.api_gateway.throttling_burst_limit.value)),
        (TfVar { name: "api_access_log_retention_days", ty: "number", description: "Days API access logs are kept." }, json!(e.api_gateway.access_log_retention_days.value)),
        (TfVar { name: "api_custom_domain", ty: "string", description: "Host name the API is served on, or null for the default endpoint only." }, json!(custom_domain)),
        (TfVar { name: "api_hosted_zone", ty: "string", description: "Route 53 hosted zone of the custom domain." }, json!(cfg.project.domain.value)),
        (TfVar { name: "ingress_load_balancer_name", ty: "string", description: "Internal load balancer API Gateway's VPC link forwards to." }, json!(n.load_balancer())),
        (TfVar { name: "ingress_target_group_name", ty: "string", description: "Its target group; the chart's TargetGroupBinding names it." }, json!(n.target_group())),
        (TfVar { name: "ingress_target_port", ty: "number", description: "Pod port the target group sends to." }, json!(n.ingress_target_port())),
        (TfVar { name: "permissions_boundary_arn", ty: "string", description: "Permissions boundary every role this root creates carries (the access root's)." }, json!(n.permissions_boundary_arn())),
        (TfVar { name: "github_release_role_arn", ty: "string", description: "The release job's role (the access root's): its access entry to the cluster." }, json!(n.github_role(GithubRole::Release))),
        (TfVar { name: "release_kubernetes_group", ty: "string", description: "Kubernetes group of the release role: ArgoCD's Applications in its namespace, nothing else." }, json!(n.release_kubernetes_group())),
        (TfVar { name: "logs_kms_alias", ty: "string", description: "Alias of the key of every log group." }, json!(n.kms_alias(KmsAlias::Logs))),
        (TfVar { name: "secrets_kms_alias", ty: "string", description: "Alias of the key of the secrets." }, json!(n.kms_alias(KmsAlias::Secrets))),
        (TfVar { name: "cluster_secrets_kms_alias", ty: "string", description: "Alias of the key of Kubernetes secrets." }, json!(n.kms_alias(KmsAlias::ClusterSecrets))),
        (TfVar { name: "cluster_log_group", ty: "string", description: "Log group of the control plane." }, json!(n.log_group(LogGroup::Cluster))),
        (TfVar { name: "flow_logs_log_group", ty: "string", description: "Log group of the VPC flow logs." }, json!(n.log_group(LogGroup::FlowLogs))),
        (TfVar { name: "api_access_log_group", ty: "string", description: "Log group of the API's access logs." }, json!(n.log_group(LogGroup::ApiAccess))),
        (TfVar { name: "cluster_role_name", ty: "string", description: "The cluster's IAM role." }, json!(n.service_role(ServiceRole::Cluster))),
        (TfVar { name: "node_role_name", ty: "string", description: "The nodes' IAM role." }, json!(n.service_role(ServiceRole::Node))),
        (TfVar { name: "ebs_csi_role_name", ty: "string", description: "The EBS CSI driver's IRSA role." }, json!(n.ebs_csi().role_name)),
        (TfVar { name: "flow_logs_role_name", ty: "string", description: "The role VPC Flow Logs writes with." }, json!(n.service_role(ServiceRole::FlowLogs))),
        (TfVar { name: "rds_monitoring_role_name", ty: "string", description: "The role RDS Enhanced Monitoring writes with." }, json!(n.service_role(ServiceRole::RdsMonitoring))),
        (TfVar { name: "ecr_release_tag_prefix", ty: "string", description: "Tag prefix of images a release record pins (never expired)." }, json!(names::RELEASE_TAG_PREFIX)),
        (TfVar { name: "ecr_pull_principals", ty: "list(string)", description: "Release roles of environments in other accounts that copy images from this one." }, json!(n.ecr_pull_principals())),
        (TfVar { name: "budget_name", ty: "string", description: "Name of the monthly AWS Budget." }, json!(n.budget())),
        (TfVar { name: "frontend_bucket", ty: "string", description: "Bucket of the static frontend." }, json!(n.frontend_bucket())),
    ]
    .into_iter()
    .chain(e.frontend.enabled.value.then(|| (TfVar { name: "frontend_price_class", ty: "string", description: "CloudFront price class of the frontend." }, json!(e.frontend.price_class.value))))
    .chain(e.budget.iter().flat_map(|b| [
        (TfVar { name: "budget_limit_usd", ty: "number", description: "Monthly cost budget of the environment, in US dollars." }, json!(b.monthly_usd.value)),
        (TfVar { name: "budget_warn_percent", ty: "number", description: "Percent of the budget at which actual spend notifies." }, json!(b.warn_percent.value)),
        (TfVar { name: "budget_notify_emails", ty: "list(string)", description: "Email addresses the budget notifies." }, json!(b.notify_emails.iter().map(|m| m.value.clone()).collect::<Vec<_>>())),
        (TfVar { name: "budget_sns_topic_arns", ty: "list(string)", description: "SNS topics the budget notifies." }, json!(b.sns_topic_arns.iter().map(|m| m.value.clone()).collect::<Vec<_>>())),
    ]))
    .collect();
    let tfvars = vars.iter().map(|(v, val)| (v.name.to_string(), val.clone())).collect();
    let bootstrap = [
        ("project", json!(cfg.project.name.value)),
        ("region", json!(e.terraform.state_region.value)),
        ("state_bucket", json!(e.terraform.state_bucket.value)),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    minijinja::Value::from(minijinja::value::Serde(TerraformEnv {
        project: cfg.project.name.value.clone(),
        environment: e.name.value.clone(),
        region: e.aws.region.value.clone(),
        terraform_version: TERRAFORM_VERSION,
        aws_provider_version: AWS_PROVIDER_VERSION,
        provider_lock: AWS_PROVIDER_LOCK,
        state: StateBackend {
            bucket: e.terraform.state_bucket.value.clone(),
            key: n.state_key(),
            region: e.terraform.state_region.value.clone(),
            kms_key: n.state_kms_alias(),
        },
        variables: vars.into_iter().map(|(v, _)| v).collect(),
        tfvars,
        bootstrap,
        collector: n.irsa_for(names::COLLECTOR).is_some(),
        db_init: n.irsa_for(names::DB_INIT).is_some(),
        oura_token_arn: arn_expr("oura_refresh_token", &e.secrets.oura_refresh_token),
        grafana_db_arn: arn_expr("grafana_db", &e.secrets.grafana_db),
        frontend: e.frontend.enabled.value,
        budget: e.budget.is_some(),
    }))
    .merge_tags(tags(cfg, env))
}

/// How long a GitHub job may hold a role's credentials: its own timeout
/// (`render::ci`), so a 90-minute apply never outlives its session.
pub fn github_session_seconds(role: GithubRole) -> u32 {
    super::ci::job_minutes(role) * 60
}

/// Context of `terraform/access/{env}/`: the roles GitHub Actions assumes in
/// the environment, and the boundary of the roles its apply creates. Applied
/// by an administrator (its state is its own), so no role it defines can
/// widen itself.
#[derive(Serialize)]
pub struct TerraformAccess {
    pub environment: String,
    pub terraform_version: &'static str,
    pub aws_provider_version: &'static str,
    pub provider_lock: ProviderLock,
    pub state: StateBackend,
    pub variables: Vec<TfVar>,
    pub tfvars: serde_json::Map<String, Json>,
}

pub fn terraform_access(cfg: &Config, env: &Environment) -> Value {
    let e = env;
    let n = Names::of(cfg, e);
    // The account's GitHub OIDC provider is created by the first environment in that account.
    let first_in_account = cfg
        .environments
        .iter()
        .find(|o| o.aws.account_id.value == e.aws.account_id.value)
        .is_some_and(|o| o.name.value == e.name.value);
    let roles: serde_json::Map<String, Json> = GithubRole::ALL
        .iter()
        .map(|r| {
            (
                r.suffix().to_string(),
                json!({
                    "name": n.github_role_name(*r),
                    "subjects": n.github_trusted_subjects(*r),
                    "max_session_seconds": github_session_seconds(*r).max(3600),
                }),
            )
        })
        .collect();
    let secrets = n.created_secrets();
    let str_list = |v: Vec<String>| json!(v);
    let vars: Vec<(TfVar, Json)> = vec![
        (
            TfVar {
                name: "environment",
                ty: "string",
                description: "Environment name (the value of its resources' Environment tag).",
            },
            json!(e.name.value),
        ),
        (
            TfVar { name: "region", ty: "string", description: "AWS region of the environment." },
            json!(e.aws.region.value),
        ),
        (
            TfVar { name: "account_id", ty: "string", description: "AWS account of the environment." },
            json!(e.aws.account_id.value),
        ),
        (
            TfVar { name: "cluster_name", ty: "string", description: "Name of the EKS cluster." },
            json!(e.eks.cluster_name.value),
        ),
        (
            TfVar {
                name: "create_github_oidc_provider",
                ty: "bool",
                description: "Create the account's GitHub OIDC provider (true for the first environment in each account).",
            },
            json!(first_in_account),
        ),
        (
            TfVar {
                name: "github_roles",
                ty: "map(object({\n    name                = string\n    subjects            = list(string)\n    max_session_seconds = number\n  }))",
                description: "The roles GitHub Actions assumes (plan, apply, release): name, the OIDC subjects of the GitHub environments whose jobs use it, its longest session.",
            },
            Json::Object(roles),
        ),
        (
            TfVar {
                name: "boundary_name",
                ty: "string",
                description: "The permissions boundary of every role the apply creates.",
            },
            json!(n.permissions_boundary()),
        ),
        (
            TfVar { name: "state_bucket", ty: "string", description: "S3 bucket of the Terraform state." },
            json!(e.terraform.state_bucket.value),
        ),
        (
            TfVar {
                name: "state_key",
                ty: "string",
                description: "The environment's state object: the only one its roles reach.",
            },
            json!(n.state_key()),
        ),
        (
            TfVar {
                name: "state_kms_alias",
                ty: "string",
                description: "Alias of the key the state is encrypted with.",
            },
            json!(n.state_kms_alias()),
        ),
        (
            TfVar {
                name: "ecr_repository_prefix",
                ty: "string",
                description: "Prefix of the environment's image repositories.",
            },
            json!(n.ecr_repository_prefix()),
        ),
        (
            TfVar {
                name: "ecr_source_repositories",
                ty: "list(string)",
                description: "Repositories the release copies recorded images from (the first environment's).",
            },
            str_list(n.release_source().map(|src| src.ecr_repositories_arn()).into_iter().collect()),
        ),
        (
            TfVar { name: "secret_names", ty: "list(string)", description: "Secrets the environment creates (names)." },
            str_list(secrets.iter().map(|c| c.name.clone()).collect()),
        ),
        (
            TfVar {
                name: "secret_arns",
                ty: "list(string)",
                description: "Secrets it references by ARN (created elsewhere).",
            },
            str_list(n.external_secret_arns()),
        ),
        (
            TfVar {
                name: "generated_secret_names",
                ty: "list(string)",
                description: "Secrets whose value `myhealthctl apply` generates (written, never read).",
            },
            str_list(secrets.iter().filter(|c| c.generate).map(|c| c.name.clone()).collect()),
        ),
        (
            TfVar {
                name: "db_identifier",
                ty: "string",
                description: "The database instance (and its subnet and parameter groups).",
            },
            json!(n.db_instance()),
        ),
        (
            TfVar { name: "db_parameter", ty: "string", description: "The SSM parameter of the database connection." },
            json!(n.db_parameter()),
        ),
        (
            TfVar { name: "load_balancer_name", ty: "string", description: "The internal load balancer." },
            json!(n.load_balancer()),
        ),
        (TfVar { name: "target_group_name", ty: "string", description: "Its target group." }, json!(n.target_group())),
        (
            TfVar { name: "log_groups", ty: "list(string)", description: "Log groups of the environment." },
            str_list(LogGroup::ALL.iter().map(|g| n.log_group(*g)).collect()),
        ),
        (
            TfVar { name: "kms_aliases", ty: "list(string)", description: "Aliases of the environment's keys." },
            str_list(KmsAlias::ALL.iter().map(|a| n.kms_alias(*a)).collect()),
        ),
        (
            TfVar {
                name: "passed_roles",
                ty: "list(string)",
                description: "Roles the environment hands to AWS services.",
            },
            str_list(ServiceRole::ALL.iter().map(|r| n.service_role(*r)).collect()),
        ),
        (
            TfVar {
                name: "managed_policies",
                ty: "list(string)",
                description: "AWS-managed policies the apply may attach to the environment's roles.",
            },
            str_list(MANAGED_POLICIES.iter().map(|p| p.to_string()).collect()),
        ),
        (TfVar { name: "budget_name", ty: "string", description: "The monthly AWS Budget." }, json!(n.budget())),
        (
            TfVar {
                name: "api_host",
                ty: "string",
                description: "The API's host (the only DNS records the apply may change).",
            },
            json!(n.api_host()),
        ),
        (
            TfVar { name: "frontend_bucket", ty: "string", description: "Bucket of the static frontend." },
            json!(n.frontend_bucket()),
        ),
    ];
    let tfvars = vars.iter().map(|(v, val)| (v.name.to_string(), val.clone())).collect();
    minijinja::Value::from(minijinja::value::Serde(TerraformAccess {
        environment: e.name.value.clone(),
        terraform_version: TERRAFORM_VERSION,
        aws_provider_version: AWS_PROVIDER_VERSION,
        provider_lock: AWS_PROVIDER_LOCK,
        state: StateBackend {
            bucket: e.terraform.state_bucket.value.clone(),
            key: n.access_state_key(),
            region: e.terraform.state_region.value.clone(),
            kms_key: n.state_kms_alias(),
        },
        variables: vars.into_iter().map(|(v, _)| v).collect(),
        tfvars,
    }))
    .merge_tags(tags(cfg, env))
}

/// The AWS-managed policies the modules attach (the apply may attach only these).
pub const MANAGED_POLICIES: [&str; 6] = [
    "AmazonEKSClusterPolicy",
    "AmazonEKSWorkerNodePolicy",
    "AmazonEKS_CNI_Policy",
    "AmazonEC2ContainerRegistryReadOnly",
    "service-role/AmazonEBSCSIDriverPolicy",
    "service-role/AmazonRDSEnhancedMonitoringRole",
];

/// Context of `terraform/modules/` and `terraform/bootstrap/`: they do not
/// depend on any environment, only on the pinned versions.
#[derive(Serialize)]
pub struct TerraformShared {
    pub terraform_version: &'static str,
    pub aws_provider_version: &'static str,
    pub provider_lock: ProviderLock,
}

pub fn terraform_shared(_cfg: &Config) -> Value {
    minijinja::Value::from(minijinja::value::Serde(TerraformShared {
        terraform_version: TERRAFORM_VERSION,
        aws_provider_version: AWS_PROVIDER_VERSION,
        provider_lock: AWS_PROVIDER_LOCK,
    }))
}

/// Adds the default tags to a context (kept out of the struct so every
/// family can share the helper).
trait MergeTags {
    fn merge_tags(self, tags: BTreeMap<String, String>) -> Value;
}

impl MergeTags for Value {
    fn merge_tags(self, tags: BTreeMap<String, String>) -> Value {
        minijinja::value::merge_maps([self, minijinja::context! { tags => tags }])
    }
}

/// Context of the top-level `README.md` index.
#[derive(Serialize)]
pub struct Index {
    pub project: String,
    pub domain: String,
    pub repository: String,
    pub environments: Vec<IndexEnv>,
}

#[derive(Serialize)]
pub struct IndexEnv {
    pub name: String,
    /// Its API host.
    pub api_host: String,
    pub region: String,
    pub cluster: String,
    pub kubernetes: String,
    pub nodes: String,
    pub nat: &'static str,
    pub database: String,
    pub services: usize,
}

pub fn index(cfg: &Config) -> Value {
    minijinja::Value::from(minijinja::value::Serde(Index {
        project: cfg.project.name.value.clone(),
        domain: cfg.project.domain.value.clone(),
        repository: format!("{}/{}", cfg.project.github_owner.value, cfg.project.github_repo.value),
        environments: cfg
            .environments
            .iter()
            .map(|e| IndexEnv {
                name: e.name.value.clone(),
                api_host: e.api_gateway.host.value.clone(),
                region: e.aws.region.value.clone(),
                cluster: e.eks.cluster_name.value.clone(),
                kubernetes: e.eks.version.value.clone(),
                nodes: e
                    .eks
                    .node_groups
                    .iter()
                    .map(|g| {
                        let cap = if g.capacity_type.value == CapacityType::Spot { "spot" } else { "on-demand" };
                        let types =
                            g.instance_types.value.iter().map(|t| t.value.as_str()).collect::<Vec<_>>().join("/");
                        format!("{}: {} {types} {}–{}", g.name.value, cap, g.min_size.value, g.max_size.value)
                    })
                    .collect::<Vec<_>>()
                    .join("; "),
                nat: match e.network.nat.value {
                    NatMode::Single => "single",
                    NatMode::PerAz => "one per AZ",
                    NatMode::None => "none",
                },
                database: format!(
                    "{}{}{}",
                    e.rds.instance_class.value,
                    if e.rds.multi_az.value { ", multi-AZ" } else { ", single-AZ" },
                    if e.rds.deletion_protection.value { ", deletion protection" } else { "" }
                ),
                services: e.services.len(),
            })
            .collect(),
    }))
}
