//! An unpriced `llm_response` takes the cost of the `cost_tracked` it supersedes, in either
//! arrival order and within one batch, so the reported dollars reach session totals, every
//! analytics report and cost alerts, and the call no longer counts as unpriced.

use axum::http::StatusCode;
use serde_json::{json, Value};

use crate::common::{app, recent, spend_alert_value, TestApp};

/// Returns a `cost_tracked` of gpt-4.1 that reports `cost`, or lets the collector derive
/// it from the tokens when `cost` is null.
pub(crate) fn tracked(session: &str, call_id: &str, cost: Value) -> Value {
    let mut payload = json!({
        "provider": "openai", "model": "gpt-4.1", "callId": call_id,
        "inputTokens": 10, "outputTokens": 5, "totalTokens": 15,
    });
    if !cost.is_null() {
        payload["costUsd"] = cost;
    }
    json!({
        "sessionId": session,
        "agentId": "a1",
        "eventType": "cost_tracked",
        "timestamp": recent(),
        "payload": payload,
    })
}

/// Returns an `llm_response` of `provider` and `model` that reports `cost`, or that has no
/// `costUsd` when `cost` is null.
pub(crate) fn response(
    session: &str,
    call_id: &str,
    provider: &str,
    model: &str,
    cost: Value,
) -> Value {
    let mut payload = json!({
        "callId": call_id, "provider": provider, "model": model,
        "completion": "hi", "finishReason": "stop", "latencyMs": 12,
        "usage": {"inputTokens": 1000, "outputTokens": 200, "totalTokens": 1200},
    });
    if !cost.is_null() {
        payload["costUsd"] = cost;
    }
    json!({
        "sessionId": session,
        "agentId": "a1",
        "eventType": "llm_response",
        "timestamp": recent(),
        "payload": payload,
    })
}

/// Returns an `llm_response` of a model the price table does not know, without `costUsd`.
pub(crate) fn unpriced_response(session: &str, call_id: &str) -> Value {
    response(
        session,
        call_id,
        "in-house",
        "unlisted-model-7",
        Value::Null,
    )
}

/// The cost in pico-dollars and the unpriced count that every report gives for the whole
/// tenant, and the cost a `cost_exceeds` rule with threshold 0 fires with (`None` when it
/// does not fire).
#[derive(Debug, PartialEq)]
pub(crate) struct Figures {
    sessions_cost: i64,
    sessions_unpriced: i64,
    overview_cost: i64,
    overview_unpriced: i64,
    costs_cost: i64,
    costs_unpriced: i64,
    pub(crate) llm_cost: i64,
    pub(crate) llm_unpriced: i64,
    agents_cost: i64,
    alert: Option<i64>,
}

impl Figures {
    /// Returns the figures every report should give for `cost` and `unpriced`.
    pub(crate) fn expected(cost: i64, unpriced: i64) -> Figures {
        Figures {
            sessions_cost: cost,
            sessions_unpriced: unpriced,
            overview_cost: cost,
            overview_unpriced: unpriced,
            costs_cost: cost,
            costs_unpriced: unpriced,
            llm_cost: cost,
            llm_unpriced: unpriced,
            agents_cost: cost,
            alert: (cost != 0).then_some(cost),
        }
    }
}

/// Pico-dollars per dollar.
const PICO: f64 = 1e12;

/// Returns a cost in USD, a JSON number or decimal string, in whole pico-dollars. The costs
/// of these tests are far below the $9,007 at which `f64` stops being exact to the
/// pico-dollar.
pub(crate) fn pico(value: &Value) -> i64 {
    let usd = match value {
        Value::String(text) => text.parse::<f64>().unwrap(),
        other => other
            .as_f64()
            .unwrap_or_else(|| panic!("not a cost: {other}")),
    };
    (usd * PICO).round() as i64
}

async fn ok_json(app: &TestApp, uri: &str) -> Value {
    let reply = app.get(uri).await;
    assert_eq!(reply.status, StatusCode::OK, "{uri}: {}", reply.text);
    reply.json
}

