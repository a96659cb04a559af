//! The command line as a contract scripts rely on: every `--help` example
//! runs as written; a reader closing the pipe never changes what a gate
//! reports; every `--json` command fails with the one envelope on stdout and
//! the exit code the policy gives (`cli/src/exit.rs`).

mod common;

use std::path::Path;
use std::process::Command;

use clap::CommandFactory;
use common::{TempProject, cmd_in, root};

/// A project with a history of two commits (`HEAD~1` and `origin/main`
/// exist) and a fresh tree.
fn project() -> TempProject {
    let p = TempProject::new(&root().join("myhealth.toml"));
    // dev and staging run one release (a record each), prod none yet.
    let mut text = std::fs::read_to_string(p.config()).unwrap();
    for env in ["dev", "staging"] {
        let d = |c: char| format!("sha256:{}", c.to_string().repeat(64));
        text.push_str(&format!(
            "\n[environments.{env}.release]\ncommit = \"{}\"\nchart = \"0.1.0\"\n[environments.{env}.release.images]\napi-service = \"{}\"\ndata-processor = \"{}\"\noura-collector = \"{}\"\n",
            "c".repeat(40),
            d('a'),
            d('b'),
            d('d')
        ));
    }
    std::fs::write(p.config(), text).unwrap();
    // The project's policies beside the config, as `validate` and `policy test` find them.
    std::fs::create_dir_all(p.path().join("policy")).unwrap();
    std::fs::copy(root().join("policy/production.rego"), p.path().join("policy/production.rego")).unwrap();
    p.git(&["init", "-q", "-b", "main"]);
    cmd_in(p.path()).arg("render").assert().success();
    p.commit_all("initial render");
    p.edit("\nlog_retention_days = 30", "\nlog_retention_days = 60");
    cmd_in(p.path()).arg("render").assert().success();
    p.commit_all("longer logs");
    // As in a clone whose change is not merged yet: `origin/main` one behind.
    p.git(&["update-ref", "refs/remotes/origin/main", "HEAD~1"]);
    p
}

/// Every example line of every `--help`, as a shell would take it.
fn examples() -> Vec<(String, String)> {
    let mut cli = myhealthctl::Cli::command();
    cli.build();
    let mut out = Vec::new();
    let mut help = |name: String, text: String| {
        let Some((_, ex)) = text.split_once("Examples:\n") else { return };
        for line in ex.lines().take_while(|l| l.starts_with("  ")) {
            out.push((name.clone(), line.trim().to_string()));
        }
    };
    help("myhealthctl".into(), cli.get_after_help().map(|h| h.to_string()).unwrap_or_default());
    for sub in cli.get_subcommands() {
        help(sub.get_name().to_string(), sub.get_after_help().map(|h| h.to_string()).unwrap_or_default());
    }
    out
}

/// What an example needs that this machine does not offer, if anything:
/// the cloud, a registry, an ArgoCD, a release build of the services.
fn needs_outside(line: &str) -> Option<&'static str> {
    let words: Vec<&str> = line.split_whitespace().collect();
    let sub = words.iter().skip_while(|w| !w.ends_with("myhealthctl")).nth(1).copied().unwrap_or("");
    match sub {
        "plan" | "apply" | "drift" | "destroy" => Some("terraform against AWS (tests/moto.rs runs these)"),
        "push" => Some("a registry (tests/images.rs)"),
        "build" => Some("a release build of the services (tests/images.rs)"),
        "doctor" => Some("GitHub's and AWS's APIs (tests/doctor.rs, tests/moto.rs)"),
        "deploy" if !line.contains("--dry-run") => Some("a cluster (tests/images.rs)"),
        "status" if line.contains("ARGOCD_SERVER") => Some("an ArgoCD (tests/images.rs)"),
        "lsp" => Some("an editor speaking LSP on its stdin (tests/lsp.rs)"),
        _ => None,
    }
}

