//! Context of `terraform/envs/{env}/`: the environment root's variables
//! ([`EnvVars`]: declarations and values from one struct), its state
//! backend, the bootstrap root's inputs, and the switches of its optional
//! modules.

use minijinja::Value;
use serde::Serialize;

use super::tfvars::{OnlyIf, Ordered, TfVar, hcl_object, tf_variables};
use super::{AWS_PROVIDER_LOCK, AWS_PROVIDER_VERSION, MergeTags, ProviderLock, StateBackend, TERRAFORM_VERSION};
use crate::config::Config;
use crate::config::model::{CapacityType, Environment, NatMode, SecretRef, TagMutability, TaintEffect};
use crate::config::span::Sp;
use crate::names::{self, GithubRole, KmsAlias, LogGroup, Names, ServiceRole};

hcl_object! {
    /// EKS managed add-ons to install.
    pub struct Addons {
        pub vpc_cni: bool,
        pub coredns: bool,
        pub kube_proxy: bool,
        pub ebs_csi: bool,
    }
}

hcl_object! {
    /// One EKS managed node group.
    pub struct NodeGroup {
        pub instance_types: Vec<String>,
        pub capacity_type: CapacityType,
        pub min_size: u32,
        pub desired_size: u32,
        pub max_size: u32,
        pub disk_size_gb: u32,
        pub max_unavailable: u32,
        pub labels: Ordered<String>,
        pub taints: Vec<Taint>,
    }
}

hcl_object! {
    /// A node group's taint.
    pub struct Taint {
        pub key: String,
        pub value: Option<String>,
        pub effect: TaintEffect,
    }
}

hcl_object! {
    /// A Kubernetes ServiceAccount that assumes an IAM role (IRSA).
    pub struct ServiceAccount {
        pub role: String,
        pub namespace: String,
        pub name: String,
    }
}

hcl_object! {
    /// A secret the environment creates (its name, never its value).
    pub struct Secret {
        pub name: String,
        pub description: String,
    }
}

