//! What SIGINT and SIGTERM do while the generated tree is being written:
//! they are held, not obeyed, until the write is finished or undone
//! ([`hold`]); the writer then stops with [`crate::exit::Interrupted`]
//! (exit 130 / 143). Outside a write they act as they always do — the
//! handlers emulate the default action — so Ctrl-C still stops a long
//! plan or deploy at once.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};

use signal_hook::consts::{SIGINT, SIGTERM};

struct Flags {
    /// The last signal received while held (0: none).
    received: Arc<AtomicUsize>,
    /// Not writing: a signal takes its default action.
    obey: Arc<AtomicBool>,
}

static FLAGS: OnceLock<Option<Flags>> = OnceLock::new();

fn flags() -> Option<&'static Flags> {
    FLAGS
        .get_or_init(|| {
            let f = Flags { received: Arc::new(AtomicUsize::new(0)), obey: Arc::new(AtomicBool::new(true)) };
            for sig in [SIGINT, SIGTERM] {
                // In registration order: record it, then (when not writing) die of it.
                signal_hook::flag::register_usize(sig, Arc::clone(&f.received), sig as usize).ok()?;
                signal_hook::flag::register_conditional_default(sig, Arc::clone(&f.obey)).ok()?;
            }
            Some(f)
        })
        .as_ref()
}

/// While alive, SIGINT and SIGTERM are recorded instead of obeyed.
pub struct Held(());

/// Hold SIGINT and SIGTERM until the returned guard is dropped.
pub fn hold() -> Held {
    if let Some(f) = flags() {
        f.received.store(0, Ordering::SeqCst);
        f.obey.store(false, Ordering::SeqCst);
    }
    Held(())
}

impl Held {
    /// A signal that arrived since [`hold`], as an error to stop with.
    pub fn check(&self) -> Result<(), crate::exit::Interrupted> {
        match flags().map_or(0, |f| f.received.load(Ordering::SeqCst)) {
            0 => Ok(()),
            sig => Err(crate::exit::Interrupted(sig as i32)),
        }
    }
}

impl Drop for Held {
    fn drop(&mut self) {
        if let Some(f) = flags() {
            f.obey.store(true, Ordering::SeqCst);
        }
    }
}
