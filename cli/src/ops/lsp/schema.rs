//! The config's JSON Schema with its built-in defaults
//! (`config::defaults::schema`, what `schema` prints), read at a key path
//! of the file: what hover describes and completion offers.

use serde_json::Value;

use crate::config::defaults;
use crate::config::doc::deref;

/// The schema node of the file's key path `path` (`environments.prod.rds`,
/// `defaults.eks.node_groups.general.taints.0.effect`): the property itself,
/// holding its description and default (`deref` it for its shape).
pub fn property(path: &[String]) -> Option<&'static Value> {
    let root = defaults::schema();
    let mut node = root;
    for s in path {
        let table = deref(node, root, false);
        let map = table.get("additionalProperties").filter(|a| a.is_object());
        let items = table.get("items").filter(|_| s.parse::<usize>().is_ok());
        node = table.get("properties").and_then(|p| p.get(s)).or(map).or(items)?;
    }
    Some(node)
}

/// The shape of the node at `path`.
pub fn shape(path: &[String]) -> Option<&'static Value> {
    property(path).map(|n| deref(n, defaults::schema(), false))
}

/// The schema's type of a node, as TOML words.
pub fn kind(node: &Value) -> Option<String> {
    let types: Vec<&str> = match node.get("type") {
        Some(Value::String(t)) => vec![t.as_str()],
        Some(Value::Array(a)) => a.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    };
    let words: Vec<&str> = types
        .into_iter()
        .filter(|t| *t != "null")
        .map(|t| match t {
            "object" => "table",
            "array" => "array",
            "integer" => "whole number",
            "number" => "number",
            "boolean" => "boolean",
            _ => "string",
        })
        .collect();
    (!words.is_empty()).then(|| words.join(" or "))
}
