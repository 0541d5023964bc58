use serde_json::{json, Value};

use super::*;

fn cost_event(payload: Value) -> Value {
    json!({
        "sessionId": "s1",
        "agentId": "a1",
        "eventType": "cost_tracked",
        "payload": payload,
    })
}

fn paths(error: &BatchError) -> Vec<&str> {
    error
        .details
        .iter()
        .map(|detail| detail.path.as_str())
        .collect()
}

#[test]
fn valid_cost_event_yields_cost_facts() {
    let body = json!({"events": [cost_event(json!({
        "provider": "openai", "model": "gpt-4o", "inputTokens": 2006, "outputTokens": 300,
        "totalTokens": 2306, "cacheReadTokens": 1920, "costUsd": 0.005615, "extra": [1, 2]
    }))]});
    let events = validate_batch(&body).unwrap();
    let cost = events[0].cost.as_ref().unwrap();
    assert_eq!(cost.cost_usd.unwrap().to_string(), "0.005615");
    assert_eq!(cost.usage.uncached_input_tokens(), 86);
    assert_eq!(events[0].payload["extra"], json!([1, 2]));
    assert_eq!(events[0].severity, Severity::Info);
}

#[test]
fn missing_fields_are_each_reported() {
    let body = json!({"events": [{"eventType": "cost_tracked", "payload": {}}]});
    let error = validate_batch(&body).unwrap_err();
    let found = paths(&error);
    for expected in [
        "events.0.sessionId",
        "events.0.agentId",
        "events.0.payload.provider",
        "events.0.payload.model",
        "events.0.payload.inputTokens",
        "events.0.payload.outputTokens",
    ] {
        assert!(
            found.contains(&expected),
            "{expected} missing from {found:?}"
        );
    }
}

#[test]
fn negative_and_fractional_tokens_are_rejected() {
    let body = json!({"events": [cost_event(json!({
        "provider": "openai", "model": "gpt-4o", "inputTokens": -5, "outputTokens": 1.5
    }))]});
    let error = validate_batch(&body).unwrap_err();
    assert_eq!(
        paths(&error),
        [
            "events.0.payload.inputTokens",
            "events.0.payload.outputTokens"
        ]
    );
    assert!(error.details[0].message.contains("non-negative integer"));
}

#[test]
fn inconsistent_total_is_rejected() {
    let body = json!({"events": [cost_event(json!({
        "provider": "openai", "model": "gpt-4o", "inputTokens": 10, "outputTokens": 5,
        "totalTokens": 16
    }))]});
    let error = validate_batch(&body).unwrap_err();
    assert_eq!(paths(&error), ["events.0.payload.totalTokens"]);
}

#[test]
fn cache_larger_than_input_is_rejected() {
    let body = json!({"events": [cost_event(json!({
        "provider": "anthropic", "model": "claude-sonnet-4-5", "inputTokens": 3,
        "outputTokens": 5, "cacheWrite5mTokens": 12304
    }))]});
    let error = validate_batch(&body).unwrap_err();
    assert!(error.details[0]
        .message
        .contains("input tokens must include"));
}

#[test]
fn bad_costs_are_rejected() {
    for cost in [json!("NaN"), json!(-0.5), json!("1e999999"), json!(true)] {
        let body = json!({"events": [cost_event(json!({
            "provider": "openai", "model": "gpt-4o", "inputTokens": 1, "outputTokens": 1,
            "costUsd": cost
        }))]});
        let error = validate_batch(&body).unwrap_err();
        assert_eq!(paths(&error), ["events.0.payload.costUsd"], "cost {cost}");
    }
}

#[test]
fn missing_cost_is_left_for_pricing() {
    let body = json!({"events": [cost_event(json!({
        "provider": "openai", "model": "gpt-4o", "inputTokens": 1, "outputTokens": 1
    }))]});
    let events = validate_batch(&body).unwrap();
    assert_eq!(events[0].cost.as_ref().unwrap().cost_usd, None);
}

#[test]
fn batch_size_is_bounded() {
    let event = cost_event(json!({
        "provider": "openai", "model": "gpt-4o", "inputTokens": 1, "outputTokens": 1
    }));
    assert!(validate_batch(&json!({"events": []})).is_err());
    let too_many = json!({"events": vec![event.clone(); MAX_BATCH_EVENTS + 1]});
    assert_eq!(paths(&validate_batch(&too_many).unwrap_err()), ["events"]);
    let full = json!({"events": vec![event; MAX_BATCH_EVENTS]});
    assert_eq!(validate_batch(&full).unwrap().len(), MAX_BATCH_EVENTS);
}

