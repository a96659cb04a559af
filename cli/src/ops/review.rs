//! The review of a change, as one pull-request comment: what the author
//! changed in `myhealth.toml` (each key, per environment, old → new, at its
//! line) first; then per environment the counts, the cost change, the plan
//! and the Kubernetes objects touched; then the rendered diff with each hunk
//! shown once, labelled with every environment it applies to. The comment
//! has a hard size budget under GitHub's 65,536 characters: the summary
//! always survives, details that do not fit are left out and named, and the
//! full report (everything) is written beside it for the job summary or an
//! artifact. Every line goes through the `Redactor`.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use serde::Serialize;
use similar::TextDiff;

use super::manifests::{Change, ObjectChange};
use super::terraform::{self, Summary};
use crate::changes::{self, FileChange, Kind};
use crate::config::keys::ConfigChange;
use crate::redact::Redactor;
use crate::render::env_of_path;

/// GitHub refuses a comment longer than 65,536 characters; this leaves room
/// for what the workflow adds.
pub const DEFAULT_BUDGET: usize = 60_000;

/// The hidden marker that lets a workflow find and update its own PR comment.
pub const COMMENT_MARKER: &str = "<!-- myhealthctl-diff -->";
/// Where the comment records each environment's plan fingerprint (JSON).
pub const PLANS_MARKER: &str = "myhealthctl-plans";

/// An environment whose estimated monthly cost changes.
#[derive(Debug, Clone, Serialize)]
pub struct CostChange {
    pub environment: String,
    pub before: Option<f64>,
    pub after: Option<f64>,
    /// What the estimate after the change has no price for: left out, so
    /// `after` is a lower bound.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub unpriced: Vec<String>,
    /// The same before the change (`before` is then a lower bound).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub unpriced_before: Vec<String>,
    /// The environment's region, when it is not the one whose prices the
    /// estimate uses (`cost::PRICE_REGION`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
}

impl CostChange {
    /// The estimates of one environment before and after a change (`None`:
    /// the environment does not exist on that side).
    pub fn of(
        environment: String,
        before: Option<&crate::cost::Estimate>,
        after: Option<&crate::cost::Estimate>,
    ) -> Self {
        let region = after.or(before).map(|e| e.region.clone()).filter(|r| r != crate::cost::PRICE_REGION);
        CostChange {
            environment,
            before: before.map(|e| e.total_usd),
            after: after.map(|e| e.total_usd),
            unpriced: after.map(crate::cost::Estimate::unpriced_names).unwrap_or_default(),
            unpriced_before: before.map(crate::cost::Estimate::unpriced_names).unwrap_or_default(),
            region,
        }
    }

    /// The estimate changed, or what it cannot price did.
    pub fn moved(&self) -> bool {
        self.before != self.after || self.unpriced != self.unpriced_before
    }

    /// `+$328.50`; a bound where a side leaves something out: `≥ -$20.04`
    /// (after is a lower bound), `≤ +$20.04` (before is), `unknown` (both).
    pub fn delta(&self) -> String {
        let d = self.after.unwrap_or(0.0) - self.before.unwrap_or(0.0);
        let d = if d >= 0.0 { format!("+{}", crate::cost::usd(d)) } else { crate::cost::usd(d) };
        match (self.unpriced_before.is_empty(), self.unpriced.is_empty()) {
            (true, true) => d,
            (true, false) => format!("≥ {d}"),
            (false, true) => format!("≤ {d}"),
            (false, false) => "unknown: both sides leave items out".into(),
        }
    }
}

/// An environment's estimate against its budget (`[budget]`), after the change.
#[derive(Debug, Clone, Serialize)]
pub struct BudgetCheck {
    pub environment: String,
    pub estimate: f64,
    pub limit: f64,
    pub warn_percent: u8,
    /// The estimate before the change (none: a new environment or no base).
    pub before: Option<f64>,
    /// The change takes the estimate over the limit.
    pub crossed: bool,
    /// The keys of `myhealth.toml` this change moves in the environment, the
    /// largest cost first.
    pub keys: Vec<BudgetKey>,
    /// What the estimate has no price for (left out: `estimate` is a lower
    /// bound, so being under the limit is not known).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub unpriced: Vec<String>,
    /// Of those, what the change brings in (the base's estimate did not
    /// leave it out): `--budget-gate` fails on it, as on a crossing.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub unpriced_added: Vec<String>,
    /// The environment's region, when it is not the one whose prices the
    /// estimate uses.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
}

