//! What a Terraform plan does, read from its machine-readable output:
//! counts, resources by [`Action`], stateful losses, the fingerprint a
//! review pins; a plan against the reviewed one; the text and markdown that
//! show it.

use anyhow::Context;
use serde::{Deserialize, Serialize};

/// Resource types whose loss loses data: a destroy or replace of one is shouted about.
const STATEFUL: &[&str] = &[
    "aws_db_instance",
    "aws_rds_cluster",
    "aws_db_snapshot",
    "aws_s3_bucket",
    "aws_secretsmanager_secret",
    "aws_secretsmanager_secret_version",
    "aws_kms_key",
    "aws_ebs_volume",
    "aws_efs_file_system",
    "aws_dynamodb_table",
    "aws_ecr_repository",
    "aws_ssm_parameter",
    "aws_eks_cluster",
    "aws_cloudwatch_log_group",
];

#[derive(Serialize, serde::Deserialize, Default, Debug, Clone)]
pub struct Summary {
    pub environment: String,
    pub add: usize,
    pub change: usize,
    pub destroy: usize,
    pub replace: usize,
    /// (action, address), in plan order, no-ops left out.
    pub resources: Vec<Resource>,
    /// Stateful resources a destroy or replace would lose.
    pub stateful_losses: Vec<String>,
    /// What the plan does, as one value: `sha256:` of each change's action,
    /// address and values (before, after, what is unknown until applied;
    /// sensitive values masked), sorted. The plan a PR reviewed and the plan
    /// applied after the merge must have the same.
    pub fingerprint: String,
}

/// What Terraform plans for one resource: `planned_change.change.action` of
/// its machine-readable UI, spelled as it spells them (`plan --json` prints
/// them, and a review reads them back from an earlier run's artifacts).
#[derive(Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    #[serde(rename = "noop")]
    NoOp,
    Move,
    Create,
    Read,
    Update,
    Replace,
    Delete,
    Import,
    /// `removed` blocks: out of the state, the object left alone.
    #[serde(rename = "remove")]
    Forget,
}

impl Action {
    /// Terraform's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Action::NoOp => "noop",
            Action::Move => "move",
            Action::Create => "create",
            Action::Read => "read",
            Action::Update => "update",
            Action::Replace => "replace",
            Action::Delete => "delete",
            Action::Import => "import",
            Action::Forget => "remove",
        }
    }

    /// Whether the object (and its data) goes away.
    pub fn loses(self) -> bool {
        matches!(self, Action::Delete | Action::Replace)
    }
}

impl std::fmt::Display for Action {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Serialize, serde::Deserialize, Debug, Clone, PartialEq, Eq)]
pub struct Resource {
    pub action: Action,
    pub address: String,
    pub r#type: String,
}

impl Summary {
    pub fn changes(&self) -> bool {
        self.add + self.change + self.destroy + self.replace > 0
    }
}

