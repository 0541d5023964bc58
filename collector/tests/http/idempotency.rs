//! `POST /api/events` with client ids: a resent event is stored once, and an id reused for
//! a different event is refused without storing anything of its batch.

use axum::http::StatusCode;
use serde_json::{json, Value};

use crate::common::{app, cost_event, tool_call};

/// Returns a `cost_tracked` event of session `s1` with client id `id`.
fn with_id(id: &str, cost: Value, timestamp: &str) -> Value {
    let mut event = cost_event("s1", "a1", "gpt-4.1", cost, timestamp);
    event["id"] = json!(id);
    event
}

#[tokio::test]
async fn duplicate_client_id_is_stored_once() {
    let app = app().await;
    let event = |id: &str| {
        let mut event = cost_event(
            "s-p07",
            "a1",
            "gpt-4.1",
            json!(0.003442),
            "2026-02-07T10:00:00Z",
        );
        event["id"] = json!(id);
        event
    };
    let first = app.ingest(vec![event("evt-0001")]).await;
    assert_eq!(first.status, StatusCode::CREATED);
    let second = app.ingest(vec![event("evt-0001"), event("evt-0002")]).await;

    assert_eq!(second.status, StatusCode::CREATED);
    assert_eq!(second.json["ingested"], 1);
    assert_eq!(second.json["duplicates"], 1);
    assert_eq!(second.json["events"][0]["duplicate"], true);
    assert_eq!(
        second.json["events"][0]["id"],
        first.json["events"][0]["id"]
    );
    assert_eq!(
        second.json["events"][0]["hash"],
        first.json["events"][0]["hash"]
    );
    assert!(second.json["events"][1].get("duplicate").is_none());

    let session = app.get("/api/sessions/s-p07").await;
    assert_eq!(session.json["eventCount"], 2);
    assert!(
        session.text.contains("\"totalCostUsd\":0.006884"),
        "{}",
        session.text
    );
}

#[tokio::test]
async fn duplicate_in_one_batch_is_stored_once() {
    let app = app().await;
    let at = "2026-02-07T10:00:00Z";
    let reply = app
        .ingest(vec![
            with_id("evt-1", json!(0.25), at),
            with_id("evt-1", json!(0.25), at),
            with_id("evt-2", json!(0.25), "2026-02-07T10:00:02Z"),
        ])
        .await;

    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
    assert_eq!(reply.json["ingested"], 2);
    assert_eq!(reply.json["duplicates"], 1);
    let events = &reply.json["events"];
    assert_eq!(events[1]["duplicate"], true);
    assert_eq!(events[1]["id"], events[0]["id"]);
    assert_eq!(events[1]["hash"], events[0]["hash"]);

    // The event after the duplicate chains to the first one.
    let third = events[2]["id"].as_str().unwrap();
    let stored = app.get(&format!("/api/events/{third}")).await.json;
    assert_eq!(stored["prevHash"], events[0]["hash"]);

    let session = app.get("/api/sessions/s1").await;
    assert_eq!(session.json["eventCount"], 2);
    assert!(
        session.text.contains("\"totalCostUsd\":0.5"),
        "{}",
        session.text
    );
    assert_eq!(app.get("/api/events").await.json["total"], 2);
}

#[tokio::test]
async fn retry_leaves_its_session_unchanged() {
    let app = app().await;
    let mut first = tool_call("s1", "a1", "2026-02-07T10:00:00Z");
    first["id"] = json!("evt-1");
    app.ingest(vec![first.clone()]).await;
    let before = app.get("/api/sessions/s1").await.json;

    // The retry is the only event of its session in this batch, and another session follows.
    let reply = app
        .ingest(vec![first, tool_call("s2", "a1", "2026-02-07T10:00:02Z")])
        .await;

    assert_eq!(reply.status, StatusCode::CREATED);
    assert_eq!(reply.json["duplicates"], 1);
    assert_eq!(reply.json["ingested"], 1);
    let after = app.get("/api/sessions/s1").await.json;
    assert_eq!(after, before);
    assert_eq!(app.get("/api/sessions").await.json["total"], 2);
}

