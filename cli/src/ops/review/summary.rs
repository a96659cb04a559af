//! The part of the review that always fits in the comment: what changed in
//! the config, the table per environment (files, cost, budget, plan,
//! objects), the price notes and the plans' fingerprints.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use super::blocks::shown;
use super::costs::{estimate_usd, names, usd};
use super::{PLANS_MARKER, Review};
use crate::changes;
use crate::ops::manifests::Change;
use crate::redact::Redactor;

impl Review<'_> {
    /// Under the per-environment table: whose prices the estimates are, and
    /// what each leaves out (never a silent $0) or prices at another
    /// region's list prices.
    pub(super) fn price_notes(&self) -> String {
        let mut out = String::new();
        if self.costs.is_empty() && self.budgets.is_empty() {
            return out;
        }
        let _ = writeln!(
            out,
            "\nMonthly costs are estimates at {} list prices as of {} (`myhealthctl cost`).",
            crate::cost::PRICE_REGION,
            crate::cost::PRICES_AS_OF
        );
        let mut seen: BTreeSet<&str> = BTreeSet::new();
        let rows = self
            .costs
            .iter()
            .map(|c| (&c.environment, &c.unpriced, &c.region))
            .chain(self.budgets.iter().map(|b| (&b.environment, &b.unpriced, &b.region)));
        for (env, unpriced, region) in rows {
            if !seen.insert(env.as_str()) {
                continue;
            }
            if !unpriced.is_empty() {
                let _ = writeln!(
                    out,
                    "\n> [!WARNING]\n> Unpriced in `{env}`: {} — the table has no price for it, so the estimate leaves it out and is a lower bound.",
                    names(unpriced)
                );
            }
            if let Some(r) = region {
                let _ = writeln!(
                    out,
                    "\n> [!NOTE]\n> `{env}` runs in `{r}`: its estimate uses {}'s list prices, and `{r}`'s differ.",
                    crate::cost::PRICE_REGION
                );
            }
        }
        out
    }

    /// The part that always fits: the config change, the table per
    /// environment, the plans' fingerprints.
    pub(super) fn summary(&self, marker: &str, r: &Redactor) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "{marker}");
        let _ = writeln!(out, "### Review against `{}`\n", self.base_label);
        let c = &self.config;
        let _ = writeln!(out, "#### What changed in `{}`\n", self.config_file);
        if c.keys.is_empty() && c.added.is_empty() && c.removed.is_empty() {
            out.push_str("No setting of any environment changed.\n");
        } else {
            for e in &c.added {
                let _ = writeln!(out, "- environment `{e}` **added**");
            }
            for e in &c.removed {
                if !self.retired.contains(e) {
                    let _ = writeln!(out, "- environment `{e}` **removed**");
                    continue;
                }
                // What the destroy will take, where a destroy plan says; what it saves.
                let what = match self.plans.get(e) {
                    Some(p) => format!("{} resources destroyed", p.destroy + p.replace),
                    None => "every resource its state holds destroyed".to_string(),
                };
                let saves = match self.costs.iter().find(|c| &c.environment == e).and_then(|c| c.before) {
                    Some(b) => format!(", {}/month", crate::cost::usd(-b)),
                    None => String::new(),
                };
                let _ = writeln!(
                    out,
                    "- retires `{e}`: {what}{saves} — once `myhealthctl destroy {e}` runs; until then its Terraform roots are kept, marked `RETIRED.md`"
                );
            }
            if !c.keys.is_empty() {
                if !(c.added.is_empty() && c.removed.is_empty()) {
                    out.push('\n');
                }
                out.push_str("| environment | key | before | after | set at | explained by |\n| --- | --- | --- | --- | --- | --- |\n");
                // The same key changed alike in several environments is one row.
                let mut rows: Vec<(Vec<String>, &crate::config::keys::change::KeyChange)> = Vec::new();
                for k in &c.keys {
                    match rows.iter_mut().find(|(_, x)| {
                        x.key == k.key
                            && x.before == k.before
                            && x.after == k.after
                            && x.at.as_ref().map(|a| &a.path) == k.at.as_ref().map(|a| &a.path)
                    }) {
                        Some((envs, _)) => envs.push(k.environment.clone()),
                        None => rows.push((vec![k.environment.clone()], k)),
                    }
                }
                const MAX_ROWS: usize = 150;
                for (envs, k) in rows.iter().take(MAX_ROWS) {
                    let at =
                        k.at.as_ref()
                            .map_or("built-in".into(), |a| format!("`{}:{}` (`{}`)", self.config_file, a.line, a.path));
                    // Where the value comes from and what it drives: `explain`.
                    let explain = format!("`myhealthctl explain {} --env {}`", crate::process::quote(&k.key), envs[0]);
                    let _ = writeln!(
                        out,
                        "| {} | `{}` | `{}` | `{}` | {at} | {explain} |",
                        envs.iter().map(|e| format!("`{e}`")).collect::<Vec<_>>().join(", "),
                        k.key,
                        shown(k.before.as_ref(), r),
                        shown(k.after.as_ref(), r)
                    );
                }
                if rows.len() > MAX_ROWS {
                    let _ = writeln!(out, "\n… and {} more keys (the full report lists them).", rows.len() - MAX_ROWS);
                }
            }
            let derived: usize = c.derived.values().sum();
            if derived > 0 {
                let _ = writeln!(out, "\n({derived} derived or built-in values follow from these.)");
            }
        }
        let envs = self.environments();
        out.push_str("\n#### Per environment\n\n");
        if envs.is_empty() && self.files.is_empty() {
            out.push_str("No change to the generated output.\n");
            return out;
        }
        out.push_str("| environment | files | lines | Kubernetes objects | monthly cost | plan |\n| --- | --- | ---: | --- | --- | --- |\n");
        let groups = changes::group(self.files);
        let mut rows: Vec<String> = envs.clone();
        if groups.contains_key(changes::SHARED) {
            rows.push(changes::SHARED.into());
        }
        for env in rows {
            let (files, lines) = match groups.get(&env) {
                Some(f) => {
                    let s = changes::summarize(f);
                    (
                        format!("+{} ~{} −{}", s.added, s.changed, s.removed),
                        format!("+{} −{}", s.lines_added, s.lines_removed),
                    )
                }
                None => ("—".into(), "—".into()),
            };
            let objects = match self.objects.as_ref().map(|o| o.get(&env)) {
                _ if env == changes::SHARED => "—".into(),
                None => "not rendered".into(),
                Some(None) => "—".into(),
                Some(Some(v)) if v.is_empty() => "none".into(),
                Some(Some(v)) => {
                    let n = |c: Change| v.iter().filter(|o| o.change == c).count();
                    format!("+{} ~{} −{}", n(Change::Added), n(Change::Changed), n(Change::Removed))
                }
            };
            let cost = self.costs.iter().find(|c| c.environment == env).map_or("—".into(), |c| {
                format!(
                    "{} → {} ({})",
                    estimate_usd(c.before, &c.unpriced_before),
                    estimate_usd(c.after, &c.unpriced),
                    c.delta()
                )
            });
            let plan = self.plans.get(&env).map_or("—".into(), |p| {
                if !p.changes() {
                    "no changes".into()
                } else {
                    let loss = if p.stateful_losses.is_empty() {
                        String::new()
                    } else {
                        format!(" ⚠️ **{} stateful**", p.stateful_losses.len())
                    };
                    format!("+{} ~{} −{} ±{}{loss}", p.add, p.change, p.destroy, p.replace)
                }
            });
            let name = if env == changes::SHARED { "shared files".into() } else { format!("`{env}`") };
            let _ = writeln!(out, "| {name} | {files} | {lines} | {objects} | {cost} | {plan} |");
        }
        out.push_str(&self.price_notes());
        if !self.budgets.is_empty() {
            out.push_str(
                "\n#### Budgets\n\n| environment | estimate | budget | share | |\n| --- | --- | --- | ---: | --- |\n",
            );
            for b in &self.budgets {
                let share = b.estimate / b.limit * 100.0;
                let status = if b.crossed {
                    "❌ **crossed by this change**".to_string()
                } else if b.over() {
                    "❌ over".to_string()
                } else if !b.unpriced_added.is_empty() {
                    format!("❌ **cannot be checked**: no price for {}", names(&b.unpriced_added))
                } else if !b.unpriced.is_empty() {
                    format!("⚠️ not checked in full: no price for {}", names(&b.unpriced))
                } else if share >= b.warn_percent as f64 {
                    "⚠️ above the warning".to_string()
                } else {
                    "✅".to_string()
                };
                let est = match b.before {
                    Some(x) if (x - b.estimate).abs() >= 0.005 => {
                        format!("{} → {}", usd(Some(x)), estimate_usd(Some(b.estimate), &b.unpriced))
                    }
                    _ => estimate_usd(Some(b.estimate), &b.unpriced),
                };
                let share = if b.unpriced.is_empty() { format!("{share:.0}%") } else { format!("≥ {share:.0}%") };
                let _ = writeln!(out, "| `{}` | {est} | {} | {share} | {status} |", b.environment, usd(Some(b.limit)));
            }
            for b in self.budgets.iter().filter(|b| b.crossed) {
                let keys = if b.keys.is_empty() {
                    "no key of its own (derived values moved)".to_string()
                } else {
                    b.keys
                        .iter()
                        .map(|k| match k.adds_usd {
                            Some(d) => {
                                format!("`{}` ({}{})", k.key, if d > 0.0 { "+" } else { "" }, crate::cost::usd(d))
                            }
                            None => format!("`{}`", k.key),
                        })
                        .collect::<Vec<_>>()
                        .join(", ")
                };
                let _ = writeln!(
                    out,
                    "\n> [!CAUTION]\n> This change takes `{}` over its budget. What it moves there: {keys}.",
                    b.environment
                );
            }
            for b in self.budgets.iter().filter(|b| !b.crossed && !b.unpriced_added.is_empty()) {
                let _ = writeln!(
                    out,
                    "\n> [!CAUTION]\n> This change brings {} into `{}`, which the cost table has no price for: its budget cannot be checked. Add the price to the table (`cli/src/cost.rs`) first, or pick a priced type.",
                    names(&b.unpriced_added),
                    b.environment
                );
            }
        }
        if !self.plans.is_empty() {
            let fp: BTreeMap<&String, &String> = self.plans.iter().map(|(e, p)| (e, &p.fingerprint)).collect();
            let _ = writeln!(out, "\n<!-- {PLANS_MARKER} {} -->", serde_json::to_string(&fp).unwrap_or_default());
        }
        out
    }
}
