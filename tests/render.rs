//! Rendering end to end: whole-tree snapshots, determinism, headers,
//! freshness of the committed `generated/`, and atomic writes (a failed or
//! killed render never leaves a half-written tree).

mod common;

use std::path::Path;
use std::time::Duration;

use common::{TempProject, cmd, cmd_in, root, tree_text};

fn render_to(config: &Path, out: &Path) {
    cmd().args(["render", "--config"]).arg(config).arg("--out").arg(out).assert().success();
}

#[test]
fn whole_tree_snapshots() {
    for (name, config) in [
        ("default", "myhealth.toml"),
        ("minimal", "tests/fixtures/minimal.toml"),
        ("multi_region", "tests/fixtures/multi-region.toml"),
    ] {
        let out = tempfile::tempdir().unwrap();
        render_to(&root().join(config), out.path());
        insta::assert_snapshot!(format!("tree_{name}"), tree_text(out.path()));
    }
}

#[test]
fn output_is_byte_identical_across_runs() {
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    render_to(&root().join("tests/fixtures/multi-region.toml"), a.path());
    render_to(&root().join("tests/fixtures/multi-region.toml"), b.path());
    let (ta, tb) = (myhealthctl::tree::read_dir(a.path()).unwrap(), myhealthctl::tree::read_dir(b.path()).unwrap());
    assert!(!ta.is_empty());
    assert_eq!(ta, tb);
}

#[test]
fn every_file_with_comments_carries_the_generated_header() {
    let out = tempfile::tempdir().unwrap();
    render_to(&root().join("myhealth.toml"), out.path());
    for (path, bytes) in myhealthctl::tree::read_dir(out.path()).unwrap() {
        let text = String::from_utf8(bytes).unwrap();
        match myhealthctl::render::header_for(&path, "myhealth.toml") {
            Some(h) => assert!(text.starts_with(&h), "`{path}` lacks the header"),
            None => assert!(!text.contains("do not edit"), "`{path}` cannot carry comments"),
        }
        assert!(text.ends_with('\n') && !text.ends_with("\n\n"), "`{path}` must end with exactly one newline");
    }
}

#[test]
fn committed_generated_tree_is_fresh() {
    let out = cmd().arg("diff").output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "generated/ drifted from myhealth.toml; run `cargo run -p myhealthctl -- render` and commit:\n{}",
        String::from_utf8_lossy(&out.stdout)
    );
}

