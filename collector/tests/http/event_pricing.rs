//! Ingest prices an event without `costUsd` exactly as `POST /api/pricing/quote` prices the
//! same usage: audio, image and video counts, provider usage objects and service tiers
//! included. Also the rejection of tier, batch and cost values that would be priced wrong.

use axum::http::StatusCode;
use serde_json::{json, Value};

use crate::common::{app, TestApp};

const AT: &str = "2026-12-01T00:00:00Z";

fn cost_tracked(session: &str, payload: Value) -> Value {
    json!({
        "sessionId": session,
        "agentId": "a",
        "eventType": "cost_tracked",
        "timestamp": AT,
        "payload": payload,
    })
}

/// Quotes `usage` and returns the total as JSON text.
async fn quoted_total(app: &TestApp, model: &str, usage: Value, extra: Value) -> String {
    let mut body = json!({"provider": "openai", "model": model, "usage": usage, "at": AT});
    for (key, value) in extra.as_object().unwrap() {
        body[key] = value.clone();
    }
    let reply = app.post("/api/pricing/quote", &body).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    assert_eq!(reply.json["status"], "priced", "{}", reply.text);
    reply.json["total"].to_string()
}

/// Ingests one event and returns its session's total as JSON text.
async fn session_total(app: &TestApp, session: &str, payload: Value) -> String {
    let reply = app.ingest(vec![cost_tracked(session, payload)]).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
    let json = app.get(&format!("/api/sessions/{session}")).await.json;
    assert_eq!(json["unpricedEventCount"], 0, "{json}");
    json["totalCostUsd"].to_string()
}

#[tokio::test]
async fn audio_counts_price_like_quote() {
    let app = app().await;
    let usage = json!({"inputTokens": 1000, "inputAudioTokens": 400, "outputTokens": 100,
        "outputAudioTokens": 50});
    let text_only = json!({"inputTokens": 1000, "outputTokens": 100});
    let expected = quoted_total(&app, "gpt-4o-audio-preview", usage.clone(), json!({})).await;
    let text_price = quoted_total(&app, "gpt-4o-audio-preview", text_only.clone(), json!({})).await;

    let mut payload = json!({"provider": "openai", "model": "gpt-4o-audio-preview"});
    for (key, value) in usage.as_object().unwrap() {
        payload[key] = value.clone();
    }
    let total = session_total(&app, "s7", payload).await;

    assert_ne!(expected, text_price);
    assert_eq!(total, expected);
}

#[tokio::test]
async fn provider_usage_object_keeps_audio_counts() {
    let app = app().await;
    let usage = json!({"prompt_tokens": 1000, "completion_tokens": 100, "total_tokens": 1100,
        "prompt_tokens_details": {"audio_tokens": 400},
        "completion_tokens_details": {"audio_tokens": 50}});
    let expected = quoted_total(&app, "gpt-4o-audio-preview", usage.clone(), json!({})).await;

    let payload = json!({"provider": "openai", "model": "gpt-4o-audio-preview",
        "inputTokens": 1000, "outputTokens": 100, "usage": usage});
    let total = session_total(&app, "s8", payload).await;

    assert_eq!(total, expected);
}

#[tokio::test]
async fn snake_case_service_tier_selects_flex() {
    let app = app().await;
    let usage = json!({"inputTokens": 10000, "outputTokens": 1000});
    let flex = quoted_total(&app, "gpt-5", usage.clone(), json!({"serviceTier": "flex"})).await;
    let standard = quoted_total(&app, "gpt-5", usage, json!({})).await;

    let top_level = json!({"provider": "openai", "model": "gpt-5", "inputTokens": 10000,
        "outputTokens": 1000, "service_tier": "flex"});
    let in_usage = json!({"provider": "openai", "model": "gpt-5", "inputTokens": 10000,
        "outputTokens": 1000, "usage": {"prompt_tokens": 10000, "completion_tokens": 1000,
        "service_tier": "flex"}});

    assert_ne!(flex, standard);
    assert_eq!(session_total(&app, "top", top_level).await, flex);
    assert_eq!(session_total(&app, "usage", in_usage).await, flex);
}

