//! The review of a change, as one pull-request comment: what the author
//! changed in `myhealth.toml` (each key, per environment, old → new, at its
//! line) first; then per environment the counts, the cost change, the plan
//! and the Kubernetes objects touched; what it does to the policies'
//! findings; then the rendered diff with each hunk
//! shown once, labelled with every environment it applies to. The comment
//! has a hard size budget under GitHub's 65,536 characters: the summary
//! always survives, details that do not fit are left out and named, and the
//! full report (everything) is written beside it for the job summary or an
//! artifact. Every line goes through the `Redactor`.

pub mod base;
mod blocks;
mod costs;
mod policies;
mod summary;
mod text;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use super::manifests::ObjectChange;
use super::terraform::{self, Summary};
use crate::changes::{self, FileChange};
use crate::config::keys::change::ConfigChange;
use crate::redact::Redactor;

pub use blocks::fenced;
use blocks::{file_blocks, object_block};
pub use costs::{BudgetCheck, CostChange};

/// GitHub refuses a comment longer than 65,536 characters; this leaves room
/// for what the workflow adds.
pub const DEFAULT_BUDGET: usize = 60_000;

/// Where the comment records each environment's plan fingerprint (JSON).
pub const PLANS_MARKER: &str = "myhealthctl-plans";

/// Everything the review is made of.
pub struct Review<'a> {
    pub base_label: String,
    /// The config file's name as shown (`myhealth.toml`).
    pub config_file: String,
    pub config: ConfigChange,
    pub files: &'a [FileChange<'a>],
    pub costs: Vec<CostChange>,
    /// Each environment with a budget, in the config's order.
    pub budgets: Vec<BudgetCheck>,
    /// Plan summaries by environment (from `myhealthctl plan ENV --json`).
    pub plans: BTreeMap<String, Summary>,
    /// Object changes by environment, when the chart was rendered.
    pub objects: Option<BTreeMap<String, Vec<ObjectChange>>>,
    /// The environments in the config's order (then those only the base had).
    pub order: Vec<String>,
    /// Removed environments whose roots the change keeps, retired (`render --retire`).
    pub retired: Vec<String>,
    /// What the change does to the policies' findings (`None`: the project has no policies).
    pub policies: Option<crate::policy::review::Changes>,
}

/// The comment and the full report.
pub struct Comment {
    pub body: String,
    pub full: String,
}

impl Review<'_> {
    /// The environments the change touches, in the config's order.
    fn environments(&self) -> Vec<String> {
        let mut set: BTreeSet<String> = BTreeSet::new();
        for (env, _) in changes::group(self.files) {
            if env != changes::SHARED {
                set.insert(env);
            }
        }
        set.extend(self.config.keys.iter().map(|k| k.environment.clone()));
        set.extend(self.config.added.iter().chain(&self.config.removed).cloned());
        set.extend(self.plans.keys().cloned());
        set.extend(self.costs.iter().map(|c| c.environment.clone()));
        if let Some(o) = &self.objects {
            set.extend(o.iter().filter(|(_, v)| !v.is_empty()).map(|(k, _)| k.clone()));
        }
        let mut out: Vec<String> = self.order.iter().filter(|e| set.contains(*e)).cloned().collect();
        out.extend(set.into_iter().filter(|e| !self.order.contains(e)));
        out
    }

    /// Details in the order they are kept when the budget runs out: the
    /// remaining policy findings, plans, Kubernetes objects, the rendered diff.
    fn details(&self, r: &Redactor) -> Vec<(String, String)> {
        let mut out: Vec<(String, String)> = self.policy_details(r).into_iter().collect();
        for (env, p) in &self.plans {
            if p.changes() {
                let md = terraform::markdown(p);
                out.push((
                    format!("plan of `{env}`"),
                    format!("<details><summary>Terraform plan of <code>{env}</code></summary>\n{md}\n</details>\n"),
                ));
            }
        }
        if let Some(objects) = &self.objects {
            // Environments whose objects change alike share one block.
            let mut alike: Vec<(Vec<String>, &Vec<ObjectChange>)> = Vec::new();
            for env in self.order.iter().filter(|e| objects.get(*e).is_some_and(|v| !v.is_empty())) {
                let objs = &objects[env];
                let same = |a: &Vec<ObjectChange>| {
                    a.len() == objs.len()
                        && a.iter()
                            .zip(objs.iter())
                            .all(|(x, y)| x.change == y.change && x.object == y.object && x.diff == y.diff)
                };
                match alike.iter_mut().find(|(_, o)| same(o)) {
                    Some((envs, _)) => envs.push(env.clone()),
                    None => alike.push((vec![env.clone()], objs)),
                }
            }
            for (envs, objs) in alike {
                let name = envs.iter().map(|e| format!("`{e}`")).collect::<Vec<_>>().join(", ");
                out.push((format!("Kubernetes objects of {name}"), object_block(&envs, objs, r)));
            }
        }
        out.extend(file_blocks(self.files, r));
        out
    }

    /// The comment within `budget` characters, and the full report.
    pub fn markdown(&self, r: &Redactor, budget: usize, details_url: Option<&str>) -> Comment {
        let mut summary = self.summary(changes::COMMENT_MARKER, r);
        summary.push_str(&self.policy_summary(r));
        let details = self.details(r);
        let mut full = summary.clone();
        for (_, d) in &details {
            full.push('\n');
            full.push_str(d);
        }
        // Room for the note saying what was left out.
        const RESERVE: usize = 1_500;
        let mut body = summary;
        let mut omitted = Vec::new();
        let mut used = body.chars().count();
        for (name, d) in details {
            let n = d.chars().count() + 1;
            if used + n + RESERVE <= budget {
                body.push('\n');
                body.push_str(&d);
                used += n;
            } else {
                omitted.push(name);
            }
        }
        if !omitted.is_empty() {
            let mut note = format!(
                "\n> [!NOTE]\n> {} detail section(s) did not fit in this comment ({} characters at most): ",
                omitted.len(),
                budget
            );
            let listed: Vec<&String> = omitted.iter().take(12).collect();
            note.push_str(&listed.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", "));
            if omitted.len() > listed.len() {
                let _ = write!(note, " and {} more", omitted.len() - listed.len());
            }
            match details_url {
                Some(url) => {
                    let _ = writeln!(note, ". The full report: {url}");
                }
                None => note.push_str(". The full report is in the job summary.\n"),
            }
            body.push_str(&note);
        }
        Comment { body, full }
    }
}
