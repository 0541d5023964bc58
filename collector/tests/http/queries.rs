//! Event and session queries, session counts, 404s, the API version header and the server
//! information.

use axum::http::StatusCode;
use serde_json::json;

use crate::common::{app, cost_event, tool_call};

#[tokio::test]
async fn events_filter_and_page() {
    let app = app().await;
    let mut error = tool_call("s2", "a2", "2026-02-07T10:00:03Z");
    error["severity"] = json!("error");
    app.ingest(vec![
        tool_call("s1", "a1", "2026-02-07T10:00:00Z"),
        tool_call("s1", "a1", "2026-02-07T10:00:01Z"),
        cost_event("s1", "a1", "gpt-4.1", json!(0.5), "2026-02-07T10:00:02Z"),
        error,
    ])
    .await;

    let page = app
        .get("/api/events?sessionId=s1&limit=2&order=asc")
        .await
        .json;
    assert_eq!(page["total"], 3);
    assert_eq!(page["hasMore"], true);
    assert_eq!(
        page["events"][0]["timestamp"],
        "2026-02-07T10:00:00.000000Z"
    );
    assert_eq!(page["events"].as_array().unwrap().len(), 2);

    let typed = app
        .get("/api/events?eventType=cost_tracked,session_ended")
        .await
        .json;
    assert_eq!(typed["total"], 1);
    assert_eq!(typed["events"][0]["payload"]["costUsd"], 0.5);
    assert_eq!(
        app.get("/api/events?severity=error,critical").await.json["total"],
        1
    );
    let window = "/api/events?from=2026-02-07T15:30:01%2B05:30&to=2026-02-07T10:00:02Z";
    assert_eq!(app.get(window).await.json["total"], 2);
    let bad = app.get("/api/events?from=yesterday").await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn unknown_ids_get_json_404() {
    let app = app().await;
    let event = app.get("/api/events/01HXY0000000000000000000000").await;
    assert_eq!(event.status, StatusCode::NOT_FOUND);
    assert_eq!(
        event.json,
        json!({"error": "Event not found", "status": 404})
    );
    let session = app.get("/api/sessions/nope").await;
    assert_eq!(
        session.json,
        json!({"error": "Session not found", "status": 404})
    );
    let route = app.get("/api/no/such/route").await;
    assert_eq!(route.status, StatusCode::NOT_FOUND);
    assert_eq!(route.json, json!({"error": "Not found", "status": 404}));
    assert_eq!(route.api_version.as_deref(), Some("v1"));
}

#[tokio::test]
async fn event_date_bounds_follow_tz() {
    let app = app().await;
    let reply = app
        .ingest(vec![
            tool_call("s1", "a1", "2026-02-07T02:00:00Z"),
            tool_call("s1", "a1", "2026-02-07T06:00:00Z"),
        ])
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);

    // 7 February in New York runs from 05:00 UTC to 05:00 UTC the next day.
    let zoned = app
        .get("/api/events?from=2026-02-07&to=2026-02-07&tz=America/New_York")
        .await;
    assert_eq!(zoned.status, StatusCode::OK, "{}", zoned.text);
    assert_eq!(zoned.json["total"], 1, "{}", zoned.text);
    let utc = app.get("/api/events?from=2026-02-07&to=2026-02-07").await;
    assert_eq!(utc.json["total"], 2, "{}", utc.text);
    let bad = app.get("/api/events?tz=Mars/Olympus").await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn session_date_bounds_follow_tz() {
    let app = app().await;
    let reply = app
        .ingest(vec![
            tool_call("s1", "a1", "2026-02-07T02:00:00Z"),
            tool_call("s2", "a1", "2026-02-07T06:00:00Z"),
        ])
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);

    // 7 February in New York runs from 05:00 UTC to 05:00 UTC the next day.
    let zoned = app
        .get("/api/sessions?from=2026-02-07&to=2026-02-07&tz=America/New_York")
        .await;
    assert_eq!(zoned.status, StatusCode::OK, "{}", zoned.text);
    assert_eq!(zoned.json["total"], 1, "{}", zoned.text);
    assert_eq!(zoned.json["sessions"][0]["id"], "s2", "{}", zoned.text);
    let utc = app.get("/api/sessions?from=2026-02-07&to=2026-02-07").await;
    assert_eq!(utc.json["total"], 2, "{}", utc.text);
    let bad = app.get("/api/sessions?tz=Mars/Olympus").await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert!(bad.json["error"].as_str().unwrap().contains("Mars/Olympus"));
}

