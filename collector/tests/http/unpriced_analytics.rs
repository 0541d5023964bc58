//! Analytics figures that must not read unpriced, missing or left-out data as $0 or as
//! healthy: unpriced counts next to every partial cost, the sessions `bySession` leaves
//! out, the error rate of a tool that only failed and the range of an error rate threshold.

use axum::http::{Method, StatusCode};
use serde_json::{json, Value};

use crate::common::{app, cost_event, llm_response, tool_error, TestApp};

const DAY: &str = "from=2026-11-05&to=2026-11-05";

/// Returns a `cost_tracked` event without `costUsd` for a model that no price covers.
fn unpriced_cost(session: &str, agent: &str, timestamp: &str) -> Value {
    let mut event = cost_event(session, agent, "nonexistent-9", json!(0), timestamp);
    event["payload"].as_object_mut().unwrap().remove("costUsd");
    event
}

/// Seeds agent `mixed` with one priced and one unpriced cost event in the 01:00 hour, and
/// agent `bare` with one unpriced cost event in the 02:00 hour.
async fn seeded() -> TestApp {
    let app = app().await;
    let reply = app
        .ingest(vec![
            cost_event(
                "s1",
                "mixed",
                "gpt-4.1",
                json!("0.25"),
                "2026-11-05T01:00:00Z",
            ),
            unpriced_cost("s1", "mixed", "2026-11-05T01:10:00Z"),
            unpriced_cost("s2", "bare", "2026-11-05T02:00:00Z"),
        ])
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
    app
}

#[tokio::test]
async fn agents_rows_count_unpriced_events() {
    let app = seeded().await;
    let reply = app.get(&format!("/api/analytics/agents?{DAY}")).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    let agents = reply.json["agents"].as_array().unwrap();
    let agent = |id: &str| agents.iter().find(|row| row["agentId"] == id).unwrap();

    assert_eq!(agent("mixed")["totalCostUsd"], json!(0.25));
    assert_eq!(agent("mixed")["unpricedCount"], 1);
    assert_eq!(agent("bare")["totalCostUsd"], json!(0));
    assert_eq!(agent("bare")["unpricedCount"], 1);
}

#[tokio::test]
async fn overview_buckets_count_unpriced_events() {
    let app = seeded().await;
    let reply = app
        .get(&format!("/api/analytics?{DAY}&granularity=hour"))
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    let buckets = reply.json["buckets"].as_array().unwrap();
    assert_eq!(buckets.len(), 2, "{}", reply.text);
    assert_eq!(buckets[0]["unpricedCount"], 1);
    assert_eq!(buckets[1]["totalCostUsd"], json!(0));
    assert_eq!(buckets[1]["unpricedCount"], 1);
    assert_eq!(reply.json["totals"]["unpricedCount"], 2);
}

/// Returns the `unpricedCount` of each `overTime` bucket of a cost report.
async fn over_time_unpriced(app: &TestApp, query: &str) -> Vec<Value> {
    let reply = app.get(&format!("/api/analytics/costs?{query}")).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    let buckets = reply.json["overTime"].as_array().unwrap();
    buckets
        .iter()
        .map(|bucket| bucket["unpricedCount"].clone())
        .collect()
}

#[tokio::test]
async fn cost_buckets_count_unpriced_events() {
    let app = seeded().await;
    // Hour buckets of a day range read the tenant rollups, day buckets the cost rollups,
    // and one agent's hour buckets the cost rollups of that agent.
    let hours = over_time_unpriced(&app, &format!("{DAY}&granularity=hour")).await;
    assert_eq!(hours, [json!(1), json!(1)]);
    let days = over_time_unpriced(&app, &format!("{DAY}&granularity=day")).await;
    assert_eq!(days, [json!(2)]);
    let bare = over_time_unpriced(&app, &format!("{DAY}&granularity=hour&agentId=bare")).await;
    assert_eq!(bare, [json!(1)]);
    // A range that starts and ends inside minutes reads its edges from the events.
    let edges = "from=2026-11-05T01:09:30Z&to=2026-11-05T02:00:30Z&granularity=hour";
    assert_eq!(over_time_unpriced(&app, edges).await, [json!(1), json!(1)]);
}

