//! Retiring an environment. Its Terraform roots (`terraform/envs/<env>/`,
//! `terraform/access/<env>/`) may hold live infrastructure, so removing
//! the environment from `myhealth.toml` does not silently drop them:
//! `render` refuses until the user says `--retire ENV`, which keeps each
//! root verbatim with a `RETIRED.md` marker. A marked root is carried over
//! by every later render and by the drift gate, until `destroy ENV`
//! destroys what its state holds and removes it (the access root, whose
//! roles a destroy uses, goes last, by hand — the marker says how).

use std::collections::BTreeSet;

use crate::config::Config;
use crate::tree::Tree;

/// The marker file in each kept root.
pub const MARKER: &str = "RETIRED.md";

/// The roots of an environment that hold state, as tree prefixes.
fn roots(env: &str) -> [String; 2] {
    [format!("terraform/envs/{env}/"), format!("terraform/access/{env}/")]
}

/// The environment of a root path (`terraform/envs/<env>/…`, `terraform/access/<env>/…`).
fn root_env(path: &str) -> Option<(&str, &str)> {
    for kind in ["terraform/envs/", "terraform/access/"] {
        if let Some(rest) = path.strip_prefix(kind) {
            let (env, _) = rest.split_once('/')?;
            return Some((kind, env));
        }
    }
    None
}

/// Roots in `tree` of environments `cfg` no longer has: (env, root prefix).
fn orphaned(tree: &Tree, cfg: &Config) -> BTreeSet<(String, String)> {
    tree.keys()
        .filter_map(|p| root_env(p))
        .filter(|(_, env)| cfg.env(env).is_none())
        .map(|(kind, env)| (env.to_string(), format!("{kind}{env}/")))
        .collect()
}

/// Whether the root at `prefix` carries the marker.
fn marked(tree: &Tree, prefix: &str) -> bool {
    tree.contains_key(&format!("{prefix}{MARKER}"))
}

/// How the PR plans a retired environment's destroy (a row of pr.yml's plan
/// matrix): its plan role, region and GitHub environment, read from its kept
/// access root, the only place they still are (the config has no model of it).
#[derive(Debug, serde::Serialize, PartialEq, Eq)]
pub struct PlanAccess {
    pub role: String,
    pub region: String,
    pub github_environment: String,
}

/// `env`'s plan access, when `tree` keeps its access root.
pub fn plan_access(tree: &Tree, env: &str) -> Option<PlanAccess> {
    let vars = tree.get(&format!("{}terraform.tfvars", roots(env)[1]))?;
    let vars: serde_json::Value = hcl::from_str(std::str::from_utf8(vars).ok()?).ok()?;
    let plan = &vars["github_roles"]["plan"];
    // The GitHub environment its role trusts: the subject's `environment:` part.
    let subject = plan["subjects"].get(0)?.as_str()?;
    let (_, github_environment) = subject.rsplit_once(":environment:")?;
    Some(PlanAccess {
        role: crate::names::iam_role_arn(vars["account_id"].as_str()?, plan["name"].as_str()?),
        region: vars["region"].as_str()?.to_string(),
        github_environment: github_environment.to_string(),
    })
}

/// The kept root of `env` when it is retired (no longer in `cfg`, its root
/// marked): what `plan` and `destroy` of it work in.
pub fn retired_root(
    p: &crate::project::Project,
    cfg: &Config,
    args: &crate::args::TreeArgs,
    env: &str,
) -> Option<std::path::PathBuf> {
    let kept = p.tf_root(args, env);
    (cfg.env(env).is_none() && kept.join(MARKER).is_file()).then_some(kept)
}

/// The environments whose state roots `tree` keeps as retired.
pub fn retired(tree: &Tree) -> BTreeSet<String> {
    tree.keys()
        .filter(|p| p.ends_with(&format!("/{MARKER}")))
        .filter_map(|p| root_env(p).map(|(_, e)| e.to_string()))
        .collect()
}