#[tokio::test]
async fn long_filter_value_is_cut_in_error() {
    let app = app().await;
    let value = "x".repeat(6_000);

    let reply = app.get(&format!("/api/events?tz={value}")).await;

    assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{}", reply.text);
    let error = reply.json["error"].as_str().unwrap();
    assert!(error.len() < 1_200, "error of {} bytes", error.len());
    assert!(error.ends_with("bytes in all)"), "{error}");
}

#[tokio::test]
async fn event_filters_reject_unknown_values() {
    let app = app().await;
    for (uri, value, listed) in [
        ("/api/events?eventType=bogus", "\"bogus\"", "llm_call"),
        (
            "/api/events?eventType=tool_call,bogus",
            "\"bogus\"",
            "eval_result",
        ),
        ("/api/events?severity=fatal", "\"fatal\"", "critical"),
    ] {
        let reply = app.get(uri).await;

        assert_eq!(
            reply.status,
            StatusCode::BAD_REQUEST,
            "{uri}: {}",
            reply.text
        );
        let error = reply.json["error"].as_str().unwrap();
        assert!(error.contains(value), "{uri}: {error}");
        assert!(error.contains(listed), "{uri}: {error}");
    }

    let known = app
        .get("/api/events?eventType=eval_result,tool_call&severity=info")
        .await;
    assert_eq!(known.status, StatusCode::OK, "{}", known.text);
}

#[tokio::test]
async fn session_count_only_rejects_non_boolean() {
    let app = app().await;

    let reply = app.get("/api/sessions?countOnly=maybe").await;

    assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{}", reply.text);
    let error = reply.json["error"].as_str().unwrap();
    assert!(error.contains("\"maybe\""), "{error}");
    assert!(error.contains("expected true or false"), "{error}");
}

#[tokio::test]
async fn non_utf8_path_ids_get_json_400() {
    let app = app().await;
    for path in [
        "/api/sessions/%FF",
        "/api/sessions/%FF/timeline",
        "/api/events/%C3%28",
    ] {
        let reply = app.get(path).await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{path}");
        assert_eq!(reply.json["status"], 400, "{path}: {}", reply.text);
        let error = reply.json["error"].as_str().unwrap();
        assert!(error.starts_with("invalid id in the path"), "{error}");
    }
}

#[tokio::test]
async fn session_follows_its_events() {
    let app = app().await;
    let started = json!({
        "sessionId": "s1", "agentId": "a1", "eventType": "session_started",
        "timestamp": "2026-02-07T10:00:00Z",
        "payload": {"agentName": "Researcher", "tags": ["prod", "eu"]},
    });
    let ended = json!({
        "sessionId": "s1", "agentId": "a1", "eventType": "session_ended",
        "timestamp": "2026-02-07T10:05:00Z", "payload": {"reason": "error"},
    });
    let mut failed_tool = tool_call("s1", "a1", "2026-02-07T10:01:00Z");
    failed_tool["severity"] = json!("critical");
    let reply = app
        .ingest(vec![
            started,
            failed_tool,
            cost_event("s1", "a1", "gpt-4.1", json!(0.25), "2026-02-07T10:02:00Z"),
            ended,
        ])
        .await;
    assert_eq!(reply.status, StatusCode::CREATED);
    // A late event after the end still moves lastEventAt forward.
    app.ingest(vec![tool_call("s1", "a1", "2026-02-07T10:09:00Z")])
        .await;

    let session = app.get("/api/sessions/s1").await.json;
    assert_eq!(session["agentName"], "Researcher");
    assert_eq!(session["status"], "error");
    assert_eq!(session["startedAt"], "2026-02-07T10:00:00.000000Z");
    assert_eq!(session["endedAt"], "2026-02-07T10:05:00.000000Z");
    assert_eq!(session["lastEventAt"], "2026-02-07T10:09:00.000000Z");
    assert_eq!(session["eventCount"], 5);
    assert_eq!(session["errorCount"], 1);
    assert_eq!(session["toolCallCount"], 2);
    assert_eq!(session["totalInputTokens"], 121);
    assert_eq!(session["totalOutputTokens"], 400);
    assert_eq!(session["tags"], json!(["prod", "eu"]));

    assert_eq!(app.get("/api/sessions?status=error").await.json["total"], 1);
    assert_eq!(
        app.get("/api/sessions?status=active,completed").await.json["total"],
        0
    );
    assert_eq!(
        app.get("/api/sessions?tags=eu,other").await.json["total"],
        1
    );
    assert_eq!(app.get("/api/sessions?agentId=a2").await.json["total"], 0);
    let bad = app.get("/api/sessions?status=paused").await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
}

