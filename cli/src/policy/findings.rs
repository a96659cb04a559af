//! Findings: each `deny`/`violation`/`warn` rule evaluated over every
//! subject its package reads (the config of each environment, the rendered
//! platform's objects, a plan), every message it yields a [`Finding`]; a
//! finding that names a config `key` becomes a diagnostic at the line of
//! the layer that set that key (the environment's table, else `[defaults]`;
//! a built-in default at the environment's table header); one about a
//! generated file, at the line of its `path` in that file.

use std::fmt;

use serde::Serialize;
use serde_json::Value;

use crate::config::doc::{Doc, parse_key_path};
use crate::config::keys;
use crate::config::model::Config;
use crate::diagnostics::Diagnostic;
use crate::diagnostics::Source;
use crate::policy::engine::{Level, Policies, Rule};
use crate::policy::subject::{self, Category, Origin, Subject};

/// One message of one rule about one subject.
#[derive(Debug, Clone, Serialize)]
pub struct Finding {
    pub level: Level,
    /// The environment evaluated (or the one the finding's `env` names);
    /// empty for what every environment shares (the workflows).
    pub environment: String,
    /// Which input it was found in.
    pub input: Category,
    /// `package.rule`.
    pub rule: String,
    pub file: String,
    pub message: String,
    /// The config key the finding is about, as diagnostics print it (`eks.endpoint_public_access`).
    pub key: Option<String>,
    /// Where in the input it is (`spec.template.spec.containers.0.image`), for a rendered or planned input.
    pub path: Option<String>,
    /// Where the input came from (`None` in a finding read back from JSON).
    #[serde(skip)]
    pub origin: Option<Origin>,
    /// How to fix it: the diagnostic's `= help:` line.
    pub help: Option<String>,
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let level = if self.level == Level::Deny { "deny" } else { "warn" };
        let env = if self.environment.is_empty() { "(all)" } else { &self.environment };
        write!(f, "{level} {env} [{}]: {}", self.rule, self.message)?;
        if let Some(k) = &self.key {
            write!(f, " (key `{k}`)")?;
        }
        Ok(())
    }
}

/// The findings of one rule's value: a set (or array) of messages — each a
/// string, or an object with `msg` and optionally `key`, `env` and `help` — or a
/// single such message, or `true` (the rule's name is the message).
fn read(rule: &Rule, level: Level, subject: &Subject, value: Value) -> Vec<Finding> {
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
            let (message, key, env, path, help) = match &item {
                Value::String(s) => (s.clone(), None, None, None, None),
                Value::Bool(true) => (format!("`{}` holds", rule.qualified()), None, None, None, None),
                Value::Object(o) => (
                    field(o, "msg").unwrap_or_else(|| item.to_string()),
                    field(o, "key"),
                    field(o, "env"),
                    field(o, "path"),
                    field(o, "help"),
                ),
                Value::Bool(false) | Value::Null => return None,
                other => (other.to_string(), None, None, None, None),
            };
            Some(Finding {
                level,
                environment: env.or_else(|| subject.environment.clone()).unwrap_or_default(),
                input: subject.category,
                rule: rule.qualified(),
                file: rule.file.clone(),
                message,
                key,
                path,
                origin: Some(subject.origin.clone()),
                help,
            })
        })
        .collect()
}

/// Every finding of the policies over `subjects`, each evaluated by the
/// rules of the packages that read its category, under its environment's
/// context (`data.myhealth`); `production` says whether an environment is.
pub fn evaluate(
    p: &mut Policies,
    subjects: &[Subject],
    production: &dyn Fn(&str) -> bool,
) -> anyhow::Result<Vec<Finding>> {
    let rules = p.finding_rules();
    let mut out = Vec::new();
    let mut context: Option<Option<&str>> = None;
    for s in subjects {
        let prod = s.environment.as_deref().is_none_or(production);
        let wanted: Vec<&(Rule, Level)> = rules
            .iter()
            .filter(|(r, _)| p.reads(&r.package, s.category) && p.reads_environment(&r.package, prod))
            .collect();
        if wanted.is_empty() {
            continue;
        }
        // The built-in rules read no `data.myhealth`: laying it (which resets the engine's data) is for the user's.
        let needs_context = wanted.iter().any(|(r, _)| !crate::policy::builtin::is_builtin(&r.file));
        if needs_context && context != Some(s.environment.as_deref()) {
            p.in_context(s.environment.as_deref().map(|e| (e, production(e))))?;
            context = Some(s.environment.as_deref());
        }
        // Set once, read by every rule.
        p.set_input(Some(s.input.clone()));
        // A package with several rules to read is evaluated whole, once
        // (what its rules share is then worked out once); a rule alone, or
        // one beside tests (a whole evaluation would run them), by itself.
        let mut done: Vec<&str> = Vec::new();
        for (rule, level) in &wanted {
            if done.contains(&rule.package.as_str()) {
                continue;
            }
            let siblings: Vec<&&(Rule, Level)> = wanted.iter().filter(|(r, _)| r.package == rule.package).collect();
            if siblings.len() > 1 && !p.has_tests(&rule.package) {
                done.push(&rule.package);
                let mut values = p.eval_package(&rule.package)?;
                for (r, l) in siblings {
                    if let Some(v) = values.remove(&r.name) {
                        out.extend(read(r, *l, s, v));
                    }
                }
            } else if let Some(v) = p.eval_set(rule)? {
                out.extend(read(rule, *level, s, v));
            }
        }
    }
    Ok(out)
}

