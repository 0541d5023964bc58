//! LLM call analytics over `llm_response` events: calls, exact costs, tokens and latency.
//!
//! Every `llm_response` counts under the [cost rule](super::cost_rule), so these costs
//! agree with the `llm_response` share of `GET /api/analytics/costs`.
//!
//! [`Store::llm_report`] reads the [LLM rollups](super::llm_rollups) through
//! [`super::llm_rollup_report`], so its cost grows with the number of buckets, agents and
//! models in the range rather than with the number of calls. [`Store::llm_report_from_events`]
//! computes the same report from the stored events. The tests use it to check the rollups,
//! and the rollup path falls back to it when a bucket boundary is not on a whole minute.
//! Time buckets follow [`super::buckets`].
//!
//! Latency is the `latencyMs` field of the stored payload. Each call's latency is rounded
//! to whole microseconds ([`super::llm_rollups::latency_micros`]) and summed exactly, and
//! an average is that sum in milliseconds divided by the number of calls with a latency.

use std::cmp::Reverse;
use std::collections::BTreeMap;

use agentlens_core::Usd;
use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use rusqlite::Connection;
use rust_decimal::Decimal;
use serde::Serialize;

use super::analytics::Granularity;
use super::bucket_clock::BucketCursor;
use super::cost_rule::COUNTED_COST_ROWS;
use super::filter::SqlFilter;
use super::llm_rollups::{LlmSums, EVENT_COLUMNS};
use super::rollup_report::text;
use super::rollups::unix_second;
use super::{Store, StoreError};

/// Parameters of an LLM report, with timestamps as stored-format text.
#[derive(Debug, Clone)]
pub struct LlmQuery {
    /// Earliest event timestamp, inclusive.
    pub from: String,
    /// Latest event timestamp, inclusive.
    pub to: String,
    /// Only this agent's calls, when set.
    pub agent_id: Option<String>,
    /// Only calls with this `model`, when set.
    pub model: Option<String>,
    /// Only calls with this `provider`, when set.
    pub provider: Option<String>,
    /// Bucket size of `byTime`.
    pub granularity: Granularity,
    /// Zone whose clock defines hours, days and weeks.
    pub time_zone: Tz,
}

/// Figures of one model or one time bucket.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct LlmFigures {
    /// `llm_response` events.
    pub calls: i64,
    /// Exact sum of known costs.
    #[schema(schema_with = crate::openapi::schemas::exact_decimal)]
    pub cost_usd: Usd,
    /// Input tokens, cache reads and writes included.
    pub input_tokens: i64,
    /// Output tokens.
    pub output_tokens: i64,
    /// Average `latencyMs` of the calls that reported one, each rounded to the microsecond.
    pub avg_latency_ms: f64,
    /// Calls whose cost is unknown, which add nothing to `costUsd`.
    pub unpriced_count: i64,
}

/// Totals of all calls in the range.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct LlmSummary {
    /// `llm_response` events.
    pub total_calls: i64,
    /// Exact sum of known costs.
    #[schema(schema_with = crate::openapi::schemas::exact_decimal)]
    pub total_cost_usd: Usd,
    /// Input tokens, cache reads and writes included.
    pub total_input_tokens: i64,
    /// Output tokens.
    pub total_output_tokens: i64,
    /// Average `latencyMs` of the calls that reported one, each rounded to the microsecond.
    pub avg_latency_ms: f64,
    /// `totalCostUsd` divided by the calls with a known cost (`totalCalls` minus
    /// `unpricedCount`), to the pico-dollar. It is null when no call has a known cost,
    /// because an unknown cost is not $0.
    #[schema(schema_with = crate::openapi::schemas::nullable_exact_decimal)]
    pub avg_cost_per_call: Option<Usd>,
    /// Calls whose cost is unknown.
    pub unpriced_count: i64,
}

/// Figures of one model of one provider.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct LlmModel {
    /// Provider name.
    pub provider: String,
    /// Model id.
    pub model: String,
    /// The model's figures.
    #[serde(flatten)]
    pub figures: LlmFigures,
}

