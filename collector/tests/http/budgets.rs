//! `GET /api/budgets/check`: enabled `cost_exceeds` rules that cover an agent.

use agentlens_core::event::format_timestamp;
use axum::http::StatusCode;
use chrono::{Duration, Utc};
use serde_json::{json, Value};

use crate::common::{app, cost_event, TestApp};

async fn rule(app: &TestApp, body: Value) -> String {
    let reply = app.post("/api/alerts/rules", &body).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
    reply.json["id"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn budget_check_reports_covering_rules() {
    let app = app().await;
    let global = rule(
        &app,
        json!({"name": "team", "condition": "cost_exceeds", "threshold": 1,
        "windowMinutes": 60}),
    )
    .await;
    let own = rule(
        &app,
        json!({"name": "a1 daily", "condition": "cost_exceeds", "threshold": 0.005,
        "windowMinutes": 1440, "scope": {"agentId": "a1"}}),
    )
    .await;
    rule(
        &app,
        json!({"name": "a2", "condition": "cost_exceeds", "threshold": 0,
        "windowMinutes": 60, "scope": {"agentId": "a2"}}),
    )
    .await;
    rule(
        &app,
        json!({"name": "off", "condition": "cost_exceeds", "threshold": 0,
        "windowMinutes": 60, "enabled": false}),
    )
    .await;
    rule(
        &app,
        json!({"name": "count", "condition": "event_count_exceeds", "threshold": 0,
        "windowMinutes": 60}),
    )
    .await;
    let recent = format_timestamp(&(Utc::now() - Duration::minutes(5)));
    app.ingest(vec![cost_event(
        "s1",
        "a1",
        "gpt-4.1",
        json!(0.01),
        &recent,
    )])
    .await;

    let reply = app.get("/api/budgets/check?agentId=a1").await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    let body = reply.json;
    assert_eq!(body["agentId"], "a1");
    assert_eq!(body["overBudget"], true);
    let rules = body["rules"].as_array().unwrap();
    let ids: Vec<_> = rules
        .iter()
        .map(|r| r["ruleId"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [global.as_str(), own.as_str()]);
    assert_eq!(rules[0]["firing"], false);
    assert_eq!(rules[0]["currentValue"], 0.01);
    assert_eq!(rules[1]["firing"], true);
    assert_eq!(rules[1]["threshold"], 0.005);
    assert_eq!(rules[1]["name"], "a1 daily");

    let other = app.get("/api/budgets/check?agentId=a3").await.json;
    assert_eq!(other["overBudget"], false);
    assert_eq!(other["rules"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn budget_check_requires_agent() {
    let app = app().await;
    let reply = app.get("/api/budgets/check").await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert!(reply.json["error"].as_str().unwrap().contains("agentId"));
}

#[tokio::test]
async fn tag_budget_covers_only_checks_naming_its_tag() {
    let app = app().await;
    let tagged = rule(
        &app,
        json!({"name": "prod", "condition": "cost_exceeds", "threshold": 0.5,
        "windowMinutes": 60, "scope": {"tags": ["prod-x"]}}),
    )
    .await;
    let recent = format_timestamp(&(Utc::now() - Duration::minutes(5)));
    let started = json!({
        "sessionId": "s-tagged", "agentId": "tagged-agent", "eventType": "session_started",
        "timestamp": recent, "payload": {"tags": ["prod-x"]},
    });
    let spend = cost_event("s-tagged", "tagged-agent", "gpt-4.1", json!(0.75), &recent);
    let reply = app.ingest(vec![started, spend]).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);

    let outside = app.get("/api/budgets/check?agentId=other-agent").await.json;
    assert_eq!(outside["overBudget"], false);
    assert_eq!(outside["rules"].as_array().unwrap().len(), 0);

    let inside = app
        .get("/api/budgets/check?agentId=other-agent&tags=dev,prod-x")
        .await
        .json;
    assert_eq!(inside["overBudget"], true);
    assert_eq!(inside["rules"][0]["ruleId"], tagged.as_str());
    assert_eq!(inside["rules"][0]["currentValue"], 0.75);

    let empty_item = app.get("/api/budgets/check?agentId=a1&tags=prod-x,").await;
    assert_eq!(empty_item.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn cost_stamped_ahead_counts_in_budget() {
    let app = app().await;
    rule(
        &app,
        json!({"name": "hourly", "condition": "cost_exceeds", "threshold": 1,
        "windowMinutes": 60, "scope": {"agentId": "a1"}}),
    )
    .await;
    // An agent whose clock runs 20 hours fast.
    let ahead = format_timestamp(&(Utc::now() + Duration::hours(20)));
    let reply = app
        .ingest(vec![cost_event(
            "s1",
            "a1",
            "gpt-4.1",
            json!("100"),
            &ahead,
        )])
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);

    let reply = app.get("/api/budgets/check?agentId=a1").await;

    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    assert_eq!(reply.json["overBudget"], true, "{}", reply.text);
    assert_eq!(
        reply.json["rules"][0]["currentValue"],
        json!(100),
        "{}",
        reply.text
    );
}
