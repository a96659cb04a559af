//! Where commands print: stdout through [`stdout`], which a reader closing
//! the pipe (`myhealthctl diff | head -1`) cannot turn into a failure — the
//! rest of the output is dropped and the command goes on to report what it
//! found, so a gate's exit code is the same piped or not; stderr through
//! [`eprint`], which never panics.

use std::io::{self, Write};
use std::sync::atomic::{AtomicBool, Ordering};

/// Set once stdout's reader went away: later output is dropped.
static CLOSED: AtomicBool = AtomicBool::new(false);

/// The process's stdout, for every command's output.
pub fn stdout() -> Stdout {
    Stdout
}

/// Stdout that drops what a closed pipe cannot take (see the module doc).
pub struct Stdout;

impl Write for Stdout {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if CLOSED.load(Ordering::Relaxed) {
            return Ok(buf.len());
        }
        match io::stdout().lock().write(buf) {
            Err(e) if e.kind() == io::ErrorKind::BrokenPipe => {
                CLOSED.store(true, Ordering::Relaxed);
                Ok(buf.len())
            }
            r => r,
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        if CLOSED.load(Ordering::Relaxed) {
            return Ok(());
        }
        match io::stdout().lock().flush() {
            Err(e) if e.kind() == io::ErrorKind::BrokenPipe => {
                CLOSED.store(true, Ordering::Relaxed);
                Ok(())
            }
            r => r,
        }
    }
}

/// Print on stderr; a closed stderr is not worth a panic (`eprint!` would).
pub fn eprint(text: &str) {
    let _ = io::stderr().lock().write_all(text.as_bytes());
}
