//! `myhealthctl graph ENV`: the module dependency graph of an environment
//! (Mermaid or Graphviz dot), from its freshly rendered Terraform root.

use clap::{Args, ValueEnum};

use crate::args::{Global, RenderArgs};
use crate::exit::Outcome;
use crate::project::Project;

#[derive(ValueEnum, Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum GraphFormat {
    /// Mermaid flowchart (renders in GitHub Markdown)
    #[default]
    Mermaid,
    /// Graphviz dot
    Dot,
    /// The modules and edges as JSON
    Json,
}

#[derive(Args, Debug)]
pub struct GraphCmd {
    /// The environment
    pub env: String,
    #[arg(long, value_enum, default_value_t = GraphFormat::Mermaid)]
    pub format: GraphFormat,
    /// Same as `--format json`
    #[arg(long, conflicts_with = "format")]
    pub json: bool,
}

/// The graph as JSON: an edge `from → to` means `to` depends on `from`.
#[derive(serde::Serialize)]
struct GraphJson<'a> {
    environment: &'a str,
    modules: &'a std::collections::BTreeSet<String>,
    edges: Vec<Edge<'a>>,
}

#[derive(serde::Serialize)]
struct Edge<'a> {
    from: &'a str,
    to: &'a str,
}

impl GraphCmd {
    pub fn run(self, g: &Global) -> anyhow::Result<Outcome> {
        let p = Project::locate(g)?;
        let cfg = p.read()?;
        let args = RenderArgs { envs: vec![self.env.clone()], ..Default::default() };
        let opts = p.render_options(&cfg, &args)?;
        let tree = crate::render::render(&cfg, &p.templates(&args.tree)?, &opts)?;
        let main = tree
            .get(&format!("{}main.tf", crate::names::env_path(crate::names::ENV_ROOT, &self.env)))
            .ok_or_else(|| anyhow::anyhow!("environment `{}` renders no Terraform root", self.env))?;
        let graph = crate::graph::from_main_tf(&String::from_utf8_lossy(main));
        let title = format!("{} modules", self.env);
        let format = if self.json { GraphFormat::Json } else { self.format };
        crate::out!(
            "{}",
            match format {
                GraphFormat::Mermaid => graph.mermaid(&title),
                GraphFormat::Dot => graph.dot(&title),
                GraphFormat::Json => {
                    let edges = graph.edges.iter().map(|(from, to)| Edge { from, to }).collect();
                    let json = GraphJson { environment: &self.env, modules: &graph.modules, edges };
                    format!("{}\n", serde_json::to_string_pretty(&json)?)
                }
            }
        );
        Ok(Outcome::Ok)
    }
}
