//! One module per subcommand; `dispatch` routes the parsed command line.

pub mod affected;
pub mod build;
pub mod completions;
pub mod cost;
pub mod deploy;
pub mod destroy;
pub mod diff;
pub mod envs;
pub mod graph;
pub mod init;
pub mod plan;
pub mod push;
pub mod render;
pub mod schema;
pub mod validate;

use crate::cli::{Cli, Command, Outcome};

/// Whether the command prints JSON: then its errors are JSON too, on stdout.
pub fn wants_json(c: &Command) -> bool {
    use crate::commands::diff::Format;
    match c {
        Command::Validate(c) => c.json,
        Command::Envs(c) => c.json,
        Command::Cost(c) => c.json,
        Command::Build(c) => c.json,
        Command::Push(c) => c.json,
        Command::Affected(c) => c.json,
        Command::Plan(c) => c.json || c.format == Format::Json,
        Command::Diff(c) => c.format == Format::Json,
        _ => false,
    }
}

pub fn dispatch(cli: Cli) -> anyhow::Result<Outcome> {
    let g = &cli.global;
    match cli.command {
        Command::Render(c) => c.run(g),
        Command::Diff(c) => c.run(g),
        Command::Affected(c) => c.run(g),
        Command::Build(c) => c.run(g),
        Command::Push(c) => c.run(g),
        Command::Plan(c) => c.run(g),
        Command::Destroy(c) => c.run(g),
        Command::Deploy(c) => c.run(g),
        Command::Validate(c) => c.run(g),
        Command::Envs(c) => c.run(g),
        Command::Graph(c) => c.run(g),
        Command::Cost(c) => c.run(g),
        Command::Schema(c) => c.run(),
        Command::Init(c) => c.run(),
        Command::Completions(c) => c.run(),
    }
}
