//! Alert webhooks received by a local axum listener: signature, body shape, retries,
//! recorded delivery results, and refused private addresses.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use agentlens_collector::alerts::webhook::WebhookOptions;
use agentlens_collector::alerts::{AlertOptions, NewRule};
use agentlens_collector::store::alerts::Transition;
use agentlens_collector::store::DEFAULT_TENANT;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use axum::Router;
use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use sha2::Sha256;
use tokio::sync::mpsc;

use crate::common::{build_with_alerts, cost_event, test_alert_options, TestApp};

const SECRET: &str = "webhook-test-secret";

/// One request the receiver got.
pub(crate) struct Received {
    pub(crate) headers: HeaderMap,
    pub(crate) body: String,
    /// When the request arrived.
    pub(crate) at: Instant,
}

#[derive(Clone)]
struct Receiver {
    failures_left: Arc<AtomicUsize>,
    requests: mpsc::UnboundedSender<Received>,
}

/// Starts a receiver on 127.0.0.1 that responds 500 to the first `failures` requests and
/// 200 after that; returns its URL and the requests it gets.
pub(crate) async fn receiver(failures: usize) -> (String, mpsc::UnboundedReceiver<Received>) {
    let (sender, requests) = mpsc::unbounded_channel();
    let state = Receiver {
        failures_left: Arc::new(AtomicUsize::new(failures)),
        requests: sender,
    };
    let router = Router::new()
        .route("/hook", post(receive))
        .with_state(state);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await });
    (format!("http://{address}/hook"), requests)
}

async fn receive(State(state): State<Receiver>, headers: HeaderMap, body: String) -> StatusCode {
    let at = Instant::now();
    let _ = state.requests.send(Received { headers, body, at });
    let failing = state
        .failures_left
        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |left| {
            left.checked_sub(1)
        })
        .is_ok();
    if failing {
        StatusCode::INTERNAL_SERVER_ERROR
    } else {
        StatusCode::OK
    }
}

pub(crate) async fn next(requests: &mut mpsc::UnboundedReceiver<Received>) -> Received {
    tokio::time::timeout(Duration::from_secs(5), requests.recv())
        .await
        .expect("no webhook within 5 s")
        .unwrap()
}

async fn signed_app() -> TestApp {
    let mut options = test_alert_options();
    options.webhooks = options.webhooks.with_secret(Some(SECRET.to_owned()));
    build_with_alerts(false, None, None, options).await
}

pub(crate) async fn spend_rule(app: &TestApp, url: &str) -> String {
    let body = json!({"name": "spend", "condition": "cost_exceeds", "threshold": 0.005,
        "windowMinutes": 60, "scope": {"agentId": "a1"}, "notifyChannels": [url]});
    let reply = app.post("/api/alerts/rules", &body).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
    reply.json["id"].as_str().unwrap().to_owned()
}

/// Stores a cost of 0.01 USD for agent `a1` at 11:50 and evaluates the rules at 12:00,
/// which fires a [`spend_rule`].
pub(crate) async fn spend_and_evaluate(app: &TestApp) {
    app.ingest(vec![cost_event(
        "s1",
        "a1",
        "gpt-4.1",
        json!(0.01),
        "2026-03-01T11:50:00Z",
    )])
    .await;
    app.state
        .alerts
        .evaluate_at(at("2026-03-01T12:00:00Z"))
        .await
        .unwrap();
}

pub(crate) fn at(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text).unwrap().to_utc()
}