/// Which config key drives a line of a generated file (`environment` — `""`
/// for what every environment shares —, the file as shown, the line): the
/// environment it was tracked in and the key, the render tracked backwards
/// (`ops::explain::driver`).
pub type Driver<'a> = &'a dyn Fn(&str, &str, usize) -> Option<(String, String)>;

/// `f` as a diagnostic about the config whose text is `text` (parsed as
/// `doc`); `driver` names the key behind a generated line, when asked.
pub fn diagnostic(
    f: &Finding,
    (doc, text, config_name): (&Doc<'_>, &str, &str),
    cfg: &Config,
    driver: Option<Driver<'_>>,
) -> Diagnostic {
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
    let Some(key) = &f.key else { return elsewhere(f, d, (doc, text, config_name), driver) };
    let env = cfg.environments.iter().find(|e| e.name.value == f.environment);
    let Some(env) = env else {
        return d.note(format!("the finding names environment `{}`, which the config does not have", f.environment));
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
            // A built-in default list has no elements in the file: the list is the setting.
            let key =
                crate::config::doc::key_path(&segments[..segments.len() - whole.min(segments.len().saturating_sub(1))]);
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

/// `d` at the place `f`'s input came from, when it names no config key:
/// the line of its `path` in a generated file; the chart template a
/// Kubernetes object was rendered from; a plan file by name.
fn elsewhere(
    f: &Finding,
    d: Diagnostic,
    (doc, cfg_text, config_name): (&Doc<'_>, &str, &str),
    driver: Option<Driver<'_>>,
) -> Diagnostic {
    let env = if f.environment.is_empty() { "every environment".to_string() } else { format!("`{}`", f.environment) };
    let path: Vec<String> = f.path.as_deref().and_then(|p| parse_key_path(p).ok()).unwrap_or_default();
    let at_line = |text: &str, line: usize| {
        let start: usize = text.split_inclusive('\n').take(line - 1).map(str::len).sum();
        let len = text[start..].find('\n').unwrap_or(text.len() - start);
        let indent = text[start..start + len].len() - text[start..start + len].trim_start().len();
        (start + indent)..(start + len)
    };
    match &f.origin {
        None | Some(Origin::Config) => d.note(format!("environment {env}; the finding names no key")),
        Some(Origin::File { name, text, format, under, lines }) => {
            let inside: &[String] = match under {
                Some(u) if path.first().is_some_and(|p| p == u) => &path[1..],
                _ => &path,
            };
            // In one document of the file: its lines, then offset back.
            let range = lines.clone().unwrap_or(0..usize::MAX);
            let document: Vec<&str> = text.lines().skip(range.start).take(range.len()).collect();
            let line = range.start + subject::line_of(&document.join("\n"), *format, inside).unwrap_or(1);
            let d = d.at(Some(at_line(text, line))).in_file(Source { name: name.clone(), text: text.clone() });
            let d = match &f.path {
                Some(p) => d.label(format!("`{p}` of {env}")),
                None => d.label(format!("{} input of {env}", f.input)),
            };
            // The key behind the line, tracked through the render as `explain` does.
            let behind = driver.and_then(|drive| {
                let (scope, key) = drive(&f.environment, name, line)?;
                keys::located(doc, cfg_text, &scope, &key).map(|s| (key, s))
            });
            match behind {
                Some((key, s)) => d
                    .key(s.path.clone())
                    .note(format!("this is a generated file: its line renders `{key}`, set at {config_name}:{}:{} (`{}`); change it there, then `myhealthctl render`", s.line, s.column, s.path)),
                None => d.note("this is a generated file: change the config key that renders it, then `myhealthctl render`"),
            }
        }
        Some(Origin::Template { name, text, object }) => {
            let kind = object.split(' ').next().unwrap_or_default();
            let line = text.lines().position(|l| l.trim() == format!("kind: {kind}")).map_or(1, |i| i + 1);
            let d = d.at(Some(at_line(text, line))).in_file(Source { name: name.clone(), text: text.clone() });
            let what = match &f.path {
                Some(p) => format!("`{p}` of {object} in {env}"),
                None => format!("{object} in {env}"),
            };
            d.label(format!("renders {what}"))
        }
        Some(Origin::Plan { name }) => d.note(match &f.path {
            Some(p) => format!("in the plan `{name}` of {env}, at `{p}`"),
            None => format!("in the plan `{name}` of {env}"),
        }),
    }
}
