//! Payloads over 10 240 bytes: replaced by the `_truncated` stub, with the cost fields that
//! fit kept, the others named in `data.droppedKeys`, and cost totals unchanged.

use agentlens_core::pricing::PriceTable;
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

/// Returns the stored event `id` as `GET /api/events/{id}` returns it.
async fn stored_event(app: &TestApp, id: &Value) -> Value {
    let id = id.as_str().unwrap();
    let reply = app.get(&format!("/api/events/{id}")).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    reply.json
}

#[tokio::test]
async fn oversized_tier_keeps_call_fields() {
    let app = app().await;
    let event = json!({"sessionId": "s1", "agentId": "a1", "eventType": "cost_tracked",
        "timestamp": "2026-02-07T10:00:00Z",
        "payload": {"provider": "openai", "model": "gpt-4o", "inputTokens": 300,
            "outputTokens": 20, "serviceTier": "t".repeat(20_000)}});
    let reply = app.ingest(vec![event]).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
    let id = &reply.json["events"][0]["id"];

    let stored = stored_event(&app, id).await;
    let payload = &stored["payload"];
    assert_eq!(payload["type"], "_truncated");
    assert_eq!(payload["model"], "gpt-4o");
    assert_eq!(payload["provider"], "openai");
    assert_eq!(payload["inputTokens"], 300);
    assert_eq!(payload["outputTokens"], 20);
    assert!(payload.get("serviceTier").is_none());
    assert_eq!(payload["data"]["droppedKeys"], json!(["serviceTier"]));
    assert!(serde_json::to_string(payload).unwrap().len() <= MAX);
    let pricing = &stored["pricing"];
    assert_eq!(pricing["source"], "unpriced", "{pricing}");
    assert_eq!(pricing["costUsd"], Value::Null);
    let reason = pricing["unpricedReason"].as_str().unwrap_or_default();
    assert!(reason.contains("serviceTier"), "{pricing}");

    let report = app
        .get("/api/analytics/costs?from=2026-02-01&to=2026-02-28")
        .await;
    let by_model = report.json["byModel"].as_array().unwrap();
    assert_eq!(by_model.len(), 1, "{}", report.text);
    assert_eq!(by_model[0]["model"], "gpt-4o");
    assert_eq!(by_model[0]["unpricedCount"], 1);
    let session = app.get("/api/sessions/s1").await.json;
    assert_eq!(session["totalInputTokens"], 300);

    // Repricing reads the stored stub, which no longer carries the tier, so the event must
    // not get standard prices.
    let outcome = app
        .state
        .store
        .reprice_unpriced(PriceTable::shared_embedded())
        .await
        .unwrap();
    assert_eq!(outcome.priced, 0);
    let reasons: Vec<&String> = outcome.unpriced.keys().collect();
    assert_eq!(reasons, [reason], "{outcome:?}");
    let stored = stored_event(&app, id).await;
    assert_eq!(stored["pricing"]["source"], "unpriced");
}

#[tokio::test]
async fn oversized_usage_keeps_derived_cost() {
    let app = app().await;
    let whole = llm_response("s1", "a1", "gpt-4o", Value::Null, "2026-02-07T10:00:00Z");
    let mut cut = llm_response("s2", "a1", "gpt-4o", Value::Null, "2026-02-07T10:00:00Z");
    cut["payload"]["usage"]["raw"] = json!("r".repeat(20_000));
    let reply = app.ingest(vec![whole, cut]).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);

    let whole = stored_event(&app, &reply.json["events"][0]["id"]).await;
    let cut = stored_event(&app, &reply.json["events"][1]["id"]).await;
    let payload = &cut["payload"];
    assert_eq!(payload["type"], "_truncated");
    assert_eq!(payload["model"], "gpt-4o");
    assert_eq!(payload["latencyMs"], 321);
    assert!(payload.get("usage").is_none());
    assert_eq!(payload["data"]["droppedKeys"], json!(["usage"]));
    assert_eq!(cut["pricing"]["source"], "derived", "{}", cut["pricing"]);
    assert!(
        whole["pricing"]["costUsd"].is_string(),
        "{}",
        whole["pricing"]
    );
    assert_eq!(cut["pricing"]["costUsd"], whole["pricing"]["costUsd"]);
    assert!(cut["pricing"].get("unpricedReason").is_none());

    let s1 = app.get("/api/sessions/s1").await.json;
    let s2 = app.get("/api/sessions/s2").await.json;
    assert_eq!(s2["totalCostUsd"], s1["totalCostUsd"]);
    assert_eq!(s2["totalInputTokens"], s1["totalInputTokens"]);
}

