//! `myhealth.toml`: parse → unknown keys and credential scan → typed raw
//! layer → per-environment deep merge over `[defaults]` → resolved model →
//! validation. Every failure is a `Diagnostic` pointing into the file.

pub mod catalog;
pub mod defaults;
pub mod doc;
pub mod keys;
pub mod model;
pub mod raw;
pub mod reference;
pub mod resolve;
mod scan;
pub mod span;
pub mod validate;

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use serde::Deserialize;
use toml::Spanned;
use toml::de::{DeTable, DeValue};

use crate::diagnostics::{Diagnostic, Report, Source};
pub use model::Config;
use raw::{RawConfig, RawSettings};
use span::{Sp, Span};

/// The file `render` and friends use when none is given.
pub const DEFAULT_FILE: &str = "myhealth.toml";

/// The schema of the raw types alone: what loading checks keys against
/// (`defaults::schema` is it with the built-in defaults written in).
pub fn raw_schema() -> &'static serde_json::Value {
    static S: OnceLock<serde_json::Value> = OnceLock::new();
    S.get_or_init(|| serde_json::to_value(schemars::schema_for!(RawConfig)).expect("schema serializes"))
}

/// Read and load a config file.
pub fn load_file(path: &Path, display: &str, mode: Mode) -> Result<Config, anyhow::Error> {
    let text = std::fs::read_to_string(path).map_err(|e| anyhow::anyhow!("cannot read `{display}`: {e}"))?;
    Ok(load_for(Source { name: display.to_string(), text }, mode)?)
}

/// Find `myhealth.toml` in `start` or the nearest parent directory that has one.
pub fn discover(start: &Path) -> Option<PathBuf> {
    start.ancestors().map(|d| d.join(DEFAULT_FILE)).find(|p| p.is_file())
}

/// What the config is loaded for: a command that changes things refuses
/// a config with any error; one that only reads runs despite an error that
/// blocks only changes (a production budget overrun), reporting it as a
/// warning — so `cost`, `explain`, `envs`, `diff` are never a dead end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Change,
    Read,
}

/// Load a config from source text, for a command that changes things.
/// Pure: the fuzz target drives this.
pub fn load(source: Source) -> Result<Config, Report> {
    load_with(source, true, Mode::Change)
}

/// Load a config for `mode`.
pub fn load_for(source: Source, mode: Mode) -> Result<Config, Report> {
    load_with(source, true, mode)
}

/// Load a config as it was at another revision: typed and resolved, but
/// not held to today's validation rules (it passed its own).
pub fn load_historic(source: Source) -> Result<Config, Report> {
    load_with(source, false, Mode::Change)
}

fn load_with(source: Source, validate: bool, mode: Mode) -> Result<Config, Report> {
    let mut diags = Vec::new();
    let config = load_inner(&source.text, validate, &mut diags);
    if mode == Mode::Read {
        for d in diags.iter_mut().filter(|d| d.blocks_changes) {
            d.severity = crate::diagnostics::Severity::Warning;
            d.help = Some(format!(
                "{}; commands that change things (`render`, `apply`, `deploy`, `promote`, `push --record`) refuse until it is",
                d.help.as_deref().unwrap_or("fix it")
            ));
        }
    }
    let (warnings, errors): (Vec<Diagnostic>, Vec<Diagnostic>) =
        diags.into_iter().partition(|d| d.severity == crate::diagnostics::Severity::Warning);
    let mut diags = errors;
    match config {
        Some(mut c) if diags.is_empty() => {
            if !warnings.is_empty() {
                c.warnings = Some(Report { diagnostics: tidy(warnings), source });
            }
            Ok(c)
        }
        _ => {
            if diags.is_empty() {
                diags.push(Diagnostic::error("invalid configuration"));
            }
            Err(Report { diagnostics: tidy(diags), source })
        }
    }
}

