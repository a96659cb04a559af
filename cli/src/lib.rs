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

mod args;
mod changes;
mod cli;
mod commands;
mod config;
mod cost;
mod credentials;
mod diagnostics;
mod exit;
mod git;
mod graph;
mod image;
mod interrupt;
mod names;
mod ops;
mod output;
mod pattern;
mod policy;
mod process;
mod project;
mod redact;
mod registry;
mod render;
mod synthetic;
mod tree;

// The library's public face: what `main.rs` runs and what the tests,
// benchmarks and fuzz targets drive. Every module is private, so rustc's
// dead-code lint sees the whole crate: an unused function is a warning
// (an error under CI's `-D warnings`), not an API.
pub use cli::{Cli, run};
pub use config::catalog::catalog as aws_catalog;
pub use config::defaults::schema as config_schema;
pub use config::doc::key_path;
pub use config::{Config, load as load_config};
pub use diagnostics::Source;
pub use policy::count_findings as policy_findings;
pub use redact::MASK;
pub use render::ci::ACTIONS;
pub use render::{Options, Templates, env_of_path, header_for, render};
pub use synthetic::config_with_envs;
pub use tree::{Tree, read_dir, write_atomic};
