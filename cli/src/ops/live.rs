//! Live drift of an environment: what the real infrastructure holds that
//! its Terraform state does not (`terraform plan -refresh-only`), resource
//! by resource and attribute by attribute (state → live, sensitive values
//! masked), each attributed to the key of `myhealth.toml` that owns the
//! attribute where one does; and, where its ArgoCD is reachable, the sync
//! and health of the environment's Applications.

use std::path::Path;

use anyhow::{Context, bail};
use serde::Serialize;
use serde_json::Value;

use super::argocd::HealthStatus;
use super::terraform;

/// The saved refresh-only plan, beside the normal one.
pub const DRIFT_PLAN: &str = "myhealthctl-drift.tfplan";

/// One attribute that differs between the state and what is live.
#[derive(Debug, Clone, Serialize)]
pub struct Attribute {
    /// `backup_retention_period`, `tags.Owner`, `ingress`.
    pub path: String,
    /// In the state (what Terraform last applied).
    pub state: Value,
    /// What AWS holds now.
    pub live: Value,
    /// The key of `myhealth.toml` that owns it, if one does.
    pub key: Option<String>,
}

/// A resource that drifted.
#[derive(Debug, Clone, Serialize)]
pub struct Drifted {
    pub address: String,
    pub r#type: String,
    /// `update`, or `delete` (gone from AWS).
    pub action: String,
    pub attributes: Vec<Attribute>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub environment: String,
    pub resources: Vec<Drifted>,
    /// The Applications' sync and health, when ArgoCD was asked.
    pub applications: Option<Vec<super::argocd::App>>,
    /// The chart's ExternalSecrets and whether each synced (ArgoCD's health of it).
    pub external_secrets: Option<Vec<super::argocd::Resource>>,
}

impl Report {
    pub fn drifted(&self) -> bool {
        !self.resources.is_empty()
            || self.applications.iter().flatten().any(|a| !a.in_sync_and_healthy())
            || self.external_secrets.iter().flatten().any(|e| e.health != HealthStatus::Healthy)
    }
}

/// A key of `myhealth.toml` that sets one attribute of a resource type,
/// through the environment root's variables and a module's input (the
/// test below follows each row through a render, as `explain` does).
struct Owned {
    r#type: &'static str,
    attribute: &'static str,
    /// A part of the resource's address, where several keys set the same
    /// attribute of one type (one log group per module).
    address: Option<&'static str>,
    key: &'static str,
}

const fn owned(
    r#type: &'static str,
    attribute: &'static str,
    address: Option<&'static str>,
    key: &'static str,
) -> Owned {
    Owned { r#type, attribute, address, key }
}

/// The attributes drift is attributed to a key for; any other is "changed
/// outside myhealth.toml's reach".
const OWNED: &[Owned] = &[
    owned("aws_db_instance", "backup_retention_period", None, "rds.backup_retention_days"),
    owned("aws_db_instance", "instance_class", None, "rds.instance_class"),
    owned("aws_db_instance", "allocated_storage", None, "rds.allocated_storage_gb"),
    owned("aws_db_instance", "multi_az", None, "rds.multi_az"),
    owned("aws_db_instance", "deletion_protection", None, "rds.deletion_protection"),
    owned("aws_db_instance", "engine_version", None, "rds.engine_version"),
    owned("aws_eks_cluster", "version", None, "eks.version"),
    owned("aws_cloudwatch_log_group", "retention_in_days", Some("flow"), "network.flow_logs_retention_days"),
    owned(
        "aws_cloudwatch_log_group",
        "retention_in_days",
        Some("api_gateway"),
        "api_gateway.access_log_retention_days",
    ),
    owned("aws_cloudwatch_log_group", "retention_in_days", Some("eks"), "eks.log_retention_days"),
    owned("aws_ecr_repository", "image_tag_mutability", None, "ecr.image_tag_mutability"),
];

/// The key that owns `attribute` of a resource, where one does.
pub fn owner(env: &str, r#type: &str, address: &str, attribute: &str) -> Option<String> {
    // The provider's default tags (`render::context::tags`), on every resource.
    match attribute {
        "tags.Project" | "tags_all.Project" => return Some("project.name".into()),
        "tags.Environment" | "tags_all.Environment" => return Some(format!("[environments.{env}] (its name)")),
        _ => {}
    }
    OWNED
        .iter()
        .find(|o| o.r#type == r#type && o.attribute == attribute && o.address.is_none_or(|a| address.contains(a)))
        .map(|o| o.key.to_string())
}

/// Leaf paths where `a` and `b` differ (`tags.Owner`, `ingress`): maps are
/// walked, anything else compared whole.
fn differences(prefix: &str, a: &Value, b: &Value, out: &mut Vec<(String, Value, Value)>) {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            let keys: std::collections::BTreeSet<&String> = x.keys().chain(y.keys()).collect();
            for k in keys {
                let path = if prefix.is_empty() { k.clone() } else { format!("{prefix}.{k}") };
                differences(&path, x.get(k).unwrap_or(&Value::Null), y.get(k).unwrap_or(&Value::Null), out);
            }
        }
        // Unset and empty are the same setting: not drift worth a line.
        _ if empty(a) && empty(b) => {}
        _ if a != b => out.push((prefix.to_string(), a.clone(), b.clone())),
        _ => {}
    }
}

