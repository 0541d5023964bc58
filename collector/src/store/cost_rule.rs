//! The cost rule: which stored events count towards a cost total.
//!
//! Session totals, `GET /api/analytics/costs` and the `cost_exceeds` alert all apply this
//! one rule:
//!
//! - The `costUsd` of every `cost_tracked` and every `llm_response` event counts.
//! - A `cost_tracked` event whose `callId` equals the `callId` of an `llm_response` in the
//!   same session (same tenant and session id) does not count, because both describe one
//!   LLM call. The `llm_response` counts instead, and so do its tokens. Many agent
//!   frameworks number calls per conversation (`call_1`, `call_2`, ...), so an
//!   `llm_response` in another session never supersedes a `cost_tracked`, even with the
//!   same `callId`.
//! - The order of arrival does not matter. When the `llm_response` arrives after the
//!   `cost_tracked`, the `cost_tracked` stops counting at that moment.
//! - An `llm_response` without a cost of its own (no `costUsd` and no price for its model)
//!   takes the cost of the first `cost_tracked` with a cost that it supersedes. The call
//!   then counts that cost and not as unpriced. The response's `pricing` names that
//!   `cost_tracked` in `costFrom` (see [`super::cost_fill`]). A response with its own cost
//!   keeps it.
//! - Two `llm_response` events with the same `callId` both count, and so do two
//!   `cost_tracked` events when no `llm_response` has their `callId`.
//!
//! The rule is applied once, in the ingest transaction. A `cost_tracked` event that no
//! longer counts gets the id of the matching `llm_response` in its `superseded_by`
//! column, and its cost and tokens are taken out of its session's totals in the same
//! transaction. Every cost query then reads the rows where `cost_source IS NOT NULL AND
//! superseded_by IS NULL`, so sums stay exact.
//! A superseded event stays stored and in the hash chain: only the totals ignore it.

use agentlens_core::event::EventType;
use rusqlite::{params, Connection};

use super::session_index::SessionRows;
use super::sessions::Session;
use super::BatchMap;
use super::{sql_count, StoreError};
use crate::ingest::{CostColumns, PreparedEvent};

/// SQL condition selecting the rows that count towards cost totals.
pub(crate) const COUNTED_COST_ROWS: &str = "cost_source IS NOT NULL AND superseded_by IS NULL";

/// SQL condition selecting the counted `cost_tracked` rows that a new `llm_response`
/// supersedes, given the tenant as `?1`, the session id as `?2` and the call id as `?3`.
pub(crate) const SUPERSEDED_TRACKED_ROWS: &str = "tenant_id = ?1 AND session_id = ?2 \
    AND call_id = ?3 AND event_type = 'cost_tracked' AND superseded_by IS NULL";

/// The figures one cost row adds to its session.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct CostShare {
    /// Cost in pico-dollars; `None` when the row is unpriced.
    pub(crate) cost_pico: Option<i64>,
    /// Input tokens, cache reads and writes included.
    pub(crate) input_tokens: i64,
    /// Output tokens.
    pub(crate) output_tokens: i64,
    /// Cache-read tokens.
    pub(crate) cache_read_tokens: i64,
    /// Cache-write tokens, both lifetimes.
    pub(crate) cache_write_tokens: i64,
}

impl CostShare {
    /// Returns the share of a prepared event's cost columns.
    pub(crate) fn of(cost: &CostColumns) -> CostShare {
        let usage = &cost.usage;
        CostShare {
            cost_pico: cost.cost_pico,
            input_tokens: sql_count(usage.input_tokens),
            output_tokens: sql_count(usage.output_tokens),
            cache_read_tokens: sql_count(usage.cache_read_tokens),
            cache_write_tokens: sql_count(usage.cache_write_tokens()),
        }
    }
}

/// The stored `llm_response` that supersedes a new `cost_tracked` event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SupersedingResponse {
    /// Event id of the response.
    pub(crate) id: String,
    /// Rowid of the response.
    pub(crate) seq: i64,
    /// True while the response has no cost, so it can take the cost of the `cost_tracked`
    /// (see [`super::cost_fill`]).
    pub(crate) unpriced: bool,
}

