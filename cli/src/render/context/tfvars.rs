//! A Terraform root's input variables as one typed struct: each field is a
//! variable — its name the field's, its HCL type derived from the field's
//! Rust type ([`Hcl`]), its description the field's doc comment — so
//! `variables.tf` (the declarations) and `terraform.tfvars` (the values) are
//! rendered from the same place and cannot disagree.

use serde::Serialize;
use serde::ser::SerializeMap;

use crate::config::model::{CapacityType, NatMode, TagMutability, TaintEffect};

/// A Terraform input variable of a root: declared in `variables.tf`, set in
/// `terraform.tfvars`.
#[derive(Serialize)]
pub struct TfVar {
    pub name: &'static str,
    /// HCL type constraint.
    #[serde(rename = "type")]
    pub ty: String,
    pub description: &'static str,
}

/// An HCL type constraint.
#[derive(Debug, Clone, PartialEq)]
pub enum HclType {
    String,
    Number,
    Bool,
    List(Box<HclType>),
    Map(Box<HclType>),
    /// An object's attribute that may be null (`optional(T)`).
    Optional(Box<HclType>),
    Object(Vec<(&'static str, HclType)>),
}

impl HclType {
    /// The constraint as `variables.tf` declares it (at a variable's
    /// attribute indentation): a top-level `optional` is just its type (the
    /// variable's value may be null anyway).
    pub fn declared(&self) -> String {
        let t = if let HclType::Optional(t) = self { t } else { self };
        t.render(2)
    }

    /// As `terraform fmt` writes it on a line indented by `indent`: an
    /// object's attributes one per line, two deeper, the `=` of consecutive
    /// one-line attributes aligned (a multi-line one stands on its own).
    fn render(&self, indent: usize) -> String {
        match self {
            HclType::String => "string".into(),
            HclType::Number => "number".into(),
            HclType::Bool => "bool".into(),
            HclType::List(t) => format!("list({})", t.render(indent)),
            HclType::Map(t) => format!("map({})", t.render(indent)),
            HclType::Optional(t) => format!("optional({})", t.render(indent)),
            HclType::Object(fields) => {
                let inner = indent + 2;
                let rendered: Vec<(&str, String)> = fields.iter().map(|(k, t)| (*k, t.render(inner))).collect();
                let mut out = String::from("object({\n");
                let mut i = 0;
                while i < rendered.len() {
                    // A run of one-line attributes shares one alignment.
                    let run = rendered[i..].iter().take_while(|(_, t)| !t.contains('\n')).count().max(1);
                    let width = rendered[i..i + run].iter().map(|(k, _)| k.len()).max().unwrap_or(0);
                    for (k, t) in &rendered[i..i + run] {
                        out.push_str(&format!("{:inner$}{k:<width$} = {t}\n", ""));
                    }
                    i += run;
                }
                out.push_str(&format!("{:indent$}}})", ""));
                out
            }
        }
    }
}

/// A Rust type's HCL type, and whether a value of it leaves its variable
/// out of the root altogether.
pub trait Hcl {
    fn hcl() -> HclType;
    /// The variable is not declared at all (see [`OnlyIf`]).
    fn absent(&self) -> bool {
        false
    }
}

macro_rules! hcl_leaf {
    ($hcl:ident: $($t:ty),+) => { $(impl Hcl for $t { fn hcl() -> HclType { HclType::$hcl } })+ };
}
hcl_leaf!(String: String, &'static str, NatMode, TagMutability, CapacityType, TaintEffect);
hcl_leaf!(Number: u8, u16, u32, u64, f64);
hcl_leaf!(Bool: bool);

impl<T: Hcl> Hcl for Vec<T> {
    fn hcl() -> HclType {
        HclType::List(Box::new(T::hcl()))
    }
}

impl<T: Hcl> Hcl for Option<T> {
    fn hcl() -> HclType {
        HclType::Optional(Box::new(T::hcl()))
    }
}

/// A `map(T)` in the order it was built (the order `terraform.tfvars` lists it).
pub struct Ordered<T>(pub Vec<(String, T)>);

impl<T> FromIterator<(String, T)> for Ordered<T> {
    fn from_iter<I: IntoIterator<Item = (String, T)>>(iter: I) -> Self {
        Ordered(iter.into_iter().collect())
    }
}

impl<T: Serialize> Serialize for Ordered<T> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(self.0.len()))?;
        for (k, v) in &self.0 {
            m.serialize_entry(k, v)?;
        }
        m.end()
    }
}

