//! Migration 18 stops ingest from writing the larger units of session rollups for the
//! last minute and later ones, and takes those minutes back out of the larger units that
//! older collectors wrote. Reports over such a file must still equal the recomputation.

use agentlens_collector::store::analytics::{CostQuery, Granularity};
use agentlens_core::event::format_timestamp;
use axum::http::StatusCode;
use chrono::{Duration, Utc};
use rusqlite::Connection;
use serde_json::json;

use crate::common::{app, cost_event, schema_version};
use crate::report_checks::{assert_report_matches_events, rebuild_rollups};

/// Rebuilds the session rollups and totals as collectors before migration 18 wrote them,
/// with every minute in all four units and in the totals, and marks migration 18 as not
/// applied.
fn undo_migration(conn: &Connection) {
    conn.execute_batch(
        "BEGIN;
         DROP TABLE session_cost_totals;
         DROP TABLE agent_session_cost_totals;
         DROP TABLE session_rollup_merge;",
    )
    .unwrap();
    rebuild_rollups(conn);
    conn.execute_batch(include_str!(
        "../../src/store/migrations/0006_session_cost_totals.sql"
    ))
    .unwrap();
    conn.execute_batch("DELETE FROM schema_migrations WHERE version = 18; COMMIT")
        .unwrap();
}

/// Counts the larger session rollup units that differ from the sum of their minutes
/// before `merged_until`.
fn units_off(conn: &Connection, merged_until: i64) -> i64 {
    conn.query_row(
        "SELECT COUNT(*) FROM session_cost_rollups AS unit WHERE span > 60 \
         AND (event_count, cost_high * 1000000 + cost_low) IS NOT ( \
         SELECT COALESCE(SUM(event_count), 0), \
         COALESCE(SUM(cost_high * 1000000 + cost_low), 0) \
         FROM session_cost_rollups AS minute WHERE minute.tenant_id = unit.tenant_id \
         AND minute.span = 60 AND minute.session_id = unit.session_id \
         AND minute.agent_id = unit.agent_id AND minute.bucket_start >= unit.bucket_start \
         AND minute.bucket_start < unit.bucket_start + unit.span \
         AND minute.bucket_start < ?1)",
        [merged_until],
        |row| row.get(0),
    )
    .unwrap()
}

/// Counts the totals per session and agent that differ from the sum of their minutes
/// before `merged_until`.
fn totals_off(conn: &Connection, merged_until: i64) -> i64 {
    conn.query_row(
        "SELECT COUNT(*) FROM agent_session_cost_totals AS total \
         WHERE (event_count, cost_high * 1000000 + cost_low, cost_bound) IS NOT ( \
         SELECT COALESCE(SUM(event_count), 0), \
         COALESCE(SUM(cost_high * 1000000 + cost_low), 0), \
         COALESCE(SUM(cost_high * 1000000 + cost_low), 0) \
         FROM session_cost_rollups AS minute WHERE minute.tenant_id = total.tenant_id \
         AND minute.span = 60 AND minute.session_id = total.session_id \
         AND minute.agent_id = total.agent_id AND minute.bucket_start < ?1)",
        [merged_until],
        |row| row.get(0),
    )
    .unwrap()
}

fn merged_until(conn: &Connection) -> i64 {
    conn.query_row(
        "SELECT merged_until FROM session_rollup_merge WHERE tenant_id = 'default'",
        [],
        |row| row.get(0),
    )
    .unwrap()
}

#[tokio::test]
async fn migration_keeps_reports_around_now() {
    let app = app().await;
    let now = Utc::now();
    let at = |seconds: i64| format_timestamp(&(now + Duration::seconds(seconds)));
    // 40 sessions of two agents each, from three hours ago to half an hour ahead.
    let mut events = Vec::new();
    for index in 0..600_i64 {
        let session = format!("s{:02}", index % 40);
        let agent = ["a1", "a2"][usize::from(index % 3 == 0)];
        let cost = json!(format!("0.{:04}", 7 * index + 1));
        events.push(cost_event(
            &session,
            agent,
            "gpt-4o",
            cost,
            &at(index * 31 - 10_800 + 1_500 * (index % 2)),
        ));
    }
    let reply = app.ingest(events).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);

    let conn = Connection::open(app.db_path()).unwrap();
    assert_eq!(units_off(&conn, merged_until(&conn)), 0);
    assert_eq!(totals_off(&conn, merged_until(&conn)), 0);
    undo_migration(&conn);
    let minute = now.timestamp() - now.timestamp() % 60;
    assert!(units_off(&conn, minute - 60) > 0);
    assert!(totals_off(&conn, minute - 60) > 0);

    let app = app.reopen().await;
    assert!(schema_version(&conn) >= 18);
    let merged = merged_until(&conn);
    assert!((minute - 60..=minute).contains(&merged), "{merged}");
    assert_eq!(units_off(&conn, merged), 0);
    assert_eq!(totals_off(&conn, merged), 0);

    let store = &app.state.store;
    let ranges = [(-11_000, 2_000), (-3_600, 600), (-59, 1_800), (0, 60)];
    for (from, to) in ranges {
        for agent in [None, Some("a2")] {
            let query = CostQuery {
                from: at(from),
                to: at(to),
                agent_id: agent.map(str::to_owned),
                granularity: Granularity::Hour,
                time_zone: chrono_tz::Asia::Kathmandu,
            };
            let label = format!("{query:?}");
            let rolled = assert_report_matches_events(store, query).await;
            if agent.is_none() {
                assert!(rolled.totals.event_count > 0, "{label}");
            }
        }
    }
}