/// Figures of one time bucket.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct LlmBucket {
    /// Bucket label: the local start time for hours and days, in RFC 3339 (or with a
    /// `±hh:mm:ss` offset when the zone's offset then had seconds), `IYYY-Www` for weeks.
    /// A local hour that a clock change shortens starts at the change, and one it repeats
    /// right away is a single longer bucket. A clock that goes back at other than a whole
    /// hour, or by more than an hour, shows an hour twice with another hour between. Each
    /// of those stretches is a bucket of its own, so that label appears twice.
    pub bucket: String,
    /// The bucket's figures.
    #[serde(flatten)]
    pub figures: LlmFigures,
}

/// The body of `GET /api/analytics/llm`.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct LlmReport {
    /// All calls in the range.
    pub summary: LlmSummary,
    /// Per provider and model, highest cost first.
    pub by_model: Vec<LlmModel>,
    /// Per time bucket, oldest first; buckets without calls are left out.
    pub by_time: Vec<LlmBucket>,
}

impl Store {
    /// Builds the LLM call report for a tenant from the rollups and the partial minutes at
    /// the ends of the range.
    ///
    /// # Errors
    ///
    /// Returns [`StoreError`] when a query fails or a sum leaves the decimal range.
    pub async fn llm_report(&self, tenant: &str, query: LlmQuery) -> Result<LlmReport, StoreError> {
        let tenant = tenant.to_owned();
        self.read(
            move |conn| match super::llm_rollup_report::build(conn, &tenant, &query)? {
                Some(report) => Ok(report),
                None => build_from_events(conn, &tenant, &query),
            },
        )
        .await
    }

    /// Builds the LLM call report for a tenant by reading every `llm_response` in the
    /// range.
    ///
    /// It returns the same report as [`Store::llm_report`], more slowly.
    ///
    /// # Errors
    ///
    /// Returns [`StoreError`] when a query fails or a sum leaves the decimal range.
    pub async fn llm_report_from_events(
        &self,
        tenant: &str,
        query: LlmQuery,
    ) -> Result<LlmReport, StoreError> {
        let tenant = tenant.to_owned();
        self.read(move |conn| build_from_events(conn, &tenant, &query))
            .await
    }
}

/// Running sums of every part of the report.
#[derive(Debug, Default)]
pub(super) struct LlmTally {
    totals: LlmSums,
    by_model: BTreeMap<(String, String), LlmSums>,
    /// Sums and label of each bucket, by the Unix second where it starts.
    by_time: BTreeMap<i64, (String, LlmSums)>,
}

impl LlmTally {
    /// Adds calls to the summary and to `byModel`.
    pub(super) fn add_breakdown(&mut self, provider: &str, model: &str, sums: &LlmSums) {
        self.totals.add(sums);
        let key = (provider.to_owned(), model.to_owned());
        self.by_model.entry(key).or_default().add(sums);
    }

    /// Adds calls to the bucket starting at `start`, labelled by `label` when it is new.
    pub(super) fn add_bucket(
        &mut self,
        start: i64,
        label: impl FnOnce() -> String,
        sums: &LlmSums,
    ) {
        let entry = self.by_time.entry(start);
        entry
            .or_insert_with(|| (label(), LlmSums::default()))
            .1
            .add(sums);
    }

    /// Converts the sums to the response body: models by cost, highest first (ties by
    /// provider and model), and the buckets that hold calls, oldest first.
    pub(super) fn into_report(self) -> Result<LlmReport, StoreError> {
        let mut by_model = Vec::with_capacity(self.by_model.len());
        for ((provider, model), sums) in self.by_model {
            by_model.push(LlmModel {
                provider,
                model,
                figures: sums.into_figures()?,
            });
        }
        // The sort is stable and the map yields provider and model in order.
        by_model.sort_by_key(|group| Reverse(group.figures.cost_usd));

        let mut by_time = Vec::with_capacity(self.by_time.len());
        for (label, sums) in self.by_time.into_values() {
            if sums.calls > 0 {
                by_time.push(LlmBucket {
                    bucket: label,
                    figures: sums.into_figures()?,
                });
            }
        }

        Ok(LlmReport {
            summary: summary(self.totals)?,
            by_model,
            by_time,
        })
    }
}

