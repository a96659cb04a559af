//! The review's "Policies" section: per environment, the findings the
//! change brings (new), removes (fixed) and leaves (remaining), each new or
//! fixed one listed with its rule and line in the summary (which always
//! survives the budget), the remaining ones in a detail block.

use std::fmt::Write as _;

use super::Review;
use crate::policy::engine::Level;
use crate::policy::review::Found;
use crate::redact::Redactor;

/// New and fixed findings listed in the summary at most; the rest are counted.
const MAX_LISTED: usize = 30;

fn line(f: &Found, r: &Redactor) -> String {
    let sign = if f.level == Level::Deny { "❌ deny" } else { "⚠️ warn" };
    let env = if f.environment.is_empty() { "every environment".into() } else { format!("`{}`", f.environment) };
    let at = f.at.as_ref().map_or(String::new(), |a| format!(" at `{a}`"));
    format!("{sign} in {env}: {} (`{}`{at})", r.apply(&f.message), f.rule)
}

impl Review<'_> {
    /// The section as the summary carries it (empty: the project has no policies).
    pub(super) fn policy_summary(&self, r: &Redactor) -> String {
        let Some(c) = &self.policies else { return String::new() };
        let mut out = String::from("\n#### Policies\n\n");
        if let Some(e) = &c.base_error {
            let _ = writeln!(
                out,
                "> [!NOTE]\n> The base was not evaluated ({}): every finding counts as new.\n",
                r.apply(e)
            );
        }
        // Every built-in rule turned off is said, with the line that does it.
        for d in &c.disabled {
            let what = if d.new { "**disabled by this change**" } else { "disabled" };
            let _ = writeln!(out, "- ⚠️ built-in rule `{}` {what} (`{}:{}`)", d.rule, self.config_file, d.line);
        }
        if !c.disabled.is_empty() {
            out.push('\n');
        }
        let rows = c.per_environment(&self.order);
        if rows.is_empty() {
            out.push_str("No policy finding, before or after this change.\n");
            return out;
        }
        out.push_str("| environment | new | fixed | remaining |\n| --- | ---: | ---: | ---: |\n");
        for (env, [new, fixed, remaining]) in &rows {
            let name = if env.is_empty() { "every environment".into() } else { format!("`{env}`") };
            let _ = writeln!(out, "| {name} | {new} | {fixed} | {remaining} |");
        }
        let listed: Vec<String> = c
            .new
            .iter()
            .map(|f| format!("- new: {}", line(f, r)))
            .chain(c.fixed.iter().map(|f| format!("- fixed: {}", line(f, r))))
            .collect();
        if !listed.is_empty() {
            out.push('\n');
        }
        for l in listed.iter().take(MAX_LISTED) {
            let _ = writeln!(out, "{l}");
        }
        if listed.len() > MAX_LISTED {
            let _ = writeln!(out, "- … and {} more (the full report lists them)", listed.len() - MAX_LISTED);
        }
        out
    }

    /// The remaining findings and the new and fixed ones past the summary's list, as a detail block.
    pub(super) fn policy_details(&self, r: &Redactor) -> Option<(String, String)> {
        let c = self.policies.as_ref()?;
        let mut body = String::new();
        let past = c.new.iter().map(|f| ("new", f)).chain(c.fixed.iter().map(|f| ("fixed", f))).skip(MAX_LISTED);
        for (what, f) in past.chain(c.remaining.iter().map(|f| ("remaining", f))) {
            let _ = writeln!(body, "- {what}: {}", line(f, r));
        }
        (!body.is_empty()).then(|| {
            (
                "policy findings".to_string(),
                format!("<details><summary>Policy findings</summary>\n\n{body}\n</details>\n"),
            )
        })
    }
}
