//! Render the config and write the generated tree (`myhealthctl render`):
//! a render narrowed to some environments replaces only their files; the
//! roots of environments no longer in the config are kept when retired,
//! else refused (`retire`); files myhealthctl did not write are kept and
//! named, or pruned; the write is atomic (`tree::Outputs::write`).

use serde::Serialize;

use crate::args::RenderArgs;
use crate::changes::{Kind, compare};
use crate::config::Config;
use crate::project::Project;
use crate::render::env_of_path;
use crate::tree::Tree;

/// What a render wrote.
#[derive(Debug, Serialize)]
pub struct Rendered {
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
    /// Nothing needed writing.
    #[serde(skip)]
    up_to_date: bool,
    /// Where it was written, as shown: the generated tree, and the
    /// workflows directory when the workflows live outside it.
    #[serde(skip)]
    into: (String, Option<String>),
}

impl std::fmt::Display for Rendered {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let word = if self.environments.len() == 1 { "environment" } else { "environments" };
        let what =
            format!("{} files for {} {word} ({})", self.files, self.environments.len(), self.environments.join(", "));
        let (into, are) = match &self.into {
            (out, Some(w)) => (format!("`{out}/` and `{w}/`"), "are"),
            (out, None) => (format!("`{out}/`"), "is"),
        };
        if self.up_to_date {
            write!(f, "{into} {are} up to date: {what}")
        } else {
            write!(
                f,
                "rendered {what} into {into}: {} added, {} changed, {} removed",
                self.added, self.changed, self.removed
            )
        }
    }
}

/// Render `cfg` and write it: only the environments of `args` (all when
/// none), retiring those named in `retire`, deleting files myhealthctl did
/// not write when `prune`.
pub fn render(
    p: &Project,
    cfg: &Config,
    args: &RenderArgs,
    retire: &[String],
    prune: bool,
) -> anyhow::Result<Rendered> {
    let opts = p.render_options(cfg, args)?;
    let templates = p.templates(&args.tree)?;
    let out = p.out_dir(&args.tree);
    let outputs = p.outputs(cfg, &args.tree);
    let fresh = crate::render::render(cfg, &templates, &opts)?;
    let existing = outputs.read()?;
    let mut next = narrowed(&existing, fresh, &opts.only_envs, &cfg.env_names());
    // Roots of environments no longer in the config: kept when retired, else refused.
    let retired_now = crate::ops::retire::render(&existing, &mut next, cfg, retire, &p.config_name())?;
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
            .filter(|c| c.kind == k && (k != Kind::Removed || !foreign.contains(&c.path.to_string()) || prune))
            .count()
    };
    let rel = |d: &std::path::Path| d.strip_prefix(&p.root).unwrap_or(d).display().to_string();
    let into = (rel(&out), outputs.workflows.as_deref().map(rel));
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
        up_to_date: false,
        into,
    };
    if (foreign.is_empty() || !prune) && changes.iter().all(|c| foreign.contains(&c.path.to_string())) {
        report_foreign(&rel(&out), &foreign, false);
        report.kept = foreign;
        (report.added, report.changed, report.removed, report.up_to_date) = (0, 0, 0, true);
        return Ok(report);
    }
    let unowned = outputs.write(next, prune)?;
    report_foreign(&rel(&out), &unowned.kept, false);
    report_foreign(&rel(&out), &unowned.pruned, true);
    (report.kept, report.pruned) = (unowned.kept, unowned.pruned);
    Ok(report)
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
fn narrowed(existing: &Tree, fresh: Tree, only: &[String], all_envs: &[String]) -> Tree {
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
