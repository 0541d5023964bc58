//! LLM rollups: exact sums of the `llm_response` rows per UTC time unit, kept up to date by
//! the ingest transaction, for `GET /api/analytics/llm`.
//!
//! `llm_rollups` (migration 10) is keyed by tenant, unit, agent, provider and model. A row
//! contains the calls, their exact cost in pico-dollars, the unpriced calls, the input and
//! output tokens, and the sum and count of the reported latencies. As in `cost_rollups`,
//! each call is added to four units that contain it: its UTC minute, quarter hour, hour
//! and day ([`SPANS`]). The report covers the whole minutes of its range with the largest
//! units that fit inside each bucket ([`super::llm_rollup_report`]) and reads the partial
//! minutes at the ends from the events.
//!
//! Sums are split into two columns so they stay exact beyond 64 bits: the cost in
//! pico-dollars is `cost_high * 1e6 + cost_low` and the latency in microseconds is
//! `latency_high * 1e6 + latency_low`.
//!
//! Latency is the `latencyMs` number of the stored payload, a measurement that may have
//! any number of decimals. Each call contributes it rounded to the nearest microsecond,
//! halves away from zero, by [`latency_micros`]. The rule works on the shortest decimal
//! text of the number, which is the text stored in the payload, so the rollups and a
//! recomputation from the stored events add up the same integers. A reported average is
//! that exact microsecond sum converted to milliseconds and divided by the count.
//!
//! Only `llm_response` rows are added. The cost rule marks only `cost_tracked` rows as
//! superseded (also in migrations 2 and 9), so a response never stops counting. One change
//! reaches a stored response: an unpriced one takes the cost of a `cost_tracked` it
//! supersedes ([`super::cost_fill`], also in migration 13), which moves one call of its
//! units from the unpriced count to that cost. Events are never deleted.

use agentlens_core::event::EventType;
use rusqlite::{params, Connection, Row};
use serde_json::Value;

use super::cost_fill::ResponseKeys;
use super::cost_rule::COUNTED_COST_ROWS;
use super::rollups::{unix_second, MINUTE, SPANS};
use super::BatchMap;
use super::{sql_count, PicoSum, StoreError};
use crate::ingest::PreparedEvent;

/// Parts per unit of a `_high` column: pico-dollars per `cost_high`, microseconds per
/// `latency_high`.
const HIGH_UNIT: i128 = 1_000_000;

/// Minute keys collected by the migration backfill before it writes them.
const BACKFILL_KEYS: usize = 100_000;

/// Columns of an `llm_rollups` row after its key, read by [`LlmSums::from_rollup_row`].
pub(super) const ROLLUP_COLUMNS: &str = "calls, cost_high, cost_low, unpriced_count, \
    input_tokens, output_tokens, latency_high, latency_low, latency_count";

/// Columns of a stored `llm_response` row, read by [`LlmSums::from_event_row`].
pub(super) const EVENT_COLUMNS: &str = "cost_pico, COALESCE(input_tokens, 0), \
    COALESCE(output_tokens, 0), payload -> '$.latencyMs'";

/// Exact sums of a group of counted `llm_response` rows.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(super) struct LlmSums {
    pub(super) calls: i64,
    pub(super) cost: PicoSum,
    pub(super) unpriced: i64,
    pub(super) input: i64,
    pub(super) output: i64,
    /// Sum of the latencies, each rounded to whole microseconds.
    pub(super) latency_micros: i128,
    /// Calls that reported a latency.
    pub(super) latency_count: i64,
}

impl LlmSums {
    /// Returns the sums of one call.
    fn of_call(cost_pico: Option<i64>, input: i64, output: i64, latency: Option<i64>) -> LlmSums {
        LlmSums {
            calls: 1,
            cost: PicoSum(cost_pico.map_or(0, i128::from)),
            unpriced: i64::from(cost_pico.is_none()),
            input,
            output,
            latency_micros: latency.map_or(0, i128::from),
            latency_count: i64::from(latency.is_some()),
        }
    }