#[test]
fn offset_timestamps_normalise_to_utc() {
    let mut event = cost_event(json!({
        "provider": "openai", "model": "gpt-4o", "inputTokens": 1, "outputTokens": 1
    }));
    event["timestamp"] = json!("2026-05-11T01:30:00+05:30");
    let events = validate_batch(&json!({"events": [event]})).unwrap();
    let stored = crate::event::format_timestamp(&events[0].timestamp.unwrap());
    assert_eq!(stored, "2026-05-10T20:00:00.000000Z");
}

#[test]
fn local_timestamp_without_zone_is_rejected() {
    let mut event = cost_event(json!({
        "provider": "openai", "model": "gpt-4o", "inputTokens": 1, "outputTokens": 1
    }));
    event["timestamp"] = json!("2026-05-11T01:30:00");
    let error = validate_batch(&json!({"events": [event]})).unwrap_err();
    assert_eq!(paths(&error), ["events.0.timestamp"]);
}

#[test]
fn server_only_and_unknown_types_are_rejected() {
    for name in ["error", "made_up"] {
        let body = json!({"events": [{
            "sessionId": "s", "agentId": "a", "eventType": name, "payload": {}
        }]});
        let error = validate_batch(&body).unwrap_err();
        assert_eq!(paths(&error), ["events.0.eventType"], "type {name}");
    }
}

#[test]
fn per_type_required_fields_are_checked() {
    let body = json!({"events": [
        {"sessionId": "s", "agentId": "a", "eventType": "session_ended",
         "payload": {"reason": "bored"}},
        {"sessionId": "s", "agentId": "a", "eventType": "tool_call",
         "payload": {"toolName": "search", "arguments": []}},
        {"sessionId": "s", "agentId": "a", "eventType": "llm_call",
         "payload": {"callId": "c", "provider": "p", "model": "m", "messages": [{"role": "bot"}]}},
    ]});
    let error = validate_batch(&body).unwrap_err();
    assert_eq!(
        paths(&error),
        [
            "events.0.payload.reason",
            "events.1.payload.callId",
            "events.1.payload.arguments",
            "events.2.payload.messages.0.role",
        ]
    );
}

#[test]
fn reserved_metadata_keys_are_stripped() {
    let mut event = cost_event(json!({
        "provider": "openai", "model": "gpt-4o", "inputTokens": 1, "outputTokens": 1
    }));
    event["metadata"] = json!({"verifiedAgentId": "spoof", "team": "x"});
    let events = validate_batch(&json!({"events": [event]})).unwrap();
    assert_eq!(events[0].metadata.len(), 1);
    assert_eq!(events[0].metadata["team"], json!("x"));
}

#[test]
fn llm_response_with_exclusive_cache_counts_is_accepted() {
    let body = json!({"events": [{
        "sessionId": "s", "agentId": "a", "eventType": "llm_response",
        "payload": {"callId": "c1", "provider": "anthropic", "model": "claude-3-7-sonnet",
            "completion": null, "finishReason": "stop", "latencyMs": 10, "costUsd": 0.054399,
            "usage": {"inputTokens": 3, "outputTokens": 550, "totalTokens": 553,
                "cacheWriteTokens": 12304}}
    }]});
    let events = validate_batch(&body).unwrap();
    let cost = events[0].cost.as_ref().unwrap();
    assert_eq!(cost.usage.input_tokens, 12307);
    assert_eq!(cost.call_id.as_deref(), Some("c1"));
}

fn event_at(timestamp: &str) -> Value {
    let mut event = cost_event(json!({
        "provider": "openai", "model": "gpt-4o", "inputTokens": 1, "outputTokens": 1
    }));
    event["timestamp"] = json!(timestamp);
    json!({"events": [event]})
}

#[test]
fn unstorable_timestamps_are_rejected() {
    for timestamp in [
        "2016-12-31T23:59:60Z",
        "2017-01-01T00:59:60+01:00",
        "9999-12-31T23:00:00-05:00",
        "0001-01-01T00:00:00+05:00",
        "2999-01-01T00:00:00Z",
    ] {
        let error = validate_batch(&event_at(timestamp)).unwrap_err();
        assert_eq!(paths(&error), ["events.0.timestamp"], "{timestamp}");
    }
}

