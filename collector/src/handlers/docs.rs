//! `GET /docs/authentication`, the page that the `docs` field of a 401 names.

use axum::http::header;
use axum::response::IntoResponse;

/// The page text, kept next to the crate as Markdown.
const AUTHENTICATION: &str = include_str!("../../docs/authentication.md");

/// Returns how to send, get and scope an API key, as Markdown.
#[utoipa::path(
    get,
    path = "/docs/authentication",
    operation_id = "getAuthenticationDocs",
    tag = "meta",
    security(()),
    responses(
        (
            status = 200,
            description = "How to send, get and scope an API key, and the 401, 403 and 429 \
                           bodies",
            content_type = "text/markdown",
            body = String,
        ),
    ),
)]
pub async fn authentication() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/markdown; charset=utf-8")],
        AUTHENTICATION,
    )
}
