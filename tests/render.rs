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
    for (name, config) in common::CONFIGS {
        let out = tempfile::tempdir().unwrap();
        render_to(&root().join(config), out.path());
        insta::assert_snapshot!(format!("tree_{name}"), tree_text(out.path()));
    }
}

/// `common::CONFIGS` names every fixture: a new one is tested everywhere.
#[test]
fn every_fixture_is_a_config() {
    for e in std::fs::read_dir(root().join("tests/fixtures")).unwrap().flatten() {
        let rel = format!("tests/fixtures/{}", e.file_name().to_string_lossy());
        if rel.ends_with(".toml") {
            assert!(common::CONFIGS.iter().any(|(_, c)| *c == rel), "{rel} is not in common::CONFIGS");
        }
    }
}

#[test]
fn output_is_byte_identical_across_runs() {
    for (name, config) in common::CONFIGS {
        let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        render_to(&root().join(config), a.path());
        render_to(&root().join(config), b.path());
        let (ta, tb) = (myhealthctl::read_dir(a.path()).unwrap(), myhealthctl::read_dir(b.path()).unwrap());
        assert!(!ta.is_empty(), "{name}");
        assert!(ta == tb, "{name}: two renders differ");
    }
}

#[test]
fn every_file_with_comments_carries_the_generated_header() {
    for (name, config) in common::CONFIGS {
        let out = tempfile::tempdir().unwrap();
        render_to(&root().join(config), out.path());
        let file = std::path::Path::new(config).file_name().unwrap().to_string_lossy().into_owned();
        for (path, bytes) in myhealthctl::read_dir(out.path()).unwrap() {
            let text = String::from_utf8(bytes).unwrap();
            match myhealthctl::header_for(&path, &file) {
                Some(h) => assert!(text.starts_with(&h), "{name}: `{path}` lacks the header"),
                None => assert!(!text.contains("do not edit"), "{name}: `{path}` cannot carry comments"),
            }
            assert!(
                text.ends_with('\n') && !text.ends_with("\n\n"),
                "{name}: `{path}` must end with exactly one newline"
            );
        }
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
    std::fs::write(&small, myhealthctl::config_with_envs(2)).unwrap();
    std::fs::write(&big, myhealthctl::config_with_envs(100)).unwrap();
    let (old_out, new_out) = (dir.path().join("old"), dir.path().join("new"));
    render_to(&small, &old_out);
    render_to(&big, &new_out);
    let (old, new) = (myhealthctl::read_dir(&old_out).unwrap(), myhealthctl::read_dir(&new_out).unwrap());

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
        let now = myhealthctl::read_dir(&target).unwrap();
        assert!(now == old || now == new, "after a kill at {}µs the tree is neither the old nor the new one", 250 * i);
        saw_old |= now == old;
    }
    assert!(saw_old, "no kill landed before the swap; the test proved nothing");
}

/// A project whose workflows live outside `generated/` (as in a real
/// checkout): killed at every step of a write — after staging, after the
/// journal, after the swap, before each workflow's rename, before the journal
/// is dropped — the next command sees `generated/` and `.github/workflows/`
/// both old or both new, and the next render leaves no temporary file behind.
#[test]
fn a_render_killed_at_every_step_leaves_both_trees_old_or_both_new() {
    let p = TempProject::new(&root().join("tests/fixtures/extra-env-service.toml"));
    let render = |p: &TempProject, kill: Option<&str>| {
        let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_myhealthctl"));
        c.arg("render").current_dir(p.path()).stdout(std::process::Stdio::null()).stderr(std::process::Stdio::null());
        if let Some(step) = kill {
            c.env("MYHEALTHCTL_KILL_AT", step);
        }
        c.status().unwrap()
    };
    let both = |p: &TempProject| {
        let g = myhealthctl::read_dir(&p.path().join("generated")).unwrap();
        let w = myhealthctl::read_dir(&p.path().join(".github/workflows")).unwrap();
        (g, w)
    };
    // Old: the fixture; new: one more extra CI job and a bigger prod database.
    assert!(render(&p, None).success());
    let old = both(&p);
    let edit = |p: &TempProject| {
        p.edit("instance_class = \"db.r6g.large\"", "instance_class = \"db.r6g.xlarge\"");
        p.edit("[defaults.ci]\n", "[defaults.ci.extra_jobs.lint-docs]\nrun = \"true\"\n\n[defaults.ci]\n");
    };
    let fresh = TempProject::new(&root().join("tests/fixtures/extra-env-service.toml"));
    edit(&fresh);
    assert!(render(&fresh, None).success());
    let new = both(&fresh);
    assert_ne!(old.0, new.0);
    assert_ne!(old.1, new.1);
    let workflows: Vec<String> = new.1.keys().cloned().collect();
    let mut steps = vec!["staged".to_string(), "journal".into(), "swapped".into(), "removed".into()];
    steps.extend(workflows.iter().map(|w| format!("workflow:{w}")));
    let original = std::fs::read_to_string(p.config()).unwrap();
    for step in &steps {
        std::fs::write(p.config(), &original).unwrap();
        assert!(render(&p, None).success());
        edit(&p);
        let status = render(&p, Some(step));
        assert!(!status.success(), "{step}: the kill did not happen");
        // Any command reading the trees finishes or undoes the write first.
        let _ = cmd_in(p.path()).arg("diff").output().unwrap();
        let now = both(&p);
        let expect_new = !matches!(step.as_str(), "staged" | "journal");
        let want = if expect_new { &new } else { &old };
        assert!(now.0 == want.0, "{step}: generated/ is not the {} tree", if expect_new { "new" } else { "old" });
        assert!(now.1 == want.1, "{step}: the workflows are not the {} ones", if expect_new { "new" } else { "old" });
        // The next render cleans up whatever was staged.
        assert!(render(&p, None).success());
        let strays: Vec<String> = std::fs::read_dir(p.path())
            .unwrap()
            .chain(std::fs::read_dir(p.path().join(".github/workflows")).unwrap())
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.contains("tmp") || n.contains("journal"))
            .collect();
        assert!(strays.is_empty(), "{step}: left {strays:?}");
    }
}