impl<T: Hcl> Hcl for Ordered<T> {
    fn hcl() -> HclType {
        HclType::Map(Box::new(T::hcl()))
    }
}

/// A variable the root declares only when its feature is on (`None`: not
/// declared, not set).
#[derive(Serialize)]
#[serde(transparent)]
pub struct OnlyIf<T>(pub Option<T>);

impl<T: Hcl> Hcl for OnlyIf<T> {
    fn hcl() -> HclType {
        T::hcl()
    }
    fn absent(&self) -> bool {
        self.0.is_none()
    }
}

/// A struct that is an HCL `object({…})`, its attributes its fields.
macro_rules! hcl_object {
    ($(#[$m:meta])* pub struct $name:ident { $($(#[$fm:meta])* pub $field:ident : $ty:ty,)+ }) => {
        $(#[$m])*
        #[derive(serde::Serialize)]
        pub struct $name { $($(#[$fm])* pub $field: $ty,)+ }
        impl $crate::render::context::tfvars::Hcl for $name {
            fn hcl() -> $crate::render::context::tfvars::HclType {
                $crate::render::context::tfvars::HclType::Object(vec![
                    $((stringify!($field), <$ty as $crate::render::context::tfvars::Hcl>::hcl()),)+
                ])
            }
        }
    };
}
pub(crate) use hcl_object;

/// A root's variables: one struct, each field a variable (its one-line doc
/// comment: the description; a field without one, or with two lines, does
/// not compile), serialized as `terraform.tfvars`' values and declared by
/// `variables()` in the same order.
macro_rules! tf_variables {
    ($(#[$m:meta])* pub struct $name:ident { $(#[doc = $doc:literal] pub $field:ident : $ty:ty,)+ }) => {
        $(#[$m])*
        #[derive(serde::Serialize)]
        pub struct $name {
            $(
                #[doc = $doc]
                #[serde(skip_serializing_if = "crate::render::context::tfvars::Hcl::absent")]
                pub $field: $ty,
            )+
        }
        impl $name {
            /// Every variable the root may declare (an [`OnlyIf`] one too):
            /// what the test holding the templates to the declarations reads.
            #[cfg(test)]
            pub const NAMES: &'static [&'static str] = &[$(stringify!($field)),+];

            /// The declarations of `variables.tf`, in order.
            pub fn variables(&self) -> Vec<$crate::render::context::tfvars::TfVar> {
                use $crate::render::context::tfvars::Hcl as _;
                let mut out = Vec::new();
                $(
                    if !self.$field.absent() {
                        out.push($crate::render::context::tfvars::TfVar {
                            name: stringify!($field),
                            ty: <$ty as $crate::render::context::tfvars::Hcl>::hcl().declared(),
                            description: $doc.trim(),
                        });
                    }
                )+
                out
            }
        }
    };
}
pub(crate) use tf_variables;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn object_types_are_written_as_terraform_fmt_aligns_them() {
        let taint = HclType::Object(vec![
            ("key", HclType::String),
            ("value", HclType::Optional(Box::new(HclType::String))),
            ("effect", HclType::String),
        ]);
        let group = HclType::Map(Box::new(HclType::Object(vec![
            ("min_size", HclType::Number),
            ("labels", HclType::Map(Box::new(HclType::String))),
            ("taints", HclType::List(Box::new(taint))),
        ])));
        assert_eq!(
            group.declared(),
            "map(object({\n    min_size = number\n    labels   = map(string)\n    taints = list(object({\n      key    = string\n      value  = optional(string)\n      effect = string\n    }))\n  }))"
        );
        assert_eq!(Option::<String>::hcl().declared(), "string");
    }
}
