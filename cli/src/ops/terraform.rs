//! Running Terraform in a rendered root: the exact command lines (built
//! here, shown by `deploy --dry-run` and run as built), `init` skipped while
//! nothing it depends on changed, `plan -out` summarised from its
//! machine-readable stream (counts, resources by action, stateful losses),
//! `apply` of a saved plan, `output`.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{Context, bail};
use serde::Serialize;

use super::ui::step;
use crate::args::InitArgs;

/// The plan file inside the root (ignored by drift checks, carried over by renders).
pub const PLAN_FILE: &str = "myhealthctl.tfplan";
/// The saved destroy plan (`destroy`).
pub const DESTROY_PLAN_FILE: &str = "myhealthctl-destroy.tfplan";
/// How long an apply waits for the state lock another apply holds, rather
/// than failing at once.
pub const LOCK_TIMEOUT: &str = "10m";
/// Plans never take the state lock: they write no state, and a saved plan
/// whose state changed meanwhile is refused by its apply ("Saved plan is
/// stale", terraform's `backend/local`). So a pull request's plan, a drift
/// check and an apply never wait on each other, a cancelled plan leaves no
/// lock behind, and the plan role needs no write to the state bucket at all.
const NO_LOCK: &str = "-lock=false";

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

#[derive(Serialize, serde::Deserialize, Debug, Clone, PartialEq, Eq)]
pub struct Resource {
    pub action: String,
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
        let action = match change["action"].as_str() {
            Some(a @ ("create" | "update" | "delete" | "replace")) => a,
            _ => continue, // noop, read, move, import
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
        let action = match actions.as_slice() {
            ["create"] => "create",
            ["update"] => "update",
            ["delete"] => "delete",
            ["delete", "create"] | ["create", "delete"] => "replace",
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
    fn push(&mut self, action: &str, address: &str, r#type: &str) {
        match action {
            "create" => self.add += 1,
            "update" => self.change += 1,
            "delete" => self.destroy += 1,
            _ => self.replace += 1,
        }
        if (action == "delete" || action == "replace") && STATEFUL.contains(&r#type) {
            self.stateful_losses.push(address.to_string());
        }
        self.resources.push(Resource { action: action.into(), address: address.into(), r#type: r#type.into() });
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
fn diagnostics(stream: &str) -> String {
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

const ORDER: [(&str, &str, &str); 4] = [
    ("replace", "-/+", "to replace"),
    ("delete", "-", "to destroy"),
    ("update", "~", "to change"),
    ("create", "+", "to add"),
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

/// Run a terraform command line (`argv[0]` is `terraform`), its output
/// captured (shown only when it fails): the exit code and the output.
pub fn run(argv: &[String]) -> anyhow::Result<(i32, String)> {
    let out = Command::new(&argv[0])
        .args(&argv[1..])
        .env("TF_IN_AUTOMATION", "1")
        .stdin(Stdio::null())
        .output()
        .with_context(|| {
            format!("cannot run `{}` (install Terraform {})", argv[0], crate::render::context::TERRAFORM_VERSION)
        })?;
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    Ok((out.status.code().unwrap_or(1), text))
}

fn chdir(dir: &Path) -> Vec<String> {
    vec!["terraform".into(), format!("-chdir={}", dir.display())]
}

/// `terraform -chdir=DIR plan -refresh-only …`, saved as `file`: what the
/// live infrastructure holds that the state does not (`ops::live`).
pub fn refresh_plan_argv(dir: &Path, file: &str) -> Vec<String> {
    let mut v = chdir(dir);
    v.extend(["plan", "-refresh-only", "-input=false", NO_LOCK, "-json", "-detailed-exitcode"].map(String::from));
    v.push(format!("-out={file}"));
    v
}

/// `terraform -chdir=DIR init …`.
pub fn init_argv(dir: &Path, init_args: &InitArgs) -> Vec<String> {
    let mut v = chdir(dir);
    v.extend(["init", "-input=false", "-no-color"].map(String::from));
    v.extend(init_args.plugin_dir.iter().map(|d| format!("-plugin-dir={}", d.display())));
    v.extend(init_args.backend_config.iter().map(|b| format!("-backend-config={b}")));
    v
}

/// `terraform -chdir=DIR plan … -out=FILE` (a destroy plan with `destroy`).
pub fn plan_argv(dir: &Path, destroy: bool) -> Vec<String> {
    let file = if destroy { DESTROY_PLAN_FILE } else { PLAN_FILE };
    let mut v = chdir(dir);
    v.extend(
        ["plan", "-input=false", NO_LOCK, "-json", "-detailed-exitcode", &format!("-out={file}")].map(String::from),
    );
    if destroy {
        v.push("-destroy".into());
    }
    v
}

/// `terraform -chdir=DIR apply` of a saved plan: applies exactly what was shown.
pub fn apply_argv(dir: &Path, file: &str) -> Vec<String> {
    let mut v = chdir(dir);
    v.extend(["apply", "-input=false", &format!("-lock-timeout={LOCK_TIMEOUT}"), "-no-color", file].map(String::from));
    v
}

/// `terraform -chdir=DIR show -json FILE` of a saved plan.
pub fn show_argv(dir: &Path, file: &str) -> Vec<String> {
    let mut v = chdir(dir);
    v.extend(["show", "-json", "-no-color", file].map(String::from));
    v
}

/// The summary of the plan saved as `file` in `dir` (what its apply would do).
pub fn saved_plan(dir: &Path, env: &str, file: &str) -> anyhow::Result<Summary> {
    if !dir.join(file).is_file() {
        bail!("no saved plan `{}`: run `myhealthctl plan {env}` first", dir.join(file).display());
    }
    summarise_show(env, &show_json(dir, env, file)?)
}

/// `terraform show -json` of the plan saved as `file` in `dir`.
pub fn show_json(dir: &Path, env: &str, file: &str) -> anyhow::Result<String> {
    let (code, out) = step(&format!("terraform show ({env})"), || run(&show_argv(dir, file)))?;
    if code != 0 {
        bail!("`terraform show` of `{file}` failed in `{}`:\n{out}", dir.display());
    }
    // Only the JSON line: warnings (a CLI config) may come first on stderr.
    Ok(out.lines().find(|l| l.starts_with('{')).unwrap_or("").to_string())
}

/// The errors of a `-json` stream, as terraform would print them.
pub fn stream_errors(stream: &str) -> String {
    diagnostics(stream)
}

/// `terraform -chdir=DIR output -json`.
pub fn output_argv(dir: &Path) -> Vec<String> {
    let mut v = chdir(dir);
    v.extend(["output", "-json"].map(String::from));
    v
}

/// The root directory of a command line built here (its `-chdir=`).
fn dir_of(argv: &[String]) -> PathBuf {
    argv.iter().find_map(|a| a.strip_prefix("-chdir=")).map(PathBuf::from).unwrap_or_else(|| PathBuf::from("."))
}

/// What `terraform init` depends on: every Terraform file of the root and of
/// the shared modules beside it, the lock file, the init flags. When it is
/// unchanged since our last successful init, init would do nothing but
/// re-verify the providers (5–7 s for the AWS provider) and is skipped.
fn init_fingerprint(dir: &Path, argv: &[String]) -> String {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    // The flags, not the directory (the same root moved keeps its init).
    for a in argv.iter().filter(|a| !a.starts_with("-chdir=")) {
        h.update(a.as_bytes());
        h.update([0]);
    }
    let mut files = Vec::new();
    let collect = |d: &Path, files: &mut Vec<PathBuf>| {
        let mut stack = vec![d.to_path_buf()];
        while let Some(d) = stack.pop() {
            for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
                let p = e.path();
                let name = e.file_name().to_string_lossy().into_owned();
                if p.is_dir() && !name.starts_with('.') {
                    stack.push(p);
                } else if name.ends_with(".tf") || name.ends_with(".tf.json") || name == ".terraform.lock.hcl" {
                    files.push(p);
                }
            }
        }
    };
    collect(dir, &mut files);
    if let Some(modules) = dir.parent().and_then(Path::parent).map(|t| t.join("modules")) {
        collect(&modules, &mut files);
    }
    files.sort();
    for f in files {
        h.update(f.to_string_lossy().as_bytes());
        h.update([0]);
        h.update(std::fs::read(&f).unwrap_or_default());
        h.update([0]);
    }
    format!("{:x}", h.finalize())
}

/// Where terraform keeps its working data for `dir` (`TF_DATA_DIR` is relative to it).
fn data_dir(dir: &Path) -> PathBuf {
    dir.join(std::env::var_os("TF_DATA_DIR").unwrap_or_else(|| ".terraform".into()))
}

/// Run `argv` (an [`init_argv`]) unless nothing it depends on changed since
/// our last successful init of that root.
pub fn init(argv: &[String], env: &str) -> anyhow::Result<()> {
    let dir = dir_of(argv);
    if !dir.join("main.tf").is_file() {
        bail!("`{}` holds no Terraform root: run `myhealthctl render`", dir.display());
    }
    let marker = data_dir(&dir).join("myhealthctl-init");
    if std::fs::read_to_string(&marker).ok().as_deref() == Some(init_fingerprint(&dir, argv).as_str()) {
        eprintln!("== terraform init ({env}): nothing it depends on changed since the last one, skipped");
        return Ok(());
    }
    step(&format!("terraform init ({env})"), || {
        let (code, out) = run(argv)?;
        if code != 0 {
            bail!("`terraform init` failed in `{}`:\n{out}", dir.display());
        }
        // Fingerprinted after init: init may have written the lock file.
        let _ = std::fs::write(&marker, init_fingerprint(&dir, argv));
        Ok(())
    })
}

/// Run `argv` (a [`plan_argv`]) and summarise the plan it saved.
pub fn plan(argv: &[String], env: &str) -> anyhow::Result<Summary> {
    let stream = step(&format!("terraform plan ({env})"), || {
        let (code, out) = run(argv)?;
        if code == 1 {
            bail!("`terraform plan` failed in `{}`:\n{}", dir_of(argv).display(), diagnostics(&out));
        }
        Ok(out)
    })?;
    let mut s = summarise(env, &stream);
    // With changes, the fingerprint covers their values too: from the saved
    // plan, as `apply` reads it (one more provider start, only then).
    if s.changes() {
        if let Some(file) = argv.iter().find_map(|a| a.strip_prefix("-out=")) {
            s.fingerprint = saved_plan(&dir_of(argv), env, file)?.fingerprint;
        }
    }
    Ok(s)
}

/// Run `argv` (an [`apply_argv`]); terraform's output when it succeeded.
pub fn apply(argv: &[String], env: &str) -> anyhow::Result<String> {
    step(&format!("terraform apply ({env})"), || {
        let (code, out) = run(argv)?;
        if code != 0 {
            bail!("`terraform apply` failed in `{}`:\n{out}", dir_of(argv).display());
        }
        Ok(out)
    })
}

/// init + plan of a root (a destroy plan with `destroy`) → the summary.
pub fn init_and_plan(dir: &Path, env: &str, init_args: &InitArgs, destroy: bool) -> anyhow::Result<Summary> {
    init(&init_argv(dir, init_args), env)?;
    plan(&plan_argv(dir, destroy), env)
}

/// A string output of the root's state (`api_url`), when there is one.
pub fn output(argv: &[String], name: &str) -> Option<String> {
    run(argv)
        .ok()
        .filter(|(code, _)| *code == 0)
        .and_then(|(_, json)| serde_json::from_str::<serde_json::Value>(&json).ok())
        .and_then(|v| v[name]["value"].as_str().map(str::to_string))
        .filter(|u| !u.is_empty())
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
        other.push("delete", "aws_kms_key.logs", "aws_kms_key");
        other.fingerprint = fingerprint(&other.resources);
        let c = compare(&saved, &other);
        assert!(!c.matches && c.only_now == ["delete aws_kms_key.logs"], "{c:?}");
        assert!(comparison_text(&c).contains("+ delete aws_kms_key.logs   (planned now, never reviewed)"));
        let failed = r#"{"type":"diagnostic","diagnostic":{"severity":"error","summary":"Invalid reference","detail":"No such module.","range":{"filename":"main.tf","start":{"line":3}}}}"#;
        assert_eq!(diagnostics(failed), "Error: Invalid reference\n  on main.tf line 3\n  No such module.\n");
    }

    #[test]
    fn command_lines_name_their_root() {
        let d = Path::new("/p/generated/terraform/envs/dev");
        let init = init_argv(d, &InitArgs { plugin_dir: vec!["/opt/tf".into()], backend_config: vec!["a=b".into()] });
        assert_eq!(init[..3], ["terraform", "-chdir=/p/generated/terraform/envs/dev", "init"]);
        assert!(init.ends_with(&["-plugin-dir=/opt/tf".to_string(), "-backend-config=a=b".to_string()]));
        assert_eq!(dir_of(&plan_argv(d, true)), d);
        assert_eq!(apply_argv(d, PLAN_FILE).last().map(String::as_str), Some(PLAN_FILE));
    }
}
