//! JSON-RPC 2.0 errors for `POST /mcp` bodies that are not one JSON-RPC message.
//!
//! rmcp 3.11 rejects such a body with `415 Unsupported Media Type` and a plain-text
//! reason. The MCP streamable HTTP transport (revision 2025-11-25) requires an HTTP error
//! status such as 400 Bad Request when the server cannot accept the input, with a JSON-RPC
//! error response without an id as the body. [`check_message`] reads the body before rmcp
//! and answers 400 with `"id": null` and one of these codes:
//!
//! - `-32700` (parse error) for a body that is not JSON;
//! - `-32600` (invalid request) for JSON that is not one JSON-RPC 2.0 request,
//!   notification or response, such as an array, a wrong `jsonrpc` version, or a missing
//!   `method`;
//! - `-32602` (invalid params) for `params` that is not an object, as MCP uses named
//!   parameters only. This error, and rmcp's parse errors, carry the request's id when
//!   its envelope is valid.
//!
//! A `method` over [`MAX_METHOD_BYTES`] gets `-32601` (method not found) with the
//! message's id and does not reach rmcp, because rmcp 3.11 logs whole notifications at
//! INFO and whole requests at DEBUG. Error messages quote client text cut to
//! [`agentlens_core::validate::MAX_ERROR_TEXT_BYTES`].
//!
//! A notification (a valid envelope with a `method` and no `id`) gets no JSON-RPC reply,
//! because JSON-RPC 2.0 forbids replying to one. When such a message fails the later checks
//! (method length, `params`, rmcp's parser), or repeats a key, the server logs a warning
//! (at most one per second), drops it and returns `202 Accepted` with an empty body. rmcp returns the same status for every notification
//! that it accepts, including one whose method it does not know.
//!
//! A body over [`MAX_MESSAGE_BYTES`] gets 413 with `-32600`. Everything else, including
//! bodies that are not labelled `application/json`, goes to rmcp unchanged.

