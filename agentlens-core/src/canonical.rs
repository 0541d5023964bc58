//! JavaScript-compatible canonical JSON and the event hash chain.
//!
//! Upstream AgentLens hashes events with SHA-256 over the output of JavaScript's
//! `JSON.stringify`. To produce the same hashes, [`to_js_json`] follows the ECMAScript
//! rules rather than serde_json's:
//!
//! - object keys keep insertion order, except that keys which are canonical array indices
//!   (`"0"`, `"10"`, below 2^32 - 1) come first in ascending numeric order;
//! - numbers print as `Number.prototype.toString` does: shortest round-trip digits, no
//!   trailing `.0`, exponent form below 1e-6 and from 1e21 on (`1e-7`, `1e+21`);
//! - strings escape `"`, `\`, the short escapes `\b \f \n \r \t` and other control
//!   characters as lowercase `\u00xx`; everything else, non-ASCII included, is raw UTF-8.
//!
//! Integers beyond 2^53 print as JavaScript prints them after its parse rounded them to
//! the nearest double (`9007199254740993` becomes `9007199254740992`), so an upstream
//! verifier recomputes the same hash from the stored text.

use std::fmt::Write as _;

use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

/// Version of the hashed record layout, written as the `v` key.
pub const HASH_VERSION: u32 = 2;

/// Lowercase hexadecimal digits of the hash text.
const HEX_DIGITS: &[u8; 16] = b"0123456789abcdef";

/// The fields of a stored event that its hash covers.
#[derive(Debug, Clone, Copy)]
pub struct HashInput<'a> {
    /// Server-assigned event id.
    pub id: &'a str,
    /// Timestamp text exactly as stored.
    pub timestamp: &'a str,
    /// Session id.
    pub session_id: &'a str,
    /// Agent id.
    pub agent_id: &'a str,
    /// Event type wire name.
    pub event_type: &'a str,
    /// Severity wire name.
    pub severity: &'a str,
    /// Payload as stored.
    pub payload: &'a Map<String, Value>,
    /// Metadata as stored.
    pub metadata: &'a Map<String, Value>,
    /// Hash of the previous event of the session; `None` for the first one.
    pub prev_hash: Option<&'a str>,
}

/// The fields of a stored event that its hash covers, with the payload and metadata
/// already serialized by [`object_to_js_json`].
#[derive(Debug, Clone, Copy)]
pub struct HashText<'a> {
    /// Server-assigned event id.
    pub id: &'a str,
    /// Timestamp text exactly as stored.
    pub timestamp: &'a str,
    /// Session id.
    pub session_id: &'a str,
    /// Agent id.
    pub agent_id: &'a str,
    /// Event type wire name.
    pub event_type: &'a str,
    /// Severity wire name.
    pub severity: &'a str,
    /// Payload text as stored.
    pub payload_json: &'a str,
    /// Metadata text as stored.
    pub metadata_json: &'a str,
    /// Hash of the previous event of the session; `None` for the first one.
    pub prev_hash: Option<&'a str>,
}

/// Computes the lowercase hex SHA-256 hash of an event, chained to its predecessor.
pub fn event_hash(input: &HashInput<'_>) -> String {
    let payload_json = object_to_js_json(input.payload);
    let metadata_json = object_to_js_json(input.metadata);
    event_hash_of_text(&HashText {
        id: input.id,
        timestamp: input.timestamp,
        session_id: input.session_id,
        agent_id: input.agent_id,
        event_type: input.event_type,
        severity: input.severity,
        payload_json: &payload_json,
        metadata_json: &metadata_json,
        prev_hash: input.prev_hash,
    })
}

/// Computes the same hash as [`event_hash`] from payload and metadata text that
/// [`object_to_js_json`] produced, so a caller that stores the text serializes it once.
pub fn event_hash_of_text(input: &HashText<'_>) -> String {
    let mut text =
        String::with_capacity(192 + input.payload_json.len() + input.metadata_json.len());
    text.push_str("{\"v\":");
    let _ = write!(text, "{HASH_VERSION}");
    for (key, value) in [
        ("id", input.id),
        ("timestamp", input.timestamp),
        ("sessionId", input.session_id),
        ("agentId", input.agent_id),
        ("eventType", input.event_type),
        ("severity", input.severity),
    ] {
        write_key(&mut text, key);
        write_string(&mut text, value);
    }
    write_key(&mut text, "payload");
    text.push_str(input.payload_json);
    write_key(&mut text, "metadata");
    text.push_str(input.metadata_json);
    write_key(&mut text, "prevHash");
    match input.prev_hash {
        Some(hash) => write_string(&mut text, hash),
        None => text.push_str("null"),
    }
    text.push('}');

    // `hex::encode` collects an iterator of `char`s: about 2,200 instructions per hash under
    // callgrind, against about 750 for this loop.
    let mut hash = String::with_capacity(64);
    for byte in Sha256::digest(text.as_bytes()) {
        hash.push(char::from(HEX_DIGITS[usize::from(byte >> 4)]));
        hash.push(char::from(HEX_DIGITS[usize::from(byte & 0x0f)]));
    }
    hash
}

