//! Backward from a generated line to the config key that drives it — for a
//! policy finding about a generated file. The same tracking `explain` does,
//! asked the other way: the environment's settings whose value is written
//! on that line are each set to another value and rendered again (as
//! `explain KEY` does), and the first whose change moves that very line is
//! the driver. A value that is not on the line is never the driver, so
//! only a few settings are probed.

use serde_json::Value;

use super::{Explained, explain};
use crate::config::Config;
use crate::config::keys;
use crate::tree::Tree;

/// The texts a value is rendered as, worth looking for on a line: a
/// scalar's (a boolean or number as a word; a string itself), a list's elements'.
fn written(v: &Value) -> Vec<String> {
    match v {
        Value::String(s) if !s.is_empty() => vec![s.clone()],
        Value::Bool(b) => vec![b.to_string()],
        Value::Number(n) => vec![n.to_string()],
        Value::Array(a) => a.iter().flat_map(written).collect(),
        _ => Vec::new(),
    }
}

fn on_line(line: &str, needle: &str) -> bool {
    let word = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == '.' || c == '-';
    line.match_indices(needle).any(|(i, _)| {
        !line[..i].chars().next_back().is_some_and(word) && !line[i + needle.len()..].chars().next().is_some_and(word)
    })
}

/// The key of environment `env` (a key path within it, as `explain` takes
/// it) whose value `line` (1-based) of `tree_path` renders, if one does.
/// `text`/`display`: the config's source; `render` renders a config.
#[allow(clippy::too_many_arguments)]
pub fn driving_key(
    cfg: &Config,
    text: &str,
    display: &str,
    env: &str,
    tree: &Tree,
    tree_path: &str,
    line: usize,
    render: &dyn Fn(&Config) -> anyhow::Result<Tree>,
) -> Option<String> {
    let e = cfg.env(env)?;
    let content = String::from_utf8_lossy(tree.get(tree_path)?);
    let shown = content.lines().nth(line.checked_sub(1)?)?;
    // A list's elements (`instance_types.0`) are settings of their own in the flat map.
    let candidates: Vec<String> = keys::flatten(e)
        .into_iter()
        .filter(|(_, v)| written(v).iter().any(|w| on_line(shown, w)))
        .map(|(k, _)| format!("environments.{env}.{k}"))
        .collect();
    if candidates.is_empty() {
        return None;
    }
    let found = explain(cfg, text, display, &candidates, &[e], true, render, None).ok()?;
    found.into_iter().find_map(|x| match x {
        Explained::Setting(s) if s.lands.iter().any(|l| l.file == tree_path && l.lines.contains(&line)) => Some(s.key),
        _ => None,
    })
}

#[cfg(test)]
mod tests {
    use super::on_line;

    #[test]
    fn a_value_is_found_as_a_whole_word() {
        assert!(on_line("endpoint_public_access     = true", "true"));
        assert!(!on_line("value = trueish", "true"));
        assert!(on_line("cluster_version = \"1.33\"", "1.33"));
        assert!(!on_line("cluster_version = \"1.330\"", "1.33"));
    }
}
