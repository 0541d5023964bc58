//! The activity overview of `GET /api/analytics`: event, tool-call and error counts,
//! latency, exact cost and distinct sessions, per time bucket and in total.
//!
//! One query groups the events in range by 15-minute UTC slot, session and agent
//! ([`super::buckets::for_each_group`], as for costs), and Rust merges the groups into
//! buckets on the clock of the requested zone. Keeping the session and agent in each group lets the buckets and
//! the totals count distinct sessions and agents exactly for any zone.
//!
//! Unlike upstream AgentLens, whose overview sums `costUsd` of `cost_tracked` events only,
//! the cost here follows the [cost rule](super::cost_rule), so it equals the total of
//! `GET /api/analytics/costs` over the same range. Latency averages both kinds of measured
//! duration: `durationMs` of `tool_response` events and `latencyMs` of `llm_response`
//! events, counting only numeric values.

use std::collections::{BTreeMap, HashSet};

use agentlens_core::Usd;
use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use rusqlite::{Connection, Row};
use serde::Serialize;

use super::analytics::Granularity;
use super::bucket_clock::BucketCursor;
use super::buckets::for_each_group;
use super::cost_rule::COUNTED_COST_ROWS;
use super::filter::SqlFilter;
use super::{PicoSum, Store, StoreError};

/// The duration an event measured, in milliseconds, or NULL.
const LATENCY_SQL: &str = "CASE \
    WHEN event_type = 'tool_response' AND json_type(payload, '$.durationMs') IN ('integer', 'real') \
    THEN json_extract(payload, '$.durationMs') \
    WHEN event_type = 'llm_response' AND json_type(payload, '$.latencyMs') IN ('integer', 'real') \
    THEN json_extract(payload, '$.latencyMs') END";

/// Parameters of an overview, with timestamps as stored-format text.
#[derive(Debug, Clone)]
pub struct OverviewQuery {
    /// Earliest event timestamp, inclusive.
    pub from: String,
    /// Latest event timestamp, inclusive.
    pub to: String,
    /// Only this agent's events, when set.
    pub agent_id: Option<String>,
    /// Bucket size.
    pub granularity: Granularity,
    /// Zone whose clock defines hours, days and weeks.
    pub time_zone: Tz,
}

/// Figures of one time bucket.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct OverviewBucket {
    /// Bucket label: the local start time for hours and days, in RFC 3339 (or with a
    /// `±hh:mm:ss` offset when the zone's offset then had seconds), `IYYY-Www` for weeks.
    /// A local hour that a clock change shortens starts at the change, and one it repeats
    /// right away is a single longer bucket. A clock that goes back at other than a whole
    /// hour, or by more than an hour, shows an hour twice with another hour between. Each
    /// of those stretches is a bucket of its own, so that label appears twice.
    pub timestamp: String,
    /// Stored events.
    pub event_count: i64,
    /// `tool_call` events.
    pub tool_call_count: i64,
    /// Events with severity `error` or `critical`, and `tool_error` events.
    pub error_count: i64,
    /// Average of `tool_response.durationMs` and `llm_response.latencyMs`; 0 without any.
    pub avg_latency_ms: f64,
    /// Exact sum of the costs that count under the cost rule.
    #[schema(schema_with = crate::openapi::schemas::exact_decimal)]
    pub total_cost_usd: Usd,
    /// Distinct sessions with an event in the bucket.
    pub unique_sessions: i64,
    /// Counted cost rows whose cost is unknown, which add nothing to `totalCostUsd`.
    pub unpriced_count: i64,
}

/// Figures of the whole range.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct OverviewTotals {
    /// Stored events.
    pub event_count: i64,
    /// `tool_call` events.
    pub tool_call_count: i64,
    /// Events with severity `error` or `critical`, and `tool_error` events.
    pub error_count: i64,
    /// Average of `tool_response.durationMs` and `llm_response.latencyMs`; 0 without any.
    pub avg_latency_ms: f64,
    /// Exact sum of the costs that count under the cost rule.
    #[schema(schema_with = crate::openapi::schemas::exact_decimal)]
    pub total_cost_usd: Usd,
    /// Distinct sessions with an event in the range.
    pub unique_sessions: i64,
    /// Distinct agents with an event in the range.
    pub unique_agents: i64,
    /// Counted cost rows whose cost is unknown, which add nothing to `totalCostUsd`.
    pub unpriced_count: i64,
}

/// The body of `GET /api/analytics`.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Overview {
    /// Buckets with at least one event, oldest first.
    pub buckets: Vec<OverviewBucket>,
    /// The whole range. Counts and costs equal the sums over `buckets`, but a session
    /// with events in several buckets counts once here and once in each of them.
    pub totals: OverviewTotals,
}

/// Running sums of a group of events.
#[derive(Debug, Clone, Default)]
struct Sums {
    events: i64,
    tool_calls: i64,
    errors: i64,
    latency_total_ms: f64,
    latency_count: i64,
    cost: PicoSum,
    unpriced: i64,
}

