//! Times every `Client::track_cost` call on the caller's thread and prints the median,
//! p99, p99.9 and maximum. Criterion reports means and medians of many calls, which hide
//! the rare stalls this example is for.
//!
//! Run with `cargo run --release -p agentlens-core --example client_latency`, or pass the
//! number of timed calls: `... --example client_latency -- 200000`. The default is
//! 1,000,000. The transport accepts every batch without sending it, so the numbers cover
//! stamping the event and queueing it, and whatever waking the background thread costs
//! the caller. The calls come in chunks with an untimed flush between them, so the queue
//! always has room: a tight loop would otherwise outrun the background thread and time
//! the cheaper drop path.

use std::hint::black_box;
use std::time::{Duration, Instant};

use agentlens_core::client::{Client, CostEvent, SendFuture, SendReceipt, Transport};
use agentlens_core::event::Event;
use agentlens_core::usage::Usage;

const DEFAULT_CALLS: usize = 1_000_000;
const WARM_UP_CALLS: usize = 10_000;
/// Number of calls between two untimed flushes, well under the queue capacity.
const CHUNK: usize = 1000;
/// The queue capacity that `benches/client.rs` uses.
const QUEUE_CAPACITY: usize = 100_000;

/// Accepts every batch without looking at it.
struct DiscardingTransport;

impl Transport for DiscardingTransport {
    fn send<'a>(&'a self, events: &'a [Event]) -> SendFuture<'a> {
        Box::pin(std::future::ready(Ok(SendReceipt::all_new(events.len()))))
    }
}

/// Returns the same cost event as `benches/client.rs`.
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

/// Returns the value below which `fraction` of the sorted `latencies` fall.
fn percentile(latencies: &[Duration], fraction: f64) -> Duration {
    let index = ((latencies.len() - 1) as f64 * fraction).round() as usize;
    latencies[index]
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let calls = match std::env::args().nth(1) {
        Some(text) => text.parse()?,
        None => DEFAULT_CALLS,
    };
    let client = Client::builder("http://localhost:3400")
        .transport(DiscardingTransport)
        .queue_capacity(QUEUE_CAPACITY)
        .build()?;
    let template = cost_event();

    for _ in 0..WARM_UP_CALLS {
        client.track_cost(template.clone());
    }

    // The clones are made outside the timed region, as in `benches/client.rs`.
    let mut latencies = Vec::with_capacity(calls);
    while latencies.len() < calls {
        let chunk = CHUNK.min(calls - latencies.len());
        let costs: Vec<CostEvent> = (0..chunk).map(|_| template.clone()).collect();
        for cost in costs {
            let start = Instant::now();
            client.track_cost(black_box(cost));
            latencies.push(start.elapsed());
        }
        client.flush(Duration::from_secs(5));
    }

    let pending = client.shutdown(Duration::from_secs(10));
    latencies.sort_unstable();
    let total: Duration = latencies.iter().sum();
    println!("calls        {calls}");
    println!("mean         {:?}", total / calls as u32);
    println!("median       {:?}", percentile(&latencies, 0.5));
    println!("p99          {:?}", percentile(&latencies, 0.99));
    println!("p99.9        {:?}", percentile(&latencies, 0.999));
    println!("max          {:?}", latencies[calls - 1]);
    println!(
        "sent {} / dropped {} / failed {} / pending {pending}",
        client.sent(),
        client.dropped(),
        client.failed()
    );
    Ok(())
}