/// Order by position and drop repeats (a `[defaults]` error is found once per environment).
pub fn tidy(mut d: Vec<Diagnostic>) -> Vec<Diagnostic> {
    d.sort_by(|a, b| {
        let pa = a.span.as_ref().map_or(usize::MAX, |s| s.start);
        let pb = b.span.as_ref().map_or(usize::MAX, |s| s.start);
        pa.cmp(&pb).then_with(|| a.message.cmp(&b.message))
    });
    // Keep the first finding at each span: a literal credential also being
    // an unknown key is one problem, the credential.
    let mut out: Vec<Diagnostic> = Vec::with_capacity(d.len());
    for x in d {
        match out.iter_mut().find(|y| y.message == x.message && y.span == x.span) {
            // The same `[defaults]` finding of another environment: one
            // finding, naming every environment that inherits the value.
            Some(y) => {
                for c in x.context {
                    if !y.context.contains(&c) {
                        y.context.push(c);
                    }
                }
            }
            None => out.push(x),
        }
    }
    // A literal credential is the problem to fix; that its key is also
    // unknown is noise.
    let credential_keys: Vec<Option<String>> = out.iter().filter(|d| d.redact).map(|d| d.key.clone()).collect();
    out.retain(|d| d.redact || d.key.is_none() || !credential_keys.contains(&d.key));
    out
}

fn load_inner(text: &str, validate: bool, diags: &mut Vec<Diagnostic>) -> Option<Config> {
    // Credentials first, on the raw text: nothing below may quote one back.
    let found = scan::scan_raw(text);
    if !found.is_empty() {
        diags.extend(found);
        return None;
    }
    let doc = match doc::Doc::parse(text) {
        Ok(d) => d,
        Err(e) => {
            diags.push(*e);
            return None;
        }
    };
    scan::scan_credentials(&doc, diags);
    scan::scan_control_chars(&doc, diags);
    doc::unknown_keys(&doc, raw_schema(), diags);
    if !diags.is_empty() {
        return None;
    }

    // Type every section on its own first, so a type error points at the
    // section that has it (not at every environment that inherits it).
    let raw = match RawConfig::deserialize(toml::de::Deserializer::from(doc.root.clone())) {
        Ok(r) => r,
        Err(e) => {
            let first = e.span();
            diags.push(type_error(&doc, e));
            more_type_errors(text, &doc, first, diags);
            return None;
        }
    };

    // `[defaults]` is typed here, so its errors point at its own lines; its
    // values reach each environment merged at the document level, below.
    let RawConfig { project, defaults: _typed, environments, policy } = raw;
    let disabled_rules = policy.and_then(|p| p.disable).map(|d| d.value).unwrap_or_default();
    let project_at = doc.table("project").map_or(0..0, |t| t.span());
    let project = resolve::project(project, key_span(&doc, "project").unwrap_or(project_at), diags);
    if environments.is_empty() {
        diags.push(
            Diagnostic::error("no environments defined")
                .help("add at least one, e.g. `[environments.dev]` (it may be empty: it then takes every value from `[defaults]`)"),
        );
        return None;
    }
    let project = project?;

    let defaults: DeTable<'_> = match doc.table("defaults").map(|t| t.get_ref()) {
        Some(DeValue::Table(t)) => t.clone(),
        _ => DeTable::new(),
    };
    let env_tables: Vec<(Sp<String>, DeTable<'_>)> = match doc.table("environments").map(|t| t.get_ref()) {
        Some(DeValue::Table(t)) => t
            .iter()
            .map(|(k, v)| {
                let table = match v.get_ref() {
                    DeValue::Table(t) => t.clone(),
                    _ => DeTable::new(),
                };
                (Sp::new(k.get_ref().to_string(), k.span()), table)
            })
            .collect(),
        _ => Vec::new(),
    };

    let mut environments = Vec::new();
    for (i, (name, over)) in env_tables.into_iter().enumerate() {
        let mut merged = defaults.clone();
        doc::merge(&mut merged, &over);
        let span = name.span.clone().unwrap_or(0..0);
        match RawSettings::deserialize(toml::de::Deserializer::from(Spanned::new(span, merged))) {
            Ok(settings) => {
                if let Some(env) = resolve::environment(&project, name, settings, i == 0, diags) {
                    environments.push(env);
                }
            }
            Err(e) => diags.push(type_error(&doc, e)),
        }
    }
    // `[defaults]` on its own, as the Helm chart's values.yaml: what an
    // environment without overrides would get. Its problems were reported
    // through the environments that inherit it; here they only mean there is
    // no such standalone view (values.yaml then follows the first environment).
    let standalone = {
        let mut scratch = Vec::new();
        let span = key_span(&doc, "defaults").unwrap_or(0..0);
        RawSettings::deserialize(toml::de::Deserializer::from(Spanned::new(span.clone(), defaults)))
            .ok()
            .and_then(|s| resolve::environment(&project, Sp::new("default".to_string(), span), s, true, &mut scratch))
    };
    let config = Config { project, environments, defaults: standalone, warnings: None, disabled_rules };
    if validate {
        validate::validate(&doc, &config, diags);
    }
    Some(config)
}

