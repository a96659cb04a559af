//! The policies' findings across a change, for the review: each finding
//! with where it points, and which are new, fixed or remaining — a finding
//! is the same one before and after when its environment, rule and message
//! are (its line may move).

use serde::Serialize;

use crate::diagnostics::{Diagnostic, Report, Source};
use crate::policy::engine::Level;

/// One finding as the review shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Found {
    pub level: Level,
    /// Empty for what every environment shares (the workflows).
    pub environment: String,
    /// `package.rule`.
    pub rule: String,
    pub message: String,
    /// `file:line` it points at, when it points at a line.
    pub at: Option<String>,
}

impl Found {
    fn same(&self, other: &Found) -> bool {
        (self.level, &self.environment, &self.rule, &self.message)
            == (other.level, &other.environment, &other.rule, &other.message)
    }
}

/// The findings of one side, from the findings and their diagnostics (in the same order).
pub fn found(findings: &[crate::policy::findings::Finding], diagnostics: &[Diagnostic], source: &Source) -> Vec<Found> {
    findings
        .iter()
        .zip(diagnostics)
        .map(|(f, d)| {
            let problem = Report { source: source.clone(), diagnostics: vec![d.clone()] }.problems().remove(0);
            Found {
                level: f.level,
                environment: f.environment.clone(),
                rule: f.rule.clone(),
                message: problem.message,
                at: problem.line.map(|l| format!("{}:{l}", problem.file)),
            }
        })
        .collect()
}

/// What a change does to the findings.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Changes {
    /// Found after the change, not before.
    pub new: Vec<Found>,
    /// Found before the change, not after.
    pub fixed: Vec<Found>,
    /// Found on both sides.
    pub remaining: Vec<Found>,
    /// Why the base could not be evaluated (every finding then counts as new).
    pub base_error: Option<String>,
    /// The built-in rules `[policy] disable` turns off after the change,
    /// each with its line and whether the change disables it.
    pub disabled: Vec<DisabledRule>,
}

/// A built-in rule turned off, as the review lists it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DisabledRule {
    pub rule: String,
    pub line: usize,
    /// Not disabled at the base.
    pub new: bool,
}

impl Changes {
    /// `before` (`Err`: the base could not be evaluated) against `after`.
    pub fn of(before: Result<Vec<Found>, String>, after: Vec<Found>) -> Changes {
        let (before, base_error) = match before {
            Ok(b) => (b, None),
            Err(e) => (Vec::new(), Some(e)),
        };
        let (remaining, new): (Vec<Found>, Vec<Found>) =
            after.into_iter().partition(|a| before.iter().any(|b| b.same(a)));
        let fixed = before.into_iter().filter(|b| !remaining.iter().chain(&new).any(|a| a.same(b))).collect();
        Changes { new, fixed, remaining, base_error, disabled: Vec::new() }
    }

    /// The environments with a finding on either side, with `(new, fixed, remaining)` counts, in `order`.
    pub fn per_environment(&self, order: &[String]) -> Vec<(String, [usize; 3])> {
        let count = |v: &[Found], e: &str| v.iter().filter(|f| f.environment == e).count();
        let mut envs: Vec<String> = order.to_vec();
        envs.push(String::new());
        envs.into_iter()
            .map(|e| {
                let n = [count(&self.new, &e), count(&self.fixed, &e), count(&self.remaining, &e)];
                (e, n)
            })
            .filter(|(_, n)| n.iter().any(|&x| x > 0))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(env: &str, msg: &str, at: &str) -> Found {
        Found {
            level: Level::Deny,
            environment: env.into(),
            rule: "main.deny".into(),
            message: msg.into(),
            at: Some(at.into()),
        }
    }

    #[test]
    fn a_finding_that_moved_lines_remains() {
        let c = Changes::of(
            Ok(vec![f("prod", "a", "x:1"), f("dev", "b", "x:2")]),
            vec![f("prod", "a", "x:9"), f("prod", "c", "x:3")],
        );
        assert_eq!(c.remaining, vec![f("prod", "a", "x:9")]);
        assert_eq!(c.new, vec![f("prod", "c", "x:3")]);
        assert_eq!(c.fixed, vec![f("dev", "b", "x:2")]);
        let order = ["dev".to_string(), "prod".to_string()];
        assert_eq!(c.per_environment(&order), vec![("dev".into(), [0, 1, 0]), ("prod".into(), [1, 0, 1])]);
    }
}
