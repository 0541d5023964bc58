//! Hour and day buckets across clock changes: `GET /api/analytics`, the `overTime` of
//! `GET /api/analytics/costs` and the `byTime` of `GET /api/analytics/llm` agree on every
//! boundary and label, for a 30-minute daylight saving change and an offset with seconds.

use axum::http::StatusCode;
use chrono::{DateTime, Duration, SecondsFormat, Utc};
use serde_json::{json, Value};

use crate::common::{app, cost_event, llm_response, TestApp};

/// Agent of the `cost_tracked` events, read from `/api/analytics` and `/costs`.
const COST_AGENT: &str = "cost-agent";

/// Agent of the `llm_response` events, read from `/llm`.
const LLM_AGENT: &str = "llm-agent";

/// Returns `count` instants `step` apart from `first`, in RFC 3339.
fn instants(first: &str, count: i32, step: Duration) -> Vec<String> {
    let first: DateTime<Utc> = first.parse().unwrap();
    (0..count)
        .map(|index| {
            let instant = first + step * index;
            instant.to_rfc3339_opts(SecondsFormat::Micros, true)
        })
        .collect()
}

/// Stores one $1 `cost_tracked` and one $1 `llm_response` at each instant, under
/// separate agents so that each endpoint reads one kind.
async fn ingest_at(app: &TestApp, instants: &[String]) {
    let mut events = Vec::new();
    for instant in instants {
        events.push(cost_event("s1", COST_AGENT, "gpt-4o", json!(1), instant));
        events.push(llm_response("s2", LLM_AGENT, "gpt-4o", json!(1), instant));
    }
    let reply = app.ingest(events).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
}

/// Returns the `(label, count)` pairs of `list`, read from `label_key` and `count_key`.
fn pairs(list: &Value, label_key: &str, count_key: &str) -> Vec<(String, i64)> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|bucket| {
            let label = bucket[label_key].as_str().unwrap().to_owned();
            (label, bucket[count_key].as_i64().unwrap())
        })
        .collect()
}

/// Asserts that the three endpoints list `expected` buckets for `range` (the query text
/// without `agentId`).
async fn assert_buckets(app: &TestApp, range: &str, expected: &[(&str, i64)]) {
    let expected: Vec<(String, i64)> = expected
        .iter()
        .map(|(label, count)| ((*label).to_owned(), *count))
        .collect();

    let costs = app
        .get(&format!(
            "/api/analytics/costs?{range}&agentId={COST_AGENT}"
        ))
        .await;
    assert_eq!(costs.status, StatusCode::OK, "{}", costs.text);
    let over_time = pairs(&costs.json["overTime"], "bucket", "eventCount");
    assert_eq!(over_time, expected, "costs overTime");

    let overview = app
        .get(&format!("/api/analytics?{range}&agentId={COST_AGENT}"))
        .await;
    assert_eq!(overview.status, StatusCode::OK, "{}", overview.text);
    let buckets = pairs(&overview.json["buckets"], "timestamp", "eventCount");
    assert_eq!(buckets, expected, "overview buckets");

    let calls = app
        .get(&format!("/api/analytics/llm?{range}&agentId={LLM_AGENT}"))
        .await;
    assert_eq!(calls.status, StatusCode::OK, "{}", calls.text);
    let by_time = pairs(&calls.json["byTime"], "bucket", "calls");
    assert_eq!(by_time, expected, "llm byTime");
}

#[tokio::test]
async fn lord_howe_forward_change_shortens_hour() {
    // At 15:30Z the clock jumps from 02:00+10:30 to 02:30+11:00, so local hour 02 lasts
    // 30 minutes and starts at the jump.
    let app = app().await;
    ingest_at(
        &app,
        &instants("2026-10-03T14:00:00Z", 18, Duration::minutes(10)),
    )
    .await;
    let range = "from=2026-10-03T14:00:00Z&to=2026-10-03T16:59:59Z&granularity=hour\
                 &tz=Australia/Lord_Howe";
    let expected = [
        ("2026-10-04T00:00:00+10:30", 3),
        ("2026-10-04T01:00:00+10:30", 6),
        ("2026-10-04T02:30:00+11:00", 3),
        ("2026-10-04T03:00:00+11:00", 6),
    ];
    assert_buckets(&app, range, &expected).await;
}