#[tokio::test]
async fn invalid_tier_batch_and_parts_are_named() {
    let app = app().await;
    let base = json!({"provider": "openai", "model": "gpt-5", "inputTokens": 100,
        "outputTokens": 10});
    let cases = [
        (json!({"serviceTier": 5}), "serviceTier"),
        (json!({"serviceTier": ""}), "serviceTier"),
        (json!({"service_tier": true}), "service_tier"),
        (json!({"batch": "true"}), "batch"),
        // A sum of modality parts over its whole is blamed on the whole, and the message
        // names the parts.
        (json!({"inputAudioTokens": 101}), "inputTokens"),
        (json!({"outputImageTokens": 11}), "outputTokens"),
        (
            json!({"cacheReadTokens": 10, "cacheAudioReadTokens": 11}),
            "cacheAudioReadTokens",
        ),
        (json!({"inputVideoTokens": -1}), "inputVideoTokens"),
    ];

    for (extra, field) in cases {
        let mut payload = base.clone();
        for (key, value) in extra.as_object().unwrap() {
            payload[key] = value.clone();
        }
        let reply = app.ingest(vec![cost_tracked("bad", payload)]).await;

        assert_eq!(
            reply.status,
            StatusCode::BAD_REQUEST,
            "{field}: {}",
            reply.text
        );
        let path = format!("events.0.payload.{field}");
        assert_eq!(reply.json["details"][0]["path"], path, "{}", reply.text);
    }
}

#[tokio::test]
async fn cost_number_beyond_f64_digits_is_rejected() {
    let app = app().await;
    let payload = |cost: Value| {
        json!({"provider": "openai", "model": "gpt-5", "inputTokens": 100,
            "outputTokens": 10, "costUsd": cost})
    };
    let body = r#"{"events":[{"sessionId":"c","agentId":"a","eventType":"cost_tracked",
        "payload":{"provider":"openai","model":"gpt-5","inputTokens":100,"outputTokens":10,
        "costUsd":1234567.123456789012}}]}"#;

    let reply = app
        .send(
            axum::http::Method::POST,
            "/api/events",
            Some(body.as_bytes().to_vec()),
        )
        .await;
    let as_string = session_total(&app, "exact", payload(json!("1234567.123456789012"))).await;
    // The test client parses replies into `f64`s, so the exact total is read from the text.
    let exact_text = app.get("/api/sessions/exact").await.text;
    let fifteen_digits = session_total(&app, "short", payload(json!(1234567.12345678))).await;

    assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{}", reply.text);
    assert_eq!(reply.json["details"][0]["path"], "events.0.payload.costUsd");
    let message = reply.json["details"][0]["message"].as_str().unwrap();
    assert!(message.contains("decimal string"), "{message}");
    assert_eq!(as_string, "1234567.123456789");
    assert!(
        exact_text.contains(r#""totalCostUsd":1234567.123456789012"#),
        "{exact_text}"
    );
    assert_eq!(fifteen_digits, "1234567.12345678");
}

/// Quotes `body` (with `at` set) and returns the total as JSON text.
async fn quote_body(app: &TestApp, mut body: Value) -> String {
    body["at"] = json!(AT);
    let reply = app.post("/api/pricing/quote", &body).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    assert_eq!(reply.json["status"], "priced", "{}", reply.text);
    reply.json["total"].to_string()
}

#[tokio::test]
async fn fast_speed_prices_like_quote() {
    let app = app().await;
    let usage = json!({"input_tokens": 1_000_000, "output_tokens": 1_000_000, "speed": "fast"});
    let quote = json!({"provider": "anthropic", "model": "claude-opus-5", "usage": usage});
    let fast = quote_body(&app, quote.clone()).await;
    let mut standard_quote = quote;
    standard_quote["usage"]["speed"] = json!("standard");
    let standard = quote_body(&app, standard_quote).await;

    let payload = json!({"provider": "anthropic", "model": "claude-opus-5",
        "inputTokens": 1_000_000, "outputTokens": 1_000_000, "usage": usage});
    let mut top_level = json!({"provider": "anthropic", "model": "claude-opus-5",
        "inputTokens": 1_000_000, "outputTokens": 1_000_000, "speed": "fast"});

    assert_ne!(fast, standard);
    assert_eq!(session_total(&app, "fast-usage", payload).await, fast);
    assert_eq!(
        session_total(&app, "fast-top", top_level.clone()).await,
        fast
    );
    top_level["speed"] = json!(2);
    let reply = app.ingest(vec![cost_tracked("fast-bad", top_level)]).await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{}", reply.text);
    assert_eq!(reply.json["details"][0]["path"], "events.0.payload.speed");
}

