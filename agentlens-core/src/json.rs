//! JSON parsing that rejects an object with the same key twice.
//!
//! RFC 8259 leaves the meaning of a repeated key to the parser, and `serde_json` keeps the
//! last value. A payload with two `costUsd` keys would then count whichever value the
//! parser happened to keep, so AgentLens rejects such a document instead. Both the fast
//! ingest path ([`crate::validate::validate_batch_bytes`]) and the collector's request
//! body parser read JSON through this module, so they accept the same documents.

use std::collections::HashSet;
use std::fmt;

use serde::de::{self, Deserialize, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::map::Entry;
use serde_json::{Map, Number, Value};

/// Start of the error message for a repeated key, followed by the key in quotes.
pub const DUPLICATE_KEY_MESSAGE: &str = "duplicate key";

/// Keys an object has room for before its first key is read. A `cost_tracked` payload
/// usually has 6 to 8.
const OBJECT_CAPACITY: usize = 8;

/// A JSON value whose objects, at every depth, have distinct keys.
#[derive(Debug, Clone, PartialEq)]
pub struct UniqueKeys(pub Value);

/// Parses `bytes` as one JSON value, rejecting a repeated key in any object.
///
/// # Errors
///
/// Returns the `serde_json` error for text that is not JSON, and a data error
/// (`error.is_data()`) whose message starts with [`DUPLICATE_KEY_MESSAGE`] and names the
/// key for an object that repeats a key.
pub fn from_slice_unique_keys(bytes: &[u8]) -> serde_json::Result<Value> {
    serde_json::from_slice::<UniqueKeys>(bytes).map(|UniqueKeys(value)| value)
}

/// Returns the path of the first repeated key in the JSON text `bytes`, written as
/// [`push_key`] and [`push_index`] write it (`events.3.payload.costUsd`,
/// `events.0.payload["a.b"]`), or `None` when no object repeats a key or the text is not
/// JSON.
///
/// It parses the text again, so call it only after [`from_slice_unique_keys`] reported a
/// repeated key.
pub fn repeated_key_path(bytes: &[u8]) -> Option<String> {
    let mut path = String::new();
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let walked = PathSeed { path: &mut path }.deserialize(&mut deserializer);
    match walked {
        Err(error) if error.is_data() && error.to_string().starts_with(DUPLICATE_KEY_MESSAGE) => {
            Some(path)
        }
        _ => None,
    }
}

/// Appends the object key `key` to `path`, the path of a JSON value.
///
/// A key of ASCII letters, digits, `_` and `$` that does not start with a digit follows a
/// dot (`payload.costUsd`), as in a JavaScript property access. Any other key, such as
/// `a.b`, `0`, `a"b`, `modèle` or the empty key, is written in brackets as a JSON string
/// (`payload["a.b"]`, `payload[""]`), so that no key reads as two keys or as an array index.
pub fn push_key(path: &mut String, key: &str) {
    if is_plain_key(key) {
        if !path.is_empty() {
            path.push('.');
        }
        path.push_str(key);
    } else {
        path.push('[');
        path.push_str(&Value::from(key).to_string());
        path.push(']');
    }
}

/// Appends the array index `index` to `path`, the path of a JSON value, after a dot
/// (`events.3`).
pub fn push_index(path: &mut String, index: usize) {
    if !path.is_empty() {
        path.push('.');
    }
    path.push_str(&index.to_string());
}

/// Returns `prefix` followed by the object key `key`, written as [`push_key`] writes it.
pub fn key_path(prefix: &str, key: &str) -> String {
    let mut path = prefix.to_owned();
    push_key(&mut path, key);
    path
}

/// Returns true when `key` can follow a dot in a path without brackets.
fn is_plain_key(key: &str) -> bool {
    let mut bytes = key.bytes();
    let Some(first) = bytes.next() else {
        return false;
    };
    let word = |byte: u8| byte.is_ascii_alphanumeric() || byte == b'_' || byte == b'$';
    !first.is_ascii_digit() && word(first) && bytes.all(word)
}

/// Walks a JSON value and stops at the first repeated key, leaving `path` at that key.
struct PathSeed<'p> {
    path: &'p mut String,
}