/// Returns the `llm_response` that supersedes a new `cost_tracked` event, if its session
/// already stores one with the same `callId`.
///
/// # Errors
///
/// Returns [`StoreError`] when the query fails.
pub(crate) fn superseding_response(
    conn: &Connection,
    tenant: &str,
    prepared: &PreparedEvent,
) -> Result<Option<SupersedingResponse>, StoreError> {
    let Some(call_id) = tracked_call_id(prepared, EventType::CostTracked) else {
        return Ok(None);
    };
    let mut statement = conn.prepare_cached(
        "SELECT id, cost_source IS NOT NULL AND cost_pico IS NULL, seq FROM events \
         WHERE tenant_id = ?1 AND session_id = ?2 AND call_id = ?3 \
         AND event_type = 'llm_response' ORDER BY seq LIMIT 1",
    )?;
    let session_id = &prepared.event.session_id;
    let mut rows = statement.query(params![tenant, session_id, call_id])?;
    match rows.next()? {
        Some(row) => Ok(Some(SupersedingResponse {
            id: row.get(0)?,
            unpriced: row.get(1)?,
            seq: row.get(2)?,
        })),
        None => Ok(None),
    }
}

/// Marks the counted `cost_tracked` events that share the session and the `callId` of a
/// newly stored `llm_response` as superseded by it, and takes their shares out of their
/// session.
///
/// Sessions not yet loaded in this transaction are loaded into `sessions`, so the caller
/// saves them with the others.
///
/// # Errors
///
/// Returns [`StoreError`] when a query or update fails.
pub(crate) fn supersede_tracked_costs(
    conn: &Connection,
    tenant: &str,
    response_id: &str,
    prepared: &PreparedEvent,
    sessions: &mut BatchMap<String, Session>,
) -> Result<(), StoreError> {
    let Some(call_id) = tracked_call_id(prepared, EventType::LlmResponse) else {
        return Ok(());
    };

    let session_id = &prepared.event.session_id;
    let superseded = counted_tracked_rows(conn, tenant, session_id, call_id)?;
    for (seq, session_id, share) in superseded {
        conn.prepare_cached("UPDATE events SET superseded_by = ?1 WHERE seq = ?2")?
            .execute(params![response_id, seq])?;
        if !sessions.contains_key(&session_id) {
            let session = Session::load(conn, tenant, &session_id)?.ok_or_else(|| {
                StoreError::Corrupt(format!("event of missing session {session_id:?}"))
            })?;
            sessions.insert(session_id.clone(), session);
        }
        if let Some(session) = sessions.get_mut(&session_id) {
            session.remove_cost(&share);
        }
    }
    Ok(())
}

/// Returns the call id of a cost-bearing event of type `event_type`.
pub(super) fn tracked_call_id(prepared: &PreparedEvent, event_type: EventType) -> Option<&str> {
    if prepared.event.event_type != event_type {
        return None;
    }
    prepared.cost.as_ref()?.call_id.as_deref()
}

/// Returns `(seq, session id, share)` of each counted `cost_tracked` row of the session
/// with `call_id`.
fn counted_tracked_rows(
    conn: &Connection,
    tenant: &str,
    session_id: &str,
    call_id: &str,
) -> Result<Vec<(i64, String, CostShare)>, StoreError> {
    let sql = format!(
        "SELECT seq, session_id, cost_pico, COALESCE(input_tokens, 0), \
         COALESCE(output_tokens, 0), COALESCE(cache_read_tokens, 0), \
         COALESCE(cache_write_5m_tokens, 0) + COALESCE(cache_write_1h_tokens, 0) \
         FROM events WHERE {SUPERSEDED_TRACKED_ROWS}"
    );
    let mut statement = conn.prepare_cached(&sql)?;
    let rows = statement.query_map(params![tenant, session_id, call_id], |row| {
        Ok((
            row.get(0)?,
            row.get(1)?,
            CostShare {
                cost_pico: row.get(2)?,
                input_tokens: row.get(3)?,
                output_tokens: row.get(4)?,
                cache_read_tokens: row.get(5)?,
                cache_write_tokens: row.get(6)?,
            },
        ))
    })?;
    Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
}