tf_variables! {
    /// The environment root's variables, in declaration order.
    pub struct EnvVars {
        /// Project name.
        pub project: String,
        /// Environment name (also the GitHub environment that may apply it).
        pub environment: String,
        /// Prefix of the environment's resource names (VPC, database, load balancer, roles).
        pub name: String,
        /// AWS region of the environment.
        pub region: String,
        /// AWS account the environment must be applied to (guards against the wrong credentials).
        pub account_id: String,
        /// IPv4 CIDR block of the VPC.
        pub vpc_cidr: String,
        /// Availability zones, one per subnet pair (pinned, so a zone AWS adds never moves a subnet).
        pub azs: Vec<String>,
        /// Public subnet CIDRs, one per availability zone.
        pub public_subnets: Vec<String>,
        /// Private subnet CIDRs, one per availability zone.
        pub private_subnets: Vec<String>,
        /// NAT gateway layout: single, per_az or none.
        pub nat_mode: NatMode,
        /// Create the S3, ECR, Secrets Manager and STS VPC endpoints.
        pub vpc_endpoints: bool,
        /// Days VPC flow logs are kept.
        pub flow_logs_retention_days: u32,
        /// Name of the EKS cluster.
        pub cluster_name: String,
        /// Kubernetes version of the EKS cluster.
        pub cluster_version: String,
        /// Expose the Kubernetes API endpoint publicly.
        pub endpoint_public_access: bool,
        /// Expose the Kubernetes API endpoint inside the VPC.
        pub endpoint_private_access: bool,
        /// CIDRs allowed to reach the public Kubernetes API endpoint.
        pub public_access_cidrs: Vec<String>,
        /// Control-plane log types sent to CloudWatch.
        pub cluster_log_types: Vec<String>,
        /// Days control-plane logs are kept.
        pub cluster_log_retention_days: u32,
        /// EKS managed add-ons to install.
        pub addons: Addons,
        /// EKS managed node groups by name.
        pub node_groups: Ordered<NodeGroup>,
        /// PostgreSQL engine version.
        pub db_engine_version: String,
        /// RDS instance class.
        pub db_instance_class: String,
        /// Initial database storage in GiB.
        pub db_allocated_storage_gb: u32,
        /// Database storage autoscaling ceiling in GiB.
        pub db_max_allocated_storage_gb: u32,
        /// Run the database with a standby in a second availability zone.
        pub db_multi_az: bool,
        /// Refuse to delete the database.
        pub db_deletion_protection: bool,
        /// Days of automated database backups.
        pub db_backup_retention_days: u32,
        /// Daily backup window, UTC.
        pub db_backup_window: String,
        /// Weekly maintenance window, UTC.
        pub db_maintenance_window: String,
        /// Name of the application database.
        pub db_name: String,
        /// Database master user name (password managed by RDS).
        pub db_master_username: String,
        /// Enable Performance Insights on the database.
        pub db_performance_insights: bool,
        /// Let RDS apply minor versions (db_engine_version then names only the major).
        pub db_auto_minor_version_upgrade: bool,
        /// SSM parameter holding where the database is (no password).
        pub db_parameter: String,
        /// Database role of each service that logs in with IAM authentication.
        pub db_users: Ordered<String>,
        /// Kubernetes ServiceAccounts that assume an IAM role (IRSA), by role suffix: the only subject each role trusts.
        pub service_accounts: Ordered<ServiceAccount>,
        /// Image repository name by service.
        pub ecr_repositories: Ordered<String>,
        /// MUTABLE or IMMUTABLE image tags.
        pub ecr_image_tag_mutability: TagMutability,
        /// Scan images when pushed.
        pub ecr_scan_on_push: bool,
        /// Images kept per repository.
        pub ecr_keep_last: u32,
        /// Secrets to create, by key (names only: values are set by the operator, or generated by `myhealthctl apply`).
        pub secrets: Ordered<Secret>,
        /// Secrets referenced by ARN (created elsewhere) that External Secrets may read.
        pub external_secret_arns: Vec<String>,
        /// Origins allowed by the API's CORS policy.
        pub api_cors_allow_origins: Vec<String>,
        /// Steady-state requests per second of the API.
        pub api_throttling_rate_limit: u32,
        /// Burst of requests the API allows.
        pub api_throttling_burst_limit: u32,
        /// Days API access logs are kept.
        pub api_access_log_retention_days: u32,
        /// Host name the API is served on, or null for the default endpoint only.
        pub api_custom_domain: Option<String>,
        /// Route 53 hosted zone of the custom domain.
        pub api_hosted_zone: String,
        /// Internal load balancer API Gateway's VPC link forwards to.
        pub ingress_load_balancer_name: String,
        /// Its target group; the chart's TargetGroupBinding names it.
        pub ingress_target_group_name: String,
        /// Pod port the target group sends to.
        pub ingress_target_port: u16,
        /// Permissions boundary every role this root creates carries (the access root's).
        pub permissions_boundary_arn: String,
        /// The release job's role (the access root's): its access entry to the cluster.
        pub github_release_role_arn: String,
        /// Kubernetes group of the release role: ArgoCD's Applications in its namespace, nothing else.
        pub release_kubernetes_group: String,
        /// Alias of the key of every log group.
        pub logs_kms_alias: String,
        /// Alias of the key of the secrets.
        pub secrets_kms_alias: String,
        /// Alias of the key of Kubernetes secrets.
        pub cluster_secrets_kms_alias: String,
        /// Log group of the control plane.
        pub cluster_log_group: String,
        /// Log group of the VPC flow logs.
        pub flow_logs_log_group: String,
        /// Log group of the API's access logs.
        pub api_access_log_group: String,
        /// The cluster's IAM role.
        pub cluster_role_name: String,
        /// The nodes' IAM role.
        pub node_role_name: String,
        /// The EBS CSI driver's IRSA role.
        pub ebs_csi_role_name: String,
        /// The role VPC Flow Logs writes with.
        pub flow_logs_role_name: String,
        /// The role RDS Enhanced Monitoring writes with.
        pub rds_monitoring_role_name: String,
        /// Tag prefix of images a release record pins (never expired).
        pub ecr_release_tag_prefix: String,
        /// Release roles of environments in other accounts that copy images from this one.
        pub ecr_pull_principals: Vec<String>,
        /// Name of the monthly AWS Budget.
        pub budget_name: String,
        /// Bucket of the static frontend.
        pub frontend_bucket: String,
        /// CloudFront price class of the frontend.
        pub frontend_price_class: OnlyIf<String>,
        /// Monthly cost budget of the environment, in US dollars.
        pub budget_limit_usd: OnlyIf<f64>,
        /// Percent of the budget at which actual spend notifies.
        pub budget_warn_percent: OnlyIf<u8>,
        /// Email addresses the budget notifies.
        pub budget_notify_emails: OnlyIf<Vec<String>>,
        /// SNS topics the budget notifies.
        pub budget_sns_topic_arns: OnlyIf<Vec<String>>,
    }
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
    pub tfvars: EnvVars,
    /// Inputs of the bootstrap root for this environment's state bucket.
    pub bootstrap: Bootstrap,
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

/// Inputs of the bootstrap root (`bootstrap.tfvars`).
#[derive(Serialize)]
pub struct Bootstrap {
    pub project: String,
    pub region: String,
    pub state_bucket: String,
}

fn strs(v: &[Sp<String>]) -> Vec<String> {
    v.iter().map(|s| s.value.clone()).collect()
}

/// The values of the environment root's variables.
pub fn env_vars(cfg: &Config, e: &Environment) -> EnvVars {
    let n = Names::of(cfg, e);
    let node_groups = e
        .eks
        .node_groups
        .iter()
        .map(|g| {
            let group = NodeGroup {
                instance_types: strs(&g.instance_types.value),
                capacity_type: g.capacity_type.value,
                min_size: g.min_size.value,
                desired_size: g.desired_size.value,
                max_size: g.max_size.value,
                disk_size_gb: g.disk_size_gb.value,
                max_unavailable: g.max_unavailable.value,
                labels: g.labels.iter().map(|(k, v)| (k.value.clone(), v.value.clone())).collect(),
                taints: g
                    .taints
                    .iter()
                    .map(|t| Taint {
                        key: t.key.value.clone(),
                        value: t.value.as_ref().map(|v| v.value.clone()),
                        effect: t.effect.value,
                    })
                    .collect(),
            };
            (g.name.value.clone(), group)
        })
        .collect();
    let budget = e.budget.as_ref();
    let frontend = e.frontend.enabled.value;
    EnvVars {
        project: cfg.project.name.value.clone(),
        environment: e.name.value.clone(),
        name: n.prefix(),
        region: e.aws.region.value.clone(),
        account_id: e.aws.account_id.value.clone(),
        vpc_cidr: e.network.vpc_cidr.value.clone(),
        azs: strs(&e.network.azs.value),
        public_subnets: strs(&e.network.public_subnets.value),
        private_subnets: strs(&e.network.private_subnets.value),
        nat_mode: e.network.nat.value,
        vpc_endpoints: e.network.vpc_endpoints.value,
        flow_logs_retention_days: e.network.flow_logs_retention_days.value,
        cluster_name: e.eks.cluster_name.value.clone(),
        cluster_version: e.eks.version.value.clone(),
        endpoint_public_access: e.eks.endpoint_public_access.value,
        endpoint_private_access: e.eks.endpoint_private_access.value,
        public_access_cidrs: strs(&e.eks.public_access_cidrs.value),
        cluster_log_types: strs(&e.eks.log_types.value),
        cluster_log_retention_days: e.eks.log_retention_days.value,
        addons: Addons {
            vpc_cni: e.eks.addons.vpc_cni.value,
            coredns: e.eks.addons.coredns.value,
            kube_proxy: e.eks.addons.kube_proxy.value,
            ebs_csi: e.eks.addons.ebs_csi.value,
        },
        node_groups,
        db_engine_version: e.rds.engine_version.value.clone(),
        db_instance_class: e.rds.instance_class.value.clone(),
        db_allocated_storage_gb: e.rds.allocated_storage_gb.value,
        db_max_allocated_storage_gb: e.rds.max_allocated_storage_gb.value,
        db_multi_az: e.rds.multi_az.value,
        db_deletion_protection: e.rds.deletion_protection.value,
        db_backup_retention_days: e.rds.backup_retention_days.value,
        db_backup_window: e.rds.backup_window.value.clone(),
        db_maintenance_window: e.rds.maintenance_window.value.clone(),
        db_name: e.rds.database_name.value.clone(),
        db_master_username: e.rds.master_username.value.clone(),
        db_performance_insights: e.rds.performance_insights.value,
        db_auto_minor_version_upgrade: e.rds.auto_minor_version_upgrade.value,
        db_parameter: n.db_parameter(),
        db_users: n.db_services().filter_map(|s| n.db_role(&s.name.value).map(|r| (s.name.value.clone(), r))).collect(),
        service_accounts: n
            .irsa()
            .into_iter()
            .map(|b| {
                let sa = ServiceAccount { role: b.role_name, namespace: b.namespace, name: b.service_account };
                (b.key, sa)
            })
            .collect(),
        ecr_repositories: e.services.iter().map(|s| (s.name.value.clone(), n.ecr_repository(&s.name.value))).collect(),
        ecr_image_tag_mutability: e.ecr.image_tag_mutability.value,
        ecr_scan_on_push: e.ecr.scan_on_push.value,
        ecr_keep_last: e.ecr.keep_last.value,
        secrets: n
            .created_secrets()
            .into_iter()
            .map(|c| (c.key, Secret { name: c.name, description: c.description }))
            .collect(),
        external_secret_arns: n.external_secret_arns(),
        api_cors_allow_origins: strs(&e.api_gateway.cors_allow_origins.value),
        api_throttling_rate_limit: e.api_gateway.throttling_rate_limit.value,
        api_throttling_burst_limit: e.api_gateway.throttling_burst_limit.value,
        api_access_log_retention_days: e.api_gateway.access_log_retention_days.value,
        api_custom_domain: e.api_gateway.custom_domain.value.then(|| e.api_gateway.host.value.clone()),
        api_hosted_zone: cfg.project.domain.value.clone(),
        ingress_load_balancer_name: n.load_balancer(),
        ingress_target_group_name: n.target_group(),
        ingress_target_port: n.ingress_target_port(),
        permissions_boundary_arn: n.permissions_boundary_arn(),
        github_release_role_arn: n.github_role(GithubRole::Release),
        release_kubernetes_group: n.release_kubernetes_group(),
        logs_kms_alias: n.kms_alias(KmsAlias::Logs),
        secrets_kms_alias: n.kms_alias(KmsAlias::Secrets),
        cluster_secrets_kms_alias: n.kms_alias(KmsAlias::ClusterSecrets),
        cluster_log_group: n.log_group(LogGroup::Cluster),
        flow_logs_log_group: n.log_group(LogGroup::FlowLogs),
        api_access_log_group: n.log_group(LogGroup::ApiAccess),
        cluster_role_name: n.service_role(ServiceRole::Cluster),
        node_role_name: n.service_role(ServiceRole::Node),
        ebs_csi_role_name: n.ebs_csi().role_name,
        flow_logs_role_name: n.service_role(ServiceRole::FlowLogs),
        rds_monitoring_role_name: n.service_role(ServiceRole::RdsMonitoring),
        ecr_release_tag_prefix: names::RELEASE_TAG_PREFIX.to_string(),
        ecr_pull_principals: n.ecr_pull_principals(),
        budget_name: n.budget(),
        frontend_bucket: n.frontend_bucket(),
        frontend_price_class: OnlyIf(frontend.then(|| e.frontend.price_class.value.clone())),
        budget_limit_usd: OnlyIf(budget.map(|b| b.monthly_usd.value)),
        budget_warn_percent: OnlyIf(budget.map(|b| b.warn_percent.value)),
        budget_notify_emails: OnlyIf(budget.map(|b| strs(&b.notify_emails))),
        budget_sns_topic_arns: OnlyIf(budget.map(|b| strs(&b.sns_topic_arns))),
    }
}

pub fn terraform_env(cfg: &Config, env: &Environment) -> Value {
    let e = env;
    let n = Names::of(cfg, e);
    // A policy's reference to one secret: the module's, or the ARN given.
    let arn_expr = |key: &str, r: &Sp<SecretRef>| {
        if r.value.is_arn() {
            crate::render::hcl::value(&serde_json::Value::from(r.value.0.clone()), 0)
        } else {
            format!("module.secrets.arns[{}]", crate::render::hcl::value(&serde_json::Value::from(key), 0))
        }
    };
    let tfvars = env_vars(cfg, e);
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
        variables: tfvars.variables(),
        tfvars,
        bootstrap: Bootstrap {
            project: cfg.project.name.value.clone(),
            region: e.terraform.state_region.value.clone(),
            state_bucket: e.terraform.state_bucket.value.clone(),
        },
        collector: n.irsa_for(names::COLLECTOR).is_some(),
        db_init: n.irsa_for(names::DB_INIT).is_some(),
        oura_token_arn: arn_expr("oura_refresh_token", &e.secrets.oura_refresh_token),
        grafana_db_arn: arn_expr("grafana_db", &e.secrets.grafana_db),
        frontend: e.frontend.enabled.value,
        budget: e.budget.is_some(),
    }))
    .merge_tags(super::tags(cfg, env))
}