impl LlmSums {
    fn into_figures(self) -> Result<LlmFigures, StoreError> {
        Ok(LlmFigures {
            calls: self.calls,
            cost_usd: self.cost.to_usd()?,
            input_tokens: self.input,
            output_tokens: self.output,
            avg_latency_ms: self.average_latency_ms(),
            unpriced_count: self.unpriced,
        })
    }
}

fn summary(totals: LlmSums) -> Result<LlmSummary, StoreError> {
    let total_cost = totals.cost.to_usd()?;
    let priced_calls = totals.calls - totals.unpriced;
    let average_cost = (priced_calls > 0).then(|| {
        let exact = total_cost.as_decimal() / Decimal::from(priced_calls);
        Usd::new(exact.round_dp(agentlens_core::money::PICO_SCALE))
    });
    Ok(LlmSummary {
        total_calls: totals.calls,
        total_cost_usd: total_cost,
        total_input_tokens: totals.input,
        total_output_tokens: totals.output,
        avg_latency_ms: totals.average_latency_ms(),
        avg_cost_per_call: average_cost,
        unpriced_count: totals.unpriced,
    })
}

/// Returns a filter on the tenant and the report's agent, model and provider, columns
/// that both `events` and `llm_rollups` have.
pub(super) fn call_filter(tenant: &str, query: &LlmQuery) -> SqlFilter {
    let mut filter = SqlFilter::for_tenant(tenant);
    filter.eq("agent_id", query.agent_id.as_deref());
    filter.eq("model", query.model.as_deref());
    filter.eq("provider", query.provider.as_deref());
    filter
}

/// Adds `filter`'s counted `llm_response` rows to the tally, each in the bucket of
/// `bucket_at(second)`, where `second` is the Unix second of the row's timestamp.
///
/// # Errors
///
/// Returns [`StoreError`] when the query fails or a stored timestamp cannot be read.
pub(super) fn read_calls(
    conn: &Connection,
    filter: &SqlFilter,
    tally: &mut LlmTally,
    mut bucket_at: impl FnMut(i64) -> (i64, String),
) -> Result<(), StoreError> {
    let sql = format!(
        "SELECT timestamp, provider, model, {EVENT_COLUMNS} FROM events {} \
         AND event_type = 'llm_response' AND {COUNTED_COST_ROWS}",
        filter.where_sql()
    );
    let mut statement = conn.prepare_cached(&sql)?;
    let mut rows = statement.query(rusqlite::params_from_iter(filter.params()))?;
    while let Some(row) = rows.next()? {
        let timestamp = text(row, 0)?;
        let second = unix_second(timestamp)
            .ok_or_else(|| StoreError::Corrupt(format!("timestamp {timestamp:?}")))?;
        let sums = LlmSums::from_event_row(row, 3)?;
        let (start, label) = bucket_at(second);
        tally.add_bucket(start, || label, &sums);
        tally.add_breakdown(text(row, 1)?, text(row, 2)?, &sums);
    }
    Ok(())
}

/// Builds the report from the stored events, placing each call in the bucket of its
/// timestamp's whole second, which is exact because every bucket boundary is a whole second.
fn build_from_events(
    conn: &Connection,
    tenant: &str,
    query: &LlmQuery,
) -> Result<LlmReport, StoreError> {
    let mut filter = call_filter(tenant, query);
    filter.at_least("timestamp", Some(&query.from));
    filter.at_most("timestamp", Some(&query.to));

    // Calls come in timestamp order through `events_tenant_llm_rows`, so the bucket of the
    // previous call usually contains the next one too, and the cursor reuses it.
    let mut cursor = BucketCursor::new(query.granularity, query.time_zone);
    let mut tally = LlmTally::default();
    read_calls(conn, &filter, &mut tally, |second| {
        let instant = DateTime::<Utc>::from_timestamp(second, 0).unwrap_or_default();
        let bucket = cursor.place(instant);
        (bucket.start.timestamp(), bucket.label.clone())
    })?;
    tally.into_report()
}
