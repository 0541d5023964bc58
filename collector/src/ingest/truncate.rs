//! The `_truncated` stub that replaces a payload over [`MAX_PAYLOAD_BYTES`].
//!
//! The stub is upstream's `{"type":"_truncated","data":{"_truncated":true,
//! "originalSize":N,"maxSize":10240,"preview":"..."}}`. Unlike upstream, `data` also has
//! `sha256`, the SHA-256 in hex of the payload's JSON text, and the stub keeps the
//! payload's cost fields at its top level, in the order of [`kept_keys`]: the cost and the
//! identity of the call first, then what the price is computed from, then the latency. A
//! kept field that would push the stub over the limit is left out, the fields after it are
//! still tried, and `data.droppedKeys` lists the fields left out.
//!
//! The cost columns are read from the payload before truncation, so a dropped field never
//! changes the stored cost. A stub that lacks a dropped price input cannot be priced again,
//! and [`dropped_price_inputs`] gives the reason to show instead.

use agentlens_core::canonical::{object_to_js_json, to_js_json};
use agentlens_core::event::{EventType, ValidEvent};
use agentlens_core::pricing::PriceTable;
use agentlens_core::validate::{PART_KEYS, TOKEN_KEYS};
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};

/// Largest payload stored as sent: 10 240 bytes of JavaScript JSON text, as in upstream.
pub const MAX_PAYLOAD_BYTES: usize = 10_240;

/// Length of the preview of a truncated payload, in UTF-16 code units as in upstream.
const PREVIEW_UTF16_UNITS: usize = 200;

/// Key of the `data` object of a stub that lists the kept fields left out.
const DROPPED_KEYS: &str = "droppedKeys";

/// The cost and the identity of the call and its tool, which a truncated payload of any
/// type keeps first.
const CALL_KEYS: &[&str] = &["costUsd", "model", "provider", "callId", "toolName"];

/// Payload keys that select tier or batch prices, then the `usage` object, which comes last
/// because an object is the price input most likely to be large.
const PRICE_CONTEXT_KEYS: &[&str] = &["serviceTier", "service_tier", "speed", "batch", "usage"];

/// Payload keys a truncated `llm_response` payload keeps last, so
/// `GET /api/analytics/llm` still reads its latency.
const KEPT_RESPONSE_KEYS: &[&str] = &["latencyMs"];

/// Returns the payload keys that a truncated payload of `event_type` keeps, most important
/// first.
fn kept_keys(event_type: EventType) -> Vec<&'static str> {
    let (counts, latency): (&[&[&str]], &[&str]) = match event_type {
        EventType::CostTracked => (&[TOKEN_KEYS, &PART_KEYS], &[]),
        EventType::LlmResponse => (&[], KEPT_RESPONSE_KEYS),
        _ => (&[], &[]),
    };
    let mut keys = CALL_KEYS.to_vec();
    keys.extend(counts.concat());
    keys.extend(PRICE_CONTEXT_KEYS);
    keys.extend(latency);
    keys
}

/// Returns true when the stored cost of a cost event depends on the payload key `key`.
fn is_price_input(key: &str) -> bool {
    let keys = [CALL_KEYS, TOKEN_KEYS, &PART_KEYS, PRICE_CONTEXT_KEYS];
    !matches!(key, "callId" | "toolName") && keys.iter().any(|group| group.contains(&key))
}

/// Replaces a payload over [`MAX_PAYLOAD_BYTES`] with the `_truncated` stub, and returns
/// the JSON text of the payload kept.
///
/// The stub keeps each field of [`kept_keys`] that fits, in that order, and lists the others
/// in `data.droppedKeys`. The cost columns come from the validated event either way.
pub(super) fn truncate_payload(event: &mut ValidEvent) -> String {
    let text = object_to_js_json(&event.payload);
    if text.len() <= MAX_PAYLOAD_BYTES {
        return text;
    }

    let mut stub = bare_stub(&text);
    let mut size = object_to_js_json(&stub).len();
    let keys = kept_keys(event.event_type);
    let mut kept_fields = Vec::new();
    let mut dropped = Vec::new();
    for key in &keys {
        let Some(value) = event.payload.get(*key) else {
            continue;
        };
        let entry = entry_size(key, value);
        if size + entry <= MAX_PAYLOAD_BYTES {
            size += entry;
            kept_fields.push((*key, entry));
        } else {
            dropped.push(*key);
        }
    }

    // The list of dropped keys needs room as well, which the last kept fields give up.
    while !dropped.is_empty() && size + dropped_list_size(&dropped) > MAX_PAYLOAD_BYTES {
        let Some((key, entry)) = kept_fields.pop() else {
            break;
        };
        size -= entry;
        dropped.push(key);
    }

    for (key, _) in &kept_fields {
        if let Some(value) = event.payload.remove(*key) {
            stub.insert((*key).to_owned(), value);
        }
    }
    if !dropped.is_empty() {
        let dropped: Vec<&str> = keys
            .into_iter()
            .filter(|key| dropped.contains(key))
            .collect();
        tracing::debug!(
            session.id = %event.session_id,
            dropped = ?dropped,
            "truncated payload left out kept fields",
        );
        if let Some(Value::Object(data)) = stub.get_mut("data") {
            data.insert(DROPPED_KEYS.to_owned(), json!(dropped));
        }
    }
    event.payload = stub;
    object_to_js_json(&event.payload)
}

