//! Policy as code: the user's Rego policies (`policy/*.rego` beside the
//! config, or `--policy DIR`), evaluated in-process by `regorus` (no OPA
//! binary) with conftest's conventions — `deny`/`violation`/`warn` rules
//! (and `deny_<name>` …) in package `main` unless told otherwise, `*.json`
//! and `*.yaml` files of the directory as `data`, `test_*` rules for
//! `policy test`. `input` builds what a policy sees (one environment of the
//! resolved config, with each value's source; the rendered platform's
//! objects; a plan), `subject` pairs an input with where it came from,
//! `findings` evaluates the rules and points each finding back at
//! `myhealth.toml` or the generated line, `test` runs the policies' own tests. A layer beside `config`: it reads the config and
//! its provenance (`config::keys`), never the operations or the commands.

pub mod engine;
pub mod findings;
pub mod input;
pub mod review;
pub mod subject;
pub mod test;

use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail};

pub use engine::{DEFAULT_DIR, Options, Policies, load};

/// Where the policies are: `dir` as given, else `policy/` beside the config.
/// `None` when none was given and the default directory does not exist: a
/// project without policies validates as before.
pub fn locate(given: Option<&Path>, config_dir: &Path) -> anyhow::Result<Option<PathBuf>> {
    match given {
        Some(d) if d.is_dir() => Ok(Some(d.to_path_buf())),
        Some(d) => bail!(
            "policy directory `{}` does not exist\n  = help: pass a directory of `*.rego` files, or leave out `--policy` to use `{DEFAULT_DIR}/` beside the config",
            d.display()
        ),
        None => Ok(Some(config_dir.join(DEFAULT_DIR)).filter(|d| d.is_dir())),
    }
}

/// The findings of the loaded policies `p` over the config (its source
/// `source`) and the `more` subjects (the rendered platform, a plan), as
/// diagnostics, in the order found.
pub fn check(
    p: &mut Policies,
    source: &crate::diagnostics::Source,
    cfg: &crate::config::Config,
    more: Vec<subject::Subject>,
    driver: Option<findings::Driver<'_>>,
) -> anyhow::Result<Vec<crate::diagnostics::Diagnostic>> {
    let doc = crate::config::doc::Doc::parse(&source.text).map_err(|_| anyhow!("`{}` does not parse", source.name))?;
    let mut subjects = input::config_subjects(&doc, &source.text, &source.name, cfg);
    subjects.extend(more);
    diagnostics(p, &doc, source, cfg, &subjects, driver)
}

/// The findings of `p` over `subjects` alone (a plan's), as diagnostics.
pub fn check_only(
    p: &mut Policies,
    source: &crate::diagnostics::Source,
    cfg: &crate::config::Config,
    subjects: &[subject::Subject],
) -> anyhow::Result<Vec<crate::diagnostics::Diagnostic>> {
    let doc = crate::config::doc::Doc::parse(&source.text).map_err(|_| anyhow!("`{}` does not parse", source.name))?;
    diagnostics(p, &doc, source, cfg, subjects, None)
}

fn diagnostics(
    p: &mut Policies,
    doc: &crate::config::doc::Doc<'_>,
    source: &crate::diagnostics::Source,
    cfg: &crate::config::Config,
    subjects: &[subject::Subject],
    driver: Option<findings::Driver<'_>>,
) -> anyhow::Result<Vec<crate::diagnostics::Diagnostic>> {
    let production = |e: &str| cfg.env(e).is_some_and(|e| e.production.value);
    let found = findings::evaluate(p, subjects, &production)?;
    Ok(found.iter().map(|f| findings::diagnostic(f, (doc, &source.text, &source.name), cfg, driver)).collect())
}

/// The findings of `p` over the config `source` (loaded as `cfg`) and the
/// `more` subjects, as the review compares them.
pub fn review_findings(
    p: &mut Policies,
    source: &crate::diagnostics::Source,
    cfg: &crate::config::Config,
    more: Vec<subject::Subject>,
    driver: Option<findings::Driver<'_>>,
) -> anyhow::Result<Vec<review::Found>> {
    let doc = crate::config::doc::Doc::parse(&source.text).map_err(|_| anyhow!("`{}` does not parse", source.name))?;
    let mut subjects = input::config_subjects(&doc, &source.text, &source.name, cfg);
    subjects.extend(more);
    let production = |e: &str| cfg.env(e).is_some_and(|e| e.production.value);
    let found = findings::evaluate(p, &subjects, &production)?;
    let diagnostics: Vec<_> =
        found.iter().map(|f| findings::diagnostic(f, (&doc, &source.text, &source.name), cfg, driver)).collect();
    Ok(review::found(&found, &diagnostics, source))
}