/// A key a change moves, with what it alone adds to the estimate (the base
/// config with only that key changed; known when the change crossed the budget).
#[derive(Debug, Clone, Serialize)]
pub struct BudgetKey {
    pub key: String,
    pub adds_usd: Option<f64>,
}

impl BudgetCheck {
    pub fn over(&self) -> bool {
        self.estimate > self.limit
    }
}

/// `` `t3.nano`, `db.x2g.large` ``
pub fn names(v: &[String]) -> String {
    v.iter().map(|n| format!("`{n}`")).collect::<Vec<_>>().join(", ")
}

/// An estimate as the review shows it: `at least …` when something is unpriced.
fn estimate_usd(x: Option<f64>, unpriced: &[String]) -> String {
    match x {
        Some(_) if !unpriced.is_empty() => format!("at least {}", usd(x)),
        _ => usd(x),
    }
}

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
}

/// The comment and the full report.
pub struct Comment {
    pub body: String,
    pub full: String,
    /// Detail sections left out of `body`.
    pub omitted: Vec<String>,
}

fn usd(x: Option<f64>) -> String {
    x.map(crate::cost::usd).unwrap_or_else(|| "—".into())
}

fn delta(c: &CostChange) -> String {
    c.delta()
}

/// A value as the table shows it: strings bare, the rest as JSON; at most
/// 80 characters.
fn shown(v: Option<&serde_json::Value>, r: &Redactor) -> String {
    let s = match v {
        None => return "—".into(),
        Some(serde_json::Value::String(s)) => s.clone(),
        Some(v) => v.to_string(),
    };
    let s: String = r.apply(&s).replace('|', "\\|").replace('`', "'");
    if s.chars().count() > 80 { format!("{}…", s.chars().take(79).collect::<String>()) } else { s }
}

/// A fence longer than any run of backticks in `body`.
pub fn fenced(lang: &str, body: &str) -> String {
    let run = body.split(|c| c != '`').map(str::len).max().unwrap_or(0);
    let fence = "`".repeat(run.max(2) + 1);
    format!("{fence}{lang}\n{body}{}{fence}\n", if body.ends_with('\n') { "" } else { "\n" })
}

/// `helm/values-dev.yaml` → `helm/values-<env>.yaml` (and `terraform/envs/dev/…` → `…/<env>/…`).
fn template_of(path: &str, env: &str) -> String {
    let dir = format!("/{env}/");
    if path.contains(&dir) {
        return path.replacen(&dir, "/<env>/", 1);
    }
    let file = format!("-{env}.");
    if path.contains(&file) {
        return path.replacen(&file, "-<env>.", 1);
    }
    path.to_string()
}

/// The hunks of a file change: (header, body), redacted.
fn hunks(c: &FileChange<'_>, r: &Redactor) -> Vec<(String, String)> {
    let text = |b: Option<&[u8]>| std::str::from_utf8(b.unwrap_or_default()).ok().map(str::to_string);
    let (Some(o), Some(n)) = (text(c.old), text(c.new)) else {
        return vec![(String::new(), "(binary file)\n".into())];
    };
    let diff = TextDiff::from_lines(o.as_str(), n.as_str());
    let mut out = Vec::new();
    for h in diff.unified_diff().context_radius(3).iter_hunks() {
        let s = h.to_string();
        let (header, body) = s.split_once('\n').unwrap_or((&s, ""));
        let body: String = body.split_inclusive('\n').map(|l| changes::visible(&r.apply(l)).into_owned()).collect();
        out.push((header.to_string(), body));
    }
    out
}