/// SIGINT and SIGTERM at 300 random moments of a render (workflows outside
/// `generated/`, as in a checkout): straight after the process ends — no
/// other command run to repair anything — `generated/` and
/// `.github/workflows/` are both old or both new, and nothing is left
/// behind: no scratch directory, journal or staged file. The exit says what
/// happened: 0 finished first, 130/143 held until the write was finished
/// or undone, or killed by the signal before any write began.
#[test]
fn interrupts_during_a_render_finish_or_undo_it() {
    use std::time::{Duration, Instant};
    let p = TempProject::new(&root().join("tests/fixtures/extra-env-service.toml"));
    let both = |p: &TempProject| {
        let g = myhealthctl::read_dir(&p.path().join("generated")).unwrap();
        let w = myhealthctl::read_dir(&p.path().join(".github/workflows")).unwrap();
        (g, w)
    };
    let render = || {
        let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_myhealthctl"));
        c.arg("render").current_dir(p.path()).stdout(std::process::Stdio::null()).stderr(std::process::Stdio::null());
        c
    };
    let a = std::fs::read_to_string(p.config()).unwrap();
    let b = a.replacen("instance_class = \"db.r6g.large\"", "instance_class = \"db.r6g.xlarge\"", 1).replacen(
        "[defaults.ci]\n",
        "[defaults.ci.extra_jobs.lint-docs]\nrun = \"true\"\n\n[defaults.ci]\n",
        1,
    );
    assert_ne!(a, b);
    let mut trees = Vec::new();
    let mut took = Duration::ZERO;
    for text in [&b, &a] {
        std::fs::write(p.config(), text).unwrap();
        let started = Instant::now();
        assert!(render().status().unwrap().success());
        took = took.max(started.elapsed());
        trees.push(both(&p));
    }
    let (tree_b, tree_a) = (&trees[0], &trees[1]);
    assert!(tree_a.0 != tree_b.0 && tree_a.1 != tree_b.1);
    // A small generator of our own: the seed is printed to replay a failure.
    let mut seed = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos() as u64 | 1;
    eprintln!("seed {seed}, a render takes up to {took:?}");
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let mut on_a = true;
    let (mut finished, mut held, mut killed) = (0, 0, 0);
    for i in 0..300 {
        let (signal, code) = if i % 2 == 0 { ("-INT", 130) } else { ("-TERM", 143) };
        std::fs::write(p.config(), if on_a { &b } else { &a }).unwrap();
        let mut child = render().spawn().unwrap();
        std::thread::sleep(Duration::from_micros(next() % (took.as_micros() as u64 * 12 / 10 + 1)));
        let _ = std::process::Command::new("kill").args([signal, &child.id().to_string()]).status();
        let status = child.wait().unwrap();
        use std::os::unix::process::ExitStatusExt as _;
        match (status.code(), status.signal()) {
            (Some(0), _) => finished += 1,
            (Some(c), _) if c == code => held += 1,
            (None, Some(_)) => killed += 1,
            other => panic!("run {i}: {signal} ended the render with {other:?}"),
        }
        let now = both(&p);
        let is_a = now == *tree_a;
        assert!(is_a || now == *tree_b, "run {i} ({signal}, {status:?}): a mixed tree");
        on_a = is_a;
        let strays: Vec<String> = std::fs::read_dir(p.path())
            .unwrap()
            .chain(std::fs::read_dir(p.path().join(".github/workflows")).unwrap())
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.starts_with('.') && n != ".github")
            .collect();
        assert!(strays.is_empty(), "run {i} ({signal}, {status:?}): left {strays:?}");
    }
    eprintln!(
        "300 interrupts: {finished} renders finished first, {held} held and finished or undone, {killed} killed before writing"
    );
    assert!(held >= 20, "only {held} interrupts landed during a write: the test no longer tests it");
}

