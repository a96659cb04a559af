//! What a change to the config does to each environment's settings: the
//! keys whose resolved value moves, where the file sets each (after the
//! change, else before it), the environments added and removed, and how many
//! values moved that the file sets on neither side (defaults, derived values).

use std::collections::BTreeMap;

use serde_json::Value;

use super::{Setting, flatten, located};
use crate::config::doc::Doc;

/// One key of one environment whose resolved value a change moves.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct KeyChange {
    pub environment: String,
    pub key: String,
    pub before: Option<Value>,
    pub after: Option<Value>,
    /// Where the file sets it after the change (before it, for a key no
    /// longer set).
    pub at: Option<Setting>,
}

/// What a change to the config does, per environment.
#[derive(Debug, Default, Clone, serde::Serialize)]
pub struct ConfigChange {
    /// Keys set in the file on either side whose value moved, per environment.
    pub keys: Vec<KeyChange>,
    /// Environments only one side has.
    pub added: Vec<String>,
    pub removed: Vec<String>,
    /// Per environment, how many values moved that the file sets on neither
    /// side (built-in defaults, values derived from a changed key).
    pub derived: BTreeMap<String, usize>,
}

/// Compare the config before (`base`, with its text) and after a change.
pub fn compare(base: Option<(&crate::config::Config, &str)>, head: (&crate::config::Config, &str)) -> ConfigChange {
    let mut out = ConfigChange::default();
    let head_doc = Doc::parse(head.1).ok();
    let base_doc = base.and_then(|(_, t)| Doc::parse(t).ok());
    let names = |c: &crate::config::Config| c.environments.iter().map(|e| e.name.value.clone()).collect::<Vec<_>>();
    let base_names = base.map(|(c, _)| names(c)).unwrap_or_default();
    for e in &head.0.environments {
        let env = &e.name.value;
        let Some(b) = base.and_then(|(c, _)| c.env(env)) else {
            if base.is_some() {
                out.added.push(env.clone());
            }
            continue;
        };
        let (old, new) = (flatten(b), flatten(e));
        let mut keys: Vec<&String> = old.keys().chain(new.keys()).collect();
        keys.sort();
        keys.dedup();
        for key in keys {
            let (before, after) = (old.get(key), new.get(key));
            if before == after {
                continue;
            }
            let at_head = head_doc.as_ref().and_then(|d| located(d, head.1, env, key));
            let at_base = base_doc.as_ref().zip(base).and_then(|(d, (_, text))| located(d, text, env, key));
            if at_head.is_none() && at_base.is_none() {
                *out.derived.entry(env.clone()).or_default() += 1;
                continue;
            }
            out.keys.push(KeyChange {
                environment: env.clone(),
                key: key.clone(),
                before: before.cloned(),
                after: after.cloned(),
                at: at_head.or(at_base),
            });
        }
    }
    out.removed = base_names.into_iter().filter(|n| head.0.env(n).is_none()).collect();
    out
}
