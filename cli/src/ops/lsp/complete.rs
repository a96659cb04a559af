//! Completion, from the config's JSON Schema with its defaults
//! (`config::defaults::schema`, what `schema` prints) and the document:
//! table names in a `[header]` (sections, environment names, the names of
//! services and node groups already written in any layer), keys in a
//! table (with type, description and default), and a key's values after
//! `=` (an enumeration's, `true`/`false`). It reads the lines themselves,
//! not the parsed document, so a half-typed line — which does not parse —
//! still completes.

use lsp_types::{CompletionItem, CompletionItemKind, CompletionResponse, Documentation, Position};
use serde_json::Value;

use super::schema::shape;
use super::text::{line_at, offset};
use crate::config::defaults;
use crate::config::doc::{deref, parse_key_path};
use crate::config::keys::choices;

pub fn complete(text: &str, at: Position) -> Option<CompletionResponse> {
    let offset = offset(text, at);
    let (start, line) = line_at(text, offset);
    let before = &line[..offset - start];
    let trimmed = before.trim_start();
    let items = if let Some(header) = trimmed.strip_prefix('[') {
        if header.contains(']') {
            return None;
        }
        let header = header.trim_start_matches('[').trim_start();
        let (parent, _) = split_last(header);
        tables(text, &parse_key_path(parent).ok()?)
    } else if trimmed.starts_with('#') {
        return None;
    } else {
        let mut path = table_at(text, start);
        match before.split_once('=') {
            Some((key, _)) => {
                path.extend(parse_key_path(key.trim()).ok()?);
                values(&path)
            }
            None => {
                let (parent, _) = split_last(trimmed);
                if !parent.is_empty() {
                    path.extend(parse_key_path(parent).ok()?);
                }
                let mut items = keys(&path);
                items.extend(names(text, &path).into_iter().map(|n| item(n, CompletionItemKind::MODULE, None, None)));
                items
            }
        }
    };
    Some(CompletionResponse::Array(items))
}

/// `a.b.c` as (`a.b`, `c`); `c` as (``, `c`).
fn split_last(typed: &str) -> (&str, &str) {
    match typed.rfind('.') {
        Some(i) => (&typed[..i], &typed[i + 1..]),
        None => ("", typed),
    }
}

/// The key path of the table the line at `line_start` is in: the last
/// header above it (an element of an array of tables as its index 0, for
/// the schema), the top level before any.
fn table_at(text: &str, line_start: usize) -> Vec<String> {
    text[..line_start]
        .lines()
        .rev()
        .find_map(header)
        .map(|(mut path, array)| {
            if array {
                path.push("0".into());
            }
            path
        })
        .unwrap_or_default()
}

/// A `[header]` or `[[header]]` line's key path, and whether it is an array's.
fn header(line: &str) -> Option<(Vec<String>, bool)> {
    let l = line.trim_start();
    let array = l.starts_with("[[");
    let inner = l.strip_prefix('[')?.trim_start_matches('[');
    let inner = &inner[..inner.find(']')?];
    parse_key_path(inner.trim()).ok().map(|p| (p, array))
}

/// Tables a header may name under `parent`.
fn tables(text: &str, parent: &[String]) -> Vec<CompletionItem> {
    let Some(node) = shape(parent) else { return Vec::new() };
    let mut out: Vec<CompletionItem> = props(node)
        .into_iter()
        .filter(|(name, _)| {
            let mut p = parent.to_vec();
            p.push(name.clone());
            shape(&p).is_some_and(is_table)
        })
        .map(|(name, n)| described(name, n, CompletionItemKind::MODULE))
        .collect();
    out.extend(names(text, parent).into_iter().map(|n| item(n, CompletionItemKind::MODULE, None, None)));
    out
}

/// The keys of the table at `path`.
fn keys(path: &[String]) -> Vec<CompletionItem> {
    let Some(node) = shape(path) else { return Vec::new() };
    props(node).into_iter().map(|(name, n)| described(name, n, CompletionItemKind::PROPERTY)).collect()
}

/// The values the key at `path` takes, where the schema lists them.
fn values(path: &[String]) -> Vec<CompletionItem> {
    let Some(node) = shape(path) else { return Vec::new() };
    let listed = choices(node);
    let words: Vec<String> = if !listed.is_empty() {
        listed.iter().map(|c| Value::from(c.as_str()).to_string()).collect()
    } else if super::schema::kind(node).as_deref() == Some("boolean") {
        vec!["true".into(), "false".into()]
    } else {
        Vec::new()
    };
    words.into_iter().map(|w| item(w, CompletionItemKind::ENUM_MEMBER, None, None)).collect()
}

/// The names the document gives the entries of the map at `path` — the
/// environments under `environments`, services and node groups in any
/// layer (`[defaults.services.X]` is offered under `[environments.prod.services]`).
fn names(text: &str, path: &[String]) -> Vec<String> {
    if !shape(path).is_some_and(|n| n.get("additionalProperties").is_some_and(Value::is_object)) {
        return Vec::new();
    }
    let want = match path {
        [only] if only == "environments" => Vec::new(),
        _ => settings(path),
    };
    let mut out: Vec<String> = text
        .lines()
        .filter_map(header)
        .filter_map(|(p, _)| {
            let p = match path {
                [only] if p.first() == Some(only) => p.get(1..2).map(<[String]>::to_vec).unwrap_or_default(),
                [only] if only == "environments" => Vec::new(),
                _ => settings(&p),
            };
            (p.len() > want.len() && p[..want.len()] == want[..]).then(|| p[want.len()].clone())
        })
        .collect();
    out.sort();
    out.dedup();
    out
}

/// A file key path as the settings' (`environments.prod.rds` → `rds`).
fn settings(path: &[String]) -> Vec<String> {
    match path {
        [first, _, rest @ ..] if first == "environments" => rest.to_vec(),
        [first, rest @ ..] if first == "defaults" => rest.to_vec(),
        _ => path.to_vec(),
    }
}

fn is_table(node: &Value) -> bool {
    node.get("properties").is_some() || node.get("additionalProperties").is_some_and(Value::is_object)
}

fn props(node: &'static Value) -> Vec<(String, &'static Value)> {
    node.get("properties")
        .and_then(Value::as_object)
        .map(|m| m.iter().map(|(k, v)| (k.clone(), v)).collect())
        .unwrap_or_default()
}

fn described(name: String, node: &Value, kind: CompletionItemKind) -> CompletionItem {
    let resolved = deref(node, defaults::schema(), false);
    let description = node.get("description").or_else(|| resolved.get("description")).and_then(Value::as_str);
    let mut doc = description.unwrap_or_default().to_string();
    if let Some(d) = node.get("default") {
        doc.push_str(&format!("\n\nBuilt-in default: `{d}`"));
    }
    item(name, kind, super::schema::kind(resolved), Some(doc.trim().to_string()).filter(|d| !d.is_empty()))
}

fn item(label: String, kind: CompletionItemKind, detail: Option<String>, doc: Option<String>) -> CompletionItem {
    CompletionItem {
        label,
        kind: Some(kind),
        detail,
        documentation: doc.map(|d| {
            Documentation::MarkupContent(lsp_types::MarkupContent { kind: lsp_types::MarkupKind::Markdown, value: d })
        }),
        ..Default::default()
    }
}
