//! Authentication: 401 bodies, the public health route and key management.

use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use serde_json::json;

use crate::common::{app_with_key, tool_call};

fn request(method: Method, uri: &str, key: Option<&str>) -> Request<Body> {
    let mut builder = Request::builder().method(method).uri(uri);
    if let Some(key) = key {
        builder = builder.header(header::AUTHORIZATION, format!("Bearer {key}"));
    }
    builder.body(Body::empty()).unwrap()
}

#[tokio::test]
async fn missing_key_gets_401() {
    let app = app_with_key().await;
    let reply = app.call(request(Method::GET, "/api/events", None)).await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    assert_eq!(reply.json["error"], "Authentication required");
    assert_eq!(reply.json["status"], 401);
    assert_eq!(
        reply.json["hint"],
        "Provide an API key via 'Authorization: Bearer als_...' header"
    );
    assert_eq!(reply.json["docs"], "/docs/authentication");
    assert_eq!(reply.api_version.as_deref(), Some("v1"));
}

#[tokio::test]
async fn missing_key_docs_page_is_served() {
    let app = app_with_key().await;
    let reply = app.call(request(Method::GET, "/api/sessions", None)).await;
    let path = reply.json["docs"].as_str().unwrap().to_owned();

    let page = app.call(request(Method::GET, &path, None)).await;
    assert_eq!(page.status, StatusCode::OK);
    assert_eq!(
        page.headers[axum::http::header::CONTENT_TYPE],
        "text/markdown; charset=utf-8"
    );
    assert!(page.text.starts_with("# Authentication"), "{}", page.text);
    assert!(page.text.contains("Authorization: Bearer als_"));
}

#[tokio::test]
async fn unknown_key_gets_401() {
    let app = app_with_key().await;
    let wrong = format!("als_{}", "cd".repeat(32));
    let reply = app
        .call(request(Method::GET, "/api/events", Some(&wrong)))
        .await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    assert_eq!(reply.json["error"], "Invalid or revoked API key");
    assert_eq!(reply.json["status"], 401);
    assert!(reply.json["hint"].is_string());
    assert!(reply.json.get("docs").is_none(), "{}", reply.json);
}

#[tokio::test]
async fn audit_key_403_names_write_scope() {
    let app = app_with_key().await;
    let created = app
        .post(
            "/api/keys",
            &json!({"name": "auditor", "scopes": ["audit"]}),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
    let auditor = created.json["key"].as_str().unwrap().to_owned();

    let mut post = request(Method::POST, "/api/events", Some(&auditor));
    *post.body_mut() =
        Body::from(json!({"events": [tool_call("s1", "a1", "2026-02-07T10:00:00Z")]}).to_string());
    let denied = app.call(post).await;

    assert_eq!(denied.status, StatusCode::FORBIDDEN);
    assert_eq!(denied.json["requiredScope"], "write", "{}", denied.text);
    assert_eq!(denied.json["scopes"], json!(["audit"]), "{}", denied.text);
    let hint = denied.json["hint"].as_str().unwrap_or_default();
    assert!(hint.contains("this key has the scopes audit"), "{hint}");
    let read = app
        .call(request(Method::GET, "/api/events", Some(&auditor)))
        .await;
    assert_eq!(read.status, StatusCode::OK, "{}", read.text);
}

#[tokio::test]
async fn health_needs_no_key() {
    let app = app_with_key().await;
    let reply = app.call(request(Method::GET, "/api/health", None)).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.json["status"], "ok");
    assert_eq!(reply.json["db"]["ok"], true);
    assert!(reply.json["db"]["latencyMs"].is_number());
    assert_eq!(reply.json["version"], env!("CARGO_PKG_VERSION"));
}

#[tokio::test]
async fn preset_key_ingests() {
    let app = app_with_key().await;
    let reply = app
        .ingest(vec![tool_call("s1", "a1", "2026-02-07T10:00:00Z")])
        .await;
    assert_eq!(reply.status, StatusCode::CREATED);
}

#[tokio::test]
async fn read_only_and_revoked_keys() {
    let app = app_with_key().await;
    let created = app
        .post("/api/keys", &json!({"name": "reader", "scopes": ["read"]}))
        .await;
    assert_eq!(created.status, StatusCode::CREATED);
    let reader = created.json["key"].as_str().unwrap().to_owned();
    assert_eq!(reader.len(), 68);

    let mut post = request(Method::POST, "/api/events", Some(&reader));
    *post.body_mut() =
        Body::from(json!({"events": [tool_call("s1", "a1", "2026-02-07T10:00:00Z")]}).to_string());
    let denied = app.call(post).await;
    assert_eq!(denied.status, StatusCode::FORBIDDEN);
    assert_eq!(denied.json["required"], "member");
    assert_eq!(denied.json["current"], "viewer");
    assert_eq!(denied.json["requiredScope"], "write", "{}", denied.text);
    assert_eq!(denied.json["scopes"], json!(["read"]), "{}", denied.text);
    let hint = denied.json["hint"].as_str().unwrap_or_default();
    assert!(hint.contains("--scopes write"), "{hint}");
    let keys = app
        .call(request(Method::GET, "/api/keys", Some(&reader)))
        .await;
    assert_eq!(keys.status, StatusCode::FORBIDDEN);
    assert_eq!(
        app.call(request(Method::GET, "/api/events", Some(&reader)))
            .await
            .status,
        StatusCode::OK
    );

    let id = created.json["id"].as_str().unwrap();
    let revoked = app
        .send(Method::DELETE, &format!("/api/keys/{id}"), None)
        .await;
    assert_eq!(revoked.json, json!({"id": id, "revoked": true}));
    let again = app
        .send(Method::DELETE, &format!("/api/keys/{id}"), None)
        .await;
    assert_eq!(again.status, StatusCode::CONFLICT);
    let after = app
        .call(request(Method::GET, "/api/events", Some(&reader)))
        .await;
    assert_eq!(after.json["error"], "Invalid or revoked API key");

    let listed = app.get("/api/keys").await.json;
    assert_eq!(listed["keys"].as_array().unwrap().len(), 2);
    assert!(!listed.to_string().contains(&reader));
}

