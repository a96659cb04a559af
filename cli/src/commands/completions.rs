//! `myhealthctl completions SHELL`: shell completion scripts (clap_complete).

use clap::{Args, CommandFactory};
use clap_complete::Shell;

use crate::cli::{Cli, Outcome};

#[derive(Args, Debug)]
pub struct CompletionsCmd {
    /// The shell to generate completions for
    pub shell: Shell,
}

impl CompletionsCmd {
    pub fn run(self) -> anyhow::Result<Outcome> {
        clap_complete::generate(self.shell, &mut Cli::command(), "myhealthctl", &mut std::io::stdout());
        Ok(Outcome::Ok)
    }
}
