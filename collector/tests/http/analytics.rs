//! `GET /api/analytics/costs`: exact totals that agree with each other and with sessions.

use agentlens_core::event::format_timestamp;
use agentlens_core::Usd;
use axum::http::StatusCode;
use chrono::{Duration, Utc};
use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::{json, Value};

use crate::common::{app, cost_event, llm_response};

/// A `totalCostUsd` read from the response text, digit for digit (a `serde_json::Value`
/// would round it through `f64`).
#[derive(Deserialize)]
struct Cost {
    #[serde(rename = "totalCostUsd")]
    total: Box<RawValue>,
}

impl Cost {
    fn usd(&self) -> Usd {
        self.total.get().parse().unwrap()
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Report {
    totals: Cost,
    by_agent: Vec<Cost>,
    by_model: Vec<Cost>,
    over_time: Vec<Cost>,
}

#[derive(Deserialize)]
struct Sessions {
    sessions: Vec<Cost>,
}

fn sum(costs: &[Cost]) -> Usd {
    costs.iter().map(Cost::usd).sum()
}

const RANGE: &str = "from=2026-02-01&to=2026-02-28";

async fn seeded() -> crate::common::TestApp {
    let app = app().await;
    let reply = app
        .ingest(vec![
            cost_event("s1", "a1", "gpt-4.1", json!(0.1), "2026-02-07T10:00:00Z"),
            cost_event("s1", "a1", "gpt-4.1", json!(0.2), "2026-02-07T11:59:59Z"),
            llm_response(
                "s2",
                "a2",
                "gpt-4.1",
                json!("0.000000000001"),
                "2026-02-08T00:30:00Z",
            ),
            llm_response(
                "s2",
                "a2",
                "no-such-model-xyz",
                Value::Null,
                "2026-02-09T23:00:00Z",
            ),
            cost_event(
                "s3",
                "a1",
                "claude-x",
                json!("1234567.891234567891"),
                "2026-02-16T08:00:00Z",
            ),
        ])
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
    app
}

#[tokio::test]
async fn agent_and_bucket_sums_equal_totals() {
    let app = seeded().await;
    let reply = app
        .get(&format!("/api/analytics/costs?{RANGE}&granularity=hour"))
        .await;
    let exact: Report = serde_json::from_str(&reply.text).unwrap();
    let total = exact.totals.usd();
    assert_eq!(total.to_string(), "1234568.191234567892");
    assert_eq!(sum(&exact.by_agent), total);
    assert_eq!(sum(&exact.over_time), total);
    assert_eq!(sum(&exact.by_model), total);

    let report = reply.json;
    assert_eq!(report["totals"]["eventCount"], 5);
    assert_eq!(report["totals"]["unpricedCount"], 1);
    assert_eq!(report["totals"]["cacheReadTokens"], 200);
    assert_eq!(report["overTime"][0]["bucket"], "2026-02-07T10:00:00Z");
    assert_eq!(report["overTime"][1]["bucket"], "2026-02-07T11:00:00Z");
}

#[tokio::test]
async fn sessions_and_analytics_agree() {
    let app = seeded().await;
    let report = app.get(&format!("/api/analytics/costs?{RANGE}")).await;
    let report: Report = serde_json::from_str(&report.text).unwrap();
    let sessions: Sessions = serde_json::from_str(&app.get("/api/sessions").await.text).unwrap();
    assert_eq!(sum(&sessions.sessions), report.totals.usd());

    // 0.1 + 0.2 + 1e-12 + 1234567.891234567891 is exact, digit for digit.
    assert_eq!(report.totals.total.get(), "1234568.191234567892");
    let s1 = app.get("/api/sessions/s1").await;
    assert!(s1.text.contains("\"totalCostUsd\":0.3,"), "{}", s1.text);
}

#[tokio::test]
async fn week_and_time_zone_buckets() {
    let app = seeded().await;
    let weeks = app
        .get(&format!("/api/analytics/costs?{RANGE}&granularity=week"))
        .await
        .json;
    let labels: Vec<&str> = weeks["overTime"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["bucket"].as_str().unwrap())
        .collect();
    assert_eq!(labels, ["2026-W06", "2026-W07", "2026-W08"]);

    let days = app
        .get(&format!(
            "/api/analytics/costs?{RANGE}&granularity=day&tz=Asia/Kolkata"
        ))
        .await
        .json;
    let labels: Vec<&str> = days["overTime"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["bucket"].as_str().unwrap())
        .collect();
    assert_eq!(
        labels,
        [
            "2026-02-07T00:00:00+05:30",
            "2026-02-08T00:00:00+05:30",
            "2026-02-10T00:00:00+05:30",
            "2026-02-16T00:00:00+05:30"
        ]
    );
}

#[tokio::test]
async fn range_and_agent_filters_apply() {
    let app = seeded().await;
    let a1 = app
        .get(&format!("/api/analytics/costs?{RANGE}&agentId=a1"))
        .await
        .json;
    assert_eq!(a1["totals"]["eventCount"], 3);
    let one_day = app
        .get("/api/analytics/costs?from=2026-02-07&to=2026-02-07")
        .await
        .json;
    assert_eq!(one_day["totals"]["eventCount"], 2);
    assert_eq!(one_day["bySession"][0]["sessionId"], "s1");
    let bad = app.get("/api/analytics/costs?granularity=month").await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        bad.json["error"],
        "Invalid granularity. Use: hour, day, week"
    );
}

/// Seeds three priced calls, one unpriced call and a `cost_tracked` that the LLM report
/// must leave out.
async fn seeded_llm() -> crate::common::TestApp {
    let app = app().await;
    let mut slow = llm_response("s1", "a1", "gpt-4.1", json!(0.2), "2026-02-07T10:50:00Z");
    slow["payload"]["latencyMs"] = json!(679);
    let mut other_provider = llm_response(
        "s2",
        "a2",
        "claude-sonnet-4",
        json!("0.000000000001"),
        "2026-02-07T12:00:00Z",
    );
    other_provider["payload"]["provider"] = json!("anthropic");
    let reply = app
        .ingest(vec![
            llm_response("s1", "a1", "gpt-4.1", json!(0.1), "2026-02-07T10:05:00Z"),
            slow,
            other_provider,
            llm_response(
                "s2",
                "a2",
                "no-such-model-xyz",
                Value::Null,
                "2026-02-07T12:10:00Z",
            ),
            cost_event("s1", "a1", "gpt-4.1", json!(5), "2026-02-07T10:06:00Z"),
        ])
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
    app
}

const LLM_RANGE: &str = "from=2026-02-07&to=2026-02-07";

#[tokio::test]
async fn llm_summary_counts_responses_only() {
    let app = seeded_llm().await;
    let reply = app.get(&format!("/api/analytics/llm?{LLM_RANGE}")).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    let summary = &reply.json["summary"];
    assert_eq!(summary["totalCalls"], 4);
    assert_eq!(summary["unpricedCount"], 1);
    assert_eq!(summary["totalInputTokens"], 4000);
    assert_eq!(summary["totalOutputTokens"], 800);
    assert_eq!(summary["avgLatencyMs"], 410.5);
    assert!(
        reply.text.contains("\"totalCostUsd\":0.300000000001,"),
        "{}",
        reply.text
    );
    // 0.300000000001 / 3 priced calls, rounded to the pico-dollar.
    assert!(
        reply.text.contains("\"avgCostPerCall\":0.1,"),
        "{}",
        reply.text
    );
}

#[tokio::test]
async fn llm_models_and_buckets_add_up() {
    let app = seeded_llm().await;
    let reply = app.get(&format!("/api/analytics/llm?{LLM_RANGE}")).await;
    let report = &reply.json;
    let models = report["byModel"].as_array().unwrap();
    assert_eq!(models.len(), 3);
    assert_eq!(models[0]["model"], "gpt-4.1");
    assert_eq!(models[0]["provider"], "openai");
    assert_eq!(models[0]["calls"], 2);
    assert_eq!(models[0]["avgLatencyMs"], 500.0);
    assert_eq!(models[1]["provider"], "anthropic");

    let labels: Vec<&str> = report["byTime"]
        .as_array()
        .unwrap()
        .iter()
        .map(|bucket| bucket["bucket"].as_str().unwrap())
        .collect();
    assert_eq!(labels, ["2026-02-07T10:00:00Z", "2026-02-07T12:00:00Z"]);
    assert_eq!(report["byTime"][0]["calls"], 2);
    assert_eq!(report["byTime"][1]["unpricedCount"], 1);

    #[derive(Deserialize)]
    struct Exact {
        #[serde(rename = "byModel")]
        by_model: Vec<CostUsd>,
        #[serde(rename = "byTime")]
        by_time: Vec<CostUsd>,
    }
    #[derive(Deserialize)]
    struct CostUsd {
        #[serde(rename = "costUsd")]
        cost: Box<RawValue>,
    }
    let exact: Exact = serde_json::from_str(&reply.text).unwrap();
    let total = |rows: &[CostUsd]| -> Usd {
        rows.iter()
            .map(|r| r.cost.get().parse::<Usd>().unwrap())
            .sum()
    };
    assert_eq!(total(&exact.by_model).to_string(), "0.300000000001");
    assert_eq!(total(&exact.by_time).to_string(), "0.300000000001");
}

#[tokio::test]
async fn llm_filters_and_default_range() {
    let app = seeded_llm().await;
    let by_provider = app
        .get(&format!(
            "/api/analytics/llm?{LLM_RANGE}&provider=anthropic"
        ))
        .await
        .json;
    assert_eq!(by_provider["summary"]["totalCalls"], 1);
    let by_model = app
        .get(&format!(
            "/api/analytics/llm?{LLM_RANGE}&model=gpt-4.1&agentId=a1"
        ))
        .await
        .json;
    assert_eq!(by_model["summary"]["totalCalls"], 2);
    let by_day = app
        .get(&format!("/api/analytics/llm?{LLM_RANGE}&granularity=day"))
        .await
        .json;
    assert_eq!(by_day["byTime"][0]["bucket"], "2026-02-07T00:00:00Z");

    // Without `from`, only the last 24 hours count, and these events are older.
    let recent = app.get("/api/analytics/llm").await.json;
    assert_eq!(recent["summary"]["totalCalls"], 0);
    assert_eq!(recent["byTime"], json!([]));

    let bad = app.get("/api/analytics/llm?granularity=month").await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        bad.json["error"],
        "Invalid granularity. Use: hour, day, week"
    );
}

