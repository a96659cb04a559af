//! The published AWS lists a config is held to (`cli/assets/aws-catalog.toml`,
//! generated from the pinned botocore and cfn-lint data by
//! `cli/assets/aws-catalog.py`): regions and their partitions, EC2 instance
//! types, RDS for PostgreSQL DB instance classes — and the nearest listed
//! name to one that is not (did-you-mean).

use std::collections::BTreeMap;
use std::sync::OnceLock;

/// The partitions whose regions a config may name — those the region rule
/// accepted before the catalogue (`aws`, `aws-us-gov`); the ECR hosts
/// myhealthctl writes are not `aws-cn`'s, and the ISO partitions are closed.
pub const SUPPORTED_PARTITIONS: &[&str] = &["aws", "aws-us-gov"];

#[derive(serde::Deserialize)]
struct Raw {
    as_of: String,
    sources: Vec<String>,
    regions: BTreeMap<String, String>,
    ec2: BTreeMap<String, String>,
    rds_postgres: BTreeMap<String, String>,
}

/// The catalogue, parsed once.
pub struct Catalog {
    /// The date of the newest source's data.
    pub as_of: String,
    /// `package version` of each source.
    pub sources: Vec<String>,
    /// region → partition.
    pub regions: BTreeMap<String, String>,
    /// Every EC2 instance type (`family.size`), sorted.
    pub ec2: Vec<String>,
    /// Every RDS for PostgreSQL class (`db.family.size`), sorted.
    pub rds_postgres: Vec<String>,
}

fn expand(families: &BTreeMap<String, String>, prefix: &str) -> Vec<String> {
    let mut out: Vec<String> = families
        .iter()
        .flat_map(|(f, sizes)| sizes.split_whitespace().map(move |s| format!("{prefix}{f}.{s}")))
        .collect();
    out.sort();
    out
}

pub fn catalog() -> &'static Catalog {
    static C: OnceLock<Catalog> = OnceLock::new();
    C.get_or_init(|| {
        let raw: Raw = toml::from_str(include_str!("../../assets/aws-catalog.toml")).expect("the AWS catalogue parses");
        Catalog {
            ec2: expand(&raw.ec2, ""),
            rds_postgres: expand(&raw.rds_postgres, "db."),
            as_of: raw.as_of,
            sources: raw.sources,
            regions: raw.regions,
        }
    })
}

impl Catalog {
    /// The partition of a listed region.
    pub fn partition(&self, region: &str) -> Option<&str> {
        self.regions.get(region).map(String::as_str)
    }

    pub fn is_ec2_instance_type(&self, t: &str) -> bool {
        self.ec2.binary_search_by(|x| x.as_str().cmp(t)).is_ok()
    }

    pub fn is_rds_postgres_class(&self, c: &str) -> bool {
        self.rds_postgres.binary_search_by(|x| x.as_str().cmp(c)).is_ok()
    }

    /// The regions of the partitions myhealthctl supports.
    pub fn supported_regions(&self) -> impl Iterator<Item = &str> {
        self.regions.iter().filter(|(_, p)| SUPPORTED_PARTITIONS.contains(&p.as_str())).map(|(r, _)| r.as_str())
    }

    /// "as of 2026-10-20: botocore 1.35.99, cfn-lint 1.58.0"
    pub fn provenance(&self) -> String {
        format!("as of {}: {}", self.as_of, self.sources.join(", "))
    }
}

/// The candidate nearest to `x` (Jaro–Winkler, the first of equals), if it
/// is near enough to be what was meant.
pub fn nearest<'a>(x: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let mut best: Option<(f64, &str)> = None;
    for c in candidates {
        let score = strsim::jaro_winkler(x, c);
        if best.is_none_or(|(b, _)| score > b) {
            best = Some((score, c));
        }
    }
    best.filter(|(score, _)| *score > 0.85).map(|(_, c)| c)
}

/// The nearest name of the same kind: within the family when the family is
/// known (`t3.lrage` → `t3.large`), else among all.
pub fn nearest_type<'a>(x: &str, all: &'a [String]) -> Option<&'a str> {
    if let Some((family, _)) = x.rsplit_once('.') {
        let prefix = format!("{family}.");
        let same = || all.iter().map(String::as_str).filter(|c| c.starts_with(&prefix));
        if same().next().is_some() {
            return nearest(x, same());
        }
    }
    nearest(x, all.iter().map(String::as_str))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_what_aws_publishes() {
        let c = catalog();
        for t in ["t3.medium", "t3.large", "m6i.large", "c8i.metal-48xl", "u-6tb1.112xlarge", "c7i-flex.large"] {
            assert!(c.is_ec2_instance_type(t), "{t}");
        }
        for t in ["t3.lrage", "t3", "db.t3.micro", "t3.medium ", ""] {
            assert!(!c.is_ec2_instance_type(t), "{t}");
        }
        for k in ["db.t3.micro", "db.r6g.large", "db.r6g.xlarge", "db.t4g.small", "db.m7g.large"] {
            assert!(c.is_rds_postgres_class(k), "{k}");
        }
        for k in ["db.r6g.lage", "r6g.large", "db.t3.nano"] {
            assert!(!c.is_rds_postgres_class(k), "{k}");
        }
        assert_eq!(c.partition("us-east-1"), Some("aws"));
        assert_eq!(c.partition("us-gov-west-1"), Some("aws-us-gov"));
        assert_eq!(c.partition("cn-north-1"), Some("aws-cn"));
        assert_eq!(c.partition("ap-southeast-6"), Some("aws"), "newer than the pinned botocore: from cfn-lint");
        assert_eq!(c.partition("us-east-9"), None);
        assert!(c.supported_regions().all(|r| !r.starts_with("cn-") && !r.contains("-iso")));
    }

    #[test]
    fn suggests_the_name_meant() {
        let c = catalog();
        assert_eq!(nearest_type("t3.lrage", &c.ec2), Some("t3.large"));
        assert_eq!(nearest_type("t3.meduim", &c.ec2), Some("t3.medium"));
        assert_eq!(nearest_type("m6.large", &c.ec2).map(|s| s.starts_with("m6")), Some(true));
        assert_eq!(nearest_type("db.r6g.lage", &c.rds_postgres), Some("db.r6g.large"));
        assert_eq!(nearest_type("db.t3.mirco", &c.rds_postgres), Some("db.t3.micro"));
        assert_eq!(nearest("us-east-9", c.supported_regions()), Some("us-east-1"));
        assert_eq!(nearest("eu-wset-1", c.supported_regions()), Some("eu-west-1"));
        assert_eq!(nearest_type("x9z.mega", &c.ec2), None);
    }
}
