//! Cost fill, which gives an unpriced `llm_response` the cost of a `cost_tracked` it
//! supersedes.
//!
//! Under the [cost rule](super::cost_rule) an `llm_response` counts and the `cost_tracked`
//! events of its session with the same `callId` do not. When the response carries no
//! `costUsd` and the price table has no price for its model, the response is unpriced, and
//! the cost that a `cost_tracked` reported or that the collector derived for it would be
//! lost. So the response takes that cost: its `cost_pico` gets the amount, `cost_source`
//! becomes `reported`, the price table columns are cleared and `cost_from` names the
//! `cost_tracked`. The `cost_tracked` stays superseded, and the payload and the hash chain
//! do not change.
//!
//! Among the `cost_tracked` events that a response supersedes, the first one with a cost,
//! in ingest order, decides. The arrival order does not change the result:
//!
//! - a new unpriced `llm_response` is inserted with the cost of the first counted
//!   `cost_tracked` with a cost ([`fill_of_new_response`]);
//! - a new `cost_tracked` with a cost that a stored, still unpriced `llm_response`
//!   supersedes updates that response ([`fill_stored_response`]).
//!
//! In both cases ingest first adds the response to the derived figures as unpriced, and
//! [`move_figures`] then moves it from unpriced to its cost in the session row, the cost
//! rollups with their running totals, and the LLM rollups. Only the first `llm_response`
//! of a call in a session supersedes `cost_tracked` events, so only that one can be filled.
//! A response with a cost of its own never changes.
//!
//! [`fill_unpriced_responses`] fills the stored responses with the same choice and moves
//! their derived figures with the same functions. Migration 13 runs it for a database
//! written before this rule, and `agentlens prices reprice` after it priced stored
//! `cost_tracked` events.

use std::borrow::Cow;

use agentlens_core::event::EventType;
use rusqlite::{params, Connection, OptionalExtension, Row};

use super::cost_rule::{SupersedingResponse, SUPERSEDED_TRACKED_ROWS};
use super::llm_rollups::LlmRollupDeltas;
use super::rollups::{unix_second, RollupDeltas};
use super::session_index::SessionRows;
use super::session_merge::Merging;
use super::sessions::Session;
use super::StoreError;
use crate::ingest::PreparedEvent;

/// The cost an unpriced `llm_response` takes from a `cost_tracked`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CostFill {
    /// Event id of the `cost_tracked`.
    pub(crate) tracked_id: String,
    /// The cost in pico-dollars.
    pub(crate) cost_pico: i64,
}

/// The columns of an `llm_response` row that key its derived figures.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ResponseKeys<'a> {
    /// Stored timestamp text.
    pub(crate) timestamp: Cow<'a, str>,
    pub(crate) session_id: Cow<'a, str>,
    pub(crate) agent_id: Cow<'a, str>,
    pub(crate) provider: Cow<'a, str>,
    pub(crate) model: Cow<'a, str>,
}

