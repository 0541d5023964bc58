//! Cost rollups: `GET /api/analytics/costs` read from the rollup tables equals a
//! recomputation from the events, over many events, ranges, zones and superseded rows.

use agentlens_collector::ingest::prepare_batch;
use agentlens_collector::store::analytics::{CostQuery, Granularity};
use agentlens_collector::store::Store;
use agentlens_core::event::format_timestamp;
use agentlens_core::pricing::PriceTable;
use axum::http::StatusCode;
use chrono::{DateTime, Duration, TimeZone, Utc};
use chrono_tz::Tz;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{json, Value};

use crate::common::{app, cost_event};

const AGENTS: [&str; 4] = ["planner", "coder", "reviewer", "tester"];
const MODELS: [(&str, &str); 4] = [
    ("openai", "gpt-4o"),
    ("openai", "gpt-4o-mini"),
    ("anthropic", "claude-sonnet-4-5"),
    ("anthropic", "no-such-model-xyz"),
];

/// Returns a random event of a generated workload: mostly `cost_tracked`, some
/// `llm_response` that supersede an earlier `cost_tracked`, and some unpriced rows.
fn generated_event(rng: &mut StdRng, index: usize, start: DateTime<Utc>, days: i64) -> Value {
    let agent = AGENTS[rng.random_range(0..AGENTS.len())];
    let (provider, model) = MODELS[rng.random_range(0..MODELS.len())];
    let at = start + Duration::microseconds(rng.random_range(0..days * 86_400_000_000));
    let session = format!("s{}", rng.random_range(0..300));
    // One call id per 8 events, so a later llm_response can supersede a cost_tracked.
    let call_id = format!("call-{}", rng.random_range(0..index / 8 + 1));
    let cost = format!(
        "0.{:06}{:06}",
        rng.random_range(0..1_000_000),
        index % 1_000_000
    );
    let mut payload = json!({
        "provider": provider,
        "model": model,
        "inputTokens": rng.random_range(0..5000),
        "outputTokens": rng.random_range(0..800),
        "callId": call_id,
    });
    // Unknown models without costUsd stay unpriced.
    if model != "no-such-model-xyz" || rng.random_bool(0.5) {
        payload["costUsd"] = json!(cost);
    }
    let event_type = if rng.random_bool(0.2) {
        payload["usage"] = json!({"inputTokens": 900, "outputTokens": 100, "totalTokens": 1000});
        payload["completion"] = json!("done");
        payload["finishReason"] = json!("stop");
        payload["latencyMs"] = json!(250);
        "llm_response"
    } else {
        "cost_tracked"
    };
    json!({
        "sessionId": session,
        "agentId": agent,
        "eventType": event_type,
        "timestamp": format_timestamp(&at),
        "payload": payload,
    })
}

