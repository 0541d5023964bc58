//! The `/mcp` streamable-HTTP endpoint of `agentlens serve`.
//!
//! The endpoint is stateless: the server issues no MCP session ids and keeps nothing
//! between requests, so any number of collector processes can serve it. Requests need
//! the same bearer key as `/api`. Any valid key may initialize, list the tools and call
//! the read-only tools; the tools that store events need write access ([`super::access`]).
//! A body that is not one JSON-RPC message gets a JSON-RPC error ([`super::jsonrpc`]).

use axum::body::HttpBody;
use axum::http::{header, HeaderValue};
use axum::response::Response;
use axum::{middleware, Router};
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};

use super::backend::Backend;
use super::{jsonrpc, AgentLensMcp};
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
        .layer(middleware::from_fn(jsonrpc::check_message))
        .layer(middleware::map_response(label_plain_text))
        .layer(middleware::from_fn_with_state(
            state,
            auth::require_read_key,
        ))
}

/// Labels a response without a `Content-Type` as plain text, because rmcp writes its
/// rejections (406, 415 and others) as bare text with no content type.
async fn label_plain_text(mut response: Response) -> Response {
    let has_body = response.body().size_hint().exact() != Some(0);
    if has_body && !response.headers().contains_key(header::CONTENT_TYPE) {
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; charset=utf-8"),
        );
    }
    response
}
