//! Go to definition between the layers: from a key in
//! `[environments.<env>]` to the `[defaults]` line it overrides, and from
//! a key in `[defaults]` to every environment that overrides it — where
//! each layer writes a key as `keys::Chain` (what `envs --provenance` and
//! `explain` read) finds it.

use lsp_types::{GotoDefinitionResponse, Location, Position, Url};

use super::text::{offset, range};
use crate::config::doc::Doc;
use crate::config::keys::{Chain, Cover};

pub fn definition(uri: &Url, text: &str, at: Position) -> Option<GotoDefinitionResponse> {
    let doc = Doc::parse(text).ok()?;
    let named = super::hover::named(&doc, offset(text, at))?;
    let setting = named.setting?;
    let place = |c: &Option<Cover>| match c {
        Some(Cover::Sets(s) | Cover::Replaces(s)) => Some(Location { uri: uri.clone(), range: range(text, &s.span) }),
        None => None,
    };
    let found: Vec<Location> = match named.path.first().map(String::as_str) {
        Some("environments") => {
            let env = named.path.get(1)?;
            place(&Chain::of(&doc, text, env, &setting).defaults).into_iter().collect()
        }
        _ => environments(&doc)
            .iter()
            .filter_map(|env| place(&Chain::of(&doc, text, env, &setting).environment))
            .collect(),
    };
    match found.len() {
        0 => None,
        1 => found.into_iter().next().map(GotoDefinitionResponse::Scalar),
        _ => Some(GotoDefinitionResponse::Array(found)),
    }
}

/// The environments the document names, in its order.
fn environments(doc: &Doc<'_>) -> Vec<String> {
    match doc.table("environments").map(|t| t.get_ref()) {
        Some(toml::de::DeValue::Table(t)) => t.iter().map(|(k, _)| k.get_ref().to_string()).collect(),
        _ => Vec::new(),
    }
}