/// Returns the figures of the tenant's reports, with the session figures summed over all
/// sessions and the agent costs over all agents.
pub(crate) async fn figures(app: &TestApp) -> Figures {
    let sessions = ok_json(app, "/api/sessions?limit=500").await;
    let sessions = sessions["sessions"].as_array().unwrap().clone();
    let sessions_cost = sessions
        .iter()
        .map(|session| pico(&session["totalCostUsd"]))
        .sum();
    let sessions_unpriced = sessions
        .iter()
        .map(|session| session["unpricedEventCount"].as_i64().unwrap())
        .sum();
    let overview = ok_json(app, "/api/analytics").await;
    let costs = ok_json(app, "/api/analytics/costs").await;
    let llm = ok_json(app, "/api/analytics/llm").await;
    let agents = ok_json(app, "/api/analytics/agents").await;
    let agents_cost = agents["agents"]
        .as_array()
        .unwrap()
        .iter()
        .map(|agent| pico(&agent["totalCostUsd"]))
        .sum();

    Figures {
        sessions_cost,
        sessions_unpriced,
        overview_cost: pico(&overview["totals"]["totalCostUsd"]),
        overview_unpriced: overview["totals"]["unpricedCount"].as_i64().unwrap(),
        costs_cost: pico(&costs["totals"]["totalCostUsd"]),
        costs_unpriced: costs["totals"]["unpricedCount"].as_i64().unwrap(),
        llm_cost: pico(&llm["summary"]["totalCostUsd"]),
        llm_unpriced: llm["summary"]["unpricedCount"].as_i64().unwrap(),
        agents_cost,
        alert: alert_value(app).await,
    }
}

/// Returns the cost in pico-dollars that a new `cost_exceeds` rule with threshold 0 fires
/// with.
async fn alert_value(app: &TestApp) -> Option<i64> {
    let value = spend_alert_value(app).await;
    value.map(|text| pico(&Value::String(text)))
}

pub(crate) async fn ingest(app: &TestApp, events: Vec<Value>) -> Vec<String> {
    let reply = app.ingest(events).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
    let stored = reply.json["events"].as_array().unwrap();
    stored
        .iter()
        .map(|event| event["id"].as_str().unwrap().to_owned())
        .collect()
}

/// Returns the `pricing` object of a stored event.
pub(crate) async fn pricing(app: &TestApp, id: &str) -> Value {
    ok_json(app, &format!("/api/events/{id}")).await["pricing"].clone()
}

/// Checks that `response` counts the cost of `tracked`, which it supersedes.
pub(crate) async fn assert_filled(app: &TestApp, response: &str, tracked: &str, cost: &str) {
    let response_pricing = pricing(app, response).await;
    assert_eq!(response_pricing["costUsd"], cost);
    assert_eq!(response_pricing["source"], "reported");
    assert_eq!(response_pricing["costFrom"], tracked);
    assert_eq!(response_pricing["pricingVersion"], Value::Null);
    assert_eq!(response_pricing.get("unpricedReason"), None);
    assert_eq!(pricing(app, tracked).await["supersededBy"], response);
}

#[tokio::test]
async fn unpriced_response_after_tracked_takes_its_cost() {
    let app = app().await;
    let tracked_id = ingest(&app, vec![tracked("s1", "c1", json!(0.5))]).await;
    let response_id = ingest(&app, vec![unpriced_response("s1", "c1")]).await;

    assert_eq!(figures(&app).await, Figures::expected(500_000_000_000, 0));
    assert_filled(&app, &response_id[0], &tracked_id[0], "0.5").await;
    let session = ok_json(&app, "/api/sessions/s1").await;
    assert_eq!(session["totalInputTokens"], 1000);
    assert_eq!(session["totalOutputTokens"], 200);
}

#[tokio::test]
async fn tracked_after_unpriced_response_fills_it() {
    let app = app().await;
    let response_id = ingest(&app, vec![unpriced_response("s1", "c1")]).await;
    assert_eq!(figures(&app).await, Figures::expected(0, 1));

    let tracked_id = ingest(&app, vec![tracked("s1", "c1", json!(0.5))]).await;
    assert_eq!(figures(&app).await, Figures::expected(500_000_000_000, 0));
    assert_filled(&app, &response_id[0], &tracked_id[0], "0.5").await;
    let session = ok_json(&app, "/api/sessions/s1").await;
    assert_eq!(session["totalInputTokens"], 1000);
    assert_eq!(session["eventCount"], 2);
}

