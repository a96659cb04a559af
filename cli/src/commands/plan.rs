//! `myhealthctl plan ENV`: `terraform init` + `plan -out` in the
//! environment's rendered root — refused while `generated/` has drifted from
//! the config — then a summary read from `plan -json`'s machine-readable UI: counts to
//! add / change / destroy / replace, resources grouped by action, and a loud
//! warning for any destroy or replace of a stateful resource. Exit codes
//! follow terraform's `-detailed-exitcode`: 0 no changes, 2 changes, 1 error
//! or refusal.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use clap::Args;
use serde::Serialize;

use super::diff::Format;
use crate::cli::{Global, Outcome, Project, TreeArgs};

#[derive(Args, Debug)]
pub struct PlanCmd {
    /// The environment to plan
    #[arg(value_name = "ENV")]
    pub env: String,
    #[command(flatten)]
    pub args: TreeArgs,
    /// Output format of the summary
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// Same as `--format json`
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub init: InitArgs,
}

/// What `terraform init` gets passed through (shared by `plan`, `destroy`).
#[derive(Args, Debug, Default, Clone)]
pub struct InitArgs {
    /// Passed to `terraform init -plugin-dir` (a provider mirror; repeatable)
    #[arg(long, value_name = "DIR")]
    pub plugin_dir: Vec<PathBuf>,
    /// Passed to `terraform init -backend-config` (e.g. an endpoint; repeatable)
    #[arg(long, value_name = "KEY=VALUE")]
    pub backend_config: Vec<String>,
}

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

#[derive(Serialize, Default, Debug)]
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
}

