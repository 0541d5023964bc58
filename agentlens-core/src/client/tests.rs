//! Client tests against [`CapturingTransport`]; the tests under `tests/` use real HTTP.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use serde_json::Map;

use super::test::CapturingTransport;
use super::*;
use crate::event::EventType;
use crate::usage::Usage;

const WAIT: Duration = Duration::from_secs(5);

fn capturing_client(capture: &CapturingTransport) -> ClientOptions {
    Client::builder("http://localhost:3400")
        .agent_id("agent_default")
        .flush_interval(Duration::from_secs(60))
        .transport(capture.clone())
}

fn custom_event(session_id: &str) -> Event {
    Event::new(session_id, "agent_main", EventType::Custom, Map::new())
}

#[test]
fn log_fills_id_timestamp_and_agent() {
    let capture = CapturingTransport::new();
    let client = capturing_client(&capture).build().unwrap();

    client.log(Event::new("ses_1", "", EventType::Custom, Map::new()));
    assert_eq!(client.flush(WAIT), 0);

    let events = capture.events();
    assert_eq!(events.len(), 1);
    let id = events[0].id.as_deref().expect("id is set");
    assert!(id.parse::<Ulid>().is_ok(), "{id} is not a ulid");
    assert!(events[0].timestamp.is_some());
    assert_eq!(events[0].agent_id, "agent_default");
}

#[test]
fn log_keeps_caller_fields() {
    let capture = CapturingTransport::new();
    let client = capturing_client(&capture).build().unwrap();
    let timestamp = "2026-02-07T10:00:00Z".parse().unwrap();
    let mut event = custom_event("ses_1");
    event.id = Some("client-id-1".into());
    event.timestamp = Some(timestamp);

    client.log(event);
    client.flush(WAIT);

    let events = capture.events();
    assert_eq!(events[0].id.as_deref(), Some("client-id-1"));
    assert_eq!(events[0].timestamp, Some(timestamp));
    assert_eq!(events[0].agent_id, "agent_main");
}

#[test]
fn every_event_gets_its_own_id() {
    let capture = CapturingTransport::new();
    let client = capturing_client(&capture).build().unwrap();

    for _ in 0..200 {
        client.log(custom_event("ses_1"));
    }
    client.flush(WAIT);

    let ids: HashSet<String> = capture.events().into_iter().filter_map(|e| e.id).collect();
    assert_eq!(ids.len(), 200);
}

#[test]
fn track_cost_sends_cost_tracked_event() {
    let capture = CapturingTransport::new();
    let client = capturing_client(&capture).build().unwrap();
    let usage = Usage {
        input_tokens: 10,
        output_tokens: 5,
        ..Usage::default()
    };

    client.track_cost(CostEvent::new("ses_1", "openai", "gpt-4o", usage));
    client.flush(WAIT);

    let events = capture.events();
    assert_eq!(events[0].event_type, EventType::CostTracked);
    assert_eq!(events[0].agent_id, "agent_default");
    assert_eq!(events[0].payload["totalTokens"], 15);
    assert!(!events[0].payload.contains_key("costUsd"));
    assert!(events[0].id.is_some());
    assert!(events[0].timestamp.is_some());
}

#[test]
fn track_cost_fills_empty_agent_and_keeps_timestamp() {
    let capture = CapturingTransport::new();
    let client = capturing_client(&capture).build().unwrap();
    let timestamp = "2026-02-07T10:00:00Z".parse().unwrap();
    let cost = CostEvent {
        agent_id: Some(String::new()),
        timestamp: Some(timestamp),
        ..CostEvent::new("ses_1", "openai", "gpt-4o", Usage::default())
    };

    client.track_cost(cost);
    client.flush(WAIT);

    let events = capture.events();
    let id = events[0].id.as_deref().expect("id is set");
    assert!(id.parse::<Ulid>().is_ok(), "{id} is not a ulid");
    assert_eq!(events[0].agent_id, "agent_default");
    assert_eq!(events[0].timestamp, Some(timestamp));
}

