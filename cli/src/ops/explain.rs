//! `explain`: where a setting of one environment comes from and what it
//! drives. Backward: the built-in default, `[defaults]` and
//! `[environments.<env>]`, each with its file:line, the winner marked.
//! Forward, by tracking the value through a render rather than searching
//! the output for it: the key is set to a different value in a copy of the
//! config (`toml_edit`), both configs are rendered, and what differs is
//! where the value lands — files and line numbers, the Terraform blocks and
//! attributes those lines belong to, the Kubernetes objects of the chart
//! (with Helm, `ops::manifests`), and the cost items that move (the key's
//! share of the estimate).

use std::collections::BTreeMap;

use anyhow::{Context, bail};
use serde::Serialize;
use serde_json::Value;

use crate::config::Config;
use crate::config::doc::Doc;
use crate::config::keys;
use crate::cost::{Assumptions, estimate};
use crate::tree::Tree;

/// One source in a key's chain.
#[derive(Debug, Clone, Serialize)]
pub struct Source {
    /// `built-in`, `[defaults]`, `[environments.<env>]`.
    pub layer: String,
    /// `file:line:column`, for the two layers of the file.
    pub at: Option<String>,
    pub value: Option<Value>,
    pub wins: bool,
}

/// Where a changed value lands in one generated file.
#[derive(Debug, Clone, Serialize)]
pub struct Landing {
    pub file: String,
    /// Line numbers in the file as rendered now.
    pub lines: Vec<usize>,
    /// For Terraform: `block attribute` for each line that sits in a block
    /// (`module "rds" instance_class`), or the variable a tfvars line sets
    /// with the blocks that read it.
    pub terraform: Vec<String>,
}

/// The explanation of one key in one environment.
#[derive(Debug, Clone, Serialize)]
pub struct Explanation {
    pub environment: String,
    pub key: String,
    pub value: Value,
    pub chain: Vec<Source>,
    pub lands: Vec<Landing>,
    /// `Kind namespace/name` of the chart's objects it changes (`None`: not rendered).
    pub kubernetes: Option<Vec<String>>,
    /// The cost items it moves (`service: detail`) and their current sum.
    pub cost_items: Vec<String>,
    pub cost_usd: f64,
    pub total_usd: f64,
    /// The value the forward half was tracked with.
    pub probe: Value,
}

/// The key paths an environment has (for did-you-mean).
pub fn known_keys(cfg: &Config) -> Vec<String> {
    let mut all: Vec<String> = cfg.environments.iter().flat_map(|e| keys::flatten(e).into_keys()).collect();
    all.sort();
    all.dedup();
    all
}

/// A different value of the same type: what the render tracks.
fn probe(v: &Value) -> Option<Value> {
    Some(match v {
        Value::Bool(b) => Value::Bool(!b),
        Value::Number(n) if n.is_u64() => Value::from(n.as_u64()? + 1),
        Value::Number(n) if n.is_i64() => Value::from(n.as_i64()? + 1),
        Value::Number(n) => Value::from(n.as_f64()? * 2.0 + 1.0),
        Value::String(s) => Value::String(format!("{s}-probe")),
        Value::Array(a) if a.iter().all(Value::is_string) => {
            let mut a = a.clone();
            a.push(Value::String("probe".into()));
            Value::Array(a)
        }
        _ => return None,
    })
}

fn to_toml(v: &Value) -> Option<toml_edit::Value> {
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
        _ => return None,
    })
}

/// `text` with `key` of `env` set to `value`, under `[environments.<env>]`.
pub fn set(text: &str, env: &str, key: &str, value: &Value) -> anyhow::Result<String> {
    use toml_edit::{DocumentMut, Item, Table};
    let mut doc: DocumentMut = text.parse()?;
    let mut at: &mut dyn toml_edit::TableLike = doc.as_table_mut();
    let parts: Vec<&str> = ["environments", env].into_iter().chain(key.split('.')).collect();
    let (last, path) = parts.split_last().context("an empty key")?;
    for p in path {
        if at.get(p).is_none() {
            let mut t = Table::new();
            t.set_implicit(true);
            at.insert(p, Item::Table(t));
        }
        at = at
            .get_mut(p)
            .and_then(Item::as_table_like_mut)
            .with_context(|| format!("`{p}` of `{key}` is not a table"))?;
    }
    at.insert(last, Item::Value(to_toml(value).context("a value explain cannot write")?));
    Ok(doc.to_string())
}

