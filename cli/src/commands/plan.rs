//! `myhealthctl plan ENV`: `terraform init` + `plan -out` in the
//! environment's rendered root — refused while `generated/` has drifted from
//! the config — then a summary of the plan (`ops::terraform`): counts to
//! add / change / destroy / replace, resources grouped by action, and a loud
//! warning for any destroy or replace of a stateful resource. Exit codes
//! (`crate::exit`): once a plan ran, terraform's `-detailed-exitcode` —
//! 0 no changes, 2 changes, 1 failed.

use clap::Args;

use crate::args::{Format, Global, InitArgs, TreeArgs};
use crate::exit::{Outcome, print_error};
use crate::ops::{drift, terraform};
use crate::project::Project;

#[derive(Args, Debug)]
pub struct PlanCmd {
    /// The environment to plan
    #[arg(value_name = "ENV")]
    pub env: String,
    #[command(flatten)]
    pub args: TreeArgs,
    /// Output format of the summary
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// Same as `--format json`
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub init: InitArgs,
}

impl PlanCmd {
    pub fn run(self, g: &Global) -> anyhow::Result<Outcome> {
        let p = Project::locate(g)?;
        let cfg = p.load()?;
        let t = p.target(&cfg, &self.env, &self.args)?;
        if drift::gate(&p, &cfg, &t.render)? != Outcome::Ok {
            return Ok(Outcome::Differs);
        }
        let summary = match terraform::init_and_plan(&t.tf_dir, t.name(), &self.init, false) {
            Ok(s) => s,
            Err(e) => {
                print_error(&e, p.color);
                return Ok(Outcome::Failed);
            }
        };
        let format = if self.json { Format::Json } else { self.format };
        match format {
            Format::Json => crate::outln!("{}", serde_json::to_string_pretty(&summary)?),
            Format::Markdown => crate::out!("{}", terraform::markdown(&summary)),
            Format::Text => crate::out!("{}", terraform::text(&summary)),
        }
        Ok(if summary.changes() { Outcome::Changes } else { Outcome::Ok })
    }
}
