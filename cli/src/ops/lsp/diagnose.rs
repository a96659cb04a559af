//! Diagnostics as `validate` reports them, in the protocol's terms: the
//! same check (`ops::validate::check`) on the editor's text, each
//! diagnostic at its exact range with its message; its help, notes and
//! second location (`related`: where a key was first set) as related
//! information; its fix (`Diagnostic::fix`, the did-you-mean) as a quick
//! fix. Credential-shaped text is masked as in every report.

use lsp_types::{
    CodeAction, CodeActionKind, CodeActionOrCommand, DiagnosticRelatedInformation, DiagnosticSeverity, Location,
    NumberOrString, Range, TextEdit, Url, WorkspaceEdit,
};

use super::text::range;
use crate::args::PolicyArgs;
use crate::credentials::mask_credentials as mask;
use crate::diagnostics::{Diagnostic, Report, Severity};
use crate::project::Project;
use crate::render::Templates;

/// One finding, placed in the document.
#[derive(Debug, Clone)]
pub struct Found {
    pub range: Range,
    pub severity: Severity,
    pub message: String,
    pub key: Option<String>,
    pub help: Option<String>,
    pub notes: Vec<String>,
    pub related: Option<(Range, String)>,
    /// `Diagnostic::context`: the environment inheriting a `[defaults]` value.
    pub context: Vec<(Range, String)>,
    pub fix: Option<String>,
}

impl Found {
    /// A failure of the server itself, said where the user looks.
    pub fn internal() -> Found {
        Found::unplaced("myhealthctl could not check this file (an internal error, logged on stderr)".into())
    }

    fn unplaced(message: String) -> Found {
        Found {
            range: Range::default(),
            severity: Severity::Error,
            message,
            key: None,
            help: None,
            notes: Vec::new(),
            related: None,
            context: Vec::new(),
            fix: None,
        }
    }

    fn of(text: &str, d: &Diagnostic) -> Found {
        // A policy finding about a generated file: its span is that file's,
        // so it is shown at the top of the config, naming the file and line.
        if let Some(elsewhere) = &d.file {
            let line = d.span.as_ref().map_or(1, |s| crate::diagnostics::line_col(&elsewhere.text, s.start).0);
            let mut found = Found::unplaced(mask(&format!("{} ({}:{line})", d.message, elsewhere.name)));
            found.severity = d.severity;
            found.key = d.key.as_deref().map(mask);
            found.notes = d.notes.iter().map(|n| mask(n)).collect();
            return found;
        }
        let span = d.span.clone().unwrap_or(0..0);
        Found {
            range: range(text, &span),
            severity: d.severity,
            message: mask(&d.message),
            key: d.key.as_deref().map(mask),
            help: d.help.as_deref().map(mask),
            notes: d.notes.iter().map(|n| mask(n)).collect(),
            related: d.related.as_ref().map(|(s, label)| (range(text, s), mask(label))),
            context: d.context.iter().map(|(s, what)| (range(text, s), mask(what))).collect(),
            // A fix never writes a credential back: a masked one is no fix.
            fix: d.fix.clone().filter(|f| !d.redact && mask(f) == *f),
        }
    }

    pub fn to_lsp(&self, uri: &Url) -> lsp_types::Diagnostic {
        let at = |range: Range, message: String| DiagnosticRelatedInformation {
            location: Location { uri: uri.clone(), range },
            message,
        };
        let mut related: Vec<DiagnosticRelatedInformation> =
            self.related.iter().chain(&self.context).map(|(r, label)| at(*r, label.clone())).collect();
        related.extend(self.notes.iter().map(|n| at(self.range, format!("note: {n}"))));
        related.extend(self.help.iter().map(|h| at(self.range, format!("help: {h}"))));
        lsp_types::Diagnostic {
            range: self.range,
            severity: Some(match self.severity {
                Severity::Error => DiagnosticSeverity::ERROR,
                Severity::Warning => DiagnosticSeverity::WARNING,
            }),
            code: self.key.clone().map(NumberOrString::String),
            source: Some("myhealthctl".into()),
            message: self.message.clone(),
            related_information: (!related.is_empty()).then_some(related),
            data: Some(serde_json::json!({ "help": self.help, "fix": self.fix })),
            ..Default::default()
        }
    }
}

/// Everything `validate` reports about `text` as `p`'s config: its errors,
/// or its warnings (the config's and the policies').
pub fn check(p: &Project, text: &str, templates: &Templates, policy: &PolicyArgs) -> Vec<Found> {
    match crate::ops::validate::check(p, text.to_string(), templates, policy) {
        Ok(checked) => checked.warnings.map(|w| placed(text, &w)).unwrap_or_default(),
        Err(e) => match e.downcast_ref::<Report>() {
            Some(r) => placed(text, r),
            // Not about a place in the file (a template that does not render).
            None => vec![Found::unplaced(mask(&format!("{e:#}")))],
        },
    }
}

fn placed(text: &str, r: &Report) -> Vec<Found> {
    r.diagnostics.iter().map(|d| Found::of(text, d)).collect()
}

/// The quick fixes of the findings that touch `range`: each replaces the
/// finding's range with its fix.
pub fn actions(uri: &Url, found: &[Found], range: Range) -> Vec<CodeActionOrCommand> {
    let touches = |r: &Range| r.start <= range.end && range.start <= r.end;
    found
        .iter()
        .filter(|f| touches(&f.range))
        .filter_map(|f| {
            let fix = f.fix.as_ref()?;
            let edit = TextEdit { range: f.range, new_text: fix.clone() };
            Some(CodeActionOrCommand::CodeAction(CodeAction {
                title: format!("Replace with `{fix}`"),
                kind: Some(CodeActionKind::QUICKFIX),
                diagnostics: Some(vec![f.to_lsp(uri)]),
                edit: Some(WorkspaceEdit {
                    changes: Some([(uri.clone(), vec![edit])].into_iter().collect()),
                    ..Default::default()
                }),
                is_preferred: Some(true),
                ..Default::default()
            }))
        })
        .collect()
}
