//! `myhealthctl validate`: load and check the config and render it in
//! memory (so template errors surface too), writing nothing.

use clap::Args;

use crate::args::{Global, PolicyArgs, RenderArgs, TreeArgs};
use crate::exit::Outcome;
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
        // With `--json`, a refused config is printed as JSON by the caller (`cli::run`).
        let cfg = p.load()?;
        let args =
            RenderArgs { tree: TreeArgs { templates: self.templates, ..TreeArgs::default() }, ..RenderArgs::default() };
        let opts = p.render_options(&cfg, &args)?;
        let tree = crate::render::render(&cfg, &p.templates(&args.tree)?, &opts)?;
        // The project's policies, after the built-in checks and the render.
        let warnings = p.policy_check(&cfg, &self.policy, || Ok(tree.clone()))?;
        let names = cfg.env_names();
        if self.json {
            let warnings = warnings.as_ref().map(|w| w.problems()).unwrap_or_default();
            let v = Valid { valid: true, config: &p.display, environments: &names, files: tree.len(), warnings };
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
                tree.len()
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