/// The lines of `new` that differ from `old` (numbers in `new`), or, for a
/// line only removed, the line where it was.
fn changed_lines(old: &[u8], new: &[u8]) -> Vec<usize> {
    let (o, n) = (String::from_utf8_lossy(old), String::from_utf8_lossy(new));
    let diff = similar::TextDiff::from_lines(o.as_ref(), n.as_ref());
    let mut out: Vec<usize> = Vec::new();
    for op in diff.ops() {
        match *op {
            similar::DiffOp::Replace { old_index, old_len, .. }
            | similar::DiffOp::Delete { old_index, old_len, .. } => out.extend((old_index + 1)..=(old_index + old_len)),
            similar::DiffOp::Insert { new_index, .. } => out.push(new_index + 1),
            similar::DiffOp::Equal { .. } => {}
        }
    }
    out.dedup();
    out
}

/// The Terraform block (`module "rds"`, `resource "aws_x" "y"`) each line
/// of `text` sits in, with the attribute the line sets.
fn hcl_places(text: &str, lines: &[usize]) -> Vec<String> {
    let all: Vec<&str> = text.lines().collect();
    let mut out = Vec::new();
    for &l in lines {
        let Some(line) = all.get(l.wrapping_sub(1)) else { continue };
        let attr = line.split('=').next().unwrap_or("").trim();
        // The nearest unclosed top-level block above.
        let mut block = None;
        for prev in all[..l].iter().rev() {
            if !prev.starts_with(' ') && prev.trim_end().ends_with('{') {
                block = Some(prev.trim_end().trim_end_matches('{').trim().to_string());
                break;
            }
        }
        if let Some(b) = block {
            out.push(format!("{b} {attr}"));
        }
    }
    out.dedup();
    out
}

/// For a `terraform.tfvars` line `name = …`: `var.name` and the blocks of
/// the root that read it (`module "rds" instance_class`).
fn tfvar_readers(tfvars: &str, main: &str, lines: &[usize]) -> Vec<String> {
    let all: Vec<&str> = tfvars.lines().collect();
    let mut out = Vec::new();
    for &l in lines {
        // A multi-line value: the assignment is the nearest line above at column 0.
        let Some(start) = all[..l.min(all.len())].iter().rev().find(|x| !x.starts_with(' ') && x.contains('=')) else {
            continue;
        };
        let var = start.split('=').next().unwrap_or("").trim().to_string();
        let needle = format!("var.{var}");
        let uses: Vec<usize> = main
            .lines()
            .enumerate()
            .filter(|(_, x)| x.contains(&needle) && !x.chars().nth(needle.len()).is_some_and(|c| c.is_alphanumeric()))
            .map(|(i, _)| i + 1)
            .collect();
        let readers = hcl_places(main, &uses);
        out.push(format!("var.{var} → {}", if readers.is_empty() { "(unused)".into() } else { readers.join(", ") }));
    }
    out.dedup();
    out
}

/// Renders the chart of two trees and names the objects that differ, per environment.
pub type ObjectsFn<'a> = &'a dyn Fn(&Config, &Config, &Tree, &Tree) -> anyhow::Result<BTreeMap<String, Vec<String>>>;

