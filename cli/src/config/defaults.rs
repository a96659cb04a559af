//! The built-in defaults as data, read off the resolver itself (`resolve`
//! is their one source): minimal configs that set nothing optional are
//! resolved, and every key they did not set is a default — the same in all
//! of them (a constant: the schema's `default`), or different (derived from
//! the project, account, environment's name or place in the promotion
//! order: the schema's `x-derived`, with an example). [`schema`] is the JSON
//! Schema with them written in; docs/config.md shows them from there.

use std::collections::BTreeMap;

use serde_json::Value;

/// The JSON Schema of `myhealth.toml`, the built-in defaults written in
/// (generated once).
pub fn schema() -> &'static Value {
    static S: std::sync::OnceLock<Value> = std::sync::OnceLock::new();
    S.get_or_init(|| {
        let mut s = super::raw_schema().clone();
        // Reading the defaults loads configs, which checks keys against
        // `raw_schema` — never this one, still being made.
        annotate(&mut s);
        if let Some(o) = s.as_object_mut() {
            o.insert("$id".into(), "https://myhealthctl.dev/myhealth.schema.json".into());
        }
        s
    })
}

/// A built-in default.
#[derive(Debug, Clone, PartialEq)]
pub enum Default {
    /// The same whatever else the config says.
    Constant(Value),
    /// Derived from other settings; an example (the first minimal config's).
    Derived(Value),
}

/// Minimal configs differing in everything a default may derive from: the
/// project's name and domain, the account, the region and address range,
/// the environment's name (and so production) and place in the order, the
/// database class and storage, a node group's minimum, the runner, a
/// service's replicas. Each has one service and a budget, so that their
/// defaults show too. Beside each, the keys it sets (not defaults there).
const MINIMAL: [(&str, &[&str]); 3] = [
    (
        "[project]\nname = \"myhealth\"\ndomain = \"example.com\"\ngithub = { owner = \"o\", repo = \"r\", owner_id = 1, repo_id = 2 }\n[defaults.aws]\naccount_id = \"111111111111\"\n[environments.dev]\nbudget = { monthly_usd = 100 }\nservices = { svc = {} }\n",
        &[],
    ),
    (
        "[project]\nname = \"other\"\ndomain = \"example.org\"\ngithub = { owner = \"p\", repo = \"q\", owner_id = 3, repo_id = 4 }\n[defaults.aws]\naccount_id = \"222222222222\"\nregion = \"eu-west-1\"\n[environments.qa]\nnetwork = { vpc_cidr = \"10.1.0.0/16\" }\nbudget = { monthly_usd = 100 }\nservices = { svc = {} }\n",
        &["aws.region", "network.vpc_cidr"],
    ),
    (
        "[project]\nname = \"third\"\ndomain = \"example.net\"\ngithub = { owner = \"s\", repo = \"t\", owner_id = 5, repo_id = 6 }\n[defaults.aws]\naccount_id = \"333333333333\"\n[environments.prod]\nrds = { instance_class = \"db.r6g.large\", allocated_storage_gb = 200 }\neks = { node_groups = { general = { min_size = 3 } } }\nci = { runs_on = \"ubuntu-22.04\" }\nbudget = { monthly_usd = 100 }\nservices = { svc = { replicas = 2 } }\n",
        &[
            "rds.instance_class",
            "rds.allocated_storage_gb",
            "eks.node_groups.general.min_size",
            "ci.runs_on",
            "services.svc.replicas",
        ],
    ),
];

/// What every minimal config sets: never a default.
const SET: &[&str] = &["aws.account_id", "budget.monthly_usd"];

fn minimal(text: &str) -> super::Config {
    super::load_historic(crate::diagnostics::Source { name: "minimal.toml".into(), text: text.to_string() })
        .expect("the minimal configs load")
}

/// Every built-in default of an environment's settings, by dotted key path
/// (a map's entries under the minimal configs' names: `services.svc.port`,
/// `eks.node_groups.general.min_size`).
pub fn builtins() -> BTreeMap<String, Default> {
    let flat: Vec<(BTreeMap<String, Value>, &[&str])> = MINIMAL
        .iter()
        .map(|(text, set)| {
            let cfg = minimal(text);
            let mut out = BTreeMap::new();
            walk("", serde_json::to_value(&cfg.environments[0]).expect("an environment serializes"), &mut out);
            (out, *set)
        })
        .collect();
    let mut out = BTreeMap::new();
    for (key, first) in &flat[0].0 {
        if key == "name" || SET.contains(&key.as_str()) || key.starts_with("release") {
            continue;
        }
        // Compared where the config left the key to the default.
        let same =
            flat[1..].iter().filter(|(_, set)| !set.contains(&key.as_str())).all(|(f, _)| f.get(key) == Some(first));
        out.insert(key.clone(), if same { Default::Constant(first.clone()) } else { Default::Derived(first.clone()) });
    }
    out
}

/// The defaults of `[project]`: the subject format (a constant) and the API
/// host (derived from the name and domain).
fn project_builtins() -> Vec<(&'static str, &'static str, Default)> {
    let cfg = minimal(MINIMAL[0].0);
    let p = &cfg.project;
    vec![
        (
            "/$defs/RawGithub",
            "oidc_subject",
            Default::Constant(serde_json::to_value(p.oidc_subject.value).unwrap_or(Value::Null)),
        ),
        ("/$defs/RawProject", "api_host", Default::Derived(Value::String(p.api_host.value.clone()))),
    ]
}

