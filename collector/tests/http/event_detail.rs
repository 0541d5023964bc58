//! `GET /api/events/{id}` and `GET /api/events` show the cost the collector stored beside
//! the hashed payload: `pricing` with the exact cost, its source, the price table version
//! and entry, and the reason for an unpriced event.

use axum::http::StatusCode;
use serde_json::{json, Value};

use crate::common::{app, tool_call, TestApp};

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

/// Ingests one event and returns the body of `GET /api/events/{id}`.
async fn stored(app: &TestApp, event: Value) -> Value {
    let reply = app.ingest(vec![event]).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
    let id = reply.json["events"][0]["id"].as_str().unwrap().to_owned();
    let detail = app.get(&format!("/api/events/{id}")).await;
    assert_eq!(detail.status, StatusCode::OK, "{}", detail.text);
    detail.json
}

async fn pricing_version(app: &TestApp) -> String {
    let info = app.get("/api/server-info").await;
    info.json["pricing"]["version"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn derived_cost_shows_version_and_entry() {
    let app = app().await;
    let payload = json!({"provider": "openai", "model": "gpt-4o-2024-08-06",
        "inputTokens": 2006, "outputTokens": 300, "cacheReadTokens": 1920});

    let event = stored(&app, cost_tracked("derived", payload.clone())).await;

    let pricing = &event["pricing"];
    assert_eq!(pricing["costUsd"], "0.005615", "{event}");
    assert_eq!(pricing["source"], "derived");
    assert_eq!(pricing["pricingVersion"], pricing_version(&app).await);
    assert_eq!(pricing["entry"]["provider"], "openai");
    assert_eq!(pricing["entry"]["model"], "gpt-4o");
    assert!(pricing.get("unpricedReason").is_none(), "{event}");
    assert_eq!(
        event["payload"], payload,
        "the hashed payload must stay as sent"
    );
}

#[tokio::test]
async fn reported_cost_keeps_every_digit() {
    let app = app().await;
    let payload = json!({"provider": "openai", "model": "gpt-4o", "inputTokens": 10,
        "outputTokens": 5, "costUsd": "1234567.123456789012"});

    let event = stored(&app, cost_tracked("reported", payload)).await;

    let pricing = &event["pricing"];
    assert_eq!(pricing["costUsd"], "1234567.123456789012", "{event}");
    assert_eq!(pricing["source"], "reported");
    assert!(pricing["pricingVersion"].is_null(), "{event}");
    assert!(pricing["entry"].is_null(), "{event}");
}

#[tokio::test]
async fn unpriced_event_shows_reason_not_zero() {
    let app = app().await;
    let payload = json!({"provider": "openai", "model": "no-such-model-9000",
        "inputTokens": 100, "outputTokens": 10});

    let event = stored(&app, cost_tracked("unpriced", payload)).await;

    let pricing = &event["pricing"];
    assert!(pricing["costUsd"].is_null(), "{event}");
    assert_eq!(pricing["source"], "unpriced");
    assert_eq!(pricing["pricingVersion"], pricing_version(&app).await);
    assert!(pricing["entry"].is_null(), "{event}");
    let reason = pricing["unpricedReason"].as_str().unwrap_or_default();
    assert!(reason.contains("no-such-model-9000"), "{event}");
}

#[tokio::test]
async fn unpriced_tier_reason_names_tier() {
    let app = app().await;
    // Haiku 4.5 has no priority price, so the tier leaves the call unpriced.
    let payload = json!({"provider": "anthropic", "model": "claude-haiku-4-5",
        "inputTokens": 100, "outputTokens": 10, "serviceTier": "priority"});

    let event = stored(&app, cost_tracked("tier", payload)).await;

    let pricing = &event["pricing"];
    assert_eq!(pricing["source"], "unpriced", "{event}");
    let reason = pricing["unpricedReason"].as_str().unwrap_or_default();
    assert!(reason.contains("priority"), "{event}");
}

#[tokio::test]
async fn event_without_cost_has_no_pricing() {
    let app = app().await;

    let event = stored(&app, tool_call("plain", "a", AT)).await;

    assert!(event.get("pricing").is_none(), "{event}");
}

#[tokio::test]
async fn event_list_shows_pricing_of_each_event() {
    let app = app().await;
    let derived = json!({"provider": "openai", "model": "gpt-4o-2024-08-06",
        "inputTokens": 2006, "outputTokens": 300, "cacheReadTokens": 1920});
    let unknown = json!({"provider": "openai", "model": "no-such-model-9000",
        "inputTokens": 100, "outputTokens": 10});
    let reply = app
        .ingest(vec![
            cost_tracked("list", derived),
            cost_tracked("list", unknown),
            tool_call("list", "a", AT),
        ])
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);

    let page = app.get("/api/events?sessionId=list&order=asc").await;

    assert_eq!(page.status, StatusCode::OK, "{}", page.text);
    let events = page.json["events"].as_array().unwrap();
    assert_eq!(events.len(), 3, "{}", page.text);
    let by_type = |source: &str| {
        events
            .iter()
            .find(|event| event["pricing"]["source"] == source)
            .unwrap_or_else(|| panic!("no {source} event: {}", page.text))
    };
    assert_eq!(by_type("derived")["pricing"]["costUsd"], "0.005615");
    let reason = &by_type("unpriced")["pricing"]["unpricedReason"];
    assert!(reason.as_str().is_some(), "{}", page.text);
    let plain = events.iter().filter(|event| event.get("pricing").is_none());
    assert_eq!(plain.count(), 1, "{}", page.text);
}

#[tokio::test]
async fn timeline_shows_pricing_with_reason() {
    let app = app().await;
    let unknown = json!({"provider": "openai", "model": "no-such-model-9000",
        "inputTokens": 100, "outputTokens": 10});
    let reply = app.ingest(vec![cost_tracked("timeline", unknown)]).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);

    let timeline = app.get("/api/sessions/timeline/timeline").await;

    assert_eq!(timeline.status, StatusCode::OK, "{}", timeline.text);
    let pricing = &timeline.json["events"][0]["pricing"];
    assert_eq!(pricing["source"], "unpriced", "{}", timeline.text);
    let reason = pricing["unpricedReason"].as_str().unwrap_or_default();
    assert!(reason.contains("no-such-model-9000"), "{}", timeline.text);
    assert_eq!(timeline.json["chainValid"], true);
}

