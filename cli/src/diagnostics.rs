//! Diagnostics: errors that point at a place in `myhealth.toml`, rendered
//! rustc/just-style (`error: …`, `--> file:line:col`, the source line with a
//! caret under the value, a note naming the key, a help line).

use std::fmt;

use annotate_snippets::{AnnotationKind, Group, Level, Renderer, Snippet};

use crate::config::span::Span;

/// How serious a finding is: an error stops the command; a warning is
/// printed and the command goes on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    #[default]
    Error,
    Warning,
}

/// One problem, optionally located in the source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    pub severity: Severity,
    /// Lowercase, names in backticks.
    pub message: String,
    pub span: Option<Span>,
    /// Dotted key path in the file, e.g. `environments.prod.eks.version`.
    pub key: Option<String>,
    /// Text under the caret.
    pub label: Option<String>,
    /// How to fix it.
    pub help: Option<String>,
    /// The value at `span` is (or may be) a credential: mask it when showing source.
    pub redact: bool,
    /// An error only for the commands that change things (a production
    /// environment over its budget); those that read report it as a warning
    /// and run ([`crate::config::Mode`]).
    pub blocks_changes: bool,
    /// A second place the problem involves (where a duplicated key was
    /// first set), with its label.
    pub related: Option<(Span, String)>,
    /// Further notes under the snippet (which policy rule found it, in which file).
    pub notes: Vec<String>,
    /// The file `span` points into when it is not the report's (a policy
    /// finding about a generated file).
    pub file: Option<Box<Source>>,
    /// The exact text that fixes it in place of `span` (the did-you-mean of
    /// `help`, as the file spells it): an editor's quick fix (`ops::lsp`).
    pub fix: Option<String>,
    /// Other places an editor lists beside it, with what each is — the
    /// environment that inherits a `[defaults]` value (the terminal's
    /// snippet says so in its label instead).
    pub context: Vec<(Span, String)>,
    /// The policy rule that found it (`package.rule`), for a policy finding.
    pub rule: Option<String>,
}

impl Diagnostic {
    pub fn error(message: impl Into<String>) -> Self {
        Diagnostic {
            severity: Severity::Error,
            message: message.into(),
            span: None,
            key: None,
            label: None,
            help: None,
            redact: false,
            blocks_changes: false,
            related: None,
            notes: Vec::new(),
            file: None,
            fix: None,
            context: Vec::new(),
            rule: None,
        }
    }
    pub fn warning(message: impl Into<String>) -> Self {
        Diagnostic { severity: Severity::Warning, ..Self::error(message) }
    }
    pub fn at(mut self, span: Option<Span>) -> Self {
        self.span = span;
        self
    }
    pub fn key(mut self, key: impl Into<String>) -> Self {
        self.key = Some(key.into());
        self
    }
    pub fn label(mut self, label: impl Into<String>) -> Self {
        self.label = Some(label.into());
        self
    }
    pub fn help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }
    pub fn note(mut self, note: impl Into<String>) -> Self {
        self.notes.push(note.into());
        self
    }
    /// Located in `file` rather than the report's source.
    pub fn in_file(mut self, file: Source) -> Self {
        self.file = Some(Box::new(file));
        self
    }
    pub fn fix(mut self, replacement: impl Into<String>) -> Self {
        self.fix = Some(replacement.into());
        self
    }
    pub fn rule(mut self, rule: impl Into<String>) -> Self {
        self.rule = Some(rule.into());
        self
    }
    pub fn redacted(mut self) -> Self {
        self.redact = true;
        self
    }
}

/// The text diagnostics point into.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Source {
    /// How the file is named in messages (as the user gave it).
    pub name: String,
    pub text: String,
}