/// Ingests `count` generated events through the store API in batches of 1000.
async fn ingest_generated(store: &Store, count: usize, start: DateTime<Utc>, days: i64) {
    let mut rng = StdRng::seed_from_u64(7);
    let mut index = 0;
    while index < count {
        let size = (count - index).min(1000);
        let events: Vec<Value> = (index..index + size)
            .map(|i| generated_event(&mut rng, i, start, days))
            .collect();
        let body = json!({ "events": events });
        let prepared = match prepare_batch(&body, Utc::now(), PriceTable::embedded()) {
            Ok(prepared) => prepared,
            Err(error) => panic!("generated batch is invalid: {}", error),
        };
        store.ingest("default", prepared).await.unwrap();
        index += size;
    }
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

/// Asserts that the rollup report equals the recomputation for `query`, and returns the
/// number of cost rows it covered.
async fn assert_rollups_match(store: &Store, query: CostQuery) -> i64 {
    let label = format!("{query:?}");
    let rolled = store.cost_report("default", query.clone()).await.unwrap();
    let recomputed = store
        .cost_report_from_events("default", query)
        .await
        .unwrap();
    assert_eq!(
        serde_json::to_string(&rolled).unwrap(),
        serde_json::to_string(&recomputed).unwrap(),
        "{label}"
    );
    rolled.totals.event_count
}

/// Compares both reports over ranges with and without partial minutes, in zones with
/// whole, half and three-quarter hour offsets and a daylight saving change.
async fn assert_ranges_match(store: &Store) {
    let zones = [
        Tz::UTC,
        chrono_tz::Asia::Kolkata,
        chrono_tz::Asia::Kathmandu,
        chrono_tz::America::New_York,
    ];
    let ranges = [
        ("2026-03-01T00:00:00Z", "2026-03-20T23:59:59.999999Z"),
        ("2026-03-02T07:13:27.123456Z", "2026-03-11T19:42:05.000001Z"),
        ("2026-03-08T05:00:00Z", "2026-03-08T09:00:00Z"),
        ("2026-03-05T10:15:30Z", "2026-03-05T10:15:59Z"),
        ("2026-02-20T00:00:00Z", "2026-03-02T00:00:00Z"),
    ];
    let granularities = [Granularity::Hour, Granularity::Day, Granularity::Week];
    let mut covered = 0;
    for zone in zones {
        for (from, to) in ranges {
            for granularity in granularities {
                covered += assert_rollups_match(store, query(from, to, granularity, zone)).await;
            }
        }
    }
    assert!(covered > 0, "the ranges hold no cost rows");

    let mut one_agent = query(ranges[1].0, ranges[1].1, Granularity::Day, zones[1]);
    one_agent.agent_id = Some("coder".to_owned());
    assert!(assert_rollups_match(store, one_agent).await > 0);
}

#[tokio::test]
async fn rollups_match_recomputation() {
    let app = app().await;
    let start = Utc.with_ymd_and_hms(2026, 3, 1, 0, 0, 0).unwrap();
    ingest_generated(&app.state.store, 10_000, start, 14).await;
    assert_ranges_match(&app.state.store).await;
}

/// Ingests a million events; `scripts/test.sh` runs it in release mode.
#[tokio::test]
#[ignore = "takes minutes in a debug build; run with --release -- --ignored"]
async fn million_events_match_recomputation() {
    let app = app().await;
    let start = Utc.with_ymd_and_hms(2026, 3, 1, 0, 0, 0).unwrap();
    ingest_generated(&app.state.store, 1_000_000, start, 20).await;
    assert_ranges_match(&app.state.store).await;
}

#[tokio::test]
async fn superseded_cost_leaves_rollups() {
    let app = app().await;
    let mut tracked = cost_event("s1", "a1", "gpt-4o", json!(0.5), "2026-05-10T12:00:10Z");
    tracked["payload"]["callId"] = json!("c1");
    assert_eq!(app.ingest(vec![tracked]).await.status, StatusCode::CREATED);
    let mut response =
        crate::common::llm_response("s2", "a2", "gpt-4o", json!(0.25), "2026-05-11T08:00:00Z");
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
    assert_eq!(reply.json["bySession"][0]["sessionId"], "s2");
    let query = query(
        "2026-05-01T00:00:00Z",
        "2026-05-31T00:00:00Z",
        Granularity::Day,
        Tz::UTC,
    );
    assert_eq!(assert_rollups_match(&app.state.store, query).await, 1);
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
    let start = Utc.with_ymd_and_hms(2026, 3, 1, 0, 0, 0).unwrap();
    let store = Store::open(&path).unwrap();
    ingest_generated(&store, 3_000, start, 3).await;
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
    conn.execute_batch("DROP TABLE cost_rollups; DROP TABLE session_cost_rollups;")
        .unwrap();
    conn.execute_batch(include_str!(
        "../../src/store/migrations/0004_cost_rollups.sql"
    ))
    .unwrap();
    drop(conn);

    let store = Store::open(&path).unwrap();
    let after = store.cost_report("default", query()).await.unwrap();
    assert_eq!(
        serde_json::to_string(&after).unwrap(),
        serde_json::to_string(&before).unwrap()
    );
    assert!(after.totals.event_count > 0);
    assert_rollups_match(&store, query()).await;
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
