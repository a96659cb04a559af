//! `myhealthctl lsp`: the language server of `myhealth.toml`, on stdin and
//! stdout, for as long as the editor keeps it (`ops::lsp`).

use clap::Args;

use crate::args::{PolicyArgs, TreeArgs};
use crate::exit::Outcome;
use crate::ops::lsp;

#[derive(Args, Debug)]
pub struct LspCmd {
    /// Lay the templates in DIR over the built-in ones (as `validate --templates`)
    #[arg(long, env = "MYHEALTH_TEMPLATES", value_name = "DIR")]
    pub templates: Option<std::path::PathBuf>,
    /// Hover also names the Kubernetes objects a key changes, rendering the chart with Helm (`helm template`, or `$MYHEALTHCTL_HELM`), as `explain --manifests`
    #[arg(long)]
    pub manifests: bool,
    /// Speak LSP on stdin/stdout (the only transport; accepted because editors pass it)
    #[arg(long)]
    pub stdio: bool,
    #[command(flatten)]
    pub policy: PolicyArgs,
}

impl LspCmd {
    pub fn run(self) -> anyhow::Result<Outcome> {
        let tree = TreeArgs { templates: self.templates, ..TreeArgs::default() };
        let templates = match &tree.templates {
            Some(dir) => crate::render::Templates::with_overrides(dir)?,
            None => crate::render::Templates::embedded(),
        };
        lsp::serve(lsp::Options { templates, policy: self.policy, manifests: self.manifests })?;
        Ok(Outcome::Ok)
    }
}