#[tokio::test]
async fn reports_read_range_without_from() {
    let app = app().await;
    let ago = |minutes| format_timestamp(&(Utc::now() - Duration::minutes(minutes)));
    let reply = app
        .ingest(vec![
            cost_event("s-range", "a-range", "gpt-4.1", json!(0.25), &ago(30)),
            cost_event("s-range", "a-range", "gpt-4.1", json!(0.5), &ago(180)),
        ])
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);

    let hour = app.get("/api/analytics/costs?range=1h").await;
    assert_eq!(hour.status, StatusCode::OK, "{}", hour.text);
    assert_eq!(hour.json["totals"]["totalCostUsd"], 0.25);
    let day = app.get("/api/analytics/costs?range=24h").await.json;
    assert_eq!(day["totals"]["totalCostUsd"], 0.75);

    let agents = app.get("/api/analytics/agents?range=1h").await.json;
    assert_eq!(agents["agents"][0]["totalCostUsd"], 0.25);

    // `from` wins over `range`, as in the overview.
    let from = format_timestamp(&(Utc::now() - Duration::hours(4)));
    let both = app
        .get(&format!("/api/analytics/costs?range=1h&from={from}"))
        .await
        .json;
    assert_eq!(both["totals"]["totalCostUsd"], 0.75);

    for path in ["costs", "llm", "agents", "tools"] {
        let bad = app.get(&format!("/api/analytics/{path}?range=2h")).await;
        assert_eq!(bad.status, StatusCode::BAD_REQUEST, "{path}");
        assert_eq!(
            bad.json["error"], "Invalid range \"2h\". Use: 1h, 6h, 24h, 3d, 7d, 30d",
            "{path}"
        );
    }
}
