//! Usage of a streamed response, read from its decoded events.
//!
//! Streams spread usage over their events in provider-specific ways:
//!
//! - Anthropic sends the prompt counts in `message_start.message.usage` and the final counts
//!   in `message_delta.usage`; fields of the delta replace those of the start, because its
//!   `output_tokens` is cumulative and it may repeat or complete the input counts.
//! - The OpenAI Responses API sends the whole usage in `response.completed`
//!   (`response.usage`), as do `response.incomplete` and `response.failed`.
//! - OpenAI Chat Completions chunks, Gemini `usageMetadata` and Bedrock Converse
//!   `metadata.usage` carry running or final totals, so the last one wins.

use serde_json::{Map, Value};

use super::{extract, Usage, UsageError};

/// Reads the usage of a streamed response from its events, in the order they arrived.
///
/// Each event is one decoded JSON payload: the `data:` line of a server-sent event, or one
/// line of a Bedrock or Gemini chunk stream. The merged usage object is read by [`extract`]
/// with `provider`.
///
/// # Errors
///
/// Returns [`UsageError::MissingField`] when no event carries usage, and the errors of
/// [`extract`] for the merged object.
pub fn extract_stream<'a>(
    provider: &str,
    events: impl IntoIterator<Item = &'a Value>,
) -> Result<Usage, UsageError> {
    let usage = merged_usage(events).ok_or_else(|| UsageError::MissingField {
        field: "usage in any stream event".into(),
    })?;
    extract(provider, &usage)
}

/// Returns the usage object of a stream, merged as described in the module documentation.
pub fn merged_usage<'a>(events: impl IntoIterator<Item = &'a Value>) -> Option<Value> {
    let mut merged: Option<Map<String, Value>> = None;
    for event in events {
        let Some((usage, replaces)) = event_usage(event) else {
            continue;
        };
        match (&mut merged, replaces) {
            (Some(current), false) => {
                for (key, value) in usage {
                    if !value.is_null() {
                        current.insert(key.clone(), value.clone());
                    }
                }
            }
            _ => merged = Some(usage.clone()),
        }
    }
    merged.map(Value::Object)
}

/// Returns the usage object of one event and whether it replaces the usage seen so far
/// (`false` for an Anthropic `message_delta`, whose fields are merged in).
fn event_usage(event: &Value) -> Option<(&Map<String, Value>, bool)> {
    fn object(value: Option<&Value>) -> Option<&Map<String, Value>> {
        value.and_then(Value::as_object)
    }

    let kind = event
        .get("type")
        .and_then(Value::as_str)
        .unwrap_or_default();
    match kind {
        "message_start" => object(event.pointer("/message/usage")).map(|usage| (usage, true)),
        "message_delta" => object(event.get("usage")).map(|usage| (usage, false)),
        "response.completed" | "response.incomplete" | "response.failed" => {
            object(event.pointer("/response/usage")).map(|usage| (usage, true))
        }
        _ => object(event.get("usage"))
            .or_else(|| object(event.get("usageMetadata")))
            .or_else(|| object(event.pointer("/metadata/usage")))
            .map(|usage| (usage, true)),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn anthropic_delta_completes_start() {
        let events = [
            json!({"type": "message_start", "message": {"usage": {
                "input_tokens": 6, "cache_creation_input_tokens": 3337,
                "cache_read_input_tokens": 6289, "output_tokens": 1}}}),
            json!({"type": "message_delta", "usage": {"output_tokens": 198}}),
        ];
        let usage = extract_stream("anthropic", &events).unwrap();

        assert_eq!(usage.input_tokens, 6 + 3337 + 6289);
        assert_eq!(usage.cache_write_5m_tokens, 3337);
        assert_eq!(usage.output_tokens, 198);
    }

    #[test]
    fn responses_completed_event_carries_usage() {
        let events = [
            json!({"type": "response.created", "response": {"usage": null}}),
            json!({"type": "response.completed", "response": {"usage": {
                "input_tokens": 7112, "input_tokens_details": {"cached_tokens": 3072},
                "output_tokens": 463, "output_tokens_details": {"reasoning_tokens": 64}}}}),
        ];
        let usage = extract_stream("openai", &events).unwrap();

        assert_eq!(usage.input_tokens, 7112);
        assert_eq!(usage.cache_read_tokens, 3072);
        assert_eq!(usage.reasoning_tokens, 64);
    }

    #[test]
    fn stream_without_usage_is_an_error() {
        let events = [json!({"type": "ping"})];
        assert!(extract_stream("openai", &events).is_err());
    }
}
