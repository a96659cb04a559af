//! `[frontend]`: the CloudFront price class.

use super::ctx::*;

/// `[frontend]`: the CloudFront price class.
pub(super) fn frontend(c: &mut Ctx<'_, '_>) {
    let e = c.env;
    if !["PriceClass_100", "PriceClass_200", "PriceClass_All"].contains(&e.frontend.price_class.value.as_str()) {
        c.err(
            &e.frontend.price_class,
            "frontend.price_class",
            format!("`{}` is not a CloudFront price class", e.frontend.price_class.value),
            "use `PriceClass_100`, `PriceClass_200` or `PriceClass_All`",
        );
    }
}
