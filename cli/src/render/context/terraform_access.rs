//! Context of `terraform/access/{env}/`: the roles GitHub Actions assumes in
//! the environment, and the boundary of the roles its apply creates. Applied
//! by an administrator (its state is its own), so no role it defines can
//! widen itself.

use minijinja::Value;
use serde::Serialize;

use super::tfvars::{Ordered, TfVar, hcl_object, tf_variables};
use super::{
    AWS_PROVIDER_LOCK, AWS_PROVIDER_VERSION, MANAGED_POLICIES, MergeTags, ProviderLock, StateBackend,
    TERRAFORM_VERSION, github_session_seconds,
};
use crate::config::Config;
use crate::config::model::Environment;
use crate::names::{GithubRole, KmsAlias, LogGroup, Names, ServiceRole};

hcl_object! {
    /// A role GitHub Actions assumes.
    pub struct GithubRoleVar {
        pub name: String,
        pub subjects: Vec<String>,
        pub max_session_seconds: u32,
    }
}

tf_variables! {
    /// The access root's variables, in declaration order.
    pub struct AccessVars {
        /// Environment name (the value of its resources' Environment tag).
        pub environment: String,
        /// AWS region of the environment.
        pub region: String,
        /// AWS account of the environment.
        pub account_id: String,
        /// Name of the EKS cluster.
        pub cluster_name: String,
        /// Create the account's GitHub OIDC provider (true for the first environment in each account).
        pub create_github_oidc_provider: bool,
        /// The roles GitHub Actions assumes (plan, apply, release): name, the OIDC subjects of the GitHub environments whose jobs use it, its longest session.
        pub github_roles: Ordered<GithubRoleVar>,
        /// The permissions boundary of every role the apply creates.
        pub boundary_name: String,
        /// S3 bucket of the Terraform state.
        pub state_bucket: String,
        /// The environment's state object: the only one its roles reach.
        pub state_key: String,
        /// Alias of the key the state is encrypted with.
        pub state_kms_alias: String,
        /// Prefix of the environment's image repositories.
        pub ecr_repository_prefix: String,
        /// Repositories the release copies recorded images from (the first environment's).
        pub ecr_source_repositories: Vec<String>,
        /// Secrets the environment creates (names).
        pub secret_names: Vec<String>,
        /// Secrets it references by ARN (created elsewhere).
        pub secret_arns: Vec<String>,
        /// Secrets whose value `myhealthctl apply` generates (written, never read).
        pub generated_secret_names: Vec<String>,
        /// The database instance (and its subnet and parameter groups).
        pub db_identifier: String,
        /// The SSM parameter of the database connection.
        pub db_parameter: String,
        /// The internal load balancer.
        pub load_balancer_name: String,
        /// Its target group.
        pub target_group_name: String,
        /// Log groups of the environment.
        pub log_groups: Vec<String>,
        /// Aliases of the environment's keys.
        pub kms_aliases: Vec<String>,
        /// Roles the environment hands to AWS services.
        pub passed_roles: Vec<String>,
        /// AWS-managed policies the apply may attach to the environment's roles.
        pub managed_policies: Vec<String>,
        /// The monthly AWS Budget.
        pub budget_name: String,
        /// The API's host (the only DNS records the apply may change).
        pub api_host: String,
        /// Bucket of the static frontend.
        pub frontend_bucket: String,
    }
}

/// Context of `terraform/access/{env}/`.
#[derive(Serialize)]
pub struct TerraformAccess {
    pub environment: String,
    pub terraform_version: &'static str,
    pub aws_provider_version: &'static str,
    pub provider_lock: ProviderLock,
    pub state: StateBackend,
    pub variables: Vec<TfVar>,
    pub tfvars: AccessVars,
}

/// The values of the access root's variables.
pub fn access_vars(cfg: &Config, e: &Environment) -> AccessVars {
    let n = Names::of(cfg, e);
    // The account's GitHub OIDC provider is created by the first environment in that account.
    let first_in_account = cfg
        .environments
        .iter()
        .find(|o| o.aws.account_id.value == e.aws.account_id.value)
        .is_some_and(|o| o.name.value == e.name.value);
    let secrets = n.created_secrets();
    AccessVars {
        environment: e.name.value.clone(),
        region: e.aws.region.value.clone(),
        account_id: e.aws.account_id.value.clone(),
        cluster_name: e.eks.cluster_name.value.clone(),
        create_github_oidc_provider: first_in_account,
        github_roles: GithubRole::ALL
            .iter()
            .map(|r| {
                let role = GithubRoleVar {
                    name: n.github_role_name(*r),
                    subjects: n.github_trusted_subjects(*r),
                    max_session_seconds: github_session_seconds(*r).max(3600),
                };
                (r.suffix().to_string(), role)
            })
            .collect(),
        boundary_name: n.permissions_boundary(),
        state_bucket: e.terraform.state_bucket.value.clone(),
        state_key: n.state_key(),
        state_kms_alias: n.state_kms_alias(),
        ecr_repository_prefix: n.ecr_repository_prefix(),
        ecr_source_repositories: n.release_source().map(|src| src.ecr_repositories_arn()).into_iter().collect(),
        secret_names: secrets.iter().map(|c| c.name.clone()).collect(),
        secret_arns: n.external_secret_arns(),
        generated_secret_names: secrets.iter().filter(|c| c.generate).map(|c| c.name.clone()).collect(),
        db_identifier: n.db_instance(),
        db_parameter: n.db_parameter(),
        load_balancer_name: n.load_balancer(),
        target_group_name: n.target_group(),
        log_groups: LogGroup::ALL.iter().map(|g| n.log_group(*g)).collect(),
        kms_aliases: KmsAlias::ALL.iter().map(|a| n.kms_alias(*a)).collect(),
        passed_roles: ServiceRole::ALL.iter().map(|r| n.service_role(*r)).collect(),
        managed_policies: MANAGED_POLICIES.iter().map(|p| p.to_string()).collect(),
        budget_name: n.budget(),
        api_host: n.api_host(),
        frontend_bucket: n.frontend_bucket(),
    }
}

pub fn terraform_access(cfg: &Config, env: &Environment) -> Value {
    let e = env;
    let n = Names::of(cfg, e);
    let tfvars = access_vars(cfg, e);
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
        variables: tfvars.variables(),
        tfvars,
    }))
    .merge_tags(super::tags(cfg, env))
}