/// Recomputes the cost figures of every session that has a superseded event, from its
/// counted cost rows. Migration 2 runs it once after marking the superseded rows of a
/// database written before the cost rule existed.
///
/// # Errors
///
/// Returns [`rusqlite::Error`] when a query or update fails, or a sum does not fit a
/// decimal.
pub(crate) fn rebuild_session_costs(conn: &Connection) -> rusqlite::Result<()> {
    let affected = session_keys(
        conn,
        "SELECT DISTINCT tenant_id, session_id FROM events WHERE superseded_by IS NOT NULL",
    )?;
    recompute_session_costs(conn, affected, SessionRows::EventColumn)
}

/// Finishes migration 9, which limits the cost rule to one session. Its SQL collects the
/// `cost_tracked` rows that an `llm_response` of another session superseded, makes them
/// count again (or re-points them to a response of their own session), and refills the
/// rollups and running totals of their tenants. This step recomputes the cost figures of
/// their sessions and rebuilds `tenant_cost_rollups` from `cost_rollups`. It changes
/// nothing when the SQL collected no row.
///
/// # Errors
///
/// Returns [`rusqlite::Error`] when a query or update fails, or a sum does not fit a
/// decimal.
pub(crate) fn rescope_to_sessions(conn: &Connection) -> rusqlite::Result<()> {
    let affected = session_keys(
        conn,
        "SELECT DISTINCT tenant_id, session_id FROM temp.cross_session_superseded",
    )?;
    conn.execute_batch(
        "DROP TABLE temp.cross_session_superseded; DROP TABLE temp.rescoped_tenants",
    )?;
    if affected.is_empty() {
        return Ok(());
    }

    tracing::info!(
        sessions = affected.len(),
        "counting cost_tracked rows superseded from another session again"
    );
    recompute_session_costs(conn, affected, SessionRows::EventColumn)?;

    // `tenant_cost_rollups` only sums `cost_rollups` per agent, so rebuilding it for every
    // tenant costs one read of `cost_rollups`.
    conn.execute("DELETE FROM tenant_cost_rollups", [])?;
    super::tenant_rollups::backfill(conn)
}

/// Returns the `(tenant id, session id)` pairs that `sql` selects.
fn session_keys(conn: &Connection, sql: &str) -> rusqlite::Result<Vec<(String, String)>> {
    conn.prepare(sql)?
        .query_map([], |row| Ok((row.get(0)?, row.get(1)?)))?
        .collect()
}

/// Sets the cost figures of each `(tenant id, session id)` session to the sums of its
/// counted cost rows.
pub(super) fn recompute_session_costs(
    conn: &Connection,
    affected: Vec<(String, String)>,
    session_rows: SessionRows,
) -> rusqlite::Result<()> {
    let sums_sql = format!(
        "SELECT {}, COALESCE(SUM(cost_pico IS NULL), 0), COALESCE(SUM(input_tokens), 0), \
         COALESCE(SUM(output_tokens), 0), COALESCE(SUM(cache_read_tokens), 0), \
         COALESCE(SUM(cache_write_5m_tokens + cache_write_1h_tokens), 0) \
         FROM events WHERE {} AND {COUNTED_COST_ROWS}",
        super::PicoSum::SQL,
        session_rows.condition(1, 2)
    );
    for (tenant, session_id) in affected {
        let (cost, figures) = conn.query_row(&sums_sql, params![tenant, session_id], |row| {
            let figures: [i64; 5] = [
                row.get(2)?,
                row.get(3)?,
                row.get(4)?,
                row.get(5)?,
                row.get(6)?,
            ];
            Ok((super::PicoSum::from_row(row, 0)?, figures))
        })?;
        let total = cost
            .to_usd()
            .map_err(|error| rusqlite::Error::ToSqlConversionFailure(Box::new(error)))?;
        conn.execute(
            "UPDATE sessions SET total_cost_usd = ?1, unpriced_count = ?2, input_tokens = ?3, \
             output_tokens = ?4, cache_read_tokens = ?5, cache_write_tokens = ?6 \
             WHERE tenant_id = ?7 AND id = ?8",
            params![
                total.to_string(),
                figures[0],
                figures[1],
                figures[2],
                figures[3],
                figures[4],
                tenant,
                session_id
            ],
        )?;
    }
    Ok(())
}
