//! Field checks shared by the envelope, payload and cost validators.

use serde_json::{Map, Value};

/// Largest accepted token count: 2^53 - 1, the largest integer that JavaScript clients and
/// JSON parsers that read numbers as doubles represent exactly.
pub const MAX_TOKEN_COUNT: u64 = (1 << 53) - 1;

/// One violation: where it is and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct FieldError {
    /// Dotted path of the offending value, such as `events.3.payload.costUsd`.
    pub path: String,
    /// Description of the violation and of the expected value.
    pub message: String,
}

/// Collects violations under a path prefix.
#[derive(Debug)]
pub(crate) struct Errors<'a> {
    prefix: String,
    pub(crate) list: &'a mut Vec<FieldError>,
}

impl<'a> Errors<'a> {
    pub(crate) fn new(prefix: String, list: &'a mut Vec<FieldError>) -> Self {
        Errors { prefix, list }
    }

    pub(crate) fn push(&mut self, field: &str, message: impl Into<String>) {
        let path = if field.is_empty() {
            self.prefix.clone()
        } else {
            format!("{}.{field}", self.prefix)
        };
        self.list.push(FieldError {
            path: shorten(path),
            message: shorten(message.into()),
        });
    }

    /// Returns a collector for a nested object.
    pub(crate) fn nested(&mut self, field: &str) -> Errors<'_> {
        Errors {
            prefix: format!("{}.{field}", self.prefix),
            list: self.list,
        }
    }
}

/// Longest path or message of a [`FieldError`], in bytes. A message may quote the value
/// sent, and a reply should not repeat a 900 KB value back to its sender.
pub const MAX_ERROR_TEXT_BYTES: usize = 1_024;

/// Cuts `text` to at most [`MAX_ERROR_TEXT_BYTES`], at a character boundary, and appends how
/// long it was. A text already cut is short enough, so a second call changes nothing.
pub fn shorten(mut text: String) -> String {
    if text.len() <= MAX_ERROR_TEXT_BYTES {
        return text;
    }
    let note = format!("... (cut, {} bytes in all)", text.len());
    let mut end = MAX_ERROR_TEXT_BYTES - note.len();
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text.truncate(end);
    text.push_str(&note);
    text
}

/// Largest object that [`lookup`] scans instead of hashing the key.
const MAX_SCANNED_KEYS: usize = 16;

/// Returns the value of `key` in `object`.
///
/// Event objects carry a handful of keys, and comparing them in order costs less than
/// hashing the key with the map's SipHash, so a small object is scanned. A JSON object
/// parses into a map with unique keys, so both ways find the same value.
#[inline]
pub(crate) fn lookup<'v>(object: &'v Map<String, Value>, key: &str) -> Option<&'v Value> {
    if object.len() > MAX_SCANNED_KEYS {
        return object.get(key);
    }
    object
        .iter()
        .find_map(|(name, value)| (name == key).then_some(value))
}

/// Describes a JSON value for error messages: its type and, for scalars, the value.
pub(crate) fn describe(value: &Value) -> String {
    match value {
        Value::Null => "null".to_owned(),
        Value::Bool(flag) => format!("boolean {flag}"),
        Value::Number(number) => format!("number {number}"),
        Value::String(text) if text.len() > 40 => format!("a string of {} bytes", text.len()),
        Value::String(text) => format!("string {text:?}"),
        Value::Array(_) => "an array".to_owned(),
        Value::Object(_) => "an object".to_owned(),
    }
}

/// Reads a required string; `non_empty` also rejects "".
pub(crate) fn required_string<'v>(
    object: &'v Map<String, Value>,
    field: &str,
    non_empty: bool,
    errors: &mut Errors<'_>,
) -> Option<&'v str> {
    match lookup(object, field) {
        None | Some(Value::Null) => {
            errors.push(field, format!("{field} is required"));
            None
        }
        Some(Value::String(text)) if non_empty => match check_not_blank(field, text) {
            Ok(()) => Some(text),
            Err(message) => {
                errors.push(field, message);
                None
            }
        },
        Some(Value::String(text)) => Some(text),
        Some(other) => {
            errors.push(field, format!("expected a string, got {}", describe(other)));
            None
        }
    }
}

