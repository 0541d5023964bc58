//! `POST /api/events`: status codes, the hash chain, atomicity and idempotency.

use axum::http::{Method, StatusCode};
use serde_json::{json, Value};

use crate::common::{app, cost_event, llm_response, tool_call};

fn ids_and_hashes(reply: &Value) -> Vec<(String, String)> {
    reply["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["id"].as_str().unwrap().to_owned(),
                e["hash"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

#[tokio::test]
async fn hash_chain_continues_across_batches() {
    let app = app().await;
    let first = app
        .ingest(vec![
            tool_call("s1", "a1", "2026-02-07T10:00:00Z"),
            tool_call("s1", "a1", "2026-02-07T10:00:01Z"),
        ])
        .await;
    assert_eq!(first.status, StatusCode::CREATED);
    assert_eq!(first.json["ingested"], 2);
    let second = app
        .ingest(vec![tool_call("s1", "a1", "2026-02-07T10:00:02Z")])
        .await;
    assert_eq!(second.status, StatusCode::CREATED);

    let mut stored = ids_and_hashes(&first.json);
    stored.extend(ids_and_hashes(&second.json));
    assert!(
        stored.windows(2).all(|pair| pair[0].0 < pair[1].0),
        "ids are monotonic"
    );
    let mut previous: Option<String> = None;
    for (id, hash) in &stored {
        assert_eq!(id.len(), 26);
        assert_eq!(hash.len(), 64);
        let event = app.get(&format!("/api/events/{id}")).await.json;
        assert_eq!(event["hash"], *hash);
        assert_eq!(event["prevHash"].as_str().map(str::to_owned), previous);
        previous = Some(hash.clone());
    }
}

#[tokio::test]
async fn one_bad_event_rejects_whole_batch() {
    let app = app().await;
    let mut bad = tool_call("s1", "a1", "2026-02-07T10:00:02Z");
    bad["payload"]["toolName"] = json!(42);
    let reply = app
        .ingest(vec![
            tool_call("s1", "a1", "2026-02-07T10:00:00Z"),
            tool_call("s2", "a1", "2026-02-07T10:00:01Z"),
            bad,
        ])
        .await;

    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert_eq!(reply.json["error"], "Validation failed");
    assert_eq!(reply.json["status"], 400);
    assert_eq!(
        reply.json["details"][0]["path"],
        "events.2.payload.toolName"
    );
    assert_eq!(app.get("/api/events").await.json["total"], 0);
    assert_eq!(app.get("/api/sessions").await.json["total"], 0);
}

#[tokio::test]
async fn batch_of_1001_events_is_rejected() {
    let app = app().await;
    let events = (0..1001)
        .map(|_| tool_call("s1", "a1", "2026-02-07T10:00:00Z"))
        .collect();
    let reply = app.ingest(events).await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert_eq!(reply.json["details"][0]["path"], "events");
    assert_eq!(app.get("/api/events").await.json["total"], 0);
}

#[tokio::test]
async fn batch_of_1000_events_is_stored() {
    let app = app().await;
    let events = (0..1000)
        .map(|_| tool_call("s1", "a1", "2026-02-07T10:00:00Z"))
        .collect();
    let reply = app.ingest(events).await;
    assert_eq!(reply.status, StatusCode::CREATED);
    assert_eq!(reply.json["ingested"], 1000);
}

#[tokio::test]
async fn body_over_one_mebibyte_gets_413_json() {
    let app = app().await;
    let mut event = tool_call("s1", "a1", "2026-02-07T10:00:00Z");
    event["payload"]["arguments"]["blob"] = json!("x".repeat(10 * 1024 * 1024));
    let body = serde_json::to_vec(&json!({ "events": [event] })).unwrap();
    let reply = app.send(Method::POST, "/api/events", Some(body)).await;

    assert_eq!(reply.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(reply.json["error"], "Request body too large");
    assert_eq!(reply.json["status"], 413);
    assert_eq!(reply.json["maxSize"], "1MiB");
    assert_eq!(reply.json["maxBytes"], 1_048_576);
    let hint = reply.json["hint"].as_str().unwrap();
    assert!(hint.contains("1048576 bytes"), "{hint}");
    assert!(hint.contains("send fewer events per request"), "{hint}");
    assert_eq!(app.get("/api/events").await.json["total"], 0);
}

#[tokio::test]
async fn invalid_json_body_gets_400() {
    let app = app().await;
    for body in [&b"{not json"[..], b"null", b"\"\"", b"0"] {
        let reply = app
            .send(Method::POST, "/api/events", Some(body.to_vec()))
            .await;
        assert_eq!(
            reply.status,
            StatusCode::BAD_REQUEST,
            "body {:?}",
            String::from_utf8_lossy(body)
        );
        assert_eq!(reply.json["error"], "Invalid JSON body");
        assert_eq!(reply.json["details"][0]["path"], "");
    }
}

#[tokio::test]
async fn empty_body_is_called_empty() {
    let app = app().await;

    let reply = app
        .send(Method::POST, "/api/events", Some(Vec::new()))
        .await;

    assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{}", reply.text);
    assert_eq!(reply.json["error"], "Invalid JSON body");
    let message = reply.json["details"][0]["message"].as_str().unwrap();
    assert!(message.contains("the body is empty"), "{message}");
}

#[tokio::test]
async fn duplicate_key_gets_400_naming_it() {
    let app = app().await;
    let event = r#"{"sessionId":"s1","agentId":"a1","eventType":"cost_tracked",
        "payload":{"provider":"openai","model":"gpt-4o","inputTokens":1,"outputTokens":1,
        "costUsd":"0.01","costUsd":"1000"}}"#;
    let envelope = r#"{"sessionId":"s1","sessionId":"s2","agentId":"a1",
        "eventType":"session_started","payload":{}}"#;

    let cases = [
        (event, "events.0.payload.costUsd"),
        (envelope, "events.0.sessionId"),
    ];
    for (event, path) in cases {
        let body = format!(r#"{{"events":[{event}]}}"#).into_bytes();
        let reply = app.send(Method::POST, "/api/events", Some(body)).await;

        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{}", reply.text);
        assert_eq!(reply.json["details"][0]["path"], path);
        let message = reply.json["details"][0]["message"].as_str().unwrap();
        assert!(message.contains("duplicate key"), "{message}");
        assert!(
            message.contains("send each key of an object once"),
            "{message}"
        );
    }
    assert_eq!(app.get("/api/events").await.json["total"], 0);
}

#[tokio::test]
async fn repeated_dotted_key_path_is_bracketed() {
    let app = app().await;
    let cases = [
        (r#""a.b":1,"a.b":2"#, r#"events.0.payload["a.b"]"#),
        (r#""a":{"b":1,"b":2}"#, "events.0.payload.a.b"),
        (r#""":1,"":2"#, r#"events.0.payload[""]"#),
        (r#""q\"k":1,"q\"k":2"#, r#"events.0.payload["q\"k"]"#),
        (r#""x[1]":1,"x[1]":2"#, r#"events.0.payload["x[1]"]"#),
        (r#""prix€":1,"prix€":2"#, r#"events.0.payload["prix€"]"#),
    ];

    for (keys, path) in cases {
        let body = format!(
            r#"{{"events":[{{"sessionId":"s1","agentId":"a1","eventType":"custom",
            "payload":{{"type":"t","data":{{}},{keys}}}}}]}}"#
        );
        let reply = app
            .send(Method::POST, "/api/events", Some(body.into_bytes()))
            .await;

        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{}", reply.text);
        assert_eq!(reply.json["details"][0]["path"], path, "{keys}");
    }
}

#[tokio::test]
async fn cost_string_with_spaces_gets_400() {
    let app = app().await;

    let reply = app
        .ingest(vec![cost_event(
            "s1",
            "a1",
            "gpt-4o",
            json!(" 1"),
            "2026-02-07T10:00:00Z",
        )])
        .await;

    assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{}", reply.text);
    assert_eq!(reply.json["details"][0]["path"], "events.0.payload.costUsd");
}

#[tokio::test]
async fn impossible_event_date_names_missing_day() {
    let app = app().await;

    let reply = app
        .ingest(vec![tool_call("s1", "a1", "2026-02-30T10:00:00Z")])
        .await;

    assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{}", reply.text);
    let message = reply.json["details"][0]["message"].as_str().unwrap();
    assert!(message.contains("2026-02 has 28 days"), "{message}");
}

#[tokio::test]
async fn invalid_json_body_names_position_and_value() {
    let app = app().await;
    for (body, expected) in [
        (
            &b"{\"events\": [}"[..],
            "expected value at line 1 column 13",
        ),
        (b"{'events': []}", "key must be a string at line 1 column 2"),
        (b"null", "expected a JSON object, got null"),
    ] {
        let reply = app
            .send(Method::POST, "/api/events", Some(body.to_vec()))
            .await;

        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{}", reply.text);
        let message = reply.json["details"][0]["message"].as_str().unwrap();
        assert!(message.contains(expected), "{message}");
    }
}

#[tokio::test]
async fn wrong_method_gets_json_405_listing_allowed() {
    let app = app().await;

    let reply = app.send(Method::PATCH, "/api/events", None).await;

    assert_eq!(reply.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(reply.json["error"], "Method not allowed");
    assert_eq!(reply.json["status"], 405);
    let allowed: Vec<&str> = reply.json["allowed"]
        .as_array()
        .unwrap()
        .iter()
        .map(|method| method.as_str().unwrap())
        .collect();
    assert!(allowed.contains(&"GET"), "{allowed:?}");
    assert!(allowed.contains(&"POST"), "{allowed:?}");
    assert!(reply.headers.contains_key("allow"));
    assert_eq!(reply.api_version.as_deref(), Some("v1"));
}

/// A change that makes a valid event invalid.
type Mutation = fn(&mut Value);

#[tokio::test]
async fn invalid_fields_are_reported_by_path() {
    let app = app().await;
    let base = cost_event("s1", "a1", "gpt-4.1", json!(0.01), "2026-02-07T10:00:00Z");
    let cases: [(&str, Mutation); 6] = [
        ("events.0.sessionId", |e| {
            drop(e.as_object_mut().unwrap().remove("sessionId"))
        }),
        ("events.0.payload.inputTokens", |e| {
            e["payload"]["inputTokens"] = json!(-5)
        }),
        ("events.0.payload.costUsd", |e| {
            e["payload"]["costUsd"] = json!("NaN")
        }),
        ("events.0.payload.costUsd", |e| {
            e["payload"]["costUsd"] = json!(-0.5)
        }),
        ("events.0.payload", |e| e["payload"] = json!([1, 2])),
        ("events.0.agentId", |e| e["agentId"] = json!(7)),
    ];
    for (path, mutate) in cases {
        let mut event = base.clone();
        mutate(&mut event);
        let reply = app.ingest(vec![event]).await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "case {path}");
        let paths: Vec<&str> = reply.json["details"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d["path"].as_str().unwrap())
            .collect();
        assert!(paths.contains(&path), "expected {path} in {paths:?}");
    }
    assert_eq!(app.get("/api/events").await.json["total"], 0);
}

#[tokio::test]
async fn offset_timestamp_is_normalised_to_utc() {
    let app = app().await;
    let reply = app
        .ingest(vec![tool_call("s1", "a1", "2026-02-07T15:30:00.5+05:30")])
        .await;
    assert_eq!(reply.status, StatusCode::CREATED);
    let id = reply.json["events"][0]["id"].as_str().unwrap();
    let event = app.get(&format!("/api/events/{id}")).await;
    assert_eq!(event.json["timestamp"], "2026-02-07T10:00:00.500000Z");
}

#[tokio::test]
async fn missing_timestamp_uses_server_time() {
    let app = app().await;
    let mut event = tool_call("s1", "a1", "unused");
    event.as_object_mut().unwrap().remove("timestamp");
    let before = agentlens_core::event::format_timestamp(&chrono::Utc::now());
    let reply = app.ingest(vec![event]).await;
    let after = agentlens_core::event::format_timestamp(&chrono::Utc::now());

    let id = reply.json["events"][0]["id"].as_str().unwrap();
    let stored = app.get(&format!("/api/events/{id}")).await.json;
    let timestamp = stored["timestamp"].as_str().unwrap();
    assert!(
        before.as_str() <= timestamp && timestamp <= after.as_str(),
        "{timestamp}"
    );
}

#[tokio::test]
async fn missing_cost_is_derived_or_unpriced() {
    let app = app().await;
    let reply = app
        .ingest(vec![
            llm_response("s1", "a1", "gpt-4.1", Value::Null, "2026-02-07T10:00:00Z"),
            llm_response(
                "s1",
                "a1",
                "no-such-model-xyz",
                Value::Null,
                "2026-02-07T10:00:01Z",
            ),
        ])
        .await;
    assert_eq!(reply.status, StatusCode::CREATED);

    let session = app.get("/api/sessions/s1").await.json;
    assert_eq!(session["unpricedEventCount"], 1);
    assert_eq!(session["llmCallCount"], 2);
    // The embedded table prices gpt-4.1 at $2 per million input tokens, $0.50 per million
    // cached input tokens and $8 per million output tokens, so 900 fresh and 100 cached
    // input tokens plus 200 output tokens cost $0.00345.
    assert_eq!(session["totalCostUsd"].to_string(), "0.00345");
}

#[tokio::test]
async fn derived_cost_overflow_names_token_field() {
    let app = app().await;
    // Below the 2^53 - 1 token maximum, but priced at millions of times $9,223,372.
    let huge = 9_000_000_000_000_000_u64;
    let cost_tracked = json!({"sessionId": "s1", "agentId": "a1", "eventType": "cost_tracked",
        "payload": {"provider": "openai", "model": "gpt-4o",
            "inputTokens": huge, "outputTokens": 10}});
    let mut response = llm_response("s1", "a1", "gpt-4o", Value::Null, "2026-02-07T10:00:00Z");
    response["payload"]["usage"] =
        json!({"inputTokens": 10, "outputTokens": huge, "totalTokens": huge + 10});
    let reply = app.ingest(vec![cost_tracked, response]).await;

    assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{}", reply.text);
    let details = reply.json["details"].as_array().unwrap();
    assert_eq!(details.len(), 2, "{}", reply.text);
    assert_eq!(details[0]["path"], "events.0.payload.inputTokens");
    assert_eq!(details[1]["path"], "events.1.payload.usage.outputTokens");
    let message = details[0]["message"].as_str().unwrap();
    // 9e15 input tokens at $2.50 and 10 output tokens at $10 per million, as an exact
    // decimal rather than a float.
    assert!(
        message.starts_with("derived cost 22500000000.0001 USD"),
        "{message}"
    );
    assert!(!message.contains("e10"), "{message}");
    assert!(message.contains("9,223,372 USD"), "{message}");
    assert!(message.contains("check the token counts"), "{message}");
    assert!(!reply.text.contains("costUsd"), "{}", reply.text);
}

#[tokio::test]
async fn reported_cost_overflow_names_cost_field() {
    let app = app().await;
    let event = cost_event("s1", "a1", "gpt-4o", json!(1e13), "2026-02-07T10:00:00Z");
    let reply = app.ingest(vec![event]).await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{}", reply.text);
    assert_eq!(reply.json["details"][0]["path"], "events.0.payload.costUsd");
}
