//! Who may ask and how often: tokens refused for their claims, client
//! addresses behind a proxy, rate limits, the login pool, CORS, request ids
//! and compression, and the `hash-password` command.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use api_service::auth::Keys;
use api_service::{AppState, HttpSettings, app};
use argon2::password_hash::{PasswordHasher, SaltString};
use myhealth_common::testing::serve;
use serde_json::{Value, json};

use crate::world::*;

#[tokio::test(flavor = "multi_thread")]
async fn rate_limits_answer_429_per_client() {
    let w = World::start(HttpSettings {
        rate_limit_per_second: 1,
        rate_limit_burst: 3,
        login_rate_limit_per_minute: 2,
        trusted_proxy_hops: 1,
        ..Default::default()
    })
    .await;
    let attempt = |from: &'static str| {
        w.http
            .post(w.url("/auth/login"))
            .header("x-forwarded-for", from)
            .json(&json!({ "username": "me", "password": "guess" }))
            .send()
    };
    // Two guesses a minute from one client; the third is refused before argon2 runs.
    assert_eq!(attempt("203.0.113.7").await.unwrap().status(), 401);
    assert_eq!(attempt("203.0.113.7").await.unwrap().status(), 401);
    let refused = attempt("203.0.113.7").await.unwrap();
    assert_eq!(refused.status(), 429);
    let wait: u64 = refused.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=30).contains(&wait), "retry-after {wait}");
    assert!(refused.json::<Value>().await.unwrap()["error"].as_str().unwrap().starts_with("too many requests"));
    // Another client is not affected — and a client cannot pose as another by
    // writing its own X-Forwarded-For: only the right-most (proxy-written) entry counts.
    assert_eq!(attempt("198.51.100.1").await.unwrap().status(), 401);
    assert_eq!(attempt("10.9.9.9, 203.0.113.7").await.unwrap().status(), 429);

    // The data routes: a burst of 3, then 429.
    let tok = token(KEY, 3600);
    let mut statuses = vec![];
    for _ in 0..5 {
        let res = w.http.get(w.url("/api/v1/dashboard")).header("x-forwarded-for", "192.0.2.5").bearer_auth(&tok);
        statuses.push(res.send().await.unwrap().status().as_u16());
    }
    assert_eq!(&statuses[..3], &[200, 200, 200]);
    assert!(statuses[3..].contains(&429), "{statuses:?}");
    // Probes are never limited.
    for _ in 0..10 {
        assert_eq!(w.http.get(w.url("/health")).send().await.unwrap().status(), 200);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn cors_request_ids_and_compression() {
    let w =
        World::start(HttpSettings { cors_allowed_origins: vec!["https://app.example.org".into()], ..relaxed() }).await;
    // Preflight from the allowed origin, and from another.
    let pre = |origin: &'static str| {
        w.http
            .request(reqwest::Method::OPTIONS, w.url("/api/v1/dashboard"))
            .header("origin", origin)
            .header("access-control-request-method", "GET")
            .header("access-control-request-headers", "authorization")
            .send()
    };
    let ok = pre("https://app.example.org").await.unwrap();
    assert_eq!(ok.headers()["access-control-allow-origin"], "https://app.example.org");
    assert!(ok.headers()["access-control-allow-headers"].to_str().unwrap().contains("authorization"));
    let other = pre("https://evil.example.com").await.unwrap();
    assert!(other.headers().get("access-control-allow-origin").is_none());

    // A request id is made up when absent, and echoed when sent.
    let res = w.http.get(w.url("/health")).send().await.unwrap();
    let id = res.headers()["x-request-id"].to_str().unwrap();
    assert_eq!(id.len(), 36, "a UUID: {id}");
    let res = w.http.get(w.url("/health")).header("x-request-id", "trace-me-42").send().await.unwrap();
    assert_eq!(res.headers()["x-request-id"], "trace-me-42");

    // Large enough responses are gzipped when the client asks.
    let res = w.http.get(w.url("/openapi.json")).header("accept-encoding", "gzip").send().await.unwrap();
    assert_eq!(res.headers()["content-encoding"], "gzip");
    let res = w.http.get(w.url("/openapi.json")).send().await.unwrap();
    assert!(res.headers().get("content-encoding").is_none());
    let served: Value = res.json().await.unwrap();
    assert_eq!(served["openapi"], "3.1.0");
}

/// A token signed with the service's own key, with any claims.
fn signed(claims: Value) -> String {
    jsonwebtoken::encode(
        &jsonwebtoken::Header::default(),
        &claims,
        &jsonwebtoken::EncodingKey::from_secret(KEY.as_bytes()),
    )
    .unwrap()
}

