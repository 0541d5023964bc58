//! LLM rollups: `GET /api/analytics/llm` read from `llm_rollups` equals a recomputation
//! from the events, over many events, ranges, zones, granularities and filters, and
//! migration 10 fills the table for a file written before it.

use agentlens_collector::store::analytics::Granularity;
use agentlens_collector::store::llm_analytics::{LlmQuery, LlmReport};
use agentlens_collector::store::Store;
use agentlens_core::event::format_timestamp;
use axum::http::StatusCode;
use chrono::{DateTime, TimeZone, Utc};
use chrono_tz::Tz;
use serde::Serialize;
use serde_json::json;

use crate::common::{app, cost_event, llm_response};
use crate::rollup_workload::Workload;

const GRANULARITIES: [Granularity; 3] = [Granularity::Hour, Granularity::Day, Granularity::Week];

fn query(from: &str, to: &str, granularity: Granularity, zone: Tz) -> LlmQuery {
    let parse = |text: &str| format_timestamp(&text.parse::<DateTime<Utc>>().unwrap());
    LlmQuery {
        from: parse(from),
        to: parse(to),
        agent_id: None,
        model: None,
        provider: None,
        granularity,
        time_zone: zone,
    }
}

fn to_json<T: Serialize>(value: &T) -> String {
    serde_json::to_string(value).unwrap()
}

/// Asserts that two reports are equal, one part at a time.
fn assert_reports_equal(actual: &LlmReport, expected: &LlmReport, label: &str) {
    let (actual_summary, expected_summary) = (&actual.summary, &expected.summary);
    assert_eq!(
        to_json(actual_summary),
        to_json(expected_summary),
        "summary, {label}"
    );
    let (actual_models, expected_models) = (&actual.by_model, &expected.by_model);
    assert_eq!(
        to_json(actual_models),
        to_json(expected_models),
        "byModel, {label}"
    );
    let (actual_time, expected_time) = (&actual.by_time, &expected.by_time);
    assert_eq!(
        to_json(actual_time),
        to_json(expected_time),
        "byTime, {label}"
    );
}

/// Asserts that the rollup report for `query` equals the workload's recomputation and,
/// when `from_events` is set, that the store's recomputation from its rows does too.
/// Returns the number of calls the report covered.
async fn assert_llm_report_matches(
    store: &Store,
    workload: &Workload,
    query: LlmQuery,
    from_events: bool,
) -> i64 {
    let label = format!("{query:?}");
    let expected = workload.expected_llm_report(&query);
    if from_events {
        let recomputed = store
            .llm_report_from_events("default", query.clone())
            .await
            .unwrap();
        assert_reports_equal(&recomputed, &expected, &format!("from events, {label}"));
    }
    let rolled = store.llm_report("default", query).await.unwrap();
    assert_reports_equal(&rolled, &expected, &format!("rollups, {label}"));
    rolled.summary.total_calls
}

/// Compares the LLM reports of every zone, range and granularity, and in each zone those
/// filtered by agent, by provider, by model, and by all three.
pub(crate) async fn assert_llm_ranges_match(
    store: &Store,
    workload: &Workload,
    zones: &[Tz],
    ranges: &[(&str, &str)],
    from_events: bool,
) {
    let mut covered = 0;
    for &zone in zones {
        for &(from, to) in ranges {
            for granularity in GRANULARITIES {
                let query = query(from, to, granularity, zone);
                covered += assert_llm_report_matches(store, workload, query, from_events).await;
            }
        }

        let (from, to) = ranges[1 % ranges.len()];
        let filters = [
            (Some("agent-03"), None, None, Granularity::Hour),
            (None, Some("azure"), None, Granularity::Day),
            (None, None, Some("gpt-4o"), Granularity::Week),
            (
                Some("agent-05"),
                Some("openai"),
                Some("gpt-4o"),
                Granularity::Hour,
            ),
        ];
        for (agent, provider, model, granularity) in filters {
            let mut filtered = query(from, to, granularity, zone);
            filtered.agent_id = agent.map(str::to_owned);
            filtered.provider = provider.map(str::to_owned);
            filtered.model = model.map(str::to_owned);
            let calls = assert_llm_report_matches(store, workload, filtered, from_events).await;
            assert!(calls > 0, "no calls for {agent:?} {provider:?} {model:?}");
        }
    }
    assert!(covered > 0, "the ranges hold no llm_response");
}