/// Returns a `session_started` or `session_ended` event of session `s1` at `timestamp`, with
/// the `reason` `error` that only `session_ended` reads.
fn lifecycle_event(event_type: &str, timestamp: &str) -> serde_json::Value {
    json!({
        "sessionId": "s1", "agentId": "a1", "eventType": event_type,
        "timestamp": timestamp, "payload": {"reason": "error"},
    })
}

#[tokio::test]
async fn late_session_started_keeps_session_ended() {
    let app = app().await;
    app.ingest(vec![
        lifecycle_event("session_started", "2026-02-07T10:00:00Z"),
        lifecycle_event("session_ended", "2026-02-07T10:05:00Z"),
    ])
    .await;

    for resent_at in ["2026-02-07T10:00:00Z", "2026-02-07T10:05:00Z"] {
        let reply = app
            .ingest(vec![lifecycle_event("session_started", resent_at)])
            .await;
        assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);

        let session = app.get("/api/sessions/s1").await.json;
        assert_eq!(session["status"], "error", "start at {resent_at}");
        assert_eq!(
            session["endedAt"], "2026-02-07T10:05:00.000000Z",
            "start at {resent_at}"
        );
    }
}

#[tokio::test]
async fn earlier_session_ended_keeps_later_end() {
    let app = app().await;
    let completed = json!({
        "sessionId": "s1", "agentId": "a1", "eventType": "session_ended",
        "timestamp": "2026-02-07T10:05:00Z", "payload": {"reason": "completed"},
    });
    app.ingest(vec![
        lifecycle_event("session_started", "2026-02-07T10:00:00Z"),
        completed,
    ])
    .await;

    let reply = app
        .ingest(vec![lifecycle_event(
            "session_ended",
            "2026-02-07T10:03:00Z",
        )])
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);

    let session = app.get("/api/sessions/s1").await.json;
    assert_eq!(session["status"], "completed");
    assert_eq!(session["endedAt"], "2026-02-07T10:05:00.000000Z");
}

#[tokio::test]
async fn later_session_started_resumes_ended_session() {
    let app = app().await;
    app.ingest(vec![
        lifecycle_event("session_started", "2026-02-07T10:00:00Z"),
        lifecycle_event("session_ended", "2026-02-07T10:05:00Z"),
        lifecycle_event("session_started", "2026-02-07T10:07:00Z"),
    ])
    .await;

    let resumed = app.get("/api/sessions/s1").await.json;
    assert_eq!(resumed["status"], "active");
    assert!(resumed.get("endedAt").is_none(), "{resumed}");
    assert_eq!(
        app.get("/api/sessions?status=active").await.json["total"],
        1
    );

    app.ingest(vec![lifecycle_event(
        "session_ended",
        "2026-02-07T10:09:00Z",
    )])
    .await;
    let ended_again = app.get("/api/sessions/s1").await.json;
    assert_eq!(ended_again["status"], "error");
    assert_eq!(ended_again["endedAt"], "2026-02-07T10:09:00.000000Z");
}

