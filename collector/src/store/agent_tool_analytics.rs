//! Per-agent and per-tool analytics: `GET /api/analytics/agents` and
//! `GET /api/analytics/tools`.
//!
//! The agent figures come from the events in the range, each credited to the agent that
//! sent it, so an agent's `totalCostUsd` follows the [cost rule](super::cost_rule) and
//! equals its `byAgent` entry in `GET /api/analytics/costs` for the same range. Upstream
//! AgentLens reads the session rows instead. It credits a session's whole cost to the agent
//! that started the session and counts only sessions that started in the range. A session
//! shared by two agents, or one that spans the range's edge, then gives totals that no
//! other report shows. The tool figures come from the tool events. Unlike upstream, which
//! counts `tool_call`, `tool_response` and `tool_error` events all as calls, a call here is
//! one `tool_call` event, so a call and its response count once and the error rate is not
//! diluted.

use std::collections::BTreeMap;

use agentlens_core::Usd;
use chrono::DateTime;
use rusqlite::Connection;
use serde::Serialize;

use super::alerts::ALERT_SESSION_PREFIX;
use super::cost_rule::COUNTED_COST_ROWS;
use super::filter::SqlFilter;
use super::{PicoSum, Store, StoreError};

/// Figures of one agent over its events in the range.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AgentStats {
    /// Agent id.
    pub agent_id: String,
    /// Sessions in which the agent has an event in the range, leaving out the alert
    /// sessions (`agentlens-alerts-<rule id>`) that hold the alert events of its rules.
    pub session_count: i64,
    /// The agent's events in the range.
    pub total_events: i64,
    /// The agent's error events in the range.
    pub total_errors: i64,
    /// `totalErrors / totalEvents`; 0 without events.
    pub error_rate: f64,
    /// Exact sum of the costs of the agent's events in the range that count under the cost
    /// rule.
    #[schema(schema_with = crate::openapi::schemas::exact_decimal)]
    pub total_cost_usd: Usd,
    /// The agent's counted cost events whose cost is unknown, which add nothing to
    /// `totalCostUsd`.
    pub unpriced_count: i64,
    /// Average time from start to end of those sessions that ended; 0 when none ended.
    pub avg_duration_ms: f64,
}

/// Figures of one tool.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ToolStats {
    /// `toolName` of the payloads.
    pub tool_name: String,
    /// `tool_call` events.
    pub call_count: i64,
    /// `tool_error` events.
    pub error_count: i64,
    /// `errorCount` divided by the calls, from 0 to 1. A `tool_error` whose `tool_call`
    /// never arrived is still a failed call, so the divisor is the larger of `callCount`
    /// and `errorCount`, and a tool that only failed reads 1. It is 0 without either.
    pub error_rate: f64,
    /// Average `durationMs` of the `tool_response` and `tool_error` events; 0 without any.
    pub avg_duration_ms: f64,
}

/// Running sums of one agent.
#[derive(Debug, Default)]
struct AgentSums {
    sessions: i64,
    events: i64,
    errors: i64,
    cost: PicoSum,
    unpriced: i64,
    ended: i64,
    duration_total_ms: f64,
}

impl Store {
    /// Returns per-agent figures over the events whose timestamp lies in `from..=to`
    /// (stored-format text), optionally of one agent, most sessions first.
    ///
    /// # Errors
    ///
    /// Returns [`StoreError`] when the query fails or a stored value does not parse.
    pub async fn agent_stats(
        &self,
        tenant: &str,
        from: String,
        to: String,
        agent_id: Option<String>,
    ) -> Result<Vec<AgentStats>, StoreError> {
        let mut filter = SqlFilter::for_tenant(tenant);
        filter.at_least("timestamp", Some(&from));
        filter.at_most("timestamp", Some(&to));
        filter.eq("agent_id", agent_id.as_deref());
        self.read(move |conn| agents(conn, &filter)).await
    }

    /// Returns per-tool figures over the tool events whose timestamp lies in `from..=to`
    /// (stored-format text), optionally of one agent, most calls first.
    ///
    /// # Errors
    ///
    /// Returns [`StoreError`] when the query fails.
    pub async fn tool_stats(
        &self,
        tenant: &str,
        from: String,
        to: String,
        agent_id: Option<String>,
    ) -> Result<Vec<ToolStats>, StoreError> {
        let mut filter = SqlFilter::for_tenant(tenant);
        // `tool_name IS NOT NULL` is the condition of the partial index of the rows
        // naming a tool, so the read skips the range's other events.
        filter.push(
            "tool_name IS NOT NULL \
             AND event_type IN ('tool_call', 'tool_response', 'tool_error')",
            [],
        );
        filter.at_least("timestamp", Some(&from));
        filter.at_most("timestamp", Some(&to));
        filter.eq("agent_id", agent_id.as_deref());
        self.read(move |conn| tools(conn, &filter)).await
    }
}

