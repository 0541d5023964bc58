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
