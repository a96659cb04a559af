//! `Sp<T>`: a value with the byte span of `myhealth.toml` it came from
//! (`None` when it is a built-in default). Serializes and describes itself
//! (JSON Schema) exactly like `T`, so spans never leak into outputs.

use std::borrow::Cow;
use std::cmp::Ordering;
use std::ops::{Deref, Range};

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Byte range into the config source.
pub type Span = Range<usize>;

/// A value and where it was set.
#[derive(Clone, Debug)]
pub struct Sp<T> {
    pub value: T,
    pub span: Option<Span>,
}

impl<T> Sp<T> {
    /// A value set in the file at `span`.
    pub fn new(value: T, span: Span) -> Self {
        Sp { value, span: Some(span) }
    }
    /// A built-in default: no position in the file.
    pub fn builtin(value: T) -> Self {
        Sp { value, span: None }
    }
    pub fn map<U>(self, f: impl FnOnce(T) -> U) -> Sp<U> {
        Sp { value: f(self.value), span: self.span }
    }
    pub fn as_ref(&self) -> Sp<&T> {
        Sp { value: &self.value, span: self.span.clone() }
    }
}

impl<T> Deref for Sp<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.value
    }
}

// Equality and order look at the value only: two keys named `dev` are the
// same key wherever they were written.
impl<T: PartialEq> PartialEq for Sp<T> {
    fn eq(&self, other: &Self) -> bool {
        self.value == other.value
    }
}
impl<T: Eq> Eq for Sp<T> {}
impl<T: PartialOrd> PartialOrd for Sp<T> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        self.value.partial_cmp(&other.value)
    }
}
impl<T: Ord> Ord for Sp<T> {
    fn cmp(&self, other: &Self) -> Ordering {
        self.value.cmp(&other.value)
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Sp<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = toml::Spanned::<T>::deserialize(d)?;
        let span = s.span();
        Ok(Sp::new(s.into_inner(), span))
    }
}

impl<T: Serialize> Serialize for Sp<T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.value.serialize(s)
    }
}

impl<T: schemars::JsonSchema> schemars::JsonSchema for Sp<T> {
    fn inline_schema() -> bool {
        T::inline_schema()
    }
    fn schema_name() -> Cow<'static, str> {
        T::schema_name()
    }
    fn schema_id() -> Cow<'static, str> {
        T::schema_id()
    }
    fn json_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        T::json_schema(generator)
    }
}