#[tokio::test]
async fn retry_with_other_spelling_is_a_duplicate() {
    let app = app().await;
    let body = r#"{"events": [{"id": "evt-1", "sessionId": "s1", "agentId": "a1",
        "eventType": "cost_tracked", "timestamp": "2026-02-07T10:00:00Z",
        "payload": {"provider": "openai", "model": "gpt-4.1", "inputTokens": 1000,
        "outputTokens": 500, "totalTokens": 1500, "costUsd": 2.50e-1}}]}"#;
    let first = app
        .send(axum::http::Method::POST, "/api/events", Some(body.into()))
        .await;
    assert_eq!(first.status, StatusCode::CREATED, "{}", first.text);

    // The same event with its payload keys in another order, the cost spelled
    // differently and the time given with an offset.
    let mut retry = with_id("evt-1", json!(0), "2026-02-07T11:00:00+01:00");
    retry["payload"] = json!({"costUsd": 0.25, "totalTokens": 1500, "outputTokens": 500,
        "inputTokens": 1000, "model": "gpt-4.1", "provider": "openai"});
    let reply = app.ingest(vec![retry]).await;

    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
    assert_eq!(reply.json["duplicates"], 1);
    assert_eq!(reply.json["events"][0]["id"], first.json["events"][0]["id"]);
    assert_eq!(app.get("/api/events").await.json["total"], 1);
}

#[tokio::test]
async fn retry_without_timestamp_is_a_duplicate() {
    let app = app().await;
    let mut event = tool_call("s1", "a1", "2026-02-07T10:00:00Z");
    event["id"] = json!("evt-1");
    event.as_object_mut().unwrap().remove("timestamp");
    let first = app.ingest(vec![event.clone()]).await;
    assert_eq!(first.status, StatusCode::CREATED, "{}", first.text);
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;

    // The server's clock gave the first send its time; the retry arrives later.
    let reply = app.ingest(vec![event]).await;

    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
    assert_eq!(reply.json["duplicates"], 1);
}

#[tokio::test]
async fn reused_id_other_cost_gets_409() {
    let app = app().await;
    let at = "2026-02-07T10:00:00Z";
    let stored = app.ingest(vec![with_id("evt-1", json!(0.25), at)]).await;
    assert_eq!(stored.status, StatusCode::CREATED);

    let reply = app
        .ingest(vec![
            with_id("evt-2", json!(1), at),
            with_id("evt-1", json!(0.75), at),
        ])
        .await;

    assert_eq!(reply.status, StatusCode::CONFLICT, "{}", reply.text);
    assert_eq!(reply.json["status"], 409);
    let detail = &reply.json["details"][0];
    assert_eq!(detail["path"], "events.1.id");
    let message = detail["message"].as_str().unwrap();
    assert!(message.contains("\"evt-1\""), "{message}");
    assert!(message.contains("payload"), "{message}");
    assert!(reply.json["hint"].as_str().unwrap().contains("new id"));

    // Neither event of the refused batch counts.
    assert_eq!(app.get("/api/events").await.json["total"], 1);
    let session = app.get("/api/sessions/s1").await;
    assert!(
        session.text.contains("\"totalCostUsd\":0.25"),
        "{}",
        session.text
    );
}

#[tokio::test]
async fn reused_id_is_named_by_first_differing_field() {
    let app = app().await;
    let mut first = tool_call("s1", "a1", "2026-02-07T10:00:00Z");
    first["id"] = json!("evt-1");
    assert_eq!(
        app.ingest(vec![first.clone()]).await.status,
        StatusCode::CREATED
    );

    let changes: [(&str, Value); 4] = [
        ("sessionId", json!("s-other")),
        ("agentId", json!("a-other")),
        ("timestamp", json!("2026-02-07T10:00:01Z")),
        ("metadata", json!({"run": 2})),
    ];
    for (field, value) in changes {
        let mut reused = first.clone();
        reused[field] = value;
        let reply = app.ingest(vec![reused]).await;
        assert_eq!(
            reply.status,
            StatusCode::CONFLICT,
            "{field}: {}",
            reply.text
        );
        let message = reply.json["details"][0]["message"].as_str().unwrap();
        assert!(message.contains(field), "{field}: {message}");
    }

    // No session was started by a refused event.
    assert_eq!(
        app.get("/api/sessions/s-other").await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(app.get("/api/events").await.json["total"], 1);
}

#[tokio::test]
async fn reused_id_within_one_batch_gets_409() {
    let app = app().await;
    let at = "2026-02-07T10:00:00Z";
    let reply = app
        .ingest(vec![
            with_id("evt-1", json!(0.25), at),
            with_id("evt-1", json!(0.5), at),
        ])
        .await;

    assert_eq!(reply.status, StatusCode::CONFLICT, "{}", reply.text);
    assert_eq!(reply.json["details"][0]["path"], "events.1.id");
    assert_eq!(app.get("/api/events").await.json["total"], 0);
}