/// The rendered diff, one block per file (its path with `<env>` for the
/// environment), each distinct hunk once with the environments it applies to.
fn file_blocks(files: &[FileChange<'_>], r: &Redactor) -> Vec<(String, String)> {
    // template → (hunk body → (first header, environments), the bodies in
    // order of appearance, each file's kind per environment).
    type Hunks = BTreeMap<String, (String, Vec<String>)>;
    type PerTemplate = (Hunks, Vec<String>, BTreeMap<String, Kind>);
    let mut by_template: BTreeMap<String, PerTemplate> = BTreeMap::new();
    for f in files {
        let env = env_of_path(f.path);
        let label = env.clone().unwrap_or_else(|| changes::SHARED.into());
        let template = env.as_deref().map_or_else(|| f.path.to_string(), |e| template_of(f.path, e));
        let entry = by_template.entry(template).or_default();
        entry.2.insert(label.clone(), f.kind);
        let (by_body, order, _) = entry;
        for (header, body) in hunks(f, r) {
            if !order.contains(&body) {
                order.push(body.clone());
            }
            by_body.entry(body).or_insert_with(|| (header, Vec::new())).1.push(label.clone());
        }
    }
    let mut blocks = Vec::new();
    for (template, (hunks, order, kinds)) in by_template {
        let all: BTreeSet<&String> = kinds.keys().collect();
        let envs = |list: &[String]| list.iter().map(|e| format!("`{e}`")).collect::<Vec<_>>().join(", ");
        let mut b = String::new();
        let how: Vec<String> = {
            let mut by_kind: BTreeMap<&str, Vec<String>> = BTreeMap::new();
            for (e, k) in &kinds {
                by_kind.entry(changes::kind_word(*k)).or_default().push(e.clone());
            }
            by_kind.into_iter().map(|(k, es)| format!("{k} in {}", envs(&es))).collect()
        };
        let _ = writeln!(b, "**`{template}`** — {}\n", how.join("; "));
        for body in order {
            let (header, list) = &hunks[&body];
            let applies: BTreeSet<&String> = list.iter().collect();
            if kinds.len() > 1 || applies.len() < all.len() {
                let _ = writeln!(
                    b,
                    "{}:",
                    if applies == all && all.len() > 1 { format!("all of {}", envs(list)) } else { envs(list) }
                );
            }
            b.push_str(&fenced("diff", &format!("{header}\n{body}")));
        }
        blocks.push((format!("rendered `{template}`"), b));
    }
    blocks
}

/// The objects one or more environments change alike.
fn object_block(envs: &[String], objs: &[ObjectChange], r: &Redactor) -> String {
    let names = envs.iter().map(|e| format!("<code>{e}</code>")).collect::<Vec<_>>().join(", ");
    let mut b = format!("<details><summary>Kubernetes objects of {names}: ");
    let count = |c: Change| objs.iter().filter(|o| o.change == c).count();
    let _ = writeln!(
        b,
        "{} added, {} changed, {} removed</summary>\n",
        count(Change::Added),
        count(Change::Changed),
        count(Change::Removed)
    );
    b.push_str("| change | object |\n| --- | --- |\n");
    for o in objs {
        let _ = writeln!(b, "| {} | `{}` |", serde_json::to_value(o.change).unwrap().as_str().unwrap_or(""), o.object);
    }
    b.push('\n');
    for o in objs.iter().filter(|o| !o.diff.is_empty()) {
        let body: String = o.diff.split_inclusive('\n').map(|l| changes::visible(&r.apply(l)).into_owned()).collect();
        b.push_str(&fenced("diff", &body));
    }
    b.push_str("</details>\n");
    b
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

    /// Under the per-environment table: whose prices the estimates are, and
    /// what each leaves out (never a silent $0) or prices at another
    /// region's list prices.
    fn price_notes(&self) -> String {
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
    fn summary(&self, marker: &str, r: &Redactor) -> String {
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
                let mut rows: Vec<(Vec<String>, &crate::config::keys::KeyChange)> = Vec::new();
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
                    let explain = format!("`myhealthctl explain {} --env {}`", super::ui::quote(&k.key), envs[0]);
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
                    delta(c)
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

    /// Details in the order they are kept when the budget runs out: plans,
    /// Kubernetes objects, the rendered diff.
    fn details(&self, r: &Redactor) -> Vec<(String, String)> {
        let mut out = Vec::new();
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
        let summary = self.summary(COMMENT_MARKER, r);
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
        Comment { body, full, omitted }
    }
}

/// The plan fingerprints a comment recorded (`<!-- myhealthctl-plans {…} -->`).
pub fn recorded_fingerprints(comment: &str) -> BTreeMap<String, String> {
    let start = format!("<!-- {PLANS_MARKER} ");
    comment
        .find(&start)
        .and_then(|i| comment[i + start.len()..].split_once(" -->"))
        .and_then(|(json, _)| serde_json::from_str(json).ok())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A side that leaves something out makes the change a bound, never a
    /// plain number.
    #[test]
    fn a_cost_change_with_something_unpriced_is_a_bound() {
        let c = |unpriced_before: &[&str], unpriced: &[&str]| CostChange {
            environment: "dev".into(),
            before: Some(172.31),
            after: Some(152.27),
            unpriced: unpriced.iter().map(|s| s.to_string()).collect(),
            unpriced_before: unpriced_before.iter().map(|s| s.to_string()).collect(),
            region: None,
        };
        assert_eq!(c(&[], &[]).delta(), "-$20.04");
        assert_eq!(c(&[], &["t3.nano"]).delta(), "≥ -$20.04");
        assert_eq!(c(&["t3.nano"], &[]).delta(), "≤ -$20.04");
        assert_eq!(c(&["t3.nano"], &["t3.nano"]).delta(), "unknown: both sides leave items out");
        assert!(
            c(&[], &["t3.nano"]).moved() && !CostChange { before: Some(1.0), after: Some(1.0), ..c(&[], &[]) }.moved()
        );
        let json = serde_json::to_value(c(&[], &[])).unwrap();
        assert_eq!(json, serde_json::json!({"environment": "dev", "before": 172.31, "after": 152.27}));
    }

    #[test]
    fn templates_name_the_environment_once() {
        assert_eq!(template_of("helm/values-dev.yaml", "dev"), "helm/values-<env>.yaml");
        assert_eq!(template_of("terraform/envs/dev/main.tf", "dev"), "terraform/envs/<env>/main.tf");
        assert_eq!(template_of("argocd/dev/addons.yaml", "dev"), "argocd/<env>/addons.yaml");
    }

    #[test]
    fn identical_hunks_are_shown_once_for_every_environment() {
        let mut old = crate::tree::Tree::new();
        let mut new = crate::tree::Tree::new();
        for env in ["dev", "staging", "prod"] {
            old.insert(format!("helm/values-{env}.yaml"), b"a: 1\nb: 2\nc: 3\n".to_vec());
            let c = if env == "prod" { "c: 9\n" } else { "c: 3\n" };
            new.insert(format!("helm/values-{env}.yaml"), format!("a: 1\nb: 5\n{c}").into_bytes());
        }
        let ch = changes::compare(&old, &new);
        let blocks = file_blocks(&ch, &Redactor);
        assert_eq!(blocks.len(), 1, "{blocks:?}");
        let b = &blocks[0].1;
        assert!(b.contains("**`helm/values-<env>.yaml`** — changed in `dev`, `prod`, `staging`"), "{b}");
        // dev and staging share one hunk; prod's differs (it also changes c).
        assert_eq!(b.matches("```diff").count(), 2, "{b}");
        assert!(b.contains("`dev`, `staging`:"), "{b}");
        assert!(b.contains("`prod`:"), "{b}");
    }

    #[test]
    fn fingerprints_round_trip_through_the_comment() {
        let text = format!("x\n<!-- {PLANS_MARKER} {{\"dev\":\"sha256:ab\"}} -->\n");
        assert_eq!(recorded_fingerprints(&text)["dev"], "sha256:ab");
        assert!(recorded_fingerprints("nothing").is_empty());
    }
}
