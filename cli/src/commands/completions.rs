//! `myhealthctl completions SHELL`: shell completion scripts (clap_complete).

use clap::Args;
use clap_complete::Shell;

use crate::exit::Outcome;

#[derive(Args, Debug)]
pub struct CompletionsCmd {
    /// The shell to generate completions for
    pub shell: Shell,
}

impl CompletionsCmd {
    /// `cli`: the whole command-line definition (the completions describe it).
    pub fn run(self, mut cli: clap::Command) -> anyhow::Result<Outcome> {
        let mut out = Vec::new();
        clap_complete::generate(self.shell, &mut cli, "myhealthctl", &mut out);
        // Written with a checked write: a closed pipe ends the command quietly.
        std::io::Write::write_all(&mut crate::output::stdout(), &out)?;
        Ok(Outcome::Ok)
    }
}
