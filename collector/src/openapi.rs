//! The OpenAPI 3.1 document of the HTTP API, served at `GET /api/openapi.json`.
//!
//! Each handler carries a `#[utoipa::path]` attribute next to its code, and [`ApiDoc`]
//! lists them all. Bodies that handlers build as `serde_json::Value` are described by the
//! types in [`schemas`]. `POST /mcp` has no axum handler of its own, because rmcp serves
//! it, so [`McpPath`] adds it by hand. A unit test compares the document with the route
//! table in the [`router`](crate::router) docs and with the `.route(...)` calls there, so
//! a route added without documentation fails the tests.

mod head_limits;
pub mod params;
pub mod schemas;

use axum::Json;
use utoipa::openapi::path::{OperationBuilder, PathItemBuilder};
use utoipa::openapi::request_body::RequestBodyBuilder;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{ContentBuilder, HttpMethod, ResponseBuilder};
use utoipa::{Modify, OpenApi};

use crate::handlers::{
    alerts, analytics, budgets, docs, events, health, keys, pricing, server_info, sessions,
};
use crate::metrics;
use head_limits::HeadLimits;

/// Name of the bearer security scheme in the document; the `security` list of [`ApiDoc`]
/// repeats it, because the attribute takes only a literal.
pub const BEARER_SCHEME: &str = "bearer";

/// The OpenAPI document of the collector.
#[derive(Debug, OpenApi)]
#[openapi(
    info(
        title = "AgentLens collector API",
        description = "Events, sessions, cost analytics, alerts and API keys of AgentLens agents. \
            Each query parameter takes one non-empty value: a repeated parameter, or one with an \
            empty value such as `limit=`, gets 400 naming it. A method that a path does not \
            serve gets 405 with an `ErrorBody` and an `Allow` header that lists the methods \
            it serves."
    ),
    paths(
        health::health,
        metrics::render,
        docs::authentication,
        document,
        events::ingest,
        events::list,
        events::get,
        sessions::list,
        sessions::get,
        sessions::timeline,
        analytics::overview,
        analytics::costs,
        analytics::llm,
        analytics::agents,
        analytics::tools,
        alerts::create_rule,
        alerts::list_rules,
        alerts::get_rule,
        alerts::update_rule,
        alerts::delete_rule,
        alerts::history,
        budgets::check,
        pricing::quote,
        server_info::server_info,
        keys::create,
        keys::list,
        keys::revoke,
    ),
    components(schemas(
        schemas::ErrorBody,
        schemas::FieldErrorBody,
        params::Granularity,
        params::Range,
        params::TimeZone,
        params::Order,
        params::TimeBound,
        params::SessionStatusList,
        params::EventTypeList,
        params::SeverityList,
    )),
    modifiers(&BearerScheme, &McpPath, &HeadLimits),
    security(("bearer" = [])),
)]
pub struct ApiDoc;

/// Serves the OpenAPI document.
#[utoipa::path(
    get,
    path = "/api/openapi.json",
    operation_id = "getOpenApiDocument",
    tag = "meta",
    security(()),
    responses((status = 200, description = "The OpenAPI 3.1 document", body = Object)),
)]
pub async fn document() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}

/// Adds the bearer scheme that every route except the health, metrics and document
/// routes requires.
#[derive(Debug)]
struct BearerScheme;

impl Modify for BearerScheme {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let scheme = HttpBuilder::new()
            .scheme(HttpAuthScheme::Bearer)
            .bearer_format("als_...")
            .description(Some(
                "An AgentLens API key such as `als_` followed by 64 hex digits, sent as \
                 `Authorization: Bearer als_...`. Read routes need any key, writes a key \
                 with `write` or `*`, and `/api/keys` a key with `manage` or `*`.",
            ))
            .build();
        openapi
            .components
            .get_or_insert_with(Default::default)
            .add_security_scheme(BEARER_SCHEME, SecurityScheme::Http(scheme));
    }
}

/// Adds `POST /mcp`, which rmcp serves, so no handler carries an attribute.
#[derive(Debug)]
struct McpPath;