    /// Reads the [`ROLLUP_COLUMNS`] starting at column `index`.
    pub(super) fn from_rollup_row(row: &Row<'_>, index: usize) -> rusqlite::Result<LlmSums> {
        let latency_high: i64 = row.get(index + 6)?;
        let latency_low: i64 = row.get(index + 7)?;
        Ok(LlmSums {
            calls: row.get(index)?,
            cost: PicoSum::from_row(row, index + 1)?,
            unpriced: row.get(index + 3)?,
            input: row.get(index + 4)?,
            output: row.get(index + 5)?,
            latency_micros: i128::from(latency_high) * HIGH_UNIT + i128::from(latency_low),
            latency_count: row.get(index + 8)?,
        })
    }

    /// Reads the [`EVENT_COLUMNS`] of one stored call starting at column `index`.
    pub(super) fn from_event_row(row: &Row<'_>, index: usize) -> rusqlite::Result<LlmSums> {
        let latency_text = row.get_ref(index + 3)?.as_str_or_null().unwrap_or(None);
        let latency = latency_text
            .and_then(|text| text.parse::<f64>().ok())
            .map(latency_micros);
        Ok(LlmSums::of_call(
            row.get(index)?,
            row.get(index + 1)?,
            row.get(index + 2)?,
            latency,
        ))
    }

    pub(super) fn add(&mut self, other: &LlmSums) {
        self.calls += other.calls;
        self.cost.add(other.cost);
        self.unpriced += other.unpriced;
        self.input += other.input;
        self.output += other.output;
        self.latency_micros += other.latency_micros;
        self.latency_count += other.latency_count;
    }

    /// Returns the average latency in milliseconds, 0 when no call reported one.
    pub(super) fn average_latency_ms(&self) -> f64 {
        if self.latency_count == 0 {
            return 0.0;
        }
        // Dividing by 1000 first keeps whole-millisecond sums exact, as they were when the
        // report summed the stored numbers.
        (self.latency_micros as f64 / 1000.0) / self.latency_count as f64
    }
}

/// Returns a latency in milliseconds as whole microseconds, rounded to the nearest, halves
/// away from zero, and saturated at the `i64` range (about 292,000 years).
///
/// The rounding is exact on the shortest decimal text of `ms`, the text that the stored
/// payload holds: `0.5005` gives 501 and `0.0004` gives 0. Multiplying the binary value
/// by 1000 instead gives 500.49999999999994 for `0.5005`, which rounds the other way.
pub(crate) fn latency_micros(ms: f64) -> i64 {
    if !ms.is_finite() {
        return 0;
    }
    // `{:e}` prints the shortest round-trip digits as d[.ddd]e<exp>.
    let text = format!("{:e}", ms.abs());
    let Some((mantissa, exponent)) = text.split_once('e') else {
        return 0;
    };
    let Ok(exponent) = exponent.parse::<i32>() else {
        return 0;
    };
    // Digits of the microsecond value before its decimal point: those of the milliseconds
    // (`exponent + 1`) and three more.
    let whole_digits = exponent + 4;

    let mut micros: i64 = 0;
    let mut round_up = false;
    let mut position = 0;
    for digit in mantissa.bytes().filter(u8::is_ascii_digit) {
        if position < whole_digits {
            micros = micros
                .saturating_mul(10)
                .saturating_add(i64::from(digit - b'0'));
        } else if position == whole_digits {
            // The rest is at least half a microsecond exactly when its first digit is 5 or more.
            round_up = digit >= b'5';
        }
        position += 1;
    }
    while position < whole_digits {
        micros = micros.saturating_mul(10);
        position += 1;
    }
    if round_up {
        micros = micros.saturating_add(1);
    }
    if ms < 0.0 {
        -micros
    } else {
        micros
    }
}

/// Key of an `llm_rollups` row at minute level.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct LlmKey {
    minute: i64,
    agent_id: String,
    provider: String,
    model: String,
}

