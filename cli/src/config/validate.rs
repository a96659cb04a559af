//! Validation beyond types, on the resolved model: CIDR layout, names,
//! schedules, sizes, versions, secret references, and cross-environment
//! rules. Each finding points at the span that set the value and says
//! whether `[defaults]` or the environment's own override set it.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use ipnet::Ipv4Net;
use regex::Regex;

use super::doc::Doc;
use super::model::*;
use super::raw::{NatMode, SECRET_REF_PATTERN, ServiceKind};
use super::span::Sp;
use crate::diagnostics::Diagnostic;

/// Kubernetes versions EKS supports (standard and extended support), as of 2026-11.
pub const EKS_VERSIONS: &[&str] = &["1.29", "1.30", "1.31", "1.32", "1.33", "1.34"];
/// PostgreSQL major versions RDS supports, as of 2026-11.
pub const POSTGRES_MAJORS: &[u32] = &[13, 14, 15, 16, 17];
/// Retention values CloudWatch Logs accepts, in days.
pub const LOG_RETENTION_DAYS: &[u32] =
    &[1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653];
const EKS_LOG_TYPES: &[&str] = &["api", "audit", "authenticator", "controllerManager", "scheduler"];

/// Compile once. Every pattern here is ASCII by nature; without Unicode
/// tables (`\\d`, `\\b`, case folding) compilation is several times cheaper,
/// which is most of a cold `validate`.
pub(crate) fn re(cell: &'static OnceLock<Regex>, pattern: &str) -> &'static Regex {
    cell.get_or_init(|| regex::RegexBuilder::new(pattern).unicode(false).build().expect("valid regex"))
}

fn dns_label(s: &str) -> bool {
    static R: OnceLock<Regex> = OnceLock::new();
    s.len() <= 63 && re(&R, r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?$").is_match(s)
}

fn hostname(s: &str) -> bool {
    s.len() <= 253 && s.contains('.') && s.split('.').all(dns_label)
}

/// Collects findings for one environment.
struct Ctx<'a, 'd> {
    doc: &'a Doc<'d>,
    env: &'a Environment,
    out: &'a mut Vec<Diagnostic>,
}

impl Ctx<'_, '_> {
    /// Report a problem with `sp`; `key` names it (relative to the
    /// environment) in case it is a built-in default with no position.
    fn err<T>(&mut self, sp: &Sp<T>, key: &str, message: String, help: impl Into<String>) {
        self.push(Diagnostic::error(message), sp, key, help);
    }

    /// A finding that does not stop the command.
    fn warn<T>(&mut self, sp: &Sp<T>, key: &str, message: String, help: impl Into<String>) {
        self.push(Diagnostic::warning(message), sp, key, help);
    }

    fn push<T>(&mut self, d: Diagnostic, sp: &Sp<T>, key: &str, help: impl Into<String>) {
        let env = &self.env.name.value;
        let (span, path, label) = match &sp.span {
            Some(span) => {
                let path = self.doc.path_at(span.start);
                let label = if path.starts_with("defaults.") {
                    format!("set in `[defaults]`, inherited by `{env}`")
                } else if path.starts_with("project.") {
                    "set in `[project]`".to_string()
                } else {
                    format!("set in `[environments.{env}]`")
                };
                (Some(span.clone()), path, label)
            }
            None => (
                self.env.name.span.clone(),
                format!("environments.{env}.{key}"),
                format!("`{key}` is a built-in default here"),
            ),
        };
        self.out.push(d.at(span).key(path).label(label).help(help));
    }
}

/// Validate the resolved config. `doc` locates spans.
pub fn validate(doc: &Doc<'_>, cfg: &Config, out: &mut Vec<Diagnostic>) {
    project(cfg, doc, out);
    for env in &cfg.environments {
        let mut c = Ctx { doc, env, out };
        environment(&mut c);
    }
    cross_environment(doc, cfg, out);
}

fn project(cfg: &Config, doc: &Doc<'_>, out: &mut Vec<Diagnostic>) {
    let p = &cfg.project;
    if let Some(prod) = cfg.environments.iter().find(|e| e.production.value) {
        for (sp, key) in [(&p.domain, "project.domain"), (&p.api_host, "project.api_host")] {
            if example_domain(&sp.value) {
                out.push(
                    Diagnostic::warning(format!(
                        "production environment `{}` is served under the example domain `{}`",
                        prod.name.value, sp.value
                    ))
                    .at(sp.span.clone())
                    .key(key)
                    .label("set in `[project]`")
                    .help("use the real domain (example domains are reserved for documentation)"),
                );
            }
        }
    }
    let mut at = |sp: &Option<std::ops::Range<usize>>, msg: String, help: &str| {
        let key = sp.as_ref().map(|s| doc.path_at(s.start)).unwrap_or_default();
        out.push(Diagnostic::error(msg).at(sp.clone()).key(key).label("set in `[project]`").help(help));
    };
    if !dns_label(&p.name.value) || p.name.value.len() > 20 {
        at(
            &p.name.span,
            format!("`project.name` `{}` is not a DNS-safe name of at most 20 characters", p.name.value),
            "use lowercase letters, digits and `-`, starting and ending with a letter or digit, e.g. `myhealth`",
        );
    }
    if !hostname(&p.domain.value) {
        at(
            &p.domain.span,
            format!("`project.domain` `{}` is not a valid domain name", p.domain.value),
            "use a lowercase domain such as `example.com`",
        );
    }
    if !hostname(&p.api_host.value) {
        at(
            &p.api_host.span,
            format!("`project.api_host` `{}` is not a valid host name", p.api_host.value),
            "use a lowercase host name such as `api.myhealth.example.com`",
        );
    } else if hostname(&p.domain.value) && !p.api_host.value.ends_with(&format!(".{}", p.domain.value)) {
        at(
            &p.api_host.span,
            format!("`project.api_host` `{}` is not under `project.domain` `{}`", p.api_host.value, p.domain.value),
            "the API host must be a subdomain of the project domain, so one hosted zone serves both",
        );
    }
    static GH: OnceLock<Regex> = OnceLock::new();
    let gh = re(&GH, r"^[A-Za-z0-9]([A-Za-z0-9-]{0,38})$");
    if !gh.is_match(&p.github_owner.value) {
        at(
            &p.github_owner.span,
            format!("`project.github.owner` `{}` is not a GitHub user or organisation name", p.github_owner.value),
            "use letters, digits and `-` (at most 39 characters)",
        );
    }
    static REPO: OnceLock<Regex> = OnceLock::new();
    if !re(&REPO, r"^[A-Za-z0-9._-]{1,100}$").is_match(&p.github_repo.value) {
        at(
            &p.github_repo.span,
            format!("`project.github.repo` `{}` is not a GitHub repository name", p.github_repo.value),
            "use letters, digits, `.`, `_` and `-`",
        );
    }
}

fn environment(c: &mut Ctx<'_, '_>) {
    let e = c.env;
    if !dns_label(&e.name.value) || e.name.value.len() > 16 {
        let name = e.name.clone();
        c.err(
            &name,
            "",
            format!("environment name `{}` is not a DNS-safe name of at most 16 characters", name.value),
            "environment names go into resource names: use lowercase letters, digits and `-`, e.g. `dev`",
        );
    }
    aws(c);
    network(c);
    eks(c);
    rds(c);
    other(c);
    services(c);
    policy(c);
    if c.env.production.value {
        placeholders(c);
    }
}

/// The documentation values the example config ships with (RFC 5737 address
/// ranges, the AWS docs' account id, RFC 2606 domains): fine to try things
/// with, never what production should point at.
const DOC_ACCOUNT: &str = "123456789012";
const DOC_NETS: [&str; 3] = ["192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24"];

fn example_domain(host: &str) -> bool {
    let h = host.trim_end_matches('.');
    ["example.com", "example.net", "example.org"].iter().any(|d| h == *d || h.ends_with(&format!(".{d}")))
        || h == "example"
        || h.ends_with(".example")
}

fn placeholders(c: &mut Ctx<'_, '_>) {
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
        if let Some(doc) = docs.iter().find(|d| d.contains(&net.network()) || net.contains(&d.network())) {
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

/// Rules a reviewer would otherwise enforce by hand on a production environment.
fn policy(c: &mut Ctx<'_, '_>) {
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
    if e.ecr.image_tag_mutability.value != super::raw::TagMutability::Immutable {
        c.err(
            &e.ecr.image_tag_mutability,
            "ecr.image_tag_mutability",
            format!("policy: {why} but its image tags can be overwritten"),
            "set `image_tag_mutability = \"IMMUTABLE\"` so a deployed tag always means the same image",
        );
    }
}

fn aws(c: &mut Ctx<'_, '_>) {
    let e = c.env;
    static REGION: OnceLock<Regex> = OnceLock::new();
    let region = re(&REGION, r"^(us|eu|ap|sa|ca|me|af|il|mx)-(gov-)?[a-z]+-\d$");
    if !region.is_match(&e.aws.region.value) {
        c.err(
            &e.aws.region,
            "aws.region",
            format!("`{}` is not an AWS region", e.aws.region.value),
            "use a region code such as `us-east-1`",
        );
    }
    if e.aws.account_id.value.len() != 12 || !e.aws.account_id.value.bytes().all(|b| b.is_ascii_digit()) {
        c.err(
            &e.aws.account_id,
            "aws.account_id",
            format!("`{}` is not a 12-digit AWS account id", e.aws.account_id.value),
            "write the account id as a quoted string of exactly 12 digits, e.g. `\"123456789012\"`",
        );
    }
    // A derived default repeats `aws.region`, which is checked above.
    if e.terraform.state_region.span.is_some() && !region.is_match(&e.terraform.state_region.value) {
        c.err(
            &e.terraform.state_region,
            "terraform.state_region",
            format!("`{}` is not an AWS region", e.terraform.state_region.value),
            "use a region code such as `us-east-1`",
        );
    }
    static BUCKET: OnceLock<Regex> = OnceLock::new();
    let b = &e.terraform.state_bucket.value;
    if !re(&BUCKET, r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$").is_match(b) || b.contains("..") {
        c.err(
            &e.terraform.state_bucket,
            "terraform.state_bucket",
            format!("`{b}` is not a valid S3 bucket name"),
            "use 3-63 lowercase letters, digits, `-` and `.`, starting and ending with a letter or digit",
        );
    }
}

/// The table of each region's zones (`cli/assets/availability-zones.toml`): its date, region → letters.
fn zone_table() -> &'static (String, BTreeMap<String, String>) {
    static T: OnceLock<(String, BTreeMap<String, String>)> = OnceLock::new();
    T.get_or_init(|| {
        #[derive(serde::Deserialize)]
        struct Table {
            as_of: String,
            regions: BTreeMap<String, String>,
        }
        let t: Table = toml::from_str(include_str!("../../assets/availability-zones.toml")).expect("zone table parses");
        (t.as_of, t.regions)
    })
}

/// The zone letters of `region`, if the table knows it.
pub fn zone_letters(region: &str) -> Option<&'static str> {
    zone_table().1.get(region).map(String::as_str)
}

fn retention(c: &mut Ctx<'_, '_>, sp: &Sp<u32>, key: &str) {
    if !LOG_RETENTION_DAYS.contains(&sp.value) {
        let near = LOG_RETENTION_DAYS.iter().min_by_key(|d| d.abs_diff(sp.value)).copied().unwrap_or(30);
        c.err(
            sp,
            key,
            format!("`{key}` is {} days, which CloudWatch Logs does not accept", sp.value),
            format!("use one of CloudWatch's retention periods, e.g. `{near}`"),
        );
    }
}

fn network(c: &mut Ctx<'_, '_>) {
    let n = &c.env.network;
    let vpc = match n.vpc_cidr.value.parse::<Ipv4Net>() {
        Ok(v) if v.trunc() != v => {
            c.err(
                &n.vpc_cidr,
                "network.vpc_cidr",
                format!("`{}` has host bits set", n.vpc_cidr.value),
                format!("did you mean `{}`?", v.trunc()),
            );
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
                    c.err(
                        s,
                        key,
                        format!("subnet `{}` has host bits set", s.value),
                        format!("did you mean `{}`?", net.trunc()),
                    );
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

fn eks(c: &mut Ctx<'_, '_>) {
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
    let itype = re(&ITYPE, r"^[a-z][a-z0-9-]*\.[a-z0-9]+$");
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

fn label_key(s: &str) -> bool {
    let (prefix, name) = s.rsplit_once('/').map_or((None, s), |(p, n)| (Some(p), n));
    prefix.is_none_or(hostname_or_label) && label_value(name) && !name.is_empty()
}

fn hostname_or_label(s: &str) -> bool {
    dns_label(s) || hostname(s)
}

fn label_value(s: &str) -> bool {
    static R: OnceLock<Regex> = OnceLock::new();
    s.len() <= 63 && re(&R, r"^([A-Za-z0-9]([A-Za-z0-9_.-]*[A-Za-z0-9])?)?$").is_match(s)
}

fn rds(c: &mut Ctx<'_, '_>) {
    let r = &c.env.rds;
    static CLASS: OnceLock<Regex> = OnceLock::new();
    if !re(&CLASS, r"^db\.[a-z0-9]+\.[a-z0-9]+$").is_match(&r.instance_class.value) {
        c.err(
            &r.instance_class,
            "rds.instance_class",
            format!("`{}` is not an RDS instance class", r.instance_class.value),
            "RDS classes start with `db.`, e.g. `db.t3.micro`",
        );
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

fn other(c: &mut Ctx<'_, '_>) {
    let e = c.env;
    if e.ecr.keep_last.value == 0 || e.ecr.keep_last.value > 1000 {
        c.err(
            &e.ecr.keep_last,
            "ecr.keep_last",
            format!("`keep_last` ({}) must be between 1 and 1000", e.ecr.keep_last.value),
            "keep enough images to roll back, e.g. `30`",
        );
    }
    static ORIGIN: OnceLock<Regex> = OnceLock::new();
    let origin = re(&ORIGIN, r"^https?://[a-z0-9.-]+(:\d{1,5})?$");
    for o in &e.api_gateway.cors_allow_origins.value {
        if o.value == "*" {
            c.err(
                o,
                "api_gateway.cors_allow_origins",
                "CORS origin `*` allows every website to call the API".into(),
                "list the origins that may call it, e.g. `https://eric-n.com`",
            );
        } else if !origin.is_match(&o.value) {
            c.err(
                o,
                "api_gateway.cors_allow_origins",
                format!("`{}` is not a CORS origin", o.value),
                "write scheme and host without a path or trailing slash, e.g. `https://eric-n.com`",
            );
        }
    }
    if e.api_gateway.throttling_rate_limit.value == 0 {
        c.err(
            &e.api_gateway.throttling_rate_limit,
            "api_gateway.throttling_rate_limit",
            "`throttling_rate_limit` is 0, which blocks every request".into(),
            "use a positive rate, e.g. `50`",
        );
    }
    if e.api_gateway.throttling_burst_limit.value < e.api_gateway.throttling_rate_limit.value {
        c.err(
            &e.api_gateway.throttling_burst_limit,
            "api_gateway.throttling_burst_limit",
            format!(
                "`throttling_burst_limit` ({}) is below `throttling_rate_limit` ({})",
                e.api_gateway.throttling_burst_limit.value, e.api_gateway.throttling_rate_limit.value
            ),
            "the burst must be at least the steady rate",
        );
    }
    retention(c, &e.api_gateway.access_log_retention_days, "api_gateway.access_log_retention_days");
    for (key, r) in e.secrets.all() {
        secret_ref(c, r, &format!("secrets.{key}"));
    }
    static DUR: OnceLock<Regex> = OnceLock::new();
    let dur = re(&DUR, r"^\d+(ms|s|m|h|d|w|y)$");
    for (sp, key) in [
        (&e.monitoring.prometheus_retention, "monitoring.prometheus_retention"),
        (&e.monitoring.scrape_interval, "monitoring.scrape_interval"),
    ] {
        if !dur.is_match(&sp.value) {
            c.err(
                sp,
                key,
                format!("`{}` is not a Prometheus duration", sp.value),
                "write a number and a unit, e.g. `15d` or `30s`",
            );
        }
    }
    if !["PriceClass_100", "PriceClass_200", "PriceClass_All"].contains(&e.frontend.price_class.value.as_str()) {
        c.err(
            &e.frontend.price_class,
            "frontend.price_class",
            format!("`{}` is not a CloudFront price class", e.frontend.price_class.value),
            "use `PriceClass_100`, `PriceClass_200` or `PriceClass_All`",
        );
    }
    let charts = &e.argocd.charts;
    for (key, v) in [
        ("argocd.charts.istio", &charts.istio),
        ("argocd.charts.external_secrets", &charts.external_secrets),
        ("argocd.charts.kube_prometheus_stack", &charts.kube_prometheus_stack),
        ("argocd.charts.metrics_server", &charts.metrics_server),
        ("argocd.charts.cluster_autoscaler", &charts.cluster_autoscaler),
        ("argocd.charts.aws_load_balancer_controller", &charts.aws_load_balancer_controller),
        ("argocd.version", &e.argocd.version),
    ] {
        let parts: Vec<&str> = v.value.split('.').collect();
        if parts.len() != 3 || parts.iter().any(|p| p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit())) {
            c.err(
                v,
                key,
                format!("`{}` is not a pinned chart version", v.value),
                "pin an exact version, e.g. `1.27.3` (ranges and `latest` would make renders drift)",
            );
        }
    }
    if e.production.value && e.argocd.auto_sync.value {
        c.err(
            &e.argocd.auto_sync,
            "argocd.auto_sync",
            "production syncs manually".to_string(),
            format!("set `auto_sync = false` under `[environments.{}.argocd]`: a production change is synced by a person after review", e.name.value),
        );
    }
    let wd = &e.ci.workflows_dir;
    let parts: Vec<&str> = wd.value.split('/').filter(|p| !p.is_empty() && *p != ".").collect();
    static PATH: OnceLock<Regex> = OnceLock::new();
    let plain = re(&PATH, r"^[A-Za-z0-9._/-]+$").is_match(&wd.value);
    if !plain || wd.value.starts_with('/') || parts.contains(&"..") || parts.is_empty() {
        c.err(
            wd,
            "ci.workflows_dir",
            format!("`{}` must be a relative path inside the project", wd.value),
            "e.g. `.github/workflows`",
        );
    } else if parts.contains(&".git") {
        c.err(
            wd,
            "ci.workflows_dir",
            format!("`{}` is inside `.git`", wd.value),
            "git's own directory is no place for workflows (a hook written there would run on every commit); use `.github/workflows`",
        );
    } else if parts[0] == "generated" {
        c.err(
            wd,
            "ci.workflows_dir",
            format!("`{}` is inside `generated/`", wd.value),
            "`generated/` is replaced as a whole on every render; use `.github/workflows`",
        );
    }
    static LABEL: OnceLock<Regex> = OnceLock::new();
    if !re(&LABEL, r"^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$").is_match(&e.ci.runs_on.value) {
        c.err(
            &e.ci.runs_on,
            "ci.runs_on",
            format!("`{}` is not a runner label", e.ci.runs_on.value.escape_debug()),
            "name one runner label: letters, digits, `.`, `_` and `-`, e.g. `ubuntu-24.04`",
        );
    }
    if !git_ref(&e.argocd.target_revision.value) {
        c.err(
            &e.argocd.target_revision,
            "argocd.target_revision",
            format!("`{}` is not a git branch, tag or commit", e.argocd.target_revision.value.escape_debug()),
            "name a branch or tag (letters, digits, `.`, `_`, `-`, `/`), e.g. `main`, or a commit's full SHA",
        );
    }
    ci_jobs(c);
}

/// A ref name git accepts (`git check-ref-format`, the parts that matter here), or a full commit SHA.
fn git_ref(s: &str) -> bool {
    static R: OnceLock<Regex> = OnceLock::new();
    re(&R, r"^[A-Za-z0-9_][A-Za-z0-9._/-]{0,199}$").is_match(s)
        && !s.contains("..")
        && !s.contains("//")
        && !s.ends_with('/')
        && !s.ends_with(".lock")
        && !s.ends_with('.')
}

/// Jobs of `ci.yml` the generator writes itself; extra jobs may need them.
pub const CI_JOBS: [&str; 4] = ["fmt", "clippy", "test", "drift"];

fn ci_jobs(c: &mut Ctx<'_, '_>) {
    let jobs = &c.env.ci.extra_jobs;
    static ID: OnceLock<Regex> = OnceLock::new();
    let id = re(&ID, r"^[a-z][a-z0-9_-]{0,62}$");
    for j in jobs {
        let key = format!("ci.extra_jobs.{}", j.id.value);
        if !id.is_match(&j.id.value) {
            c.err(
                &j.id,
                &key,
                format!("`{}` is not a job id", j.id.value),
                "start with a lowercase letter, then letters, digits, `-` or `_`, e.g. `docs-links`",
            );
        } else if CI_JOBS.contains(&j.id.value.as_str()) {
            c.err(
                &j.id,
                &key,
                format!("`{}` is a job `ci.yml` already has", j.id.value),
                "pick another id; to change the built-in job, override its template (docs/ci.md)",
            );
        }
        if j.run.value.trim().is_empty() {
            c.err(&j.run, &format!("{key}.run"), "`run` is empty".into(), "give the script the job runs");
        }
        if !(1..=360).contains(&j.timeout_minutes.value) {
            c.err(
                &j.timeout_minutes,
                &format!("{key}.timeout_minutes"),
                format!("`timeout_minutes` ({}) must be between 1 and 360", j.timeout_minutes.value),
                "GitHub cancels jobs after 360 minutes; e.g. `15`",
            );
        }
        for n in &j.needs {
            let known = CI_JOBS.contains(&n.value.as_str()) || jobs.iter().any(|o| o.id.value == n.value);
            if !known || n.value == j.id.value {
                let all: Vec<String> =
                    CI_JOBS.iter().map(|s| s.to_string()).chain(jobs.iter().map(|o| o.id.value.clone())).collect();
                c.err(
                    n,
                    &format!("{key}.needs"),
                    if known {
                        format!("job `{}` cannot need itself", n.value)
                    } else {
                        format!("`{}` is no job of `ci.yml`", n.value)
                    },
                    format!("jobs: {}", all.iter().map(|s| format!("`{s}`")).collect::<Vec<_>>().join(", ")),
                );
            }
        }
    }
    // GitHub refuses a workflow whose jobs need each other in a circle.
    let needs = |id: &str| -> Vec<String> {
        jobs.iter()
            .find(|j| j.id.value == id)
            .map(|j| j.needs.iter().map(|n| n.value.clone()).collect())
            .unwrap_or_default()
    };
    for j in jobs {
        // A path from one of `j`'s needs back to `j` is a cycle through `j`.
        let mut stack: Vec<(String, Vec<String>)> =
            j.needs.iter().map(|n| (n.value.clone(), vec![j.id.value.clone()])).collect();
        let mut seen = std::collections::BTreeSet::new();
        while let Some((at, path)) = stack.pop() {
            if at == j.id.value && path.len() > 1 {
                let mut cycle = path.clone();
                cycle.push(at);
                let first = j.needs.iter().find(|n| n.value == path[1]).unwrap_or(&j.needs[0]);
                c.err(
                    first,
                    &format!("ci.extra_jobs.{}.needs", j.id.value),
                    format!(
                        "jobs need each other in a circle: {}",
                        cycle.iter().map(|s| format!("`{s}`")).collect::<Vec<_>>().join(" → ")
                    ),
                    "GitHub refuses such a workflow: drop one of the `needs`",
                );
                return;
            }
            if !seen.insert(at.clone()) {
                continue;
            }
            for n in needs(&at) {
                let mut p = path.clone();
                p.push(at.clone());
                stack.push((n, p));
            }
        }
    }
}

fn secret_ref(c: &mut Ctx<'_, '_>, r: &Sp<super::raw::SecretRef>, key: &str) {
    static R: OnceLock<Regex> = OnceLock::new();
    if !re(&R, SECRET_REF_PATTERN).is_match(&r.value.0) {
        let env = &c.env.name.value;
        let sp = r.as_ref().map(|_| ());
        c.out.push(
            Diagnostic::error(format!("`{key}` is not a Secrets Manager reference"))
                .at(sp.span.clone())
                .key(
                    sp.span
                        .as_ref()
                        .map(|s| c.doc.path_at(s.start))
                        .unwrap_or_else(|| format!("environments.{env}.{key}")),
                )
                .label("expected a secret name like `myhealth/oura/client` or an ARN")
                .help("put the secret itself in AWS Secrets Manager and write its name or ARN here")
                .redacted(),
        );
    }
}

fn services(c: &mut Ctx<'_, '_>) {
    static ENV: OnceLock<Regex> = OnceLock::new();
    let env_name = re(&ENV, r"^[A-Za-z_][A-Za-z0-9_]*$");
    for s in &c.env.services {
        let name = s.name.value.clone();
        if !dns_label(&name) || name.len() > 40 {
            c.err(
                &s.name,
                "services",
                format!("service name `{name}` is not a DNS-safe name of at most 40 characters"),
                "use lowercase letters, digits and `-`, e.g. `api-service`",
            );
        }
        match (s.kind.value, &s.schedule) {
            (ServiceKind::Cronjob, None) => c.err(
                &s.kind,
                "services",
                format!("service `{name}` is a `cronjob` but has no `schedule`"),
                "add e.g. `schedule = \"*/5 * * * *\"`",
            ),
            (ServiceKind::Cronjob, Some(sched)) => {
                if sched.value.split_whitespace().count() != 5 {
                    c.err(
                        sched,
                        "services",
                        format!("schedule `{}` of `{name}` must have five fields", sched.value),
                        "Kubernetes CronJobs use `minute hour day-of-month month day-of-week`, e.g. `*/5 * * * *`",
                    );
                } else if let Err(err) = sched.value.parse::<croner::Cron>() {
                    c.err(
                        sched,
                        "services",
                        format!(
                            "schedule `{}` of `{name}` does not parse: {}",
                            sched.value,
                            super::doc::lowercase_first(&err.to_string())
                        ),
                        "use five cron fields, e.g. `*/5 * * * *` for every five minutes",
                    );
                }
            }
            (ServiceKind::Deployment, Some(sched)) => c.err(
                sched,
                "services",
                format!("service `{name}` is a `deployment`, so `schedule` has no effect"),
                "remove `schedule`, or set `kind = \"cronjob\"`",
            ),
            (ServiceKind::Deployment, None) => {}
        }
        let a = &s.autoscaling;
        if a.min_replicas.value == 0 {
            c.err(
                &a.min_replicas,
                "services",
                format!("service `{name}`: `autoscaling.min_replicas` is 0"),
                "keep at least one replica running",
            );
        }
        if a.min_replicas.value > a.max_replicas.value {
            c.err(
                &a.min_replicas,
                "services",
                format!(
                    "service `{name}`: `autoscaling.min_replicas` ({}) is greater than `max_replicas` ({})",
                    a.min_replicas.value, a.max_replicas.value
                ),
                "autoscaling needs min_replicas <= max_replicas",
            );
        }
        if !(1..=100).contains(&a.target_cpu_percent.value) {
            c.err(
                &a.target_cpu_percent,
                "services",
                format!(
                    "service `{name}`: `autoscaling.target_cpu_percent` ({}) must be between 1 and 100",
                    a.target_cpu_percent.value
                ),
                "70 is a common target",
            );
        }
        if s.port.value < 1024 {
            c.err(
                &s.port,
                "services",
                format!("service `{name}`: port {} is privileged and containers run as non-root", s.port.value),
                "use a port of 1024 or above, e.g. `8080`",
            );
        }
        let r = &s.resources;
        for (req, lim, what, unit) in [
            (&r.cpu_request, &r.cpu_limit, "cpu", Unit::Cpu),
            (&r.memory_request, &r.memory_limit, "memory", Unit::Memory),
        ] {
            let (rq, lm) = (quantity(&req.value, unit), quantity(&lim.value, unit));
            for (sp, v, k) in [(req, rq, "request"), (lim, lm, "limit")] {
                if v.is_none() {
                    let ex = if unit == Unit::Cpu { "`100m` or `1`" } else { "`128Mi` or `1Gi`" };
                    c.err(
                        sp,
                        "services",
                        format!("service `{name}`: `{what}_{k}` `{}` is not a Kubernetes {what} quantity", sp.value),
                        format!("e.g. {ex}"),
                    );
                }
            }
            if let (Some(q), Some(l)) = (rq, lm) {
                if q > l {
                    c.err(
                        req,
                        "services",
                        format!(
                            "service `{name}`: `{what}_request` ({}) is greater than `{what}_limit` ({})",
                            req.value, lim.value
                        ),
                        "a request cannot exceed its limit",
                    );
                }
            }
        }
        for (k, _) in &s.env {
            if !env_name.is_match(&k.value) {
                c.err(
                    k,
                    "services",
                    format!("`{}` is not a valid environment variable name", k.value),
                    "use letters, digits and `_`, not starting with a digit",
                );
            }
        }
        for (k, r) in &s.secret_env {
            if !env_name.is_match(&k.value) {
                c.err(
                    k,
                    "services",
                    format!("`{}` is not a valid environment variable name", k.value),
                    "use letters, digits and `_`, not starting with a digit",
                );
            }
            secret_ref(c, r, &format!("services.{name}.secret_env.{}", k.value));
            if s.env.iter().any(|(e, _)| e.value == k.value) {
                c.err(
                    k,
                    "services",
                    format!("service `{name}` sets `{}` in both `env` and `secret_env`", k.value),
                    "keep one of them",
                );
            }
        }
    }
}

#[derive(Clone, Copy, PartialEq)]
enum Unit {
    Cpu,
    Memory,
}

/// Parse a Kubernetes quantity into cores or bytes.
fn quantity(s: &str, unit: Unit) -> Option<f64> {
    let split = s.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(s.len());
    let (num, suffix) = s.split_at(split);
    let n: f64 = num.parse().ok().filter(|n: &f64| n.is_finite())?;
    let mult = match (unit, suffix) {
        (_, "") => 1.0,
        (Unit::Cpu, "m") => 1e-3,
        (Unit::Memory, "Ki") => 1024.0,
        (Unit::Memory, "Mi") => 1024f64.powi(2),
        (Unit::Memory, "Gi") => 1024f64.powi(3),
        (Unit::Memory, "Ti") => 1024f64.powi(4),
        (Unit::Memory, "k") => 1e3,
        (Unit::Memory, "M") => 1e6,
        (Unit::Memory, "G") => 1e9,
        (Unit::Memory, "T") => 1e12,
        _ => return None,
    };
    Some(n * mult)
}

fn cross_environment(doc: &Doc<'_>, cfg: &Config, out: &mut Vec<Diagnostic>) {
    // Two environments in one account and region cannot share a cluster name.
    let mut seen: BTreeMap<(String, String, String), String> = BTreeMap::new();
    for e in &cfg.environments {
        let key = (e.aws.account_id.value.clone(), e.aws.region.value.clone(), e.eks.cluster_name.value.clone());
        if let Some(first) = seen.get(&key) {
            let mut c = Ctx { doc, env: e, out };
            c.err(
                &e.eks.cluster_name,
                "eks.cluster_name",
                format!(
                    "environments `{first}` and `{}` both name their EKS cluster `{}` in account `{}` {}",
                    e.name.value, key.2, key.0, key.1
                ),
                format!(
                    "set a distinct `eks.cluster_name` in `[environments.{}.eks]`, e.g. `{}-{}`",
                    e.name.value, key.2, e.name.value
                ),
            );
        } else {
            seen.insert(key, e.name.value.clone());
        }
    }
    // The workflows are one set for the project: a per-environment value of a
    // project-wide CI key would be silently ignored, so it is refused.
    for e in &cfg.environments {
        let ci = &e.ci;
        let spans: Vec<(&str, Option<super::span::Span>)> = vec![
            ("workflows_dir", ci.workflows_dir.span.clone()),
            ("pin_actions", ci.pin_actions.span.clone()),
            ("runs_on", ci.runs_on.span.clone()),
        ]
        .into_iter()
        .chain(ci.extra_jobs.iter().map(|j| ("extra_jobs", j.id.span.clone())))
        .collect();
        for (key, span) in spans {
            let Some(span) = span else { continue };
            if doc.path_at(span.start).starts_with("environments.") {
                out.push(
                    Diagnostic::error(format!("`ci.{key}` is project-wide: it cannot differ in `{}`", e.name.value))
                        .at(Some(span.clone()))
                        .key(doc.path_at(span.start))
                        .label(format!("set in `[environments.{}]`", e.name.value))
                        .help("set it in `[defaults.ci]`; only `require_approval` is per environment"),
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantities() {
        assert_eq!(quantity("100m", Unit::Cpu), Some(0.1));
        assert_eq!(quantity("2", Unit::Cpu), Some(2.0));
        assert_eq!(quantity("128Mi", Unit::Memory), Some(128.0 * 1024.0 * 1024.0));
        assert_eq!(quantity("1Gi", Unit::Cpu), None);
        assert_eq!(quantity("lots", Unit::Memory), None);
    }

    #[test]
    fn names() {
        assert!(dns_label("api-service"));
        assert!(!dns_label("Api_Service"));
        assert!(!dns_label("-x"));
        assert!(hostname("api.myhealth.eric-n.com"));
        assert!(label_key("node.kubernetes.io/role"));
        assert!(!label_key("bad key"));
    }
}