#[tokio::test]
async fn event_found_by_client_id() {
    let app = app().await;
    let mut event = cost_tracked(
        "s1",
        json!({"provider": "openai", "model": "gpt-4o", "inputTokens": 10,
            "outputTokens": 1, "costUsd": "0.25"}),
    );
    event["id"] = json!("client-evt-1");
    let reply = app.ingest(vec![event]).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
    let server_id = reply.json["events"][0]["id"].as_str().unwrap().to_owned();
    assert_ne!(server_id, "client-evt-1");

    let by_client = app.get("/api/events/client-evt-1").await;
    assert_eq!(by_client.status, StatusCode::OK, "{}", by_client.text);
    assert_eq!(by_client.json["id"], server_id.as_str());
    assert_eq!(by_client.json["clientId"], "client-evt-1");
    assert_eq!(by_client.json["pricing"]["costUsd"], "0.25");
    let listed = app.get("/api/events?sessionId=s1").await;
    assert_eq!(listed.json["events"][0]["clientId"], "client-evt-1");
    let missing = app.get("/api/events/client-evt-2").await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn server_id_wins_over_equal_client_id() {
    let app = app().await;
    let payload = json!({"provider": "openai", "model": "gpt-4o", "inputTokens": 10,
        "outputTokens": 1, "costUsd": "0.25"});
    let first = stored(&app, cost_tracked("first", payload.clone())).await;
    let first_id = first["id"].as_str().unwrap().to_owned();
    let mut second = cost_tracked("second", payload);
    second["id"] = json!(first_id);
    let reply = app.ingest(vec![second]).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
    let second_id = reply.json["events"][0]["id"].as_str().unwrap().to_owned();

    let found = app.get(&format!("/api/events/{first_id}")).await;

    assert_eq!(found.status, StatusCode::OK, "{}", found.text);
    assert_eq!(found.json["id"], first_id.as_str(), "{}", found.text);
    assert_eq!(found.json["sessionId"], "first", "{}", found.text);
    let by_own_id = app.get(&format!("/api/events/{second_id}")).await;
    assert_eq!(
        by_own_id.json["clientId"],
        first_id.as_str(),
        "{}",
        by_own_id.text
    );
}

#[tokio::test]
async fn superseded_cost_names_the_counted_response() {
    let app = app().await;
    let mut tracked = cost_tracked(
        "m1",
        json!({"provider": "openai", "model": "gpt-4o", "inputTokens": 10,
            "outputTokens": 5, "costUsd": "0.1", "callId": "c2"}),
    );
    tracked["timestamp"] = json!(AT);
    let tracked = stored(&app, tracked).await;
    assert!(
        tracked["pricing"].get("supersededBy").is_none(),
        "{tracked}"
    );

    let response = json!({"sessionId": "m1", "agentId": "a", "eventType": "llm_response",
        "timestamp": AT, "payload": {"callId": "c2", "provider": "openai",
        "model": "mystery-model-y", "completion": null, "finishReason": "stop",
        "latencyMs": 10, "usage": {"inputTokens": 10, "outputTokens": 5, "totalTokens": 15}}});
    let reply = app.ingest(vec![response]).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
    let response_id = reply.json["events"][0]["id"].as_str().unwrap().to_owned();

    let id = tracked["id"].as_str().unwrap();
    let detail = app.get(&format!("/api/events/{id}")).await.json;
    assert_eq!(detail["pricing"]["costUsd"], "0.1", "{detail}");
    assert_eq!(detail["pricing"]["supersededBy"], response_id.as_str());
}

#[tokio::test]
async fn large_integer_stored_like_javascript() {
    let app = app().await;
    let mut event = tool_call("s-big", "a", AT);
    event["payload"]["requestNumber"] = json!(9_007_199_254_740_993_u64);
    let reply = app.ingest(vec![event]).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
    let id = reply.json["events"][0]["id"].as_str().unwrap().to_owned();

    let detail = app.get(&format!("/api/events/{id}")).await;
    assert!(
        detail.text.contains("\"requestNumber\":9007199254740992"),
        "{}",
        detail.text
    );
    let timeline = app.get("/api/sessions/s-big/timeline").await.json;
    assert_eq!(timeline["chainValid"], true);
}

/// Ingests `event` and returns the server id it got.
async fn ingest_one(app: &TestApp, event: Value) -> String {
    let reply = app.ingest(vec![event]).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
    reply.json["events"][0]["id"].as_str().unwrap().to_owned()
}

fn priced_payload() -> Value {
    json!({"provider": "openai", "model": "gpt-4o", "inputTokens": 10,
        "outputTokens": 1, "costUsd": "0.25"})
}

#[tokio::test]
async fn lowercase_server_id_finds_event() {
    let app = app().await;
    let server_id = ingest_one(&app, cost_tracked("case", priced_payload())).await;
    let lowercase = server_id.to_ascii_lowercase();
    let mixed = format!("{}{}", &lowercase[..10], &server_id[10..]);

    for id in [lowercase, mixed] {
        let found = app.get(&format!("/api/events/{id}")).await;
        assert_eq!(found.status, StatusCode::OK, "{id}: {}", found.text);
        assert_eq!(found.json["id"], server_id.as_str(), "{id}");
        assert_eq!(found.json["sessionId"], "case", "{id}");
    }
}

#[tokio::test]
async fn client_id_lookup_stays_case_sensitive() {
    let app = app().await;
    let mut event = cost_tracked("client", priced_payload());
    event["id"] = json!("Client-Evt-1");
    ingest_one(&app, event).await;

    let exact = app.get("/api/events/Client-Evt-1").await;
    assert_eq!(exact.status, StatusCode::OK, "{}", exact.text);
    let other_case = app.get("/api/events/client-evt-1").await;
    assert_eq!(
        other_case.status,
        StatusCode::NOT_FOUND,
        "{}",
        other_case.text
    );
}

#[tokio::test]
async fn lowercase_lookup_skips_uppercase_client_id() {
    let app = app().await;
    let client_id = "01ARZ3NDEKTSV4RRFFQ69G5FAV";
    let mut event = cost_tracked("ulid-client", priced_payload());
    event["id"] = json!(client_id);
    ingest_one(&app, event).await;

    let exact = app.get(&format!("/api/events/{client_id}")).await;
    assert_eq!(exact.status, StatusCode::OK, "{}", exact.text);
    assert_eq!(exact.json["clientId"], client_id);
    let lowercase = client_id.to_ascii_lowercase();
    let folded = app.get(&format!("/api/events/{lowercase}")).await;
    assert_eq!(folded.status, StatusCode::NOT_FOUND, "{}", folded.text);
}

#[tokio::test]
async fn exact_client_id_wins_over_folded_server_id() {
    let app = app().await;
    let server_id = ingest_one(&app, cost_tracked("server", priced_payload())).await;
    let lowercase = server_id.to_ascii_lowercase();
    let mut event = cost_tracked("lowercase-client", priced_payload());
    event["id"] = json!(lowercase);
    let other_id = ingest_one(&app, event).await;

    let found = app.get(&format!("/api/events/{lowercase}")).await;

    assert_eq!(found.status, StatusCode::OK, "{}", found.text);
    assert_eq!(found.json["id"], other_id.as_str(), "{}", found.text);
    assert_eq!(found.json["clientId"], lowercase.as_str(), "{}", found.text);
    let by_server_id = app.get(&format!("/api/events/{server_id}")).await;
    assert_eq!(
        by_server_id.json["sessionId"], "server",
        "{}",
        by_server_id.text
    );
}
