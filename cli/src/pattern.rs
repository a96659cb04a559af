//! Regular expressions compiled once, without Unicode tables: every pattern
//! of ours is ASCII by nature, and without the tables (`\d`, `\b`, case
//! folding) compilation is several times cheaper — which was most of a cold
//! `validate`. A leaf: used by validation, the credential detectors and the
//! module graph.

use std::sync::OnceLock;

use regex::Regex;

/// `pattern`, compiled on first use into `cell`.
pub fn re(cell: &'static OnceLock<Regex>, pattern: &str) -> &'static Regex {
    cell.get_or_init(|| regex::RegexBuilder::new(pattern).unicode(false).build().expect("valid regex"))
}
