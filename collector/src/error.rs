//! The application error: one enum whose variants map to HTTP statuses and JSON bodies.
//!
//! Bodies follow upstream AgentLens: `{"error": "...", "status": n}` plus `details`,
//! `hint` or other fields where upstream has them. A storage failure becomes a plain
//! 500 `Internal server error`. Its cause travels in a response extension to
//! [`log_failures`], which logs it with the request method and path. The cause is never
//! sent to the client.

use std::sync::Arc;

use agentlens_core::validate::{shorten_error_text, FieldError};
use axum::extract::Request;
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};

use crate::auth::Role;
use crate::request_head::{MAX_HEADER_BYTES, MAX_HEADER_FIELDS, MAX_URI_BYTES};
use crate::store::client_ids::ReusedClientId;
use crate::store::{StorageFault, StoreError};

/// Largest accepted request body: 1 MiB.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

/// Maximum wait for the next part of a request body before the request fails with 408.
pub const BODY_READ_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

/// Hint sent with every 401.
const AUTH_HINT: &str = "Provide an API key via 'Authorization: Bearer als_...' header";

/// `docs` of the 401 for a missing credential: the path upstream AgentLens sends, where
/// [`crate::handlers::docs::authentication`] serves the page.
const AUTH_DOCS: &str = "/docs/authentication";

/// Hint sent with every 413.
const PAYLOAD_TOO_LARGE_HINT: &str = "the body may have at most 1 MiB (1048576 bytes): send \
    fewer events per request, or shorten large payloads";

