//! `myhealthctl cost [ENV]`: estimated monthly cost per environment — each
//! with its region, what has no price (named, left out of a total then
//! shown as `at least`), and whose prices it uses.

use clap::Args;

use crate::args::Global;
use crate::cost::{self, Assumptions, PRICE_REGION, PRICES_AS_OF, usd};
use crate::exit::Outcome;
use crate::project::Project;

#[derive(Args, Debug)]
pub struct CostCmd {
    /// Only this environment [default: all]
    pub env: Option<String>,
    /// Only these environments (repeatable), as in every command over several
    #[arg(long = "env", short = 'e', value_name = "NAME", conflicts_with = "env")]
    pub envs: Vec<String>,
    /// Print the estimate as JSON
    #[arg(long)]
    pub json: bool,
    /// Assumed API requests per month, in millions (0 to 1000000)
    #[arg(long, default_value_t = 1.0, value_name = "MILLIONS", value_parser = requests_in_range)]
    pub requests: f64,
}

/// A finite, non-negative number of millions of requests, at most a million millions.
fn requests_in_range(s: &str) -> Result<f64, String> {
    let v: f64 = s.parse().map_err(|_| format!("`{s}` is not a number"))?;
    if !v.is_finite() || !(0.0..=1_000_000.0).contains(&v) {
        return Err(format!("`{s}` must be a finite number from 0 to 1000000 (millions of requests a month)"));
    }
    Ok(v)
}

impl CostCmd {
    pub fn run(self, g: &Global) -> anyhow::Result<Outcome> {
        let p = Project::locate(g)?;
        let cfg = p.read()?;
        let only: Vec<String> = self.env.iter().cloned().chain(self.envs.iter().cloned()).collect();
        let a = Assumptions { api_requests_millions: self.requests, ..Assumptions::default() };
        let estimates: Vec<_> = p.environments(&cfg, &only)?.into_iter().map(|e| cost::estimate(e, &a)).collect();
        if self.json {
            let v = serde_json::json!({ "prices_as_of": PRICES_AS_OF, "price_region": PRICE_REGION, "assumptions": a, "environments": estimates });
            crate::outln!("{}", serde_json::to_string_pretty(&v)?);
            return Ok(Outcome::Ok);
        }
        for (i, e) in estimates.iter().enumerate() {
            if i > 0 {
                crate::outln!();
            }
            let unpriced = match e.unpriced.len() {
                0 => String::new(),
                1 => " (1 item unpriced)".into(),
                n => format!(" ({n} items unpriced)"),
            };
            crate::outln!("{}: {} / month{unpriced}", e.environment, e.total());
            for it in &e.items {
                crate::outln!("  {:<16} {:<58} {:>10}", it.service, it.detail, usd(it.monthly_usd));
            }
            for u in &e.unpriced {
                crate::outln!("  {:<16} {:<58} {:>10}", u.service, u.detail, "unpriced");
            }
            for c in e.caveats() {
                crate::outln!("  {c}");
            }
        }
        crate::outln!(
            "\nlist prices of {PRICE_REGION} as of {PRICES_AS_OF}; usage items assume {}M API requests, {} GB logs, {} GB images, {} GB through NAT",
            a.api_requests_millions,
            a.log_ingest_gb,
            a.ecr_storage_gb,
            a.nat_processed_gb
        );
        Ok(Outcome::Ok)
    }
}
