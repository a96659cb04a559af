//! The scans of a parsed document before anything is typed: control and
//! line-separator characters in keys and values (allowed in scripts only
//! where a shell reads them), and literal credentials — on the raw text
//! first, then per key and value — so a secret never gets further than the
//! diagnostic that masks it.

use std::sync::OnceLock;

use regex::Regex;
use toml::Spanned;
use toml::de::{DeTable, DeValue};

use super::doc::{Doc, key_path, parse_key_path};
use crate::credentials::{credential_kind, find_credentials, mask_credentials};
use crate::diagnostics::Diagnostic;

/// Keys whose values are scripts: newlines and tabs belong there, nothing else does.
fn is_script(path: &[String]) -> bool {
    path.len() >= 2 && path[path.len() - 1] == "run" && path.iter().any(|p| p == "extra_jobs")
}

/// Control characters, and the Unicode line and paragraph separators YAML
/// also breaks lines at.
fn control(s: &str, script: bool) -> Option<char> {
    s.chars()
        .find(|c| (c.is_control() || matches!(c, '\u{2028}' | '\u{2029}')) && !(script && (*c == '\n' || *c == '\t')))
}

/// Refuse control characters in every key and string value (a newline in a
/// runner label, a carriage return in a script, NUL or ESC in a taint: each
/// would become structure or terminal control in some generated file).
pub fn scan_control_chars(doc: &Doc<'_>, out: &mut Vec<Diagnostic>) {
    fn table(t: &DeTable<'_>, path: &mut Vec<String>, out: &mut Vec<Diagnostic>) {
        for (k, v) in t.iter() {
            if let Some(c) = control(k.get_ref(), false) {
                out.push(found(c, path, k.get_ref(), k.span()));
            }
            path.push(k.get_ref().to_string());
            value(v, path, out);
            path.pop();
        }
    }
    fn value(v: &Spanned<DeValue<'_>>, path: &mut Vec<String>, out: &mut Vec<Diagnostic>) {
        match v.get_ref() {
            DeValue::Table(t) => table(t, path, out),
            DeValue::Array(a) => {
                for (i, item) in a.iter().enumerate() {
                    path.push(i.to_string());
                    value(item, path, out);
                    path.pop();
                }
            }
            DeValue::String(s) => {
                if let Some(c) = control(s, is_script(path)) {
                    let key = path.last().cloned().unwrap_or_default();
                    let parent = path[..path.len().saturating_sub(1)].to_vec();
                    out.push(found(c, &parent, &key, v.span()));
                }
            }
            _ => {}
        }
    }
    fn found(c: char, parent: &[String], key: &str, span: super::span::Span) -> Diagnostic {
        let mut full = parent.to_vec();
        full.push(key.to_string());
        let what = match c {
            '\n' => "a newline".to_string(),
            '\r' => "a carriage return".to_string(),
            '\u{2028}' | '\u{2029}' => format!("the line separator U+{:04X}", c as u32),
            c => format!("the control character U+{:04X}", c as u32),
        };
        Diagnostic::error(format!("`{}` contains {what}", key.escape_debug()))
            .at(Some(span))
            .key(key_path(&full))
            .label("control character")
            .help("remove it: values are single lines of text (only a job's `run` script may span lines, with `\\n` and tabs)")
    }
    let mut path = Vec::new();
    table(doc.root.get_ref(), &mut path, out);
}

// ---------------------------------------------------------- literal credentials

/// Refuse credentials anywhere in the raw text — keys, values, comments, and
/// in files that are not even TOML — before anything parses and could quote
/// them back (a parse error quotes the text it stumbled on).
pub fn scan_raw(text: &str) -> Vec<Diagnostic> {
    let hint = "store it in AWS Secrets Manager and reference it by name, e.g. `[defaults.secrets]` or a service's `secret_env = { VAR = \"myhealth/...\" }`";
    let found = find_credentials(text);
    if found.is_empty() {
        return Vec::new();
    }
    // Where it is, when the text parses (key paths never hold the credential's text).
    let doc = Doc::parse(text).ok();
    found
        .into_iter()
        .map(|(what, span)| {
            let key = doc.as_ref().map(|d| d.path_at(span.start)).filter(|k| !k.is_empty());
            let d = match &key {
                Some(k) => {
                    let segments = parse_key_path(k).unwrap_or_default();
                    let name = segments.iter().rev().find(|p| p.parse::<usize>().is_err()).map_or(k.as_str(), |s| s);
                    Diagnostic::error(format!(
                        "`{}` holds {what}: credentials never go in `myhealth.toml`",
                        mask_credentials(name)
                    ))
                    .key(mask_credentials(k))
                }
                None => Diagnostic::error(format!("this holds {what}: credentials never go in `myhealth.toml`")),
            };
            d.at(Some(span)).label("literal credential").help(format!("revoke it, then {hint}")).redacted()
        })
        .collect()
}

