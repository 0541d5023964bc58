use serde_json::json;

use super::*;

#[test]
fn anthropic_input_adds_cache_reads_and_writes() {
    let usage = from_anthropic(&json!({
        "input_tokens": 3,
        "cache_creation_input_tokens": 12304,
        "cache_read_input_tokens": 100,
        "output_tokens": 550
    }))
    .unwrap();

    assert_eq!(usage.input_tokens, 12407);
    assert_eq!(usage.uncached_input_tokens(), 3);
    assert_eq!(usage.cache_read_tokens, 100);
    assert_eq!(usage.cache_write_5m_tokens, 12304);
    assert_eq!(usage.cache_write_1h_tokens, 0);
    assert_eq!(usage.output_tokens, 550);
}

#[test]
fn anthropic_cache_creation_splits_lifetimes() {
    let usage = from_anthropic(&json!({
        "input_tokens": 10,
        "cache_creation_input_tokens": 300,
        "cache_creation": {"ephemeral_5m_input_tokens": 100, "ephemeral_1h_input_tokens": 200},
        "output_tokens": 5,
        "server_tool_use": {"web_search_requests": 2}
    }))
    .unwrap();

    assert_eq!(usage.input_tokens, 310);
    assert_eq!(usage.cache_write_5m_tokens, 100);
    assert_eq!(usage.cache_write_1h_tokens, 200);
    assert_eq!(usage.web_searches, 2);
}

#[test]
fn anthropic_split_larger_than_total_is_rejected() {
    let error = from_anthropic(&json!({
        "input_tokens": 10,
        "cache_creation_input_tokens": 100,
        "cache_creation": {"ephemeral_5m_input_tokens": 100, "ephemeral_1h_input_tokens": 1},
        "output_tokens": 5
    }))
    .unwrap_err();

    assert!(matches!(
        error,
        UsageError::PartExceedsWhole {
            part_count: 101,
            ..
        }
    ));
}

#[test]
fn anthropic_missing_output_is_rejected() {
    let error = from_anthropic(&json!({"input_tokens": 10})).unwrap_err();

    assert_eq!(
        error,
        UsageError::MissingField {
            field: "output_tokens".into()
        }
    );
}

#[test]
fn openai_chat_keeps_cached_inside_prompt() {
    let usage = from_openai(&json!({
        "prompt_tokens": 2006,
        "completion_tokens": 300,
        "total_tokens": 2306,
        "prompt_tokens_details": {"cached_tokens": 1920},
        "completion_tokens_details": {"reasoning_tokens": 0}
    }))
    .unwrap();

    assert_eq!(usage.input_tokens, 2006);
    assert_eq!(usage.cache_read_tokens, 1920);
    assert_eq!(usage.uncached_input_tokens(), 86);
    assert_eq!(usage.output_tokens, 300);
}

#[test]
fn openai_reasoning_stays_inside_completion() {
    let usage = from_openai(&json!({
        "prompt_tokens": 14746,
        "completion_tokens": 1944,
        "completion_tokens_details": {"reasoning_tokens": 1360}
    }))
    .unwrap();

    assert_eq!(usage.output_tokens, 1944);
    assert_eq!(usage.reasoning_tokens, 1360);
}

#[test]
fn openai_responses_shape_is_read() {
    let usage = from_openai(&json!({
        "input_tokens": 500,
        "input_tokens_details": {"cached_tokens": 200},
        "output_tokens": 80,
        "output_tokens_details": {"reasoning_tokens": 30},
        "total_tokens": 580
    }))
    .unwrap();

    assert_eq!(usage.input_tokens, 500);
    assert_eq!(usage.cache_read_tokens, 200);
    assert_eq!(usage.output_tokens, 80);
    assert_eq!(usage.reasoning_tokens, 30);
}

#[test]
fn openai_embedding_usage_has_no_output() {
    let usage = from_openai(&json!({"prompt_tokens": 8, "total_tokens": 8})).unwrap();

    assert_eq!(usage.input_tokens, 8);
    assert_eq!(usage.output_tokens, 0);
}

