//! `myhealthctl validate`: load and check the config and render it in
//! memory (so template errors surface too), writing nothing.

use clap::Args;

use crate::args::{Global, PolicyArgs, TreeArgs};
use crate::exit::Outcome;
use crate::ops::validate;
use crate::project::Project;

#[derive(Args, Debug)]
pub struct ValidateCmd {
    /// Print the result (or the problems, with file/line/column) as JSON on stdout
    #[arg(long)]
    pub json: bool,
    /// Lay the templates in DIR over the built-in ones
    #[arg(long, env = "MYHEALTH_TEMPLATES", value_name = "DIR")]
    pub templates: Option<std::path::PathBuf>,
    #[command(flatten)]
    pub policy: PolicyArgs,
}

impl ValidateCmd {
    pub fn run(self, g: &Global) -> anyhow::Result<Outcome> {
        let p = Project::locate(g)?;
        let text =
            std::fs::read_to_string(&p.config_path).map_err(|e| anyhow::anyhow!("cannot read `{}`: {e}", p.display))?;
        let templates = p.templates(&TreeArgs { templates: self.templates, ..TreeArgs::default() })?;
        // With `--json`, a refused config is printed as JSON by the caller (`cli::run`).
        let validate::Checked { config: cfg, files, warnings } = validate::check(&p, text, &templates, &self.policy)?;
        let names = cfg.env_names();
        if self.json {
            let warnings = warnings.as_ref().map(|w| w.problems()).unwrap_or_default();
            let v = Valid { valid: true, config: &p.display, environments: &names, files, warnings };
            crate::outln!("{}", serde_json::to_string_pretty(&v)?);
        } else {
            if let Some(w) = &warnings {
                eprint!("{}", w.render(p.color));
            }
            let word = if names.len() == 1 { "environment" } else { "environments" };
            crate::outln!(
                "`{}` is valid: {} {word} ({}), {} files to render",
                p.display,
                names.len(),
                names.join(", "),
                files
            );
        }
        Ok(Outcome::Ok)
    }
}

/// What `validate --json` prints for a valid config (a refused one is the
/// error envelope, `valid: false`, printed by `cli::run`).
#[derive(serde::Serialize)]
struct Valid<'a> {
    valid: bool,
    config: &'a str,
    environments: &'a [String],
    files: usize,
    warnings: Vec<crate::diagnostics::Problem>,
}
