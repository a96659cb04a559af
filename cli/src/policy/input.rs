//! Input 1, the config: what a config policy sees as `input`, once per
//! environment — its name, whether it is production, every resolved setting
//! (nested, as the file writes the keys) and, by key path, where each value
//! comes from. Both come from one `config::keys::provenance` call, the one
//! `envs --provenance --json` prints: provenance is computed in one place.
//! Its JSON Schema is `docs/policy-input.schema.json` (`schema()`).

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::Serialize;
use serde_json::{Map, Value};

use crate::config::doc::{Doc, parse_key_path};
use crate::config::keys::{self, Provenance};
use crate::config::model::Environment;

/// `input` of a config policy: one environment.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[schemars(title = "myhealthctl policy input: config", deny_unknown_fields)]
pub struct ConfigInput {
    /// Always `config`: what this input is (the rendered platform and plans come later).
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

/// The JSON Schema of [`ConfigInput`], as shipped in `docs/policy-input.schema.json`.
pub fn schema() -> Value {
    serde_json::to_value(schemars::schema_for!(ConfigInput)).expect("schema serializes")
}