/// Key of an `llm_rollups` row: span, unit start, agent, provider and model.
type LlmUnitKey<'k> = (i64, i64, &'k str, &'k str, &'k str);

/// The `llm_rollups` changes of one ingest batch, written by [`LlmRollupDeltas::flush`].
#[derive(Debug, Default)]
pub(crate) struct LlmRollupDeltas {
    minutes: BatchMap<LlmKey, LlmSums>,
}

impl LlmRollupDeltas {
    /// Adds a newly stored event when it is an `llm_response`; other events change nothing.
    ///
    /// # Errors
    ///
    /// Returns [`StoreError::Corrupt`] when the stored timestamp text cannot be read.
    pub(crate) fn add_event(&mut self, prepared: &PreparedEvent) -> Result<(), StoreError> {
        if prepared.event.event_type != EventType::LlmResponse {
            return Ok(());
        }
        let Some(cost) = &prepared.cost else {
            return Ok(());
        };

        // The payload is the stored one, so a truncated payload without `latencyMs` adds
        // no latency here, as it adds none when the report reads the stored events.
        let latency = prepared
            .event
            .payload
            .get("latencyMs")
            .and_then(Value::as_f64);
        let sums = LlmSums::of_call(
            cost.cost_pico,
            sql_count(cost.usage.input_tokens),
            sql_count(cost.usage.output_tokens),
            latency.map(latency_micros),
        );
        let (agent, provider, model) = (&prepared.event.agent_id, &cost.provider, &cost.model);
        self.add(&prepared.timestamp, agent, provider, model, &sums)
    }

    /// Moves a counted `llm_response` from unpriced to `cost_pico`, when it takes the cost
    /// of a `cost_tracked` it supersedes (see [`super::cost_fill`]).
    ///
    /// # Errors
    ///
    /// Returns [`StoreError::Corrupt`] when the stored timestamp text cannot be read.
    pub(crate) fn fill_cost(
        &mut self,
        keys: &ResponseKeys<'_>,
        cost_pico: i64,
    ) -> Result<(), StoreError> {
        let sums = LlmSums {
            cost: PicoSum(i128::from(cost_pico)),
            unpriced: -1,
            ..LlmSums::default()
        };
        let (agent, provider, model) = (&keys.agent_id, &keys.provider, &keys.model);
        self.add(&keys.timestamp, agent, provider, model, &sums)
    }

    fn add(
        &mut self,
        timestamp: &str,
        agent_id: &str,
        provider: &str,
        model: &str,
        sums: &LlmSums,
    ) -> Result<(), StoreError> {
        let second = unix_second(timestamp)
            .ok_or_else(|| StoreError::Corrupt(format!("timestamp {timestamp:?}")))?;
        let key = LlmKey {
            minute: second.div_euclid(MINUTE) * MINUTE,
            agent_id: agent_id.to_owned(),
            provider: provider.to_owned(),
            model: model.to_owned(),
        };
        self.minutes.entry(key).or_default().add(sums);
        Ok(())
    }