#[derive(Serialize, Debug)]
pub struct Resource {
    pub action: &'static str,
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
            Some("create") => "create",
            Some("update") => "update",
            Some("delete") => "delete",
            Some("replace") => "replace",
            _ => continue, // noop, read, move, import
        };
        match action {
            "create" => s.add += 1,
            "update" => s.change += 1,
            "delete" => s.destroy += 1,
            _ => s.replace += 1,
        }
        let address = change["resource"]["addr"].as_str().unwrap_or("?").to_string();
        let r#type = change["resource"]["resource_type"].as_str().unwrap_or("").to_string();
        if (action == "delete" || action == "replace") && STATEFUL.contains(&r#type.as_str()) {
            s.stateful_losses.push(address.clone());
        }
        s.resources.push(Resource { action, address, r#type });
    }
    s
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

/// One long step: a spinner with the elapsed time on a terminal, plain
/// `== step` / `done in` lines otherwise (CI logs).
pub fn step<T>(what: &str, f: impl FnOnce() -> anyhow::Result<T>) -> anyhow::Result<T> {
    let started = Instant::now();
    let spinner = std::io::stderr().is_terminal().then(|| {
        let pb = indicatif::ProgressBar::new_spinner();
        pb.set_style(
            indicatif::ProgressStyle::with_template("{spinner} {msg} ({elapsed})").expect("a valid spinner template"),
        );
        pb.set_message(what.to_string());
        pb.enable_steady_tick(Duration::from_millis(100));
        pb
    });
    if spinner.is_none() {
        eprintln!("== {what}");
    }
    let r = f();
    let secs = started.elapsed().as_secs_f64();
    if let Some(pb) = &spinner {
        // The line that stays: a mark and the time taken, no spinner.
        pb.set_style(indicatif::ProgressStyle::with_template("{msg}").expect("a valid template"));
    }
    match (&r, spinner) {
        (Ok(_), Some(pb)) => pb.finish_with_message(format!("✓ {what} ({secs:.1} s)")),
        (Err(_), Some(pb)) => pb.abandon_with_message(format!("✗ {what} ({secs:.1} s)")),
        (Ok(_), None) => eprintln!("   done in {secs:.1} s"),
        (Err(_), None) => eprintln!("   failed after {secs:.1} s"),
    }
    r
}

/// Run `terraform ARGS` (the first is `-chdir=…`), its output captured (shown only when it fails).
pub fn terraform(args: &[String]) -> anyhow::Result<(i32, String)> {
    let out = Command::new("terraform")
        .args(args)
        .env("TF_IN_AUTOMATION", "1")
        .stdin(Stdio::null())
        .output()
        .context("cannot run `terraform` (install Terraform >= 1.10)")?;
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    Ok((out.status.code().unwrap_or(1), text))
}

/// `terraform -chdir=DIR init …` as run (and shown by `deploy --dry-run`), without the program name.
pub fn init_argv(dir: &Path, init_args: &InitArgs) -> Vec<String> {
    let mut v = vec![format!("-chdir={}", dir.display()), "init".into(), "-input=false".into(), "-no-color".into()];
    v.extend(init_args.plugin_dir.iter().map(|d| format!("-plugin-dir={}", d.display())));
    v.extend(init_args.backend_config.iter().map(|b| format!("-backend-config={b}")));
    v
}

/// `terraform -chdir=DIR plan … -out=FILE` (a destroy plan with `destroy`).
pub fn plan_argv(dir: &Path, destroy: bool) -> Vec<String> {
    let file = if destroy { DESTROY_PLAN_FILE } else { PLAN_FILE };
    let mut v: Vec<String> = vec![format!("-chdir={}", dir.display())];
    v.extend(["plan", "-input=false", "-json", "-detailed-exitcode", &format!("-out={file}")].map(String::from));
    if destroy {
        v.push("-destroy".into());
    }
    v
}

/// `terraform -chdir=DIR apply` of a saved plan: applies exactly what was shown.
pub fn apply_argv(dir: &Path, file: &str) -> Vec<String> {
    [format!("-chdir={}", dir.display()), "apply".into(), "-input=false".into(), "-no-color".into(), file.into()]
        .to_vec()
}

/// Ask on stderr, read one line from stdin. The answer may come through a
/// pipe (`echo dev | …`); an empty or closed stdin answers "".
pub fn ask(question: &str) -> anyhow::Result<String> {
    use std::io::{BufRead, Write};
    eprint!("\n{question}: ");
    std::io::stderr().flush()?;
    let mut answer = String::new();
    std::io::stdin().lock().read_line(&mut answer)?;
    Ok(answer.trim().to_string())
}

/// The plan file inside the root (ignored by drift checks, carried over by renders).
pub const PLAN_FILE: &str = "myhealthctl.tfplan";

impl PlanCmd {
    /// Exit codes: usage, config and drift problems as every command (2, or 1
    /// for drift); terraform's `-detailed-exitcode` meaning (0 no changes, 2
    /// changes, 1 failed) once a plan ran.
    pub fn run(self, g: &Global) -> anyhow::Result<Outcome> {
        let p = Project::locate(g)?;
        let cfg = p.load()?;
        let args = self.args.for_env(&self.env);
        p.render_options(&cfg, &args)?;
        if super::diff::DiffCmd::drift_gate(g, &args)? != Outcome::Ok {
            return Ok(Outcome::Differs);
        }
        let dir = p.out_dir(&args).join("terraform/envs").join(&self.env);
        let summary = match plan(&dir, &self.env, &self.init, false) {
            Ok(s) => s,
            Err(e) => {
                crate::cli::print_error(&e, crate::cli::use_color(g.color));
                return Ok(Outcome::Failed);
            }
        };
        let format = if self.json { Format::Json } else { self.format };
        match format {
            Format::Json => crate::outln!("{}", serde_json::to_string_pretty(&summary)?),
            Format::Markdown => crate::out!("{}", markdown(&summary)),
            Format::Text => crate::out!("{}", text(&summary)),
        }
        Ok(if summary.changes() { Outcome::Changes } else { Outcome::Ok })
    }
}

/// The saved destroy plan (`destroy`).
pub const DESTROY_PLAN_FILE: &str = "myhealthctl-destroy.tfplan";

/// What `terraform init` depends on: every Terraform file of the root and of
/// the shared modules beside it, the lock file, the init flags. When it is
/// unchanged since our last successful init, init would do nothing but
/// re-verify the providers (5–7 s for the AWS provider) and is skipped.
fn init_fingerprint(dir: &Path, init_args: &InitArgs) -> String {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    for a in init_argv(Path::new("."), init_args) {
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

/// init (unless nothing it depends on changed since ours), plan -out (a
/// destroy plan with `destroy`) → the summary. Shared with `deploy` and `destroy`.
pub fn plan(dir: &Path, env: &str, init_args: &InitArgs, destroy: bool) -> anyhow::Result<Summary> {
    if !dir.join("main.tf").is_file() {
        bail!("`{}` holds no Terraform root: run `myhealthctl render`", dir.display());
    }
    let marker = data_dir(dir).join("myhealthctl-init");
    let fingerprint = init_fingerprint(dir, init_args);
    if std::fs::read_to_string(&marker).ok().as_deref() == Some(fingerprint.as_str()) {
        eprintln!("== terraform init ({env}): nothing it depends on changed since the last one, skipped");
    } else {
        step(&format!("terraform init ({env})"), || {
            let (code, out) = terraform(&init_argv(dir, init_args))?;
            if code != 0 {
                bail!("`terraform init` failed in `{}`:\n{out}", dir.display());
            }
            // Fingerprinted after init: init may have written the lock file.
            let _ = std::fs::write(&marker, init_fingerprint(dir, init_args));
            Ok(())
        })?;
    }
    let stream = step(&format!("terraform plan ({env})"), || {
        let (code, out) = terraform(&plan_argv(dir, destroy))?;
        if code == 1 {
            bail!("`terraform plan` failed in `{}`:\n{}", dir.display(), diagnostics(&out));
        }
        Ok(out)
    })?;
    Ok(summarise(env, &stream))
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
        let failed = r#"{"type":"diagnostic","diagnostic":{"severity":"error","summary":"Invalid reference","detail":"No such module.","range":{"filename":"main.tf","start":{"line":3}}}}"#;
        assert_eq!(diagnostics(failed), "Error: Invalid reference\n  on main.tf line 3\n  No such module.\n");
    }
}
