//! One module per subcommand: each defines its arguments and a thin `run`
//! (parse → resolve the target once → call `ops` → report). Commands never
//! import one another; `cli` routes the parsed command line to them.

pub mod affected;
pub mod apply;
pub mod build;
pub mod completions;
pub mod cost;
pub mod deploy;
pub mod destroy;
pub mod diff;
pub mod doctor;
pub mod drift;
pub mod envs;
pub mod explain;
pub mod graph;
pub mod init;
pub mod lsp;
pub mod plan;
pub mod policy;
pub mod promote;
pub mod push;
pub mod render;
pub mod schema;
pub mod status;
pub mod validate;
