//! `byTool` of the cost report: the events that name a tool, and the cost of those that
//! count under the [cost rule](super::cost_rule).
//!
//! A tool's events are the `tool_call`, `tool_response`, `tool_error`, `cost_tracked` and
//! `llm_response` events whose payload has a non-empty `toolName` string. Only the cost
//! events among them carry a cost, so a tool has a cost when clients send `cost_tracked`
//! or `llm_response` events with a `toolName`. Upstream AgentLens sums `costUsd` over the
//! same event types, but its SDKs send no `toolName` in cost events, so its `byTool` costs
//! are 0 unless a client adds one.
//!
//! The counts come from [`super::tool_rollups`] for the whole UTC hours and days of the
//! range, and from the events of the partial hours at its ends. The costs come from the
//! cost events that name a tool (partial index `events_tenant_tool_cost_rows`), which the
//! cost rule may still change, so the read grows with those events only.

use std::cmp::Reverse;
use std::collections::{BTreeMap, HashMap};

use agentlens_core::event::format_timestamp;
use agentlens_core::Usd;
use chrono::{DateTime, Utc};
use rusqlite::{params, Connection};
use serde::Serialize;

use super::analytics::CostQuery;
use super::cost_rule::COUNTED_COST_ROWS;
use super::filter::SqlFilter;
use super::{tool_rollups, PicoSum, StoreError};

/// Costs and events of one tool.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ToolCost {
    /// `toolName` of the payloads.
    pub tool_name: String,
    /// Exact sum of the known costs of the tool's cost events that count under the cost
    /// rule.
    #[schema(schema_with = crate::openapi::schemas::exact_decimal)]
    pub total_cost_usd: Usd,
    /// Events in the range that name the tool: its tool events and its cost events.
    pub event_count: i64,
    /// The tool's counted cost events whose cost is unknown, which add nothing to
    /// `totalCostUsd`.
    pub unpriced_count: i64,
}

/// Reads `byTool` for the range and agent of `query`, highest cost first, then most
/// events, then by tool name.
///
/// # Errors
///
/// Returns [`StoreError`] when a query fails or a sum leaves the decimal range.
pub(crate) fn by_tool(
    conn: &Connection,
    tenant: &str,
    query: &CostQuery,
) -> Result<Vec<ToolCost>, StoreError> {
    let agent = query.agent_id.as_deref();
    let mut counts: BTreeMap<String, i64> = BTreeMap::new();
    // Ingest stores years 1970 to 9999 only, and a default `from` 30 days before an
    // early `to` can fall before year 0, which RFC 3339 cannot write.
    let from = micros(&query.from).unwrap_or(0).clamp(0, LAST_MICROS);
    let to = micros(&query.to)
        .unwrap_or(LAST_MICROS)
        .clamp(-1, LAST_MICROS);
    let range = tool_rollups::cover(from, to);
    for (span, first, end) in range.units {
        add_rollup_counts(conn, tenant, agent, (span, first, end), &mut counts)?;
    }
    for (from, to) in range.edges {
        add_event_counts(conn, tenant, agent, (from, to), &mut counts)?;
    }

    let mut costs = cost_sums(conn, tenant, query)?;
    let mut tools = Vec::with_capacity(counts.len());
    for (tool_name, event_count) in counts {
        let (cost, unpriced_count) = costs.remove(&tool_name).unwrap_or_default();
        tools.push(ToolCost {
            tool_name,
            total_cost_usd: cost.to_usd()?,
            event_count,
            unpriced_count,
        });
    }
    tools.sort_by(|a, b| {
        (
            Reverse(a.total_cost_usd),
            Reverse(a.event_count),
            &a.tool_name,
        )
            .cmp(&(
                Reverse(b.total_cost_usd),
                Reverse(b.event_count),
                &b.tool_name,
            ))
    });
    Ok(tools)
}

/// Unix microsecond of `9999-12-31T23:59:59.999999Z`, the last instant ingest stores.
const LAST_MICROS: i64 = 253_402_300_799_999_999;

