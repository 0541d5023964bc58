//! The creation time of a model response, which picks the dated price in force.

use chrono::{DateTime, Utc};
use serde_json::Value;

use crate::validate::FieldError;

/// Latest creation time accepted, in Unix seconds: 9999-12-31T23:59:59Z. A time in
/// milliseconds of any day after 11 January 1978 is above it, so that mistake is caught.
pub const MAX_CREATED_SECONDS: f64 = 253_402_300_799.0;

/// Reads the creation time of a response from `created` (OpenAI Chat Completions) or
/// `created_at` (OpenAI Responses API), in Unix seconds.
///
/// Returns `None` when neither key contains a number above 0, which is the case for Anthropic
/// and Gemini responses.
///
/// # Errors
///
/// Returns the key and a message naming the unit when the number is above
/// [`MAX_CREATED_SECONDS`], such as a time in milliseconds.
pub fn response_created(response: &Value) -> Result<Option<DateTime<Utc>>, FieldError> {
    for key in ["created", "created_at"] {
        let Some(seconds) = response.get(key).and_then(Value::as_f64) else {
            continue;
        };
        if let Some(created) = created_from_seconds(key, seconds)? {
            return Ok(Some(created));
        }
    }
    Ok(None)
}

/// Converts a creation time in Unix seconds; 0 and below mean that it is unknown.
///
/// # Errors
///
/// Returns a [`FieldError`] at `field` when `seconds` is not finite or is above
/// [`MAX_CREATED_SECONDS`].
pub fn created_from_seconds(
    field: &str,
    seconds: f64,
) -> Result<Option<DateTime<Utc>>, FieldError> {
    if seconds.is_finite() && seconds <= 0.0 {
        return Ok(None);
    }
    let invalid = || FieldError {
        path: field.to_owned(),
        message: format!(
            "invalid {field} {seconds}: expected Unix seconds from 1 to \
             {MAX_CREATED_SECONDS} (year 9999); divide a time in milliseconds by 1000"
        ),
    };
    if !seconds.is_finite() || seconds > MAX_CREATED_SECONDS {
        return Err(invalid());
    }

    let whole = seconds.trunc();
    let nanos = ((seconds - whole) * 1e9).round().min(999_999_999.0);
    DateTime::from_timestamp(whole as i64, nanos as u32)
        .map(Some)
        .ok_or_else(invalid)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn seconds_give_the_creation_time() {
        let response = json!({ "created": 1770764902 });

        let created = response_created(&response).unwrap().unwrap();

        assert_eq!(created.to_rfc3339(), "2026-02-10T23:08:22+00:00");
    }

    #[test]
    fn milliseconds_are_rejected_naming_the_unit() {
        let response = json!({ "created_at": 1770764902000u64 });

        let error = response_created(&response).unwrap_err();

        assert_eq!(error.path, "created_at");
        assert!(error.message.contains("Unix seconds"), "{}", error.message);
    }

    #[test]
    fn zero_and_missing_mean_unknown() {
        assert_eq!(response_created(&json!({ "created": 0 })).unwrap(), None);
        assert_eq!(response_created(&json!({ "id": "x" })).unwrap(), None);
        assert!(created_from_seconds("created", f64::INFINITY).is_err());
        assert!(created_from_seconds("created", f64::NAN).is_err());
    }
}
