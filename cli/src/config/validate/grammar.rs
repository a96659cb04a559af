//! The grammars of the names and quantities the config holds: DNS labels, host
//! names, Kubernetes label keys and values, git refs, CPU and memory
//! quantities.

use std::sync::OnceLock;

use regex::Regex;

use crate::pattern::re;

pub(super) fn dns_label(s: &str) -> bool {
    static R: OnceLock<Regex> = OnceLock::new();
    s.len() <= 63 && re(&R, r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?$").is_match(s)
}

pub(super) fn hostname(s: &str) -> bool {
    s.len() <= 253 && s.contains('.') && s.split('.').all(dns_label)
}

pub(super) fn label_key(s: &str) -> bool {
    let (prefix, name) = s.rsplit_once('/').map_or((None, s), |(p, n)| (Some(p), n));
    prefix.is_none_or(hostname_or_label) && label_value(name) && !name.is_empty()
}

pub(super) fn hostname_or_label(s: &str) -> bool {
    dns_label(s) || hostname(s)
}

pub(super) fn label_value(s: &str) -> bool {
    static R: OnceLock<Regex> = OnceLock::new();
    s.len() <= 63 && re(&R, r"^([A-Za-z0-9]([A-Za-z0-9_.-]*[A-Za-z0-9])?)?$").is_match(s)
}

/// A ref name git accepts (`git check-ref-format`, the parts that matter here), or a full commit SHA.
pub(super) fn git_ref(s: &str) -> bool {
    static R: OnceLock<Regex> = OnceLock::new();
    re(&R, r"^[A-Za-z0-9_][A-Za-z0-9._/-]{0,199}$").is_match(s)
        && !s.contains("..")
        && !s.contains("//")
        && !s.ends_with('/')
        && !s.ends_with(".lock")
        && !s.ends_with('.')
}

#[derive(Clone, Copy, PartialEq)]
pub(super) enum Unit {
    Cpu,
    Memory,
}

/// Parse a Kubernetes quantity into cores or bytes.
pub(super) fn quantity(s: &str, unit: Unit) -> Option<f64> {
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

/// A domain reserved for documentation (RFC 2606).
pub(super) fn example_domain(host: &str) -> bool {
    let h = host.trim_end_matches('.');
    ["example.com", "example.net", "example.org"].iter().any(|d| h == *d || h.ends_with(&format!(".{d}")))
        || h == "example"
        || h.ends_with(".example")
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