#[test]
fn cost_string_with_spaces_is_rejected() {
    for text in [" 1", "1 ", "\t0.5"] {
        let body = json!({"events": [cost_event(json!({
            "provider": "openai", "model": "gpt-4o", "inputTokens": 1, "outputTokens": 1,
            "costUsd": text
        }))]});

        let error = validate_batch(&body).unwrap_err();

        assert_eq!(paths(&error), ["events.0.payload.costUsd"], "{text:?}");
        let message = &error.details[0].message;
        assert!(message.contains("spaces around it"), "{message}");
        let raw = serde_json::to_vec(&body).unwrap();
        assert!(validate_batch_bytes(&raw).is_none(), "{text:?}");
    }
}

#[test]
fn impossible_event_date_names_missing_day() {
    let error = validate_batch(&event_at("2026-02-30T10:00:00Z")).unwrap_err();

    assert_eq!(paths(&error), ["events.0.timestamp"]);
    let message = &error.details[0].message;
    assert!(message.contains("2026-02 has 28 days"), "{message}");
    assert!(!message.contains("expected RFC 3339"), "{message}");
}

#[test]
fn ordinary_timestamps_are_accepted() {
    for timestamp in ["1970-01-01T00:00:00Z", "2026-02-07T10:00:00.123456789Z"] {
        assert!(validate_batch(&event_at(timestamp)).is_ok(), "{timestamp}");
    }
}

#[test]
fn cost_beyond_pico_precision_is_rejected() {
    for cost in [json!(0.123_456_789_012_345_68), json!("1e-13"), json!(1e30)] {
        let body = json!({"events": [cost_event(json!({
            "provider": "openai", "model": "gpt-4o", "inputTokens": 1, "outputTokens": 1,
            "costUsd": cost
        }))]});
        let error = validate_batch(&body).unwrap_err();
        assert_eq!(paths(&error), ["events.0.payload.costUsd"], "cost {cost}");
    }
}

#[test]
fn cost_beyond_decimal_range_states_cost_limits() {
    let cases = [
        json!("0.12345678901234567890123456789"),
        json!("1e30"),
        json!(1e30),
    ];
    for cost in cases {
        let body = json!({"events": [cost_event(json!({
            "provider": "openai", "model": "gpt-4o", "inputTokens": 1, "outputTokens": 1,
            "costUsd": cost
        }))]});

        let error = validate_batch(&body).unwrap_err();

        assert_eq!(paths(&error), ["events.0.payload.costUsd"], "cost {cost}");
        let message = &error.details[0].message;
        assert!(message.contains("9223372.036854775807 USD"), "{message}");
        assert!(message.contains("at most 12 decimal places"), "{message}");
        assert!(!message.contains("7.9e28"), "{message}");
    }
}

#[test]
fn reasoning_over_output_names_reasoning() {
    let body = json!({"events": [cost_event(json!({
        "provider": "openai", "model": "gpt-4o", "inputTokens": 1, "outputTokens": 5,
        "reasoningTokens": 50
    }))]});
    let error = validate_batch(&body).unwrap_err();
    assert_eq!(paths(&error), ["events.0.payload.reasoningTokens"]);
}

#[test]
fn huge_token_counts_are_rejected() {
    let body = json!({"events": [cost_event(json!({
        "provider": "openai", "model": "gpt-4o", "inputTokens": 9_223_372_036_854_775_808u64,
        "outputTokens": 1
    }))]});
    let error = validate_batch(&body).unwrap_err();
    assert_eq!(paths(&error), ["events.0.payload.inputTokens"]);
}

#[test]
fn modality_counts_reach_cost_facts() {
    let body = json!({"events": [cost_event(json!({
        "provider": "openai", "model": "gpt-4o-audio-preview", "inputTokens": 1000,
        "inputAudioTokens": 400, "outputTokens": 100, "outputAudioTokens": 50,
        "webSearches": 2
    }))]});

    let events = validate_batch(&body).unwrap();
    let usage = events[0].cost.as_ref().unwrap().usage;

    assert_eq!(usage.input_audio_tokens, 400);
    assert_eq!(usage.output_audio_tokens, 50);
    assert_eq!(usage.web_searches, 2);
}

#[test]
fn tool_call_counts_reach_cost_facts() {
    let body = json!({"events": [cost_event(json!({
        "provider": "openai", "model": "gpt-5", "inputTokens": 1000, "outputTokens": 100,
        "fileSearches": 3, "codeInterpreterSessions": 1
    }))]});

    let events = validate_batch(&body).unwrap();
    let usage = events[0].cost.as_ref().unwrap().usage;

    assert_eq!(usage.file_searches, 3);
    assert_eq!(usage.code_interpreter_sessions, 1);
}

