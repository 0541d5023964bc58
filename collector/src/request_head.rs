//! Limits on the request URI and headers, enforced with the JSON error body.
//!
//! hyper 1.13 (`proto/h1/role.rs`) responds with a status and an empty body to a request
//! head that it rejects while parsing, and has no hook to add a body. It sends 414 for a URI
//! over 65534 bytes, 431 for more header fields than its limit or a head larger than its
//! read buffer (about 400 KiB), and 400 for a malformed head, such as two different
//! `Content-Length` values.
//!
//! [`check_request_head`] rejects URIs and headers well below those limits with the JSON
//! body of [`ApiError`], so only a head far over the limits, or a malformed one, gets
//! hyper's empty response.

use axum::extract::Request;
use axum::http::HeaderMap;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::error::ApiError;

/// Largest accepted request URI (path and query), in bytes.
pub const MAX_URI_BYTES: usize = 8 * 1024;

/// Largest accepted number of header fields, hyper's own default limit.
pub const MAX_HEADER_FIELDS: usize = 100;

/// Largest accepted size of the header fields, in bytes, counted as `name: value\r\n`.
pub const MAX_HEADER_BYTES: usize = 32 * 1024;

/// Header fields that hyper parses before it responds with an empty 431. It is above
/// [`MAX_HEADER_FIELDS`], so [`check_request_head`] receives the request and rejects it first.
pub const PARSER_MAX_HEADERS: usize = 4 * MAX_HEADER_FIELDS;

/// Rejects a request whose URI exceeds [`MAX_URI_BYTES`] with 414, and one whose headers
/// exceed [`MAX_HEADER_FIELDS`] or [`MAX_HEADER_BYTES`] with 431.
pub async fn check_request_head(request: Request, next: Next) -> Response {
    let uri_bytes = uri_length(&request);
    if uri_bytes > MAX_URI_BYTES {
        return ApiError::UriTooLong { bytes: uri_bytes }.into_response();
    }

    let fields = request.headers().len();
    let header_bytes = header_length(request.headers());
    if fields > MAX_HEADER_FIELDS || header_bytes > MAX_HEADER_BYTES {
        return ApiError::HeadersTooLarge {
            fields,
            bytes: header_bytes,
        }
        .into_response();
    }

    next.run(request).await
}

/// Returns the length of the request target: the path and query, plus the authority of a
/// target in absolute form.
fn uri_length(request: &Request) -> usize {
    let uri = request.uri();
    let authority = uri
        .authority()
        .map_or(0, |authority| authority.as_str().len());
    let path_and_query = uri.path_and_query().map_or(0, |path| path.as_str().len());
    authority + path_and_query
}

/// Returns the size of the header fields as sent: `name: value\r\n` for each field.
fn header_length(headers: &HeaderMap) -> usize {
    headers
        .iter()
        .map(|(name, value)| name.as_str().len() + value.len() + 4)
        .sum()
}
