//! Cost rollups: exact sums of the counted cost rows per UTC time unit, kept up to date by
//! the ingest transaction.
//!
//! Three tables hold the rollups (migrations 4 and 7):
//!
//! - `cost_rollups`, keyed by tenant, unit, agent, provider and model, serves `byAgent`,
//!   `byModel` and `totals` of `GET /api/analytics/costs`, and also `overTime` when its
//!   buckets are whole UTC days or weeks;
//! - `tenant_cost_rollups`, keyed by tenant and unit, contains the cost and row count of
//!   each agent in one value ([`super::tenant_rollups`]). It serves `overTime` in the
//!   other cases (hours, or days of a zone whose midnight is not a UTC hour), because a
//!   bucket needs no provider or model and one row per unit is faster to read;
//! - `session_cost_rollups`, keyed by tenant, unit, session and agent, serves `bySession`.
//!   Ingest writes its minutes, and adds them to their larger units once they lie in the
//!   past ([`super::session_merge`]).
//!
//! Each counted row is added to four units that contain it: its UTC minute, quarter hour,
//! hour and day ([`SPANS`]). A report then covers its range with the largest units that fit
//! inside each of its buckets. Every zone in use today has an offset that is a multiple of
//! 15 minutes, so an hour, day or week bucket on any zone's clock is a union of whole
//! quarter hours plus whole UTC hours and days, and a few rollup rows replace many events.
//!
//! Money stays exact: a row stores `cost_high`, the sum of `cost_pico / 1e6`, and
//! `cost_low`, the sum of `cost_pico % 1e6`, so `cost_high * 1e6 + cost_low` is the exact
//! pico-dollar sum even beyond the 64-bit range of one column.
//!
//! Ingest collects the changes of a batch in a [`RollupDeltas`] and writes each touched row
//! once, at the end of the transaction. When an `llm_response` supersedes a stored
//! `cost_tracked` under the [cost rule](super::cost_rule), the `cost_tracked` row is
//! subtracted from the units it was added to, so rollups always equal a recomputation
//! from the counted rows. When an unpriced `llm_response` takes the cost of a
//! `cost_tracked` it supersedes ([`super::cost_fill`]), its row moves from the unpriced
//! count to that cost.
//!
//! The same deltas also keep the running totals per session (see
//! [`super::session_totals`]), which let the report list the most expensive sessions
//! without reading every session in its range.

use std::borrow::Cow;

use agentlens_core::event::EventType;
use chrono::NaiveDate;
use rusqlite::{params, Connection};

use super::cost_fill::ResponseKeys;
use super::cost_rule::CostShare;
use super::session_merge::Merging;
use super::session_totals::SessionTotalDeltas;
use super::BatchMap;
use super::StoreError;
use crate::ingest::PreparedEvent;

/// Unit lengths in seconds, largest first: UTC day, hour, quarter hour and minute.
pub(crate) const SPANS: [i64; 4] = [86_400, 3_600, 900, 60];

/// One minute in seconds, the smallest rollup unit.
pub(crate) const MINUTE: i64 = 60;

/// The `SET` clause adding an upsert's figures to a stored rollup or session total row.
/// It keeps `cost_low` within ±1e6 by carrying into `cost_high`, which leaves the exact sum
/// `cost_high * 1e6 + cost_low` unchanged because SQLite's `/` and `%` truncate towards zero.
macro_rules! update_sums {
    () => {
        "cost_high = cost_high + excluded.cost_high + (cost_low + excluded.cost_low) / 1000000, \
         cost_low = (cost_low + excluded.cost_low) % 1000000, \
         input_tokens = input_tokens + excluded.input_tokens, \
         output_tokens = output_tokens + excluded.output_tokens, \
         cache_read_tokens = cache_read_tokens + excluded.cache_read_tokens, \
         cache_write_tokens = cache_write_tokens + excluded.cache_write_tokens, \
         event_count = event_count + excluded.event_count, \
         unpriced_count = unpriced_count + excluded.unpriced_count"
    };
}
pub(super) use update_sums;

