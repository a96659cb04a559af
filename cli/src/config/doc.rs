//! The parsed TOML document before typing: spans for every key and value.
//! Owns the generic passes that need the untyped tree — deep merge of an
//! environment over `[defaults]`, unknown keys (checked against the JSON
//! Schema, with a did-you-mean), key paths, where a layer writes a key,
//! and the `$ref` resolution of the config's JSON Schema. (The scans for
//! control characters and credentials are `scan`'s.)

use serde_json::Value as Json;
use toml::Spanned;
use toml::de::{DeTable, DeValue};

use super::span::Span;
use crate::diagnostics::Diagnostic;

/// Where a layer writes a key path (`Doc::written`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Written {
    /// The value itself, at this span.
    At(std::ops::Range<usize>),
    /// The first `n` keys of the path lead to a list (set as a whole, at
    /// this span) that does not hold the rest.
    Within(usize, std::ops::Range<usize>),
    Absent,
}

/// A parsed document.
pub struct Doc<'i> {
    pub root: Spanned<DeTable<'i>>,
}

impl<'i> Doc<'i> {
    pub fn parse(text: &'i str) -> Result<Self, Box<Diagnostic>> {
        DeTable::parse(text).map(|root| Doc { root }).map_err(|e| {
            let msg = e.message().trim().to_string();
            let msg = lowercase_first(msg.lines().next().unwrap_or("invalid TOML"));
            let mut d = Diagnostic::error(format!("invalid TOML: {msg}"))
                .at(e.span())
                .label("here")
                .help("see https://toml.io for the syntax");
            if msg.starts_with("duplicate key") {
                if let Some(first) = e.span().and_then(|s| first_definition(text, s.start)) {
                    d.label = Some("set again here".into());
                    d.help = Some("a key is set once per table: keep one of the two".into());
                    d.related = Some((first, "first set here".into()));
                }
            }
            Box::new(d)
        })
    }

    /// The top-level table `name`, if it is one.
    pub fn table(&self, name: &str) -> Option<&Spanned<DeValue<'i>>> {
        self.root.get_ref().iter().find(|(k, _)| k.get_ref() == name).map(|(_, v)| v)
    }

    /// Where the value at the key path `path` is written, the way merging
    /// layers sees it: `At(span)` when it is; `Within(n, span)` when
    /// the first `n` keys lead to a value that is not a table — a list,
    /// which a layer sets as a whole — that does not hold the rest of the
    /// path; `Absent` otherwise.
    pub fn written(&self, path: &[&str]) -> Written {
        let mut value: Option<&Spanned<DeValue<'i>>> = None;
        let mut whole: Option<(usize, std::ops::Range<usize>)> = None;
        for (i, key) in path.iter().enumerate() {
            let next = match value.map(Spanned::get_ref) {
                None => self.root.get_ref().iter().find(|(k, _)| k.get_ref() == key).map(|(_, v)| v),
                Some(DeValue::Table(t)) => t.iter().find(|(k, _)| k.get_ref() == key).map(|(_, v)| v),
                Some(DeValue::Array(a)) => key.parse::<usize>().ok().and_then(|i| a.get(i)),
                Some(_) => None,
            };
            let Some(v) = next else {
                return whole.map_or(Written::Absent, |(n, span)| Written::Within(n, span));
            };
            if whole.is_none() && !matches!(v.get_ref(), DeValue::Table(_)) {
                whole = Some((i + 1, v.span()));
            }
            value = Some(v);
        }
        value.map_or(Written::Absent, |v| Written::At(v.span()))
    }

    /// The key path (`key_path`) of the innermost key or value containing `offset`.
    pub fn path_at(&self, offset: usize) -> String {
        let mut path = Vec::new();
        walk_path(self.root.get_ref(), offset, &mut path);
        key_path(&path)
    }
}

// ------------------------------------------------------------------ key paths

/// A key path as myhealthctl prints it everywhere (diagnostics, `explain`,
/// `envs --provenance`, the review): TOML's dotted-key syntax, each segment
/// bare when TOML allows it (`A-Z a-z 0-9 _ -`) and a basic string
/// otherwise — `eks.node_groups.general.labels."myhealth.io/pool"` — and a
/// list element by its index (`instance_types.0`). `parse_key_path` reads
/// it back.
pub fn key_path<S: AsRef<str>>(segments: &[S]) -> String {
    let mut out = String::new();
    for (i, s) in segments.iter().enumerate() {
        if i > 0 {
            out.push('.');
        }
        push_segment(&mut out, s.as_ref());
    }
    out
}

