//! The `/mcp` streamable-HTTP endpoint of `agentlens serve`.
//!
//! The endpoint is stateless: the server issues no MCP session ids and keeps nothing
//! between requests, so any number of collector processes can serve it. Requests need
//! the same bearer key as `/api`. Any valid key may initialize, list the tools and call
//! the read-only tools; the tools that store events need write access ([`super::access`]).
//! A body that is not one JSON-RPC message gets a JSON-RPC error ([`super::jsonrpc`]).
//! Other rejections, such as 406 for a missing `Accept: text/event-stream` and 415 for a
//! body that is not `application/json`, get the JSON error body of the rest of the API.

use axum::body::Body;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{middleware, Json, Router};
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};
use serde_json::json;

use super::backend::Backend;
use super::{exact, jsonrpc, AgentLensMcp};
use crate::{auth, AppState};

/// Path of the endpoint.
pub const MCP_PATH: &str = "/mcp";

/// Returns a router serving MCP at [`MCP_PATH`], whose tools call `api`, the router of
/// the `/api` routes.
pub fn routes(state: AppState, api: Router) -> Router {
    let mut config = StreamableHttpServerConfig::default()
        .with_legacy_session_mode(false)
        .with_json_response(true)
        .with_max_request_body_bytes(jsonrpc::MAX_MESSAGE_BYTES);
    if state.auth_enabled {
        // rmcp checks the Host header against loopback names by default, against DNS
        // rebinding. With authentication on, a page in a browser cannot send the bearer key,
        // so the check would only block collectors served under a real host name.
        config = config.disable_allowed_hosts();
    }
    let service = StreamableHttpService::new(
        move || {
            Ok(AgentLensMcp::new(Backend::InProcess {
                router: api.clone(),
            }))
        },
        LocalSessionManager::default().into(),
        config,
    );

    Router::new()
        .nest_service(MCP_PATH, service)
        .layer(middleware::map_response(restore_exact_decimals))
        .layer(middleware::from_fn(jsonrpc::check_message))
        .layer(middleware::map_response(wrap_plain_text_errors))
        .layer(middleware::from_fn_with_state(
            state,
            auth::require_read_key,
        ))
}

/// Writes the exact decimals of a tool result into its `structuredContent`, see
/// [`exact`]. Responses that are not a successful JSON body pass unchanged.
async fn restore_exact_decimals(response: Response) -> Response {
    if response.status() != StatusCode::OK || !is_json(&response) {
        return response;
    }

    // The body is a reply that this process built in memory, so it is read without a limit.
    let (mut parts, body) = response.into_parts();
    let bytes = match axum::body::to_bytes(body, usize::MAX).await {
        Ok(bytes) => bytes,
        Err(error) => {
            tracing::error!(%error, "failed to read an mcp response body");
            return (
                StatusCode::INTERNAL_SERVER_ERROR,
                "failed to read the response",
            )
                .into_response();
        }
    };
    match exact::restore_structured_content(&bytes) {
        Some(restored) => {
            parts.headers.remove(header::CONTENT_LENGTH);
            Response::from_parts(parts, Body::from(restored))
        }
        None => Response::from_parts(parts, Body::from(bytes)),
    }
}

/// Returns true when the response has an `application/json` content type.
fn is_json(response: &Response) -> bool {
    response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.split(';').next())
        .is_some_and(|essence| essence.trim().eq_ignore_ascii_case("application/json"))
}

/// Largest rmcp rejection body read into a JSON error. Longer text is replaced by the
/// status reason.
const MAX_REJECTION_BYTES: usize = 64 * 1024;

/// Rewrites an rmcp rejection (406, 415 and other error statuses), which rmcp 3.11 sends as
/// bare text without a content type, into the JSON error body of the API,
/// `{"error": "...", "status": n}`. JSON responses pass unchanged.
async fn wrap_plain_text_errors(response: Response) -> Response {
    let status = response.status();
    if !(status.is_client_error() || status.is_server_error()) || !is_plain_text(&response) {
        return response;
    }

    let (parts, body) = response.into_parts();
    let text = match axum::body::to_bytes(body, MAX_REJECTION_BYTES).await {
        Ok(bytes) => String::from_utf8_lossy(&bytes).trim().to_owned(),
        Err(_) => String::new(),
    };
    let message = if text.is_empty() {
        status.canonical_reason().unwrap_or("Error").to_owned()
    } else {
        text
    };
    let body = json!({"error": message, "status": status.as_u16()});
    let mut wrapped = (status, Json(body)).into_response();
    for (name, value) in &parts.headers {
        if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
            wrapped.headers_mut().append(name, value.clone());
        }
    }
    wrapped
}

/// Returns true when the response has no `Content-Type` or a `text/plain` one.
fn is_plain_text(response: &Response) -> bool {
    match response.headers().get(header::CONTENT_TYPE) {
        None => true,
        Some(value) => value
            .to_str()
            .unwrap_or("")
            .trim_start()
            .to_ascii_lowercase()
            .starts_with("text/plain"),
    }
}