#[test]
fn invalid_tool_call_count_is_named() {
    let body = json!({"events": [cost_event(json!({
        "provider": "openai", "model": "gpt-5", "inputTokens": 1000, "outputTokens": 100,
        "codeInterpreterSessions": -1
    }))]});

    let error = validate_batch(&body).unwrap_err();

    assert_eq!(paths(&error), ["events.0.payload.codeInterpreterSessions"]);
}

#[test]
fn provider_usage_object_fills_modality_counts() {
    let body = json!({"events": [cost_event(json!({
        "provider": "openai", "model": "gpt-4o-audio-preview", "inputTokens": 1000,
        "outputTokens": 100, "usage": {"prompt_tokens": 1000, "completion_tokens": 100,
        "prompt_tokens_details": {"audio_tokens": 400},
        "completion_tokens_details": {"audio_tokens": 50}, "service_tier": "flex"}
    }))]});

    let events = validate_batch(&body).unwrap();
    let facts = events[0].cost.as_ref().unwrap();

    assert_eq!(facts.usage.input_audio_tokens, 400);
    assert_eq!(facts.usage.output_audio_tokens, 50);
    assert_eq!(facts.context.special_tier().as_deref(), Some("flex"));
}

#[test]
fn usage_object_contradicting_totals_is_rejected() {
    let body = json!({"events": [cost_event(json!({
        "provider": "openai", "model": "gpt-4o", "inputTokens": 10, "outputTokens": 5,
        "usage": {"prompt_tokens": 999, "completion_tokens": 1}
    }))]});

    let error = validate_batch(&body).unwrap_err();

    assert_eq!(
        paths(&error),
        ["events.0.payload.usage", "events.0.payload.usage"]
    );
    assert!(
        error.details[0]
            .message
            .contains("usage reports 999 prompt tokens but inputTokens is 10"),
        "{error:?}"
    );
    assert!(
        error.details[1]
            .message
            .contains("usage reports 1 output tokens but outputTokens is 5"),
        "{error:?}"
    );
}

#[test]
fn anthropic_usage_agrees_once_cache_is_added() {
    // Anthropic's input_tokens leave out the cache; inputTokens counts them.
    let body = json!({"events": [cost_event(json!({
        "provider": "anthropic", "model": "claude-sonnet-4-5", "inputTokens": 1300,
        "outputTokens": 50, "usage": {"input_tokens": 1000, "output_tokens": 50,
        "cache_read_input_tokens": 200, "cache_creation_input_tokens": 100}
    }))]});

    let events = validate_batch(&body).unwrap();
    let facts = events[0].cost.as_ref().unwrap();

    assert_eq!(facts.usage.cache_read_tokens, 200);
    assert_eq!(facts.usage.input_tokens, 1300);
}

#[test]
fn llm_response_latency_must_be_a_plausible_duration() {
    for (latency, message) in [
        (json!(-1), "expected a value of 0 or more, got -1"),
        (
            json!(1e308),
            "expected at most 9007199254740991 milliseconds",
        ),
    ] {
        let body = json!({"events": [{
            "sessionId": "s1", "agentId": "a1", "eventType": "llm_response",
            "payload": {"callId": "c1", "provider": "openai", "model": "gpt-4o",
                "completion": null, "finishReason": "stop", "latencyMs": latency,
                "usage": {"inputTokens": 10, "outputTokens": 5, "totalTokens": 15}}
        }]});

        let error = validate_batch(&body).unwrap_err();

        assert_eq!(paths(&error), ["events.0.payload.latencyMs"]);
        assert!(error.details[0].message.contains(message), "{error:?}");
    }
}

#[test]
fn llm_response_modality_part_over_whole_is_named() {
    let body = json!({"events": [{
        "sessionId": "s1", "agentId": "a1", "eventType": "llm_response",
        "payload": {"callId": "c1", "provider": "openai", "model": "gpt-4o-audio-preview",
            "completion": null, "finishReason": "stop", "latencyMs": 10,
            "usage": {"inputTokens": 10, "outputTokens": 5, "totalTokens": 15,
                "inputAudioTokens": 11}}
    }]});

    let error = validate_batch(&body).unwrap_err();

    assert_eq!(paths(&error), ["events.0.payload.usage.inputTokens"]);
    assert!(
        error.details[0]
            .message
            .contains("`usage.inputAudioTokens + usage.inputImageTokens"),
        "{error:?}"
    );
}

