//! Cost rollups: `GET /api/analytics/costs` read from the rollup tables equals a
//! recomputation from the events, over many events, ranges, zones and superseded rows.

use agentlens_collector::store::analytics::{CostQuery, CostReport, Granularity};
use agentlens_collector::store::Store;
use agentlens_core::event::format_timestamp;
use axum::http::StatusCode;
use chrono::{DateTime, TimeZone, Utc};
use chrono_tz::Tz;
use serde::Serialize;
use serde_json::json;

use crate::common::{app, cost_event};
use crate::report_checks::rebuild_rollups;
use crate::rollup_workload::Workload;

/// Zones with whole, half and three-quarter hour offsets. New York and St. John's change to
/// daylight saving time on 2026-03-08, inside the generated days.
const ZONES: [Tz; 5] = [
    Tz::UTC,
    chrono_tz::Asia::Kolkata,
    chrono_tz::Asia::Kathmandu,
    chrono_tz::America::New_York,
    chrono_tz::America::St_Johns,
];

/// Inclusive ranges: whole days, partial minutes at both ends, the daylight saving change,
/// less than a minute, a start before the first event, and one microsecond around a
/// minute boundary.
const RANGES: [(&str, &str); 6] = [
    ("2026-03-01T00:00:00Z", "2026-03-20T23:59:59.999999Z"),
    ("2026-03-02T07:13:27.123456Z", "2026-03-11T19:42:05.000001Z"),
    ("2026-03-08T05:00:00Z", "2026-03-08T09:00:00Z"),
    ("2026-03-05T10:15:30Z", "2026-03-05T10:15:59Z"),
    ("2026-02-20T00:00:00Z", "2026-03-02T00:00:00Z"),
    ("2026-03-09T05:29:59.999999Z", "2026-03-09T05:30:00.000001Z"),
];

const GRANULARITIES: [Granularity; 3] = [Granularity::Hour, Granularity::Day, Granularity::Week];

/// Returns the first generated instant, 2026-03-01 00:00 UTC.
fn workload_start() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 1, 0, 0, 0).unwrap()
}

/// Returns both ends of every range, so the workload puts events on and beside them.
fn range_edges() -> Vec<DateTime<Utc>> {
    RANGES
        .iter()
        .flat_map(|(from, to)| [from, to])
        .map(|text| text.parse().unwrap())
        .collect()
}

fn query(from: &str, to: &str, granularity: Granularity, zone: Tz) -> CostQuery {
    let parse = |text: &str| format_timestamp(&text.parse::<DateTime<Utc>>().unwrap());
    CostQuery {
        from: parse(from),
        to: parse(to),
        agent_id: None,
        granularity,
        time_zone: zone,
    }
}

fn to_json<T: Serialize>(value: &T) -> String {
    serde_json::to_string(value).unwrap()
}

/// Asserts that two reports are equal, one breakdown at a time.
fn assert_reports_equal(actual: &CostReport, expected: &CostReport, label: &str) {
    assert_eq!(
        to_json(&actual.totals),
        to_json(&expected.totals),
        "totals, {label}"
    );
    assert_eq!(
        to_json(&actual.by_agent),
        to_json(&expected.by_agent),
        "byAgent, {label}"
    );
    assert_eq!(
        to_json(&actual.by_model),
        to_json(&expected.by_model),
        "byModel, {label}"
    );
    assert_eq!(
        to_json(&actual.by_session),
        to_json(&expected.by_session),
        "bySession, {label}"
    );
    assert_eq!(
        to_json(&actual.over_time),
        to_json(&expected.over_time),
        "overTime, {label}"
    );
}

