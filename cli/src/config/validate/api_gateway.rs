//! `[api_gateway]`: CORS origins (no `*`, well-formed), throttling limits,
//! access-log retention.

use std::sync::OnceLock;

use regex::Regex;

use super::ctx::*;
use crate::pattern::re;

/// `[api_gateway]`: CORS origins, throttling, access-log retention.
pub(super) fn api_gateway(c: &mut Ctx<'_, '_>) {
    let e = c.env;
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
}