/// Pico-dollars per unit of `cost_high`.
const HIGH_UNIT: i128 = 1_000_000;

/// Changes to the figures of one rollup row.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(super) struct Delta {
    pub(super) cost_pico: i128,
    pub(super) input_tokens: i64,
    pub(super) output_tokens: i64,
    pub(super) cache_read_tokens: i64,
    pub(super) cache_write_tokens: i64,
    pub(super) event_count: i64,
    pub(super) unpriced_count: i64,
}

impl Delta {
    /// Returns the change for adding (`sign` = 1) or removing (`sign` = -1) a cost row.
    fn of(share: &CostShare, sign: i64) -> Delta {
        Delta {
            cost_pico: i128::from(share.cost_pico.unwrap_or(0)) * i128::from(sign),
            input_tokens: share.input_tokens * sign,
            output_tokens: share.output_tokens * sign,
            cache_read_tokens: share.cache_read_tokens * sign,
            cache_write_tokens: share.cache_write_tokens * sign,
            event_count: sign,
            unpriced_count: if share.cost_pico.is_none() { sign } else { 0 },
        }
    }

    pub(super) fn add(&mut self, other: &Delta) {
        self.cost_pico += other.cost_pico;
        self.input_tokens += other.input_tokens;
        self.output_tokens += other.output_tokens;
        self.cache_read_tokens += other.cache_read_tokens;
        self.cache_write_tokens += other.cache_write_tokens;
        self.event_count += other.event_count;
        self.unpriced_count += other.unpriced_count;
    }

    /// Returns the change to the sum of positive costs, the `cost_bound` of a session.
    pub(super) fn positive_cost(share: &CostShare, sign: i64) -> i128 {
        i128::from(share.cost_pico.unwrap_or(0).max(0)) * i128::from(sign)
    }

    /// Splits the cost into the `cost_high` and `cost_low` columns.
    pub(super) fn cost_columns(&self) -> Result<(i64, i64), StoreError> {
        let high = i64::try_from(self.cost_pico / HIGH_UNIT)
            .map_err(|_| StoreError::SumOutOfRange(self.cost_pico))?;
        let low = i64::try_from(self.cost_pico % HIGH_UNIT)
            .map_err(|_| StoreError::SumOutOfRange(self.cost_pico))?;
        Ok((high, low))
    }
}

/// Key of a `cost_rollups` row at minute level. The texts borrow from the batch, and
/// are owned only for stored rows that a new `llm_response` supersedes.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct CostKey<'a> {
    minute: i64,
    agent_id: Cow<'a, str>,
    provider: Cow<'a, str>,
    model: Cow<'a, str>,
}

/// Key of a `session_cost_rollups` row at minute level.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct SessionKey<'a> {
    minute: i64,
    session_id: Cow<'a, str>,
    agent_id: Cow<'a, str>,
}

/// Key of a `cost_rollups` row: span, unit start, agent, provider and model.
type CostUnitKey<'k> = (i64, i64, &'k str, &'k str, &'k str);

/// Key of a `session_cost_rollups` row: span, unit start, session and agent.
type SessionUnitKey<'k> = (i64, i64, &'k str, &'k str);

/// A counted cost row, as the rollups see it.
struct CostRow<'t, 'a> {
    timestamp: &'t str,
    agent_id: Cow<'a, str>,
    session_id: Cow<'a, str>,
    provider: Cow<'a, str>,
    model: Cow<'a, str>,
    share: CostShare,
}

/// The rollup changes of one ingest batch, written by [`RollupDeltas::flush`].
#[derive(Debug, Default)]
pub(crate) struct RollupDeltas<'a> {
    costs: BatchMap<CostKey<'a>, Delta>,
    sessions: BatchMap<SessionKey<'a>, Delta>,
    totals: SessionTotalDeltas<'a>,
    merging: Merging,
}

impl<'a> RollupDeltas<'a> {
    /// Returns empty deltas whose session changes are written as `merging` selects.
    pub(crate) fn new(merging: Merging) -> Self {
        RollupDeltas {
            merging,
            ..RollupDeltas::default()
        }
    }