/// Asserts that the rollup report for `query` equals the workload's own recomputation,
/// and, when `from_events` is set, that the store's recomputation from its rows does too.
/// Returns the number of cost rows the report covered.
async fn assert_rollups_match(
    store: &Store,
    workload: &Workload,
    query: CostQuery,
    from_events: bool,
) -> i64 {
    let label = format!("{query:?}");
    let expected = workload.expected_report(&query);
    if from_events {
        let recomputed = store
            .cost_report_from_events("default", query.clone())
            .await
            .unwrap();
        assert_reports_equal(&recomputed, &expected, &format!("from events, {label}"));
    }
    let rolled = store.cost_report("default", query).await.unwrap();
    assert_reports_equal(&rolled, &expected, &format!("rollups, {label}"));
    rolled.totals.event_count
}

/// Compares the reports of every zone, range and granularity, and of one agent in each
/// zone.
async fn assert_ranges_match(store: &Store, workload: &Workload, from_events: bool) {
    let mut covered = 0;
    for zone in ZONES {
        for (from, to) in RANGES {
            for granularity in GRANULARITIES {
                let query = query(from, to, granularity, zone);
                covered += assert_rollups_match(store, workload, query, from_events).await;
            }
        }

        let mut one_agent = query(RANGES[1].0, RANGES[1].1, Granularity::Hour, zone);
        one_agent.agent_id = Some("agent-03".to_owned());
        assert!(assert_rollups_match(store, workload, one_agent, from_events).await > 0);
    }
    assert!(covered > 0, "the ranges hold no cost rows");

    let (from, to) = RANGES[0];
    let whole = workload.expected_report(&query(from, to, Granularity::Day, Tz::UTC));
    assert!(
        whole.totals.unpriced_count > 0,
        "the workload has no unpriced events"
    );
    assert!(
        workload.superseded_count() > 0,
        "the workload supersedes no event"
    );
    assert!(
        workload.filled_count() > 0,
        "no unpriced llm_response of the workload takes a cost"
    );
}

/// Opens a store in a new temporary directory and ingests `workload` into it.
async fn store_with(workload: &Workload) -> (Store, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("agentlens.db")).unwrap();
    workload.ingest(&store).await;
    (store, dir)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rollups_match_recomputation() {
    let workload = Workload::generate(10_000, workload_start(), 20, &range_edges());
    let (store, _dir) = store_with(&workload).await;
    assert_ranges_match(&store, &workload, true).await;
    crate::llm_rollups::assert_llm_ranges_match(&store, &workload, &ZONES, &RANGES, true).await;
}

/// Session rollups of the last minute and of the future are minute rows that are not merged
/// into larger units yet (`store::session_merge`). Reports over ranges on both sides of
/// that split must still equal the recomputation, for the tenant and for one agent.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rollups_around_now_match_recomputation() {
    let now = Utc::now();
    let minute = |minutes: i64| now + chrono::Duration::minutes(minutes);
    let edges = [minute(-90), minute(-1), now, minute(1), minute(3)];
    let workload = Workload::generate(6_000, minute(-180), 1, &edges);
    let (store, _dir) = store_with(&workload).await;
    let text = |at: DateTime<Utc>| format_timestamp(&at);
    let ranges = [
        (minute(-200), minute(24 * 60)),
        (minute(-95), minute(2)),
        (minute(-1), minute(4)),
        (now, minute(600)),
        (minute(-170) + chrono::Duration::microseconds(7), now),
    ];
    let mut covered = 0;
    for (from, to) in ranges {
        for zone in [Tz::UTC, chrono_tz::Asia::Kathmandu] {
            let mut query = query(
                "2026-01-01T00:00:00Z",
                "2026-01-02T00:00:00Z",
                Granularity::Hour,
                zone,
            );
            (query.from, query.to) = (text(from), text(to));
            covered += assert_rollups_match(&store, &workload, query.clone(), true).await;
            query.agent_id = Some("agent-03".to_owned());
            assert_rollups_match(&store, &workload, query, true).await;
        }
    }
    assert!(covered > 0, "the ranges hold no cost rows");
}