fn push_segment(out: &mut String, s: &str) {
    if !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-') {
        out.push_str(s);
        return;
    }
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            // Every other control character, and the line separators
            // terminals and YAML break at: escaped, never raw.
            c if c.is_control() || matches!(c, '\u{2028}' | '\u{2029}') => {
                out.push_str(&format!("\\u{:04X}", c as u32));
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// The segments of a key path: TOML's dotted-key syntax (bare, `"basic"`
/// or `'literal'` segments, whitespace around the dots allowed), as
/// `key_path` writes it.
pub fn parse_key_path(key: &str) -> Result<Vec<String>, String> {
    toml_edit::Key::parse(key)
        .map(|keys| keys.iter().map(|k| k.get().to_string()).collect())
        .map_err(|e| lowercase_first(e.message().lines().next().unwrap_or("invalid key").trim()))
}

fn walk_path(table: &DeTable<'_>, offset: usize, path: &mut Vec<String>) {
    for (k, v) in table.iter() {
        let ks = k.span();
        let vs = v.span();
        if ks.contains(&offset) || vs.contains(&offset) || (vs.is_empty() && vs.start == offset) {
            path.push(k.get_ref().to_string());
            descend(v.get_ref(), offset, path);
            return;
        }
    }
    // Tables defined by `[headers]` have spans that do not cover their keys,
    // so fall back to searching every child.
    for (k, v) in table.iter() {
        let before = path.len();
        path.push(k.get_ref().to_string());
        if descend(v.get_ref(), offset, path) {
            return;
        }
        path.truncate(before);
    }
}

fn descend(v: &DeValue<'_>, offset: usize, path: &mut Vec<String>) -> bool {
    match v {
        DeValue::Table(t) => {
            let before = path.len();
            walk_path(t, offset, path);
            path.len() > before
        }
        DeValue::Array(a) => {
            for (i, item) in a.iter().enumerate() {
                if item.span().contains(&offset) {
                    path.push(i.to_string());
                    descend(item.get_ref(), offset, path);
                    return true;
                }
            }
            // `[[array.of.tables]]` items, like header tables, have spans
            // that do not cover their keys: look inside each.
            for (i, item) in a.iter().enumerate() {
                let before = path.len();
                path.push(i.to_string());
                if descend(item.get_ref(), offset, path) {
                    return true;
                }
                path.truncate(before);
            }
            false
        }
        _ => false,
    }
}

/// Deep-merge `over` into `base`: tables merge key by key, anything else
/// replaces. Spans are kept, so a merged value still points at the line that set it.
pub fn merge<'i>(base: &mut DeTable<'i>, over: &DeTable<'i>) {
    for (k, v) in over.iter() {
        match (base.get_mut(k), v.get_ref()) {
            (Some(b), DeValue::Table(ot)) if matches!(b.get_ref(), DeValue::Table(_)) => {
                if let DeValue::Table(bt) = b.get_mut() {
                    merge(bt, ot);
                }
            }
            _ => {
                base.insert(k.clone(), v.clone());
            }
        }
    }
}

/// Where the key duplicated at `at` was first set: the same key earlier in
/// the same table (from its header, or the file's start), or the same
/// `[header]` earlier in the file.
fn first_definition(text: &str, at: usize) -> Option<Span> {
    let line_start = text[..at.min(text.len())].rfind('\n').map_or(0, |i| i + 1);
    let line = text[line_start..].lines().next()?.trim();
    let key_of = |l: &str| -> Option<String> {
        let l = l.trim();
        if l.starts_with('[') {
            return Some(l.split('#').next()?.trim().to_string());
        }
        let (k, _) = l.split_once('=')?;
        Some(k.trim().to_string())
    };
    let key = key_of(line)?;
    let header = key.starts_with('[');
    // Scan backwards from the line before: a header ends the table (for a key).
    let mut lines = Vec::new();
    let mut pos = 0;
    for l in text[..line_start].split_inclusive('\n') {
        lines.push((pos, l));
        pos += l.len();
    }
    for (pos, l) in lines.into_iter().rev() {
        let t = l.trim();
        if !header && t.starts_with('[') {
            return None;
        }
        if key_of(t).as_deref() == Some(key.as_str()) {
            let start = pos + (l.len() - l.trim_start().len());
            return Some(start..start + key.len());
        }
    }
    None
}

