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
    let d = c.after.unwrap_or(0.0) - c.before.unwrap_or(0.0);
    if d >= 0.0 { format!("+{}", crate::cost::usd(d)) } else { crate::cost::usd(d) }
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
                let _ = writeln!(out, "- environment `{e}` **removed**");
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
            let cost = self
                .costs
                .iter()
                .find(|c| c.environment == env)
                .map_or("—".into(), |c| format!("{} → {} ({})", usd(c.before), usd(c.after), delta(c)));
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
        if !self.budgets.is_empty() {
            out.push_str(
                "\n#### Budgets\n\n| environment | estimate | budget | share | |\n| --- | --- | --- | ---: | --- |\n",
            );
            for b in &self.budgets {
                let share = b.estimate / b.limit * 100.0;
                let status = if b.crossed {
                    "❌ **crossed by this change**"
                } else if b.over() {
                    "❌ over"
                } else if share >= b.warn_percent as f64 {
                    "⚠️ above the warning"
                } else {
                    "✅"
                };
                let est = match b.before {
                    Some(x) if (x - b.estimate).abs() >= 0.005 => {
                        format!("{} → {}", usd(Some(x)), usd(Some(b.estimate)))
                    }
                    _ => usd(Some(b.estimate)),
                };
                let _ =
                    writeln!(out, "| `{}` | {est} | {} | {share:.0}% | {status} |", b.environment, usd(Some(b.limit)));
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
