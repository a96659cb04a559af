//! `myhealthctl envs`: the resolved settings of each environment — what
//! `[defaults]` plus the environment's overrides plus built-in defaults
//! add up to; `--provenance`: every setting with where it comes from —
//! file, line and layer, or built-in (`--json`: as data; `explain KEY`
//! follows one forward too).

use clap::Args;

use serde::Serialize;

use crate::args::Global;
use crate::config::doc::Doc;
use crate::config::keys::{self, Provenance};
use crate::config::model::CapacityType;
use crate::exit::Outcome;
use crate::project::Project;

#[derive(Args, Debug)]
pub struct EnvsCmd {
    /// Print as JSON: the complete resolved model, or with `--provenance` every setting with where it comes from
    #[arg(long)]
    pub json: bool,
    /// Only these environments (repeatable)
    #[arg(long = "env", short = 'e', value_name = "NAME")]
    pub envs: Vec<String>,
    /// Every setting with where its value comes from (file:line of `[defaults]` or `[environments.<env>]`, or built-in)
    #[arg(long)]
    pub provenance: bool,
}

/// `envs --provenance --json`: one environment's settings, each with its
/// value (credential-shaped text masked) and where it comes from.
#[derive(Debug, Serialize)]
pub struct EnvProvenance {
    pub environment: String,
    pub settings: Vec<Provenance>,
}

impl EnvsCmd {
    pub fn run(self, g: &Global) -> anyhow::Result<Outcome> {
        let p = Project::locate(g)?;
        let cfg = p.read()?;
        let envs = p.environments(&cfg, &self.envs)?;
        if self.provenance {
            let text = std::fs::read_to_string(&p.config_path)?;
            let doc = Doc::parse(&text).map_err(|_| anyhow::anyhow!("`{}` does not parse", p.display))?;
            let all: Vec<EnvProvenance> = envs
                .iter()
                .map(|e| EnvProvenance {
                    environment: e.name.value.clone(),
                    settings: keys::provenance(&doc, &text, &p.display, e),
                })
                .collect();
            if self.json {
                crate::outln!("{}", serde_json::to_string_pretty(&all)?);
                return Ok(Outcome::Ok);
            }
            for (i, e) in all.iter().enumerate() {
                if i > 0 {
                    crate::outln!();
                }
                crate::outln!("{}", e.environment);
                for s in &e.settings {
                    let from = match (&s.file, s.line) {
                        (Some(f), Some(l)) => format!("{f}:{l} {}", s.layer.table(&e.environment)),
                        _ => "built-in or derived".into(),
                    };
                    crate::outln!("  {} = {}   ({from})", s.key, s.value);
                }
            }
            return Ok(Outcome::Ok);
        }
        if self.json {
            crate::outln!("{}", serde_json::to_string_pretty(&envs)?);
            return Ok(Outcome::Ok);
        }
        for (i, e) in envs.iter().enumerate() {
            if i > 0 {
                crate::outln!();
            }
            crate::outln!("{}", e.name.value);
            let row = |k: &str, v: String| -> std::io::Result<()> {
                use std::io::Write as _;
                writeln!(std::io::stdout().lock(), "  {k:<14} {v}")
            };
            row("aws", format!("{} account {}", e.aws.region.value, e.aws.account_id.value))?;
            row("state", format!("s3://{} ({})", e.terraform.state_bucket.value, e.terraform.state_region.value))?;
            let nat = serde_json::to_value(e.network.nat.value)?;
            row(
                "network",
                format!(
                    "{} over {} AZs, NAT {}",
                    e.network.vpc_cidr.value,
                    e.network.az_count.value,
                    nat.as_str().unwrap_or_default()
                ),
            )?;
            row(
                "eks",
                format!(
                    "{} {} (public {}, private {})",
                    e.eks.cluster_name.value,
                    e.eks.version.value,
                    e.eks.endpoint_public_access.value,
                    e.eks.endpoint_private_access.value
                ),
            )?;
            for ng in &e.eks.node_groups {
                let cap = if ng.capacity_type.value == CapacityType::Spot { "SPOT" } else { "ON_DEMAND" };
                let types: Vec<_> = ng.instance_types.value.iter().map(|t| t.value.as_str()).collect();
                row(
                    &format!("  {}", ng.name.value),
                    format!(
                        "{cap} {} min {} desired {} max {}",
                        types.join(","),
                        ng.min_size.value,
                        ng.desired_size.value,
                        ng.max_size.value
                    ),
                )?;
            }
            row(
                "rds",
                format!(
                    "{} postgres {} multi-az {} deletion-protection {}",
                    e.rds.instance_class.value,
                    e.rds.engine_version.value,
                    e.rds.multi_az.value,
                    e.rds.deletion_protection.value
                ),
            )?;
            let services: Vec<_> = e.services.iter().map(|s| s.name.value.as_str()).collect();
            row("services", services.join(", "))?;
        }
        Ok(Outcome::Ok)
    }
}