/// Explain `key` for every environment of `envs`. `render` renders a
/// config; `helm` renders the chart objects of two trees (None: not asked).
pub fn explain(
    cfg: &Config,
    text: &str,
    display: &str,
    key: &str,
    envs: &[&crate::config::model::Environment],
    render: &dyn Fn(&Config) -> anyhow::Result<Tree>,
    helm: Option<ObjectsFn<'_>>,
) -> anyhow::Result<Vec<Explanation>> {
    let known = known_keys(cfg);
    if !known.iter().any(|k| k == key) {
        let near = known.iter().max_by(|a, b| strsim::jaro_winkler(key, a).total_cmp(&strsim::jaro_winkler(key, b)));
        match near {
            Some(n) if strsim::jaro_winkler(key, n) > 0.8 => bail!("no setting `{key}`\n  = help: did you mean `{n}`?"),
            _ => bail!("no setting `{key}`\n  = help: `myhealthctl envs --provenance` lists every setting"),
        }
    }
    let doc = Doc::parse(text).map_err(|_| anyhow::anyhow!("`{display}` does not parse"))?;
    let now = render(cfg)?;
    let a = Assumptions::default();
    let mut out = Vec::new();
    for e in envs {
        let env = e.name.value.as_str();
        let flat = keys::flatten(e);
        let Some(value) = flat.get(key).cloned() else { continue };
        // Backward: each layer of the file that sets it, and the built-in.
        let mut chain = vec![Source { layer: "built-in".into(), at: None, value: None, wins: false }];
        for (layer, prefix) in
            [("[defaults]".to_string(), vec!["defaults"]), (format!("[environments.{env}]"), vec!["environments", env])]
        {
            let path: Vec<&str> = prefix.iter().copied().chain(key.split('.')).collect();
            if let Some(span) = doc.span_of(&path) {
                let (line, col) = crate::diagnostics::line_col(text, span.start);
                let raw = text.get(span.clone()).map(|s| s.to_string());
                chain.push(Source {
                    layer,
                    at: Some(format!("{display}:{line}:{col}")),
                    value: raw
                        .and_then(|r| toml::from_str::<toml::Value>(&format!("v = {r}")).ok())
                        .and_then(|t| serde_json::to_value(&t["v"]).ok()),
                    wins: false,
                });
            }
        }
        if chain.len() == 1 {
            chain[0].value = Some(value.clone());
        }
        if let Some(last) = chain.last_mut() {
            last.wins = true;
        }
        // Forward: render with another value and compare.
        let probe_value = probe(&value).with_context(|| format!("`{key}` holds a value explain cannot vary"))?;
        let probed_text = set(text, env, key, &probe_value)?;
        let probed =
            crate::config::load_historic(crate::diagnostics::Source { text: probed_text, name: display.into() })
                .map_err(|r| anyhow::anyhow!("the config with `{key}` varied does not load:\n{}", r.render(false)))?;
        let varied = render(&probed)?;
        let mut lands = Vec::new();
        for (file, bytes) in &now {
            let other = varied.get(file).map(Vec::as_slice).unwrap_or(&[]);
            if other == bytes.as_slice() {
                continue;
            }
            let lines = changed_lines(bytes, other);
            let text_now = String::from_utf8_lossy(bytes);
            let terraform = if file.ends_with(".tfvars") {
                let main = file.rsplit_once('/').map(|(d, _)| format!("{d}/main.tf")).unwrap_or_default();
                tfvar_readers(
                    &text_now,
                    &String::from_utf8_lossy(now.get(&main).map(Vec::as_slice).unwrap_or(&[])),
                    &lines,
                )
            } else if file.ends_with(".tf") {
                hcl_places(&text_now, &lines)
            } else {
                Vec::new()
            };
            lands.push(Landing { file: file.clone(), lines, terraform });
        }
        let kubernetes = match helm {
            Some(h) => Some(h(cfg, &probed, &now, &varied)?.remove(env).unwrap_or_default()),
            None => None,
        };
        let (before, after) = (estimate(e, &a), probed.env(env).map(|p| estimate(p, &a)));
        let mut cost_items = Vec::new();
        let mut cost_usd = 0.0;
        if let Some(after) = &after {
            for item in &before.items {
                let moved = !after
                    .items
                    .iter()
                    .any(|x| x.service == item.service && x.detail == item.detail && x.monthly_usd == item.monthly_usd);
                if moved {
                    cost_items.push(format!(
                        "{}: {} ({})",
                        item.service,
                        item.detail,
                        crate::cost::usd(item.monthly_usd)
                    ));
                    cost_usd += item.monthly_usd;
                }
            }
        }
        out.push(Explanation {
            environment: env.to_string(),
            key: key.to_string(),
            value,
            chain,
            lands,
            kubernetes,
            cost_items,
            cost_usd,
            total_usd: before.total_usd,
            probe: probe_value,
        });
    }
    Ok(out)
}

