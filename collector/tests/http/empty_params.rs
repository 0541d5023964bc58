//! Query parameters with an empty value, and integer parameters written other than in plain
//! decimal digits, on the GET endpoints that read parameters.

use axum::http::StatusCode;

use crate::common::app;

/// Parameters of every GET endpoint that reads any, with the endpoint.
const PARAMETERS: &[(&str, &str)] = &[
    ("/api/events", "sessionId"),
    ("/api/events", "agentId"),
    ("/api/events", "eventType"),
    ("/api/events", "severity"),
    ("/api/events", "from"),
    ("/api/events", "to"),
    ("/api/events", "tz"),
    ("/api/events", "search"),
    ("/api/events", "excludeMetrics"),
    ("/api/events", "order"),
    ("/api/events", "limit"),
    ("/api/events", "offset"),
    ("/api/sessions", "agentId"),
    ("/api/sessions", "status"),
    ("/api/sessions", "tags"),
    ("/api/sessions", "countOnly"),
    ("/api/sessions", "from"),
    ("/api/sessions", "limit"),
    ("/api/analytics", "range"),
    ("/api/analytics", "granularity"),
    ("/api/analytics", "tz"),
    ("/api/analytics/costs", "granularity"),
    ("/api/analytics/costs", "to"),
    ("/api/analytics/llm", "model"),
    ("/api/analytics/llm", "provider"),
    ("/api/analytics/llm", "granularity"),
    ("/api/analytics/agents", "agentId"),
    ("/api/analytics/tools", "from"),
    ("/api/alerts/history", "ruleId"),
    ("/api/alerts/history", "offset"),
    ("/api/budgets/check", "agentId"),
];

#[tokio::test]
async fn empty_parameter_rejected_on_get_endpoints() {
    let app = app().await;

    for (path, name) in PARAMETERS {
        let uri = format!("{path}?{name}=");
        let reply = app.get(&uri).await;

        assert_eq!(
            reply.status,
            StatusCode::BAD_REQUEST,
            "{uri}: {}",
            reply.text
        );
        let message = reply.json["error"].as_str().unwrap_or_default();
        assert!(
            message.contains(&format!("Invalid {name} \"\"")),
            "{uri}: {message}"
        );
        assert!(message.contains("the value is empty"), "{uri}: {message}");
    }
}

#[tokio::test]
async fn integer_parameter_takes_digits_only() {
    let app = app().await;
    let accepted = app.get("/api/events?limit=05&offset=0").await;
    assert_eq!(accepted.status, StatusCode::OK, "{}", accepted.text);

    for query in [
        "limit=%2B5",
        "limit=+5",
        "limit=%205",
        "limit=5%20",
        "offset=%2B0",
    ] {
        let uri = format!("/api/sessions?{query}");
        let reply = app.get(&uri).await;

        assert_eq!(
            reply.status,
            StatusCode::BAD_REQUEST,
            "{uri}: {}",
            reply.text
        );
        let message = reply.json["details"][0]["message"]
            .as_str()
            .unwrap_or_default();
        assert!(message.contains("digits only"), "{uri}: {message}");
    }
}
