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
//! `builtin` holds the rules shipped in the binary (the production rules),
//! evaluated by the same engine on every `validate` and `render`.

pub mod builtin;
pub mod disable;
pub mod engine;
pub mod findings;
pub mod input;
pub mod review;
pub mod subject;
pub mod test;

use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail};

pub use engine::{DEFAULT_DIR, Options, Policies, load};

/// The built-in rules disabled by `[policy] disable`, each with its line:
/// what the pull-request review shows.
pub use disable::disabled_rules;

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

/// What `validate` and `render` found: the built-in rules' findings (and
/// `[policy] disable` names that are no rule), which read as config
/// checks, and the user's policies' findings, in the order found.
#[derive(Debug, Default)]
pub struct Checked {
    pub builtin: Vec<crate::diagnostics::Diagnostic>,
    pub user: Vec<crate::diagnostics::Diagnostic>,
}

/// The built-in rules (unless `options.builtins` is off; those `cfg`
/// disables left out) and the policies in `dir`, loaded for `cfg`; the
/// diagnostics of `[policy] disable` names that are no rule instead, when
/// there are such.
pub fn load_for(
    dir: Option<&Path>,
    mut options: Options,
    cfg: &crate::config::Config,
) -> anyhow::Result<Result<Policies, Vec<crate::diagnostics::Diagnostic>>> {
    if options.builtins {
        let wrong = disable::check_disabled(cfg);
        if !wrong.is_empty() {
            return Ok(Err(wrong));
        }
        options.disabled = cfg.disabled_rules.iter().map(|d| d.value.clone()).collect();
    }
    Ok(Ok(load(dir, options)?))
}

/// The findings of the loaded policies `p` over the config (its source
/// `source`) and the `more` subjects (the rendered platform, a plan), as
/// diagnostics, the built-in rules' apart.
pub fn check(
    p: &mut Policies,
    source: &crate::diagnostics::Source,
    cfg: &crate::config::Config,
    more: Vec<subject::Subject>,
    driver: Option<findings::Driver<'_>>,
) -> anyhow::Result<Checked> {
    let mut subjects = config_subjects(p, source, cfg)?;
    subjects.extend(more);
    let mut out = Checked::default();
    for (f, d) in diagnostics(p, source, cfg, &subjects, driver)? {
        if builtin::is_builtin(&f.file) { out.builtin.push(d) } else { out.user.push(d) }
    }
    Ok(out)
}

/// The config's inputs, with `sources` when a user's policy reads them
/// (locating every key in the file is most of an input's cost; the
/// built-in rules read only `settings`).
fn config_subjects(
    p: &Policies,
    source: &crate::diagnostics::Source,
    cfg: &crate::config::Config,
) -> anyhow::Result<Vec<subject::Subject>> {
    // An input no policy reads is not made (a production-only package skips the others).
    let (all, production) = (p.reads_config_of(false), p.reads_config_of(true));
    let read = |e: &crate::config::model::Environment| if e.production.value { production } else { all };
    Ok(if p.user_reads_config() {
        let doc = parse(source)?;
        input::config_subjects(Some((&doc, &source.text, &source.name)), cfg, &read)
    } else {
        input::config_subjects(None, cfg, &read)
    })
}

fn parse(source: &crate::diagnostics::Source) -> anyhow::Result<crate::config::doc::Doc<'_>> {
    crate::config::doc::Doc::parse(&source.text).map_err(|_| anyhow!("`{}` does not parse", source.name))
}

/// The findings of `p` over `subjects` alone (a plan's), as diagnostics.
pub fn check_only(
    p: &mut Policies,
    source: &crate::diagnostics::Source,
    cfg: &crate::config::Config,
    subjects: &[subject::Subject],
) -> anyhow::Result<Vec<crate::diagnostics::Diagnostic>> {
    Ok(diagnostics(p, source, cfg, subjects, None)?.into_iter().map(|(_, d)| d).collect())
}

/// The findings, each with its diagnostic (the config parsed for them only when there are any).
fn diagnostics(
    p: &mut Policies,
    source: &crate::diagnostics::Source,
    cfg: &crate::config::Config,
    subjects: &[subject::Subject],
    driver: Option<findings::Driver<'_>>,
) -> anyhow::Result<Vec<(findings::Finding, crate::diagnostics::Diagnostic)>> {
    let production = |e: &str| cfg.env(e).is_some_and(|e| e.production.value);
    let found = findings::evaluate(p, subjects, &production)?;
    if found.is_empty() {
        return Ok(Vec::new());
    }
    let doc = parse(source)?;
    Ok(found
        .into_iter()
        .map(|f| {
            let d = findings::diagnostic(&f, (&doc, &source.text, &source.name), cfg, driver);
            (f, d)
        })
        .collect())
}

/// The findings of `p` over the config `source` (loaded as `cfg`) and the
/// `more` subjects, as the review compares them.
pub fn review_findings(
    p: &mut Policies,
    source: &crate::diagnostics::Source,
    cfg: &crate::config::Config,
    more: Vec<subject::Subject>,
) -> anyhow::Result<Vec<review::Found>> {
    let mut subjects = config_subjects(p, source, cfg)?;
    subjects.extend(more);
    let (found, diagnostics): (Vec<_>, Vec<_>) = diagnostics(p, source, cfg, &subjects, None)?.into_iter().unzip();
    Ok(review::found(&found, &diagnostics, source))
}

/// Evaluate the policies over `cfg` (its source `source`) as `validate`
/// does — the built-in rules when `builtins` (the switch the benchmark
/// turns), the user's in `dir` when given — and count the findings.
pub fn count_findings(
    source: &crate::diagnostics::Source,
    cfg: &crate::config::Config,
    dir: Option<&Path>,
    builtins: bool,
) -> anyhow::Result<usize> {
    if !builtins && dir.is_none() {
        return Ok(0);
    }
    let options = Options { builtins, ..Default::default() };
    let mut p = match load_for(dir, options, cfg)? {
        Ok(p) => p,
        Err(wrong) => return Ok(wrong.len()),
    };
    let found = check(&mut p, source, cfg, Vec::new(), None)?;
    Ok(found.builtin.len() + found.user.len())
}
