//! The inputs' shapes. Input 1, the config: what a config policy sees as
//! `input`, once per environment — its name, whether it is production,
//! every resolved setting (nested, as the file writes the keys) and, by key
//! path, where each value comes from. Both come from one
//! `config::keys::provenance` call, the one `envs --provenance --json`
//! prints: provenance is computed in one place. Input 2, the rendered
//! platform: each Kubernetes object as it is (conftest's manifest input), a
//! Terraform root's variables ([`TerraformInput`]), a workflow
//! ([`WorkflowInput`]); input 3, a plan ([`PlanInput`]). Each has a JSON
//! Schema (`schema(kind)`), shipped as `docs/policy-input*.schema.json`.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::Serialize;
use serde_json::{Map, Value};

use crate::config::doc::{Doc, parse_key_path};
use crate::config::keys::{self, Provenance};
use crate::config::model::{Config, Environment};
use crate::policy::subject::{Category, Origin, Subject};

/// `input` of a config policy: one environment.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[schemars(title = "myhealthctl policy input: config", deny_unknown_fields)]
pub struct ConfigInput {
    /// Always `config`: what this input is.
    pub kind: String,
    /// The environment's name, e.g. `prod`.
    pub environment: String,
    /// Its `production` setting, at the top for the common guard `input.production`.
    pub production: bool,
    /// Every resolved setting, nested by key path: `input.settings.eks.endpoint_public_access`.
    /// Named tables (services, node groups) are keyed by name; a list of tables
    /// (taints) is an object keyed by index (`"0"`); an optional setting left unset is absent.
    pub settings: Map<String, Value>,
    /// Where each setting's value comes from, by its key path
    /// (`eks.node_groups.general.instance_types`): layer, file, line, column.
    pub sources: BTreeMap<String, Provenance>,
}

/// The input of environment `env` of the config whose text is `text` (parsed as `doc`), named `file`.
pub fn config(doc: &Doc<'_>, text: &str, file: &str, env: &Environment) -> ConfigInput {
    let all = keys::provenance(doc, text, file, env);
    let mut settings = Map::new();
    for p in &all {
        if let Ok(segments) = parse_key_path(&p.key) {
            insert(&mut settings, &segments, p.value.clone());
        }
    }
    ConfigInput {
        kind: "config".into(),
        environment: env.name.value.clone(),
        production: env.production.value,
        settings,
        sources: all.into_iter().map(|p| (p.key.clone(), p)).collect(),
    }
}

fn insert(into: &mut Map<String, Value>, segments: &[String], value: Value) {
    match segments {
        [] => {}
        [last] => {
            into.insert(last.clone(), value);
        }
        [first, rest @ ..] => {
            let next = into.entry(first.clone()).or_insert_with(|| Value::Object(Map::new()));
            if let Value::Object(m) = next {
                insert(m, rest, value);
            }
        }
    }
}

/// [`config`] without `sources` (empty): what the built-in rules read,
/// made without locating every key in the file — most of the input's cost.
fn settings_only(env: &Environment) -> ConfigInput {
    let mut settings = Map::new();
    for (k, v) in keys::flatten(env) {
        if let Ok(segments) = parse_key_path(&k) {
            insert(&mut settings, &segments, keys::redacted(&v));
        }
    }
    ConfigInput {
        kind: "config".into(),
        environment: env.name.value.clone(),
        production: env.production.value,
        settings,
        sources: BTreeMap::new(),
    }
}

/// Input 1 of every environment of `cfg` some policy reads (`read`: not
/// one a production-only package alone would skip), as subjects; with `sources`
/// only when given the config's source (`full`: its parse, text and name) —
/// when a policy of the user's reads the config (the built-in rules read
/// only `settings`).
pub fn config_subjects(
    full: Option<(&Doc<'_>, &str, &str)>,
    cfg: &Config,
    read: &dyn Fn(&Environment) -> bool,
) -> Vec<Subject> {
    cfg.environments
        .iter()
        .filter(|env| read(env))
        .map(|env| {
            let input = match full {
                Some((doc, text, file)) => config(doc, text, file, env),
                None => settings_only(env),
            };
            Subject {
                category: Category::Config,
                environment: Some(env.name.value.clone()),
                input: serde_json::to_value(input).expect("the config input serializes"),
                origin: Origin::Config,
            }
        })
        .collect()
}

/// `input` of a Terraform policy: one root's variables, as its `*.tfvars` set them.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[schemars(title = "myhealthctl policy input: terraform", deny_unknown_fields)]
pub struct TerraformInput {
    /// Always `terraform`.
    pub kind: String,
    /// The environment the root belongs to (`null`: the shared bootstrap root).
    pub environment: Option<String>,
    /// The root's directory in the repository, e.g. `generated/terraform/envs/prod`.
    pub root: String,
    /// The variables file, e.g. `generated/terraform/envs/prod/terraform.tfvars`.
    pub file: String,
    /// Each variable's value, by name (`input.variables.eks_endpoint_public_access`).
    pub variables: Map<String, Value>,
}

/// `input` of a workflow policy: one GitHub workflow file, parsed.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[schemars(title = "myhealthctl policy input: workflow", deny_unknown_fields)]
pub struct WorkflowInput {
    /// Always `workflow`.
    pub kind: String,
    /// Where GitHub reads it, e.g. `.github/workflows/pr.yml`.
    pub file: String,
    /// The workflow as YAML parses it (`input.workflow.jobs.plan.permissions`).
    pub workflow: Value,
}

/// `input` of a plan policy: one environment's saved plan and its cost.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[schemars(title = "myhealthctl policy input: plan", deny_unknown_fields)]
pub struct PlanInput {
    /// Always `plan`.
    pub kind: String,
    pub environment: String,
    /// The plan file.
    pub file: String,
    /// `terraform show -json` of the plan, as Terraform prints it
    /// (`input.plan.resource_changes[_].change.actions`).
    pub plan: Value,
    /// The cost estimate of the environment after the plan, in USD a month.
    pub cost: Cost,
}

/// A cost estimate, as the review prints it.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct Cost {
    /// The environment's estimate as the config stands.
    pub monthly_usd: f64,
    /// Its budget (`budget.monthly_usd`), when it has one.
    pub budget_usd: Option<f64>,
}

/// A Kubernetes object as Helm renders it (the object itself, as conftest's input).
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[schemars(title = "myhealthctl policy input: kubernetes")]
#[allow(dead_code)] // only its schema is used: the input is the object itself
pub struct KubernetesInput {
    #[serde(rename = "apiVersion")]
    pub api_version: String,
    /// The object's kind, e.g. `Deployment` (every Kubernetes kind is of category `kubernetes`).
    pub kind: String,
    /// Its `name`, `namespace`, `labels` … (a kustomization has none).
    pub metadata: Option<Map<String, Value>>,
}

/// The JSON Schema of the input of `kind`.
pub fn schema_of(kind: Category) -> Value {
    let s = match kind {
        Category::Config => schemars::schema_for!(ConfigInput),
        Category::Kubernetes => schemars::schema_for!(KubernetesInput),
        Category::Terraform => schemars::schema_for!(TerraformInput),
        Category::Workflow => schemars::schema_for!(WorkflowInput),
        Category::Plan => schemars::schema_for!(PlanInput),
    };
    serde_json::to_value(s).expect("schema serializes")
}
