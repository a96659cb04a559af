//! Typed template contexts, one per output family. Templates never see the
//! raw TOML: each context is built from the resolved model and holds
//! exactly what its templates use, already shaped for the target format.
//!
//! The Terraform roots' contexts live beside this file: `terraform_env`
//! (`terraform/envs/{env}/`) and `terraform_access` (`terraform/access/{env}/`),
//! each with its variables as one struct (`tfvars`: declarations and values
//! from the same fields); here the pinned versions, the state backend, the
//! shared modules' and the README index's contexts.

use std::collections::BTreeMap;

use minijinja::Value;
use serde::Serialize;

use crate::config::Config;
use crate::config::model::Environment;
use crate::config::model::{CapacityType, NatMode};
use crate::names::GithubRole;

pub(super) mod terraform_access;
pub(super) mod terraform_env;
pub(crate) mod tfvars;

/// Tags every AWS resource of an environment carries.
pub fn tags(cfg: &Config, env: &Environment) -> BTreeMap<String, String> {
    BTreeMap::from([
        ("Environment".into(), env.name.value.clone()),
        ("ManagedBy".into(), "myhealthctl".into()),
        ("Project".into(), cfg.project.name.value.clone()),
        ("Repository".into(), format!("{}/{}", cfg.project.github_owner.value, cfg.project.github_repo.value)),
    ])
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

/// How long a GitHub job may hold a role's credentials: its own timeout
/// (`render::ci`), so a 90-minute apply never outlives its session.
pub fn github_session_seconds(role: GithubRole) -> u32 {
    super::ci::job_minutes(role) * 60
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

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::terraform_access::AccessVars;
    use super::terraform_env::EnvVars;

    /// The `var.NAME`s a root's templates read (every file of the root's
    /// template directory, whatever feature switch guards it).
    fn read_by_templates(root: &str) -> BTreeSet<String> {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../templates/terraform").join(root);
        let re = regex::Regex::new(r"\bvar\.([a-z_0-9]+)").unwrap();
        let mut out = BTreeSet::new();
        for f in std::fs::read_dir(&dir).unwrap() {
            let text = std::fs::read_to_string(f.unwrap().path()).unwrap();
            out.extend(re.captures_iter(&text).map(|c| c[1].to_string()));
        }
        out
    }

    /// Each root's variables struct declares exactly what its templates
    /// read: a `var.x` nobody declares fails `terraform validate` only on
    /// a machine with Terraform; one declared and never read is dead input.
    #[test]
    fn each_root_declares_exactly_the_variables_its_templates_read() {
        // Declared and set for the record (`terraform.tfvars` names the project), read by no expression.
        let unread_env: BTreeSet<String> = ["project".to_string()].into();
        for (root, declared, unread) in
            [("envs/{env}", EnvVars::NAMES, unread_env), ("access/{env}", AccessVars::NAMES, BTreeSet::new())]
        {
            let declared: BTreeSet<String> = declared.iter().map(|s| s.to_string()).collect();
            let read = read_by_templates(root);
            let undeclared: Vec<_> = read.difference(&declared).collect();
            assert!(undeclared.is_empty(), "{root}: read but not declared: {undeclared:?}");
            let dead: BTreeSet<String> = declared.difference(&read).cloned().collect();
            assert_eq!(dead, unread, "{root}: declared but read by no template");
        }
    }
}
