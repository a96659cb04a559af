//! Every command end to end through the binary: output, exit codes and
//! error messages (stderr), in throwaway projects and git repositories.

mod common;

use common::{TempProject, cmd, cmd_in, root};
use predicates::prelude::*;
use predicates::str::contains;

fn git_project() -> TempProject {
    let p = TempProject::new(&root().join("myhealth.toml"));
    p.git(&["init", "-q", "-b", "main"]);
    cmd_in(p.path()).arg("render").assert().success();
    p.commit_all("initial render");
    p
}

#[test]
fn help_has_examples_for_every_command() {
    cmd().arg("--help").assert().success().stdout(contains("Exit codes (every command):").and(contains("Examples:")));
    for sub in ["render", "diff", "validate", "envs", "schema", "init", "completions"] {
        cmd().args([sub, "--help"]).assert().success().stdout(contains("Examples:"));
    }
}

#[test]
fn bad_arguments_exit_2() {
    cmd().arg("frobnicate").assert().code(2).stderr(contains("unrecognized subcommand"));
    cmd()
        .args(["render", "--env", "prdo"])
        .assert()
        .code(2)
        .stderr(contains("no environment `prdo`").and(contains("did you mean `prod`?")));
}

#[test]
fn missing_config_says_how_to_get_one() {
    let dir = tempfile::tempdir().unwrap();
    cmd_in(dir.path())
        .arg("validate")
        .assert()
        .code(2)
        .stderr(contains("no `myhealth.toml` in").and(contains("myhealthctl init")));
}

#[test]
fn config_is_found_from_a_subdirectory() {
    let p = TempProject::new(&root().join("tests/fixtures/minimal.toml"));
    let sub = p.path().join("some/where");
    std::fs::create_dir_all(&sub).unwrap();
    cmd_in(&sub).arg("validate").assert().success().stdout(contains("is valid: 1 environment (dev)"));
}

#[test]
fn render_reports_changes_and_is_idempotent() {
    let p = TempProject::new(&root().join("tests/fixtures/minimal.toml"));
    let out = cmd_in(p.path()).arg("render").output().unwrap();
    // The count the message gives is the count of files written.
    let n = myhealthctl::read_dir(&p.path().join("generated")).unwrap().len()
        + myhealthctl::read_dir(&p.path().join(".github/workflows")).unwrap().len();
    assert!(n > 40, "{n} files");
    let msg = String::from_utf8_lossy(&out.stdout);
    assert!(
        msg.contains(&format!(
            "rendered {n} files for 1 environment (dev) into `generated/` and `.github/workflows/`: {n} added, 0 changed, 0 removed"
        )),
        "{msg}"
    );
    cmd_in(p.path())
        .arg("render")
        .assert()
        .success()
        .stdout(contains(format!("`generated/` and `.github/workflows/` are up to date: {n} files")));
    // A new environment adds as many files as dev has, and changes the index
    // and the workflows that run per environment (pr, terraform-apply, deploy, drift).
    let per_env = files_of_env(p.path(), "dev");
    p.edit("[environments.dev]\n", "[environments.dev]\n\n[environments.qa]\n");
    cmd_in(p.path())
        .arg("render")
        .assert()
        .success()
        .stdout(contains(format!("{per_env} added, 5 changed, 0 removed")));
    // Taken out again: its Terraform roots may hold infrastructure, so the
    // render is refused until it is retired; then what holds no state goes.
    let kept = ["generated/terraform/envs/qa", "generated/terraform/access/qa"]
        .iter()
        .map(|d| myhealthctl::read_dir(&p.path().join(d)).unwrap().len())
        .sum::<usize>();
    assert!(kept > 0);
    p.edit("\n[environments.qa]\n", "");
    cmd_in(p.path()).arg("render").assert().code(3).stderr(contains("render --retire qa"));
    cmd_in(p.path())
        .args(["render", "--retire", "qa"])
        .assert()
        .success()
        .stdout(contains(format!("2 added, 5 changed, {} removed", per_env - kept)));
    assert!(!p.path().join("generated/helm/values-qa.yaml").exists(), "files no longer produced are removed");
    assert!(p.path().join("generated/terraform/envs/qa/RETIRED.md").is_file(), "the state roots are kept, marked");
}

#[test]
fn drift_gate_fails_with_the_fix_command() {
    let p = TempProject::new(&root().join("myhealth.toml"));
    cmd_in(p.path()).arg("render").assert().success();
    cmd_in(p.path())
        .arg("diff")
        .assert()
        .success()
        .stderr(contains("`generated/` and `.github/workflows/` are up to date"));
    // A hand edit of a generated file is drift too.
    let f = p.path().join("generated/terraform/envs/dev/main.tf");
    std::fs::write(&f, std::fs::read_to_string(&f).unwrap() + "# hand edit\n").unwrap();
    cmd_in(p.path())
        .arg("diff")
        .assert()
        .code(1)
        .stdout(contains("-# hand edit").and(contains("--- generated/terraform/envs/dev/main.tf")))
        .stderr(
            contains(
                "error: `generated/` and `.github/workflows/` are out of date with `myhealth.toml`: 1 file differs",
            )
            .and(contains("run `myhealthctl render` and commit the result")),
        );
    cmd_in(p.path()).args(["render", "--check"]).assert().code(1);
    cmd_in(p.path()).args(["diff", "--stat"]).assert().code(1).stdout("M terraform/envs/dev/main.tf\n");
    cmd_in(p.path()).arg("render").assert().success();
    cmd_in(p.path()).args(["render", "--check"]).assert().success();
}

#[test]
fn drift_gate_names_a_non_default_config_in_the_fix() {
    let out = tempfile::tempdir().unwrap();
    cmd().args(["diff", "--config", "tests/fixtures/minimal.toml", "--out"]).arg(out.path()).assert().code(1).stderr(
        contains(format!(
            "run `myhealthctl render --config tests/fixtures/minimal.toml --out {}`",
            out.path().display()
        )),
    );
}

#[test]
fn diff_base_groups_by_environment_and_summarises() {
    let p = git_project();
    p.edit(
        "[environments.prod.rds]\ninstance_class = \"db.r6g.large\"",
        "[environments.prod.rds]\ninstance_class = \"db.r6g.xlarge\"",
    );
    let out = cmd_in(p.path()).args(["diff", "--base", "HEAD"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "a PR diff is not a failure unless --exit-code");
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("== environment `prod`: 0 added, 1 changed, 0 removed (+1 -1 lines)"), "{text}");
    assert!(text.contains("== shared files: 0 added, 1 changed, 0 removed"), "{text}");
    let line = |sign: &str, v: &str| {
        text.lines().any(|l| l.starts_with(&format!("{sign}db_instance_class ")) && l.ends_with(&format!("= \"{v}\"")))
    };
    assert!(line("-", "db.r6g.large") && line("+", "db.r6g.xlarge"), "{text}");
    assert!(!text.contains("environment `dev`"), "dev did not change: {text}");
    cmd_in(p.path()).args(["diff", "--base", "HEAD", "--exit-code"]).assert().code(1);

    let at =
        std::fs::read_to_string(p.config()).unwrap().lines().position(|l| l.contains("db.r6g.xlarge")).unwrap() + 1;
    cmd_in(p.path()).args(["diff", "--base", "HEAD", "--stat"]).assert().success().stdout(
        format!("prod: `rds.instance_class` \"db.r6g.large\" → \"db.r6g.xlarge\" (myhealth.toml:{at})\n") + "cost of `prod`: $813.94 → $1,142.44 (+$328.50 per month)\n== environment `prod`: 0 added, 1 changed, 0 removed (+1 -1 lines)\n  M terraform/envs/prod/terraform.tfvars\n== shared files: 0 added, 1 changed, 0 removed (+1 -1 lines)\n  M README.md\n",
    );
    let json = cmd_in(p.path()).args(["diff", "--base", "HEAD", "--format", "json"]).output().unwrap();
    let v: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(v["groups"]["prod"]["summary"]["changed"], 1);
    assert_eq!(v["groups"]["prod"]["files"][0]["path"], "terraform/envs/prod/terraform.tfvars");
    assert_eq!(v["cost"], serde_json::json!([{"environment": "prod", "before": 813.94, "after": 1142.44}]));
}

