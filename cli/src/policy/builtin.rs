//! The built-in rules: Rego modules shipped in the binary (`builtin/*.rego`,
//! `include_str!`), which `engine::load` puts in the same engine as the
//! user's policies, before them, evaluated whatever `--namespace` says; a
//! user module declaring a built-in module's package replaces it
//! (`policy::disable`: turning one rule off by name).

/// One built-in module.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Module {
    /// Its package, without `data.`.
    pub package: &'static str,
    /// The name its rules' findings and notes give as their file.
    pub file: &'static str,
    /// The Rego (v1).
    pub source: &'static str,
}

/// Every built-in module, in evaluation order.
pub const MODULES: &[Module] = &[Module {
    package: "myhealth.builtin.production",
    file: "<built-in>/production.rego",
    source: include_str!("builtin/production.rego"),
}];

/// Whether a rule's file is a built-in module's.
pub fn is_builtin(file: &str) -> bool {
    MODULES.iter().any(|m| m.file == file)
}

/// Whether `package` is a built-in module's (a user module of it replaces the module).
pub fn is_builtin_package(package: &str) -> bool {
    MODULES.iter().any(|m| m.package == package)
}
