//! Comparing two rendered trees: per-file changes, grouped by environment,
//! printed as a unified diff, a stat, JSON or a pull-request comment.
//! Every line printed goes through the `Redactor`.

use std::collections::BTreeMap;
use std::fmt::Write as _;

/// The hidden marker that lets a workflow find and update its own PR
/// comment (the drift report's and the review's).
pub const COMMENT_MARKER: &str = "<!-- myhealthctl-diff -->";

use serde::Serialize;
use similar::TextDiff;

use crate::redact::Redactor;
use crate::render::env_of_path;
use crate::tree::Tree;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Added,
    Removed,
    Changed,
}

#[derive(Debug, Clone)]
pub struct FileChange<'a> {
    pub path: &'a str,
    pub kind: Kind,
    pub old: Option<&'a [u8]>,
    pub new: Option<&'a [u8]>,
}

/// What differs from `old` to `new`, in path order.
pub fn compare<'a>(old: &'a Tree, new: &'a Tree) -> Vec<FileChange<'a>> {
    let mut paths: Vec<&String> = old.keys().chain(new.keys()).collect();
    paths.sort();
    paths.dedup();
    paths
        .into_iter()
        .filter_map(|p| {
            let (o, n) = (old.get(p).map(Vec::as_slice), new.get(p).map(Vec::as_slice));
            let kind = match (o, n) {
                (None, Some(_)) => Kind::Added,
                (Some(_), None) => Kind::Removed,
                (Some(a), Some(b)) if a != b => Kind::Changed,
                _ => return None,
            };
            Some(FileChange { path: p, kind, old: o, new: n })
        })
        .collect()
}

/// The group a path is reported under: its environment, or `shared`.
pub const SHARED: &str = "shared";

pub fn group<'a, 'b>(changes: &'b [FileChange<'a>]) -> BTreeMap<String, Vec<&'b FileChange<'a>>> {
    let mut g: BTreeMap<String, Vec<&FileChange<'a>>> = BTreeMap::new();
    for c in changes {
        g.entry(env_of_path(c.path).unwrap_or_else(|| SHARED.to_string())).or_default().push(c);
    }
    g
}

/// Added / changed / removed counts and changed lines.
#[derive(Debug, Default, Clone, Serialize, PartialEq, Eq)]
pub struct Summary {
    pub added: usize,
    pub changed: usize,
    pub removed: usize,
    pub lines_added: usize,
    pub lines_removed: usize,
}

pub fn summarize(changes: &[&FileChange<'_>]) -> Summary {
    let mut s = Summary::default();
    for c in changes {
        match c.kind {
            Kind::Added => s.added += 1,
            Kind::Changed => s.changed += 1,
            Kind::Removed => s.removed += 1,
        }
        let (a, r) = line_counts(c);
        s.lines_added += a;
        s.lines_removed += r;
    }
    s
}

fn text(b: Option<&[u8]>) -> Option<&str> {
    std::str::from_utf8(b.unwrap_or_default()).ok()
}

fn line_counts(c: &FileChange<'_>) -> (usize, usize) {
    match (text(c.old), text(c.new)) {
        (Some(o), Some(n)) => {
            let d = TextDiff::from_lines(o, n);
            let mut added = 0;
            let mut removed = 0;
            for op in d.ops() {
                for ch in d.iter_changes(op) {
                    match ch.tag() {
                        similar::ChangeTag::Insert => added += 1,
                        similar::ChangeTag::Delete => removed += 1,
                        similar::ChangeTag::Equal => {}
                    }
                }
            }
            (added, removed)
        }
        _ => (0, 0),
    }
}

/// A unified diff of one file, redacted. `a`/`b` prefix the paths in the header.
pub fn unified(c: &FileChange<'_>, a: &str, b: &str, redactor: &Redactor) -> String {
    let old_name = if c.old.is_some() { format!("{a}/{}", c.path) } else { "/dev/null".into() };
    let new_name = if c.new.is_some() { format!("{b}/{}", c.path) } else { "/dev/null".into() };
    let (Some(o), Some(n)) = (text(c.old), text(c.new)) else {
        return format!("Binary files {old_name} and {new_name} differ\n");
    };
    let diff = TextDiff::from_lines(o, n);
    let mut u = diff.unified_diff();
    u.context_radius(3).header(&old_name, &new_name);
    let raw = u.to_string();
    let mut out = String::with_capacity(raw.len());
    for line in raw.split_inclusive('\n') {
        out.push_str(&visible(&redactor.apply(line)));
    }
    out
}

/// Control characters shown as escapes (`\u{1b}`), never sent to the
/// terminal: a file of another revision may hold anything.
pub fn visible(line: &str) -> std::borrow::Cow<'_, str> {
    if !line.chars().any(|c| c.is_control() && c != '\n' && c != '\t') {
        return std::borrow::Cow::Borrowed(line);
    }
    std::borrow::Cow::Owned(
        line.chars()
            .map(
                |c| {
                    if c.is_control() && c != '\n' && c != '\t' {
                        c.escape_unicode().to_string()
                    } else {
                        c.to_string()
                    }
                },
            )
            .collect(),
    )
}