#[test]
fn diff_base_reads_history_not_the_working_tree() {
    let p = git_project();
    p.edit("[environments.dev]\n", "[environments.dev]\n\n[environments.qa]\n");
    cmd_in(p.path()).arg("render").assert().success();
    p.commit_all("add qa");
    // HEAD~1 has no qa; the working tree's generated/ is not consulted.
    let per_env = files_of_env(p.path(), "qa");
    std::fs::remove_dir_all(p.path().join("generated")).unwrap();
    cmd_in(p.path()).args(["diff", "--base", "HEAD~1", "--stat"]).assert().success().stdout(
        contains(format!("== environment `qa`: {per_env} added, 0 changed, 0 removed"))
            .and(contains("  A terraform/envs/qa/main.tf")),
    );
    cmd_in(p.path())
        .args(["diff", "--base", "HEAD"])
        .assert()
        .success()
        .stdout("no change to the generated output against `HEAD`\n");
    cmd_in(p.path())
        .args(["diff", "--base", "nope"])
        .assert()
        .code(2)
        .stderr(contains("git revision `nope` does not exist"));
}

#[test]
fn diff_markdown_is_a_pr_comment_with_a_row_per_environment() {
    let p = git_project();
    p.edit(
        "[environments.prod.rds]\ninstance_class = \"db.r6g.large\"",
        "[environments.prod.rds]\ninstance_class = \"db.r6g.xlarge\"",
    );
    p.edit("[environments.dev]\n", "[environments.dev]\nnetwork = { nat = \"per_az\" }\n");
    let out = cmd_in(p.path()).args(["diff", "--base", "HEAD", "--format", "markdown"]).output().unwrap();
    let md = String::from_utf8(out.stdout).unwrap();
    assert!(md.starts_with("<!-- myhealthctl-diff -->\n### Review against `HEAD`\n"), "{md}");
    // (The chart is rendered only with --manifests.)
    assert!(md.contains("| `dev` | +0 ~1 −0 | +1 −1 | not rendered |"), "{md}");
    assert!(md.contains("| `prod` | +0 ~1 −0 | +1 −1 | not rendered | $813.94 → $1,142.44 (+$328.50) | — |"), "{md}");
    assert!(!md.contains("| `staging` | +"), "staging did not change: {md}");
    assert!(md.contains("**`terraform/envs/<env>/terraform.tfvars`** — changed in `dev`, `prod`"), "{md}");
}

#[test]
fn diffs_redact_credentials_and_show_references() {
    let p = git_project();
    // A template that puts the secret reference into an output, so a change of it shows in the diff.
    let tpl = p.path().join("tpl/terraform/envs/{env}");
    std::fs::create_dir_all(&tpl).unwrap();
    std::fs::write(tpl.join("secrets.tf.j2"), "# {{ environment }}\n").unwrap();
    cmd_in(p.path()).args(["render", "--templates", "tpl"]).assert().success();
    p.commit_all("with extra template");
    std::fs::write(
        tpl.join("secrets.tf.j2"),
        "# {{ environment }}\n# ref: myhealth-prod/api/jwt-signing-key AKIAIOSFODNN7EXAMPLE\n",
    )
    .unwrap();
    for args in [
        vec!["diff", "--templates", "tpl"],
        vec!["diff", "--templates", "tpl", "--base", "HEAD"],
        vec!["diff", "--templates", "tpl", "--base", "HEAD", "--format", "markdown"],
    ] {
        let out = cmd_in(p.path()).args(&args).output().unwrap();
        let text = String::from_utf8(out.stdout).unwrap();
        // The reference is a name, shown; the access key is a credential, masked.
        assert!(text.contains("+# ref: myhealth-prod/api/jwt-signing-key «redacted»"), "{args:?}: {text}");
        assert!(!text.contains("AKIA"), "{args:?} leaked: {text}");
    }
    // A renamed secret reference reads as the rename it is.
    p.edit("oura_client = \"myhealth-prod/oura/client\"", "oura_client = \"myhealth-prod/oura/oauth-client\"");
    let out = cmd_in(p.path()).args(["diff", "--templates", "tpl", "--base", "HEAD"]).output().unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains("-  ouraClient: myhealth-prod/oura/client\n")
            && text.contains("+  ouraClient: myhealth-prod/oura/oauth-client\n")
            // The only masks left are the access key's.
            && text.lines().filter(|l| l.contains(myhealthctl::MASK)).all(|l| l.starts_with("+# ref: ")),
        "{text}"
    );
}

#[test]
fn validate_reports_ok_as_text_and_json() {
    let n = myhealthctl::read_dir(&root().join("generated")).unwrap().len()
        + myhealthctl::read_dir(&root().join(".github/workflows")).unwrap().len();
    cmd()
        .arg("validate")
        .assert()
        .success()
        .stdout(format!("`myhealth.toml` is valid: 3 environments (dev, staging, prod), {n} files to render\n"));
    let out = cmd().args(["validate", "--json"]).output().unwrap();
    let mut v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let warnings = v.as_object_mut().unwrap().remove("warnings").unwrap();
    assert_eq!(
        v,
        serde_json::json!({"valid": true, "config": "myhealth.toml", "environments": ["dev", "staging", "prod"], "files": n})
    );
    // The example config's production placeholders, as data.
    let keys: Vec<&str> = warnings.as_array().unwrap().iter().map(|w| w["key"].as_str().unwrap()).collect();
    assert_eq!(keys, ["defaults.aws.account_id", "environments.prod.eks.public_access_cidrs.0"], "{warnings:#}");
    assert!(warnings.as_array().unwrap().iter().all(|w| w["severity"] == "warning" && w["line"].is_u64()));
}