#[tokio::test]
async fn cost_rows_count_unpriced_events() {
    let app = seeded().await;
    let reply = app.get(&format!("/api/analytics/costs?{DAY}")).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    let report = &reply.json;
    let bare_agent = report["byAgent"].as_array().unwrap().iter();
    let bare_agent: Vec<_> = bare_agent.filter(|row| row["agentId"] == "bare").collect();
    assert_eq!(bare_agent[0]["unpricedCount"], 1);
    let model = report["byModel"].as_array().unwrap().iter();
    let model: Vec<_> = model
        .filter(|row| row["model"] == "nonexistent-9")
        .collect();
    assert_eq!(model[0]["unpricedCount"], 2);
    let sessions = report["bySession"].as_array().unwrap();
    let s2: Vec<_> = sessions
        .iter()
        .filter(|row| row["sessionId"] == "s2")
        .collect();
    assert_eq!(s2[0]["unpricedCount"], 1);
}

#[tokio::test]
async fn llm_average_is_null_without_priced_calls() {
    let app = app().await;
    let reply = app
        .ingest(vec![llm_response(
            "s1",
            "a1",
            "nonexistent-9",
            Value::Null,
            "2026-11-05T01:00:00Z",
        )])
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);

    let reply = app.get(&format!("/api/analytics/llm?{DAY}")).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    let summary = &reply.json["summary"];
    assert_eq!(summary["totalCalls"], 1);
    assert_eq!(summary["unpricedCount"], 1);
    assert_eq!(summary["avgCostPerCall"], Value::Null, "{}", reply.text);
}

/// Seeds `count` sessions of one agent, each with one `cost_tracked` of 0.001 USD, and
/// returns the cost report of that day.
async fn sessions_report(count: usize, query: &str) -> Value {
    let app = app().await;
    let events: Vec<Value> = (0..count)
        .map(|index| {
            let session = format!("s{index:03}");
            cost_event(
                &session,
                "a1",
                "gpt-4.1",
                json!("0.001"),
                "2026-11-28T10:00:00Z",
            )
        })
        .collect();
    let reply = app.ingest(events).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
    let reply = app
        .get(&format!(
            "/api/analytics/costs?from=2026-11-28&to=2026-11-28{query}"
        ))
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    reply.json
}

/// Returns the exact sum of the `totalCostUsd` of `rows`.
fn cost_sum(rows: &[Value]) -> rust_decimal::Decimal {
    rows.iter()
        .map(|row| {
            row["totalCostUsd"]
                .to_string()
                .parse::<rust_decimal::Decimal>()
        })
        .sum::<Result<_, _>>()
        .unwrap()
}

#[tokio::test]
async fn by_session_states_what_it_leaves_out() {
    for query in ["", "&agentId=a1", "&granularity=hour"] {
        let report = sessions_report(150, query).await;
        let listed = report["bySession"].as_array().unwrap();
        let omitted = &report["bySessionOmitted"];
        assert_eq!(listed.len(), 100, "query {query:?}");
        assert_eq!(omitted["totalCostUsd"], json!(0.05), "query {query:?}");
        assert_eq!(omitted["eventCount"], 50, "query {query:?}");
        assert_eq!(omitted["unpricedCount"], 0, "query {query:?}");

        let parts = cost_sum(listed) + cost_sum(std::slice::from_ref(omitted));
        let total = cost_sum(std::slice::from_ref(&report["totals"]));
        assert_eq!(parts, total, "query {query:?}");
    }
}

#[tokio::test]
async fn by_session_omits_nothing_below_limit() {
    let report = sessions_report(3, "").await;
    assert_eq!(report["bySession"].as_array().unwrap().len(), 3);
    let omitted = &report["bySessionOmitted"];
    assert_eq!(omitted["totalCostUsd"], json!(0));
    assert_eq!(omitted["eventCount"], 0);
}

