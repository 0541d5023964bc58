//! The `llm_response` latencies of the generated workload and an independent recomputation
//! of its LLM report.
//!
//! [`Workload::expected_llm_report`] rebuilds the body of `GET /api/analytics/llm` from the
//! generated numbers alone. It counts every `llm_response` of the range that matches the
//! filters, sums costs as integer pico-dollars and latencies as integer microseconds, and
//! places each call in its bucket with chrono-tz.

use std::cmp::Reverse;
use std::collections::BTreeMap;

use agentlens_collector::store::llm_analytics::{
    LlmBucket, LlmFigures, LlmModel, LlmQuery, LlmReport, LlmSummary,
};
use chrono::DateTime;
use serde_json::{json, Value};

use super::{agent_name, usd, BucketCache, Workload, WorkloadEvent, MODELS};

/// The `latencyMs` a generated `llm_response` reports: its JSON value and the whole
/// microseconds it should count for.
///
/// One call in eight sends whole milliseconds as a JSON integer. The others send
/// milliseconds with four decimals, and one in eight of all calls lands exactly on half a
/// microsecond, which rounds away from zero. Some of those halves, such as 0.5005, are
/// slightly below the half in binary, so multiplying the binary value by 1000 would round
/// them down. The value is a function of the event, so adding it draws nothing from the
/// workload's random numbers.
pub(super) fn latency(event: &WorkloadEvent) -> (Value, i64) {
    let seed = event.at.timestamp_micros().unsigned_abs() ^ ((event.input_tokens as u64) << 7);
    let seed = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 20;
    let tenths_of_micros = match seed % 8 {
        0 => {
            let ms = (seed / 8 % 5_000) as i64;
            return (json!(ms), ms * 1_000);
        }
        // 0.0005 to 500.0005 ms, each exactly on a half microsecond.
        1 => (seed / 8 % 500_000 * 10 + 5) as i64,
        _ => (seed / 8 % 50_000_000) as i64,
    };
    let ms = tenths_of_micros as f64 / 10_000.0;
    (json!(ms), (tenths_of_micros + 5) / 10)
}

/// Exact sums of a group of calls.
#[derive(Debug, Clone, Copy, Default)]
struct CallFigures {
    calls: i64,
    cost_pico: i128,
    unpriced: i64,
    input_tokens: i64,
    output_tokens: i64,
    latency_micros: i128,
}

impl CallFigures {
    fn add(&mut self, event: &WorkloadEvent) {
        self.calls += 1;
        self.cost_pico += i128::from(event.counted_cost_pico.unwrap_or(0));
        self.unpriced += i64::from(event.counted_cost_pico.is_none());
        self.input_tokens += event.input_tokens;
        self.output_tokens += event.output_tokens;
        self.latency_micros += i128::from(latency(event).1);
    }

    /// Returns the average latency: the microsecond sum in milliseconds over the calls.
    fn average_latency_ms(&self) -> f64 {
        if self.calls == 0 {
            return 0.0;
        }
        (self.latency_micros as f64 / 1000.0) / self.calls as f64
    }

    fn figures(&self) -> LlmFigures {
        LlmFigures {
            calls: self.calls,
            cost_usd: usd(self.cost_pico),
            input_tokens: self.input_tokens,
            output_tokens: self.output_tokens,
            avg_latency_ms: self.average_latency_ms(),
            unpriced_count: self.unpriced,
        }
    }

    /// Returns the summary. The average cost per priced call is rounded to the
    /// pico-dollar, halves to even.
    fn summary(&self) -> LlmSummary {
        let priced = i128::from(self.calls - self.unpriced);
        let avg_cost_per_call = (priced > 0).then(|| {
            let (quotient, remainder) = (self.cost_pico / priced, self.cost_pico % priced);
            let up = 2 * remainder > priced || (2 * remainder == priced && quotient % 2 == 1);
            usd(quotient + i128::from(up))
        });
        LlmSummary {
            total_calls: self.calls,
            total_cost_usd: usd(self.cost_pico),
            total_input_tokens: self.input_tokens,
            total_output_tokens: self.output_tokens,
            avg_latency_ms: self.average_latency_ms(),
            avg_cost_per_call,
            unpriced_count: self.unpriced,
        }
    }
}

impl Workload {
    /// Returns the LLM report that `query` should produce, computed from the generated
    /// events.
    pub fn expected_llm_report(&self, query: &LlmQuery) -> LlmReport {
        let from: DateTime<chrono::Utc> = query.from.parse().unwrap();
        let to: DateTime<chrono::Utc> = query.to.parse().unwrap();
        let first = self.by_time.partition_point(|&i| self.events[i].at < from);
        let end = self.by_time.partition_point(|&i| self.events[i].at <= to);
        let matches = |event: &WorkloadEvent| {
            let (provider, model) = MODELS[event.model];
            event.response
                && (query.agent_id.as_deref()).is_none_or(|id| id == agent_name(event.agent))
                && query.provider.as_deref().is_none_or(|id| id == provider)
                && query.model.as_deref().is_none_or(|id| id == model)
        };

        let mut totals = CallFigures::default();
        let mut by_model = vec![CallFigures::default(); MODELS.len()];
        let mut by_time: BTreeMap<DateTime<chrono::Utc>, (String, CallFigures)> = BTreeMap::new();
        let mut buckets = BucketCache::new(query.granularity, query.time_zone);
        for &index in &self.by_time[first..end] {
            let event = &self.events[index];
            if !matches(event) {
                continue;
            }
            totals.add(event);
            by_model[event.model].add(event);
            let (start, label) = buckets.bucket_of(event.at);
            let bucket = by_time
                .entry(start)
                .or_insert_with(|| (label.to_owned(), CallFigures::default()));
            bucket.1.add(event);
        }

        let mut models: Vec<LlmModel> = (by_model.iter().enumerate())
            .filter(|(_, figures)| figures.calls > 0)
            .map(|(model, figures)| LlmModel {
                provider: MODELS[model].0.to_owned(),
                model: MODELS[model].1.to_owned(),
                figures: figures.figures(),
            })
            .collect();
        models.sort_by(|a, b| {
            (Reverse(a.figures.cost_usd), &a.provider, &a.model).cmp(&(
                Reverse(b.figures.cost_usd),
                &b.provider,
                &b.model,
            ))
        });
        LlmReport {
            summary: totals.summary(),
            by_model: models,
            by_time: (by_time.into_values())
                .map(|(bucket, figures)| LlmBucket {
                    bucket,
                    figures: figures.figures(),
                })
                .collect(),
        }
    }
}
