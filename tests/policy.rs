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
            // A built-in default list has no element in the file: the finding names the list.
            row(
                "warning",
                "tests/fixtures/minimal.toml:10:15",
                "environments.dev.eks.node_groups.general.instance_types",
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
    // So is an `input_environments` that is neither "production" nor "all".
    std::fs::write(
        dir.path().join("p.rego"),
        "package main\n\ninput_environments := \"staging\"\n\ndeny contains \"x\" if false\n",
    )
    .unwrap();
    let out = cmd().current_dir(root()).args(["validate", "--policy"]).arg(dir.path()).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("p.rego:3") && err.contains("names environments \"staging\""), "{err}");
}

// ------------------------------------------------------------ built-in rules

/// The built-in findings of `validate --json` over `text` (written as
/// `name` in a fresh directory, so no `policy/` beside it), as
/// `"file:line:col rule"`, in the order reported; and the exit code.
fn builtin_findings(name: &str, text: &str, extra: &[&str]) -> (i32, Vec<String>) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join(name), text).unwrap();
    let out = common::cmd_in(dir.path()).args(["validate", "--json", "--config", name]).args(extra).output().unwrap();
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let problems = v["error"]["problems"].as_array().or(v["warnings"].as_array()).cloned().unwrap_or_default();
    let rows = problems
        .iter()
        .filter(|p| p["rule"].as_str().is_some_and(|r| r.starts_with("myhealth.builtin.")))
        .map(|p| {
            format!("{}:{}:{} {}", p["file"].as_str().unwrap(), p["line"], p["column"], p["rule"].as_str().unwrap())
        })
        .collect();
    (out.status.code().unwrap(), rows)
}

const P: &str = "myhealth.builtin.production.";

/// `config` with a production environment `prod2` appended that sets
/// nothing but its API host: it inherits `[defaults]`, so the built-in
/// rules find what the defaults leave for production to set, at the lines
/// of `[defaults]` that set it (or at `prod2`'s table for a built-in default).
fn with_prod2(config: &str, extra: &str) -> String {
    let text = std::fs::read_to_string(root().join(config)).unwrap();
    let domain = text.lines().find_map(|l| l.strip_prefix("domain = ")).unwrap().trim_matches('"');
    format!("{text}\n[environments.prod2]\nproduction = true\napi_gateway = {{ host = \"prod2.{domain}\" }}\n{extra}")
}