/// Checks the rollups after a million events. It runs in every `scripts/test.sh` run and
/// takes minutes in the dev profile, which the root `Cargo.toml` sets to build SQLite,
/// `sha2`, the core and the collector with optimisation.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn million_events_match_recomputation() {
    let workload = Workload::generate(1_000_000, workload_start(), 20, &range_edges());
    let (store, _dir) = store_with(&workload).await;
    assert_ranges_match(&store, &workload, false).await;
    // UTC, Kathmandu (+5:45) and St. John's (-3:30, with a daylight saving change) cover
    // the bucket cases of the LLM report in fewer comparisons than all five zones.
    let llm_zones = [ZONES[0], ZONES[2], ZONES[4]];
    crate::llm_rollups::assert_llm_ranges_match(&store, &workload, &llm_zones, &RANGES, false)
        .await;
}

#[tokio::test]
async fn superseded_cost_leaves_rollups() {
    let app = app().await;
    let mut tracked = cost_event("s1", "a1", "gpt-4o", json!(0.5), "2026-05-10T12:00:10Z");
    tracked["payload"]["callId"] = json!("c1");
    assert_eq!(app.ingest(vec![tracked]).await.status, StatusCode::CREATED);
    // The response supersedes the row of another agent and day, but only in its session.
    let mut response =
        crate::common::llm_response("s1", "a2", "gpt-4o", json!(0.25), "2026-05-11T08:00:00Z");
    response["payload"]["callId"] = json!("c1");
    assert_eq!(app.ingest(vec![response]).await.status, StatusCode::CREATED);

    let reply = app
        .get("/api/analytics/costs?from=2026-05-01&to=2026-05-31")
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    assert_eq!(reply.json["totals"]["eventCount"], 1);
    assert_eq!(reply.json["byAgent"].as_array().unwrap().len(), 1);
    assert_eq!(reply.json["byAgent"][0]["agentId"], "a2");
    assert_eq!(reply.json["overTime"].as_array().unwrap().len(), 1);
    assert_eq!(reply.json["bySession"][0]["sessionId"], "s1");
    assert_eq!(reply.json["bySession"][0]["totalCostUsd"], 0.25);
    let query = query(
        "2026-05-01T00:00:00Z",
        "2026-05-31T00:00:00Z",
        Granularity::Day,
        Tz::UTC,
    );
    let rolled = app
        .state
        .store
        .cost_report("default", query.clone())
        .await
        .unwrap();
    let recomputed = app
        .state
        .store
        .cost_report_from_events("default", query)
        .await
        .unwrap();
    assert_reports_equal(&rolled, &recomputed, "superseded cost");
    assert_eq!(rolled.totals.event_count, 1);
}

/// Creates an app holding five `gpt-4o` events that straddle Asia/Kolkata day boundaries.
async fn kolkata_app() -> crate::common::TestApp {
    let app = app().await;
    let events = [
        ("e1", "1.00", "2026-05-10T12:00:00Z"),
        ("e2", "0.40", "2026-05-10T20:00:00Z"),
        ("e3", "0.50", "2026-05-11T10:00:00Z"),
        ("e4", "2.00", "2026-05-11T19:00:00Z"),
        ("e5", "3.00", "2026-05-12T03:00:00Z"),
    ];
    let events = events
        .iter()
        .map(|(id, cost, at)| {
            let mut event = cost_event("s1", "a1", "gpt-4o", json!(cost), at);
            event["id"] = json!(id);
            event
        })
        .collect();
    assert_eq!(app.ingest(events).await.status, StatusCode::CREATED);
    app
}