/// `+N ~N -N` for one group.
pub fn stat_line(s: &Summary) -> String {
    format!(
        "{} added, {} changed, {} removed (+{} -{} lines)",
        s.added, s.changed, s.removed, s.lines_added, s.lines_removed
    )
}

/// A pull-request comment body: a table of environments, then one
/// collapsible section per environment with its diff.
pub fn markdown(changes: &[FileChange<'_>], base_label: &str, redactor: &Redactor, marker: &str) -> String {
    let groups = group(changes);
    let mut out = String::new();
    let _ = writeln!(out, "{marker}");
    let _ = writeln!(out, "### `myhealthctl diff` against `{base_label}`\n");
    if groups.is_empty() {
        out.push_str("No change to the generated output.\n");
        return out;
    }
    out.push_str("| environment | added | changed | removed | lines |\n| --- | ---: | ---: | ---: | ---: |\n");
    for (env, files) in &groups {
        let s = summarize(files);
        let _ = writeln!(
            out,
            "| `{env}` | {} | {} | {} | +{} −{} |",
            s.added, s.changed, s.removed, s.lines_added, s.lines_removed
        );
    }
    for (env, files) in &groups {
        let s = summarize(files);
        let _ = writeln!(out, "\n<details><summary><code>{env}</code>: {}</summary>\n", stat_line(&s));
        for f in files {
            let _ = writeln!(out, "**{}** `{}`\n", kind_word(f.kind), f.path);
            let d = unified(f, "a", "b", redactor);
            // A fence longer than any run of backticks in the diff.
            let fence = "`".repeat(longest_backtick_run(&d).max(2) + 1);
            let _ = writeln!(out, "{fence}diff\n{}{fence}\n", d);
        }
        out.push_str("</details>\n");
    }
    out
}

fn longest_backtick_run(s: &str) -> usize {
    s.split(|c| c != '`').map(str::len).max().unwrap_or(0)
}

pub fn kind_word(k: Kind) -> &'static str {
    match k {
        Kind::Added => "added",
        Kind::Removed => "removed",
        Kind::Changed => "changed",
    }
}

/// The letter `--stat` shows for a change.
pub fn kind_letter(k: Kind) -> char {
    match k {
        Kind::Added => 'A',
        Kind::Changed => 'M',
        Kind::Removed => 'D',
    }
}

/// `s` in the ANSI style `code` when `color`.
pub fn paint(color: bool, code: &str, s: &str) -> String {
    if color { format!("\x1b[{code}m{s}\x1b[0m") } else { s.to_string() }
}

/// A unified diff coloured line by line (headers bold, additions green,
/// removals red, hunks cyan) when `color`.
pub fn colorize(color: bool, diff: &str) -> String {
    if !color {
        return diff.to_string();
    }
    diff.split_inclusive('\n')
        .map(|l| {
            let code = if l.starts_with("+++") || l.starts_with("---") {
                "1"
            } else if l.starts_with('+') {
                "32"
            } else if l.starts_with('-') {
                "31"
            } else if l.starts_with("@@") {
                "36"
            } else {
                return l.to_string();
            };
            let (body, nl) = l.strip_suffix('\n').map_or((l, ""), |b| (b, "\n"));
            format!("{}{nl}", paint(true, code, body))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(files: &[(&str, &str)]) -> Tree {
        files.iter().map(|(p, c)| (p.to_string(), c.as_bytes().to_vec())).collect()
    }

    #[test]
    fn compare_and_group() {
        let old =
            t(&[("README.md", "a\n"), ("terraform/envs/dev/main.tf", "x\n"), ("terraform/envs/qa/main.tf", "q\n")]);
        let new =
            t(&[("README.md", "b\n"), ("terraform/envs/dev/main.tf", "x\n"), ("terraform/envs/prod/main.tf", "p\n")]);
        let ch = compare(&old, &new);
        let g = group(&ch);
        assert_eq!(g.keys().collect::<Vec<_>>(), vec!["prod", "qa", "shared"]);
        assert_eq!(
            summarize(&g["shared"]),
            Summary { added: 0, changed: 1, removed: 0, lines_added: 1, lines_removed: 1 }
        );
        assert_eq!(g["qa"][0].kind, Kind::Removed);
    }

    #[test]
    fn markdown_fence_outlasts_backticks() {
        let old = t(&[("README.md", "```\n")]);
        let new = t(&[("README.md", "````\n")]);
        let md = markdown(&compare(&old, &new), "HEAD", &Redactor, "<!-- m -->");
        assert!(md.contains("`````diff"), "{md}");
    }
}
