//! `GET /api/analytics`: buckets and totals of activity, with exact costs under the cost
//! rule and latency over tool and LLM durations.

use agentlens_core::Usd;
use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::{json, Value};

use crate::common::{app, cost_event, llm_response, tool_call, tool_error, tool_response, TestApp};

/// A `totalCostUsd` read digit for digit from the response text.
#[derive(Deserialize)]
struct Cost {
    #[serde(rename = "totalCostUsd")]
    total: Box<RawValue>,
}

#[derive(Deserialize)]
struct Exact {
    buckets: Vec<Cost>,
    totals: Cost,
}

const DAY: &str = "from=2026-02-07&to=2026-02-07";

/// Seeds two sessions over two UTC hours, with a superseded `cost_tracked`, a tool error
/// and an unpriced call.
async fn seeded() -> TestApp {
    let app = app().await;
    let mut tracked = cost_event("s1", "a1", "gpt-4.1", json!(5), "2026-02-07T10:10:00Z");
    tracked["payload"]["callId"] = json!("dup");
    let mut response = llm_response("s1", "a1", "gpt-4.1", json!(0.2), "2026-02-07T10:11:00Z");
    response["payload"]["callId"] = json!("dup");
    let reply = app
        .ingest(vec![
            tool_call("s1", "a1", "2026-02-07T10:00:00Z"),
            tool_response("s1", "a1", "search", 100, "2026-02-07T10:01:00Z"),
            cost_event("s1", "a1", "gpt-4.1", json!(0.1), "2026-02-07T10:02:00Z"),
            tracked,
            response,
            llm_response(
                "s2",
                "a2",
                "gpt-4.1",
                json!("0.000000000001"),
                "2026-02-07T11:30:00Z",
            ),
            tool_error("s2", "a2", "search", 200, "2026-02-07T11:40:00Z"),
            llm_response(
                "s2",
                "a2",
                "no-such-model-xyz",
                Value::Null,
                "2026-02-07T11:45:00Z",
            ),
            tool_call("s1", "a1", "2026-02-07T11:50:00Z"),
        ])
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
    app
}

#[tokio::test]
async fn overview_hour_buckets_and_totals() {
    let app = seeded().await;
    let reply = app.get(&format!("/api/analytics?{DAY}")).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    let buckets = reply.json["buckets"].as_array().unwrap();
    assert_eq!(buckets.len(), 2);

    let first = &buckets[0];
    assert_eq!(first["timestamp"], "2026-02-07T10:00:00Z");
    assert_eq!(first["eventCount"], 5);
    assert_eq!(first["toolCallCount"], 1);
    assert_eq!(first["errorCount"], 0);
    assert_eq!(first["avgLatencyMs"], 210.5);
    assert_eq!(first["uniqueSessions"], 1);

    let second = &buckets[1];
    assert_eq!(second["timestamp"], "2026-02-07T11:00:00Z");
    assert_eq!(second["eventCount"], 4);
    assert_eq!(second["toolCallCount"], 1);
    assert_eq!(second["errorCount"], 1);
    // The 200 ms of the tool_error is not a latency: only tool_response and llm_response
    // durations count.
    assert_eq!(second["avgLatencyMs"], 321.0);
    assert_eq!(second["uniqueSessions"], 2);

    let totals = &reply.json["totals"];
    assert_eq!(totals["eventCount"], 9);
    assert_eq!(totals["toolCallCount"], 2);
    assert_eq!(totals["errorCount"], 1);
    assert_eq!(totals["avgLatencyMs"], 265.75);
    assert_eq!(totals["uniqueSessions"], 2);
    assert_eq!(totals["uniqueAgents"], 2);
    assert_eq!(totals["unpricedCount"], 1);
}

#[tokio::test]
async fn overview_cost_follows_cost_rule() {
    let app = seeded().await;
    let reply = app.get(&format!("/api/analytics?{DAY}")).await;
    let exact: Exact = serde_json::from_str(&reply.text).unwrap();

    // The total is 0.1 + 0.2 + 1e-12, because the superseded cost_tracked of 5 does not count.
    assert_eq!(exact.totals.total.get(), "0.300000000001");
    assert_eq!(exact.buckets[0].total.get(), "0.3");
    assert_eq!(exact.buckets[1].total.get(), "0.000000000001");
    let bucket_sum: Usd = exact
        .buckets
        .iter()
        .map(|bucket| bucket.total.get().parse::<Usd>().unwrap())
        .sum();
    assert_eq!(bucket_sum.to_string(), exact.totals.total.get());

    let costs = app.get(&format!("/api/analytics/costs?{DAY}")).await;
    let costs: Exact = serde_json::from_str(&costs.text.replace("overTime", "buckets")).unwrap();
    assert_eq!(costs.totals.total.get(), exact.totals.total.get());
}

#[tokio::test]
async fn overview_day_week_and_zone_buckets() {
    let app = seeded().await;
    let day = app
        .get(&format!("/api/analytics?{DAY}&granularity=day"))
        .await
        .json;
    assert_eq!(day["buckets"].as_array().unwrap().len(), 1);
    assert_eq!(day["buckets"][0]["timestamp"], "2026-02-07T00:00:00Z");
    assert_eq!(day["buckets"][0]["uniqueSessions"], 2);
    assert_eq!(day["buckets"][0]["eventCount"], 9);

    let week = app
        .get(&format!("/api/analytics?{DAY}&granularity=week"))
        .await
        .json;
    assert_eq!(week["buckets"][0]["timestamp"], "2026-W06");

    let kolkata = app
        .get(&format!("/api/analytics?{DAY}&tz=Asia/Kolkata"))
        .await
        .json;
    let labels: Vec<&str> = kolkata["buckets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|bucket| bucket["timestamp"].as_str().unwrap())
        .collect();
    // 10:00 UTC falls in the 15:00 IST hour (09:30 to 10:30 UTC), 11:30 to 11:50 UTC in
    // the 17:00 IST hour.
    assert_eq!(
        labels,
        ["2026-02-07T15:00:00+05:30", "2026-02-07T17:00:00+05:30"]
    );
}

#[tokio::test]
async fn overview_filters_and_range() {
    let app = seeded().await;
    let a2 = app
        .get(&format!("/api/analytics?{DAY}&agentId=a2"))
        .await
        .json;
    assert_eq!(a2["totals"]["eventCount"], 3);
    assert_eq!(a2["totals"]["uniqueAgents"], 1);

    // Without `from`, `range` counts back from now, and these events are older.
    for range in ["", "&range=1h", "&range=30d"] {
        let recent = app.get(&format!("/api/analytics?x=1{range}")).await;
        assert_eq!(recent.status, StatusCode::OK, "{range}: {}", recent.text);
        assert_eq!(recent.json["buckets"], json!([]), "{range}");
        assert_eq!(recent.json["totals"]["eventCount"], 0, "{range}");
        assert!(
            recent.text.contains("\"totalCostUsd\":0,"),
            "{range}: {}",
            recent.text
        );
    }
    // `range` counts back from `to` when `from` is absent.
    let window = app
        .get("/api/analytics?to=2026-02-07T11:41:00Z&range=1h")
        .await
        .json;
    assert_eq!(window["totals"]["eventCount"], 2);

    let bad_range = app.get("/api/analytics?range=2h").await;
    assert_eq!(bad_range.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        bad_range.json["error"],
        "Invalid range \"2h\". Use: 1h, 6h, 24h, 3d, 7d, 30d"
    );
    let bad = app.get("/api/analytics?granularity=month").await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        bad.json,
        json!({"error": "Invalid granularity. Use: hour, day, week", "status": 400})
    );
}
