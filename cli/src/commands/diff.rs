//! `myhealthctl diff`: (a) the drift gate — the generated tree on disk vs a
//! fresh in-memory render; (b) `--base REV` — the generated tree committed
//! at REV (read through git) vs a fresh render of the working tree, grouped
//! by environment. Every printed line is redacted.

use std::io::Write;

use clap::Args;

use crate::args::{Format, Global, RenderArgs};
use crate::changes;
use crate::config::Config;
use crate::exit::Outcome;
use crate::ops::drift;
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
    /// With `--base`: exit 1 when the output differs (without `--base` it always does)
    #[arg(long)]
    pub exit_code: bool,
}

impl DiffCmd {
    pub fn run(self, g: &Global) -> anyhow::Result<Outcome> {
        let p = Project::locate(g)?;
        let cfg = p.load()?;
        match &self.base {
            None => drift::show(&p, &cfg, &self.args, self.format, self.stat),
            Some(rev) => self.against_base(&p, &cfg, rev),
        }
    }

    fn against_base(&self, p: &Project, cfg: &Config, rev: &str) -> anyhow::Result<Outcome> {
        let opts = p.render_options(cfg, &self.args)?;
        let new = crate::render::render(cfg, &p.templates(&self.args.tree)?, &opts)?;

        let top = crate::git::toplevel(&p.root)?;
        let top_canon = top.canonicalize().unwrap_or(top.clone());
        let commit = crate::git::resolve_commit(&top, rev)?;
        let old = drift::filter_envs(drift::committed_at(p, cfg, &self.args, &top, &commit)?, &opts.only_envs);

        // The config at the base, when it loads: the cost before the change.
        let cfg_rel = p
            .config_path
            .canonicalize()
            .ok()
            .and_then(|c| c.strip_prefix(&top_canon).ok().map(|r| r.to_string_lossy().into_owned()));
        let base_cfg: Option<Config> = cfg_rel
            .and_then(|rel| crate::git::show(&top, &commit, &rel).ok().flatten())
            .and_then(|bytes| String::from_utf8(bytes).ok())
            .and_then(|text| {
                crate::config::load_historic(crate::diagnostics::Source { name: p.display.clone(), text }).ok()
            });
        let redactor = Redactor;

        let ch = changes::compare(&old, &new);
        let costs = cost_changes(base_cfg.as_ref(), cfg);
        let label = if rev.len() > 12 && rev.chars().all(|c| c.is_ascii_hexdigit()) {
            rev[..12].to_string()
        } else {
            rev.to_string()
        };
        let mut stdout = std::io::stdout().lock();
        match self.format {
            Format::Markdown => {
                write!(stdout, "{}", changes::markdown(&ch, &label, &redactor, drift::COMMENT_MARKER))?;
                if !costs.is_empty() {
                    writeln!(
                        stdout,
                        "\n#### Estimated monthly cost\n\n| environment | before | after | change |\n| --- | ---: | ---: | ---: |"
                    )?;
                    for c in &costs {
                        writeln!(
                            stdout,
                            "| `{}` | {} | {} | {} |",
                            c.environment,
                            opt_usd(c.before),
                            opt_usd(c.after),
                            delta(c)
                        )?;
                    }
                }
            }
            Format::Json => {
                let mut v = drift::json_report(&ch, Some(&label));
                v["cost"] = serde_json::to_value(&costs)?;
                writeln!(stdout, "{}", serde_json::to_string_pretty(&v)?)?
            }
            Format::Text => {
                for c in &costs {
                    writeln!(
                        stdout,
                        "cost of `{}`: {} → {} ({} per month)",
                        c.environment,
                        opt_usd(c.before),
                        opt_usd(c.after),
                        delta(c)
                    )?;
                }
                let groups = changes::group(&ch);
                if groups.is_empty() {
                    writeln!(stdout, "no change to the generated output against `{label}`")?;
                }
                for (env, files) in &groups {
                    let s = changes::summarize(files);
                    let title = if env == changes::SHARED {
                        "shared files".to_string()
                    } else {
                        format!("environment `{env}`")
                    };
                    writeln!(
                        stdout,
                        "{}",
                        changes::paint(p.color, "1", &format!("== {title}: {}", changes::stat_line(&s)))
                    )?;
                    for f in files {
                        if self.stat {
                            writeln!(stdout, "  {} {}", changes::kind_letter(f.kind), f.path)?;
                        } else {
                            write!(
                                stdout,
                                "{}",
                                changes::colorize(p.color, &changes::unified(f, &label, "working-tree", &redactor))
                            )?;
                        }
                    }
                }
            }
        }
        Ok(if self.exit_code && !ch.is_empty() { Outcome::Differs } else { Outcome::Ok })
    }
}

/// An environment whose estimated monthly cost changes.
#[derive(Debug, serde::Serialize)]
struct CostChange {
    environment: String,
    before: Option<f64>,
    after: Option<f64>,
}

/// Cost changes between the config at the base (when it loads) and now.
fn cost_changes(base: Option<&Config>, now: &Config) -> Vec<CostChange> {
    let a = crate::cost::Assumptions::default();
    let total =
        |c: Option<&Config>, name: &str| c.and_then(|c| c.env(name)).map(|e| crate::cost::estimate(e, &a).total_usd);
    let mut names: Vec<String> = now.env_names();
    for n in base.map(Config::env_names).unwrap_or_default() {
        if !names.contains(&n) {
            names.push(n);
        }
    }
    names
        .into_iter()
        .map(|n| CostChange { before: total(base, &n), after: total(Some(now), &n), environment: n })
        .filter(|c| c.before != c.after && base.is_some())
        .collect()
}

fn opt_usd(x: Option<f64>) -> String {
    x.map(crate::cost::usd).unwrap_or_else(|| "—".into())
}

fn delta(c: &CostChange) -> String {
    let d = c.after.unwrap_or(0.0) - c.before.unwrap_or(0.0);
    if d >= 0.0 { format!("+{}", crate::cost::usd(d)) } else { crate::cost::usd(d) }
}