/// Documentation placeholders left in a production environment are warned
/// about, each at its line, and do not fail `validate` (or `render`); outside
/// production they are nobody's business.
#[test]
fn validate_warns_about_documentation_placeholders_in_production() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("myhealth.toml");
    let text = std::fs::read_to_string(root().join("myhealth.toml"))
        .unwrap()
        .replace("domain = \"eric-n.com\"", "domain = \"example.com\"")
        .replace("api_host = \"api.myhealth.eric-n.com\"", "api_host = \"api.example.com\"")
        .replace("cors_allow_origins = [\"https://eric-n.com\"]", "cors_allow_origins = [\"https://app.example.com\"]");
    std::fs::write(&cfg, text).unwrap();
    let out = cmd_in(dir.path()).args(["validate", "--color", "never"]).output().unwrap();
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    insta::assert_snapshot!(stderr.replace(&dir.path().display().to_string(), "<tmp>"));
    // Not production: no warning.
    let text = std::fs::read_to_string(&cfg).unwrap().replace("[environments.prod", "[environments.perf");
    std::fs::write(&cfg, text).unwrap();
    let out = cmd_in(dir.path()).arg("validate").output().unwrap();
    assert!(out.stderr.is_empty(), "{}", String::from_utf8_lossy(&out.stderr));
}

#[test]
fn envs_shows_merged_values_per_environment() {
    let out = cmd().args(["envs", "--json"]).output().unwrap();
    assert!(out.status.success());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let by = |n: &str| v.as_array().unwrap().iter().find(|e| e["name"] == n).unwrap().clone();
    let (dev, prod) = (by("dev"), by("prod"));
    assert_eq!(dev["eks"]["node_groups"][0]["capacity_type"], "SPOT");
    assert_eq!(dev["eks"]["node_groups"][0]["instance_types"], serde_json::json!(["t3.medium"]));
    assert_eq!(dev["network"]["nat"], "single");
    assert_eq!(dev["rds"]["instance_class"], "db.t3.micro");
    assert_eq!(dev["rds"]["multi_az"], false);
    assert_eq!(prod["eks"]["node_groups"][0]["capacity_type"], "ON_DEMAND");
    // Deep merge: prod overrides the type but inherits the disk size and labels.
    assert_eq!(prod["eks"]["node_groups"][0]["instance_types"], serde_json::json!(["t3.large"]));
    assert_eq!(prod["eks"]["node_groups"][0]["disk_size_gb"], 20);
    assert_eq!(prod["eks"]["node_groups"][0]["labels"], serde_json::json!([["myhealth.io/pool", "general"]]));
    assert_eq!(prod["network"]["nat"], "per_az");
    assert_eq!(prod["rds"]["multi_az"], true);
    assert_eq!(prod["rds"]["deletion_protection"], true);
    // Built-in defaults fill what neither layer says.
    assert_eq!(prod["terraform"]["state_bucket"], "myhealth-tfstate-123456789012");
    cmd().args(["envs", "--env", "prod"]).assert().success().stdout(
        contains("prod\n  aws            us-east-1 account 123456789012").and(
            contains("    general      ON_DEMAND t3.large min 3 desired 3 max 10")
                .and(contains("network        10.2.0.0/16 over 3 AZs, NAT per_az")),
        ),
    );
}

#[test]
fn init_writes_a_starter_that_validates() {
    let dir = tempfile::tempdir().unwrap();
    cmd_in(dir.path()).arg("init").assert().success().stdout(contains("wrote `myhealth.toml`"));
    cmd_in(dir.path()).arg("validate").assert().success();
    cmd_in(dir.path()).arg("render").assert().success();
    cmd_in(dir.path())
        .arg("init")
        .assert()
        .code(2)
        .stderr(contains("`myhealth.toml` already exists").and(contains("--force")));
    cmd_in(dir.path()).args(["init", "--force"]).assert().success();
    // It costs what its comments say (to the dollar), and its commented
    // production block, uncommented, passes the production policy.
    let text = std::fs::read_to_string(dir.path().join("myhealth.toml")).unwrap();
    let said = |env: &str| -> String {
        let marker = if env == "dev" { "dev costs\n# about $" } else { "about $" };
        let at = if env == "dev" { text.find(marker) } else { text.rfind(marker) }.unwrap() + marker.len();
        text[at..].split_whitespace().next().unwrap().to_string()
    };
    let cost = |dir: &std::path::Path, env: &str| -> String {
        let out = cmd_in(dir).args(["cost", env, "--json"]).output().unwrap();
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        format!("{:.0}", v["environments"][0]["total_usd"].as_f64().unwrap())
    };
    assert_eq!(said("dev"), cost(dir.path(), "dev"), "the starter's comment on dev's cost");
    let prod: String = text
        .lines()
        .map(|l| match l.strip_prefix("# ") {
            Some(rest)
                if rest.starts_with("[environments.prod]")
                    || ["network = ", "eks = ", "rds = ", "ci = "].iter().any(|k| rest.starts_with(k)) =>
            {
                rest.to_string()
            }
            _ => l.to_string(),
        })
        .collect::<Vec<_>>()
        .join("\n");
    assert!(prod.contains("\n[environments.prod]\n"), "no commented prod block to uncomment");
    std::fs::write(dir.path().join("myhealth.toml"), prod).unwrap();
    let v = cmd_in(dir.path()).arg("validate").env("NO_COLOR", "1").output().unwrap();
    let stderr = String::from_utf8_lossy(&v.stderr);
    assert!(v.status.success(), "the uncommented prod block fails validation:\n{stderr}");
    assert!(!stderr.contains("policy"), "the production policy: {stderr}");
    assert_eq!(said("prod"), cost(dir.path(), "prod"), "the starter's comment on prod's cost");
}

#[test]
fn completions_for_each_shell() {
    for (shell, marker) in
        [("bash", "complete -F"), ("zsh", "#compdef myhealthctl"), ("fish", "complete -c myhealthctl")]
    {
        cmd().args(["completions", shell]).assert().success().stdout(contains(marker).and(contains("render")));
    }
    cmd().args(["completions", "tcsh"]).assert().code(2);
}

#[test]
fn graph_shows_module_dependencies() {
    let out = cmd().args(["graph", "prod"]).output().unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.starts_with("---\ntitle: prod modules\n---\ngraph LR\n"), "{text}");
    for edge in
        ["networking --> eks", "networking --> rds", "networking --> api_gateway", "secrets --> eks", "eks --> rds"]
    {
        assert!(text.contains(&format!("  {edge}\n")), "missing `{edge}`:\n{text}");
    }
    assert!(!text.contains("frontend"), "the frontend is off: {text}");
    cmd()
        .args(["graph", "dev", "--format", "dot"])
        .assert()
        .success()
        .stdout(contains("digraph \"dev modules\"").and(contains("\"networking\" -> \"eks\";")));
    cmd().args(["graph", "nope"]).assert().code(2).stderr(contains("no environment `nope`"));
}

