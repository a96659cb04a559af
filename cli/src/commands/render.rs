//! `myhealthctl render`: config → generated tree, written atomically.

use clap::Args;
use serde::Serialize;

use crate::args::{Global, RenderArgs};
use crate::changes::{Kind, compare};
use crate::exit::Outcome;
use crate::ops::drift;
use crate::project::Project;
use crate::render::env_of_path;
use crate::tree::Tree;

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
}

/// What a render wrote.
#[derive(Debug, Serialize)]
struct Rendered {
    /// The environments rendered (every one, or those of `--env`).
    environments: Vec<String>,
    /// Files of those environments plus the shared ones.
    files: usize,
    added: usize,
    changed: usize,
    removed: usize,
    /// Files myhealthctl did not write, left in place.
    kept: Vec<String>,
    /// Files myhealthctl did not write, deleted (`--prune`).
    pruned: Vec<String>,
}

impl std::fmt::Display for Rendered {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let word = if self.environments.len() == 1 { "environment" } else { "environments" };
        write!(f, "{} files for {} {word} ({})", self.files, self.environments.len(), self.environments.join(", "))
    }
}

impl RenderCmd {
    pub fn run(self, g: &Global) -> anyhow::Result<Outcome> {
        let p = Project::locate(g)?;
        let cfg = p.load()?;
        if self.check {
            return drift::gate(&p, &cfg, &self.args);
        }
        if let Some(w) = &cfg.warnings {
            eprint!("{}", w.render(p.color));
        }
        let opts = p.render_options(&cfg, &self.args)?;
        let templates = p.templates(&self.args.tree)?;
        let out = p.out_dir(&self.args.tree);
        let outputs = p.outputs(&cfg, &self.args.tree);
        let fresh = crate::render::render(&cfg, &templates, &opts)?;
        let existing = outputs.read()?;
        let mut next = narrowed(&existing, fresh, &opts.only_envs, &cfg.env_names());
        // Roots of environments no longer in the config: kept when retired, else refused.
        let retired_now = crate::ops::retire::render(&existing, &mut next, &cfg, &self.retire, &p.config_name())?;
        for env in &retired_now {
            crate::output::eprint(&format!(
                "retired `{env}`: its Terraform roots are kept, marked `RETIRED.md`, until `myhealthctl destroy {env}`\n"
            ));
        }
        let changes = compare(&existing, &next);
        let foreign = crate::tree::foreign_files(&out, &next)?;
        let count = |k| {
            changes
                .iter()
                .filter(|c| c.kind == k && (k != Kind::Removed || !foreign.contains(&c.path.to_string()) || self.prune))
                .count()
        };
        let rel = |d: &std::path::Path| d.strip_prefix(&p.root).unwrap_or(d).display().to_string();
        let (shown, are) = match &outputs.workflows {
            Some(w) => (format!("`{}/` and `{}/`", rel(&out), rel(w)), "are"),
            None => (format!("`{}/`", rel(&out)), "is"),
        };
        let environments = if opts.only_envs.is_empty() { cfg.env_names() } else { opts.only_envs.clone() };
        let files = next.keys().filter(|path| env_of_path(path).is_none_or(|e| environments.contains(&e))).count();
        let mut report = Rendered {
            environments,
            files,
            added: count(Kind::Added),
            changed: count(Kind::Changed),
            removed: count(Kind::Removed),
            kept: Vec::new(),
            pruned: Vec::new(),
        };
        if (foreign.is_empty() || !self.prune) && changes.iter().all(|c| foreign.contains(&c.path.to_string())) {
            report_foreign(&rel(&out), &foreign, false);
            report.kept = foreign;
            (report.added, report.changed, report.removed) = (0, 0, 0);
            if self.json {
                crate::outln!("{}", serde_json::to_string_pretty(&report)?);
            } else {
                crate::outln!("{shown} {are} up to date: {report}");
            }
            return Ok(Outcome::Ok);
        }
        let unowned = outputs.write(next, self.prune)?;
        report_foreign(&rel(&out), &unowned.kept, false);
        report_foreign(&rel(&out), &unowned.pruned, true);
        (report.kept, report.pruned) = (unowned.kept, unowned.pruned);
        if self.json {
            crate::outln!("{}", serde_json::to_string_pretty(&report)?);
        } else {
            crate::outln!(
                "rendered {report} into {shown}: {} added, {} changed, {} removed",
                report.added,
                report.changed,
                report.removed
            );
        }
        Ok(Outcome::Ok)
    }
}

/// Files in the generated tree myhealthctl did not write, named one by one.
fn report_foreign(dir: &str, paths: &[String], pruned: bool) {
    for path in paths {
        if pruned {
            eprintln!("removed `{dir}/{path}`: myhealthctl did not write it (`--prune`)");
        } else {
            eprintln!(
                "warning: `{dir}/{path}` was not written by myhealthctl: left in place (delete it, or `render --prune`)"
            );
        }
    }
}

/// A render narrowed to some environments replaces only their files and
/// the shared ones; the other environments' files stay as they are.
pub fn narrowed(existing: &Tree, fresh: Tree, only: &[String], all_envs: &[String]) -> Tree {
    if only.is_empty() {
        return fresh;
    }
    let mut next = fresh;
    for (path, bytes) in existing {
        if let Some(env) = env_of_path(path) {
            if !only.contains(&env) && all_envs.contains(&env) {
                next.entry(path.clone()).or_insert_with(|| bytes.clone());
            }
        }
    }
    next
}
