//! The cost rule: a `cost_tracked` whose `callId` matches an `llm_response` of the same
//! session stops counting, in either arrival order, and sessions, analytics and alerts all
//! report the same total.

use agentlens_collector::store::alerts::Transition;
use axum::http::StatusCode;
use chrono::Utc;
use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::{json, Value};

use crate::common::{app, TestApp};
use crate::cost_fill;

/// Returns a `cost_tracked` of gpt-4.1 that reports `cost`.
fn tracked(session: &str, call_id: &str, cost: &str) -> Value {
    cost_fill::tracked(session, call_id, cost.parse().unwrap())
}

/// Returns an `llm_response` of gpt-4.1 that reports `cost`.
fn response(session: &str, call_id: &str, cost: &str) -> Value {
    cost_fill::response(session, call_id, "openai", "gpt-4.1", cost.parse().unwrap())
}

#[derive(Deserialize)]
struct Cost {
    #[serde(rename = "totalCostUsd")]
    total: Box<RawValue>,
}

#[derive(Deserialize)]
struct Report {
    totals: Cost,
}

/// Returns a session's total as exact text.
async fn session_total(app: &TestApp, session: &str) -> String {
    let reply = app.get(&format!("/api/sessions/{session}")).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    let cost: Cost = serde_json::from_str(&reply.text).unwrap();
    cost.total.get().to_owned()
}

/// Returns the analytics total as exact text.
async fn analytics_total(app: &TestApp) -> String {
    let reply = app.get("/api/analytics/costs").await;
    let report: Report = serde_json::from_str(&reply.text).unwrap();
    report.totals.total.get().to_owned()
}

/// Returns the value a `cost_exceeds` rule with threshold 0 fires with.
async fn alert_value(app: &TestApp) -> String {
    let body = json!({"name": "any spend", "condition": "cost_exceeds", "threshold": 0, "windowMinutes": 60});
    let reply = app.post("/api/alerts/rules", &body).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
    let transitions = app.state.alerts.evaluate_at(Utc::now()).await.unwrap();
    match &transitions[0].1 {
        Transition::Fired(entry) => entry.current_value.0.normalize().to_string(),
        other => panic!("expected the rule to fire, got {other:?}"),
    }
}

async fn ingest(app: &TestApp, events: Vec<Value>) {
    let reply = app.ingest(events).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
}

#[tokio::test]
async fn response_after_tracked_supersedes_it() {
    let app = app().await;
    ingest(&app, vec![tracked("s1", "c1", "0.5")]).await;
    assert_eq!(session_total(&app, "s1").await, "0.5");

    ingest(&app, vec![response("s1", "c1", "0.3")]).await;
    assert_eq!(session_total(&app, "s1").await, "0.3");
    assert_eq!(analytics_total(&app).await, "0.3");
    assert_eq!(alert_value(&app).await, "0.3");
}

#[tokio::test]
async fn tracked_after_response_is_not_counted() {
    let app = app().await;
    ingest(&app, vec![response("s1", "c1", "0.3")]).await;
    ingest(&app, vec![tracked("s1", "c1", "0.5")]).await;
    assert_eq!(session_total(&app, "s1").await, "0.3");
    assert_eq!(analytics_total(&app).await, "0.3");
    assert_eq!(alert_value(&app).await, "0.3");
}

#[tokio::test]
async fn pair_in_one_batch_counts_once() {
    let app = app().await;
    ingest(
        &app,
        vec![tracked("s1", "c1", "0.5"), response("s1", "c1", "0.3")],
    )
    .await;
    ingest(
        &app,
        vec![response("s2", "c2", "0.25"), tracked("s2", "c2", "0.5")],
    )
    .await;
    assert_eq!(session_total(&app, "s1").await, "0.3");
    assert_eq!(session_total(&app, "s2").await, "0.25");
    assert_eq!(analytics_total(&app).await, "0.55");
}

#[tokio::test]
async fn unmatched_call_ids_all_count() {
    let app = app().await;
    ingest(
        &app,
        vec![
            tracked("s1", "c1", "0.1"),
            tracked("s1", "c1", "0.2"),
            response("s1", "c2", "0.4"),
            response("s1", "c2", "0.8"),
        ],
    )
    .await;
    assert_eq!(session_total(&app, "s1").await, "1.5");
    assert_eq!(analytics_total(&app).await, "1.5");
    assert_eq!(alert_value(&app).await, "1.5");
}