#[test]
fn cost_estimates_each_environment() {
    let out = cmd().args(["cost", "--json"]).output().unwrap();
    assert!(out.status.success());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["prices_as_of"], "2026-11-01");
    let total = |n: &str| {
        v["environments"].as_array().unwrap().iter().find(|e| e["environment"] == n).unwrap()["total_usd"]
            .as_f64()
            .unwrap()
    };
    assert_eq!(total("dev"), 172.31);
    assert_eq!(total("prod"), 813.94);
    cmd().args(["cost", "dev"]).assert().success().stdout(
        contains("dev: $172.31 / month")
            .and(contains("node group `general`: 2× t3.medium spot"))
            .and(contains("$20.04")),
    );
    // A type AWS does not list is refused, not priced at nothing
    // (tests/catalogs.rs: one it lists but the table has no price for).
    let p = TempProject::new(&root().join("tests/fixtures/minimal.toml"));
    p.edit(
        "[environments.dev]\n",
        "[environments.dev]\neks = { node_groups = { general = { instance_types = [\"x9z.mega\"] } } }\n",
    );
    cmd_in(p.path()).args(["cost"]).assert().code(2).stderr(contains("`x9z.mega` is not an EC2 instance type"));
}

/// How many files of a rendered project's `generated/` belong to `env`.
fn files_of_env(project: &std::path::Path, env: &str) -> usize {
    myhealthctl::read_dir(&project.join("generated"))
        .unwrap()
        .keys()
        .filter(|p| myhealthctl::env_of_path(p).as_deref() == Some(env))
        .count()
}

/// `plan` refuses while generated/ has drifted (exit 3, the diff and the fix
/// on stderr, stdout left to the plan's own output), before any terraform
/// runs. The real plans run against moto in tests/moto.rs.
#[test]
fn plan_refuses_a_drifted_tree_with_3() {
    let p = TempProject::new(&root().join("tests/fixtures/minimal.toml"));
    cmd_in(p.path()).arg("render").assert().success();
    let f = p.path().join("generated/terraform/envs/dev/main.tf");
    std::fs::write(&f, std::fs::read_to_string(&f).unwrap() + "# hand edit\n").unwrap();
    cmd_in(p.path()).args(["plan", "dev"]).assert().code(3).stdout("").stderr(
        contains("-# hand edit")
            .and(contains("run `myhealthctl render --env dev` and commit the result"))
            .and(contains("refused: not planned `dev`"))
            .and(contains("terraform init").not()),
    );
    // With --json the refusal is the envelope on stdout.
    let out = cmd_in(p.path()).args(["plan", "dev", "--json"]).output().unwrap();
    assert_eq!(out.status.code(), Some(3));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!((v["error"]["kind"].as_str(), v["error"]["exit_code"].as_u64()), (Some("refused"), Some(3)), "{v}");
    // A usage error, as in every command.
    cmd_in(p.path()).args(["plan", "nope"]).assert().code(2).stderr(contains("error:").and(contains("`nope`")));
}

/// A stand-in `helm` on PATH that answers `helm version --short` with `version`
/// (and records nothing: the dry run must not run anything else).
fn stand_in_helm(version: &str) -> (tempfile::TempDir, String) {
    use std::os::unix::fs::PermissionsExt;
    let bin = tempfile::tempdir().unwrap();
    let f = bin.path().join("helm");
    std::fs::write(&f, format!("#!/bin/sh\n# stand-in for helm\n[ \"$1\" = version ] && echo {version}\n")).unwrap();
    std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o755)).unwrap();
    let path = format!("{}:{}", bin.path().display(), std::env::var("PATH").unwrap());
    (bin, path)
}

