//! The resolved settings of an environment as key paths (`eks.version`,
//! `services.api-service.port`, `eks.node_groups.general.min_size`,
//! `eks.node_groups.general.labels."myhealth.io/pool"`) with their values,
//! and where in the file a key of an environment is set: its own
//! `[environments.<name>]` table wins over `[defaults]`, and a key set in
//! neither is a built-in default (or derived from another key). Key paths
//! are written and read by `doc::key_path` / `doc::parse_key_path`, the one
//! syntax diagnostics, `explain`, `envs --provenance` and the review share.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::Value;

use super::doc::{Doc, Written, key_path, parse_key_path};
use super::model::Environment;
use crate::diagnostics::line_col;

pub mod change;

// ------------------------------------------------------- what the file may set

/// The JSON Schema of what `[defaults]` or `[environments.<name>]` may set
/// at `segments`; `None` for a value the file cannot set (derived, like
/// `network.azs`).
pub fn schema_at<S: AsRef<str>>(segments: &[S]) -> Option<&'static Value> {
    let root = super::raw_schema();
    let mut node = deref(root.pointer("/$defs/RawSettings")?, root);
    for s in segments {
        let s = s.as_ref();
        let next = if let Some(p) = node.get("properties").and_then(|p| p.get(s)) {
            p
        } else if let Some(a @ Value::Object(_)) = node.get("additionalProperties") {
            a
        } else if let Some(items) = node.get("items") {
            s.parse::<usize>().ok()?;
            items
        } else {
            return None;
        };
        node = deref(next, root);
    }
    Some(node)
}

/// `$ref`s followed, `Option`'s `anyOf: [T, null]` taken as `T` (the
/// one resolution the config's checks and the key reference use).
fn deref<'s>(s: &'s Value, root: &'s Value) -> &'s Value {
    super::doc::deref(s, root, false)
}

/// The values an enumerated setting allows (`["SPOT", "ON_DEMAND"]`), in
/// the schema's order; empty for any other.
pub fn choices(schema: &Value) -> Vec<String> {
    let consts = schema.get("oneOf").and_then(Value::as_array).map(|alts| {
        alts.iter().filter_map(|a| a.get("const").and_then(Value::as_str).map(str::to_string)).collect::<Vec<_>>()
    });
    let listed = schema
        .get("enum")
        .and_then(Value::as_array)
        .map(|e| e.iter().filter_map(Value::as_str).map(str::to_string).collect::<Vec<_>>());
    consts.filter(|c| !c.is_empty()).or(listed).unwrap_or_default()
}

/// A value the schema allows, from what it requires: a table of its
/// required keys, the first of an enumeration's values, `"probe"`, `1`,
/// `true`, an empty list. For a list, its element's (`None` for a value).
pub fn example(schema: &Value, element: bool) -> Value {
    let root = super::raw_schema();
    let schema = match element {
        true => deref(schema.get("items").unwrap_or(&Value::Null), root),
        false => schema,
    };
    if let Some(first) = choices(schema).into_iter().next() {
        return Value::String(first);
    }
    let is = |t: &str| match schema.get("type") {
        Some(Value::String(x)) => x == t,
        Some(Value::Array(a)) => a.iter().any(|x| x == t),
        _ => false,
    };
    if let Some(props) = schema.get("properties").and_then(Value::as_object) {
        let required = schema.get("required").and_then(Value::as_array).cloned().unwrap_or_default();
        return Value::Object(
            required
                .iter()
                .filter_map(Value::as_str)
                .filter_map(|r| Some((r.to_string(), example(deref(props.get(r)?, root), false))))
                .collect(),
        );
    }
    if is("string") {
        "probe".into()
    } else if is("integer") || is("number") {
        1.into()
    } else if is("boolean") {
        true.into()
    } else if is("array") {
        Value::Array(Vec::new())
    } else {
        Value::Object(Default::default())
    }
}

/// Whether `schema` is a list of tables (`taints`).
pub fn is_table_list(schema: &Value) -> bool {
    shape(schema) == Some(Shape::Tables)
}

/// How a list of the resolved model is written in the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shape {
    /// A table of named things (`node_groups`, `services`, `env`): keyed by name.
    Map,
    /// A list of tables (`taints`): keyed by index.
    Tables,
    /// A list of values (`instance_types`): one setting.
    List,
}