use agentlens_core::json::from_slice_unique_keys;
use agentlens_core::validate::shorten_error_text;
use axum::body::Body;
use axum::extract::Request;
use axum::http::{header, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Json;
use rmcp::model::ClientJsonRpcMessage;
use serde_json::{json, Map, Value};

use crate::log_limit::LogLimit;

/// Largest MCP request body read, as rmcp 3.11's default limit.
pub const MAX_MESSAGE_BYTES: usize = 4 * 1024 * 1024;

/// Maximum length of a `method` passed on to rmcp, in bytes. The longest method that rmcp
/// 3.11 defines, `notifications/subscriptions/acknowledged`, has 40 bytes, so 256 leaves
/// room for vendor methods. A longer method is rejected before rmcp logs it.
pub const MAX_METHOD_BYTES: usize = 256;

/// JSON-RPC 2.0 code of a body that is not JSON.
const PARSE_ERROR: i64 = -32700;
/// JSON-RPC 2.0 code of JSON that is not a valid request object.
pub(super) const INVALID_REQUEST: i64 = -32600;
/// JSON-RPC 2.0 code of a method that the server does not have.
const METHOD_NOT_FOUND: i64 = -32601;
/// JSON-RPC 2.0 code of invalid method parameters.
const INVALID_PARAMS: i64 = -32602;

/// JSON-RPC error reply to input that is not passed on to rmcp.
#[derive(Debug)]
pub(super) struct Rejection {
    /// JSON-RPC 2.0 error code.
    pub code: i64,
    /// Error message, cut to [`agentlens_core::validate::MAX_ERROR_TEXT_BYTES`].
    pub message: String,
    /// Id of the rejected request, or `null` for a notification or an unreadable message.
    pub id: Value,
    /// Whether the rejected message is a notification, which gets no reply.
    pub is_notification: bool,
}

impl Rejection {
    /// Creates a rejection without an id, cutting `message` short when it quotes a long
    /// value.
    pub(super) fn new(code: i64, message: String) -> Rejection {
        Rejection {
            code,
            message: shorten_error_text(message),
            id: Value::Null,
            is_notification: false,
        }
    }

    /// Logs the rejection of a notification at WARN, in place of a reply. At most one such
    /// line per second is written, with the number left out before it.
    pub(super) fn log_dropped_notification(&self) {
        static LIMIT: LogLimit = LogLimit::new();
        if let Some(left_out) = LIMIT.admit() {
            tracing::warn!(
                jsonrpc.code = self.code,
                error = %self.message,
                left_out,
                "dropped an invalid mcp notification without a reply"
            );
        }
    }

    /// Returns the JSON-RPC error response.
    pub(super) fn to_body(&self) -> Value {
        json!({
            "jsonrpc": "2.0",
            "id": self.id,
            "error": {"code": self.code, "message": self.message},
        })
    }
}

/// Passes a JSON `POST` body on to rmcp when it is one JSON-RPC message, and returns a
/// JSON-RPC error response otherwise.
pub async fn check_message(request: Request, next: Next) -> Response {
    if request.method() != Method::POST || !is_json(&request) {
        return next.run(request).await;
    }

    let (parts, body) = request.into_parts();
    let bytes = match axum::body::to_bytes(body, MAX_MESSAGE_BYTES).await {
        Ok(bytes) => bytes,
        Err(_) => {
            let message = format!(
                "invalid request: the body exceeds the limit of {MAX_MESSAGE_BYTES} bytes; \
                 send a smaller message"
            );
            let rejection = Rejection::new(INVALID_REQUEST, message);
            return error_response(StatusCode::PAYLOAD_TOO_LARGE, &rejection);
        }
    };
    if let Err(rejection) = validate(&bytes) {
        if rejection.is_notification {
            rejection.log_dropped_notification();
            return StatusCode::ACCEPTED.into_response();
        }
        return error_response(StatusCode::BAD_REQUEST, &rejection);
    }
    next.run(Request::from_parts(parts, Body::from(bytes)))
        .await
}

/// Returns true when the `Content-Type` is `application/json`, the only type rmcp parses.
fn is_json(request: &Request) -> bool {
    let Some(value) = request.headers().get(header::CONTENT_TYPE) else {
        return false;
    };
    let value = value.to_str().unwrap_or("");
    let essence = value.split(';').next().unwrap_or("").trim();
    essence.eq_ignore_ascii_case("application/json")
}

/// Checks that `bytes` is one JSON-RPC 2.0 message that rmcp can parse; returns the error
/// reply otherwise.
pub(super) fn validate(bytes: &[u8]) -> Result<(), Rejection> {
    // A repeated key would let the parser pick one of two values, such as two costs.
    let value: Value = from_slice_unique_keys(bytes).map_err(|error| {
        if error.is_data() {
            let message = format!("invalid request: {error}; send each key of an object once");
            let mut rejection = Rejection::new(INVALID_REQUEST, message);
            rejection.is_notification = is_notification_with_repeated_key(bytes);
            return rejection;
        }
        let message = format!("parse error: the body is not valid JSON ({error})");
        Rejection::new(PARSE_ERROR, message)
    })?;
    let Some(object) = value.as_object() else {
        let message = "invalid request: the body must be one JSON-RPC 2.0 object; \
                       batches and other JSON values are not accepted";
        return Err(Rejection::new(INVALID_REQUEST, message.to_owned()));
    };
    check_envelope(object).map_err(|problem| {
        Rejection::new(INVALID_REQUEST, format!("invalid request: {problem}"))
    })?;

    // From here on the envelope is valid, so a message with a method and no id is a
    // notification, whose rejection gets no reply, and a request's id can be read.
    let is_notification = object.contains_key("method") && !object.contains_key("id");
    check_message_content(object, bytes).map_err(|mut rejection| {
        rejection.is_notification = is_notification;
        rejection.id = object.get("id").cloned().unwrap_or(Value::Null);
        rejection
    })
}

/// Returns whether a body with a repeated key is a notification: an object with a string
/// `method` and no `id`, read with the last of each repeated key. Such a message gets no
/// reply either.
fn is_notification_with_repeated_key(bytes: &[u8]) -> bool {
    let Ok(Value::Object(object)) = serde_json::from_slice::<Value>(bytes) else {
        return false;
    };
    object.get("method").is_some_and(Value::is_string) && !object.contains_key("id")
}

/// Checks the method length and `params` of a message with a valid envelope, and then
/// whether rmcp parses it.
fn check_message_content(object: &Map<String, Value>, bytes: &[u8]) -> Result<(), Rejection> {
    check_method_length(object)?;
    if object
        .get("params")
        .is_some_and(|params| !params.is_object())
    {
        let message = "invalid params: MCP \"params\" must be an object";
        return Err(Rejection::new(INVALID_PARAMS, message.to_owned()));
    }

    // The checks above cover what JSON-RPC requires; rmcp may still reject a detail,
    // such as an "error" object without an integer "code".
    if let Err(error) = serde_json::from_slice::<ClientJsonRpcMessage>(bytes) {
        let message = format!("invalid request: {error}");
        return Err(Rejection::new(INVALID_REQUEST, message));
    }
    Ok(())
}

/// Rejects a `method` over [`MAX_METHOD_BYTES`] with `-32601` and the message's id. Runs
/// after [`check_envelope`], so the id is a string, an integer or absent.
fn check_method_length(object: &Map<String, Value>) -> Result<(), Rejection> {
    let Some(method) = object.get("method").and_then(Value::as_str) else {
        return Ok(());
    };
    if method.len() <= MAX_METHOD_BYTES {
        return Ok(());
    }

    let message = format!(
        "method not found: the method has {} bytes, over the limit of {MAX_METHOD_BYTES}; \
         send an MCP method such as tools/call",
        method.len()
    );
    let mut rejection = Rejection::new(METHOD_NOT_FOUND, message);
    rejection.id = object.get("id").cloned().unwrap_or(Value::Null);
    Err(rejection)
}

/// Checks the members that JSON-RPC 2.0 requires of a request, notification or response;
/// returns what is wrong otherwise.
fn check_envelope(object: &Map<String, Value>) -> Result<(), &'static str> {
    if object.get("jsonrpc").and_then(Value::as_str) != Some("2.0") {
        return Err("\"jsonrpc\" must be the string \"2.0\"");
    }
    let id = object.get("id");
    if id.is_some_and(|id| !(id.is_string() || id.is_i64() || id.is_u64())) {
        return Err("\"id\" must be a string or an integer");
    }
    match object.get("method") {
        Some(Value::String(_)) => Ok(()),
        Some(_) => Err("\"method\" must be a string"),
        None if id.is_some() && object.contains_key("result") != object.contains_key("error") => {
            Ok(())
        }
        None => Err(
            "a request needs \"method\", and a response needs \"id\" and either \
                     \"result\" or \"error\"",
        ),
    }
}