/// The built-in rules' corpus: over the default config and every fixture
/// as they are, no finding (their production environments comply); over
/// each with a production environment inheriting `[defaults]`, exactly
/// these findings, each at the line of the layer that set the key (an
/// element of `public_access_cidrs` for an open CIDR).
#[test]
fn builtin_rules_over_every_config_point_at_exact_lines() {
    for (_, config) in common::CONFIGS {
        let text = std::fs::read_to_string(root().join(config)).unwrap();
        assert_eq!(builtin_findings("c.toml", &text, &[]), (0, vec![]), "{config}");
    }
    let rows = |v: &[(&str, &str)]| v.iter().map(|(at, rule)| format!("{at} {P}{rule}")).collect::<Vec<_>>();
    let defaults_layer = |f: &str, lines: [(u32, u32); 5]| {
        let names = [
            "deny_nat_per_az",
            "deny_eks_public_endpoint",
            "deny_eks_log_types",
            "deny_rds_multi_az",
            "deny_rds_deletion_protection",
        ];
        lines.iter().zip(names).map(|((l, c), n)| format!("{f}:{l}:{c} {P}{n}")).collect::<Vec<_>>()
    };
    let cases: Vec<(&str, Vec<String>)> = vec![
        ("myhealth.toml", defaults_layer("myhealth.toml", [(31, 7), (42, 24), (44, 13), (67, 12), (68, 23)])),
        (
            "tests/fixtures/extra-env-service.toml",
            defaults_layer("extra-env-service.toml", [(29, 7), (40, 24), (42, 13), (65, 12), (66, 23)]),
        ),
        (
            "tests/fixtures/minimal.toml",
            rows(&[
                ("minimal.toml:12:15", "deny_nat_per_az"),
                ("minimal.toml:12:15", "deny_eks_public_endpoint"),
                ("minimal.toml:12:15", "deny_eks_log_types"),
                ("minimal.toml:12:15", "deny_rds_deletion_protection"),
                ("minimal.toml:12:15", "deny_rds_multi_az"),
            ]),
        ),
        (
            "tests/fixtures/moto-accounts.toml",
            rows(&[
                ("moto-accounts.toml:17:7", "deny_nat_per_az"),
                ("moto-accounts.toml:69:15", "deny_eks_public_endpoint"),
                ("moto-accounts.toml:69:15", "deny_eks_log_types"),
                ("moto-accounts.toml:69:15", "deny_rds_deletion_protection"),
                ("moto-accounts.toml:69:15", "deny_rds_multi_az"),
            ]),
        ),
        (
            "tests/fixtures/moto.toml",
            rows(&[
                ("moto.toml:17:7", "deny_nat_per_az"),
                ("moto.toml:67:15", "deny_eks_public_endpoint"),
                ("moto.toml:67:15", "deny_eks_log_types"),
                ("moto.toml:67:15", "deny_rds_deletion_protection"),
                ("moto.toml:67:15", "deny_rds_multi_az"),
            ]),
        ),
        (
            "tests/fixtures/multi-region.toml",
            rows(&[
                ("multi-region.toml:80:15", "deny_eks_log_types"),
                ("multi-region.toml:80:15", "deny_rds_deletion_protection"),
                ("multi-region.toml:80:15", "deny_rds_multi_az"),
            ]),
        ),
    ];
    assert_eq!(cases.len(), common::CONFIGS.len(), "every config of the corpus");
    for (config, expected) in cases {
        let name = config.rsplit('/').next().unwrap();
        let (code, got) = builtin_findings(name, &with_prod2(config, ""), &[]);
        assert_eq!(code, 2, "{config}: a built-in deny fails validate");
        assert_eq!(got, expected, "{config}");
    }
    // The two rules no fixture's defaults break, set in the environment's own table.
    let extra = "rds = { backup_retention_days = 3 }\necr = { image_tag_mutability = \"MUTABLE\" }\n";
    let (_, got) = builtin_findings("minimal.toml", &with_prod2("tests/fixtures/minimal.toml", extra), &[]);
    assert!(got.contains(&format!("minimal.toml:15:33 {P}deny_rds_backup_retention")), "{got:#?}");
    assert!(got.contains(&format!("minimal.toml:16:32 {P}deny_ecr_immutable_tags")), "{got:#?}");
}

/// `[policy] disable` turns a built-in rule off by name (and `policy
/// builtin` says where); an unknown name is an error at that element with
/// the nearest name; `render` evaluates the built-ins with no `policy/`.
#[test]
fn a_builtin_rule_is_disabled_by_name_and_a_typo_is_refused() {
    let disable = "\n[policy]\ndisable = [\"myhealth.builtin.production.deny_nat_per_az\"]\n";
    let text = format!("{}{disable}", with_prod2("tests/fixtures/moto.toml", ""));
    let (code, got) = builtin_findings("moto.toml", &text, &[]);
    assert_eq!(code, 2);
    assert!(!got.iter().any(|r| r.ends_with("deny_nat_per_az")), "{got:#?}");
    assert_eq!(got.len(), 4, "{got:#?}");
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("myhealth.toml"), &text).unwrap();
    let out = common::cmd_in(dir.path()).args(["policy", "builtin"]).output().unwrap();
    let listed = String::from_utf8_lossy(&out.stdout);
    assert!(listed.contains(&format!("{P}deny_nat_per_az  disabled (myhealth.toml:72)")), "{listed}");
    assert_eq!(listed.lines().count(), 7, "{listed}");

    let typo = format!("{}\n[policy]\ndisable = [\"{P}deny_nat_perAz\"]\n", with_prod2("tests/fixtures/moto.toml", ""));
    std::fs::write(dir.path().join("myhealth.toml"), &typo).unwrap();
    for command in ["validate", "render"] {
        let out = common::cmd_in(dir.path()).args([command, "--json"]).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{command}");
        let v: Value = serde_json::from_slice(&out.stdout).unwrap();
        let p = &v["error"]["problems"][0];
        assert_eq!((p["line"].as_u64(), p["column"].as_u64()), (Some(72), Some(12)), "{command}: {p}");
        assert_eq!(p["key"], "policy.disable.0");
        assert_eq!(p["help"], format!("did you mean `{P}deny_nat_per_az`?"));
    }
    assert!(!dir.path().join("generated").exists(), "a refused render writes nothing");
}