fn shape(schema: &Value) -> Option<Shape> {
    let root = super::raw_schema();
    if schema.get("additionalProperties").is_some_and(Value::is_object) {
        return Some(Shape::Map);
    }
    let items = deref(schema.get("items")?, root);
    let table = items.get("properties").is_some() || items.get("additionalProperties").is_some_and(Value::is_object);
    Some(if table { Shape::Tables } else { Shape::List })
}

// ------------------------------------------------------------ the settings

/// Every leaf of `env`'s resolved settings, by key path, as the file
/// writes it: tables of named things (services, node groups, extra jobs,
/// `env` pairs, labels) keyed by their names, a list of tables (taints)
/// by index (`taints.0.effect`), a list of values as one setting
/// (`instance_types`). An optional setting left unset is not one.
pub fn flatten(env: &Environment) -> BTreeMap<String, Value> {
    let mut out = BTreeMap::new();
    if let Ok(Value::Object(m)) = serde_json::to_value(env) {
        for (k, v) in m {
            if k != "name" {
                walk(&mut vec![k], v, &mut out);
            }
        }
    }
    out
}

fn walk(path: &mut Vec<String>, v: Value, out: &mut BTreeMap<String, Value>) {
    match v {
        Value::Null => {}
        Value::Object(m) => {
            for (k, v) in m {
                path.push(k);
                walk(path, v, out);
                path.pop();
            }
        }
        Value::Array(items) => {
            let shape = schema_at(path.as_slice()).and_then(shape);
            let named = match shape {
                Some(Shape::Map) => by_name(&items),
                // A value the file cannot set: named things by their names still.
                None if !items.is_empty() => by_name(&items),
                _ => None,
            };
            match (shape, named) {
                (_, Some(entries)) => {
                    for (k, v) in entries {
                        path.push(k);
                        walk(path, v, out);
                        path.pop();
                    }
                }
                (Some(Shape::Map), None) => {}
                (Some(Shape::Tables), None) if !items.is_empty() => {
                    for (i, v) in items.into_iter().enumerate() {
                        path.push(i.to_string());
                        walk(path, v, out);
                        path.pop();
                    }
                }
                _ => {
                    out.insert(key_path(path.as_slice()), Value::Array(items));
                }
            }
        }
        leaf => {
            out.insert(key_path(path.as_slice()), leaf);
        }
    }
}

/// A list of the model that is a table in the file: named things (a `name`
/// or `id` field, taken out) or `[key, value]` pairs.
fn by_name(items: &[Value]) -> Option<Vec<(String, Value)>> {
    let named = |key: &str| items.iter().all(|i| i[key].is_string());
    if let Some(key) = ["name", "id"].into_iter().find(|k| named(k)) {
        return Some(
            items
                .iter()
                .map(|i| {
                    let mut i = i.clone();
                    let n = i[key].as_str().unwrap_or_default().to_string();
                    if let Value::Object(m) = &mut i {
                        m.remove(key);
                    }
                    (n, i)
                })
                .collect(),
        );
    }
    items
        .iter()
        .map(|i| match i.as_array().map(Vec::as_slice) {
            Some([Value::String(k), v]) => Some((k.clone(), v.clone())),
            _ => None,
        })
        .collect()
}

/// What a key path names among an environment's settings (`flatten`).
#[derive(Debug, Clone, PartialEq)]
pub enum Found {
    /// A setting, or an element of a list setting (`…instance_types.0`):
    /// its key path as printed, and its value.
    Setting { key: String, value: Value },
    /// A table (`rds`, `eks.node_groups.general`): its key path and the
    /// settings under it.
    Table { key: String, keys: Vec<String> },
}

/// What `key` names in `flat`. It is read as a key path (`parse_key_path`),
/// or — when that names nothing — as the key path with its quotes lost (a
/// shell strips them: `labels.myhealth.io/pool`), if exactly one setting
/// or table reads so.
pub fn find(flat: &BTreeMap<String, Value>, key: &str) -> Option<Found> {
    if let Some(found) = parse_key_path(key).ok().and_then(|s| find_segments(flat, &s)) {
        return Some(found);
    }
    let mut spelled: Vec<String> =
        names(flat).into_iter().filter(|n| parse_key_path(n).is_ok_and(|s| s.join(".") == key)).collect();
    spelled.dedup();
    match spelled.as_slice() {
        [one] => find(flat, one),
        _ => None,
    }
}