#[tokio::test]
async fn unknown_key_scope_is_rejected() {
    let app = app_with_key().await;
    let reply = app
        .post(
            "/api/keys",
            &json!({"name": "ci", "scopes": ["read", "wrte"]}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert_eq!(reply.json["error"], "Validation failed");
    assert_eq!(reply.json["details"][0]["path"], "scopes");
    let message = reply.json["details"][0]["message"].as_str().unwrap();
    assert!(message.contains("\"wrte\""), "{message}");
    assert!(
        message.contains("*, manage, write, audit, read"),
        "{message}"
    );

    let listed = app.get("/api/keys").await.json;
    assert_eq!(listed["keys"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn empty_key_scopes_are_rejected() {
    let app = app_with_key().await;

    let reply = app
        .post("/api/keys", &json!({"name": "ci", "scopes": []}))
        .await;

    assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{}", reply.text);
    assert_eq!(reply.json["error"], "Validation failed");
    assert_eq!(reply.json["details"][0]["path"], "scopes");
    let message = reply.json["details"][0]["message"].as_str().unwrap();
    assert!(message.contains("scopes is empty"), "{message}");
    assert!(
        message.contains("*, manage, write, audit, read"),
        "{message}"
    );
    let listed = app.get("/api/keys").await.json;
    assert_eq!(listed["keys"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn key_request_fields_are_checked() {
    let app = app_with_key().await;
    let cases = [
        (
            json!({"name": "d", "expiresAt": "2020-01-01T00:00:00Z"}),
            "expiresAt",
            "do not expire",
        ),
        (json!({"tenantId": "other"}), "tenantId", "--tenant"),
        (
            json!({"name": "d", "role": "admin"}),
            "role",
            "only name and scopes",
        ),
        (json!({"name": "ci\ndeploy"}), "name", "U+000A"),
        (json!({"name": "ci\u{85}"}), "name", "U+0085"),
        (json!({"name": "ci\u{2028}deploy"}), "name", "U+2028"),
        (json!({"name": "\u{202e}yek"}), "name", "U+202E"),
        (json!({"name": "   "}), "name", "blank"),
    ];
    for (body, path, hint) in cases {
        let reply = app.post("/api/keys", &body).await;
        assert_eq!(
            reply.status,
            StatusCode::BAD_REQUEST,
            "{body}: {}",
            reply.text
        );
        assert_eq!(reply.json["details"][0]["path"], path, "{}", reply.text);
        let message = reply.json["details"][0]["message"].as_str().unwrap();
        assert!(message.contains(hint), "{body}: {message}");
    }
    let listed = app.get("/api/keys").await.json;
    assert_eq!(listed["keys"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn repeated_key_scopes_are_stored_once() {
    let app = app_with_key().await;

    let reply = app
        .post("/api/keys", &json!({"scopes": ["read", "write", "read"]}))
        .await;

    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
    assert_eq!(reply.json["scopes"], json!(["read", "write"]));
}

#[tokio::test]
async fn lowercase_bearer_scheme_is_accepted() {
    let app = app_with_key().await;
    let key = app.key.clone().unwrap();
    for scheme in ["bearer", "BEARER", "bEaReR"] {
        let request = Request::builder()
            .uri("/api/events")
            .header(header::AUTHORIZATION, format!("{scheme} {key}"))
            .body(Body::empty())
            .unwrap();
        let reply = app.call(request).await;
        assert_eq!(reply.status, StatusCode::OK, "{scheme}: {}", reply.text);
    }
}

#[tokio::test]
async fn admin_route_403_names_admin_role() {
    let app = app_with_key().await;
    let created = app
        .post("/api/keys", &json!({"name": "reader", "scopes": ["read"]}))
        .await;
    let reader = created.json["key"].as_str().unwrap().to_owned();
    let id = created.json["id"].as_str().unwrap().to_owned();

    let mut create = request(Method::POST, "/api/keys", Some(&reader));
    *create.body_mut() = Body::from(json!({"name": "escalate"}).to_string());
    let revoke = request(Method::DELETE, &format!("/api/keys/{id}"), Some(&reader));
    let list = request(Method::GET, "/api/keys", Some(&reader));
    for denied in [create, revoke, list] {
        let label = format!("{} {}", denied.method(), denied.uri());
        let reply = app.call(denied).await;
        assert_eq!(reply.status, StatusCode::FORBIDDEN, "{label}");
        assert_eq!(reply.json["required"], "admin", "{label}");
        assert_eq!(reply.json["current"], "viewer", "{label}");
        assert_eq!(reply.json["requiredScope"], "manage", "{label}");
        assert_eq!(reply.json["scopes"], json!(["read"]), "{label}");
    }

    let missing = app.call(request(Method::POST, "/api/keys", None)).await;
    assert_eq!(missing.status, StatusCode::UNAUTHORIZED);
}
