//! Session rollups merged after the fact: ingest writes `session_cost_rollups` at minute
//! level, and once a minute lies in the past, [`advance`] adds it to its quarter hour,
//! hour and day (migration 18).
//!
//! Each tenant has a `merged_until` minute in `session_rollup_merge`:
//!
//! - every minute before it is also counted in its larger units, so a later change to
//!   such a minute (an event stamped in the past, a superseded row, a repriced row) goes
//!   to all four units at once;
//! - no minute from it on is counted in a larger unit yet, so a change there goes to the
//!   minute row alone.
//!
//! A reader splits its whole minutes at `merged_until` ([`split_cover`]): the part before
//! is covered with the largest units that fit, the part after is read minute by minute.
//! That part contains the last minute or two of live data, plus any events stamped in the
//! future.
//!
//! The running totals per session and agent (`agent_session_cost_totals`) follow the same
//! rule: they take a minute's rows when the minute is merged.
//!
//! A session that several agents write to has one rollup row per agent and unit. When each
//! session gets events from 4 agents per batch, writing four units per session and agent
//! pair took about 8% of the server's instructions per event (callgrind, in
//! `BENCHMARKS.md`). Merged a minute at a time, each pair's larger units change once per
//! minute instead of once per transaction.

use std::time::{SystemTime, UNIX_EPOCH};

use rusqlite::{params, Connection, OptionalExtension};

use super::rollup_report::{cover, Run};
use super::rollups::{update_sums, MINUTE, SPANS};
use super::session_totals::update_bound_and_span;

/// How far behind the current minute merging stays, in seconds. Live events of the
/// current and the previous minute stay in minute rows, so a client clock a little behind
/// the server's still gets the one-upsert path.
const MERGE_LAG: i64 = 60;

/// The upsert that adds `sign` times the minute rows of `tenant` in `[from, to)` to their
/// quarter hours, hours and days.
const MOVE_SQL: &str = concat!(
    "INSERT INTO session_cost_rollups (tenant_id, span, bucket_start, session_id, agent_id, \
     cost_high, cost_low, input_tokens, output_tokens, cache_read_tokens, \
     cache_write_tokens, event_count, unpriced_count) \
     SELECT tenant_id, ?2, bucket_start - ((bucket_start % ?2) + ?2) % ?2, session_id, \
     agent_id, ?5 * (SUM(cost_high) + SUM(cost_low) / 1000000), \
     ?5 * (SUM(cost_low) % 1000000), ?5 * SUM(input_tokens), ?5 * SUM(output_tokens), \
     ?5 * SUM(cache_read_tokens), ?5 * SUM(cache_write_tokens), ?5 * SUM(event_count), \
     ?5 * SUM(unpriced_count) \
     FROM session_cost_rollups \
     WHERE tenant_id = ?1 AND span = 60 AND bucket_start >= ?3 AND bucket_start < ?4 \
     GROUP BY 3, session_id, agent_id \
     ON CONFLICT (tenant_id, span, bucket_start, session_id, agent_id) DO UPDATE SET ",
    update_sums!()
);

/// The treatment of session rollups' larger units by a batch of rollup changes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) enum Merging {
    /// From migration 18 on: minutes from `merged_until` on change their minute row alone,
    /// after [`advance`] merged what is due.
    #[default]
    Deferred,
    /// Before migration 18, which needs every change in all four units.
    AllUnits,
}

/// The upsert that adds `sign` times the minute rows of `tenant` in `[from, to)` to the
/// running totals per session and agent. Ingest rejects negative costs, so the bound of
/// the rows is their cost, saturated as the ingest upsert saturates it. The time span
/// widens to the whole minutes.
const MOVE_TOTALS_SQL: &str = concat!(
    "INSERT INTO agent_session_cost_totals (tenant_id, agent_id, session_id, cost_bound, \
     first_timestamp, last_timestamp, cost_high, cost_low, input_tokens, output_tokens, \
     cache_read_tokens, cache_write_tokens, event_count, unpriced_count) \
     SELECT tenant_id, agent_id, session_id, \
     CASE WHEN SUM(cost_high) >= 9223372036854 THEN ?4 * 9223372036854775807 \
     ELSE ?4 * (SUM(cost_high) * 1000000 + SUM(cost_low)) END, \
     strftime('%Y-%m-%dT%H:%M:%S.000000Z', MIN(bucket_start), 'unixepoch'), \
     strftime('%Y-%m-%dT%H:%M:%S.999999Z', MAX(bucket_start) + 59, 'unixepoch'), \
     ?4 * (SUM(cost_high) + SUM(cost_low) / 1000000), ?4 * (SUM(cost_low) % 1000000), \
     ?4 * SUM(input_tokens), ?4 * SUM(output_tokens), ?4 * SUM(cache_read_tokens), \
     ?4 * SUM(cache_write_tokens), ?4 * SUM(event_count), ?4 * SUM(unpriced_count) \
     FROM session_cost_rollups \
     WHERE tenant_id = ?1 AND span = 60 AND bucket_start >= ?2 AND bucket_start < ?3 \
     GROUP BY agent_id, session_id \
     ON CONFLICT (tenant_id, agent_id, session_id) DO UPDATE SET ",
    update_bound_and_span!(),
    update_sums!()
);