/// Errors a request can end in.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The body cannot be read, is not JSON, or is a JSON `null`, `0`, `false` or `""`,
    /// with the reason: serde_json's message with line and column, or the value sent.
    #[error("invalid json body: {0}")]
    InvalidJson(String),
    /// The body repeats a key in one object. The error carries where, and the reason.
    #[error("invalid json body: {message}")]
    RepeatedKey {
        /// Dotted path of the repeated key, such as `events.3.payload.costUsd`.
        path: String,
        /// serde_json's message with line and column, and the fix.
        message: String,
    },
    /// The body breaks the schema; one detail per violation.
    #[error("validation failed with {} violation(s)", .0.len())]
    Validation(Vec<FieldError>),
    /// A query parameter is invalid; the message names it and the accepted values.
    #[error("{0}")]
    BadRequest(String),
    /// The body exceeds [`MAX_BODY_BYTES`].
    #[error("request body too large")]
    PayloadTooLarge,
    /// The request URI exceeds [`crate::request_head::MAX_URI_BYTES`].
    #[error("request uri too long: {bytes} bytes")]
    UriTooLong {
        /// Length of the path and query.
        bytes: usize,
    },
    /// The request headers exceed [`crate::request_head::MAX_HEADER_FIELDS`] fields or
    /// [`crate::request_head::MAX_HEADER_BYTES`] bytes.
    #[error("request headers too large: {fields} fields, {bytes} bytes")]
    HeadersTooLarge {
        /// Number of header fields.
        fields: usize,
        /// Size of the header fields, counted as `name: value\r\n`.
        bytes: usize,
    },
    /// No part of the body arrived for the body read timeout.
    #[error("request body timed out")]
    BodyTimeout,
    /// No bearer credential was sent.
    #[error("authentication required")]
    MissingCredential,
    /// The bearer credential is not an active key.
    #[error("invalid or revoked api key")]
    InvalidCredential,
    /// The key's role lacks the permission the route needs.
    #[error("insufficient permissions: {required:?} required, {current:?} held")]
    Forbidden {
        /// Minimum role that may use the route.
        required: Role,
        /// Role of the key.
        current: Role,
        /// Scopes of the key.
        scopes: Vec<String>,
    },
    /// The resource or route does not exist; the message is sent as is.
    #[error("{0}")]
    NotFound(&'static str),
    /// The request conflicts with the resource's state; the message is sent as is.
    #[error("{0}")]
    Conflict(&'static str),
    /// The client sent more requests than the rate limit allows in the current window.
    #[error("too many requests, retry after {retry_after_secs} s")]
    TooManyRequests {
        /// Whole seconds until the window ends, sent as `Retry-After`.
        retry_after_secs: u64,
        /// Second sentence of the hint: the count the limit applies to, and how this
        /// request can stay under it.
        advice: &'static str,
    },
    /// An event of the batch resends a stored client id with other content.
    #[error("client id reused: {0:?}")]
    ClientIdReused(ReusedClientId),
    /// Storage failed.
    #[error("storage failed: {0}")]
    Store(StoreError),
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> ApiError {
        match error {
            StoreError::ClientIdReused(reused) => ApiError::ClientIdReused(reused),
            other => ApiError::Store(other),
        }
    }
}

/// Returns `text` cut to [`agentlens_core::validate::MAX_ERROR_TEXT_BYTES`], so that a reply never repeats a huge
/// value that the request sent, such as a 900 KB query parameter or webhook host.
fn cut(text: &str) -> String {
    shorten_error_text(text.to_owned())
}

/// Cause of a 500, attached to the response for [`log_failures`].
#[derive(Debug, Clone)]
struct InternalCause(Arc<String>);

impl ApiError {
    fn status(&self) -> StatusCode {
        match self {
            ApiError::InvalidJson(_)
            | ApiError::RepeatedKey { .. }
            | ApiError::Validation(_)
            | ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::UriTooLong { .. } => StatusCode::URI_TOO_LONG,
            ApiError::HeadersTooLarge { .. } => StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            ApiError::BodyTimeout => StatusCode::REQUEST_TIMEOUT,
            ApiError::MissingCredential | ApiError::InvalidCredential => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden { .. } => StatusCode::FORBIDDEN,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::Conflict(_) | ApiError::ClientIdReused(_) => StatusCode::CONFLICT,
            ApiError::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Store(error) => match error.storage_fault() {
                Some(StorageFault::Full) => StatusCode::INSUFFICIENT_STORAGE,
                Some(StorageFault::ReadOnly) => StatusCode::SERVICE_UNAVAILABLE,
                Some(StorageFault::Corrupt) | None => StatusCode::INTERNAL_SERVER_ERROR,
            },
        }
    }

    fn body(&self, status: u16) -> Value {
        match self {
            // The details have the shape of validation details, with the empty path that
            // stands for the whole body.
            ApiError::InvalidJson(reason) => json!({
                "error": "Invalid JSON body",
                "status": status,
                "details": [{"path": "", "message": cut(reason)}],
            }),
            ApiError::RepeatedKey { path, message } => json!({
                "error": "Invalid JSON body",
                "status": status,
                "details": [{"path": cut(path), "message": cut(message)}],
            }),
            ApiError::Validation(details) => {
                let details: Vec<Value> = details
                    .iter()
                    .map(|detail| json!({"path": cut(&detail.path), "message": cut(&detail.message)}))
                    .collect();
                json!({"error": "Validation failed", "status": status, "details": details})
            }
            ApiError::BadRequest(message) => json!({"error": cut(message), "status": status}),
            ApiError::PayloadTooLarge => json!({
                "error": "Request body too large",
                "status": status,
                "maxSize": "1MiB",
                "maxBytes": MAX_BODY_BYTES,
                "hint": PAYLOAD_TOO_LARGE_HINT,
            }),
            ApiError::UriTooLong { bytes } => json!({
                "error": "URI too long",
                "status": status,
                "maxBytes": MAX_URI_BYTES,
                "hint": format!(
                    "the path and query may have at most {MAX_URI_BYTES} bytes, and this \
                     request has {bytes}: shorten the query parameters"
                ),
            }),
            ApiError::HeadersTooLarge { fields, bytes } => json!({
                "error": "Request header fields too large",
                "status": status,
                "maxFields": MAX_HEADER_FIELDS,
                "maxBytes": MAX_HEADER_BYTES,
                "hint": format!(
                    "the headers may have at most {MAX_HEADER_FIELDS} fields and \
                     {MAX_HEADER_BYTES} bytes, and this request has {fields} fields and \
                     {bytes} bytes: send fewer or shorter headers"
                ),
            }),
            ApiError::BodyTimeout => json!({
                "error": "Request body timed out",
                "status": status,
                "hint": format!(
                    "no part of the body arrived for {} s; send the whole body at once, \
                     and retry",
                    BODY_READ_TIMEOUT.as_secs()
                ),
            }),
            ApiError::MissingCredential => json!({
                "error": "Authentication required",
                "hint": AUTH_HINT,
                "docs": AUTH_DOCS,
                "status": status,
            }),
            ApiError::InvalidCredential => {
                json!({"error": "Invalid or revoked API key", "hint": AUTH_HINT, "status": status})
            }
            // `required` and `current` are upstream's role names; `requiredScope` and
            // `scopes` are the key scopes that this collector's keys carry.
            ApiError::Forbidden {
                required,
                current,
                scopes,
            } => json!({
                "error": "Insufficient permissions",
                "hint": crate::auth::forbidden_hint(*required, scopes),
                "required": required,
                "current": current,
                "requiredScope": required.scope(),
                "scopes": scopes,
                "status": status,
            }),
            ApiError::NotFound(message) | ApiError::Conflict(message) => {
                json!({"error": message, "status": status})
            }
            ApiError::ClientIdReused(reused) => json!({
                "error": "Event id already used",
                "status": status,
                "details": [{
                    "path": format!("events.{}.id", reused.index),
                    "message": format!(
                        "id {:?} is already used by an event with a different {}; give each \
                         new event a new id",
                        reused.client_id, reused.field
                    ),
                }],
                "hint": "nothing of this batch was stored; send it again with a new id for this \
                    event, or with the stored event unchanged",
            }),
            ApiError::TooManyRequests {
                retry_after_secs,
                advice,
            } => json!({
                "error": "Too Many Requests",
                "status": status,
                "retryAfter": retry_after_secs,
                "hint": format!(
                    "retry after {retry_after_secs} s (the Retry-After header). {advice}"
                ),
            }),
            ApiError::Store(error) => match error.storage_fault() {
                Some(fault) => {
                    let (message, fix) = storage_fault_text(fault);
                    json!({
                        "error": message,
                        "status": status,
                        "hint": format!("The collector stored nothing of this request. {fix}"),
                    })
                }
                None => json!({"error": "Internal server error", "status": status}),
            },
        }
    }
}

/// Returns the error message of a storage fault and what the operator does about it.
fn storage_fault_text(fault: StorageFault) -> (&'static str, &'static str) {
    match fault {
        StorageFault::Full => (
            "Database disk is full",
            "Free space on the disk that holds the database file and its -wal file, then \
             send the request again.",
        ),
        StorageFault::ReadOnly => (
            "Database is read-only",
            "Make the database file, its -wal and -shm files and their directory writable \
             by the collector, then send the request again.",
        ),
        StorageFault::Corrupt => (
            "Database file is corrupt",
            "Stop the collector, check the file with `sqlite3 FILE 'PRAGMA integrity_check'` \
             and restore it from a backup.",
        ),
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        let mut response = (status, Json(self.body(status.as_u16()))).into_response();
        match &self {
            ApiError::Store(error) => {
                response
                    .extensions_mut()
                    .insert(InternalCause(Arc::new(error.to_string())));
            }
            ApiError::TooManyRequests {
                retry_after_secs, ..
            } => {
                response
                    .headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from(*retry_after_secs));
            }
            _ => {}
        }
        response
    }
}

