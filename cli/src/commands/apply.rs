//! `myhealthctl apply ENV`: apply exactly the plan saved in the
//! environment's root by `myhealthctl plan ENV` (or a CI plan job's
//! artifact) — refused while `generated/` has drifted, its summary and
//! stateful-loss warning shown first, and, with `--expect-fingerprint`,
//! refused unless it is the plan a review saw (`ops::terraform`).

use clap::Args;

use crate::args::{Global, InitArgs, TreeArgs};
use crate::exit::Outcome;
use crate::ops::terraform::{self, PLAN_FILE};
use crate::ops::{drift, secrets, ui};
use crate::project::Project;

#[derive(Args, Debug)]
pub struct ApplyCmd {
    /// The environment whose saved plan to apply
    #[arg(value_name = "ENV")]
    pub env: String,
    #[command(flatten)]
    pub args: TreeArgs,
    /// Apply only if the saved plan has this fingerprint (`sha256:…`, from `plan --json` or a PR's review)
    #[arg(long, value_name = "FINGERPRINT")]
    pub expect_fingerprint: Option<String>,
    /// Do not ask (implied by `--expect-fingerprint`: the plan is then the approved one)
    #[arg(long)]
    pub yes: bool,
    /// Print what was applied as JSON (nothing is asked: with `--yes` or `--expect-fingerprint`)
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub init: InitArgs,
}

impl ApplyCmd {
    pub fn run(self, g: &Global) -> anyhow::Result<Outcome> {
        let p = Project::locate(g)?;
        let cfg = p.load()?;
        let t = p.target(&cfg, &self.env, &self.args)?;
        let name = t.name();
        drift::require_fresh(&p, &cfg, &t.render, &format!("not applied to `{name}`"))?;
        // The providers, as a fresh checkout of a CI job needs them.
        terraform::init(&terraform::init_command(&t.tf_dir, &self.init), name)?;
        let saved = terraform::saved_plan(&t.tf_dir, name, PLAN_FILE)?;
        if !self.json {
            crate::out!("{}", terraform::text(&saved));
        }
        if !saved.changes() {
            let secrets = seed(t.cfg, t.env)?;
            return self.report(Applied { environment: name, applied: false, plan: &saved, secrets });
        }
        match &self.expect_fingerprint {
            Some(want) if *want != saved.fingerprint => {
                return crate::exit::refuse(format!(
                    "not applied: the saved plan is {}, not the approved {want}; plan again and have it approved",
                    saved.fingerprint
                ));
            }
            Some(_) => {}
            None if self.yes => {}
            None if self.json => {
                return crate::exit::refuse(format!(
                    "not applied: with `--json` nothing is asked; pass `--yes` or `--expect-fingerprint {}`",
                    saved.fingerprint
                ));
            }
            None => {
                let production = t.env.production.value;
                let want = if production { name } else { "yes" };
                let answer = ui::ask(&if production {
                    format!("apply this plan to production `{name}`? type its name")
                } else {
                    format!("apply this plan to `{name}`? type `yes`")
                })?;
                if answer != want {
                    return crate::exit::refuse(format!(
                        "not applied: the answer was not `{want}`; nothing was changed"
                    ));
                }
            }
        }
        terraform::apply(&terraform::apply_command(&t.tf_dir, PLAN_FILE), name)?;
        let secrets = seed(t.cfg, t.env)?;
        self.report(Applied { environment: name, applied: true, plan: &saved, secrets })
    }

    fn report(&self, a: Applied<'_>) -> anyhow::Result<Outcome> {
        if self.json {
            crate::outln!("{}", serde_json::to_string_pretty(&a)?);
        } else {
            crate::outln!("{a}");
        }
        Ok(Outcome::Ok)
    }
}

/// What `apply` did.
#[derive(serde::Serialize)]
struct Applied<'a> {
    environment: &'a str,
    /// False: the saved plan had nothing to apply.
    applied: bool,
    plan: &'a terraform::Summary,
    /// The generated secrets that got their first value.
    secrets: Vec<String>,
}

impl std::fmt::Display for Applied<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.applied {
            true => write!(f, "applied the plan {} to `{}`", self.plan.fingerprint, self.environment)?,
            false => write!(f, "nothing to apply")?,
        }
        for s in &self.secrets {
            write!(f, "\ngenerated a value for `{s}`")?;
        }
        Ok(())
    }
}

/// The generated secrets get their values once they exist (an interrupted
/// run is finished by the next apply, changes or not).
fn seed(cfg: &crate::config::Config, env: &crate::config::model::Environment) -> anyhow::Result<Vec<String>> {
    Ok(ui::step("generated secrets", || secrets::seed(cfg, env))?
        .into_iter()
        .filter(|s| s.written)
        .map(|s| s.secret)
        .collect())
}
