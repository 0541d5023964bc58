//! Migration 9 limits the cost rule to one session. A database written before it can hold
//! `cost_tracked` rows superseded by an `llm_response` of another session, with those rows
//! taken out of every total. Reopening the database must make them count again in the
//! session rows, the rollups and the running totals, so every report agrees.

use agentlens_core::event::format_timestamp;
use axum::http::StatusCode;
use chrono::{Duration, Utc};
use rusqlite::{params, Connection};
use serde_json::{json, Value};

use crate::common::{app, schema_version, spend_alert_value, TestApp};

/// Pico-dollars of the cross-session `cost_tracked` row: $2.50.
const TRACKED_PICO: i64 = 2_500_000_000_000;

/// Input tokens of the cross-session `cost_tracked` row.
const TRACKED_INPUT: i64 = 1_000_000;

fn event(session: &str, agent: &str, event_type: &str, call_id: &str, cost: &str) -> Value {
    let model = if cost == "2.5" { "gpt-4o" } else { "gpt-4.1" };
    let input = if cost == "2.5" { TRACKED_INPUT } else { 100 };
    let mut payload = json!({
        "callId": call_id, "provider": "openai", "model": model,
        "costUsd": cost.parse::<Value>().unwrap(),
    });
    if event_type == "llm_response" {
        payload["completion"] = json!("ok");
        payload["finishReason"] = json!("stop");
        payload["latencyMs"] = json!(5);
        payload["usage"] =
            json!({"inputTokens": input, "outputTokens": 1, "totalTokens": input + 1});
    } else {
        payload["inputTokens"] = json!(input);
        payload["outputTokens"] = json!(0);
    }
    json!({
        "sessionId": session,
        "agentId": agent,
        "eventType": event_type,
        "timestamp": format_timestamp(&(Utc::now() - Duration::minutes(5))),
        "payload": payload,
    })
}

/// Returns the stored id of the one event of `session` with `event_type` and `call_id`.
fn event_id(conn: &Connection, session: &str, event_type: &str, call_id: &str) -> String {
    conn.query_row(
        "SELECT id FROM events WHERE session_id = ?1 AND event_type = ?2 AND call_id = ?3",
        params![session, event_type, call_id],
        |row| row.get(0),
    )
    .unwrap()
}

/// Removes `pico` and one row from agent `agent`'s entry in every `tenant_cost_rollups`
/// value. Each entry of a value is the id length as a little-endian `u32`, the id, the
/// cost as a little-endian `i128` and the row count as a little-endian `i64`.
fn subtract_from_tenant_rollups(conn: &Connection, agent: &str, pico: i64) {
    let rows: Vec<(i64, i64, Vec<u8>)> = conn
        .prepare("SELECT span, bucket_start, agents FROM tenant_cost_rollups")
        .unwrap()
        .query_map([], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)))
        .unwrap()
        .collect::<rusqlite::Result<_>>()
        .unwrap();
    for (span, start, value) in rows {
        let mut rewritten = Vec::new();
        let mut rest = value.as_slice();
        while !rest.is_empty() {
            let length = u32::from_le_bytes(rest[..4].try_into().unwrap()) as usize;
            let id = &rest[4..4 + length];
            let mut cost = i128::from_le_bytes(rest[4 + length..20 + length].try_into().unwrap());
            let mut count = i64::from_le_bytes(rest[20 + length..28 + length].try_into().unwrap());
            if id == agent.as_bytes() {
                cost -= i128::from(pico);
                count -= 1;
            }
            if cost != 0 || count != 0 {
                rewritten.extend_from_slice(&rest[..4 + length]);
                rewritten.extend_from_slice(&cost.to_le_bytes());
                rewritten.extend_from_slice(&count.to_le_bytes());
            }
            rest = &rest[28 + length..];
        }
        conn.execute(
            "UPDATE tenant_cost_rollups SET agents = ?1 WHERE span = ?2 AND bucket_start = ?3",
            params![rewritten, span, start],
        )
        .unwrap();
    }
}