fn find_segments(flat: &BTreeMap<String, Value>, segments: &[String]) -> Option<Found> {
    let key = key_path(segments);
    if let Some(v) = flat.get(&key) {
        return Some(Found::Setting { key, value: v.clone() });
    }
    // An element of a list setting: the longest prefix that is one, indexed.
    for n in (1..segments.len()).rev() {
        if let Some(mut v) = flat.get(&key_path(&segments[..n])).filter(|v| v.is_array()) {
            for s in &segments[n..] {
                v = v.get(s.parse::<usize>().ok()?)?;
            }
            return Some(Found::Setting { key, value: v.clone() });
        }
    }
    let under = format!("{key}.");
    let keys: Vec<String> = flat.keys().filter(|k| k.starts_with(&under)).cloned().collect();
    (!keys.is_empty()).then_some(Found::Table { key, keys })
}

/// Every setting of `flat` and every table above one: what a key path may
/// name (the candidates of a did-you-mean).
pub fn names(flat: &BTreeMap<String, Value>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for k in flat.keys() {
        let segments = parse_key_path(k).unwrap_or_default();
        for n in 1..segments.len() {
            out.push(key_path(&segments[..n]));
        }
        out.push(k.clone());
    }
    out.sort();
    out.dedup();
    out
}

/// The name among `candidates` nearest to `key`, if one is near enough to
/// be what was meant.
pub fn nearest<'c>(key: &str, candidates: &'c [String]) -> Option<&'c String> {
    candidates
        .iter()
        .map(|c| (strsim::jaro_winkler(key, c), c))
        .filter(|(score, _)| *score > 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| c)
}

// -------------------------------------------------------- where it is set

/// Where a value of an environment comes from, lowest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub enum Layer {
    /// Built into myhealthctl, or derived from other settings.
    #[serde(rename = "built-in")]
    BuiltIn,
    /// `[defaults]`.
    #[serde(rename = "defaults")]
    Defaults,
    /// `[environments.<name>]`.
    #[serde(rename = "environment")]
    Environment,
}

impl Layer {
    /// As the file names it: `[defaults]`, `[environments.<env>]`; `built-in`.
    pub fn table(self, env: &str) -> String {
        match self {
            Layer::BuiltIn => "built-in".into(),
            Layer::Defaults => "[defaults]".into(),
            Layer::Environment => format!("[environments.{env}]"),
        }
    }
}

/// Where the file sets a key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Setting {
    /// The key path in the file, e.g. `environments.prod.rds.instance_class`.
    pub path: String,
    pub line: usize,
    pub column: usize,
    /// The bytes of the value.
    #[serde(skip)]
    pub span: std::ops::Range<usize>,
}

/// How one layer of the file bears on a key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cover {
    /// It sets the key, here.
    Sets(Setting),
    /// It sets a list enclosing the key as a whole, here, without the key:
    /// no lower layer's value reaches through it.
    Replaces(Setting),
}

/// What each layer of the file does to one key of one environment.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Chain {
    pub defaults: Option<Cover>,
    pub environment: Option<Cover>,
}

impl Chain {
    /// The layers of `text` (parsed as `doc`) on the key path `segments` of `env`.
    pub fn of<S: AsRef<str>>(doc: &Doc<'_>, text: &str, env: &str, segments: &[S]) -> Chain {
        let cover = |prefix: &[&str]| {
            let path: Vec<&str> = prefix.iter().copied().chain(segments.iter().map(|s| s.as_ref())).collect();
            let at = |n: usize, span: std::ops::Range<usize>| {
                let (line, column) = line_col(text, span.start);
                Setting { path: key_path(&path[..n]), line, column, span }
            };
            match doc.written(&path) {
                Written::At(span) => Some(Cover::Sets(at(path.len(), span))),
                Written::Within(n, span) => Some(Cover::Replaces(at(n, span))),
                Written::Absent => None,
            }
        };
        Chain { defaults: cover(&["defaults"]), environment: cover(&["environments", env]) }
    }

    /// The layer the value comes from, and where the file sets it: the
    /// environment's table over `[defaults]`; a list an upper layer sets as
    /// a whole hides what the lower one sets inside its own.
    pub fn winner(&self) -> (Layer, Option<&Setting>) {
        match (&self.environment, &self.defaults) {
            (Some(Cover::Sets(s)), _) => (Layer::Environment, Some(s)),
            (Some(Cover::Replaces(_)), _) => (Layer::BuiltIn, None),
            (None, Some(Cover::Sets(s))) => (Layer::Defaults, Some(s)),
            _ => (Layer::BuiltIn, None),
        }
    }
}

/// Where `key` of environment `env` is set in `text`: the environment's own
/// table first, then `[defaults]`; `None` for a built-in or derived value.
pub fn located(doc: &Doc<'_>, text: &str, env: &str, key: &str) -> Option<Setting> {
    let segments = parse_key_path(key).ok()?;
    Chain::of(doc, text, env, &segments).winner().1.cloned()
}

