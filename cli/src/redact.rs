//! Redaction of sensitive values in everything we print about generated
//! output (diffs, stats, markdown): the config's secret references and
//! anything that looks like a credential are replaced before printing.

use std::borrow::Cow;

use crate::config::Config;
use crate::credentials::find_credentials;

/// What replaces a redacted value.
pub const MASK: &str = "«redacted»";

/// Masks sensitive values in text.
#[derive(Debug, Default, Clone)]
pub struct Redactor {
    values: Vec<String>,
}

impl Redactor {
    /// Values of sensitive fields of `cfgs` (secret references: they name
    /// where credentials live, which a public PR comment need not reveal).
    pub fn for_configs<'a>(cfgs: impl IntoIterator<Item = &'a Config>) -> Self {
        let mut values: Vec<String> = Vec::new();
        for cfg in cfgs {
            for e in &cfg.environments {
                values.extend(e.secrets.all().iter().map(|(_, r)| r.value.0.clone()));
                for s in &e.services {
                    values.extend(s.secret_env.iter().map(|(_, r)| r.value.0.clone()));
                }
            }
        }
        // Longest first, so a value that contains another is masked whole.
        values.sort_by(|a, b| b.len().cmp(&a.len()).then_with(|| a.cmp(b)));
        values.dedup();
        values.retain(|v| !v.is_empty());
        Redactor { values }
    }

    pub fn apply<'t>(&self, text: &'t str) -> Cow<'t, str> {
        let mut out = Cow::Borrowed(text);
        for v in &self.values {
            if out.contains(v.as_str()) {
                out = Cow::Owned(out.replace(v.as_str(), MASK));
            }
        }
        let found = find_credentials(&out);
        if !found.is_empty() {
            let mut text = out.into_owned();
            // From the end, so earlier spans stay valid; overlapping matches once.
            let mut last = usize::MAX;
            for (_, r) in found.into_iter().rev() {
                if r.end <= last {
                    text.replace_range(r.clone(), MASK);
                    last = r.start;
                }
            }
            out = Cow::Owned(text);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_values_and_credentials() {
        let r = Redactor { values: vec!["myhealth/dev/oura/client".into()] };
        assert_eq!(r.apply("name = \"myhealth/dev/oura/client\""), format!("name = \"{MASK}\""));
        assert_eq!(r.apply("key AKIAIOSFODNN7EXAMPLE here"), format!("key {MASK} here"));
        assert_eq!(r.apply("plain"), "plain");
    }
}
