//! `myhealthctl diff`: (a) the drift gate — the generated tree on disk vs a
//! fresh in-memory render; (b) `--base REV` — the generated tree committed
//! at REV (read through git) vs a fresh render of the working tree, grouped
//! by environment. Every printed line is redacted.

use std::collections::BTreeMap;
use std::io::Write;

use clap::{Args, ValueEnum};
use serde_json::json;

use crate::changes::{self, FileChange, Kind};
use crate::cli::{Global, Outcome, Project, RenderArgs};
use crate::config::Config;
use crate::redact::Redactor;
use crate::render::env_of_path;
use crate::tree::{self, Tree};

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Format {
    /// For people (`diff`: a unified diff)
    #[default]
    Text,
    /// For a pull-request comment (`diff`: a summary table and a collapsible section per environment)
    Markdown,
    /// Machine-readable summary
    Json,
}

#[derive(Args, Debug)]
pub struct DiffCmd {
    #[command(flatten)]
    pub args: RenderArgs,
    /// Compare the generated tree committed at this git revision with a fresh render of the working tree
    #[arg(long, value_name = "REV")]
    pub base: Option<String>,
    /// Only list changed files and per-environment counts
    #[arg(long)]
    pub stat: bool,
    /// Output format
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// With `--base`: exit 1 when the output differs (without `--base` it always does)
    #[arg(long)]
    pub exit_code: bool,
}

/// The hidden marker that lets a workflow find and update its own PR comment.
pub const COMMENT_MARKER: &str = "<!-- myhealthctl-diff -->";

impl DiffCmd {
    pub fn run(self, g: &Global) -> anyhow::Result<Outcome> {
        match &self.base {
            None => drift(g, &self.args, self.format, self.stat),
            Some(rev) => self.against_base(g, rev),
        }
    }

    /// The CI gate shared with `render --check`.
    pub fn drift_gate(g: &Global, args: &RenderArgs) -> anyhow::Result<Outcome> {
        drift(g, args, Format::Text, false)
    }

    fn against_base(&self, g: &Global, rev: &str) -> anyhow::Result<Outcome> {
        let p = Project::locate(g)?;
        let cfg = p.load()?;
        let opts = p.render_options(&cfg, &self.args)?;
        let new = crate::render::render(&cfg, &p.templates(&self.args)?, &opts)?;

        let top = crate::git::toplevel(&p.root)?;
        let top_canon = top.canonicalize().unwrap_or(top.clone());
        let commit = crate::git::resolve_commit(&top, rev)?;
        let old = filter_envs(committed_at(&p, &cfg, &self.args, &top, &commit)?, &opts.only_envs);

        // Redact what was sensitive on either side of the change.
        let cfg_rel = p
            .config_path
            .canonicalize()
            .ok()
            .and_then(|c| c.strip_prefix(&top_canon).ok().map(|r| r.to_string_lossy().into_owned()));
        let base_cfg: Option<Config> = cfg_rel
            .and_then(|rel| crate::git::show(&top, &commit, &rel).ok().flatten())
            .and_then(|bytes| String::from_utf8(bytes).ok())
            .and_then(|text| {
                crate::config::load_historic(crate::diagnostics::Source { name: p.display.clone(), text }).ok()
            });
        let redactor = Redactor::for_configs(std::iter::once(&cfg).chain(base_cfg.as_ref()));

        let ch = changes::compare(&old, &new);
        let costs = cost_changes(base_cfg.as_ref(), &cfg);
        let label = if rev.len() > 12 && rev.chars().all(|c| c.is_ascii_hexdigit()) {
            rev[..12].to_string()
        } else {
            rev.to_string()
        };
        let mut stdout = std::io::stdout().lock();
        match self.format {
            Format::Markdown => {
                write!(stdout, "{}", changes::markdown(&ch, &label, &redactor, COMMENT_MARKER))?;
                if !costs.is_empty() {
                    writeln!(
                        stdout,
                        "\n#### Estimated monthly cost\n\n| environment | before | after | change |\n| --- | ---: | ---: | ---: |"
                    )?;
                    for c in &costs {
                        writeln!(
                            stdout,
                            "| `{}` | {} | {} | {} |",
                            c.environment,
                            opt_usd(c.before),
                            opt_usd(c.after),
                            delta(c)
                        )?;
                    }
                }
            }
            Format::Json => {
                let mut v = json_report(&ch, Some(&label));
                v["cost"] = serde_json::to_value(&costs)?;
                writeln!(stdout, "{}", serde_json::to_string_pretty(&v)?)?
            }
            Format::Text => {
                for c in &costs {
                    writeln!(
                        stdout,
                        "cost of `{}`: {} → {} ({} per month)",
                        c.environment,
                        opt_usd(c.before),
                        opt_usd(c.after),
                        delta(c)
                    )?;
                }
                let groups = changes::group(&ch);
                if groups.is_empty() {
                    writeln!(stdout, "no change to the generated output against `{label}`")?;
                }
                for (env, files) in &groups {
                    let s = changes::summarize(files);
                    let title = if env == changes::SHARED {
                        "shared files".to_string()
                    } else {
                        format!("environment `{env}`")
                    };
                    writeln!(stdout, "{}", paint(p.color, "1", &format!("== {title}: {}", changes::stat_line(&s))))?;
                    for f in files {
                        if self.stat {
                            writeln!(stdout, "  {} {}", kind_letter(f.kind), f.path)?;
                        } else {
                            write!(
                                stdout,
                                "{}",
                                colorize(p.color, &changes::unified(f, &label, "working-tree", &redactor))
                            )?;
                        }
                    }
                }
            }
        }
        Ok(if self.exit_code && !ch.is_empty() { Outcome::Differs } else { Outcome::Ok })
    }
}

