//! Prometheus metrics, served as text at `GET /metrics`.
//!
//! | metric | type | labels |
//! |---|---|---|
//! | `agentlens_events_ingested_total` | counter | |
//! | `agentlens_events_rejected_total` | counter | `reason` |
//! | `agentlens_http_request_duration_seconds` | histogram | `route`, `status` |
//!
//! The registry is one process-wide static. Counters are atomics, and a request takes one
//! short uncontended mutex to record its duration, so the hot path stays cheap. `route` is
//! the matched route pattern (`/api/events/{id}`), never the raw path, so the number of
//! series stays bounded.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{LazyLock, Mutex};
use std::time::Instant;

use axum::extract::{MatchedPath, Request};
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

/// Upper bounds of the duration histogram buckets, in seconds.
const BUCKETS: [f64; 12] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
];

/// Reason the events of an ingest request were not stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum RejectReason {
    /// The body is not JSON.
    InvalidJson,
    /// The body breaks the event schema.
    Validation,
    /// The body exceeds the size limit.
    PayloadTooLarge,
    /// An event resends a stored client id with other content.
    ClientIdReused,
    /// The store failed to commit the batch.
    StoreError,
}

impl RejectReason {
    /// Returns the reason of an ingest request that failed with `error`.
    pub fn of(error: &crate::error::ApiError) -> RejectReason {
        use crate::error::ApiError;
        match error {
            ApiError::PayloadTooLarge => RejectReason::PayloadTooLarge,
            ApiError::Store(_) => RejectReason::StoreError,
            ApiError::ClientIdReused(_) => RejectReason::ClientIdReused,
            ApiError::Validation(_) => RejectReason::Validation,
            _ => RejectReason::InvalidJson,
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            RejectReason::InvalidJson => "invalid_json",
            RejectReason::Validation => "validation",
            RejectReason::PayloadTooLarge => "payload_too_large",
            RejectReason::ClientIdReused => "client_id_reused",
            RejectReason::StoreError => "store_error",
        }
    }
}

/// Observations of one histogram series.
#[derive(Debug, Default, Clone)]
struct Histogram {
    counts: [u64; BUCKETS.len()],
    count: u64,
    sum: f64,
}

impl Histogram {
    fn observe(&mut self, seconds: f64) {
        for (count, bound) in self.counts.iter_mut().zip(BUCKETS) {
            if seconds <= bound {
                *count += 1;
            }
        }
        self.count += 1;
        self.sum += seconds;
    }
}

/// The process-wide metric values.
#[derive(Debug, Default)]
struct Registry {
    ingested: AtomicU64,
    rejected: Mutex<BTreeMap<RejectReason, u64>>,
    durations: Mutex<BTreeMap<(String, u16), Histogram>>,
}

static REGISTRY: LazyLock<Registry> = LazyLock::new(Registry::default);

/// Counts events stored by ingest.
pub fn record_ingested(count: usize) {
    REGISTRY.ingested.fetch_add(count as u64, Ordering::Relaxed);
}

/// Counts events of a request that were not stored.
pub fn record_rejected(reason: RejectReason, count: usize) {
    if let Ok(mut rejected) = REGISTRY.rejected.lock() {
        *rejected.entry(reason).or_default() += count as u64;
    }
}

/// Records the duration of every request under its matched route and status.
pub async fn track_requests(request: Request, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or("unmatched", MatchedPath::as_str)
        .to_owned();
    let started = Instant::now();
    let response = next.run(request).await;
    let seconds = started.elapsed().as_secs_f64();

    let status = response.status().as_u16();
    if let Ok(mut durations) = REGISTRY.durations.lock() {
        durations
            .entry((route, status))
            .or_default()
            .observe(seconds);
    }
    response
}

/// Serves the metrics in the Prometheus text format, version 0.0.4.
#[utoipa::path(
    get,
    path = "/metrics",
    operation_id = "getMetrics",
    tag = "meta",
    security(()),
    responses(
        (
            status = 200,
            description = "Prometheus text format, version 0.0.4",
            body = String,
            content_type = "text/plain; version=0.0.4",
        ),
    ),
)]
pub async fn render() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        render_text(),
    )
}

fn render_text() -> String {
    let mut text = String::new();
    let ingested = REGISTRY.ingested.load(Ordering::Relaxed);
    let _ = writeln!(
        text,
        "# HELP agentlens_events_ingested_total Events stored by POST /api/events.\n\
         # TYPE agentlens_events_ingested_total counter\n\
         agentlens_events_ingested_total {ingested}"
    );

    let _ = writeln!(
        text,
        "# HELP agentlens_events_rejected_total Events of POST /api/events requests that \
         were not stored, by reason.\n# TYPE agentlens_events_rejected_total counter"
    );
    if let Ok(rejected) = REGISTRY.rejected.lock() {
        for (reason, count) in rejected.iter() {
            let reason = reason.as_str();
            let _ = writeln!(
                text,
                "agentlens_events_rejected_total{{reason=\"{reason}\"}} {count}"
            );
        }
    }

    let _ = writeln!(
        text,
        "# HELP agentlens_http_request_duration_seconds Time to produce the response, by \
         matched route and status.\n# TYPE agentlens_http_request_duration_seconds histogram"
    );
    let snapshot = REGISTRY
        .durations
        .lock()
        .map(|durations| durations.clone())
        .unwrap_or_default();
    for ((route, status), histogram) in snapshot {
        let labels = format!("route=\"{}\",status=\"{status}\"", escape(&route));
        for (count, bound) in histogram.counts.iter().zip(BUCKETS) {
            let _ = writeln!(
                text,
                "agentlens_http_request_duration_seconds_bucket{{{labels},le=\"{bound}\"}} {count}"
            );
        }
        let _ = writeln!(
            text,
            "agentlens_http_request_duration_seconds_bucket{{{labels},le=\"+Inf\"}} {}\n\
             agentlens_http_request_duration_seconds_sum{{{labels}}} {}\n\
             agentlens_http_request_duration_seconds_count{{{labels}}} {}",
            histogram.count, histogram.sum, histogram.count
        );
    }
    text
}

/// Escapes a label value as the text format requires.
fn escape(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histogram_buckets_are_cumulative() {
        let mut histogram = Histogram::default();
        histogram.observe(0.003);
        histogram.observe(0.2);
        assert_eq!(histogram.counts[0], 0);
        assert_eq!(histogram.counts[2], 1);
        assert_eq!(histogram.counts[7], 2);
        assert_eq!(histogram.count, 2);
    }

    #[test]
    fn label_values_are_escaped() {
        assert_eq!(escape("a\"b\\c"), "a\\\"b\\\\c");
    }
}
