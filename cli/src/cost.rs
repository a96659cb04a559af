//! Monthly cost estimate of an environment from the resolved config, with
//! an embedded price table (AWS list prices, us-east-1, on-demand, dated
//! `PRICES_AS_OF`). An estimate for comparing environments and reviewing
//! changes, not a bill: usage-based items use the stated assumptions.

use serde::Serialize;

use crate::config::model::Environment;
use crate::config::model::{CapacityType, NatMode};

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
fn ec2_hourly(t: &str) -> Option<f64> {
    Some(match t {
        "t3.micro" => 0.0104,
        "t3.small" => 0.0208,
        "t3.medium" => 0.0416,
        "t3.large" => 0.0832,
        "t3.xlarge" => 0.1664,
        "t3a.medium" => 0.0376,
        "t3a.large" => 0.0752,
        "t4g.medium" => 0.0336,
        "t4g.large" => 0.0672,
        "m5.large" => 0.096,
        "m5.xlarge" => 0.192,
        "m6i.large" => 0.096,
        "m6i.xlarge" => 0.192,
        "m7i.large" => 0.1008,
        "m6g.large" => 0.077,
        "m7g.large" => 0.0816,
        "c6i.large" => 0.085,
        "r6i.large" => 0.126,
        _ => return None,
    })
}

/// Single-AZ PostgreSQL price per hour of the RDS classes we know.
fn rds_hourly(c: &str) -> Option<f64> {
    Some(match c {
        "db.t3.micro" => 0.018,
        "db.t3.small" => 0.036,
        "db.t3.medium" => 0.072,
        "db.t3.large" => 0.145,
        "db.t4g.micro" => 0.016,
        "db.t4g.small" => 0.032,
        "db.t4g.medium" => 0.065,
        "db.t4g.large" => 0.129,
        "db.m6g.large" => 0.152,
        "db.m7g.large" => 0.168,
        "db.m6i.large" => 0.171,
        "db.r6g.large" => 0.225,
        "db.r6g.xlarge" => 0.45,
        "db.r7g.large" => 0.239,
        "db.r6i.large" => 0.25,
        _ => return None,
    })
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

#[derive(Debug, Clone, Serialize)]
pub struct Estimate {
    pub environment: String,
    pub items: Vec<Item>,
    pub total_usd: f64,
    /// Parts of the config the table has no price for (left out of the total).
    pub unpriced: Vec<String>,
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
        let t = g.instance_types.value.first().map(|t| t.value.as_str()).unwrap_or("?");
        match ec2_hourly(t) {
            Some(h) => {
                let (factor, cap) = match g.capacity_type.value {
                    CapacityType::Spot => (a.spot_factor, "spot"),
                    CapacityType::OnDemand => (1.0, "on-demand"),
                };
                add("EC2", format!("node group `{}`: {n}× {t} {cap}", g.name.value), n * h * factor * HOURS);
            }
            None => unpriced.push(format!("instance type `{t}` of node group `{}`", g.name.value)),
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
    match rds_hourly(class) {
        Some(h) => {
            let azs = if env.rds.multi_az.value { 2.0 } else { 1.0 };
            let label = if env.rds.multi_az.value { "multi-AZ" } else { "single-AZ" };
            add("RDS", format!("{class} PostgreSQL {label}"), h * azs * HOURS);
        }
        None => unpriced.push(format!("RDS class `{class}`")),
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
    Estimate { environment: env.name.value.clone(), items, total_usd, unpriced }
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

    #[test]
    fn formats_money() {
        assert_eq!(usd(1234.5), "$1,234.50");
        assert_eq!(usd(-3.0), "-$3.00");
        assert_eq!(usd(0.004), "$0.00");
    }
}
