//! Migration 20 restores the resume timestamp of sessions stored before migration 19, so
//! that a late `session_ended` of an earlier run leaves a resumed session active after an
//! upgrade as it does for sessions stored since.

use rusqlite::Connection;
use serde_json::{json, Value};

use crate::common::{app, schema_version, TestApp};
use crate::cost_fill_migration::dump;

fn lifecycle(session: &str, event_type: &str, timestamp: &str) -> Value {
    json!({
        "sessionId": session, "agentId": "a1", "eventType": event_type,
        "timestamp": timestamp, "payload": {"reason": "error"},
    })
}

/// Rows of `sessions` with every column, one line of text per row.
fn session_rows(conn: &Connection) -> Vec<Vec<String>> {
    dump(conn, &["SELECT * FROM sessions ORDER BY tenant_id, id"])
}

/// Turns the app's file back into one written before migration 19: no resume timestamps,
/// and migration 20 not applied. Reopening the app then runs migration 20.
async fn upgraded_from_before_resume_rule(app: TestApp) -> (TestApp, Connection) {
    let conn = Connection::open(app.db_path()).unwrap();
    conn.execute_batch(
        "BEGIN;
         UPDATE sessions SET resumed_at = NULL;
         DELETE FROM schema_migrations WHERE version = 20;
         COMMIT",
    )
    .unwrap();
    let app = app.reopen().await;
    assert!(schema_version(&conn) >= 20);
    (app, conn)
}

#[tokio::test]
async fn late_end_leaves_session_resumed_before_upgrade_active() {
    let app = app().await;
    app.ingest(vec![
        lifecycle("s1", "session_started", "2026-02-07T10:00:00Z"),
        lifecycle("s1", "session_ended", "2026-02-07T10:05:00Z"),
        lifecycle("s1", "session_started", "2026-02-07T10:07:00Z"),
    ])
    .await;
    let (app, conn) = upgraded_from_before_resume_rule(app).await;
    let resumed_at: Option<String> = conn
        .query_row(
            "SELECT resumed_at FROM sessions WHERE id = 's1'",
            [],
            |row| row.get(0),
        )
        .unwrap();
    assert_eq!(resumed_at.as_deref(), Some("2026-02-07T10:07:00.000000Z"));

    app.ingest(vec![lifecycle(
        "s1",
        "session_ended",
        "2026-02-07T10:06:00Z",
    )])
    .await;
    let session = app.get("/api/sessions/s1").await.json;
    assert_eq!(session["status"], "active", "{session}");
    assert!(session.get("endedAt").is_none(), "{session}");
}

#[tokio::test]
async fn migration_leaves_sessions_without_resume_as_stored() {
    let app = app().await;
    app.ingest(vec![
        // Ended, resumed and ended again.
        lifecycle("ended", "session_started", "2026-02-07T10:00:00Z"),
        lifecycle("ended", "session_ended", "2026-02-07T10:05:00Z"),
        lifecycle("ended", "session_started", "2026-02-07T10:07:00Z"),
        lifecycle("ended", "session_ended", "2026-02-07T10:09:00Z"),
        // Never ended.
        lifecycle("open", "session_started", "2026-02-07T10:00:00Z"),
        // A start resent after the end, which is no resume.
        lifecycle("closed", "session_started", "2026-02-07T10:00:00Z"),
        lifecycle("closed", "session_ended", "2026-02-07T10:05:00Z"),
        lifecycle("closed", "session_started", "2026-02-07T10:00:00Z"),
    ])
    .await;
    let conn = Connection::open(app.db_path()).unwrap();
    // Older builds re-activated a session on any later start, so a file may hold an
    // active row whose events now replay to an ended session.
    conn.execute_batch(
        "UPDATE sessions SET resumed_at = NULL;
         UPDATE sessions SET ended_at = NULL, status = 'active' WHERE id = 'ended'",
    )
    .unwrap();
    let before = session_rows(&conn);
    let (_app, conn) = upgraded_from_before_resume_rule(app).await;
    assert_eq!(session_rows(&conn), before);
}
