//! The one context every environment check runs against: the environment, the
//! document (to locate spans), the findings; and the checks several sections
//! share (log retention, secret references).

use std::sync::OnceLock;

use regex::Regex;

use crate::config::doc::Doc;
use crate::config::model::SECRET_REF_PATTERN;
use crate::config::model::*;
use crate::config::span::Sp;
use crate::diagnostics::Diagnostic;
use crate::pattern::re;

/// Collects findings for one environment.
pub(super) struct Ctx<'a, 'd> {
    pub(super) doc: &'a Doc<'d>,
    pub(super) env: &'a Environment,
    pub(super) out: &'a mut Vec<Diagnostic>,
    /// `[project]`, which several sections' names derive from or sit under.
    pub(super) project: &'a Project,
}

impl Ctx<'_, '_> {
    /// Report a problem with `sp`; `key` names it (relative to the
    /// environment) in case it is a built-in default with no position.
    pub(super) fn err<T>(&mut self, sp: &Sp<T>, key: &str, message: String, help: impl Into<String>) {
        self.push(Diagnostic::error(message), sp, key, help);
    }

    /// A finding that does not stop the command.
    pub(super) fn warn<T>(&mut self, sp: &Sp<T>, key: &str, message: String, help: impl Into<String>) {
        self.push(Diagnostic::warning(message), sp, key, help);
    }

    pub(super) fn push<T>(&mut self, d: Diagnostic, sp: &Sp<T>, key: &str, help: impl Into<String>) {
        let env = &self.env.name.value;
        let (span, path, label) = match &sp.span {
            Some(span) => {
                let path = self.doc.path_at(span.start);
                let label = if path.starts_with("defaults.") {
                    format!("set in `[defaults]`, inherited by `{env}`")
                } else if path.starts_with("project.") {
                    "set in `[project]`".to_string()
                } else {
                    format!("set in `[environments.{env}]`")
                };
                (Some(span.clone()), path, label)
            }
            None => (
                self.env.name.span.clone(),
                format!("environments.{env}.{key}"),
                format!("`{key}` is a built-in default here"),
            ),
        };
        let mut d = d.at(span).key(path.clone()).label(label).help(help);
        // Where the environment that inherits the value is named.
        if let (true, Some(at)) = (path.starts_with("defaults."), self.env.name.span.clone()) {
            d.context.push((at, format!("`{env}` inherits this value from `[defaults]`")));
        }
        self.out.push(d);
    }
}

/// Retention values CloudWatch Logs accepts, in days.
pub const LOG_RETENTION_DAYS: &[u32] =
    &[1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653];

pub(super) fn retention(c: &mut Ctx<'_, '_>, sp: &Sp<u32>, key: &str) {
    if !LOG_RETENTION_DAYS.contains(&sp.value) {
        let near = LOG_RETENTION_DAYS.iter().min_by_key(|d| d.abs_diff(sp.value)).copied().unwrap_or(30);
        c.err(
            sp,
            key,
            format!("`{key}` is {} days, which CloudWatch Logs does not accept", sp.value),
            format!("use one of CloudWatch's retention periods, e.g. `{near}`"),
        );
    }
}

pub(super) fn secret_ref(c: &mut Ctx<'_, '_>, r: &Sp<crate::config::model::SecretRef>, key: &str) {
    static R: OnceLock<Regex> = OnceLock::new();
    if !re(&R, SECRET_REF_PATTERN).is_match(&r.value.0) {
        let env = &c.env.name.value;
        let sp = r.as_ref().map(|_| ());
        c.out.push(
            Diagnostic::error(format!("`{key}` is not a Secrets Manager reference"))
                .at(sp.span.clone())
                .key(
                    sp.span
                        .as_ref()
                        .map(|s| c.doc.path_at(s.start))
                        .unwrap_or_else(|| format!("environments.{env}.{key}")),
                )
                .label("expected a secret name like `myhealth/oura/client` or an ARN")
                .help("put the secret itself in AWS Secrets Manager and write its name or ARN here")
                .redacted(),
        );
    }
}

/// `d` with the did-you-mean `near` as its fix: the string the file then holds, quoted.
pub(super) fn with_fix(d: Diagnostic, near: Option<&str>) -> Diagnostic {
    match near {
        Some(n) => d.fix(serde_json::Value::from(n).to_string()),
        None => d,
    }
}
