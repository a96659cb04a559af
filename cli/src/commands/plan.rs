//! `myhealthctl plan ENV`: `terraform init` + `plan -out` in the
//! environment's rendered root — refused while `generated/` has drifted from
//! the config — then a summary of the plan (`ops::terraform`): counts to
//! add / change / destroy / replace, resources grouped by action, and a loud
//! warning for any destroy or replace of a stateful resource. Exit codes
//! (`crate::exit`): 0 planned, with or without changes (1 with changes
//! under `--detailed-exitcode`), 2 the plan failed, 3 refused.

use anyhow::Context;
use clap::Args;

use crate::args::{Format, Global, InitArgs, TreeArgs};
use crate::exit::Outcome;
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
    /// Exit 1 when the plan has changes (0 when it has none): "found a difference", as `diff` does
    #[arg(long)]
    pub detailed_exitcode: bool,
    /// Compare with a reviewed plan's summary (`plan --json` of the PR): the plan-versus-plan difference, and `against` in the JSON
    #[arg(long, value_name = "FILE")]
    pub against: Option<std::path::PathBuf>,
    /// Also write the JSON summary to FILE, whatever the format printed (CI keeps it beside a markdown job summary)
    #[arg(long, value_name = "FILE")]
    pub json_out: Option<std::path::PathBuf>,
    #[command(flatten)]
    pub init: InitArgs,
    #[command(flatten)]
    pub policy: crate::args::PolicyArgs,
}

impl PlanCmd {
    pub fn run(self, g: &Global) -> anyhow::Result<Outcome> {
        let p = Project::locate(g)?;
        let cfg = p.read()?;
        // A retired environment's only plan is its destroy, in its kept root:
        // what the PR that retires it reviews ("N resources destroyed").
        let (summary, root, plan_file) = match crate::ops::retire::retired_root(&p, &cfg, &self.args, &self.env) {
            Some(kept) => {
                let whole = crate::args::RenderArgs { envs: Vec::new(), tree: self.args.clone() };
                drift::require_fresh(&p, &cfg, &whole, &format!("not planned `{}`", self.env))?;
                crate::output::eprint(&format!(
                    "`{}` is retired: planning the destroy of what its state holds\n",
                    self.env
                ));
                (terraform::init_and_plan(&kept, &self.env, &self.init, true)?, kept, terraform::DESTROY_PLAN_FILE)
            }
            None => {
                let t = p.target(&cfg, &self.env, &self.args)?;
                drift::require_fresh(&p, &cfg, &t.render, &format!("not planned `{}`", t.name()))?;
                (
                    terraform::init_and_plan(&t.tf_dir, t.name(), &self.init, false)?,
                    t.tf_dir.clone(),
                    terraform::PLAN_FILE,
                )
            }
        };
        // The plan policies, over what Terraform will do (a deny fails the command).
        if let Some(w) = p.plan_policy_check(&cfg, &self.policy, &self.env, &root, plan_file)? {
            crate::output::eprint(&w.render(p.color));
        }
        let against = match &self.against {
            Some(f) => {
                let reviewed: terraform::Summary = serde_json::from_slice(
                    &std::fs::read(f).with_context(|| format!("cannot read `{}`", f.display()))?,
                )
                .with_context(|| format!("`{}` is not a plan summary (`myhealthctl plan ENV --json`)", f.display()))?;
                Some(terraform::compare(&reviewed, &summary))
            }
            None => None,
        };
        let mut json = serde_json::to_value(&summary)?;
        if let Some(c) = &against {
            json["against"] = serde_json::to_value(c)?;
        }
        if let Some(f) = &self.json_out {
            std::fs::write(f, serde_json::to_string_pretty(&json)?)
                .with_context(|| format!("cannot write `{}`", f.display()))?;
        }
        let format = if self.json { Format::Json } else { self.format };
        match format {
            Format::Json => crate::outln!("{}", serde_json::to_string_pretty(&json)?),
            Format::Markdown => {
                crate::out!("{}", terraform::markdown(&summary));
                if let Some(c) = &against {
                    crate::out!("\n{}", crate::ops::review::fenced("text", &terraform::comparison_text(c)));
                }
            }
            Format::Text => {
                crate::out!("{}", terraform::text(&summary));
                if let Some(c) = &against {
                    crate::out!("\n{}", terraform::comparison_text(c));
                }
            }
        }
        Ok(if self.detailed_exitcode && summary.changes() { Outcome::Differs } else { Outcome::Ok })
    }
}
