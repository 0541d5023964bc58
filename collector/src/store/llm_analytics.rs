//! LLM call analytics over `llm_response` events: calls, exact costs, tokens and latency.
//!
//! Every `llm_response` counts under the [cost rule](super::cost_rule), so these costs
//! agree with the `llm_response` share of `GET /api/analytics/costs`. The summary, the
//! per-model rows and the time buckets are read in one transaction, and time buckets are
//! built from 15-minute UTC slots as in [`super::buckets`].
//!
//! Latency is the `latencyMs` field of the stored payload. It is a measurement, not money,
//! so it is averaged as a float.

use std::cmp::Reverse;
use std::collections::BTreeMap;

use agentlens_core::Usd;
use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use rusqlite::{Connection, Row};
use rust_decimal::Decimal;
use serde::Serialize;

use super::analytics::Granularity;
use super::buckets::{bucket_of, parse_slot, SLOT_SQL};
use super::cost_rule::COUNTED_COST_ROWS;
use super::filter::SqlFilter;
use super::{PicoSum, Store, StoreError};

/// Sums selected by every LLM query, read by [`LlmSums::from_row`].
const LLM_SUMS_SQL: &str = "COUNT(*), COALESCE(SUM(cost_pico / 1000000), 0), \
    COALESCE(SUM(cost_pico % 1000000), 0), COALESCE(SUM(cost_pico IS NULL), 0), \
    COALESCE(SUM(input_tokens), 0), COALESCE(SUM(output_tokens), 0), \
    COALESCE(SUM(json_extract(payload, '$.latencyMs')), 0), \
    COUNT(json_extract(payload, '$.latencyMs'))";

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

/// Running sums of a group of `llm_response` rows.
#[derive(Debug, Clone, Copy, Default)]
struct LlmSums {
    calls: i64,
    cost: PicoSum,
    unpriced: i64,
    input: i64,
    output: i64,
    latency_total_ms: f64,
    latency_count: i64,
}

impl LlmSums {
    fn from_row(row: &Row<'_>, index: usize) -> rusqlite::Result<LlmSums> {
        Ok(LlmSums {
            calls: row.get(index)?,
            cost: PicoSum::from_row(row, index + 1)?,
            unpriced: row.get(index + 3)?,
            input: row.get(index + 4)?,
            output: row.get(index + 5)?,
            latency_total_ms: row.get(index + 6)?,
            latency_count: row.get(index + 7)?,
        })
    }

    fn add(&mut self, other: &LlmSums) {
        self.calls += other.calls;
        self.cost.add(other.cost);
        self.unpriced += other.unpriced;
        self.input += other.input;
        self.output += other.output;
        self.latency_total_ms += other.latency_total_ms;
        self.latency_count += other.latency_count;
    }

    /// Returns the average latency, 0 when no call reported one.
    fn average_latency_ms(&self) -> f64 {
        if self.latency_count == 0 {
            0.0
        } else {
            self.latency_total_ms / self.latency_count as f64
        }
    }

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
    /// Average `latencyMs` of the calls that reported one.
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
    /// Average `latencyMs` of the calls that reported one.
    pub avg_latency_ms: f64,
    /// `totalCostUsd` divided by the calls with a known cost, to the pico-dollar.
    #[schema(schema_with = crate::openapi::schemas::exact_decimal)]
    pub avg_cost_per_call: Usd,
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
    /// Bucket label: RFC 3339 start time for hours and days, `IYYY-Www` for weeks.
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
    /// Builds the LLM call report for a tenant.
    ///
    /// # Errors
    ///
    /// Returns [`StoreError`] when a query fails or a sum leaves the decimal range.
    pub async fn llm_report(&self, tenant: &str, query: LlmQuery) -> Result<LlmReport, StoreError> {
        let mut filter = SqlFilter::for_tenant(tenant);
        filter.push(COUNTED_COST_ROWS, []);
        filter.push("event_type = 'llm_response'", []);
        filter.at_least("timestamp", Some(&query.from));
        filter.at_most("timestamp", Some(&query.to));
        filter.eq("agent_id", query.agent_id.as_deref());
        filter.eq("model", query.model.as_deref());
        filter.eq("provider", query.provider.as_deref());

        self.read(move |conn| {
            // One transaction gives every breakdown the same snapshot.
            let transaction = conn.transaction()?;
            let report = build_report(&transaction, &filter, &query)?;
            transaction.commit()?;
            Ok(report)
        })
        .await
    }
}

fn build_report(
    conn: &Connection,
    filter: &SqlFilter,
    query: &LlmQuery,
) -> Result<LlmReport, StoreError> {
    let where_sql = filter.where_sql();
    let params = || rusqlite::params_from_iter(filter.params());

    let total_sql = format!("SELECT {LLM_SUMS_SQL} FROM events {where_sql}");
    let totals = conn.query_row(&total_sql, params(), |row| LlmSums::from_row(row, 0))?;

    let model_sql = format!(
        "SELECT provider, model, {LLM_SUMS_SQL} FROM events {where_sql} GROUP BY provider, model"
    );
    let mut statement = conn.prepare(&model_sql)?;
    let rows = statement.query_map(params(), |row| {
        Ok((row.get(0)?, row.get(1)?, LlmSums::from_row(row, 2)?))
    })?;
    let mut by_model = Vec::new();
    for row in rows {
        let (provider, model, sums) = row?;
        by_model.push(LlmModel {
            provider,
            model,
            figures: sums.into_figures()?,
        });
    }
    by_model.sort_by_key(|group| Reverse(group.figures.cost_usd));

    Ok(LlmReport {
        summary: summary(totals)?,
        by_model,
        by_time: by_time(conn, filter, query)?,
    })
}

fn summary(totals: LlmSums) -> Result<LlmSummary, StoreError> {
    let total_cost = totals.cost.to_usd()?;
    let priced_calls = totals.calls - totals.unpriced;
    let average_cost = if priced_calls > 0 {
        let exact = total_cost.as_decimal() / Decimal::from(priced_calls);
        Usd::new(exact.round_dp(agentlens_core::money::PICO_SCALE))
    } else {
        Usd::ZERO
    };
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

/// Groups the calls into 15-minute UTC slots, then merges the slots into the requested
/// buckets on the clock of the requested zone.
fn by_time(
    conn: &Connection,
    filter: &SqlFilter,
    query: &LlmQuery,
) -> Result<Vec<LlmBucket>, StoreError> {
    let sql = format!(
        "SELECT {SLOT_SQL} AS slot, {LLM_SUMS_SQL} FROM events {} GROUP BY slot",
        filter.where_sql()
    );
    let mut statement = conn.prepare(&sql)?;
    let rows = statement.query_map(rusqlite::params_from_iter(filter.params()), |row| {
        Ok((row.get::<_, String>(0)?, LlmSums::from_row(row, 1)?))
    })?;

    let mut buckets: BTreeMap<DateTime<Utc>, (String, LlmSums)> = BTreeMap::new();
    for row in rows {
        let (slot, sums) = row?;
        let (start, label) = bucket_of(parse_slot(&slot)?, query.granularity, query.time_zone);
        let entry = buckets
            .entry(start)
            .or_insert_with(|| (label, LlmSums::default()));
        entry.1.add(&sums);
    }

    buckets
        .into_values()
        .map(|(bucket, sums)| {
            Ok(LlmBucket {
                bucket,
                figures: sums.into_figures()?,
            })
        })
        .collect()
}