/// The signature is not enough: a token must be one the service would have
/// issued — its configured subject, an `iat` not ahead of the clock by more
/// than the skew, no `nbf` still to come, a lifetime of at most 24 h.
#[tokio::test(flavor = "multi_thread")]
async fn a_token_with_the_right_key_and_the_wrong_claims_is_refused() {
    let pool = sqlx::postgres::PgPoolOptions::new()
        .acquire_timeout(std::time::Duration::from_secs(1))
        .connect_lazy("postgres://nobody@127.0.0.1:9/none")
        .unwrap();
    let api =
        serve(app(AppState::new(pool, keys()), myhealth_common::telemetry::init_metrics(), &relaxed()).unwrap()).await;
    let http = reqwest::Client::new();
    let now = chrono::Utc::now().timestamp();
    let day = 24 * 3600;
    // What the route answers past the token check: 503 (no database here) means the token was accepted.
    let status = |tok: String| {
        let req = http.get(format!("http://{api}/api/v1/dashboard")).bearer_auth(tok);
        async move { req.send().await.unwrap().status().as_u16() }
    };
    let accepted = 503;
    assert_eq!(status(signed(json!({ "sub": "me", "iat": now, "exp": now + day }))).await, accepted);
    // Another replica's clock a little ahead: within the skew.
    assert_eq!(status(signed(json!({ "sub": "me", "iat": now + 30, "exp": now + 30 + day }))).await, accepted);
    assert_eq!(status(signed(json!({ "sub": "me", "iat": now, "exp": now + day, "nbf": now - 5 }))).await, accepted);
    for (why, claims) in [
        ("another subject", json!({ "sub": "admin", "iat": now, "exp": now + day })),
        ("no subject", json!({ "iat": now, "exp": now + day })),
        ("not valid before an hour from now", json!({ "sub": "me", "iat": now, "exp": now + day, "nbf": now + 3600 })),
        ("issued in the future", json!({ "sub": "me", "iat": now + 600, "exp": now + 600 + 3600 })),
        ("valid until the year 3000", json!({ "sub": "me", "iat": now, "exp": 32_503_680_000_i64 })),
        ("a lifetime of 24 h and a minute", json!({ "sub": "me", "iat": now, "exp": now + day + 60 })),
        ("no issue time", json!({ "sub": "me", "exp": now + 3600 })),
        ("no expiry", json!({ "sub": "me", "iat": now })),
    ] {
        assert_eq!(status(signed(claims)).await, 401, "{why}");
    }
}

/// A stand-in for the proxies in front of api-service (API Gateway, Envoy):
/// it listens on 127.0.0.1 and forwards every request to `upstream` from the
/// source address `from`, appending its own peer's address to
/// `X-Forwarded-For` as those proxies do. Nothing else.
async fn proxy(upstream: SocketAddr, from: IpAddr) -> SocketAddr {
    use axum::extract::{ConnectInfo, Request};
    let client = reqwest::Client::builder().local_address(from).build().unwrap();
    let forward = move |ConnectInfo(peer): ConnectInfo<SocketAddr>, req: Request| {
        let client = client.clone();
        async move {
            let (parts, body) = req.into_parts();
            let body = axum::body::to_bytes(body, 1 << 20).await.unwrap();
            let xff = match parts.headers.get("x-forwarded-for").and_then(|v| v.to_str().ok()) {
                Some(v) => format!("{v}, {}", peer.ip()),
                None => peer.ip().to_string(),
            };
            let mut headers = parts.headers.clone();
            headers.remove("host");
            headers.insert("x-forwarded-for", xff.parse().unwrap());
            let res = client
                .request(parts.method, format!("http://{upstream}{}", parts.uri))
                .headers(headers)
                .body(body)
                .send()
                .await
                .unwrap();
            let mut out = axum::http::Response::builder().status(res.status());
            for (k, v) in res.headers() {
                out = out.header(k, v);
            }
            out.body(axum::body::Body::from(res.bytes().await.unwrap())).unwrap()
        }
    };
    serve(axum::Router::new().fallback(forward)).await
}

/// A client connecting from `from` (a loopback address of its own).
fn client_from(from: &str) -> reqwest::Client {
    reqwest::Client::builder().local_address(from.parse::<IpAddr>().unwrap()).build().unwrap()
}

