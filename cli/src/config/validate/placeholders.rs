//! Production must not point at documentation values: the example account id,
//! RFC 5737 address ranges, example domains (warnings).

use ipnet::Ipv4Net;

use super::ctx::*;
use super::grammar::*;
use crate::config::span::Sp;

/// The documentation values the example config ships with (RFC 5737 address
/// ranges, the AWS docs' account id, RFC 2606 domains): fine to try things
/// with, never what production should point at.
pub(super) const DOC_ACCOUNT: &str = "123456789012";

pub(super) const DOC_NETS: [&str; 3] = ["192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24"];

pub(super) fn placeholders(c: &mut Ctx<'_, '_>) {
    let e = c.env;
    let env = e.name.value.clone();
    if e.aws.account_id.value == DOC_ACCOUNT {
        c.warn(
            &e.aws.account_id,
            "aws.account_id",
            format!("production environment `{env}` uses the documentation account id `{DOC_ACCOUNT}`"),
            format!("set `aws.account_id` under `[environments.{env}]` to the real account"),
        );
    }
    let docs: Vec<Ipv4Net> = DOC_NETS.iter().map(|n| n.parse().expect("documentation range")).collect();
    let lists = [
        ("eks.public_access_cidrs", &e.eks.public_access_cidrs),
        ("network.public_subnets", &e.network.public_subnets),
        ("network.private_subnets", &e.network.private_subnets),
    ];
    let single = [("network.vpc_cidr", &e.network.vpc_cidr)];
    let mut found: Vec<(&str, Sp<String>)> = Vec::new();
    for (key, list) in lists {
        found.extend(list.value.iter().map(|c| (key, c.clone())));
    }
    found.extend(single.iter().map(|(k, v)| (*k, (*v).clone())));
    for (key, cidr) in found {
        let Ok(net) = cidr.value.parse::<Ipv4Net>() else { continue };
        // Inside a documentation range (not merely containing one: `0.0.0.0/0` is real).
        if let Some(doc) = docs.iter().find(|d| d.contains(&net)) {
            c.warn(
                &cidr,
                key,
                format!("production environment `{env}` uses `{}`, inside the documentation range `{doc}`", cidr.value),
                "use the real addresses (RFC 5737 ranges are reserved for examples and never routed)",
            );
        }
    }
    for origin in &e.api_gateway.cors_allow_origins.value {
        let host = origin.value.split("://").nth(1).unwrap_or(&origin.value).split([':', '/']).next().unwrap_or("");
        if example_domain(host) {
            c.warn(
                origin,
                "api_gateway.cors_allow_origins",
                format!("production environment `{env}` allows the example origin `{}`", origin.value),
                "allow the real browser origin (example domains are reserved for documentation)",
            );
        }
    }
}