/// Checks that a required text has at least one non-blank character.
pub(crate) fn check_not_blank(field: &str, text: &str) -> Result<(), String> {
    if text.trim().is_empty() {
        return Err(format!("{field} must not be empty"));
    }
    Ok(())
}

/// Checks that a token count is at most [`MAX_TOKEN_COUNT`].
pub(crate) fn check_token_count(count: u64) -> Result<u64, String> {
    if count > MAX_TOKEN_COUNT {
        return Err(format!(
            "token count {count} is larger than the maximum of {MAX_TOKEN_COUNT}"
        ));
    }
    Ok(count)
}

/// Reads an optional string; a present non-string value is a violation.
pub(crate) fn optional_string<'v>(
    object: &'v Map<String, Value>,
    field: &str,
    errors: &mut Errors<'_>,
) -> Option<&'v str> {
    match lookup(object, field) {
        None | Some(Value::Null) => None,
        Some(Value::String(text)) => Some(text),
        Some(other) => {
            errors.push(field, format!("expected a string, got {}", describe(other)));
            None
        }
    }
}

/// Checks that a number is present (when `required`) and finite.
pub(crate) fn number(
    object: &Map<String, Value>,
    field: &str,
    required: bool,
    errors: &mut Errors<'_>,
) -> Option<f64> {
    match lookup(object, field) {
        None | Some(Value::Null) if required => {
            errors.push(field, format!("{field} is required"));
            None
        }
        None | Some(Value::Null) => None,
        Some(Value::Number(number)) => number.as_f64(),
        Some(other) => {
            errors.push(field, format!("expected a number, got {}", describe(other)));
            None
        }
    }
}

/// Reads a token count: a non-negative integer (`5.0` is accepted as 5).
pub(crate) fn token_count(
    object: &Map<String, Value>,
    field: &str,
    required: bool,
    errors: &mut Errors<'_>,
) -> Option<u64> {
    let value = match lookup(object, field) {
        None | Some(Value::Null) => {
            if required {
                errors.push(field, format!("{field} is required"));
            }
            return None;
        }
        Some(value) => value,
    };
    let count = match value {
        Value::Number(number) => number.as_u64().or_else(|| {
            number
                .as_f64()
                .filter(|float| *float >= 0.0 && float.fract() == 0.0 && *float < 9.0e15)
                .map(|float| float as u64)
        }),
        _ => None,
    };
    if let Some(Err(message)) = count.map(check_token_count) {
        errors.push(field, message);
        return None;
    }
    if count.is_none() {
        errors.push(
            field,
            format!(
                "expected a non-negative integer token count, got {}",
                describe(value)
            ),
        );
    }
    count
}

/// Checks that a field, when present, is a JSON object.
pub(crate) fn object_field<'v>(
    object: &'v Map<String, Value>,
    field: &str,
    required: bool,
    errors: &mut Errors<'_>,
) -> Option<&'v Map<String, Value>> {
    match lookup(object, field) {
        None if required => {
            errors.push(field, format!("{field} is required"));
            None
        }
        None => None,
        Some(Value::Object(inner)) => Some(inner),
        Some(other) => {
            errors.push(
                field,
                format!("expected an object, got {}", describe(other)),
            );
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shorten_cuts_at_char_boundary() {
        let text = "é".repeat(MAX_ERROR_TEXT_BYTES);

        let short = shorten(text);

        assert!(short.len() <= MAX_ERROR_TEXT_BYTES, "{} bytes", short.len());
        assert!(short.ends_with(&format!("(cut, {} bytes in all)", 2 * MAX_ERROR_TEXT_BYTES)));
        assert!(short.starts_with("éé"));
    }

    #[test]
    fn cut_text_is_not_cut_again() {
        let short = shorten("x".repeat(900_000));

        assert_eq!(shorten(short.clone()), short);
        assert!(short.ends_with("(cut, 900000 bytes in all)"), "{short}");
    }

    #[test]
    fn short_text_is_kept() {
        assert_eq!(shorten("abc".to_owned()), "abc");
    }
}
