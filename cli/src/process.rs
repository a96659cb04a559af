//! Every external program myhealthctl runs goes through [`Process`] (after
//! cargo's `ProcessBuilder`): the program, its arguments, the environment it
//! gets (variables set and removed), its directory and what it reads on
//! stdin, as one value. The value prints itself as the command line a shell
//! would take — what `--dry-run` shows and what an error quotes — and runs
//! itself, so what is shown is by construction what runs. One error type,
//! [`ProcessError`], names the command, its exit status and the tail of its
//! output.
//!
//! Nothing secret is ever an argument: secret values go on stdin (whose
//! bytes are never printed), and the printed line goes through
//! [`Redactor`] as well, in case a credential-shaped value slips into one.

use std::fmt;
use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, ExitStatus, Output, Stdio};

use serde::Serialize;

use crate::redact::Redactor;

/// How many lines of a failed command's output its error keeps.
const TAIL_LINES: usize = 40;

/// One external command, ready to run or to print.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Process {
    program: String,
    args: Vec<String>,
    /// `(name, Some(value))` set, `(name, None)` removed; in order.
    env: Vec<(String, Option<String>)>,
    cwd: Option<PathBuf>,
    /// Paths under this directory are printed relative to it (default: `cwd`).
    shown_from: Option<PathBuf>,
}

impl Process {
    pub fn new(program: impl Into<String>) -> Process {
        Process { program: program.into(), args: Vec::new(), env: Vec::new(), cwd: None, shown_from: None }
    }

    pub fn arg(mut self, a: impl Into<String>) -> Process {
        self.args.push(a.into());
        self
    }

    pub fn args<S: Into<String>>(mut self, args: impl IntoIterator<Item = S>) -> Process {
        self.args.extend(args.into_iter().map(Into::into));
        self
    }

    pub fn env(mut self, name: impl Into<String>, value: impl Into<String>) -> Process {
        self.env.push((name.into(), Some(value.into())));
        self
    }

    pub fn env_remove(mut self, name: impl Into<String>) -> Process {
        self.env.push((name.into(), None));
        self
    }

    /// Run in `dir` (and print paths under it relative to it).
    pub fn cwd(mut self, dir: impl Into<PathBuf>) -> Process {
        self.cwd = Some(dir.into());
        self
    }

    /// Print paths under `dir` relative to it, wherever the command runs.
    pub fn shown_from(mut self, dir: impl Into<PathBuf>) -> Process {
        self.shown_from = Some(dir.into());
        self
    }

    pub fn program(&self) -> &str {
        &self.program
    }

    /// The program and its arguments, as given (what `--json` lists).
    pub fn argv(&self) -> Vec<String> {
        std::iter::once(self.program.clone()).chain(self.args.iter().cloned()).collect()
    }

    fn command(&self) -> Command {
        let mut c = Command::new(&self.program);
        c.args(&self.args);
        for (k, v) in &self.env {
            match v {
                Some(v) => c.env(k, v),
                None => c.env_remove(k),
            };
        }
        if let Some(d) = &self.cwd {
            c.current_dir(d);
        }
        c
    }

    fn spawn_error(&self, e: std::io::Error) -> ProcessError {
        ProcessError { command: self.to_string(), kind: Kind::Spawn(e) }
    }

    /// Run with stdin closed, stdout and stderr captured; whatever the exit status.
    pub fn output(&self) -> Result<Output, ProcessError> {
        self.command().stdin(Stdio::null()).output().map_err(|e| self.spawn_error(e))
    }

    /// [`output`](Self::output) that is an error unless the command succeeded.
    pub fn run(&self) -> Result<Output, ProcessError> {
        let out = self.output()?;
        self.check(out)
    }

    /// Run with `input` on stdin (written from a thread, so a large input
    /// and a large output cannot dead-lock on full pipes), stdout and stderr
    /// captured; whatever the exit status. The input is never printed.
    pub fn output_with_stdin(&self, input: &[u8]) -> Result<Output, ProcessError> {
        let mut child = self
            .command()
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| self.spawn_error(e))?;
        let mut stdin = child.stdin.take().expect("piped stdin");
        let input = input.to_vec();
        let writer = std::thread::spawn(move || stdin.write_all(&input));
        let out = child.wait_with_output().map_err(|e| self.io_error(e))?;
        // A program that exits without reading all of its input (a broken
        // pipe) is judged by its exit status, not by the write.
        let _ = writer.join();
        Ok(out)
    }

    /// [`output_with_stdin`](Self::output_with_stdin) that is an error unless the command succeeded.
    pub fn run_with_stdin(&self, input: &[u8]) -> Result<Output, ProcessError> {
        let out = self.output_with_stdin(input)?;
        self.check(out)
    }

    /// Run with stdin, stdout and stderr inherited (the user watches it);
    /// an error unless it succeeded.
    pub fn run_inherited(&self) -> Result<(), ProcessError> {
        let status = self.command().status().map_err(|e| self.spawn_error(e))?;
        if !status.success() {
            return Err(ProcessError { command: self.to_string(), kind: Kind::Failed { status, tail: String::new() } });
        }
        Ok(())
    }

    /// Whether the command ran and exited 0 (stdin closed, output discarded).
    pub fn succeeds(&self) -> bool {
        self.command()
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    }

    fn io_error(&self, e: std::io::Error) -> ProcessError {
        ProcessError { command: self.to_string(), kind: Kind::Io(e) }
    }

    fn check(&self, out: Output) -> Result<Output, ProcessError> {
        if out.status.success() {
            return Ok(out);
        }
        let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        let lines: Vec<&str> = text.lines().collect();
        let tail = lines[lines.len().saturating_sub(TAIL_LINES)..].join("\n");
        Err(ProcessError { command: self.to_string(), kind: Kind::Failed { status: out.status, tail } })
    }
}

