//! The LLM report read from the [LLM rollups](super::llm_rollups).
//!
//! It follows the steps of the cost report ([`super::rollup_report`]):
//!
//! 1. It finds the minutes of the range that hold calls, from the minute rollups, and lists
//!    the requested buckets over them on the clock of the requested zone.
//! 2. It covers each bucket's whole minutes with the largest UTC units that fit (days,
//!    hours, quarter hours, minutes) and merges neighbouring units of one size into runs.
//! 3. It reads each run with one range query on `llm_rollups`. The buckets may split the
//!    range into smaller units than the range alone needs (hours, or days of a zone whose
//!    midnight is not a UTC hour). Then `summary` and `byModel` read a second cover of the
//!    whole range in its largest units instead of the bucket runs.
//! 4. It reads the calls in the partial minutes at either end of the range from the events.
//!
//! The result equals [`super::llm_analytics`]'s recomputation from the events; the tests
//! compare both. When a bucket boundary falls inside a minute (only historical local mean
//! time offsets do that), a bound is before year 0 or the range has too many buckets,
//! [`build`] returns `None` and the caller recomputes from the events.

use rusqlite::Connection;

use super::filter::SqlFilter;
use super::llm_analytics::{call_filter, read_calls, LlmQuery, LlmReport, LlmTally};
use super::llm_rollups::{LlmSums, ROLLUP_COLUMNS};
use super::rollup_report::{bucket_list, cover, micros, text, text_of, Run, MICROS};
use super::rollups::MINUTE;
use super::StoreError;

/// The [`ROLLUP_COLUMNS`] summed over the rows of one unit.
const BUCKET_SUMS: &str = "SUM(calls), SUM(cost_high), SUM(cost_low), SUM(unpriced_count), \
    SUM(input_tokens), SUM(output_tokens), SUM(latency_high), SUM(latency_low), \
    SUM(latency_count)";

/// The parts of the report that a run of rollup rows adds to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Part {
    /// `byTime` only.
    Buckets,
    /// `summary` and `byModel` only.
    Breakdown,
    /// All three.
    Both,
}

/// The buckets of a report: start seconds in order, and their labels.
struct Buckets {
    starts: Vec<i64>,
    labels: Vec<String>,
}

impl Buckets {
    /// Returns the start and label of the bucket that contains the Unix second `at`.
    fn place(&self, at: i64) -> (i64, &str) {
        let index = self.starts.partition_point(|&start| start <= at);
        let index = index.saturating_sub(1);
        (self.starts[index], &self.labels[index])
    }
}

/// Builds the LLM report from the rollups, or returns `None` when a bucket boundary is not
/// on a whole minute, a bound is before year 0, or the range has too many buckets.
///
/// # Errors
///
/// Returns [`StoreError`] when a query fails or a sum leaves the decimal range.
pub(super) fn build(
    conn: &Connection,
    tenant: &str,
    query: &LlmQuery,
) -> Result<Option<LlmReport>, StoreError> {
    // Bounds before year 0 have no RFC 3339 form; the recomputation compares their text.
    let (Some(from_us), Some(to_us)) = (micros(&query.from), micros(&query.to)) else {
        return Ok(None);
    };
    let end_us = to_us.saturating_add(1);
    let minute_us = MICROS * MINUTE;
    if end_us <= from_us {
        return LlmTally::default().into_report().map(Some);
    }

    // Step 1: the minutes that hold calls, and the buckets over them.
    let first_minute = from_us.div_euclid(minute_us) * MINUTE;
    let after_last_minute = (end_us + minute_us - 1).div_euclid(minute_us) * MINUTE;
    let Some((low, high)) = data_extent(conn, tenant, first_minute, after_last_minute)? else {
        return LlmTally::default().into_report().map(Some);
    };
    let Some(list) = bucket_list(query.granularity, query.time_zone, low, high) else {
        return Ok(None);
    };
    let (starts, labels) = list.into_iter().unzip();
    let buckets = Buckets { starts, labels };

    // Step 2: whole minutes come from the rollups, partial ones from the events.
    let whole_start = (from_us + minute_us - 1).div_euclid(minute_us) * MINUTE;
    let whole_end = end_us.div_euclid(minute_us) * MINUTE;
    // Each edge is `from <= timestamp < to`, or `<= to` when it ends the range.
    let mut edges = Vec::new();
    if whole_start > whole_end {
        edges.push((query.from.clone(), query.to.clone(), true, first_minute));
    } else {
        if from_us < whole_start * MICROS {
            let to = text_of(whole_start)?;
            edges.push((query.from.clone(), to, false, first_minute));
        }
        if whole_end * MICROS < end_us {
            edges.push((text_of(whole_end)?, query.to.clone(), true, whole_end));
        }
    }
    let (start, end) = (whole_start.max(low), whole_end.min(high));
    let runs = cover(&buckets.starts, start, end);
    // The summary and `byModel` ignore bucket boundaries, so they read the largest units.
    let breakdown_runs = cover(&[start], start, end);

    // Step 3: the rollup runs.
    let mut tally = LlmTally::default();
    if runs == breakdown_runs {
        for run in &runs {
            read_run(conn, tenant, query, run, Part::Both, &buckets, &mut tally)?;
        }
    } else {
        for run in &runs {
            read_run(
                conn,
                tenant,
                query,
                run,
                Part::Buckets,
                &buckets,
                &mut tally,
            )?;
        }
        for run in &breakdown_runs {
            read_run(
                conn,
                tenant,
                query,
                run,
                Part::Breakdown,
                &buckets,
                &mut tally,
            )?;
        }
    }

    // Step 4: the partial minutes at the ends.
    for (from, to, inclusive, minute) in edges {
        let mut filter = call_filter(tenant, query);
        filter.at_least("timestamp", Some(&from));
        if inclusive {
            filter.at_most("timestamp", Some(&to));
        } else {
            filter.push("timestamp < ?", [to.into()]);
        }
        let (start, label) = buckets.place(minute);
        read_calls(conn, &filter, &mut tally, |_| (start, label.to_owned()))?;
    }
    Ok(Some(tally.into_report()?))
}