fn empty(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::String(s) => s.is_empty(),
        Value::Array(a) => a.is_empty(),
        Value::Object(m) => m.is_empty(),
        _ => false,
    }
}

/// The report of a refresh-only plan, from `terraform show -json` of it.
pub fn report(env: &str, show: &str) -> anyhow::Result<Report> {
    let plan: Value = serde_json::from_str(show).context("`terraform show -json` printed no JSON")?;
    let mut resources = Vec::new();
    for rd in plan["resource_drift"].as_array().into_iter().flatten() {
        let c = &rd["change"];
        let actions: Vec<&str> = c["actions"].as_array().into_iter().flatten().filter_map(Value::as_str).collect();
        let action = if actions == ["delete"] { "delete" } else { "update" };
        let (address, r#type) = (rd["address"].as_str().unwrap_or("?"), rd["type"].as_str().unwrap_or(""));
        let mut diffs = Vec::new();
        // Sensitive values never reach the report.
        let before = terraform::masked(&c["before"], &c["before_sensitive"]);
        let after = terraform::masked(&c["after"], &c["after_sensitive"]);
        differences("", &before, &after, &mut diffs);
        let attributes: Vec<Attribute> = diffs
            .into_iter()
            .map(|(path, state, live)| Attribute { key: owner(env, r#type, address, &path), path, state, live })
            .collect();
        // A resource whose only differences were unset-versus-empty has not drifted.
        if attributes.is_empty() && action == "update" {
            continue;
        }
        resources.push(Drifted { address: address.into(), r#type: r#type.into(), action: action.into(), attributes });
    }
    Ok(Report { environment: env.into(), resources, applications: None, external_secrets: None })
}

/// Run the refresh-only plan of `dir` and read its drift.
pub fn terraform_drift(dir: &Path, env: &str) -> anyhow::Result<Report> {
    let argv = terraform::refresh_plan_argv(dir, DRIFT_PLAN);
    let (code, out) = super::ui::step(&format!("terraform plan -refresh-only ({env})"), || terraform::run(&argv))?;
    if code == 1 {
        bail!("`terraform plan -refresh-only` failed in `{}`:\n{}", dir.display(), terraform::stream_errors(&out));
    }
    let show = terraform::show_json(dir, env, DRIFT_PLAN)?;
    report(env, &show)
}

/// The report, for a person (`markdown`: for the drift issue).
pub fn text(r: &Report, markdown: bool) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    let env = &r.environment;
    if !r.drifted() {
        let _ = writeln!(out, "no drift in `{env}`: the infrastructure is what its state says");
    }
    if markdown && r.drifted() {
        let _ = writeln!(out, "### Drift in `{env}`\n");
        out.push_str("| resource | attribute | state | live | owned by |\n| --- | --- | --- | --- | --- |\n");
    } else if r.drifted() {
        let _ = writeln!(out, "drift in `{env}`: {} resource(s) differ from the state", r.resources.len());
    }
    let show = |v: &Value| crate::redact::Redactor.apply(&v.to_string()).into_owned();
    for d in &r.resources {
        if !markdown {
            let _ = writeln!(out, "  {} {}", if d.action == "delete" { "gone:" } else { "~" }, d.address);
        }
        for a in &d.attributes {
            let key = a.key.clone().unwrap_or_else(|| "no key (changed outside myhealth.toml's reach)".into());
            if markdown {
                let _ = writeln!(
                    out,
                    "| `{}` | `{}` | `{}` | `{}` | {key} |",
                    d.address,
                    a.path,
                    show(&a.state),
                    show(&a.live)
                );
            } else {
                let _ = writeln!(out, "      {}: {} → {}   ({key})", a.path, show(&a.state), show(&a.live));
            }
        }
    }
    if let Some(apps) = &r.applications {
        for a in apps {
            let _ = writeln!(
                out,
                "{}ArgoCD `{}`: {}, {} at {}",
                if markdown { "\n- " } else { "  " },
                a.name,
                a.sync,
                a.health,
                super::release::short(&a.revision)
            );
        }
    }
    for e in r.external_secrets.iter().flatten() {
        let _ = writeln!(
            out,
            "{}ExternalSecret `{}/{}`: {}{}",
            if markdown { "- " } else { "  " },
            e.namespace,
            e.name,
            e.health,
            e.message.as_ref().map(|m| format!(" ({m})")).unwrap_or_default()
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    /// The resource blocks of a Terraform file: (type, name, body).
    fn resources(text: &str) -> Vec<(String, String, String)> {
        let head = regex::Regex::new(r#"^resource "([a-z0-9_]+)" "([a-z0-9_]+)" \{"#).unwrap();
        let mut out = Vec::new();
        let mut lines = text.lines();
        while let Some(l) = lines.next() {
            let Some(c) = head.captures(l) else { continue };
            let mut depth = 1i32;
            let mut body = String::new();
            for l in lines.by_ref() {
                depth += l.matches('{').count() as i32 - l.matches('}').count() as i32;
                if depth <= 0 {
                    break;
                }
                body.push_str(l);
                body.push('\n');
            }
            out.push((c[1].to_string(), c[2].to_string(), body));
        }
        out
    }

    /// Each row of [`OWNED`] holds in the render: its key, changed, changes
    /// a variable of the environment root that a module reads (what
    /// `explain` tracks), and that module sets the row's attribute of a
    /// resource of the row's type, from that input, at an address the row
    /// matches. A row whose key moved, or whose attribute is no longer the
    /// key's, fails here.
    #[test]
    fn drift_owners_are_what_the_render_says_each_key_drives() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let text = std::fs::read_to_string(root.join("myhealth.toml")).unwrap();
        let cfg = crate::config::load(crate::diagnostics::Source { name: "myhealth.toml".into(), text: text.clone() })
            .unwrap();
        let templates = crate::render::Templates::embedded();
        let opts = crate::render::Options { only_envs: Vec::new(), config_name: "myhealth.toml".into() };
        let render = |c: &crate::config::Config| crate::render::render(c, &templates, &opts);
        let env = cfg.environments.first().unwrap();
        let keys: Vec<String> = OWNED.iter().map(|o| o.key.to_string()).collect();
        let explained =
            crate::ops::explain::explain(&cfg, &text, "myhealth.toml", &keys, &[env], true, &render, None).unwrap();
        let root_main = std::fs::read_to_string(root.join("templates/terraform/envs/{env}/main.tf.j2")).unwrap();
        let source = regex::Regex::new(r#"module "([a-z_]+)" \{\n  source = "\.\./\.\./modules/([a-z-]+)""#).unwrap();
        let module_dir: BTreeMap<String, String> =
            source.captures_iter(&root_main).map(|c| (c[1].to_string(), c[2].to_string())).collect();
        let reads = regex::Regex::new(r#"^var\.[a-z_0-9]+ → module "([a-z_]+)" ([a-z_0-9]+)$"#).unwrap();
        for (o, x) in OWNED.iter().zip(&explained) {
            let crate::ops::explain::Explained::Setting(x) = x else { panic!("{} is a table", o.key) };
            let inputs: Vec<(String, String)> = x
                .lands
                .iter()
                .flat_map(|l| &l.terraform)
                .filter_map(|t| reads.captures(t).map(|c| (c[1].to_string(), c[2].to_string())))
                .collect();
            let found = inputs.iter().any(|(module, input)| {
                let main = std::fs::read_to_string(
                    root.join(format!("templates/terraform/modules/{}/main.tf", module_dir[module])),
                )
                .unwrap();
                let set = regex::Regex::new(&format!(r"(?m)^\s*{}\s*=.*\bvar\.{input}\b", o.attribute)).unwrap();
                resources(&main).iter().any(|(t, name, body)| {
                    let address = format!("module.{module}.{t}.{name}");
                    t == o.r#type && set.is_match(body) && o.address.is_none_or(|a| address.contains(a))
                })
            });
            assert!(found, "`{}` does not set {}.{} (it reaches {inputs:?})", o.key, o.r#type, o.attribute);
        }
    }

    #[test]
    fn a_refresh_only_plan_reads_as_attributes_with_their_owners() {
        assert!(!report("dev", r#"{"format_version":"1.2"}"#).unwrap().drifted());
        let unset_vs_empty = serde_json::json!({ "resource_drift": [{ "address": "aws_kms_key.logs", "type": "aws_kms_key",
            "change": { "actions": ["update"], "before": { "tags": null }, "after": { "tags": {} } } }] });
        assert!(!report("dev", &unset_vs_empty.to_string()).unwrap().drifted());
        let show = serde_json::json!({ "resource_drift": [
            { "address": "module.rds.aws_db_instance.this", "type": "aws_db_instance", "change": { "actions": ["update"],
              "before": { "backup_retention_period": 7, "password": "a", "tags_all": { "Environment": "dev" } },
              "after": { "backup_retention_period": 1, "password": "b", "tags_all": { "Environment": "x" } },
              "before_sensitive": { "password": true }, "after_sensitive": { "password": true } } },
        ]});
        let r = report("dev", &show.to_string()).unwrap();
        assert!(r.drifted());
        let a = &r.resources[0].attributes;
        let keys: Vec<(&str, Option<&str>)> = a.iter().map(|x| (x.path.as_str(), x.key.as_deref())).collect();
        assert_eq!(
            keys,
            [
                ("backup_retention_period", Some("rds.backup_retention_days")),
                ("tags_all.Environment", Some("[environments.dev] (its name)"))
            ],
            "a sensitive value that changed is not reported: {a:?}"
        );
        assert!(
            text(&r, false).contains("backup_retention_period: 7 → 1   (rds.backup_retention_days)"),
            "{}",
            text(&r, false)
        );
    }
}