/// One word as a POSIX shell takes it. `=` is special only in a command's
/// first word (an assignment, never printed here), so each `=`-separated
/// piece is quoted on its own: `-chdir=generated/x` stays as it is.
pub fn quote(word: &str) -> String {
    if word.is_empty() {
        return "''".into();
    }
    let piece = |p: &str| match p {
        "" => String::new(),
        // Only a NUL byte cannot be quoted; no argument holds one.
        p => shlex::try_quote(p).map(|q| q.into_owned()).unwrap_or_else(|_| format!("{p:?}")),
    };
    word.split('=').map(piece).collect::<Vec<_>>().join("=")
}

impl fmt::Display for Process {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let root = self.shown_from.as_ref().or(self.cwd.as_ref()).map(|r| format!("{}/", r.display()));
        let shown = |a: &str| match &root {
            Some(prefix) => a.replace(prefix.as_str(), ""),
            None => a.to_string(),
        };
        let line =
            std::iter::once(&self.program).chain(&self.args).map(|a| quote(&shown(a))).collect::<Vec<_>>().join(" ");
        f.write_str(&Redactor.apply(&line))
    }
}

/// As `--json` lists a command: its argument vector.
impl Serialize for Process {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.argv().serialize(s)
    }
}

/// A command that could not run or did not succeed.
#[derive(Debug)]
pub struct ProcessError {
    /// The command line, as [`Process`] prints it.
    command: String,
    kind: Kind,
}

#[derive(Debug)]
enum Kind {
    /// It could not start (not installed, not on PATH).
    Spawn(std::io::Error),
    /// Talking to it failed.
    Io(std::io::Error),
    /// It exited unsuccessfully; the last lines of its output.
    Failed { status: ExitStatus, tail: String },
}

impl ProcessError {
    /// It never started (the program is missing).
    pub fn not_started(&self) -> bool {
        matches!(self.kind, Kind::Spawn(_))
    }
}

impl fmt::Display for ProcessError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            Kind::Spawn(e) => write!(f, "cannot run `{}`: {e}", self.command),
            Kind::Io(e) => write!(f, "`{}`: {e}", self.command),
            Kind::Failed { status, tail } if tail.trim().is_empty() => {
                write!(f, "`{}` failed ({status})", self.command)
            }
            Kind::Failed { status, tail } => {
                write!(f, "`{}` failed ({status}):\n{}", self.command, Redactor.apply(tail.trim_end()))
            }
        }
    }
}

impl std::error::Error for ProcessError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match &self.kind {
            Kind::Spawn(e) | Kind::Io(e) => Some(e),
            Kind::Failed { .. } => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prints_as_a_shell_takes_it() {
        let p = Process::new("helm")
            .args(["--values", "/repo/generated/x.yaml", "it's", "-chdir=/repo/a b", "", "HEAD:main"])
            .cwd("/repo");
        assert_eq!(p.to_string(), r#"helm --values generated/x.yaml "it's" -chdir='a b' '' HEAD:main"#);
        assert_eq!(serde_json::to_value(&p).unwrap()[1], "--values");
        let key = Process::new("echo").arg("AKIAIOSFODNN7EXAMPLE");
        assert!(!key.to_string().contains("AKIA"), "{key}");
    }

    #[test]
    fn runs_and_fails_with_the_command() {
        let ok = Process::new("sh").args(["-c", "cat; echo done"]).run_with_stdin(b"in\n").unwrap();
        assert_eq!(String::from_utf8_lossy(&ok.stdout), "in\ndone\n");
        let e = Process::new("sh").args(["-c", "echo oops >&2; exit 3"]).run().unwrap_err();
        assert!(e.to_string().contains("exit status: 3"), "{e}");
        assert!(e.to_string().starts_with("`sh -c 'echo oops >&2; exit 3'` failed"), "{e}");
        assert!(e.to_string().ends_with("oops"), "{e}");
        assert!(Process::new("no-such-program-here").run().unwrap_err().not_started());
        assert!(
            Process::new("sh")
                .args(["-c", "test \"$X\" = 1 && test -z \"$HOME\""])
                .env("X", "1")
                .env_remove("HOME")
                .succeeds()
        );
    }

    /// A key path with a quoted segment reaches `explain` with its quotes
    /// (how the review prints the command to run).
    #[test]
    fn a_quoted_key_path_keeps_its_quotes() {
        assert_eq!(
            quote("eks.node_groups.g.labels.\"myhealth.io/pool\""),
            r#"'eks.node_groups.g.labels."myhealth.io/pool"'"#
        );
    }
}
