//! Extractors whose rejections are [`ApiError`]s, so every failure has a JSON body.

use agentlens_core::json::{from_slice_unique_keys, repeated_key_path};
use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Path, Request};
use axum::http::header::CONTENT_LENGTH;
use axum::http::request::Parts;
use axum::http::StatusCode;
use serde_json::Value;

use crate::error::{ApiError, MAX_BODY_BYTES};

mod query;

pub use query::{check_order, QueryParams, TimeRange};

/// A request body parsed as JSON, whatever its `Content-Type`.
///
/// Bodies over the router's limit become [`ApiError::PayloadTooLarge`]. Bodies that are
/// empty or not JSON, that repeat a key in an object, or that are `null`, `false`, `0` or
/// `""`, become [`ApiError::InvalidJson`].
#[derive(Debug)]
pub struct JsonBody(pub Value);

impl<S: Send + Sync> FromRequest<S> for JsonBody {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let BodyBytes(bytes) = BodyBytes::from_request(request, state).await?;
        JsonBody::from_bytes(&bytes)
    }
}

impl JsonBody {
    /// Parses a request body with the rules of the [`JsonBody`] extractor.
    ///
    /// # Errors
    ///
    /// Returns [`ApiError::InvalidJson`] for a body that is empty or not JSON, that repeats
    /// a key in an object, or that is `null`, `false`, `0` or `""`.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, ApiError> {
        if bytes.trim_ascii().is_empty() {
            return Err(ApiError::InvalidJson(
                "the body is empty; send a JSON object".to_owned(),
            ));
        }
        let value = from_slice_unique_keys(bytes).map_err(|error| {
            // serde_json's message names what it expected, or the repeated key, and the
            // line and column. A data error here can only be a repeated key.
            if error.is_data() {
                let message =
                    format!("{error}: send each key of an object once, so that one value counts");
                match repeated_key_path(bytes) {
                    Some(path) => ApiError::RepeatedKey { path, message },
                    None => ApiError::InvalidJson(message),
                }
            } else {
                ApiError::InvalidJson(format!("the body is not valid JSON: {error}"))
            }
        })?;
        let falsy = match &value {
            Value::Null | Value::Bool(false) => true,
            Value::Number(number) => number.as_f64() == Some(0.0),
            Value::String(text) => text.is_empty(),
            _ => false,
        };
        if falsy {
            return Err(ApiError::InvalidJson(format!(
                "expected a JSON object, got {value}"
            )));
        }
        Ok(JsonBody(value))
    }
}

/// A request body as sent, for a handler that parses it itself.
///
/// Bodies over [`MAX_BODY_BYTES`], the limit of the `/api` routes, become
/// [`ApiError::PayloadTooLarge`]. When `Content-Length` declares such a size, that happens
/// before any of the body is read. A body that stalls for
/// [`crate::error::BODY_READ_TIMEOUT`] becomes [`ApiError::BodyTimeout`], and a body that
/// cannot be read becomes [`ApiError::InvalidJson`] naming the cause.
#[derive(Debug)]
pub struct BodyBytes(pub Bytes);

impl<S: Send + Sync> FromRequest<S> for BodyBytes {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        // Reading the body would make hyper send `100 Continue`, and the client would
        // upload a body that is rejected anyway. So a declared length over the limit is
        // rejected first.
        if declared_length(&request).is_some_and(|length| length > MAX_BODY_BYTES as u64) {
            return Err(ApiError::PayloadTooLarge);
        }
        let bytes = Bytes::from_request(request, state)
            .await
            .map_err(|rejection| {
                if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                    ApiError::PayloadTooLarge
                } else if timed_out(&rejection) {
                    ApiError::BodyTimeout
                } else {
                    ApiError::InvalidJson(format!(
                        "the body could not be read: {}; send the whole body again",
                        rejection.body_text()
                    ))
                }
            })?;
        Ok(BodyBytes(bytes))
    }
}

/// Returns the request's `Content-Length`, when it has one valid value.
fn declared_length(request: &Request) -> Option<u64> {
    let value = request.headers().get(CONTENT_LENGTH)?;
    value.to_str().ok()?.parse().ok()
}

/// Returns true when `error` or one of its sources is the body read timeout.
fn timed_out(error: &(dyn std::error::Error + 'static)) -> bool {
    let mut current = Some(error);
    while let Some(error) = current {
        if error.is::<tower_http::timeout::TimeoutError>() {
            return true;
        }
        current = error.source();
    }
    false
}

/// The `{id}` segment of a route, percent-decoded.
///
/// A segment that does not decode to UTF-8 gets the API's JSON 400 body instead of axum's
/// plain-text rejection.
#[derive(Debug, Clone)]
pub struct PathId(pub String);

impl<S: Send + Sync> FromRequestParts<S> for PathId {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let Path(id) = Path::<String>::from_request_parts(parts, state)
            .await
            .map_err(|rejection| {
                ApiError::BadRequest(format!(
                    "invalid id in the path: {}; percent-encode the id as UTF-8",
                    rejection.body_text()
                ))
            })?;
        Ok(PathId(id))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invalid_json_names_line_and_column() {
        let error = JsonBody::from_bytes(b"{\"events\": [1,\n 2,,]}").unwrap_err();

        let ApiError::InvalidJson(reason) = error else {
            panic!("expected InvalidJson, got {error:?}");
        };
        assert!(reason.contains("expected value"), "{reason}");
        assert!(reason.contains("line 2 column 4"), "{reason}");
    }

    #[test]
    fn empty_body_is_called_empty() {
        for body in [&b""[..], b"  \n"] {
            let error = JsonBody::from_bytes(body).unwrap_err();

            assert!(error.to_string().contains("the body is empty"), "{error}");
        }
    }

    #[test]
    fn falsy_json_names_value_sent() {
        for (body, shown) in [
            (&b"null"[..], "got null"),
            (b"0", "got 0"),
            (b"\"\"", "got \"\""),
        ] {
            let error = JsonBody::from_bytes(body).unwrap_err();

            assert!(error.to_string().contains(shown), "{error}");
        }
    }
}
