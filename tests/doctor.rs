//! `myhealthctl doctor` against a stand-in of GitHub's REST API
//! (tests/github/github-server, built from github/rest-api-description; every
//! answer is checked against the description's schema): a repository set up
//! as docs/ci.md says passes; each setting the delivery path rests on, put
//! wrong one at a time, is found with its fix — and the run exits 1.

mod common;

use std::path::Path;
use std::process::Command;

use serde_json::{Value, json};

use common::argocd::{self, ArgoCd, REPO_PASSWORD};
use common::github::{GitHub, TOKEN};
use common::{cmd, root};

fn environment(id: u64, name: &str, reviewers: bool, branches: Option<bool>) -> Value {
    let mut rules = vec![];
    if reviewers {
        rules.push(
            json!({ "id": id, "node_id": format!("R{id}"), "type": "required_reviewers", "prevent_self_review": true,
            "reviewers": [{ "type": "User", "reviewer": { "login": "reviewer", "id": 7 } }] }),
        );
        rules.push(json!({ "id": id + 1, "node_id": format!("B{id}"), "type": "branch_policy" }));
    }
    let policy = match branches {
        None => Value::Null,
        Some(protected) => json!({ "protected_branches": protected, "custom_branch_policies": !protected }),
    };
    json!({ "name": name, "protection_rules": rules, "deployment_branch_policy": policy })
}

/// The default config's repository, set up as docs/ci.md says.
fn good() -> Value {
    let mut envs = vec![];
    let mut policies = serde_json::Map::new();
    for (i, e) in ["dev", "staging", "prod"].iter().enumerate() {
        let approval = *e == "prod";
        let id = 100 * (i as u64 + 1);
        envs.push(environment(id, &format!("{e}-plan"), false, None));
        envs.push(environment(id + 10, &format!("{e}-infra"), approval, Some(false)));
        envs.push(environment(id + 20, &format!("{e}-replan"), true, Some(false)));
        envs.push(environment(id + 30, e, approval, Some(false)));
        for name in [format!("{e}-infra"), format!("{e}-replan"), e.to_string()] {
            policies.insert(name, json!([{ "id": 1, "name": "main", "type": "branch" }]));
        }
    }
    json!({ "repos": { "eric-n/myhealth": {
        "repository": { "id": 1046113827, "name": "myhealth", "full_name": "eric-n/myhealth",
            "owner": { "login": "eric-n", "id": 58164902 }, "private": false, "default_branch": "main" },
        "oidc": { "use_default": true, "use_immutable_subject": true, "sub_claim_prefix": "repo:eric-n@58164902/myhealth@1046113827" },
        "environments": envs,
        "branch_policies": policies,
        "protection": { "main": { "required_pull_request_reviews": { "dismiss_stale_reviews": true, "require_code_owner_reviews": false, "required_approving_review_count": 1 },
            "enforce_admins": { "url": "https://api.github.com/x", "enabled": true } } },
        "rules": { "main": [] },
        "workflow_permissions": { "default_workflow_permissions": "read", "can_approve_pull_request_reviews": true },
        "runners": [{ "id": 1, "name": "prod-runner-1", "os": "linux", "status": "online", "busy": false,
            "labels": [{ "name": "self-hosted", "type": "read-only" }, { "name": "myhealth-prod", "type": "custom" }] }],
    } } })
}

/// The repository's state in the stand-in.
fn repo(v: &mut Value) -> &mut Value {
    &mut v["repos"]["eric-n/myhealth"]
}

fn doctor(gh: &GitHub, state: &Path, s: &Value, token: Option<&str>) -> (i32, Value) {
    std::fs::write(state, serde_json::to_vec(s).unwrap()).unwrap();
    let mut c = cmd();
    c.args(["doctor", "--github", "--json"])
        .env("GITHUB_API_URL", &gh.url)
        .env_remove("GITHUB_TOKEN")
        .env_remove("GH_TOKEN");
    if let Some(t) = token {
        c.env("GH_TOKEN", t);
    }
    let out = c.output().unwrap();
    assert!(out.stderr.is_empty(), "{}", String::from_utf8_lossy(&out.stderr));
    (out.status.code().unwrap(), serde_json::from_slice(&out.stdout).unwrap())
}

fn findings(report: &Value) -> Vec<String> {
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| format!("{} | {} | {}", f["subject"], f["problem"], f["fix"]))
        .collect()
}

