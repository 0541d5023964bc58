//! Running cost totals per session and per session and agent, kept by the ingest
//! transaction next to the [rollups](super::rollups) (see migration 6). Like the session
//! rollups, the totals per session and agent take a minute's rows once
//! [`super::session_merge`] merges it (migration 18).
//!
//! Each row stores the exact sums of the session's counted cost rows, the time span that
//! encloses them, and `cost_bound`, the sum of their positive costs. No subset of the rows
//! can cost more than `cost_bound`, so [`super::top_sessions`] reads the rows in
//! descending `cost_bound` order and stops once no unread session can enter the top list.
//!
//! A superseded row is subtracted from the sums and from the bound. The time span only
//! widens, so after a row is superseded it may enclose more than the counted rows, which
//! is all the reader needs. A bound too large for 64 bits is stored as [`SATURATED`] and
//! stays there; the reader treats it as unbounded.

use std::borrow::Cow;

use rusqlite::{params, Connection};

use super::rollups::{update_sums, Delta};
use super::BatchMap;
use super::StoreError;

/// The stored `cost_bound` of a session whose bound does not fit in 64 bits.
pub(crate) const SATURATED: i64 = i64::MAX;

/// The `SET` clause adding an upsert's bound and time span to a stored total row. The
/// bound saturates at [`SATURATED`] instead of overflowing into a floating-point value.
macro_rules! update_bound_and_span {
    () => {
        "cost_bound = CASE WHEN cost_bound = 9223372036854775807 THEN cost_bound \
         WHEN excluded.cost_bound > 0 \
         AND cost_bound > 9223372036854775807 - excluded.cost_bound \
         THEN 9223372036854775807 ELSE cost_bound + excluded.cost_bound END, \
         first_timestamp = MIN(first_timestamp, excluded.first_timestamp), \
         last_timestamp = MAX(last_timestamp, excluded.last_timestamp), "
    };
}

pub(super) use update_bound_and_span;

/// Changes to one total row.
#[derive(Debug, Clone, Default)]
struct TotalDelta {
    sums: Delta,
    /// Change to the sum of positive costs, in pico-dollars.
    bound: i128,
    first_timestamp: String,
    last_timestamp: String,
}

impl TotalDelta {
    fn add(&mut self, other: &TotalDelta) {
        self.sums.add(&other.sums);
        self.bound += other.bound;
        self.widen(&other.first_timestamp);
        self.widen(&other.last_timestamp);
    }

    /// Widens the time span to enclose `timestamp`, stored-format text.
    fn widen(&mut self, timestamp: &str) {
        if self.first_timestamp.is_empty() || timestamp < self.first_timestamp.as_str() {
            timestamp.clone_into(&mut self.first_timestamp);
        }
        if timestamp > self.last_timestamp.as_str() {
            timestamp.clone_into(&mut self.last_timestamp);
        }
    }

    /// Returns the bound change as a column value. A rise beyond 64 bits becomes
    /// [`SATURATED`], and a fall beyond 64 bits subtracts less than it should, so the
    /// stored value stays an upper bound.
    fn bound_column(&self) -> i64 {
        i64::try_from(self.bound).unwrap_or(if self.bound > 0 { SATURATED } else { i64::MIN })
    }
}

/// The session total changes of one ingest batch, keyed by session, agent and UTC minute.
#[derive(Debug, Default)]
pub(crate) struct SessionTotalDeltas<'a> {
    by_agent: BatchMap<(Cow<'a, str>, Cow<'a, str>, i64), TotalDelta>,
}

impl<'a> SessionTotalDeltas<'a> {
    /// Records that a cost row of `session` and `agent`, stamped `timestamp` in `minute`,
    /// was added or subtracted. `positive` is the change to the sum of positive costs.
    pub(crate) fn record(
        &mut self,
        (session, agent, minute): (Cow<'a, str>, Cow<'a, str>, i64),
        timestamp: &str,
        delta: &Delta,
        positive: i128,
    ) {
        let total = self.by_agent.entry((session, agent, minute)).or_default();
        total.sums.add(delta);
        total.bound += positive;
        total.widen(timestamp);
    }

