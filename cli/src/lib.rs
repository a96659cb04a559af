//! myhealthctl: one typed config (`myhealth.toml`) renders the whole myHealth
//! platform. The binary is a thin shell over this library (see `main.rs`).

/// `println!` through [`output::stdout`]: a write error comes back (`?`)
/// instead of a panic, and a reader that went away (`| head`) is not one —
/// the command goes on and exits with what it found.
#[macro_export]
macro_rules! outln {
    ($($t:tt)*) => {{
        use std::io::Write as _;
        writeln!($crate::output::stdout(), $($t)*)?;
    }};
}

/// `print!` that hands a write error back, as [`outln!`].
#[macro_export]
macro_rules! out {
    ($($t:tt)*) => {{
        use std::io::Write as _;
        write!($crate::output::stdout(), $($t)*)?;
    }};
}

pub mod args;
pub mod changes;
pub mod cli;
pub mod commands;
pub mod config;
pub mod cost;
pub mod credentials;
pub mod diagnostics;
pub mod exit;
pub mod git;
pub mod graph;
pub mod image;
pub mod interrupt;
pub mod names;
pub mod ops;
pub mod output;
pub mod pattern;
pub mod policy;
pub mod process;
pub mod project;
pub mod redact;
pub mod registry;
pub mod render;
pub mod synthetic;
pub mod tree;

pub use cli::run;
