//! Alert rules: validation, and an evaluator that fires once per crossing and resolves.

use agentlens_collector::alerts::evaluator::evaluate_once;
use agentlens_collector::store::alerts::Transition;
use agentlens_core::event::format_timestamp;
use axum::http::StatusCode;
use chrono::{Duration, Utc};
use serde_json::json;

use crate::common::{app, cost_event};

#[tokio::test]
async fn rule_is_created_with_defaults() {
    let app = app().await;
    let body = json!({"name": "spend", "condition": "cost_exceeds", "threshold": 0.005, "windowMinutes": 60});
    let reply = app.post("/api/alerts/rules", &body).await;
    assert_eq!(reply.status, StatusCode::CREATED);
    assert_eq!(reply.json["enabled"], true);
    assert_eq!(reply.json["scope"], json!({}));
    assert_eq!(reply.json["notifyChannels"], json!([]));
    assert!(
        reply.text.contains("\"threshold\":0.005,"),
        "{}",
        reply.text
    );

    let rules = app.get("/api/alerts/rules").await.json;
    assert_eq!(rules["rules"][0]["id"], reply.json["id"]);
}

#[tokio::test]
async fn invalid_rule_names_the_field() {
    let app = app().await;
    let cases = [
        (
            "name",
            json!({"condition": "cost_exceeds", "threshold": 1, "windowMinutes": 5}),
        ),
        (
            "condition",
            json!({"name": "n", "condition": "cost_above", "threshold": 1, "windowMinutes": 5}),
        ),
        (
            "threshold",
            json!({"name": "n", "condition": "cost_exceeds", "threshold": -1, "windowMinutes": 5}),
        ),
        (
            "windowMinutes",
            json!({"name": "n", "condition": "cost_exceeds", "threshold": 1, "windowMinutes": 0}),
        ),
        (
            "scope.tags.0",
            json!({"name": "n", "condition": "cost_exceeds", "threshold": 1, "windowMinutes": 5, "scope": {"tags": [3]}}),
        ),
    ];
    for (path, body) in cases {
        let reply = app.post("/api/alerts/rules", &body).await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "case {path}");
        assert_eq!(reply.json["details"][0]["path"], path);
    }
    assert_eq!(app.get("/api/alerts/rules").await.json["rules"], json!([]));
}

#[tokio::test]
async fn cost_rule_fires_once_and_resolves() {
    let app = app().await;
    let body = json!({"name": "spend", "condition": "cost_exceeds", "threshold": 0.005, "windowMinutes": 60});
    let rule = app.post("/api/alerts/rules", &body).await.json;
    let now = Utc::now();
    let recent = format_timestamp(&(now - Duration::minutes(5)));
    app.ingest(vec![
        cost_event("s1", "a1", "gpt-4.1", json!(0.003442), &recent),
        cost_event("s1", "a1", "gpt-4.1", json!(0.003442), &recent),
    ])
    .await;
    let store = &app.state.store;

    let first = evaluate_once(store, now).await.unwrap();
    assert!(
        matches!(&first[0].1, Transition::Fired(entry) if entry.current_value.0.to_string() == "0.006884")
    );
    let second = evaluate_once(store, now + Duration::seconds(60))
        .await
        .unwrap();
    assert_eq!(second[0].1, Transition::Unchanged);
    let history = app
        .get(&format!(
            "/api/alerts/history?ruleId={}",
            rule["id"].as_str().unwrap()
        ))
        .await
        .json;
    assert_eq!(history["total"], 1);
    assert!(history["entries"][0].get("resolvedAt").is_none());
    assert_eq!(
        history["entries"][0]["message"],
        "Cost $0.006884 exceeds threshold $0.005 in the last 60m"
    );

    let later = evaluate_once(store, now + Duration::hours(2))
        .await
        .unwrap();
    assert!(matches!(&later[0].1, Transition::Resolved(_)));
    let history = app.get("/api/alerts/history").await.json;
    assert_eq!(history["total"], 1);
    assert!(history["entries"][0]["resolvedAt"].is_string());
}
