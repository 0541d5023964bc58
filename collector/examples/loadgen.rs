//! Sends batches of 1000 `cost_tracked` events to a running collector over N keep-alive
//! connections and reports events per second and request latency percentiles.
//!
//! Start a collector, then run the generator from a second process:
//!
//! ```text
//! cargo run --release --bin agentlens -- serve --no-auth --db /tmp/load.db
//! cargo run --release -p agentlens-collector --example loadgen -- \
//!     --address 127.0.0.1:3400 --connections 4 --requests 400 \
//!     --server-pid "$(pgrep -n agentlens)"
//! ```
//!
//! The client is a minimal HTTP/1.1 writer over `tokio` sockets, so it spends little CPU
//! of its own. Bodies are built once before the clock starts. By default 16 bodies are
//! sent in turn without client event ids, so every request stores new events. With
//! `--client-ids` every event carries an id unique to the run, as SDKs send them, and one
//! body is built per request so that no event is a duplicate.
//!
//! The default mix spreads each batch over 8 agents and 50 sessions, and in each batch a
//! session gets events from 4 of the agents. An SDK process sends batches of one agent
//! and a few sessions, which `--agents 1 --sessions 4 --client-ids` models.
//! `--owned-sessions` keeps the 8 agents and 50 sessions but gives each session one
//! agent, as upstream's sessions have.

use std::io::{Error, ErrorKind};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Parser;
use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

/// Load generator options.
#[derive(Debug, Parser)]
struct Options {
    /// Collector address, host:port.
    #[arg(long, default_value = "127.0.0.1:3400")]
    address: String,
    /// Concurrent connections.
    #[arg(long, default_value_t = 4)]
    connections: usize,
    /// Requests to send in total, each a batch of `--batch` events.
    #[arg(long, default_value_t = 200)]
    requests: usize,
    /// Events per request, 1 to 1000.
    #[arg(long, default_value_t = 1000)]
    batch: usize,
    /// Distinct sessions the events are spread over.
    #[arg(long, default_value_t = 50)]
    sessions: usize,
    /// Distinct agents the events of each batch are spread over.
    #[arg(long, default_value_t = 8)]
    agents: usize,
    /// Gives each session one agent, as the SDKs do, instead of spreading a session's
    /// events over several agents.
    #[arg(long)]
    owned_sessions: bool,
    /// Gives every event a client event id (`id`) unique to this run.
    #[arg(long)]
    client_ids: bool,
    /// Sends `GET` requests for this path and query instead of ingest batches, one at a
    /// time per connection, and expects 200.
    #[arg(long)]
    get: Option<String>,
    /// API key, when the collector runs with authentication.
    #[arg(long, env = "AGENTLENS_API_KEY")]
    key: Option<String>,
    /// Process id of the collector. When set, the report adds the server's CPU time
    /// (user and system, read from `/proc/<pid>/stat` on Linux) and events per server
    /// CPU-second.
    #[arg(long)]
    server_pid: Option<u32>,
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let options = Options::parse();

    // Requests are built before the clock starts.
    let variants = if options.client_ids {
        options.requests
    } else {
        16
    };
    let run = run_prefix();
    let bodies: Arc<Vec<Vec<u8>>> = Arc::new(match &options.get {
        Some(path) => vec![get_request_bytes(&options, path)],
        None => (0..variants)
            .map(|variant| request_bytes(&options, &run, variant))
            .collect::<Result<_, _>>()?,
    });
    let expected_status = if options.get.is_some() { 200 } else { 201 };
    let next = Arc::new(AtomicUsize::new(0));

    let cpu_before = options.server_pid.map(server_cpu_seconds).transpose()?;
    let started = Instant::now();
    let mut workers = Vec::new();
    for _ in 0..options.connections {
        let (bodies, next) = (Arc::clone(&bodies), Arc::clone(&next));
        let (address, total) = (options.address.clone(), options.requests);
        workers.push(tokio::spawn(async move {
            send_requests(&address, &bodies, &next, total, expected_status).await
        }));
    }
    let mut latencies = Vec::with_capacity(options.requests);
    for worker in workers {
        latencies.extend(worker.await??);
    }
    let elapsed = started.elapsed();
    let cpu_after = options.server_pid.map(server_cpu_seconds).transpose()?;

    report(&options, &mut latencies, elapsed);
    if let (Some(before), Some(after)) = (cpu_before, cpu_after) {
        let cpu = after - before;
        let events = (latencies.len() * options.batch) as f64;
        println!(
            "server cpu {cpu:.2} s, {:.0} events per server cpu-second",
            events / cpu
        );
    }
    Ok(())
}

/// Returns the user plus system CPU time of process `pid` in seconds, from the `utime`
/// and `stime` fields of `/proc/<pid>/stat`, counted in ticks of 100 per second (the
/// `USER_HZ` of Linux on x86-64 and arm64).
fn server_cpu_seconds(pid: u32) -> std::io::Result<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    // The command name in parentheses may contain spaces, so fields are counted after it.
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest.split_whitespace().collect())
        .unwrap_or_default();
    let ticks = |index: usize| -> std::io::Result<f64> {
        fields
            .get(index)
            .and_then(|field| field.parse::<f64>().ok())
            .ok_or_else(|| {
                let message = format!("invalid /proc/{pid}/stat line {stat:?}");
                Error::new(ErrorKind::InvalidData, message)
            })
    };
    // After the name, field 0 is the state, and utime and stime are fields 11 and 12.
    Ok((ticks(11)? + ticks(12)?) / 100.0)
}

/// Returns a text that makes client event ids of this run differ from those of earlier
/// runs: the start time in nanoseconds since the Unix epoch, in hexadecimal.
fn run_prefix() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |since| since.as_nanos());
    format!("{nanos:x}")
}

