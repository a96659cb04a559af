//! `[eks]`: cluster name, a Kubernetes version EKS supports, public access
//! CIDRs, control-plane log types, node groups (names, sizes, instance types
//! AWS lists, disk, labels and taints).

use std::sync::OnceLock;

use ipnet::Ipv4Net;
use regex::Regex;

use super::ctx::*;
use super::grammar::*;
use crate::config::catalog::{catalog, nearest_type};
use crate::diagnostics::Diagnostic;
use crate::pattern::re;

/// Kubernetes versions EKS supports (standard and extended support), as of 2026-11.
pub const EKS_VERSIONS: &[&str] = &["1.29", "1.30", "1.31", "1.32", "1.33", "1.34"];

pub(super) const EKS_LOG_TYPES: &[&str] = &["api", "audit", "authenticator", "controllerManager", "scheduler"];

pub(super) fn eks(c: &mut Ctx<'_, '_>) {
    let k = &c.env.eks;
    // The built-in name derives from project and environment names, checked on their own.
    if k.cluster_name.span.is_some() && (!dns_label(&k.cluster_name.value) || k.cluster_name.value.len() > 40) {
        c.err(
            &k.cluster_name,
            "eks.cluster_name",
            format!("cluster name `{}` is not a DNS-safe name of at most 40 characters", k.cluster_name.value),
            "use lowercase letters, digits and `-`",
        );
    }
    if !EKS_VERSIONS.contains(&k.version.value.as_str()) {
        c.err(
            &k.version,
            "eks.version",
            format!("EKS does not support Kubernetes `{}`", k.version.value),
            format!("use one of {}", EKS_VERSIONS.iter().map(|v| format!("`{v}`")).collect::<Vec<_>>().join(", ")),
        );
    }
    if !k.endpoint_public_access.value && !k.endpoint_private_access.value {
        c.err(
            &k.endpoint_public_access,
            "eks.endpoint_public_access",
            "the EKS API endpoint is neither public nor private, so nothing could reach it".into(),
            "set `endpoint_private_access = true`",
        );
    }
    for cidr in &k.public_access_cidrs.value {
        if cidr.value.parse::<Ipv4Net>().is_err() {
            c.err(
                cidr,
                "eks.public_access_cidrs",
                format!("`{}` is not an IPv4 CIDR block", cidr.value),
                "write it as address/prefix, e.g. `203.0.113.0/24`",
            );
        }
    }
    retention(c, &k.log_retention_days, "eks.log_retention_days");
    for t in &k.log_types.value {
        if !EKS_LOG_TYPES.contains(&t.value.as_str()) {
            c.err(
                t,
                "eks.log_types",
                format!("`{}` is not an EKS control-plane log type", t.value),
                format!("use any of {}", EKS_LOG_TYPES.iter().map(|v| format!("`{v}`")).collect::<Vec<_>>().join(", ")),
            );
        }
    }
    static ITYPE: OnceLock<Regex> = OnceLock::new();
    let itype = re(&ITYPE, r"^[a-z][a-z0-9-]*\.[a-z0-9-]+$");
    let cat = catalog();
    for g in &k.node_groups {
        let name = g.name.value.clone();
        if !dns_label(&name) {
            c.err(
                &g.name,
                "eks.node_groups",
                format!("node group name `{name}` is not DNS-safe"),
                "use lowercase letters, digits and `-`",
            );
        }
        if g.min_size.value > g.desired_size.value {
            c.err(
                &g.min_size,
                "eks.node_groups",
                format!(
                    "node group `{name}`: `min_size` ({}) is greater than `desired_size` ({})",
                    g.min_size.value, g.desired_size.value
                ),
                "node group sizes must satisfy min_size <= desired_size <= max_size",
            );
        }
        if g.desired_size.value > g.max_size.value {
            c.err(
                &g.desired_size,
                "eks.node_groups",
                format!(
                    "node group `{name}`: `desired_size` ({}) is greater than `max_size` ({})",
                    g.desired_size.value, g.max_size.value
                ),
                "node group sizes must satisfy min_size <= desired_size <= max_size",
            );
        }
        if g.max_size.value == 0 {
            c.err(
                &g.max_size,
                "eks.node_groups",
                format!("node group `{name}`: `max_size` is 0"),
                "a node group needs at least one node",
            );
        }
        if g.max_unavailable.value == 0 || g.max_unavailable.value > g.max_size.value.max(1) {
            c.err(
                &g.max_unavailable,
                "eks.node_groups",
                format!(
                    "node group `{name}`: `max_unavailable` ({}) must be between 1 and `max_size`",
                    g.max_unavailable.value
                ),
                "usually `1`",
            );
        }
        if g.instance_types.value.is_empty() {
            c.err(
                &g.instance_types,
                "eks.node_groups",
                format!("node group `{name}` has no instance types"),
                "e.g. `instance_types = [\"t3.medium\"]`",
            );
        }
        for t in &g.instance_types.value {
            if !itype.is_match(&t.value) {
                c.err(t, "eks.node_groups", format!("`{}` is not an EC2 instance type", t.value), "e.g. `t3.medium`");
            } else if !cat.is_ec2_instance_type(&t.value) {
                let near = nearest_type(&t.value, &cat.ec2);
                let help = match near {
                    Some(n) => format!("did you mean `{n}`?"),
                    None => format!("e.g. `t3.medium` (AWS's EC2 instance types {})", cat.provenance()),
                };
                let d = Diagnostic::error(format!("`{}` is not an EC2 instance type", t.value));
                c.push(with_fix(d, near), t, "eks.node_groups", help);
            }
        }
        if !(20..=16384).contains(&g.disk_size_gb.value) {
            c.err(
                &g.disk_size_gb,
                "eks.node_groups",
                format!("node group `{name}`: `disk_size_gb` ({}) must be between 20 and 16384", g.disk_size_gb.value),
                "20 GiB is enough for the bundled services",
            );
        }
        for (key, value) in &g.labels {
            if !label_key(&key.value) {
                c.err(
                    key,
                    "eks.node_groups",
                    format!("`{}` is not a valid Kubernetes label key", key.value),
                    "use `[prefix/]name` with letters, digits, `-`, `_` and `.`",
                );
            }
            if !label_value(&value.value) {
                c.err(
                    value,
                    "eks.node_groups",
                    format!("`{}` is not a valid Kubernetes label value", value.value),
                    "at most 63 letters, digits, `-`, `_` and `.`, starting and ending alphanumeric",
                );
            }
        }
        for t in &g.taints {
            if !label_key(&t.key.value) {
                c.err(
                    &t.key,
                    "eks.node_groups",
                    format!("`{}` is not a valid taint key", t.key.value),
                    "use `[prefix/]name` with letters, digits, `-`, `_` and `.`",
                );
            }
        }
    }
}
