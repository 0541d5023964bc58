//! Property tests through the router: arbitrary bodies for `POST /api/events` and arbitrary
//! query strings for the `GET` routes never produce a 5xx, and every 4xx body names the
//! problem in `error`.

use axum::http::Method;
use proptest::prelude::*;
use serde_json::{json, Map, Value};

use crate::common::{app, Reply, TestApp};

/// Cases per property when `PROPTEST_CASES` is not set; kept small so `cargo test` stays
/// fast.
const DEFAULT_CASES: u32 = 64;

fn config() -> ProptestConfig {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|cases| cases.parse().ok())
        .unwrap_or(DEFAULT_CASES);
    ProptestConfig::with_cases(cases)
}

/// Field names the ingest schema reads, so generated events often get past the envelope.
const EVENT_KEYS: [&str; 10] = [
    "sessionId",
    "agentId",
    "eventType",
    "severity",
    "timestamp",
    "payload",
    "metadata",
    "id",
    "costUsd",
    "provider",
];

const EVENT_TYPES: [&str; 6] = [
    "cost_tracked",
    "llm_response",
    "tool_call",
    "session_started",
    "custom",
    "no_such_type",
];

fn leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<f64>().prop_map(|n| json!(n)),
        "[a-zA-Z0-9_:.+-]{0,12}".prop_map(Value::String),
        prop::sample::select(EVENT_TYPES.to_vec()).prop_map(|t| json!(t)),
        Just(json!("2026-05-10T12:00:00Z")),
        Just(json!("0.000000000001")),
    ]
}

fn any_json() -> impl Strategy<Value = Value> {
    leaf().prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::vec((prop::sample::select(EVENT_KEYS.to_vec()), inner), 0..6)
                .prop_map(|pairs| {
                    let map: Map<String, Value> =
                        pairs.into_iter().map(|(k, v)| (k.to_owned(), v)).collect();
                    Value::Object(map)
                }),
        ]
    })
}

/// Bodies: raw JSON, `{"events": [...]}` with arbitrary items, or bytes that are not JSON.
fn ingest_body() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        any_json().prop_map(|value| serde_json::to_vec(&value).unwrap()),
        prop::collection::vec(any_json(), 0..4)
            .prop_map(|events| serde_json::to_vec(&json!({ "events": events })).unwrap()),
        prop::collection::vec(any::<u8>(), 0..64),
    ]
}

const GET_PATHS: [&str; 6] = [
    "/api/events",
    "/api/sessions",
    "/api/analytics/costs",
    "/api/analytics/llm",
    "/api/alerts/history",
    "/api/events/x",
];

const PARAMS: [&str; 12] = [
    "from",
    "to",
    "tz",
    "granularity",
    "limit",
    "offset",
    "agentId",
    "eventType",
    "severity",
    "order",
    "status",
    "countOnly",
];

fn query_value() -> impl Strategy<Value = String> {
    prop_oneof![
        "[ -~]{0,16}",
        Just("2026-05-10".to_owned()),
        Just("9999-12-31".to_owned()),
        Just("0000-01-01T00:00:00Z".to_owned()),
        Just("Asia/Kathmandu".to_owned()),
        Just("week".to_owned()),
        any::<i64>().prop_map(|n| n.to_string()),
    ]
}

fn get_uri() -> impl Strategy<Value = String> {
    let pair = (prop::sample::select(PARAMS.to_vec()), query_value());
    (
        prop::sample::select(GET_PATHS.to_vec()),
        prop::collection::vec(pair, 0..5),
    )
        .prop_map(|(path, pairs)| {
            let query: Vec<String> = pairs
                .iter()
                .map(|(name, value)| format!("{name}={}", encode(value)))
                .collect();
            format!("{path}?{}", query.join("&"))
        })
}

/// Percent-encodes everything but unreserved characters.
fn encode(text: &str) -> String {
    text.bytes()
        .map(|byte| match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (byte as char).to_string()
            }
            _ => format!("%{byte:02X}"),
        })
        .collect()
}

/// Checks the rules every reply must follow, and returns a message when one is broken.
fn check(reply: &Reply, request: &str) -> Result<(), TestCaseError> {
    let status = reply.status.as_u16();
    prop_assert!(status < 500, "{request} returned {status}: {}", reply.text);
    if (400..500).contains(&status) {
        let error = reply.json.get("error").and_then(Value::as_str);
        prop_assert!(
            error.is_some_and(|e| !e.is_empty()),
            "{request}: {status} without error: {}",
            reply.text
        );
        if let Some(details) = reply.json.get("details").and_then(Value::as_array) {
            for detail in details {
                let path = detail.get("path").and_then(Value::as_str);
                prop_assert!(path.is_some(), "{request}: detail without path: {detail}");
            }
        }
    }
    Ok(())
}

fn runtime_and_app() -> (tokio::runtime::Runtime, TestApp) {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let app = runtime.block_on(app());
    (runtime, app)
}

#[test]
fn ingest_never_fails_with_5xx() {
    let (runtime, app) = runtime_and_app();
    let config = config();
    proptest!(config, |(body in ingest_body())| {
        let request = format!("POST /api/events {}", String::from_utf8_lossy(&body));
        let reply = runtime.block_on(app.send(Method::POST, "/api/events", Some(body)));
        check(&reply, &request)?;
    });
}

#[test]
fn queries_never_fail_with_5xx() {
    let (runtime, app) = runtime_and_app();
    let config = config();
    proptest!(config, |(uri in get_uri())| {
        let reply = runtime.block_on(app.get(&uri));
        check(&reply, &uri)?;
    });
}
