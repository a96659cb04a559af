//! Typed template contexts, one per output family. Templates never see the
//! raw TOML: each context is built from the resolved model and holds
//! exactly what its templates use, already shaped for the target format.

use std::collections::BTreeMap;

use minijinja::Value;
use serde::Serialize;
use serde_json::{Value as Json, json};

use super::ctx;
use crate::config::Config;
use crate::config::model::Environment;
use crate::config::raw::{CapacityType, NatMode};

/// Tags every AWS resource of an environment carries.
pub fn tags(cfg: &Config, env: &Environment) -> BTreeMap<String, String> {
    BTreeMap::from([
        ("Environment".into(), env.name.value.clone()),
        ("ManagedBy".into(), "myhealthctl".into()),
        ("Project".into(), cfg.project.name.value.clone()),
        (
            "Repository".into(),
            format!(
                "{}/{}",
                cfg.project.github_owner.value, cfg.project.github_repo.value
            ),
        ),
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
    pub state: StateBackend,
    pub variables: Vec<TfVar>,
    /// Variable values, in declaration order (for `terraform.tfvars`).
    pub tfvars: serde_json::Map<String, Json>,
}

#[derive(Serialize)]
pub struct StateBackend {
    pub bucket: String,
    pub key: String,
    pub region: String,
}

/// The Terraform versions every root pins.
pub const TERRAFORM_VERSION: &str = ">= 1.10";
pub const AWS_PROVIDER_VERSION: &str = "~> 5.100";

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
                    "instance_types": g.instance_types.value.iter().map(|t| t.value.clone()).collect::<Vec<_>>(),
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
    let strs = |v: &[crate::config::span::Sp<String>]| {
        v.iter().map(|s| s.value.clone()).collect::<Vec<_>>()
    };
    let vars: Vec<(TfVar, Json)> = vec![
        (
            TfVar {
                name: "project",
                ty: "string",
                description: "Project name, the prefix of every resource name.",
            },
            json!(cfg.project.name.value),
        ),
        (
            TfVar {
                name: "environment",
                ty: "string",
                description: "Environment name.",
            },
            json!(e.name.value),
        ),
        (
            TfVar {
                name: "region",
                ty: "string",
                description: "AWS region of the environment.",
            },
            json!(e.aws.region.value),
        ),
        (
            TfVar {
                name: "account_id",
                ty: "string",
                description: "AWS account the environment must be applied to (guards against the wrong credentials).",
            },
            json!(e.aws.account_id.value),
        ),
        (
            TfVar {
                name: "vpc_cidr",
                ty: "string",
                description: "IPv4 CIDR block of the VPC.",
            },
            json!(e.network.vpc_cidr.value),
        ),
        (
            TfVar {
                name: "az_count",
                ty: "number",
                description: "Number of availability zones the subnets span.",
            },
            json!(e.network.az_count.value),
        ),
        (
            TfVar {
                name: "public_subnets",
                ty: "list(string)",
                description: "Public subnet CIDRs, one per availability zone.",
            },
            json!(strs(&e.network.public_subnets.value)),
        ),
        (
            TfVar {
                name: "private_subnets",
                ty: "list(string)",
                description: "Private subnet CIDRs, one per availability zone.",
            },
            json!(strs(&e.network.private_subnets.value)),
        ),
        (
            TfVar {
                name: "nat_mode",
                ty: "string",
                description: "NAT gateway layout: single, per_az or none.",
            },
            json!(match e.network.nat.value {
                NatMode::Single => "single",
                NatMode::PerAz => "per_az",
                NatMode::None => "none",
            }),
        ),
        (
            TfVar {
                name: "cluster_name",
                ty: "string",
                description: "Name of the EKS cluster.",
            },
            json!(e.eks.cluster_name.value),
        ),
        (
            TfVar {
                name: "cluster_version",
                ty: "string",
                description: "Kubernetes version of the EKS cluster.",
            },
            json!(e.eks.version.value),
        ),
        (
            TfVar {
                name: "node_groups",
                ty: "map(object({\n    instance_types  = list(string)\n    capacity_type   = string\n    min_size        = number\n    desired_size    = number\n    max_size        = number\n    disk_size_gb    = number\n    max_unavailable = number\n    labels          = map(string)\n    taints = list(object({\n      key    = string\n      value  = optional(string)\n      effect = string\n    }))\n  }))",
                description: "EKS managed node groups by name.",
            },
            Json::Object(node_groups),
        ),
        (
            TfVar {
                name: "db_instance_class",
                ty: "string",
                description: "RDS instance class.",
            },
            json!(e.rds.instance_class.value),
        ),
        (
            TfVar {
                name: "db_multi_az",
                ty: "bool",
                description: "Run the database with a standby in a second availability zone.",
            },
            json!(e.rds.multi_az.value),
        ),
        (
            TfVar {
                name: "db_deletion_protection",
                ty: "bool",
                description: "Refuse to delete the database.",
            },
            json!(e.rds.deletion_protection.value),
        ),
    ];
    let tfvars = vars
        .iter()
        .map(|(v, val)| (v.name.to_string(), val.clone()))
        .collect();
    ctx(TerraformEnv {
        project: cfg.project.name.value.clone(),
        environment: e.name.value.clone(),
        region: e.aws.region.value.clone(),
        terraform_version: TERRAFORM_VERSION,
        aws_provider_version: AWS_PROVIDER_VERSION,
        state: StateBackend {
            bucket: e.terraform.state_bucket.value.clone(),
            key: format!(
                "{}/{}/terraform.tfstate",
                cfg.project.name.value, e.name.value
            ),
            region: e.terraform.state_region.value.clone(),
        },
        variables: vars.into_iter().map(|(v, _)| v).collect(),
        tfvars,
    })
    .merge_tags(tags(cfg, env))
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
    pub api_host: String,
    pub repository: String,
    pub environments: Vec<IndexEnv>,
}

#[derive(Serialize)]
pub struct IndexEnv {
    pub name: String,
    pub region: String,
    pub cluster: String,
    pub kubernetes: String,
    pub nodes: String,
    pub nat: &'static str,
    pub database: String,
    pub services: usize,
}

pub fn index(cfg: &Config) -> Value {
    ctx(Index {
        project: cfg.project.name.value.clone(),
        domain: cfg.project.domain.value.clone(),
        api_host: cfg.project.api_host.value.clone(),
        repository: format!(
            "{}/{}",
            cfg.project.github_owner.value, cfg.project.github_repo.value
        ),
        environments: cfg
            .environments
            .iter()
            .map(|e| IndexEnv {
                name: e.name.value.clone(),
                region: e.aws.region.value.clone(),
                cluster: e.eks.cluster_name.value.clone(),
                kubernetes: e.eks.version.value.clone(),
                nodes: e
                    .eks
                    .node_groups
                    .iter()
                    .map(|g| {
                        let cap = if g.capacity_type.value == CapacityType::Spot {
                            "spot"
                        } else {
                            "on-demand"
                        };
                        let types = g
                            .instance_types
                            .value
                            .iter()
                            .map(|t| t.value.as_str())
                            .collect::<Vec<_>>()
                            .join("/");
                        format!(
                            "{}: {} {types} {}–{}",
                            g.name.value, cap, g.min_size.value, g.max_size.value
                        )
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
                    if e.rds.multi_az.value {
                        ", multi-AZ"
                    } else {
                        ", single-AZ"
                    },
                    if e.rds.deletion_protection.value {
                        ", deletion protection"
                    } else {
                        ""
                    }
                ),
                services: e.services.len(),
            })
            .collect(),
    })
}