/// One setting of one environment and where its value comes from: what
/// `envs --provenance` lists and `explain` starts from.
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct Provenance {
    /// The key path, e.g. `eks.node_groups.general.labels."myhealth.io/pool"`.
    pub key: String,
    /// Credential-shaped text masked, as everything printed about the config.
    pub value: Value,
    pub layer: Layer,
    /// File, line and column of the value, for `defaults` and `environment`.
    pub file: Option<String>,
    pub line: Option<usize>,
    pub column: Option<usize>,
    /// The key path in the file: `environments.prod.rds.instance_class`.
    pub path: Option<String>,
}

impl Provenance {
    /// `key` (a key path as `flatten` prints it) of `env` = `value`.
    pub fn of(doc: &Doc<'_>, text: &str, file: &str, env: &str, key: &str, value: &Value) -> Provenance {
        let chain = parse_key_path(key).map(|s| Chain::of(doc, text, env, &s)).unwrap_or_default();
        let (layer, at) = chain.winner();
        Provenance {
            key: key.to_string(),
            value: redacted(value),
            layer,
            file: at.map(|_| file.to_string()),
            line: at.map(|s| s.line),
            column: at.map(|s| s.column),
            path: at.map(|s| s.path.clone()),
        }
    }
}

/// Every setting of `env` with where it comes from, by key path.
pub fn provenance(doc: &Doc<'_>, text: &str, file: &str, env: &Environment) -> Vec<Provenance> {
    flatten(env).iter().map(|(k, v)| Provenance::of(doc, text, file, &env.name.value, k, v)).collect()
}