impl Modify for McpPath {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let json = || ContentBuilder::new().schema(Some(utoipa::openapi::schema::Object::new()));
        let operation = OperationBuilder::new()
            .operation_id(Some("postMcp"))
            .tag("mcp")
            .summary(Some("Model Context Protocol over streamable HTTP"))
            .description(Some(
                "Takes one JSON-RPC message of the Model Context Protocol and returns the \
                 JSON-RPC response. Requests must accept both application/json and \
                 text/event-stream. The endpoint is stateless and issues no session ids. \
                 Any valid key may initialize, list the tools and call the read-only \
                 tools (agentlens_get_costs, agentlens_quote_price). A call of a tool \
                 that stores events with a key lacking write access returns a tool \
                 result with isError and the fields of the API's 403 body, and stores \
                 nothing. A body that is not one JSON-RPC 2.0 message gets 400 with a \
                 JSON-RPC error response: code -32700 for a body that is not JSON, \
                 -32600 for JSON that is not a JSON-RPC message, and -32602 for params \
                 that are not an object. Its id is the request's id when the message \
                 has a valid envelope, and null otherwise. A notification gets 202 \
                 with an empty body, also when it fails these checks and is dropped, \
                 because JSON-RPC 2.0 forbids replying to a notification.",
            ))
            .request_body(Some(
                RequestBodyBuilder::new()
                    .content(
                        "application/json",
                        ContentBuilder::new()
                            .schema(Some(jsonrpc_message()))
                            .build(),
                    )
                    .required(Some(utoipa::openapi::Required::True))
                    .build(),
            ))
            .response(
                "200",
                ResponseBuilder::new()
                    .description("The JSON-RPC response")
                    .content("application/json", json().build()),
            )
            .response(
                "202",
                ResponseBuilder::new()
                    .description("The body is a notification; the response has no body")
                    .build(),
            )
            .response(
                "400",
                ResponseBuilder::new()
                    .description(
                        "The body is not one JSON-RPC message; the body is a JSON-RPC error \
                         response, with the request's id when its envelope is valid",
                    )
                    .content("application/json", json().build()),
            )
            .response("401", error_response("Missing, invalid or revoked API key"))
            .response(
                "403",
                error_response(
                    "With authentication off, the Host header is not a loopback name (a guard \
                     against DNS rebinding)",
                ),
            )
            .response(
                "406",
                error_response(
                    "The Accept header does not list both application/json and text/event-stream",
                ),
            )
            .response(
                "413",
                ResponseBuilder::new()
                    .description(
                        "The body exceeds 4 MiB; the body is a JSON-RPC error response with \
                         code -32600",
                    )
                    .content("application/json", json().build()),
            )
            .response(
                "415",
                error_response("The Content-Type is not application/json"),
            )
            .build();
        let item = PathItemBuilder::new()
            .operation(HttpMethod::Post, operation)
            .build();
        openapi
            .paths
            .paths
            .insert(crate::mcp::http::MCP_PATH.to_owned(), item);
    }
}

/// Returns the schema of one JSON-RPC 2.0 request or notification, the body `/mcp` takes.
fn jsonrpc_message() -> utoipa::openapi::schema::Object {
    use utoipa::openapi::schema::{ObjectBuilder, SchemaType, Type};

    let text = || ObjectBuilder::new().schema_type(Type::String);
    let id = ObjectBuilder::new()
        .schema_type(SchemaType::from_iter([Type::String, Type::Integer]))
        .description(Some("Request id; absent for a notification"));
    ObjectBuilder::new()
        .property("jsonrpc", text().enum_values(Some(["2.0"])))
        .required("jsonrpc")
        .property("method", text().min_length(Some(1)))
        .required("method")
        .property("id", id)
        .property("params", ObjectBuilder::new().schema_type(Type::Object))
        .build()
}

