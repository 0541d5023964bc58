//! The alert engine: exact trailing windows, one firing per crossing, resolution, tag
//! scope, alert events in the hash chain, and the re-check right after ingest.

use agentlens_collector::alerts::{AlertEngine, AlertOptions};
use agentlens_collector::store::alerts::Transition;
use agentlens_collector::store::Store;
use agentlens_core::event::format_timestamp;
use axum::http::StatusCode;
use chrono::{DateTime, Duration, Utc};
use serde_json::{json, Value};

use crate::common::{app, cost_event, llm_response, TestApp};
use crate::mcp::{spawn_server, Server};

fn at(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text).unwrap().to_utc()
}

async fn create_rule(app: &TestApp, body: Value) -> String {
    let reply = app.post("/api/alerts/rules", &body).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
    reply.json["id"].as_str().unwrap().to_owned()
}

fn custom(session: &str, agent: &str, timestamp: &str) -> Value {
    json!({"sessionId": session, "agentId": agent, "eventType": "custom", "timestamp": timestamp,
        "payload": {"type": "note", "data": {}}})
}

fn fired_value(transition: &Transition) -> String {
    match transition {
        Transition::Fired(entry) => entry.current_value.0.normalize().to_string(),
        other => panic!("expected a firing, got {other:?}"),
    }
}

#[tokio::test]
async fn window_is_trailing_and_exact() {
    let app = app().await;
    create_rule(
        &app,
        json!({"name": "busy", "condition": "event_count_exceeds", "threshold": 0, "windowMinutes": 60}),
    )
    .await;
    let timestamps = [
        "2026-03-01T10:59:59.999999Z",
        "2026-03-01T11:00:00.000000Z",
        "2026-03-01T11:00:00.000001Z",
        "2026-03-01T11:30:00Z",
        "2026-03-01T12:00:00Z",
        "2026-03-01T12:00:00.000001Z",
        "2026-03-02T12:00:00Z",
        "2026-03-02T12:00:00.000001Z",
    ];
    let events = timestamps.iter().map(|t| custom("s1", "a1", t)).collect();
    assert_eq!(app.ingest(events).await.status, StatusCode::CREATED);

    let transitions = app
        .state
        .alerts
        .evaluate_at(at("2026-03-01T12:00:00Z"))
        .await
        .unwrap();

    // (11:00:00, 12:00:00] counts, and so do events stamped up to 24 hours ahead of the
    // evaluation, as from an agent whose clock runs fast: five events.
    assert_eq!(fired_value(&transitions[0].1), "5");
}

#[tokio::test]
async fn rule_fires_once_over_thirty_events_and_resolves() {
    let app = app().await;
    let rule_id = create_rule(
        &app,
        json!({"name": "spend", "condition": "cost_exceeds", "threshold": 0.05, "windowMinutes": 10}),
    )
    .await;
    let start = at("2026-03-01T12:00:00Z");

    let mut fired = Vec::new();
    for index in 0..30 {
        let now = start + Duration::seconds(10 * index);
        let event = cost_event("s1", "a1", "gpt-4.1", json!(0.01), &format_timestamp(&now));
        assert_eq!(app.ingest(vec![event]).await.status, StatusCode::CREATED);
        let transitions = app.state.alerts.evaluate_at(now).await.unwrap();
        if let Transition::Fired(entry) = &transitions[0].1 {
            fired.push((index, entry.current_value.0.normalize().to_string()));
        }
        assert!(!matches!(transitions[0].1, Transition::Resolved(_)));
    }
    // The sixth event makes 0.06 > 0.05; later events keep it firing without new entries.
    assert_eq!(fired, [(5, "0.06".to_owned())]);

    let last = start + Duration::seconds(290);
    let later = app
        .state
        .alerts
        .evaluate_at(last + Duration::minutes(10))
        .await
        .unwrap();
    assert!(matches!(later[0].1, Transition::Resolved(_)), "{later:?}");

    let history = app
        .get(&format!("/api/alerts/history?ruleId={rule_id}"))
        .await
        .json;
    assert_eq!(history["total"], 1);
    assert_eq!(
        history["entries"][0]["resolvedAt"],
        format_timestamp(&(last + Duration::minutes(10)))
    );
}