/// Leaves by dotted path; arrays of named tables (node groups, CI jobs) by name.
fn walk(path: &str, v: Value, out: &mut BTreeMap<String, Value>) {
    let join = |k: &str| if path.is_empty() { k.to_string() } else { format!("{path}.{k}") };
    match v {
        Value::Object(m) => {
            for (k, v) in m {
                walk(&join(&k), v, out);
            }
        }
        Value::Array(items) if !items.is_empty() && items.iter().all(|i| i["name"].is_string()) => {
            for mut i in items {
                let n = i["name"].as_str().unwrap_or_default().to_string();
                if let Value::Object(m) = &mut i {
                    m.remove("name");
                }
                walk(&join(&n), i, out);
            }
        }
        leaf => {
            out.insert(path.to_string(), leaf);
        }
    }
}

/// Write the defaults into `schema` (the schemars output): `default` or
/// `x-derived` on the property each key path reaches from `RawSettings`.
/// The key paths that reach none are returned (a test holds them to none).
pub fn annotate(schema: &mut Value) -> Vec<String> {
    let mut unplaced = Vec::new();
    let project = project_builtins().into_iter().map(|(def, key, d)| (def.to_string(), key.to_string(), d));
    let settings = builtins().into_iter().map(|(key, d)| ("/$defs/RawSettings".to_string(), key, d));
    for (from, key, d) in project.chain(settings) {
        let Some(pointer) = pointer_to(schema, &from, &key) else {
            unplaced.push(key);
            continue;
        };
        let Some(Value::Object(node)) = schema.pointer_mut(&pointer) else {
            unplaced.push(key);
            continue;
        };
        match d {
            Default::Constant(v) => node.insert("default".into(), v),
            Default::Derived(v) => node.insert("x-derived".into(), v),
        };
    }
    unplaced
}

/// The JSON pointer of the property `key` reaches from the definition at
/// `from`, following `$ref`s, optional (`anyOf` with null) wrappers and a
/// map's entries (`additionalProperties`).
fn pointer_to(schema: &Value, from: &str, key: &str) -> Option<String> {
    let mut at = from.to_string();
    for (i, seg) in key.split('.').enumerate() {
        at = resolve(schema, &at)?;
        let node = schema.pointer(&at)?;
        let next = if node.pointer(&format!("/properties/{seg}")).is_some() {
            format!("{at}/properties/{seg}")
        } else if node.get("additionalProperties").is_some_and(Value::is_object) {
            format!("{at}/additionalProperties")
        } else {
            return None;
        };
        // The last segment names the property itself, not what it refers to.
        if i + 1 == key.split('.').count() {
            return Some(next);
        }
        at = next;
    }
    None
}

/// Follow `$ref` and `anyOf [T, null]` from the node at `at` to a table.
fn resolve(schema: &Value, at: &str) -> Option<String> {
    let mut at = at.to_string();
    for _ in 0..16 {
        let node = schema.pointer(&at)?;
        if let Some(r) = node.get("$ref").and_then(Value::as_str) {
            at = r.trim_start_matches('#').to_string();
            continue;
        }
        if let Some(alts) = node.get("anyOf").and_then(Value::as_array) {
            let i = alts.iter().position(|a| a.get("type").and_then(Value::as_str) != Some("null"))?;
            at = format!("{at}/anyOf/{i}");
            continue;
        }
        return Some(at);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every default reaches the schema; constants and derived ones are told apart.
    #[test]
    fn every_default_is_in_the_schema() {
        let mut schema = serde_json::to_value(schemars::schema_for!(super::super::raw::RawConfig)).unwrap();
        let unplaced = annotate(&mut schema);
        assert!(unplaced.is_empty(), "defaults the schema has no place for: {unplaced:?}");
        let b = builtins();
        assert_eq!(b["rds.instance_class"], Default::Constant("db.t3.micro".into()));
        assert_eq!(b["network.az_count"], Default::Constant(2.into()));
        assert!(matches!(b["eks.cluster_name"], Default::Derived(_)), "{:?}", b["eks.cluster_name"]);
        assert!(matches!(b["production"], Default::Derived(_)), "by name");
        assert!(matches!(b["argocd.auto_sync"], Default::Derived(_)), "by place and production");
        assert_eq!(b["services.svc.port"], Default::Constant(8080.into()));
        assert!(matches!(b["network.azs"], Default::Derived(_)), "by region");
        assert!(matches!(b["network.public_subnets"], Default::Derived(_)), "by address range");
        assert!(matches!(b["rds.performance_insights"], Default::Derived(_)), "by class");
        assert!(matches!(b["eks.node_groups.general.desired_size"], Default::Derived(_)), "by min_size");
        assert!(matches!(b["services.svc.autoscaling.min_replicas"], Default::Derived(_)), "by replicas");
        assert_eq!(b["aws.region"], Default::Constant("us-east-1".into()));
        assert!(b.len() > 80, "{} defaults", b.len());
    }
}