#[tokio::test]
async fn kolkata_day_buckets() {
    let app = kolkata_app().await;
    let reply = app
        .get(
            "/api/analytics/costs?from=2026-05-10&to=2026-05-12&granularity=day\
             &tz=Asia/Kolkata",
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);

    let buckets: Vec<(String, String)> = reply.json["overTime"]
        .as_array()
        .unwrap()
        .iter()
        .map(|bucket| {
            (
                bucket["bucket"].as_str().unwrap().to_owned(),
                bucket["totalCostUsd"].to_string(),
            )
        })
        .collect();
    let expected = [
        ("2026-05-10T00:00:00+05:30", "1"),
        ("2026-05-11T00:00:00+05:30", "0.9"),
        ("2026-05-12T00:00:00+05:30", "5"),
    ];
    assert_eq!(buckets.len(), expected.len(), "{buckets:?}");
    for ((label, cost), (expected_label, expected_cost)) in buckets.iter().zip(expected) {
        assert_eq!(label, expected_label);
        assert_eq!(
            cost.parse::<f64>().unwrap(),
            expected_cost.parse::<f64>().unwrap()
        );
    }
}

#[tokio::test]
async fn kolkata_single_day() {
    let app = kolkata_app().await;
    let reply = app
        .get("/api/analytics/costs?from=2026-05-11&to=2026-05-11&tz=Asia/Kolkata")
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    assert_eq!(reply.json["totals"]["eventCount"], 2);
    let total = reply.json["totals"]["totalCostUsd"].to_string();
    assert_eq!(total.parse::<f64>().unwrap(), 0.9);
}

#[tokio::test]
async fn migration_backfills_rollups() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("agentlens.db");
    let workload = Workload::generate(3_000, workload_start(), 3, &[]);
    let store = Store::open(&path).unwrap();
    workload.ingest(&store).await;
    let query = || {
        query(
            "2026-03-01T00:00:00Z",
            "2026-03-04T00:00:00Z",
            Granularity::Hour,
            chrono_tz::Asia::Kolkata,
        )
    };
    let before = store.cost_report("default", query()).await.unwrap();
    drop(store);

    // Replace the rollups written by ingest with those the migration computes from the
    // stored events.
    let conn = rusqlite::Connection::open(&path).unwrap();
    rebuild_rollups(&conn);
    drop(conn);

    let store = Store::open(&path).unwrap();
    let after = store.cost_report("default", query()).await.unwrap();
    assert_eq!(
        serde_json::to_string(&after).unwrap(),
        serde_json::to_string(&before).unwrap()
    );
    assert!(after.totals.event_count > 0);
    assert_rollups_match(&store, &workload, query(), true).await;
}

#[tokio::test]
async fn migration_backfills_tenant_rollups() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("agentlens.db");
    let workload = Workload::generate(3_000, workload_start(), 3, &[]);
    let store = Store::open(&path).unwrap();
    workload.ingest(&store).await;
    drop(store);
    assert!(workload.superseded_count() > 0);

    // Drop the tenant rollups so the store applies migration 7 again when it opens.
    let conn = rusqlite::Connection::open(&path).unwrap();
    conn.execute_batch(
        "DROP TABLE tenant_cost_rollups; DELETE FROM schema_migrations WHERE version = 7;",
    )
    .unwrap();
    drop(conn);

    let store = Store::open(&path).unwrap();
    let (from, to) = ("2026-03-01T00:07:30Z", "2026-03-03T23:52:10.5Z");
    let mut kathmandu_hours = query(from, to, Granularity::Hour, chrono_tz::Asia::Kathmandu);
    assert!(assert_rollups_match(&store, &workload, kathmandu_hours.clone(), true).await > 0);
    kathmandu_hours.agent_id = Some("agent-03".to_owned());
    assert!(assert_rollups_match(&store, &workload, kathmandu_hours, true).await > 0);
    let utc_hours = query(from, to, Granularity::Hour, Tz::UTC);
    assert!(assert_rollups_match(&store, &workload, utc_hours, true).await > 0);
}

#[tokio::test]
async fn range_before_year_zero_is_empty() {
    let app = kolkata_app().await;
    let reply = app
        .get("/api/analytics/costs?to=0000-01-01T00:00:00Z")
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    assert_eq!(reply.json["totals"]["eventCount"], 0);
}