/// `v` with credential-shaped text in its strings masked.
pub fn redacted(v: &Value) -> Value {
    match v {
        Value::String(s) => Value::String(crate::redact::Redactor.apply(s).into_owned()),
        Value::Array(a) => Value::Array(a.iter().map(redacted).collect()),
        Value::Object(m) => Value::Object(m.iter().map(|(k, v)| (k.clone(), redacted(v))).collect()),
        v => v.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(text: &str) -> super::super::Config {
        super::super::load(crate::diagnostics::Source { name: "myhealth.toml".into(), text: text.into() }).unwrap()
    }

    fn default_text() -> String {
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../myhealth.toml")).unwrap()
    }

    fn multi_region_text() -> String {
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/fixtures/multi-region.toml")).unwrap()
    }

    #[test]
    fn named_lists_are_keyed_by_name() {
        let mut out = BTreeMap::new();
        walk(
            &mut vec!["services".into()],
            serde_json::json!([{ "name": "api", "port": 8080, "env": [["RUST_LOG", "info"]] }]),
            &mut out,
        );
        assert_eq!(out["services.api.port"], 8080);
        assert_eq!(out["services.api.env.RUST_LOG"], "info");
        walk(&mut vec!["network".into(), "public_subnets".into()], serde_json::json!(["a", "b"]), &mut out);
        assert_eq!(out["network.public_subnets"], serde_json::json!(["a", "b"]));
    }

    /// Bug (#23): a label key with dots in it was written and looked up
    /// unquoted (`labels.myhealth.io/pool`), so the file's line was never
    /// found and the label was shown as built-in.
    #[test]
    fn a_dotted_label_key_is_quoted_and_found_where_the_file_sets_it() {
        let text = default_text();
        let cfg = load(&text);
        let doc = Doc::parse(&text).unwrap();
        let dev = cfg.env("dev").unwrap();
        let key = "eks.node_groups.general.labels.\"myhealth.io/pool\"";
        assert_eq!(flatten(dev)[key], "general");
        let line = text.lines().position(|l| l.contains("\"myhealth.io/pool\" = ")).unwrap() + 1;
        let p = Provenance::of(&doc, &text, "myhealth.toml", "dev", key, &Value::from("general"));
        assert_eq!((p.layer, p.line), (Layer::Defaults, Some(line)), "{p:?}");
        assert_eq!(p.path.as_deref(), Some("defaults.eks.node_groups.general.labels.\"myhealth.io/pool\""));
    }

    /// Bug (#23): a list of tables (taints) was one value nothing could
    /// vary; its elements are settings of their own, keyed by index.
    #[test]
    fn a_list_of_tables_is_keyed_by_index_and_a_list_of_values_is_one_setting() {
        let text = multi_region_text();
        let cfg = load(&text);
        let flat = flatten(cfg.env("dev").unwrap());
        assert_eq!(flat["eks.node_groups.system.taints.0.effect"], "NO_SCHEDULE");
        assert_eq!(flat["eks.node_groups.system.taints.0.key"], "CriticalAddonsOnly");
        assert_eq!(flat["eks.node_groups.workers.instance_types"], serde_json::json!(["m6i.large", "m5.large"]));
        assert!(!flat.contains_key("eks.node_groups.system.taints"));
        // An unset optional setting is not one; an empty table has no settings.
        assert!(
            !flat.contains_key("budget"),
            "{:?}",
            flat.keys().filter(|k| k.starts_with("budget")).collect::<Vec<_>>()
        );
        assert!(!flat.keys().any(|k| k.starts_with("services.api-service.secret_env")));
    }

    /// Bug (#23): `…instance_types.0` — the form diagnostics print — was refused.
    #[test]
    fn elements_tables_and_quote_stripped_keys_are_found() {
        let text = default_text();
        let cfg = load(&text);
        let flat = flatten(cfg.env("prod").unwrap());
        assert_eq!(
            find(&flat, "eks.node_groups.general.instance_types.0"),
            Some(Found::Setting { key: "eks.node_groups.general.instance_types.0".into(), value: "t3.large".into() })
        );
        assert_eq!(find(&flat, "eks.node_groups.general.instance_types.1"), None);
        let Some(Found::Table { key, keys }) = find(&flat, "rds") else { panic!("rds is a table") };
        assert_eq!(key, "rds");
        assert!(keys.contains(&"rds.instance_class".to_string()), "{keys:?}");
        // Quoted, with single quotes, or with the quotes a shell took away.
        for k in [
            "eks.node_groups.general.labels.\"myhealth.io/pool\"",
            "eks.node_groups.general.labels.'myhealth.io/pool'",
            "eks.node_groups.general.labels.myhealth.io/pool",
        ] {
            assert_eq!(
                find(&flat, k),
                Some(Found::Setting {
                    key: "eks.node_groups.general.labels.\"myhealth.io/pool\"".into(),
                    value: "general".into()
                }),
                "{k}"
            );
        }
        assert!(matches!(find(&flat, "eks.node_groups.general"), Some(Found::Table { .. })));
        assert_eq!(find(&flat, "rds.instance_clas"), None);
    }

    /// Bug (#23): a whole table got a did-you-mean naming some leaf.
    #[test]
    fn did_you_mean_knows_tables() {
        let cfg = load(&default_text());
        let all = names(&flatten(cfg.env("dev").unwrap()));
        assert_eq!(nearest("eks.node_groups.genral", &all).map(String::as_str), Some("eks.node_groups.general"));
        assert_eq!(nearest("rdss", &all).map(String::as_str), Some("rds"));
        assert_eq!(nearest("rds.instance_clas", &all).map(String::as_str), Some("rds.instance_class"));
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
    fn a_list_an_environment_sets_hides_the_defaults_inside_it() {
        let text = "[defaults.eks.node_groups.g]\ntaints = [{ key = \"a\", value = \"x\", effect = \"NO_SCHEDULE\" }]\ninstance_types = [\"t3.small\", \"t3.medium\"]\n\n[environments.prod.eks.node_groups.g]\ntaints = [{ key = \"b\", effect = \"NO_SCHEDULE\" }]\ninstance_types = [\n  \"m6i.large\",\n]\n";
        let doc = Doc::parse(text).unwrap();
        let chain = |env: &str, key: &str| Chain::of(&doc, text, env, &parse_key_path(key).unwrap());
        let c = chain("prod", "eks.node_groups.g.taints.0.value");
        assert!(matches!(c.environment, Some(Cover::Replaces(_))) && matches!(c.defaults, Some(Cover::Sets(_))));
        assert_eq!(c.winner().0, Layer::BuiltIn);
        let c = chain("prod", "eks.node_groups.g.instance_types.0");
        assert_eq!(c.winner().1.map(|s| s.line), Some(8));
        let c = chain("dev", "eks.node_groups.g.instance_types.1");
        assert_eq!(c.winner().1.map(|s| (s.line, s.column)), Some((3, 31)));
    }

    #[test]
    fn a_change_names_each_key_it_moves_and_where() {
        let base = default_text();
        let head = base.replace("instance_class = \"db.r6g.large\"", "instance_class = \"db.r6g.xlarge\"");
        let (b, h) = (load(&base), load(&head));
        let c = change::compare(Some((&b, &base)), (&h, &head));
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
