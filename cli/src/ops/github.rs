//! GitHub's REST API: the documented operations `doctor` reads and
//! `deploy` uses to release through a pull request (github/rest-api-description,
//! the subset tests/github vendors), with the token of `GH_TOKEN` or `GITHUB_TOKEN` (read from the environment
//! only, never printed) at `GITHUB_API_URL` (what Actions sets; else
//! `https://api.github.com`).

use std::time::Duration;

use anyhow::Context;

/// One answer: its status and its JSON body (`null` when there is none).
#[derive(Debug, Clone)]
pub struct Answer {
    pub status: u16,
    pub body: serde_json::Value,
}

impl Answer {
    pub fn ok(&self) -> bool {
        (200..300).contains(&self.status)
    }
}

pub struct GitHub {
    base: String,
    token: Option<String>,
    runtime: tokio::runtime::Runtime,
    http: reqwest::Client,
}

impl GitHub {
    pub fn from_env() -> anyhow::Result<GitHub> {
        let base =
            std::env::var("GITHUB_API_URL").ok().filter(|b| !b.is_empty()).unwrap_or("https://api.github.com".into());
        let token = ["GH_TOKEN", "GITHUB_TOKEN"].iter().find_map(|v| std::env::var(v).ok().filter(|t| !t.is_empty()));
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
        let http = runtime.block_on(async { reqwest::Client::builder().timeout(Duration::from_secs(30)).build() })?;
        Ok(GitHub { base: base.trim_end_matches('/').to_string(), token, runtime, http })
    }

    pub fn has_token(&self) -> bool {
        self.token.is_some()
    }

    pub fn base(&self) -> &str {
        &self.base
    }

    /// `GET {base}{path}`.
    pub fn get(&self, path: &str) -> anyhow::Result<Answer> {
        self.call(reqwest::Method::GET, path, None)
    }

    /// `POST {base}{path}` with a JSON body.
    pub fn post(&self, path: &str, body: serde_json::Value) -> anyhow::Result<Answer> {
        self.call(reqwest::Method::POST, path, Some(body))
    }

    fn call(&self, method: reqwest::Method, path: &str, body: Option<serde_json::Value>) -> anyhow::Result<Answer> {
        let url = format!("{}{path}", self.base);
        let mut req = self
            .http
            .request(method, &url)
            .header(reqwest::header::ACCEPT, "application/vnd.github+json")
            .header("X-GitHub-Api-Version", "2022-11-28")
            .header(reqwest::header::USER_AGENT, concat!("myhealthctl/", env!("CARGO_PKG_VERSION")));
        if let Some(t) = &self.token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.header(reqwest::header::CONTENT_TYPE, "application/json").body(b.to_string());
        }
        let (status, text) = self
            .runtime
            .block_on(async {
                let r = req.send().await?;
                let s = r.status().as_u16();
                Ok::<_, reqwest::Error>((s, r.text().await?))
            })
            .with_context(|| format!("cannot reach GitHub's API at `{}`", self.base))?;
        Ok(Answer { status, body: serde_json::from_str(&text).unwrap_or(serde_json::Value::Null) })
    }
}
