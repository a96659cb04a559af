//! The markdown pieces of the review: values as the table shows them,
//! fenced blocks, and the rendered diff as one block per file template,
//! each distinct hunk once with the environments it applies to.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use similar::TextDiff;

use super::super::manifests::{Change, ObjectChange};
use crate::changes::{self, FileChange, Kind};
use crate::redact::Redactor;
use crate::render::env_of_path;

/// A value as the table shows it: strings bare, the rest as JSON; at most
/// 80 characters.
pub(super) fn shown(v: Option<&serde_json::Value>, r: &Redactor) -> String {
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

/// The hunks of a file change: (header, body), redacted.
pub(super) fn hunks(c: &FileChange<'_>, r: &Redactor) -> Vec<(String, String)> {
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
pub(super) fn file_blocks(files: &[FileChange<'_>], r: &Redactor) -> Vec<(String, String)> {
    // template → (hunk body → (first header, environments), the bodies in
    // order of appearance, each file's kind per environment).
    type Hunks = BTreeMap<String, (String, Vec<String>)>;
    type PerTemplate = (Hunks, Vec<String>, BTreeMap<String, Kind>);
    let mut by_template: BTreeMap<String, PerTemplate> = BTreeMap::new();
    for f in files {
        let env = env_of_path(f.path);
        let label = env.clone().unwrap_or_else(|| changes::SHARED.into());
        let template = env.as_deref().map_or_else(|| f.path.to_string(), |e| crate::render::env_template_of(f.path, e));
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
pub(super) fn object_block(envs: &[String], objs: &[ObjectChange], r: &Redactor) -> String {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_name_the_environment_once() {
        assert_eq!(crate::render::env_template_of("helm/values-dev.yaml", "dev"), "helm/values-<env>.yaml");
        assert_eq!(crate::render::env_template_of("terraform/envs/dev/main.tf", "dev"), "terraform/envs/<env>/main.tf");
        assert_eq!(crate::render::env_template_of("argocd/dev/addons.yaml", "dev"), "argocd/<env>/addons.yaml");
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
}