/// Returns a complete `POST /api/events` request whose events differ by `variant`.
fn request_bytes(
    options: &Options,
    run: &str,
    variant: usize,
) -> Result<Vec<u8>, serde_json::Error> {
    let timestamp = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    let (sessions, agents) = (options.sessions.max(1), options.agents.max(1));
    let events: Vec<Value> = (0..options.batch)
        .map(|index| {
            let model = ["gpt-4o", "gpt-4o-mini", "claude-sonnet-4-5"][index % 3];
            let session = (variant * 7 + index) % sessions;
            let agent = if options.owned_sessions {
                session % agents
            } else {
                index % agents
            };
            let mut event = json!({
                "sessionId": format!("load-{session}"),
                "agentId": format!("agent-{agent}"),
                "eventType": "cost_tracked",
                "timestamp": timestamp,
                "payload": {
                    "provider": if index % 3 == 2 { "anthropic" } else { "openai" },
                    "model": model,
                    "inputTokens": 1000 + index,
                    "outputTokens": 200,
                    "totalTokens": 1200 + index,
                    "costUsd": format!("0.00{:04}", (index * 37 + variant) % 10_000),
                },
            });
            if options.client_ids {
                event["id"] = json!(format!("{run}-{variant:06}-{index:04}"));
            }
            event
        })
        .collect();
    let body = serde_json::to_vec(&json!({ "events": events }))?;

    let mut request = format!(
        "POST /api/events HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\n",
        options.address,
        body.len()
    );
    if let Some(key) = &options.key {
        request.push_str(&format!("Authorization: Bearer {key}\r\n"));
    }
    request.push_str("\r\n");
    let mut bytes = request.into_bytes();
    bytes.extend_from_slice(&body);
    Ok(bytes)
}

/// Returns a complete `GET` request for `path`.
fn get_request_bytes(options: &Options, path: &str) -> Vec<u8> {
    let mut request = format!("GET {path} HTTP/1.1\r\nHost: {}\r\n", options.address);
    if let Some(key) = &options.key {
        request.push_str(&format!("Authorization: Bearer {key}\r\n"));
    }
    request.push_str("\r\n");
    request.into_bytes()
}

/// Sends requests on one connection until `total` have been claimed; returns latencies.
async fn send_requests(
    address: &str,
    bodies: &[Vec<u8>],
    next: &AtomicUsize,
    total: usize,
    expected_status: u16,
) -> std::io::Result<Vec<Duration>> {
    let stream = TcpStream::connect(address).await?;
    stream.set_nodelay(true)?;
    let mut stream = BufReader::new(stream);
    let mut latencies = Vec::new();
    loop {
        let index = next.fetch_add(1, Ordering::Relaxed);
        if index >= total {
            return Ok(latencies);
        }
        let sent = Instant::now();
        stream
            .get_mut()
            .write_all(&bodies[index % bodies.len()])
            .await?;
        let status = read_response(&mut stream).await?;
        latencies.push(sent.elapsed());
        if status != expected_status {
            return Err(Error::other(format!(
                "request {index} failed with status {status}"
            )));
        }
    }
}

/// Reads one HTTP/1.1 response with a `Content-Length` body and returns its status.
async fn read_response(stream: &mut BufReader<TcpStream>) -> std::io::Result<u16> {
    let mut line = String::new();
    stream.read_line(&mut line).await?;
    let status = line
        .split_whitespace()
        .nth(1)
        .and_then(|code| code.parse().ok())
        .ok_or_else(|| Error::new(ErrorKind::InvalidData, format!("bad status line {line:?}")))?;

    let mut length = 0;
    loop {
        line.clear();
        if stream.read_line(&mut line).await? == 0 {
            return Err(Error::new(ErrorKind::UnexpectedEof, "connection closed"));
        }
        let header = line.trim_end();
        if header.is_empty() {
            break;
        }
        if let Some((name, value)) = header.split_once(':') {
            if name.eq_ignore_ascii_case("content-length") {
                length = value.trim().parse().unwrap_or(0);
            }
        }
    }
    let mut body = vec![0; length];
    stream.read_exact(&mut body).await?;
    Ok(status)
}

fn report(options: &Options, latencies: &mut [Duration], elapsed: Duration) {
    latencies.sort();
    let percentile = |p: f64| {
        let index = ((latencies.len() as f64 - 1.0) * p).round() as usize;
        latencies.get(index).copied().unwrap_or_default()
    };
    if options.get.is_some() {
        println!(
            "{} GET requests over {} connections in {:.2} s",
            latencies.len(),
            options.connections,
            elapsed.as_secs_f64()
        );
        println!(
            "latency p50 {:.2} ms, p90 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
            percentile(0.5).as_secs_f64() * 1e3,
            percentile(0.9).as_secs_f64() * 1e3,
            percentile(0.99).as_secs_f64() * 1e3,
            percentile(1.0).as_secs_f64() * 1e3,
        );
        return;
    }
    let events = latencies.len() * options.batch;
    println!(
        "requests {} x {} events over {} connections in {:.2} s",
        latencies.len(),
        options.batch,
        options.connections,
        elapsed.as_secs_f64()
    );
    println!(
        "throughput {:.0} events/s",
        events as f64 / elapsed.as_secs_f64()
    );
    println!(
        "latency p50 {:.1} ms, p90 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        percentile(0.5).as_secs_f64() * 1e3,
        percentile(0.9).as_secs_f64() * 1e3,
        percentile(0.99).as_secs_f64() * 1e3,
        percentile(1.0).as_secs_f64() * 1e3,
    );
}