fn error_response(description: &str) -> utoipa::openapi::Response {
    let body = utoipa::openapi::Ref::from_schema_name("ErrorBody");
    ResponseBuilder::new()
        .description(description)
        .content(
            "application/json",
            ContentBuilder::new().schema(Some(body)).build(),
        )
        .build()
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use serde_json::Value;

    use super::*;

    /// Source of the router, whose module docs hold the route table.
    const ROUTER_SOURCE: &str = include_str!("router.rs");

    /// Methods that axum's `routing` functions are named after.
    const METHODS: [&str; 5] = ["get", "post", "put", "delete", "patch"];

    /// Returns `(method, path)` pairs, such as `("post", "/api/events")`, from the route
    /// table in the router's module docs.
    fn table_routes() -> BTreeSet<(String, String)> {
        let mut routes = BTreeSet::new();
        for line in ROUTER_SOURCE.lines() {
            let Some(row) = line.strip_prefix("//! | `") else {
                continue;
            };
            let first_cell = row.split(" | ").next().unwrap();
            for span in first_cell.split('`').filter(|span| span.contains(" /")) {
                let (method, path) = span.split_once(' ').unwrap();
                routes.insert((method.to_lowercase(), path.to_owned()));
            }
        }
        routes
    }

    /// Returns `(method, path)` pairs from the `.route(path, method_router)` calls of the
    /// router, with paths as written there, so without the `/api` prefix of nested routes.
    fn registered_routes() -> Vec<(String, String)> {
        let mut routes = Vec::new();
        for (start, _) in ROUTER_SOURCE.match_indices(".route(") {
            let call = call_arguments(&ROUTER_SOURCE[start + ".route(".len()..]);
            let path = call.split('"').nth(1).unwrap();
            for method in METHODS {
                if call.contains(&format!("{method}(")) {
                    routes.push((method.to_owned(), path.to_owned()));
                }
            }
        }
        routes
    }

    /// Returns the text up to the parenthesis that closes an already opened call.
    fn call_arguments(text: &str) -> &str {
        let mut depth = 1;
        for (index, character) in text.char_indices() {
            match character {
                '(' => depth += 1,
                ')' => depth -= 1,
                _ => {}
            }
            if depth == 0 {
                return &text[..index];
            }
        }
        panic!("unclosed .route( call in router.rs");
    }

    fn document_json() -> Value {
        let text = ApiDoc::openapi().to_json().unwrap();
        serde_json::from_str(&text).unwrap()
    }

    #[test]
    fn document_parses_as_openapi_3_1() {
        let text = ApiDoc::openapi().to_pretty_json().unwrap();

        let parsed: utoipa::openapi::OpenApi = serde_json::from_str(&text).unwrap();
        let json: Value = serde_json::from_str(&text).unwrap();

        assert_eq!(json["openapi"], "3.1.0");
        assert_eq!(
            parsed.paths.paths.len(),
            json["paths"].as_object().unwrap().len()
        );
    }

    #[test]
    fn router_calls_appear_in_route_table() {
        let table = table_routes();

        let registered = registered_routes();

        assert!(registered.len() >= 20, "parsed only {registered:?}");
        for (method, path) in registered {
            let nested = (method.clone(), format!("/api{path}"));
            let top_level = (method.clone(), path.clone());
            assert!(
                table.contains(&nested) || table.contains(&top_level),
                "router.rs registers {method} {path}, but its route table lacks it"
            );
        }
    }

    #[test]
    fn document_covers_route_table() {
        let document = document_json();

        let table = table_routes();

        assert!(table.len() >= 25, "parsed only {table:?}");
        for (method, path) in table {
            let operation = &document["paths"][&path][&method];
            assert!(
                operation.is_object(),
                "{method} {path} is in the route table but not in the OpenAPI document"
            );
        }
    }

    #[test]
    fn document_declares_bearer_scheme() {
        let document = document_json();

        let scheme = &document["components"]["securitySchemes"][BEARER_SCHEME];

        assert_eq!(scheme["type"], "http");
        assert_eq!(scheme["scheme"], "bearer");
        assert_eq!(scheme["bearerFormat"], "als_...");
        assert_eq!(
            document["security"][0][BEARER_SCHEME],
            serde_json::json!([])
        );
    }

    #[test]
    fn unauthenticated_routes_clear_security() {
        let document = document_json();

        for (method, path) in [
            ("get", "/api/health"),
            ("get", "/api/openapi.json"),
            ("get", "/metrics"),
            ("get", "/docs/authentication"),
        ] {
            let security = &document["paths"][path][method]["security"];
            assert_eq!(security, &serde_json::json!([{}]), "{method} {path}");
        }
    }

    #[test]
    fn error_responses_reference_error_body() {
        let document = document_json();

        let unauthorized = &document["paths"]["/api/events"]["post"]["responses"]["401"];

        assert_eq!(
            unauthorized["content"]["application/json"]["schema"]["$ref"],
            "#/components/schemas/ErrorBody"
        );
        assert!(document["components"]["schemas"]["FieldErrorBody"].is_object());
    }

    #[test]
    fn every_operation_lists_head_limits() {
        let document = document_json();

        let paths = document["paths"].as_object().unwrap();
        let mut operations = 0;
        for (path, item) in paths {
            for (method, operation) in item.as_object().unwrap() {
                operations += 1;
                for status in ["414", "431"] {
                    assert_eq!(
                        operation["responses"][status]["content"]["application/json"]["schema"]
                            ["$ref"],
                        "#/components/schemas/ErrorBody",
                        "{method} {path} lacks {status}"
                    );
                }
            }
        }
        assert!(operations >= 25, "found only {operations} operations");
    }
}
