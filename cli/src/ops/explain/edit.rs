//! The forward half of `explain`'s tracking: set a key of one environment
//! to a different value in a copy of the config (`toml_edit`), keeping the
//! file's shape, so both configs can be rendered and compared.

use anyhow::{Context, anyhow};
use serde_json::Value;

use crate::config::doc::{key_path, parse_key_path};
use crate::config::keys;

/// Values of the type of `v` (one of the `choices` an enumerated setting
/// allows), most telling first: what the render tracks. The first that
/// loads and renders is used.
pub(super) fn probes(v: &Value, schema: Option<&Value>) -> Vec<Value> {
    let choices = schema.map(keys::choices).unwrap_or_default();
    if !choices.is_empty() {
        return choices.into_iter().filter(|c| v.as_str() != Some(c.as_str())).take(1).map(Value::String).collect();
    }
    match v {
        // An empty list of tables: one table of what it requires.
        Value::Array(a) if a.is_empty() && schema.is_some_and(keys::is_table_list) => {
            schema.map(|s| vec![Value::Array(vec![keys::example(s, true)])]).unwrap_or_default()
        }
        Value::Bool(b) => vec![Value::Bool(!b)],
        Value::Number(n) if n.is_u64() => {
            let n = n.as_u64().unwrap_or_default();
            [n.checked_add(1), n.checked_sub(1)].into_iter().flatten().map(Value::from).collect()
        }
        Value::Number(n) if n.is_i64() => {
            let n = n.as_i64().unwrap_or_default();
            [n.checked_add(1), n.checked_sub(1)].into_iter().flatten().map(Value::from).collect()
        }
        Value::Number(n) => n.as_f64().map(|f| vec![Value::from(f * 2.0 + 1.0)]).unwrap_or_default(),
        Value::String(s) => {
            let mut out = vec![Value::String(format!("{s}-probe"))];
            out.extend(bumped(s).map(Value::String));
            out
        }
        Value::Array(a) if a.iter().all(Value::is_string) => {
            let last = a.last().and_then(Value::as_str);
            let mut out = Vec::new();
            for extra in [last.and_then(bumped), Some(last.map_or("probe".into(), |l| format!("{l}-probe")))]
                .into_iter()
                .flatten()
            {
                let mut a = a.clone();
                a.push(Value::String(extra));
                out.push(Value::Array(a));
            }
            if a.len() > 1 {
                out.push(Value::Array(a[..a.len() - 1].to_vec()));
            }
            out
        }
        _ => Vec::new(),
    }
}

/// `s` with its last number one higher (`1.33` → `1.34`, `10.0.0.0/16` →
/// `10.0.0.0/17`, `us-east-1` → `us-east-2`): a value of the same shape.
pub(super) fn bumped(s: &str) -> Option<String> {
    let end = s.rfind(|c: char| c.is_ascii_digit())? + 1;
    let start = s[..end].rfind(|c: char| !c.is_ascii_digit()).map_or(0, |i| i + 1);
    let n: u128 = s[start..end].parse().ok()?;
    let width = end - start;
    Some(format!("{}{:0width$}{}", &s[..start], n + 1, &s[end..]))
}

pub(super) fn to_toml(v: &Value) -> Option<toml_edit::Value> {
    Some(match v {
        Value::Bool(b) => (*b).into(),
        Value::Number(n) if n.is_i64() || n.is_u64() => n.as_i64()?.into(),
        Value::Number(n) => n.as_f64()?.into(),
        Value::String(s) => s.as_str().into(),
        Value::Array(a) => {
            let mut arr = toml_edit::Array::new();
            for x in a {
                arr.push(to_toml(x)?);
            }
            toml_edit::Value::Array(arr)
        }
        Value::Object(m) => {
            let mut t = toml_edit::InlineTable::new();
            for (k, x) in m.iter().filter(|(_, x)| !x.is_null()) {
                t.insert(k, to_toml(x)?);
            }
            toml_edit::Value::InlineTable(t)
        }
        Value::Null => return None,
    })
}