/// Serializes a value as JavaScript's `JSON.stringify` would.
pub fn to_js_json(value: &Value) -> String {
    let mut text = String::new();
    write_value(&mut text, value);
    text
}

/// Serializes an object as JavaScript's `JSON.stringify` would.
pub fn object_to_js_json(object: &Map<String, Value>) -> String {
    if object.is_empty() {
        return "{}".to_owned();
    }
    // A `cost_tracked` payload with the usual fields is under 256 bytes of text (about
    // 140 in the loadgen), so it is written without growing the string.
    let mut text = String::with_capacity(OBJECT_TEXT_CAPACITY);
    write_object(&mut text, object);
    text
}

/// Initial capacity of the text of a non-empty object, in bytes.
const OBJECT_TEXT_CAPACITY: usize = 256;

fn write_key(text: &mut String, key: &str) {
    text.push(',');
    write_string(text, key);
    text.push(':');
}

fn write_value(text: &mut String, value: &Value) {
    match value {
        Value::Null => text.push_str("null"),
        Value::Bool(flag) => text.push_str(if *flag { "true" } else { "false" }),
        Value::Number(number) => write_number(text, number),
        Value::String(string) => write_string(text, string),
        Value::Array(items) => {
            text.push('[');
            for (index, item) in items.iter().enumerate() {
                if index > 0 {
                    text.push(',');
                }
                write_value(text, item);
            }
            text.push(']');
        }
        Value::Object(object) => write_object(text, object),
    }
}

fn write_object(text: &mut String, object: &Map<String, Value>) {
    text.push('{');
    if object.keys().any(|key| array_index(key).is_some()) {
        // JavaScript enumerates array-index keys first, in numeric order.
        let mut index_keys: Vec<(u32, &String, &Value)> = object
            .iter()
            .filter_map(|(key, value)| array_index(key).map(|index| (index, key, value)))
            .collect();
        index_keys.sort_by_key(|(index, _, _)| *index);
        let other_keys = object.iter().filter(|(key, _)| array_index(key).is_none());
        let ordered = index_keys
            .into_iter()
            .map(|(_, key, value)| (key, value))
            .chain(other_keys);
        write_members(text, ordered);
    } else {
        write_members(text, object.iter());
    }
    text.push('}');
}

fn write_members<'v>(text: &mut String, members: impl Iterator<Item = (&'v String, &'v Value)>) {
    for (position, (key, value)) in members.enumerate() {
        if position > 0 {
            text.push(',');
        }
        write_string(text, key);
        text.push(':');
        write_value(text, value);
    }
}

/// Returns the index when `key` is a canonical array index: decimal digits without a
/// leading zero (except "0" itself) and below 2^32 - 1.
fn array_index(key: &str) -> Option<u32> {
    if !key.starts_with(|c: char| c.is_ascii_digit()) || (key.len() > 1 && key.starts_with('0')) {
        return None;
    }
    if !key.bytes().all(|byte| byte.is_ascii_digit()) {
        return None;
    }
    key.parse::<u32>().ok().filter(|index| *index < u32::MAX)
}

fn write_string(text: &mut String, value: &str) {
    text.push('"');
    // Most strings need no escape at all. The scan has no early exit, so the compiler can
    // vectorize it, and such a string is copied in one step.
    let has_escape = value.bytes().fold(false, |found, byte| {
        found | (byte < 0x20) | (byte == b'"') | (byte == b'\\')
    });
    if !has_escape {
        text.push_str(value);
        text.push('"');
        return;
    }

    // Runs of characters that need no escape are copied whole.
    let mut start = 0;
    for (position, byte) in value.bytes().enumerate() {
        let escape = match byte {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            0x08 => "\\b",
            0x0c => "\\f",
            b'\n' => "\\n",
            b'\r' => "\\r",
            b'\t' => "\\t",
            control if control < 0x20 => "",
            _ => continue,
        };
        text.push_str(&value[start..position]);
        if escape.is_empty() {
            let _ = write!(text, "\\u{byte:04x}");
        } else {
            text.push_str(escape);
        }
        start = position + 1;
    }
    text.push_str(&value[start..]);
    text.push('"');
}