/// Polls the history until the first entry's deliveries are no longer pending.
pub(crate) async fn settled_deliveries(app: &TestApp) -> Vec<Value> {
    for _ in 0..200 {
        let history = app.get("/api/alerts/history").await.json;
        let deliveries = history["entries"][0]["deliveries"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        if !deliveries.is_empty() && deliveries.iter().all(|d| d["status"] != "pending") {
            return deliveries;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("deliveries still pending after 5 s");
}

fn verify_signature(received: &Received) {
    let timestamp = received.headers["x-agentlens-timestamp"].to_str().unwrap();
    assert!(
        DateTime::parse_from_rfc3339(timestamp).is_ok(),
        "{timestamp}"
    );
    let mut mac = Hmac::<Sha256>::new_from_slice(SECRET.as_bytes()).unwrap();
    mac.update(format!("{timestamp}.{}", received.body).as_bytes());
    let expected = format!("sha256={}", hex::encode(mac.finalize().into_bytes()));
    assert_eq!(received.headers["x-agentlens-signature"], expected.as_str());
}

#[tokio::test]
async fn signed_webhook_reports_firing_and_resolution() {
    let (url, mut requests) = receiver(0).await;
    let app = signed_app().await;
    let rule_id = spend_rule(&app, &url).await;
    app.ingest(vec![cost_event(
        "s1",
        "a1",
        "gpt-4.1",
        json!(0.01),
        "2026-03-01T11:50:00Z",
    )])
    .await;

    let fired = app
        .state
        .alerts
        .evaluate_at(at("2026-03-01T12:00:00Z"))
        .await
        .unwrap();
    assert!(matches!(fired[0].1, Transition::Fired(_)));
    let received = next(&mut requests).await;
    verify_signature(&received);
    assert_eq!(received.headers["content-type"], "application/json");
    let body: Value = serde_json::from_str(&received.body).unwrap();
    assert_eq!(body["source"], "alert_rule");
    assert_eq!(body["severity"], "warning");
    assert_eq!(body["ruleId"], rule_id.as_str());
    assert_eq!(body["ruleName"], "spend");
    assert_eq!(body["agentId"], "a1");
    assert_eq!(body["triggeredAt"], "2026-03-01T12:00:00.000000Z");
    assert_eq!(
        body["metadata"],
        json!({"condition": "cost_exceeds", "currentValue": 0.01, "threshold": 0.005,
            "windowMinutes": 60, "scope": {"agentId": "a1"}})
    );
    assert!(body.get("resolvedAt").is_none());

    let deliveries = settled_deliveries(&app).await;
    assert_eq!(deliveries.len(), 1, "{deliveries:?}");
    assert_eq!(deliveries[0]["status"], "delivered");
    assert_eq!(deliveries[0]["attempts"], 1);
    assert_eq!(deliveries[0]["lastStatus"], 200);
    assert!(deliveries[0]["deliveredAt"].is_string());

    app.state
        .alerts
        .evaluate_at(at("2026-03-01T14:00:00Z"))
        .await
        .unwrap();
    let resolved = next(&mut requests).await;
    verify_signature(&resolved);
    let fired_body = body;
    let body: Value = serde_json::from_str(&resolved.body).unwrap();
    assert_eq!(body["severity"], "info", "a resolution needs no attention");
    assert_eq!(body["title"], "Alert resolved: spend");
    let mut fired_keys: Vec<&str> = fired_body
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    fired_keys.push("resolvedAt");
    fired_keys.sort_unstable();
    let mut resolved_keys: Vec<&str> = body
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    resolved_keys.sort_unstable();
    assert_eq!(
        resolved_keys, fired_keys,
        "the resolution keeps the field set"
    );
    assert_eq!(body["resolvedAt"], "2026-03-01T14:00:00.000000Z");
    assert_eq!(body["triggeredAt"], "2026-03-01T12:00:00.000000Z");
    assert_eq!(body["metadata"]["currentValue"], 0);
}

#[tokio::test]
async fn webhook_is_retried_until_it_succeeds() {
    let (url, mut requests) = receiver(2).await;
    let app = signed_app().await;
    spend_rule(&app, &url).await;
    spend_and_evaluate(&app).await;
    let bodies: Vec<String> = [
        next(&mut requests).await,
        next(&mut requests).await,
        next(&mut requests).await,
    ]
    .into_iter()
    .map(|received| received.body)
    .collect();
    assert_eq!(bodies[0], bodies[1]);
    assert_eq!(bodies[1], bodies[2]);

    let deliveries = settled_deliveries(&app).await;
    assert_eq!(deliveries[0]["status"], "delivered");
    assert_eq!(deliveries[0]["attempts"], 3);
    assert_eq!(deliveries[0]["lastStatus"], 200);
    assert!(deliveries[0].get("lastError").is_none());
}

#[tokio::test]
async fn failing_webhook_records_every_attempt() {
    let (url, _requests) = receiver(usize::MAX).await;
    let app = signed_app().await;
    spend_rule(&app, &url).await;
    spend_and_evaluate(&app).await;

    let deliveries = settled_deliveries(&app).await;
    assert_eq!(deliveries[0]["status"], "failed");
    assert_eq!(deliveries[0]["attempts"], 4);
    assert_eq!(deliveries[0]["lastStatus"], 500);
    assert!(deliveries[0]["lastError"].as_str().unwrap().contains("500"));
}

async fn strict_app() -> TestApp {
    let webhooks = WebhookOptions::default()
        .with_retry_delays(vec![Duration::from_millis(10)])
        .with_allow_private(false);
    build_with_alerts(
        false,
        None,
        None,
        AlertOptions::default().with_webhooks(webhooks),
    )
    .await
}

#[tokio::test]
async fn private_webhook_is_rejected_on_save() {
    let app = strict_app().await;
    let body = json!({"name": "spend", "condition": "cost_exceeds", "threshold": 1,
        "windowMinutes": 60, "notifyChannels": ["https://203.0.113.7/hook", "http://127.0.0.1:9/hook"]});
    let reply = app.post("/api/alerts/rules", &body).await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{}", reply.text);
    assert_eq!(reply.json["details"][0]["path"], "notifyChannels.1");
    let message = reply.json["details"][0]["message"].as_str().unwrap();
    assert!(message.contains("--allow-private-webhooks"), "{message}");

    for url in [
        "http://[::1]/x",
        "http://10.0.0.8/x",
        "http://169.254.169.254/latest",
        "http://localhost./x",
        "http://[::127.0.0.1]/x",
        "http://[64:ff9b::7f00:1]/x",
        "http://[::ffff:127.0.0.1]/x",
    ] {
        let body = json!({"name": "n", "condition": "cost_exceeds", "threshold": 1,
            "windowMinutes": 60, "notifyChannels": [url]});
        let reply = app.post("/api/alerts/rules", &body).await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{url}");
        assert_eq!(
            reply.json["details"][0]["path"], "notifyChannels.0",
            "{url}"
        );
    }
}

#[tokio::test]
async fn unresolvable_webhook_host_is_rejected_on_save() {
    let app = strict_app().await;
    let body = json!({"name": "spend", "condition": "cost_exceeds", "threshold": 1,
        "windowMinutes": 60, "notifyChannels": ["https://hooks.example.invalid/agentlens"]});
    let reply = app.post("/api/alerts/rules", &body).await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{}", reply.text);
    assert_eq!(reply.json["details"][0]["path"], "notifyChannels.0");
    let message = reply.json["details"][0]["message"].as_str().unwrap();
    assert!(
        message.contains("cannot resolve webhook host hooks.example.invalid"),
        "{message}"
    );
    let listed = app.get("/api/alerts/rules").await;
    assert_eq!(listed.json["rules"], json!([]));
}

#[tokio::test]
async fn private_webhook_is_refused_on_delivery() {
    let (url, mut requests) = receiver(0).await;
    let app = strict_app().await;
    // Each URL names the loopback receiver in another spelling.
    let urls = [
        url.clone(),
        url.replace("127.0.0.1", "localhost."),
        url.replace("127.0.0.1", "[::ffff:127.0.0.1]"),
    ];
    // Stored directly, as a rule saved while private webhooks were allowed would be.
    let rule = NewRule::from_json(&json!({"name": "spend", "condition": "cost_exceeds",
        "threshold": 0, "windowMinutes": 60, "notifyChannels": urls}))
    .unwrap();
    app.state
        .store
        .insert_alert_rule(DEFAULT_TENANT, rule)
        .await
        .unwrap();
    spend_and_evaluate(&app).await;

    let deliveries = settled_deliveries(&app).await;
    assert_eq!(deliveries.len(), urls.len());
    for delivery in &deliveries {
        assert_eq!(delivery["status"], "failed", "{delivery}");
        assert_eq!(delivery["attempts"], 0, "{delivery}");
        let error = delivery["lastError"].as_str().unwrap();
        assert!(error.contains("non-public address"), "{error}");
    }
    assert!(requests.try_recv().is_err(), "nothing reached the receiver");
}

#[tokio::test]
async fn webhook_password_is_masked_in_api_output() {
    let (url, mut requests) = receiver(0).await;
    let url = url.replace("http://", "http://hook-user:s3cret@");
    let app = signed_app().await;

    let created = app
        .post(
            "/api/alerts/rules",
            &json!({"name": "spend", "condition": "cost_exceeds", "threshold": 0.005,
                "windowMinutes": 60, "notifyChannels": [url]}),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
    let masked = url.replace("s3cret", "***");
    assert_eq!(created.json["notifyChannels"], json!([masked]));
    let id = created.json["id"].as_str().unwrap();
    let fetched = app.get(&format!("/api/alerts/rules/{id}")).await;
    assert_eq!(fetched.json["notifyChannels"], json!([masked]));
    let listed = app.get("/api/alerts/rules").await;
    assert_eq!(listed.json["rules"][0]["notifyChannels"], json!([masked]));

    spend_and_evaluate(&app).await;
    let received = next(&mut requests).await;
    assert!(
        received.headers.contains_key("authorization"),
        "the stored credentials are sent"
    );
    let deliveries = settled_deliveries(&app).await;
    assert_eq!(deliveries[0]["url"], masked.as_str());

    for reply in [
        created,
        fetched,
        listed,
        app.get("/api/alerts/history").await,
    ] {
        assert!(!reply.text.contains("s3cret"), "{}", reply.text);
    }
}

/// Three costs of $9223372.036854775807, whose exact sum has more digits than an `f64`
/// keeps (it rounds to 27670116.11056433).
const LARGE_COST: &str = "9223372.036854775807";
const LARGE_SUM: &str = "27670116.110564327421";

#[tokio::test]
async fn alert_outputs_keep_exact_cost() {
    let (url, mut requests) = receiver(0).await;
    let app = signed_app().await;
    let rule_id = spend_rule(&app, &url).await;
    let events = (0..3)
        .map(|_| {
            cost_event(
                "s1",
                "a1",
                "gpt-4.1",
                json!(LARGE_COST),
                "2026-03-01T11:50:00Z",
            )
        })
        .collect();
    app.ingest(events).await;

    app.state
        .alerts
        .evaluate_at(at("2026-03-01T12:00:00Z"))
        .await
        .unwrap();
    let received = next(&mut requests).await;
    let history = app.get("/api/alerts/history").await;
    let stored = app.get("/api/events?eventType=alert_triggered").await;
    let timeline = app
        .get(&format!(
            "/api/sessions/agentlens-alerts-{rule_id}/timeline"
        ))
        .await;

    let exact = format!("\"currentValue\":{LARGE_SUM}");
    assert!(received.body.contains(&exact), "{}", received.body);
    assert!(history.text.contains(&exact), "{}", history.text);
    assert!(stored.text.contains(&exact), "{}", stored.text);
    assert_eq!(timeline.json["chainValid"], true, "{}", timeline.text);
}
