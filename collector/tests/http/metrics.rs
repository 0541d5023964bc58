//! `GET /metrics`: Prometheus text without authentication.

use axum::http::StatusCode;
use serde_json::json;

use crate::common::{app_with_key, cost_event};

/// Returns the value of the sample line that starts with `series `.
fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|line| line.strip_prefix(series)?.strip_prefix(' '))
        .and_then(|value| value.parse().ok())
}

#[tokio::test]
async fn metrics_count_ingest_and_requests() {
    let mut app = app_with_key().await;
    let event = cost_event("s1", "a1", "gpt-4o", json!(0.5), "2026-05-10T12:00:00Z");
    assert_eq!(app.ingest(vec![event]).await.status, StatusCode::CREATED);
    let invalid = app.ingest(vec![json!({"sessionId": "s1"})]).await;
    assert_eq!(invalid.status, StatusCode::BAD_REQUEST);

    // The route needs no key.
    app.key = None;
    let reply = app.get("/metrics").await;
    assert_eq!(reply.status, StatusCode::OK);
    let text = reply.text;
    assert!(sample(&text, "agentlens_events_ingested_total").unwrap() >= 1.0);
    let rejected = "agentlens_events_rejected_total{reason=\"validation\"}";
    assert!(sample(&text, rejected).unwrap() >= 1.0, "{text}");
    let created = "agentlens_http_request_duration_seconds_count\
        {route=\"/api/events\",status=\"201\"}";
    assert!(sample(&text, created).unwrap() >= 1.0, "{text}");
    assert!(text.contains("# TYPE agentlens_http_request_duration_seconds histogram"));
}