#[test]
fn deepseek_cache_hits_count_as_cached() {
    let usage = from_openai(&json!({
        "prompt_tokens": 100,
        "prompt_cache_hit_tokens": 60,
        "prompt_cache_miss_tokens": 40,
        "completion_tokens": 10
    }))
    .unwrap();

    assert_eq!(usage.cache_read_tokens, 60);
}

#[test]
fn cached_larger_than_prompt_names_both_fields() {
    let error = from_openai(&json!({
        "prompt_tokens": 10,
        "completion_tokens": 1,
        "prompt_tokens_details": {"cached_tokens": 11}
    }))
    .unwrap_err();

    let message = error.to_string();
    assert!(
        message.contains("prompt_tokens_details.cached_tokens"),
        "{message}"
    );
    assert!(message.contains("`prompt_tokens`"), "{message}");
}

#[test]
fn reasoning_larger_than_completion_is_rejected() {
    let error = from_openai(&json!({
        "prompt_tokens": 10,
        "completion_tokens": 5,
        "completion_tokens_details": {"reasoning_tokens": 6}
    }))
    .unwrap_err();

    assert!(matches!(
        error,
        UsageError::PartExceedsWhole {
            part_count: 6,
            whole_count: 5,
            ..
        }
    ));
}

#[test]
fn invalid_counts_name_the_field() {
    let cases = [
        (json!(-3), "-3"),
        (json!(1.5), "1.5"),
        (json!("12"), "\"12\""),
        (json!(true), "true"),
        (json!(1e300), "1e300"),
    ];
    for (value, text) in cases {
        let error = from_openai(&json!({"prompt_tokens": value})).unwrap_err();
        let UsageError::InvalidCount { field, value } = &error else {
            panic!("expected InvalidCount for {text}, got {error:?}");
        };
        assert_eq!(field, "prompt_tokens");
        assert!(!value.is_empty());
    }
}

#[test]
fn whole_float_counts_are_accepted() {
    let usage = from_openai(&json!({"prompt_tokens": 12.0, "completion_tokens": 3})).unwrap();

    assert_eq!(usage.input_tokens, 12);
}

#[test]
fn nested_count_error_uses_dotted_path() {
    let error = from_openai(&json!({
        "prompt_tokens": 10,
        "prompt_tokens_details": {"cached_tokens": -1}
    }))
    .unwrap_err();

    assert_eq!(
        error,
        UsageError::InvalidCount {
            field: "prompt_tokens_details.cached_tokens".into(),
            value: "-1".into()
        }
    );
}

#[test]
fn non_object_usage_is_rejected() {
    assert!(matches!(
        from_openai(&json!([1, 2])),
        Err(UsageError::NotAnObject { .. })
    ));
    assert!(matches!(
        from_openai(&json!({"prompt_tokens": 1, "prompt_tokens_details": 4})),
        Err(UsageError::NotAnObject { .. })
    ));
}

#[test]
fn gemini_output_adds_thoughts() {
    let usage = from_gemini(&json!({
        "promptTokenCount": 262960,
        "cachedContentTokenCount": 257955,
        "candidatesTokenCount": 1744,
        "thoughtsTokenCount": 256,
        "totalTokenCount": 264960
    }))
    .unwrap();

    assert_eq!(usage.input_tokens, 262960);
    assert_eq!(usage.cache_read_tokens, 257955);
    assert_eq!(usage.output_tokens, 2000);
    assert_eq!(usage.reasoning_tokens, 256);
}

#[test]
fn extract_dispatches_by_provider_and_shape() {
    let anthropic_shape =
        json!({"input_tokens": 3, "cache_read_input_tokens": 7, "output_tokens": 1});
    let responses_shape = json!({"input_tokens": 3, "output_tokens": 1});

    assert_eq!(
        extract("anthropic", &responses_shape).unwrap().input_tokens,
        3
    );
    assert_eq!(
        extract("Anthropic", &anthropic_shape).unwrap().input_tokens,
        10
    );
    assert_eq!(
        extract("vertex_ai", &anthropic_shape).unwrap().input_tokens,
        10
    );
    assert_eq!(extract("openai", &responses_shape).unwrap().input_tokens, 3);
    let gemini = json!({"promptTokenCount": 4, "candidatesTokenCount": 2});
    assert_eq!(extract("google", &gemini).unwrap().output_tokens, 2);
}