fn dry_run_in(dir: &std::path::Path, path: &str, args: &[&str]) -> String {
    let out = cmd_in(dir).args(["deploy", "--dry-run"]).args(args).env("PATH", path).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

/// The default config with every environment released by Helm
/// (`argocd.manage_release = false`), its services marked bundled, rendered.
fn helm_released() -> TempProject {
    let p = TempProject::new(&root().join("myhealth.toml"));
    p.edit("[defaults.argocd]\n", "[defaults.argocd]\nmanage_release = false\n");
    for s in ["api-service", "data-processor", "oura-collector"] {
        let dir = p.path().join("services").join(s);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::copy(root().join("services").join(s).join("Cargo.toml"), dir.join("Cargo.toml")).unwrap();
    }
    cmd_in(p.path()).arg("render").assert().success();
    p
}

/// `deploy --dry-run` prints the ordered steps with the exact commands (paths
/// relative to the project root) and runs none of them; the flags shape the
/// list. The real steps run in tests/moto.rs (infrastructure) and
/// tests/images.rs (build, push, release through stand-ins).
#[test]
fn deploy_dry_run_prints_the_ordered_steps_and_exact_commands() {
    let (_bin, path) = stand_in_helm("v3.19.2+g8766e71");
    let helm = helm_released();
    let dry_run = |path: &str, args: &[&str]| dry_run_in(helm.path(), path, args);
    let text = dry_run(&path, &["staging", "--plugin-dir", "/opt/tf-plugins"]);
    let order = [
        "check that generated/ matches the config",
        "build api-service, data-processor, oura-collector",
        "$ cargo build --profile dist --locked -p api-service -p data-processor -p oura-collector",
        "$ terraform -chdir=generated/terraform/envs/staging init -input=false -no-color -plugin-dir=/opt/tf-plugins",
        "$ terraform -chdir=generated/terraform/envs/staging plan -input=false -lock=false -json -detailed-exitcode -out=myhealthctl.tfplan",
        "prompt: type `yes` (`--yes` to skip)",
        "$ terraform -chdir=generated/terraform/envs/staging apply -input=false -lock-timeout=10m -no-color myhealthctl.tfplan",
        "then a random value into each generated secret without one (aws secretsmanager put-secret-value, the value on stdin)",
        "123456789012.dkr.ecr.us-east-1.amazonaws.com/myhealth-staging/api-service:",
        "target/deploy/staging/images.yaml",
        "$ aws eks update-kubeconfig --name myhealth-staging --region us-east-1 --kubeconfig target/deploy/staging/kubeconfig",
        "$ kubectl --kubeconfig target/deploy/staging/kubeconfig apply --server-side --field-manager=myhealthctl -f target/deploy/staging/namespace.yaml",
        "$ helm upgrade --install myhealth generated/helm/myhealth --namespace myhealth --values generated/helm/values-staging.yaml --values target/deploy/staging/images.yaml --atomic --wait --timeout 10m --kubeconfig target/deploy/staging/kubeconfig",
        "$ terraform -chdir=generated/terraform/envs/staging output -json (its `api_url`, else https://staging.api.myhealth.eric-n.com)",
        "GET <api_url>/health until 200 (up to 120 s)",
        "on failure: $ helm rollback myhealth --namespace myhealth --wait --timeout 10m --kubeconfig target/deploy/staging/kubeconfig",
    ];
    let mut at = 0;
    for line in order {
        let found = text[at..].find(line).unwrap_or_else(|| panic!("`{line}` missing or out of order in:\n{text}"));
        at += found + line.len();
    }
    assert!(text.starts_with("deploy `staging`: 12 steps"), "{text}");
    assert!(text.contains("released through Helm"), "{text}");
    // Nothing ran: no values, namespace or kubeconfig written.
    assert!(!helm.path().join("target/deploy/staging").exists(), "a dry run wrote files");

    // The namespace gets exactly the labels ArgoCD's Application gives it.
    let app: serde_yaml_ng::Value = serde_yaml_ng::from_str(
        &std::fs::read_to_string(root().join("generated/argocd/staging/application.yaml")).unwrap(),
    )
    .unwrap();
    let labels = app["spec"]["syncPolicy"]["managedNamespaceMetadata"]["labels"].as_mapping().unwrap();
    let json = dry_run(&path, &["staging", "--json"]);
    let steps: serde_json::Value = serde_json::from_str(&json).unwrap();
    let ns = steps["steps"].as_array().unwrap().iter().find(|s| s["step"] == "namespace").expect("a namespace step");
    let manifest: serde_yaml_ng::Value = serde_yaml_ng::Deserializer::from_str(ns["manifest"].as_str().unwrap())
        .map(|d| <serde_yaml_ng::Value as serde::Deserialize>::deserialize(d).unwrap())
        .next()
        .unwrap();
    assert_eq!(manifest["metadata"]["labels"].as_mapping(), Some(labels), "{json}");
    // The text shows the same manifest.
    assert!(text.contains("target/deploy/staging/namespace.yaml:\n       apiVersion: v1"), "{text}");

    // Production asks for its name; --yes is the only way round the prompt.
    assert!(dry_run(&path, &["prod"]).contains("prompt: type `prod` (production; `--yes` to skip)"));
    assert!(dry_run(&path, &["prod", "--yes"]).contains("--yes: approved without asking"));

    // Helm 4 renamed --atomic.
    let (_bin4, path4) = stand_in_helm("v4.0.1+g12500dd");
    assert!(dry_run(&path4, &["dev"]).contains("--rollback-on-failure --wait=watcher --timeout 10m"));

    // --only / --skip-*: the list shrinks to what is asked.
    let only = dry_run(&path, &["dev", "--only", "api-service", "--skip-infra", "--kube-context", "ctx"]);
    // No init/plan/apply; only the read of the endpoint from the state.
    assert!(
        !only.contains(" init -input") && !only.contains(" plan -input") && !only.contains(" apply -input"),
        "{only}"
    );
    assert!(!only.contains("update-kubeconfig") && only.contains("output -json"), "{only}");
    assert!(only.contains("build api-service\n"), "{only}");
    assert!(only.contains("/myhealth-dev/api-service:") && !only.contains("/myhealth-dev/data-processor:"), "{only}");
    assert!(only.contains("--reset-then-reuse-values --atomic --wait --timeout 10m --kube-context ctx"), "{only}");
    assert!(only.contains("$ kubectl --context ctx apply"), "{only}");
    let infra = dry_run(&path, &["dev", "--skip-app"]);
    assert!(infra.starts_with("deploy `dev`: 5 steps"), "{infra}");
    assert!(!infra.contains("helm") && !infra.contains("cargo") && infra.contains("apply -input=false"), "{infra}");
    let prebuilt = dry_run(&path, &["dev", "--skip-build"]);
    assert!(!prebuilt.contains("cargo build") && prebuilt.contains("push the images"), "{prebuilt}");

    // Where ArgoCD manages the release (the default): the record is
    // committed on a branch of its own and proposed as a pull request into
    // the (protected) branch the Application follows, ArgoCD syncs it once
    // merged, and a failed release's revert is proposed alike — no Helm, no
    // namespace.
    let gitops = dry_run_in(&root(), &path, &["staging", "--skip-infra"]);
    let release_branch = |text: &str| -> String {
        text.split("git switch --quiet -c ").nth(1).unwrap().split_whitespace().next().unwrap().to_string()
    };
    let branch = release_branch(&gitops);
    assert!(branch.starts_with("release/staging-"), "{gitops}");
    let push = format!("$ git push --quiet origin HEAD:refs/heads/{branch}");
    let order = [
        "released through ArgoCD (it manages the release)",
        "push the images, record their digests",
        "write the pushed digests as the release record, and render",
        "myhealth.toml: [environments.staging.release]",
        "$ git switch --quiet -c release/staging-",
        "$ git add -- myhealth.toml generated .github/workflows",
        &push,
        "into `main`, merged by a reviewer",
        "$ git switch --quiet -",
        "POST /repos/eric-n/myhealth/pulls",
        "ArgoCD syncs `myhealth-staging`",
        "POST <--argocd-server>/api/v1/applications/myhealth-staging/sync",
        "on failure: git revert of the merged release on `revert/staging-",
    ];
    let mut at = 0;
    for line in order {
        let found = gitops[at..].find(line).unwrap_or_else(|| panic!("`{line}` missing or out of order in:\n{gitops}"));
        at += found + line.len();
    }
    assert!(!gitops.contains("helm ") && !gitops.contains("kubectl"), "{gitops}");
    assert!(!gitops.contains("HEAD:main"), "nothing is pushed to the protected branch: {gitops}");

    // Mistakes are errors before anything runs.
    cmd()
        .args(["deploy", "dev", "--dry-run", "--only", "grafana"])
        .assert()
        .code(2)
        .stderr(contains("`grafana` is not a bundled service").and(contains("`api-service`")));
    cmd()
        .args(["deploy", "dev", "--skip-app", "--skip-infra"])
        .assert()
        .code(2)
        .stderr(contains("cannot be used with"));
    cmd().args(["deploy", "qa", "--dry-run"]).assert().code(2).stderr(contains("no environment `qa`"));
}

/// `deploy` refuses a drifted tree first: exit 3, the fix, nothing built or applied.
#[test]
fn deploy_refuses_a_drifted_tree() {
    let p = TempProject::new(&root().join("tests/fixtures/minimal.toml"));
    cmd_in(p.path()).arg("render").assert().success();
    let f = p.path().join("generated/terraform/envs/dev/main.tf");
    std::fs::write(&f, std::fs::read_to_string(&f).unwrap() + "# hand edit\n").unwrap();
    cmd_in(p.path()).args(["deploy", "dev", "--skip-app", "--yes"]).assert().code(3).stderr(
        contains("run `myhealthctl render --env dev`")
            .and(contains("refused: not deployed `dev`: nothing was built, applied or installed"))
            .and(contains("terraform init").not()),
    );
}

/// Retiring an environment is a reviewed path: removing it from the config
/// is refused by `render` (its roots may hold infrastructure) until
/// `--retire`, which keeps them marked; the drift gate carries them; the
/// review says what retiring does; `destroy` of it is tested against moto.
#[test]
fn retiring_an_environment_is_a_reviewed_path() {
    let p = git_project();
    let text = std::fs::read_to_string(p.config()).unwrap();
    std::fs::write(p.config(), common::without_environment(&text, "staging")).unwrap();
    let roots = ["generated/terraform/envs/staging/main.tf", "generated/terraform/access/staging/main.tf"];
    cmd_in(p.path()).arg("render").assert().code(3).stderr(
        contains("`staging` is no longer in `myhealth.toml`").and(contains("myhealthctl render --retire staging")),
    );
    for r in roots {
        assert!(p.path().join(r).is_file(), "{r} was deleted by a refused render");
    }
    cmd_in(p.path()).args(["render", "--retire", "dev"]).assert().code(2).stderr(contains("still in"));
    cmd_in(p.path()).args(["render", "--retire", "staging"]).assert().success().stderr(contains("retired `staging`"));
    for r in roots {
        assert!(p.path().join(r).is_file(), "{r} is kept");
        let marker = std::path::Path::new(r).with_file_name("RETIRED.md");
        assert!(p.path().join(&marker).is_file(), "{} is marked", marker.display());
    }
    assert!(!p.path().join("generated/helm/values-staging.yaml").exists(), "what holds no state goes");
    // Later renders and the drift gate carry the retired roots.
    cmd_in(p.path()).arg("render").assert().success();
    cmd_in(p.path()).arg("diff").assert().success();
    // The review says what retiring does.
    let md = cmd_in(p.path()).args(["diff", "--base", "HEAD", "--format", "markdown"]).output().unwrap();
    let md = String::from_utf8(md.stdout).unwrap();
    assert!(
        md.contains("- retires `staging`: every resource its state holds destroyed, -$172.31/month — once `myhealthctl destroy staging` runs"),
        "{md}"
    );
    // `destroy` knows the retired environment (against moto in tests/moto.rs).
    let dry = cmd_in(p.path()).args(["destroy", "staging", "--yes"]).env("PATH", "/nonexistent").output().unwrap();
    assert!(!String::from_utf8_lossy(&dry.stderr).contains("no environment `staging`"));
    // The PR that retires it plans its destroy: pr.yml's `affected` step, run
    // as GitHub runs it, puts staging in the plan matrix with the plan role,
    // region and GitHub environment its kept access root names.
    p.commit_all("retire staging");
    let plans = pr_plan_matrix(p.path(), "HEAD~1");
    let staging = plans.iter().find(|r| r["environment"] == "staging").unwrap_or_else(|| panic!("{plans:?}"));
    assert_eq!(staging["role"], "arn:aws:iam::123456789012:role/myhealth-staging-github-plan");
    assert_eq!(staging["region"], "us-east-1");
    assert_eq!(staging["github_environment"], "staging-plan");
    // `plan staging` is then its destroy plan (against moto in tests/moto.rs).
    let plan = cmd_in(p.path()).args(["plan", "staging", "--json"]).env("PATH", "/nonexistent").output().unwrap();
    assert!(String::from_utf8_lossy(&plan.stderr).contains("`staging` is retired: planning the destroy"), "{plan:?}");
}

/// The plan matrix pr.yml's `affected` step writes (`plans=` in
/// `$GITHUB_OUTPUT`), its script run under `bash -e` as GitHub runs it.
fn pr_plan_matrix(dir: &std::path::Path, base: &str) -> Vec<serde_json::Value> {
    let wf: serde_yaml_ng::Value =
        serde_yaml_ng::from_str(&std::fs::read_to_string(dir.join(".github/workflows/pr.yml")).unwrap()).unwrap();
    let step = wf["jobs"]["affected"]["steps"]
        .as_sequence()
        .unwrap()
        .iter()
        .find(|s| s["id"].as_str() == Some("affected"))
        .expect("the affected step");
    let base = String::from_utf8(
        std::process::Command::new("git").args(["rev-parse", base]).current_dir(dir).output().unwrap().stdout,
    )
    .unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let bin = dir.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_myhealthctl"), bin.join("myhealthctl")).unwrap();
    let output = tmp.path().join("output");
    let run = std::process::Command::new("bash")
        .args(["-e", "-c", step["run"].as_str().unwrap()])
        .current_dir(dir)
        .env("BASE", base.trim())
        .env("ROLES", step["env"]["ROLES"].as_str().unwrap())
        .env("RUNNER_TEMP", tmp.path())
        .env("GITHUB_OUTPUT", &output)
        .output()
        .unwrap();
    std::fs::remove_dir_all(&bin).unwrap();
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    let out = std::fs::read_to_string(&output).unwrap();
    assert!(out.contains("generator=unchanged"), "{out}");
    let plans = out.lines().find_map(|l| l.strip_prefix("plans=")).unwrap_or_else(|| panic!("{out}"));
    serde_json::from_str(plans).unwrap()
}

/// `deploy` checks everything it rests on before its first side effect:
/// the dry run names each missing precondition with its fix, and a run with
/// any missing stops at once — exit 2, all of them named, nothing built,
/// committed or pushed.
#[test]
fn deploy_names_every_missing_precondition_before_anything_runs() {
    let p = git_project();
    let deploy = |args: &[&str]| {
        cmd_in(p.path())
            .args(["deploy", "dev", "--skip-infra", "--skip-build", "--registry", "127.0.0.1:5000"])
            .args(args)
            .env_remove("ARGOCD_SERVER")
            .env_remove("ARGOCD_AUTH_TOKEN")
            .env_remove("GH_TOKEN")
            .env_remove("GITHUB_TOKEN")
            .env("PATH", "/usr/bin:/bin")
            .output()
            .unwrap()
    };
    let missing = [
        "ArgoCD's API (`--argocd-server` or `ARGOCD_SERVER`)",
        "ArgoCD's token (`ARGOCD_AUTH_TOKEN`)",
        "GitHub's token (`GH_TOKEN` or `GITHUB_TOKEN`)",
        "the git remote `origin`",
    ];
    let dry = deploy(&["--dry-run"]);
    assert!(dry.status.success(), "{}", String::from_utf8_lossy(&dry.stderr));
    let listing = String::from_utf8(dry.stdout).unwrap();
    assert!(listing.contains("4 missing: a run would stop before its first step"), "{listing}");
    for m in missing {
        assert!(listing.contains(&format!("✗ {m}")), "{m}: {listing}");
    }
    let json: serde_json::Value = serde_json::from_slice(&deploy(&["--dry-run", "--json"]).stdout).unwrap();
    let unmet: Vec<&str> = json["preconditions"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["met"] == false)
        .map(|c| c["what"].as_str().unwrap())
        .collect();
    assert_eq!(unmet.len(), 4, "{json:#}");
    let head = |p: &TempProject| {
        String::from_utf8(
            std::process::Command::new("git")
                .args(["rev-parse", "HEAD"])
                .current_dir(p.path())
                .output()
                .unwrap()
                .stdout,
        )
        .unwrap()
    };
    let before = head(&p);
    let run = deploy(&[]);
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert_eq!(run.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("cannot start — nothing was built, applied, pushed or committed"), "{stderr}");
    for m in missing {
        assert!(stderr.contains(m), "{m}: {stderr}");
    }
    assert!(!stderr.contains("== "), "a step ran: {stderr}");
    assert_eq!(head(&p), before, "a commit was made");
    let status =
        std::process::Command::new("git").args(["status", "--porcelain"]).current_dir(p.path()).output().unwrap();
    assert!(status.stdout.is_empty(), "{}", String::from_utf8_lossy(&status.stdout));
}

/// A reader that goes away (`| head -1`) ends the command quietly: no panic,
/// no message, for every command that prints more than a line.
#[test]
fn a_closed_pipe_ends_commands_quietly() {
    use std::io::BufRead;
    for args in
        [&["envs"][..], &["cost", "--json"], &["schema"], &["envs", "--json"], &["schema", "--format", "markdown"]]
    {
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_myhealthctl"))
            .args(args)
            .current_dir(root())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let mut first = String::new();
        std::io::BufReader::new(child.stdout.take().unwrap()).read_line(&mut first).unwrap();
        // The reader is dropped here: the rest of the output has nowhere to go.
        let out = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!first.is_empty(), "{args:?} printed nothing");
        assert_ne!(out.status.code(), Some(101), "{args:?} panicked: {stderr}");
        assert!(stderr.is_empty(), "{args:?} complained about the closed pipe: {stderr}");
    }
}

