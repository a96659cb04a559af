//! Policy as code (`cli/src/policy`): a corpus of Rego policies under
//! `tests/policy/` with findings expected at exact `file:line:col` of the
//! default config and two fixtures, conftest's v0 style, syntax errors, a
//! missing input field, a rule that refers to itself, `render` refusing
//! on a deny, `policy test`, and the input's JSON Schema. Fast:
//! no terraform, no moto.

mod common;

use common::{cmd, root};
use serde_json::Value;

/// `validate --json --policy DIR` over `config`: its exit code and its problems as
/// `(severity, "file:line:col" or "-", key, message)`.
fn findings(config: &str, dir: &str, extra: &[&str]) -> (i32, Vec<(String, String, String, String)>) {
    let out = cmd()
        .current_dir(root())
        .args(["--config", config, "validate", "--json", "--policy", dir])
        .args(extra)
        // Kubernetes objects are the chart as the real Helm renders it.
        .env("MYHEALTHCTL_HELM", root().join("tests/helm/helm"))
        .output()
        .unwrap();
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let problems = v["error"]["problems"].as_array().or(v["warnings"].as_array()).cloned().unwrap_or_default();
    let rows = problems
        .iter()
        .filter(|p| p["notes"].is_array())
        .map(|p| {
            let at = match (p["line"].as_u64(), p["column"].as_u64()) {
                (Some(l), Some(c)) => format!("{}:{l}:{c}", p["file"].as_str().unwrap()),
                _ => "-".into(),
            };
            let s = |k: &str| p[k].as_str().unwrap_or("-").to_string();
            (s("severity"), at, s("key"), s("message"))
        })
        .collect();
    (out.status.code().unwrap(), rows)
}

fn row(sev: &str, at: &str, key: &str, msg: &str) -> (String, String, String, String) {
    (sev.into(), at.into(), key.into(), msg.into())
}

#[test]
fn corpus_over_the_default_config_points_at_exact_lines() {
    let (code, rows) = findings("myhealth.toml", "tests/policy/corpus", &[]);
    assert_eq!(code, 2, "a deny fails validate with the invalid-config code");
    assert_eq!(
        rows,
        vec![
            row(
                "warning",
                "myhealth.toml:53:19",
                "defaults.eks.node_groups.general.instance_types.0",
                "node group `general` runs t3.medium"
            ),
            row("error", "-", "-", "reviewed by hand"),
            row(
                "error",
                "myhealth.toml:40:26",
                "defaults.eks.endpoint_public_access",
                "`prod` serves its Kubernetes API publicly"
            ),
        ]
    );
}

#[test]
fn corpus_over_the_minimal_fixture_points_built_in_defaults_at_the_table() {
    let (code, rows) = findings("tests/fixtures/minimal.toml", "tests/policy/corpus", &[]);
    assert_eq!(code, 2);
    assert_eq!(
        rows,
        vec![
            row(
                "warning",
                "tests/fixtures/minimal.toml:10:15",
                "environments.dev.eks.node_groups.general.instance_types.0",
                "node group `general` runs t3.medium"
            ),
            row("error", "-", "-", "reviewed by hand"),
        ]
    );
}

#[test]
fn corpus_over_the_multi_region_fixture() {
    let (_, rows) = findings("tests/fixtures/multi-region.toml", "tests/policy/corpus", &[]);
    assert!(rows.contains(&row(
        "error",
        "tests/fixtures/multi-region.toml:73:15",
        "environments.prod.eks.endpoint_public_access",
        "`prod` serves its Kubernetes API publicly"
    )));
    assert!(rows.contains(&row(
        "warning",
        "tests/fixtures/multi-region.toml:37:19",
        "defaults.eks.node_groups.workers.instance_types.0",
        "node group `workers` runs m6i.large"
    )));
    // The rule reading a missing input field never fires.
    assert!(!rows.iter().any(|r| r.3 == "never reported"), "{rows:#?}");
}

#[test]
fn only_main_unless_all_namespaces() {
    let (_, rows) = findings("myhealth.toml", "tests/policy/corpus", &[]);
    assert!(!rows.iter().any(|r| r.3 == "from another package"));
    let (_, rows) = findings("myhealth.toml", "tests/policy/corpus", &["--all-namespaces"]);
    assert!(rows.iter().any(|r| r.3 == "from another package"), "{rows:#?}");
}