/// `usageMetadata` of a recorded gemini-2.5-flash call on a YouTube video with a cache.
fn gemini_video_usage() -> serde_json::Value {
    json!({
        "cacheTokensDetails": [
            {"modality": "AUDIO", "tokenCount": 1881},
            {"modality": "TEXT", "tokenCount": 15},
            {"modality": "VIDEO", "tokenCount": 15483}
        ],
        "cachedContentTokenCount": 17379,
        "candidatesTokenCount": 68,
        "promptTokenCount": 17713,
        "promptTokensDetails": [
            {"modality": "TEXT", "tokenCount": 16},
            {"modality": "VIDEO", "tokenCount": 15780},
            {"modality": "AUDIO", "tokenCount": 1917}
        ],
        "serviceTier": "standard",
        "thoughtsTokenCount": 821,
        "totalTokenCount": 18602
    })
}

#[test]
fn gemini_modality_lists_fill_parts() {
    let usage = from_gemini(&gemini_video_usage()).unwrap();

    assert_eq!(usage.input_tokens, 17713);
    assert_eq!(usage.input_video_tokens, 15780);
    assert_eq!(usage.input_audio_tokens, 1917);
    assert_eq!(usage.input_image_tokens, 0);
    assert_eq!(usage.cache_read_tokens, 17379);
    assert_eq!(usage.cache_video_read_tokens, 15483);
    assert_eq!(usage.cache_audio_read_tokens, 1881);
    assert_eq!(usage.output_tokens, 889);
}

#[test]
fn gemini_candidate_images_are_output_images() {
    let usage = from_gemini(&json!({
        "promptTokenCount": 20,
        "candidatesTokenCount": 1300,
        "candidatesTokensDetails": [
            {"modality": "IMAGE", "tokenCount": 1290},
            {"modality": "TEXT", "tokenCount": 10}
        ]
    }))
    .unwrap();

    assert_eq!(usage.output_image_tokens, 1290);
    assert_eq!(usage.output_tokens, 1300);
}

#[test]
fn gemini_modality_list_must_be_array() {
    let error = from_gemini(&json!({
        "promptTokenCount": 20,
        "promptTokensDetails": {"modality": "TEXT"}
    }))
    .unwrap_err();

    assert_eq!(
        error.to_string(),
        "usage field `promptTokensDetails` is not a JSON array"
    );
}

#[test]
fn openai_chat_audio_details_fill_parts() {
    let usage = from_openai(&json!({
        "prompt_tokens": 1200,
        "completion_tokens": 900,
        "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 800},
        "completion_tokens_details": {"reasoning_tokens": 0, "audio_tokens": 850}
    }))
    .unwrap();

    assert_eq!(usage.input_audio_tokens, 800);
    assert_eq!(usage.cache_audio_read_tokens, 0);
    assert_eq!(usage.output_audio_tokens, 850);
    assert_eq!(usage.output_tokens, 900);
}

#[test]
fn openai_chat_cached_audio_is_inferred_when_uncached_is_too_small() {
    let usage = from_openai(&json!({
        "prompt_tokens": 1200,
        "completion_tokens": 10,
        "prompt_tokens_details": {"cached_tokens": 1024, "audio_tokens": 800}
    }))
    .unwrap();

    assert_eq!(usage.input_audio_tokens, 800);
    assert_eq!(usage.cache_audio_read_tokens, 800 - 176);
    assert_eq!(usage.check(), Ok(()));
}

#[test]
fn openai_realtime_cached_details_fill_cached_parts() {
    let usage = from_openai(&json!({
        "input_tokens": 1000,
        "output_tokens": 300,
        "input_tokens_details": {
            "cached_tokens": 640,
            "text_tokens": 200,
            "audio_tokens": 700,
            "image_tokens": 100,
            "cached_tokens_details": {"text_tokens": 64, "audio_tokens": 576, "image_tokens": 0}
        },
        "output_tokens_details": {"text_tokens": 60, "audio_tokens": 240}
    }))
    .unwrap();

    assert_eq!(usage.cache_audio_read_tokens, 576);
    assert_eq!(usage.input_image_tokens, 100);
    assert_eq!(usage.output_audio_tokens, 240);
}

