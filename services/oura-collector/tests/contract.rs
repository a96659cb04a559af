//! The fake Oura API against Oura's own contract (`tests/contracts/`):
//! every page it serves validates against the OpenAPI document's response
//! schema of that path — made strict, so a field the document does not name
//! fails too — with formats checked; every field of each document schema
//! occurs, and every nullable one is null somewhere and set somewhere else.
//! Then the behaviour NOTES.md describes: date filters on each document's
//! own timestamp with bare dates at 00:00 UTC, the 30-day heart-rate limit,
//! 422 for a reversed range, withheld scopes, paging, 429 with the
//! rate-limit headers, single-use refresh tokens, access tokens that expire
//! or are revoked (401 until a refresh), a lapsed subscription (403 on every
//! collection, whatever the token).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;

use chrono::{DateTime, Days, Duration, Utc};
use oura_collector::clock::ManualClock;
use oura_collector::fake::{self, Oura, User};
use serde_json::{Value, json};

const OPENAPI: &str = include_str!("contracts/openapi-1.29.json");

fn openapi() -> Value {
    serde_json::from_str(OPENAPI).unwrap()
}

/// Forbid properties a schema does not list (OpenAPI objects allow them by default).
fn strict(v: &mut Value) {
    match v {
        Value::Object(m) => {
            if m.contains_key("properties") && !m.contains_key("additionalProperties") {
                m.insert("additionalProperties".into(), Value::Bool(false));
            }
            m.values_mut().for_each(strict);
        }
        Value::Array(a) => a.iter_mut().for_each(strict),
        _ => {}
    }
}

/// The strict branch of a path's 200 schema (not the `…Dict` one `fields=` selects).
fn response_schema(doc: &Value, collection: &str) -> String {
    let schema = &doc["paths"][format!("/v2/usercollection/{collection}")]["get"]["responses"]["200"]["content"]["application/json"]
        ["schema"];
    let refs: Vec<&str> = schema["anyOf"].as_array().unwrap().iter().filter_map(|s| s["$ref"].as_str()).collect();
    let r = refs.into_iter().find(|r| !r.ends_with("Dict")).expect("a typed response schema");
    r.rsplit('/').next().unwrap().to_string()
}

fn validator(doc: &Value, schema: &str) -> jsonschema::Validator {
    let mut components = doc["components"].clone();
    strict(&mut components);
    let root = json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "components": components,
        "$ref": format!("#/components/schemas/{schema}"),
    });
    jsonschema::options().with_draft(jsonschema::Draft::Draft202012).should_validate_formats(true).build(&root).unwrap()
}

struct World {
    addr: SocketAddr,
    state: fake::Shared,
    clock: ManualClock,
    http: reqwest::Client,
    token: String,
}

