//! `doctor`: what the generated delivery path rests on outside the
//! repository's files, which `render` cannot write — checked read-only
//! against GitHub's REST API, AWS IAM and ArgoCD's API, each finding with
//! the exact fix. The checks, and why each matters, are docs/ci.md's
//! "One-time settings".
//!
//! GitHub: the repository's ids and OIDC subject format (the roles trust
//! exactly the subjects GitHub issues), its GitHub environments (each
//! role's), their reviewers, self-review and deployment branch policy, the
//! protection of `main`, whether Actions may open pull requests, the
//! self-hosted runners a release needs, a private repository's ArgoCD
//! credential. AWS: each environment's GitHub roles exist and trust those
//! subjects. ArgoCD: the repository connects.

use std::collections::BTreeSet;
use std::fmt;

use serde::Serialize;

use super::github::GitHub;
use crate::config::Config;
use crate::config::model::{Environment, OidcSubject};
use crate::names::{GithubEnvironment, GithubRole, MAIN_BRANCH, Names};
use crate::process::Process;

/// One thing found wrong, and how to put it right.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Finding {
    /// `github`, `aws` or `argocd`.
    pub area: &'static str,
    /// What was checked: a setting, an environment, a role.
    pub subject: String,
    pub problem: String,
    /// The exact fix: a command, or a setting's path.
    pub fix: String,
}

/// What `doctor` checked and found.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Report {
    /// What was checked and is right.
    pub ok: Vec<String>,
    pub findings: Vec<Finding>,
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for o in &self.ok {
            writeln!(f, "ok   {o}")?;
        }
        for x in &self.findings {
            writeln!(f, "FIX  [{}] {}: {}", x.area, x.subject, x.problem)?;
            for line in x.fix.lines() {
                writeln!(f, "       {line}")?;
            }
        }
        match self.findings.len() {
            0 => writeln!(f, "{} checks, nothing to fix", self.ok.len()),
            n => writeln!(f, "{n} to fix ({} checks passed)", self.ok.len()),
        }
    }
}

impl Report {
    fn ok(&mut self, what: impl Into<String>) {
        self.ok.push(what.into());
    }
    fn find(
        &mut self,
        area: &'static str,
        subject: impl Into<String>,
        problem: impl Into<String>,
        fix: impl Into<String>,
    ) {
        self.findings.push(Finding { area, subject: subject.into(), problem: problem.into(), fix: fix.into() });
    }
}

/// The GitHub environments of `env`, each with what it must be.
fn github_environments<'a>(n: &Names<'a>) -> Vec<(GithubEnvironment, String, bool)> {
    let e = n.env;
    let approval = e.ci.require_approval.value || e.production.value;
    GithubEnvironment::ALL
        .iter()
        .map(|g| {
            let reviewers = match g {
                GithubEnvironment::Plan => false,
                GithubEnvironment::Replan => true,
                GithubEnvironment::Infra | GithubEnvironment::Release => approval,
            };
            (*g, n.github_environment(*g), reviewers)
        })
        .collect()
}