/// Every example parses; every one that needs nothing outside this machine
/// runs as written (through bash, pipes and redirections included) in a
/// project with history, and succeeds.
#[test]
fn help_examples_run_as_written() {
    let p = project();
    let home = tempfile::tempdir().unwrap();
    let bin = Path::new(env!("CARGO_BIN_EXE_myhealthctl")).parent().unwrap().to_path_buf();
    let path =
        std::env::join_paths(std::iter::once(bin).chain(std::env::split_paths(&std::env::var_os("PATH").unwrap())))
            .unwrap();
    let base = String::from_utf8(
        Command::new("git").args(["rev-parse", "HEAD~1"]).current_dir(p.path()).output().unwrap().stdout,
    )
    .unwrap();
    let all = examples();
    assert!(all.len() >= 40, "{} examples", all.len());
    let (mut ran, mut parsed) = (0, 0);
    for (sub, line) in &all {
        // Each of its command lines (between `&&`, `|`, `;`, before `#` and redirections) parses.
        let mut commands = 0;
        for segment in line.split(" #").next().unwrap().split(['|', ';', '&']) {
            let words = shell_words(segment.split('>').next().unwrap());
            let Some(start) = words.iter().position(|w| w == "myhealthctl") else { continue };
            if let Err(e) = <myhealthctl::Cli as clap::Parser>::try_parse_from(&words[start..]) {
                panic!("`{sub} --help` example `{line}` does not parse:\n{e}");
            }
            commands += 1;
        }
        assert!(commands > 0, "{sub}: `{line}` runs no myhealthctl");
        parsed += 1;
        if needs_outside(line).is_some() {
            continue;
        }
        // Redirections into directories that a user would have: made under HOME.
        let script = line.replace("~/", &format!("{}/", home.path().display()));
        for target in script.split('>').skip(1) {
            let file = shell_words(target.split('|').next().unwrap()).into_iter().next().unwrap_or_default();
            if let Some(dir) = Path::new(&file).parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(p.path().join(dir)).unwrap();
            }
        }
        // `init` starts a project: in an empty directory, as a user would.
        let empty = tempfile::tempdir().unwrap();
        let dir = if sub == "init" { empty.path() } else { p.path() };
        let out = Command::new("bash")
            .args(["-o", "pipefail", "-c", &script])
            .current_dir(dir)
            .env("PATH", &path)
            .env("HOME", home.path())
            .env("BASE_SHA", base.trim())
            .env("MYHEALTHCTL_HELM", root().join("tests/helm/helm"))
            .env("NO_COLOR", "1")
            .output()
            .unwrap();
        // A check exits 1 when it finds what it looks for (`promote --check`: prod would change).
        let check = ["--check", "--exit-code", "--detailed-exitcode", "--budget-gate"].iter().any(|f| line.contains(f));
        assert!(
            out.status.success() || (check && out.status.code() == Some(1)),
            "`{sub} --help` example `{line}` exits {:?}:\n{}{}",
            out.status.code(),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        ran += 1;
        // An example may change the project (init --force, render): start each from the committed state.
        let _ = Command::new("git").args(["checkout", "-q", "--", "."]).current_dir(p.path()).status();
    }
    eprintln!("{parsed} examples parse, {ran} ran");
    assert!(ran >= 25, "only {ran} examples ran");
}

/// A shell's words, quotes removed (the examples use no escapes inside quotes).
fn shell_words(s: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut cur = String::new();
    let mut quote: Option<char> = None;
    let mut any = false;
    for c in s.chars() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), c) => cur.push(c),
            (None, '"' | '\'') => {
                quote = Some(c);
                any = true;
            }
            (None, c) if c.is_whitespace() => {
                if !cur.is_empty() || any {
                    words.push(std::mem::take(&mut cur));
                }
                any = false;
            }
            (None, c) => cur.push(c),
        }
    }
    if !cur.is_empty() || any {
        words.push(cur);
    }
    words
}

/// `diff | head -1` under pipefail: the gate's 1 survives the closed pipe,
/// for a drift larger than any pipe buffer and for a one-line one, 50 runs
/// each (a small diff races the reader's exit).
#[test]
fn gates_survive_closed_pipes() {
    let p = project();
    let bin = env!("CARGO_BIN_EXE_myhealthctl");
    let run = |what: &str| {
        for i in 0..50 {
            let out = Command::new("bash")
                .args(["-o", "pipefail", "-c", &format!("'{bin}' diff | head -1")])
                .current_dir(p.path())
                .env("NO_COLOR", "1")
                .output()
                .unwrap();
            assert_eq!(out.status.code(), Some(1), "{what}, run {i}: {}", String::from_utf8_lossy(&out.stderr));
            assert!(!out.stdout.is_empty(), "{what}: nothing read");
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert!(!stderr.contains("panicked") && !stderr.contains("Broken pipe"), "{what}: {stderr}");
        }
    };
    // Small: one line of one file.
    let f = p.path().join("generated/terraform/envs/dev/main.tf");
    std::fs::write(&f, std::fs::read_to_string(&f).unwrap() + "# hand edit\n").unwrap();
    run("a one-line drift");
    // Large: every environment's chart values and Terraform gone (hundreds of KiB of diff).
    std::fs::remove_dir_all(p.path().join("generated/terraform")).unwrap();
    std::fs::remove_dir_all(p.path().join("generated/helm")).unwrap();
    let big = Command::new(bin).arg("diff").current_dir(p.path()).output().unwrap();
    assert!(big.stdout.len() > 256 * 1024, "the large drift is {} bytes", big.stdout.len());
    run("a large drift");
}