fn marker(env: &str, prefix: &str, config_name: &str) -> Vec<u8> {
    let header = crate::render::header_for(&format!("{prefix}{MARKER}"), config_name).unwrap_or_default();
    let body = if prefix.starts_with("terraform/envs/") {
        format!(
            "# `{env}` is retired\n\n`{env}` is no longer in `{config_name}`. This root is kept, as it was, so \
that what its state holds can be destroyed:\n\n    myhealthctl destroy {env}\n\nwith `{env}`'s apply role. \
The destroy removes this root from the generated tree; commit that.\n"
        )
    } else {
        format!(
            "# `{env}`'s access root is retired\n\nIts GitHub roles are what destroys `{env}`: destroy them last, \
once `terraform/envs/{env}/` is gone, with an administrator's credentials:\n\n    terraform -chdir=generated/{prefix} init\n    terraform -chdir=generated/{prefix} destroy\n\nthen delete this directory and commit.\n"
        )
    };
    format!("{header}{body}").into_bytes()
}

/// Keep in `fresh` the retired roots `existing` holds, verbatim: what the
/// drift gate and the review compare with (never refuses).
pub fn keep(existing: &Tree, fresh: &mut Tree, cfg: &Config) {
    for (_, prefix) in orphaned(existing, cfg) {
        if marked(existing, &prefix) {
            carry(existing, fresh, &prefix);
        }
    }
}

fn carry(existing: &Tree, fresh: &mut Tree, prefix: &str) {
    for (path, bytes) in existing.range(prefix.to_string()..).take_while(|(p, _)| p.starts_with(prefix)) {
        fresh.insert(path.clone(), bytes.clone());
    }
}

/// What `render` writes for the roots of environments no longer in `cfg`:
/// a retired root is kept; one named in `retire` is retired now (kept, the
/// marker added); any other is refused (exit 3), saying how to retire it.
/// Returns the environments retired now.
pub fn render(
    existing: &Tree,
    next: &mut Tree,
    cfg: &Config,
    retire: &[String],
    config_name: &str,
) -> anyhow::Result<Vec<String>> {
    for env in retire {
        if cfg.env(env).is_some() {
            anyhow::bail!(
                "`{env}` is still in `{config_name}`: remove its `[environments.{env}]` tables first, then retire it"
            );
        }
        if !roots(env).iter().any(|r| existing.keys().any(|p| p.starts_with(r.as_str()))) {
            anyhow::bail!("`{env}` has no Terraform root in the generated tree: there is nothing to retire");
        }
    }
    let mut now = Vec::new();
    let mut refused = BTreeSet::new();
    for (env, prefix) in orphaned(existing, cfg) {
        if marked(existing, &prefix) {
            carry(existing, next, &prefix);
        } else if retire.contains(&env) {
            carry(existing, next, &prefix);
            next.insert(format!("{prefix}{MARKER}"), marker(&env, &prefix, config_name));
            if !now.contains(&env) {
                now.push(env);
            }
        } else {
            refused.insert(env);
        }
    }
    if !refused.is_empty() {
        let names: Vec<String> = refused.iter().map(|e| format!("`{e}`")).collect();
        let flags: Vec<String> = refused.iter().map(|e| format!("--retire {e}")).collect();
        return crate::exit::refuse(format!(
            "{} {} no longer in `{config_name}`, but the Terraform roots that may hold {} infrastructure would be deleted with {}: nothing was written\n  = help: to retire {}, keeping the roots for `myhealthctl destroy`: `myhealthctl render {}` (docs/deploy.md, \"Retiring an environment\"); or put its tables back",
            names.join(", "),
            if refused.len() == 1 { "is" } else { "are" },
            if refused.len() == 1 { "its" } else { "their" },
            if refused.len() == 1 { "it" } else { "them" },
            if refused.len() == 1 { "it" } else { "them" },
            flags.join(" ")
        ));
    }
    Ok(now)
}

/// The tree without `env`'s environment root: what `destroy` of a retired
/// environment leaves.
pub fn without_env_root(tree: Tree, env: &str) -> Tree {
    let prefix = &roots(env)[0];
    tree.into_iter().filter(|(p, _)| !p.starts_with(prefix.as_str())).collect()
}