/// Returns the Unix microsecond of a stored timestamp, or `None` for a year outside
/// RFC 3339's 0 to 9999.
fn micros(text: &str) -> Option<i64> {
    DateTime::parse_from_rfc3339(text)
        .ok()
        .map(|time| time.timestamp_micros())
}

/// Adds the rollup counts of the units of `span` that start in `[first, end)` seconds.
fn add_rollup_counts(
    conn: &Connection,
    tenant: &str,
    agent: Option<&str>,
    (span, first, end): (i64, i64, i64),
    counts: &mut BTreeMap<String, i64>,
) -> Result<(), StoreError> {
    let mut statement = conn.prepare_cached(
        "SELECT tool_name, SUM(event_count) FROM tool_rollups \
         WHERE tenant_id = ?1 AND span = ?2 AND bucket_start >= ?3 AND bucket_start < ?4 \
         AND (?5 IS NULL OR agent_id = ?5) GROUP BY tool_name",
    )?;
    let mut rows = statement.query(params![tenant, span, first, end, agent])?;
    while let Some(row) = rows.next()? {
        *counts.entry(row.get(0)?).or_default() += row.get::<_, i64>(1)?;
    }
    Ok(())
}

/// Adds the counts of the events that name a tool in `[from, to]` Unix microseconds.
fn add_event_counts(
    conn: &Connection,
    tenant: &str,
    agent: Option<&str>,
    (from, to): (i64, i64),
    counts: &mut BTreeMap<String, i64>,
) -> Result<(), StoreError> {
    let text = |micros: i64| {
        DateTime::<Utc>::from_timestamp_micros(micros)
            .map(|time| format_timestamp(&time))
            .ok_or_else(|| StoreError::Corrupt(format!("range bound {micros} µs")))
    };
    let mut statement = conn.prepare_cached(
        "SELECT tool_name, COUNT(*) FROM events INDEXED BY events_tenant_tool_rows \
         WHERE tenant_id = ?1 AND tool_name IS NOT NULL AND timestamp >= ?2 \
         AND timestamp <= ?3 AND (?4 IS NULL OR agent_id = ?4) GROUP BY tool_name",
    )?;
    let mut rows = statement.query(params![tenant, text(from)?, text(to)?, agent])?;
    while let Some(row) = rows.next()? {
        *counts.entry(row.get(0)?).or_default() += row.get::<_, i64>(1)?;
    }
    Ok(())
}

/// Returns the counted cost and the unpriced count of each tool's cost events.
fn cost_sums(
    conn: &Connection,
    tenant: &str,
    query: &CostQuery,
) -> Result<HashMap<String, (PicoSum, i64)>, StoreError> {
    let mut filter = SqlFilter::for_tenant(tenant);
    // Names the partial index's condition, so that SQLite uses the index.
    filter.push("tool_name IS NOT NULL AND cost_source IS NOT NULL", []);
    filter.at_least("timestamp", Some(&query.from));
    filter.at_most("timestamp", Some(&query.to));
    filter.eq("agent_id", query.agent_id.as_deref());
    let sql = format!(
        "SELECT tool_name, \
         COALESCE(SUM(CASE WHEN {COUNTED_COST_ROWS} THEN cost_pico / 1000000 END), 0), \
         COALESCE(SUM(CASE WHEN {COUNTED_COST_ROWS} THEN cost_pico % 1000000 END), 0), \
         COALESCE(SUM({COUNTED_COST_ROWS} AND cost_pico IS NULL), 0) \
         FROM events INDEXED BY events_tenant_tool_cost_rows {} GROUP BY tool_name",
        filter.where_sql()
    );
    let mut statement = conn.prepare(&sql)?;
    let mut rows = statement.query(rusqlite::params_from_iter(filter.params()))?;
    let mut sums = HashMap::new();
    while let Some(row) = rows.next()? {
        sums.insert(row.get(0)?, (PicoSum::from_row(row, 1)?, row.get(3)?));
    }
    Ok(sums)
}
