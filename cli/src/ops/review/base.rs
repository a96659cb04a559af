//! The two sides of a change under review: the generated tree committed at
//! the base revision (read through git) and the tree of the working tree
//! (a fresh render, or the committed output with `--committed`), the config
//! at both sides, and from them the `Review` — costs, budgets, settings,
//! objects (rendered by Helm on request) and the plans given.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::Context;

use super::Review;
use super::costs::{budget_checks, cost_changes};
use crate::args::RenderArgs;
use crate::changes::{self, FileChange};
use crate::config::Config;
use crate::ops::{drift, manifests, terraform};
use crate::project::Project;
use crate::tree::Tree;

/// The base of a change and the working tree, as read for its review.
pub struct Base {
    /// The revision as shown (12 hex digits for a commit id).
    pub label: String,
    old: Tree,
    new: Tree,
    base_cfg: Option<Config>,
    base_text: Option<String>,
    head_text: String,
}

impl Base {
    /// Read both sides. `committed`: the working tree's side is the output
    /// on disk, not a fresh render (how a myhealthctl built from the base
    /// reviews a change that may alter myhealthctl itself).
    pub fn read(p: &Project, cfg: &Config, args: &RenderArgs, rev: &str, committed: bool) -> anyhow::Result<Base> {
        let opts = p.render_options(cfg, args)?;
        let disk = drift::filter_envs(p.outputs(cfg, &args.tree).read()?, &opts.only_envs);
        let new = if committed {
            disk
        } else {
            let mut fresh = crate::render::render(cfg, &p.templates(&args.tree)?, &opts)?;
            crate::ops::retire::keep(&disk, &mut fresh, cfg);
            fresh
        };
        let top = crate::git::toplevel(&p.root)?;
        let top_canon = top.canonicalize().unwrap_or(top.clone());
        let commit = crate::git::resolve_commit(&top, rev)?;
        let old = drift::filter_envs(drift::committed_at(p, cfg, args, &top, &commit)?, &opts.only_envs);
        // The config at the base, when it loads: the settings and cost before the change.
        let base_text: Option<String> = p
            .config_path
            .canonicalize()
            .ok()
            .and_then(|c| c.strip_prefix(&top_canon).ok().map(|r| r.to_string_lossy().into_owned()))
            .and_then(|rel| crate::git::show(&top, &commit, &rel).ok().flatten())
            .and_then(|bytes| String::from_utf8(bytes).ok());
        let base_cfg = base_text.clone().and_then(|text| {
            crate::config::load_historic(crate::diagnostics::Source { name: p.display.clone(), text }).ok()
        });
        let label = if rev.len() > 12 && rev.chars().all(|c| c.is_ascii_hexdigit()) {
            rev[..12].to_string()
        } else {
            rev.to_string()
        };
        Ok(Base { label, old, new, base_cfg, base_text, head_text: std::fs::read_to_string(&p.config_path)? })
    }

    /// The generated files the change touches.
    pub fn changes(&self) -> Vec<FileChange<'_>> {
        changes::compare(&self.old, &self.new)
    }

    /// The review of `files` (this base's `changes()`): with the Kubernetes
    /// objects when `manifests`, and the plan summaries in `plans`.
    pub fn review<'a>(
        &self,
        p: &Project,
        cfg: &Config,
        files: &'a [FileChange<'a>],
        manifests: bool,
        plans: Option<&Path>,
        policy: &crate::args::PolicyArgs,
    ) -> anyhow::Result<Review<'a>> {
        let base_cfg = self.base_cfg.as_ref();
        let config =
            crate::config::keys::change::compare(base_cfg.zip(self.base_text.as_deref()), (cfg, &self.head_text));
        let objects = match manifests {
            true => Some(manifests::release_changes(base_cfg, cfg, &self.old, &self.new)?),
            false => None,
        };
        let policies = self.policies(p, cfg, policy)?;
        Ok(Review {
            policies,
            base_label: self.label.clone(),
            config_file: p.config_name(),
            budgets: budget_checks(base_cfg, self.base_text.as_deref(), cfg, &config, &p.display),
            config,
            files,
            costs: cost_changes(base_cfg, cfg),
            plans: plans.map(read_plans).transpose()?.unwrap_or_default(),
            objects,
            retired: crate::ops::retire::retired(&self.new).into_iter().collect(),
            order: {
                let mut o = cfg.env_names();
                o.extend(base_cfg.into_iter().flat_map(Config::env_names).filter(|n| cfg.env(n).is_none()));
                o
            },
        })
    }
}

impl Base {
    /// The project's policies over both sides — the config and, when a
    /// policy reads it, the rendered platform — compared (`None`: no
    /// policies). The base is evaluated by today's policies: the review
    /// says what the change does to their findings.
    fn policies(
        &self,
        p: &Project,
        cfg: &Config,
        args: &crate::args::PolicyArgs,
    ) -> anyhow::Result<Option<crate::policy::review::Changes>> {
        let dir = crate::policy::locate(args.dir.as_deref(), &p.root)?;
        let side = |c: &Config, text: &str, tree: &Tree| -> anyhow::Result<Vec<crate::policy::review::Found>> {
            let mut policies = match crate::policy::load_for(dir.as_deref(), args.options(), c)? {
                Ok(p) => p,
                Err(wrong) => anyhow::bail!(
                    "{}",
                    crate::diagnostics::Report {
                        source: crate::diagnostics::Source { name: p.display.clone(), text: text.to_string() },
                        diagnostics: wrong
                    }
                ),
            };
            let rendered = if policies.wants_rendered() {
                p.rendered_subjects(c, tree, &|k| policies.wants(k))?
            } else {
                Vec::new()
            };
            let source = crate::diagnostics::Source { name: p.display.clone(), text: text.to_string() };
            crate::policy::review_findings(&mut policies, &source, c, rendered)
        };
        let after = side(cfg, &self.head_text, &self.new)?;
        let before = match (&self.base_cfg, &self.base_text) {
            (Some(c), Some(t)) => side(c, t, &self.old).map_err(|e| format!("{e:#}")),
            _ => Err("the config at the base does not load".to_string()),
        };
        let mut changes = crate::policy::review::Changes::of(before, after);
        let was: Vec<String> = match (&self.base_cfg, &self.base_text) {
            (Some(c), Some(t)) => crate::policy::disabled_rules(c, t).into_iter().map(|d| d.rule).collect(),
            _ => Vec::new(),
        };
        changes.disabled = crate::policy::disabled_rules(cfg, &self.head_text)
            .into_iter()
            .map(|d| crate::policy::review::DisabledRule { new: !was.contains(&d.rule), rule: d.rule, line: d.line })
            .collect();
        Ok(Some(changes))
    }
}

/// `DIR/<env>.json`: what `myhealthctl plan ENV --json` printed.
fn read_plans(dir: &Path) -> anyhow::Result<BTreeMap<String, terraform::Summary>> {
    let mut out = BTreeMap::new();
    for e in std::fs::read_dir(dir).with_context(|| format!("cannot read `{}`", dir.display()))? {
        let path = e?.path();
        if path.extension().is_some_and(|x| x == "json") {
            let s: terraform::Summary = serde_json::from_slice(&std::fs::read(&path)?).with_context(|| {
                format!("`{}` is not a plan summary (`myhealthctl plan ENV --json`)", path.display())
            })?;
            out.insert(s.environment.clone(), s);
        }
    }
    Ok(out)
}
