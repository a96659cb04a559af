//! Policy as code: the user's Rego policies (`policy/*.rego` beside the
//! config, or `--policy DIR`), evaluated in-process by `regorus` (no OPA
//! binary) with conftest's conventions — `deny`/`violation`/`warn` rules
//! (and `deny_<name>` …) in package `main` unless told otherwise, `*.json`
//! and `*.yaml` files of the directory as `data`, `test_*` rules for
//! `policy test`. `input` builds what a policy sees (one environment of the
//! resolved config, with each value's source), `findings` evaluates the
//! rules and points each finding back at `myhealth.toml`, `test` runs the
//! policies' own tests. A layer beside `config`: it reads the config and
//! its provenance (`config::keys`), never the operations or the commands.
//! `builtin` holds the rules shipped in the binary (the production rules),
//! evaluated by the same engine on every `validate` and `render`.

pub mod builtin;
pub mod disable;
pub mod engine;
pub mod findings;
pub mod input;
pub mod test;

use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail};

pub use engine::{DEFAULT_DIR, Options, load};

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

/// The findings of the built-in rules (unless `options.builtins` is off;
/// those `cfg` disables left out) and of the policies in `dir` over `cfg`
/// (its source `source`) as diagnostics.
pub fn check(
    dir: Option<&Path>,
    mut options: Options,
    source: &crate::diagnostics::Source,
    cfg: &crate::config::Config,
) -> anyhow::Result<Checked> {
    let mut out = Checked::default();
    if options.builtins {
        out.builtin = disable::check_disabled(cfg);
        if !out.builtin.is_empty() {
            return Ok(out);
        }
        options.disabled = cfg.disabled_rules.iter().map(|d| d.value.clone()).collect();
    }
    let mut p = load(dir, options)?;
    let doc = crate::config::doc::Doc::parse(&source.text).map_err(|_| anyhow!("`{}` does not parse", source.name))?;
    let found = findings::evaluate(&mut p, &doc, &source.text, &source.name, cfg)?;
    for f in &found {
        let d = findings::diagnostic(f, &doc, &source.text, cfg);
        if builtin::is_builtin(&f.file) { out.builtin.push(d) } else { out.user.push(d) }
    }
    Ok(out)
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
    let found = check(dir, options, source, cfg)?;
    Ok(found.builtin.len() + found.user.len())
}
