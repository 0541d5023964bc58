//! A router over a temporary database, and request helpers.

use agentlens_collector::alerts::webhook::WebhookOptions;
use agentlens_collector::alerts::AlertOptions;
use agentlens_collector::router::build_router;
use agentlens_collector::store::alerts::Transition;
use agentlens_collector::{open_state, AppState, ServeOptions};
use agentlens_core::event::format_timestamp;
use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use axum::Router;
use chrono::{Duration, Utc};
use serde_json::{json, Value};
use tempfile::TempDir;
use tower::ServiceExt;

/// A router over its own database file.
pub struct TestApp {
    pub state: AppState,
    router: Router,
    pub key: Option<String>,
    _dir: TempDir,
}

/// A parsed response.
pub struct Reply {
    pub status: StatusCode,
    pub api_version: Option<String>,
    pub headers: axum::http::HeaderMap,
    pub text: String,
    pub json: Value,
}

/// Builds an app with authentication disabled.
pub async fn app() -> TestApp {
    build(false, None, None).await
}

/// Builds an app with authentication enabled and a preset admin key.
pub async fn app_with_key() -> TestApp {
    let key = format!("als_{}", "ab".repeat(32));
    build(true, Some(key), None).await
}

/// Builds an app with authentication disabled and a price overrides file.
pub async fn app_with_prices(prices: &std::path::Path) -> TestApp {
    build(false, None, Some(prices.to_owned())).await
}

async fn build(
    auth_enabled: bool,
    preset_key: Option<String>,
    prices: Option<std::path::PathBuf>,
) -> TestApp {
    build_with_alerts(auth_enabled, preset_key, prices, test_alert_options()).await
}

/// Returns alert settings for tests: webhooks to 127.0.0.1 allowed, retries after 50 ms.
pub fn test_alert_options() -> AlertOptions {
    let webhooks = WebhookOptions::default()
        .with_allow_private(true)
        .with_retry_delays(vec![std::time::Duration::from_millis(50); 3]);
    AlertOptions::default().with_webhooks(webhooks)
}

/// Returns the options of a server on `db` that tests start: any free port on 127.0.0.1,
/// no API keys, hourly alert checks, the embedded prices and no rate limit.
pub fn serve_options(db: std::path::PathBuf) -> ServeOptions {
    ServeOptions {
        bind: "127.0.0.1:0".parse().unwrap(),
        db,
        auth_enabled: false,
        alert_interval: std::time::Duration::from_secs(3600),
        preset_key: None,
        prices: None,
        rate_limit: 0,
        alerts: AlertOptions::default(),
    }
}

/// Builds an app with the given alert settings.
pub async fn build_with_alerts(
    auth_enabled: bool,
    preset_key: Option<String>,
    prices: Option<std::path::PathBuf>,
    alerts: AlertOptions,
) -> TestApp {
    build_with_limit(auth_enabled, preset_key, prices, alerts, 0).await
}

/// Builds an app with authentication enabled, a preset admin key and a rate limit of
/// `limit` requests per minute.
pub async fn app_with_rate_limit(limit: u32) -> TestApp {
    let key = format!("als_{}", "ab".repeat(32));
    build_with_limit(true, Some(key), None, test_alert_options(), limit).await
}

async fn build_with_limit(
    auth_enabled: bool,
    preset_key: Option<String>,
    prices: Option<std::path::PathBuf>,
    alerts: AlertOptions,
    rate_limit: u32,
) -> TestApp {
    let dir = tempfile::tempdir().unwrap();
    let options = ServeOptions {
        auth_enabled,
        preset_key: preset_key.clone(),
        prices,
        alerts,
        rate_limit,
        ..serve_options(dir.path().join("agentlens.db"))
    };
    let state = open_state(&options).await.unwrap();
    TestApp {
        router: build_router(state.clone()),
        state,
        key: preset_key,
        _dir: dir,
    }
}

impl TestApp {
    /// Sends a request with an optional raw body, using the app's key if it has one.
    pub async fn send(&self, method: Method, uri: &str, body: Option<Vec<u8>>) -> Reply {
        let mut request = Request::builder().method(method).uri(uri);
        if let Some(key) = &self.key {
            request = request.header(header::AUTHORIZATION, format!("Bearer {key}"));
        }
        let request = match body {
            Some(bytes) => request
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from(bytes)),
            None => request.body(Body::empty()),
        };
        self.call(request.unwrap()).await
    }

    /// Sends a prepared request.
    pub async fn call(&self, request: Request<Body>) -> Reply {
        let response = self.router.clone().oneshot(request).await.unwrap();
        let status = response.status();
        let api_version = response
            .headers()
            .get("x-api-version")
            .map(|value| value.to_str().unwrap().to_owned());
        let headers = response.headers().clone();
        let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .unwrap();
        let text = String::from_utf8(bytes.to_vec()).unwrap();
        let json = serde_json::from_str(&text).unwrap_or(Value::Null);
        Reply {
            status,
            api_version,
            headers,
            text,
            json,
        }
    }

    pub async fn get(&self, uri: &str) -> Reply {
        self.send(Method::GET, uri, None).await
    }

    pub async fn post(&self, uri: &str, body: &Value) -> Reply {
        self.send(Method::POST, uri, Some(serde_json::to_vec(body).unwrap()))
            .await
    }

    /// Posts `{"events": events}`.
    pub async fn ingest(&self, events: Vec<Value>) -> Reply {
        self.post("/api/events", &json!({ "events": events })).await
    }

    /// Returns the path of the app's database file.
    pub fn db_path(&self) -> std::path::PathBuf {
        self._dir.path().join("agentlens.db")
    }

    /// Closes the app and opens a new one over the same database file, with the same key
    /// and default settings otherwise. Opening applies the migrations the file lacks.
    pub async fn reopen(self) -> TestApp {
        self.reopen_with_prices(None).await
    }

    /// Reopens the app like [`TestApp::reopen`], with the price overrides file `prices`.
    pub async fn reopen_with_prices(self, prices: Option<std::path::PathBuf>) -> TestApp {
        let db = self.db_path();
        let TestApp {
            state,
            router,
            key,
            _dir: dir,
        } = self;
        drop((router, state));
        let options = ServeOptions {
            auth_enabled: key.is_some(),
            preset_key: key.clone(),
            prices,
            alerts: test_alert_options(),
            ..serve_options(db)
        };
        let state = open_state(&options).await.unwrap();
        TestApp {
            router: build_router(state.clone()),
            state,
            key,
            _dir: dir,
        }
    }
}