fn workload_start() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 1, 0, 0, 0).unwrap()
}

#[tokio::test]
async fn migration_backfills_llm_rollups() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("agentlens.db");
    let workload = Workload::generate(3_000, workload_start(), 3, &[]);
    let store = Store::open(&path).unwrap();
    workload.ingest(&store).await;
    let (from, to) = ("2026-03-01T00:07:30Z", "2026-03-03T23:52:10.5Z");
    let kathmandu_hours = query(from, to, Granularity::Hour, chrono_tz::Asia::Kathmandu);
    let before = store
        .llm_report("default", kathmandu_hours.clone())
        .await
        .unwrap();
    drop(store);

    // Drop the rollups written by ingest so the store applies migration 10 again.
    let conn = rusqlite::Connection::open(&path).unwrap();
    conn.execute_batch("DROP TABLE llm_rollups; DELETE FROM schema_migrations WHERE version = 10;")
        .unwrap();
    drop(conn);

    let store = Store::open(&path).unwrap();
    let after = store
        .llm_report("default", kathmandu_hours.clone())
        .await
        .unwrap();
    assert_eq!(to_json(&after), to_json(&before));
    assert!(assert_llm_report_matches(&store, &workload, kathmandu_hours, true).await > 0);
    let utc_days = query(from, to, Granularity::Day, Tz::UTC);
    assert!(assert_llm_report_matches(&store, &workload, utc_days, true).await > 0);
}

#[tokio::test]
async fn cost_events_leave_llm_rollups_empty() {
    let app = app().await;
    let path = app.state.store.path().to_owned();
    let mut tracked = cost_event("s1", "a1", "gpt-4o", json!(0.5), "2026-05-10T12:00:10Z");
    tracked["payload"]["callId"] = json!("c1");
    assert_eq!(app.ingest(vec![tracked]).await.status, StatusCode::CREATED);
    let rows = |path: &std::path::Path| -> i64 {
        let conn = rusqlite::Connection::open(path).unwrap();
        conn.query_row("SELECT COUNT(*) FROM llm_rollups", [], |row| row.get(0))
            .unwrap()
    };
    assert_eq!(rows(&path), 0);

    // A response that supersedes the tracked cost adds its own call once per unit.
    let mut response = llm_response("s1", "a1", "gpt-4o", json!(0.25), "2026-05-10T12:00:20Z");
    response["payload"]["callId"] = json!("c1");
    assert_eq!(app.ingest(vec![response]).await.status, StatusCode::CREATED);
    assert_eq!(rows(&path), 4);
    let reply = app
        .get("/api/analytics/llm?from=2026-05-10&to=2026-05-10")
        .await;
    assert_eq!(reply.json["summary"]["totalCalls"], 1);
    assert_eq!(reply.json["summary"]["totalCostUsd"], 0.25);
}

