//! The operations under the commands: what `plan`, `deploy`, `destroy`,
//! `build`, `push`, `diff` and `affected` do, as functions of a resolved
//! project and environment. A command parses its arguments, resolves its
//! target once (`Project::target`), calls these and reports; commands never
//! call one another, and nothing here knows about clap.

pub mod api;
pub mod argocd;
pub mod deploy;
pub mod doctor;
pub mod drift;
pub mod explain;
pub mod generate;
pub mod github;
pub mod images;
pub mod live;
pub mod lsp;
pub mod manifests;
pub mod preconditions;
pub mod release;
pub mod rendered;
pub mod retire;
pub mod review;
pub mod secrets;
pub mod status;
pub mod terraform;
pub mod ui;
pub mod validate;