#[test]
fn full_batches_leave_without_flush() {
    let capture = CapturingTransport::new();
    let client = capturing_client(&capture).batch_size(3).build().unwrap();

    for index in 0..7 {
        client.log(custom_event(&format!("ses_{index}")));
    }
    wait_until(|| capture.events().len() >= 6);
    let before_flush: Vec<usize> = capture.batches().iter().map(Vec::len).collect();
    client.flush(WAIT);
    let after_flush: Vec<usize> = capture.batches().iter().map(Vec::len).collect();

    assert_eq!(before_flush, [3, 3]);
    assert_eq!(after_flush, [3, 3, 1]);
}

#[test]
fn events_keep_their_order() {
    let capture = CapturingTransport::new();
    let client = capturing_client(&capture).batch_size(7).build().unwrap();

    for index in 0..50 {
        client.log(custom_event(&format!("ses_{index:02}")));
    }
    client.flush(WAIT);

    let sessions: Vec<String> = capture.events().into_iter().map(|e| e.session_id).collect();
    let expected: Vec<String> = (0..50).map(|index| format!("ses_{index:02}")).collect();
    assert_eq!(sessions, expected);
}

#[test]
fn shutdown_sends_queued_events() {
    let capture = CapturingTransport::new();
    let client = capturing_client(&capture).build().unwrap();
    for _ in 0..5 {
        client.log(custom_event("ses_1"));
    }

    let pending = client.shutdown(WAIT);

    assert_eq!(pending, 0);
    assert_eq!(capture.events().len(), 5);
    assert_eq!(client.sent(), 5);
}

#[test]
fn events_after_shutdown_are_dropped() {
    let capture = CapturingTransport::new();
    let client = capturing_client(&capture).build().unwrap();
    client.shutdown(WAIT);

    client.log(custom_event("ses_1"));

    assert_eq!(client.dropped(), 1);
    assert_eq!(client.pending(), 0);
    assert_eq!(client.flush(WAIT), 0);
    assert_eq!(client.shutdown(WAIT), 0);
}

#[test]
fn drop_sends_queued_events() {
    let capture = CapturingTransport::new();
    let client = capturing_client(&capture).build().unwrap();
    client.log(custom_event("ses_1"));

    drop(client);

    assert_eq!(capture.events().len(), 1);
}

/// A transport whose requests never complete, like a collector that accepts the
/// connection and never replies.
struct SilentTransport;

impl Transport for SilentTransport {
    fn send<'a>(&'a self, _events: &'a [Event]) -> SendFuture<'a> {
        Box::pin(std::future::pending())
    }
}

#[test]
fn drop_without_wait_returns_before_deadline() {
    let client = Client::builder("http://localhost:3400")
        .transport(SilentTransport)
        .wait_on_drop(false)
        .build()
        .unwrap();
    client.log(custom_event("ses_1"));
    assert_eq!(client.flush(Duration::from_millis(50)), 1);

    let started = std::time::Instant::now();
    drop(client);

    // The drop deadline is 2 s, and a drop that waited would take all of it.
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "{:?}",
        started.elapsed()
    );
}

#[test]
fn drop_without_wait_sends_in_background() {
    let capture = CapturingTransport::new();
    let client = capturing_client(&capture)
        .wait_on_drop(false)
        .build()
        .unwrap();
    client.log(custom_event("ses_1"));

    drop(client);
    let deadline = std::time::Instant::now() + WAIT;
    while capture.events().is_empty() && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }

    assert_eq!(capture.events().len(), 1);
}

#[test]
fn client_is_shared_across_threads() {
    let capture = CapturingTransport::new();
    let client = Arc::new(capturing_client(&capture).build().unwrap());

    let threads: Vec<_> = (0..4)
        .map(|_| {
            let client = Arc::clone(&client);
            thread::spawn(move || {
                for _ in 0..100 {
                    client.log(custom_event("ses_1"));
                }
            })
        })
        .collect();
    for handle in threads {
        handle.join().unwrap();
    }

    assert_eq!(client.flush(WAIT), 0);
    assert_eq!(capture.events().len(), 400);
    assert_eq!(client.sent(), 400);
}

