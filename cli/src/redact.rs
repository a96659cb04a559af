//! Redaction in everything we print about generated output (diffs, stats,
//! markdown, the PR comment): anything that is or looks like a credential is
//! replaced before printing (`credentials`: AWS keys, private keys, tokens,
//! passwords in URLs, …).
//!
//! Secret *references* are shown as they are. They are names — where a
//! credential lives (`myhealth/oura/client`, an ARN) — never a credential,
//! and a reviewer needs to see that a change renames one: a reference
//! masked on both sides of a diff hides exactly what the review is for. The
//! values behind them exist only in AWS (Terraform's ephemeral resources and
//! write-only arguments), never in a generated file, a diff or a plan.

use std::borrow::Cow;

use crate::credentials::find_credentials;

/// What replaces a redacted value.
pub const MASK: &str = "«redacted»";

/// Masks credential-shaped text.
#[derive(Debug, Default, Clone, Copy)]
pub struct Redactor;

impl Redactor {
    pub fn apply<'t>(&self, text: &'t str) -> Cow<'t, str> {
        let found = find_credentials(text);
        if found.is_empty() {
            return Cow::Borrowed(text);
        }
        let mut out = text.to_string();
        // From the end, so earlier spans stay valid; overlapping matches once.
        let mut last = usize::MAX;
        for (_, r) in found.into_iter().rev() {
            if r.end <= last {
                out.replace_range(r.clone(), MASK);
                last = r.start;
            }
        }
        Cow::Owned(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_credentials_not_references() {
        let r = Redactor;
        assert_eq!(r.apply("name = \"myhealth/dev/oura/client\""), "name = \"myhealth/dev/oura/client\"");
        assert_eq!(r.apply("key AKIAIOSFODNN7EXAMPLE here"), format!("key {MASK} here"));
        assert_eq!(r.apply("plain"), "plain");
    }
}