#[tokio::test]
async fn transitions_are_chained_alert_events() {
    let app = app().await;
    let rule_id = create_rule(
        &app,
        json!({"name": "spend", "condition": "cost_exceeds", "threshold": 0.005,
            "windowMinutes": 60, "scope": {"agentId": "a1"}}),
    )
    .await;
    let now = at("2026-03-01T12:00:00Z");
    let event = cost_event("s1", "a1", "gpt-4.1", json!(0.01), "2026-03-01T11:50:00Z");
    app.ingest(vec![event]).await;
    app.state.alerts.evaluate_at(now).await.unwrap();
    app.state
        .alerts
        .evaluate_at(now + Duration::hours(2))
        .await
        .unwrap();

    let timeline = app
        .get(&format!(
            "/api/sessions/agentlens-alerts-{rule_id}/timeline"
        ))
        .await
        .json;
    assert_eq!(timeline["chainValid"], true, "{timeline}");
    let events = timeline["events"].as_array().unwrap();
    let types: Vec<_> = events.iter().map(|e| e["eventType"].clone()).collect();
    assert_eq!(types, [json!("alert_triggered"), json!("alert_resolved")]);
    let triggered = &events[0];
    assert_eq!(triggered["agentId"], "a1");
    assert_eq!(triggered["payload"]["alertRuleId"], rule_id.as_str());
    assert_eq!(triggered["payload"]["alertName"], "spend");
    assert_eq!(triggered["payload"]["condition"], "cost_exceeds");
    assert_eq!(triggered["payload"]["currentValue"], 0.01);
    assert_eq!(triggered["payload"]["threshold"], 0.005);
    assert_eq!(events[1]["payload"]["resolvedBy"], "evaluator");
}

#[tokio::test]
async fn client_events_in_alert_sessions_are_rejected() {
    let app = app().await;
    let rule_id = create_rule(
        &app,
        json!({"name": "spend", "condition": "cost_exceeds", "threshold": 0.005,
            "windowMinutes": 60, "scope": {"agentId": "a1"}}),
    )
    .await;
    let alert_session = format!("agentlens-alerts-{rule_id}");
    let forged_cost = cost_event(
        &alert_session,
        "a1",
        "gpt-4.1",
        json!(0.01),
        "2026-03-01T11:50:00Z",
    );
    let forged_resolution = json!({"sessionId": alert_session, "agentId": "a1",
        "eventType": "alert_resolved", "timestamp": "2026-03-01T11:51:00Z",
        "payload": {"alertRuleId": rule_id, "alertName": "spend", "resolvedBy": "client"}});
    let own_cost = cost_event("s1", "a1", "gpt-4.1", json!(0.001), "2026-03-01T11:50:00Z");

    let reply = app
        .ingest(vec![own_cost, forged_cost, forged_resolution])
        .await;

    assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{}", reply.text);
    let details = reply.json["details"].as_array().unwrap();
    let paths: Vec<_> = details
        .iter()
        .map(|detail| detail["path"].clone())
        .collect();
    assert_eq!(
        paths,
        [json!("events.1.sessionId"), json!("events.2.sessionId")]
    );
    let message = details[0]["message"].as_str().unwrap();
    assert!(message.contains(&format!("{alert_session:?}")), "{message}");
    assert!(message.contains("is reserved"), "{message}");
    assert!(!message.contains("  "), "{message}");
    assert_eq!(
        app.get("/api/sessions/s1").await.status,
        StatusCode::NOT_FOUND
    );

    let now = at("2026-03-01T12:00:00Z");
    let transitions = app.state.alerts.evaluate_at(now).await.unwrap();
    assert!(
        !matches!(transitions[0].1, Transition::Fired(_)),
        "{transitions:?}"
    );

    // An id that only contains the prefix is an ordinary session, and the evaluator still
    // stores its own events in the reserved one.
    let cost = cost_event(
        "my-agentlens-alerts-1",
        "a1",
        "gpt-4.1",
        json!(0.01),
        "2026-03-01T11:55:00Z",
    );
    let reply = app.ingest(vec![cost]).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
    let transitions = app.state.alerts.evaluate_at(now).await.unwrap();
    assert_eq!(fired_value(&transitions[0].1), "0.01");
    let timeline = app
        .get(&format!("/api/sessions/{alert_session}/timeline"))
        .await
        .json;
    let events = timeline["events"].as_array().unwrap();
    assert_eq!(events.len(), 1, "{timeline}");
    assert_eq!(events[0]["eventType"], "alert_triggered");
}