pub(crate) fn lowercase_first(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) if !s.starts_with("TOML") => f.to_lowercase().chain(c).collect(),
        Some(_) => s.to_string(),
        None => String::new(),
    }
}

// ---------------------------------------------------------------- unknown keys

/// Report every key the schema does not know, with a did-you-mean.
pub fn unknown_keys(doc: &Doc<'_>, schema: &Json, out: &mut Vec<Diagnostic>) {
    let mut path = Vec::new();
    check_table(doc.root.get_ref(), schema, schema, &mut path, out);
}

/// A schema through its `$ref`s and `Option<T>`'s `anyOf: [T, null]` to
/// T's (and, with `one_of`, an enum's first non-null `oneOf` branch), at
/// most 16 hops: a `$ref` that refers to itself ends there, never loops.
pub(crate) fn deref<'s>(mut s: &'s Json, root: &'s Json, one_of: bool) -> &'s Json {
    for _ in 0..16 {
        if let Some(r) = s.get("$ref").and_then(Json::as_str) {
            let name = r.rsplit('/').next().unwrap_or_default();
            match root.get("$defs").and_then(|d| d.get(name)) {
                Some(t) => s = t,
                None => return s,
            }
            continue;
        }
        let alts = s.get("anyOf").or_else(|| if one_of { s.get("oneOf") } else { None });
        if let Some(alts) = alts.and_then(Json::as_array) {
            if let Some(t) = alts.iter().find(|a| a.get("type").and_then(Json::as_str) != Some("null")) {
                s = t;
                continue;
            }
        }
        return s;
    }
    s
}

fn resolve<'s>(s: &'s Json, root: &'s Json) -> &'s Json {
    deref(s, root, true)
}

fn check_table(table: &DeTable<'_>, schema: &Json, root: &Json, path: &mut Vec<String>, out: &mut Vec<Diagnostic>) {
    let schema = resolve(schema, root);
    let props = schema.get("properties").and_then(Json::as_object);
    let additional = schema.get("additionalProperties");
    for (k, v) in table.iter() {
        let key = k.get_ref().as_ref();
        let child = match props.and_then(|p| p.get(key)) {
            Some(c) => Some(c),
            None => match additional {
                Some(Json::Bool(false)) | None if props.is_some() => {
                    out.push(unknown_key(
                        key,
                        k.span(),
                        path,
                        props.map(|p| p.keys().cloned().collect()).unwrap_or_default(),
                    ));
                    None
                }
                Some(a @ Json::Object(_)) => Some(a),
                _ => None,
            },
        };
        if let Some(child) = child {
            path.push(key.to_string());
            check_value(v.get_ref(), child, root, path, out);
            path.pop();
        }
    }
}

fn check_value(v: &DeValue<'_>, schema: &Json, root: &Json, path: &mut Vec<String>, out: &mut Vec<Diagnostic>) {
    match v {
        DeValue::Table(t) => check_table(t, schema, root, path, out),
        DeValue::Array(a) => {
            if let Some(items) = resolve(schema, root).get("items") {
                for (i, item) in a.iter().enumerate() {
                    path.push(i.to_string());
                    check_value(item.get_ref(), items, root, path, out);
                    path.pop();
                }
            }
        }
        _ => {}
    }
}

fn unknown_key(key: &str, span: Span, path: &[String], candidates: Vec<String>) -> Diagnostic {
    let parent = if path.is_empty() { "the top level".to_string() } else { format!("`{}`", key_path(path)) };
    let best = candidates
        .iter()
        .map(|c| (strsim::jaro_winkler(key, c), c))
        .filter(|(score, _)| *score > 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0));
    let help = match &best {
        Some((_, c)) => format!("did you mean `{c}`?"),
        None => {
            format!("expected one of {}", candidates.iter().map(|c| format!("`{c}`")).collect::<Vec<_>>().join(", "))
        }
    };
    let mut full = path.to_vec();
    full.push(key.to_string());
    let d = Diagnostic::error(format!("unknown key `{key}` in {parent}"))
        .at(Some(span))
        .key(key_path(&full))
        .label("unknown key")
        .help(help);
    // The key as written: bare where TOML allows it, else quoted.
    match best {
        Some((_, c)) => d.fix(key_path(&[c])),
        None => d,
    }
}

