//! Monthly cost estimate of an environment from the resolved config, with
//! an embedded price table (AWS list prices, us-east-1, on-demand, dated
//! `PRICES_AS_OF`). An estimate for comparing environments and reviewing
//! changes, not a bill: usage-based items use the stated assumptions.
//!
//! Nothing is dropped silently: an instance type or class the table has no
//! price for is an `Unpriced` entry of the estimate, its total is then a
//! lower bound (`complete` is false), and every output says so
//! (`Estimate::caveats`). Every estimate names the region whose prices it
//! uses, and says when that is not the environment's.

use serde::Serialize;

use crate::config::model::Environment;
use crate::config::model::{CapacityType, NatMode};
use crate::config::span::Sp;

pub const PRICES_AS_OF: &str = "2026-11-01";
pub const PRICE_REGION: &str = "us-east-1";
const HOURS: f64 = 730.0;

/// Assumed usage for the usage-priced items.
#[derive(Debug, Clone, Serialize)]
pub struct Assumptions {
    pub api_requests_millions: f64,
    pub log_ingest_gb: f64,
    pub ecr_storage_gb: f64,
    pub nat_processed_gb: f64,
    /// Spot price as a fraction of on-demand (long-run average for burstable types).
    pub spot_factor: f64,
}

impl Default for Assumptions {
    fn default() -> Self {
        Assumptions {
            api_requests_millions: 1.0,
            log_ingest_gb: 5.0,
            ecr_storage_gb: 10.0,
            nat_processed_gb: 10.0,
            spot_factor: 0.33,
        }
    }
}

/// On-demand Linux price per hour of the EC2 instance types we know.
pub const EC2_HOURLY: &[(&str, f64)] = &[
    ("t3.micro", 0.0104),
    ("t3.small", 0.0208),
    ("t3.medium", 0.0416),
    ("t3.large", 0.0832),
    ("t3.xlarge", 0.1664),
    ("t3a.medium", 0.0376),
    ("t3a.large", 0.0752),
    ("t4g.medium", 0.0336),
    ("t4g.large", 0.0672),
    ("m5.large", 0.096),
    ("m5.xlarge", 0.192),
    ("m6i.large", 0.096),
    ("m6i.xlarge", 0.192),
    ("m7i.large", 0.1008),
    ("m6g.large", 0.077),
    ("m7g.large", 0.0816),
    ("c6i.large", 0.085),
    ("r6i.large", 0.126),
];

/// The on-demand hourly price of an EC2 instance type, if the table has it.
pub fn ec2_hourly(t: &str) -> Option<f64> {
    EC2_HOURLY.iter().find(|(k, _)| *k == t).map(|(_, p)| *p)
}

/// Single-AZ PostgreSQL price per hour of the RDS classes we know.
pub const RDS_HOURLY: &[(&str, f64)] = &[
    ("db.t3.micro", 0.018),
    ("db.t3.small", 0.036),
    ("db.t3.medium", 0.072),
    ("db.t3.large", 0.145),
    ("db.t4g.micro", 0.016),
    ("db.t4g.small", 0.032),
    ("db.t4g.medium", 0.065),
    ("db.t4g.large", 0.129),
    ("db.m6g.large", 0.152),
    ("db.m7g.large", 0.168),
    ("db.m6i.large", 0.171),
    ("db.r6g.large", 0.225),
    ("db.r6g.xlarge", 0.45),
    ("db.r7g.large", 0.239),
    ("db.r6i.large", 0.25),
];

/// The single-AZ hourly price of an RDS for PostgreSQL class, if the table has it.
pub fn rds_hourly(t: &str) -> Option<f64> {
    RDS_HOURLY.iter().find(|(k, _)| *k == t).map(|(_, p)| *p)
}

