//! Ingest lists a session's events in `session_events` after the fact (migration 23).
//! Reads by session must find each event once, whether it is indexed yet or still in the
//! tail, and a file from before migration 23 must give the same results once migrated.

use std::time::{Duration, Instant};

use axum::http::StatusCode;
use rusqlite::Connection;
use serde_json::{json, Value};

use crate::common::{app, cost_event, schema_version, tool_call, TestApp};

/// Waits until the writer has indexed every stored event.
async fn wait_until_indexed(conn: &Connection) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let (through, last): (i64, i64) = conn
            .query_row(
                "SELECT indexed_through, (SELECT COALESCE(MAX(seq), 0) FROM events) \
                 FROM session_index_state",
                [],
                |row| Ok((row.get(0)?, row.get(1)?)),
            )
            .unwrap();
        if through == last {
            return;
        }
        assert!(Instant::now() < deadline, "the tail was never indexed");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Moves every event after `through` back into the tail, as if ingest had not indexed it.
fn rewind_index(conn: &Connection, through: i64) {
    conn.execute("DELETE FROM session_events WHERE seq > ?1", [through])
        .unwrap();
    conn.execute(
        "UPDATE session_index_state SET indexed_through = ?1",
        [through],
    )
    .unwrap();
}

/// Sends two sessions whose timestamps interleave, in two batches.
async fn send_sessions(app: &TestApp, batch: usize) {
    let mut events = Vec::new();
    for index in 0..24 {
        // Timestamps out of send order, with ties, so order needs the `seq` tiebreak.
        let second = (index * 7 + batch * 3) % 20;
        let timestamp = format!("2026-11-0{}T10:00:{second:02}.000Z", 1 + batch);
        let session = if index % 3 == 0 { "other" } else { "long" };
        let agent = if index % 2 == 0 { "planner" } else { "coder" };
        events.push(if index % 4 == 0 {
            tool_call(session, agent, &timestamp)
        } else {
            cost_event(session, agent, "gpt-4o", json!("0.001"), &timestamp)
        });
    }
    let reply = app.ingest(events).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
}

/// Reads every session listing that the index serves, as one comparable value.
async fn session_reads(app: &TestApp) -> Value {
    let mut reads = Vec::new();
    let uris = [
        "/api/sessions/long/timeline",
        "/api/events?sessionId=long&limit=500",
        "/api/events?sessionId=long&limit=5&offset=7",
        "/api/events?sessionId=long&limit=6&offset=3&order=asc",
        "/api/events?sessionId=long&eventType=tool_call&limit=3",
        "/api/events?sessionId=long&agentId=coder&limit=4&offset=2&order=asc",
        "/api/events?sessionId=long&from=2026-11-01T10:00:05.000Z&to=2026-11-02T10:00:09.000Z",
        "/api/events?sessionId=other&limit=500&order=asc",
        "/api/events?sessionId=missing",
        "/api/sessions/long",
    ];
    for uri in uris {
        let reply = app.get(uri).await;
        assert_eq!(reply.status, StatusCode::OK, "{uri}: {}", reply.text);
        reads.push(json!({ "uri": uri, "body": reply.json }));
    }
    Value::Array(reads)
}

/// Returns the ids of a listing's events.
fn ids(listing: &Value) -> Vec<&str> {
    listing["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|event| event["id"].as_str().unwrap())
        .collect()
}

#[tokio::test]
async fn session_reads_agree_whatever_part_is_indexed() {
    let app = app().await;
    let conn = Connection::open(app.db_path()).unwrap();
    send_sessions(&app, 0).await;
    send_sessions(&app, 1).await;
    wait_until_indexed(&conn).await;
    let indexed = session_reads(&app).await;

    // The first batch indexed and the second in the tail, then everything in the tail.
    rewind_index(&conn, 24);
    assert_eq!(session_reads(&app).await, indexed);
    rewind_index(&conn, 0);
    assert_eq!(session_reads(&app).await, indexed);

    // The listing of the whole session is in timestamp order, ties in send order, and
    // lists every event of the session once.
    let all = &indexed[1]["body"];
    assert_eq!(all["total"], 32);
    let events = all["events"].as_array().unwrap();
    assert_eq!(events.len(), 32);
    let keys: Vec<&str> = events
        .iter()
        .map(|event| event["timestamp"].as_str().unwrap())
        .collect();
    assert!(keys.windows(2).all(|pair| pair[0] >= pair[1]), "{keys:?}");
    let timeline: Vec<&str> = indexed[0]["body"]["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|event| event["id"].as_str().unwrap())
        .collect();
    let mut listed = ids(all);
    listed.sort_unstable();
    let mut chained = timeline.clone();
    chained.sort_unstable();
    assert_eq!(listed, chained);
    assert_eq!(indexed[0]["body"]["chainValid"], true);

    // A page is the matching slice of the whole listing.
    let page = ids(&indexed[2]["body"]);
    assert_eq!(page, ids(all)[7..12]);
    assert_eq!(indexed[2]["body"]["hasMore"], true);
    assert_eq!(ids(&indexed[4]["body"]).len(), 3);
    assert_eq!(indexed[4]["body"]["total"], 8);
}

#[tokio::test]
async fn idle_writer_indexes_the_tail() {
    let app = app().await;
    let conn = Connection::open(app.db_path()).unwrap();
    send_sessions(&app, 0).await;
    wait_until_indexed(&conn).await;
    let entries: i64 = conn
        .query_row("SELECT COUNT(*) FROM session_events", [], |row| row.get(0))
        .unwrap();
    assert_eq!(entries, 24);
}

#[tokio::test]
async fn migration_fills_session_index_table() {
    let app = app().await;
    send_sessions(&app, 0).await;
    send_sessions(&app, 1).await;
    let before = session_reads(&app).await;

    // Turn the file back into one of migration 22: the index, and no table.
    {
        let conn = Connection::open(app.db_path()).unwrap();
        wait_until_indexed(&conn).await;
        conn.execute_batch(
            "BEGIN;
             DROP TABLE session_events;
             DROP TABLE session_index_state;
             CREATE INDEX events_tenant_session ON events (tenant_id, session_id, timestamp);
             DELETE FROM schema_migrations WHERE version = 23;
             COMMIT;",
        )
        .unwrap();
    }

    let app = app.reopen().await;
    let conn = Connection::open(app.db_path()).unwrap();
    assert_eq!(schema_version(&conn), 23);
    let (entries, through): (i64, i64) = conn
        .query_row(
            "SELECT (SELECT COUNT(*) FROM session_events), indexed_through \
             FROM session_index_state",
            [],
            |row| Ok((row.get(0)?, row.get(1)?)),
        )
        .unwrap();
    assert_eq!((entries, through), (48, 48));
    let old_index: i64 = conn
        .query_row(
            "SELECT COUNT(*) FROM sqlite_master WHERE name = 'events_tenant_session'",
            [],
            |row| row.get(0),
        )
        .unwrap();
    assert_eq!(old_index, 0);
    assert_eq!(session_reads(&app).await, before);
}

#[tokio::test]
async fn restart_indexes_leftover_tail() {
    let app = app().await;
    send_sessions(&app, 0).await;
    {
        let conn = Connection::open(app.db_path()).unwrap();
        wait_until_indexed(&conn).await;
        rewind_index(&conn, 10);
    }

    let app = app.reopen().await;
    let conn = Connection::open(app.db_path()).unwrap();
    wait_until_indexed(&conn).await;
    let entries: i64 = conn
        .query_row("SELECT COUNT(*) FROM session_events", [], |row| row.get(0))
        .unwrap();
    assert_eq!(entries, 24);
}
