//! Query parameters given more than once on the GET endpoints that read parameters.

use axum::http::StatusCode;

use crate::common::app;

/// Every GET endpoint that reads query parameters, with one of its parameters and two
/// values for it. Endpoints that read no parameters ignore all of them.
const CASES: &[(&str, &str, &str, &str)] = &[
    ("/api/events", "limit", "5", "10"),
    ("/api/events", "tz", "UTC", "Asia/Tokyo"),
    ("/api/events", "eventType", "llm_call", "tool_call"),
    ("/api/sessions", "status", "active", "completed"),
    ("/api/sessions", "agentId", "a1", "a2"),
    ("/api/analytics", "range", "24h", "7d"),
    ("/api/analytics/costs", "tz", "UTC", "Asia/Tokyo"),
    ("/api/analytics/llm", "granularity", "hour", "day"),
    ("/api/analytics/agents", "agentId", "a1", "a2"),
    ("/api/analytics/tools", "from", "2026-01-01", "2026-01-02"),
    ("/api/alerts/history", "limit", "5", "10"),
    ("/api/budgets/check", "agentId", "a1", "a2"),
];

#[tokio::test]
async fn repeated_parameter_rejected_on_get_endpoints() {
    let app = app().await;

    for (path, name, first, second) in CASES {
        let once = app.get(&format!("{path}?{name}={first}")).await;
        assert_eq!(once.status, StatusCode::OK, "{path}?{name}: {}", once.text);

        let uri = format!("{path}?{name}={first}&{name}={second}");
        let twice = app.get(&uri).await;
        assert_eq!(
            twice.status,
            StatusCode::BAD_REQUEST,
            "{uri}: {}",
            twice.text
        );
        assert_eq!(twice.json["status"], 400, "{uri}");
        let message = twice.json["error"].as_str().unwrap_or_default();
        assert!(message.contains(&format!("{name:?}")), "{uri}: {message}");
        assert!(message.contains("send it once"), "{uri}: {message}");
        assert!(message.contains("comma-separated"), "{uri}: {message}");
    }
}

#[tokio::test]
async fn repeated_empty_parameter_rejected() {
    let app = app().await;
    let reply = app.get("/api/events?limit=&limit=10").await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{}", reply.text);
}
