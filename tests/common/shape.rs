//! The *structure* of a rendered tree: every file parsed by its format (YAML
//! documents, JSON, HCL) and reduced to its shape — keys, nesting, list
//! lengths and the type of each scalar, never the scalar's value. Two renders
//! whose configs differ only in a string have the same shape unless a value
//! became structure. Shared by `tests/hostile.rs` and the fuzz target.
#![allow(dead_code)]

use std::collections::BTreeMap;

use serde_json::Value;

/// A file's shape, or why it could not be parsed.
pub type Shape = Result<Value, String>;

fn reduce(v: &Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(m.iter().map(|(k, v)| (k.clone(), reduce(v))).collect()),
        Value::Array(a) => Value::Array(a.iter().map(reduce).collect()),
        Value::String(_) => Value::from("string"),
        Value::Number(_) => Value::from("number"),
        Value::Bool(_) => Value::from("bool"),
        Value::Null => Value::from("null"),
    }
}

/// Keys are structure too — except where a config value *is* a key (map
/// keys from the config: environment variables, labels, secret keys); those
/// maps are compared by their size and their values' shapes.
fn reduce_keys_of(v: &Value, value_keyed: &dyn Fn(&str) -> bool) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.iter()
                .enumerate()
                .map(|(i, (k, v))| {
                    let key = if value_keyed(k) { format!("<key {i}>") } else { k.clone() };
                    (key, reduce_keys_of(v, value_keyed))
                })
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.iter().map(|x| reduce_keys_of(x, value_keyed)).collect()),
        other => reduce(other),
    }
}

pub fn shape_of(path: &str, bytes: &[u8], value_keyed: &dyn Fn(&str) -> bool) -> Shape {
    let text = std::str::from_utf8(bytes).map_err(|e| format!("{path}: not UTF-8: {e}"))?;
    let parsed: Value = if path.ends_with(".yaml") || path.ends_with(".yml") {
        // Helm's own templates are Go templates, copied as they are.
        if path.contains("/templates/") {
            return Ok(Value::from(text.lines().count()));
        }
        let docs: Result<Vec<Value>, String> = serde_yaml_ng::Deserializer::from_str(text)
            .map(|d| serde::Deserialize::deserialize(d).map_err(|e: serde_yaml_ng::Error| format!("{path}: {e}")))
            .collect();
        Value::Array(docs?)
    } else if path.ends_with(".json") {
        serde_json::from_str(text).map_err(|e| format!("{path}: {e}"))?
    } else if path.ends_with(".tf") || path.ends_with(".tfvars") || path.ends_with(".hcl") {
        hcl::from_str::<Value>(text).map_err(|e| format!("{path}: {e}"))?
    } else {
        // Markdown, text, Go-template helpers: their lines.
        return Ok(Value::from(text.lines().count()));
    };
    Ok(reduce_keys_of(&parsed, value_keyed))
}

/// Shapes of the files that differ between `clean` and `tree` (equal files have equal shapes).
pub fn differing_shapes(
    clean: &BTreeMap<String, Vec<u8>>,
    tree: &BTreeMap<String, Vec<u8>>,
    value_keyed: &dyn Fn(&str) -> bool,
) -> Vec<String> {
    let mut problems = Vec::new();
    let paths: std::collections::BTreeSet<&String> = clean.keys().chain(tree.keys()).collect();
    for p in paths {
        match (clean.get(p), tree.get(p)) {
            (Some(a), Some(b)) if a == b => {}
            (Some(a), Some(b)) => {
                let (sa, sb) = (shape_of(p, a, value_keyed), shape_of(p, b, value_keyed));
                if sa != sb {
                    problems.push(match sb {
                        Err(e) => format!("{p} no longer parses: {e}"),
                        Ok(_) => format!("{p} changed its structure"),
                    });
                }
            }
            (None, Some(_)) => problems.push(format!("{p} appeared")),
            (Some(_), None) => problems.push(format!("{p} disappeared")),
            (None, None) => {}
        }
    }
    problems
}