/// Rewrites the database into the state that the tenant-wide cost rule left. The
/// `cost_tracked` of `x1` is superseded by the `llm_response` of `y1`, and its cost and
/// tokens are taken out of every derived table. The `cost_tracked` of `z1` points at the
/// response of `w1`.
fn write_tenant_wide_state(conn: &Connection) {
    let x1_tracked = event_id(conn, "x1", "cost_tracked", "call_1");
    let y1_response = event_id(conn, "y1", "llm_response", "call_1");
    let z1_tracked = event_id(conn, "z1", "cost_tracked", "call_3");
    let w1_response = event_id(conn, "w1", "llm_response", "call_3");
    let high = TRACKED_PICO / 1_000_000;
    conn.execute_batch("BEGIN").unwrap();

    // The events.
    conn.execute(
        "UPDATE events SET superseded_by = ?1 WHERE id = ?2",
        params![y1_response, x1_tracked],
    )
    .unwrap();
    conn.execute(
        "UPDATE events SET superseded_by = ?1 WHERE id = ?2",
        params![w1_response, z1_tracked],
    )
    .unwrap();

    // The session row of x1, whose other counted row costs $0.30.
    conn.execute(
        "UPDATE sessions SET total_cost_usd = '0.3', input_tokens = input_tokens - ?1 \
         WHERE id = 'x1'",
        params![TRACKED_INPUT],
    )
    .unwrap();

    // The rollups and running totals. Only the tracked row of x1 has model gpt-4o.
    conn.execute(
        "UPDATE cost_rollups SET cost_high = 0, cost_low = 0, input_tokens = 0, \
         event_count = 0 WHERE model = 'gpt-4o'",
        [],
    )
    .unwrap();
    for table in ["session_cost_rollups", "agent_session_cost_totals"] {
        let sql = format!(
            "UPDATE {table} SET cost_high = cost_high - ?1, input_tokens = input_tokens - ?2, \
             event_count = event_count - 1 WHERE session_id = 'x1' AND agent_id = 'team-a'"
        );
        conn.execute(&sql, params![high, TRACKED_INPUT]).unwrap();
    }
    conn.execute(
        "UPDATE session_cost_totals SET cost_high = cost_high - ?1, \
         input_tokens = input_tokens - ?2, event_count = event_count - 1, \
         cost_bound = cost_bound - ?3 WHERE session_id = 'x1'",
        params![high, TRACKED_INPUT, TRACKED_PICO],
    )
    .unwrap();
    conn.execute(
        "UPDATE agent_session_cost_totals SET cost_bound = cost_bound - ?1 \
         WHERE session_id = 'x1'",
        params![TRACKED_PICO],
    )
    .unwrap();
    subtract_from_tenant_rollups(conn, "team-a", TRACKED_PICO);

    conn.execute_batch("COMMIT").unwrap();
}

/// The figures that session totals, the cost report and a `cost_exceeds` alert give.
#[derive(Debug, PartialEq)]
struct Reports {
    x1_total: String,
    x1_input_tokens: i64,
    z1_total: String,
    report_total: String,
    report_x1: String,
    report_team_a: String,
    over_time_total: String,
    over_time_team_a: String,
    alert_value: String,
}

async fn reports(app: &TestApp) -> Reports {
    let x1 = app.get("/api/sessions/x1").await.json;
    let z1 = app.get("/api/sessions/z1").await.json;
    let report = app.get("/api/analytics/costs").await.json;
    let find = |list: &str, key: &str, value: &str| -> String {
        let rows = report[list].as_array().unwrap();
        let row = rows.iter().find(|row| row[key] == value);
        row.map_or("missing".to_owned(), |row| row["totalCostUsd"].to_string())
    };
    let buckets = report["overTime"].as_array().unwrap();
    assert_eq!(buckets.len(), 1, "{buckets:?}");

    let alert_value = spend_alert_value(app)
        .await
        .expect("expected the cost_exceeds rule to fire");

    Reports {
        x1_total: x1["totalCostUsd"].to_string(),
        x1_input_tokens: x1["totalInputTokens"].as_i64().unwrap(),
        z1_total: z1["totalCostUsd"].to_string(),
        report_total: report["totals"]["totalCostUsd"].to_string(),
        report_x1: find("bySession", "sessionId", "x1"),
        report_team_a: find("byAgent", "agentId", "team-a"),
        over_time_total: buckets[0]["totalCostUsd"].to_string(),
        over_time_team_a: buckets[0]["byAgent"]["team-a"].to_string(),
        alert_value,
    }
}