/// `--json` prints JSON on stdout, errors included, and nothing on stderr.
#[test]
fn json_modes_print_only_json_even_for_errors() {
    let bad = "tests/config-errors/19-node-group-min-above-desired-in-override.toml";
    for args in [
        vec!["validate", "--json", "--config", bad],
        vec!["envs", "--json", "--config", bad],
        vec!["cost", "--json", "--config", bad],
        vec!["cost", "nope", "--json"],
        vec!["envs", "--json", "--env", "nope"],
    ] {
        let out = cmd().args(&args).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(out.stderr.is_empty(), "{args:?} wrote to stderr: {}", String::from_utf8_lossy(&out.stderr));
        let v: serde_json::Value = serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("{args:?}: not JSON ({e}): {}", String::from_utf8_lossy(&out.stdout)));
        assert!(v["error"].is_object(), "{args:?}: {v}");
    }
    let out = cmd().args(["validate", "--json", "--config", bad]).output().unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["error"]["problems"][0]["line"], 17, "{v}");
}

/// Numeric flags are finite and in range; hints name only what exists;
/// commands on one environment take it positionally only; an unknown
/// environment is a usage error (2) everywhere.
#[test]
fn flags_are_checked_and_errors_are_usage_errors() {
    for bad in ["-1000", "NaN", "inf", "1e300"] {
        cmd().arg("cost").arg(format!("--requests={bad}")).assert().code(2).stderr(contains("--requests"));
    }
    cmd().args(["cost", "--requests", "5"]).assert().success();
    cmd().args(["deploy", "dev", "--dry-run", "--smoke-timeout", "0"]).assert().code(2);
    cmd().args(["deploy", "dev", "--dry-run", "--timeout", "forever"]).assert().code(2).stderr(contains("duration"));
    cmd()
        .args(["push", "dev", "nope"])
        .assert()
        .code(2)
        .stderr(contains("no service `nope`").and(contains("`api-service`")).and(contains("build nope").not()));
    for c in ["plan", "deploy", "destroy"] {
        let help = cmd().args([c, "--help"]).output().unwrap();
        assert!(!String::from_utf8_lossy(&help.stdout).contains("--env"), "`{c} --help` offers --env");
        cmd().args([c, "dev", "--env", "prod"]).assert().code(2);
        cmd().args([c, "nope"]).assert().code(2).stderr(contains("no environment `nope`"));
    }
    cmd().args(["graph", "nope"]).assert().code(2);
}