impl<'a> ResponseKeys<'a> {
    /// Returns the keys of a prepared event with cost columns, borrowed from it.
    pub(crate) fn of(prepared: &'a PreparedEvent) -> Option<ResponseKeys<'a>> {
        let cost = prepared.cost.as_ref()?;
        Some(ResponseKeys {
            timestamp: Cow::Borrowed(&prepared.timestamp),
            session_id: Cow::Borrowed(&prepared.event.session_id),
            agent_id: Cow::Borrowed(&prepared.event.agent_id),
            provider: Cow::Borrowed(&cost.provider),
            model: Cow::Borrowed(&cost.model),
        })
    }

    /// Reads `timestamp`, `session_id`, `agent_id`, `provider` and `model` from the
    /// columns that start at `first`.
    fn from_row(row: &Row<'_>, first: usize) -> rusqlite::Result<ResponseKeys<'static>> {
        let text = |index: usize| -> rusqlite::Result<Cow<'static, str>> {
            let value: Option<String> = row.get(first + index)?;
            Ok(Cow::Owned(value.unwrap_or_default()))
        };
        Ok(ResponseKeys {
            timestamp: text(0)?,
            session_id: text(1)?,
            agent_id: text(2)?,
            provider: text(3)?,
            model: text(4)?,
        })
    }
}

/// The `SET` clause that gives an `llm_response` row the cost `?1` of the `cost_tracked`
/// with id `?2`.
const FILL_COLUMNS: &str = "cost_pico = ?1, cost_source = 'reported', pricing_version = NULL, \
    price_provider = NULL, price_model = NULL, price_date = NULL, cost_from = ?2";

/// Returns the cost that a new unpriced `llm_response` takes from the first counted
/// `cost_tracked` with its session, its `callId` and a cost, in ingest order. Returns
/// `None` for a response with a cost or without such a `cost_tracked`, and for other events.
///
/// # Errors
///
/// Returns [`StoreError`] when the query fails.
pub(crate) fn fill_of_new_response(
    conn: &Connection,
    tenant: &str,
    prepared: &PreparedEvent,
) -> Result<Option<CostFill>, StoreError> {
    let Some(call_id) = super::cost_rule::tracked_call_id(prepared, EventType::LlmResponse) else {
        return Ok(None);
    };
    if prepared
        .cost
        .as_ref()
        .is_some_and(|cost| cost.cost_pico.is_some())
    {
        return Ok(None);
    }

    let sql = format!(
        "SELECT id, cost_pico FROM events WHERE {SUPERSEDED_TRACKED_ROWS} \
         AND cost_pico IS NOT NULL ORDER BY seq LIMIT 1"
    );
    let session_id = &prepared.event.session_id;
    let fill = conn
        .prepare_cached(&sql)?
        .query_row(params![tenant, session_id, call_id], |row| {
            Ok(CostFill {
                tracked_id: row.get(0)?,
                cost_pico: row.get(1)?,
            })
        })
        .optional()?;
    Ok(fill)
}

/// Gives a stored, still unpriced `llm_response` the cost of the new `cost_tracked`
/// `tracked_id` that it supersedes, and returns the response's keys and the cost. Returns
/// `None`, changing nothing, when the response has a cost or the `cost_tracked` has none.
///
/// # Errors
///
/// Returns [`StoreError`] when the update fails.
pub(crate) fn fill_stored_response(
    conn: &Connection,
    response: &SupersedingResponse,
    tracked_id: &str,
    tracked: &PreparedEvent,
) -> Result<Option<(ResponseKeys<'static>, i64)>, StoreError> {
    let Some(cost_pico) = tracked.cost.as_ref().and_then(|cost| cost.cost_pico) else {
        return Ok(None);
    };
    if !response.unpriced {
        return Ok(None);
    }

    let sql = format!(
        "UPDATE events SET {FILL_COLUMNS} WHERE seq = ?3 AND cost_pico IS NULL \
         RETURNING timestamp, session_id, agent_id, provider, model"
    );
    let keys = conn
        .prepare_cached(&sql)?
        .query_row(params![cost_pico, tracked_id, response.seq], |row| {
            ResponseKeys::from_row(row, 0)
        })
        .optional()?;
    Ok(keys.map(|keys| (keys, cost_pico)))
}

/// Moves a counted `llm_response` from unpriced to `cost_pico` in the figures that ingest
/// derives from it: its session row, the cost rollups with the running session totals, and
/// the LLM rollups.
///
/// # Errors
///
/// Returns [`StoreError::Corrupt`] when the stored timestamp text cannot be read.
pub(crate) fn move_figures<'a>(
    keys: &ResponseKeys<'a>,
    cost_pico: i64,
    session: &mut Session,
    rollups: &mut RollupDeltas<'a>,
    llm_rollups: &mut LlmRollupDeltas,
) -> Result<(), StoreError> {
    session.fill_cost(cost_pico);
    rollups.fill_cost(keys, cost_pico)?;
    llm_rollups.fill_cost(keys, cost_pico)
}

/// Finishes migration 13, which adds the `cost_from` column, by filling the unpriced
/// responses of a database written before ingest filled them.
///
/// # Errors
///
/// Returns [`rusqlite::Error`] when a query or update fails, or a sum leaves the column
/// range.
pub(crate) fn fill_after_migration(conn: &Connection) -> rusqlite::Result<()> {
    fill_unpriced_responses(conn, Merging::AllUnits).map(drop)
}

/// Collects each unpriced `llm_response` with the first `cost_tracked` with a cost that it
/// supersedes into `temp.filled_responses`, and gives it that cost.
///
/// The search reads the `llm_response` rows through the partial index
/// `events_tenant_llm_rows`, and the `cost_tracked` rows of each unpriced one through
/// `events_tenant_call_id`, so it reads no other event.
const FILL_SQL: &str = "CREATE TEMP TABLE filled_responses AS
SELECT response.seq AS seq, tracked.id AS tracked_id, tracked.cost_pico AS cost_pico
FROM events AS response
JOIN events AS tracked ON tracked.seq = (
    SELECT candidate.seq FROM events AS candidate
    WHERE candidate.tenant_id = response.tenant_id
      AND candidate.call_id = response.call_id
      AND candidate.superseded_by = response.id
      AND candidate.event_type = 'cost_tracked'
      AND candidate.cost_pico IS NOT NULL
    ORDER BY candidate.seq
    LIMIT 1
)
WHERE response.event_type = 'llm_response'
    AND response.cost_source = 'unpriced'
    AND response.cost_pico IS NULL
    AND response.call_id IS NOT NULL;

