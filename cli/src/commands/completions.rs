//! `myhealthctl completions SHELL`: shell completion scripts (clap_complete).
//! Generated inside a project, they offer its environment names wherever a
//! command takes one (ENV, `--env`, promote's FROM and TO) and its services
//! where it takes those.

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
    pub fn run(self, g: &crate::args::Global, mut cli: clap::Command) -> anyhow::Result<Outcome> {
        // Outside a project (or with a config that does not load) the
        // completions are the commands and flags alone.
        let project = crate::project::Project::locate(g).ok();
        if let Some(cfg) = project.as_ref().and_then(|p| p.read().ok()) {
            let envs = cfg.env_names();
            let services: Vec<String> = project.as_ref().map(|p| p.bundled(&cfg)).unwrap_or_default();
            cli = offer(cli, &envs, &services);
        }
        let mut out = Vec::new();
        clap_complete::generate(self.shell, &mut cli, "myhealthctl", &mut out);
        // Written with a checked write: a closed pipe ends the command quietly.
        std::io::Write::write_all(&mut crate::output::stdout(), &out)?;
        Ok(Outcome::Ok)
    }
}

/// Every argument naming an environment or a service, at any depth, with
/// the project's names as its possible values.
fn offer(cmd: clap::Command, envs: &[String], services: &[String]) -> clap::Command {
    use clap::builder::PossibleValuesParser;
    let names: Vec<String> = cmd.get_arguments().map(|a| a.get_id().to_string()).collect();
    // `mut_arg` moves an argument to the end: pin each positional's place first.
    let positionals: Vec<String> = cmd.get_positionals().map(|a| a.get_id().to_string()).collect();
    let mut cmd = cmd;
    for (i, id) in positionals.into_iter().enumerate() {
        cmd = cmd.mut_arg(id, |a| a.index(i + 1));
    }
    for id in names {
        let values = match id.as_str() {
            "env" | "envs" | "from" | "to" => envs,
            "only" | "services" | "service" => services,
            _ => continue,
        };
        if values.is_empty() {
            continue;
        }
        let values = values.to_vec();
        cmd = cmd.mut_arg(id, move |a| a.value_parser(PossibleValuesParser::new(values)));
    }
    let subs: Vec<String> = cmd.get_subcommands().map(|s| s.get_name().to_string()).collect();
    for name in subs {
        cmd = cmd.mut_subcommand(name, |s| offer(s, envs, services));
    }
    cmd
}
