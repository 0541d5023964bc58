//! Payloads over 10 240 bytes: replaced by the `_truncated` stub, with the cost fields kept
//! and cost totals unchanged.

use axum::http::StatusCode;
use serde_json::{json, Value};

use crate::common::{app, llm_response, TestApp};

const MAX: usize = 10_240;

/// Returns a `custom` event whose payload text is exactly `size` bytes.
fn custom_of_size(size: usize) -> Value {
    let empty = json!({"type": "t", "data": {"s": ""}});
    let padding = size - serde_json::to_string(&empty).unwrap().len();
    json!({"sessionId": "s1", "agentId": "a1", "eventType": "custom",
        "payload": {"type": "t", "data": {"s": "x".repeat(padding)}}})
}

async fn stored_payload(app: &TestApp, id: &Value) -> Value {
    let id = id.as_str().unwrap();
    app.get(&format!("/api/events/{id}")).await.json["payload"].clone()
}

#[tokio::test]
async fn payload_at_limit_is_kept() {
    let app = app().await;
    let reply = app
        .ingest(vec![custom_of_size(MAX), custom_of_size(MAX + 1)])
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);

    let kept = stored_payload(&app, &reply.json["events"][0]["id"]).await;
    assert_eq!(kept["type"], "t");
    assert_eq!(serde_json::to_string(&kept).unwrap().len(), MAX);

    let cut = stored_payload(&app, &reply.json["events"][1]["id"]).await;
    assert_eq!(cut["type"], "_truncated");
    assert_eq!(cut["data"]["_truncated"], true);
    assert_eq!(cut["data"]["originalSize"], MAX + 1);
    assert_eq!(cut["data"]["maxSize"], MAX);
    let preview = cut["data"]["preview"].as_str().unwrap();
    assert_eq!(preview.chars().count(), 203);
    assert!(
        preview.starts_with(r#"{"type":"t","data":{"s":"xxx"#),
        "{preview}"
    );
    assert!(preview.ends_with("x..."), "{preview}");
}

#[tokio::test]
async fn long_completion_keeps_its_cost() {
    let app = app().await;
    let mut event = llm_response("s1", "a1", "gpt-4.1", json!(0.0123), "2026-02-07T10:00:00Z");
    event["payload"]["completion"] = json!("word ".repeat(10_000));
    let reply = app.ingest(vec![event.clone()]).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);

    let payload = stored_payload(&app, &reply.json["events"][0]["id"]).await;
    assert_eq!(payload["type"], "_truncated");
    assert!(payload["data"]["originalSize"].as_u64().unwrap() > 50_000);
    assert_eq!(payload["costUsd"], 0.0123);
    assert_eq!(payload["usage"], event["payload"]["usage"]);
    assert_eq!(payload["model"], "gpt-4.1");
    assert_eq!(payload["provider"], "openai");
    assert_eq!(payload["callId"], event["payload"]["callId"]);
    assert!(payload.get("completion").is_none());

    let session = app.get("/api/sessions/s1").await;
    assert!(
        session.text.contains("\"totalCostUsd\":0.0123,"),
        "{}",
        session.text
    );
    assert_eq!(session.json["totalInputTokens"], 1000);
    let report = app
        .get("/api/analytics/costs?from=2026-02-01&to=2026-02-28")
        .await;
    assert!(
        report.text.contains("\"totals\":{\"totalCostUsd\":0.0123,"),
        "{}",
        report.text
    );
    let timeline = app.get("/api/sessions/s1/timeline").await.json;
    assert_eq!(timeline["chainValid"], true);
}

#[tokio::test]
async fn truncated_cost_tracked_keeps_tokens() {
    let app = app().await;
    let event = json!({"sessionId": "s1", "agentId": "a1", "eventType": "cost_tracked",
        "payload": {"provider": "anthropic", "model": "claude-sonnet-4", "inputTokens": 300,
            "outputTokens": 20, "totalTokens": 320, "cacheReadTokens": 100, "costUsd": "0.5",
            "notes": "n".repeat(20_000)}});
    let reply = app.ingest(vec![event]).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);

    let payload = stored_payload(&app, &reply.json["events"][0]["id"]).await;
    assert_eq!(payload["type"], "_truncated");
    assert_eq!(payload["inputTokens"], 300);
    assert_eq!(payload["outputTokens"], 20);
    assert_eq!(payload["totalTokens"], 320);
    assert_eq!(payload["cacheReadTokens"], 100);
    assert!(payload.get("notes").is_none());
    let session = app.get("/api/sessions/s1").await;
    assert!(
        session.text.contains("\"totalCostUsd\":0.5,"),
        "{}",
        session.text
    );
}

#[tokio::test]
async fn truncated_cost_tracked_keeps_every_optional_count() {
    let app = app().await;
    let event = json!({"sessionId": "s1", "agentId": "a1", "eventType": "cost_tracked",
        "payload": {"provider": "openai", "model": "gpt-4o", "inputTokens": 300,
            "outputTokens": 20, "totalTokens": 320, "inputAudioTokens": 40,
            "webSearches": 2, "fileSearches": 3, "codeInterpreterSessions": 1,
            "costUsd": "0.5", "notes": "n".repeat(20_000)}});
    let reply = app.ingest(vec![event]).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);

    let payload = stored_payload(&app, &reply.json["events"][0]["id"]).await;
    assert_eq!(payload["type"], "_truncated");
    assert_eq!(payload["inputAudioTokens"], 40);
    assert_eq!(payload["webSearches"], 2);
    assert_eq!(payload["fileSearches"], 3);
    assert_eq!(payload["codeInterpreterSessions"], 1);
    assert!(payload.get("notes").is_none());
}
