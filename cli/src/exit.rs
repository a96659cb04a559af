//! The one exit-code policy of every command ([`ExitStatus`]), the error
//! kinds that are not plain failures ([`Refused`], [`Interrupted`]), and how
//! a failure is shown: a diagnostic on stderr, or — for a command printing
//! JSON — the one error envelope on stdout.
//!
//! | code | meaning |
//! | --- | --- |
//! | 0 | success: nothing differs, nothing was refused |
//! | 1 | a difference was found: `diff`, `render --check`, `drift` (the live platform drifted), `plan --detailed-exitcode` (changes), `promote --check`, `doctor` (something to fix), `status` (not live as recorded), `push --verify-record`, `diff --budget-gate` |
//! | 2 | an error: invalid config, bad arguments, an unknown environment, a failed tool (terraform, helm, git, a registry, ArgoCD) |
//! | 3 | refused: a gate stopped the command before it changed anything more — `generated/` is out of date, the plan was not approved or is not the approved one, a release pull request not merged in time |
//! | 130 | interrupted by SIGINT (143: SIGTERM), after finishing or undoing the write in progress |
//!
//! No command uses one code for two of these: a script can tell "found a
//! difference" from "failed" from "refused" by the code alone. A reader
//! closing the pipe (`… | head`) never changes the code (see
//! [`crate::output`]).

use std::process::ExitCode;

use serde::Serialize;

use crate::diagnostics::Report;

/// What a command reports back when it did not fail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Ok,
    /// A difference was found (exit 1).
    Differs,
}

/// How a command ended: the one mapping to exit codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ExitStatus {
    Success,
    Differs,
    Error,
    Refused,
    /// By the signal, whose number is added to 128 as shells do.
    Interrupted(#[serde(skip)] i32),
}

impl ExitStatus {
    pub fn code(self) -> u8 {
        match self {
            ExitStatus::Success => 0,
            ExitStatus::Differs => 1,
            ExitStatus::Error => 2,
            ExitStatus::Refused => 3,
            ExitStatus::Interrupted(signal) => u8::try_from(128 + signal).unwrap_or(130),
        }
    }

    /// The status of a failure: a refusal, an interruption or an error.
    pub fn of(e: &anyhow::Error) -> ExitStatus {
        // Through any context added on the way up.
        for c in e.chain() {
            if c.downcast_ref::<Refused>().is_some() {
                return ExitStatus::Refused;
            }
            if let Some(Interrupted(signal)) = c.downcast_ref::<Interrupted>() {
                return ExitStatus::Interrupted(*signal);
            }
        }
        ExitStatus::Error
    }
}

impl From<Outcome> for ExitStatus {
    fn from(o: Outcome) -> Self {
        match o {
            Outcome::Ok => ExitStatus::Success,
            Outcome::Differs => ExitStatus::Differs,
        }
    }
}

/// A gate said no before the command changed anything (more): exit 3. The
/// message says what was refused and how to proceed.
#[derive(Debug)]
pub struct Refused(pub String);

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Refused {}

/// Refuse, with what was refused and what to do.
pub fn refuse<T>(message: impl Into<String>) -> anyhow::Result<T> {
    Err(Refused(message.into()).into())
}

/// A signal ended the command (after its write was finished or undone).
#[derive(Debug)]
pub struct Interrupted(pub i32);

impl std::fmt::Display for Interrupted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let name = match self.0 {
            2 => "SIGINT",
            15 => "SIGTERM",
            _ => "a signal",
        };
        write!(f, "interrupted by {name}")
    }
}

impl std::error::Error for Interrupted {}

/// The error envelope every `--json` command prints on stdout when it
/// fails (nothing on stderr), with the exit code it exits with.
#[derive(Debug, Serialize)]
pub struct Envelope {
    pub error: ErrorBody,
}

#[derive(Debug, Serialize)]
pub struct ErrorBody {
    /// `error`, `refused`, `interrupted` or `usage`.
    pub kind: &'static str,
    pub exit_code: u8,
    /// The whole message, its causes joined with `: `, credentials masked.
    pub message: String,
    /// A config error's problems, each at its file, line and column (else empty).
    pub problems: Vec<crate::diagnostics::Problem>,
}