const EKS_CONTROL_PLANE_HOUR: f64 = 0.10;
const EBS_GP3_GB_MONTH: f64 = 0.08;
const NAT_HOUR: f64 = 0.045;
const NAT_GB: f64 = 0.045;
const RDS_GP3_GB_MONTH: f64 = 0.115;
const HTTP_API_PER_MILLION: f64 = 1.00;
const ECR_GB_MONTH: f64 = 0.10;
const SECRET_MONTH: f64 = 0.40;
const LOGS_INGEST_GB: f64 = 0.50;
const INTERFACE_ENDPOINT_AZ_HOUR: f64 = 0.01;
const KMS_KEY_MONTH: f64 = 1.00;
const NLB_HOUR: f64 = 0.0225;

/// One line of an estimate.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Item {
    pub service: &'static str,
    pub detail: String,
    pub monthly_usd: f64,
}

/// A part of the config the table has no price for: left out of the total.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Unpriced {
    pub service: &'static str,
    /// The instance type or class without a price, where it is set.
    pub name: Sp<String>,
    /// What it is, as an item would say it.
    pub detail: String,
    /// The key that sets it, relative to the environment.
    #[serde(skip)]
    pub key: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Estimate {
    pub environment: String,
    /// The environment's region.
    pub region: String,
    /// The region whose list prices the estimate uses (the table's).
    pub price_region: &'static str,
    pub items: Vec<Item>,
    /// The sum of the priced items: a lower bound unless `complete`.
    pub total_usd: f64,
    /// Every part of the config is priced (nothing in `unpriced`).
    pub complete: bool,
    /// Parts of the config the table has no price for (left out of the total).
    pub unpriced: Vec<Unpriced>,
}

impl Estimate {
    /// `$172.31`, or `at least $150.00` when something is unpriced.
    pub fn total(&self) -> String {
        if self.complete { usd(self.total_usd) } else { format!("at least {}", usd(self.total_usd)) }
    }

    /// The names without a price, as a list: `` `t3.nano`, `db.x2g.large` ``.
    pub fn unpriced_names(&self) -> Vec<String> {
        let mut v: Vec<String> = self.unpriced.iter().map(|u| u.name.value.clone()).collect();
        v.dedup();
        v
    }

    /// What every output prints beside the total: each unpriced item, and
    /// the region of the prices when it is not the environment's.
    pub fn caveats(&self) -> Vec<String> {
        let mut out: Vec<String> = self.unpriced.iter().map(unpriced_line).collect();
        out.extend(region_note(&self.region));
        out
    }
}

/// `unpriced: EC2 node group `general`: 2× t3.nano on-demand — no price for …`
pub fn unpriced_line(u: &Unpriced) -> String {
    format!(
        "unpriced: {} {} — no price for `{}` in the table ({PRICE_REGION} list prices as of {PRICES_AS_OF}); not in the total",
        u.service, u.detail, u.name.value
    )
}

/// The note an estimate of an environment in `region` carries: the table
/// holds one region's prices.
pub fn region_note(region: &str) -> Option<String> {
    (region != PRICE_REGION)
        .then(|| format!("priced at {PRICE_REGION}'s list prices: `{region}`'s differ, and the table has none of them"))
}

