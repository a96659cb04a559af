//! `myhealthctl affected --base REV`: which environments a change touches —
//! those whose rendered output differs between the output committed at REV
//! and a fresh render of the working tree. A change to the shared Terraform
//! modules touches every environment's infrastructure; a change to the chart
//! touches every environment's Kubernetes objects. `pr.yml` plans exactly the
//! environments whose infrastructure is touched.

use std::collections::BTreeMap;

use clap::Args;
use serde::Serialize;

use crate::args::{Global, RenderArgs};
use crate::changes;
use crate::exit::Outcome;
use crate::ops::drift;
use crate::project::Project;
use crate::render::env_of_path;

#[derive(Args, Debug)]
pub struct AffectedCmd {
    #[command(flatten)]
    pub args: RenderArgs,
    /// The git revision to compare with (e.g. the pull request's base commit)
    #[arg(long, value_name = "REV")]
    pub base: String,
    /// Per environment: whether its infrastructure and/or its Kubernetes objects change, and which files
    #[arg(long)]
    pub json: bool,
}

#[derive(Serialize, Default)]
struct Affected {
    name: String,
    /// Its Terraform root or the shared modules change.
    terraform: bool,
    /// Its values, its ArgoCD objects or the chart change.
    kubernetes: bool,
    /// The environment is gone from the config (its files are removed).
    removed: bool,
    /// Removed, its Terraform roots kept for `destroy` (`render --retire`).
    retired: bool,
    /// A retired environment's plan role, region and GitHub environment, from
    /// its kept access root (pr.yml plans its destroy with them).
    #[serde(skip_serializing_if = "Option::is_none")]
    plan: Option<crate::ops::retire::PlanAccess>,
    /// Changed files of this environment (shared files are listed once, under `shared`).
    files: Vec<String>,
}

impl AffectedCmd {
    pub fn run(self, g: &Global) -> anyhow::Result<Outcome> {
        let p = Project::locate(g)?;
        let cfg = p.read()?;
        let opts = p.render_options(&cfg, &self.args)?;
        let mut new = crate::render::render(&cfg, &p.templates(&self.args.tree)?, &opts)?;
        crate::ops::retire::keep(&p.outputs(&cfg, &self.args.tree).read()?, &mut new, &cfg);
        let retired = crate::ops::retire::retired(&new);
        let top = crate::git::toplevel(&p.root)?;
        let commit = crate::git::resolve_commit(&top, &self.base)?;
        let old = drift::committed_at(&p, &cfg, &self.args, &top, &commit)?;
        let changed = changes::compare(&old, &new);

        let shared: Vec<String> =
            changed.iter().filter(|c| env_of_path(c.path).is_none()).map(|c| c.path.to_string()).collect();
        let modules = shared.iter().any(|f| f.starts_with("terraform/modules/"));
        let chart = shared.iter().any(|f| f.starts_with("helm/") && env_of_path(f).is_none());
        // Environments in config order, then any that only the base had.
        let mut envs: BTreeMap<String, Affected> = BTreeMap::new();
        let names = cfg.env_names();
        let mut order: Vec<String> = names.clone();
        for c in &changed {
            let Some(env) = env_of_path(c.path) else { continue };
            if !order.contains(&env) {
                order.push(env.clone());
            }
            let a = envs.entry(env.clone()).or_default();
            a.files.push(c.path.to_string());
            if c.path.starts_with("terraform/") {
                a.terraform = true;
            } else {
                a.kubernetes = true;
            }
        }
        let list: Vec<Affected> = order
            .into_iter()
            .filter(|n| opts.only_envs.is_empty() || opts.only_envs.contains(n))
            .filter_map(|name| {
                let mut a = envs.remove(&name).unwrap_or_default();
                a.terraform |= modules && names.contains(&name);
                a.kubernetes |= chart && names.contains(&name);
                a.removed = !names.contains(&name);
                a.retired = retired.contains(&name);
                if a.retired {
                    a.plan = crate::ops::retire::plan_access(&new, &name);
                }
                a.name = name;
                (a.terraform || a.kubernetes || !a.files.is_empty()).then_some(a)
            })
            .collect();
        if self.json {
            let report = serde_json::json!({ "base": commit, "environments": list, "shared": shared });
            crate::outln!("{}", serde_json::to_string_pretty(&report)?);
        } else {
            for a in &list {
                crate::outln!("{}", a.name);
            }
            // Stdout stays a list of names for scripts; the empty answer is said on stderr.
            if list.is_empty() {
                crate::output::eprint(&format!(
                    "no environment is affected: the rendered output is the same as at `{}`\n",
                    self.base
                ));
            }
        }
        Ok(Outcome::Ok)
    }
}