/// The GitHub checks, over `envs` of `cfg`.
pub fn github(cfg: &Config, envs: &[&Environment], gh: &GitHub, r: &mut Report) {
    let p = &cfg.project;
    let (owner, repo) = (&p.github_owner.value, &p.github_repo.value);
    let repo_path = format!("repos/{owner}/{repo}");
    let token_fix = "set GH_TOKEN to a fine-grained token of this repository with read access to Administration, Environments, Actions and Metadata (in terraform-apply.yml: the MYHEALTHCTL_DOCTOR_TOKEN secret)";
    if !gh.has_token() {
        r.find("github", "token", "no GitHub token to read the repository's settings with", token_fix);
        return;
    }
    let get = |path: &str, r: &mut Report| -> Option<serde_json::Value> {
        match gh.get(&format!("/{path}")) {
            Ok(a) if a.ok() => Some(a.body),
            Ok(a) if a.status == 401 || a.status == 403 => {
                r.find("github", path.to_string(), format!("GitHub refused to show it ({})", a.status), token_fix);
                None
            }
            Ok(a) if a.status == 404 => None,
            Ok(a) => {
                r.find(
                    "github",
                    path.to_string(),
                    format!("GitHub answered {}", a.status),
                    "try again; GitHub's status page says whether it is down",
                );
                None
            }
            Err(e) => {
                r.find(
                    "github",
                    path.to_string(),
                    format!("{e:#}"),
                    format!("check the network and GITHUB_API_URL (`{}`)", gh.base()),
                );
                None
            }
        }
    };

    // The repository, and the ids the immutable subject names it by.
    let Some(repository) = get(&repo_path, r) else {
        r.find(
            "github",
            format!("{owner}/{repo}"),
            "GitHub has no such repository, or the token cannot see it",
            format!(
                "check `project.github` in {} (owner `{owner}`, repo `{repo}`) and the token's repository access",
                "myhealth.toml"
            ),
        );
        return;
    };
    let private = repository["private"].as_bool().unwrap_or(true);
    if p.oidc_subject.value == OidcSubject::Immutable {
        let ids = [
            ("owner_id", p.github_owner_id.as_ref().map(|v| v.value), repository["owner"]["id"].as_u64()),
            ("repo_id", p.github_repo_id.as_ref().map(|v| v.value), repository["id"].as_u64()),
        ];
        for (key, ours, theirs) in ids {
            if ours == theirs {
                r.ok(format!("project.github.{key} is {owner}/{repo}'s"));
            } else {
                r.find(
                    "github",
                    format!("project.github.{key}"),
                    format!(
                        "the config says {}, GitHub says {}",
                        ours.map_or("nothing".into(), |v| v.to_string()),
                        theirs.map_or("nothing".into(), |v| v.to_string())
                    ),
                    format!(
                        "set `{key} = {}` in `project.github` and render (the roles' trust names the repository by it)",
                        theirs.map_or("?".into(), |v| v.to_string())
                    ),
                );
            }
        }
    }

    // The subject format: the roles trust the default template, in the
    // format the config selects.
    let want_prefix = crate::names::github_subject_prefix(cfg);
    if let Some(sub) = get(&format!("{repo_path}/actions/oidc/customization/sub"), r) {
        let immutable_wanted = p.oidc_subject.value == OidcSubject::Immutable;
        let reset = format!(
            "gh api -X PUT {repo_path}/actions/oidc/customization/sub -F use_default=true -F use_immutable_subject={immutable_wanted}"
        );
        if sub["use_default"] == false {
            r.find(
                "github",
                "OIDC subject template",
                format!(
                    "the repository uses a custom template ({}); the roles trust GitHub's default subject",
                    sub["include_claim_keys"]
                ),
                reset.clone(),
            );
        } else {
            r.ok("the OIDC subject uses GitHub's default template");
        }
        match (sub["sub_claim_prefix"].as_str(), sub["use_immutable_subject"].as_bool()) {
            (Some(prefix), _) if prefix == want_prefix => r.ok(format!("GitHub's subjects begin `{prefix}`, as the roles trust")),
            (Some(prefix), _) => r.find(
                "github",
                "OIDC subject format",
                format!("GitHub issues subjects beginning `{prefix}`; the roles trust `{want_prefix}:…`"),
                if prefix.contains('@') == immutable_wanted {
                    "set `project.github` to this repository's owner, name and ids, and render".to_string()
                } else if immutable_wanted {
                    format!("{reset}    # or `oidc_subject = \"name\"` in `project.github`, and render")
                } else {
                    "set `oidc_subject = \"immutable\"` and the ids in `project.github`, and render (GitHub's immutable subjects cannot be turned off)".to_string()
                },
            ),
            (None, Some(immutable)) if immutable == immutable_wanted => {
                r.ok(format!("GitHub's subjects are in the {} format, as the roles trust", if immutable { "immutable" } else { "name-only" }))
            }
            (None, Some(immutable)) => r.find(
                "github",
                "OIDC subject format",
                format!(
                    "the repository {} immutable subjects; the roles trust `{want_prefix}:…`",
                    if immutable { "uses" } else { "has not opted in to" }
                ),
                if immutable_wanted { reset.clone() } else { "set `oidc_subject = \"immutable\"` and the ids in `project.github`, and render".into() },
            ),
            (None, None) => r.find(
                "github",
                "OIDC subject format",
                "GitHub did not say which subject format the repository's tokens use",
                reset.clone(),
            ),
        }
    }

    // main: protected, so "protected branches only" means something and
    // nothing reaches main unreviewed.
    let protected = match get(&format!("{repo_path}/branches/{MAIN_BRANCH}/protection"), r) {
        Some(b) => b["required_pull_request_reviews"]["required_approving_review_count"].as_u64().unwrap_or(0) >= 1,
        None => false,
    };
    let by_ruleset = get(&format!("{repo_path}/rules/branches/{MAIN_BRANCH}"), r).is_some_and(|rules| {
        rules.as_array().into_iter().flatten().any(|x| {
            x["type"] == "pull_request" && x["parameters"]["required_approving_review_count"].as_u64().unwrap_or(0) >= 1
        })
    });
    if protected || by_ruleset {
        r.ok(format!("`{MAIN_BRANCH}` takes changes only through reviewed pull requests"));
    } else {
        r.find(
            "github",
            format!("branch `{MAIN_BRANCH}`"),
            "not protected by a rule requiring an approving review: anything can be pushed to it, and \"protected branches only\" lets every branch deploy",
            format!(
                "gh api -X PUT {repo_path}/branches/{MAIN_BRANCH}/protection --input - <<'EOF'\n{{\"required_status_checks\":null,\"enforce_admins\":true,\"required_pull_request_reviews\":{{\"required_approving_review_count\":1,\"dismiss_stale_reviews\":true}},\"restrictions\":null,\"allow_force_pushes\":false,\"allow_deletions\":false}}\nEOF"
            ),
        );
    }

    // Pull requests from Actions (release and promotion PRs).
    if let Some(w) = get(&format!("{repo_path}/actions/permissions/workflow"), r) {
        if w["can_approve_pull_request_reviews"] == true {
            r.ok("GitHub Actions may open pull requests (release, promotion)");
        } else {
            r.find(
                "github",
                "Actions → General → Workflow permissions",
                "\"Allow GitHub Actions to create and approve pull requests\" is off: build.yml's release and deploy.yml's promotion pull requests cannot be opened",
                format!("gh api -X PUT {repo_path}/actions/permissions/workflow -f default_workflow_permissions=read -F can_approve_pull_request_reviews=true"),
            );
        }
    }

    // The GitHub environments: each role's, with its reviewers and branches.
    let all = get(&format!("{repo_path}/environments?per_page=100"), r).unwrap_or(serde_json::Value::Null);
    let existing: Vec<&serde_json::Value> = all["environments"].as_array().into_iter().flatten().collect();
    for e in envs {
        let n = Names::of(cfg, e);
        for (kind, name, reviewers) in github_environments(&n) {
            let path = format!("{repo_path}/environments/{name}");
            let Some(g) = existing.iter().find(|g| g["name"] == name.as_str()) else {
                r.find(
                    "github",
                    format!("environment `{name}`"),
                    "does not exist: GitHub would create it on first use with no protection at all",
                    environment_fix(&repo_path, &name, kind, reviewers),
                );
                continue;
            };
            let rules: Vec<&serde_json::Value> = g["protection_rules"].as_array().into_iter().flatten().collect();
            let review = rules.iter().find(|x| x["type"] == "required_reviewers");
            if reviewers {
                match review {
                    None => r.find(
                        "github",
                        format!("environment `{name}`"),
                        if private {
                            "has no required reviewers (on a private repository GitHub offers them only with GitHub Enterprise): its jobs run unapproved".to_string()
                        } else {
                            "has no required reviewers: its jobs run unapproved".to_string()
                        },
                        environment_fix(&repo_path, &name, kind, reviewers),
                    ),
                    Some(x) if x["prevent_self_review"] != true => r.find(
                        "github",
                        format!("environment `{name}`"),
                        "lets the person who started a run approve it",
                        format!("gh api -X PUT {path} -F prevent_self_review=true  # keep its reviewers and branch policy"),
                    ),
                    Some(_) => r.ok(format!("`{name}` needs another person's approval")),
                }
            }
            let policy = &g["deployment_branch_policy"];
            if kind == GithubEnvironment::Plan {
                // Pull requests plan in it: every branch (or at least the merge refs).
                let admits_prs = policy.is_null()
                    || (policy["custom_branch_policies"] == true
                        && branch_policies(gh, &path).iter().any(|b| b == "refs/pull/*/merge" || b == "*"));
                if admits_prs {
                    r.ok(format!("`{name}` admits pull requests' plans"));
                } else {
                    r.find(
                        "github",
                        format!("environment `{name}`"),
                        "its deployment branch policy refuses pull requests (their ref is `refs/pull/<n>/merge`): no pull request can be planned",
                        format!("gh api -X PUT {path} -F 'deployment_branch_policy=null'"),
                    );
                }
            } else {
                let only_main = if policy.is_null() {
                    false
                } else if policy["protected_branches"] == true {
                    protected || by_ruleset
                } else {
                    let b = branch_policies(gh, &path);
                    !b.is_empty() && b.iter().all(|x| x == MAIN_BRANCH)
                };
                if only_main {
                    r.ok(format!("only `{MAIN_BRANCH}` deploys to `{name}`"));
                } else {
                    r.find(
                        "github",
                        format!("environment `{name}`"),
                        "any branch may run in it (no deployment branch policy, or \"protected branches\" while none is protected): a workflow on any branch gets its role",
                        format!(
                            "gh api -X PUT {path} -F 'deployment_branch_policy[protected_branches]=false' -F 'deployment_branch_policy[custom_branch_policies]=true'\ngh api -X POST {path}/deployment-branch-policies -f name={MAIN_BRANCH} -f type=branch"
                        ),
                    );
                }
            }
        }
    }

    // Self-hosted runners a release job needs.
    let needed: BTreeSet<Vec<String>> = envs
        .iter()
        .filter(|e| e.argocd.manage_release.value)
        .map(|e| e.ci.release_runs_on.value.iter().map(|l| l.value.clone()).collect::<Vec<_>>())
        .filter(|l| l.iter().any(|x| x == "self-hosted"))
        .collect();
    if !needed.is_empty() {
        let runners = get(&format!("{repo_path}/actions/runners?per_page=100"), r).unwrap_or(serde_json::Value::Null);
        for labels in needed {
            let found = runners["runners"].as_array().into_iter().flatten().any(|x| {
                let have: BTreeSet<&str> =
                    x["labels"].as_array().into_iter().flatten().filter_map(|l| l["name"].as_str()).collect();
                labels.iter().all(|l| have.contains(l.as_str()))
            });
            if found {
                r.ok(format!("a self-hosted runner has the labels {labels:?}"));
            } else {
                r.find(
                    "github",
                    format!("runner {labels:?}"),
                    "no self-hosted runner of the repository has these labels: the release jobs that need it wait forever",
                    "register a runner inside the environment's VPC with these labels (docs/deploy.md, \"Reaching the cluster\")",
                );
            }
        }
    }

    // ArgoCD reads the repository: a private one needs a credential.
    if private {
        for e in envs.iter().filter(|e| e.argocd.repository_credential.is_none()) {
            r.find(
                "github",
                format!("`{}`'s ArgoCD", e.name.value),
                format!("`{owner}/{repo}` is private and `argocd.repository_credential` is not set: ArgoCD cannot read it"),
                "set `repository_credential = \"<a Secrets Manager secret>\"` in `[defaults.argocd]` and render (docs/deploy.md, \"A private repository\")",
            );
        }
    } else {
        r.ok(format!("`{owner}/{repo}` is public: ArgoCD reads it without a credential"));
    }
}