fn agents(conn: &Connection, filter: &SqlFilter) -> Result<Vec<AgentStats>, StoreError> {
    // One row per agent and session: the agent's figures in that session, and the session's
    // start and end for the average duration.
    let sql = format!(
        "SELECT e.agent_id, e.event_count, e.error_count, e.cost_high, e.cost_low, \
         s.started_at, s.ended_at, e.session_id, e.unpriced_count \
         FROM (SELECT agent_id, session_id, COUNT(*) AS event_count, \
               COALESCE(SUM(is_error), 0) AS error_count, \
               COALESCE(SUM(CASE WHEN {COUNTED_COST_ROWS} THEN cost_pico / 1000000 END), 0) \
                 AS cost_high, \
               COALESCE(SUM(CASE WHEN {COUNTED_COST_ROWS} THEN cost_pico % 1000000 END), 0) \
                 AS cost_low, \
               COALESCE(SUM({COUNTED_COST_ROWS} AND cost_pico IS NULL), 0) AS unpriced_count \
               FROM events {} GROUP BY agent_id, session_id) AS e \
         LEFT JOIN sessions AS s ON s.tenant_id = ?1 AND s.id = e.session_id",
        filter.where_sql()
    );
    let mut statement = conn.prepare(&sql)?;
    let mut rows = statement.query(rusqlite::params_from_iter(filter.params()))?;

    let mut by_agent: BTreeMap<String, AgentSums> = BTreeMap::new();
    while let Some(row) = rows.next()? {
        let agent: String = row.get(0)?;
        let started: Option<String> = row.get(5)?;
        let ended: Option<String> = row.get(6)?;
        let sums = by_agent.entry(agent).or_default();
        // Alert events land in a per-rule session, which is no session the agent ran.
        if !row.get::<_, String>(7)?.starts_with(ALERT_SESSION_PREFIX) {
            sums.sessions += 1;
        }
        sums.events += row.get::<_, i64>(1)?;
        sums.errors += row.get::<_, i64>(2)?;
        sums.cost.add(PicoSum::from_row(row, 3)?);
        sums.unpriced += row.get::<_, i64>(8)?;
        if let (Some(started), Some(ended)) = (started, ended) {
            sums.ended += 1;
            sums.duration_total_ms += duration_ms(&started, &ended)?;
        }
    }

    let mut agents = Vec::with_capacity(by_agent.len());
    for (agent_id, sums) in by_agent {
        agents.push(AgentStats {
            agent_id,
            session_count: sums.sessions,
            total_events: sums.events,
            total_errors: sums.errors,
            error_rate: ratio(sums.errors, sums.events),
            total_cost_usd: sums.cost.to_usd()?,
            unpriced_count: sums.unpriced,
            avg_duration_ms: average(sums.duration_total_ms, sums.ended),
        });
    }
    // The map is ordered by agent id, and the stable sort keeps that order within a count.
    agents.sort_by_key(|agent| std::cmp::Reverse(agent.session_count));
    Ok(agents)
}

/// Returns the milliseconds from `started` to `ended`, both stored timestamps.
fn duration_ms(started: &str, ended: &str) -> Result<f64, StoreError> {
    let parse = |text: &str| {
        DateTime::parse_from_rfc3339(text)
            .map_err(|error| StoreError::Corrupt(format!("session timestamp {text:?}: {error}")))
    };
    let elapsed = parse(ended)? - parse(started)?;
    let micros = elapsed.num_microseconds().unwrap_or(i64::MAX);
    Ok(micros as f64 / 1000.0)
}

fn tools(conn: &Connection, filter: &SqlFilter) -> Result<Vec<ToolStats>, StoreError> {
    let sql = format!(
        "SELECT tool_name AS tool, \
         COALESCE(SUM(event_type = 'tool_call'), 0), COALESCE(SUM(event_type = 'tool_error'), 0), \
         COALESCE(AVG(CASE WHEN event_type != 'tool_call' \
         AND json_type(payload, '$.durationMs') IN ('integer', 'real') \
         THEN json_extract(payload, '$.durationMs') END), 0.0) \
         FROM events INDEXED BY events_tenant_tool_rows {} GROUP BY tool ORDER BY 2 DESC, tool",
        filter.where_sql()
    );
    let mut statement = conn.prepare(&sql)?;
    let rows = statement.query_map(rusqlite::params_from_iter(filter.params()), |row| {
        let call_count: i64 = row.get(1)?;
        let error_count: i64 = row.get(2)?;
        Ok(ToolStats {
            tool_name: row.get(0)?,
            call_count,
            error_count,
            error_rate: ratio(error_count, call_count.max(error_count)),
            avg_duration_ms: row.get(3)?,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
}

/// Returns `part / whole`, or 0 when `whole` is 0.
fn ratio(part: i64, whole: i64) -> f64 {
    average(part as f64, whole)
}

/// Returns `total / count`, or 0 when `count` is 0.
fn average(total: f64, count: i64) -> f64 {
    if count == 0 {
        0.0
    } else {
        total / count as f64
    }
}