    /// Adds a newly stored event that counts towards cost totals.
    ///
    /// # Errors
    ///
    /// Returns [`StoreError::Corrupt`] when the stored timestamp text cannot be read.
    pub(crate) fn add_event(&mut self, prepared: &'a PreparedEvent) -> Result<(), StoreError> {
        let Some(cost) = &prepared.cost else {
            return Ok(());
        };
        let row = CostRow {
            timestamp: &prepared.timestamp,
            agent_id: Cow::Borrowed(&prepared.event.agent_id),
            session_id: Cow::Borrowed(&prepared.event.session_id),
            provider: Cow::Borrowed(&cost.provider),
            model: Cow::Borrowed(&cost.model),
            share: CostShare::of(cost),
        };
        self.apply(row, 1)
    }

    /// Subtracts the stored `cost_tracked` rows that a new `llm_response` is about to
    /// supersede. Call it before [`super::cost_rule::supersede_tracked_costs`] marks them.
    ///
    /// # Errors
    ///
    /// Returns [`StoreError`] when the query fails or a stored timestamp is unreadable.
    pub(crate) fn subtract_superseded(
        &mut self,
        conn: &Connection,
        tenant: &str,
        prepared: &PreparedEvent,
    ) -> Result<(), StoreError> {
        if prepared.event.event_type != EventType::LlmResponse {
            return Ok(());
        }
        let Some(call_id) = prepared.cost.as_ref().and_then(|c| c.call_id.as_deref()) else {
            return Ok(());
        };

        let sql = format!(
            "SELECT timestamp, agent_id, session_id, provider, model, cost_pico, \
             COALESCE(input_tokens, 0), COALESCE(output_tokens, 0), \
             COALESCE(cache_read_tokens, 0), \
             COALESCE(cache_write_5m_tokens, 0) + COALESCE(cache_write_1h_tokens, 0) \
             FROM events WHERE {} AND cost_source IS NOT NULL",
            super::cost_rule::SUPERSEDED_TRACKED_ROWS
        );
        let mut statement = conn.prepare_cached(&sql)?;
        let session_id = &prepared.event.session_id;
        let mut rows = statement.query(params![tenant, session_id, call_id])?;
        while let Some(row) = rows.next()? {
            let timestamp: String = row.get(0)?;
            let share = CostShare {
                cost_pico: row.get(5)?,
                input_tokens: row.get(6)?,
                output_tokens: row.get(7)?,
                cache_read_tokens: row.get(8)?,
                cache_write_tokens: row.get(9)?,
            };
            let cost_row = CostRow {
                timestamp: &timestamp,
                agent_id: Cow::Owned(row.get(1)?),
                session_id: Cow::Owned(row.get(2)?),
                provider: Cow::Owned(row.get(3)?),
                model: Cow::Owned(row.get(4)?),
                share,
            };
            self.apply(cost_row, -1)?;
        }
        Ok(())
    }

    /// Moves a counted `llm_response` row from unpriced to `cost_pico`, when it takes the
    /// cost of a `cost_tracked` it supersedes (see [`super::cost_fill`]). Its event count
    /// and tokens stay as they are.
    ///
    /// # Errors
    ///
    /// Returns [`StoreError::Corrupt`] when the stored timestamp text cannot be read.
    pub(crate) fn fill_cost(
        &mut self,
        keys: &ResponseKeys<'a>,
        cost_pico: i64,
    ) -> Result<(), StoreError> {
        let row = |cost_pico: Option<i64>| CostRow {
            timestamp: &keys.timestamp,
            agent_id: keys.agent_id.clone(),
            session_id: keys.session_id.clone(),
            provider: keys.provider.clone(),
            model: keys.model.clone(),
            share: CostShare {
                cost_pico,
                ..CostShare::default()
            },
        };
        self.apply(row(None), -1)?;
        self.apply(row(Some(cost_pico)), 1)
    }