async fn world(offset_minutes: i32) -> World {
    let now: DateTime<Utc> = "2026-10-20T12:00:00Z".parse().unwrap();
    let clock = ManualClock::new(now);
    let user = User {
        utc_offset_minutes: offset_minutes,
        first_day: now.date_naive() - Days::new(40),
        heart_rate_every_minutes: 30,
        seed: 7,
    };
    let (addr, state) = fake::start(Oura::new(user, Arc::new(clock.clone()))).await;
    let http = reqwest::Client::new();
    let t: Value = http
        .post(format!("http://{addr}/oauth/token"))
        .form(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", "refresh-0"),
            ("client_id", "cid"),
            ("client_secret", "csecret"),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    World { addr, state, clock, http, token: t["access_token"].as_str().unwrap().to_string() }
}

impl World {
    async fn get(&self, collection: &str, query: &[(&str, &str)]) -> reqwest::Response {
        self.http
            .get(format!("http://{}/v2/usercollection/{collection}", self.addr))
            .bearer_auth(&self.token)
            .query(query)
            .send()
            .await
            .unwrap()
    }

    /// Every page of a range, validated.
    async fn all(&self, collection: &str, query: &[(&str, &str)], v: &jsonschema::Validator) -> Vec<Value> {
        let mut q: Vec<(&str, String)> = query.iter().map(|(k, v)| (*k, v.to_string())).collect();
        let mut out = Vec::new();
        loop {
            let res = self
                .http
                .get(format!("http://{}/v2/usercollection/{collection}", self.addr))
                .bearer_auth(&self.token)
                .query(&q)
                .send()
                .await
                .unwrap();
            assert_eq!(res.status(), 200, "{collection} {q:?}");
            let page: Value = res.json().await.unwrap();
            let errors: Vec<String> = v.iter_errors(&page).map(|e| format!("{} at {}", e, e.instance_path())).collect();
            assert!(
                errors.is_empty(),
                "{collection}: the fake's page breaks the OpenAPI schema:\n{}",
                errors.join("\n")
            );
            out.extend(page["data"].as_array().unwrap().iter().cloned());
            match page["next_token"].as_str() {
                Some(t) => {
                    q.retain(|(k, _)| *k != "next_token");
                    q.push(("next_token", t.to_string()));
                }
                None => return out,
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn every_page_matches_the_openapi_schemas_with_every_field_and_its_nulls() {
    let doc = openapi();
    for offset in [180, -300] {
        let w = world(offset).await;
        let start = (w.clock_now().date_naive() - Days::new(45)).to_string();
        let end = (w.clock_now().date_naive() + Days::new(2)).to_string();
        for c in oura_collector::collections::ALL {
            let name = response_schema(&doc, c.name);
            let v = validator(&doc, &name);
            let docs = if c.name == "heartrate" {
                let mut docs = Vec::new();
                let mut at: DateTime<Utc> = format!("{start}T00:00:00Z").parse().unwrap();
                while at < w.clock_now() {
                    let to = (at + Duration::days(30)).min(w.clock_now());
                    let (a, b) = (at.to_rfc3339(), to.to_rfc3339());
                    docs.extend(w.all("heartrate", &[("start_datetime", &a), ("end_datetime", &b)], &v).await);
                    at = to;
                }
                // Both bounds are inclusive: a sample on a boundary comes twice.
                docs.dedup_by(|a, b| a["timestamp"] == b["timestamp"]);
                docs
            } else {
                w.all(c.name, &[("start_date", &start), ("end_date", &end)], &v).await
            };
            assert!(docs.len() >= 5, "{}: only {} documents", c.name, docs.len());
            // Field coverage against the document schema of the response's `data`.
            let item = doc["components"]["schemas"][&name]["properties"]["data"]["items"]["$ref"]
                .as_str()
                .unwrap()
                .rsplit('/')
                .next()
                .unwrap()
                .to_string();
            let props = doc["components"]["schemas"][&item]["properties"].as_object().unwrap();
            for (field, schema) in props {
                assert!(docs.iter().any(|d| d.get(field).is_some()), "{}: `{field}` never occurs", c.name);
                let nullable = schema["anyOf"].as_array().is_some_and(|a| a.iter().any(|s| s["type"] == "null"));
                if nullable {
                    assert!(
                        docs.iter().any(|d| d[field].is_null()),
                        "{}: `{field}` is nullable but never null",
                        c.name
                    );
                    assert!(docs.iter().any(|d| !d[field].is_null()), "{}: `{field}` is never set", c.name);
                }
            }
            // The fake's own bookkeeping agrees with what it serves.
            assert_eq!(docs.len(), w.state.lock().unwrap().documents(c.name, w.clock_now()).len(), "{}", c.name);
        }
    }
}

impl World {
    fn clock_now(&self) -> DateTime<Utc> {
        use oura_collector::clock::Clock;
        self.clock.now()
    }
}

fn days(docs: &[Value]) -> Vec<String> {
    docs.iter().map(|d| d["day"].as_str().unwrap().to_string()).collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn date_filters_compare_each_documents_own_timestamp() {
    let doc = openapi();
    let w = world(180).await; // UTC+3
    let today = w.clock_now().date_naive();
    let d = today - Days::new(5);
    let v = validator(&doc, "MultiDocumentResponse_PublicModifiedSleepModel_");
    let (ds, te) = (d.to_string(), today.to_string());
    // The night whose day is D began on D−1 (local evening = UTC afternoon): not returned from start_date=D ...
    let sleep = w.all("sleep", &[("start_date", &ds), ("end_date", &te)], &v).await;
    let long: Vec<&Value> = sleep.iter().filter(|s| s["type"] == "long_sleep").collect();
    assert!(!long.iter().any(|s| s["day"] == ds.as_str()), "night of D returned from start_date=D");
    // ... but from D−1; and daily_sleep of D (stamped D 00:00 UTC) is returned from D.
    let before = (d - Days::new(1)).to_string();
    let sleep = w.all("sleep", &[("start_date", &before), ("end_date", &te)], &v).await;
    assert!(sleep.iter().any(|s| s["type"] == "long_sleep" && s["day"] == ds.as_str()));
    let v = validator(&doc, "MultiDocumentResponse_PublicDailySleep_");
    let daily = w.all("daily_sleep", &[("start_date", &ds), ("end_date", &te)], &v).await;
    assert_eq!(days(&daily).first(), Some(&ds));
    // Today's activity (stamped 04:00 local) is not returned with end_date=today, but with tomorrow.
    let v = validator(&doc, "MultiDocumentResponse_PublicDailyActivity_");
    let act = w.all("daily_activity", &[("start_date", &ds), ("end_date", &te)], &v).await;
    assert!(!days(&act).contains(&te), "{:?}", days(&act));
    let tomorrow = (today + Days::new(1)).to_string();
    let act = w.all("daily_activity", &[("start_date", &ds), ("end_date", &tomorrow)], &v).await;
    assert!(days(&act).contains(&te));
    // start = end = today: nothing of today's activity or sleep.
    assert!(w.all("daily_activity", &[("start_date", &te), ("end_date", &te)], &v).await.is_empty());
    // A date-time bound is an instant (with its offset).
    let late = format!("{te}T23:59:59+03:00");
    let act = w.all("daily_activity", &[("start_date", &te), ("end_date", &late)], &v).await;
    assert_eq!(days(&act), vec![te.clone()]);
    // Today's activity grows as the day goes on.
    let steps = act[0]["steps"].as_i64().unwrap();
    w.clock.advance(std::time::Duration::from_secs(3 * 3600));
    let act = w.all("daily_activity", &[("start_date", &te), ("end_date", &tomorrow)], &v).await;
    assert!(act[0]["steps"].as_i64().unwrap() > steps);

    // A reversed range: 422 in Oura's validation shape.
    let res = w.get("daily_sleep", &[("start_date", &te), ("end_date", &ds)]).await;
    assert_eq!(res.status(), 422);
    let body: Value = res.json().await.unwrap();
    let errors = validator(&doc, "HTTPValidationError").iter_errors(&body).count();
    assert_eq!(errors, 0, "{body}");

    // Heart rate: 30 days are served, 31 refused.
    let v = validator(&doc, "TimeSeriesResponse_PublicHeartRateRow_");
    let end = w.clock_now();
    let (a, b) = ((end - Duration::days(30)).to_rfc3339(), end.to_rfc3339());
    assert!(!w.all("heartrate", &[("start_datetime", &a), ("end_datetime", &b)], &v).await.is_empty());
    let a = (end - Duration::days(31)).to_rfc3339();
    assert_eq!(w.get("heartrate", &[("start_datetime", &a), ("end_datetime", &b)]).await.status(), 400);
    // `+` in an offset must arrive as %2B (reqwest encodes it): the bound is understood.
    let plus = format!("{}T00:00:00+03:00", today - Days::new(1));
    assert_eq!(w.get("heartrate", &[("start_datetime", &plus), ("end_datetime", &b)]).await.status(), 200);
}

#[tokio::test(flavor = "multi_thread")]
async fn paging_scopes_rate_limits_and_tokens() {
    let w = world(-300).await;
    let start = (w.clock_now().date_naive() - Days::new(40)).to_string();
    let end = (w.clock_now().date_naive() + Days::new(1)).to_string();
    // Paging: 50 a page, next_token until null.
    let first: Value = w.get("sleep", &[("start_date", &start), ("end_date", &end)]).await.json().await.unwrap();
    assert_eq!(first["data"].as_array().unwrap().len(), 50);
    let next = first["next_token"].as_str().unwrap();
    let second: Value =
        w.get("sleep", &[("start_date", &start), ("end_date", &end), ("next_token", next)]).await.json().await.unwrap();
    assert_ne!(first["data"][0]["id"], second["data"][0]["id"]);

    // A withheld scope: 401 (or 403), other collections unaffected.
    w.state.lock().unwrap().granted.remove("heartrate");
    let now = w.clock_now().to_rfc3339();
    assert_eq!(w.get("heartrate", &[("start_datetime", &start), ("end_datetime", &now)]).await.status(), 401);
    w.state.lock().unwrap().withheld_status = 403;
    assert_eq!(w.get("heartrate", &[("start_datetime", &start), ("end_datetime", &now)]).await.status(), 403);
    assert_eq!(w.get("daily_sleep", &[("start_date", &start)]).await.status(), 200);

    // The rate limit: 429 with Retry-After and the X-RateLimit headers, until the window passes.
    w.state.lock().unwrap().rate_limit = Some((3, Duration::minutes(5)));
    w.clock.advance(std::time::Duration::from_secs(300));
    for _ in 0..3 {
        assert_eq!(w.get("daily_sleep", &[]).await.status(), 200);
    }
    let limited = w.get("daily_sleep", &[]).await;
    assert_eq!(limited.status(), 429);
    let h: HashMap<String, String> =
        limited.headers().iter().map(|(k, v)| (k.as_str().to_string(), v.to_str().unwrap().to_string())).collect();
    for k in ["retry-after", "x-ratelimit-limit", "x-ratelimit-window", "x-ratelimit-reset", "x-ratelimit-tier"] {
        assert!(h.contains_key(k), "{k} missing: {h:?}");
    }
    let wait: u64 = h["retry-after"].parse().unwrap();
    w.clock.advance(std::time::Duration::from_secs(wait));
    assert_eq!(w.get("daily_sleep", &[]).await.status(), 200);

    // Refresh tokens are single use; access tokens expire.
    let refresh = |t: &'static str| {
        w.http
            .post(format!("http://{}/oauth/token", w.addr))
            .form(&[
                ("grant_type", "refresh_token"),
                ("refresh_token", t),
                ("client_id", "cid"),
                ("client_secret", "csecret"),
            ])
            .send()
    };
    assert_eq!(refresh("refresh-0").await.unwrap().status(), 401, "a used refresh token works again");
    assert_eq!(refresh("refresh-1").await.unwrap().status(), 200);
    assert_eq!(w.get("daily_sleep", &[]).await.status(), 401, "the old access token still works");
    let mut w = w;
    w.token = "access-2".into();
    assert_eq!(w.get("daily_sleep", &[]).await.status(), 200);
    w.clock.advance(std::time::Duration::from_secs(86_400));
    assert_eq!(w.get("daily_sleep", &[]).await.status(), 401, "an expired access token works");
}

#[tokio::test(flavor = "multi_thread")]
async fn revoked_access_tokens_and_a_lapsed_subscription() {
    let mut w = world(180).await;
    let refresh = |w: &World, t: &'static str| {
        w.http
            .post(format!("http://{}/oauth/token", w.addr))
            .form(&[
                ("grant_type", "refresh_token"),
                ("refresh_token", t),
                ("client_id", "cid"),
                ("client_secret", "csecret"),
            ])
            .send()
    };
    // Revoked after the next request: it is answered, every later one is 401
    // (the document's 401: expired, malformed or revoked) until a refresh.
    {
        let mut f = w.state.lock().unwrap();
        f.revoke_after = vec![f.requests + 1];
    }
    assert_eq!(w.get("daily_sleep", &[]).await.status(), 200);
    for c in ["daily_sleep", "sleep", "heartrate"] {
        let res = w.get(c, &[]).await;
        assert_eq!(res.status(), 401, "{c}: a revoked access token works");
        assert!(res.json::<Value>().await.unwrap()["detail"].is_string());
    }
    assert_eq!(refresh(&w, "refresh-1").await.unwrap().status(), 200);
    w.token = "access-2".into();
    assert_eq!(w.get("daily_sleep", &[]).await.status(), 200);

    // A lapsed subscription: 403 on every collection (the document's 403), a fresh token too.
    w.state.lock().unwrap().subscription_lapsed = true;
    for c in oura_collector::collections::ALL {
        assert_eq!(w.get(c.name, &[]).await.status(), 403, "{}", c.name);
    }
    assert_eq!(refresh(&w, "refresh-2").await.unwrap().status(), 200, "the token endpoint still answers");
    w.token = "access-3".into();
    let res = w.get("daily_sleep", &[]).await;
    assert_eq!(res.status(), 403);
    assert!(res.json::<Value>().await.unwrap()["detail"].is_string());
    w.state.lock().unwrap().subscription_lapsed = false;
    assert_eq!(w.get("daily_sleep", &[]).await.status(), 200);
}
