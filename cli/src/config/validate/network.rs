//! `[network]`: the VPC CIDR and its subnets (no host bits, inside the VPC, no
//! overlap), the zone count, and availability zones the region really has (a
//! dated per-region table).

use std::collections::BTreeMap;
use std::sync::OnceLock;

use ipnet::Ipv4Net;

use super::ctx::*;
use crate::config::model::NatMode;
use crate::config::span::Sp;
use crate::diagnostics::Diagnostic;

/// The table of each region's zones (`cli/assets/availability-zones.toml`): its date, region → letters.
pub(super) fn zone_table() -> &'static (String, BTreeMap<String, String>) {
    static T: OnceLock<(String, BTreeMap<String, String>)> = OnceLock::new();
    T.get_or_init(|| {
        #[derive(serde::Deserialize)]
        struct Table {
            as_of: String,
            regions: BTreeMap<String, String>,
        }
        let t: Table =
            toml::from_str(include_str!("../../../assets/availability-zones.toml")).expect("zone table parses");
        (t.as_of, t.regions)
    })
}

/// The zone letters of `region`, if the table knows it.
pub fn zone_letters(region: &str) -> Option<&'static str> {
    zone_table().1.get(region).map(String::as_str)
}

pub(super) fn network(c: &mut Ctx<'_, '_>) {
    let n = &c.env.network;
    let vpc = match n.vpc_cidr.value.parse::<Ipv4Net>() {
        Ok(v) if v.trunc() != v => {
            let d = Diagnostic::error(format!("`{}` has host bits set", n.vpc_cidr.value));
            let fixed = v.trunc().to_string();
            c.push(with_fix(d, Some(&fixed)), &n.vpc_cidr, "network.vpc_cidr", format!("did you mean `{fixed}`?"));
            None
        }
        Ok(v) if !(16..=28).contains(&v.prefix_len()) => {
            c.err(
                &n.vpc_cidr,
                "network.vpc_cidr",
                format!("VPC CIDR `{}` must have a prefix between /16 and /28", n.vpc_cidr.value),
                "AWS VPCs are /16 to /28, e.g. `10.0.0.0/16`",
            );
            None
        }
        Ok(v) => Some(v),
        Err(_) => {
            c.err(
                &n.vpc_cidr,
                "network.vpc_cidr",
                format!("`{}` is not an IPv4 CIDR block", n.vpc_cidr.value),
                "write it as address/prefix, e.g. `10.0.0.0/16`",
            );
            None
        }
    };
    if !(2..=6).contains(&n.az_count.value) {
        c.err(
            &n.az_count,
            "network.az_count",
            format!("`az_count` is {}, but must be between 2 and 6", n.az_count.value),
            "EKS needs subnets in at least two availability zones",
        );
    }
    if n.azs.value.len() != n.az_count.value as usize {
        c.err(
            &n.azs,
            "network.azs",
            format!("`network.azs` lists {} zones but `az_count` is {}", n.azs.value.len(), n.az_count.value),
            "list one availability zone per subnet pair",
        );
    }
    let region = c.env.aws.region.value.clone();
    let letters = zone_letters(&region);
    for (i, z) in n.azs.value.iter().enumerate() {
        let suffix = z.value.strip_prefix(&region).filter(|s| s.len() == 1);
        let ok = match (suffix, letters) {
            (Some(s), Some(known)) => known.contains(s),
            (Some(s), None) => s.bytes().all(|b| b.is_ascii_lowercase()),
            (None, _) => false,
        };
        if !ok {
            let help = match letters {
                Some(known) => format!(
                    "zones of `{region}`: {} (as of {})",
                    known.chars().map(|l| format!("`{region}{l}`")).collect::<Vec<_>>().join(", "),
                    zone_table().0
                ),
                None => format!("zones of `{region}` are named like `{region}a`"),
            };
            c.err(z, "network.azs", format!("`{}` is not an availability zone of `{region}`", z.value), help);
        } else if n.azs.value[..i].iter().any(|o| o.value == z.value) {
            c.err(
                z,
                "network.azs",
                format!("availability zone `{}` is listed twice", z.value),
                "each subnet pair needs its own zone",
            );
        }
    }
    let mut seen: Vec<(Ipv4Net, Sp<String>)> = Vec::new();
    for (list, key) in [(&n.public_subnets, "network.public_subnets"), (&n.private_subnets, "network.private_subnets")]
    {
        // Subnets derived from an invalid VPC would only repeat its error.
        if vpc.is_none() && list.span.is_none() {
            continue;
        }
        if list.value.len() != n.az_count.value as usize {
            c.err(
                list,
                key,
                format!("`{key}` has {} subnets but `az_count` is {}", list.value.len(), n.az_count.value),
                "give one subnet per availability zone",
            );
        }
        for s in &list.value {
            let net = match s.value.parse::<Ipv4Net>() {
                Ok(net) if net.trunc() == net => net,
                Ok(net) => {
                    let d = Diagnostic::error(format!("subnet `{}` has host bits set", s.value));
                    let fixed = net.trunc().to_string();
                    c.push(with_fix(d, Some(&fixed)), s, key, format!("did you mean `{fixed}`?"));
                    continue;
                }
                Err(_) => {
                    c.err(
                        s,
                        key,
                        format!("`{}` is not an IPv4 CIDR block", s.value),
                        "write it as address/prefix, e.g. `10.0.1.0/24`",
                    );
                    continue;
                }
            };
            if let Some(vpc) = vpc {
                if !vpc.contains(&net) {
                    c.err(
                        s,
                        key,
                        format!("subnet `{}` is outside the VPC `{vpc}`", s.value),
                        format!("pick a block inside `{vpc}`"),
                    );
                    continue;
                }
            }
            if let Some((other, o)) =
                seen.iter().find(|(o, _)| o.contains(&net.network()) || net.contains(&o.network()))
            {
                let other = *other;
                let where_ = o.span.as_ref().map(|sp| c.doc.path_at(sp.start)).unwrap_or_default();
                c.err(
                    s,
                    key,
                    format!("subnet `{}` overlaps `{other}`", s.value),
                    format!("`{other}` is already used (at `{where_}`): pick a block that does not overlap it"),
                );
                continue;
            }
            seen.push((net, s.clone()));
        }
    }
    retention(c, &n.flow_logs_retention_days, "network.flow_logs_retention_days");
    if n.nat.value == NatMode::None && !n.vpc_endpoints.value {
        c.err(
            &n.nat,
            "network.nat",
            "with `nat = \"none\"` and no VPC endpoints, nodes in private subnets cannot pull images or reach AWS APIs"
                .into(),
            "set `vpc_endpoints = true` or use `nat = \"single\"`",
        );
    }
}