/// The output committed at `commit`: the generated tree, plus our workflows
/// when they live in their own directory.
pub fn committed_at(
    p: &Project,
    cfg: &Config,
    args: &RenderArgs,
    top: &std::path::Path,
    commit: &str,
) -> anyhow::Result<Tree> {
    let top_canon = top.canonicalize().unwrap_or(top.to_path_buf());
    let in_repo = |dir: &std::path::Path| -> anyhow::Result<String> {
        let abs = if dir.is_absolute() { dir.to_path_buf() } else { std::env::current_dir()?.join(dir) };
        let canon = abs.canonicalize().unwrap_or(abs);
        Ok(canon
            .strip_prefix(&top_canon)
            .map_err(|_| anyhow::anyhow!("`{}` is not inside the git repository `{}`", dir.display(), top.display()))?
            .to_string_lossy()
            .replace('\\', "/"))
    };
    let outputs = p.outputs(cfg, args);
    let mut tree = crate::git::tree_at(top, commit, &in_repo(&outputs.generated)?)?;
    if let Some(dir) = &outputs.workflows {
        tree.retain(|path, _| !path.starts_with(tree::WORKFLOWS));
        // The directory may not exist yet in the working tree: resolve its parent.
        let rel = match dir.parent().filter(|d| !d.as_os_str().is_empty()) {
            Some(parent) if !dir.exists() => {
                format!("{}/{}", in_repo(parent)?, dir.file_name().unwrap_or_default().to_string_lossy())
            }
            _ => in_repo(dir)?,
        };
        tree.extend(tree::ours_as_workflows(crate::git::tree_at(top, commit, rel.trim_start_matches('/'))?));
    }
    Ok(tree)
}

fn drift(g: &Global, args: &RenderArgs, format: Format, stat: bool) -> anyhow::Result<Outcome> {
    let p = Project::locate(g)?;
    let cfg = p.load()?;
    let opts = p.render_options(&cfg, args)?;
    let fresh = crate::render::render(&cfg, &p.templates(args)?, &opts)?;
    let out = p.out_dir(args);
    let on_disk = filter_envs(p.outputs(&cfg, args).read()?, &opts.only_envs);
    let ch = changes::compare(&on_disk, &fresh);
    let redactor = Redactor::for_configs([&cfg]);
    let shown = out.strip_prefix(&p.root).unwrap_or(&out).display().to_string();
    let workflows_shown =
        p.outputs(&cfg, args).workflows.map(|w| w.strip_prefix(&p.root).unwrap_or(&w).display().to_string());
    let mut stdout = std::io::stdout().lock();
    match format {
        Format::Json => writeln!(stdout, "{}", serde_json::to_string_pretty(&json_report(&ch, None))?)?,
        Format::Markdown => {
            write!(stdout, "{}", changes::markdown(&ch, "the committed tree", &redactor, COMMENT_MARKER))?
        }
        Format::Text => {
            for f in &ch {
                if stat {
                    writeln!(stdout, "{} {}", kind_letter(f.kind), f.path)?;
                } else {
                    // Workflows living in their own directory are shown there.
                    let text = match (f.path.strip_prefix(tree::WORKFLOWS), &workflows_shown) {
                        (Some(name), Some(dir)) => {
                            let named = changes::FileChange { path: name, kind: f.kind, old: f.old, new: f.new };
                            changes::unified(&named, dir, "rendered", &redactor)
                        }
                        _ => changes::unified(f, &shown, "rendered", &redactor),
                    };
                    write!(stdout, "{}", colorize(p.color, &text))?;
                }
            }
        }
    }
    let (what, are) = match &workflows_shown {
        Some(w) => (format!("`{shown}/` and `{w}/`"), "are"),
        None => (format!("`{shown}/`"), "is"),
    };
    if ch.is_empty() {
        eprintln!("{what} {are} up to date with `{}`", p.display);
        return Ok(Outcome::Ok);
    }
    eprintln!(
        "error: {what} {are} out of date with `{}`: {} files differ\n  = help: run `{}` and commit the result",
        p.display,
        ch.len(),
        fix_command(&p, args)
    );
    Ok(Outcome::Differs)
}

