//! The batching client against a fake collector on 127.0.0.1: batching, retries,
//! 413 splitting, a full queue, flush timeouts, an unreachable collector, and use from
//! inside and outside a tokio runtime.

use std::collections::HashSet;
use std::thread;
use std::time::{Duration, Instant};

use agentlens_core::client::{Client, ClientOptions, CostEvent};
use agentlens_core::event::{Event, EventType};
use agentlens_core::usage::Usage;
use serde_json::Map;

use fake_collector::{Behaviour, FakeCollector};

const WAIT: Duration = Duration::from_secs(5);

/// A stand-in for the collector's `POST /api/events` that records every request and
/// responds as its [`Behaviour`] sets. It runs on its own thread and runtime, so tests
/// with and without a tokio runtime use it the same way.
mod fake_collector {
    use std::collections::VecDeque;
    use std::net::TcpListener;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::{Arc, Mutex};
    use std::thread;
    use std::time::Instant;

    use axum::body::Bytes;
    use axum::extract::State;
    use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
    use axum::routing::post;
    use axum::Router;
    use serde_json::{json, Value};
    use tokio::sync::oneshot;

    /// How the fake collector responds.
    #[derive(Debug, Clone, Default)]
    pub struct Behaviour {
        /// Statuses for the first requests, one each, before normal responses start.
        pub failures: Vec<u16>,
        /// Batches with more events than this get 413.
        pub max_batch: Option<usize>,
        /// Requests never get a response.
        pub hang: bool,
        /// Every request gets this status and body instead of 201.
        pub reject: Option<(u16, &'static str)>,
        /// `Retry-After` value sent with each status of `failures`.
        pub retry_after: Option<&'static str>,
    }

    /// One request as the fake collector saw it.
    #[derive(Debug, Clone)]
    pub struct Attempt {
        pub ids: Vec<String>,
        pub events: Vec<Value>,
        pub status: u16,
        pub authorization: Option<String>,
        pub content_type: Option<String>,
        /// When the request reached the fake collector.
        pub received_at: Instant,
    }

    struct Shared {
        behaviour: Behaviour,
        failures: Mutex<VecDeque<u16>>,
        attempts: Mutex<Vec<Attempt>>,
        /// Requests that reached the handler, including those that never get a response.
        received: AtomicUsize,
    }

    pub struct FakeCollector {
        pub url: String,
        shared: Arc<Shared>,
        stop: Option<oneshot::Sender<()>>,
        thread: Option<thread::JoinHandle<()>>,
    }

    impl FakeCollector {
        pub fn start(behaviour: Behaviour) -> FakeCollector {
            let listener = TcpListener::bind("127.0.0.1:0").unwrap();
            listener.set_nonblocking(true).unwrap();
            let url = format!("http://{}", listener.local_addr().unwrap());
            let shared = Arc::new(Shared {
                failures: Mutex::new(behaviour.failures.iter().copied().collect()),
                behaviour,
                attempts: Mutex::default(),
                received: AtomicUsize::new(0),
            });
            let router = Router::new()
                .route("/api/events", post(ingest))
                .with_state(Arc::clone(&shared));

            let (stop, stopped) = oneshot::channel::<()>();
            let thread = thread::spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .unwrap();
                runtime.block_on(async move {
                    let listener = tokio::net::TcpListener::from_std(listener).unwrap();
                    tokio::select! {
                        result = axum::serve(listener, router) => result.unwrap(),
                        _ = stopped => {}
                    }
                });
                // Dropping the runtime cancels connections that still wait for a response.
                drop(runtime);
            });

            FakeCollector {
                url,
                shared,
                stop: Some(stop),
                thread: Some(thread),
            }
        }

        pub fn requests_received(&self) -> usize {
            self.shared.received.load(Ordering::SeqCst)
        }

        pub fn attempts(&self) -> Vec<Attempt> {
            self.shared.attempts.lock().unwrap().clone()
        }

        /// Returns the requests that got 201, in arrival order.
        pub fn accepted(&self) -> Vec<Attempt> {
            let attempts = self.attempts();
            attempts.into_iter().filter(|a| a.status == 201).collect()
        }

        pub fn accepted_ids(&self) -> Vec<String> {
            self.accepted().into_iter().flat_map(|a| a.ids).collect()
        }