/// Builds the HTTP response that carries a JSON-RPC error.
fn error_response(status: StatusCode, rejection: &Rejection) -> Response {
    (status, Json(rejection.to_body())).into_response()
}

#[cfg(test)]
mod tests {
    use agentlens_core::validate::MAX_ERROR_TEXT_BYTES;

    use super::*;

    fn code_of(body: &str) -> Option<i64> {
        validate(body.as_bytes())
            .err()
            .map(|rejection| rejection.code)
    }

    #[test]
    fn text_is_a_parse_error() {
        assert_eq!(code_of("hello"), Some(PARSE_ERROR));
        assert_eq!(code_of("{\"jsonrpc\": \"2.0\","), Some(PARSE_ERROR));
    }

    #[test]
    fn non_message_json_is_invalid_request() {
        let cases = [
            "[]",
            "42",
            r#"{"id": 1, "method": "ping"}"#,
            r#"{"jsonrpc": "1.0", "id": 1, "method": "ping"}"#,
            r#"{"jsonrpc": "2.0", "id": 1}"#,
            r#"{"jsonrpc": "2.0", "id": 1, "method": 7}"#,
            r#"{"jsonrpc": "2.0", "id": [1], "method": "ping"}"#,
            r#"{"jsonrpc": "2.0", "id": 1.5, "method": "ping"}"#,
        ];
        for body in cases {
            assert_eq!(code_of(body), Some(INVALID_REQUEST), "{body}");
        }
    }

    #[test]
    fn repeated_key_is_invalid_request_naming_it() {
        let body = r#"{"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params":
            {"name": "agentlens_log_event", "arguments": {"payload":
            {"costUsd": 1, "costUsd": 2}}}}"#;

        let rejection = validate(body.as_bytes()).unwrap_err();

