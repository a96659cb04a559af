//! `myhealthctl schema`: the JSON Schema of `myhealth.toml` (from the raw
//! config types via schemars), or the Markdown key reference derived from
//! it (`docs/config.md`, `config::reference`).

use crate::exit::Outcome;
use clap::{Args, ValueEnum};

#[derive(ValueEnum, Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum SchemaFormat {
    /// JSON Schema (draft 2020-12)
    #[default]
    Json,
    /// The key reference of docs/config.md
    Markdown,
}

#[derive(Args, Debug)]
pub struct SchemaCmd {
    #[arg(long, value_enum, default_value_t = SchemaFormat::Json)]
    pub format: SchemaFormat,
}

impl SchemaCmd {
    pub fn run(self) -> anyhow::Result<Outcome> {
        match self.format {
            SchemaFormat::Json => crate::outln!("{}", serde_json::to_string_pretty(crate::config::defaults::schema())?),
            SchemaFormat::Markdown => crate::out!("{}", crate::config::reference::markdown()),
        }
        Ok(Outcome::Ok)
    }
}