    fn apply(&mut self, row: CostRow<'_, 'a>, sign: i64) -> Result<(), StoreError> {
        let minute = unix_second(row.timestamp)
            .ok_or_else(|| StoreError::Corrupt(format!("timestamp {:?}", row.timestamp)))?
            .div_euclid(MINUTE)
            * MINUTE;
        let delta = Delta::of(&row.share, sign);
        let positive = Delta::positive_cost(&row.share, sign);

        self.totals.record(
            (row.session_id.clone(), row.agent_id.clone(), minute),
            row.timestamp,
            &delta,
            positive,
        );
        let session_key = SessionKey {
            minute,
            session_id: row.session_id,
            agent_id: row.agent_id.clone(),
        };
        self.sessions.entry(session_key).or_default().add(&delta);
        let cost_key = CostKey {
            minute,
            agent_id: row.agent_id,
            provider: row.provider,
            model: row.model,
        };
        self.costs.entry(cost_key).or_default().add(&delta);
        Ok(())
    }

    /// Returns the changes per `cost_rollups` row: each minute's change added to the
    /// minute and to the quarter hour, hour and day that contain it, so a unit touched in
    /// several minutes of the batch is written once.
    fn cost_units(&self) -> BatchMap<CostUnitKey<'_>, Delta> {
        let mut units: BatchMap<CostUnitKey<'_>, Delta> = BatchMap::default();
        for (key, delta) in &self.costs {
            for span in SPANS {
                let start = key.minute.div_euclid(span) * span;
                let unit = (span, start, &*key.agent_id, &*key.provider, &*key.model);
                units.entry(unit).or_default().add(delta);
            }
        }
        units
    }

    /// Returns the changes per `session_cost_rollups` row, as [`Self::cost_units`] does,
    /// except that a minute from `merged_until` on changes its minute row alone.
    fn session_units(&self, merged_until: i64) -> BatchMap<SessionUnitKey<'_>, Delta> {
        let mut units: BatchMap<SessionUnitKey<'_>, Delta> = BatchMap::default();
        for (key, delta) in &self.sessions {
            let spans: &[i64] = if key.minute < merged_until {
                &SPANS
            } else {
                &[MINUTE]
            };
            for &span in spans {
                let start = key.minute.div_euclid(span) * span;
                let unit = (span, start, &*key.session_id, &*key.agent_id);
                units.entry(unit).or_default().add(delta);
            }
        }
        units
    }

    /// Writes the collected changes into the three rollup tables, one row per touched unit,
    /// and into the session totals. A tenant rollup row is read before its upsert,
    /// because its value is rewritten whole.
    ///
    /// # Errors
    ///
    /// Returns [`StoreError`] when an upsert fails or a sum leaves the column range.
    pub(crate) fn flush(self, conn: &Connection, tenant: &str) -> Result<(), StoreError> {
        let mut statement = conn.prepare_cached(concat!(
            "INSERT INTO cost_rollups (tenant_id, span, bucket_start, agent_id, provider, \
             model, cost_high, cost_low, input_tokens, output_tokens, cache_read_tokens, \
             cache_write_tokens, event_count, unpriced_count) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14) \
             ON CONFLICT (tenant_id, span, bucket_start, agent_id, provider, model) \
             DO UPDATE SET ",
            update_sums!()
        ))?;
        for ((span, start, agent_id, provider, model), delta) in self.cost_units() {
            let (high, low) = delta.cost_columns()?;
            statement.execute(params![
                tenant,
                span,
                start,
                agent_id,
                provider,
                model,
                high,
                low,
                delta.input_tokens,
                delta.output_tokens,
                delta.cache_read_tokens,
                delta.cache_write_tokens,
                delta.event_count,
                delta.unpriced_count,
            ])?;
        }
        let agent_changes = self.costs.iter().map(|(key, delta)| {
            let figures = (delta.cost_pico, delta.event_count);
            (key.minute, &*key.agent_id, figures)
        });
        super::tenant_rollups::flush(conn, tenant, agent_changes)?;

        let mut statement = conn.prepare_cached(concat!(
            "INSERT INTO session_cost_rollups (tenant_id, span, bucket_start, session_id, \
             agent_id, cost_high, cost_low, input_tokens, output_tokens, cache_read_tokens, \
             cache_write_tokens, event_count, unpriced_count) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13) \
             ON CONFLICT (tenant_id, span, bucket_start, session_id, agent_id) \
             DO UPDATE SET ",
            update_sums!()
        ))?;
        let merged_until = match self.merging {
            Merging::Deferred => super::session_merge::advance(conn, tenant)?,
            Merging::AllUnits => i64::MAX,
        };
        for ((span, start, session_id, agent_id), delta) in self.session_units(merged_until) {
            let (high, low) = delta.cost_columns()?;
            statement.execute(params![
                tenant,
                span,
                start,
                session_id,
                agent_id,
                high,
                low,
                delta.input_tokens,
                delta.output_tokens,
                delta.cache_read_tokens,
                delta.cache_write_tokens,
                delta.event_count,
                delta.unpriced_count,
            ])?;
        }
        self.totals.flush(conn, tenant, merged_until)
    }
}

