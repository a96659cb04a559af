//! `[secrets]`: every entry is a reference, never a value.

use super::ctx::*;

/// `[secrets]`: every entry is a reference.
pub(super) fn secrets(c: &mut Ctx<'_, '_>) {
    let e = c.env;
    for (key, r) in e.secrets.all() {
        secret_ref(c, r, &format!("secrets.{key}"));
    }
}