#[test]
fn a_repository_set_up_as_documented_passes_and_each_wrong_setting_is_found_with_its_fix() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state.json");
    std::fs::write(&state, serde_json::to_vec(&good()).unwrap()).unwrap();
    let gh = GitHub::start(&state, None);

    let (code, report) = doctor(&gh, &state, &good(), Some(TOKEN));
    assert_eq!(code, 0, "{:#?}", findings(&report));
    let ok: Vec<&str> = report["ok"].as_array().unwrap().iter().map(|o| o.as_str().unwrap()).collect();
    assert!(ok.len() >= 20, "{ok:#?}");
    assert!(ok.iter().any(|o| o.contains("repo:eric-n@58164902/myhealth@1046113827")), "{ok:#?}");

    // One wrong setting at a time: (what, the change, what the finding says).
    type Mutation = Box<dyn Fn(&mut Value)>;
    let cases: Vec<(&str, Mutation, &str, &str)> = vec![
        (
            "another repository id",
            Box::new(|v| repo(v)["repository"]["id"] = json!(42)),
            "project.github.repo_id",
            "repo_id = 42",
        ),
        (
            "the name-only subject",
            Box::new(
                |v| repo(v)["oidc"] = json!({ "use_default": true, "use_immutable_subject": false, "sub_claim_prefix": "repo:eric-n/myhealth" }),
            ),
            "GitHub issues subjects beginning `repo:eric-n/myhealth`",
            "use_immutable_subject=true",
        ),
        (
            "a custom subject template",
            Box::new(|v| {
                repo(v)["oidc"]["use_default"] = json!(false);
                repo(v)["oidc"]["include_claim_keys"] = json!(["repo", "context", "job_workflow_ref"]);
            }),
            "custom template",
            "use_default=true",
        ),
        (
            "prod's re-approval environment missing",
            Box::new(|v| {
                let envs = repo(v)["environments"].as_array_mut().unwrap();
                envs.retain(|e| e["name"] != "prod-replan");
            }),
            "environment `prod-replan`",
            "reviewers[][id]",
        ),
        (
            "prod's apply unreviewed",
            Box::new(|v| {
                for e in repo(v)["environments"].as_array_mut().unwrap() {
                    if e["name"] == "prod-infra" {
                        e["protection_rules"] = json!([]);
                    }
                }
            }),
            "has no required reviewers",
            "prevent_self_review=true",
        ),
        (
            "self-review allowed",
            Box::new(|v| {
                for e in repo(v)["environments"].as_array_mut().unwrap() {
                    if e["name"] == "prod" {
                        e["protection_rules"][0]["prevent_self_review"] = json!(false);
                    }
                }
            }),
            "lets the person who started a run approve it",
            "prevent_self_review=true",
        ),
        (
            "every branch may apply dev",
            Box::new(|v| {
                for e in repo(v)["environments"].as_array_mut().unwrap() {
                    if e["name"] == "dev-infra" {
                        e["deployment_branch_policy"] = Value::Null;
                    }
                }
            }),
            "any branch may run in it",
            "deployment-branch-policies -f name=main",
        ),
        (
            "\"protected branches\" with main unprotected",
            Box::new(|v| {
                repo(v)["protection"] = json!({});
                for e in repo(v)["environments"].as_array_mut().unwrap() {
                    if e["name"] == "staging" {
                        e["deployment_branch_policy"] =
                            json!({ "protected_branches": true, "custom_branch_policies": false });
                    }
                }
            }),
            "not protected by a rule requiring an approving review",
            "branches/main/protection",
        ),
        (
            "pull requests refused in a plan environment",
            Box::new(|v| {
                for e in repo(v)["environments"].as_array_mut().unwrap() {
                    if e["name"] == "dev-plan" {
                        e["deployment_branch_policy"] =
                            json!({ "protected_branches": false, "custom_branch_policies": true });
                    }
                }
            }),
            "refuses pull requests",
            "deployment_branch_policy=null",
        ),
        (
            "Actions may not open pull requests",
            Box::new(|v| {
                repo(v)["workflow_permissions"]["can_approve_pull_request_reviews"] = json!(false);
            }),
            "Allow GitHub Actions to create and approve pull requests",
            "can_approve_pull_request_reviews=true",
        ),
        (
            "no runner for prod's release",
            Box::new(|v| repo(v)["runners"] = json!([])),
            "no self-hosted runner",
            "myhealth-prod",
        ),
        (
            "a private repository without ArgoCD's credential",
            Box::new(|v| {
                repo(v)["repository"]["private"] = json!(true);
            }),
            "is private and `argocd.repository_credential` is not set",
            "repository_credential",
        ),
        (
            "a token that cannot read the administration settings",
            Box::new(|v| v["token_permissions"] = json!(["metadata", "actions", "environments"])),
            "GitHub refused to show it (403)",
            "Administration",
        ),
    ];
    let mut missed = vec![];
    for (what, change, problem, fix) in &cases {
        let mut s = good();
        change(&mut s);
        let (code, report) = doctor(&gh, &state, &s, Some(TOKEN));
        let f = findings(&report);
        if code != 1 || !f.iter().any(|x| x.contains(problem) && x.contains(fix)) {
            missed.push(format!("{what}: exit {code}, findings {f:#?}"));
        }
    }
    assert!(missed.is_empty(), "not found:\n{}", missed.join("\n"));

    // No token, or one GitHub refuses: nothing can be checked, which fails closed.
    for token in [None, Some("wrong")] {
        let (code, report) = doctor(&gh, &state, &good(), token);
        assert_eq!(code, 1, "{token:?}: {report:#}");
        assert!(!report["findings"].as_array().unwrap().is_empty());
    }
}