/// Largest integer up to which a double represents every integer exactly, 2^53.
const EXACT_INTEGER_LIMIT: u64 = 1 << 53;

fn write_number(text: &mut String, number: &serde_json::Number) {
    if let Some(value) = number
        .as_i64()
        .filter(|v| v.unsigned_abs() <= EXACT_INTEGER_LIMIT)
    {
        text.push_str(itoa::Buffer::new().format(value));
    } else if let Some(value) = number.as_u64().filter(|v| *v <= EXACT_INTEGER_LIMIT) {
        text.push_str(itoa::Buffer::new().format(value));
    } else if let Some(value) = number.as_f64() {
        // Larger integers round to the nearest double, as `JSON.parse` rounds them.
        text.push_str(&js_number_text(value));
    }
}

/// Formats a finite `f64` as ECMAScript `Number::toString` does.
pub fn js_number_text(value: f64) -> String {
    if value == 0.0 {
        return "0".to_owned();
    }
    if !value.is_finite() {
        // JSON.stringify writes NaN and the infinities as null.
        return "null".to_owned();
    }

    // `{:e}` prints the shortest round-trip digits as d[.ddd]e<exp>.
    let scientific = format!("{:e}", value.abs());
    let (mantissa, exponent) = scientific
        .split_once('e')
        .expect("`{:e}` output always has an exponent");
    let digits: String = mantissa.chars().filter(|c| *c != '.').collect();
    let exponent: i32 = exponent.parse().expect("`{:e}` exponent is an integer");
    let digit_count = digits.len() as i32;
    // `point` is where the decimal point goes, counted in digits from the left.
    let point = exponent + 1;

    let mut text = String::new();
    if value < 0.0 {
        text.push('-');
    }
    if digit_count <= point && point <= 21 {
        text.push_str(&digits);
        text.extend(std::iter::repeat_n('0', (point - digit_count) as usize));
    } else if 0 < point && point <= 21 {
        text.push_str(&digits[..point as usize]);
        text.push('.');
        text.push_str(&digits[point as usize..]);
    } else if -6 < point && point <= 0 {
        text.push_str("0.");
        text.extend(std::iter::repeat_n('0', (-point) as usize));
        text.push_str(&digits);
    } else {
        text.push_str(&digits[..1]);
        if digit_count > 1 {
            text.push('.');
            text.push_str(&digits[1..]);
        }
        let sign = if point >= 1 { '+' } else { '-' };
        let _ = write!(text, "e{sign}{}", (point - 1).abs());
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn object(value: Value) -> Map<String, Value> {
        value.as_object().unwrap().clone()
    }

    #[test]
    fn hash_matches_upstream_vectors() {
        let payload0 = object(json!({
            "toolName": "web_search", "arguments": {"query": "test"}, "callId": "call_1"
        }));
        let empty = Map::new();
        let first = event_hash(&HashInput {
            id: "01HXY0001",
            timestamp: "2026-02-07T10:00:00Z",
            session_id: "sess_abc123",
            agent_id: "agent_main",
            event_type: "tool_call",
            severity: "info",
            payload: &payload0,
            metadata: &empty,
            prev_hash: None,
        });
        assert_eq!(
            first,
            "f2e34ac2a8a01923673480515db1516cf0410e6e9b51e19e1e54eae1ac27f416"
        );

        let payload1: Map<String, Value> = serde_json::from_str(
            r#"{"provider":"openai","model":"gpt-4o","inputTokens":1000,"outputTokens":500,"totalTokens":1500,"costUsd":0.0075}"#,
        )
        .unwrap();
        let second = event_hash(&HashInput {
            id: "01HXY0002",
            timestamp: "2026-02-07T10:00:01.000Z",
            session_id: "sess_abc123",
            agent_id: "agent_main",
            event_type: "cost_tracked",
            severity: "info",
            payload: &payload1,
            metadata: &empty,
            prev_hash: Some(&first),
        });
        assert_eq!(
            second,
            "4079b6107d4c4b3ee29137bab58905ba817c4bae3c6698f5112653aa590177b8"
        );
    }

    #[test]
    fn index_keys_come_first() {
        let value: Value = serde_json::from_str(r#"{"b":1,"10":2,"a":3,"2":4}"#).unwrap();
        assert_eq!(to_js_json(&value), r#"{"2":4,"10":2,"b":1,"a":3}"#);
    }

    #[test]
    fn numbers_print_like_javascript() {
        let cases = [
            (5.0, "5"),
            (0.0075, "0.0075"),
            (1e21, "1e+21"),
            (1e20, "100000000000000000000"),
            (1e-7, "1e-7"),
            (0.000001, "0.000001"),
            (-1.5, "-1.5"),
            (123.456, "123.456"),
            (1.2345e-10, "1.2345e-10"),
            (-0.0, "0"),
        ];
        for (value, expected) in cases {
            assert_eq!(js_number_text(value), expected, "formatting {value}");
        }
    }

    #[test]
    fn integers_beyond_two_pow_53_round_like_javascript() {
        let cases = [
            (json!(9_007_199_254_740_992_u64), "9007199254740992"),
            (json!(9_007_199_254_740_993_u64), "9007199254740992"),
            (json!(-9_007_199_254_740_993_i64), "-9007199254740992"),
            (json!(9_007_199_254_740_995_u64), "9007199254740996"),
            (json!(u64::MAX), "18446744073709552000"),
            (json!(i64::MIN), "-9223372036854776000"),
            (json!(-9_007_199_254_740_991_i64), "-9007199254740991"),
        ];
        for (value, expected) in cases {
            assert_eq!(to_js_json(&value), expected, "formatting {value}");
        }
    }

    #[test]
    fn parsed_numbers_round_like_json_parse() {
        // `JSON.stringify(JSON.parse(text))` in Node.js 20 gives the expected texts.
        let cases = [
            ("123456789012345680000", "123456789012345680000"),
            ("12345678901234567.0", "12345678901234568"),
            (
                "1234567890123456789012345678901234567890",
                "1.2345678901234568e+39",
            ),
            ("0.1000000000000000055511151231257827", "0.1"),
        ];
        for (text, expected) in cases {
            let value: Value = serde_json::from_str(text).unwrap();
            assert_eq!(to_js_json(&value), expected, "parsing {text}");
        }
    }

    #[test]
    fn hash_of_text_equals_hash_of_objects() {
        let payload = object(json!({"b": "x\ty", "1": [1.5, null], "a": {"0": true}}));
        let metadata = object(json!({"env": "prod"}));
        let input = HashInput {
            id: "01HXY0003",
            timestamp: "2026-02-07T10:00:02.000000Z",
            session_id: "s\"1",
            agent_id: "a1",
            event_type: "custom",
            severity: "warn",
            payload: &payload,
            metadata: &metadata,
            prev_hash: Some("abc"),
        };
        let payload_json = object_to_js_json(&payload);
        let metadata_json = object_to_js_json(&metadata);
        let text = HashText {
            id: input.id,
            timestamp: input.timestamp,
            session_id: input.session_id,
            agent_id: input.agent_id,
            event_type: input.event_type,
            severity: input.severity,
            payload_json: &payload_json,
            metadata_json: &metadata_json,
            prev_hash: input.prev_hash,
        };
        assert_eq!(event_hash_of_text(&text), event_hash(&input));
    }

    #[test]
    fn keys_with_leading_digits_keep_insertion_order() {
        let value: Value = serde_json::from_str(r#"{"b":1,"1a":2,"01":3,"7":4}"#).unwrap();
        assert_eq!(to_js_json(&value), r#"{"7":4,"b":1,"1a":2,"01":3}"#);
    }

    #[test]
    fn control_characters_between_runs_escape_in_place() {
        let value = json!("ab\u{1f}cd\u{7f}\u{0}é\"");
        assert_eq!(to_js_json(&value), "\"ab\\u001fcd\u{7f}\\u0000é\\\"\"");
    }

    #[test]
    fn strings_without_escapes_copy_unchanged() {
        let value = json!(["", "plain text", "é\u{7f}\u{2028}😀", "x\\", "\ty"]);
        assert_eq!(
            to_js_json(&value),
            "[\"\",\"plain text\",\"é\u{7f}\u{2028}😀\",\"x\\\\\",\"\\ty\"]"
        );
    }

    #[test]
    fn strings_escape_like_javascript() {
        let value = json!("a\"b\\c\n\u{01}é/\u{2028}");
        assert_eq!(to_js_json(&value), "\"a\\\"b\\\\c\\n\\u0001é/\u{2028}\"");
    }
}
