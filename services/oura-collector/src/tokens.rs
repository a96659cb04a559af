//! Where the OAuth tokens live. Oura rotates refresh tokens: each refresh
//! returns a new one and invalidates the old, so the new token is written
//! (and synced to disk) *before* the access token is used — a crash after
//! the refresh can never lose the only valid refresh token.
//!
//! In the cluster the tokens live in the AWS Secrets Manager secret the
//! Terraform creates (`OURA_TOKEN_SECRET_ID`; the collector's IRSA role may
//! read and write exactly that secret); elsewhere, a file.

use std::path::PathBuf;

use anyhow::Context;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct TokenSet {
    pub refresh_token: String,
    #[serde(default)]
    pub access_token: Option<String>,
    /// When the access token expires (from `expires_in`): refreshed shortly
    /// before, instead of waiting for Oura's 401.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<chrono::DateTime<chrono::Utc>>,
}

/// Where the token set is kept.
pub enum Store {
    File(FileStore),
    Secret(SecretStore),
}

impl Store {
    pub async fn load(&self) -> anyhow::Result<TokenSet> {
        match self {
            Store::File(f) => f.load().await,
            Store::Secret(s) => s.load().await,
        }
    }

    pub async fn save(&self, t: &TokenSet) -> anyhow::Result<()> {
        match self {
            Store::File(f) => f.save(t).await,
            Store::Secret(s) => s.save(t).await,
        }
    }
}

/// Parse what a store holds: the JSON token set, or a bare refresh token
/// (what an operator pastes first).
fn parse(text: &str) -> TokenSet {
    serde_json::from_str(text).unwrap_or(TokenSet {
        refresh_token: text.trim().to_string(),
        access_token: None,
        expires_at: None,
    })
}

/// An AWS Secrets Manager secret; each save is a new version (`AWSCURRENT`).
pub struct SecretStore {
    client: aws_sdk_secretsmanager::Client,
    secret_id: String,
}

impl SecretStore {
    /// Credentials and region from the standard chain (IRSA in the cluster;
    /// `AWS_ENDPOINT_URL` is honoured, which is how the tests reach moto).
    pub async fn new(secret_id: String) -> SecretStore {
        let config = aws_config::load_from_env().await;
        SecretStore { client: aws_sdk_secretsmanager::Client::new(&config), secret_id }
    }

    pub async fn load(&self) -> anyhow::Result<TokenSet> {
        let out = self
            .client
            .get_secret_value()
            .secret_id(&self.secret_id)
            .send()
            .await
            .map_err(aws_sdk_secretsmanager::Error::from)
            .with_context(|| format!("cannot read the token secret `{}`", self.secret_id))?;
        let text = out.secret_string().with_context(|| format!("the secret `{}` holds no string", self.secret_id))?;
        Ok(parse(text))
    }

    pub async fn save(&self, t: &TokenSet) -> anyhow::Result<()> {
        self.client
            .put_secret_value()
            .secret_id(&self.secret_id)
            .secret_string(serde_json::to_string(t)?)
            .send()
            .await
            .map_err(aws_sdk_secretsmanager::Error::from)
            .with_context(|| format!("cannot persist the rotated refresh token to the secret `{}`", self.secret_id))?;
        Ok(())
    }
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
        Ok(parse(&text))
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