/// Builds the stub without kept fields for a payload whose JSON text is `text`.
fn bare_stub(text: &str) -> Map<String, Value> {
    let mut preview = String::new();
    let mut units = 0;
    for character in text.chars() {
        units += character.len_utf16();
        if units > PREVIEW_UTF16_UNITS {
            break;
        }
        preview.push(character);
    }
    preview.push_str("...");

    let mut stub = Map::new();
    stub.insert("type".to_owned(), json!("_truncated"));
    stub.insert(
        "data".to_owned(),
        json!({
            "_truncated": true,
            "originalSize": text.len(),
            "maxSize": MAX_PAYLOAD_BYTES,
            "preview": preview,
            // Tells two payloads apart that share their size and preview, so that a
            // changed payload resent under a stored client id gets 409, not "duplicate".
            "sha256": hex::encode(Sha256::digest(text.as_bytes())),
        }),
    );
    stub
}

/// Returns the bytes that `,"key":value` adds to the JSON text of a non-empty object.
fn entry_size(key: &str, value: &Value) -> usize {
    1 + to_js_json(&Value::from(key)).len() + 1 + to_js_json(value).len()
}

/// Returns the bytes that the `droppedKeys` entry listing `dropped` adds to `data`.
fn dropped_list_size(dropped: &[&str]) -> usize {
    entry_size(DROPPED_KEYS, &json!(dropped))
}

/// Returns the reason a stored payload cannot be priced again, when it is a `_truncated`
/// stub whose `data.droppedKeys` names a price input that the stub lacks.
///
/// Validating such a stub again would price the call without that field, such as at
/// standard rates without its `serviceTier`, so repricing and `unpricedReason` use this
/// reason instead. A model that `prices` does not know stays unpriced whatever the stub
/// lost, so its reason comes first. Returns `None` for any other payload.
pub(crate) fn dropped_price_inputs(payload: &Value, prices: &PriceTable) -> Option<String> {
    if payload.get("type")?.as_str()? != "_truncated" {
        return None;
    }
    let data = payload.get("data")?;
    if data.get("_truncated")?.as_bool() != Some(true) {
        return None;
    }

    let missing: Vec<&str> = (data.get(DROPPED_KEYS)?.as_array()?.iter())
        .filter_map(Value::as_str)
        .filter(|key| is_price_input(key) && payload.get(*key).is_none())
        .collect();
    if missing.is_empty() {
        return None;
    }
    if let Some(model) = payload.get("model").and_then(Value::as_str) {
        let provider = payload.get("provider").and_then(Value::as_str);
        if let Err(reason) = prices.find_model(provider, model) {
            return Some(reason);
        }
    }
    Some(format!(
        "the payload was truncated without {}, which the price depends on",
        missing.join(", ")
    ))
}

#[cfg(test)]
mod tests {
    use agentlens_core::event::Severity;

    use super::*;

    fn event_of(event_type: EventType, payload: Value) -> ValidEvent {
        ValidEvent {
            client_id: None,
            session_id: "s1".to_owned(),
            agent_id: "a1".to_owned(),
            event_type,
            severity: Severity::Info,
            payload: payload.as_object().unwrap().clone(),
            metadata: Map::new(),
            timestamp: None,
            cost: None,
        }
    }

    fn custom(payload: Value) -> ValidEvent {
        event_of(EventType::Custom, payload)
    }

    fn dropped_keys(event: &ValidEvent) -> Vec<&str> {
        let list = event.payload["data"].get(DROPPED_KEYS);
        let list = list.and_then(Value::as_array).map(Vec::as_slice);
        list.unwrap_or_default()
            .iter()
            .map(|key| key.as_str().unwrap())
            .collect()
    }

    #[test]
    fn preview_stops_before_split_surrogate_pair() {
        // `{"model":"` is 10 units, so 189 more ASCII units end at 199 and the emoji, two
        // UTF-16 units, would cross 200.
        let model = format!("{}😀{}", "a".repeat(189), "b".repeat(MAX_PAYLOAD_BYTES));
        let mut event = custom(json!({ "model": model }));
        let text = truncate_payload(&mut event);
        assert_eq!(text, object_to_js_json(&event.payload));

        let preview = event.payload["data"]["preview"].as_str().unwrap();
        assert_eq!(preview.encode_utf16().count(), 199 + 3);
        assert!(!preview.contains('😀'));
    }

    #[test]
    fn oversized_kept_field_is_dropped_alone() {
        let mut event = custom(json!({"callId": "c".repeat(MAX_PAYLOAD_BYTES), "costUsd": 1}));
        let text = truncate_payload(&mut event);
        assert_eq!(text, object_to_js_json(&event.payload));

        assert_eq!(event.payload["type"], "_truncated");
        assert!(event.payload.get("callId").is_none());
        assert_eq!(event.payload["costUsd"], 1);
        assert_eq!(dropped_keys(&event), ["callId"]);
    }