#[test]
fn a_failed_render_leaves_the_previous_tree_intact() {
    let p = TempProject::new(&root().join("tests/fixtures/minimal.toml"));
    cmd_in(p.path()).arg("render").assert().success();
    let before = tree_text(&p.path().join("generated"));
    // A template that reads a variable its context does not have.
    let tpl = p.path().join("tpl");
    std::fs::create_dir_all(tpl.join("terraform/envs/{env}")).unwrap();
    std::fs::write(tpl.join("terraform/envs/{env}/extra.tf.j2"), "x = {{ no_such_value }}\n").unwrap();
    p.edit("account_id = \"111111111111\"", "account_id = \"999999999999\"");
    let out = cmd_in(p.path()).args(["render", "--templates", "tpl"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(
        stderr.contains("template `terraform/envs/{env}/extra.tf.j2` line 1: `no_such_value` is undefined"),
        "{stderr}"
    );
    assert_eq!(tree_text(&p.path().join("generated")), before, "the previous tree must be untouched");
    let leftovers: Vec<_> = std::fs::read_dir(p.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.starts_with('.') && n != ".github")
        .collect();
    assert!(leftovers.is_empty(), "no staging directories left: {leftovers:?}");
    let staged: Vec<_> = std::fs::read_dir(p.path().join(".github/workflows"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.starts_with('.'))
        .collect();
    assert!(staged.is_empty(), "no staged workflows left: {staged:?}");
}

#[test]
fn a_killed_render_leaves_either_the_old_or_the_new_tree() {
    let dir = tempfile::tempdir().unwrap();
    let small = dir.path().join("small.toml");
    let big = dir.path().join("big.toml");
    std::fs::write(&small, myhealthctl::synthetic::config_with_envs(2)).unwrap();
    std::fs::write(&big, myhealthctl::synthetic::config_with_envs(100)).unwrap();
    let (old_out, new_out) = (dir.path().join("old"), dir.path().join("new"));
    render_to(&small, &old_out);
    render_to(&big, &new_out);
    let (old, new) = (myhealthctl::tree::read_dir(&old_out).unwrap(), myhealthctl::tree::read_dir(&new_out).unwrap());

    let target = dir.path().join("generated");
    let mut saw_old = false;
    for i in 0..40u64 {
        render_to(&small, &target);
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_myhealthctl"))
            .args(["render", "--config"])
            .arg(&big)
            .arg("--out")
            .arg(&target)
            .stdout(std::process::Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_micros(250 * i));
        let _ = child.kill();
        let _ = child.wait();
        let now = myhealthctl::tree::read_dir(&target).unwrap();
        assert!(now == old || now == new, "after a kill at {}µs the tree is neither the old nor the new one", 250 * i);
        saw_old |= now == old;
    }
    assert!(saw_old, "no kill landed before the swap; the test proved nothing");
}

#[test]
fn narrowing_to_one_environment_keeps_the_others() {
    let p = TempProject::new(&root().join("myhealth.toml"));
    cmd_in(p.path()).arg("render").assert().success();
    let before = myhealthctl::tree::read_dir(&p.path().join("generated")).unwrap();
    p.edit(
        "[environments.prod.rds]\ninstance_class = \"db.r6g.large\"",
        "[environments.prod.rds]\ninstance_class = \"db.r6g.xlarge\"",
    );
    p.edit("[environments.dev]\n", "[environments.dev]\nrds = { instance_class = \"db.t3.small\" }\n");
    cmd_in(p.path()).args(["render", "--env", "dev"]).assert().success();
    let after = myhealthctl::tree::read_dir(&p.path().join("generated")).unwrap();
    let changed: Vec<_> = after.iter().filter(|(k, v)| before.get(*k) != Some(*v)).map(|(k, _)| k.as_str()).collect();
    assert_eq!(changed, vec!["README.md", "terraform/envs/dev/terraform.tfvars"]);
    assert_eq!(after.len(), before.len());
    // The prod change is still pending, and the gate says so.
    let out = cmd_in(p.path()).arg("diff").output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let diff = String::from_utf8_lossy(&out.stdout);
    assert!(diff.lines().any(|l| l.starts_with("+db_instance_class ") && l.ends_with("= \"db.r6g.xlarge\"")), "{diff}");
}

#[test]
fn override_templates_replace_and_add_files() {
    let p = TempProject::new(&root().join("tests/fixtures/minimal.toml"));
    let tpl = p.path().join("tpl");
    std::fs::create_dir_all(tpl.join("terraform/envs/{env}")).unwrap();
    std::fs::write(
        tpl.join("terraform/envs/{env}/extra.tf.j2"),
        "locals {\n  owner = \"{{ project }}-{{ environment }}\"\n}\n",
    )
    .unwrap();
    std::fs::write(tpl.join("terraform/envs/{env}/notes.txt"), "copied {{ as is }}\n").unwrap();
    cmd_in(p.path()).args(["render", "--templates", "tpl"]).assert().success();
    let g = p.path().join("generated/terraform/envs/dev");
    assert!(std::fs::read_to_string(g.join("extra.tf")).unwrap().ends_with("locals {\n  owner = \"tiny-dev\"\n}\n"));
    // Not a template: copied as is, behind the generated header.
    let notes = std::fs::read_to_string(g.join("notes.txt")).unwrap();
    assert!(notes.starts_with("# generated by myhealthctl") && notes.ends_with("\ncopied {{ as is }}\n"), "{notes}");
    // A template outside every output family is refused, not silently ignored.
    std::fs::write(tpl.join("stray.j2"), "x").unwrap();
    cmd_in(p.path())
        .args(["render", "--templates", "tpl"])
        .assert()
        .code(2)
        .stderr(predicates::str::contains("template `stray.j2` belongs to no output family"));
}

#[test]
fn yaml_json_and_markdown_outputs_get_the_right_header() {
    let p = TempProject::new(&root().join("tests/fixtures/minimal.toml"));
    let tpl = p.path().join("tpl/terraform/envs/{env}");
    std::fs::create_dir_all(&tpl).unwrap();
    std::fs::write(tpl.join("values.yaml.j2"), "environment: {{ environment }}\nregion: {{ region }}\n").unwrap();
    std::fs::write(tpl.join("inputs.json.j2"), "{{ tfvars | tojson(indent=2) }}\n").unwrap();
    std::fs::write(tpl.join("NOTES.md.j2"), "# {{ environment }}\n").unwrap();
    cmd_in(p.path()).args(["render", "--templates", "tpl"]).assert().success();
    let g = p.path().join("generated/terraform/envs/dev");
    let yaml = std::fs::read_to_string(g.join("values.yaml")).unwrap();
    assert!(
        yaml.starts_with("# generated by myhealthctl from myhealth.toml — do not edit")
            && yaml.ends_with("environment: dev\nregion: us-east-1\n"),
        "{yaml}"
    );
    let json: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(g.join("inputs.json")).unwrap())
        .expect("JSON output stays valid JSON (no comment header)");
    assert_eq!(json["cluster_name"], "tiny-dev");
    let md = std::fs::read_to_string(g.join("NOTES.md")).unwrap();
    assert!(md.starts_with("<!-- generated by myhealthctl") && md.ends_with("# dev\n"), "{md}");
}
