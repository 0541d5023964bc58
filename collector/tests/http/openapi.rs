//! `GET /api/openapi.json`.

use axum::http::StatusCode;

use crate::common::app_with_key;

#[tokio::test]
async fn openapi_document_needs_no_key() {
    let mut app = app_with_key().await;
    app.key = None;

    let reply = app.get("/api/openapi.json").await;

    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    assert_eq!(reply.json["openapi"], "3.1.0");
    assert!(reply.json["paths"]["/api/events"]["post"].is_object());
}

#[tokio::test]
async fn openapi_document_keeps_other_routes_locked() {
    let mut app = app_with_key().await;
    app.key = None;

    let reply = app.get("/api/server-info").await;

    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
}
