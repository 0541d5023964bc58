//! Alert rules: validation, and an evaluator that fires once per crossing and resolves.

use agentlens_collector::store::alerts::{Judgement, Transition};
use agentlens_core::event::format_timestamp;
use axum::http::{Method, StatusCode};
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
async fn threshold_accepts_exact_decimal_string() {
    let app = app().await;
    let body = json!({"name": "spend", "condition": "cost_exceeds",
        "threshold": "1234567.123456789012", "windowMinutes": 60});

    let reply = app.post("/api/alerts/rules", &body).await;

    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
    assert!(
        reply.text.contains("\"threshold\":1234567.123456789012,"),
        "{}",
        reply.text
    );
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
    let alerts = &app.state.alerts;

    let first = alerts.evaluate_at(now).await.unwrap();
    assert!(
        matches!(&first[0].1, Transition::Fired(entry) if entry.current_value.0.to_string() == "0.006884")
    );
    let second = alerts
        .evaluate_at(now + Duration::seconds(60))
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

    let later = alerts.evaluate_at(now + Duration::hours(2)).await.unwrap();
    assert!(matches!(&later[0].1, Transition::Resolved(_)));
    let history = app.get("/api/alerts/history").await.json;
    assert_eq!(history["total"], 1);
    assert!(history["entries"][0]["resolvedAt"].is_string());
}

async fn spend_rule(app: &crate::common::TestApp) -> serde_json::Value {
    let body = json!({"name": "spend", "condition": "cost_exceeds", "threshold": 0.005,
        "windowMinutes": 60, "scope": {"agentId": "a1"}, "notifyChannels": ["http://127.0.0.1:9/hook"]});
    let reply = app.post("/api/alerts/rules", &body).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
    reply.json
}

async fn put(app: &crate::common::TestApp, uri: &str, body: &str) -> crate::common::Reply {
    app.send(Method::PUT, uri, Some(body.as_bytes().to_vec()))
        .await
}

#[tokio::test]
async fn rule_is_read_by_id() {
    let app = app().await;
    let rule = spend_rule(&app).await;
    let id = rule["id"].as_str().unwrap();
    let reply = app.get(&format!("/api/alerts/rules/{id}")).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.json, rule);

    let missing = app.get("/api/alerts/rules/01NOSUCHRULE").await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert_eq!(
        missing.json,
        json!({"error": "Alert rule not found", "status": 404})
    );
}