/// Returns the Unix second of a stored timestamp (`2026-02-07T10:00:00.000000Z`), ignoring
/// the fraction, or `None` when the text is not in that form.
pub(crate) fn unix_second(timestamp: &str) -> Option<i64> {
    let bytes = timestamp.as_bytes();
    let number = |range: std::ops::Range<usize>| -> Option<u32> {
        let digits = bytes.get(range)?;
        digits.iter().try_fold(0u32, |value, &digit| {
            digit
                .is_ascii_digit()
                .then(|| value * 10 + u32::from(digit - b'0'))
        })
    };
    let year = i32::try_from(number(0..4)?).ok()?;
    let date = NaiveDate::from_ymd_opt(year, number(5..7)?, number(8..10)?)?;
    let time = date.and_hms_opt(number(11..13)?, number(14..16)?, number(17..19)?)?;
    Some(time.and_utc().timestamp())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unix_second_reads_stored_text() {
        assert_eq!(unix_second("1970-01-01T00:01:00.000000Z"), Some(60));
        assert_eq!(
            unix_second("2026-05-10T12:00:59.999999Z"),
            Some(1_778_414_459)
        );
        assert_eq!(unix_second("2026-13-10T12:00:00Z"), None);
        assert_eq!(unix_second("2026-05"), None);
    }

    fn cost_row(timestamp: &str, cost_pico: i64) -> CostRow<'_, 'static> {
        CostRow {
            timestamp,
            agent_id: Cow::Borrowed("agent"),
            session_id: Cow::Borrowed("session"),
            provider: Cow::Borrowed("openai"),
            model: Cow::Borrowed("gpt-4o"),
            share: CostShare {
                cost_pico: Some(cost_pico),
                ..CostShare::default()
            },
        }
    }

    #[test]
    fn batch_over_two_minutes_writes_each_unit_once() {
        let mut deltas = RollupDeltas::default();
        deltas
            .apply(cost_row("2026-05-10T12:00:10.000000Z", 5), 1)
            .unwrap();
        deltas
            .apply(cost_row("2026-05-10T12:01:10.000000Z", 7), 1)
            .unwrap();

        // Two minutes, and one quarter hour, hour and day that contain both.
        let costs = deltas.cost_units();
        assert_eq!(costs.len(), 5);
        let day = 1_778_371_200;
        let day_row = costs[&(86_400, day, "agent", "openai", "gpt-4o")];
        assert_eq!(day_row.cost_pico, 12);
        assert_eq!(day_row.event_count, 2);

        let sessions = deltas.session_units(i64::MAX);
        assert_eq!(sessions.len(), 5);
        assert_eq!(
            sessions[&(3_600, 1_778_414_400, "session", "agent")].cost_pico,
            12
        );
    }

    #[test]
    fn cost_columns_recombine_negative_delta() {
        let delta = Delta {
            cost_pico: -1_500_001,
            ..Delta::default()
        };
        let (high, low) = delta.cost_columns().unwrap();
        assert_eq!(i128::from(high) * HIGH_UNIT + i128::from(low), -1_500_001);
    }
}