fn credential_key(key: &str) -> bool {
    static RE: OnceLock<Regex> = OnceLock::new();
    crate::pattern::re(
        &RE,
        r"(?i)(passw(or)?d|passwd|^pwd$|_pwd$|secret|token|api[_-]?key|access[_-]?key|private[_-]?key|credentials?$)",
    )
    .is_match(key)
}

/// Where a value is typed as a secret reference, so a secret-sounding key is expected.
fn is_secret_ref_position(path: &[String]) -> bool {
    let n = path.len();
    // [defaults|environments.X].secrets.<key>  and  ….services.<svc>.secret_env.<VAR>;
    // `argocd.charts.<chart>` holds chart versions (`external_secrets` is a chart's name);
    // `argocd.repository_credential` is a secret reference (validated as one).
    n >= 2
        && (path[n - 2] == "secrets"
            || path[n - 2] == "secret_env"
            || path[n - 2] == "charts"
            || (path[n - 2] == "argocd" && path[n - 1] == "repository_credential"))
}

/// Refuse literal credentials anywhere in the file.
pub fn scan_credentials(doc: &Doc<'_>, out: &mut Vec<Diagnostic>) {
    let mut path = Vec::new();
    scan_table(doc.root.get_ref(), &mut path, out);
}

fn scan_table(t: &DeTable<'_>, path: &mut Vec<String>, out: &mut Vec<Diagnostic>) {
    for (k, v) in t.iter() {
        path.push(k.get_ref().to_string());
        scan_value(v, path, out);
        path.pop();
    }
}

fn scan_value(v: &Spanned<DeValue<'_>>, path: &mut Vec<String>, out: &mut Vec<Diagnostic>) {
    match v.get_ref() {
        DeValue::Table(t) => scan_table(t, path, out),
        DeValue::Array(a) => {
            for (i, item) in a.iter().enumerate() {
                path.push(i.to_string());
                scan_value(item, path, out);
                path.pop();
            }
        }
        DeValue::String(s) => {
            let key = path.iter().rev().find(|p| p.parse::<usize>().is_err()).cloned().unwrap_or_default();
            let hint = "store it in AWS Secrets Manager and reference it by name, e.g. `[defaults.secrets]` or a service's `secret_env = { VAR = \"myhealth/...\" }`";
            if let Some(what) = credential_kind(s) {
                out.push(
                    Diagnostic::error(format!("`{key}` holds {what}: credentials never go in `myhealth.toml`"))
                        .at(Some(v.span()))
                        .key(key_path(path))
                        .label("literal credential")
                        .help(format!("revoke it, then {hint}"))
                        .redacted(),
                );
            } else if credential_key(&key) && !is_secret_ref_position(path) && !s.is_empty() {
                out.push(
                    Diagnostic::error(format!("`{key}` looks like a literal credential"))
                        .at(Some(v.span()))
                        .key(key_path(path))
                        .label("literal value")
                        .help(hint)
                        .redacted(),
                );
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detects_credentials_but_not_references() {
        assert_eq!(credential_kind("AKIAIOSFODNN7EXAMPLE"), Some("an AWS access key id"));
        assert!(credential_kind("myhealth/oura/client").is_none());
        assert!(credential_key("DB_PASSWORD"));
        assert!(credential_key("client_secret"));
        assert!(!credential_key("instance_types"));
        assert!(is_secret_ref_position(&["defaults".into(), "secrets".into(), "jwt_signing_key".into()]));
    }
}
