//! `myhealthctl render`: config → generated tree, written atomically
//! (`ops::generate`).

use clap::Args;

use crate::args::{Global, RenderArgs};
use crate::exit::Outcome;
use crate::ops::drift;
use crate::project::Project;

#[derive(Args, Debug)]
pub struct RenderCmd {
    #[command(flatten)]
    pub args: RenderArgs,
    /// Write nothing; exit 1 if the generated tree differs from a fresh render (same as `diff`)
    #[arg(long)]
    pub check: bool,
    /// Also delete files in the generated tree that myhealthctl did not write (kept and reported otherwise)
    #[arg(long, conflicts_with = "check")]
    pub prune: bool,
    /// Print what was written as JSON
    #[arg(long, conflicts_with = "check")]
    pub json: bool,
    /// Retire an environment removed from the config: keep its Terraform roots (marked) for `myhealthctl destroy ENV` instead of refusing to delete them (repeatable)
    #[arg(long, value_name = "ENV", conflicts_with = "check")]
    pub retire: Vec<String>,
    #[command(flatten)]
    pub policy: crate::args::PolicyArgs,
}

impl RenderCmd {
    pub fn run(self, g: &Global) -> anyhow::Result<Outcome> {
        let p = Project::locate(g)?;
        let cfg = p.load()?;
        if self.check {
            return drift::gate(&p, &cfg, &self.args);
        }
        // The project's policies: a `deny` refuses to write, as an invalid config does.
        let in_memory = || -> anyhow::Result<crate::tree::Tree> {
            let opts = p.render_options(&cfg, &self.args)?;
            crate::render::render(&cfg, &p.templates(&self.args.tree)?, &opts)
        };
        if let Some(w) = p.policy_check(&cfg, &self.policy, in_memory)? {
            eprint!("{}", w.render(p.color));
        }
        let report = crate::ops::generate::render(&p, &cfg, &self.args, &self.retire, self.prune)?;
        if self.json {
            crate::outln!("{}", serde_json::to_string_pretty(&report)?);
        } else {
            crate::outln!("{report}");
        }
        Ok(Outcome::Ok)
    }
}
