//! `[rds]`: an instance class AWS lists for PostgreSQL, an engine version
//! RDS offers (a major version, since RDS upgrades minors itself),
//! Performance Insights where available, storage, backup retention, backup
//! and maintenance windows, database and master user names.

use std::sync::OnceLock;

use regex::Regex;

use super::ctx::*;
use crate::config::catalog::{catalog, nearest_type};
use crate::diagnostics::Diagnostic;
use crate::pattern::re;

/// PostgreSQL major versions RDS supports, as of 2026-11.
pub const POSTGRES_MAJORS: &[u32] = &[13, 14, 15, 16, 17];

pub(super) fn rds(c: &mut Ctx<'_, '_>) {
    let r = &c.env.rds;
    static CLASS: OnceLock<Regex> = OnceLock::new();
    let cat = catalog();
    if !re(&CLASS, r"^db\.[a-z0-9-]+\.[a-z0-9-]+$").is_match(&r.instance_class.value) {
        c.err(
            &r.instance_class,
            "rds.instance_class",
            format!("`{}` is not an RDS instance class", r.instance_class.value),
            "RDS classes start with `db.`, e.g. `db.t3.micro`",
        );
    } else if !cat.is_rds_postgres_class(&r.instance_class.value) {
        let near = nearest_type(&r.instance_class.value, &cat.rds_postgres);
        let help = match near {
            Some(n) => format!("did you mean `{n}`?"),
            None => format!("e.g. `db.t3.micro` (AWS's RDS for PostgreSQL classes {})", cat.provenance()),
        };
        let d = Diagnostic::error(format!("`{}` is not an RDS for PostgreSQL instance class", r.instance_class.value));
        c.push(with_fix(d, near), &r.instance_class, "rds.instance_class", help);
    }
    let parts: Vec<&str> = r.engine_version.value.split('.').collect();
    let major = parts[0].parse::<u32>().ok();
    let numeric = parts.len() <= 2 && parts.iter().all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()));
    if !numeric || !major.is_some_and(|m| POSTGRES_MAJORS.contains(&m)) {
        c.err(
            &r.engine_version,
            "rds.engine_version",
            format!("RDS does not offer PostgreSQL `{}`", r.engine_version.value),
            format!(
                "use a supported major ({}), e.g. `16`",
                POSTGRES_MAJORS.iter().map(u32::to_string).collect::<Vec<_>>().join(", ")
            ),
        );
    } else if parts.len() == 2 && r.auto_minor_version_upgrade.value {
        // RDS upgrades the minor in the maintenance window; a pinned minor
        // would then make every plan try to downgrade the database.
        c.err(
            &r.engine_version,
            "rds.engine_version",
            format!("`{}` pins a minor version that RDS upgrades on its own", r.engine_version.value),
            format!(
                "name only the major (`engine_version = \"{}\"`), or set `auto_minor_version_upgrade = false` to own minor upgrades",
                parts[0]
            ),
        );
    }
    // RDS offers Performance Insights for PostgreSQL only from the medium sizes up.
    let small = [".micro", ".small"].iter().any(|s| r.instance_class.value.ends_with(s));
    if r.performance_insights.value && small {
        c.err(
            &r.performance_insights,
            "rds.performance_insights",
            format!("Performance Insights is not available on `{}`", r.instance_class.value),
            "set `performance_insights = false` for micro and small classes, or use `db.t3.medium` or larger",
        );
    }
    if !(20..=65536).contains(&r.allocated_storage_gb.value) {
        c.err(
            &r.allocated_storage_gb,
            "rds.allocated_storage_gb",
            format!("`allocated_storage_gb` ({}) must be between 20 and 65536", r.allocated_storage_gb.value),
            "gp3 storage starts at 20 GiB",
        );
    }
    if r.max_allocated_storage_gb.value < r.allocated_storage_gb.value {
        c.err(
            &r.max_allocated_storage_gb,
            "rds.max_allocated_storage_gb",
            format!(
                "`max_allocated_storage_gb` ({}) is less than `allocated_storage_gb` ({})",
                r.max_allocated_storage_gb.value, r.allocated_storage_gb.value
            ),
            "the autoscaling ceiling must be at least the initial storage",
        );
    }
    if r.backup_retention_days.value > 35 {
        c.err(
            &r.backup_retention_days,
            "rds.backup_retention_days",
            format!("`backup_retention_days` ({}) is more than RDS's maximum of 35", r.backup_retention_days.value),
            "use 1-35 (7 is typical)",
        );
    }
    static BW: OnceLock<Regex> = OnceLock::new();
    if !re(&BW, r"^([01]\d|2[0-3]):[0-5]\d-([01]\d|2[0-3]):[0-5]\d$").is_match(&r.backup_window.value) {
        c.err(
            &r.backup_window,
            "rds.backup_window",
            format!("`{}` is not a backup window", r.backup_window.value),
            "write it as `hh:mm-hh:mm` in UTC, e.g. `03:00-04:00`",
        );
    }
    static MW: OnceLock<Regex> = OnceLock::new();
    if !re(&MW, r"^(mon|tue|wed|thu|fri|sat|sun):([01]\d|2[0-3]):[0-5]\d-(mon|tue|wed|thu|fri|sat|sun):([01]\d|2[0-3]):[0-5]\d$").is_match(&r.maintenance_window.value) {
        c.err(&r.maintenance_window, "rds.maintenance_window", format!("`{}` is not a maintenance window", r.maintenance_window.value), "write it as `ddd:hh:mm-ddd:hh:mm` in UTC, e.g. `sun:04:30-sun:05:30`");
    }
    static ID: OnceLock<Regex> = OnceLock::new();
    let ident = re(&ID, r"^[A-Za-z][A-Za-z0-9_]{0,62}$");
    if !ident.is_match(&r.database_name.value) {
        c.err(
            &r.database_name,
            "rds.database_name",
            format!("`{}` is not a PostgreSQL database name RDS accepts", r.database_name.value),
            "start with a letter; use letters, digits and `_`",
        );
    }
    if !ident.is_match(&r.master_username.value)
        || ["admin", "postgres", "rdsadmin", "root"].contains(&r.master_username.value.as_str())
    {
        c.err(
            &r.master_username,
            "rds.master_username",
            format!("`{}` cannot be the RDS master user name", r.master_username.value),
            "pick a name such as `myhealth_admin` (not a reserved word like `postgres`)",
        );
    }
}