/// Returns a `custom` event with the client id `id` whose payload text is 12 000 bytes and
/// ends in `tail`, far past the preview.
fn large_custom_with_id(id: &str, tail: &str) -> Value {
    let mut event = custom_of_size(12_000 - tail.len());
    event["id"] = json!(id);
    let text = event["payload"]["data"]["s"].as_str().unwrap().to_owned();
    event["payload"]["data"]["s"] = json!(format!("{text}{tail}"));
    event
}

#[tokio::test]
async fn stub_records_hash_of_payload() {
    let app = app().await;
    let event = large_custom_with_id("big-1", "end");
    let text = agentlens_core::canonical::to_js_json(&event["payload"]);

    let reply = app.ingest(vec![event]).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);

    let cut = stored_payload(&app, &reply.json["events"][0]["id"]).await;
    let digest = <sha2::Sha256 as sha2::Digest>::digest(text.as_bytes());
    assert_eq!(cut["data"]["sha256"], hex::encode(digest));
}

#[tokio::test]
async fn changed_large_payload_under_same_id_conflicts() {
    let app = app().await;
    let first = app.ingest(vec![large_custom_with_id("big-1", "aaa")]).await;
    assert_eq!(first.status, StatusCode::CREATED, "{}", first.text);

    let same = app.ingest(vec![large_custom_with_id("big-1", "aaa")]).await;
    let changed = app.ingest(vec![large_custom_with_id("big-1", "bbb")]).await;

    assert_eq!(same.status, StatusCode::CREATED, "{}", same.text);
    assert_eq!(same.json["events"][0]["duplicate"], true, "{}", same.text);
    assert_eq!(changed.status, StatusCode::CONFLICT, "{}", changed.text);
    assert!(changed.text.contains("payload"), "{}", changed.text);
}

#[tokio::test]
async fn truncated_tool_response_keeps_tool_name() {
    let app = app().await;
    let event = json!({"sessionId": "s1", "agentId": "a1", "eventType": "tool_response",
        "payload": {"toolName": "fetch", "callId": "t1", "durationMs": 5,
            "result": "r".repeat(12_000)}});

    let reply = app.ingest(vec![event]).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);

    let cut = stored_payload(&app, &reply.json["events"][0]["id"]).await;
    assert_eq!(cut["type"], "_truncated");
    assert_eq!(cut["toolName"], "fetch");
    assert_eq!(cut["callId"], "t1");
}

#[tokio::test]
async fn resend_matches_stub_of_older_version() {
    let app = app().await;
    let mut event = large_custom_with_id("big-1", "aaa");
    event["payload"]["toolName"] = json!("fetch");
    let first = app.ingest(vec![event.clone()]).await;
    assert_eq!(first.status, StatusCode::CREATED, "{}", first.text);
    // Stubs of older versions had neither `data.sha256` nor the kept `toolName`.
    let conn = rusqlite::Connection::open(app.db_path()).unwrap();
    conn.execute(
        "UPDATE events SET payload = json_remove(payload, '$.data.sha256', '$.toolName')",
        [],
    )
    .unwrap();

    let again = app.ingest(vec![event]).await;
    let resized = app
        .ingest(vec![large_custom_with_id("big-1", "aaaa")])
        .await;

    assert_eq!(again.status, StatusCode::CREATED, "{}", again.text);
    assert_eq!(again.json["events"][0]["duplicate"], true, "{}", again.text);
    assert_eq!(resized.status, StatusCode::CONFLICT, "{}", resized.text);
}
