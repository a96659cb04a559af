//! Running Terraform in a rendered root: the exact commands (built here as
//! [`Invocation`]s, shown by `deploy --dry-run` and run as built), `init`
//! skipped while nothing it depends on changed, `plan -out` summarised from
//! its machine-readable stream ([`summary`]), `apply` of a saved plan,
//! `output`. An invocation carries the facts it was built from (the root,
//! the plan file) beside its process, so nothing reads them back from the
//! command line.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use serde::Serialize;

use super::ui::step;
use crate::args::InitArgs;
use crate::process::Process;

pub mod summary;

pub use summary::{Summary, compare, comparison_text, markdown, masked, summarise, summarise_show, text};

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

/// One terraform command in a root.
#[derive(Debug, Clone, Serialize)]
pub struct Invocation {
    /// The root it runs in (its `-chdir=`).
    #[serde(skip)]
    pub dir: PathBuf,
    /// The saved plan it writes (`plan`) or reads (`apply`, `show`).
    #[serde(skip)]
    pub plan_file: Option<String>,
    /// The arguments after `-chdir=`: what `init`'s fingerprint covers (the
    /// same root moved keeps its init).
    #[serde(skip)]
    flags: Vec<String>,
    /// Listed (`--json`) as its argument vector.
    pub argv: Process,
}

impl Invocation {
    fn new<S: Into<String>>(dir: &Path, plan_file: Option<&str>, flags: impl IntoIterator<Item = S>) -> Invocation {
        let flags: Vec<String> = flags.into_iter().map(Into::into).collect();
        Invocation {
            dir: dir.to_path_buf(),
            plan_file: plan_file.map(str::to_string),
            argv: terraform(dir).args(flags.iter().cloned()),
            flags,
        }
    }
}

impl std::fmt::Display for Invocation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.argv.fmt(f)
    }
}

/// `terraform -chdir=DIR`, not prompting, its output read by us.
fn terraform(dir: &Path) -> Process {
    Process::new("terraform").arg(format!("-chdir={}", dir.display())).env("TF_IN_AUTOMATION", "1")
}

/// Run a terraform command, its output captured (shown only when it
/// fails): the exit code and the output (stdout then stderr).
pub fn run(process: &Process) -> anyhow::Result<(i32, String)> {
    let out = process.output().with_context(|| {
        format!("cannot run `{}` (install Terraform {})", process.program(), crate::render::context::TERRAFORM_VERSION)
    })?;
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    Ok((out.status.code().unwrap_or(1), text))
}

/// `terraform -chdir=DIR plan -refresh-only …`, saved as `file`: what the
/// live infrastructure holds that the state does not (`ops::live`).
pub fn refresh_plan_argv(dir: &Path, file: &str) -> Process {
    let flags = ["plan", "-refresh-only", "-input=false", NO_LOCK, "-json", "-detailed-exitcode"];
    terraform(dir).args(flags).arg(format!("-out={file}"))
}

/// `terraform -chdir=DIR init …`.
pub fn init_command(dir: &Path, init_args: &InitArgs) -> Invocation {
    let mut v: Vec<String> = ["init", "-input=false", "-no-color"].map(String::from).to_vec();
    v.extend(init_args.plugin_dir.iter().map(|d| format!("-plugin-dir={}", d.display())));
    v.extend(init_args.backend_config.iter().map(|b| format!("-backend-config={b}")));
    Invocation::new(dir, None, v)
}

/// `terraform -chdir=DIR plan … -out=FILE` (a destroy plan with `destroy`).
pub fn plan_command(dir: &Path, destroy: bool) -> Invocation {
    let file = if destroy { DESTROY_PLAN_FILE } else { PLAN_FILE };
    let mut v: Vec<String> = ["plan", "-input=false", NO_LOCK, "-json", "-detailed-exitcode", &format!("-out={file}")]
        .map(String::from)
        .to_vec();
    if destroy {
        v.push("-destroy".into());
    }
    Invocation::new(dir, Some(file), v)
}

/// `terraform -chdir=DIR apply` of a saved plan: applies exactly what was shown.
pub fn apply_command(dir: &Path, file: &str) -> Invocation {
    let lock = format!("-lock-timeout={LOCK_TIMEOUT}");
    Invocation::new(dir, Some(file), ["apply", "-input=false", &lock, "-no-color", file])
}

/// `terraform -chdir=DIR show -json FILE` of a saved plan.
fn show_command(dir: &Path, file: &str) -> Invocation {
    Invocation::new(dir, Some(file), ["show", "-json", "-no-color", file])
}

/// `terraform -chdir=DIR output -json`.
pub fn output_command(dir: &Path) -> Invocation {
    Invocation::new(dir, None, ["output", "-json"])
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
    let (code, out) = step(&format!("terraform show ({env})"), || run(&show_command(dir, file).argv))?;
    if code != 0 {
        bail!("`terraform show` of `{file}` failed in `{}`:\n{out}", dir.display());
    }
    // Only the JSON line: warnings (a CLI config) may come first on stderr.
    Ok(out.lines().find(|l| l.starts_with('{')).unwrap_or("").to_string())
}