/// `promote FROM TO` copies FROM's release record to TO verbatim, shows the
/// record, rendered and cost change, writes the config and the tree (the
/// drift gate then holds), and is idempotent; `--check` writes nothing and
/// exits 1; a source without a record is an error with the way to make one.
/// `status` reads the records back.
#[test]
fn promote_copies_a_release_record_and_status_reads_it() {
    let p = TempProject::new(&root().join("myhealth.toml"));
    let digest = |c: char| format!("sha256:{}", c.to_string().repeat(64));
    let commit = "0123456789abcdef0123456789abcdef01234567";
    let text = std::fs::read_to_string(p.config()).unwrap();
    std::fs::write(
        p.config(),
        format!(
            "{text}\n[environments.dev.release]\ncommit = \"{commit}\"\nchart = \"0.1.0\"\n[environments.dev.release.images]\napi-service = \"{}\"\ndata-processor = \"{}\"\noura-collector = \"{}\"\n",
            digest('a'),
            digest('c'),
            digest('b')
        ),
    )
    .unwrap();
    cmd_in(p.path()).arg("render").assert().success();
    let values = |env: &str| -> serde_yaml_ng::Value {
        serde_yaml_ng::from_str(
            &std::fs::read_to_string(p.path().join(format!("generated/helm/values-{env}.yaml"))).unwrap(),
        )
        .unwrap()
    };
    // The record reaches dev's values, nobody else's.
    assert_eq!(values("dev")["services"]["api-service"]["digest"].as_str(), Some(digest('a').as_str()));
    assert_eq!(values("dev")["global"]["release"]["commit"].as_str(), Some(commit));
    assert!(values("staging")["services"]["api-service"].get("digest").is_none());

    let before = std::fs::read_to_string(p.config()).unwrap();
    let check = cmd_in(p.path()).args(["promote", "dev", "staging", "--check"]).output().unwrap();
    assert_eq!(check.status.code(), Some(1), "{}", String::from_utf8_lossy(&check.stderr));
    let shown = String::from_utf8(check.stdout).unwrap();
    assert!(shown.contains("images.api-service: (none) → sha256:aaaaaaaaaaaa"), "{shown}");
    assert!(
        shown.contains("--- a/helm/values-staging.yaml") && shown.contains(&format!("+    digest: {}", digest('a'))),
        "{shown}"
    );
    assert!(shown.contains("(unchanged: a release moves images, not infrastructure)"), "{shown}");
    assert_eq!(std::fs::read_to_string(p.config()).unwrap(), before, "--check wrote the config");

    cmd_in(p.path())
        .args(["promote", "dev", "staging"])
        .assert()
        .success()
        .stdout(contains("wrote the release of `staging`"));
    let after = std::fs::read_to_string(p.config()).unwrap();
    assert!(
        after.starts_with(&before[..before.find("[environments.staging]").unwrap()]),
        "the rest of the config is kept"
    );
    assert_eq!(values("staging")["services"]["oura-collector"]["digest"].as_str(), Some(digest('b').as_str()));
    assert_eq!(values("staging")["services"]["data-processor"]["digest"].as_str(), Some(digest('c').as_str()));
    cmd_in(p.path()).arg("diff").assert().code(0);
    cmd_in(p.path())
        .args(["promote", "dev", "staging"])
        .assert()
        .success()
        .stdout(contains("already runs this release"));
    cmd_in(p.path())
        .args(["promote", "prod", "dev"])
        .assert()
        .code(2)
        .stderr(contains("`prod` has no release record").and(contains("push prod --record")));
    cmd_in(p.path()).args(["promote", "dev", "dev"]).assert().code(2);

    let st = cmd_in(p.path()).args(["status", "--json"]).output().unwrap();
    assert!(st.status.success());
    let st: serde_json::Value = serde_json::from_slice(&st.stdout).unwrap();
    assert_eq!(st[1]["environment"], "staging");
    assert_eq!(st[1]["record"]["commit"], commit);
    assert_eq!(st[1]["by_tag"], serde_json::json!([]));
    assert_eq!(st[2]["by_tag"], serde_json::json!(["api-service", "data-processor", "oura-collector"]));
    assert_eq!(st[2]["record"], serde_json::Value::Null);
    assert_eq!(st[2]["rolled_out_by"], "ArgoCD (synced by its release job, or by hand)");
    cmd_in(p.path()).arg("status").assert().success().stdout(contains("no release record: every service runs the tag"));
}

