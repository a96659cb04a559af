//! `[monitoring]`: Prometheus durations.

use std::sync::OnceLock;

use regex::Regex;

use super::ctx::*;
use crate::pattern::re;

/// `[monitoring]`: Prometheus durations.
pub(super) fn monitoring(c: &mut Ctx<'_, '_>) {
    let e = c.env;
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
}