/// Five renders at once: each waits its turn; all succeed, the tree is right.
#[test]
fn concurrent_renders_take_turns() {
    let p = TempProject::new(&root().join("myhealth.toml"));
    let children: Vec<_> = (0..5)
        .map(|_| {
            std::process::Command::new(env!("CARGO_BIN_EXE_myhealthctl"))
                .arg("render")
                .current_dir(p.path())
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for c in children {
        let out = c.wait_with_output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    }
    cmd_in(p.path()).arg("diff").assert().success();
}

/// A symlinked or read-only `generated/` is refused, not silently replaced;
/// files render did not write are named and kept, or deleted with `--prune`.
#[test]
fn unsafe_targets_are_refused_and_foreign_files_kept() {
    let p = TempProject::new(&root().join("tests/fixtures/minimal.toml"));
    let elsewhere = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink(elsewhere.path(), p.path().join("generated")).unwrap();
    cmd_in(p.path())
        .arg("render")
        .assert()
        .code(2)
        .stderr(predicates::str::contains("is a symbolic link: refusing to replace it"));
    assert_eq!(std::fs::read_dir(elsewhere.path()).unwrap().count(), 0, "nothing written through the link");
    std::fs::remove_file(p.path().join("generated")).unwrap();

    cmd_in(p.path()).arg("render").assert().success();
    std::fs::write(p.path().join("generated/NOTES-mine.md"), "my notes\n").unwrap();
    cmd_in(p.path()).arg("render").assert().success().stderr(predicates::str::contains(
        "warning: `generated/NOTES-mine.md` was not written by myhealthctl: left in place",
    ));
    assert!(p.path().join("generated/NOTES-mine.md").is_file());
    // The drift gate sees it too, and says what fixes it (a plain render would not).
    cmd_in(p.path()).arg("diff").assert().code(1).stderr(predicates::prelude::PredicateBooleanExt::and(
        predicates::str::contains("1 file differs"),
        predicates::str::contains(
            "`generated/NOTES-mine.md` was not written by myhealthctl: delete it, or run `myhealthctl render --prune`",
        ),
    ));
    cmd_in(p.path())
        .args(["render", "--prune"])
        .assert()
        .success()
        .stderr(predicates::str::contains("removed `generated/NOTES-mine.md`"));
    assert!(!p.path().join("generated/NOTES-mine.md").exists());

    // Marked read-only: refused with a clear error, the tree untouched (even for root).
    use std::os::unix::fs::PermissionsExt;
    let before = myhealthctl::read_dir(&p.path().join("generated")).unwrap();
    std::fs::set_permissions(p.path().join("generated"), std::fs::Permissions::from_mode(0o555)).unwrap();
    p.edit("[environments.dev]", "[environments.dev]\nrds = { instance_class = \"db.t3.small\" }");
    cmd_in(p.path()).arg("render").assert().code(2).stderr(predicates::str::contains("is not writable"));
    std::fs::set_permissions(p.path().join("generated"), std::fs::Permissions::from_mode(0o755)).unwrap();
    assert_eq!(myhealthctl::read_dir(&p.path().join("generated")).unwrap(), before);
}

#[test]
fn narrowing_to_one_environment_keeps_the_others() {
    let p = TempProject::new(&root().join("myhealth.toml"));
    cmd_in(p.path()).arg("render").assert().success();
    let before = myhealthctl::read_dir(&p.path().join("generated")).unwrap();
    p.edit(
        "[environments.prod.rds]\ninstance_class = \"db.r6g.large\"",
        "[environments.prod.rds]\ninstance_class = \"db.r6g.xlarge\"",
    );
    p.edit("[environments.dev]\n", "[environments.dev]\nrds = { instance_class = \"db.t3.small\" }\n");
    cmd_in(p.path()).args(["render", "--env", "dev"]).assert().success();
    let after = myhealthctl::read_dir(&p.path().join("generated")).unwrap();
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
