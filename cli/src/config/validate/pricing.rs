//! What the cost estimate cannot price: a warning at each instance type or
//! class AWS lists but the price table has no price for. The estimate (and
//! the budget check on it) leaves it out and says so; this says where it is
//! set. A name AWS does not list is an error of its own section.

use super::ctx::*;
use crate::config::catalog::catalog;
use crate::cost::{Assumptions, PRICE_REGION, PRICES_AS_OF, estimate};

pub(super) fn pricing(c: &mut Ctx<'_, '_>) {
    let e = estimate(c.env, &Assumptions::default());
    let env = c.env.name.value.clone();
    let budget = if c.env.budget.is_some() { "; its budget cannot be checked in full" } else { "" };
    let cat = catalog();
    for u in &e.unpriced {
        let listed = match u.service {
            "RDS" => cat.is_rds_postgres_class(&u.name.value),
            _ => cat.is_ec2_instance_type(&u.name.value),
        };
        if listed {
            c.warn(
                &u.name,
                &u.key,
                format!("`{}` has no price in myhealthctl's table: the cost estimate of `{env}` leaves it out", u.name.value),
                format!(
                    "estimates (`myhealthctl cost {env}`) show `at least` the priced items and name this one{budget}; the table (`cli/src/cost.rs`) holds {PRICE_REGION} list prices as of {PRICES_AS_OF}"
                ),
            );
        }
    }
}
