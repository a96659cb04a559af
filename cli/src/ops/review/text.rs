//! The review as text (`diff --base REV`), as JSON (`--json`), and the
//! budget gate's verdict (`--budget-gate`): the same `Review` the comment
//! is made of, in the terminal's and the script's form.

use std::io::Write;

use serde::Serialize;

use super::Review;
use super::costs::{names, usd};
use crate::changes::{self, FileChange};
use crate::redact::Redactor;

/// What `diff --base REV --json` prints: the file report, then the costs,
/// budgets, settings and (with `--manifests`) objects of the review.
#[derive(Serialize)]
struct Json<'r> {
    #[serde(flatten)]
    files: serde_json::Value,
    cost: &'r [super::CostChange],
    budgets: &'r [super::BudgetCheck],
    config: &'r crate::config::keys::change::ConfigChange,
    #[serde(skip_serializing_if = "Option::is_none")]
    objects: Option<&'r std::collections::BTreeMap<String, Vec<crate::ops::manifests::ObjectChange>>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    policies: Option<&'r crate::policy::review::Changes>,
}

impl Review<'_> {
    /// The review as `--json` prints it.
    pub fn json(&self) -> anyhow::Result<String> {
        let v = Json {
            files: crate::ops::drift::json_report(self.files, Some(&self.base_label)),
            cost: &self.costs,
            budgets: &self.budgets,
            config: &self.config,
            objects: self.objects.as_ref(),
            policies: self.policies.as_ref(),
        };
        Ok(serde_json::to_string_pretty(&v)?)
    }

    /// Why `--budget-gate` fails the change, one line each (none: it passes):
    /// an environment the change takes over its budget, or what it brings
    /// in that the cost table has no price for (the budget cannot be checked).
    pub fn budget_errors(&self) -> Vec<String> {
        let crossed: Vec<String> =
            self.budgets.iter().filter(|b| b.crossed).map(|b| format!("`{}`", b.environment)).collect();
        let unchecked: Vec<String> = self
            .budgets
            .iter()
            .filter(|b| !b.crossed && !b.unpriced_added.is_empty())
            .map(|b| format!("`{}` ({})", b.environment, names(&b.unpriced_added)))
            .collect();
        let mut out = Vec::new();
        if !crossed.is_empty() {
            out.push(format!("this change takes {} over budget; see `myhealthctl cost`", crossed.join(", ")));
        }
        if !unchecked.is_empty() {
            out.push(format!(
                "this change brings in what the cost table has no price for, so the budget cannot be checked: {}; see `myhealthctl cost`",
                unchecked.join(", ")
            ));
        }
        out
    }

    /// The review as text: settings, budgets, costs, objects, then the
    /// files per environment (`stat`: only their names). `display` is the
    /// config file as the user named it.
    pub fn text(&self, out: &mut dyn Write, display: &str, color: bool, stat: bool) -> anyhow::Result<()> {
        let ch: &[FileChange<'_>] = self.files;
        for k in &self.config.keys {
            let at = k.at.as_ref().map_or("built-in".into(), |a| format!("{}:{}", display, a.line));
            let show = |v: Option<&serde_json::Value>| v.map_or("—".to_string(), |v| v.to_string());
            writeln!(
                out,
                "{}: `{}` {} → {} ({at})",
                k.environment,
                k.key,
                Redactor.apply(&show(k.before.as_ref())),
                Redactor.apply(&show(k.after.as_ref()))
            )?;
        }
        for b in self.budgets.iter().filter(|b| b.over()) {
            writeln!(
                out,
                "budget of `{}`: the estimate {} is over {}{}",
                b.environment,
                crate::cost::usd(b.estimate),
                crate::cost::usd(b.limit),
                if b.crossed { " (crossed by this change)" } else { "" }
            )?;
        }
        for b in self.budgets.iter().filter(|b| !b.over() && !b.unpriced.is_empty()) {
            writeln!(
                out,
                "budget of `{}`: not checked in full, the estimate (at least {}) has no price for {}{}",
                b.environment,
                crate::cost::usd(b.estimate),
                names(&b.unpriced),
                if b.unpriced_added.is_empty() { "" } else { " (brought in by this change)" }
            )?;
        }
        for c in &self.costs {
            writeln!(
                out,
                "cost of `{}`: {}{} → {}{} ({} per month){}",
                c.environment,
                if c.unpriced_before.is_empty() { "" } else { "at least " },
                usd(c.before),
                if c.unpriced.is_empty() { "" } else { "at least " },
                usd(c.after),
                c.delta(),
                crate::cost::region_note(c.region.as_deref().unwrap_or(crate::cost::PRICE_REGION))
                    .map_or(String::new(), |n| format!("; {n}"))
            )?;
            for n in &c.unpriced {
                writeln!(
                    out,
                    "cost of `{}`: unpriced: no price for `{n}` in the table ({} list prices as of {}); not in the estimate",
                    c.environment,
                    crate::cost::PRICE_REGION,
                    crate::cost::PRICES_AS_OF
                )?;
            }
        }
        for (env, objs) in self.objects.iter().flatten().filter(|(_, v)| !v.is_empty()) {
            for o in objs {
                writeln!(out, "{env}: {:?} {}", o.change, o.object)?;
            }
        }
        if let Some(p) = &self.policies {
            let all = p.new.iter().map(|f| ("new", f)).chain(p.fixed.iter().map(|f| ("fixed", f)));
            for (what, f) in all.chain(p.remaining.iter().map(|f| ("remaining", f))) {
                let env = if f.environment.is_empty() { "(all)" } else { &f.environment };
                let at = f.at.as_ref().map_or(String::new(), |a| format!(" at {a}"));
                writeln!(out, "policy {what}: {env}: {} [{}]{at}", Redactor.apply(&f.message), f.rule)?;
            }
        }
        let groups = changes::group(ch);
        if groups.is_empty() {
            writeln!(out, "no change to the generated output against `{}`", self.base_label)?;
        }
        for (env, files) in &groups {
            let s = changes::summarize(files);
            let title =
                if env == changes::SHARED { "shared files".to_string() } else { format!("environment `{env}`") };
            writeln!(out, "{}", changes::paint(color, "1", &format!("== {title}: {}", changes::stat_line(&s))))?;
            for f in files {
                if stat {
                    writeln!(out, "  {} {}", changes::kind_letter(f.kind), f.path)?;
                } else {
                    write!(
                        out,
                        "{}",
                        changes::colorize(color, &changes::unified(f, &self.base_label, "working-tree", &Redactor))
                    )?;
                }
            }
        }
        Ok(())
    }
}
