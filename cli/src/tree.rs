//! A rendered file tree in memory (`Tree`: relative path → bytes), read from
//! disk or from git, and written atomically: render into a temporary
//! directory beside the target, then swap the two directories in one
//! `renameat2(RENAME_EXCHANGE)`, so a failed or killed render leaves the
//! previous tree intact and files that are no longer produced disappear.

use std::collections::BTreeMap;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

/// Relative path (always `/`-separated) → contents.
pub type Tree = BTreeMap<String, Vec<u8>>;

/// Entries tools create inside the generated tree at run time (terraform's
/// working directory and lock file, plans). They are not ours: drift checks
/// ignore them and a render carries them over.
pub fn is_runtime_artifact(name: &str) -> bool {
    name == ".terraform" || name == ".terraform.lock.hcl" || name.ends_with(".tfplan") || name == ".DS_Store"
}

/// Read every file under `dir` (missing directory → empty tree).
pub fn read_dir(dir: &Path) -> Result<Tree> {
    let mut tree = Tree::new();
    if !dir.exists() {
        return Ok(tree);
    }
    walk(dir, dir, &mut tree).with_context(|| format!("cannot read `{}`", dir.display()))?;
    Ok(tree)
}

fn walk(root: &Path, dir: &Path, tree: &mut Tree) -> io::Result<()> {
    for entry in fs::read_dir(dir)? {
        let entry = entry?;
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if is_runtime_artifact(&name) {
            continue;
        }
        let path = entry.path();
        let ft = entry.file_type()?;
        if ft.is_dir() {
            walk(root, &path, tree)?;
        } else if ft.is_file() {
            let rel = path.strip_prefix(root).expect("walked path is under root");
            let rel = rel.components().map(|c| c.as_os_str().to_string_lossy()).collect::<Vec<_>>().join("/");
            tree.insert(rel, fs::read(&path)?);
        }
    }
    Ok(())
}

/// Replace the directory `dest` with exactly `tree`, atomically.
pub fn write_atomic(dest: &Path, tree: &Tree) -> Result<()> {
    let parent = match dest.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    fs::create_dir_all(&parent).with_context(|| format!("cannot create `{}`", parent.display()))?;
    let base = dest.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "generated".into());
    remove_stale_staging(&parent, &base);
    let staging = tempfile::Builder::new()
        .prefix(&format!(".{base}.tmp-"))
        .tempdir_in(&parent)
        .with_context(|| format!("cannot create a temporary directory in `{}`", parent.display()))?;
    for (rel, contents) in tree {
        if rel.split('/').any(|p| p == ".." || p.is_empty()) || rel.starts_with('/') {
            bail!("refusing to write outside the output directory: `{rel}`");
        }
        let path = staging.path().join(rel);
        if let Some(dir) = path.parent() {
            fs::create_dir_all(dir)?;
        }
        fs::write(&path, contents).with_context(|| format!("cannot write `{}`", path.display()))?;
    }
    if dest.exists() {
        carry_over_runtime_artifacts(dest, dest, staging.path())?;
        exchange(staging.path(), dest)?;
        // `staging` now holds the previous tree; dropping it removes it.
    } else {
        let staging = staging.keep();
        fs::rename(&staging, dest).with_context(|| format!("cannot move the rendered tree to `{}`", dest.display()))?;
    }
    Ok(())
}

/// A render killed mid-write leaves its staging directory behind (never
/// the target): remove those of earlier runs that are no longer running.
fn remove_stale_staging(parent: &Path, base: &str) {
    let prefix = format!(".{base}.tmp-");
    let Ok(entries) = fs::read_dir(parent) else {
        return;
    };
    for e in entries.flatten() {
        let name = e.file_name();
        let name = name.to_string_lossy();
        if name.starts_with(&prefix) || name == format!(".{base}.tmp-old") {
            // Leave directories touched in the last minute: another render may own them.
            let fresh = e
                .metadata()
                .and_then(|m| m.modified())
                .ok()
                .and_then(|t| t.elapsed().ok())
                .is_some_and(|age| age.as_secs() < 60);
            if !fresh {
                let _ = fs::remove_dir_all(e.path());
            }
        }
    }
}

/// Move tool-created entries (e.g. `.terraform/`) from the old tree into
/// the new one, where their directory still exists.
fn carry_over_runtime_artifacts(root: &Path, dir: &Path, staging: &Path) -> Result<()> {
    for entry in fs::read_dir(dir)? {
        let entry = entry?;
        let name = entry.file_name();
        let path = entry.path();
        let rel = path.strip_prefix(root).expect("under root");
        if is_runtime_artifact(&name.to_string_lossy()) {
            let target = staging.join(rel);
            if target.parent().is_some_and(Path::is_dir) {
                fs::rename(&path, &target)?;
            }
        } else if entry.file_type()?.is_dir() {
            carry_over_runtime_artifacts(root, &path, staging)?;
        }
    }
    Ok(())
}

fn exchange(a: &Path, b: &Path) -> Result<()> {
    use rustix::fs::{CWD, RenameFlags, renameat_with};
    match renameat_with(CWD, a, CWD, b, RenameFlags::EXCHANGE) {
        Ok(()) => Ok(()),
        Err(e) if e == rustix::io::Errno::INVAL || e == rustix::io::Errno::NOSYS => {
            // Filesystems without RENAME_EXCHANGE: two renames, the old tree
            // parked beside the new one so a crash between them loses nothing.
            let parked = a.with_extension("old");
            fs::rename(b, &parked)?;
            fs::rename(a, b)?;
            fs::rename(&parked, a)?;
            Ok(())
        }
        Err(e) => {
            Err(io::Error::from(e)).with_context(|| format!("cannot swap the rendered tree into `{}`", b.display()))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn swap_replaces_and_prunes_but_keeps_terraform_dirs() {
        let tmp = tempfile::tempdir().unwrap();
        let dest = tmp.path().join("generated");
        let mut t = Tree::new();
        t.insert("a/one.tf".into(), b"1".to_vec());
        t.insert("b/two.tf".into(), b"2".to_vec());
        write_atomic(&dest, &t).unwrap();
        fs::create_dir_all(dest.join("a/.terraform")).unwrap();
        fs::write(dest.join("a/.terraform/state"), "s").unwrap();

        let mut t2 = Tree::new();
        t2.insert("a/one.tf".into(), b"one".to_vec());
        write_atomic(&dest, &t2).unwrap();
        assert_eq!(read_dir(&dest).unwrap(), t2);
        assert!(dest.join("a/.terraform/state").exists(), "runtime artifacts carried over");
        assert!(!dest.join("b").exists(), "stale files pruned");
        let leftovers: Vec<_> = fs::read_dir(tmp.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(leftovers, vec![std::ffi::OsString::from("generated")]);
    }

    #[test]
    fn refuses_paths_that_escape() {
        let tmp = tempfile::tempdir().unwrap();
        let mut t = Tree::new();
        t.insert("../evil".into(), vec![]);
        assert!(write_atomic(&tmp.path().join("g"), &t).is_err());
        assert!(!tmp.path().join("g").exists());
    }
}