#[tokio::test]
async fn fractional_latency_rounds_to_microseconds() {
    let app = app().await;
    let latencies = [json!(0.5005), json!(1234.5675), json!(2), json!(0.0004)];
    let events = latencies
        .iter()
        .enumerate()
        .map(|(index, latency)| {
            let at = format!("2026-05-10T12:0{index}:30.5Z");
            let mut event = llm_response("s1", "a1", "gpt-4o", json!(0.1), &at);
            event["payload"]["latencyMs"] = latency.clone();
            event
        })
        .collect();
    assert_eq!(app.ingest(events).await.status, StatusCode::CREATED);

    // 501 + 1,234,568 + 2,000 + 0 microseconds over 4 calls. The range starts and ends
    // inside minutes, so the first and last calls come from the events, the others from
    // the rollups.
    let expected = (1_237_069.0 / 1000.0) / 4.0;
    let reply = app
        .get("/api/analytics/llm?from=2026-05-10T12:00:10Z&to=2026-05-10T12:03:40Z")
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    assert_eq!(reply.json["summary"]["totalCalls"], 4);
    assert_eq!(reply.json["summary"]["avgLatencyMs"], expected);
    let whole = app
        .get("/api/analytics/llm?from=2026-05-10&to=2026-05-10&granularity=day")
        .await;
    assert_eq!(whole.json["byTime"][0]["avgLatencyMs"], expected);
    let store = &app.state.store;
    let query = query(
        "2026-05-10T12:00:10Z",
        "2026-05-10T12:03:40Z",
        Granularity::Hour,
        Tz::UTC,
    );
    let rolled = store.llm_report("default", query.clone()).await.unwrap();
    let recomputed = store
        .llm_report_from_events("default", query)
        .await
        .unwrap();
    assert_reports_equal(&rolled, &recomputed, "fractional latency");
}

#[tokio::test]
async fn local_mean_time_buckets_read_events() {
    // Until 1972 Africa/Monrovia was 44:30 minutes behind UTC, so its days started at
    // 00:44:30 UTC, inside a minute, and the report reads the events instead of the rollups.
    let app = app().await;
    let events = vec![
        llm_response("s1", "a1", "gpt-4o", json!(1), "1971-06-01T00:40:00Z"),
        llm_response("s1", "a1", "gpt-4o", json!(2), "1971-06-01T00:50:00Z"),
    ];
    assert_eq!(app.ingest(events).await.status, StatusCode::CREATED);
    let reply = app
        .get(
            "/api/analytics/llm?from=1971-05-30T00:00:00Z&to=1971-06-03T00:00:00Z\
             &granularity=day&tz=Africa/Monrovia",
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    let buckets = reply.json["byTime"].as_array().unwrap();
    assert_eq!(buckets.len(), 2, "{}", reply.text);
    let label = |index: usize| buckets[index]["bucket"].as_str().unwrap().to_owned();
    assert!(
        label(0).starts_with("1971-05-31T00:00:00-00:4"),
        "{}",
        label(0)
    );
    assert!(
        label(1).starts_with("1971-06-01T00:00:00-00:4"),
        "{}",
        label(1)
    );
    assert_eq!(buckets[0]["costUsd"], 1);
    assert_eq!(buckets[1]["costUsd"], 2);
}

#[tokio::test]
async fn range_ending_on_minute_counts_end_once() {
    // The range starts inside the minute before its end, so both of its partial edges end
    // at 12:01:00, and only the last one may include that instant.
    let app = app().await;
    let events = vec![
        cost_event("s1", "a1", "gpt-4o", json!(1), "2026-05-10T12:00:50Z"),
        cost_event("s1", "a1", "gpt-4o", json!(2), "2026-05-10T12:01:00Z"),
        llm_response("s1", "a1", "gpt-4o", json!(4), "2026-05-10T12:00:50Z"),
        llm_response("s1", "a1", "gpt-4o", json!(8), "2026-05-10T12:01:00Z"),
    ];
    assert_eq!(app.ingest(events).await.status, StatusCode::CREATED);
    let range = "from=2026-05-10T12:00:30Z&to=2026-05-10T12:01:00Z";

    let costs = app.get(&format!("/api/analytics/costs?{range}")).await;
    assert_eq!(costs.status, StatusCode::OK, "{}", costs.text);
    assert_eq!(costs.json["totals"]["eventCount"], 4);
    assert_eq!(costs.json["totals"]["totalCostUsd"], 15);
    assert_eq!(costs.json["bySession"][0]["totalCostUsd"], 15);

    let calls = app.get(&format!("/api/analytics/llm?{range}")).await;
    assert_eq!(calls.status, StatusCode::OK, "{}", calls.text);
    assert_eq!(calls.json["summary"]["totalCalls"], 2);
    assert_eq!(calls.json["summary"]["totalCostUsd"], 12);
}