#[tokio::test]
async fn superseded_tokens_leave_session() {
    let app = app().await;
    ingest(&app, vec![tracked("s1", "c1", "0.5")]).await;
    ingest(&app, vec![response("s1", "c1", "0.3")]).await;
    let session = app.get("/api/sessions/s1").await.json;
    assert_eq!(session["totalInputTokens"], 1000);
    assert_eq!(session["totalOutputTokens"], 200);
    assert_eq!(session["eventCount"], 2);

    let report = app.get("/api/analytics/costs").await.json;
    assert_eq!(report["totals"]["eventCount"], 1);
    assert_eq!(report["totals"]["totalInputTokens"], 1000);
}

/// Returns a copy of `event` attributed to `agent`.
fn by_agent(mut event: Value, agent: &str) -> Value {
    event["agentId"] = json!(agent);
    event
}

/// Returns the analytics cost of `session` in `bySession` as exact text.
async fn analytics_session_total(app: &TestApp, session: &str) -> String {
    let report = app.get("/api/analytics/costs").await.json;
    let rows = report["bySession"].as_array().unwrap();
    let row = rows.iter().find(|row| row["sessionId"] == session);
    row.unwrap_or_else(|| panic!("{session} missing from {rows:?}"))["totalCostUsd"].to_string()
}

#[tokio::test]
async fn call_id_in_other_session_counts_both() {
    let app = app().await;
    ingest(
        &app,
        vec![by_agent(tracked("x1", "call_1", "2.5"), "team-a")],
    )
    .await;
    assert_eq!(session_total(&app, "x1").await, "2.5");

    ingest(
        &app,
        vec![by_agent(response("y1", "call_1", "0.3"), "team-b")],
    )
    .await;
    assert_eq!(session_total(&app, "x1").await, "2.5");
    assert_eq!(session_total(&app, "y1").await, "0.3");
    assert_eq!(analytics_session_total(&app, "x1").await, "2.5");
    assert_eq!(analytics_total(&app).await, "2.8");
    assert_eq!(alert_value(&app).await, "2.8");

    let tracked_event = &app.get("/api/events?sessionId=x1").await.json["events"][0];
    assert_eq!(tracked_event["eventType"], "cost_tracked");
    assert_eq!(tracked_event["payload"]["costUsd"], 2.5);
}

#[tokio::test]
async fn response_first_in_other_session_counts_both() {
    let app = app().await;
    ingest(
        &app,
        vec![by_agent(response("y1", "call_1", "0.3"), "team-b")],
    )
    .await;
    ingest(
        &app,
        vec![by_agent(tracked("x1", "call_1", "2.5"), "team-a")],
    )
    .await;
    assert_eq!(session_total(&app, "x1").await, "2.5");
    assert_eq!(session_total(&app, "y1").await, "0.3");
    assert_eq!(analytics_session_total(&app, "x1").await, "2.5");
    assert_eq!(analytics_total(&app).await, "2.8");
    assert_eq!(alert_value(&app).await, "2.8");
}

#[tokio::test]
async fn one_batch_across_sessions_counts_both() {
    let app = app().await;
    ingest(
        &app,
        vec![
            tracked("x1", "call_1", "2.5"),
            response("y1", "call_1", "0.3"),
            response("y2", "call_2", "0.25"),
            tracked("x2", "call_2", "0.5"),
        ],
    )
    .await;
    assert_eq!(session_total(&app, "x1").await, "2.5");
    assert_eq!(session_total(&app, "x2").await, "0.5");
    assert_eq!(analytics_total(&app).await, "3.55");
    assert_eq!(alert_value(&app).await, "3.55");
}

#[tokio::test]
async fn own_session_response_supersedes_tracked() {
    let app = app().await;
    ingest(&app, vec![tracked("x1", "call_1", "0.5")]).await;
    ingest(&app, vec![response("y1", "call_1", "0.25")]).await;
    ingest(&app, vec![response("x1", "call_1", "0.3")]).await;
    ingest(&app, vec![tracked("y1", "call_1", "0.7")]).await;
    assert_eq!(session_total(&app, "x1").await, "0.3");
    assert_eq!(session_total(&app, "y1").await, "0.25");
    assert_eq!(analytics_session_total(&app, "x1").await, "0.3");
    assert_eq!(analytics_total(&app).await, "0.55");
    assert_eq!(alert_value(&app).await, "0.55");
}