impl<'de> DeserializeSeed<'de> for PathSeed<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for PathSeed<'_> {
    type Value = ();

    fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("any JSON value")
    }

    fn visit_bool<E>(self, _: bool) -> Result<(), E> {
        Ok(())
    }

    fn visit_i64<E>(self, _: i64) -> Result<(), E> {
        Ok(())
    }

    fn visit_u64<E>(self, _: u64) -> Result<(), E> {
        Ok(())
    }

    fn visit_f64<E>(self, _: f64) -> Result<(), E> {
        Ok(())
    }

    fn visit_str<E>(self, _: &str) -> Result<(), E> {
        Ok(())
    }

    fn visit_unit<E>(self) -> Result<(), E> {
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let parent = self.path.len();
        let mut index = 0usize;
        loop {
            push_index(self.path, index);
            let item = seq.next_element_seed(PathSeed {
                path: &mut *self.path,
            })?;
            self.path.truncate(parent);
            if item.is_none() {
                return Ok(());
            }
            index += 1;
        }
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let parent = self.path.len();
        let mut seen = HashSet::new();
        while let Some(key) = map.next_key::<String>()? {
            push_key(self.path, &key);
            if !seen.insert(key) {
                return Err(de::Error::custom(DUPLICATE_KEY_MESSAGE));
            }
            map.next_value_seed(PathSeed {
                path: &mut *self.path,
            })?;
            self.path.truncate(parent);
        }
        Ok(())
    }
}

impl<'de> Deserialize<'de> for UniqueKeys {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer
            .deserialize_any(UniqueKeysVisitor)
            .map(UniqueKeys)
    }
}

/// Builds a [`Value`] the way `serde_json` does, except that a repeated object key fails.
struct UniqueKeysVisitor;

impl<'de> Visitor<'de> for UniqueKeysVisitor {
    type Value = Value;

    fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("any JSON value")
    }

    fn visit_bool<E>(self, value: bool) -> Result<Value, E> {
        Ok(Value::Bool(value))
    }

    fn visit_i64<E>(self, value: i64) -> Result<Value, E> {
        Ok(Value::Number(value.into()))
    }

    fn visit_u64<E>(self, value: u64) -> Result<Value, E> {
        Ok(Value::Number(value.into()))
    }

    fn visit_f64<E>(self, value: f64) -> Result<Value, E> {
        // JSON text cannot spell NaN or an infinity, so the parser never passes one here.
        Ok(Number::from_f64(value).map_or(Value::Null, Value::Number))
    }

    fn visit_str<E>(self, value: &str) -> Result<Value, E> {
        Ok(Value::String(value.to_owned()))
    }

    fn visit_string<E>(self, value: String) -> Result<Value, E> {
        Ok(Value::String(value))
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        UniqueKeys::deserialize(deserializer).map(|UniqueKeys(value)| value)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0));
        while let Some(UniqueKeys(item)) = seq.next_element()? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        // A map that grows allocates again and copies every entry.
        let mut object = Map::with_capacity(OBJECT_CAPACITY);
        while let Some(key) = map.next_key::<String>()? {
            // One hash of the key both finds a repeat and places a new key.
            match object.entry(key) {
                Entry::Occupied(repeated) => {
                    // The key is written as a JSON string, as in the error's path.
                    return Err(de::Error::custom(format_args!(
                        "{DUPLICATE_KEY_MESSAGE} {}",
                        Value::from(repeated.key().as_str())
                    )));
                }
                Entry::Vacant(slot) => {
                    let UniqueKeys(value) = map.next_value()?;
                    slot.insert(value);
                }
            }
        }
        Ok(Value::Object(object))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeated_key_is_named() {
        let body = br#"{"payload": {"costUsd": 1, "model": "m", "costUsd": 2}}"#;

        let error = from_slice_unique_keys(body).unwrap_err();

        assert!(error.is_data(), "{error}");
        assert!(
            error.to_string().starts_with("duplicate key \"costUsd\""),
            "{error}"
        );
    }

    #[test]
    fn repeated_key_is_named_as_json_string() {
        let body = br#"{"p": {"\u001b\u200b": 1, "\u001b\u200b": 2}}"#;

        let error = from_slice_unique_keys(body).unwrap_err();

        let message = error.to_string();
        assert!(
            message.starts_with("duplicate key \"\\u001b\u{200b}\""),
            "{message}"
        );
        let path = repeated_key_path(body);
        assert_eq!(path.as_deref(), Some("p[\"\\u001b\u{200b}\"]"));
    }

    #[test]
    fn repeated_key_inside_array_is_rejected() {
        let body = br#"[{"a": 1}, {"b": 1, "b": 1}]"#;

        let error = from_slice_unique_keys(body).unwrap_err();

        assert!(error.to_string().contains("\"b\""), "{error}");
    }

    #[test]
    fn distinct_keys_parse_like_serde_json() {
        let body = br#"{"z": [1, -2, 3.5, 1e300, "t\u00e9", null, true], "a": {"n": 18446744073709551615}}"#;

        let parsed = from_slice_unique_keys(body).unwrap();

        let expected: Value = serde_json::from_slice(body).unwrap();
        assert_eq!(parsed, expected);
        let keys: Vec<&String> = parsed.as_object().unwrap().keys().collect();
        assert_eq!(keys, ["z", "a"], "source key order is kept");
    }

    #[test]
    fn repeated_key_path_names_each_level() {
        let body = br#"{"events": [{"payload": {}}, {"payload": {"a": [1, {"k": 1, "k": 2}]}}]}"#;

        assert_eq!(
            repeated_key_path(body).as_deref(),
            Some("events.1.payload.a.1.k")
        );
    }

    #[test]
    fn repeated_key_path_brackets_unusual_keys() {
        let cases: [(&[u8], &str); 9] = [
            (br#"{"p": {"a.b": 1, "a.b": 2}}"#, r#"p["a.b"]"#),
            (br#"{"p": {"a": {"b": 1, "b": 2}}}"#, "p.a.b"),
            (br#"{"p": {"": 1, "": 2}}"#, r#"p[""]"#),
            (br#"{"p": {"a\"b": 1, "a\"b": 2}}"#, r#"p["a\"b"]"#),
            (br#"{"p": {"a[0]": 1, "a[0]": 2}}"#, r#"p["a[0]"]"#),
            (br#"{"p": {"0": 1, "0": 2}}"#, r#"p["0"]"#),
            (
                "{\"p\": {\"modèle\": 1, \"modèle\": 2}}".as_bytes(),
                r#"p["modèle"]"#,
            ),
            (br#"{"a.b": {"k": 1, "k": 2}}"#, r#"["a.b"].k"#),
            (
                br#"{"p": {"\u0000\n": 1, "\u0000\n": 2}}"#,
                r#"p["\u0000\n"]"#,
            ),
        ];

        for (body, path) in cases {
            let text = String::from_utf8_lossy(body);
            assert_eq!(repeated_key_path(body).as_deref(), Some(path), "{text}");
        }
    }

    #[test]
    fn bracketed_key_parses_back_as_the_key() {
        for key in ["a.b", "", "a\"b", "a[0]", "0", "modèle", "tab\there", "a]b"] {
            let path = key_path("payload", key);

            let quoted = path
                .strip_prefix("payload[")
                .and_then(|rest| rest.strip_suffix(']'))
                .unwrap_or_else(|| panic!("{key:?} gave {path}"));
            let parsed: String = serde_json::from_str(quoted).unwrap();
            assert_eq!(parsed, key, "{path}");
        }
    }

    #[test]
    fn plain_keys_follow_a_dot() {
        for key in ["costUsd", "service_tier", "$ref", "_x", "a1"] {
            assert_eq!(key_path("payload", key), format!("payload.{key}"));
        }
        assert_eq!(key_path("", "costUsd"), "costUsd");
        assert_eq!(key_path("", "a.b"), r#"["a.b"]"#);
    }

    #[test]
    fn repeated_key_path_is_none_without_repeat() {
        assert_eq!(repeated_key_path(br#"{"a": {"b": [1, 2]}, "c": 3}"#), None);
        assert_eq!(repeated_key_path(b"not json"), None);
        assert_eq!(repeated_key_path(br#"{"a": 1"#), None);
        assert_eq!(repeated_key_path(br#"{"a": [1, "#), None);
    }

    #[test]
    fn same_key_in_sibling_objects_is_accepted() {
        let body = br#"{"a": {"k": 1}, "b": {"k": 2}}"#;

        assert!(from_slice_unique_keys(body).is_ok());
    }
}