#[test]
fn the_stand_in_refuses_an_answer_outside_githubs_schema() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state.json");
    let mut s = good();
    s["repos"]["eric-n/myhealth"]["workflow_permissions"]["default_workflow_permissions"] = json!("admin");
    std::fs::write(&state, serde_json::to_vec(&s).unwrap()).unwrap();
    let gh = GitHub::start(&state, None);
    let out = Command::new("curl")
        .args(["-s", "-o", "/dev/null", "-w", "%{http_code}", "-H", &format!("Authorization: Bearer {TOKEN}")])
        .arg(format!("{}/repos/eric-n/myhealth/actions/permissions/workflow", gh.url))
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout), "500", "`admin` is not in the schema's enum");
}

/// `doctor --argocd-server` of a private repository: found while ArgoCD
/// holds no repository Secret for it, or one the git host refuses; passed
/// once External Secrets has written the one the config renders. Without
/// `argocd.repository_credential`, no Secret is a public repository (the
/// GitHub check is what says it is private).
#[test]
fn argocd_reads_a_private_repository_only_with_its_credential() {
    let p = common::TempProject::new(&root().join("myhealth.toml"));
    let bare = tempfile::tempdir().unwrap();
    assert!(Command::new("git").args(["init", "-q", "--bare"]).arg(bare.path()).status().unwrap().success());
    let argocd = ArgoCd::start_private(bare.path(), "generated/argocd/dev/application.yaml");
    let doctor = |p: &common::TempProject| -> (i32, Value) {
        let out = common::cmd_in(p.path())
            .args(["doctor", "--argocd-server", &argocd.url, "--json"])
            .env("ARGOCD_AUTH_TOKEN", argocd::TOKEN)
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(!text.contains(REPO_PASSWORD));
        (out.status.code().unwrap(), serde_json::from_slice(&out.stdout).unwrap())
    };

    // No credential configured: ArgoCD reads it as public (nothing to find here).
    let (code, report) = doctor(&p);
    assert_eq!(code, 0, "{report:#}");

    p.edit("[defaults.argocd]\n", "[defaults.argocd]\nrepository_credential = \"myhealth/argocd-repository\"\n");
    let rendered = common::cmd_in(p.path()).arg("render").output().unwrap();
    assert!(rendered.status.success(), "{}", String::from_utf8_lossy(&rendered.stderr));
    let (code, report) = doctor(&p);
    let f = findings(&report);
    assert_eq!(code, 1, "{report:#}");
    assert!(f.iter().any(|x| x.contains("holds no repository Secret") && x.contains("A private repository")), "{f:#?}");

    // A credential the git host refuses.
    argocd.store_repository_secret(p.path(), &json!({ "username": "reader", "password": "revoked" }));
    let (code, report) = doctor(&p);
    let f = findings(&report);
    assert_eq!(code, 1, "{report:#}");
    assert!(f.iter().any(|x| x.contains("ArgoCD cannot read it") && x.contains("authentication required")), "{f:#?}");

    // The credential External Secrets keeps current: ArgoCD reads the repository.
    argocd.store_repository_secret(p.path(), &json!({ "username": "reader", "password": REPO_PASSWORD }));
    let (code, report) = doctor(&p);
    assert_eq!(code, 0, "{report:#}");
}