/// One diagnostic as data, at its file, line and column (what `validate
/// --json` and the error envelope print).
#[derive(Debug, Clone, serde::Serialize)]
pub struct Problem {
    pub severity: Severity,
    pub message: String,
    pub file: String,
    pub line: Option<usize>,
    pub column: Option<usize>,
    pub key: Option<String>,
    pub help: Option<String>,
    pub related: Option<Related>,
    /// Only where there are notes (policy findings): the other problems keep their shape.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
    /// The policy rule that found it (`myhealth.builtin.production.deny_nat_per_az`), for a policy finding:
    /// the name `[policy] disable` takes for a built-in one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rule: Option<String>,
}

/// The other place a diagnostic names (e.g. a key's first definition).
#[derive(Debug, Clone, serde::Serialize)]
pub struct Related {
    pub line: usize,
    pub column: usize,
    pub label: String,
}

/// A set of diagnostics about one source: the error type of config loading.
#[derive(Debug, Clone)]
pub struct Report {
    pub source: Source,
    pub diagnostics: Vec<Diagnostic>,
}

impl Report {
    /// Every diagnostic as data, for editors and CI annotations (`--json`),
    /// credentials masked.
    pub fn problems(&self) -> Vec<Problem> {
        let m = crate::credentials::mask_credentials;
        self.diagnostics
            .iter()
            .map(|d| {
                let source = d.file.as_deref().unwrap_or(&self.source);
                let (line, column) = d
                    .span
                    .as_ref()
                    .map(|s| line_col(&source.text, s.start))
                    .map_or((None, None), |(l, c)| (Some(l), Some(c)));
                let related = d.related.as_ref().map(|(span, label)| {
                    let (line, column) = line_col(&source.text, span.start);
                    Related { line, column, label: label.clone() }
                });
                Problem {
                    severity: d.severity,
                    message: m(&d.message),
                    file: source.name.clone(),
                    line,
                    column,
                    key: d.key.as_deref().map(m),
                    help: d.help.as_deref().map(m),
                    related,
                    notes: d.notes.iter().map(|n| m(n)).collect(),
                    rule: d.rule.clone(),
                }
            })
            .collect()
    }

    /// Render every diagnostic, plus a closing count when there are several.
    pub fn render(&self, color: bool) -> String {
        let renderer = if color { Renderer::styled() } else { Renderer::plain() };
        let mut out = String::new();
        for d in &self.diagnostics {
            out.push_str(&render_one(&renderer, d.file.as_deref().unwrap_or(&self.source), d));
            out.push_str("\n\n");
        }
        let n = self.diagnostics.iter().filter(|d| d.severity == Severity::Error).count();
        if n > 1 {
            out.push_str(&format!("error: {n} problems in `{}`\n", self.source.name));
        }
        out
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.render(false))
    }
}

impl std::error::Error for Report {}

fn render_one(renderer: &Renderer, source: &Source, d: &Diagnostic) -> String {
    // Every credential-shaped stretch of the file is masked in every snippet,
    // not only the one this diagnostic is about.
    let all = printable_source(&crate::credentials::mask_credentials(&source.text));
    let masked;
    let text: &str = match (&d.span, d.redact) {
        (Some(span), true) => {
            masked = mask(&all, span.clone());
            &masked
        }
        _ => &all,
    };
    let m = |t: &str| printable(&crate::credentials::mask_credentials(t));
    let (message, label, help, key) =
        (m(&d.message), d.label.as_deref().map(m), d.help.as_deref().map(m), d.key.as_deref().map(m));
    let d = &Diagnostic { message, label, help, key, ..d.clone() };
    let level = match d.severity {
        Severity::Error => Level::ERROR,
        Severity::Warning => Level::WARNING,
    };
    let mut group: Group<'_> = match d.span.clone().and_then(|s| fit_span(text, s)) {
        Some(span) => {
            let mut ann = AnnotationKind::Primary.span(span);
            if let Some(label) = &d.label {
                ann = ann.label(label.as_str());
            }
            let mut snippet = Snippet::source(text).path(source.name.as_str()).annotation(ann);
            if let Some((span, label)) = &d.related {
                if let Some(span) = fit_span(text, span.clone()) {
                    snippet = snippet.annotation(AnnotationKind::Context.span(span).label(label.as_str()));
                }
            }
            level.primary_title(d.message.as_str()).element(snippet)
        }
        None => level.primary_title(d.message.as_str()).element(Level::NOTE.message(format!("in `{}`", source.name))),
    };
    if let Some(key) = &d.key {
        group = group.element(Level::NOTE.message(format!("key: `{key}`")));
    }
    for note in &d.notes {
        group = group.element(Level::NOTE.message(m(note)));
    }
    if let Some(help) = &d.help {
        group = group.element(Level::HELP.message(help.as_str()));
    }
    renderer.render(&[group])
}