/// Logs the cause of every 500 response produced by an [`ApiError`].
pub async fn log_failures(request: Request, next: Next) -> Response {
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let response = next.run(request).await;
    if let Some(InternalCause(cause)) = response.extensions().get::<InternalCause>() {
        tracing::error!(http.method = %method, http.path = %path, error = %cause, "request failed");
    }
    response
}

/// Gives a 405 from the router a JSON body that lists the methods the path allows, read
/// from the `Allow` header that axum sets.
pub async fn describe_method_not_allowed(response: Response) -> Response {
    if response.status() != StatusCode::METHOD_NOT_ALLOWED {
        return response;
    }

    let allowed: Vec<String> = response
        .headers()
        .get(header::ALLOW)
        .and_then(|value| value.to_str().ok())
        .map(|text| {
            text.split(',')
                .map(str::trim)
                .filter(|method| !method.is_empty())
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default();
    let body = json!({
        "error": "Method not allowed",
        "status": StatusCode::METHOD_NOT_ALLOWED.as_u16(),
        "allowed": allowed,
        "hint": format!("this path accepts {}", allowed.join(", ")),
    });

    // The router's headers, `Allow` among them, stay. Only the body and its type change.
    let (mut parts, _) = response.into_parts();
    let (json_parts, json_body) = Json(body).into_response().into_parts();
    parts.headers.remove(header::CONTENT_LENGTH);
    if let Some(content_type) = json_parts.headers.get(header::CONTENT_TYPE) {
        parts
            .headers
            .insert(header::CONTENT_TYPE, content_type.clone());
    }
    Response::from_parts(parts, json_body)
}

/// Returns the 404 for an unknown `/api` path.
pub async fn route_not_found() -> ApiError {
    ApiError::NotFound("Not found")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store_error(code: i32) -> ApiError {
        ApiError::Store(StoreError::Sqlite(rusqlite::Error::SqliteFailure(
            rusqlite::ffi::Error::new(code),
            None,
        )))
    }

    #[test]
    fn storage_faults_name_cause_and_fix() {
        let cases = [
            (
                rusqlite::ffi::SQLITE_FULL,
                507,
                "Database disk is full",
                "Free space",
            ),
            (
                rusqlite::ffi::SQLITE_READONLY,
                503,
                "Database is read-only",
                "writable",
            ),
            (
                rusqlite::ffi::SQLITE_CORRUPT,
                500,
                "Database file is corrupt",
                "backup",
            ),
        ];
        for (code, status, message, fix) in cases {
            let error = store_error(code);

            let status_code = error.status();
            let body = error.body(status_code.as_u16());

            assert_eq!(status_code.as_u16(), status, "{message}");
            assert_eq!(body["error"], message);
            let hint = body["hint"].as_str().unwrap();
            assert!(hint.starts_with("The collector stored nothing"), "{hint}");
            assert!(hint.contains(fix), "{hint}");
        }
    }

    #[test]
    fn other_store_error_stays_internal() {
        let error = store_error(rusqlite::ffi::SQLITE_BUSY);

        let status = error.status();
        let body = error.body(status.as_u16());

        assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(
            body,
            json!({"error": "Internal server error", "status": 500})
        );
    }
}