    /// Sums the collected minutes into every unit that contains them. The key leaves out
    /// the minute, so a batch spanning several minutes of one hour writes that hour's row
    /// once.
    fn units(&self) -> BatchMap<LlmUnitKey<'_>, LlmSums> {
        let mut units: BatchMap<LlmUnitKey<'_>, LlmSums> = BatchMap::default();
        for (key, sums) in &self.minutes {
            for span in SPANS {
                let start = key.minute.div_euclid(span) * span;
                let unit = (span, start, &*key.agent_id, &*key.provider, &*key.model);
                units.entry(unit).or_default().add(sums);
            }
        }
        units
    }

    /// Adds the collected sums to `llm_rollups`, one upsert per touched row and unit. A
    /// batch without `llm_response` events writes nothing.
    ///
    /// # Errors
    ///
    /// Returns [`StoreError`] when an upsert fails or a sum leaves the column range.
    pub(crate) fn flush(self, conn: &Connection, tenant: &str) -> Result<(), StoreError> {
        if self.minutes.is_empty() {
            return Ok(());
        }
        let units = self.units();

        let mut statement = conn.prepare_cached(
            "INSERT INTO llm_rollups (tenant_id, span, bucket_start, agent_id, provider, model, \
             calls, cost_high, cost_low, unpriced_count, input_tokens, output_tokens, \
             latency_high, latency_low, latency_count) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15) \
             ON CONFLICT (tenant_id, span, bucket_start, agent_id, provider, model) \
             DO UPDATE SET calls = calls + excluded.calls, \
             cost_high = cost_high + excluded.cost_high + (cost_low + excluded.cost_low) / 1000000, \
             cost_low = (cost_low + excluded.cost_low) % 1000000, \
             unpriced_count = unpriced_count + excluded.unpriced_count, \
             input_tokens = input_tokens + excluded.input_tokens, \
             output_tokens = output_tokens + excluded.output_tokens, \
             latency_high = latency_high + excluded.latency_high \
                 + (latency_low + excluded.latency_low) / 1000000, \
             latency_low = (latency_low + excluded.latency_low) % 1000000, \
             latency_count = latency_count + excluded.latency_count",
        )?;
        for ((span, start, agent_id, provider, model), sums) in units {
            let (cost_high, cost_low) = split(sums.cost.0)?;
            let (latency_high, latency_low) = split(sums.latency_micros)?;
            statement.execute(params![
                tenant,
                span,
                start,
                agent_id,
                provider,
                model,
                sums.calls,
                cost_high,
                cost_low,
                sums.unpriced,
                sums.input,
                sums.output,
                latency_high,
                latency_low,
                sums.latency_count,
            ])?;
        }
        Ok(())
    }
}

/// Splits an exact sum into its `_high` and `_low` columns. SQLite's `/` and `%` truncate
/// towards zero, as Rust's do, so the upsert's carry keeps `high * 1e6 + low` exact.
fn split(value: i128) -> Result<(i64, i64), StoreError> {
    let high = i64::try_from(value / HIGH_UNIT).map_err(|_| StoreError::SumOutOfRange(value))?;
    let low = i64::try_from(value % HIGH_UNIT).map_err(|_| StoreError::SumOutOfRange(value))?;
    Ok((high, low))
}

