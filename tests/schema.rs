//! The JSON Schema and the key reference stay in sync with the config types,
//! and the real `check-jsonschema` accepts every valid config against it.

mod common;

use common::{cmd, root};

#[test]
fn committed_schema_matches_the_types() {
    let out = cmd().arg("schema").output().unwrap();
    assert!(out.status.success());
    let committed = std::fs::read_to_string(root().join("docs/myhealth.schema.json")).unwrap();
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        committed,
        "docs/myhealth.schema.json is stale: run `myhealthctl schema > docs/myhealth.schema.json`"
    );
}

#[test]
fn config_reference_matches_the_schema() {
    let out = cmd().args(["schema", "--format", "markdown"]).output().unwrap();
    let committed = std::fs::read_to_string(root().join("docs/config.md")).unwrap();
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        committed,
        "docs/config.md is stale: run `myhealthctl schema --format markdown > docs/config.md`"
    );
}

#[test]
fn every_key_of_the_schema_is_documented() {
    let doc = std::fs::read_to_string(root().join("docs/config.md")).unwrap();
    fn keys(v: &serde_json::Value, out: &mut Vec<String>) {
        if let Some(p) = v.get("properties").and_then(|p| p.as_object()) {
            out.extend(p.keys().cloned());
        }
        if let Some(o) = v.as_object() {
            o.values().for_each(|c| keys(c, out));
        }
    }
    let mut all = Vec::new();
    keys(myhealthctl::config_schema(), &mut all);
    assert!(all.len() > 80, "schema walk found only {} keys", all.len());
    for k in all {
        assert!(
            doc.contains(&format!("`{k}`"))
                || doc.contains(&format!("[{k}]"))
                || doc.contains(&format!(".{k}]"))
                || doc.contains(&format!("[{k}.")),
            "`{k}` is not in docs/config.md"
        );
    }
}

#[test]
fn the_default_config_points_editors_at_the_schema() {
    let text = std::fs::read_to_string(root().join("myhealth.toml")).unwrap();
    assert_eq!(text.lines().next(), Some("#:schema ./docs/myhealth.schema.json"));
}

#[test]
fn check_jsonschema_accepts_valid_configs_and_rejects_a_bad_one() {
    let tool = common::require_tool("check-jsonschema");
    let schema = root().join("docs/myhealth.schema.json");
    let good =
        ["myhealth.toml", "tests/fixtures/minimal.toml", "tests/fixtures/multi-region.toml", "cli/assets/starter.toml"];
    let out = std::process::Command::new(&tool)
        .arg("--schemafile")
        .arg(&schema)
        .args(good)
        .current_dir(root())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    let out = std::process::Command::new(&tool)
        .arg("--schemafile")
        .arg(&schema)
        .arg("tests/config-errors/04-unknown-key-did-you-mean.toml")
        .current_dir(root())
        .output()
        .unwrap();
    assert!(!out.status.success(), "the schema must reject unknown keys too");
}