        pub fn accepted_batch_sizes(&self) -> Vec<usize> {
            self.accepted().iter().map(|a| a.ids.len()).collect()
        }
    }

    impl Drop for FakeCollector {
        fn drop(&mut self) {
            if let Some(stop) = self.stop.take() {
                let _ = stop.send(());
            }
            if let Some(thread) = self.thread.take() {
                let _ = thread.join();
            }
        }
    }

    async fn ingest(
        State(shared): State<Arc<Shared>>,
        headers: HeaderMap,
        body: Bytes,
    ) -> (StatusCode, HeaderMap, String) {
        let received_at = Instant::now();
        shared.received.fetch_add(1, Ordering::SeqCst);
        let batch: Value = serde_json::from_slice(&body).unwrap();
        let events = batch["events"].as_array().cloned().unwrap_or_default();
        let ids = events
            .iter()
            .map(|event| event["id"].as_str().unwrap_or_default().to_owned())
            .collect();

        let behaviour = &shared.behaviour;
        let next_failure = shared.failures.lock().unwrap().pop_front();
        let mut response_headers = HeaderMap::new();
        let (status, response_body) = if behaviour.hang {
            std::future::pending::<()>().await;
            unreachable!("a pending future never completes");
        } else if behaviour.max_batch.is_some_and(|max| events.len() > max) {
            (
                413,
                json!({"error": "Request body too large", "status": 413}).to_string(),
            )
        } else if let Some(status) = next_failure {
            if let Some(retry_after) = behaviour.retry_after {
                let value = HeaderValue::from_static(retry_after);
                response_headers.insert(header::RETRY_AFTER, value);
            }
            (
                status,
                json!({"error": "try again", "status": status}).to_string(),
            )
        } else if let Some((status, body)) = behaviour.reject {
            (status, body.to_owned())
        } else {
            (201, json!({"ingested": events.len()}).to_string())
        };

        let header_text = |name| {
            headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        shared.attempts.lock().unwrap().push(Attempt {
            ids,
            events,
            status,
            authorization: header_text(header::AUTHORIZATION),
            content_type: header_text(header::CONTENT_TYPE),
            received_at,
        });
        let status = StatusCode::from_u16(status).unwrap();
        (status, response_headers, response_body)
    }
}

fn options(collector: &FakeCollector) -> ClientOptions {
    Client::builder(&collector.url)
        .api_key("als_test")
        .agent_id("agent_test")
        .flush_interval(Duration::from_secs(60))
        .retry_backoff(Duration::from_millis(10))
}