/// The bypass the review found: with `TRUSTED_PROXY_HOPS=1` and the pod
/// reachable without the proxy, a client rotating `X-Forwarded-For` got a
/// new identity per request (no login limit) and could spend any chosen
/// address's budget. Now only the trusted proxy's header is believed.
#[tokio::test(flavor = "multi_thread")]
async fn a_direct_connection_cannot_choose_its_client_address() {
    let w = World::start(HttpSettings {
        login_rate_limit_per_minute: 2,
        trusted_proxy_hops: 1,
        trusted_proxies: vec!["127.0.0.2/32".parse().unwrap()],
        ..relaxed()
    })
    .await;
    let proxy = proxy(w.api, "127.0.0.2".parse().unwrap()).await;
    let guess = json!({ "username": "me", "password": "guess" });
    let via_proxy = |from: &str, xff: Option<&str>| {
        let mut req = client_from(from).post(format!("http://{proxy}/auth/login")).json(&guess);
        if let Some(x) = xff {
            req = req.header("x-forwarded-for", x);
        }
        async move { req.send().await.unwrap().status().as_u16() }
    };
    let attacker = client_from("127.0.0.66");
    let direct = |xff: String| {
        let req = attacker.post(w.url("/auth/login")).header("x-forwarded-for", xff).json(&guess);
        async move { req.send().await.unwrap().status().as_u16() }
    };

    // Straight to the pod, naming the victim (127.0.0.10) and then a new address each time:
    // all one client, the attacker's own address, limited after two guesses.
    let mut statuses = vec![direct("127.0.0.10".into()).await, direct("127.0.0.10".into()).await];
    for i in 0..8 {
        statuses.push(direct(format!("198.51.100.{i}")).await);
    }
    assert_eq!(&statuses[..2], &[401, 401], "{statuses:?}");
    assert!(statuses[2..].iter().all(|s| *s == 429), "rotating X-Forwarded-For is no new identity: {statuses:?}");

    // The victim, through the proxy, still has its whole budget — and is limited in turn.
    assert_eq!(via_proxy("127.0.0.10", None).await, 401);
    assert_eq!(via_proxy("127.0.0.10", None).await, 401);
    assert_eq!(via_proxy("127.0.0.10", None).await, 429);
    // Through the proxy, what a client writes itself is left of the proxy's entry and never read.
    assert_eq!(via_proxy("127.0.0.11", Some("127.0.0.12")).await, 401);
    assert_eq!(via_proxy("127.0.0.11", Some("127.0.0.12")).await, 401);
    assert_eq!(via_proxy("127.0.0.12", None).await, 401, "127.0.0.11 spent its own budget, not 127.0.0.12's");
    // The user logs in through the proxy while all that goes on.
    let res = client_from("127.0.0.13")
        .post(format!("http://{proxy}/auth/login"))
        .json(&json!({ "username": "me", "password": PASSWORD }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
}

/// More logins than the pool has slots: the excess is answered 503 with
/// `Retry-After` (here without a queue, so some must be), never anything
/// else, and the user's login goes through once the burst is over.
#[tokio::test(flavor = "multi_thread")]
async fn logins_beyond_the_pool_are_refused_with_retry_after() {
    let salt = SaltString::from_b64("c29tZXNhbHRzb21lc2FsdA").unwrap();
    let hash = argon2::Argon2::default().hash_password(PASSWORD.as_bytes(), &salt).unwrap().to_string();
    let one = api_service::login::LoginSettings { login_concurrency: Some(1), login_queue_seconds: 0 };
    let keys = Arc::new(Keys::new("me", &hash, KEY, &one).unwrap());
    assert_eq!(keys.pool.sizing.slots, 1);
    let pool = sqlx::postgres::PgPoolOptions::new().connect_lazy("postgres://nobody@127.0.0.1:9/none").unwrap();
    let api =
        serve(app(AppState::new(pool, keys), myhealth_common::telemetry::init_metrics(), &relaxed()).unwrap()).await;
    let http = reqwest::Client::new();
    let burst: Vec<_> = (0..20)
        .map(|_| {
            let req =
                http.post(format!("http://{api}/auth/login")).json(&json!({ "username": "me", "password": "guess" }));
            tokio::spawn(async move { req.send().await.unwrap() })
        })
        .collect();
    let (mut refused, mut wrong) = (0, 0);
    for r in burst {
        let res = r.await.unwrap();
        match res.status().as_u16() {
            401 => wrong += 1,
            503 => {
                assert_eq!(res.headers()["retry-after"], "1");
                let body: Value = res.json().await.unwrap();
                assert!(body["error"].as_str().unwrap().contains("too many logins"), "{body}");
                refused += 1;
            }
            other => panic!("a login answered {other}"),
        }
    }
    assert!(wrong >= 1 && refused >= 1, "{wrong} verified, {refused} refused");
    let res = http.post(format!("http://{api}/auth/login")).json(&json!({ "username": "me", "password": PASSWORD }));
    assert_eq!(res.send().await.unwrap().status(), 200);
}

/// `api-service hash-password` (the binary) prints a PHC string the
/// service takes as `API_PASSWORD_HASH`, for that password only.
#[test]
fn hash_password_prints_what_the_service_accepts() {
    use argon2::{PasswordHash, PasswordVerifier};
    use std::io::Write;
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_api-service"))
        .arg("hash-password")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(b"correct horse\n").unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    let phc = String::from_utf8(out.stdout).unwrap().trim().to_string();
    assert!(phc.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{phc}");
    let hash = PasswordHash::new(&phc).unwrap();
    assert!(argon2::Argon2::default().verify_password(b"correct horse", &hash).is_ok());
    assert!(
        argon2::Argon2::default().verify_password(b"correct horse\n", &hash).is_err(),
        "the newline is not part of it"
    );
    assert!(Keys::new("me", &phc, KEY, &Default::default()).is_ok());
}