#[tokio::test]
async fn lord_howe_back_change_lengthens_hour() {
    // On 2026-04-04 at 15:00Z, as every April, the clock goes back from 02:00+11:00 to
    // 01:30+10:30, so local hour 01 lasts 90 minutes, from 14:00Z to 15:30Z. Ingest
    // rejects events more than a day ahead, so the test cannot use the 2027 change.
    let app = app().await;
    ingest_at(
        &app,
        &instants("2026-04-04T14:00:00Z", 18, Duration::minutes(10)),
    )
    .await;
    let range = "from=2026-04-04T14:00:00Z&to=2026-04-04T16:59:59Z&granularity=hour\
                 &tz=Australia/Lord_Howe";
    let expected = [
        ("2026-04-05T01:00:00+11:00", 9),
        ("2026-04-05T02:00:00+10:30", 6),
        ("2026-04-05T03:00:00+10:30", 3),
    ];
    assert_buckets(&app, range, &expected).await;
}

#[tokio::test]
async fn lord_howe_change_days_match() {
    // Days around both changes start on whole UTC minutes, so `/costs` and `/llm` read
    // them from the rollups and `/api/analytics` from the events.
    let app = app().await;
    let mut all = instants("2026-10-03T12:00:00Z", 12, Duration::hours(1));
    all.extend(instants("2026-04-04T12:00:00Z", 12, Duration::hours(1)));
    ingest_at(&app, &all).await;
    let range = "from=2026-10-01&to=2026-10-06&granularity=day&tz=Australia/Lord_Howe";
    let expected = [
        ("2026-10-03T00:00:00+10:30", 2),
        ("2026-10-04T00:00:00+10:30", 10),
    ];
    assert_buckets(&app, range, &expected).await;
    let range = "from=2026-04-03&to=2026-04-08&granularity=day&tz=Australia/Lord_Howe";
    let expected = [
        ("2026-04-04T00:00:00+11:00", 1),
        ("2026-04-05T00:00:00+11:00", 11),
    ];
    assert_buckets(&app, range, &expected).await;
}

#[tokio::test]
async fn offset_with_seconds_splits_hours_exactly() {
    // Until 1972 Africa/Monrovia was 0:44:30 behind UTC, so its hours started at :44:30 UTC,
    // inside a minute and inside a 15-minute slot.
    let app = app().await;
    let at = [
        "1971-06-01T09:44:00Z",
        "1971-06-01T09:44:29.999999Z",
        "1971-06-01T09:44:30Z",
        "1971-06-01T09:50:00Z",
        "1971-06-01T10:44:29Z",
        "1971-06-01T10:44:30Z",
    ];
    ingest_at(&app, &at.map(str::to_owned)).await;
    let range = "from=1971-06-01T09:00:00Z&to=1971-06-01T11:00:00Z&granularity=hour\
                 &tz=Africa/Monrovia";
    let expected = [
        ("1971-06-01T08:00:00-00:44:30", 2),
        ("1971-06-01T09:00:00-00:44:30", 3),
        ("1971-06-01T10:00:00-00:44:30", 1),
    ];
    assert_buckets(&app, range, &expected).await;
}

#[tokio::test]
async fn offset_change_inside_minute_starts_day() {
    // On 1972-01-07 at 00:44:30 UTC Monrovia moved from -0:44:30 to UTC, so Jan 7 starts
    // there and an event at that instant belongs to it.
    let app = app().await;
    let at = [
        "1972-01-06T12:00:00Z",
        "1972-01-07T00:44:29Z",
        "1972-01-07T00:44:30Z",
        "1972-01-07T12:00:00Z",
    ];
    ingest_at(&app, &at.map(str::to_owned)).await;
    let range = "from=1972-01-06T00:00:00Z&to=1972-01-08T00:00:00Z&granularity=day\
                 &tz=Africa/Monrovia";
    let expected = [
        ("1972-01-06T00:00:00-00:44:30", 2),
        ("1972-01-07T00:44:30Z", 2),
    ];
    assert_buckets(&app, range, &expected).await;
    let range = "from=1972-01-07&to=1972-01-07&granularity=day&tz=Africa/Monrovia";
    assert_buckets(&app, range, &[("1972-01-07T00:44:30Z", 2)]).await;
}