        assert_eq!(rejection.code, INVALID_REQUEST);
        let message = rejection.message;
        assert!(message.contains("duplicate key \"costUsd\""), "{message}");
    }

    #[test]
    fn long_method_is_rejected_with_its_id() {
        let method = "m".repeat(2_000_000);
        let body = json!({"jsonrpc": "2.0", "id": 9, "method": method}).to_string();

        let rejection = validate(body.as_bytes()).unwrap_err();

        assert_eq!(rejection.code, METHOD_NOT_FOUND);
        assert_eq!(rejection.id, 9);
        assert!(rejection.message.len() < 300, "{}", rejection.message);
        assert!(
            rejection.message.contains("2000000 bytes"),
            "{}",
            rejection.message
        );
    }

    #[test]
    fn long_notification_method_is_marked() {
        let method = "m".repeat(MAX_METHOD_BYTES + 1);
        let body = json!({"jsonrpc": "2.0", "method": method}).to_string();

        let rejection = validate(body.as_bytes()).unwrap_err();

        assert_eq!(rejection.code, METHOD_NOT_FOUND);
        assert_eq!(rejection.id, Value::Null);
        assert!(rejection.is_notification);
    }

    #[test]
    fn array_params_notification_is_marked() {
        let body = r#"{"jsonrpc": "2.0", "method": "notifications/cancelled", "params": [1]}"#;

        let rejection = validate(body.as_bytes()).unwrap_err();

        assert_eq!(rejection.code, INVALID_PARAMS);
        assert!(rejection.is_notification);
    }

    #[test]
    fn array_params_request_keeps_its_id() {
        let body = r#"{"jsonrpc": "2.0", "id": 8, "method": "tools/list", "params": [1]}"#;

        let rejection = validate(body.as_bytes()).unwrap_err();

        assert_eq!(rejection.code, INVALID_PARAMS);
        assert_eq!(rejection.id, json!(8));
        assert!(!rejection.is_notification);
    }

    #[test]
    fn repeated_key_notification_is_marked() {
        let body = r#"{"jsonrpc": "2.0", "method": "a", "method": "b"}"#;

        let rejection = validate(body.as_bytes()).unwrap_err();

        assert_eq!(rejection.code, INVALID_REQUEST);
        assert!(rejection.is_notification);
    }

    #[test]
    fn repeated_key_request_is_not_a_notification() {
        let body = r#"{"jsonrpc": "2.0", "id": 1, "method": "a", "method": "b"}"#;

        let rejection = validate(body.as_bytes()).unwrap_err();

        assert_eq!(rejection.code, INVALID_REQUEST);
        assert!(!rejection.is_notification);
        assert_eq!(rejection.id, Value::Null);
    }

    #[test]
    fn requests_and_bad_envelopes_are_not_notifications() {
        let long = "m".repeat(MAX_METHOD_BYTES + 1);
        let cases = [
            json!({"jsonrpc": "2.0", "id": 1, "method": long}).to_string(),
            json!({"jsonrpc": "2.0", "id": 1, "method": "ping", "params": [1]}).to_string(),
            json!({"jsonrpc": "1.0", "method": "notifications/initialized"}).to_string(),
            json!({"jsonrpc": "2.0", "method": 7}).to_string(),
            "not json".to_owned(),
        ];
        for body in cases {
            let rejection = validate(body.as_bytes()).unwrap_err();
            assert!(!rejection.is_notification, "{body}");
        }
    }

    #[test]
    fn method_at_the_limit_passes() {
        let method = "m".repeat(MAX_METHOD_BYTES);
        let body = json!({"jsonrpc": "2.0", "id": 1, "method": method}).to_string();

        assert_eq!(code_of(&body), None);
    }

    #[test]
    fn long_repeated_key_is_cut_in_message() {
        let key = "k".repeat(100_000);
        let body = format!(
            r#"{{"jsonrpc": "2.0", "id": 1, "method": "ping", "params": {{"{key}": 1, "{key}": 2}}}}"#
        );

        let rejection = validate(body.as_bytes()).unwrap_err();

        assert_eq!(rejection.code, INVALID_REQUEST);
        assert!(
            rejection.message.len() <= MAX_ERROR_TEXT_BYTES,
            "{} bytes",
            rejection.message.len()
        );
        assert!(
            rejection
                .message
                .starts_with("invalid request: duplicate key"),
            "{}",
            rejection.message
        );
    }

    #[test]
    fn array_params_are_invalid_params() {
        let body = r#"{"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": [1]}"#;
        assert_eq!(code_of(body), Some(INVALID_PARAMS));
    }

    #[test]
    fn malformed_error_response_is_an_invalid_request() {
        let body = r#"{"jsonrpc": "2.0", "id": 1, "error": {"reason": "x"}}"#;
        assert_eq!(code_of(body), Some(INVALID_REQUEST));
    }

    #[test]
    fn messages_pass() {
        let cases = [
            r#"{"jsonrpc": "2.0", "id": 1, "method": "tools/list"}"#,
            r#"{"jsonrpc": "2.0", "id": "a", "method": "ping"}"#,
            r#"{"jsonrpc": "2.0", "method": "notifications/initialized"}"#,
            r#"{"jsonrpc": "2.0", "id": 3, "method": "vendor/unknown"}"#,
        ];
        for body in cases {
            assert_eq!(code_of(body), None, "{body}");
        }
    }
}