#[tokio::test]
async fn alert_events_stay_out_of_client_sessions() {
    let app = app().await;
    let first = create_rule(
        &app,
        json!({"name": "a1 spend", "condition": "cost_exceeds", "threshold": 0.005,
            "windowMinutes": 60, "scope": {"agentId": "a1"}}),
    )
    .await;
    let second = create_rule(
        &app,
        json!({"name": "a2 spend", "condition": "cost_exceeds", "threshold": 0.005,
            "windowMinutes": 60, "scope": {"agentId": "a2"}}),
    )
    .await;
    app.ingest(vec![
        cost_event(
            "alerts",
            "a1",
            "gpt-4.1",
            json!(0.01),
            "2026-03-01T11:50:00Z",
        ),
        cost_event("s2", "a2", "gpt-4.1", json!(0.01), "2026-03-01T11:51:00Z"),
    ])
    .await;
    app.state
        .alerts
        .evaluate_at(at("2026-03-01T12:00:00Z"))
        .await
        .unwrap();

    let client_session = app.get("/api/sessions/alerts/timeline").await.json;
    let types: Vec<_> = client_session["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|event| event["eventType"].clone())
        .collect();
    assert_eq!(types, [json!("cost_tracked")], "{client_session}");
    for (rule_id, agent) in [(first, "a1"), (second, "a2")] {
        let session = app
            .get(&format!("/api/sessions/agentlens-alerts-{rule_id}"))
            .await
            .json;
        assert_eq!(session["agentId"], agent, "{session}");
        assert_eq!(session["eventCount"], 1, "{session}");
    }
}

#[tokio::test]
async fn restart_does_not_fire_open_alert_again() {
    let app = app().await;
    create_rule(
        &app,
        json!({"name": "spend", "condition": "cost_exceeds", "threshold": 0, "windowMinutes": 60}),
    )
    .await;
    let now = at("2026-03-01T12:00:00Z");
    app.ingest(vec![cost_event(
        "s1",
        "a1",
        "gpt-4.1",
        json!(0.01),
        "2026-03-01T11:59:00Z",
    )])
    .await;
    let first = app.state.alerts.evaluate_at(now).await.unwrap();
    assert!(matches!(first[0].1, Transition::Fired(_)));

    // A second engine over a fresh store handle sees only what is in the database.
    let reopened = Store::open(app.state.store.path()).unwrap();
    let engine = AlertEngine::new(reopened, AlertOptions::default());
    let again = engine
        .evaluate_at(now + Duration::seconds(30))
        .await
        .unwrap();
    assert_eq!(again[0].1, Transition::Unchanged);
}

#[tokio::test]
async fn tag_scope_counts_tagged_sessions_only() {
    let app = app().await;
    create_rule(
        &app,
        json!({"name": "prod", "condition": "event_count_exceeds", "threshold": 0,
            "windowMinutes": 60, "scope": {"tags": ["prod"]}}),
    )
    .await;
    let started = |session: &str, tags: Value| {
        json!({"sessionId": session, "agentId": "a1", "eventType": "session_started",
            "timestamp": "2026-03-01T11:40:00Z", "payload": {"tags": tags}})
    };
    app.ingest(vec![
        started("s-prod", json!(["prod", "eu"])),
        custom("s-prod", "a1", "2026-03-01T11:41:00Z"),
        started("s-dev", json!(["dev"])),
        custom("s-dev", "a1", "2026-03-01T11:42:00Z"),
        custom("s-dev", "a1", "2026-03-01T11:43:00Z"),
    ])
    .await;

    let transitions = app
        .state
        .alerts
        .evaluate_at(at("2026-03-01T12:00:00Z"))
        .await
        .unwrap();
    assert_eq!(fired_value(&transitions[0].1), "2");
}

#[tokio::test]
async fn latency_averages_tool_and_llm_latency() {
    let app = app().await;
    create_rule(
        &app,
        json!({"name": "slow", "condition": "latency_exceeds", "threshold": 100, "windowMinutes": 60}),
    )
    .await;
    let tool_response = json!({"sessionId": "s1", "agentId": "a1", "eventType": "tool_response",
        "timestamp": "2026-03-01T11:50:00Z",
        "payload": {"toolName": "search", "callId": "t1", "result": "ok", "durationMs": 100}});
    let llm = llm_response("s1", "a1", "gpt-4.1", json!(0.01), "2026-03-01T11:51:00Z");
    app.ingest(vec![tool_response, llm]).await;

    let transitions = app
        .state
        .alerts
        .evaluate_at(at("2026-03-01T12:00:00Z"))
        .await
        .unwrap();
    // (100 + 321) / 2
    assert_eq!(fired_value(&transitions[0].1), "210.5");
}

#[tokio::test]
async fn unpriced_events_rule_counts_unknown_costs() {
    let app = app().await;
    create_rule(
        &app,
        json!({"name": "unpriced", "condition": "unpriced_events_exceed", "threshold": 0,
            "windowMinutes": 60}),
    )
    .await;
    let unknown = llm_response(
        "s1",
        "a1",
        "no-such-model-xyz",
        Value::Null,
        "2026-03-01T11:50:00Z",
    );
    let priced = llm_response("s1", "a1", "gpt-4.1", json!(0.01), "2026-03-01T11:51:00Z");
    app.ingest(vec![unknown, priced]).await;

    let transitions = app
        .state
        .alerts
        .evaluate_at(at("2026-03-01T12:00:00Z"))
        .await
        .unwrap();
    assert_eq!(fired_value(&transitions[0].1), "1");
}

#[tokio::test]
async fn ingest_fires_cost_rule_within_a_second() {
    let server: Server = spawn_server().await;
    let (base_url, client) = (&server.base_url, &server.client);
    let auth = format!("Bearer {}", server.key);
    let rule = json!({"name": "spend", "condition": "cost_exceeds", "threshold": 0.001, "windowMinutes": 60});
    let reply = client
        .post(format!("{base_url}/api/alerts/rules"))
        .header("authorization", &auth)
        .json(&rule)
        .send()
        .await
        .unwrap();
    assert_eq!(reply.status(), 201);

    let event = cost_event(
        "s1",
        "a1",
        "gpt-4.1",
        json!(0.01),
        &format_timestamp(&Utc::now()),
    );
    let sent = std::time::Instant::now();
    let reply = client
        .post(format!("{base_url}/api/events"))
        .header("authorization", &auth)
        .json(&json!({ "events": [event] }))
        .send()
        .await
        .unwrap();
    assert_eq!(reply.status(), 201);

    // The periodic interval is an hour, so only the ingest signal can fire the rule.
    loop {
        let history: Value = client
            .get(format!("{base_url}/api/alerts/history"))
            .header("authorization", &auth)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if history["total"] == 1 {
            break;
        }
        assert!(
            sent.elapsed() < std::time::Duration::from_secs(1),
            "no firing within 1 s of the ingest"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}