#[test]
fn concurrent_pushes_arrive_exactly_once() {
    const THREADS: usize = 4;
    const PER_THREAD: usize = 25_000;
    let capture = CapturingTransport::new();
    let client = Arc::new(
        capturing_client(&capture)
            .queue_capacity(THREADS * PER_THREAD)
            .build()
            .unwrap(),
    );

    let threads: Vec<_> = (0..THREADS)
        .map(|thread_index| {
            let client = Arc::clone(&client);
            thread::spawn(move || {
                for index in 0..PER_THREAD {
                    client.log(custom_event(&format!("ses_{thread_index}_{index:05}")));
                }
            })
        })
        .collect();
    for handle in threads {
        handle.join().unwrap();
    }
    // Full batches leave without a flush, and the interval is too long to help, so this
    // only passes when the pushes that fill a batch wake the batcher.
    let in_full_batches = THREADS * PER_THREAD / DEFAULT_BATCH_SIZE * DEFAULT_BATCH_SIZE;
    wait_until(|| client.sent() >= in_full_batches as u64);
    let pending = client.flush(WAIT);

    let events = capture.events();
    let ids: HashSet<&str> = events.iter().filter_map(|e| e.id.as_deref()).collect();
    let sessions: HashSet<&str> = events.iter().map(|e| e.session_id.as_str()).collect();
    assert_eq!(pending, 0);
    assert_eq!(client.dropped(), 0);
    assert_eq!(events.len(), THREADS * PER_THREAD);
    assert_eq!(ids.len(), THREADS * PER_THREAD, "ids are unique");
    assert_eq!(
        sessions.len(),
        THREADS * PER_THREAD,
        "no event arrived twice"
    );
    assert_eq!(client.sent(), (THREADS * PER_THREAD) as u64);
    for thread_index in 0..THREADS {
        let prefix = format!("ses_{thread_index}_");
        let own: Vec<&str> = events
            .iter()
            .map(|e| e.session_id.as_str())
            .filter(|session| session.starts_with(&prefix))
            .collect();
        assert!(own.is_sorted(), "thread {thread_index} events out of order");
    }
}

#[test]
fn single_event_leaves_within_two_intervals() {
    let capture = CapturingTransport::new();
    let interval = Duration::from_millis(200);
    let client = capturing_client(&capture)
        .flush_interval(interval)
        .build()
        .unwrap();

    // The second round checks that an idle batcher wakes again after a timed send.
    for round in 1..=2 {
        let started = Instant::now();
        client.log(custom_event("ses_1"));
        wait_until(|| capture.events().len() == round);
        let elapsed = started.elapsed();

        assert!(elapsed >= interval, "round {round} sent after {elapsed:?}");
        assert!(
            elapsed <= 2 * interval,
            "round {round} sent after {elapsed:?}"
        );
    }
    assert_eq!(capture.batches().len(), 2);
}

#[test]
fn invalid_options_are_rejected() {
    let bad_url = Client::builder("ftp://localhost").build();
    let bad_key = Client::builder("http://localhost:3400")
        .api_key("als\n1")
        .build();

    assert!(matches!(bad_url, Err(ClientError::InvalidServerUrl { .. })));
    assert!(matches!(bad_key, Err(ClientError::InvalidApiKey)));
}

#[test]
fn agent_id_the_collector_rejects_fails_the_build() {
    let capture = CapturingTransport::new();

    let long = capturing_client(&capture).agent_id("a".repeat(257)).build();
    let blank = capturing_client(&capture).agent_id(" ").build();

    let Err(ClientError::InvalidAgentId(message)) = long else {
        panic!("a 257-character agent id must fail the build");
    };
    assert!(message.contains("at most 256 characters"), "{message}");
    assert!(matches!(blank, Err(ClientError::InvalidAgentId(_))));
}

fn wait_until(condition: impl Fn() -> bool) {
    let deadline = Instant::now() + WAIT;
    while !condition() {
        assert!(
            Instant::now() < deadline,
            "condition not met within {WAIT:?}"
        );
        thread::sleep(Duration::from_millis(5));
    }
}