#[tokio::test]
async fn put_changes_only_given_fields() {
    let app = app().await;
    let rule = spend_rule(&app).await;
    let uri = format!("/api/alerts/rules/{}", rule["id"].as_str().unwrap());
    let reply = put(&app, &uri, r#"{"threshold": 0.1, "enabled": false}"#).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    assert!(reply.text.contains("\"threshold\":0.1,"), "{}", reply.text);
    assert_eq!(reply.json["enabled"], false);
    assert_eq!(reply.json["name"], "spend");
    assert_eq!(reply.json["windowMinutes"], 60);
    assert_eq!(reply.json["scope"], json!({"agentId": "a1"}));
    assert_eq!(reply.json["notifyChannels"], rule["notifyChannels"]);
    assert_eq!(reply.json["createdAt"], rule["createdAt"]);
    assert!(
        reply.json["updatedAt"].as_str().unwrap() > rule["updatedAt"].as_str().unwrap(),
        "updatedAt is bumped"
    );
    assert_eq!(app.get(&uri).await.json, reply.json);
}

#[tokio::test]
async fn put_keeps_create_bounds() {
    let app = app().await;
    let rule = spend_rule(&app).await;
    let uri = format!("/api/alerts/rules/{}", rule["id"].as_str().unwrap());
    let cases = [
        ("name", r#"{"name": ""}"#),
        ("threshold", r#"{"threshold": -0.5}"#),
        ("windowMinutes", r#"{"windowMinutes": 43201}"#),
        ("condition", r#"{"condition": "cost_above"}"#),
        ("enabled", r#"{"enabled": null}"#),
        ("scope.tags.0", r#"{"scope": {"tags": [1]}}"#),
    ];
    for (path, body) in cases {
        let reply = put(&app, &uri, body).await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "case {path}");
        assert_eq!(reply.json["details"][0]["path"], path, "case {path}");
    }
    let invalid = put(&app, &uri, "{not json").await;
    assert_eq!(invalid.status, StatusCode::BAD_REQUEST);
    assert_eq!(invalid.json["error"], "Invalid JSON body");
    assert_eq!(app.get(&uri).await.json, rule, "rule is unchanged");

    let missing = put(&app, "/api/alerts/rules/01NOSUCHRULE", r#"{"name": "x"}"#).await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert_eq!(missing.json["error"], "Alert rule not found");
}

/// Creates a cost rule with threshold 0, stores a cost and lets the rule fire; returns
/// the rule's id.
async fn firing_rule(app: &crate::common::TestApp) -> String {
    let body =
        json!({"name": "spend", "condition": "cost_exceeds", "threshold": 0, "windowMinutes": 60});
    let rule = app.post("/api/alerts/rules", &body).await.json;
    let recent = format_timestamp(&(Utc::now() - Duration::minutes(5)));
    app.ingest(vec![cost_event("s1", "a1", "gpt-4.1", json!(0.5), &recent)])
        .await;
    let fired = app.state.alerts.evaluate_at(Utc::now()).await.unwrap();
    assert!(matches!(fired[0].1, Transition::Fired(_)));
    rule["id"].as_str().unwrap().to_owned()
}

/// Returns the alert events of the rule's session, oldest first.
async fn alert_events(app: &crate::common::TestApp, id: &str) -> Vec<serde_json::Value> {
    let uri = format!("/api/events?sessionId=agentlens-alerts-{id}&order=asc");
    app.get(&uri).await.json["events"]
        .as_array()
        .unwrap()
        .clone()
}

#[tokio::test]
async fn delete_closes_alert_keeps_history() {
    let app = app().await;
    let id = firing_rule(&app).await;

    let uri = format!("/api/alerts/rules/{id}");
    let reply = app.send(Method::DELETE, &uri, None).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    assert_eq!(reply.json, json!({"id": id, "deleted": true}));
    assert_eq!(app.get(&uri).await.status, StatusCode::NOT_FOUND);

    // The history entry stays, closed, and matches the rule's events.
    let history = app
        .get(&format!("/api/alerts/history?ruleId={id}"))
        .await
        .json;
    assert_eq!(history["total"], 1, "{history}");
    let resolved_at = history["entries"][0]["resolvedAt"].as_str().unwrap();
    let events = alert_events(&app, &id).await;
    let types: Vec<_> = events.iter().map(|event| &event["eventType"]).collect();
    assert_eq!(types, ["alert_triggered", "alert_resolved"]);
    assert_eq!(events[1]["payload"]["resolvedBy"], "rule_deleted");
    assert_eq!(events[1]["timestamp"], resolved_at);
    assert!(app
        .state
        .alerts
        .evaluate_at(Utc::now())
        .await
        .unwrap()
        .is_empty());

    let again = app.send(Method::DELETE, &uri, None).await;
    assert_eq!(again.status, StatusCode::NOT_FOUND);
    assert_eq!(again.json["error"], "Alert rule not found");
}

#[tokio::test]
async fn disable_closes_firing_alert() {
    let app = app().await;
    let id = firing_rule(&app).await;
    let uri = format!("/api/alerts/rules/{id}");

    let reply = put(&app, &uri, r#"{"enabled": false}"#).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    let history = app.get("/api/alerts/history").await.json;
    assert!(history["entries"][0]["resolvedAt"].is_string(), "{history}");
    let events = alert_events(&app, &id).await;
    assert_eq!(events.len(), 2, "{events:?}");
    assert_eq!(events[1]["eventType"], "alert_resolved");
    assert_eq!(events[1]["payload"]["resolvedBy"], "rule_disabled");
    assert_eq!(events[1]["payload"]["currentValue"], 0.5);

    // A second disable finds nothing open; enabling again fires a new alert.
    put(&app, &uri, r#"{"enabled": false}"#).await;
    assert_eq!(alert_events(&app, &id).await.len(), 2);
    put(&app, &uri, r#"{"enabled": true}"#).await;
    let fired = app.state.alerts.evaluate_at(Utc::now()).await.unwrap();
    assert!(matches!(fired[0].1, Transition::Fired(_)));
    assert_eq!(app.get("/api/alerts/history").await.json["total"], 2);
}

#[tokio::test]
async fn evaluation_closes_old_disabled_alert() {
    let app = app().await;
    let id = firing_rule(&app).await;
    // Older versions disabled a rule without closing its alert.
    let conn = rusqlite::Connection::open(app.db_path()).unwrap();
    conn.execute("UPDATE alert_rules SET enabled = 0", [])
        .unwrap();

    let transitions = app.state.alerts.evaluate_at(Utc::now()).await.unwrap();

    assert!(transitions.is_empty());
    let history = app.get("/api/alerts/history").await.json;
    assert!(history["entries"][0]["resolvedAt"].is_string(), "{history}");
    let events = alert_events(&app, &id).await;
    assert_eq!(events.len(), 2, "{events:?}");
    assert_eq!(events[1]["payload"]["resolvedBy"], "rule_disabled");
    app.state.alerts.evaluate_at(Utc::now()).await.unwrap();
    assert_eq!(alert_events(&app, &id).await.len(), 2);
}

#[tokio::test]
async fn evaluation_after_delete_records_nothing() {
    let app = app().await;
    let body =
        json!({"name": "spend", "condition": "cost_exceeds", "threshold": 0, "windowMinutes": 60});
    let id = app.post("/api/alerts/rules", &body).await.json["id"]
        .as_str()
        .unwrap()
        .to_owned();
    // The evaluator read the rule, then the rule was deleted before its result was stored.
    let rule = app
        .state
        .store
        .alert_rule("default", &id)
        .await
        .unwrap()
        .unwrap();
    app.send(Method::DELETE, &format!("/api/alerts/rules/{id}"), None)
        .await;

    let judgement = Judgement {
        value: rust_decimal::Decimal::ONE,
        firing: true,
        message: "over".to_owned(),
    };
    let (transition, deliveries) = app
        .state
        .store
        .record_evaluation(&rule, judgement, format_timestamp(&Utc::now()))
        .await
        .unwrap();

    assert_eq!(transition, Transition::Unchanged);
    assert!(deliveries.is_empty());
    assert_eq!(app.get("/api/alerts/history").await.json["total"], 0);
}

#[tokio::test]
async fn non_http_channel_is_rejected() {
    let app = app().await;
    let rule = json!({"name": "spend", "condition": "cost_exceeds", "threshold": 1,
        "windowMinutes": 60,
        "notifyChannels": ["http://127.0.0.1:9/hook", "ftp://example.com/x", "slack:#general"]});
    let reply = app.post("/api/alerts/rules", &rule).await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{}", reply.text);
    let details = reply.json["details"].as_array().unwrap();
    assert_eq!(details.len(), 2, "{}", reply.text);
    assert_eq!(details[0]["path"], "notifyChannels.1");
    assert_eq!(details[1]["path"], "notifyChannels.2");
    let message = details[0]["message"].as_str().unwrap();
    assert!(
        message.contains("only http(s) webhook URLs are supported"),
        "{message}"
    );

    let listed = app.get("/api/alerts/rules").await;
    assert_eq!(listed.json["rules"], json!([]));

    let valid = json!({"name": "spend", "condition": "cost_exceeds", "threshold": 1,
        "windowMinutes": 60});
    let id = app.post("/api/alerts/rules", &valid).await.json["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let update = app
        .send(
            Method::PUT,
            &format!("/api/alerts/rules/{id}"),
            Some(
                json!({"notifyChannels": ["slack:#general"]})
                    .to_string()
                    .into_bytes(),
            ),
        )
        .await;
    assert_eq!(update.status, StatusCode::BAD_REQUEST, "{}", update.text);
    assert_eq!(update.json["details"][0]["path"], "notifyChannels.0");
}