/// The errors of a `-json` stream, as terraform would print them.
pub fn stream_errors(stream: &str) -> String {
    summary::diagnostics(stream)
}

/// What `terraform init` depends on: every Terraform file of the root and of
/// the shared modules beside it, the lock file, the init flags. When it is
/// unchanged since our last successful init, init would do nothing but
/// re-verify the providers (5–7 s for the AWS provider) and is skipped.
fn init_fingerprint(init: &Invocation) -> String {
    use sha2::{Digest, Sha256};
    let dir = &init.dir;
    let mut h = Sha256::new();
    for a in &init.flags {
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

/// Run `init` (an [`init_command`]) unless nothing it depends on changed
/// since our last successful init of that root.
pub fn init(init: &Invocation, env: &str) -> anyhow::Result<()> {
    let dir = &init.dir;
    if !dir.join("main.tf").is_file() {
        bail!("`{}` holds no Terraform root: run `myhealthctl render`", dir.display());
    }
    let marker = data_dir(dir).join("myhealthctl-init");
    if std::fs::read_to_string(&marker).ok().as_deref() == Some(init_fingerprint(init).as_str()) {
        eprintln!("== terraform init ({env}): nothing it depends on changed since the last one, skipped");
        return Ok(());
    }
    step(&format!("terraform init ({env})"), || {
        let (code, out) = run(&init.argv)?;
        if code != 0 {
            bail!("`terraform init` failed in `{}`:\n{out}", dir.display());
        }
        // Fingerprinted after init: init may have written the lock file.
        let _ = std::fs::write(&marker, init_fingerprint(init));
        Ok(())
    })
}

/// Run `plan` (a [`plan_command`]) and summarise the plan it saved.
pub fn plan(plan: &Invocation, env: &str) -> anyhow::Result<Summary> {
    let stream = step(&format!("terraform plan ({env})"), || {
        let (code, out) = run(&plan.argv)?;
        // `-detailed-exitcode`: 0 no changes, 2 changes, 1 an error.
        if code == 1 {
            bail!("`terraform plan` failed in `{}`:\n{}", plan.dir.display(), stream_errors(&out));
        }
        Ok(out)
    })?;
    let mut s = summarise(env, &stream);
    // With changes, the fingerprint covers their values too: from the saved
    // plan, as `apply` reads it (one more provider start, only then).
    if s.changes() {
        if let Some(file) = &plan.plan_file {
            s.fingerprint = saved_plan(&plan.dir, env, file)?.fingerprint;
        }
    }
    Ok(s)
}

/// Run `apply` (an [`apply_command`]); terraform's output when it succeeded.
pub fn apply(apply: &Invocation, env: &str) -> anyhow::Result<String> {
    step(&format!("terraform apply ({env})"), || {
        let (code, out) = run(&apply.argv)?;
        if code != 0 {
            bail!("`terraform apply` failed in `{}`:\n{out}", apply.dir.display());
        }
        Ok(out)
    })
}

/// init + plan of a root (a destroy plan with `destroy`) → the summary.
pub fn init_and_plan(dir: &Path, env: &str, init_args: &InitArgs, destroy: bool) -> anyhow::Result<Summary> {
    init(&init_command(dir, init_args), env)?;
    plan(&plan_command(dir, destroy), env)
}

/// A string output of the root's state (`api_url`), when there is one.
pub fn output(output: &Process, name: &str) -> Option<String> {
    run(output)
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
    fn command_lines_name_their_root() {
        let d = Path::new("/p/generated/terraform/envs/dev");
        let init =
            init_command(d, &InitArgs { plugin_dir: vec!["/opt/tf".into()], backend_config: vec!["a=b".into()] });
        let argv = init.argv.argv();
        assert_eq!(argv[..3], ["terraform", "-chdir=/p/generated/terraform/envs/dev", "init"]);
        assert!(argv.ends_with(&["-plugin-dir=/opt/tf".to_string(), "-backend-config=a=b".to_string()]));
        let plan = plan_command(d, true);
        assert_eq!((plan.dir.as_path(), plan.plan_file.as_deref()), (d, Some(DESTROY_PLAN_FILE)));
        assert!(plan.argv.argv().contains(&format!("-out={DESTROY_PLAN_FILE}")));
        assert_eq!(apply_command(d, PLAN_FILE).argv.argv().last().map(String::as_str), Some(PLAN_FILE));
        assert_eq!(
            init.to_string(),
            "terraform -chdir=/p/generated/terraform/envs/dev init -input=false -no-color -plugin-dir=/opt/tf -backend-config=a=b"
        );
    }
}
