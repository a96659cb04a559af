//! `policy test`: every `test_*` rule of every package evaluated, as
//! `opa test` does — a test passes when its value is `true`; one whose body
//! does not hold (undefined) or that is `false` fails; one that errors is an
//! error.

use std::fmt;

use serde::Serialize;

use crate::policy::engine::Policies;

/// How one test ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Pass,
    Fail,
    Error,
}

/// One test's result.
#[derive(Debug, Clone, Serialize)]
pub struct TestResult {
    /// `package.test_name`.
    pub test: String,
    pub file: String,
    pub line: u32,
    pub verdict: Verdict,
    /// The evaluation error, for `error`.
    pub error: Option<String>,
}

/// Every test's result.
#[derive(Debug, Clone, Serialize)]
pub struct TestReport {
    pub results: Vec<TestResult>,
}

impl TestReport {
    pub fn count(&self, v: Verdict) -> usize {
        self.results.iter().filter(|r| r.verdict == v).count()
    }
}

impl fmt::Display for TestReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for r in &self.results {
            let word = match r.verdict {
                Verdict::Pass => "PASS",
                Verdict::Fail => "FAIL",
                Verdict::Error => "ERROR",
            };
            writeln!(f, "{}:{}: {} {word}", r.file, r.line, r.test)?;
            if let Some(e) = &r.error {
                writeln!(f, "  {}", e.trim())?;
            }
        }
        write!(
            f,
            "{} passed, {} failed, {} errors",
            self.count(Verdict::Pass),
            self.count(Verdict::Fail),
            self.count(Verdict::Error)
        )
    }
}

/// Run every `test_*` rule of every package (namespaces do not restrict tests, as in `opa test`).
pub fn run(p: &mut Policies) -> TestReport {
    let tests: Vec<_> = p.rules.iter().filter(|r| r.name.starts_with("test_")).cloned().collect();
    let results = tests
        .into_iter()
        .map(|rule| {
            let (verdict, error) = match p.eval(&rule, None) {
                Ok(Some(serde_json::Value::Bool(true))) => (Verdict::Pass, None),
                Ok(_) => (Verdict::Fail, None),
                Err(e) => (Verdict::Error, Some(e.to_string())),
            };
            TestResult { test: rule.qualified(), file: rule.file.clone(), line: rule.line, verdict, error }
        })
        .collect();
    TestReport { results }
}
