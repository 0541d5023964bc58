//! Ingest updates a stored session row in place, and rewrites its `started_at` (and the
//! index entry on it) only when an earlier event moves the start.

use axum::http::StatusCode;
use rusqlite::Connection;
use serde_json::json;

use crate::common::{app, cost_event, tool_call};

/// Returns the result of SQLite's `integrity_check`, which compares every index entry
/// with its row.
fn integrity(path: &std::path::Path) -> String {
    let conn = Connection::open(path).unwrap();
    conn.query_row("PRAGMA integrity_check", [], |row| row.get(0))
        .unwrap()
}

#[tokio::test]
async fn earlier_event_moves_start_and_date_filter() {
    let app = app().await;
    let reply = app
        .ingest(vec![tool_call("s1", "a1", "2026-02-08T10:00:00Z")])
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
    let reply = app
        .ingest(vec![cost_event(
            "s1",
            "a1",
            "gpt-4o",
            json!("0.5"),
            "2026-02-07T23:00:00Z",
        )])
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);

    let session = app.get("/api/sessions/s1").await.json;
    assert_eq!(session["startedAt"], "2026-02-07T23:00:00.000000Z");
    assert_eq!(session["lastEventAt"], "2026-02-08T10:00:00.000000Z");
    assert_eq!(session["totalCostUsd"], json!(0.5));
    let on_7th = app.get("/api/sessions?from=2026-02-07&to=2026-02-07").await;
    assert_eq!(on_7th.json["total"], 1, "{}", on_7th.text);
    let on_8th = app.get("/api/sessions?from=2026-02-08&to=2026-02-08").await;
    assert_eq!(on_8th.json["total"], 0, "{}", on_8th.text);
    assert_eq!(integrity(&app.db_path()), "ok");
}

#[tokio::test]
async fn batches_keep_one_row_per_session() {
    let app = app().await;
    for minute in 0..5 {
        let events = (0..3)
            .map(|session| {
                let timestamp = format!("2026-02-07T10:0{minute}:0{session}Z");
                tool_call(&format!("s{session}"), "a1", &timestamp)
            })
            .collect();
        let reply = app.ingest(events).await;
        assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
    }

    let listed = app.get("/api/sessions").await;
    assert_eq!(listed.json["total"], 3, "{}", listed.text);
    for session in listed.json["sessions"].as_array().unwrap() {
        assert_eq!(session["eventCount"], 5, "{session}");
        assert_eq!(session["toolCallCount"], 5, "{session}");
        let id = session["id"].as_str().unwrap();
        let index: usize = id[1..].parse().unwrap();
        assert_eq!(
            session["startedAt"],
            format!("2026-02-07T10:00:0{index}.000000Z")
        );
        assert_eq!(
            session["lastEventAt"],
            format!("2026-02-07T10:04:0{index}.000000Z")
        );
    }
    let on_7th = app.get("/api/sessions?from=2026-02-07&to=2026-02-07").await;
    assert_eq!(on_7th.json["total"], 3, "{}", on_7th.text);
    assert_eq!(integrity(&app.db_path()), "ok");
}