impl Sums {
    /// SQL selecting the columns read by [`Sums::from_row`].
    fn sql() -> String {
        format!(
            "COUNT(*), COALESCE(SUM(event_type = 'tool_call'), 0), COALESCE(SUM(is_error), 0), \
             COALESCE(SUM({LATENCY_SQL}), 0.0), COUNT({LATENCY_SQL}), \
             COALESCE(SUM(CASE WHEN {COUNTED_COST_ROWS} THEN cost_pico / 1000000 END), 0), \
             COALESCE(SUM(CASE WHEN {COUNTED_COST_ROWS} THEN cost_pico % 1000000 END), 0), \
             COALESCE(SUM({COUNTED_COST_ROWS} AND cost_pico IS NULL), 0)"
        )
    }

    fn from_row(row: &Row<'_>, index: usize) -> rusqlite::Result<Sums> {
        Ok(Sums {
            events: row.get(index)?,
            tool_calls: row.get(index + 1)?,
            errors: row.get(index + 2)?,
            latency_total_ms: row.get(index + 3)?,
            latency_count: row.get(index + 4)?,
            cost: PicoSum::from_row(row, index + 5)?,
            unpriced: row.get(index + 7)?,
        })
    }

    fn add(&mut self, other: &Sums) {
        self.events += other.events;
        self.tool_calls += other.tool_calls;
        self.errors += other.errors;
        self.latency_total_ms += other.latency_total_ms;
        self.latency_count += other.latency_count;
        self.cost.add(other.cost);
        self.unpriced += other.unpriced;
    }

    fn average_latency_ms(&self) -> f64 {
        if self.latency_count == 0 {
            0.0
        } else {
            self.latency_total_ms / self.latency_count as f64
        }
    }
}

/// Sums of one bucket with the distinct sessions seen in it.
#[derive(Debug, Default)]
struct BucketSums {
    label: String,
    sums: Sums,
    sessions: HashSet<String>,
}

impl BucketSums {
    fn into_bucket(self) -> Result<OverviewBucket, StoreError> {
        Ok(OverviewBucket {
            timestamp: self.label,
            event_count: self.sums.events,
            tool_call_count: self.sums.tool_calls,
            error_count: self.sums.errors,
            avg_latency_ms: self.sums.average_latency_ms(),
            total_cost_usd: self.sums.cost.to_usd()?,
            unique_sessions: count(self.sessions.len()),
            unpriced_count: self.sums.unpriced,
        })
    }
}

impl Store {
    /// Builds the activity overview of a tenant.
    ///
    /// # Errors
    ///
    /// Returns [`StoreError`] when the query fails or a sum leaves the decimal range.
    pub async fn overview(
        &self,
        tenant: &str,
        query: OverviewQuery,
    ) -> Result<Overview, StoreError> {
        let mut filter = SqlFilter::for_tenant(tenant);
        filter.at_least("timestamp", Some(&query.from));
        filter.at_most("timestamp", Some(&query.to));
        filter.eq("agent_id", query.agent_id.as_deref());
        self.read(move |conn| build_overview(conn, &filter, &query))
            .await
    }
}

fn build_overview(
    conn: &Connection,
    filter: &SqlFilter,
    query: &OverviewQuery,
) -> Result<Overview, StoreError> {
    let mut buckets: BTreeMap<DateTime<Utc>, BucketSums> = BTreeMap::new();
    let mut totals = Sums::default();
    let mut sessions = HashSet::new();
    let mut agents = HashSet::new();
    let mut cursor = BucketCursor::new(query.granularity, query.time_zone);
    let columns = format!("session_id, agent_id, {}", Sums::sql());
    let read = |row: &Row<'_>, index: usize| {
        Ok((
            row.get::<_, String>(index)?,
            row.get::<_, String>(index + 1)?,
            Sums::from_row(row, index + 2)?,
        ))
    };
    for_each_group(
        conn,
        filter,
        (&columns, "session_id, agent_id"),
        &mut cursor,
        read,
        |bucket, (session, agent, sums)| {
            let sums_of_bucket = buckets.entry(bucket.start).or_insert_with(|| BucketSums {
                label: bucket.label.clone(),
                ..BucketSums::default()
            });
            sums_of_bucket.sums.add(&sums);
            sums_of_bucket.sessions.insert(session.clone());
            totals.add(&sums);
            sessions.insert(session);
            agents.insert(agent);
        },
    )?;

    let buckets = buckets
        .into_values()
        .map(BucketSums::into_bucket)
        .collect::<Result<Vec<_>, _>>()?;
    let totals = OverviewTotals {
        event_count: totals.events,
        tool_call_count: totals.tool_calls,
        error_count: totals.errors,
        avg_latency_ms: totals.average_latency_ms(),
        total_cost_usd: totals.cost.to_usd()?,
        unique_sessions: count(sessions.len()),
        unique_agents: count(agents.len()),
        unpriced_count: totals.unpriced,
    };
    Ok(Overview { buckets, totals })
}

fn count(items: usize) -> i64 {
    i64::try_from(items).unwrap_or(i64::MAX)
}