UPDATE events
SET cost_pico = filled.cost_pico, cost_source = 'reported', pricing_version = NULL,
    price_provider = NULL, price_model = NULL, price_date = NULL, cost_from = filled.tracked_id
FROM temp.filled_responses AS filled
WHERE events.seq = filled.seq;";

/// Gives every stored unpriced `llm_response` the cost of the first `cost_tracked` with a
/// cost that it supersedes, and returns the `seq` of each filled response. It also moves
/// their figures with [`move_priced_rows`]. It changes nothing when no response qualifies.
///
/// Migration 13 runs it once, and `agentlens prices reprice` after it priced stored
/// `cost_tracked` events.
///
/// # Errors
///
/// Returns [`rusqlite::Error`] when a query or update fails, or a sum leaves the column
/// range.
pub(crate) fn fill_unpriced_responses(
    conn: &Connection,
    merging: Merging,
) -> rusqlite::Result<Vec<i64>> {
    conn.execute_batch(FILL_SQL)?;
    let filled: Vec<(i64, String, ResponseKeys<'static>, i64)> = conn
        .prepare(
            "SELECT events.seq, events.tenant_id, events.timestamp, events.session_id, \
             events.agent_id, events.provider, events.model, events.cost_pico \
             FROM temp.filled_responses AS filled JOIN events ON events.seq = filled.seq \
             ORDER BY events.tenant_id",
        )?
        .query_map([], |row| {
            let keys = ResponseKeys::from_row(row, 2)?;
            Ok((row.get(0)?, row.get(1)?, keys, row.get(7)?))
        })?
        .collect::<rusqlite::Result<_>>()?;
    conn.execute_batch("DROP TABLE temp.filled_responses")?;
    if filled.is_empty() {
        return Ok(Vec::new());
    }
    tracing::info!(
        responses = filled.len(),
        "gave unpriced llm_response rows the cost of the cost_tracked they supersede"
    );

    let rows: Vec<PricedRow<'_>> = filled
        .iter()
        .map(|(_, tenant, keys, cost_pico)| PricedRow {
            tenant,
            keys: keys.clone(),
            cost_pico: *cost_pico,
            llm_response: true,
        })
        .collect();
    move_priced_rows(conn, &rows, merging)
        .map_err(|error| rusqlite::Error::ToSqlConversionFailure(Box::new(error)))?;
    Ok(filled.iter().map(|(seq, ..)| *seq).collect())
}

/// A stored counted cost row that was unpriced and now has a cost.
pub(crate) struct PricedRow<'a> {
    /// Tenant of the row.
    pub(crate) tenant: &'a str,
    /// The row's rollup and session keys.
    pub(crate) keys: ResponseKeys<'a>,
    /// The row's new cost in pico-dollars.
    pub(crate) cost_pico: i64,
    /// True for an `llm_response`, whose figures are also in the LLM rollups.
    pub(crate) llm_response: bool,
}

/// Moves the figures of `rows` from the unpriced count to their cost in the cost rollups
/// with their running totals and in the LLM rollups, and recomputes their sessions.
///
/// `rows` must be grouped by tenant. A row whose timestamp is not in the stored form is in
/// no rollup (migrations 4 and 10 leave such rows out), so only its session changes.
///
/// # Errors
///
/// Returns [`StoreError`] when a query or update fails, or a sum leaves the column range.
pub(crate) fn move_priced_rows(
    conn: &Connection,
    rows: &[PricedRow<'_>],
    merging: Merging,
) -> Result<(), StoreError> {
    for tenant_rows in rows.chunk_by(|a, b| a.tenant == b.tenant) {
        let mut rollups = RollupDeltas::new(merging);
        let mut llm_rollups = LlmRollupDeltas::default();
        for row in tenant_rows {
            if unix_second(&row.keys.timestamp).is_none() {
                continue;
            }
            rollups.fill_cost(&row.keys, row.cost_pico)?;
            if row.llm_response {
                llm_rollups.fill_cost(&row.keys, row.cost_pico)?;
            }
        }
        rollups.flush(conn, tenant_rows[0].tenant)?;
        llm_rollups.flush(conn, tenant_rows[0].tenant)?;
    }

    let mut sessions: Vec<(String, String)> = rows
        .iter()
        .map(|row| (row.tenant.to_owned(), row.keys.session_id.to_string()))
        .collect();
    sessions.sort();
    sessions.dedup();
    // `Merging::AllUnits` comes from migration 13, which also predates `session_events`.
    let session_rows = match merging {
        Merging::AllUnits => SessionRows::EventColumn,
        Merging::Deferred => SessionRows::Indexed,
    };
    super::cost_rule::recompute_session_costs(conn, sessions, session_rows)?;
    Ok(())
}
