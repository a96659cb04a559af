//! Where the OAuth tokens live. Oura rotates refresh tokens: each refresh
//! returns a new one and invalidates the old, so the new token is written
//! (and synced to disk) *before* the access token is used — a crash after
//! the refresh can never lose the only valid refresh token.

use std::path::PathBuf;

use anyhow::Context;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct TokenSet {
    pub refresh_token: String,
    #[serde(default)]
    pub access_token: Option<String>,
}

/// A JSON file, replaced atomically (write a sibling, fsync, rename).
pub struct FileStore {
    path: PathBuf,
}

impl FileStore {
    pub fn new(path: PathBuf) -> Self {
        FileStore { path }
    }

    pub async fn load(&self) -> anyhow::Result<TokenSet> {
        let text = tokio::fs::read_to_string(&self.path)
            .await
            .with_context(|| format!("cannot read the token file `{}`", self.path.display()))?;
        // A bare token is accepted too (what an operator pastes first).
        Ok(serde_json::from_str(&text)
            .unwrap_or(TokenSet { refresh_token: text.trim().to_string(), access_token: None }))
    }

    pub async fn save(&self, t: &TokenSet) -> anyhow::Result<()> {
        let tmp = self.path.with_extension("tmp");
        let body = serde_json::to_vec(t)?;
        let path = self.path.clone();
        tokio::task::spawn_blocking(move || -> std::io::Result<()> {
            use std::io::Write;
            let mut f = std::fs::File::create(&tmp)?;
            f.write_all(&body)?;
            f.sync_all()?;
            std::fs::rename(&tmp, &path)
        })
        .await?
        .with_context(|| format!("cannot persist the rotated refresh token to `{}`", self.path.display()))
    }
}