/// Returns the first minute with calls and the end of the last one, within `[start, end)`.
fn data_extent(
    conn: &Connection,
    tenant: &str,
    start: i64,
    end: i64,
) -> Result<Option<(i64, i64)>, StoreError> {
    // Two queries, because SQLite computes a lone MIN or MAX from the index in one step.
    let mut first = conn.prepare_cached(
        "SELECT MIN(bucket_start) FROM llm_rollups \
         WHERE tenant_id = ?1 AND span = 60 AND bucket_start >= ?2 AND bucket_start < ?3",
    )?;
    let low: Option<i64> = first.query_row((tenant, start, end), |row| row.get(0))?;
    let mut last = conn.prepare_cached(
        "SELECT MAX(bucket_start) FROM llm_rollups \
         WHERE tenant_id = ?1 AND span = 60 AND bucket_start >= ?2 AND bucket_start < ?3",
    )?;
    let high: Option<i64> = last.query_row((tenant, start, end), |row| row.get(0))?;
    Ok(low.zip(high).map(|(low, high)| (low, high + MINUTE)))
}

/// Reads the rollup rows of one run that match the report's filters into `part`.
fn read_run(
    conn: &Connection,
    tenant: &str,
    query: &LlmQuery,
    run: &Run,
    part: Part,
    buckets: &Buckets,
    tally: &mut LlmTally,
) -> Result<(), StoreError> {
    let mut filter: SqlFilter = call_filter(tenant, query);
    let bounds = [run.span, run.start, run.end].map(rusqlite::types::Value::Integer);
    filter.push(
        "span = ? AND bucket_start >= ? AND bucket_start < ?",
        bounds,
    );
    // `byTime` needs no provider or model, so SQLite adds up each unit's rows. Its `SUM`
    // fails rather than wraps when a unit's `_high` columns together pass 2^63.
    let sql = if part == Part::Buckets {
        format!(
            "SELECT bucket_start, NULL, NULL, {BUCKET_SUMS} FROM llm_rollups {} \
             GROUP BY bucket_start",
            filter.where_sql()
        )
    } else {
        format!(
            "SELECT bucket_start, provider, model, {ROLLUP_COLUMNS} FROM llm_rollups {}",
            filter.where_sql()
        )
    };
    let mut statement = conn.prepare_cached(&sql)?;
    let mut rows = statement.query(rusqlite::params_from_iter(filter.params()))?;
    while let Some(row) = rows.next()? {
        let sums = LlmSums::from_rollup_row(row, 3)?;
        if part != Part::Breakdown {
            let (start, label) = buckets.place(row.get(0)?);
            tally.add_bucket(start, || label.to_owned(), &sums);
        }
        if part != Part::Buckets {
            tally.add_breakdown(text(row, 1)?, text(row, 2)?, &sums);
        }
    }
    Ok(())
}
