//! Every route of the collector, in one place.
//!
//! | method and path | handler | needs |
//! |---|---|---|
//! | `GET /api/health` | [`health::health`] | nothing |
//! | `GET /metrics` | [`metrics::render`] (Prometheus text) | nothing |
//! | `GET /docs/authentication` | [`docs::authentication`] (Markdown) | nothing |
//! | `GET /api/openapi.json` | [`openapi::document`] (OpenAPI 3.1) | nothing |
//! | `POST /api/events` | [`events::ingest`] | write |
//! | `GET /api/events` | [`events::list`] | read |
//! | `GET /api/events/{id}` | [`events::get`] | read |
//! | `GET /api/sessions` | [`sessions::list`] | read |
//! | `GET /api/sessions/{id}` | [`sessions::get`] | read |
//! | `GET /api/sessions/{id}/timeline` | [`sessions::timeline`] | read |
//! | `GET /api/analytics` | [`analytics::overview`] | read |
//! | `GET /api/analytics/costs` | [`analytics::costs`] | read |
//! | `GET /api/analytics/llm` | [`analytics::llm`] | read |
//! | `GET /api/analytics/agents` | [`analytics::agents`] | read |
//! | `GET /api/analytics/tools` | [`analytics::tools`] | read |
//! | `POST /api/alerts/rules` | [`alerts::create_rule`] | write |
//! | `GET /api/alerts/rules` | [`alerts::list_rules`] | read |
//! | `GET /api/alerts/rules/{id}` | [`alerts::get_rule`] | read |
//! | `PUT /api/alerts/rules/{id}` | [`alerts::update_rule`] | write |
//! | `DELETE /api/alerts/rules/{id}` | [`alerts::delete_rule`] | write |
//! | `GET /api/alerts/history` | [`alerts::history`] | read |
//! | `GET /api/budgets/check` | [`budgets::check`] | read |
//! | `POST /api/pricing/quote` | [`pricing::quote`] | read |
//! | `GET /api/server-info` | [`server_info::server_info`] | read |
//! | `POST /api/keys`, `GET /api/keys` | [`keys::create`], [`keys::list`] | admin |
//! | `DELETE /api/keys/{id}` | [`keys::revoke`] | admin |
//! | `POST /mcp` (streamable HTTP) | [`mcp::http::routes`] | read; tools that store need write |
//!
//! Every `/api` response carries `X-API-Version: v1`, an unknown `/api` path gets a JSON
//! 404, a known path with another method a JSON 405 that lists the allowed methods, and
//! bodies over 1 MiB get a JSON 413. On every path, a URI or headers over the
//! [`request_head`] limits get a JSON 414 or 431. Every route above except the health
//! route, `/api/openapi.json`, `/metrics`, `/docs/authentication` and `/mcp` is under the
//! [rate limit](rate_limit). It runs
//! after authentication and counts the requests that authentication rejects in a
//! separate window per IP address, so a mistyped key gets 401 rather than another key's
//! 429, and bad keys still count.

use axum::extract::DefaultBodyLimit;
use axum::http::HeaderValue;
use axum::middleware;
use axum::response::Response;
use axum::routing::{delete, get, post};
use axum::Router;
use tower::Layer;
use tower_http::timeout::RequestBodyTimeoutLayer;
use tower_http::trace::TraceLayer;

use crate::error::{self, BODY_READ_TIMEOUT, MAX_BODY_BYTES};
use crate::handlers::{
    alerts, analytics, budgets, docs, events, health, keys, pricing, server_info, sessions,
};
use crate::{auth, mcp, metrics, openapi, rate_limit, request_head, AppState};

/// Builds the application router over `state`.
pub fn build_router(state: AppState) -> Router {
    // Authenticated without the write check of `require_key`, so that a read-only key
    // gets a 403 that names admin, the role these routes need.
    let key_routes = Router::new()
        .route("/keys", post(keys::create).get(keys::list))
        .route("/keys/{id}", delete(keys::revoke))
        .route_layer(middleware::from_fn(auth::require_admin))
        .route_layer(middleware::from_fn_with_state(
            state.clone(),
            rate_limit::limit_requests,
        ))
        .route_layer(middleware::from_fn_with_state(
            state.clone(),
            auth::require_read_key,
        ));

    let protected = Router::new()
        .route("/events", post(events::ingest).get(events::list))
        .route("/events/{id}", get(events::get))
        .route("/sessions", get(sessions::list))
        .route("/sessions/{id}", get(sessions::get))
        .route("/sessions/{id}/timeline", get(sessions::timeline))
        .route("/analytics", get(analytics::overview))
        .route("/analytics/costs", get(analytics::costs))
        .route("/analytics/llm", get(analytics::llm))
        .route("/analytics/agents", get(analytics::agents))
        .route("/analytics/tools", get(analytics::tools))
        .route(
            "/alerts/rules",
            post(alerts::create_rule).get(alerts::list_rules),
        )
        .route(
            "/alerts/rules/{id}",
            get(alerts::get_rule)
                .put(alerts::update_rule)
                .delete(alerts::delete_rule),
        )
        .route("/alerts/history", get(alerts::history))
        .route("/budgets/check", get(budgets::check))
        .route("/server-info", get(server_info::server_info))
        .route_layer(middleware::from_fn_with_state(
            state.clone(),
            rate_limit::limit_requests,
        ))
        .route_layer(middleware::from_fn_with_state(
            state.clone(),
            auth::require_key,
        ))
        .merge(key_routes);

    // Quotes are POST for their JSON body but store nothing, so read access suffices.
    let read_only_posts = Router::new()
        .route("/pricing/quote", post(pricing::quote))
        .route_layer(middleware::from_fn_with_state(
            state.clone(),
            rate_limit::limit_requests,
        ))
        .route_layer(middleware::from_fn_with_state(
            state.clone(),
            auth::require_read_key,
        ));

    // Each group above counts its requests after authentication, so that the rate limit
    // can tell whether the key is valid.
    let api = protected
        .merge(read_only_posts)
        .route("/health", get(health::health))
        .route("/openapi.json", get(openapi::document))
        .fallback(error::route_not_found)
        .layer(middleware::map_response(set_api_version))
        .layer(middleware::from_fn(metrics::track_requests));

    let api = Router::new()
        .nest("/api", api)
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .with_state(state.clone());
    let app = api
        .clone()
        .merge(mcp::http::routes(state, api))
        .route("/metrics", get(metrics::render))
        .route("/docs/authentication", get(docs::authentication))
        .layer(middleware::from_fn(error::log_failures))
        .layer(RequestBodyTimeoutLayer::new(BODY_READ_TIMEOUT))
        .layer(TraceLayer::new_for_http());

    // `Router::layer` wraps each route, inside the step where axum adds `Allow` to a 405,
    // so the layer that needs that header wraps the whole router as a service instead.
    let described = middleware::map_response(error::describe_method_not_allowed).layer(app);
    Router::new()
        .fallback_service(described)
        .layer(middleware::from_fn(request_head::check_request_head))
}

async fn set_api_version(mut response: Response) -> Response {
    response
        .headers_mut()
        .insert("x-api-version", HeaderValue::from_static("v1"));
    response
}
