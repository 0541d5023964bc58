//! Migration 13 gives each unpriced `llm_response` of an older database the cost of the
//! first `cost_tracked` with a cost that it supersedes. Afterwards the derived tables must
//! equal those of a database whose events were stored with the rule in place, and a
//! database without such rows must not change.

use agentlens_core::event::format_timestamp;
use chrono::Utc;
use rusqlite::types::ValueRef;
use rusqlite::{params, Connection};
use serde_json::{json, Value};

use crate::common::{app, recent, schema_version, TestApp};
use crate::cost_fill::{
    assert_filled, figures, ingest, pricing, tracked, unpriced_response, Figures,
};

/// Tables derived from the events, and the cost columns of `sessions` without the session
/// that records fired alerts. Rollup rows whose figures add up to nothing are left out,
/// because ingest keeps the row of a unit after a superseded event was added to it and
/// taken out again.
pub(crate) const DERIVED: [&str; 7] = [
    "SELECT * FROM cost_rollups WHERE event_count <> 0 ORDER BY 1, 2, 3, 4, 5, 6",
    "SELECT * FROM session_cost_rollups WHERE event_count <> 0 ORDER BY 1, 2, 3, 4, 5",
    "SELECT * FROM session_cost_totals ORDER BY 1, 2",
    "SELECT * FROM agent_session_cost_totals ORDER BY 1, 2, 3",
    "SELECT * FROM tenant_cost_rollups ORDER BY 1, 2, 3",
    "SELECT * FROM llm_rollups ORDER BY 1, 2, 3, 4, 5, 6",
    "SELECT tenant_id, id, total_cost_usd, unpriced_count, input_tokens, output_tokens, \
     cache_read_tokens, cache_write_tokens FROM sessions \
     WHERE id NOT LIKE 'agentlens-alerts-%' ORDER BY 1, 2",
];

/// Returns the rows that each query selects, one line of text per row.
pub(crate) fn dump(conn: &Connection, queries: &[&str]) -> Vec<Vec<String>> {
    queries
        .iter()
        .map(|sql| {
            let mut statement = conn.prepare(sql).unwrap();
            let columns = statement.column_count();
            let rows = statement.query_map([], |row| {
                let values: Vec<String> = (0..columns)
                    .map(|i| match row.get_ref(i).unwrap() {
                        ValueRef::Text(text) => String::from_utf8_lossy(text).into_owned(),
                        other => format!("{other:?}"),
                    })
                    .collect();
                Ok(values.join("|"))
            });
            let rows: Vec<String> = rows.unwrap().collect::<rusqlite::Result<_>>().unwrap();
            let mut lines = vec![sql.to_string()];
            lines.extend(rows);
            lines
        })
        .collect()
}

/// Asserts that two dumps are equal, one query at a time.
pub(crate) fn assert_dumps_equal(actual: &[Vec<String>], expected: &[Vec<String>]) {
    assert_eq!(actual.len(), expected.len());
    for (actual, expected) in actual.iter().zip(expected) {
        assert_eq!(actual, expected, "rows of {}", expected[0]);
    }
}

/// Returns `event` stamped `at`, so two databases get the same rollup units.
pub(crate) fn at(mut event: Value, timestamp: &str) -> Value {
    event["timestamp"] = json!(timestamp);
    event
}

/// Returns a `cost_tracked` that the price table cannot price.
fn unpriced_tracked(session: &str, call_id: &str) -> Value {
    let mut event = tracked(session, call_id, Value::Null);
    event["payload"]["model"] = json!("unlisted-model-7");
    event
}

/// Returns the events both databases share: a pair across sessions, which never
/// supersedes, and a priced response that supersedes a priced `cost_tracked`.
fn shared_events(timestamp: &str) -> Vec<Value> {
    let mut priced = unpriced_response("s4", "c4");
    priced["payload"]["costUsd"] = json!(0.3);
    [
        tracked("x1", "c3", json!(0.125)),
        unpriced_response("y1", "c3"),
        priced,
        tracked("s4", "c4", json!(0.5)),
    ]
    .into_iter()
    .map(|event| at(event, timestamp))
    .collect()
}

