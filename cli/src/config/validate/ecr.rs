//! `[ecr]`: how many images a repository keeps.

use super::ctx::*;

/// `[ecr]`: how many images a repository keeps.
pub(super) fn ecr(c: &mut Ctx<'_, '_>) {
    let e = c.env;
    if e.ecr.keep_last.value == 0 || e.ecr.keep_last.value > 1000 {
        c.err(
            &e.ecr.keep_last,
            "ecr.keep_last",
            format!("`keep_last` ({}) must be between 1 and 1000", e.ecr.keep_last.value),
            "keep enough images to roll back, e.g. `30`",
        );
    }
}