// ---------------------------------------------------------- control characters

#[cfg(test)]
mod tests {
    use super::*;

    /// A `$ref` that refers to itself ends after the hop limit (the key
    /// reference once looped forever on one), and `Option`'s `anyOf` and,
    /// on request, an enum's `oneOf` resolve to their non-null branch.
    #[test]
    fn deref_follows_refs_with_a_hop_guard() {
        let root = serde_json::json!({"$defs": {
            "Loop": {"$ref": "#/$defs/Loop"},
            "T": {"type": "string"},
            "E": {"oneOf": [{"const": "a"}, {"const": "b"}]},
        }});
        let looped = serde_json::json!({"$ref": "#/$defs/Loop"});
        assert_eq!(deref(&looped, &root, false), &root["$defs"]["Loop"]);
        let opt = serde_json::json!({"anyOf": [{"$ref": "#/$defs/T"}, {"type": "null"}]});
        assert_eq!(deref(&opt, &root, false), &root["$defs"]["T"]);
        let e = serde_json::json!({"$ref": "#/$defs/E"});
        assert_eq!(deref(&e, &root, false), &root["$defs"]["E"], "the reference lists an enum's variants");
        assert_eq!(deref(&e, &root, true), &serde_json::json!({"const": "a"}));
    }

    #[test]
    fn merge_is_deep_for_tables_and_replaces_the_rest() {
        let text = "[a]\nx = 1\n[a.t]\np = 1\nq = [1]\n[b]\nx = 2\n[b.t]\nq = [2, 3]\n";
        let doc = Doc::parse(text).unwrap();
        let get = |n: &str| match doc.table(n).unwrap().get_ref() {
            DeValue::Table(t) => t.clone(),
            _ => unreachable!(),
        };
        let mut base = get("a");
        merge(&mut base, &get("b"));
        let t = toml::Table::deserialize(toml::de::Deserializer::from(Spanned::new(0..0, base))).unwrap();
        assert_eq!(t.to_string(), "x = 2\n\n[t]\np = 1\nq = [2, 3]\n");
    }

    #[test]
    fn path_at_finds_nested_keys_under_headers() {
        let text = "[environments.prod.eks]\nversion = \"1.20\"\n";
        let doc = Doc::parse(text).unwrap();
        let off = text.find("1.20").unwrap();
        assert_eq!(doc.path_at(off), "environments.prod.eks.version");
    }

    #[test]
    fn key_paths_are_toml_dotted_keys_and_read_back() {
        let cases: [&[&str]; 5] = [
            &["rds", "instance_class"],
            &["eks", "node_groups", "general", "labels", "myhealth.io/pool"],
            &["eks", "node_groups", "general", "instance_types", "0"],
            &["a", "with \"quote\" and \\"],
            &["k", "line\nbreak\u{1b}\u{2028}"],
        ];
        for segments in cases {
            let key = key_path(segments);
            assert!(!key.chars().any(|c| c.is_control() || c == '\u{2028}'), "{key:?}");
            assert_eq!(parse_key_path(&key).unwrap(), segments, "{key}");
        }
        assert_eq!(
            key_path(&["eks", "node_groups", "general", "labels", "myhealth.io/pool"]),
            "eks.node_groups.general.labels.\"myhealth.io/pool\""
        );
        assert_eq!(parse_key_path("a . 'b.c' . \"d\"").unwrap(), ["a", "b.c", "d"]);
        assert!(parse_key_path("labels.myhealth.io/pool").is_err());
        // Diagnostics name a dotted key the same way.
        let text = "[defaults.eks.node_groups.g]\nlabels = { \"myhealth.io/pool\" = \"x\" }\n";
        let doc = Doc::parse(text).unwrap();
        assert_eq!(doc.path_at(text.find("\"x\"").unwrap()), "defaults.eks.node_groups.g.labels.\"myhealth.io/pool\"");
    }

    use serde::Deserialize;
}
