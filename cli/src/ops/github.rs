//! GitHub's REST API: the documented operations `doctor` reads and
//! `deploy` uses to release through a pull request (github/rest-api-description,
//! the subset tests/github vendors), with the token of `GH_TOKEN` or `GITHUB_TOKEN` (read from the environment
//! only, never printed) at `GITHUB_API_URL` (what Actions sets; else
//! `https://api.github.com`).

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
    api: super::api::JsonApi,
}

impl GitHub {
    pub fn from_env() -> anyhow::Result<GitHub> {
        let base =
            std::env::var("GITHUB_API_URL").ok().filter(|b| !b.is_empty()).unwrap_or("https://api.github.com".into());
        let token = ["GH_TOKEN", "GITHUB_TOKEN"].iter().find_map(|v| std::env::var(v).ok().filter(|t| !t.is_empty()));
        let mut headers = reqwest::header::HeaderMap::new();
        headers.insert(reqwest::header::ACCEPT, "application/vnd.github+json".parse()?);
        headers.insert("X-GitHub-Api-Version", "2022-11-28".parse()?);
        headers.insert(reqwest::header::USER_AGENT, concat!("myhealthctl/", env!("CARGO_PKG_VERSION")).parse()?);
        Ok(GitHub { api: super::api::JsonApi::new("GitHub's API", &base, token, false, headers)? })
    }

    pub fn has_token(&self) -> bool {
        self.api.has_token()
    }

    pub fn base(&self) -> &str {
        self.api.base()
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
        let (status, body) = self.api.request(method, path, body.as_ref())?;
        Ok(Answer { status: status.as_u16(), body })
    }
}
