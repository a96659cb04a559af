//! The one exit-code policy of every command, and how a failure is shown.
//!
//! | code | meaning |
//! | --- | --- |
//! | 0 | success (also: a reader closed the pipe, `… \| head`) |
//! | 1 | a check or diff found a difference; a deploy or destroy refused (drift, not approved); a plan that ran and failed |
//! | 2 | an error: invalid config, bad arguments, an unknown environment, a failed tool — and, for `plan` only, "there are changes" |
//!
//! `plan` keeps terraform's `-detailed-exitcode` meaning once a plan ran
//! (0 no changes, 2 changes, 1 failed); before that it is like every command.

use std::process::ExitCode;

use crate::diagnostics::Report;

/// What a command reports back when it did not fail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Ok,
    /// A difference was found (`diff`, `render --check`, the drift gate), or
    /// the user refused (`deploy`/`destroy` not approved).
    Differs,
    /// `plan`: there are changes (terraform's `-detailed-exitcode` 2).
    Changes,
    /// `plan`: it ran and failed, the error already printed (terraform's 1,
    /// not our usual 2, which would read as "changes").
    Failed,
}

/// Usage, config and tool errors.
pub const ERROR: u8 = 2;

impl Outcome {
    pub fn code(self) -> u8 {
        match self {
            Outcome::Ok => 0,
            Outcome::Differs | Outcome::Failed => 1,
            Outcome::Changes => 2,
        }
    }
}

/// The exit code of a finished command, its error printed: as JSON on stdout
/// for a `--json` command (nothing on stderr), else as a diagnostic on stderr.
pub fn finish(result: anyhow::Result<Outcome>, json: bool, color: bool) -> ExitCode {
    match result {
        Ok(o) => ExitCode::from(o.code()),
        // A reader that went away (`| head`) is not an error.
        Err(e) if is_broken_pipe(&e) => ExitCode::SUCCESS,
        Err(e) if json => {
            let v = match e.downcast_ref::<Report>() {
                Some(r) => serde_json::json!({ "error": r.to_json() }),
                None => serde_json::json!({ "error": { "message": crate::credentials::mask_credentials(&chain(&e)) } }),
            };
            use std::io::Write as _;
            let _ = writeln!(std::io::stdout(), "{}", serde_json::to_string_pretty(&v).unwrap_or_default());
            ExitCode::from(ERROR)
        }
        Err(e) => {
            print_error(&e, color);
            ExitCode::from(ERROR)
        }
    }
}

fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| c.downcast_ref::<std::io::Error>().is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe))
}

/// An error as every command prints it: a config diagnostic, or `error: …`
/// with its causes, credentials masked.
pub fn print_error(e: &anyhow::Error, color: bool) {
    match e.downcast_ref::<Report>() {
        Some(report) => eprint!("{}", report.render(color)),
        None => eprintln!("error: {}", crate::credentials::mask_credentials(&chain(e))),
    }
}

fn chain(e: &anyhow::Error) -> String {
    let mut s = e.to_string();
    for cause in e.chain().skip(1) {
        s.push_str(&format!(": {cause}"));
    }
    s
}