    #[test]
    fn oversized_service_tier_keeps_call_and_tokens() {
        let mut event = event_of(
            EventType::CostTracked,
            json!({"provider": "openai", "model": "gpt-4o", "inputTokens": 300,
                "outputTokens": 20, "serviceTier": "t".repeat(20_000)}),
        );

        let text = truncate_payload(&mut event);

        assert!(text.len() <= MAX_PAYLOAD_BYTES, "{} bytes", text.len());
        assert_eq!(text, object_to_js_json(&event.payload));
        assert_eq!(event.payload["type"], "_truncated");
        assert_eq!(event.payload["model"], "gpt-4o");
        assert_eq!(event.payload["provider"], "openai");
        assert_eq!(event.payload["inputTokens"], 300);
        assert_eq!(event.payload["outputTokens"], 20);
        assert!(event.payload.get("serviceTier").is_none());
        assert_eq!(dropped_keys(&event), ["serviceTier"]);
    }

    #[test]
    fn call_identity_wins_over_later_fields() {
        let mut event = event_of(
            EventType::LlmResponse,
            json!({"usage": {"raw": "u".repeat(6_000)}, "model": "m".repeat(6_000),
                "latencyMs": 5}),
        );

        let text = truncate_payload(&mut event);

        assert!(text.len() <= MAX_PAYLOAD_BYTES, "{} bytes", text.len());
        assert_eq!(event.payload["model"], "m".repeat(6_000));
        assert_eq!(event.payload["latencyMs"], 5);
        assert_eq!(dropped_keys(&event), ["usage"]);
    }

    #[test]
    fn dropped_list_displaces_last_kept_field() {
        let mut kept_model = false;
        let mut dropped_model = false;
        // Somewhere in this range the model just fits without the list of dropped keys
        // and no longer fits with it.
        for length in MAX_PAYLOAD_BYTES - 700..MAX_PAYLOAD_BYTES - 200 {
            let mut event = custom(json!({"model": "m".repeat(length),
                "serviceTier": "t".repeat(20_000)}));

            let text = truncate_payload(&mut event);

            assert!(
                text.len() <= MAX_PAYLOAD_BYTES,
                "{length}: {} bytes",
                text.len()
            );
            let dropped = dropped_keys(&event);
            assert!(dropped.contains(&"serviceTier"), "{length}: {dropped:?}");
            if event.payload.contains_key("model") {
                kept_model = true;
                assert_eq!(dropped, ["serviceTier"], "{length}");
            } else {
                dropped_model = true;
                assert_eq!(dropped, ["model", "serviceTier"], "{length}");
            }
        }
        assert!(kept_model);
        assert!(dropped_model);
    }

    #[test]
    fn unknown_provider_reason_wins_over_dropped_usage() {
        let mut event = event_of(
            EventType::CostTracked,
            json!({"provider": "mycorp", "model": "gpt-4o", "inputTokens": 300,
                "outputTokens": 20, "usage": {"padding": "u".repeat(20_000)}}),
        );
        truncate_payload(&mut event);
        assert_eq!(dropped_keys(&event), ["usage"]);

        let payload = Value::Object(event.payload);
        let reason = dropped_price_inputs(&payload, PriceTable::embedded()).unwrap_or_default();
        let expected = PriceTable::embedded()
            .find_model(Some("mycorp"), "gpt-4o")
            .err()
            .unwrap_or_default();
        assert!(!expected.is_empty());
        assert_eq!(reason, expected);
    }

    #[test]
    fn dropped_price_input_gives_reason() {
        let mut event = event_of(
            EventType::CostTracked,
            json!({"provider": "openai", "model": "gpt-4o", "inputTokens": 300,
                "outputTokens": 20, "serviceTier": "t".repeat(20_000)}),
        );
        truncate_payload(&mut event);

        let reason = dropped_price_inputs(&Value::Object(event.payload), PriceTable::embedded())
            .unwrap_or_default();

        assert!(reason.contains("without serviceTier"), "{reason:?}");
    }

    #[test]
    fn other_payloads_give_no_reason() {
        let mut only_call_id = custom(json!({"callId": "c".repeat(MAX_PAYLOAD_BYTES)}));
        truncate_payload(&mut only_call_id);
        let cases = [
            Value::Object(only_call_id.payload),
            json!({"type": "_truncated", "data": {"_truncated": true}}),
            json!({"type": "t", "data": {"_truncated": true, "droppedKeys": ["model"]}}),
            json!({"type": "_truncated", "data": {"_truncated": true,
                "droppedKeys": ["model"]}, "model": "m"}),
            json!({"type": "_truncated", "data": {"_truncated": true,
                "droppedKeys": ["notes"]}}),
        ];

        for payload in cases {
            assert_eq!(
                dropped_price_inputs(&payload, PriceTable::embedded()),
                None,
                "{payload}"
            );
        }
    }
}