/// A user module declaring the built-in package replaces it: its rules are
/// evaluated instead (whatever `--namespace`), the built-in ones are not.
#[test]
fn a_user_module_of_the_builtin_package_replaces_it() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("myhealth.toml"), with_prod2("tests/fixtures/minimal.toml", "")).unwrap();
    std::fs::create_dir(dir.path().join("policy")).unwrap();
    std::fs::write(
        dir.path().join("policy/production.rego"),
        "package myhealth.builtin.production\n\ninput_kinds := {\"config\"}\n\ndeny_ours contains {\"msg\": \"ours\", \"key\": \"network.nat\"} if input.production\n",
    )
    .unwrap();
    let out = common::cmd_in(dir.path()).args(["validate", "--json"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let rules: Vec<&str> =
        v["error"]["problems"].as_array().unwrap().iter().filter_map(|p| p["rule"].as_str()).collect();
    assert_eq!(rules, [format!("{P}deny_ours")], "{v:#}");
}

/// conftest's own Kubernetes example policies (v0.69.0, vendored unchanged
/// with their provenance in `tests/policy/conftest-kubernetes/`): they
/// load, their own tests pass, and over the chart as the real Helm renders
/// it for each environment (input 2, the objects themselves, as conftest
/// gives a manifest) they find what they are written to find, at the
/// template each object comes from — and nothing over the config input.
#[test]
fn conftest_examples_run_unchanged_over_the_rendered_chart() {
    let dir = "tests/policy/conftest-kubernetes";
    assert!(root().join(dir).join("PROVENANCE.md").is_file());
    let out = cmd().current_dir(root()).args(["policy", "test", dir]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stdout).contains("4 passed, 0 failed, 0 errors"), "{out:?}");
    let (code, rows) = findings("myhealth.toml", dir, &["--all-namespaces"]);
    assert_eq!(code, 2, "their denies fail validate");
    let workloads = "generated/helm/myhealth/templates/workloads.yaml";
    let mut expected = Vec::new();
    for svc in ["myhealth-api-service", "myhealth-data-processor"] {
        expected.push(row(
            "error",
            &format!("{workloads}:10:1"),
            "-",
            &format!("Deployment {svc} must provide app/release labels for pod selectors"),
        ));
        expected.push(row(
            "error",
            &format!("{workloads}:10:1"),
            "-",
            &format!("Found deployment {svc} but deployments are not allowed"),
        ));
        expected.push(row(
            "warning",
            &format!("{workloads}:102:1"),
            "-",
            &format!("Found service {svc} but services are not allowed"),
        ));
    }
    // Once per environment (dev, staging, prod); our Deployments run as
    // non-root and carry the recommended labels, so those rules find nothing.
    let tripled: Vec<_> = expected.iter().cycle().take(expected.len() * 3).cloned().collect();
    let (mut got, mut want) = (rows.clone(), tripled);
    got.sort();
    want.sort();
    assert_eq!(got, want, "{rows:#?}");
    let line = std::fs::read_to_string(root().join(workloads)).unwrap().lines().nth(101).unwrap().to_string();
    assert_eq!(line, "kind: Service");
}
