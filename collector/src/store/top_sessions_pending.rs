//! The sessions of the `bySession` walk: the rows of the stored totals, and for one agent
//! the sessions whose minutes are not all merged into those totals yet.

use std::cmp::Reverse;

use agentlens_core::event::format_timestamp;
use chrono::{DateTime, Utc};
use rusqlite::types::Value;
use rusqlite::{params_from_iter, Connection, OptionalExtension};

use super::super::session_totals::SATURATED;
use super::super::{PicoSum, StoreError};
use super::Scope;

/// The first and the last minute of a session's rows, in Unix seconds.
type MinuteSpan = (i64, i64);

/// A session that the walk may list: its bound and the time span of its rows.
pub(super) struct Candidate {
    pub(super) session_id: String,
    /// Upper bound of its cost in any range, [`SATURATED`] when unbounded.
    pub(super) bound: i64,
    /// Stored-format text enclosing every row of the session.
    pub(super) first: String,
    pub(super) last: String,
}

impl Candidate {
    /// Returns the walk order: highest bound first, then lowest session id.
    pub(super) fn rank_key(&self) -> (Reverse<i64>, &str) {
        (Reverse(self.bound), &self.session_id)
    }
}

/// Reads the next row of the walk over the stored totals.
pub(super) fn next_walked(rows: &mut rusqlite::Rows<'_>) -> Result<Option<Candidate>, StoreError> {
    let Some(row) = rows.next()? else {
        return Ok(None);
    };
    Ok(Some(Candidate {
        session_id: row.get(0)?,
        bound: row.get(1)?,
        first: row.get(2)?,
        last: row.get(3)?,
    }))
}

/// Returns the sessions of the scope's agent that have minutes from `merged_until` on, in
/// walk order. Each bound is the stored one plus the cost of those minutes, and each time
/// span encloses the stored one and those minutes.
pub(super) fn pending_sessions(
    conn: &Connection,
    scope: &Scope,
    merged_until: i64,
) -> Result<Vec<Candidate>, StoreError> {
    let mut statement = conn.prepare_cached(
        "SELECT session_id, MIN(bucket_start), MAX(bucket_start), SUM(cost_high), \
         SUM(cost_low) FROM session_cost_rollups \
         WHERE tenant_id = ?1 AND span = 60 AND bucket_start >= ?2 AND agent_id = ?3 \
         GROUP BY session_id",
    )?;
    let params = [
        scope.params[0].clone(),
        Value::Integer(merged_until),
        scope.params[1].clone(),
    ];
    let unmerged: Vec<(String, MinuteSpan, PicoSum)> = statement
        .query_map(params_from_iter(params), |row| {
            let cost = PicoSum::from_parts(row.get(3)?, row.get(4)?);
            Ok((row.get(0)?, (row.get(1)?, row.get(2)?), cost))
        })?
        .collect::<rusqlite::Result<_>>()?;

    let instant = |second: i64, nanos: u32| {
        DateTime::<Utc>::from_timestamp(second, nanos)
            .map(|instant| format_timestamp(&instant))
            .ok_or_else(|| StoreError::Corrupt(format!("time {second} is out of range")))
    };
    let mut pending = Vec::with_capacity(unmerged.len());
    for (session_id, (first_minute, last_minute), cost) in unmerged {
        let mut candidate = Candidate {
            bound: i64::try_from(cost.0).unwrap_or(SATURATED),
            first: instant(first_minute, 0)?,
            last: instant(last_minute + 59, 999_999_000)?,
            session_id,
        };
        if let Some((bound, first, last)) = stored_span(conn, scope, &candidate.session_id)? {
            candidate.bound = match bound {
                SATURATED => SATURATED,
                bound => bound.checked_add(candidate.bound).unwrap_or(SATURATED),
            };
            candidate.first = candidate.first.min(first);
            candidate.last = candidate.last.max(last);
        }
        pending.push(candidate);
    }
    pending.sort_by(|a, b| a.rank_key().cmp(&b.rank_key()));
    Ok(pending)
}

/// Reads the stored bound and time span of a session, if its total has a row.
fn stored_span(
    conn: &Connection,
    scope: &Scope,
    session: &str,
) -> Result<Option<(i64, String, String)>, StoreError> {
    let session_param = scope.params.len() + 1;
    let sql = format!(
        "SELECT cost_bound, first_timestamp, last_timestamp FROM {} WHERE tenant_id = ?1 {} \
         AND session_id = ?{session_param}",
        scope.table, scope.agent_clause
    );
    let stored = conn
        .prepare_cached(&sql)?
        .query_row(params_from_iter(scope.with_session(session)), |row| {
            Ok((row.get(0)?, row.get(1)?, row.get(2)?))
        })
        .optional()?;
    Ok(stored)
}