/// Budgets: within budget nothing is said; a change that takes dev over its
/// budget is a warning in `validate`, a ❌ with the key in the review, and
/// with `--budget-gate` exit 1 (without it 0: the gate is what fails the
/// check); production over its budget is refused by the commands that
/// change things and reported by those that read.
#[test]
fn budgets_warn_gate_the_review_and_stop_production() {
    let p = git_project();
    let validate = cmd_in(p.path()).arg("validate").output().unwrap();
    assert!(validate.status.success());
    assert!(
        !String::from_utf8_lossy(&validate.stderr).contains("budget"),
        "{}",
        String::from_utf8_lossy(&validate.stderr)
    );

    p.edit(
        "eks = { cluster_name = \"myhealth\" }",
        "eks = { cluster_name = \"myhealth\", node_groups = { general = { desired_size = 10, max_size = 10 } } }",
    );
    cmd_in(p.path()).arg("render").assert().success();
    cmd_in(p.path())
        .arg("validate")
        .assert()
        .success()
        .stderr(contains("warning: the estimated cost of `dev`").and(contains("is over its budget ($250.00)")));
    let review =
        cmd_in(p.path()).args(["diff", "--base", "HEAD", "--format", "markdown", "--budget-gate"]).output().unwrap();
    assert_eq!(review.status.code(), Some(1), "{}", String::from_utf8_lossy(&review.stderr));
    let md = String::from_utf8(review.stdout).unwrap();
    assert!(md.contains("#### Budgets"), "{md}");
    assert!(md.contains("| `dev` | $172.31 → "), "{md}");
    assert!(md.contains("❌ **crossed by this change**"), "{md}");
    assert!(
        md.contains(
            "This change takes `dev` over its budget. What it moves there: `eks.node_groups.general.desired_size`"
        ),
        "{md}"
    );
    assert!(md.contains("| `staging` | $172.31 | $250.00 | 69% | ✅ |"), "{md}");
    assert!(String::from_utf8_lossy(&review.stderr).contains("takes `dev` over budget"));
    cmd_in(p.path()).args(["diff", "--base", "HEAD", "--format", "markdown"]).assert().code(0);

    p.edit("[environments.prod.budget]\nmonthly_usd = 2000", "[environments.prod.budget]\nmonthly_usd = 500");
    cmd_in(p.path())
        .arg("validate")
        .assert()
        .code(2)
        .stderr(contains("error: the estimated cost of `prod` ($813.94 a month) is over its budget ($500.00)"));
    // Only the commands that change things refuse it; those that read run
    // (no dead end: the error's help says to run `cost prod`) and warn.
    cmd_in(p.path()).arg("render").assert().code(2).stderr(contains("error: the estimated cost of `prod`"));
    for args in [
        &["cost", "prod"][..],
        &["cost", "prod", "--json"],
        &["explain", "rds.instance_class", "--env", "prod"],
        &["envs", "--env", "prod"],
        &["graph", "prod"],
        &["status"],
        &["diff", "--base", "HEAD"],
    ] {
        let out = cmd_in(p.path()).args(args).env("NO_COLOR", "1").output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{args:?}: {stderr}");
        assert!(!out.stdout.is_empty(), "{args:?} printed nothing");
        assert!(
            stderr.contains("warning: the estimated cost of `prod` ($813.94 a month) is over its budget ($500.00)")
                && stderr.contains("commands that change things"),
            "{args:?}: {stderr}"
        );
    }
    // The drift gate still gates (the budget is rendered), and reports the overrun.
    cmd_in(p.path()).arg("diff").assert().code(1).stderr(contains("warning: the estimated cost of `prod`"));
}

/// `explain`: the chain back to the file (winner marked, file:line), and
/// forward — by rendering the value varied — to the generated lines, the
/// Terraform block and attribute, the Kubernetes object (Helm), and the
/// cost items; only the named environment's files; did-you-mean.
#[test]
fn explain_follows_a_key_back_to_the_file_and_forward_to_what_it_drives() {
    let json = |args: &[&str]| -> serde_json::Value {
        let out = cmd()
            .arg("explain")
            .args(args)
            .arg("--json")
            .env("PATH", format!("{}:{}", root().join(".venv/bin").display(), std::env::var("PATH").unwrap()))
            .env("MYHEALTHCTL_HELM", root().join("tests/helm/helm"))
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        serde_json::from_slice(&out.stdout).unwrap()
    };
    let text = std::fs::read_to_string(root().join("myhealth.toml")).unwrap();
    let line_of = |needle: &str| text.lines().position(|l| l.starts_with(needle)).unwrap() + 1;

    let x = &json(&["rds.instance_class", "--env", "prod"])[0];
    assert_eq!(x["value"], "db.r6g.large");
    let chain = x["chain"].as_array().unwrap();
    assert_eq!(
        chain.iter().map(|s| s["layer"].as_str().unwrap()).collect::<Vec<_>>(),
        ["built-in", "[defaults]", "[environments.prod]"]
    );
    assert_eq!(chain[2]["wins"], true);
    assert_eq!(chain[1]["wins"], false);
    let prod_rds = text.find("[environments.prod.rds]").unwrap();
    let line = text[..prod_rds].lines().count()
        + text[prod_rds..].lines().position(|l| l.starts_with("instance_class")).unwrap()
        + 1;
    assert!(chain[2]["at"].as_str().unwrap().starts_with(&format!("myhealth.toml:{line}:")), "{x:#}");
    let lands = x["lands"].as_array().unwrap();
    let tfvars = lands.iter().find(|l| l["file"] == "terraform/envs/prod/terraform.tfvars").expect("the tfvars");
    assert!(tfvars["terraform"][0].as_str().unwrap().contains("module \"rds\" instance_class"), "{tfvars}");
    assert!(lands.iter().all(|l| !l["file"].as_str().unwrap().contains("/dev/")), "only prod's files: {lands:?}");
    assert_eq!(x["cost_usd"], 328.5);

    let x = &json(&["eks.node_groups.general.desired_size", "--env", "dev"])[0];
    assert_eq!(x["chain"][1]["at"].as_str().unwrap(), format!("myhealth.toml:{}:16", line_of("desired_size = 2")));
    assert!(
        x["cost_items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|i| i.as_str().unwrap().starts_with("EC2: node group `general`"))
    );

    let x = &json(&["services.api-service.env.RUST_LOG", "--env", "staging", "--manifests"])[0];
    assert_eq!(x["kubernetes"], serde_json::json!(["Deployment myhealth/myhealth-api-service"]));
    assert_eq!(x["cost_usd"], 0.0);

    cmd()
        .args(["explain", "rds.instance_clas"])
        .assert()
        .code(2)
        .stderr(contains("no setting `rds.instance_clas`").and(contains("did you mean `rds.instance_class`?")));
    cmd().args(["envs", "--provenance", "--env", "prod"]).assert().success().stdout(contains(format!(
        "  rds.instance_class = \"db.r6g.large\"   (myhealth.toml:{line} [environments.prod])"
    )));
}
