//! The core client against the real collector.

use std::time::Duration;

use agentlens_core::client::{Client, CostEvent};
use agentlens_core::event::{Event, EventType};
use agentlens_core::usage::Usage;

use crate::common::{decimal, Collector, API_KEY};

fn gpt_4o_mini_call(session: &str) -> CostEvent {
    let usage = Usage {
        input_tokens: 1000,
        output_tokens: 200,
        ..Usage::default()
    };
    CostEvent {
        timestamp: Some("2026-03-01T12:00:00Z".parse().unwrap()),
        ..CostEvent::new(session, "openai", "gpt-4o-mini", usage)
    }
}

#[test]
fn burst_over_batch_limit_arrives_whole() {
    // 1446 events recorded in one burst, flushed once. gpt-4o-mini at $0.15/M input
    // and $0.60/M output: 1000 x 0.15/M + 200 x 0.60/M = $0.00027 each, $0.39042 in all.
    // The client sends no costUsd, so the collector prices each event from its table.
    let collector = Collector::start();
    let client = Client::builder(collector.url.clone())
        .api_key(API_KEY)
        .agent_id("a1")
        .build()
        .unwrap();

    for _ in 0..1446 {
        client.track_cost(gpt_4o_mini_call("s1"));
    }
    let pending = client.shutdown(Duration::from_secs(30));

    assert_eq!(pending, 0);
    assert_eq!(client.failed(), 0);
    assert_eq!(client.dropped(), 0);
    let (_, session) = collector.get("/api/sessions/s1");
    assert_eq!(session["eventCount"], 1446, "{session}");
    assert_eq!(session["unpricedEventCount"], 0, "{session}");
    assert_eq!(
        decimal(&session["totalCostUsd"]),
        "0.39042".parse().unwrap()
    );
}

#[test]
fn unknown_model_is_counted_unpriced() {
    let collector = Collector::start();
    let client = Client::builder(collector.url.clone())
        .api_key(API_KEY)
        .agent_id("a1")
        .build()
        .unwrap();
    let mut unknown = gpt_4o_mini_call("s2");
    unknown.provider = "anthropic".into();
    unknown.model = "claude-nonexistent-9-20990101".into();

    client.track_cost(unknown);
    client.track_cost(gpt_4o_mini_call("s2"));
    assert_eq!(client.shutdown(Duration::from_secs(10)), 0);

    let (_, costs) =
        collector.get("/api/analytics/costs?from=2026-03-01T00:00:00Z&to=2026-03-02T00:00:00Z");
    assert_eq!(costs["totals"]["eventCount"], 2, "{costs}");
    assert_eq!(costs["totals"]["unpricedCount"], 1, "{costs}");
    assert_eq!(
        decimal(&costs["totals"]["totalCostUsd"]),
        "0.00027".parse().unwrap()
    );
}

#[test]
fn client_without_valid_key_counts_failures() {
    let collector = Collector::start();
    let client = Client::builder(collector.url.clone())
        .api_key("als_ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff")
        .build()
        .unwrap();

    client.track_cost(gpt_4o_mini_call("s3"));
    client.shutdown(Duration::from_secs(10));

    assert_eq!(client.failed(), 1);
    assert_eq!(client.sent(), 0);
}

#[test]
fn invalid_event_does_not_sink_its_batch() {
    let collector = Collector::start();
    let client = Client::builder(collector.url.clone())
        .api_key(API_KEY)
        .agent_id("a1")
        .build()
        .unwrap();

    for _ in 0..10 {
        client.track_cost(gpt_4o_mini_call("s4"));
    }
    // A cost event without provider, model or token counts.
    client.log(Event::new(
        "s4",
        "a1",
        EventType::CostTracked,
        serde_json::Map::new(),
    ));
    assert_eq!(client.shutdown(Duration::from_secs(10)), 0);

    assert_eq!(client.sent(), 10);
    assert_eq!(client.failed(), 1);
    let (_, session) = collector.get("/api/sessions/s4");
    assert_eq!(session["eventCount"], 10, "{session}");
}

#[test]
fn non_collector_server_counts_failure() {
    // A loopback HTTP server that responds "200 ok" to every request.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten().take(8) {
            answer_ok(stream);
        }
    });
    let client = Client::builder(url).api_key(API_KEY).build().unwrap();

    client.track_cost(gpt_4o_mini_call("s5"));
    client.shutdown(Duration::from_secs(10));

    assert_eq!(client.sent(), 0);
    assert_eq!(client.failed(), 1);
}

fn answer_ok(mut stream: std::net::TcpStream) {
    use std::io::{BufRead, BufReader, Read, Write};

    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut length = 0;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
            break;
        }
        if let Some(value) = line.to_ascii_lowercase().strip_prefix("content-length:") {
            length = value.trim().parse().unwrap_or(0);
        }
    }
    let mut body = vec![0; length];
    let _ = reader.read_exact(&mut body);
    let _ =
        stream.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok");
}