#[tokio::test]
async fn provider_usage_fills_counts_the_payload_leaves_out() {
    let app = app().await;
    let gemini = json!({"promptTokenCount": 1000, "candidatesTokenCount": 500,
        "thoughtsTokenCount": 100, "cachedContentTokenCount": 200});
    let openai = json!({"prompt_tokens": 2006, "completion_tokens": 300,
        "prompt_tokens_details": {"cached_tokens": 1920}});
    let realtime = json!({"input_tokens": 1000, "output_tokens": 300,
        "input_tokens_details": {"cached_tokens": 640, "text_tokens": 200,
            "audio_tokens": 700, "image_tokens": 100,
            "cached_tokens_details": {"text_tokens": 64, "audio_tokens": 576}},
        "output_tokens_details": {"text_tokens": 60, "audio_tokens": 240}});
    let cases = [
        ("google", "gemini-2.5-flash", gemini, 1000, 600),
        ("openai", "gpt-4o", openai, 2006, 300),
        ("openai", "gpt-realtime", realtime, 1000, 300),
    ];

    for (index, (provider, model, usage, input, output)) in cases.into_iter().enumerate() {
        let expected = quote_body(
            &app,
            json!({"provider": provider, "model": model, "usage": usage}),
        )
        .await;
        let payload = json!({"provider": provider, "model": model, "inputTokens": input,
            "outputTokens": output, "usage": usage});

        let total = session_total(&app, &format!("fill-{index}"), payload).await;

        assert_eq!(total, expected, "{model}");
    }
    let gemini_total = session_total(
        &app,
        "fill-gemini-again",
        json!({"provider": "google", "model": "gemini-2.5-flash", "inputTokens": 1000,
            "outputTokens": 600, "usage": {"promptTokenCount": 1000,
            "candidatesTokenCount": 500, "thoughtsTokenCount": 100,
            "cachedContentTokenCount": 200}}),
    )
    .await;
    assert_eq!(gemini_total, "0.001746");
}

#[tokio::test]
async fn conflicting_tier_fields_are_rejected() {
    let app = app().await;
    let base = json!({"provider": "openai", "model": "gpt-5", "inputTokens": 100,
        "outputTokens": 10});
    let cases = [
        (
            json!({"serviceTier": "flex", "service_tier": "priority"}),
            "service_tier",
            ["serviceTier", "\"flex\"", "service_tier", "\"priority\""],
        ),
        (
            json!({"serviceTier": "standard", "usage": {"prompt_tokens": 100,
                "completion_tokens": 10, "service_tier": "batch"}}),
            "usage.service_tier",
            [
                "serviceTier",
                "\"standard\"",
                "usage.service_tier",
                "\"batch\"",
            ],
        ),
        (
            json!({"batch": false, "usage": {"prompt_tokens": 100,
                "completion_tokens": 10, "service_tier": "batch"}}),
            "batch",
            ["usage.service_tier", "\"batch\"", "batch", "false"],
        ),
    ];

    for (extra, field, parts) in cases {
        let mut payload = base.clone();
        let mut quote = json!({"provider": "openai", "model": "gpt-5",
            "usage": {"inputTokens": 100, "outputTokens": 10}});
        for (key, value) in extra.as_object().unwrap() {
            payload[key] = value.clone();
            // The quote request has no top-level `service_tier`; the usage object carries it.
            if key == "service_tier" {
                quote["usage"] = json!({"prompt_tokens": 100, "completion_tokens": 10,
                    "service_tier": value});
            } else {
                quote[key] = value.clone();
            }
        }
        let reply = app.ingest(vec![cost_tracked("tiers", payload)]).await;
        let quoted = app.post("/api/pricing/quote", &quote).await;

        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{}", reply.text);
        let path = format!("events.0.payload.{field}");
        assert_eq!(reply.json["details"][0]["path"], path, "{}", reply.text);
        let message = reply.json["details"][0]["message"].as_str().unwrap();
        for part in parts {
            assert!(message.contains(part), "{part}: {message}");
        }
        assert_eq!(quoted.status, StatusCode::BAD_REQUEST, "{}", quoted.text);
    }
}

#[tokio::test]
async fn free_model_is_priced_at_zero() {
    // genai-prices 0.2.5 lists this OpenRouter id without rates and prices it at $0.
    let app = app().await;
    let payload = json!({"provider": "openrouter",
        "model": "meta-llama/llama-3.3-70b-instruct:free", "inputTokens": 2000,
        "outputTokens": 300, "cacheReadTokens": 1500});

    let reply = app.ingest(vec![cost_tracked("free", payload)]).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
    let id = reply.json["events"][0]["id"].as_str().unwrap().to_owned();
    let event = app.get(&format!("/api/events/{id}")).await.json;
    let costs = app
        .get("/api/analytics/costs?from=2026-12-01&to=2026-12-01")
        .await
        .json;

    let pricing = &event["pricing"];
    assert_eq!(pricing["costUsd"], "0", "{event}");
    assert_eq!(pricing["source"], "derived", "{event}");
    assert_eq!(
        pricing["entry"]["model"], "meta-llama/llama-3.3-70b-instruct:free",
        "{event}"
    );
    assert!(pricing.get("unpricedReason").is_none(), "{event}");
    assert_eq!(costs["totals"]["eventCount"], 1, "{costs}");
    assert_eq!(costs["totals"]["unpricedCount"], 0, "{costs}");
    assert_eq!(costs["totals"]["totalCostUsd"], 0.0, "{costs}");
}