/// The exact command that brings the tree up to date.
fn fix_command(p: &Project, args: &RenderArgs) -> String {
    let mut cmd = String::from("myhealthctl render");
    if p.display != crate::config::DEFAULT_FILE {
        cmd.push_str(&format!(" --config {}", p.display));
    }
    for e in &args.envs {
        cmd.push_str(&format!(" --env {e}"));
    }
    if let Some(t) = &args.templates {
        cmd.push_str(&format!(" --templates {}", t.display()));
    }
    if let Some(o) = &args.out {
        cmd.push_str(&format!(" --out {}", o.display()));
    }
    cmd
}

/// Keep shared files and those of `only` (all when empty).
fn filter_envs(t: Tree, only: &[String]) -> Tree {
    if only.is_empty() {
        return t;
    }
    t.into_iter().filter(|(p, _)| env_of_path(p).is_none_or(|e| only.contains(&e))).collect()
}

fn json_report(ch: &[FileChange<'_>], base: Option<&str>) -> serde_json::Value {
    let groups = changes::group(ch);
    let envs: BTreeMap<&String, serde_json::Value> = groups
        .iter()
        .map(|(env, files)| {
            let files: Vec<_> = files.iter().map(|f| json!({ "path": f.path, "change": f.kind })).collect();
            (env, json!({ "summary": changes::summarize(&groups[env]), "files": files }))
        })
        .collect();
    json!({ "base": base, "differs": !ch.is_empty(), "groups": envs })
}

/// An environment whose estimated monthly cost changes.
#[derive(Debug, serde::Serialize)]
struct CostChange {
    environment: String,
    before: Option<f64>,
    after: Option<f64>,
}

/// Cost changes between the config at the base (when it loads) and now.
fn cost_changes(base: Option<&Config>, now: &Config) -> Vec<CostChange> {
    let a = crate::cost::Assumptions::default();
    let total =
        |c: Option<&Config>, name: &str| c.and_then(|c| c.env(name)).map(|e| crate::cost::estimate(e, &a).total_usd);
    let mut names: Vec<String> = now.env_names();
    for n in base.map(Config::env_names).unwrap_or_default() {
        if !names.contains(&n) {
            names.push(n);
        }
    }
    names
        .into_iter()
        .map(|n| CostChange { before: total(base, &n), after: total(Some(now), &n), environment: n })
        .filter(|c| c.before != c.after && base.is_some())
        .collect()
}

fn opt_usd(x: Option<f64>) -> String {
    x.map(crate::cost::usd).unwrap_or_else(|| "—".into())
}

fn delta(c: &CostChange) -> String {
    let d = c.after.unwrap_or(0.0) - c.before.unwrap_or(0.0);
    if d >= 0.0 { format!("+{}", crate::cost::usd(d)) } else { crate::cost::usd(d) }
}

fn kind_letter(k: Kind) -> char {
    match k {
        Kind::Added => 'A',
        Kind::Changed => 'M',
        Kind::Removed => 'D',
    }
}

fn paint(color: bool, code: &str, s: &str) -> String {
    if color { format!("\x1b[{code}m{s}\x1b[0m") } else { s.to_string() }
}

fn colorize(color: bool, diff: &str) -> String {
    if !color {
        return diff.to_string();
    }
    diff.split_inclusive('\n')
        .map(|l| {
            let code = if l.starts_with("+++") || l.starts_with("---") {
                "1"
            } else if l.starts_with('+') {
                "32"
            } else if l.starts_with('-') {
                "31"
            } else if l.starts_with("@@") {
                "36"
            } else {
                return l.to_string();
            };
            let (body, nl) = l.strip_suffix('\n').map_or((l, ""), |b| (b, "\n"));
            format!("{}{nl}", paint(true, code, body))
        })
        .collect()
}
