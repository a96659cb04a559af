//! Validation beyond types, on the resolved model: one file per section of
//! `myhealth.toml` (`aws`, `network`, `eks`, `rds`, `ecr`, `api_gateway`,
//! `secrets`, `monitoring`, `frontend`, `argocd`, `ci`, `services`,
//! `release`, `budget`; `pricing`: what the cost estimate has no price for), the
//! project-wide rules (`project`, `placeholders`), and the rules across
//! environments (`cross`). The production rules are Rego, built into
//! `policy::builtin`, evaluated by `validate` and `render`. Each
//! environment's checks run against one context (`ctx::Ctx`), which points
//! every finding at the span that set the value and says whether
//! `[defaults]` or the environment's own override set it; the grammars of
//! names and quantities are in `grammar`.

mod api_gateway;
mod argocd;
mod aws;
mod budget;
mod ci;
mod cross;
mod ctx;
mod ecr;
mod eks;
mod frontend;
mod grammar;
mod monitoring;
mod network;
mod placeholders;
mod pricing;
mod project;
mod rds;
mod release;
mod secrets;
mod services;

#[cfg(test)]
pub(crate) use ci::CI_JOBS;

use crate::config::doc::Doc;
use crate::config::model::Config;
use crate::diagnostics::Diagnostic;
use ctx::Ctx;

/// Validate the resolved config. `doc` locates spans.
pub fn validate(doc: &Doc<'_>, cfg: &Config, out: &mut Vec<Diagnostic>) {
    project::project(cfg, doc, out);
    for env in &cfg.environments {
        let mut c = Ctx { doc, env, out, project: &cfg.project };
        environment(&mut c);
    }
    cross::cross_environment(doc, cfg, out);
}

fn environment(c: &mut Ctx<'_, '_>) {
    let e = c.env;
    if !grammar::dns_label(&e.name.value) || e.name.value.len() > 16 {
        let name = e.name.clone();
        c.err(
            &name,
            "",
            format!("environment name `{}` is not a DNS-safe name of at most 16 characters", name.value),
            "environment names go into resource names: use lowercase letters, digits and `-`, e.g. `dev`",
        );
    }
    aws::aws(c);
    network::network(c);
    eks::eks(c);
    rds::rds(c);
    ecr::ecr(c);
    api_gateway::api_gateway(c);
    secrets::secrets(c);
    monitoring::monitoring(c);
    frontend::frontend(c);
    argocd::argocd(c);
    ci::ci(c);
    services::services(c);
    release::release(c);
    pricing::pricing(c);
    budget::budget(c);
    if c.env.production.value {
        placeholders::placeholders(c);
    }
}
