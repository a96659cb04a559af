//! `myhealthctl diff`: (a) the drift gate — the generated tree on disk vs a
//! fresh in-memory render; (b) `--base REV` — the review of a change: what
//! it does to `myhealth.toml`'s settings per environment, to the generated
//! tree committed at REV (read through git) against a fresh render of the
//! working tree, to each environment's cost, its Kubernetes objects
//! (`--manifests`, rendered by Helm) and its plan (`--plans`); as a
//! pull-request comment with a size budget. The work is `ops::review`'s;
//! every printed line is redacted.

use std::io::Write;
use std::path::PathBuf;

use anyhow::Context;
use clap::Args;

use crate::args::{Format, Global, RenderArgs};
use crate::config::Config;
use crate::exit::Outcome;
use crate::ops::{drift, review};
use crate::project::Project;
use crate::redact::Redactor;

#[derive(Args, Debug)]
pub struct DiffCmd {
    #[command(flatten)]
    pub args: RenderArgs,
    /// Compare the generated tree committed at this git revision with a fresh render of the working tree
    #[arg(long, value_name = "REV")]
    pub base: Option<String>,
    /// Only list changed files and per-environment counts
    #[arg(long)]
    pub stat: bool,
    /// Output format
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// Same as `--format json`
    #[arg(long, conflicts_with = "format")]
    pub json: bool,
    /// With `--base`: exit 1 when the output differs (without `--base` it always does)
    #[arg(long)]
    pub exit_code: bool,
    /// With `--base`: also render the chart of every environment at both sides with Helm (`helm template`, or `$MYHEALTHCTL_HELM`) and show the Kubernetes objects that change
    #[arg(long, requires = "base")]
    pub manifests: bool,
    /// With `--base`: plan summaries to include, one `<env>.json` per environment (`myhealthctl plan ENV --json`)
    #[arg(long, value_name = "DIR", requires = "base")]
    pub plans: Option<PathBuf>,
    /// With `--format markdown`: the comment's size limit in characters (the summary always fits; details that do not are named)
    #[arg(long, value_name = "N", default_value_t = review::DEFAULT_BUDGET, value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(2_000..=65_536))]
    pub max_chars: usize,
    /// With `--format markdown`: also write the full report, nothing left out, to FILE
    #[arg(long, value_name = "FILE")]
    pub full: Option<PathBuf>,
    /// With `--format markdown`: where the full report can be read (the comment links it when details are left out)
    #[arg(long, value_name = "URL")]
    pub details_url: Option<String>,
    /// With `--base`: exit 1 when the change takes an environment's estimate over its budget (`[budget]`), after printing everything
    #[arg(long, requires = "base")]
    pub budget_gate: bool,
    /// With `--base`: compare with the output as it is on disk (what the change commits), not a fresh render — how a myhealthctl built from the base reviews a change that may alter myhealthctl itself
    #[arg(long, requires = "base")]
    pub committed: bool,
    #[command(flatten)]
    pub policy: crate::args::PolicyArgs,
}

impl DiffCmd {
    fn format(&self) -> Format {
        if self.json { Format::Json } else { self.format }
    }

    pub fn run(self, g: &Global) -> anyhow::Result<Outcome> {
        let p = Project::locate(g)?;
        let cfg = p.read()?;
        match &self.base {
            None => drift::show(&p, &cfg, &self.args, self.format(), self.stat),
            Some(rev) => self.against_base(&p, &cfg, rev),
        }
    }

    fn against_base(&self, p: &Project, cfg: &Config, rev: &str) -> anyhow::Result<Outcome> {
        let base = review::base::Base::read(p, cfg, &self.args, rev, self.committed)?;
        let files = base.changes();
        let review = base.review(p, cfg, &files, self.manifests, self.plans.as_deref(), &self.policy)?;
        let mut stdout = crate::output::stdout();
        match self.format() {
            Format::Markdown => {
                let comment = review.markdown(&Redactor, self.max_chars, self.details_url.as_deref());
                if let Some(f) = &self.full {
                    std::fs::write(f, &comment.full).with_context(|| format!("cannot write `{}`", f.display()))?;
                }
                write!(stdout, "{}", comment.body)?;
            }
            Format::Json => writeln!(stdout, "{}", review.json()?)?,
            Format::Text => review.text(&mut stdout, &p.display, p.color, self.stat)?,
        }
        let errors = review.budget_errors();
        if self.budget_gate && !errors.is_empty() {
            for e in errors {
                eprintln!("error: {e}");
            }
            return Ok(Outcome::Differs);
        }
        Ok(if self.exit_code && !files.is_empty() { Outcome::Differs } else { Outcome::Ok })
    }
}
