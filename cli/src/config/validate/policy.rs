//! The production policy (what a production environment, or one that says it
//! holds health data, may not turn off): a multi-AZ database with deletion
//! protection and a week of backups, a Kubernetes API not open to the whole
//! internet, every control-plane log type, one NAT gateway per zone, immutable
//! image tags.

use ipnet::Ipv4Net;

use super::ctx::*;
use super::eks::EKS_LOG_TYPES;
use crate::config::model::NatMode;

/// Rules a reviewer would otherwise enforce by hand on a production environment.
pub(super) fn policy(c: &mut Ctx<'_, '_>) {
    let e = c.env;
    if !e.production.value {
        return;
    }
    let env = e.name.value.clone();
    let why = format!("`{env}` is a production environment");
    if !e.rds.multi_az.value {
        c.err(
            &e.rds.multi_az,
            "rds.multi_az",
            format!("policy: {why} but its database is single-AZ"),
            format!(
                "set `multi_az = true` in `[environments.{env}.rds]` (or `production = false` if it is not production)"
            ),
        );
    }
    if !e.rds.deletion_protection.value {
        c.err(
            &e.rds.deletion_protection,
            "rds.deletion_protection",
            format!("policy: {why} but its database has no deletion protection"),
            format!("set `deletion_protection = true` in `[environments.{env}.rds]`"),
        );
    }
    if e.rds.backup_retention_days.value < 7 {
        c.err(
            &e.rds.backup_retention_days,
            "rds.backup_retention_days",
            format!("policy: {why} but keeps database backups only {} days", e.rds.backup_retention_days.value),
            "keep at least 7 days of backups",
        );
    }
    if e.eks.endpoint_public_access.value {
        for cidr in &e.eks.public_access_cidrs.value {
            if cidr.value.parse::<Ipv4Net>().is_ok_and(|n| n.prefix_len() == 0) {
                c.err(cidr, "eks.public_access_cidrs", format!("policy: {why} but its Kubernetes API endpoint is open to the whole internet (`{}`)", cidr.value),
                      format!("list your office/VPN CIDRs in `[environments.{env}.eks] public_access_cidrs`, or set `endpoint_public_access = false`"));
            }
        }
    }
    let missing: Vec<&str> =
        EKS_LOG_TYPES.iter().copied().filter(|t| !e.eks.log_types.value.iter().any(|l| l.value == *t)).collect();
    if !missing.is_empty() {
        c.err(&e.eks.log_types, "eks.log_types", format!("policy: {why} but its control plane does not log {}", missing.iter().map(|t| format!("`{t}`")).collect::<Vec<_>>().join(", ")),
              format!("enable every log type in `[environments.{env}.eks] log_types` (the audit trail of who changed the cluster)"));
    }
    if e.network.nat.value == NatMode::Single {
        c.err(
            &e.network.nat,
            "network.nat",
            format!("policy: {why} but all private subnets share one NAT gateway (one AZ outage cuts every node off)"),
            format!("set `nat = \"per_az\"` in `[environments.{env}.network]`"),
        );
    }
    if e.ecr.image_tag_mutability.value != crate::config::model::TagMutability::Immutable {
        c.err(
            &e.ecr.image_tag_mutability,
            "ecr.image_tag_mutability",
            format!("policy: {why} but its image tags can be overwritten"),
            "set `image_tag_mutability = \"IMMUTABLE\"` so a deployed tag always means the same image",
        );
    }
}