#[tokio::test]
async fn one_batch_pair_fills_either_order() {
    let app = app().await;
    let first = ingest(
        &app,
        vec![
            tracked("s1", "c1", json!(0.5)),
            unpriced_response("s1", "c1"),
            unpriced_response("s2", "c2"),
            tracked("s2", "c2", json!(0.25)),
        ],
    )
    .await;

    assert_eq!(figures(&app).await, Figures::expected(750_000_000_000, 0));
    assert_filled(&app, &first[1], &first[0], "0.5").await;
    assert_filled(&app, &first[2], &first[3], "0.25").await;
}

#[tokio::test]
async fn unpriced_response_of_other_session_stays_unpriced() {
    let app = app().await;
    ingest(&app, vec![tracked("x1", "call_1", json!(0.5))]).await;
    ingest(&app, vec![unpriced_response("y1", "call_1")]).await;
    ingest(&app, vec![unpriced_response("y2", "call_2")]).await;
    ingest(&app, vec![tracked("x2", "call_2", json!(0.25))]).await;
    ingest(
        &app,
        vec![
            tracked("x3", "call_3", json!(0.125)),
            unpriced_response("y3", "call_3"),
        ],
    )
    .await;

    // The LLM report counts only the responses, and all three stay unpriced.
    let mut expected = Figures::expected(875_000_000_000, 3);
    expected.llm_cost = 0;
    assert_eq!(figures(&app).await, expected);
    let y1 = ok_json(&app, "/api/sessions/y1").await;
    assert_eq!(y1["unpricedEventCount"], 1);
    assert_eq!(y1["totalCostUsd"], 0);
}

#[tokio::test]
async fn first_tracked_with_cost_decides() {
    let app = app().await;
    // Tracked first: the earlier of the two costs wins.
    let s1 = ingest(
        &app,
        vec![
            tracked("s1", "c1", json!(0.5)),
            tracked("s1", "c1", json!(0.7)),
        ],
    )
    .await;
    let s1_response = ingest(&app, vec![unpriced_response("s1", "c1")]).await;
    // Response first: the first cost to arrive fills it, and later ones change nothing.
    let s2_response = ingest(&app, vec![unpriced_response("s2", "c2")]).await;
    let s2_first = ingest(&app, vec![tracked("s2", "c2", json!(0.25))]).await;
    ingest(&app, vec![tracked("s2", "c2", json!(0.375))]).await;

    assert_eq!(figures(&app).await, Figures::expected(750_000_000_000, 0));
    assert_filled(&app, &s1_response[0], &s1[0], "0.5").await;
    assert_filled(&app, &s2_response[0], &s2_first[0], "0.25").await;
}

#[tokio::test]
async fn unpriced_tracked_leaves_response_to_next_cost() {
    let app = app().await;
    let mut no_cost = tracked("s1", "c1", Value::Null);
    no_cost["payload"]["model"] = json!("unlisted-model-7");
    let first = ingest(&app, vec![no_cost, unpriced_response("s1", "c1")]).await;
    assert_eq!(figures(&app).await, Figures::expected(0, 1));
    assert_eq!(pricing(&app, &first[1]).await["source"], "unpriced");

    let priced = ingest(&app, vec![tracked("s1", "c1", json!(0.5))]).await;
    assert_eq!(figures(&app).await, Figures::expected(500_000_000_000, 0));
    assert_filled(&app, &first[1], &priced[0], "0.5").await;
}

#[tokio::test]
async fn derived_tracked_cost_fills_response() {
    let app = app().await;
    let ids = ingest(
        &app,
        vec![
            tracked("s1", "c1", Value::Null),
            unpriced_response("s1", "c1"),
        ],
    )
    .await;

    let tracked_pricing = pricing(&app, &ids[0]).await;
    assert_eq!(tracked_pricing["source"], "derived");
    let cost = tracked_pricing["costUsd"].as_str().unwrap().to_owned();
    assert_filled(&app, &ids[1], &ids[0], &cost).await;
    assert_eq!(
        figures(&app).await,
        Figures::expected(pico(&json!(cost)), 0)
    );
}

#[tokio::test]
async fn priced_response_keeps_own_cost() {
    let app = app().await;
    let mut response = unpriced_response("s1", "c1");
    response["payload"]["costUsd"] = json!(0.3);
    let ids = ingest(&app, vec![response, tracked("s1", "c1", json!(0.5))]).await;

    assert_eq!(figures(&app).await, Figures::expected(300_000_000_000, 0));
    let response_pricing = pricing(&app, &ids[0]).await;
    assert_eq!(response_pricing["costUsd"], "0.3");
    assert_eq!(response_pricing.get("costFrom"), None);
}
