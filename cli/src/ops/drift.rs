//! The generated output against the config: the drift gate (the tree on
//! disk vs a fresh in-memory render of the config the caller holds), and
//! the output committed at a git revision (`diff --base`, `affected`).

use std::io::Write;
use std::path::Path;

use crate::args::{Format, RenderArgs};
use crate::changes;
use crate::config::Config;
use crate::exit::Outcome;
use crate::project::Project;
use crate::redact::Redactor;
use crate::render::env_of_path;
use crate::tree::{self, Tree};

/// The CI gate (`diff`, `render --check`): quiet when the tree is fresh but
/// for one line on stderr; otherwise the diff on stdout and the fix on
/// stderr, and [`Outcome::Differs`].
pub fn gate(p: &Project, cfg: &Config, args: &RenderArgs) -> anyhow::Result<Outcome> {
    show(p, cfg, args, Format::Text, false)
}

/// First in the commands that act on the rendered output (`plan`, `apply`,
/// `drift`, `deploy`): the tree must be the config's render, or they refuse
/// (exit 3) — the diff and its fix on stderr, stdout left to the command's
/// own output (its JSON envelope).
pub fn require_fresh(p: &Project, cfg: &Config, args: &RenderArgs, refused: &str) -> anyhow::Result<()> {
    match show_to(&mut std::io::stderr(), p, cfg, args, Format::Text, false)? {
        Outcome::Ok => Ok(()),
        Outcome::Differs => crate::exit::refuse(format!(
            "{refused}: the generated output is not the render of `{}` (the diff and its fix are above)",
            p.display
        )),
    }
}

/// The drift check, shown in `format` (`stat`: only the changed files).
pub fn show(p: &Project, cfg: &Config, args: &RenderArgs, format: Format, stat: bool) -> anyhow::Result<Outcome> {
    show_to(&mut crate::output::stdout(), p, cfg, args, format, stat)
}

fn show_to(
    stdout: &mut dyn Write,
    p: &Project,
    cfg: &Config,
    args: &RenderArgs,
    format: Format,
    stat: bool,
) -> anyhow::Result<Outcome> {
    let opts = p.render_options(cfg, args)?;
    let fresh = crate::render::render(cfg, &p.templates(&args.tree)?, &opts)?;
    let out = p.out_dir(&args.tree);
    let outputs = p.outputs(cfg, &args.tree);
    let on_disk = filter_envs(outputs.read()?, &opts.only_envs);
    // A retired environment's roots stay until it is destroyed: not drift.
    let mut fresh = fresh;
    super::retire::keep(&on_disk, &mut fresh, cfg);
    let ch = changes::compare(&on_disk, &fresh);
    let redactor = Redactor;
    let shown = out.strip_prefix(&p.root).unwrap_or(&out).display().to_string();
    let workflows_shown = outputs.workflows.map(|w| w.strip_prefix(&p.root).unwrap_or(&w).display().to_string());
    match format {
        Format::Json => writeln!(stdout, "{}", serde_json::to_string_pretty(&json_report(&ch, None))?)?,
        Format::Markdown => {
            write!(stdout, "{}", changes::markdown(&ch, "the committed tree", &redactor, changes::COMMENT_MARKER))?
        }
        Format::Text => {
            for f in &ch {
                if stat {
                    writeln!(stdout, "{} {}", changes::kind_letter(f.kind), f.path)?;
                } else {
                    // Workflows living in their own directory are shown there.
                    let text = match (f.path.strip_prefix(tree::WORKFLOWS), &workflows_shown) {
                        (Some(name), Some(dir)) => {
                            let named = changes::FileChange { path: name, kind: f.kind, old: f.old, new: f.new };
                            changes::unified(&named, dir, "rendered", &redactor)
                        }
                        _ => changes::unified(f, &shown, "rendered", &redactor),
                    };
                    write!(stdout, "{}", changes::colorize(p.color, &text))?;
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
    // Files myhealthctl did not write are kept by `render` (unless
    // `--prune`): a plain render would not bring the tree up to date.
    let foreign = tree::foreign_files(&out, &fresh)?;
    let (theirs, ours): (Vec<_>, Vec<_>) = ch.iter().partition(|c| foreign.iter().any(|f| f == c.path));
    let files = |n: usize| if n == 1 { "1 file differs".to_string() } else { format!("{n} files differ") };
    let mut help = Vec::new();
    if !ours.is_empty() {
        help.push(format!("run `{}` and commit the result", fix_command(p, args)));
    }
    if !theirs.is_empty() {
        let names: Vec<String> = theirs.iter().map(|c| format!("`{shown}/{}`", c.path)).collect();
        help.push(format!(
            "{} {} not written by myhealthctl: delete {}, or run `{} --prune`",
            names.join(", "),
            if names.len() == 1 { "was" } else { "were" },
            if names.len() == 1 { "it" } else { "them" },
            fix_command(p, args)
        ));
    }
    eprintln!(
        "error: {what} {are} out of date with `{}`: {}\n  = help: {}",
        p.display,
        files(ch.len()),
        help.join("\n  = help: ")
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
    if let Some(t) = &args.tree.templates {
        cmd.push_str(&format!(" --templates {}", t.display()));
    }
    if let Some(o) = &args.tree.out {
        cmd.push_str(&format!(" --out {}", o.display()));
    }
    cmd
}

/// Keep shared files and those of `only` (all when empty).
pub fn filter_envs(t: Tree, only: &[String]) -> Tree {
    if only.is_empty() {
        return t;
    }
    t.into_iter().filter(|(p, _)| env_of_path(p).is_none_or(|e| only.contains(&e))).collect()
}

/// A change list as JSON, grouped by environment.
pub fn json_report(ch: &[changes::FileChange<'_>], base: Option<&str>) -> serde_json::Value {
    use serde_json::json;
    let groups = changes::group(ch);
    let envs: std::collections::BTreeMap<&String, serde_json::Value> = groups
        .iter()
        .map(|(env, files)| {
            let files: Vec<_> = files.iter().map(|f| json!({ "path": f.path, "change": f.kind })).collect();
            (env, json!({ "summary": changes::summarize(&groups[env]), "files": files }))
        })
        .collect();
    json!({ "base": base, "differs": !ch.is_empty(), "groups": envs })
}

/// The output committed at `commit`: the generated tree, plus our workflows
/// when they live in their own directory.
pub fn committed_at(p: &Project, cfg: &Config, args: &RenderArgs, top: &Path, commit: &str) -> anyhow::Result<Tree> {
    let top_canon = top.canonicalize().unwrap_or(top.to_path_buf());
    let in_repo = |dir: &Path| -> anyhow::Result<String> {
        let abs = if dir.is_absolute() { dir.to_path_buf() } else { std::env::current_dir()?.join(dir) };
        let canon = abs.canonicalize().unwrap_or(abs);
        Ok(canon
            .strip_prefix(&top_canon)
            .map_err(|_| anyhow::anyhow!("`{}` is not inside the git repository `{}`", dir.display(), top.display()))?
            .to_string_lossy()
            .replace('\\', "/"))
    };
    let outputs = p.outputs(cfg, &args.tree);
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