#[tokio::test]
async fn migration_restores_costs_superseded_across_sessions() {
    let app = app().await;
    let events = vec![
        // Counts under the session rule. The tenant-wide rule let y1 supersede it.
        event("x1", "team-a", "cost_tracked", "call_1", "2.5"),
        event("y1", "team-b", "llm_response", "call_1", "0.01"),
        // A pair in one session, superseded under both rules.
        event("x1", "team-a", "cost_tracked", "call_2", "0.5"),
        event("x1", "team-a", "llm_response", "call_2", "0.3"),
        // Superseded under both rules, first by w1 and now by its own session's response.
        event("w1", "team-b", "llm_response", "call_3", "0.05"),
        event("z1", "team-b", "cost_tracked", "call_3", "0.7"),
        event("z1", "team-b", "llm_response", "call_3", "0.2"),
    ];
    let reply = app.ingest(events).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
    let expected = Reports {
        x1_total: "2.8".to_owned(),
        x1_input_tokens: TRACKED_INPUT + 100,
        z1_total: "0.2".to_owned(),
        report_total: "3.06".to_owned(),
        report_x1: "2.8".to_owned(),
        report_team_a: "2.8".to_owned(),
        over_time_total: "3.06".to_owned(),
        over_time_team_a: "2.8".to_owned(),
        alert_value: "3.06".to_owned(),
    };
    assert_eq!(reports(&app).await, expected);

    let conn = Connection::open(app.db_path()).unwrap();
    write_tenant_wide_state(&conn);
    let app = app.reopen().await;
    let old = reports(&app).await;
    assert_eq!(old.x1_total, "0.3");
    assert_eq!(old.report_total, "0.56");
    assert_eq!(old.over_time_team_a, "0.3");

    conn.execute("DELETE FROM schema_migrations WHERE version = 9", [])
        .unwrap();
    let app = app.reopen().await;
    assert_eq!(reports(&app).await, expected);

    let superseded: Vec<(String, Option<String>)> = conn
        .prepare(
            "SELECT tracked.session_id, response.session_id FROM events AS tracked \
             LEFT JOIN events AS response ON response.id = tracked.superseded_by \
             WHERE tracked.event_type = 'cost_tracked' ORDER BY tracked.session_id, tracked.seq",
        )
        .unwrap()
        .query_map([], |row| Ok((row.get(0)?, row.get(1)?)))
        .unwrap()
        .collect::<rusqlite::Result<_>>()
        .unwrap();
    let pairs: Vec<(&str, Option<&str>)> = superseded
        .iter()
        .map(|(tracked, response)| (tracked.as_str(), response.as_deref()))
        .collect();
    assert_eq!(
        pairs,
        [("x1", None), ("x1", Some("x1")), ("z1", Some("z1"))]
    );
}

#[tokio::test]
async fn migration_without_cross_session_rows_changes_nothing() {
    let app = app().await;
    let events = vec![
        event("x1", "team-a", "cost_tracked", "call_1", "2.5"),
        event("x1", "team-a", "cost_tracked", "call_2", "0.5"),
        event("x1", "team-a", "llm_response", "call_2", "0.3"),
        event("z1", "team-b", "llm_response", "call_3", "0.2"),
    ];
    let reply = app.ingest(events).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
    let conn = Connection::open(app.db_path()).unwrap();
    let dump = |conn: &Connection| -> Vec<String> {
        let tables = [
            "events",
            "sessions",
            "cost_rollups",
            "session_cost_rollups",
            "session_cost_totals",
            "agent_session_cost_totals",
            "tenant_cost_rollups",
        ];
        tables
            .iter()
            .map(|table| {
                let sql = format!("SELECT * FROM {table}");
                let mut statement = conn.prepare(&sql).unwrap();
                let columns = statement.column_count();
                let rows: Vec<String> = statement
                    .query_map([], |row| {
                        let values: Vec<String> = (0..columns)
                            .map(|i| format!("{:?}", row.get_ref(i).unwrap()))
                            .collect();
                        Ok(values.join("|"))
                    })
                    .unwrap()
                    .collect::<rusqlite::Result<_>>()
                    .unwrap();
                format!("{table}: {}", rows.join("\n"))
            })
            .collect()
    };
    let before = dump(&conn);

    conn.execute("DELETE FROM schema_migrations WHERE version = 9", [])
        .unwrap();
    let app = app.reopen().await;
    assert!(schema_version(&conn) >= 9);
    assert_eq!(dump(&conn), before);
    drop(app);
}
