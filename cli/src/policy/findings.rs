//! Findings: each `deny`/`violation`/`warn` rule evaluated once per
//! environment over its config input, every message it yields a
//! [`Finding`]; a finding that names a config `key` becomes a diagnostic at
//! the line of the layer that set that key (the environment's table, else
//! `[defaults]`; a built-in default at the environment's table header).

use std::fmt;

use serde::Serialize;
use serde_json::Value;

use crate::config::doc::{Doc, parse_key_path};
use crate::config::keys;
use crate::config::model::Config;
use crate::diagnostics::Diagnostic;
use crate::policy::engine::{Level, Policies, Rule};
use crate::policy::input;

/// One message of one rule for one environment.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Finding {
    pub level: Level,
    /// The environment evaluated (or the one the finding's `env` names).
    pub environment: String,
    /// `package.rule`.
    pub rule: String,
    pub file: String,
    pub message: String,
    /// The config key the finding is about, as diagnostics print it (`eks.endpoint_public_access`).
    pub key: Option<String>,
    /// How to fix it: the diagnostic's `= help:` line.
    pub help: Option<String>,
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let level = if self.level == Level::Deny { "deny" } else { "warn" };
        write!(f, "{level} {} [{}]: {}", self.environment, self.rule, self.message)?;
        if let Some(k) = &self.key {
            write!(f, " (key `{k}`)")?;
        }
        Ok(())
    }
}

/// The findings of one rule's value: a set (or array) of messages — each a
/// string, or an object with `msg` and optionally `key`, `env` and `help` — or a
/// single such message, or `true` (the rule's name is the message).
fn read(rule: &Rule, level: Level, environment: &str, value: Value) -> Vec<Finding> {
    let items = match value {
        Value::Array(a) => a,
        Value::Bool(false) | Value::Null => Vec::new(),
        v => vec![v],
    };
    items
        .into_iter()
        .filter_map(|item| {
            let field =
                |o: &serde_json::Map<String, Value>, k: &str| o.get(k).and_then(Value::as_str).map(str::to_string);
            let (message, key, env, help) = match &item {
                Value::String(s) => (s.clone(), None, None, None),
                Value::Bool(true) => (format!("`{}` holds", rule.qualified()), None, None, None),
                Value::Object(o) => (
                    field(o, "msg").unwrap_or_else(|| item.to_string()),
                    field(o, "key"),
                    field(o, "env"),
                    field(o, "help"),
                ),
                Value::Bool(false) | Value::Null => return None,
                other => (other.to_string(), None, None, None),
            };
            Some(Finding {
                level,
                environment: env.unwrap_or_else(|| environment.to_string()),
                rule: rule.qualified(),
                file: rule.file.clone(),
                message,
                key,
                help,
            })
        })
        .collect()
}

/// Every finding of the policies over each environment of `cfg`; `text` is
/// the config's source (parsed as `doc`), named `file` in the input.
pub fn evaluate(p: &mut Policies, doc: &Doc<'_>, text: &str, file: &str, cfg: &Config) -> anyhow::Result<Vec<Finding>> {
    let rules = p.finding_rules();
    let mut out = Vec::new();
    if rules.is_empty() {
        return Ok(out);
    }
    for env in &cfg.environments {
        // Set once, read by every rule.
        p.set_input(Some(serde_json::to_value(input::config(doc, text, file, env))?));
        for (rule, level) in &rules {
            if let Some(v) = p.eval_set(rule)? {
                out.extend(read(rule, *level, &env.name.value, v));
            }
        }
    }
    Ok(out)
}

/// `f` as a diagnostic about the config whose text is `text` (parsed as `doc`).
pub fn diagnostic(f: &Finding, doc: &Doc<'_>, text: &str, cfg: &Config) -> Diagnostic {
    let d = match f.level {
        Level::Deny => Diagnostic::error(f.message.clone()),
        Level::Warn => Diagnostic::warning(f.message.clone()),
    };
    let d = d.rule(f.rule.clone());
    let d = match &f.help {
        Some(h) => d.help(h.clone()),
        None => d,
    };
    // A built-in rule's diagnostic reads as the config check it is (docs/policy.md names the rules).
    let builtin = crate::policy::builtin::is_builtin(&f.file);
    let d = if builtin { d } else { d.note(format!("policy rule `{}` in `{}`", f.rule, f.file)) };
    let env = cfg.environments.iter().find(|e| e.name.value == f.environment);
    let Some(env) = env else {
        return d.note(format!("the finding names environment `{}`, which the config does not have", f.environment));
    };
    let Some(key) = &f.key else {
        return d.note(format!("environment `{}`; the finding names no key", f.environment));
    };
    // The key itself, else the list holding it (`instance_types.0` → `instance_types`: a list is one setting).
    let segments = parse_key_path(key).unwrap_or_default();
    let whole = segments.iter().rev().take_while(|s| s.parse::<usize>().is_ok()).count();
    let found = (segments.len().saturating_sub(whole).max(1)..=segments.len()).rev().find_map(|n| {
        let k = crate::config::doc::key_path(&segments[..n]);
        keys::located(doc, text, &f.environment, &k)
    });
    match found {
        Some(s) => {
            let label = if s.path.starts_with("defaults.") {
                format!("set in `[defaults]`, inherited by `{}`", f.environment)
            } else {
                format!("set in `[environments.{}]`", f.environment)
            };
            d.at(Some(s.span.clone())).key(s.path).label(label)
        }
        None => {
            let d = d
                .at(env.name.span.clone())
                .key(format!("environments.{}.{key}", f.environment))
                .label(format!("`{key}` is a built-in default here"));
            if builtin {
                d
            } else {
                d.note(
                    "the value is myhealthctl's built-in default: set the key in this environment's table to change it",
                )
            }
        }
    }
}