impl Envelope {
    pub fn of(e: &anyhow::Error) -> Envelope {
        let status = ExitStatus::of(e);
        let (message, problems) = match e.downcast_ref::<Report>() {
            Some(r) => {
                let problems = r.problems();
                let n = problems.iter().filter(|p| p.severity == crate::diagnostics::Severity::Error).count();
                let first = problems.first().map(|p| p.message.clone()).unwrap_or_default();
                let message = match n {
                    0 | 1 => format!("`{}`: {first}", r.source.name),
                    n => format!("`{}`: {n} problems, the first: {first}", r.source.name),
                };
                (message, problems)
            }
            None => (crate::credentials::mask_credentials(&chain(e)), Vec::new()),
        };
        let kind = match status {
            ExitStatus::Refused => "refused",
            ExitStatus::Interrupted(_) => "interrupted",
            _ => "error",
        };
        Envelope { error: ErrorBody { kind, exit_code: status.code(), message, problems } }
    }

    /// A usage error clap found before any command ran.
    pub fn usage(message: &str) -> Envelope {
        Envelope {
            error: ErrorBody {
                kind: "usage",
                exit_code: ExitStatus::Error.code(),
                message: message.trim().to_string(),
                problems: Vec::new(),
            },
        }
    }

    /// Print on stdout; `extra` adds command-specific fields beside `error`
    /// (`validate`'s `valid: false`).
    pub fn print(&self, extra: serde_json::Map<String, serde_json::Value>) {
        let mut v = serde_json::to_value(self).unwrap_or_default();
        if let Some(m) = v.as_object_mut() {
            m.extend(extra);
        }
        use std::io::Write as _;
        let _ = writeln!(crate::output::stdout(), "{}", serde_json::to_string_pretty(&v).unwrap_or_default());
    }
}

/// How the command wants its failure shown.
pub enum Shown {
    /// A diagnostic on stderr.
    Text { color: bool },
    /// The envelope on stdout, with these fields beside it.
    Json(serde_json::Map<String, serde_json::Value>),
}

/// The exit code of a finished command, its failure shown.
pub fn finish(result: anyhow::Result<Outcome>, shown: Shown) -> ExitCode {
    let status = match &result {
        Ok(o) => ExitStatus::from(*o),
        // Output written past `output::stdout` (a child's, a library's) to
        // a reader that went away: nothing was found, nothing failed.
        Err(e) if is_broken_pipe(e) => return ExitCode::SUCCESS,
        Err(e) => ExitStatus::of(e),
    };
    if let Err(e) = &result {
        match shown {
            Shown::Json(extra) => Envelope::of(e).print(extra),
            Shown::Text { color } => print_error(e, color),
        }
    }
    ExitCode::from(status.code())
}

/// An error as every command prints it: a config diagnostic, `refused: …`,
/// or `error: …` with its causes, credentials masked.
pub fn print_error(e: &anyhow::Error, color: bool) {
    let text = match e.downcast_ref::<Report>() {
        Some(report) => report.render(color),
        None => {
            let label = match ExitStatus::of(e) {
                ExitStatus::Refused => "refused",
                ExitStatus::Interrupted(_) => "interrupted",
                _ => "error",
            };
            format!("{label}: {}\n", crate::credentials::mask_credentials(&chain(e)))
        }
    };
    crate::output::eprint(&text);
}

fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| c.downcast_ref::<std::io::Error>().is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe))
}

fn chain(e: &anyhow::Error) -> String {
    let mut s = e.to_string();
    for cause in e.chain().skip(1) {
        s.push_str(&format!(": {cause}"));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each code means one thing: no two statuses share one.
    #[test]
    fn codes_are_distinct() {
        let all = [
            ExitStatus::Success,
            ExitStatus::Differs,
            ExitStatus::Error,
            ExitStatus::Refused,
            ExitStatus::Interrupted(2),
            ExitStatus::Interrupted(15),
        ];
        let codes: std::collections::BTreeSet<u8> = all.iter().map(|s| s.code()).collect();
        assert_eq!(codes.len(), all.len());
        assert_eq!(ExitStatus::Interrupted(2).code(), 130);
    }

    #[test]
    fn refusals_and_interruptions_are_not_errors() {
        let r: anyhow::Error = Refused("no".into()).into();
        assert_eq!(ExitStatus::of(&r.context("while planning")), ExitStatus::Refused);
        let i: anyhow::Error = Interrupted(15).into();
        assert_eq!(ExitStatus::of(&i).code(), 143);
        assert_eq!(ExitStatus::of(&anyhow::anyhow!("boom")), ExitStatus::Error);
        let v = serde_json::to_value(Envelope::of(&Refused("stale".into()).into())).unwrap();
        assert_eq!(v["error"]["kind"], "refused");
        assert_eq!(v["error"]["exit_code"], 3);
    }
}
