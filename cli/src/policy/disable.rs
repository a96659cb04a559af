//! `[policy] disable`: the built-in rules a config turns off by name (an
//! unknown name is a config error at that element, with the nearest name),
//! and the list of those it disables with their lines, for the review and
//! `policy builtin`.

use crate::config::model::Config;
use crate::diagnostics::{Diagnostic, line_col};
use crate::policy::engine::{Rule, prepared};

/// The names of the built-in rules that make findings (`myhealth.builtin.production.deny_nat_per_az`), in order.
pub fn rule_names() -> Vec<String> {
    prepared()
        .map(|(_, rules)| rules.iter().filter(|r| r.name.starts_with("deny")).map(Rule::qualified).collect())
        .unwrap_or_default()
}

/// A built-in rule `[policy] disable` turns off, and where the file says so.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Disabled {
    /// `myhealth.builtin.production.deny_nat_per_az`.
    pub rule: String,
    /// Line and column of the name in the config file.
    pub line: usize,
    pub column: usize,
}

impl std::fmt::Display for Disabled {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "built-in rule `{}` disabled (line {})", self.rule, self.line)
    }
}

/// The built-in rules `cfg` disables (its source `text`), each with the
/// line that disables it — what the review shows ("built-in rule X
/// disabled (myhealth.toml:N)"). Names that are no rule are left out
/// (`check_disabled` refuses them).
pub fn disabled_rules(cfg: &Config, text: &str) -> Vec<Disabled> {
    let names = rule_names();
    cfg.disabled_rules
        .iter()
        .filter(|d| names.contains(&d.value))
        .map(|d| {
            let (line, column) = d.span.as_ref().map_or((0, 0), |s| line_col(text, s.start));
            Disabled { rule: d.value.clone(), line, column }
        })
        .collect()
}

/// `[policy] disable`'s names that are no built-in rule: an error at each
/// element, with the nearest name.
pub fn check_disabled(cfg: &Config) -> Vec<Diagnostic> {
    let names = rule_names();
    cfg.disabled_rules
        .iter()
        .enumerate()
        .filter(|(_, d)| !names.contains(&d.value))
        .map(|(i, d)| {
            let near = names
                .iter()
                .map(|n| (strsim::jaro_winkler(&d.value, n), n))
                .filter(|(score, _)| *score > 0.8)
                .max_by(|a, b| a.0.total_cmp(&b.0))
                .map(|(_, n)| n);
            let help = match near {
                Some(n) => format!("did you mean `{n}`?"),
                None => format!(
                    "the built-in rules: {}",
                    names.iter().map(|n| format!("`{n}`")).collect::<Vec<_>>().join(", ")
                ),
            };
            Diagnostic::error(format!("`{}` is not a built-in policy rule", d.value))
                .at(d.span.clone())
                .key(format!("policy.disable.{i}"))
                .label("no built-in rule has this name")
                .help(help)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The built-ins' own tests (`builtin/production_test.rego`), as `policy test` runs a user's.
    #[test]
    fn the_builtin_modules_pass_their_own_tests() {
        let mut engine = crate::policy::engine::fresh();
        crate::policy::engine::add_builtins(&mut engine, &[]).unwrap();
        engine.add_policy("production_test.rego".into(), include_str!("builtin/production_test.rego").into()).unwrap();
        let rules = crate::policy::engine::rules(&engine).unwrap();
        let mut p = crate::policy::engine::Policies::from_parts(engine, rules, Default::default());
        let report = crate::policy::test::run(&mut p);
        assert!(report.results.len() >= 7, "{report}");
        assert_eq!(report.count(crate::policy::test::Verdict::Pass), report.results.len(), "{report}");
    }

    #[test]
    fn every_builtin_rule_has_a_stable_name() {
        assert_eq!(
            rule_names(),
            [
                "deny_rds_multi_az",
                "deny_rds_deletion_protection",
                "deny_rds_backup_retention",
                "deny_eks_public_endpoint",
                "deny_eks_log_types",
                "deny_nat_per_az",
                "deny_ecr_immutable_tags"
            ]
            .map(|n| format!("myhealth.builtin.production.{n}"))
        );
    }
}
