//! `[budget]`: a positive monthly limit, a warning percentage, somewhere to
//! notify (email addresses, SNS topics of the environment's account and
//! region), and the environment's cost estimate held against it: above the
//! warning share a warning, above the limit an error in production — one
//! that blocks only the commands that change things (`config::Mode`) — and
//! a warning elsewhere. An estimate with unpriced items is a lower bound:
//! it says `at least`, and `pricing` warns at each item.

use std::sync::OnceLock;

use regex::Regex;

use super::ctx::*;
use crate::cost::{Assumptions, estimate, region_note, usd};
use crate::diagnostics::Diagnostic;
use crate::pattern::re;

pub(super) fn budget(c: &mut Ctx<'_, '_>) {
    let e = c.env;
    let Some(b) = &e.budget else { return };
    let env = e.name.value.clone();
    let limit = b.monthly_usd.value;
    if !limit.is_finite() || limit <= 0.0 || limit > 1_000_000.0 {
        c.err(
            &b.monthly_usd,
            "budget.monthly_usd",
            format!("`{limit}` is not a monthly limit"),
            "a positive number of US dollars up to 1000000, e.g. `250`",
        );
        return;
    }
    let pct = b.warn_percent.value;
    if !(1..=100).contains(&pct) {
        c.err(
            &b.warn_percent,
            "budget.warn_percent",
            format!("`{pct}` is not a percentage from 1 to 100"),
            "e.g. `80`",
        );
    }
    if b.notify_emails.is_empty() && b.sns_topic_arns.is_empty() {
        c.err(
            &b.monthly_usd,
            "budget.monthly_usd",
            format!("the budget of `{env}` notifies nobody"),
            "add `notify_emails = [\"ops@example.com\"]` or `sns_topic_arns = [\"arn:aws:sns:…\"]` to the same `[budget]`",
        );
    }
    static EMAIL: OnceLock<Regex> = OnceLock::new();
    static SNS: OnceLock<Regex> = OnceLock::new();
    for m in &b.notify_emails {
        if !re(&EMAIL, r"^[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$").is_match(&m.value) {
            c.err(
                m,
                "budget.notify_emails",
                format!("`{}` is not an email address", m.value.escape_debug()),
                "e.g. `ops@example.com`",
            );
        }
    }
    for t in &b.sns_topic_arns {
        let ok = re(&SNS, r"^arn:aws[a-z-]*:sns:([a-z0-9-]+):([0-9]{12}):[A-Za-z0-9_-]{1,256}$")
            .captures(&t.value)
            .is_some_and(|m| m[1] == e.aws.region.value && m[2] == e.aws.account_id.value);
        if !ok {
            c.err(
                t,
                "budget.sns_topic_arns",
                format!("`{}` is not an SNS topic of `{env}`'s account and region", t.value.escape_debug()),
                format!("arn:aws:sns:{}:{}:<topic>", e.aws.region.value, e.aws.account_id.value),
            );
        }
    }
    // The estimate against the limit (`myhealthctl cost` shows its items).
    // Something unpriced makes it a lower bound (`pricing` warns at it): over
    // is then still over, under is only "at least".
    let full = estimate(e, &Assumptions::default());
    let est = full.total_usd;
    let region = match region_note(&full.region) {
        Some(n) => format!(" ({n})"),
        None => String::new(),
    };
    let help = format!(
        "`myhealthctl cost {env}` lists what the estimate is made of{region}; lower what drives it, or raise `budget.monthly_usd`"
    );
    if est > limit {
        let msg =
            format!("the estimated cost of `{env}` ({} a month) is over its budget ({})", full.total(), usd(limit));
        if e.production.value {
            c.push(
                Diagnostic { blocks_changes: true, ..Diagnostic::error(msg) },
                &b.monthly_usd,
                "budget.monthly_usd",
                help,
            );
        } else {
            c.warn(&b.monthly_usd, "budget.monthly_usd", msg, help);
        }
    } else if (1..=100).contains(&pct) && est >= limit * pct as f64 / 100.0 {
        c.warn(
            &b.monthly_usd,
            "budget.monthly_usd",
            format!(
                "the estimated cost of `{env}` ({} a month) is {:.0}% of its budget ({}), above the {pct}% warning",
                full.total(),
                est / limit * 100.0,
                usd(limit)
            ),
            help,
        );
    }
}
