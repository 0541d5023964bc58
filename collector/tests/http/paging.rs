//! Paging and time-range parameters of the list routes: invalid values get a 400 that
//! names the parameter instead of being replaced by a default.

use axum::http::StatusCode;

use crate::common::{app, tool_call};

/// List routes that take `limit` and `offset`.
const PAGED_ROUTES: [&str; 3] = ["/api/events", "/api/sessions", "/api/alerts/history"];

#[tokio::test]
async fn invalid_paging_gets_400() {
    let app = app().await;
    let cases = [
        ("limit", "abc", "expected an integer from 1 to 500"),
        ("limit", "0", "expected an integer from 1 to 500"),
        ("limit", "-1", "expected an integer from 1 to 500"),
        ("limit", "501", "expected an integer from 1 to 500"),
        ("offset", "-5", "expected an integer from 0 to"),
        (
            "offset",
            "99999999999999999999",
            "expected an integer from 0 to",
        ),
    ];
    for route in PAGED_ROUTES {
        for (name, value, expected) in cases {
            let uri = format!("{route}?{name}={value}");
            let reply = app.get(&uri).await;
            assert_eq!(
                reply.status,
                StatusCode::BAD_REQUEST,
                "{uri}: {}",
                reply.text
            );
            assert_eq!(reply.json["error"], "Validation failed", "{uri}");
            assert_eq!(reply.json["status"], 400, "{uri}");
            assert_eq!(reply.json["details"][0]["path"], name, "{uri}");
            let message = reply.json["details"][0]["message"].as_str().unwrap();
            assert!(message.contains(expected), "{uri}: {message}");
        }
    }
}

#[tokio::test]
async fn valid_paging_bounds_are_accepted() {
    let app = app().await;
    let reply = app
        .ingest(vec![tool_call("s1", "a1", "2026-02-07T10:00:00Z")])
        .await;
    assert_eq!(reply.status, StatusCode::CREATED);
    for route in PAGED_ROUTES {
        for query in [
            "limit=1",
            "limit=500",
            "offset=0",
            "offset=9223372036854775807",
        ] {
            let uri = format!("{route}?{query}");
            let reply = app.get(&uri).await;
            assert_eq!(reply.status, StatusCode::OK, "{uri}: {}", reply.text);
        }
    }
}

#[tokio::test]
async fn from_after_to_gets_400() {
    let app = app().await;
    let routes = [
        "/api/events",
        "/api/sessions",
        "/api/analytics/costs",
        "/api/analytics/llm",
    ];
    for route in routes {
        let uri = format!("{route}?from=2026-02-08&to=2026-02-07");
        let reply = app.get(&uri).await;
        assert_eq!(
            reply.status,
            StatusCode::BAD_REQUEST,
            "{uri}: {}",
            reply.text
        );
        assert_eq!(reply.json["error"], "Validation failed", "{uri}");
        assert_eq!(reply.json["details"][0]["path"], "from", "{uri}");
    }

    let same_day = app.get("/api/events?from=2026-02-07&to=2026-02-07").await;
    assert_eq!(same_day.status, StatusCode::OK, "{}", same_day.text);
}

#[tokio::test]
async fn event_order_other_than_asc_or_desc_gets_400() {
    let app = app().await;
    for order in ["asc", "desc"] {
        let reply = app.get(&format!("/api/events?order={order}")).await;
        assert_eq!(
            reply.status,
            StatusCode::OK,
            "order={order}: {}",
            reply.text
        );
    }
    let reply = app.get("/api/events?order=newest").await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{}", reply.text);
    assert_eq!(reply.json["details"][0]["path"], "order");
    let message = reply.json["details"][0]["message"].as_str().unwrap();
    assert!(message.contains("expected asc or desc"), "{message}");
}