#[test]
fn usage_error_names_payload_key_as_sent() {
    let body = json!({"events": [cost_event(json!({
        "provider": "openai", "model": "gpt-4o-audio-preview", "inputTokens": 1000,
        "cacheReadTokens": 100, "inputAudioTokens": 400, "cacheAudioReadTokens": 150,
        "outputTokens": 100
    }))]});

    let error = validate_batch(&body).unwrap_err();
    let message = &error.details[0].message;

    assert_eq!(paths(&error), ["events.0.payload.cacheAudioReadTokens"]);
    assert!(
        message.contains("`cacheAudioReadTokens` (150)"),
        "{message}"
    );
    assert!(message.contains("`cacheReadTokens` (100)"), "{message}");
    assert!(!message.contains("cache_audio_read_tokens"), "{message}");
}

#[test]
fn cost_number_over_fifteen_digits_is_rejected() {
    let text = r#"{"events": [{"sessionId": "s1", "agentId": "a1", "eventType": "cost_tracked",
        "payload": {"provider": "openai", "model": "gpt-4o", "inputTokens": 1,
        "outputTokens": 1, "costUsd": 1234567.123456789012}}]}"#;
    let body: Value = serde_json::from_str(text).unwrap();

    let error = validate_batch(&body).unwrap_err();

    assert_eq!(paths(&error), ["events.0.payload.costUsd"]);
    assert!(
        error.details[0].message.contains("decimal string"),
        "{error:?}"
    );
}

#[test]
fn cost_number_with_fifteen_digits_is_kept() {
    for (cost, expected) in [
        (json!(1234567.12345678), "1234567.12345678"),
        (json!(0.000000000001), "0.000000000001"),
        (json!(9_000_000_u64), "9000000"),
    ] {
        let body = json!({"events": [cost_event(json!({
            "provider": "openai", "model": "gpt-4o", "inputTokens": 1, "outputTokens": 1,
            "costUsd": cost
        }))]});

        let events = validate_batch(&body).unwrap();

        let facts = events[0].cost.as_ref().unwrap();
        assert_eq!(facts.cost_usd.unwrap().to_string(), expected);
    }
}

#[test]
fn provider_usage_fills_missing_counts() {
    let body = json!({"events": [cost_event(json!({
        "provider": "google", "model": "gemini-2.5-flash", "inputTokens": 1000,
        "outputTokens": 600, "usage": {"promptTokenCount": 1000, "candidatesTokenCount": 500,
        "thoughtsTokenCount": 100, "cachedContentTokenCount": 200}
    }))]});

    let events = validate_batch(&body).unwrap();
    let usage = events[0].cost.as_ref().unwrap().usage;

    assert_eq!(usage.cache_read_tokens, 200);
    assert_eq!(usage.reasoning_tokens, 100);
    assert_eq!(usage.input_tokens, 1000);
}

#[test]
fn payload_counts_win_over_provider_usage_counts() {
    let body = json!({"events": [cost_event(json!({
        "provider": "openai", "model": "gpt-realtime", "inputTokens": 1000,
        "outputTokens": 300, "cacheReadTokens": 700,
        "usage": {"input_tokens": 1000, "output_tokens": 300,
            "input_tokens_details": {"cached_tokens": 640, "audio_tokens": 700,
                "cached_tokens_details": {"audio_tokens": 576}}}
    }))]});

    let events = validate_batch(&body).unwrap();
    let usage = events[0].cost.as_ref().unwrap().usage;

    assert_eq!(usage.cache_read_tokens, 700);
    assert_eq!(usage.cache_audio_read_tokens, 576);
}

#[test]
fn pricing_fields_beside_the_payload_are_rejected() {
    let mut event = cost_event(json!({
        "provider": "openai", "model": "gpt-5", "inputTokens": 1000, "outputTokens": 10
    }));
    event["service_tier"] = json!("priority");
    event["costUsd"] = json!(1);
    let error = validate_batch(&json!({"events": [event]})).unwrap_err();
    assert_eq!(paths(&error), ["events.0.costUsd", "events.0.service_tier"]);
    assert!(
        error.details[1].message.contains("move it into `payload`"),
        "{}",
        error.details[1].message
    );
}