/// Control characters as escapes (`\u{1b}`): a message may quote a value,
/// and a value may hold anything; the terminal gets none of it raw.
pub fn printable(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() && c != '\n' { c.escape_unicode().to_string() } else { c.to_string() })
        .collect()
}

/// The source as snippets show it: control characters other than newlines
/// become `?`, byte for byte, so every span still points where it did; a
/// CRLF line end is a line end (its `\r` a space nobody sees).
fn printable_source(text: &str) -> String {
    let mut chars = text.chars().peekable();
    let mut out = String::with_capacity(text.len());
    while let Some(c) = chars.next() {
        match c {
            '\r' if chars.peek() == Some(&'\n') => out.push(' '),
            c if c.is_control() && c != '\n' && c != '\t' => out.push_str(&"?".repeat(c.len_utf8())),
            c => out.push(c),
        }
    }
    out
}

/// Snap a span to character boundaries inside `text`, and widen an empty
/// one (e.g. end of file) to one character so the caret has a column.
fn fit_span(text: &str, span: Span) -> Option<Span> {
    if text.is_empty() || span.start > text.len() {
        return None;
    }
    let mut start = span.start.min(text.len());
    while !text.is_char_boundary(start) {
        start -= 1;
    }
    let mut end = span.end.clamp(start, text.len());
    while !text.is_char_boundary(end) {
        end += 1;
    }
    if start == end {
        match text[start..].chars().next() {
            Some(c) => end = start + c.len_utf8(),
            None => start -= text[..start].chars().next_back().map_or(0, char::len_utf8),
        }
    }
    Some(start..end)
}

/// Replace the characters of a quoted value with `*` so a credential typed
/// into the file is never echoed back to a terminal or CI log.
fn mask(text: &str, span: Span) -> String {
    let mut out = String::with_capacity(text.len());
    for (i, c) in text.char_indices() {
        let inside = i > span.start && i + c.len_utf8() < span.end;
        out.push(if inside && !c.is_whitespace() { '*' } else { c });
    }
    out
}

/// 1-based line and column of a byte offset, for summaries.
pub fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, col)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_inside_quotes_only() {
        let t = "password = \"hunter2\"\n";
        assert_eq!(mask(t, 11..20), "password = \"*******\"\n");
    }

    #[test]
    fn spans_snap_to_char_boundaries() {
        let t = "a = \"→\"";
        assert_eq!(fit_span(t, 6..6), Some(5..8), "inside the arrow: widened to the whole char");
        assert_eq!(fit_span(t, 9..9), Some(8..9), "end of text: the last char");
        assert_eq!(fit_span("", 0..0), None);
        let r = Report {
            source: Source { name: "x.toml".into(), text: t.into() },
            diagnostics: vec![Diagnostic::error("boom").at(Some(6..6))],
        };
        assert!(r.render(false).contains("x.toml:1:"));
    }

    #[test]
    fn line_col_counts_from_one() {
        assert_eq!(line_col("a\nbc", 3), (2, 2));
        assert_eq!(line_col("abc", 0), (1, 1));
    }
}
