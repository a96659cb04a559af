//! What `validate` checks, in one function that the command and the
//! language server (`ops::lsp`) both call: load the config from its text
//! (the built-in checks: config, placeholders, budget), render it in memory
//! (template errors), then the project's Rego policies. The server passes an
//! unsaved buffer; the command, the file.

use crate::args::{PolicyArgs, RenderArgs};
use crate::config::{self, Config};
use crate::diagnostics::{Report, Source};
use crate::project::Project;
use crate::render::Templates;

/// A config `validate` accepts: the number of files it renders and its
/// warnings (the config's own and the policies'), if any.
pub struct Checked {
    pub config: Config,
    pub files: usize,
    pub warnings: Option<Report>,
}

/// Check `text` as the project's config. An error is what `validate`
/// fails with: a [`Report`] for the config's and the policies' errors, any
/// other error (a template that does not render) as it is.
pub fn check(p: &Project, text: String, templates: &Templates, policy: &PolicyArgs) -> anyhow::Result<Checked> {
    let config = config::load_for(Source { name: p.display.clone(), text: text.clone() }, config::Mode::Change)?;
    let opts = p.render_options(&config, &RenderArgs::default())?;
    let tree = crate::render::render(&config, templates, &opts)?;
    // The project's policies, after the built-in checks and the render.
    let warnings = p.policy_check_text(&config, policy, text, || Ok(tree.clone()))?;
    Ok(Checked { files: tree.len(), warnings, config })
}
