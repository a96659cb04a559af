//! myhealthctl: one typed config (`myhealth.toml`) renders the whole myHealth
//! platform. The binary is a thin shell over this library (see `main.rs`).

pub mod changes;
pub mod cli;
pub mod commands;
pub mod config;
pub mod cost;
pub mod diagnostics;
pub mod git;
pub mod graph;
pub mod image;
pub mod names;
pub mod redact;
pub mod registry;
pub mod render;
pub mod synthetic;
pub mod tree;

pub use cli::run;
