//! The per-client rate limit of the `/api` routes: 429 with `Retry-After`, `RateLimit-*`
//! headers, separate windows per key and for rejected requests, hints that fit the
//! request, and the exempt routes.

use std::time::Duration;

use agentlens_collector::{open_state, run, ServeOptions};
use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use crate::common::{app, app_with_rate_limit, serve_options, Reply};

fn header_number(reply: &Reply, name: &str) -> u64 {
    let value = reply
        .headers
        .get(name)
        .unwrap_or_else(|| panic!("no {name}"));
    value.to_str().unwrap().parse().unwrap()
}

#[tokio::test]
async fn limit_rejects_with_retry_after() {
    let app = app_with_rate_limit(2).await;

    let first = app.get("/api/sessions").await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.text);
    assert_eq!(header_number(&first, "ratelimit-limit"), 2);
    assert_eq!(header_number(&first, "ratelimit-remaining"), 1);
    let reset = header_number(&first, "ratelimit-reset");
    assert!((1..=60).contains(&reset), "reset {reset}");

    let second = app.get("/api/events").await;
    assert_eq!(second.status, StatusCode::OK, "{}", second.text);
    assert_eq!(header_number(&second, "ratelimit-remaining"), 0);

    let third = app.get("/api/sessions").await;
    assert_eq!(third.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(third.json["error"], "Too Many Requests");
    assert_eq!(third.json["status"], 429);
    let retry_after = header_number(&third, "retry-after");
    assert!((1..=60).contains(&retry_after), "retry after {retry_after}");
    assert_eq!(third.json["retryAfter"], retry_after);
    let hint = third.json["hint"].as_str().unwrap();
    assert!(
        hint.contains(&format!("retry after {retry_after} s")),
        "{hint}"
    );
    assert_eq!(header_number(&third, "ratelimit-remaining"), 0);
    assert_eq!(header_number(&third, "ratelimit-limit"), 2);
    assert_eq!(third.api_version.as_deref(), Some("v1"));
}

#[tokio::test]
async fn limit_exempts_health_and_metrics() {
    let app = app_with_rate_limit(1).await;
    assert_eq!(app.get("/api/sessions").await.status, StatusCode::OK);
    assert_eq!(
        app.get("/api/sessions").await.status,
        StatusCode::TOO_MANY_REQUESTS
    );

    let health = app.get("/api/health").await;
    assert_eq!(health.status, StatusCode::OK, "{}", health.text);
    assert!(health.headers.get("ratelimit-limit").is_none());
    assert_eq!(app.get("/metrics").await.status, StatusCode::OK);
}

#[tokio::test]
async fn limit_counts_each_key_separately() {
    let app = app_with_rate_limit(2).await;
    let created = app
        .post("/api/keys", &json!({"name": "second", "scopes": ["read"]}))
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
    let second_key = created.json["key"].as_str().unwrap().to_owned();
    assert_eq!(app.get("/api/sessions").await.status, StatusCode::OK);
    assert_eq!(
        app.get("/api/sessions").await.status,
        StatusCode::TOO_MANY_REQUESTS
    );

    let second = app.call(get_with_key("/api/sessions", &second_key)).await;

    assert_eq!(second.status, StatusCode::OK, "{}", second.text);
    assert_eq!(header_number(&second, "ratelimit-remaining"), 1);
}

#[tokio::test]
async fn mistyped_key_gets_401_not_429() {
    let app = app_with_rate_limit(1).await;
    assert_eq!(app.get("/api/sessions").await.status, StatusCode::OK);
    assert_eq!(
        app.get("/api/sessions").await.status,
        StatusCode::TOO_MANY_REQUESTS
    );

    let mistyped = app.call(get_with_key("/api/sessions", "als_12345")).await;

    assert_eq!(
        mistyped.status,
        StatusCode::UNAUTHORIZED,
        "{}",
        mistyped.text
    );
    assert_eq!(mistyped.json["error"], "Invalid or revoked API key");
}