fn custom_event(index: usize) -> Event {
    Event::new(format!("ses_{index:05}"), "", EventType::Custom, Map::new())
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

#[test]
fn full_batches_are_sent_without_flush() {
    let collector = FakeCollector::start(Behaviour::default());
    let client = options(&collector).batch_size(10).build().unwrap();

    for index in 0..25 {
        client.log(custom_event(index));
    }
    wait_until(|| collector.accepted_ids().len() >= 20);
    let before_flush = collector.accepted_batch_sizes();
    let pending = client.flush(WAIT);

    assert_eq!(before_flush, [10, 10]);
    assert_eq!(pending, 0);
    assert_eq!(collector.accepted_batch_sizes(), [10, 10, 5]);
}

#[test]
fn partial_batch_is_sent_after_interval() {
    let collector = FakeCollector::start(Behaviour::default());
    let interval = Duration::from_millis(100);
    let client = options(&collector)
        .flush_interval(interval)
        .build()
        .unwrap();

    let started = Instant::now();
    for index in 0..3 {
        client.log(custom_event(index));
    }
    wait_until(|| collector.accepted_ids().len() == 3);

    assert!(
        started.elapsed() >= interval,
        "sent after {:?}",
        started.elapsed()
    );
    assert_eq!(collector.accepted_batch_sizes(), [3]);
}

#[test]
fn oversized_batches_are_split_until_all_land() {
    let collector = FakeCollector::start(Behaviour {
        max_batch: Some(500),
        ..Behaviour::default()
    });
    let client = options(&collector).batch_size(1000).build().unwrap();

    for index in 0..1446 {
        client.log(custom_event(index));
    }
    let pending = client.flush(WAIT);

    let ids = collector.accepted_ids();
    let unique: HashSet<&String> = ids.iter().collect();
    let rejected = collector
        .attempts()
        .iter()
        .filter(|a| a.status == 413)
        .count();
    assert_eq!(pending, 0);
    assert_eq!(ids.len(), 1446);
    assert_eq!(unique.len(), 1446);
    assert!(collector
        .accepted_batch_sizes()
        .iter()
        .all(|&size| size <= 500));
    assert!(rejected > 0, "the collector never responded with 413");
    assert_eq!(client.sent(), 1446);
    assert_eq!(client.failed(), 0);
}

#[test]
fn retry_after_two_failures_delivers_once() {
    let collector = FakeCollector::start(Behaviour {
        failures: vec![503, 429],
        ..Behaviour::default()
    });
    let client = options(&collector).build().unwrap();

    for index in 0..5 {
        client.log(custom_event(index));
    }
    let pending = client.flush(WAIT);

    let attempts = collector.attempts();
    let statuses: Vec<u16> = attempts.iter().map(|a| a.status).collect();
    assert_eq!(pending, 0);
    assert_eq!(statuses, [503, 429, 201]);
    assert_eq!(
        attempts[0].ids, attempts[2].ids,
        "a retry must reuse the event ids"
    );
    assert_eq!(
        attempts[1].ids, attempts[2].ids,
        "a retry must reuse the event ids"
    );
    assert_eq!(collector.accepted_ids().len(), 5);
    assert_eq!(client.sent(), 5);
    assert_eq!(client.failed(), 0);
}

#[test]
fn retry_waits_for_retry_after() {
    let collector = FakeCollector::start(Behaviour {
        failures: vec![429],
        retry_after: Some("2"),
        ..Behaviour::default()
    });
    let client = options(&collector).build().unwrap();

    for index in 0..3 {
        client.log(custom_event(index));
    }
    // The retry waits 2 s, so this flush times out, but the batch stays queued.
    let pending_during_wait = client.flush(Duration::from_millis(200));
    let pending = client.flush(WAIT);

    assert_eq!(pending_during_wait, 3);
    assert_eq!(pending, 0);
    let attempts = collector.attempts();
    let statuses: Vec<u16> = attempts.iter().map(|a| a.status).collect();
    assert_eq!(statuses, [429, 201]);
    // The first request is recorded before its response leaves, so the gap is at least
    // the full 2 s. The 1.9 s bound is still far above the 10 ms backoff of these options.
    let gap = attempts[1].received_at - attempts[0].received_at;
    assert!(gap >= Duration::from_millis(1900), "retried after {gap:?}");
    assert_eq!(client.rate_limit_waits().count, 1);
    assert_eq!(client.rate_limit_waits().latest, Duration::from_secs(2));
    assert_eq!(client.failed(), 0);
}

#[test]
fn retry_after_past_shutdown_deadline_fails_batch() {
    let collector = FakeCollector::start(Behaviour {
        failures: vec![429],
        retry_after: Some("30"),
        ..Behaviour::default()
    });
    let client = options(&collector).build().unwrap();

    for index in 0..3 {
        client.log(custom_event(index));
    }
    client.flush(Duration::ZERO);
    wait_until(|| client.rate_limit_waits().count == 1);
    let pending = client.shutdown(WAIT);

    // The 30 s wait ends after the 5 s deadline, so the batch fails at once instead of
    // holding the shutdown for its whole timeout.
    assert_eq!(pending, 0);
    assert_eq!(client.failed(), 3);
    assert_eq!(client.sent(), 0);
    assert_eq!(collector.requests_received(), 1);
    assert_eq!(client.rate_limit_waits().latest, Duration::from_secs(30));
}

#[test]
fn client_error_is_final() {
    let collector = FakeCollector::start(Behaviour {
        reject: Some((400, r#"{"error":"Validation failed","status":400}"#)),
        ..Behaviour::default()
    });
    let client = options(&collector).build().unwrap();

    for index in 0..4 {
        client.log(custom_event(index));
    }
    let pending = client.flush(WAIT);

    assert_eq!(pending, 0);
    assert_eq!(collector.attempts().len(), 1);
    assert_eq!(client.failed(), 4);
    assert_eq!(client.sent(), 0);
}

#[test]
fn full_queue_drops_without_blocking() {
    let collector = FakeCollector::start(Behaviour {
        hang: true,
        ..Behaviour::default()
    });
    let client = options(&collector)
        .batch_size(1)
        .queue_capacity(10)
        .build()
        .unwrap();

    // The first event occupies the background thread with a request that never ends.
    client.log(custom_event(0));
    wait_until(|| collector.requests_received() == 1);
    let started = Instant::now();
    for index in 1..100 {
        client.log(custom_event(index));
    }
    let enqueue_time = started.elapsed();

    assert!(
        enqueue_time < Duration::from_secs(1),
        "took {enqueue_time:?}"
    );
    assert_eq!(client.pending(), 11, "1 in flight and 10 queued");
    assert_eq!(client.dropped(), 89);
    assert_eq!(client.shutdown(Duration::from_millis(50)), 11);
}

#[test]
fn flush_returns_zero_when_delivered() {
    let collector = FakeCollector::start(Behaviour::default());
    let client = options(&collector).build().unwrap();

    for index in 0..10 {
        client.log(custom_event(index));
    }

    assert_eq!(client.flush(WAIT), 0);
    assert_eq!(client.sent(), 10);
    assert_eq!(client.pending(), 0);
}

#[test]
fn flush_times_out_against_hanging_collector() {
    let collector = FakeCollector::start(Behaviour {
        hang: true,
        ..Behaviour::default()
    });
    let client = options(&collector).build().unwrap();
    for index in 0..3 {
        client.log(custom_event(index));
    }

    let started = Instant::now();
    let pending = client.flush(Duration::from_millis(50));
    let waited = started.elapsed();

    assert_eq!(pending, 3);
    assert!(
        waited < Duration::from_secs(1),
        "flush blocked for {waited:?}"
    );
    assert!(client.shutdown(Duration::from_millis(50)) > 0);
}

#[test]
fn unreachable_collector_counts_failures() {
    // A port that was just released refuses connections.
    let url = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}", listener.local_addr().unwrap())
    };
    let client = Client::builder(url)
        .max_retries(2)
        .retry_backoff(Duration::from_millis(10))
        .build()
        .unwrap();

    for index in 0..4 {
        client.log(custom_event(index));
    }
    let pending = client.flush(WAIT);

    assert_eq!(pending, 0);
    assert_eq!(client.failed(), 4);
    assert_eq!(client.sent(), 0);
}

#[test]
fn request_carries_key_and_camel_case_json() {
    let collector = FakeCollector::start(Behaviour::default());
    let client = options(&collector).build().unwrap();
    let usage = Usage {
        input_tokens: 1000,
        output_tokens: 500,
        ..Usage::default()
    };
    let cost = CostEvent {
        cost_usd: Some("0.0075".parse().unwrap()),
        ..CostEvent::new("ses_1", "openai", "gpt-4o", usage)
    };

    client.track_cost(cost);
    client.flush(WAIT);

    let attempt = &collector.attempts()[0];
    let event = &attempt.events[0];
    assert_eq!(attempt.authorization.as_deref(), Some("Bearer als_test"));
    assert_eq!(attempt.content_type.as_deref(), Some("application/json"));
    assert_eq!(event["sessionId"], "ses_1");
    assert_eq!(event["agentId"], "agent_test");
    assert_eq!(event["eventType"], "cost_tracked");
    assert_eq!(event["payload"]["totalTokens"], 1500);
    assert_eq!(event["payload"]["costUsd"], 0.0075);
    assert!(event["timestamp"].as_str().unwrap().ends_with('Z'));
}

#[tokio::test]
async fn works_inside_current_thread_runtime() {
    let collector = FakeCollector::start(Behaviour::default());
    let client = options(&collector).build().unwrap();

    for index in 0..5 {
        client.log(custom_event(index));
    }

    assert_eq!(client.flush(WAIT), 0);
    assert_eq!(collector.accepted_ids().len(), 5);
    assert_eq!(client.shutdown(WAIT), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn works_inside_multi_thread_runtime() {
    let collector = FakeCollector::start(Behaviour::default());
    let client = options(&collector).build().unwrap();

    let task = tokio::spawn(async move {
        for index in 0..5 {
            client.log(custom_event(index));
        }
        // Dropping the client inside the runtime shuts it down.
        drop(client);
    });
    task.await.unwrap();

    assert_eq!(collector.accepted_ids().len(), 5);
}