/// Returns the current Unix second of the system clock.
fn now_second() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |since| {
            i64::try_from(since.as_secs()).unwrap_or(i64::MAX)
        })
}

/// Returns the first minute that merging leaves alone at `now`.
fn target_at(now: i64) -> i64 {
    now.div_euclid(MINUTE) * MINUTE - MERGE_LAG
}

/// Returns the tenant's `merged_until`. A tenant without a row has no session rollups, so
/// every minute counts as merged.
///
/// # Errors
///
/// Returns [`rusqlite::Error`] when the query fails.
pub(crate) fn merged_until(conn: &Connection, tenant: &str) -> rusqlite::Result<i64> {
    Ok(stored(conn, tenant)?.unwrap_or(i64::MAX))
}

fn stored(conn: &Connection, tenant: &str) -> rusqlite::Result<Option<i64>> {
    conn.prepare_cached("SELECT merged_until FROM session_rollup_merge WHERE tenant_id = ?1")?
        .query_row([tenant], |row| row.get(0))
        .optional()
}

/// Merges the tenant's minutes that ended a minute or more before now, and returns the
/// new `merged_until`. Call it in the transaction that then writes session rollups.
///
/// # Errors
///
/// Returns [`rusqlite::Error`] when a query or upsert fails.
pub(crate) fn advance(conn: &Connection, tenant: &str) -> rusqlite::Result<i64> {
    advance_at(conn, tenant, now_second())
}

/// Merges as [`advance`] does, with `now` in Unix seconds.
pub(crate) fn advance_at(conn: &Connection, tenant: &str, now: i64) -> rusqlite::Result<i64> {
    let target = target_at(now);
    match stored(conn, tenant)? {
        Some(merged) if merged >= target => Ok(merged),
        Some(merged) => {
            move_minutes(conn, tenant, (merged, target), 1)?;
            conn.prepare_cached(
                "UPDATE session_rollup_merge SET merged_until = ?2 WHERE tenant_id = ?1",
            )?
            .execute(params![tenant, target])?;
            Ok(target)
        }
        // A tenant's first session rollup: nothing is stored to merge.
        None => {
            conn.prepare_cached(
                "INSERT INTO session_rollup_merge (tenant_id, merged_until) VALUES (?1, ?2)",
            )?
            .execute(params![tenant, target])?;
            Ok(target)
        }
    }
}

/// Adds (`sign` = 1) or takes out (`sign` = -1) the tenant's minute rows in `[from, to)`
/// to or from their larger units and the running totals per session and agent.
fn move_minutes(
    conn: &Connection,
    tenant: &str,
    (from, to): (i64, i64),
    sign: i64,
) -> rusqlite::Result<()> {
    let mut statement = conn.prepare_cached(MOVE_SQL)?;
    for span in SPANS.into_iter().filter(|&span| span != MINUTE) {
        statement.execute(params![tenant, span, from, to, sign])?;
    }
    conn.prepare_cached(MOVE_TOTALS_SQL)?
        .execute(params![tenant, from, to, sign])?;
    Ok(())
}

/// Takes the minutes from one minute ago on back out of their larger units and the
/// running totals per session and agent, where ingest put them before migration 18, and
/// sets each tenant's `merged_until` to that minute.
/// Migration 18 runs it.
///
/// # Errors
///
/// Returns [`rusqlite::Error`] when a query or upsert fails.
pub(crate) fn split_after_migration(conn: &Connection) -> rusqlite::Result<()> {
    let target = target_at(now_second());
    let tenants: Vec<String> = conn
        .prepare("SELECT DISTINCT tenant_id FROM session_cost_rollups")?
        .query_map([], |row| row.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    for tenant in tenants {
        move_minutes(conn, &tenant, (target, i64::MAX), -1)?;
        conn.execute(
            "INSERT INTO session_rollup_merge (tenant_id, merged_until) VALUES (?1, ?2)",
            params![tenant, target],
        )?;
    }
    Ok(())
}

/// Covers the whole minutes `[start, end)` for a session rollup read: the largest units
/// that fit before `merged_until`, then one run of minutes from it on.
pub(super) fn split_cover(start: i64, end: i64, merged_until: i64) -> Vec<Run> {
    let split = merged_until.clamp(start, end.max(start));
    let mut runs = cover(&[start], start, split);
    if split < end {
        runs.push(Run {
            span: MINUTE,
            start: split,
            end,
        });
    }
    runs
}

#[cfg(test)]
#[path = "session_merge_tests.rs"]
mod tests;