/// The first list on the way to `segments` in what `env` reads — its own
/// table's, else `[defaults]`' (a layer sets a list as a whole) — as the
/// number of segments leading to it and its value.
pub(super) fn enclosing_list(plain: &toml::Table, env: &str, segments: &[String]) -> Option<(usize, Value)> {
    let layer = |prefix: &[&str]| {
        let mut t = plain.get(prefix[0])?;
        for p in &prefix[1..] {
            t = t.get(*p)?;
        }
        Some(t)
    };
    let mut own = layer(&["environments", env]);
    let mut defaults = layer(&["defaults"]);
    for (i, s) in segments.iter().enumerate().take(segments.len().saturating_sub(1)) {
        own = own.and_then(|t| t.get(s));
        defaults = defaults.and_then(|t| t.get(s));
        match own.or(defaults) {
            Some(l @ toml::Value::Array(_)) => return Some((i + 1, serde_json::to_value(l).ok()?)),
            Some(toml::Value::Table(_)) => {}
            _ => return None,
        }
    }
    None
}

/// `list` with the value at `path` (indices and keys inside it) replaced.
pub(super) fn replace_in(list: &mut Value, path: &[String], value: Value) -> Option<()> {
    let mut at = list;
    for p in path {
        at = match at {
            Value::Array(a) => a.get_mut(p.parse::<usize>().ok()?)?,
            Value::Object(m) => m.entry(p.clone()).or_insert(Value::Null),
            _ => return None,
        };
    }
    *at = value;
    Some(())
}

/// `text` with `key` (a key path) of `env` set to `value`, under
/// `[environments.<env>]`. An element of a list (`…instance_types.0`,
/// `…taints.0.effect`) is set by writing the whole list the environment
/// reads with that element changed.
pub fn set(text: &str, env: &str, key: &str, value: &Value) -> anyhow::Result<String> {
    use toml_edit::{DocumentMut, Item, Table};
    let segments = parse_key_path(key).map_err(|e| anyhow!("`{key}` is not a key path: {e}"))?;
    let plain: toml::Table = toml::from_str(text)?;
    let (segments, value) = match enclosing_list(&plain, env, &segments) {
        Some((n, mut list)) => {
            replace_in(&mut list, &segments[n..], value.clone())
                .with_context(|| format!("`{key}` is not an element of `{}`", key_path(&segments[..n])))?;
            (segments[..n].to_vec(), list)
        }
        None => (segments, value.clone()),
    };
    let mut doc: DocumentMut = text.parse()?;
    let mut at: &mut dyn toml_edit::TableLike = doc.as_table_mut();
    let path: Vec<&str> = ["environments", env].into_iter().chain(segments.iter().map(String::as_str)).collect();
    let (last, path) = path.split_last().context("an empty key")?;
    for (i, p) in path.iter().enumerate() {
        if at.get(p).is_none() {
            let mut t = Table::new();
            t.set_implicit(true);
            // A table each layer must hold whole (`budget` needs its
            // `monthly_usd`): what it requires, as `[defaults]` has it.
            let rel = &segments[..(i + 1).saturating_sub(2)];
            if i >= 2 {
                let required = keys::schema_at(rel).and_then(|s| s.get("required")).and_then(Value::as_array);
                let mut from = plain.get("defaults");
                for s in rel {
                    from = from.and_then(|t| t.get(s.as_str()));
                }
                for r in required.into_iter().flatten().filter_map(Value::as_str).filter(|r| r != last) {
                    if let Some(v) = from.and_then(|t| t.get(r)).and_then(|v| serde_json::to_value(v).ok()) {
                        t.insert(r, Item::Value(to_toml(&v).context("a value explain cannot write")?));
                    }
                }
            }
            at.insert(p, Item::Table(t));
        }
        at = at
            .get_mut(p)
            .and_then(Item::as_table_like_mut)
            .with_context(|| format!("`{p}` of `{key}` is not a table"))?;
    }
    at.insert(last, Item::Value(to_toml(&value).context("a value explain cannot write")?));
    Ok(doc.to_string())
}