/// Read the machine-readable UI of `terraform plan -json` (one JSON object
/// per line): every `planned_change` is a resource to act on. Reading the
/// stream, rather than a separate `terraform show -json` of the saved plan,
/// spares a second start of the provider (~6 s with the AWS provider: it was
/// most of `plan`'s overhead over plain terraform).
pub fn summarise(environment: &str, stream: &str) -> Summary {
    let mut s = Summary { environment: environment.into(), ..Default::default() };
    for line in stream.lines() {
        let Ok(msg) = serde_json::from_str::<serde_json::Value>(line) else { continue };
        if msg["type"] != "planned_change" {
            continue;
        }
        let change = &msg["change"];
        let action = match serde_json::from_value::<Action>(change["action"].clone()) {
            Ok(a @ (Action::Create | Action::Update | Action::Delete | Action::Replace)) => a,
            _ => continue, // noop, read, move, import, remove
        };
        let address = change["resource"]["addr"].as_str().unwrap_or("?");
        let r#type = change["resource"]["resource_type"].as_str().unwrap_or("");
        s.push(action, address, r#type);
    }
    s.fingerprint = fingerprint(&s.resources);
    s
}

/// The summary of a saved plan, from `terraform show -json PLAN`: what
/// `apply` of that file would do (its `resource_changes`).
pub fn summarise_show(environment: &str, json: &str) -> anyhow::Result<Summary> {
    let plan: serde_json::Value = serde_json::from_str(json).context("`terraform show -json` printed no JSON")?;
    let mut s = Summary { environment: environment.into(), ..Default::default() };
    let mut changes = Vec::new();
    for rc in plan["resource_changes"].as_array().into_iter().flatten() {
        let c = &rc["change"];
        let actions: Vec<&str> = c["actions"].as_array().into_iter().flatten().filter_map(|a| a.as_str()).collect();
        // The plan representation spells a replace as two actions.
        let action = match actions.as_slice() {
            ["create"] => Action::Create,
            ["update"] => Action::Update,
            ["delete"] => Action::Delete,
            ["delete", "create"] | ["create", "delete"] => Action::Replace,
            _ => continue, // no-op, read, forget
        };
        let address = rc["address"].as_str().unwrap_or("?");
        s.push(action, address, rc["type"].as_str().unwrap_or(""));
        // The values, with every sensitive leaf masked: the fingerprint is
        // published (the PR comment), a hash of a secret must not be.
        let values = serde_json::json!([
            masked(&c["before"], &c["before_sensitive"]),
            masked(&c["after"], &c["after_sensitive"]),
            c["after_unknown"],
        ]);
        changes.push(format!("{action} {address} {values}"));
    }
    s.fingerprint = digest_lines(changes);
    Ok(s)
}

/// `value` with every leaf `sensitive` marks (terraform's `*_sensitive`
/// shape: `true`, or the same structure of booleans) replaced.
pub fn masked(value: &serde_json::Value, sensitive: &serde_json::Value) -> serde_json::Value {
    use serde_json::Value as V;
    match (value, sensitive) {
        (_, V::Bool(true)) => V::String("(sensitive)".into()),
        (V::Object(m), V::Object(s)) => {
            V::Object(m.iter().map(|(k, v)| (k.clone(), masked(v, s.get(k).unwrap_or(&V::Null)))).collect())
        }
        (V::Array(a), V::Array(s)) => {
            V::Array(a.iter().enumerate().map(|(i, v)| masked(v, s.get(i).unwrap_or(&V::Null))).collect())
        }
        _ => value.clone(),
    }
}

impl Summary {
    fn push(&mut self, action: Action, address: &str, r#type: &str) {
        match action {
            Action::Create => self.add += 1,
            Action::Update => self.change += 1,
            Action::Delete => self.destroy += 1,
            _ => self.replace += 1,
        }
        if action.loses() && STATEFUL.contains(&r#type) {
            self.stateful_losses.push(address.to_string());
        }
        self.resources.push(Resource { action, address: address.into(), r#type: r#type.into() });
    }
}

/// A plan against the one a review saw.
#[derive(Debug, Clone, Serialize)]
pub struct Comparison {
    pub reviewed: String,
    pub now: String,
    pub matches: bool,
    /// `action address` the reviewed plan had and this one has not, and the other way round.
    pub only_reviewed: Vec<String>,
    pub only_now: Vec<String>,
}

pub fn compare(reviewed: &Summary, now: &Summary) -> Comparison {
    let lines = |s: &Summary| -> std::collections::BTreeSet<String> {
        s.resources.iter().map(|r| format!("{} {}", r.action, r.address)).collect()
    };
    let (a, b) = (lines(reviewed), lines(now));
    Comparison {
        reviewed: reviewed.fingerprint.clone(),
        now: now.fingerprint.clone(),
        matches: reviewed.fingerprint == now.fingerprint,
        only_reviewed: a.difference(&b).cloned().collect(),
        only_now: b.difference(&a).cloned().collect(),
    }
}

/// The plan-versus-plan diff, for a person.
pub fn comparison_text(c: &Comparison) -> String {
    if c.matches {
        return format!("the plan is the reviewed plan ({})\n", c.now);
    }
    let mut out = format!("the plan DIFFERS from the reviewed plan: reviewed {}, now {}\n", c.reviewed, c.now);
    if c.only_reviewed.is_empty() && c.only_now.is_empty() {
        out.push_str("  the same resources and actions, with other values\n");
    }
    for l in &c.only_reviewed {
        out.push_str(&format!("  - {l}   (reviewed, no longer planned)\n"));
    }
    for l in &c.only_now {
        out.push_str(&format!("  + {l}   (planned now, never reviewed)\n"));
    }
    out
}

/// `sha256:` of the `action address` lines of `resources`, sorted (terraform
/// streams planned changes in no fixed order): the fingerprint of a plan
/// whose values are not at hand (none is, before `terraform show`).
pub fn fingerprint(resources: &[Resource]) -> String {
    digest_lines(resources.iter().map(|r| format!("{} {}", r.action, r.address)).collect())
}

fn digest_lines(mut lines: Vec<String>) -> String {
    use sha2::{Digest, Sha256};
    lines.sort();
    let mut h = Sha256::new();
    for l in lines {
        h.update(l.as_bytes());
        h.update(b"\n");
    }
    format!("sha256:{:x}", h.finalize())
}

/// The errors of a machine-readable UI stream, as terraform would print them.
pub(super) fn diagnostics(stream: &str) -> String {
    let mut out = String::new();
    for line in stream.lines() {
        match serde_json::from_str::<serde_json::Value>(line) {
            Ok(msg) if msg["type"] == "diagnostic" && msg["diagnostic"]["severity"] == "error" => {
                let d = &msg["diagnostic"];
                out.push_str(&format!("Error: {}\n", d["summary"].as_str().unwrap_or("")));
                if let Some(file) = d["range"]["filename"].as_str() {
                    out.push_str(&format!("  on {file} line {}\n", d["range"]["start"]["line"]));
                }
                if let Some(detail) = d["detail"].as_str().filter(|t| !t.is_empty()) {
                    out.push_str(&format!("  {detail}\n"));
                }
            }
            Ok(_) => {}
            Err(_) => out.push_str(&format!("{line}\n")), // not JSON: terraform's own failure text
        }
    }
    out
}

const ORDER: [(Action, &str, &str); 4] = [
    (Action::Replace, "-/+", "to replace"),
    (Action::Delete, "-", "to destroy"),
    (Action::Update, "~", "to change"),
    (Action::Create, "+", "to add"),
];

pub fn text(s: &Summary) -> String {
    let mut out = format!(
        "plan for `{}`: {} to add, {} to change, {} to destroy, {} to replace\n",
        s.environment, s.add, s.change, s.destroy, s.replace
    );
    if !s.changes() {
        out = format!("plan for `{}`: no changes — the infrastructure matches the config\n", s.environment);
    }
    for (action, sign, title) in ORDER {
        let group: Vec<&Resource> = s.resources.iter().filter(|r| r.action == action).collect();
        if !group.is_empty() {
            out.push_str(&format!("\n{title} ({}):\n", group.len()));
            for r in group {
                out.push_str(&format!("  {sign} {}\n", r.address));
            }
        }
    }
    if !s.stateful_losses.is_empty() {
        out.push_str(&format!(
            "\nwarning: this plan DESTROYS OR REPLACES {} stateful resource(s) of `{}` — their data is lost:\n",
            s.stateful_losses.len(),
            s.environment
        ));
        for a in &s.stateful_losses {
            out.push_str(&format!("  !! {a}\n"));
        }
    }
    if s.changes() {
        out.push_str(&format!("\nplan fingerprint: {}\n", s.fingerprint));
    }
    out
}

pub fn markdown(s: &Summary) -> String {
    let mut out = format!("\n#### Terraform plan of `{}`\n\n", s.environment);
    if !s.changes() {
        out.push_str("No changes: the infrastructure matches the config.\n");
        return out;
    }
    if !s.stateful_losses.is_empty() {
        out.push_str(&format!(
            "> [!CAUTION]\n> Destroys or replaces **{} stateful resource(s)** — their data is lost: {}\n\n",
            s.stateful_losses.len(),
            s.stateful_losses.iter().map(|a| format!("`{a}`")).collect::<Vec<_>>().join(", ")
        ));
    }
    out.push_str("| add | change | destroy | replace |\n| ---: | ---: | ---: | ---: |\n");
    out.push_str(&format!("| {} | {} | {} | {} |\n\n", s.add, s.change, s.destroy, s.replace));
    out.push_str("<details><summary>resources</summary>\n\n");
    for (action, sign, _) in ORDER {
        for r in s.resources.iter().filter(|r| r.action == action) {
            out.push_str(&format!("- `{sign}` `{}`\n", r.address));
        }
    }
    out.push_str("\n</details>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summary_counts_groups_and_warns() {
        let change = |action: &str, addr: &str, ty: &str| {
            serde_json::json!({ "type": "planned_change", "change": { "action": action, "resource": { "addr": addr, "resource_type": ty } } })
                .to_string()
        };
        let plan = [
            r#"{"@level":"info","type":"version","terraform":"1.11.0"}"#.to_string(),
            change("replace", "module.rds.aws_db_instance.this", "aws_db_instance"),
            change("create", "aws_iam_role.x", "aws_iam_role"),
            change("update", "aws_iam_role.y", "aws_iam_role"),
            change("delete", "aws_s3_bucket.logs", "aws_s3_bucket"),
            change("noop", "aws_vpc.this", "aws_vpc"),
            r#"{"type":"change_summary","changes":{"add":2,"change":1,"remove":2}}"#.to_string(),
        ]
        .join("\n");
        let s = summarise("prod", &plan);
        assert_eq!((s.add, s.change, s.destroy, s.replace), (1, 1, 1, 1));
        assert_eq!(s.stateful_losses, ["module.rds.aws_db_instance.this", "aws_s3_bucket.logs"]);
        let t = text(&s);
        assert!(t.starts_with("plan for `prod`: 1 to add, 1 to change, 1 to destroy, 1 to replace"), "{t}");
        assert!(t.contains("to replace (1):\n  -/+ module.rds.aws_db_instance.this"), "{t}");
        assert!(t.contains("warning: this plan DESTROYS OR REPLACES 2 stateful resource(s)"), "{t}");
        assert!(markdown(&s).contains("[!CAUTION]"));
        assert!(!summarise("dev", "").changes());
        // The saved plan's view: the same resources and actions, and a
        // fingerprint that covers the values (a secret's masked).
        let show = |retention: u32, password: &str| {
            serde_json::json!({ "resource_changes": [
                { "address": "module.rds.aws_db_instance.this", "type": "aws_db_instance", "change": { "actions": ["delete", "create"],
                  "before": { "backup_retention_period": 7 }, "after": { "backup_retention_period": retention, "password": password },
                  "after_sensitive": { "password": true }, "after_unknown": { "id": true } } },
                { "address": "aws_iam_role.x", "type": "aws_iam_role", "change": { "actions": ["create"] } },
                { "address": "aws_iam_role.y", "type": "aws_iam_role", "change": { "actions": ["update"] } },
                { "address": "aws_s3_bucket.logs", "type": "aws_s3_bucket", "change": { "actions": ["delete"] } },
                { "address": "aws_vpc.this", "type": "aws_vpc", "change": { "actions": ["no-op"] } },
            ]})
            .to_string()
        };
        let saved = summarise_show("prod", &show(14, "hunter2")).unwrap();
        assert_eq!(saved.resources, s.resources);
        assert_eq!(saved.stateful_losses.len(), 2);
        assert_eq!(
            summarise_show("prod", &show(14, "other")).unwrap().fingerprint,
            saved.fingerprint,
            "a secret is not in it"
        );
        let values = summarise_show("prod", &show(30, "hunter2")).unwrap();
        let c = compare(&saved, &values);
        assert!(!c.matches && c.only_now.is_empty() && c.only_reviewed.is_empty(), "{c:?}");
        assert!(comparison_text(&c).contains("the same resources and actions, with other values"));
        let c = compare(&saved, &saved.clone());
        assert!(c.matches && c.only_now.is_empty());
        let mut other = saved.clone();
        other.push(Action::Delete, "aws_kms_key.logs", "aws_kms_key");
        other.fingerprint = fingerprint(&other.resources);
        let c = compare(&saved, &other);
        assert!(!c.matches && c.only_now == ["delete aws_kms_key.logs"], "{c:?}");
        assert!(comparison_text(&c).contains("+ delete aws_kms_key.logs   (planned now, never reviewed)"));
        let failed = r#"{"type":"diagnostic","diagnostic":{"severity":"error","summary":"Invalid reference","detail":"No such module.","range":{"filename":"main.tf","start":{"line":3}}}}"#;
        assert_eq!(diagnostics(failed), "Error: Invalid reference\n  on main.tf line 3\n  No such module.\n");
        // Terraform's spellings, both ways.
        for a in ["noop", "move", "create", "read", "update", "replace", "delete", "import", "remove"] {
            let parsed: Action = serde_json::from_value(a.into()).unwrap();
            assert_eq!((parsed.to_string(), serde_json::to_value(parsed).unwrap()), (a.to_string(), a.into()));
        }
    }
}
