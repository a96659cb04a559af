//! `[aws]` and `[terraform]`: regions, the account id, the state bucket name.

use std::sync::OnceLock;

use regex::Regex;

use super::ctx::*;
use crate::pattern::re;

pub(super) fn aws(c: &mut Ctx<'_, '_>) {
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
