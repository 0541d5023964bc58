//! Azure deployment names from the price overrides file, as `POST /api/pricing/quote`,
//! ingest and `agentlens prices quote` see them.

use std::process::Command;

use axum::http::StatusCode;
use serde_json::{json, Value};

use crate::common::{app_with_prices, llm_response, TestApp};

const DEPLOYMENTS: &str = r#"
[deployments.azure]
my-gpt4o-prod = "gpt-4o-2024-08-06"
"#;

async fn app_with_deployments() -> (TestApp, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("prices.toml");
    std::fs::write(&file, DEPLOYMENTS).unwrap();
    (app_with_prices(&file).await, dir)
}

fn quote_body(model: &str) -> Value {
    json!({"provider": "azure", "model": model,
        "usage": {"inputTokens": 1_000_000, "outputTokens": 1_000_000},
        "at": "2026-06-01T12:00:00Z"})
}

#[tokio::test]
async fn quote_endpoint_prices_deployment() {
    let (app, _dir) = app_with_deployments().await;

    let reply = app
        .post("/api/pricing/quote", &quote_body("my-gpt4o-prod"))
        .await;
    let direct = app
        .post("/api/pricing/quote", &quote_body("gpt-4o-2024-08-06"))
        .await;

    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    assert_eq!(reply.json["status"], "priced", "{}", reply.text);
    assert_eq!(reply.json["entry"]["deployment"], "my-gpt4o-prod");
    assert_eq!(reply.json["entry"]["model"], "gpt-4o");
    assert_eq!(reply.json["total"], direct.json["total"]);
    assert!(direct.json["entry"].get("deployment").is_none());
}

#[tokio::test]
async fn quote_endpoint_explains_unknown_deployment() {
    let (app, _dir) = app_with_deployments().await;

    let reply = app
        .post("/api/pricing/quote", &quote_body("other-prod"))
        .await;

    assert_eq!(reply.json["status"], "unpriced", "{}", reply.text);
    let reason = reply.json["unpriced"].as_str().unwrap();
    assert!(reason.contains("[deployments.azure]"), "{reason}");
}

#[tokio::test]
async fn ingest_prices_deployment_as_model() {
    let (app, _dir) = app_with_deployments().await;
    let mut event = llm_response(
        "s1",
        "a1",
        "my-gpt4o-prod",
        Value::Null,
        "2026-06-01T12:00:00Z",
    );
    event["payload"]["provider"] = json!("azure");

    let reply = app.ingest(vec![event]).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);

    let conn = rusqlite::Connection::open(app.state.store.path()).unwrap();
    let (source, model, price_model): (String, String, String) = conn
        .query_row(
            "SELECT cost_source, model, price_model FROM events",
            [],
            |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)),
        )
        .unwrap();
    assert_eq!(source, "derived");
    assert_eq!(model, "my-gpt4o-prod");
    assert_eq!(price_model, "gpt-4o");
}

#[test]
fn cli_quote_prices_deployment() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("prices.toml");
    std::fs::write(&file, DEPLOYMENTS).unwrap();
    let usage = r#"{"inputTokens":1000000,"outputTokens":1000000}"#;

    let output = Command::new(env!("CARGO_BIN_EXE_agentlens"))
        .args([
            "prices",
            "quote",
            "--provider",
            "azure",
            "--model",
            "my-gpt4o-prod",
        ])
        .args(["--usage", usage, "--at", "2026-06-01T12:00:00Z", "--prices"])
        .arg(&file)
        .env_remove("AGENTLENS_PRICES")
        .output()
        .unwrap();

    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    let json: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(json["entry"]["deployment"], "my-gpt4o-prod");
    assert_eq!(json["entry"]["model"], "gpt-4o");
}
