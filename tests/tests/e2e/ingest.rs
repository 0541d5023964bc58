//! Ingest over real HTTP: rejected input leaves the store unchanged, retries never
//! double-count, and batches larger than the server limit still arrive whole.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use serde_json::{json, Value};

use crate::common::{decimal, Collector, API_KEY};

fn cost_event(id: &str, model: &str, input: u64, output: u64, cost: &str) -> Value {
    json!({
        "id": id,
        "sessionId": "s1",
        "agentId": "a1",
        "eventType": "cost_tracked",
        "timestamp": "2025-12-10T12:47:35Z",
        "payload": {
            "provider": "openai", "model": model, "inputTokens": input,
            "outputTokens": output, "totalTokens": input + output,
            "costUsd": cost.parse::<f64>().unwrap()
        }
    })
}

/// Announces a body of `size` bytes, sends its first 2.5 MiB and returns the status code.
///
/// The collector responds as soon as it has read more than its 1 MiB limit and closes the
/// connection, so an HTTP client that insists on writing the whole body would often see a
/// reset instead of the response.
fn post_oversized_body(collector: &Collector, size: usize) -> u16 {
    let address = collector.url.trim_start_matches("http://");
    let mut stream = TcpStream::connect(address).expect("connects to the collector");
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let head = format!(
        "POST /api/events HTTP/1.1\r\nHost: {address}\r\nAuthorization: Bearer {API_KEY}\r\n\
         Content-Type: application/json\r\nConnection: close\r\nContent-Length: {size}\r\n\r\n"
    );
    stream.write_all(head.as_bytes()).unwrap();
    let chunk = vec![b' '; 64 * 1024];
    for _ in 0..40 {
        if stream.write_all(&chunk).is_err() {
            break;
        }
    }

    let mut response = Vec::new();
    let _ = stream.read_to_end(&mut response);
    let text = String::from_utf8_lossy(&response);
    let status_line = text.lines().next().unwrap_or_default();
    status_line
        .split_whitespace()
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or_else(|| panic!("no HTTP status in {text:?}"))
}

fn stored_event_count(collector: &Collector) -> u64 {
    let (status, body) = collector.get("/api/events?limit=1");
    assert_eq!(status, 200, "{body}");
    body["total"].as_u64().expect("total is a number")
}

#[test]
fn invalid_batches_are_rejected_and_store_nothing() {
    let collector = Collector::start();
    let good = cost_event("ok-1", "gpt-4.1", 121, 400, "0.003442");
    assert_eq!(
        collector
            .post("/api/events", &json!({"events": [good.clone()]}))
            .0,
        201
    );

    let mut missing = good.clone();
    missing.as_object_mut().unwrap().remove("agentId");
    let mut negative = good.clone();
    negative["payload"]["inputTokens"] = json!(-1);
    let mut nan_cost = good.clone();
    nan_cost["payload"]["costUsd"] = json!("NaN");
    let mut wrong_type = good.clone();
    wrong_type["eventType"] = json!("not_a_type");
    let cases = [
        (
            "missing field",
            json!({"events": [good.clone(), missing]}),
            "events.1.agentId",
        ),
        (
            "negative tokens",
            json!({"events": [negative]}),
            "events.0.payload.inputTokens",
        ),
        (
            "NaN cost",
            json!({"events": [nan_cost]}),
            "events.0.payload.costUsd",
        ),
        (
            "wrong type",
            json!({"events": [wrong_type]}),
            "events.0.eventType",
        ),
        (
            "1001 events",
            json!({"events": vec![good.clone(); 1001]}),
            "events",
        ),
    ];
    for (name, body, path) in cases {
        let (status, response) = collector.post("/api/events", &body);
        assert_eq!(status, 400, "{name}: {response}");
        let paths: Vec<&str> = response["details"]
            .as_array()
            .unwrap_or_else(|| panic!("{name}: no details in {response}"))
            .iter()
            .filter_map(|detail| detail["path"].as_str())
            .collect();
        assert!(paths.contains(&path), "{name}: {path} not in {paths:?}");
    }

    assert_eq!(post_oversized_body(&collector, 10 * 1024 * 1024), 413);

    assert_eq!(stored_event_count(&collector), 1);
}

#[test]
fn retried_event_ids_are_stored_once() {
    // evt-0001 is sent twice (a retry after a lost response), evt-0002 is a distinct
    // call with identical usage. gpt-4.1: 121 x $2/M + 400 x $8/M = $0.003442 each.
    let collector = Collector::start();
    let first = cost_event("evt-0001", "gpt-4.1", 121, 400, "0.003442");
    let second = cost_event("evt-0002", "gpt-4.1", 121, 400, "0.003442");

    let (status, body) = collector.post("/api/events", &json!({"events": [first.clone()]}));
    assert_eq!(status, 201, "{body}");
    let (status, retry) = collector.post("/api/events", &json!({"events": [first, second]}));
    assert_eq!(status, 201, "{retry}");
    assert_eq!(retry["ingested"], 1, "{retry}");
    assert_eq!(retry["events"][0]["duplicate"], true, "{retry}");
    assert_eq!(retry["events"][0]["id"], body["events"][0]["id"]);

    let (_, session) = collector.get("/api/sessions/s1");
    assert_eq!(session["eventCount"], 2);
    assert_eq!(
        decimal(&session["totalCostUsd"]),
        "0.006884".parse().unwrap()
    );
    assert_eq!(stored_event_count(&collector), 2);
}

#[test]
fn requests_without_key_are_unauthorized() {
    let collector = Collector::start();
    let response = reqwest::blocking::Client::new()
        .get(format!("{}/api/sessions", collector.url))
        .send()
        .unwrap();
    assert_eq!(response.status().as_u16(), 401);
    let body: Value = response.json().unwrap();
    assert_eq!(body["status"], 401);
}
