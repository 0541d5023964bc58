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
//! The rows come from the partial index `events_tenant_tool_rows` (migration 22), which
//! holds only rows with a tool name, so the read grows with the tool events of the range
//! and not with all of its events.
//!
//! TODO: the rollups do not cover tools, so a range with 100,000 tool events adds about
//! 90 ms to the cost report (BENCHMARKS.md). A rollup per tool, agent, UTC hour and day
//! would need the superseding, cost filling and repricing paths to update it too.

use std::cmp::Reverse;

use agentlens_core::Usd;
use rusqlite::Connection;
use serde::Serialize;

use super::analytics::CostQuery;
use super::cost_rule::COUNTED_COST_ROWS;
use super::filter::SqlFilter;
use super::{PicoSum, StoreError};

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
/// Returns [`StoreError`] when the query fails or a sum leaves the decimal range.
pub(crate) fn by_tool(
    conn: &Connection,
    tenant: &str,
    query: &CostQuery,
) -> Result<Vec<ToolCost>, StoreError> {
    let mut filter = SqlFilter::for_tenant(tenant);
    // Names the partial index's condition, so that SQLite uses the index.
    filter.push("tool_name IS NOT NULL", []);
    filter.at_least("timestamp", Some(&query.from));
    filter.at_most("timestamp", Some(&query.to));
    filter.eq("agent_id", query.agent_id.as_deref());
    let sql = format!(
        "SELECT tool_name, COUNT(*), \
         COALESCE(SUM(CASE WHEN {COUNTED_COST_ROWS} THEN cost_pico / 1000000 END), 0), \
         COALESCE(SUM(CASE WHEN {COUNTED_COST_ROWS} THEN cost_pico % 1000000 END), 0), \
         COALESCE(SUM({COUNTED_COST_ROWS} AND cost_pico IS NULL), 0) \
         FROM events INDEXED BY events_tenant_tool_rows {} GROUP BY tool_name",
        filter.where_sql()
    );

    let mut statement = conn.prepare(&sql)?;
    let mut rows = statement.query(rusqlite::params_from_iter(filter.params()))?;
    let mut tools = Vec::new();
    while let Some(row) = rows.next()? {
        tools.push(ToolCost {
            tool_name: row.get(0)?,
            event_count: row.get(1)?,
            total_cost_usd: PicoSum::from_row(row, 2)?.to_usd()?,
            unpriced_count: row.get(4)?,
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
