//! `[project]`: name, domain and API host, the GitHub owner and repository.

use std::sync::OnceLock;

use regex::Regex;

use super::grammar::*;
use crate::config::doc::Doc;
use crate::config::model::*;
use crate::diagnostics::Diagnostic;
use crate::pattern::re;

pub(super) fn project(cfg: &Config, doc: &Doc<'_>, out: &mut Vec<Diagnostic>) {
    let p = &cfg.project;
    if let Some(prod) = cfg.environments.iter().find(|e| e.production.value) {
        for (sp, key) in [(&p.domain, "project.domain"), (&p.api_host, "project.api_host")] {
            if example_domain(&sp.value) {
                out.push(
                    Diagnostic::warning(format!(
                        "production environment `{}` is served under the example domain `{}`",
                        prod.name.value, sp.value
                    ))
                    .at(sp.span.clone())
                    .key(key)
                    .label("set in `[project]`")
                    .help("use the real domain (example domains are reserved for documentation)"),
                );
            }
        }
    }
    let mut at = |sp: &Option<std::ops::Range<usize>>, msg: String, help: &str| {
        let key = sp.as_ref().map(|s| doc.path_at(s.start)).unwrap_or_default();
        out.push(Diagnostic::error(msg).at(sp.clone()).key(key).label("set in `[project]`").help(help));
    };
    if !dns_label(&p.name.value) || p.name.value.len() > 20 {
        at(
            &p.name.span,
            format!("`project.name` `{}` is not a DNS-safe name of at most 20 characters", p.name.value),
            "use lowercase letters, digits and `-`, starting and ending with a letter or digit, e.g. `myhealth`",
        );
    }
    if !hostname(&p.domain.value) {
        at(
            &p.domain.span,
            format!("`project.domain` `{}` is not a valid domain name", p.domain.value),
            "use a lowercase domain such as `example.com`",
        );
    }
    if !hostname(&p.api_host.value) {
        at(
            &p.api_host.span,
            format!("`project.api_host` `{}` is not a valid host name", p.api_host.value),
            "use a lowercase host name such as `api.myhealth.example.com`",
        );
    } else if hostname(&p.domain.value) && !p.api_host.value.ends_with(&format!(".{}", p.domain.value)) {
        at(
            &p.api_host.span,
            format!("`project.api_host` `{}` is not under `project.domain` `{}`", p.api_host.value, p.domain.value),
            "the API host must be a subdomain of the project domain, so one hosted zone serves both",
        );
    }
    static GH: OnceLock<Regex> = OnceLock::new();
    let gh = re(&GH, r"^[A-Za-z0-9]([A-Za-z0-9-]{0,38})$");
    if !gh.is_match(&p.github_owner.value) {
        at(
            &p.github_owner.span,
            format!("`project.github.owner` `{}` is not a GitHub user or organisation name", p.github_owner.value),
            "use letters, digits and `-` (at most 39 characters)",
        );
    }
    static REPO: OnceLock<Regex> = OnceLock::new();
    if !re(&REPO, r"^[A-Za-z0-9._-]{1,100}$").is_match(&p.github_repo.value) {
        at(
            &p.github_repo.span,
            format!("`project.github.repo` `{}` is not a GitHub repository name", p.github_repo.value),
            "use letters, digits, `.`, `_` and `-`",
        );
    }
}
