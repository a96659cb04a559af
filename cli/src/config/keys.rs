//! The resolved settings of an environment as key paths (`eks.version`,
//! `services.api-service.port`, `eks.node_groups.general.min_size`) with
//! their values, and where in the file a key of an environment is set: its
//! own `[environments.<name>]` table wins over `[defaults]`, and a key set in
//! neither is a built-in default (or derived from another key).

use std::collections::BTreeMap;

use serde_json::Value;

use super::doc::Doc;
use super::model::Environment;
use crate::diagnostics::line_col;

/// Every leaf of `env`'s resolved settings, by key path. Lists of named
/// things (services, node groups, extra jobs, `env` pairs) are keyed by
/// their names, as in the file.
pub fn flatten(env: &Environment) -> BTreeMap<String, Value> {
    let mut out = BTreeMap::new();
    let v = serde_json::to_value(env).unwrap_or(Value::Null);
    if let Value::Object(m) = v {
        for (k, v) in m {
            if k != "name" {
                walk(&k, v, &mut out);
            }
        }
    }
    out
}

fn walk(path: &str, v: Value, out: &mut BTreeMap<String, Value>) {
    match v {
        Value::Object(m) => {
            for (k, v) in m {
                walk(&format!("{path}.{k}"), v, out);
            }
        }
        Value::Array(items) if !items.is_empty() => {
            let named = |key: &str| items.iter().all(|i| i[key].is_string());
            let pairs = items.iter().all(|i| i.as_array().is_some_and(|a| a.len() == 2 && a[0].is_string()));
            if named("name") || named("id") {
                let key = if named("name") { "name" } else { "id" };
                for mut i in items {
                    let n = i[key].as_str().unwrap_or_default().to_string();
                    if let Value::Object(m) = &mut i {
                        m.remove(key);
                    }
                    walk(&format!("{path}.{n}"), i, out);
                }
            } else if pairs {
                for i in items {
                    let k = i[0].as_str().unwrap_or_default().to_string();
                    walk(&format!("{path}.{k}"), i[1].clone(), out);
                }
            } else {
                out.insert(path.to_string(), Value::Array(items));
            }
        }
        leaf => {
            out.insert(path.to_string(), leaf);
        }
    }
}

/// Where a key of an environment is set in the file.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Setting {
    /// The dotted path in the file, e.g. `environments.prod.rds.instance_class`.
    pub path: String,
    pub line: usize,
    pub column: usize,
}

/// Where `key` of environment `env` is set in `text`: the environment's own
/// table first, then `[defaults]`; `None` for a built-in or derived value.
pub fn located(doc: &Doc<'_>, text: &str, env: &str, key: &str) -> Option<Setting> {
    let parts: Vec<&str> = key.split('.').collect();
    for prefix in [vec!["environments", env], vec!["defaults"]] {
        let path: Vec<&str> = prefix.iter().copied().chain(parts.iter().copied()).collect();
        if let Some(span) = doc.span_of(&path) {
            let (line, column) = line_col(text, span.start);
            return Some(Setting { path: path.join("."), line, column });
        }
    }
    None
}

/// One key of one environment whose resolved value a change moves.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct KeyChange {
    pub environment: String,
    pub key: String,
    pub before: Option<Value>,
    pub after: Option<Value>,
    /// Where the file sets it after the change (before it, for a key no
    /// longer set).
    pub at: Option<Setting>,
}

/// What a change to the config does, per environment.
#[derive(Debug, Default, Clone, serde::Serialize)]
pub struct ConfigChange {
    /// Keys set in the file on either side whose value moved, per environment.
    pub keys: Vec<KeyChange>,
    /// Environments only one side has.
    pub added: Vec<String>,
    pub removed: Vec<String>,
    /// Per environment, how many values moved that the file sets on neither
    /// side (built-in defaults, values derived from a changed key).
    pub derived: BTreeMap<String, usize>,
}

