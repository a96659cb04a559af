//! The built-in rules: Rego modules shipped in the binary (`builtin/*.rego`,
//! `include_str!`), loaded into the same engine as the user's policies,
//! before them, and evaluated whatever `--namespace` says. A rule is
//! disabled by name (`[policy] disable` in `myhealth.toml`; an unknown name
//! is a config error with a did-you-mean); a user module declaring a
//! built-in module's package replaces it. The engine with the built-ins
//! parsed and analysed is made once per process and cloned per use.

use std::num::NonZeroU32;
use std::sync::OnceLock;

use anyhow::anyhow;

use crate::config::model::Config;
use crate::diagnostics::{Diagnostic, line_col};
use crate::policy::engine::{EXECUTION_LIMIT, Rule};

/// One built-in module.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Module {
    /// Its package, without `data.`.
    pub package: &'static str,
    /// The name its rules' findings and notes give as their file.
    pub file: &'static str,
    /// The Rego (v1).
    pub source: &'static str,
}

/// Every built-in module, in evaluation order.
pub const MODULES: &[Module] = &[Module {
    package: "myhealth.builtin.production",
    file: "<built-in>/production.rego",
    source: include_str!("builtin/production.rego"),
}];

/// Whether a rule's file is a built-in module's.
pub fn is_builtin(file: &str) -> bool {
    MODULES.iter().any(|m| m.file == file)
}

/// A fresh engine with the evaluation limit: what every load starts from.
pub(crate) fn engine() -> regorus::Engine {
    let mut engine = regorus::Engine::new();
    engine.set_execution_timer_config(regorus::utils::limits::ExecutionTimerConfig {
        limit: EXECUTION_LIMIT,
        check_interval: NonZeroU32::new(1000).expect("non-zero"),
    });
    engine
}

/// Add the built-in modules but `except` (packages a user module replaces) to `engine`.
pub(crate) fn add(engine: &mut regorus::Engine, except: &[String]) -> anyhow::Result<()> {
    for m in MODULES.iter().filter(|m| !except.iter().any(|p| p == m.package)) {
        engine.set_rego_v0(false);
        engine
            .add_policy(m.file.to_string(), m.source.to_string())
            .map_err(|e| anyhow!("built-in policy `{}` does not parse: {e}", m.file))?;
    }
    Ok(())
}

/// The engine holding every built-in module, analysed, and their rules:
/// made once per process (each load clones it).
pub(crate) fn prepared() -> anyhow::Result<&'static (regorus::Engine, Vec<Rule>)> {
    static P: OnceLock<Result<(regorus::Engine, Vec<Rule>), String>> = OnceLock::new();
    P.get_or_init(|| {
        let mut engine = engine();
        add(&mut engine, &[]).map_err(|e| e.to_string())?;
        let rules = crate::policy::engine::rules(&engine).map_err(|e| e.to_string())?;
        // Analysed now, so a clone evaluates at once (a query that names nothing is fine).
        if let Some(r) = rules.first() {
            engine.set_input(regorus::Value::new_object());
            engine.eval_rule(format!("data.{}.{}", r.package, r.name)).map_err(|e| e.to_string())?;
        }
        Ok((engine, rules))
    })
    .as_ref()
    .map_err(|e| anyhow!("{e}"))
}

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
        let mut engine = engine();
        add(&mut engine, &[]).unwrap();
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