#[tokio::test]
async fn late_end_leaves_resumed_session_active() {
    let app = app().await;
    app.ingest(vec![
        lifecycle_event("session_started", "2026-02-07T10:00:00Z"),
        lifecycle_event("session_ended", "2026-02-07T10:05:00Z"),
        lifecycle_event("session_started", "2026-02-07T10:07:00Z"),
    ])
    .await;

    // A resent end of the first run, and a late one from before the resume.
    for late in ["2026-02-07T10:05:00Z", "2026-02-07T10:06:00Z"] {
        let reply = app
            .ingest(vec![lifecycle_event("session_ended", late)])
            .await;
        assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
        let session = app.get("/api/sessions/s1").await.json;
        assert_eq!(session["status"], "active", "{late}");
        assert!(session.get("endedAt").is_none(), "{session}");
    }

    // An end at the resume or later ends the resumed run, and survives a restart.
    app.ingest(vec![lifecycle_event(
        "session_ended",
        "2026-02-07T10:07:00Z",
    )])
    .await;
    let app = app.reopen().await;
    app.ingest(vec![lifecycle_event(
        "session_ended",
        "2026-02-07T10:06:30Z",
    )])
    .await;
    let ended = app.get("/api/sessions/s1").await.json;
    assert_eq!(ended["status"], "error");
    assert_eq!(ended["endedAt"], "2026-02-07T10:07:00.000000Z");
}

#[tokio::test]
async fn server_info_names_price_table() {
    let app = app().await;
    let reply = app.get("/api/server-info").await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    assert_eq!(reply.json["version"], env!("CARGO_PKG_VERSION"));
    let features = reply.json["features"].as_array().unwrap();
    assert!(features.iter().any(|feature| feature == "sessions"));
    assert!(features.iter().any(|feature| feature == "alerts"));
    let pricing = &reply.json["pricing"];
    let table = agentlens_core::pricing::PriceTable::embedded();
    assert_eq!(pricing["source"], table.source());
    assert_eq!(pricing["version"], table.version());
    assert!(pricing["version"].as_str().unwrap().starts_with("pv_"));
    assert_eq!(pricing["asOf"], table.generated().to_string());
}

#[tokio::test]
async fn session_count_uses_filters() {
    let app = app().await;
    let ended = json!({"sessionId": "s3", "agentId": "a1",
        "eventType": "session_ended", "timestamp": "2026-02-07T10:00:09Z",
        "payload": {"reason": "completed"}});
    app.ingest(vec![
        tool_call("s1", "a1", "2026-02-07T10:00:00Z"),
        tool_call("s2", "a2", "2026-02-07T10:00:01Z"),
        tool_call("s3", "a1", "2026-02-07T10:00:02Z"),
        ended,
    ])
    .await;

    let all = app.get("/api/sessions?countOnly=true").await;
    assert_eq!(all.status, StatusCode::OK, "{}", all.text);
    assert_eq!(all.json, json!({"count": 3}));
    let agent = app
        .get("/api/sessions?countOnly=true&agentId=a1&limit=1")
        .await;
    assert_eq!(agent.json, json!({"count": 2}));
    let completed = app
        .get("/api/sessions?countOnly=true&status=completed")
        .await;
    assert_eq!(completed.json, json!({"count": 1}));
    let listing = app.get("/api/sessions?countOnly=false").await;
    assert_eq!(listing.json["total"], 3);
}

/// Returns a `tool_call` event whose query argument is `text`.
fn query_call(session: &str, text: &str, timestamp: &str) -> serde_json::Value {
    let mut event = tool_call(session, "a1", timestamp);
    event["payload"]["arguments"] = json!({ "q": text });
    event
}

