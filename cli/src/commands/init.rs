//! `myhealthctl init`: write a commented starter `myhealth.toml`.

use std::path::PathBuf;

use anyhow::{Context, bail};
use clap::Args;

use crate::exit::Outcome;

/// The starter config; a test proves it validates.
pub const STARTER: &str = include_str!("../../assets/starter.toml");

#[derive(Args, Debug)]
pub struct InitCmd {
    /// Where to write it: a file, or a directory to write `myhealth.toml` in
    #[arg(default_value = "myhealth.toml")]
    pub path: PathBuf,
    /// Overwrite an existing file
    #[arg(long)]
    pub force: bool,
}

impl InitCmd {
    pub fn run(mut self) -> anyhow::Result<Outcome> {
        // A directory (existing, or written with a trailing `/`) holds the file.
        if self.path.is_dir() || self.path.as_os_str().to_string_lossy().ends_with('/') {
            self.path = self.path.join(crate::config::DEFAULT_FILE);
        }
        if self.path.exists() && !self.force {
            bail!("`{}` already exists\n  = help: pass `--force` to overwrite it", self.path.display());
        }
        if let Some(dir) = self.path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)?;
        }
        std::fs::write(&self.path, STARTER).with_context(|| format!("cannot write `{}`", self.path.display()))?;
        crate::outln!(
            "wrote `{}`: set `aws.account_id` and `project.github`, then run `myhealthctl render`",
            self.path.display()
        );
        Ok(Outcome::Ok)
    }
}
