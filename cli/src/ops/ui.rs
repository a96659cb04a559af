//! What long operations show on the terminal: a spinner per step (plain
//! `== step` / `done in` lines in CI logs) and a question on stderr answered
//! on stdin. (A command line as a shell takes it is `process::Process`'s
//! `Display`.)

use std::io::IsTerminal;
use std::time::{Duration, Instant};

/// One long step: a spinner with the elapsed time on a terminal, plain
/// `== step` / `done in` lines otherwise (CI logs).
pub fn step<T>(what: &str, f: impl FnOnce() -> anyhow::Result<T>) -> anyhow::Result<T> {
    let started = Instant::now();
    let spinner = std::io::stderr().is_terminal().then(|| {
        let pb = indicatif::ProgressBar::new_spinner();
        pb.set_style(
            indicatif::ProgressStyle::with_template("{spinner} {msg} ({elapsed})").expect("a valid spinner template"),
        );
        pb.set_message(what.to_string());
        pb.enable_steady_tick(Duration::from_millis(100));
        pb
    });
    if spinner.is_none() {
        eprintln!("== {what}");
    }
    let r = f();
    let secs = started.elapsed().as_secs_f64();
    if let Some(pb) = &spinner {
        // The line that stays: a mark and the time taken, no spinner.
        pb.set_style(indicatif::ProgressStyle::with_template("{msg}").expect("a valid template"));
    }
    match (&r, spinner) {
        (Ok(_), Some(pb)) => pb.finish_with_message(format!("✓ {what} ({secs:.1} s)")),
        (Err(_), Some(pb)) => pb.abandon_with_message(format!("✗ {what} ({secs:.1} s)")),
        (Ok(_), None) => eprintln!("   done in {secs:.1} s"),
        (Err(_), None) => eprintln!("   failed after {secs:.1} s"),
    }
    r
}

/// Ask on stderr, read one line from stdin. The answer may come through a
/// pipe (`echo dev | …`); an empty or closed stdin answers "".
pub fn ask(question: &str) -> anyhow::Result<String> {
    use std::io::{BufRead, Write};
    eprint!("\n{question}: ");
    std::io::stderr().flush()?;
    let mut answer = String::new();
    std::io::stdin().lock().read_line(&mut answer)?;
    Ok(answer.trim().to_string())
}
