//! data-processor's OpenAPI document: the committed copy is what the service
//! generates and serves, every documented operation is routed and answers a
//! documented status in the documented error shape, and schemathesis
//! (property-based, from the document) finds no server error and no answer
//! that breaks the document, against the service on a real PostgreSQL.

use data_processor::{AppState, MIGRATOR, app};
use myhealth_common::testing::{TempPostgres, python_tool, serve};
use serde_json::{Value, json};

#[tokio::test(flavor = "multi_thread")]
async fn openapi_document_is_committed_and_matches_the_routes() {
    let generated = serde_json::to_string_pretty(&data_processor::openapi()).unwrap() + "\n";
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/openapi.json");
    let committed = std::fs::read_to_string(path).unwrap_or_default();
    assert!(
        committed == generated,
        "services/data-processor/openapi.json is stale: run `cargo run -q -p data-processor -- openapi > services/data-processor/openapi.json`"
    );

    // No database: every operation answers without one (503, or a refusal of the request first).
    let pool = sqlx::postgres::PgPoolOptions::new()
        .acquire_timeout(std::time::Duration::from_secs(1))
        .connect_lazy("postgres://nobody@127.0.0.1:9/none")
        .unwrap();
    let addr = serve(app(AppState { pool }, myhealth_common::telemetry::init_metrics(), 1 << 20)).await;
    let http = reqwest::Client::new();
    let doc: Value = http.get(format!("http://{addr}/openapi.json")).send().await.unwrap().json().await.unwrap();
    assert_eq!(doc, serde_json::from_str::<Value>(&generated).unwrap());
    let mut operations = 0;
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let url = format!("http://{addr}{}", path.replace("{kind}", "sleep").replace("{stream}", "oura"));
            let res = http.request(method.to_uppercase().parse().unwrap(), url).send().await.unwrap();
            let status = res.status().as_u16();
            assert_ne!(status, 404, "{method} {path} is documented but not routed");
            assert_ne!(status, 405, "{method} {path} is documented but not routed for {method}");
            assert!(
                op["responses"].as_object().unwrap().contains_key(&status.to_string()),
                "{method} {path} answered {status}, which is not documented"
            );
            let body: Value = res.json().await.unwrap();
            assert!(body["error"].is_string(), "{method} {path}: {body}");
            operations += 1;
        }
    }
    assert_eq!(operations, 5);
    // The documented kinds are exactly the ones served.
    let kinds = doc["components"]["schemas"]["Kind"]["enum"].as_array().unwrap();
    assert_eq!(kinds.len(), 8);
    for k in kinds {
        assert!(myhealth_common::schema::daily_table(k.as_str().unwrap()).is_some(), "{k} is documented, not served");
    }
    // The batch's collections are the ones ingest takes.
    let batch = doc["components"]["schemas"]["Batch"]["properties"].as_object().unwrap();
    let mut documented: Vec<&str> = batch.keys().map(String::as_str).filter(|k| *k != "collector").collect();
    let mut known = myhealth_common::oura::COLLECTIONS.to_vec();
    documented.sort();
    known.sort();
    assert_eq!(documented, known);
    assert_eq!(doc["components"]["schemas"]["Batch"]["additionalProperties"], json!(false));
}

/// schemathesis against the running service with the real database: no
/// server errors, every answer conforms to the document (status, content
/// type, headers, schema).
#[tokio::test(flavor = "multi_thread")]
async fn schemathesis_finds_nothing() {
    let Some(tool) = python_tool("schemathesis") else { return };
    let pg = TempPostgres::start();
    let url = pg.database("schemathesis").await;
    let pool = sqlx::PgPool::connect(&url).await.unwrap();
    MIGRATOR.run(&pool).await.unwrap();
    let addr = serve(app(AppState { pool }, myhealth_common::telemetry::init_metrics(), 1 << 20)).await;
    let report = tempfile::tempdir().unwrap();
    let doc = format!("http://{addr}/openapi.json");
    let out = tokio::task::spawn_blocking(move || {
        std::process::Command::new(tool)
            .args(["run", &doc])
            .args(["--checks", "not_a_server_error,status_code_conformance,content_type_conformance,response_headers_conformance,response_schema_conformance"])
            .args(["--max-examples", "150", "--seed", "20261214", "--no-color", "--workers", "1"])
            .args(["--generation-database", "none", "--report", "ndjson"])
            .arg("--report-dir")
            .arg(report.path())
            .current_dir(report.path())
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "schemathesis found problems:\n{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    let summary = stdout.lines().filter(|l| l.contains("Test cases") || l.contains("passed")).collect::<Vec<_>>();
    println!("schemathesis: {}", summary.join(" | "));
    assert!(!summary.is_empty(), "no summary in:\n{stdout}");
}
