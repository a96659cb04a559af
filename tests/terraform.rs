//! The generated Terraform under the real `terraform`: `fmt -check`, offline
//! `init` from the provider mirror — which verifies the provider against the
//! rendered `.terraform.lock.hcl` and leaves that file as rendered — and
//! `validate`, for every environment of the default config and of each fixture.

mod common;

use std::path::Path;
use std::process::Command;

use common::cmd;

/// A CLI config of our own pointing at the filesystem mirror (never ~/.terraformrc).
fn cli_config(dir: &Path) -> std::path::PathBuf {
    let mirror = std::env::var("MYHEALTH_TF_PLUGIN_MIRROR").unwrap_or_else(|_| "/opt/tf-plugins".into());
    let path = dir.join("terraform.rc");
    let cache = dir.join("plugin-cache");
    std::fs::create_dir_all(&cache).unwrap();
    // The cache makes every root after the first link the provider instead of copying ~700 MB.
    std::fs::write(
        &path,
        format!("plugin_cache_dir = \"{}\"\nprovider_installation {{\n  filesystem_mirror {{\n    path    = \"{mirror}\"\n    include = [\"registry.terraform.io/hashicorp/*\"]\n  }}\n  direct {{\n    exclude = [\"registry.terraform.io/hashicorp/*\"]\n  }}\n}}\n", cache.display()),
    )
    .unwrap();
    path
}

fn terraform(dir: &Path, rc: &Path, data: &Path, args: &[&str]) {
    let out = Command::new(common::require_tool("terraform"))
        .args(args)
        .current_dir(dir)
        .env("TF_CLI_CONFIG_FILE", rc)
        .env("TF_DATA_DIR", data)
        .env("TF_IN_AUTOMATION", "1")
        .env("CHECKPOINT_DISABLE", "1")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "terraform {args:?} in {}:\n{}{}",
        dir.display(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn generated_roots_pass_fmt_init_and_validate() {
    let scratch = tempfile::tempdir().unwrap();
    let rc = cli_config(scratch.path());
    let mut roots = Vec::new();
    let mut outs = Vec::new();
    for config in [
        "myhealth.toml",
        "tests/fixtures/minimal.toml",
        "tests/fixtures/multi-region.toml",
        "tests/fixtures/moto.toml",
        "tests/fixtures/extra-env-service.toml",
    ] {
        let out = tempfile::tempdir().unwrap();
        cmd().args(["render", "--config", config, "--out"]).arg(out.path()).assert().success();
        terraform(out.path(), &rc, scratch.path(), &["fmt", "-check", "-recursive", "-no-color"]);
        let before = roots.len();
        for e in std::fs::read_dir(out.path().join("terraform/envs")).unwrap() {
            roots.push(e.unwrap().path());
        }
        assert!(roots.len() > before, "{config}: no environment roots rendered");
        outs.push(out);
    }
    // `validate` spends seconds loading the provider schema: run roots in parallel.
    let queue = std::sync::Mutex::new(roots.into_iter().enumerate().collect::<Vec<_>>());
    let workers = std::thread::available_parallelism().map_or(2, |n| n.get()).min(4);
    std::thread::scope(|s| {
        for _ in 0..workers {
            s.spawn(|| {
                while let Some((n, dir)) = queue.lock().unwrap().pop() {
                    let data = scratch.path().join(format!("data-{n}"));
                    let lock = std::fs::read(dir.join(".terraform.lock.hcl")).expect("a rendered lock file");
                    terraform(&dir, &rc, &data, &["init", "-backend=false", "-input=false", "-no-color"]);
                    assert_eq!(
                        std::fs::read(dir.join(".terraform.lock.hcl")).unwrap(),
                        lock,
                        "{}: init changed the pinned lock file",
                        dir.display()
                    );
                    terraform(&dir, &rc, &data, &["validate", "-no-color"]);
                }
            });
        }
    });
}

/// checkov (offline) over the roots of every production environment of every
/// config — the environment's and its access root (the GitHub roles and
/// their policies): nothing failed.
#[test]
fn production_roots_are_clean_under_checkov() {
    let mut scanned = 0;
    for (name, config) in common::CONFIGS {
        let production = common::production_environments(config);
        if production.is_empty() {
            continue;
        }
        let out_dir = tempfile::tempdir().unwrap();
        cmd().args(["render", "--config", config, "--out"]).arg(out_dir.path()).assert().success();
        for env in &production {
            let (report, failed) = common::checkov(&out_dir.path().join("terraform/envs").join(env), "terraform");
            let summary = &report["summary"];
            assert_eq!(summary["failed"], 0, "checkov failed checks in {name}/{env}: {failed:#?}");
            assert!(
                summary["passed"].as_u64().unwrap_or(0) > 250,
                "{name}/{env}: checkov scanned too little: {summary}"
            );
            let (report, failed) = common::checkov(&out_dir.path().join("terraform/access").join(env), "terraform");
            let summary = &report["summary"];
            assert_eq!(summary["failed"], 0, "checkov failed checks in {name}/access/{env}: {failed:#?}");
            assert!(
                summary["passed"].as_u64().unwrap_or(0) > 50,
                "{name}/access/{env}: checkov scanned too little: {summary}"
            );
            scanned += 1;
        }
    }
    assert!(scanned >= 3, "production roots scanned: {scanned}");
}

/// Every check a template suppresses is listed, with its reason, in docs/security.md.
#[test]
fn every_suppressed_check_is_documented() {
    let doc = std::fs::read_to_string(common::root().join("docs/security.md")).unwrap();
    let mut ids = std::collections::BTreeSet::new();
    for (path, bytes) in myhealthctl::read_dir(&common::root().join("templates")).unwrap() {
        for line in String::from_utf8_lossy(&bytes).lines() {
            if let Some(rest) = line.trim().strip_prefix("#checkov:skip=") {
                let (id, reason) =
                    rest.split_once(':').unwrap_or_else(|| panic!("{path}: skip without a reason: {line}"));
                assert!(reason.len() > 20, "{path}: give {id} a real reason");
                ids.insert(id.to_string());
            }
        }
    }
    assert!(!ids.is_empty());
    for id in ids {
        assert!(doc.contains(&id), "{id} is suppressed in a template but not listed in docs/security.md");
    }
}