#[tokio::test]
async fn events_search_matches_payload_text() {
    let app = app().await;
    let reply = app
        .ingest(vec![
            query_call("s1", "50%_off", "2026-02-07T10:00:00Z"),
            query_call("s1", "50X off", "2026-02-07T10:00:01Z"),
            query_call("s2", r"C:\tmp", "2026-02-07T10:00:02Z"),
            query_call("s2", &"x".repeat(500), "2026-02-07T10:00:03Z"),
            cost_event("s2", "a1", "gpt-4.1", json!(0.5), "2026-02-07T10:00:04Z"),
        ])
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
    let total = |query: String| {
        let app = &app;
        async move {
            let reply = app.get(&format!("/api/events?{query}")).await;
            assert_eq!(reply.status, StatusCode::OK, "{query}: {}", reply.text);
            reply.json["total"].clone()
        }
    };

    // `%` and `_` match themselves, not any text.
    assert_eq!(total("search=50%25_off".into()).await, 1);
    assert_eq!(total("search=_".into()).await, 1);
    // The backslash of C:\tmp is stored escaped as `\\` in the JSON text.
    assert_eq!(total(r"search=C:%5C%5Ctmp".into()).await, 1);
    assert_eq!(total("search=%5C".into()).await, 1);
    // ASCII letters match in any case.
    assert_eq!(total("search=GPT-4.1".into()).await, 1);
    assert_eq!(total("search=toolName".into()).await, 4);
    // Combined with the other filters.
    assert_eq!(total("search=toolName&sessionId=s2".into()).await, 2);
    assert_eq!(
        total("search=toolName&eventType=cost_tracked".into()).await,
        0
    );
    assert_eq!(
        total("search=toolName&to=2026-02-07T10:00:01Z".into()).await,
        2
    );
    // Only the first 500 characters are used, so the trailing `y`s do not matter.
    let long = format!("{}{}", "x".repeat(500), "y".repeat(100));
    assert_eq!(total(format!("search={long}")).await, 1);
    assert_eq!(total(format!("search={}y", "x".repeat(499))).await, 0);
    // An empty search is rejected like any empty parameter, not read as matching everything.
    let empty = app.get("/api/events?search=").await;
    assert_eq!(empty.status, StatusCode::BAD_REQUEST, "{}", empty.text);
}

#[tokio::test]
async fn exclude_metrics_takes_only_booleans() {
    let app = app().await;
    let mut metric = tool_call("s1", "a1", "2026-02-07T10:00:01Z");
    metric["metadata"] = json!({"source": "otlp_metric"});
    app.ingest(vec![tool_call("s1", "a1", "2026-02-07T10:00:00Z"), metric])
        .await;

    let maybe = app.get("/api/events?excludeMetrics=maybe").await;

    assert_eq!(maybe.status, StatusCode::BAD_REQUEST, "{}", maybe.text);
    let message = maybe.json["error"].as_str().unwrap_or_default();
    assert!(message.contains("excludeMetrics"), "{message}");
    assert!(message.contains("expected true or false"), "{message}");
    let without = app.get("/api/events?excludeMetrics=true").await;
    assert_eq!(without.json["total"], 1, "{}", without.text);
    let with = app.get("/api/events?excludeMetrics=false").await;
    assert_eq!(with.json["total"], 2, "{}", with.text);
}

#[tokio::test]
async fn empty_id_filter_is_rejected() {
    let app = app().await;
    app.ingest(vec![tool_call("s1", "a1", "2026-02-07T10:00:00Z")])
        .await;

    for uri in [
        "/api/events?sessionId=",
        "/api/events?agentId=",
        "/api/sessions?agentId=",
    ] {
        let reply = app.get(uri).await;

        assert_eq!(
            reply.status,
            StatusCode::BAD_REQUEST,
            "{uri}: {}",
            reply.text
        );
        let message = reply.json["error"].as_str().unwrap_or_default();
        assert!(message.contains("the value is empty"), "{uri}: {message}");
    }
}

#[tokio::test]
async fn empty_list_filter_item_is_rejected() {
    let app = app().await;
    app.ingest(vec![tool_call("s1", "a1", "2026-02-07T10:00:00Z")])
        .await;

    for (uri, reason) in [
        ("/api/events?eventType=", "the value is empty"),
        ("/api/events?eventType=,,", "an item is empty"),
        ("/api/events?eventType=tool_call,", "an item is empty"),
        ("/api/events?severity=", "the value is empty"),
        ("/api/sessions?status=", "the value is empty"),
        ("/api/sessions?tags=", "the value is empty"),
        ("/api/sessions?tags=a,,b", "an item is empty"),
    ] {
        let reply = app.get(uri).await;

        assert_eq!(
            reply.status,
            StatusCode::BAD_REQUEST,
            "{uri}: {}",
            reply.text
        );
        let message = reply.json["error"].as_str().unwrap_or_default();
        assert!(message.contains(reason), "{uri}: {message}");
    }
    let listed = app.get("/api/events?eventType=tool_call,%20llm_call").await;
    assert_eq!(listed.status, StatusCode::OK, "{}", listed.text);
    assert_eq!(listed.json["total"], 1);
}
