//! myhealthctl: one typed config (`myhealth.toml`) renders the whole myHealth
//! platform. The binary is a thin shell over this library (see `main.rs`).

/// `println!` that hands a write error back (`?`) instead of panicking: a
/// reader that went away (`| head`) ends the command quietly (`cli::run`
/// turns a broken pipe into success).
#[macro_export]
macro_rules! outln {
    ($($t:tt)*) => {{
        use std::io::Write as _;
        writeln!(std::io::stdout().lock(), $($t)*)?;
    }};
}

/// `print!` that hands a write error back, as [`outln!`].
#[macro_export]
macro_rules! out {
    ($($t:tt)*) => {{
        use std::io::Write as _;
        write!(std::io::stdout().lock(), $($t)*)?;
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
pub mod names;
pub mod ops;
pub mod pattern;
pub mod project;
pub mod redact;
pub mod registry;
pub mod render;
pub mod synthetic;
pub mod tree;

pub use cli::run;
