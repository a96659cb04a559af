//! `myhealthctl destroy ENV`: a destroy plan of the environment's root,
//! shown with every stateful resource it loses called out, then applied only
//! after the user types the environment's name (or passes `--yes`).

use clap::Args;

use crate::args::{Global, InitArgs, TreeArgs};
use crate::exit::Outcome;
use crate::ops::terraform::{self, DESTROY_PLAN_FILE};
use crate::ops::ui::ask;
use crate::project::Project;

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
    /// Print the destroy plan and what was destroyed as JSON (requires `--yes`: nothing is asked)
    #[arg(long, requires = "yes")]
    pub json: bool,
    #[command(flatten)]
    pub init: InitArgs,
}

impl DestroyCmd {
    pub fn run(self, g: &Global) -> anyhow::Result<Outcome> {
        let p = Project::locate(g)?;
        let cfg = p.read()?;
        // A retired environment (no longer in the config, its root kept and
        // marked) is destroyed from that root, which then goes.
        let kept = crate::ops::retire::retired_root(&p, &cfg, &self.args, &self.env);
        let retired = kept.is_some();
        let tf_dir = match kept {
            Some(kept) => kept,
            None => p.target(&cfg, &self.env, &self.args)?.tf_dir,
        };
        let name = self.env.as_str();
        let summary = terraform::init_and_plan(&tf_dir, name, &self.init, true)?;
        if summary.destroy + summary.replace == 0 {
            if retired {
                remove_root(&p, &cfg, &self.args, name)?;
            }
            if self.json {
                let v = Destroyed { environment: name, destroyed: false, plan: &summary, terraform: String::new() };
                crate::outln!("{}", serde_json::to_string_pretty(&v)?);
            } else {
                crate::outln!("`{name}` has nothing to destroy");
            }
            return Ok(Outcome::Ok);
        }
        if !self.json {
            crate::out!("{}", terraform::text(&summary));
        }
        if !summary.stateful_losses.is_empty() {
            eprintln!(
                "\nwarning: {} stateful resource(s) go with it; databases get a final snapshot only where the config keeps one",
                summary.stateful_losses.len()
            );
        }
        if !self.yes {
            let answer = ask(&format!("type the environment's name (`{name}`) to destroy it"))?;
            if answer != name {
                return crate::exit::refuse(format!("not destroyed: `{answer}` is not `{name}`; nothing was changed"));
            }
        }
        // Terraform's own account of what it destroyed ("Destroy complete! Resources: N destroyed.").
        let out = terraform::apply(&terraform::apply_command(&tf_dir, DESTROY_PLAN_FILE), name)?;
        if retired {
            remove_root(&p, &cfg, &self.args, name)?;
        }
        if self.json {
            let v = Destroyed { environment: name, destroyed: true, plan: &summary, terraform: out };
            crate::outln!("{}", serde_json::to_string_pretty(&v)?);
        } else {
            crate::out!("{out}");
        }
        Ok(Outcome::Ok)
    }
}

/// A retired environment, destroyed: its root leaves the generated tree
/// (atomically, as a render writes), to be committed.
fn remove_root(p: &Project, cfg: &crate::config::Config, args: &TreeArgs, env: &str) -> anyhow::Result<()> {
    let outputs = p.outputs(cfg, args);
    let tree = crate::ops::retire::without_env_root(outputs.read()?, env);
    outputs.write(tree, false)?;
    crate::output::eprint(&format!(
        "removed the retired root `terraform/envs/{env}/` from the generated tree: commit it; then its access root (see its RETIRED.md)\n"
    ));
    Ok(())
}

/// What `destroy --json` reports.
#[derive(serde::Serialize)]
struct Destroyed<'a> {
    environment: &'a str,
    destroyed: bool,
    /// The destroy plan that was applied.
    plan: &'a terraform::Summary,
    /// Terraform's own account of it.
    terraform: String,
}
