//! Measures what `Client::track_cost` costs the caller's thread: stamping the cost with a
//! ULID and a timestamp and enqueueing it. The background thread builds the payload.
//!
//! Run with `cargo bench -p agentlens-core --bench client`. The transport accepts every
//! batch at once, and the timed calls come in chunks with an untimed flush between them,
//! so the queue always has room and the numbers show the enqueue path rather than the
//! cheaper drop path. Without the flushes a tight loop outruns the background thread,
//! which converts each cost event into its payload.

use std::hint::black_box;
use std::time::{Duration, Instant};

use agentlens_core::client::{Client, CostEvent, SendFuture, SendReceipt, Transport};
use agentlens_core::event::Event;
use agentlens_core::usage::Usage;
use criterion::{criterion_group, criterion_main, BatchSize, Criterion};

/// Accepts every batch without looking at it.
struct DiscardingTransport;

impl Transport for DiscardingTransport {
    fn send<'a>(&'a self, events: &'a [Event]) -> SendFuture<'a> {
        Box::pin(std::future::ready(Ok(SendReceipt::all_new(events.len()))))
    }
}

fn cost_event() -> CostEvent {
    let usage = Usage {
        input_tokens: 1200,
        cache_read_tokens: 200,
        output_tokens: 300,
        reasoning_tokens: 50,
        ..Usage::default()
    };
    CostEvent {
        cost_usd: Some("0.005615".parse().unwrap()),
        call_id: Some("call_0123456789".to_owned()),
        ..CostEvent::new("ses_bench", "openai", "gpt-4o", usage)
    }
}

/// Number of calls timed between two untimed flushes, well under the queue capacity.
const CHUNK: u64 = 1000;

fn track_cost(criterion: &mut Criterion) {
    let client = Client::builder("http://localhost:3400")
        .transport(DiscardingTransport)
        .queue_capacity(100_000)
        .build()
        .expect("client starts");

    criterion.bench_function("track_cost enqueue", |bencher| {
        bencher.iter_custom(|iterations| {
            let mut timed = Duration::ZERO;
            let mut remaining = iterations;
            while remaining > 0 {
                let chunk = remaining.min(CHUNK);
                let costs: Vec<CostEvent> = (0..chunk).map(|_| cost_event()).collect();

                let start = Instant::now();
                for cost in costs {
                    client.track_cost(black_box(cost));
                }
                timed += start.elapsed();

                client.flush(Duration::from_secs(5));
                remaining -= chunk;
            }
            timed
        });
    });

    criterion.bench_function("try_track_cost enqueue", |bencher| {
        bencher.iter_custom(|iterations| {
            let mut timed = Duration::ZERO;
            let mut remaining = iterations;
            while remaining > 0 {
                let chunk = remaining.min(CHUNK);
                let costs: Vec<CostEvent> = (0..chunk).map(|_| cost_event()).collect();

                let start = Instant::now();
                for cost in costs {
                    let _ = black_box(client.try_track_cost(black_box(cost)));
                }
                timed += start.elapsed();

                client.flush(Duration::from_secs(5));
                remaining -= chunk;
            }
            timed
        });
    });

    client.shutdown(Duration::from_secs(5));
    eprintln!(
        "track_cost enqueue: sent {}, dropped {}, failed {}",
        client.sent(),
        client.dropped(),
        client.failed()
    );
}

/// Measures the typed check alone, the work `try_track_cost` adds to `track_cost`.
fn check_cost(criterion: &mut Criterion) {
    let cost = cost_event();
    criterion.bench_function("cost_event check", |bencher| {
        bencher.iter(|| black_box(&cost).check());
    });

    // A timestamp adds a clock read for the 24-hour limit on future times.
    let stamped = CostEvent {
        timestamp: Some(chrono::Utc::now()),
        ..cost_event()
    };
    criterion.bench_function("cost_event check with timestamp", |bencher| {
        bencher.iter(|| black_box(&stamped).check());
    });
}

/// Measures building the event alone, the work `track_cost` leaves to the background
/// thread and `Client::log` callers do themselves.
fn build_event(criterion: &mut Criterion) {
    criterion.bench_function("cost_event into_event", |bencher| {
        bencher.iter_batched(
            cost_event,
            |cost| black_box(cost).into_event("agent_bench"),
            BatchSize::SmallInput,
        );
    });
}

criterion_group!(benches, track_cost, check_cost, build_event);
criterion_main!(benches);