#[test]
fn custom_event_ignores_top_level_fields() {
    let body = json!({"events": [{"sessionId": "s1", "agentId": "a1",
        "eventType": "custom", "model": "x", "payload": {"type": "t", "data": {}}}]});
    assert!(validate_batch(&body).is_ok());
}

#[test]
fn overlong_session_and_agent_ids_are_rejected() {
    let mut event = cost_event(json!({
        "provider": "openai", "model": "gpt-4o", "inputTokens": 1, "outputTokens": 1
    }));
    event["sessionId"] = json!("s".repeat(MAX_NAME_CHARS + 1));
    event["agentId"] = json!("é".repeat(MAX_NAME_CHARS));
    let error = validate_batch(&json!({"events": [event]})).unwrap_err();
    assert_eq!(paths(&error), ["events.0.sessionId"]);
    assert!(
        error.details[0]
            .message
            .contains("at most 256 characters, got 257"),
        "{}",
        error.details[0].message
    );
}

/// Bodies that both batch validators must judge alike: valid events with every part the
/// owned path moves, and envelopes and events that fail in each way.
fn owned_and_borrowed_cases() -> Vec<Value> {
    let many_keys: serde_json::Map<String, Value> = (0..40)
        .map(|index| (format!("key{index}"), json!(index)))
        .collect();
    vec![
        json!({"events": [
            {
                "id": "client-1",
                "sessionId": "s1",
                "agentId": "a1",
                "eventType": "tool_call",
                "severity": "warn",
                "timestamp": "2026-02-07T15:30:00+05:30",
                "payload": {"toolName": "search", "callId": "c1", "arguments": {"q": 1}},
                "metadata": {"team": "x", "verifiedAgentId": "forged", "region": "eu"},
            },
            {
                "id": null,
                "sessionId": "s2",
                "agentId": "a2",
                "eventType": "custom",
                "metadata": null,
                "payload": {"type": "note", "data": Value::Object(many_keys)},
            },
            cost_event(json!({
                "provider": "openai", "model": "gpt-4o", "inputTokens": 10,
                "outputTokens": 5, "costUsd": "0.25", "extra": {"kept": true}
            })),
        ]}),
        json!({"events": [
            {"sessionId": "", "agentId": 7, "eventType": "nope", "payload": []},
            {"sessionId": "s", "agentId": "a", "eventType": "cost_tracked", "model": "m",
             "metadata": 3, "id": "", "payload": {"provider": "p"}},
            "not an event",
        ]}),
        json!({"events": []}),
        json!({"events": {"sessionId": "s1"}}),
        json!({"other": 1}),
        json!([1, 2]),
    ]
}

#[test]
fn owned_batch_matches_borrowed_batch() {
    for body in owned_and_borrowed_cases() {
        let borrowed = validate_batch(&body);
        let owned = validate_batch_owned(body.clone());
        assert_eq!(owned, borrowed, "body: {body}");
    }
}

#[test]
fn owned_batch_moves_ids_payload_and_metadata() {
    let body = owned_and_borrowed_cases().swap_remove(0);
    let events = validate_batch_owned(body.clone()).unwrap();

    assert_eq!(events[0].client_id.as_deref(), Some("client-1"));
    assert_eq!(events[0].session_id, "s1");
    assert_eq!(events[0].agent_id, "a1");
    assert_eq!(
        events[0].payload,
        *body["events"][0]["payload"].as_object().unwrap()
    );
    let metadata_keys: Vec<&str> = events[0].metadata.keys().map(String::as_str).collect();
    assert_eq!(metadata_keys, ["team", "region"]);
    assert_eq!(events[1].client_id, None);
    assert!(events[1].metadata.is_empty());
    assert_eq!(events[1].payload["data"]["key39"], json!(39));
    assert_eq!(events[2].payload["extra"], json!({"kept": true}));
}

#[test]
fn lookup_matches_any_object_size() {
    for size in [0, 1, 2, 16, 17, 40] {
        let object: serde_json::Map<String, Value> = (0..size)
            .map(|index| (format!("k{index}"), json!(index)))
            .collect();
        for index in 0..size {
            let key = format!("k{index}");
            assert_eq!(
                fields::lookup(&object, &key),
                Some(&json!(index)),
                "size {size}"
            );
        }
        assert_eq!(fields::lookup(&object, "k"), None, "size {size}");
        assert_eq!(fields::lookup(&object, "missing"), None, "size {size}");
    }
}

