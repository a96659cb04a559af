//! `myhealthctl promote FROM TO`: copy the release record FROM runs — the
//! verified set of digests, the chart version, the commit — to TO, show
//! exactly what changes in TO (the record, the rendered files, the cost),
//! and write it (config and rendered tree) for a pull request; `--check`
//! writes nothing (`ops::release`).

use clap::Args;

use crate::args::{Global, TreeArgs};
use crate::changes::{self, compare};
use crate::cost::{self, Assumptions, usd};
use crate::exit::Outcome;
use crate::ops::release::{self, Record};
use crate::project::Project;
use crate::redact::Redactor;

#[derive(Args, Debug)]
pub struct PromoteCmd {
    /// The environment whose release is promoted
    #[arg(value_name = "FROM")]
    pub from: String,
    /// The environment that receives it
    #[arg(value_name = "TO")]
    pub to: String,
    /// Write nothing; exit 1 if the promotion would change TO
    #[arg(long)]
    pub check: bool,
    /// Print the record and the changed files as JSON
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub tree: TreeArgs,
}

impl PromoteCmd {
    pub fn run(self, g: &Global) -> anyhow::Result<Outcome> {
        let p = Project::locate(g)?;
        let cfg = p.load()?;
        let from = p.environment(&cfg, &self.from)?;
        let to = p.environment(&cfg, &self.to)?;
        if from.name.value == to.name.value {
            anyhow::bail!("`{}` is promoted to itself: name the next environment", self.to);
        }
        let Some(record) = Record::of(from) else {
            anyhow::bail!(
                "`{}` has no release record to promote\n  = help: record one with `myhealthctl push {} --record` (build.yml does it on main)",
                self.from,
                self.from
            );
        };
        let old = Record::of(to);
        let lines = release::changes(old.as_ref(), &record);
        // The rendered tree before and after, from the config as it would be.
        let text = std::fs::read_to_string(&p.config_path)?;
        let next_text = release::write_into(&text, &self.to, &record)?;
        let next_cfg = crate::config::load(crate::diagnostics::Source { text: next_text, name: p.display.clone() })
            .map_err(|r| anyhow::anyhow!("{}", r.render(p.color)))?;
        let opts = p.render_options(&cfg, &crate::args::RenderArgs::default())?;
        let templates = p.templates(&self.tree)?;
        let before = crate::render::render(&cfg, &templates, &opts)?;
        let after = crate::render::render(&next_cfg, &templates, &opts)?;
        let files = compare(&before, &after);
        let a = Assumptions::default();
        let estimate = cost::estimate(next_cfg.env(&self.to).unwrap_or(to), &a);
        let (cost_before, cost_after) = (cost::estimate(to, &a).total_usd, estimate.total_usd);
        let to_name = &self.to;
        if self.json {
            let v = serde_json::json!({
                "from": self.from, "to": to_name, "record": record, "previous": old,
                "changes": lines, "files": files.iter().map(|c| c.path).collect::<Vec<_>>(),
                "cost_usd": { "before": cost_before, "after": cost_after, "complete": estimate.complete, "unpriced": estimate.unpriced, "price_region": estimate.price_region },
                "written": !self.check && !lines.is_empty(),
            });
            crate::outln!("{}", serde_json::to_string_pretty(&v)?);
        } else {
            crate::outln!("promote the release of `{}` to `{to_name}`", self.from);
            if lines.is_empty() {
                crate::outln!("`{to_name}` already runs this release: nothing to change");
                return Ok(Outcome::Ok);
            }
            crate::outln!("\nrelease record of `{to_name}`:");
            for l in &lines {
                crate::outln!("  {l}");
            }
            crate::outln!("\nrendered ({} files):", files.len());
            for c in &files {
                crate::out!("{}", changes::unified(c, "a", "b", &Redactor));
            }
            crate::outln!(
                "\ncost of `{to_name}`: {} a month{}",
                estimate.total(),
                if (cost_after - cost_before).abs() < 0.005 {
                    " (unchanged: a release moves images, not infrastructure)".to_string()
                } else {
                    format!(" ({} before)", usd(cost_before))
                }
            );
            for c in estimate.caveats() {
                crate::outln!("  {c}");
            }
        }
        if lines.is_empty() {
            return Ok(Outcome::Ok);
        }
        if self.check {
            return Ok(Outcome::Differs);
        }
        release::record(&p, to_name, &record)?;
        release::rerender(&p, &self.tree)?;
        if !self.json {
            crate::outln!(
                "\nwrote the release of `{to_name}` into `{}` and rendered it; commit both and open a pull request",
                p.display
            );
        }
        Ok(Outcome::Ok)
    }
}
