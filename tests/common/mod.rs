//! Helpers shared by the end-to-end tests: the binary, the repository root,
//! temporary projects, and a printable form of a file tree.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

/// The repository root (the workspace).
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

/// The default config and every fixture (`every_fixture_is_a_config`
/// keeps the list whole): each structural test runs over all of them.
pub const CONFIGS: [(&str, &str); 6] = [
    ("default", "myhealth.toml"),
    ("minimal", "tests/fixtures/minimal.toml"),
    ("multi_region", "tests/fixtures/multi-region.toml"),
    ("moto", "tests/fixtures/moto.toml"),
    ("moto_accounts", "tests/fixtures/moto-accounts.toml"),
    ("extra_env_service", "tests/fixtures/extra-env-service.toml"),
];

/// The resolved environments of `config` (`myhealthctl envs --json`).
pub fn resolved(config: &str) -> Vec<serde_json::Value> {
    let out = cmd().args(["envs", "--json", "--config", config]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

/// The names of `config`'s production environments.
pub fn production_environments(config: &str) -> Vec<String> {
    resolved(config)
        .iter()
        .filter(|e| e["production"] == true)
        .map(|e| e["name"].as_str().unwrap().to_string())
        .collect()
}

/// `myhealthctl` run from the repository root, without colour.
pub fn cmd() -> assert_cmd::Command {
    let mut c = assert_cmd::Command::new(env!("CARGO_BIN_EXE_myhealthctl"));
    c.current_dir(root()).env("NO_COLOR", "1").env_remove("MYHEALTH_CONFIG").env_remove("MYHEALTH_TEMPLATES");
    c
}

/// `myhealthctl` run in `dir`.
pub fn cmd_in(dir: &Path) -> assert_cmd::Command {
    let mut c = cmd();
    c.current_dir(dir);
    c
}

/// Every file under `dir` as one reviewable text (for whole-tree snapshots).
pub fn tree_text(dir: &Path) -> String {
    let tree = myhealthctl::read_dir(dir).unwrap();
    let mut out = String::new();
    for (path, bytes) in tree {
        out.push_str(&format!("──── {path} ────\n{}\n", String::from_utf8_lossy(&bytes)));
    }
    out
}

/// `text` (a config) without any `[environments.<env>…]` table.
pub fn without_environment(text: &str, env: &str) -> String {
    let header = format!("[environments.{env}");
    let mut keep = true;
    let lines: Vec<&str> = text
        .lines()
        .filter(|l| {
            if l.starts_with('[') {
                keep = !(l.starts_with(&format!("{header}]")) || l.starts_with(&format!("{header}.")));
            }
            keep
        })
        .collect();
    lines.join("\n") + "\n"
}

/// A throwaway project: `config` copied in as `myhealth.toml`, optionally a git repo.
pub struct TempProject {
    pub dir: tempfile::TempDir,
}

impl TempProject {
    pub fn new(config: &Path) -> Self {
        let dir = tempfile::tempdir().unwrap();
        std::fs::copy(config, dir.path().join("myhealth.toml")).unwrap();
        TempProject { dir }
    }
    pub fn path(&self) -> &Path {
        self.dir.path()
    }
    pub fn config(&self) -> PathBuf {
        self.path().join("myhealth.toml")
    }
    /// Replace `from` with `to` in the config (exactly once).
    pub fn edit(&self, from: &str, to: &str) {
        let text = std::fs::read_to_string(self.config()).unwrap();
        assert_eq!(text.matches(from).count(), 1, "`{from}` must occur once in the config");
        std::fs::write(self.config(), text.replacen(from, to, 1)).unwrap();
    }
    pub fn git(&self, args: &[&str]) {
        git_in(self.path(), args)
    }
    pub fn commit_all(&self, msg: &str) {
        self.git(&["add", "-A"]);
        self.git(&["commit", "-q", "-m", msg]);
    }
}

/// A required external tool, or a failure telling how to get it.
pub fn require_tool(name: &str) -> PathBuf {
    which(name).unwrap_or_else(|| {
        panic!("`{name}` is not on PATH: run the test suite with `tests/run`, which installs it (see README)")
    })
}

pub fn which(name: &str) -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|paths| std::env::split_paths(&paths).map(|p| p.join(name)).find(|p| p.is_file()))
}

/// checkov (offline) over `dir` for one framework: its JSON report, and the
/// failed checks as "<id> <resource>" lines for assertion messages.
pub fn checkov(dir: &Path, framework: &str) -> (serde_json::Value, Vec<String>) {
    let out = Command::new(require_tool("checkov"))
        .args(["-d", ".", "--framework", framework, "--skip-download", "--quiet", "-o", "json"])
        .current_dir(dir)
        .env("BC_SKIP_MAPPING", "TRUE")
        .output()
        .unwrap();
    let report: serde_json::Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("checkov printed no JSON ({e}): {}", String::from_utf8_lossy(&out.stderr)));
    let failed = report["results"]["failed_checks"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|c| format!("{} {}", c["check_id"].as_str().unwrap_or("?"), c["resource"].as_str().unwrap_or("?")))
        .collect();
    (report, failed)
}

pub mod argocd;
pub mod crd;
pub mod github;
pub mod platform;
pub mod shape;

/// `git` in `dir` as a test author, failing the test when it fails.
pub fn git_in(dir: &Path, args: &[&str]) {
    let out = Command::new("git")
        .args(args)
        .current_dir(dir)
        .env("GIT_AUTHOR_NAME", "t")
        .env("GIT_AUTHOR_EMAIL", "t@example.com")
        .env("GIT_COMMITTER_NAME", "t")
        .env("GIT_COMMITTER_EMAIL", "t@example.com")
        .output()
        .unwrap();
    assert!(out.status.success(), "git {args:?}: {}", String::from_utf8_lossy(&out.stderr));
}