#[test]
fn text_output_names_rule_and_file() {
    let out = cmd()
        .current_dir(root())
        .args(["validate", "--policy", "tests/policy/corpus", "--color", "never"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("--> myhealth.toml:40:26"), "{err}");
    assert!(err.contains("policy rule `main.deny` in `tests/policy/corpus/main.rego`"), "{err}");
    assert!(err.contains("environment `dev`; the finding names no key"), "{err}");
}

#[test]
fn conftest_v0_style_runs_with_rego_version_v0() {
    let (code, rows) = findings("myhealth.toml", "tests/policy/conftest-v0", &["--rego-version", "v0"]);
    assert_eq!(code, 2);
    assert_eq!(rows, vec![row("error", "-", "-", "Production environment prod keeps backups under 35 days")]);
}

#[test]
fn a_syntax_error_names_file_and_line() {
    let out = cmd().current_dir(root()).args(["validate", "--policy", "tests/policy/syntax"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("tests/policy/syntax/broken.rego:4:25"), "{err}");
    assert!(!err.contains("panicked"), "{err}");
    let out = cmd().current_dir(root()).args(["policy", "test", "tests/policy/syntax"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
}

/// A policy that loops (a rule that refers to itself) and one that reads
/// an input field the config does not have, over `render` as over
/// `validate`: the first is an error naming the file and line, never a
/// panic or a hang; the second finds nothing.
#[test]
fn a_looping_policy_is_an_error_and_render_runs_the_policies() {
    for command in ["validate", "render"] {
        let mut args = vec![command, "--policy", "tests/policy/recursive"];
        if command == "render" {
            args.extend(["--out", "target/policy-render-never-written"]);
        }
        let out = cmd().current_dir(root()).args(&args).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{command}: {out:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("tests/policy/recursive/loop.rego"), "{command}: {err}");
        assert!(!err.contains("panicked") && !err.contains("overflow"), "{err}");
    }
    // A deny stops `render` too (the corpus denies on the default config), before anything is written.
    let out = cmd()
        .current_dir(root())
        .args(["render", "--policy", "tests/policy/corpus", "--out", "target/policy-render-never-written"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("serves its Kubernetes API publicly"), "{out:?}");
    assert!(!root().join("target/policy-render-never-written").exists(), "a denied render wrote nothing");
}

#[test]
fn policy_test_passes_and_fails() {
    let out = cmd().current_dir(root()).args(["policy", "test", "tests/policy/tests-pass"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stdout).contains("2 passed, 0 failed, 0 errors"));
    let out = cmd().current_dir(root()).args(["policy", "test", "tests/policy/tests-fail"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("tests/policy/tests-fail/prod.rego:8: main.test_fails FAIL"), "{text}");
    // The project's own policies pass their tests.
    cmd().current_dir(root()).args(["policy", "test"]).assert().success();
}

#[test]
fn the_input_matches_its_shipped_schema() {
    let out = cmd().current_dir(root()).args(["policy", "schema"]).output().unwrap();
    assert!(out.status.success(), "{out:?}");
    let schema: Value = serde_json::from_slice(&out.stdout).unwrap();
    let shipped: Value =
        serde_json::from_str(&std::fs::read_to_string(root().join("docs/policy-input.schema.json")).unwrap()).unwrap();
    assert_eq!(schema, shipped, "regenerate docs/policy-input.schema.json (see docs/policy.md)");
    let validator = jsonschema::validator_for(&schema).unwrap();
    for env in ["dev", "staging", "prod"] {
        let out = cmd().current_dir(root()).args(["policy", "input", env]).output().unwrap();
        assert!(out.status.success(), "{out:?}");
        let input: Value = serde_json::from_slice(&out.stdout).unwrap();
        let errors: Vec<String> = validator.iter_errors(&input).map(|e| e.to_string()).collect();
        assert!(errors.is_empty(), "{env}: {errors:#?}");
        assert_eq!(input["settings"]["eks"]["endpoint_public_access"], Value::Bool(true));
        assert_eq!(input["sources"]["eks.endpoint_public_access"]["layer"], "defaults");
    }
}

/// Input 2, the rendered platform: a finding about a generated file points at
/// the line its `path` is on — a Terraform root's variable, a workflow's
/// job, one document of a multi-document ArgoCD file, the chart template
/// a Kubernetes object was rendered from (by the real Helm, with prod's
/// values and `data.myhealth.production`).
#[test]
fn rendered_platform_findings_point_at_generated_lines() {
    let (code, rows) = findings("myhealth.toml", "tests/policy/rendered", &[]);
    assert_eq!(code, 2, "a deny over the rendered platform fails validate");
    assert_eq!(
        rows,
        vec![
            row(
                "warning",
                ".github/workflows/build.yml:70:7",
                "-",
                "job `release` of .github/workflows/build.yml writes contents"
            ),
            row(
                "warning",
                ".github/workflows/deploy.yml:52:7",
                "-",
                "job `promote` of .github/workflows/deploy.yml writes contents"
            ),
            // The key behind a generated line, tracked back through the render.
            row(
                "warning",
                "generated/argocd/dev/addons.yaml:351:5",
                "defaults.argocd.charts.kube_prometheus_stack",
                "kube-prometheus-stack follows `79.5.0`"
            ),
            row(
                "warning",
                "generated/terraform/envs/prod/terraform.tfvars:17:1",
                "defaults.eks.endpoint_public_access",
                "generated/terraform/envs/prod serves the Kubernetes API publicly"
            ),
            row(
                "error",
                "generated/helm/myhealth/templates/workloads.yaml:10:1",
                "-",
                "myhealth-api-service leaves its replica count to the autoscaler"
            ),
            row(
                "error",
                "generated/helm/myhealth/templates/workloads.yaml:10:1",
                "-",
                "myhealth-data-processor leaves its replica count to the autoscaler"
            ),
        ]
    );
    // The note says where the key behind the line is set.
    let out = cmd()
        .current_dir(root())
        .args(["validate", "--policy", "tests/policy/rendered"])
        .env("MYHEALTHCTL_HELM", root().join("tests/helm/helm"))
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("its line renders `eks.endpoint_public_access`, set at myhealth.toml:40:26 (`defaults.eks.endpoint_public_access`)"),
        "{err}"
    );
    // Each generated line holds what the finding is about.
    let line = |f: &str, n: usize| {
        std::fs::read_to_string(root().join(f)).unwrap().lines().nth(n - 1).unwrap().trim().to_string()
    };
    assert_eq!(line(".github/workflows/build.yml", 70), "contents: write # the release branch");
    assert_eq!(line("generated/argocd/dev/addons.yaml", 351), "targetRevision: 79.5.0");
    assert_eq!(line("generated/terraform/envs/prod/terraform.tfvars", 17), "endpoint_public_access     = true");
    assert_eq!(line("generated/helm/myhealth/templates/workloads.yaml", 10), "kind: Deployment");
}

/// Each rendered input, as `policy input ENV --kind KIND` prints it, is what
/// its shipped schema says; an `input_kinds` naming no input is an error at its file and line.
#[test]
fn rendered_inputs_match_their_shipped_schemas() {
    for kind in ["kubernetes", "terraform", "workflow", "plan"] {
        let out = cmd().current_dir(root()).args(["policy", "schema", kind]).output().unwrap();
        let schema: Value = serde_json::from_slice(&out.stdout).unwrap();
        let file = format!("docs/policy-input-{kind}.schema.json");
        let shipped: Value = serde_json::from_str(&std::fs::read_to_string(root().join(&file)).unwrap()).unwrap();
        assert_eq!(schema, shipped, "regenerate {file}: myhealthctl policy schema {kind}");
        if kind == "plan" {
            continue; // a plan's input exists only where a plan does (tests/moto.rs)
        }
        let validator = jsonschema::validator_for(&schema).unwrap();
        let out = cmd()
            .current_dir(root())
            .args(["policy", "input", "prod", "--kind", kind])
            .env("MYHEALTHCTL_HELM", root().join("tests/helm/helm"))
            .output()
            .unwrap();
        assert!(out.status.success(), "{out:?}");
        let inputs: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap();
        assert!(inputs.len() >= 3, "{kind}: {inputs:#?}");
        for input in &inputs {
            let errors: Vec<String> = validator.iter_errors(input).map(|e| e.to_string()).collect();
            assert!(errors.is_empty(), "{kind}: {errors:#?}");
        }
    }
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("p.rego"),
        "package main\n\ninput_kinds := {\"config\", \"helm\"}\n\ndeny contains \"x\" if false\n",
    )
    .unwrap();
    let out = cmd().current_dir(root()).args(["validate", "--policy"]).arg(dir.path()).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("p.rego:3") && err.contains("names input kind \"helm\""), "{err}");
}
