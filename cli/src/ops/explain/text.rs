//! `explain` as text: a setting's chain of layers and where it lands, or a
//! table's keys.

use serde_json::Value;

use super::{Explained, Explanation, TableExplanation};

/// One explanation, for a person.
impl std::fmt::Display for Explained {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&text(self))
    }
}

fn text(x: &Explained) -> String {
    match x {
        Explained::Setting(x) => setting_text(x),
        Explained::Table(t) => table_text(t),
    }
}

pub(super) fn table_text(t: &TableExplanation) -> String {
    use std::fmt::Write as _;
    let mut out = format!(
        "{} in `{}` is a table of {} setting{} (explain one for what it drives):\n",
        t.key,
        t.environment,
        t.settings.len(),
        if t.settings.len() == 1 { "" } else { "s" }
    );
    for p in &t.settings {
        let from = match (&p.file, p.line, p.column) {
            (Some(f), Some(l), Some(c)) => format!("{}   {f}:{l}:{c}", p.layer.table(&t.environment)),
            _ => "built-in or derived".into(),
        };
        let _ = writeln!(out, "    {} = {}   ({from})", p.key, p.value);
    }
    out
}

pub(super) fn setting_text(x: &Explanation) -> String {
    use std::fmt::Write as _;
    let mut out = format!("{} in `{}` = {}\n", x.key, x.environment, x.value);
    for s in &x.chain {
        let mark = if s.wins { "→" } else { " " };
        let v = match (&s.value, &s.at) {
            (Some(v), _) => v.to_string(),
            // A layer whose list hides the lower one's, without this element.
            (None, Some(_)) => "(its list has no such element)".into(),
            (None, None) => "(overridden)".into(),
        };
        let _ = writeln!(
            out,
            "  {mark} {:<24} {v}{}",
            s.layer,
            s.at.as_ref().map(|a| format!("   {a}")).unwrap_or_default()
        );
    }
    if let Some(why) = &x.untracked {
        let _ = writeln!(out, "  what it drives is not tracked: {why}");
        return out;
    }
    if x.lands.is_empty() && x.cost_items.is_empty() && x.kubernetes.as_ref().is_none_or(Vec::is_empty) {
        let _ = writeln!(out, "  drives nothing: no generated file, object or cost changes with it");
        return out;
    }
    let probe = x.probe.as_ref().map(Value::to_string).unwrap_or_default();
    let _ = writeln!(out, "  lands in (tracked by rendering it as {probe}):");
    for l in &x.lands {
        let lines: Vec<String> = l.lines.iter().map(usize::to_string).collect();
        match lines.is_empty() {
            true => {
                let _ = writeln!(out, "    {} (a new file)", l.file);
            }
            false => {
                let _ = writeln!(out, "    {} line {}", l.file, lines.join(", "));
            }
        }
        for t in &l.terraform {
            let _ = writeln!(out, "      terraform: {t}");
        }
    }
    match &x.kubernetes {
        Some(objs) if !objs.is_empty() => {
            let _ = writeln!(out, "  Kubernetes objects: {}", objs.join(", "));
        }
        Some(_) => {
            let _ = writeln!(out, "  Kubernetes objects: none");
        }
        None => {}
    }
    if x.cost_items.is_empty() {
        let _ = writeln!(out, "  cost: no part of the estimate depends on it");
    } else {
        let _ = writeln!(
            out,
            "  cost: {} of {} a month ({:.0}%) depends on it:",
            crate::cost::usd(x.cost_usd),
            crate::cost::usd(x.total_usd),
            if x.total_usd > 0.0 { x.cost_usd / x.total_usd * 100.0 } else { 0.0 }
        );
        for i in &x.cost_items {
            let _ = writeln!(out, "    {i}");
        }
    }
    out
}
