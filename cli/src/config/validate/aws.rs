//! `[aws]` and `[terraform]`: regions (AWS's published list, in a partition
//! myhealthctl generates for), the account id, the state bucket name.

use std::sync::OnceLock;

use regex::Regex;

use super::ctx::*;
use crate::config::catalog::{SUPPORTED_PARTITIONS, catalog, nearest};
use crate::config::span::Sp;
use crate::diagnostics::Diagnostic;
use crate::pattern::re;

/// A region AWS lists, of a partition myhealthctl supports; else an error
/// with the nearest listed region.
fn region(c: &mut Ctx<'_, '_>, sp: &Sp<String>, key: &str) {
    let cat = catalog();
    let r = &sp.value;
    match cat.partition(r) {
        Some(p) if SUPPORTED_PARTITIONS.contains(&p) => {}
        Some(p) => c.err(
            sp,
            key,
            format!("`{r}` is a region of the `{p}` partition, which myhealthctl does not support"),
            format!(
                "use a region of the {} partition",
                SUPPORTED_PARTITIONS.iter().map(|p| format!("`{p}`")).collect::<Vec<_>>().join(" or ")
            ),
        ),
        None => {
            let near = nearest(r, cat.supported_regions());
            let help = match near {
                Some(n) => format!("did you mean `{n}`?"),
                None => format!("use a region code such as `us-east-1` (AWS's regions {})", cat.provenance()),
            };
            let d = Diagnostic::error(format!("`{r}` is not an AWS region"));
            c.push(with_fix(d, near), sp, key, help)
        }
    }
}

pub(super) fn aws(c: &mut Ctx<'_, '_>) {
    let e = c.env;
    region(c, &e.aws.region, "aws.region");
    if e.aws.account_id.value.len() != 12 || !e.aws.account_id.value.bytes().all(|b| b.is_ascii_digit()) {
        c.err(
            &e.aws.account_id,
            "aws.account_id",
            format!("`{}` is not a 12-digit AWS account id", e.aws.account_id.value),
            "write the account id as a quoted string of exactly 12 digits, e.g. `\"123456789012\"`",
        );
    }
    // A derived default repeats `aws.region`, which is checked above.
    if e.terraform.state_region.span.is_some() {
        region(c, &e.terraform.state_region, "terraform.state_region");
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
