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

#[tokio::test]
async fn every_operation_has_unique_id() {
    let app = app_with_key().await;
    let document = app.get("/api/openapi.json").await.json;

    let mut ids = Vec::new();
    for (path, item) in document["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            let id = operation["operationId"].as_str();
            assert!(id.is_some(), "{method} {path} has no operationId");
            ids.push(id.unwrap().to_owned());
        }
    }
    let count = ids.len();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), count, "repeated operationId among {ids:?}");
}

#[tokio::test]
async fn offset_allows_64_bit_values() {
    let app = app_with_key().await;
    let document = app.get("/api/openapi.json").await.json;

    for path in ["/api/events", "/api/sessions", "/api/alerts/history"] {
        let parameters = document["paths"][path]["get"]["parameters"]
            .as_array()
            .unwrap();
        let offset = parameters
            .iter()
            .find(|parameter| parameter["name"] == "offset")
            .unwrap();
        assert_eq!(offset["schema"]["format"], "int64", "{path}");
    }
}