#[test]
fn openai_image_api_details_fill_image_input() {
    let usage = from_openai(&json!({
        "input_tokens": 50,
        "output_tokens": 4160,
        "total_tokens": 4210,
        "input_tokens_details": {"text_tokens": 10, "image_tokens": 40}
    }))
    .unwrap();

    assert_eq!(usage.input_image_tokens, 40);
    assert_eq!(usage.uncached_input_tokens(), 50);
}

#[test]
fn bedrock_reads_older_cache_count_keys() {
    let both = from_bedrock(&json!({
        "cacheReadInputTokenCount": 1322, "cacheReadInputTokens": 1322,
        "cacheWriteInputTokenCount": 0, "cacheWriteInputTokens": 0,
        "inputTokens": 8, "outputTokens": 5, "serverToolUsage": {}, "totalTokens": 1335
    }))
    .unwrap();
    let older_only = from_bedrock(&json!({
        "cacheReadInputTokenCount": 1322, "cacheWriteInputTokenCount": 40,
        "inputTokens": 8, "outputTokens": 5
    }))
    .unwrap();

    assert_eq!(both.input_tokens, 1330);
    assert_eq!(both.cache_read_tokens, 1322);
    assert_eq!(older_only.input_tokens, 1370);
    assert_eq!(older_only.cache_read_tokens, 1322);
    assert_eq!(older_only.cache_write_5m_tokens, 40);
}

/// Returns a usage object from an OpenHands trajectory, as LiteLLM reported a Claude call.
fn litellm_claude_usage() -> Value {
    json!({
        "completion_tokens": 95, "prompt_tokens": 3475, "total_tokens": 3570,
        "completion_tokens_details": null,
        "prompt_tokens_details": {"audio_tokens": null, "cached_tokens": 0},
        "cache_creation_input_tokens": 3471, "cache_read_input_tokens": 0
    })
}

#[test]
fn litellm_prompt_contains_cache_parts() {
    for provider in ["anthropic", "openai", "litellm"] {
        let usage = extract(provider, &litellm_claude_usage()).unwrap();

        assert_eq!(usage.input_tokens, 3475, "{provider}");
        assert_eq!(usage.uncached_input_tokens(), 4, "{provider}");
        assert_eq!(usage.cache_write_5m_tokens, 3471, "{provider}");
        assert_eq!(usage.cache_read_tokens, 0, "{provider}");
        assert_eq!(usage.output_tokens, 95, "{provider}");
    }
}

#[test]
fn litellm_reads_fall_back_to_cached_tokens() {
    let usage = extract(
        "anthropic",
        &json!({"prompt_tokens": 1000, "completion_tokens": 10,
            "prompt_tokens_details": {"cached_tokens": 600}}),
    )
    .unwrap();

    assert_eq!(usage.input_tokens, 1000);
    assert_eq!(usage.cache_read_tokens, 600);
    assert_eq!(usage.cache_write_5m_tokens, 0);
}

#[test]
fn litellm_cache_parts_over_prompt_are_rejected() {
    let error = extract(
        "anthropic",
        &json!({"prompt_tokens": 100, "completion_tokens": 10,
            "cache_creation_input_tokens": 80, "cache_read_input_tokens": 30}),
    )
    .unwrap_err();

    let message = error.to_string();
    assert!(message.contains("cache_read_input_tokens"), "{message}");
    assert!(message.contains("prompt_tokens"), "{message}");
}

#[test]
fn anthropic_messages_shape_is_unchanged() {
    let usage = extract(
        "anthropic",
        &json!({"input_tokens": 4, "output_tokens": 95,
            "cache_creation_input_tokens": 3471, "cache_read_input_tokens": 0}),
    )
    .unwrap();

    assert_eq!(usage.input_tokens, 3475);
    assert_eq!(usage.cache_write_5m_tokens, 3471);
}
