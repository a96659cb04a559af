//! Hover on a key of `myhealth.toml`: its value in every environment with
//! the layer that won and its file:line (the records `envs --provenance`
//! prints, `keys::Provenance`), its built-in default and its description
//! (the JSON Schema `schema` prints), and what it drives and its share of
//! each environment's cost — `explain`'s own report, computed on the first
//! hover of the key and kept until the text changes.

use lsp_types::{Hover, HoverContents, MarkupContent, MarkupKind, Position};
use serde_json::Value;

use super::document::{Document, Options};
use crate::config::doc::{Doc, key_path, parse_key_path};
use crate::config::keys::{self, Found, Provenance};
use crate::ops::explain;

/// What a position names: a key of the settings (`rds.instance_class`,
/// whichever layer it is written in) or of `[project]`, with the key path
/// of the whole file.
pub struct Named {
    /// The file's key path: `environments.prod.rds.instance_class`.
    pub path: Vec<String>,
    /// The settings' key path (`rds.instance_class`); `None` for `[project]`.
    pub setting: Option<Vec<String>>,
}

pub fn named(doc: &Doc<'_>, offset: usize) -> Option<Named> {
    let path = parse_key_path(&doc.path_at(offset)).ok()?;
    let setting = match path.as_slice() {
        [first, _env, rest @ ..] if first == "environments" && !rest.is_empty() => Some(rest.to_vec()),
        [first, rest @ ..] if first == "defaults" && !rest.is_empty() => Some(rest.to_vec()),
        [first, _, ..] if first == "project" => None,
        _ => return None,
    };
    Some(Named { path, setting })
}

pub fn hover(doc: &mut Document, at: Position, options: &Options) -> Option<Hover> {
    doc.load();
    let offset = super::text::offset(&doc.text, at);
    let parsed = Doc::parse(&doc.text).ok()?;
    let named = named(&parsed, offset)?;
    let mut out = about(&named.path);
    let Some(cfg) = doc.config.as_ref().and_then(Option::as_ref) else {
        out.push_str("\n\n_The config does not load: fix its errors for the values of each environment._");
        return Some(markdown(out));
    };
    let Some(setting) = named.setting else {
        return Some(markdown(out));
    };
    let key = key_path(&setting);
    out.push_str("\n\n| environment | value | from |\n| --- | --- | --- |\n");
    for env in &cfg.environments {
        let name = &env.name.value;
        let value = match keys::find(&keys::flatten(env), &key) {
            Some(Found::Setting { value, .. }) => value,
            Some(Found::Table { keys, .. }) => Value::String(format!("(a table of {} settings)", keys.len())),
            None => {
                out.push_str(&format!("| `{name}` | (not set) | |\n"));
                continue;
            }
        };
        let p = Provenance::of(&parsed, &doc.text, &doc.project.display, name, &key, &value);
        let from = match (&p.file, p.line) {
            (Some(f), Some(l)) => format!("{} {f}:{l}", p.layer.table(name)),
            _ => "built-in".into(),
        };
        out.push_str(&format!("| `{name}` | `{}` | {} |\n", cell(&p.value.to_string()), cell(&from)));
    }
    match doc.hovers.get(&key) {
        Some(d) => out.push_str(d),
        None => {
            let d = drives(cfg, &doc.text, &doc.project, &key, options);
            out.push_str(&d);
            doc.hovers.insert(key, d);
        }
    }
    Some(markdown(out))
}

/// The key, its type and description, and its built-in default, from the schema.
fn about(path: &[String]) -> String {
    let shown = match path {
        [first, _env, rest @ ..] if first == "environments" => key_path(rest),
        [first, rest @ ..] if first == "defaults" => key_path(rest),
        _ => key_path(path),
    };
    let mut out = format!("**`{shown}`**");
    let Some(node) = super::schema::property(path) else { return out };
    let resolved = crate::config::doc::deref(node, crate::config::defaults::schema(), false);
    if let Some(t) = super::schema::kind(resolved) {
        out.push_str(&format!(" ({t})"));
    }
    let description = node.get("description").or_else(|| resolved.get("description")).and_then(Value::as_str);
    if let Some(d) = description {
        out.push_str(&format!("\n\n{d}"));
    }
    let choices = keys::choices(resolved);
    if !choices.is_empty() {
        out.push_str(&format!(
            "\n\nOne of: {}",
            choices.iter().map(|c| format!("`{c}`")).collect::<Vec<_>>().join(", ")
        ));
    }
    if let Some(d) = node.get("default") {
        out.push_str(&format!("\n\nBuilt-in default: `{d}`"));
    } else if let Some(d) = node.get("x-derived") {
        out.push_str(&format!("\n\nBuilt-in default: derived from other settings (e.g. `{d}`)"));
    }
    out
}

/// What `explain KEY` reports for every environment: where it lands, the
/// Kubernetes objects (with `lsp --manifests`, which runs Helm) and the cost.
fn drives(cfg: &crate::config::Config, text: &str, p: &crate::project::Project, key: &str, o: &Options) -> String {
    let opts = crate::render::Options { only_envs: Vec::new(), config_name: p.config_name() };
    let render = |c: &crate::config::Config| crate::render::render(c, &o.templates, &opts);
    let envs: Vec<&crate::config::model::Environment> = cfg.environments.iter().collect();
    let mut out = format!("\n**What it drives** (`myhealthctl explain {key}`):\n\n```text\n");
    let helm: Option<explain::ObjectsFn<'_>> = if o.manifests { Some(&explain::chart_objects) } else { None };
    match explain::explain(cfg, text, &p.display, &[key.to_string()], &envs, false, &render, helm) {
        Ok(all) => {
            for (i, x) in all.iter().enumerate() {
                if i > 0 {
                    out.push('\n');
                }
                out.push_str(&x.to_string());
            }
        }
        Err(e) => out.push_str(&format!("not tracked: {e:#}\n")),
    }
    out.push_str("```\n");
    out
}

/// A table cell: no `|` or newline breaks the table.
fn cell(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

fn markdown(value: String) -> Hover {
    Hover { contents: HoverContents::Markup(MarkupContent { kind: MarkupKind::Markdown, value }), range: None }
}
