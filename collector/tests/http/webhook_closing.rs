//! Webhooks around alerts that a change to their rule closes: the resolve notification is
//! sent, and no firing notification is retried after its alert closed. The deliveries
//! that stop are listed as failed at once, with the error of their last attempt.

use std::time::Duration;

use agentlens_collector::store::alerts::Judgement;
use agentlens_collector::store::DEFAULT_TENANT;
use axum::http::{Method, StatusCode};
use serde_json::{json, Value};
use tokio::sync::mpsc;

use crate::common::{build_with_alerts, test_alert_options, TestApp};
use crate::webhooks::{
    at, next, receiver, settled_deliveries, spend_and_evaluate, spend_rule, Received,
};

/// Returns an app whose webhooks retry three times, ten minutes apart, with a rule over
/// the receiver that has just fired. The receiver got the first firing notification. No
/// retry falls due during a test, so a delivery that a test sees stopped was stopped by
/// the change to its rule.
async fn fired_rule(failures: usize) -> (TestApp, String, mpsc::UnboundedReceiver<Received>) {
    let (url, mut requests) = receiver(failures).await;
    let mut options = test_alert_options();
    options.webhooks = options
        .webhooks
        .with_retry_delays(vec![Duration::from_secs(600); 3]);
    let app = build_with_alerts(false, None, None, options).await;
    let rule_id = spend_rule(&app, &url).await;
    spend_and_evaluate(&app).await;
    let fired = next(&mut requests).await;
    assert!(fired.body.contains("Alert triggered"), "{}", fired.body);
    (app, rule_id, requests)
}

/// Asserts that the receiver gets nothing more within 2.5 s.
async fn assert_silent(requests: &mut mpsc::UnboundedReceiver<Received>) {
    let more = tokio::time::timeout(Duration::from_millis(2500), requests.recv()).await;
    if let Ok(Some(received)) = more {
        panic!("unexpected webhook: {}", received.body);
    }
}

fn delivery<'a>(deliveries: &'a [Value], kind: &str) -> &'a Value {
    deliveries
        .iter()
        .find(|delivery| delivery["event"] == kind)
        .unwrap_or_else(|| panic!("no {kind} delivery: {deliveries:?}"))
}

#[tokio::test]
async fn delete_sends_resolve_stops_retries() {
    let (app, rule_id, mut requests) = fired_rule(usize::MAX).await;

    let uri = format!("/api/alerts/rules/{rule_id}");
    let deleted = app.send(Method::DELETE, &uri, None).await;
    assert_eq!(deleted.status, StatusCode::OK, "{}", deleted.text);

    let resolved = next(&mut requests).await;
    let body: Value = serde_json::from_str(&resolved.body).unwrap();
    assert_eq!(body["title"], "Alert resolved: spend", "{body}");
    assert!(body["resolvedAt"].is_string(), "{body}");
    assert_silent(&mut requests).await;

    let deliveries = settled_deliveries(&app).await;
    for kind in ["triggered", "resolved"] {
        let record = delivery(&deliveries, kind);
        assert_eq!(record["status"], "failed", "{record}");
        assert_eq!(record["attempts"], 1, "{record}");
        let error = record["lastError"].as_str().unwrap();
        assert!(
            error.starts_with("retries stopped: the alert rule was deleted; last attempt: "),
            "{error}"
        );
        assert!(error.contains("500"), "{error}");
    }
}

#[tokio::test]
async fn disable_sends_resolve_stops_firing() {
    let (app, rule_id, mut requests) = fired_rule(1).await;

    let uri = format!("/api/alerts/rules/{rule_id}");
    let body = serde_json::to_vec(&json!({"enabled": false})).unwrap();
    let disabled = app.send(Method::PUT, &uri, Some(body)).await;
    assert_eq!(disabled.status, StatusCode::OK, "{}", disabled.text);

    let resolved = next(&mut requests).await;
    assert!(
        resolved.body.contains("Alert resolved: spend"),
        "{}",
        resolved.body
    );
    assert!(resolved.body.contains("was disabled while firing"));
    assert_silent(&mut requests).await;

    let deliveries = settled_deliveries(&app).await;
    assert_eq!(delivery(&deliveries, "resolved")["status"], "delivered");
    let triggered = delivery(&deliveries, "triggered");
    assert_eq!(triggered["status"], "failed", "{triggered}");
    assert_eq!(triggered["attempts"], 1, "{triggered}");
    let error = triggered["lastError"].as_str().unwrap();
    assert!(
        error.starts_with(
            "retries stopped: the alert resolved before this notification got through; \
             last attempt: "
        ),
        "{error}"
    );
}

#[tokio::test]
async fn resolve_stops_firing_retries() {
    let (app, _rule_id, mut requests) = fired_rule(1).await;

    // An hour later the cost has left the rule's window, so the evaluator resolves it.
    app.state
        .alerts
        .evaluate_at(at("2026-03-01T13:00:00Z"))
        .await
        .unwrap();

    let resolved = next(&mut requests).await;
    assert!(
        resolved.body.contains("Alert resolved"),
        "{}",
        resolved.body
    );
    let deliveries = settled_deliveries(&app).await;
    assert_eq!(delivery(&deliveries, "resolved")["status"], "delivered");
    let triggered = delivery(&deliveries, "triggered");
    assert_eq!(triggered["status"], "failed", "{triggered}");
    let error = triggered["lastError"].as_str().unwrap();
    assert!(
        error.starts_with("retries stopped: the alert resolved"),
        "{error}"
    );
}

#[tokio::test]
async fn unsent_firing_dropped_on_disable() {
    let (url, mut requests) = receiver(0).await;
    let app = build_with_alerts(false, None, None, test_alert_options()).await;
    let rule_id = spend_rule(&app, &url).await;
    let rule = app
        .state
        .store
        .alert_rule(DEFAULT_TENANT, &rule_id)
        .await
        .unwrap()
        .unwrap();
    // The evaluator stored a firing, and the rule is disabled before its notification
    // goes out.
    let judgement = Judgement {
        value: rust_decimal::Decimal::ONE,
        firing: true,
        message: "over".to_owned(),
    };
    let (_, firing) = app
        .state
        .store
        .record_evaluation(&rule, judgement, "2026-03-01T12:00:00.000000Z".to_owned())
        .await
        .unwrap();
    let uri = format!("/api/alerts/rules/{rule_id}");
    let body = serde_json::to_vec(&json!({"enabled": false})).unwrap();
    app.send(Method::PUT, &uri, Some(body)).await;
    app.state.alerts.dispatch(firing);

    let resolved = next(&mut requests).await;
    assert!(
        resolved.body.contains("Alert resolved"),
        "{}",
        resolved.body
    );
    assert_silent(&mut requests).await;
    let deliveries = settled_deliveries(&app).await;
    let triggered = delivery(&deliveries, "triggered");
    assert_eq!(triggered["status"], "failed", "{triggered}");
    assert_eq!(triggered["attempts"], 0, "{triggered}");
    assert_eq!(
        triggered["lastError"],
        "not sent: the alert resolved before this notification's first attempt"
    );
}