/// Every command that prints JSON fails with the one envelope on stdout —
/// `{"error": {kind, exit_code, message, problems}}` — its `exit_code` the
/// process's; validate adds `valid: false` beside it.
#[test]
fn every_json_failure_is_the_envelope() {
    let p = project();
    let bad = root().join("tests/config-errors/19-node-group-min-above-desired-in-override.toml");
    let bad = bad.to_str().unwrap();
    let drifted = TempProject::new(&root().join("tests/fixtures/minimal.toml"));
    cmd_in(drifted.path()).arg("render").assert().success();
    let f = drifted.path().join("generated/terraform/envs/dev/main.tf");
    std::fs::write(&f, std::fs::read_to_string(&f).unwrap() + "# hand edit\n").unwrap();
    let cases: Vec<(&Path, Vec<&str>, u8, &str)> = vec![
        (p.path(), vec!["render", "--json", "-c", bad], 2, "error"),
        (p.path(), vec!["validate", "--json", "-c", bad], 2, "error"),
        (p.path(), vec!["envs", "--json", "--env", "nope"], 2, "error"),
        (p.path(), vec!["cost", "nope", "--json"], 2, "error"),
        (p.path(), vec!["build", "nope", "--json"], 2, "error"),
        (p.path(), vec!["push", "dev", "nope", "--json"], 2, "error"),
        (p.path(), vec!["affected", "--base", "no-such-rev", "--json"], 2, "error"),
        (p.path(), vec!["deploy", "nope", "--dry-run", "--json"], 2, "error"),
        (p.path(), vec!["doctor", "nope", "--json"], 2, "error"),
        (p.path(), vec!["explain", "rds.no_such_key", "--json"], 2, "error"),
        (p.path(), vec!["promote", "dev", "nope", "--json"], 2, "error"),
        (p.path(), vec!["status", "nope", "--json"], 2, "error"),
        (p.path(), vec!["apply", "nope", "--json"], 2, "error"),
        (p.path(), vec!["destroy", "nope", "--yes", "--json"], 2, "error"),
        (p.path(), vec!["graph", "nope", "--json"], 2, "error"),
        (p.path(), vec!["drift", "nope", "--json"], 2, "error"),
        (p.path(), vec!["plan", "nope", "--json"], 2, "error"),
        (p.path(), vec!["diff", "--base", "no-such-rev", "--json"], 2, "error"),
        (p.path(), vec!["cost", "--json", "--requests=-5"], 2, "usage"),
        (p.path(), vec!["envs", "--format=json", "--no-such-flag"], 2, "usage"),
        (drifted.path(), vec!["plan", "dev", "--json"], 3, "refused"),
        (drifted.path(), vec!["drift", "dev", "--format", "json"], 3, "refused"),
        (drifted.path(), vec!["apply", "dev", "--json"], 3, "refused"),
    ];
    for (dir, args, code, kind) in cases {
        let out = cmd_in(dir).args(&args).output().unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert_eq!(
            out.status.code(),
            Some(i32::from(code)),
            "{args:?}: {stdout}{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let v: serde_json::Value =
            serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{args:?}: not one JSON document ({e}): {stdout}"));
        let e = &v["error"];
        assert_eq!(e["kind"], kind, "{args:?}: {v}");
        assert_eq!(e["exit_code"], code, "{args:?}: {v}");
        assert!(e["message"].as_str().is_some_and(|m| !m.is_empty()), "{args:?}: {v}");
        assert!(e["problems"].is_array(), "{args:?}: {v}");
        if args[0] == "validate" {
            assert_eq!(v["valid"], false, "{v}");
            assert_eq!(e["problems"][0]["line"], 17, "{v}");
        }
        // Without --json the same failure is prose on stderr, stdout empty, the code unchanged.
        let text: Vec<&str> =
            args.iter().copied().filter(|a| *a != "--json").map(|a| if a == "json" { "text" } else { a }).collect();
        if kind != "usage" {
            let out = cmd_in(dir).args(&text).env("NO_COLOR", "1").output().unwrap();
            assert_eq!(out.status.code(), Some(i32::from(code)), "{text:?}");
            assert!(!out.stderr.is_empty(), "{text:?}: nothing on stderr");
        }
    }
}

/// The README's sample error is exactly what `validate` prints after the
/// README's own `sed`.
#[test]
fn the_readme_sample_error_is_real() {
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    let sample = readme.split("```text\n").nth(1).unwrap().split("```").next().unwrap();
    assert!(sample.starts_with("error: node group `general`"), "{sample}");
    let p = TempProject::new(&root().join("myhealth.toml"));
    let text = std::fs::read_to_string(p.config()).unwrap();
    // The README's `sed -i 's/^min_size = 3$/min_size = 12/'`.
    let edited: Vec<String> =
        text.lines().map(|l| if l == "min_size = 3" { "min_size = 12".to_string() } else { l.to_string() }).collect();
    std::fs::write(p.config(), edited.join("\n") + "\n").unwrap();
    let out = cmd_in(p.path()).arg("validate").env("NO_COLOR", "1").output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(stderr.starts_with(sample), "README:\n{sample}\nvalidate:\n{stderr}");
}

/// Rough edges a new user met, each gone.
#[test]
fn rough_edges_are_gone() {
    let p = TempProject::new(&root().join("myhealth.toml"));
    // A CRLF config: snippets show the line, no stray `?` for the `\r`.
    let crlf = std::fs::read_to_string(p.config())
        .unwrap()
        .replace("\nmin_size = 3\n", "\nmin_size = 12\n")
        .replace('\n', "\r\n");
    std::fs::write(p.config(), crlf).unwrap();
    let out = cmd_in(p.path()).arg("validate").env("NO_COLOR", "1").output().unwrap();
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(stderr.contains("| min_size = 12") && !stderr.contains('?'), "{stderr}");
    // Type errors in TOML's words, not Rust's.
    let typed = TempProject::new(&root().join("myhealth.toml"));
    typed.edit("\ndesired_size = 2\n", "\ndesired_size = \"two\"\n");
    let out = cmd_in(typed.path()).arg("validate").env("NO_COLOR", "1").output().unwrap();
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(stderr.contains("expected a whole number from 0 to") && !stderr.contains("u32"), "{stderr}");
    assert!(!stderr.contains("docs/config.md"), "a user's project has no docs/config.md: {stderr}");
    // The first type error does not hide the others.
    let three = TempProject::new(&root().join("myhealth.toml"));
    three.edit("\ndesired_size = 2\n", "\ndesired_size = \"two\"\n");
    three.edit("\naz_count = 2\n", "\naz_count = \"x\"\n");
    three.edit("\nmulti_az = true\n", "\nmulti_az = \"yes\"\n");
    let out = cmd_in(three.path()).args(["validate", "--json"]).output().unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let keys: Vec<&str> = v["error"]["problems"].as_array().unwrap().iter().filter_map(|p| p["key"].as_str()).collect();
    assert_eq!(
        keys,
        [
            "defaults.network.az_count",
            "defaults.eks.node_groups.general.desired_size",
            "environments.prod.rds.multi_az"
        ],
        "{v}"
    );
    // A duplicate key points at its first definition too (snapshot: 02-duplicate-key).
    let dup = cmd_in(&root())
        .args(["validate", "--json", "-c", "tests/config-errors/02-duplicate-key.toml"])
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&dup.stdout).unwrap();
    assert_eq!(v["error"]["problems"][0]["related"]["line"], 2, "{v}");
    // `-c DIR` reads DIR's myhealth.toml; a directory without one is named.
    let dir = p.path().display().to_string();
    cmd_in(&root()).args(["envs", "-c", &dir]).assert().code(2).stderr(predicates::str::contains("min_size"));
    let empty = tempfile::tempdir().unwrap();
    cmd_in(&root())
        .args(["envs", "-c", empty.path().to_str().unwrap()])
        .assert()
        .code(2)
        .stderr(predicates::str::contains("is a directory with no `myhealth.toml`"));
    // `init DIR --force` writes DIR/myhealth.toml.
    cmd_in(empty.path()).args(["init", ".", "--force"]).assert().success();
    assert!(empty.path().join("myhealth.toml").is_file());
    cmd_in(empty.path()).args(["init", "."]).assert().code(2).stderr(predicates::str::contains("already exists"));
    // clap's own help follows `--color`.
    let help = |c: &str| cmd_in(&root()).args(["--color", c, "--help"]).output().unwrap().stdout;
    assert!(help("always").contains(&0x1b), "--color always: no colour in the help");
    assert!(!help("never").contains(&0x1b), "--color never: colour in the help");
    // Several environments are narrowed with `--env` everywhere, `cost` included.
    let by_flag = cmd_in(&root()).args(["cost", "--env", "prod", "--env", "dev", "--json"]).output().unwrap();
    let v: serde_json::Value = serde_json::from_slice(&by_flag.stdout).unwrap();
    assert_eq!(v["environments"].as_array().map(Vec::len), Some(2), "{v}");
    // Completions made in a project offer its environments and services.
    let bash = cmd_in(&root()).args(["completions", "bash"]).output().unwrap().stdout;
    let bash = String::from_utf8(bash).unwrap();
    assert!(bash.contains("dev staging prod") && bash.contains("api-service"), "no names offered");
    let outside = cmd_in(empty.path()).args(["-c", "/nonexistent.toml", "completions", "bash"]).output().unwrap();
    assert!(outside.status.success() && !String::from_utf8_lossy(&outside.stdout).contains("staging"));
    // `affected` with nothing affected says so (on stderr: stdout stays a list).
    let g = TempProject::new(&root().join("myhealth.toml"));
    g.git(&["init", "-q", "-b", "main"]);
    cmd_in(g.path()).arg("render").assert().success();
    g.commit_all("render");
    cmd_in(g.path())
        .args(["affected", "--base", "HEAD"])
        .assert()
        .success()
        .stdout("")
        .stderr(predicates::str::contains("no environment is affected"));
}