/// Returns the time five minutes ago as stored timestamp text, inside the 60-minute window
/// of the tests' alert rules.
pub fn recent() -> String {
    format_timestamp(&(Utc::now() - Duration::minutes(5)))
}

/// Creates a `cost_exceeds` rule with threshold 0 over 60 minutes, evaluates the rules now
/// and deletes the rule again, so the next call starts clean. Returns the value the rule
/// fired with as normalized decimal text, or `None` when it did not fire.
pub async fn spend_alert_value(app: &TestApp) -> Option<String> {
    let body =
        json!({"name": "spend", "condition": "cost_exceeds", "threshold": 0, "windowMinutes": 60});
    let reply = app.post("/api/alerts/rules", &body).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
    let rule_id = reply.json["id"].as_str().unwrap().to_owned();
    let transitions = app.state.alerts.evaluate_at(Utc::now()).await.unwrap();
    let value = transitions
        .iter()
        .find_map(|(_, transition)| match transition {
            Transition::Fired(entry) => Some(entry.current_value.0.normalize().to_string()),
            _ => None,
        });
    let uri = format!("/api/alerts/rules/{rule_id}");
    let deleted = app.send(Method::DELETE, &uri, None).await;
    assert_eq!(deleted.status, StatusCode::OK, "{}", deleted.text);
    value
}

/// Returns the newest migration version recorded in a database file.
pub fn schema_version(conn: &rusqlite::Connection) -> i64 {
    conn.query_row("SELECT MAX(version) FROM schema_migrations", [], |row| {
        row.get(0)
    })
    .unwrap()
}

/// Returns a `cost_tracked` event with a reported cost.
pub fn cost_event(session: &str, agent: &str, model: &str, cost: Value, timestamp: &str) -> Value {
    json!({
        "sessionId": session,
        "agentId": agent,
        "eventType": "cost_tracked",
        "timestamp": timestamp,
        "payload": {
            "provider": "openai",
            "model": model,
            "inputTokens": 121,
            "outputTokens": 400,
            "totalTokens": 521,
            "costUsd": cost,
        },
    })
}

/// Returns an `llm_response` event; `cost` may be `Value::Null` to leave `costUsd` out.
pub fn llm_response(
    session: &str,
    agent: &str,
    model: &str,
    cost: Value,
    timestamp: &str,
) -> Value {
    let mut payload = json!({
        "callId": format!("call-{timestamp}"),
        "provider": "openai",
        "model": model,
        "completion": "hello",
        "finishReason": "stop",
        "usage": {"inputTokens": 1000, "outputTokens": 200, "totalTokens": 1200, "cacheReadTokens": 100},
        "latencyMs": 321,
    });
    if !cost.is_null() {
        payload["costUsd"] = cost;
    }
    json!({
        "sessionId": session,
        "agentId": agent,
        "eventType": "llm_response",
        "timestamp": timestamp,
        "payload": payload,
    })
}

/// Returns a `tool_call` event.
pub fn tool_call(session: &str, agent: &str, timestamp: &str) -> Value {
    json!({
        "sessionId": session,
        "agentId": agent,
        "eventType": "tool_call",
        "timestamp": timestamp,
        "payload": {"toolName": "search", "callId": "t1", "arguments": {"q": "x"}},
    })
}

/// Returns a `tool_response` event of the tool `tool` that took `duration_ms`.
pub fn tool_response(
    session: &str,
    agent: &str,
    tool: &str,
    duration_ms: u64,
    timestamp: &str,
) -> Value {
    json!({
        "sessionId": session,
        "agentId": agent,
        "eventType": "tool_response",
        "timestamp": timestamp,
        "payload": {"toolName": tool, "callId": "t1", "result": "ok", "durationMs": duration_ms},
    })
}

/// Returns a `tool_error` event of the tool `tool` that failed after `duration_ms`.
pub fn tool_error(
    session: &str,
    agent: &str,
    tool: &str,
    duration_ms: u64,
    timestamp: &str,
) -> Value {
    json!({
        "sessionId": session,
        "agentId": agent,
        "eventType": "tool_error",
        "timestamp": timestamp,
        "payload": {"toolName": tool, "callId": "t1", "error": "timed out", "durationMs": duration_ms},
    })
}