/// Fills `llm_rollups` from the stored `llm_response` rows. Migration 10 runs it after
/// creating the table.
///
/// It reads the rows in `events_tenant_llm_rows` order and writes the sums collected so
/// far whenever the tenant changes or [`BACKFILL_KEYS`] minute keys are pending, so its
/// memory stays bounded. A row whose timestamp is not in the stored form cannot be placed
/// in a minute and is left out, as migration 4 leaves it out of the cost rollups.
///
/// # Errors
///
/// Returns [`rusqlite::Error`] when a query or upsert fails, or a sum leaves the column
/// range.
pub(crate) fn backfill(conn: &Connection) -> rusqlite::Result<()> {
    let sql = format!(
        "SELECT tenant_id, timestamp, agent_id, provider, model, {EVENT_COLUMNS} FROM events \
         WHERE event_type = 'llm_response' AND {COUNTED_COST_ROWS} ORDER BY tenant_id, timestamp"
    );
    let mut statement = conn.prepare(&sql)?;
    let mut rows = statement.query([])?;
    let mut tenant: Option<String> = None;
    let mut deltas = LlmRollupDeltas::default();
    let mut skipped = 0_u64;

    let to_sqlite = |error: StoreError| rusqlite::Error::ToSqlConversionFailure(Box::new(error));
    let write = |deltas: LlmRollupDeltas, tenant: &str| deltas.flush(conn, tenant);
    while let Some(row) = rows.next()? {
        let row_tenant = super::rollup_report::text(row, 0)?;
        if tenant.as_deref() != Some(row_tenant) || deltas.minutes.len() >= BACKFILL_KEYS {
            if let Some(previous) = &tenant {
                write(std::mem::take(&mut deltas), previous).map_err(to_sqlite)?;
            }
            tenant = Some(row_tenant.to_owned());
        }
        let timestamp = super::rollup_report::text(row, 1)?;
        if unix_second(timestamp).is_none() {
            skipped += 1;
            continue;
        }
        let sums = LlmSums::from_event_row(row, 5)?;
        let texts = [2, 3, 4].map(|index| super::rollup_report::text(row, index));
        let [agent, provider, model] = texts;
        (deltas.add(timestamp, agent?, provider?, model?, &sums)).map_err(to_sqlite)?;
    }
    if let Some(tenant) = &tenant {
        write(deltas, tenant).map_err(to_sqlite)?;
    }
    if skipped > 0 {
        tracing::warn!(
            rows = skipped,
            "left llm_response rows with unreadable timestamps out of llm_rollups"
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batch_over_two_minutes_writes_each_unit_once() {
        let mut deltas = LlmRollupDeltas::default();
        for (minute, calls) in [(1_778_414_400, 2), (1_778_414_460, 3)] {
            let key = LlmKey {
                minute,
                agent_id: "agent".to_owned(),
                provider: "openai".to_owned(),
                model: "gpt-4o".to_owned(),
            };
            let sums = LlmSums {
                calls,
                ..LlmSums::default()
            };
            deltas.minutes.insert(key, sums);
        }

        let units = deltas.units();

        // Two minutes, and one quarter hour, hour and day that contain both.
        assert_eq!(units.len(), 5);
        assert_eq!(
            units[&(3_600, 1_778_414_400, "agent", "openai", "gpt-4o")].calls,
            5
        );
    }

    #[test]
    fn latency_rounds_decimal_halves_away_from_zero() {
        let cases = [
            (1234.5675, 1_234_568),
            (1234.5674, 1_234_567),
            (0.0005, 1),
            (0.0004999, 0),
            (0.0004, 0),
            (1e-9, 0),
            (250.0, 250_000),
            (-2.0005, -2_001),
            (0.5005, 501),
            (0.0, 0),
            (-0.0, 0),
            (1e21, i64::MAX),
            (-1e300, -i64::MAX),
            (9.2e15, 9_200_000_000_000_000_000),
            (9.3e15, i64::MAX),
        ];
        for (ms, expected) in cases {
            assert_eq!(latency_micros(ms), expected, "{ms}");
        }
    }

    #[test]
    fn latency_binary_product_would_round_differently() {
        // The binary value of 0.5005 times 1000 is 500.49999999999994, which rounds to
        // 500 µs, while the decimal text 0.5005 is exactly half way and gives 501.
        assert_eq!((0.5005_f64 * 1000.0).round(), 500.0);
        assert_eq!(latency_micros(0.5005), 501);
    }

    #[test]
    fn split_recombines_negative_sums() {
        let value = -(i128::from(i64::MAX) * 3 + 7);
        let (high, low) = split(value).unwrap();
        assert_eq!(i128::from(high) * HIGH_UNIT + i128::from(low), value);
        assert!(split(i128::MAX).is_err());
    }

    #[test]
    fn stored_latency_text_reads_back() {
        let conn = Connection::open_in_memory().unwrap();
        for (payload, expected) in [
            (r#"{"latencyMs":1234.5675}"#, Some(1_234_568)),
            (r#"{"latencyMs":1e+21}"#, Some(i64::MAX)),
            (r#"{"latencyMs":-3}"#, Some(-3_000)),
            (r#"{"latencyMs":"12"}"#, None),
            (r#"{"latencyMs":null}"#, None),
            (r#"{"other":1}"#, None),
        ] {
            let sql = "SELECT NULL, 0, 0, ?1 -> '$.latencyMs'";
            let sums = conn
                .query_row(sql, [payload], |row| LlmSums::from_event_row(row, 0))
                .unwrap();
            let latency = (sums.latency_count == 1).then_some(sums.latency_micros as i64);
            assert_eq!(latency, expected, "{payload}");
            assert_eq!(sums.unpriced, 1);
        }
    }
}