    /// Writes the changes into both total tables, one upsert per touched row. The totals
    /// per session and agent take only the changes to minutes before `merged_until`: the
    /// later ones reach them when [`super::session_merge`] merges those minutes.
    ///
    /// # Errors
    ///
    /// Returns [`StoreError`] when an upsert fails or a sum leaves the column range.
    pub(crate) fn flush(
        self,
        conn: &Connection,
        tenant: &str,
        merged_until: i64,
    ) -> Result<(), StoreError> {
        let mut statement = conn.prepare_cached(concat!(
            "INSERT INTO agent_session_cost_totals (tenant_id, agent_id, session_id, \
             cost_bound, first_timestamp, last_timestamp, cost_high, cost_low, input_tokens, \
             output_tokens, cache_read_tokens, cache_write_tokens, event_count, \
             unpriced_count) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14) \
             ON CONFLICT (tenant_id, agent_id, session_id) DO UPDATE SET ",
            update_bound_and_span!(),
            update_sums!()
        ))?;
        let mut by_session: BatchMap<&str, TotalDelta> = BatchMap::default();
        let mut merged: BatchMap<(&str, &str), TotalDelta> = BatchMap::default();
        for ((session, agent, minute), total) in &self.by_agent {
            by_session.entry(&**session).or_default().add(total);
            if *minute < merged_until {
                merged.entry((&**session, &**agent)).or_default().add(total);
            }
        }
        for ((session, agent), total) in &merged {
            let (high, low) = total.sums.cost_columns()?;
            let sums = &total.sums;
            statement.execute(params![
                tenant,
                agent,
                session,
                total.bound_column(),
                total.first_timestamp,
                total.last_timestamp,
                high,
                low,
                sums.input_tokens,
                sums.output_tokens,
                sums.cache_read_tokens,
                sums.cache_write_tokens,
                sums.event_count,
                sums.unpriced_count,
            ])?;
        }

        let mut statement = conn.prepare_cached(concat!(
            "INSERT INTO session_cost_totals (tenant_id, session_id, cost_bound, \
             first_timestamp, last_timestamp, cost_high, cost_low, input_tokens, \
             output_tokens, cache_read_tokens, cache_write_tokens, event_count, \
             unpriced_count) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13) \
             ON CONFLICT (tenant_id, session_id) DO UPDATE SET ",
            update_bound_and_span!(),
            update_sums!()
        ))?;
        for (session, total) in by_session {
            let (high, low) = total.sums.cost_columns()?;
            let sums = &total.sums;
            statement.execute(params![
                tenant,
                session,
                total.bound_column(),
                total.first_timestamp,
                total.last_timestamp,
                high,
                low,
                sums.input_tokens,
                sums.output_tokens,
                sums.cache_read_tokens,
                sums.cache_write_tokens,
                sums.event_count,
                sums.unpriced_count,
            ])?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bound_column_saturates_upwards() {
        let rise = TotalDelta {
            bound: i128::from(i64::MAX) + 1,
            ..TotalDelta::default()
        };
        assert_eq!(rise.bound_column(), SATURATED);
        let fall = TotalDelta {
            bound: i128::from(i64::MIN) - 1,
            ..TotalDelta::default()
        };
        assert_eq!(fall.bound_column(), i64::MIN);
    }

    #[test]
    fn widen_encloses_every_timestamp() {
        let mut total = TotalDelta::default();
        total.widen("2026-05-10T12:00:00.000000Z");
        total.widen("2026-05-09T12:00:00.000000Z");
        total.widen("2026-05-11T12:00:00.000000Z");
        assert_eq!(total.first_timestamp, "2026-05-09T12:00:00.000000Z");
        assert_eq!(total.last_timestamp, "2026-05-11T12:00:00.000000Z");
    }
}