fn branch_policies(gh: &GitHub, env_path: &str) -> Vec<String> {
    gh.get(&format!("/{env_path}/deployment-branch-policies?per_page=100"))
        .ok()
        .filter(|a| a.ok())
        .map(|a| {
            a.body["branch_policies"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|b| b["name"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// How to create (or reset) a GitHub environment as its role needs it.
fn environment_fix(repo_path: &str, name: &str, kind: GithubEnvironment, reviewers: bool) -> String {
    let path = format!("{repo_path}/environments/{name}");
    if kind == GithubEnvironment::Plan {
        return format!("gh api -X PUT {path}    # no reviewers, every branch: pull requests plan here");
    }
    let mut fix = format!("gh api -X PUT {path} \\\n  ");
    if reviewers {
        fix.push_str("-F 'reviewers[][type]=User' -F \"reviewers[][id]=$(gh api users/<reviewer> --jq .id)\" -F prevent_self_review=true \\\n  ");
    }
    fix.push_str(&format!(
        "-F 'deployment_branch_policy[protected_branches]=false' -F 'deployment_branch_policy[custom_branch_policies]=true'\ngh api -X POST {path}/deployment-branch-policies -f name={MAIN_BRANCH} -f type=branch"
    ));
    fix
}

/// The AWS checks: each environment's GitHub roles exist and trust exactly
/// the subjects of their GitHub environments (through the AWS CLI, as the
/// workflows run it, with the credentials it finds).
pub fn aws(cfg: &Config, envs: &[&Environment], r: &mut Report) {
    for e in envs {
        let n = Names::of(cfg, e);
        for role in GithubRole::ALL {
            let name = n.github_role_name(role);
            let subject = format!("role `{name}`");
            let out = Process::new("aws")
                .args(["iam", "get-role", "--role-name", &name, "--output", "json"])
                .env("AWS_PAGER", "")
                .output();
            let out = match out {
                Ok(o) => o,
                Err(e) => {
                    r.find("aws", subject, format!("cannot run the AWS CLI: {e}"), "install the AWS CLI (`aws`)");
                    return;
                }
            };
            if !out.status.success() {
                let err = String::from_utf8_lossy(&out.stderr);
                r.find(
                    "aws",
                    subject,
                    format!("cannot read it: {}", err.trim()),
                    format!(
                        "apply the access root once, as an administrator: terraform -chdir=generated/terraform/access/{} init && terraform -chdir=generated/terraform/access/{} apply",
                        e.name.value, e.name.value
                    ),
                );
                continue;
            }
            let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
            let doc = &v["Role"]["AssumeRolePolicyDocument"];
            let doc: serde_json::Value = match doc {
                serde_json::Value::String(s) => serde_json::from_str(&urlencoding_decode(s)).unwrap_or_default(),
                other => other.clone(),
            };
            let mut trusted: BTreeSet<String> = BTreeSet::new();
            for st in doc["Statement"].as_array().into_iter().flatten() {
                let subs = &st["Condition"]["StringEquals"]["token.actions.githubusercontent.com:sub"];
                match subs {
                    serde_json::Value::String(s) => {
                        trusted.insert(s.clone());
                    }
                    serde_json::Value::Array(a) => {
                        trusted.extend(a.iter().filter_map(|x| x.as_str().map(str::to_string)))
                    }
                    _ => {}
                }
            }
            let want: BTreeSet<String> = n.github_trusted_subjects(role).into_iter().collect();
            if trusted == want {
                r.ok(format!("{subject} trusts exactly {want:?}"));
            } else {
                r.find(
                    "aws",
                    subject,
                    format!("it trusts {trusted:?}; GitHub issues its jobs {want:?}"),
                    format!(
                        "render, then apply the access root as an administrator: terraform -chdir=generated/terraform/access/{} apply",
                        e.name.value
                    ),
                );
            }
        }
    }
}

/// `%XX` decoding (IAM returns trust policies URL-encoded).
fn urlencoding_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            if let Ok(x) = u8::from_str_radix(&s[i + 1..i + 3], 16) {
                out.push(x);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The ArgoCD check: ArgoCD can read the repository — with the credential
/// the config says it needs, or as a public one when it names none.
pub fn argocd(cfg: &Config, client: &super::argocd::Client, r: &mut Report) {
    let e = &cfg.environments[0];
    let url = Names::of(cfg, e).repo_url();
    let credential = cfg.environments.iter().any(|e| e.argocd.repository_credential.is_some());
    let fix = "set `argocd.repository_credential` and create its first repository Secret (docs/deploy.md, \"A private repository\")";
    match client.repository(&url) {
        Ok(Some(v)) if v["connectionState"]["status"] == "Successful" => r.ok(format!("ArgoCD reads {url}")),
        Ok(Some(v)) => r.find(
            "argocd",
            format!("repository {url}"),
            format!("ArgoCD cannot read it: {}", v["connectionState"]["message"].as_str().unwrap_or("no connection state")),
            "check the credential's secret holds a GitHub App or token with read access to the repository's contents (docs/deploy.md, \"A private repository\")",
        ),
        Ok(None) if !credential => r.ok(format!("ArgoCD holds no credential for {url}: it reads it as a public repository")),
        Ok(None) => r.find(
            "argocd",
            format!("repository {url}"),
            "ArgoCD holds no repository Secret for it (or the token may not see repositories: `repositories, get` in ArgoCD's RBAC), while `argocd.repository_credential` says it needs one",
            fix,
        ),
        Err(err) => r.find("argocd", format!("repository {url}"), format!("{err:#}"), "check --argocd-server and ARGOCD_AUTH_TOKEN"),
    }
}