#[tokio::test]
async fn error_only_tool_has_rate_one() {
    let app = app().await;
    let reply = app
        .ingest(vec![
            tool_error("s1", "a1", "onlyerr", 10, "2026-11-15T10:00:00Z"),
            tool_error("s1", "a1", "onlyerr", 10, "2026-11-15T10:01:00Z"),
        ])
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);

    let reply = app
        .get("/api/analytics/tools?from=2026-11-15&to=2026-11-15")
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    let tool = &reply.json["tools"][0];
    assert_eq!(tool["toolName"], "onlyerr");
    assert_eq!(tool["callCount"], 0);
    assert_eq!(tool["errorCount"], 2);
    assert_eq!(tool["errorRate"], 1.0);
}

async fn put(app: &TestApp, uri: &str, body: &Value) -> crate::common::Reply {
    let bytes = serde_json::to_vec(body).unwrap();
    app.send(Method::PUT, uri, Some(bytes)).await
}

/// Asserts a 400 on `threshold` that names the value, the range and the fix.
fn assert_rate_rejected(reply: &crate::common::Reply, value: &str) {
    assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{}", reply.text);
    let detail = &reply.json["details"][0];
    assert_eq!(detail["path"], "threshold", "{}", reply.text);
    let message = detail["message"].as_str().unwrap();
    assert!(
        message.contains(&format!("threshold {value} ")),
        "{message}"
    );
    assert!(message.contains("from 0 to 1"), "{message}");
    assert!(message.contains("use 0.05 for 5%"), "{message}");
}

#[tokio::test]
async fn error_rate_threshold_above_one_is_rejected() {
    let app = app().await;
    let rule = |threshold: Value| {
        json!({"name": "er", "condition": "error_rate_exceeds", "threshold": threshold,
            "windowMinutes": 5})
    };
    assert_rate_rejected(&app.post("/api/alerts/rules", &rule(json!(5))).await, "5");

    let created = app.post("/api/alerts/rules", &rule(json!(0.05))).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
    let uri = format!("/api/alerts/rules/{}", created.json["id"].as_str().unwrap());
    let reply = put(&app, &uri, &json!({"threshold": 50})).await;
    assert_rate_rejected(&reply, "50");
    let stored = app.get(&uri).await;
    assert_eq!(stored.json["threshold"], json!(0.05), "{}", stored.text);

    let reply = put(&app, &uri, &json!({"threshold": 1})).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
}

#[tokio::test]
async fn condition_change_checks_stored_threshold() {
    let app = app().await;
    let body = json!({"name": "busy", "condition": "event_count_exceeds", "threshold": 50,
        "windowMinutes": 5});
    let created = app.post("/api/alerts/rules", &body).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
    let uri = format!("/api/alerts/rules/{}", created.json["id"].as_str().unwrap());

    let reply = put(&app, &uri, &json!({"condition": "error_rate_exceeds"})).await;
    assert_rate_rejected(&reply, "50");
    let reply = put(
        &app,
        &uri,
        &json!({"condition": "error_rate_exceeds", "threshold": 0.5}),
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
}

#[tokio::test]
async fn openapi_documents_unpriced_fields() {
    let app = app().await;
    let reply = app.get("/api/openapi.json").await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    let schemas = &reply.json["components"]["schemas"];
    for (schema, field) in [
        ("AgentStats", "unpricedCount"),
        ("OverviewBucket", "unpricedCount"),
        ("CostBucket", "unpricedCount"),
        ("CostReport", "bySessionOmitted"),
        ("CostReport", "bySession"),
    ] {
        // A struct with a flattened part is an `allOf` of the part and its own fields.
        let own = schemas[schema]["allOf"].as_array().into_iter().flatten();
        let documented = std::iter::once(&schemas[schema])
            .chain(own)
            .any(|part| part["properties"][field].is_object());
        assert!(
            documented,
            "{schema}.{field} is not documented: {}",
            schemas[schema]
        );
    }
    let average = &schemas["LlmSummary"]["properties"]["avgCostPerCall"]["type"];
    assert_eq!(average, &json!(["number", "null"]), "{}", average);
}