fn round(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

pub fn estimate(env: &Environment, a: &Assumptions) -> Estimate {
    let mut items = Vec::new();
    let mut unpriced = Vec::new();
    let mut add = |service, detail: String, usd: f64| items.push(Item { service, detail, monthly_usd: round(usd) });

    add("EKS", "control plane".into(), EKS_CONTROL_PLANE_HOUR * HOURS);
    for g in &env.eks.node_groups {
        let n = g.desired_size.value as f64;
        // The first type is the one priced (on-demand groups launch it first).
        let first = g.instance_types.value.first().cloned().unwrap_or_else(|| Sp::builtin("?".to_string()));
        let t = first.value.as_str();
        let (factor, cap) = match g.capacity_type.value {
            CapacityType::Spot => (a.spot_factor, "spot"),
            CapacityType::OnDemand => (1.0, "on-demand"),
        };
        let detail = format!("node group `{}`: {n}× {t} {cap}", g.name.value);
        match ec2_hourly(t) {
            Some(h) => add("EC2", detail, n * h * factor * HOURS),
            None => unpriced.push(Unpriced {
                service: "EC2",
                name: first.clone(),
                detail,
                key: format!("eks.node_groups.{}.instance_types", g.name.value),
            }),
        }
        add(
            "EBS",
            format!("node group `{}`: {n}× {} GiB gp3", g.name.value, g.disk_size_gb.value),
            n * g.disk_size_gb.value as f64 * EBS_GP3_GB_MONTH,
        );
    }
    let nats = match env.network.nat.value {
        NatMode::None => 0,
        NatMode::Single => 1,
        NatMode::PerAz => env.network.az_count.value as usize,
    };
    if nats > 0 {
        add(
            "NAT gateway",
            format!("{nats}× + {} GB processed", a.nat_processed_gb),
            nats as f64 * NAT_HOUR * HOURS + a.nat_processed_gb * NAT_GB,
        );
    }
    if env.network.vpc_endpoints.value {
        let azs = env.network.az_count.value as f64;
        add(
            "VPC endpoints",
            format!("4 interface endpoints × {azs} AZs (S3 gateway is free)"),
            4.0 * azs * INTERFACE_ENDPOINT_AZ_HOUR * HOURS,
        );
    }
    let class = &env.rds.instance_class.value;
    let label = if env.rds.multi_az.value { "multi-AZ" } else { "single-AZ" };
    match rds_hourly(class) {
        Some(h) => {
            let azs = if env.rds.multi_az.value { 2.0 } else { 1.0 };
            add("RDS", format!("{class} PostgreSQL {label}"), h * azs * HOURS);
        }
        None => unpriced.push(Unpriced {
            service: "RDS",
            name: env.rds.instance_class.clone(),
            detail: format!("{class} PostgreSQL {label}"),
            key: "rds.instance_class".into(),
        }),
    }
    let storage_azs = if env.rds.multi_az.value { 2.0 } else { 1.0 };
    add(
        "RDS storage",
        format!("{} GiB gp3", env.rds.allocated_storage_gb.value),
        env.rds.allocated_storage_gb.value as f64 * RDS_GP3_GB_MONTH * storage_azs,
    );
    add(
        "API Gateway",
        format!("HTTP API, {}M requests", a.api_requests_millions),
        a.api_requests_millions * HTTP_API_PER_MILLION,
    );
    add("Load balancer", "internal NLB for the VPC link".into(), NLB_HOUR * HOURS);
    add("ECR", format!("{} GB of images", a.ecr_storage_gb), a.ecr_storage_gb * ECR_GB_MONTH);
    // Five platform secrets plus the RDS-managed master credentials.
    add("Secrets Manager", "6 secrets".into(), 6.0 * SECRET_MONTH);
    add("KMS", "4 customer-managed keys (logs, EKS, RDS, secrets)".into(), 4.0 * KMS_KEY_MONTH);
    add("CloudWatch Logs", format!("{} GB ingested", a.log_ingest_gb), a.log_ingest_gb * LOGS_INGEST_GB);

    let total_usd = round(items.iter().map(|i| i.monthly_usd).sum());
    Estimate {
        environment: env.name.value.clone(),
        region: env.aws.region.value.clone(),
        price_region: PRICE_REGION,
        items,
        total_usd,
        complete: unpriced.is_empty(),
        unpriced,
    }
}

/// `$1,234.56`
pub fn usd(x: f64) -> String {
    let cents = (x * 100.0).round() as i64;
    let (sign, cents) = if cents < 0 { ("-", -cents) } else { ("", cents) };
    let dollars = (cents / 100).to_string();
    let mut grouped = String::new();
    for (i, c) in dollars.chars().enumerate() {
        if i > 0 && (dollars.len() - i) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(c);
    }
    format!("{sign}${grouped}.{:02}", cents % 100)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(extra: &str) -> Environment {
        let text = format!(
            "[project]\nname = \"tiny\"\ndomain = \"example.org\"\ngithub = {{ owner = \"o\", repo = \"r\", owner_id = 1, repo_id = 2 }}\n\n[defaults.aws]\naccount_id = \"111111111111\"\n\n[environments.dev]\n{extra}"
        );
        let cfg = crate::config::load_historic(crate::diagnostics::Source { text, name: "t.toml".into() })
            .unwrap_or_else(|r| panic!("{}", r.render(false)));
        cfg.environments.into_iter().next().unwrap()
    }

    #[test]
    fn an_unpriced_item_is_named_and_the_total_is_a_lower_bound() {
        let a = Assumptions::default();
        let priced = estimate(&env(""), &a);
        assert!(priced.complete && priced.unpriced.is_empty(), "{priced:?}");
        assert!(!priced.total().starts_with("at least"));
        let e = estimate(
            &env(
                "eks = { node_groups = { general = { instance_types = [\"t3.nano\"] } } }\nrds = { instance_class = \"db.m5.large\" }\n",
            ),
            &a,
        );
        assert!(!e.complete);
        let names: Vec<_> = e.unpriced.iter().map(|u| (u.service, u.name.value.as_str())).collect();
        assert_eq!(names, [("EC2", "t3.nano"), ("RDS", "db.m5.large")]);
        // Where it is set, for the warning at the value.
        assert!(e.unpriced.iter().all(|u| u.name.span.is_some()));
        assert_eq!(e.unpriced[0].key, "eks.node_groups.general.instance_types");
        // Left out of the total, never counted as $0 without a word.
        assert!(!e.items.iter().any(|i| i.service == "EC2" || i.service == "RDS"));
        let sum: f64 = e.items.iter().map(|i| i.monthly_usd).sum();
        assert_eq!(e.total_usd, round(sum));
        assert_eq!(e.total(), format!("at least {}", usd(e.total_usd)));
        let caveats = e.caveats();
        assert_eq!(caveats.len(), 2, "{caveats:?}");
        assert!(
            caveats[0].starts_with("unpriced: EC2 node group `general`: 2× t3.nano on-demand — no price for `t3.nano`")
        );
        assert!(caveats[0].contains("us-east-1 list prices as of 2026-11-01"), "{}", caveats[0]);
        let json = serde_json::to_value(&e).unwrap();
        assert_eq!(json["complete"], false);
        assert_eq!(json["unpriced"][0]["name"], "t3.nano");
        assert_eq!(json["unpriced"][1]["detail"], "db.m5.large PostgreSQL single-AZ");
    }

    #[test]
    fn an_estimate_says_whose_prices_it_uses() {
        let a = Assumptions::default();
        let home = estimate(&env(""), &a);
        assert_eq!((home.region.as_str(), home.price_region), ("us-east-1", "us-east-1"));
        assert!(home.caveats().is_empty());
        let away = estimate(&env("aws = { region = \"eu-west-1\" }\n"), &a);
        assert_eq!((away.region.as_str(), away.price_region), ("eu-west-1", "us-east-1"));
        assert_eq!(
            away.caveats(),
            ["priced at us-east-1's list prices: `eu-west-1`'s differ, and the table has none of them"]
        );
    }

    /// Every price is of something AWS lists.
    #[test]
    fn the_table_prices_only_listed_types() {
        let c = crate::config::catalog::catalog();
        for (t, _) in EC2_HOURLY {
            assert!(c.is_ec2_instance_type(t), "{t}");
        }
        for (k, _) in RDS_HOURLY {
            assert!(c.is_rds_postgres_class(k), "{k}");
        }
    }

    #[test]
    fn formats_money() {
        assert_eq!(usd(1234.5), "$1,234.50");
        assert_eq!(usd(-3.0), "-$3.00");
        assert_eq!(usd(0.004), "$0.00");
    }
}
