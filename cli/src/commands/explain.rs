//! `myhealthctl explain KEY… [--env ENV]`: where a setting comes from (the
//! built-in default, `[defaults]`, `[environments.<env>]`, with file:line,
//! the winner marked) and what it drives — the generated lines, Terraform
//! blocks and attributes, Kubernetes objects (`--manifests`) and cost it
//! feeds, tracked by rendering the config with the value varied
//! (`ops::explain`); for a table, its settings and where each comes from.

use clap::Args;

use crate::args::{Global, RenderArgs, TreeArgs};
use crate::exit::Outcome;
use crate::ops::explain;
use crate::project::Project;

#[derive(Args, Debug)]
pub struct ExplainCmd {
    /// The settings or tables, as key paths: `rds.instance_class`, `eks.node_groups.general.desired_size`, `eks.node_groups.general.instance_types.0`, `eks.node_groups.general.labels."myhealth.io/pool"`, `rds` (a table: its settings with where each comes from)
    #[arg(value_name = "KEY", required = true)]
    pub keys: Vec<String>,
    /// Only this environment [default: every environment]
    #[arg(long, value_name = "NAME")]
    pub env: Option<String>,
    /// Also render the chart with Helm (`helm template`, or `$MYHEALTHCTL_HELM`) to name the Kubernetes objects it changes
    #[arg(long)]
    pub manifests: bool,
    /// Print as JSON
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub tree: TreeArgs,
}

impl ExplainCmd {
    pub fn run(self, g: &Global) -> anyhow::Result<Outcome> {
        let p = Project::locate(g)?;
        let cfg = p.read()?;
        let only: Vec<String> = self.env.iter().cloned().collect();
        let envs = p.environments(&cfg, &only)?;
        let text = std::fs::read_to_string(&p.config_path)?;
        let templates = p.templates(&self.tree)?;
        let opts = p.render_options(&cfg, &RenderArgs::default())?;
        let render = |c: &crate::config::Config| crate::render::render(c, &templates, &opts);
        let helm: Option<explain::ObjectsFn<'_>> = if self.manifests { Some(&explain::chart_objects) } else { None };
        let out = explain::explain(&cfg, &text, &p.display, &self.keys, &envs, self.env.is_some(), &render, helm)?;
        if self.json {
            crate::outln!("{}", serde_json::to_string_pretty(&out)?);
        } else {
            for (i, x) in out.iter().enumerate() {
                if i > 0 {
                    crate::outln!();
                }
                crate::out!("{x}");
            }
        }
        Ok(Outcome::Ok)
    }
}