/// The span of a top-level key (the `[project]` header), for "missing key" errors.
fn key_span(doc: &doc::Doc<'_>, name: &str) -> Option<span::Span> {
    doc.root.get_ref().iter().find(|(k, _)| k.get_ref() == name).map(|(k, _)| k.span())
}

/// serde stops at the first type error: find the others by blanking each
/// offending line (spaces, so every offset stays) and typing again, up to
/// twenty. A key that then goes missing is the blanking's doing: stop there.
fn more_type_errors(text: &str, doc: &doc::Doc<'_>, first: Option<Span>, diags: &mut Vec<Diagnostic>) {
    let mut blanked = text.to_string();
    let mut at = first;
    for _ in 0..20 {
        let Some(span) = at.take() else { return };
        let start = blanked[..span.start.min(blanked.len())].rfind('\n').map_or(0, |i| i + 1);
        let end = blanked[start..].find('\n').map_or(blanked.len(), |i| start + i);
        let spaces: String = blanked[start..end].chars().map(|c| " ".repeat(c.len_utf8())).collect();
        blanked.replace_range(start..end, &spaces);
        let Ok(root) = DeTable::parse(&blanked) else { return };
        match RawConfig::deserialize(toml::de::Deserializer::from(root)) {
            Ok(_) => return,
            Err(e) if e.message().contains("missing field") => return,
            Err(e) => {
                at = e.span();
                diags.push(type_error(doc, e));
            }
        }
    }
}

fn type_error(doc: &doc::Doc<'_>, e: toml::de::Error) -> Diagnostic {
    let msg = in_toml_terms(e.message().trim());
    let key = e.span().map(|s| doc.path_at(s.start)).filter(|k| !k.is_empty());
    let help = type_help(&msg);
    let msg = doc::lowercase_first(msg.lines().next().unwrap_or("invalid value"));
    let mut d = Diagnostic::error(match &key {
        Some(k) => format!("`{k}`: {msg}"),
        None => msg,
    })
    .at(e.span())
    .label("wrong type or value")
    .help(help);
    if let Some(k) = key {
        d = d.key(k);
    }
    d
}

fn type_help(msg: &str) -> String {
    if msg.contains("missing field") {
        "add the missing key (`myhealthctl schema --format markdown` lists every key)".into()
    } else if msg.contains("unknown variant") {
        "use one of the listed values (they are case-sensitive)".into()
    } else {
        "`myhealthctl schema --format markdown` gives each key's type and range".into()
    }
}

/// serde's message in the words of TOML, not of Rust's types:
/// `expected u8` → `expected a whole number from 0 to 255`.
fn in_toml_terms(msg: &str) -> String {
    const WORDS: &[(&str, &str)] = &[
        ("expected u8", "expected a whole number from 0 to 255"),
        ("expected u16", "expected a whole number from 0 to 65535"),
        ("expected u32", "expected a whole number from 0 to 4294967295"),
        ("expected u64", "expected a whole number, 0 or more"),
        ("expected usize", "expected a whole number, 0 or more"),
        ("expected i32", "expected a whole number"),
        ("expected i64", "expected a whole number"),
        ("expected f64", "expected a number"),
        ("expected f32", "expected a number"),
        ("expected a boolean", "expected `true` or `false`"),
        ("expected a sequence", "expected an array (`[…]`)"),
        ("expected a map", "expected a table"),
        ("invalid type: sequence", "invalid type: array"),
        ("invalid type: map", "invalid type: table"),
        ("invalid type: integer", "invalid type: whole number"),
        ("invalid type: floating point", "invalid type: number"),
    ];
    let mut out = msg.to_string();
    for (rust, toml) in WORDS {
        out = out.replace(rust, toml);
    }
    // `expected struct RawEks` names our type: a table is what is meant.
    crate::pattern::re(&STRUCT, r"expected struct \w+").replace_all(&out, "expected a table").into_owned()
}

static STRUCT: std::sync::OnceLock<regex::Regex> = std::sync::OnceLock::new();
