//! Sends the cost of two model calls to a collector and waits until they are stored.
//!
//! Start a collector first (`cargo run --release -p agentlens-collector -- serve`), then:
//!
//! ```sh
//! AGENTLENS_API_KEY=als_... cargo run -p agentlens-examples --example track_cost
//! ```
//!
//! The first call reports its own cost; the second leaves `cost_usd` empty, so the
//! collector prices it from its table.

use std::time::Duration;

use agentlens_core::client::{ClientOptions, CostEvent};
use agentlens_core::pricing::{PriceOutcome, PriceTable};
use agentlens_core::usage::from_openai;
use serde_json::json;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt().with_env_filter("info").init();

    // Reads AGENTLENS_SERVER_URL and AGENTLENS_API_KEY; the URL defaults to
    // http://localhost:3400. `Client::builder(url)` would fix the URL instead.
    let client = ClientOptions::from_env()
        .agent_id("example-agent")
        .build()?;

    // An OpenAI chat completion's usage: 1,920 of the 2,006 prompt tokens were cached.
    let usage = from_openai(&json!({
        "prompt_tokens": 2006,
        "completion_tokens": 300,
        "prompt_tokens_details": {"cached_tokens": 1920}
    }))?;
    let now = chrono::Utc::now();
    let priced = PriceTable::embedded().quote(Some("openai"), "gpt-4o-2024-08-06", &usage, now);
    let cost_usd = match priced {
        PriceOutcome::Priced(quote) => Some(quote.total),
        PriceOutcome::Unpriced { reason } => {
            eprintln!("not priced: {reason}");
            None
        }
    };
    println!("gpt-4o call cost: {cost_usd:?}");

    client.track_cost(CostEvent {
        cost_usd,
        ..CostEvent::new("example-session", "openai", "gpt-4o-2024-08-06", usage)
    });
    client.track_cost(CostEvent::new(
        "example-session",
        "anthropic",
        "claude-haiku-4-5-20251001",
        agentlens_core::usage::from_anthropic(&json!({
            "input_tokens": 10000, "output_tokens": 1000
        }))?,
    ));

    let pending = client.shutdown(Duration::from_secs(10));
    println!(
        "sent {} events, {} failed, {pending} still pending",
        client.sent(),
        client.failed()
    );
    if client.failed() > 0 || pending > 0 {
        return Err("some events were not delivered; check AGENTLENS_API_KEY and the URL".into());
    }
    Ok(())
}
