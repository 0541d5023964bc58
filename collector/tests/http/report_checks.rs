//! Checks shared by the tests that compare cost reports from the rollups with the
//! recomputation from the stored events.

use agentlens_collector::store::analytics::{CostQuery, CostReport};
use agentlens_collector::store::Store;
use rusqlite::Connection;

/// Asserts that the cost report for `query` equals the store's recomputation from its
/// events, `bySession` first so that a difference there names the list, and returns the
/// report.
pub async fn assert_report_matches_events(store: &Store, query: CostQuery) -> CostReport {
    let label = format!("{query:?}");
    let rolled = store.cost_report("default", query.clone()).await.unwrap();
    let recomputed = store
        .cost_report_from_events("default", query)
        .await
        .unwrap();
    assert_eq!(
        serde_json::to_value(&rolled.by_session).unwrap(),
        serde_json::to_value(&recomputed.by_session).unwrap(),
        "bySession, {label}"
    );
    assert_eq!(
        serde_json::to_string(&rolled).unwrap(),
        serde_json::to_string(&recomputed).unwrap(),
        "{label}"
    );
    rolled
}

/// Drops `cost_rollups` and `session_cost_rollups` and creates them again with the SQL of
/// migration 4, which fills them from the stored events, and of migration 15, whose
/// index on `cost_rollups` went with the table.
pub fn rebuild_rollups(conn: &Connection) {
    conn.execute_batch("DROP TABLE cost_rollups; DROP TABLE session_cost_rollups;")
        .unwrap();
    conn.execute_batch(include_str!(
        "../../src/store/migrations/0004_cost_rollups.sql"
    ))
    .unwrap();
    conn.execute_batch(include_str!(
        "../../src/store/migrations/0015_unpriced_rollup_index.sql"
    ))
    .unwrap();
}