/// Makes the app close its database and reopen it, applying migration 13 again after
/// `change` rewrote the file into the state before it.
async fn migrate_again(app: TestApp, change: impl FnOnce(&Connection)) -> (TestApp, Connection) {
    let conn = Connection::open(app.db_path()).unwrap();
    conn.execute_batch("BEGIN").unwrap();
    change(&conn);
    conn.execute_batch(
        "ALTER TABLE events DROP COLUMN cost_from;
         DELETE FROM schema_migrations WHERE version = 13;
         COMMIT",
    )
    .unwrap();
    let app = app.reopen().await;
    assert!(schema_version(&conn) >= 13);
    (app, conn)
}

#[tokio::test]
async fn migration_fills_unpriced_responses() {
    let timestamp = recent();

    // Before the rule, the collector left the superseded tracked costs of s1 and s2 out,
    // and their responses counted as unpriced. Ingest stores that state when the tracked
    // events have no cost, and the SQL below then gives them their costs.
    let old = app().await;
    let mut events = vec![
        unpriced_tracked("s1", "c1"),
        unpriced_response("s1", "c1"),
        unpriced_tracked("s2", "c2"),
        unpriced_tracked("s2", "c2"),
        unpriced_response("s2", "c2"),
    ];
    events = events.into_iter().map(|e| at(e, &timestamp)).collect();
    events.extend(shared_events(&timestamp));
    let ids = ingest(&old, events).await;
    assert_eq!(figures(&old).await, unfilled_figures());
    let costs = [
        (&ids[0], 500_000_000_000_i64),
        (&ids[2], 250_000_000_000),
        (&ids[3], 375_000_000_000),
    ];
    let (migrated, conn) = migrate_again(old, |conn| {
        for (id, cost) in costs {
            conn.execute(
                "UPDATE events SET cost_pico = ?1, cost_source = 'reported', \
                 pricing_version = NULL WHERE id = ?2",
                params![cost, id],
            )
            .unwrap();
        }
    })
    .await;

    // The same calls stored with the rule in place.
    let reference = app().await;
    let mut events = vec![
        tracked("s1", "c1", json!(0.5)),
        unpriced_response("s1", "c1"),
        tracked("s2", "c2", json!(0.25)),
        tracked("s2", "c2", json!(0.375)),
        unpriced_response("s2", "c2"),
    ];
    events = events.into_iter().map(|e| at(e, &timestamp)).collect();
    events.extend(shared_events(&timestamp));
    ingest(&reference, events).await;
    let reference_conn = Connection::open(reference.db_path()).unwrap();

    assert_dumps_equal(&dump(&conn, &DERIVED), &dump(&reference_conn, &DERIVED));
    let mut expected = Figures::expected(1_175_000_000_000, 1);
    expected.llm_cost = 1_050_000_000_000;
    assert_eq!(figures(&migrated).await, expected);
    assert_eq!(figures(&reference).await, expected);
    assert_filled(&migrated, &ids[1], &ids[0], "0.5").await;
    assert_filled(&migrated, &ids[4], &ids[2], "0.25").await;
    let cross_session = pricing(&migrated, &ids[6]).await;
    assert_eq!(cross_session["source"], "unpriced");
    assert_eq!(cross_session["costUsd"], Value::Null);
}

/// Returns the figures before the migration, where x1 and s4 count $0.125 and $0.30, and
/// the three responses of s1, s2 and y1 are unpriced.
fn unfilled_figures() -> Figures {
    let mut figures = Figures::expected(425_000_000_000, 3);
    figures.llm_cost = 300_000_000_000;
    figures
}

#[tokio::test]
async fn migration_without_unpriced_pairs_changes_nothing() {
    let app = app().await;
    let mut events = vec![
        // Superseded, but neither has a cost.
        unpriced_tracked("s1", "c1"),
        unpriced_response("s1", "c1"),
    ];
    events.extend(shared_events(&format_timestamp(&Utc::now())));
    ingest(&app, events).await;
    let conn = Connection::open(app.db_path()).unwrap();
    let mut queries = DERIVED.to_vec();
    queries.push("SELECT * FROM events ORDER BY seq");
    let before = dump(&conn, &queries);

    let (app, conn) = migrate_again(app, |_| {}).await;
    assert_dumps_equal(&dump(&conn, &queries), &before);
    drop(app);
}
