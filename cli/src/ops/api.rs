//! A blocking client of one JSON REST API (GitHub's, ArgoCD's): its base
//! URL, the bearer token it sends (read by its caller from the environment,
//! never printed), and requests answered with their status and JSON body.

use std::time::Duration;

use anyhow::Context;

pub struct JsonApi {
    base: String,
    token: Option<String>,
    /// Who it is, for errors: "GitHub's API", "ArgoCD".
    what: &'static str,
    headers: reqwest::header::HeaderMap,
    runtime: tokio::runtime::Runtime,
    http: reqwest::Client,
}

impl JsonApi {
    /// `insecure` accepts a self-signed certificate; `headers` go with every request.
    pub fn new(
        what: &'static str,
        base: &str,
        token: Option<String>,
        insecure: bool,
        headers: reqwest::header::HeaderMap,
    ) -> anyhow::Result<JsonApi> {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
        let http = runtime.block_on(async {
            reqwest::Client::builder().timeout(Duration::from_secs(30)).danger_accept_invalid_certs(insecure).build()
        })?;
        Ok(JsonApi { base: base.trim_end_matches('/').to_string(), token, what, headers, runtime, http })
    }

    pub fn base(&self) -> &str {
        &self.base
    }

    pub fn has_token(&self) -> bool {
        self.token.is_some()
    }

    /// `method {base}{path}` with an optional JSON body: the status and the
    /// JSON answered (`null` when there is none), whatever the status.
    pub fn request(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<&serde_json::Value>,
    ) -> anyhow::Result<(reqwest::StatusCode, serde_json::Value)> {
        let mut req = self.http.request(method, format!("{}{path}", self.base)).headers(self.headers.clone());
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
                let s = r.status();
                Ok::<_, reqwest::Error>((s, r.text().await?))
            })
            .with_context(|| format!("cannot reach {} at `{}`", self.what, self.base))?;
        Ok((status, serde_json::from_str(&text).unwrap_or(serde_json::Value::Null)))
    }
}
