//! `[api_gateway]`: the environment's API host (a host name under
//! `project.domain`), CORS origins (no `*`, well-formed), throttling limits,
//! access-log retention.

use std::sync::OnceLock;

use regex::Regex;

use super::ctx::*;
use super::grammar::hostname;
use crate::pattern::re;

/// `[api_gateway]`: CORS origins, throttling, access-log retention.
pub(super) fn api_gateway(c: &mut Ctx<'_, '_>) {
    let e = c.env;
    let host = &e.api_gateway.host;
    let domain = c.project.domain.value.clone();
    // A derived host or origin is as valid as what it derives from (the
    // environment's name, `project.api_host`, `project.domain`), which are
    // checked themselves: only a value someone wrote is judged here.
    let written = host.span.is_some();
    if written && !hostname(&host.value) {
        c.err(
            host,
            "api_gateway.host",
            format!("`{}` is not a host name", host.value.escape_debug()),
            format!("use a lowercase host name under `{domain}`, e.g. `{}.api.{domain}`", e.name.value),
        );
    } else if written && !host.value.ends_with(&format!(".{domain}")) {
        c.err(
            host,
            "api_gateway.host",
            format!("the API host `{}` is not under `project.domain` `{domain}`", host.value),
            format!(
                "its certificate and DNS record live in `{domain}`'s hosted zone: e.g. `{}.api.{domain}`",
                e.name.value
            ),
        );
    }
    static ORIGIN: OnceLock<Regex> = OnceLock::new();
    let origin = re(&ORIGIN, r"^https?://[a-z0-9.-]+(:\d{1,5})?$");
    for o in e.api_gateway.cors_allow_origins.value.iter().filter(|o| o.span.is_some()) {
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
