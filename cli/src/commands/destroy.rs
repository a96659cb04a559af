//! `myhealthctl destroy ENV`: a destroy plan of the environment's root,
//! shown with every stateful resource it loses called out, then applied only
//! after the user types the environment's name (or passes `--yes`).

use std::process::{Command, Stdio};

use anyhow::{Context, bail};
use clap::Args;

use super::plan::{self, DESTROY_PLAN_FILE};
use crate::cli::{Global, Outcome, Project, TreeArgs};

#[derive(Args, Debug)]
pub struct DestroyCmd {
    /// The environment to destroy
    #[arg(value_name = "ENV")]
    pub env: String,
    #[command(flatten)]
    pub args: TreeArgs,
    /// Do not ask: destroy right after showing the plan
    #[arg(long)]
    pub yes: bool,
    #[command(flatten)]
    pub init: plan::InitArgs,
}

impl DestroyCmd {
    pub fn run(self, g: &Global) -> anyhow::Result<Outcome> {
        let p = Project::locate(g)?;
        let cfg = p.load()?;
        let args = self.args.for_env(&self.env);
        p.render_options(&cfg, &args)?;
        let dir = p.out_dir(&args).join("terraform/envs").join(&self.env);
        let summary = plan::plan(&dir, &self.env, &self.init, true)?;
        if summary.destroy + summary.replace == 0 {
            crate::outln!("`{}` has nothing to destroy", self.env);
            return Ok(Outcome::Ok);
        }
        crate::out!("{}", plan::text(&summary));
        if !summary.stateful_losses.is_empty() {
            eprintln!(
                "\nwarning: {} stateful resource(s) go with it; databases get a final snapshot only where the config keeps one",
                summary.stateful_losses.len()
            );
        }
        if !self.yes {
            let answer = plan::ask(&format!("type the environment's name (`{}`) to destroy it", self.env))?;
            if answer != self.env {
                eprintln!("not destroyed: `{answer}` is not `{}`", self.env);
                return Ok(Outcome::Differs);
            }
        }
        let status = Command::new("terraform")
            .args(plan::apply_argv(&dir, DESTROY_PLAN_FILE))
            .env("TF_IN_AUTOMATION", "1")
            .stdin(Stdio::null())
            .status()
            .context("cannot run `terraform`")?;
        if !status.success() {
            bail!("`terraform apply` of the destroy plan failed in `{}`", dir.display());
        }
        Ok(Outcome::Ok)
    }
}