/// Compare the config before (`base`, with its text) and after a change.
pub fn compare(base: Option<(&super::Config, &str)>, head: (&super::Config, &str)) -> ConfigChange {
    let mut out = ConfigChange::default();
    let head_doc = Doc::parse(head.1).ok();
    let base_doc = base.and_then(|(_, t)| Doc::parse(t).ok());
    let names = |c: &super::Config| c.environments.iter().map(|e| e.name.value.clone()).collect::<Vec<_>>();
    let base_names = base.map(|(c, _)| names(c)).unwrap_or_default();
    for e in &head.0.environments {
        let env = &e.name.value;
        let Some(b) = base.and_then(|(c, _)| c.env(env)) else {
            if base.is_some() {
                out.added.push(env.clone());
            }
            continue;
        };
        let (old, new) = (flatten(b), flatten(e));
        let mut keys: Vec<&String> = old.keys().chain(new.keys()).collect();
        keys.sort();
        keys.dedup();
        for key in keys {
            let (before, after) = (old.get(key), new.get(key));
            if before == after {
                continue;
            }
            let at_head = head_doc.as_ref().and_then(|d| located(d, head.1, env, key));
            let at_base = base_doc.as_ref().zip(base).and_then(|(d, (_, text))| located(d, text, env, key));
            if at_head.is_none() && at_base.is_none() {
                *out.derived.entry(env.clone()).or_default() += 1;
                continue;
            }
            out.keys.push(KeyChange {
                environment: env.clone(),
                key: key.clone(),
                before: before.cloned(),
                after: after.cloned(),
                at: at_head.or(at_base),
            });
        }
    }
    out.removed = base_names.into_iter().filter(|n| head.0.env(n).is_none()).collect();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn named_lists_are_keyed_by_name() {
        let mut out = BTreeMap::new();
        walk("services", serde_json::json!([{ "name": "api", "port": 8080, "env": [["RUST_LOG", "info"]] }]), &mut out);
        assert_eq!(out["services.api.port"], 8080);
        assert_eq!(out["services.api.env.RUST_LOG"], "info");
        walk("azs", serde_json::json!(["a", "b"]), &mut out);
        assert_eq!(out["azs"], serde_json::json!(["a", "b"]));
    }

    #[test]
    fn the_environment_wins_over_defaults() {
        let text = "[defaults.rds]\ninstance_class = \"db.t3.micro\"\n\n[environments.prod.rds]\ninstance_class = \"db.r6g.large\"\n";
        let doc = Doc::parse(text).unwrap();
        let at = located(&doc, text, "prod", "rds.instance_class").unwrap();
        assert_eq!((at.path.as_str(), at.line), ("environments.prod.rds.instance_class", 5));
        let at = located(&doc, text, "dev", "rds.instance_class").unwrap();
        assert_eq!((at.path.as_str(), at.line), ("defaults.rds.instance_class", 2));
        assert!(located(&doc, text, "dev", "rds.multi_az").is_none());
    }

    #[test]
    fn a_change_names_each_key_it_moves_and_where() {
        let base = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../myhealth.toml")).unwrap();
        let head = base.replace("instance_class = \"db.r6g.large\"", "instance_class = \"db.r6g.xlarge\"");
        let load = |t: &str| {
            super::super::load(crate::diagnostics::Source { name: "myhealth.toml".into(), text: t.into() }).unwrap()
        };
        let (b, h) = (load(&base), load(&head));
        let c = compare(Some((&b, &base)), (&h, &head));
        assert_eq!(c.keys.len(), 1, "{:?}", c.keys);
        let k = &c.keys[0];
        assert_eq!((k.environment.as_str(), k.key.as_str()), ("prod", "rds.instance_class"));
        assert_eq!(
            (k.before.clone().unwrap(), k.after.clone().unwrap()),
            ("db.r6g.large".into(), "db.r6g.xlarge".into())
        );
        let line = head.lines().position(|l| l.contains("db.r6g.xlarge")).unwrap() + 1;
        assert_eq!(k.at.as_ref().map(|a| a.line), Some(line));
        assert!(c.added.is_empty() && c.removed.is_empty());
    }
}