#[tokio::test]
async fn rejected_requests_get_429_after_limit() {
    let app = app_with_rate_limit(2).await;
    let anonymous = || Request::get("/api/sessions").body(Body::empty()).unwrap();

    let first = app
        .call(get_with_key("/api/sessions", &unknown_key()))
        .await;
    let second = app.call(anonymous()).await;
    let third = app.call(get_with_key("/api/events", &unknown_key())).await;

    assert_eq!(first.status, StatusCode::UNAUTHORIZED, "{}", first.text);
    assert_eq!(second.status, StatusCode::UNAUTHORIZED, "{}", second.text);
    assert_eq!(
        third.status,
        StatusCode::TOO_MANY_REQUESTS,
        "{}",
        third.text
    );
    let hint = third.json["hint"].as_str().unwrap_or_default();
    assert!(hint.contains("without a valid API key"), "{hint}");
    assert!(third.headers.get("retry-after").is_some());
    assert_eq!(
        app.get("/api/sessions").await.status,
        StatusCode::OK,
        "a valid key keeps its own window"
    );
}

#[tokio::test]
async fn hint_fits_read_and_ingest() {
    let app = app_with_rate_limit(1).await;
    app.get("/api/sessions").await;

    let read = app.get("/api/sessions").await;
    let ingest = app.ingest(Vec::new()).await;

    assert_eq!(read.status, StatusCode::TOO_MANY_REQUESTS);
    let read_hint = read.json["hint"].as_str().unwrap_or_default();
    assert!(read_hint.contains("larger pages"), "{read_hint}");
    assert!(!read_hint.contains("events per request"), "{read_hint}");
    assert_eq!(ingest.status, StatusCode::TOO_MANY_REQUESTS);
    let ingest_hint = ingest.json["hint"].as_str().unwrap_or_default();
    assert!(
        ingest_hint.contains("more events per request"),
        "{ingest_hint}"
    );
}

fn unknown_key() -> String {
    format!("als_{}", "cd".repeat(32))
}

fn get_with_key(path: &str, key: &str) -> Request<Body> {
    Request::get(path)
        .header(header::AUTHORIZATION, format!("Bearer {key}"))
        .body(Body::empty())
        .unwrap()
}

#[tokio::test]
async fn zero_limit_sends_no_headers() {
    let app = app().await;
    for _ in 0..3 {
        let reply = app.get("/api/sessions").await;
        assert_eq!(reply.status, StatusCode::OK);
        assert!(reply.headers.get("ratelimit-limit").is_none());
    }
}

/// Sends `GET path` over a new connection and returns the raw response.
async fn raw_get(address: std::net::SocketAddr, path: &str) -> String {
    let mut stream = TcpStream::connect(address).await.unwrap();
    let request = format!("GET {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).await.unwrap();
    response
}

#[tokio::test]
async fn server_limits_by_peer_address() {
    let dir = tempfile::tempdir().unwrap();
    let options = ServeOptions {
        rate_limit: 1,
        ..serve_options(dir.path().join("agentlens.db"))
    };
    let state = open_state(&options).await.unwrap();
    let listener = TcpListener::bind(options.bind).await.unwrap();
    let address = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(run(listener, state, options.alert_interval, async {
        let _ = stopped.await;
    }));

    let first = raw_get(address, "/api/sessions").await;
    assert!(first.starts_with("HTTP/1.1 200 OK"), "{first}");
    let second = raw_get(address, "/api/sessions").await;
    assert!(
        second.starts_with("HTTP/1.1 429 Too Many Requests"),
        "{second}"
    );
    assert!(
        second.to_ascii_lowercase().contains("retry-after: "),
        "{second}"
    );

    stop.send(()).unwrap();
    let result = tokio::time::timeout(Duration::from_secs(10), server).await;
    assert!(result.expect("server stops within 10 s").unwrap().is_ok());
}
