//! Fills a database with generated cost events through the store API, for benchmarking
//! `GET /api/analytics/costs` on a large file.
//!
//! ```text
//! cargo run --release -p agentlens-collector --example populate -- \
//!     --db /tmp/analytics.db --events 10000000 --days 30
//! ```
//!
//! Events arrive in time order, 1000 per batch as one ingest transaction, spread evenly
//! over `--days` days ending at the start of today (UTC). Every 30 minutes 40 new sessions
//! start, so sessions hold a few hundred events each. One event in ten is an
//! `llm_response` that supersedes the `cost_tracked` sent just before it for the same call.

use std::path::PathBuf;
use std::time::Instant;

use agentlens_collector::ingest::prepare_batch;
use agentlens_collector::store::Store;
use agentlens_core::pricing::PriceTable;
use chrono::{DateTime, Duration, Utc};
use clap::Parser;
use serde_json::{json, Value};

/// Generator options.
#[derive(Debug, Parser)]
struct Options {
    /// Database file; created when missing.
    #[arg(long)]
    db: PathBuf,
    /// Events to store.
    #[arg(long, default_value_t = 10_000_000)]
    events: u64,
    /// Days the events are spread over.
    #[arg(long, default_value_t = 30)]
    days: i64,
    /// Distinct agents.
    #[arg(long, default_value_t = 10)]
    agents: u64,
}

const MODELS: [(&str, &str); 6] = [
    ("openai", "gpt-4o"),
    ("openai", "gpt-4o-mini"),
    ("openai", "o3"),
    ("anthropic", "claude-sonnet-4-5"),
    ("anthropic", "claude-haiku-4-5"),
    ("google", "gemini-2.5-pro"),
];

/// Sessions started every 30 minutes.
const SESSIONS_PER_SLOT: u64 = 40;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let options = Options::parse();
    let store = Store::open(&options.db)?;
    let today = Utc::now()
        .date_naive()
        .and_hms_opt(0, 0, 0)
        .ok_or("no midnight")?;
    let start = today.and_utc() - Duration::days(options.days);
    let step_micros = options.days * 86_400_000_000 / options.events.max(1) as i64;

    let started = Instant::now();
    let mut index = 0;
    while index < options.events {
        let size = (options.events - index).min(1000);
        let events: Vec<Value> = (index..index + size)
            .map(|i| {
                event(
                    &options,
                    i,
                    start + Duration::microseconds(step_micros * i as i64),
                )
            })
            .collect();
        let prepared = prepare_batch(
            &json!({ "events": events }),
            Utc::now(),
            PriceTable::embedded(),
        )
        .map_err(|error| format!("generated batch is invalid: {error}"))?;
        store.ingest("default", prepared).await?;
        index += size;
        if index % 1_000_000 == 0 {
            let rate = index as f64 / started.elapsed().as_secs_f64();
            println!("{index} events stored, {rate:.0} events/s");
        }
    }
    println!(
        "stored {} events in {:.1} s; range {} .. {}",
        options.events,
        started.elapsed().as_secs_f64(),
        start.date_naive(),
        today.date()
    );
    Ok(())
}

/// Returns event `index`, stamped `at`.
fn event(options: &Options, index: u64, at: DateTime<Utc>) -> Value {
    let hash = index.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 17;
    // Event 10k+9 is the llm_response of the call of event 10k+8, so it supersedes it. The
    // cost rule matches call ids within one session, so both take the session of 10k+8.
    let call = if index % 10 == 9 { index - 1 } else { index };
    let call_hash = call.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 17;
    let slot = (at.timestamp() / 1800) as u64;
    let session = slot * SESSIONS_PER_SLOT + call_hash % SESSIONS_PER_SLOT;
    let agent = session % options.agents;
    // Each agent uses two of the models.
    let (provider, model) = MODELS[((agent * 2 + hash % 2) % MODELS.len() as u64) as usize];
    let mut payload = json!({
        "provider": provider,
        "model": model,
        "inputTokens": 500 + hash % 3000,
        "outputTokens": 50 + hash % 700,
        "costUsd": format!("0.{:08}", hash % 20_000_000),
        "callId": format!("call-{call}"),
    });
    let event_type = if index % 10 == 9 {
        payload["usage"] = json!({"inputTokens": 900, "outputTokens": 100, "totalTokens": 1000});
        payload["completion"] = json!("done");
        payload["finishReason"] = json!("stop");
        payload["latencyMs"] = json!(400 + hash % 2000);
        "llm_response"
    } else {
        "cost_tracked"
    };
    json!({
        "sessionId": format!("session-{session}"),
        "agentId": format!("agent-{agent}"),
        "eventType": event_type,
        "timestamp": agentlens_core::event::format_timestamp(&at),
        "payload": payload,
    })
}
