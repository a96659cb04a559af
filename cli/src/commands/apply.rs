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
    #[command(flatten)]
    pub init: InitArgs,
}

impl ApplyCmd {
    pub fn run(self, g: &Global) -> anyhow::Result<Outcome> {
        let p = Project::locate(g)?;
        let cfg = p.load()?;
        let t = p.target(&cfg, &self.env, &self.args)?;
        let name = t.name();
        if drift::gate(&p, &cfg, &t.render)? != Outcome::Ok {
            eprintln!("not applied: the plan was made from a tree that no longer matches the config");
            return Ok(Outcome::Differs);
        }
        // The providers, as a fresh checkout of a CI job needs them.
        terraform::init(&terraform::init_argv(&t.tf_dir, &self.init), name)?;
        let saved = terraform::saved_plan(&t.tf_dir, name, PLAN_FILE)?;
        crate::out!("{}", terraform::text(&saved));
        if !saved.changes() {
            crate::outln!("nothing to apply");
            seed(t.cfg, t.env)?;
            return Ok(Outcome::Ok);
        }
        match &self.expect_fingerprint {
            Some(want) if *want != saved.fingerprint => {
                eprintln!(
                    "not applied: the saved plan is {}, not the approved {want}; plan again and have it approved",
                    saved.fingerprint
                );
                return Ok(Outcome::Differs);
            }
            Some(_) => {}
            None if self.yes => {}
            None => {
                let production = t.env.production.value;
                let want = if production { name } else { "yes" };
                let answer = ui::ask(&if production {
                    format!("apply this plan to production `{name}`? type its name")
                } else {
                    format!("apply this plan to `{name}`? type `yes`")
                })?;
                if answer != want {
                    eprintln!("not applied: the answer was not `{want}`; nothing was changed");
                    return Ok(Outcome::Differs);
                }
            }
        }
        terraform::apply(&terraform::apply_argv(&t.tf_dir, PLAN_FILE), name)?;
        crate::outln!("applied the plan {} to `{name}`", saved.fingerprint);
        seed(t.cfg, t.env)?;
        Ok(Outcome::Ok)
    }
}

/// The generated secrets get their values once they exist (an interrupted
/// run is finished by the next apply, changes or not).
fn seed(cfg: &crate::config::Config, env: &crate::config::model::Environment) -> anyhow::Result<()> {
    for s in ui::step("generated secrets", || secrets::seed(cfg, env))? {
        if s.written {
            crate::outln!("generated a value for `{}`", s.secret);
        }
    }
    Ok(())
}
