//! `GET /api/sessions/{id}/timeline`: events in chain order and a re-verified hash chain.

use axum::http::StatusCode;
use serde_json::{json, Value};

use crate::common::{app, tool_call, TestApp};

/// Runs one SQL statement directly on the app's database file.
fn tamper(app: &TestApp, sql: &str) {
    let conn = rusqlite::Connection::open(app.state.store.path()).unwrap();
    let changed = conn.execute(sql, []).unwrap();
    assert_eq!(changed, 1, "{sql}");
}

fn ids(events: &Value) -> Vec<String> {
    events
        .as_array()
        .unwrap()
        .iter()
        .map(|event| event["id"].as_str().unwrap().to_owned())
        .collect()
}

async fn three_events(app: &TestApp) -> Vec<String> {
    let first = app
        .ingest(vec![
            tool_call("s1", "a1", "2026-02-07T10:00:00Z"),
            tool_call("s1", "a1", "2026-02-07T10:00:05Z"),
        ])
        .await;
    // Arrives last but carries the earliest timestamp.
    let late = app
        .ingest(vec![tool_call("s1", "a1", "2026-02-07T09:59:00Z")])
        .await;
    let mut stored = ids(&first.json["events"]);
    stored.extend(ids(&late.json["events"]));
    stored
}

#[tokio::test]
async fn timeline_follows_ingest_order() {
    let app = app().await;
    let stored = three_events(&app).await;
    let reply = app.get("/api/sessions/s1/timeline").await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    assert_eq!(ids(&reply.json["events"]), stored);
    assert_eq!(reply.json["chainValid"], true);
    assert_eq!(reply.json["chained"], true);
    assert_eq!(reply.json["events"][0]["prevHash"], Value::Null);
    assert_eq!(
        reply.json["events"][2]["prevHash"],
        reply.json["events"][1]["hash"]
    );
}

#[tokio::test]
async fn tampered_payload_breaks_chain() {
    let app = app().await;
    let stored = three_events(&app).await;
    tamper(
        &app,
        &format!(
            "UPDATE events SET payload = replace(payload, '\"q\":\"x\"', '\"q\":\"y\"') \
             WHERE id = '{}'",
            stored[1]
        ),
    );
    let reply = app.get("/api/sessions/s1/timeline").await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    assert_eq!(reply.json["events"][1]["payload"]["arguments"]["q"], "y");
    assert_eq!(reply.json["chainValid"], false);
    assert_eq!(reply.json["chained"], true);
}

#[tokio::test]
async fn deleted_event_breaks_chain() {
    let app = app().await;
    let stored = three_events(&app).await;
    tamper(
        &app,
        &format!("DELETE FROM events WHERE id = '{}'", stored[1]),
    );
    let reply = app.get("/api/sessions/s1/timeline").await;
    assert_eq!(reply.json["events"].as_array().unwrap().len(), 2);
    assert_eq!(reply.json["chainValid"], false);
}

#[tokio::test]
async fn single_event_is_unchained() {
    let app = app().await;
    app.ingest(vec![tool_call("s1", "a1", "2026-02-07T10:00:00Z")])
        .await;
    let reply = app.get("/api/sessions/s1/timeline").await;
    assert_eq!(reply.json["chained"], false);
    assert_eq!(reply.json["chainValid"], true);

    tamper(&app, "UPDATE events SET severity = 'error'");
    let reply = app.get("/api/sessions/s1/timeline").await;
    assert_eq!(reply.json["chainValid"], false);
}

#[tokio::test]
async fn unknown_session_timeline_is_404() {
    let app = app().await;
    let reply = app.get("/api/sessions/nope/timeline").await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND);
    assert_eq!(
        reply.json,
        json!({"error": "Session not found", "status": 404})
    );
}

#[tokio::test]
async fn awkward_payload_text_verifies() {
    let app = app().await;
    let custom = |data: Value| {
        json!({"sessionId": "s1", "agentId": "a1", "eventType": "custom",
            "timestamp": "2026-02-07T10:00:00Z", "payload": {"type": "t", "data": data}})
    };
    let body = r#"{"b":1,"10":2,"a":3,"2":[0.1,1e-7,1e21,5.0,-0.0,12345678901234567890]}"#;
    let reply = app
        .ingest(vec![
            custom(serde_json::from_str(body).unwrap()),
            custom(json!({"text": "é\u{2028}\u{1}\"/", "n": 0.0075})),
        ])
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
    let timeline = app.get("/api/sessions/s1/timeline").await;
    assert_eq!(timeline.json["chainValid"], true, "{}", timeline.text);
}