/// Checks that the byte validator returns exactly what the `Value` validator returns
/// for `body` when it returns anything, and whether it returns events at all.
fn assert_bytes_path(body: &str, expect_events: bool) {
    let from_bytes = validate_batch_bytes(body.as_bytes());
    assert_eq!(from_bytes.is_some(), expect_events, "body: {body}");
    if let Some(events) = from_bytes {
        let value: Value = serde_json::from_str(body).unwrap();
        assert_eq!(Ok(events), validate_batch(&value), "body: {body}");
    }
}

#[test]
fn bytes_path_matches_value_path() {
    let cost = r#"{"sessionId":"s1","agentId":"a1","eventType":"cost_tracked",
        "timestamp":"2026-02-07T15:30:00+05:30","payload":{"provider":"openai",
        "model":"gpt-4o","inputTokens":1000,"outputTokens":200,"totalTokens":1200,
        "costUsd":"0.0012","note":"caf\u00e9 \"quoted\"","1":true,"extra":[1.50,2e3]}}"#;
    let full = r#"{"id":"c1","sessionId":"s2","agentId":"a2","eventType":"tool_call",
        "severity":"warn","model":"not a cost event","unknown":{"a":1},"metadata":
        {"team":"x","verifiedAgentId":"forged","region":"eu"},"payload":{"toolName":"t",
        "callId":"c","arguments":{}}}"#;
    let nulls = r#"{"id":null,"timestamp":null,"metadata":null,"sessionId":"s3",
        "agentId":"a3","eventType":"session_started","payload":{}}"#;
    let response = r#"{"sessionId":"s4","agentId":"a4","eventType":"llm_response",
        "payload":{"callId":"c","provider":"anthropic","model":"claude-sonnet-4-5",
        "completion":null,"finishReason":"stop","latencyMs":120,"usage":{"inputTokens":10,
        "outputTokens":5,"totalTokens":15,"cacheReadTokens":30}}}"#;

    for event in [cost, full, nulls, response] {
        assert_bytes_path(&format!(r#"{{"events":[{event}]}}"#), true);
    }
    assert_bytes_path(
        &format!(r#"{{"other":1,"events":[{cost},{full},{nulls},{response}]}}"#),
        true,
    );
    let many = vec![nulls; MAX_BATCH_EVENTS].join(",");
    assert_bytes_path(&format!(r#"{{"events":[{many}]}}"#), true);
}

#[test]
fn bytes_path_declines_other_bodies() {
    let event = |fields: &str| {
        format!(
            r#"{{"events":[{{"sessionId":"s","agentId":"a","eventType":"session_started",
            "payload":{{}}{fields}}}]}}"#
        )
    };
    let cost = |fields: &str| {
        format!(
            r#"{{"events":[{{"sessionId":"s","agentId":"a","eventType":"cost_tracked",
            "payload":{{"provider":"openai","model":"m","inputTokens":1,"outputTokens":1}}
            {fields}}}]}}"#
        )
    };
    let long_name = "n".repeat(MAX_NAME_CHARS + 1);
    let cases = [
        // Valid, but written in a form the byte path does not read.
        (r#"{"events":[{"sessionId":"s\u0031","agentId":"a","eventType":"session_started","payload":{}}]}"#.to_owned(), true),
        (event(r#","sessionId":"again""#), true),
        // Invalid.
        (event(r#","severity":null"#), false),
        (event(r#","severity":"loud""#), false),
        (event(r#","metadata":3"#), false),
        (event(r#","id":"""#), false),
        (event(r#","id":7"#), false),
        (event(r#","timestamp":"yesterday""#), false),
        (event(r#","timestamp":"9999-01-01T00:00:00Z""#), false),
        (event(&format!(r#","agentId":"{long_name}""#)).replace(r#""agentId":"a","#, ""), false),
        (event("").replace(r#""sessionId":"s""#, r#""sessionId":" ""#), false),
        (event("").replace("session_started", "alert_fired"), false),
        (event("").replace("session_started", "eval_result"), false),
        (event("").replace(r#""payload":{}"#, r#""payload":[]"#), false),
        (cost(r#","model":null"#), false),
        (cost(r#","service_tier":"flex""#), false),
        (cost("").replace(r#""inputTokens":1"#, r#""inputTokens":-1"#), false),
        (r#"{"events":[]}"#.to_owned(), false),
        (r#"{"events":{}}"#.to_owned(), false),
        (r#"[1]"#.to_owned(), false),
        (r#"{"events":[1]}"#.to_owned(), false),
    ];
    for (body, valid) in cases {
        assert_bytes_path(&body, false);
        let value: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(validate_batch(&value).is_ok(), valid, "body: {body}");
    }
    assert_eq!(validate_batch_bytes(b"{\"events\": [").map(|_| ()), None);
}

#[test]
fn bytes_path_declines_duplicate_payload_key() {
    let payloads = [
        r#"{"provider":"openai","model":"m","inputTokens":1,"outputTokens":1,
            "costUsd":"1","costUsd":"1000"}"#,
        r#"{"provider":"openai","model":"m","inputTokens":1,"outputTokens":1,
            "usage":{"a":1,"a":2}}"#,
    ];
    for payload in payloads {
        let body = format!(
            r#"{{"events":[{{"sessionId":"s","agentId":"a","eventType":"cost_tracked",
            "payload":{payload}}}]}}"#
        );

        assert!(
            validate_batch_bytes(body.as_bytes()).is_none(),
            "body: {body}"
        );
        let error = crate::json::from_slice_unique_keys(body.as_bytes()).unwrap_err();
        assert!(error.to_string().starts_with("duplicate key"), "{error}");
    }
    let metadata = r#"{"events":[{"sessionId":"s","agentId":"a","eventType":"session_started",
        "payload":{},"metadata":{"k":1,"k":2}}]}"#;
    assert!(validate_batch_bytes(metadata.as_bytes()).is_none());
}

#[test]
fn bytes_path_declines_each_misplaced_cost_key() {
    for key in PAYLOAD_COST_KEYS {
        let body = format!(
            r#"{{"events":[{{"sessionId":"s","agentId":"a","eventType":"cost_tracked",
            "payload":{{"provider":"openai","model":"m","inputTokens":1,"outputTokens":1}},
            "{key}":null}}]}}"#
        );
        assert_bytes_path(&body, false);
        let value: Value = serde_json::from_str(&body).unwrap();
        assert!(validate_batch(&value).is_err(), "body: {body}");
    }
}

#[test]
fn tool_call_accepts_string_arguments() {
    let call = |arguments: Value| {
        json!({"events": [{"sessionId": "s", "agentId": "a", "eventType": "tool_call",
            "payload": {"toolName": "search", "callId": "c1", "arguments": arguments}}]})
    };
    let events = validate_batch(&call(json!("{\"q\":\"rust\"}"))).unwrap();
    assert_eq!(events[0].payload["arguments"], json!("{\"q\":\"rust\"}"));
    assert!(validate_batch(&call(json!({"q": "rust"}))).is_ok());
    let error = validate_batch(&call(json!(7))).unwrap_err();
    assert_eq!(paths(&error), ["events.0.payload.arguments"]);
}

#[test]
fn bad_arguments_message_offers_string() {
    let body = json!({"events": [{"sessionId": "s", "agentId": "a", "eventType": "tool_call",
        "payload": {"toolName": "search", "callId": "c1", "arguments": 7}}]});

    let error = validate_batch(&body).unwrap_err();

    let message = &error.details[0].message;
    assert!(message.contains("got number 7"), "{message}");
    assert!(
        message.contains("or as their JSON text in a string"),
        "{message}"
    );
}

#[test]
fn empty_batch_message_says_empty() {
    let error = validate_batch(&json!({"events": []})).unwrap_err();

    let message = &error.details[0].message;
    assert!(message.contains("the events array is empty"), "{message}");
    assert!(!message.contains("split"), "{message}");
}

#[test]
fn oversized_batch_message_says_split() {
    let event = cost_event(json!({
        "provider": "openai", "model": "gpt-4o", "inputTokens": 1, "outputTokens": 1
    }));
    let body = json!({"events": vec![event; MAX_BATCH_EVENTS + 1]});

    let error = validate_batch(&body).unwrap_err();

    let message = &error.details[0].message;
    assert!(message.contains("got 1001"), "{message}");
    assert!(
        message.contains("split it into batches of 1000 or fewer"),
        "{message}"
    );
}

#[test]
fn long_value_is_cut_in_error() {
    let event_type = "x".repeat(900_000);
    let batch = json!({"events": [{"sessionId": "s1", "agentId": "a1",
        "eventType": event_type, "payload": {}}]});

    let error = validate_batch(&batch).unwrap_err();

    let message = &error.details[0].message;
    assert!(message.len() < 1_200, "message of {} bytes", message.len());
    assert!(message.ends_with("bytes in all)"), "{message}");
}