/// One explanation, for a person.
pub fn text(x: &Explanation) -> String {
    use std::fmt::Write as _;
    let mut out = format!("{} in `{}` = {}\n", x.key, x.environment, x.value);
    for s in &x.chain {
        let mark = if s.wins { "→" } else { " " };
        let v = s.value.as_ref().map(|v| v.to_string()).unwrap_or_else(|| "(overridden)".into());
        let _ = writeln!(
            out,
            "  {mark} {:<24} {v}{}",
            s.layer,
            s.at.as_ref().map(|a| format!("   {a}")).unwrap_or_default()
        );
    }
    if x.lands.is_empty() && x.cost_items.is_empty() && x.kubernetes.as_ref().is_none_or(Vec::is_empty) {
        let _ = writeln!(out, "  drives nothing: no generated file, object or cost changes with it");
        return out;
    }
    let _ = writeln!(out, "  lands in (tracked by rendering it as {}):", x.probe);
    for l in &x.lands {
        let lines: Vec<String> = l.lines.iter().map(usize::to_string).collect();
        let _ = writeln!(out, "    {} line {}", l.file, lines.join(", "));
        for t in &l.terraform {
            let _ = writeln!(out, "      terraform: {t}");
        }
    }
    match &x.kubernetes {
        Some(objs) if !objs.is_empty() => {
            let _ = writeln!(out, "  Kubernetes objects: {}", objs.join(", "));
        }
        Some(_) => {
            let _ = writeln!(out, "  Kubernetes objects: none");
        }
        None => {}
    }
    if x.cost_items.is_empty() {
        let _ = writeln!(out, "  cost: no part of the estimate depends on it");
    } else {
        let _ = writeln!(
            out,
            "  cost: {} of {} a month ({:.0}%) depends on it:",
            crate::cost::usd(x.cost_usd),
            crate::cost::usd(x.total_usd),
            if x.total_usd > 0.0 { x.cost_usd / x.total_usd * 100.0 } else { 0.0 }
        );
        for i in &x.cost_items {
            let _ = writeln!(out, "    {i}");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_that_drives_nothing_says_so_and_values_are_varied_by_type() {
        let x = Explanation {
            environment: "dev".into(),
            key: "a.b".into(),
            value: Value::from(1),
            chain: vec![Source { layer: "built-in".into(), at: None, value: Some(Value::from(1)), wins: true }],
            lands: vec![],
            kubernetes: Some(vec![]),
            cost_items: vec![],
            cost_usd: 0.0,
            total_usd: 10.0,
            probe: Value::from(2),
        };
        assert!(text(&x).contains("drives nothing"), "{}", text(&x));
        assert_eq!(probe(&Value::Bool(true)), Some(Value::Bool(false)));
        assert_eq!(probe(&Value::from(2)), Some(Value::from(3)));
        assert_eq!(probe(&Value::from("x")), Some(Value::from("x-probe")));
        assert_eq!(probe(&Value::Null), None);
        let t = set("[environments.dev]\neks = { cluster_name = \"c\" }\n", "dev", "eks.version", &Value::from("1.33"))
            .unwrap();
        let v: toml::Value = toml::from_str(&t).unwrap();
        assert_eq!(v["environments"]["dev"]["eks"]["version"].as_str(), Some("1.33"));
        assert_eq!(v["environments"]["dev"]["eks"]["cluster_name"].as_str(), Some("c"));
        assert_eq!(changed_lines(b"a\nb\nc\n", b"a\nB\nc\n"), [2]);
    }
}
