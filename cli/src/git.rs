//! Git, in one place: reading committed files without touching the working
//! tree (`git ls-tree` + `git cat-file --batch`), and the plain commands a
//! release runs (`run`, `is_ancestor`).

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

use crate::process::Process;
use crate::tree::Tree;

/// `git` in `dir`; never taking the index lock for a read (a concurrent
/// `git` of the user's would otherwise fail).
fn git(dir: &Path) -> Process {
    Process::new("git").cwd(dir).env("GIT_OPTIONAL_LOCKS", "0")
}

/// `git ARGS` in `dir`: its output, trimmed, when it succeeds.
pub fn run(dir: &Path, args: &[&str]) -> Result<String> {
    let p = git(dir).args(args.iter().copied());
    let out = p.output().context("cannot run `git` (is it installed?)")?;
    if !out.status.success() {
        bail!("`{p}` failed: {}", String::from_utf8_lossy(&out.stderr).trim());
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// `later` is a commit that includes `ours`; false when git does not know it.
pub fn is_ancestor(dir: &Path, ours: &str, later: &str) -> bool {
    git(dir).args(["merge-base", "--is-ancestor", ours, later]).succeeds()
}

/// The top of the work tree containing `dir`.
pub fn toplevel(dir: &Path) -> Result<PathBuf> {
    let out = git(dir).args(["rev-parse", "--show-toplevel"]).output().context("cannot run `git`")?;
    if !out.status.success() {
        bail!("`{}` is not inside a git repository, so `--base` has nothing to compare with", dir.display());
    }
    Ok(PathBuf::from(String::from_utf8_lossy(&out.stdout).trim()))
}

/// The full commit id `rev` names.
pub fn resolve_commit(repo: &Path, rev: &str) -> Result<String> {
    if rev.starts_with('-') {
        bail!("`{rev}` is not a git revision");
    }
    let out = git(repo).args(["rev-parse", "--verify", "--quiet", &format!("{rev}^{{commit}}")]).output()?;
    if !out.status.success() {
        bail!("git revision `{rev}` does not exist (try `HEAD~1`, a branch name or a commit id)");
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// Every file under `subdir` (relative to the repository top) at `commit`,
/// keyed by its path relative to `subdir`.
pub fn tree_at(repo: &Path, commit: &str, subdir: &str) -> Result<Tree> {
    let prefix = if subdir.is_empty() { String::new() } else { format!("{}/", subdir.trim_end_matches('/')) };
    let out = git(repo).args(["ls-tree", "-r", "-z", "--full-tree", commit, "--", &prefix]).output()?;
    if !out.status.success() {
        bail!("`git ls-tree {commit}` failed: {}", String::from_utf8_lossy(&out.stderr).trim());
    }
    let mut entries = Vec::new();
    for rec in out.stdout.split(|b| *b == 0).filter(|r| !r.is_empty()) {
        let rec = String::from_utf8_lossy(rec);
        let Some((meta, path)) = rec.split_once('\t') else {
            continue;
        };
        let mut parts = meta.split(' ');
        let (_mode, kind, sha) = (parts.next(), parts.next(), parts.next());
        if kind != Some("blob") {
            continue;
        }
        let rel = path.strip_prefix(&prefix).unwrap_or(path).to_string();
        entries.push((rel, sha.unwrap_or_default().to_string()));
    }
    let mut tree = Tree::new();
    if entries.is_empty() {
        return Ok(tree);
    }
    let shas: String = entries.iter().map(|(_, s)| format!("{s}\n")).collect();
    let raw = git(repo).args(["cat-file", "--batch"]).run_with_stdin(shas.as_bytes())?.stdout;
    let mut pos = 0;
    for (rel, _) in entries {
        let nl =
            raw[pos..].iter().position(|b| *b == b'\n').map(|i| pos + i).context("truncated `git cat-file` output")?;
        let header = String::from_utf8_lossy(&raw[pos..nl]).to_string();
        let size: usize =
            header.rsplit(' ').next().and_then(|s| s.parse().ok()).context("unexpected `git cat-file` header")?;
        let start = nl + 1;
        tree.insert(rel, raw[start..start + size].to_vec());
        pos = start + size + 1;
    }
    Ok(tree)
}

/// The contents of `path` (relative to the repository top) at `commit`, if it exists there.
pub fn show(repo: &Path, commit: &str, path: &str) -> Result<Option<Vec<u8>>> {
    let out = git(repo).args(["show", &format!("{commit}:{path}")]).output()?;
    Ok(out.status.success().then_some(out.stdout))
}

/// The commit checked out in `dir`, its time (seconds since the epoch), and
/// whether the work tree has uncommitted changes; `None` outside a repository.
pub fn head(dir: &Path) -> Option<(String, u64, bool)> {
    let out = git(dir).args(["log", "-1", "--format=%H %ct"]).output().ok()?;
    if !out.status.success() {
        return None;
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let (sha, time) = text.trim().split_once(' ')?;
    let dirty = git(dir)
        .args(["status", "--porcelain", "--untracked-files=no"])
        .output()
        .map(|o| !o.stdout.is_empty())
        .unwrap_or(false);
    Some((sha.to_string(), time.parse().ok()?, dirty))
}