/// drift.yml's step, run as GitHub runs it (`bash -e`) with `myhealthctl`
/// and `gh` standing in: exit 1 (drift) opens or updates the issue, 0
/// closes it, and a failure (2) or a refusal (3) fails the job without
/// touching the issue — an empty report never becomes an issue.
#[test]
fn drift_yml_acts_on_failures_as_failures() {
    use std::os::unix::fs::PermissionsExt as _;
    let wf: serde_yaml_ng::Value =
        serde_yaml_ng::from_str(&std::fs::read_to_string(root().join(".github/workflows/drift.yml")).unwrap()).unwrap();
    let steps = wf["jobs"]["drift-dev"]["steps"].as_sequence().expect("a drift-dev job");
    let script = steps
        .iter()
        .find(|s| s["name"].as_str().is_some_and(|n| n.starts_with("Drift of dev")))
        .and_then(|s| s["run"].as_str())
        .expect("the drift step")
        .to_string();
    for (code, open_issue, want_exit, want_gh) in [
        (1, false, 0, Some("issue create")),
        (1, true, 0, Some("issue edit 7")),
        (0, true, 0, Some("issue close 7")),
        (0, false, 0, None),
        (2, true, 2, None),
        (3, false, 3, None),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let bin = dir.path().join("bin");
        std::fs::create_dir_all(dir.path().join("target/release")).unwrap();
        std::fs::create_dir_all(&bin).unwrap();
        let stub = |path: std::path::PathBuf, body: String| {
            std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        };
        stub(dir.path().join("target/release/myhealthctl"), format!("echo '# drift report'\nexit {code}"));
        let log = dir.path().join("gh.log");
        stub(
            bin.join("gh"),
            format!(
                "echo \"$*\" >> '{}'\ncase \"$1 $2\" in \"issue list\") {} ;; esac",
                log.display(),
                if open_issue { "echo 7" } else { "true" }
            ),
        );
        let out = Command::new("bash")
            .args(["-e", "-c", &script])
            .current_dir(dir.path())
            .env("PATH", format!("{}:{}", bin.display(), std::env::var("PATH").unwrap()))
            .env("RUNNER_TEMP", dir.path())
            .env("GITHUB_STEP_SUMMARY", dir.path().join("summary.md"))
            .env("GITHUB_REPOSITORY", "o/r")
            .env("GITHUB_RUN_ID", "1")
            .env("TITLE", "drift: dev")
            .output()
            .unwrap();
        let calls = std::fs::read_to_string(&log).unwrap_or_default();
        let touched: Vec<&str> = calls.lines().filter(|l| !l.starts_with("issue list")).collect();
        assert_eq!(out.status.code(), Some(want_exit), "drift exit {code}: {}", String::from_utf8_lossy(&out.stderr));
        match want_gh {
            Some(call) => assert!(
                touched.len() == 1 && touched[0].starts_with(call),
                "drift exit {code}: expected `gh {call}`, got {touched:?}"
            ),
            None => assert!(touched.is_empty(), "drift exit {code}: the issue was touched: {touched:?}"),
        }
    }
}
