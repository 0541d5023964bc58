//! The cost report read from the [rollup tables](super::rollups).
//!
//! A report runs in five steps:
//!
//! 1. It finds the minutes of the range that hold data, from the minute rollups, and lists
//!    the requested buckets over them on the clock of the requested zone.
//! 2. It covers each bucket's whole minutes with the largest UTC units that fit (days,
//!    hours, quarter hours, minutes) and merges neighbouring units of one size into runs.
//! 3. It reads each run with one range query on `cost_rollups` and adds every row to its
//!    bucket. `byAgent`, `byModel` and `totals` ignore the buckets. When the buckets split
//!    the range into smaller units than the range alone needs (hours, or days of a zone
//!    whose midnight is not a UTC hour), those three come from a second cover of the
//!    whole range in its largest units. The buckets then read their runs from
//!    `tenant_cost_rollups`, one row per unit, unless the report is for one agent.
//! 4. It reads the partial minutes at either end of the range from the events themselves.
//! 5. It lists the most expensive sessions from their running totals
//!    ([`super::top_sessions`]). When that walk would read too many sessions, it reads
//!    the range from `session_cost_rollups` instead, in the units that
//!    [`super::session_merge`] has merged, and sorts every session in the range.
//!    `bySessionOmitted` is the totals minus the list.
//!
//! The result equals [`super::analytics::build_report`] over the same events to the
//! pico-dollar; the tests compare both. When a bucket boundary falls inside a minute (only
//! historical local mean time offsets do that), [`build`] returns `None` and the caller
//! recomputes from the events.

use std::cmp::Reverse;
use std::collections::HashMap;

use agentlens_core::event::format_timestamp;
use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use rusqlite::types::Value;
use rusqlite::{params_from_iter, Connection, Params, Row};

use super::analytics::{
    AgentCost, CostQuery, CostReport, Granularity, ModelCost, Sums, SUMS_SQL, TOP_SESSIONS,
};
use super::bucket_clock::{bucket_of, next_bucket_start};
use super::buckets::BucketSums;
use super::cost_rule::COUNTED_COST_ROWS;
use super::rollups::{MINUTE, SPANS};
use super::session_merge;
use super::tenant_rollups;
use super::top_sessions::{self, SessionRange};
use super::{PicoSum, StoreError};

/// Most buckets a report lists before it falls back to reading the events.
const MAX_BUCKETS: usize = 100_000;

/// Microseconds per second.
pub(super) const MICROS: i64 = 1_000_000;

/// Columns read from both rollup tables after their key columns, in [`SUMS_SQL`] order.
pub(super) const ROLLUP_SUMS: &str = "cost_high, cost_low, input_tokens, output_tokens, \
    cache_read_tokens, cache_write_tokens, event_count, unpriced_count";

/// Running sums of every breakdown of the report.
#[derive(Debug, Default)]
struct Accumulator {
    bucket_starts: Vec<i64>,
    buckets: Vec<BucketSums>,
    by_agent: HashMap<String, Sums>,
    by_model: HashMap<String, HashMap<String, Sums>>,
    by_session: HashMap<String, Sums>,
    /// The finished `bySession` list, when [`top_sessions::read`] produced it.
    top_sessions: Option<Vec<(String, Sums)>>,
    totals: Sums,
}

impl Accumulator {
    /// Returns the `overTime` bucket that contains the Unix second `at`.
    fn bucket_at(&mut self, at: i64) -> Option<&mut BucketSums> {
        let index = self
            .bucket_starts
            .partition_point(|&start| start <= at)
            .saturating_sub(1);
        self.buckets.get_mut(index)
    }

    fn add_cost_row(&mut self, at: i64, agent: &str, provider: &str, model: &str, sums: &Sums) {
        self.add_bucket_row(at, agent, sums.cost, sums.events, sums.unpriced);
        self.add_breakdown_row(agent, provider, model, sums);
    }

    /// Adds a row to the `overTime` bucket that contains the Unix second `at`.
    fn add_bucket_row(&mut self, at: i64, agent: &str, cost: PicoSum, events: i64, unpriced: i64) {
        if let Some(bucket) = self.bucket_at(at) {
            bucket.add_cost(agent, cost, events, unpriced);
        }
    }

    /// Adds a row to `byAgent`, `byModel` and `totals`.
    fn add_breakdown_row(&mut self, agent: &str, provider: &str, model: &str, sums: &Sums) {
        entry(&mut self.by_agent, agent).add(sums);
        entry(entry(&mut self.by_model, provider), model).add(sums);
        self.totals.add(sums);
    }

    fn add_session_row(&mut self, session: &str, sums: &Sums) {
        entry(&mut self.by_session, session).add(sums);
    }

    fn into_report(self) -> Result<CostReport, StoreError> {
        let mut by_agent = Vec::with_capacity(self.by_agent.len());
        for (agent_id, sums) in self.by_agent {
            by_agent.push(AgentCost {
                agent_id,
                totals: sums.into_totals()?,
            });
        }
        by_agent.sort_by(|a, b| {
            (Reverse(a.totals.total_cost_usd), &a.agent_id)
                .cmp(&(Reverse(b.totals.total_cost_usd), &b.agent_id))
        });

        let mut by_model = Vec::new();
        for (provider, models) in self.by_model {
            for (model, sums) in models {
                by_model.push(ModelCost {
                    model,
                    provider: provider.clone(),
                    totals: sums.into_totals()?,
                });
            }
        }
        super::analytics::sort_models(&mut by_model);

        let sessions = match self.top_sessions {
            Some(top) => top,
            None => top_of(self.by_session),
        };
        let (by_session, by_session_omitted) =
            super::analytics::session_breakdown(sessions, &self.totals)?;

        let over_time = self
            .buckets
            .into_iter()
            .filter(|bucket| bucket.events > 0)
            .map(BucketSums::into_bucket)
            .collect::<Result<Vec<_>, StoreError>>()?;

        Ok(CostReport {
            by_agent,
            by_model,
            by_session,
            by_session_omitted,
            by_tool: Vec::new(),
            over_time,
            totals: self.totals.into_totals()?,
        })
    }
}

/// Returns the [`TOP_SESSIONS`] sessions with the highest cost, best first.
fn top_of(by_session: HashMap<String, Sums>) -> Vec<(String, Sums)> {
    let mut list: Vec<(String, Sums)> = by_session.into_iter().collect();
    list.sort_by(|(a_id, a), (b_id, b)| (Reverse(a.cost), a_id).cmp(&(Reverse(b.cost), b_id)));
    list.truncate(TOP_SESSIONS);
    list
}

/// Returns the value of `key`, inserting a default without allocating when it exists.
fn entry<'m, V: Default>(map: &'m mut HashMap<String, V>, key: &str) -> &'m mut V {
    if !map.contains_key(key) {
        map.insert(key.to_owned(), V::default());
    }
    map.get_mut(key).expect("the key was just inserted")
}

/// A stretch of whole minutes, `[start, end)` in Unix seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Run {
    pub(super) span: i64,
    pub(super) start: i64,
    pub(super) end: i64,
}

/// Builds the cost report from the rollups, or returns `None` when a bucket boundary is
/// not on a whole minute, a bound is before year 0, or the range has more than
/// [`MAX_BUCKETS`] buckets.
///
/// # Errors
///
/// Returns [`StoreError`] when a query fails or a sum leaves the decimal range.
pub(crate) fn build(
    conn: &Connection,
    tenant: &str,
    query: &CostQuery,
) -> Result<Option<CostReport>, StoreError> {
    // Bounds before year 0 have no RFC 3339 form; the recomputation compares their text.
    let (Some(from_us), Some(to_us)) = (micros(&query.from), micros(&query.to)) else {
        return Ok(None);
    };
    let end_us = to_us.saturating_add(1);
    if end_us <= from_us {
        return Ok(Some(Accumulator::default().into_report()?));
    }

    // Step 1: the minutes that hold data, and the buckets over them.
    let first_minute = from_us.div_euclid(MICROS * MINUTE) * MINUTE;
    let after_last_minute = (end_us + MICROS * MINUTE - 1).div_euclid(MICROS * MINUTE) * MINUTE;
    let Some((low, high)) = data_extent(conn, tenant, first_minute, after_last_minute)? else {
        return Ok(Some(Accumulator::default().into_report()?));
    };
    let mut accumulator = Accumulator::default();
    if !list_buckets(&mut accumulator, query, low, high) {
        return Ok(None);
    }

    // Step 2: whole minutes come from the rollups, partial ones from the events.
    let whole_start = (from_us + MICROS * MINUTE - 1).div_euclid(MICROS * MINUTE) * MINUTE;
    let whole_end = end_us.div_euclid(MICROS * MINUTE) * MINUTE;
    let mut edges = Vec::new();
    if whole_start > whole_end {
        edges.push((query.from.clone(), query.to.clone(), true, first_minute));
    } else {
        if from_us < whole_start * MICROS {
            edges.push((
                query.from.clone(),
                text_of(whole_start)?,
                false,
                first_minute,
            ));
        }
        if whole_end * MICROS < end_us {
            edges.push((text_of(whole_end)?, query.to.clone(), true, whole_end));
        }
    }
    let (start, end) = (whole_start.max(low), whole_end.min(high));
    let runs = cover(&accumulator.bucket_starts, start, end);
    // The breakdowns ignore bucket boundaries, so they read the range in its largest units.
    let breakdown_runs = cover(&[start], start, end);

    // Step 3: the rollup runs.
    if runs == breakdown_runs {
        for run in &runs {
            read_cost_run(conn, tenant, query, run, &mut accumulator)?;
        }
    } else {
        for run in &runs {
            read_bucket_run(conn, tenant, query, run, &mut accumulator)?;
        }
        for run in &breakdown_runs {
            read_breakdown_run(conn, tenant, query, run, &mut accumulator)?;
        }
    }

    // Step 4: the partial minutes at the ends.
    for (from, to, inclusive, minute) in edges {
        let bounds = (from.as_str(), to.as_str(), inclusive);
        read_edge(conn, tenant, query, bounds, minute, &mut accumulator)?;
    }

    // Step 5: the sessions, from their running totals or else from the rollup runs.
    let merged_until = session_merge::merged_until(conn, tenant)?;
    let range = SessionRange {
        from: &query.from,
        to: &query.to,
        whole_minutes: (whole_start, whole_end),
        merged_until,
        edges: &accumulator.by_session,
    };
    accumulator.top_sessions = top_sessions::read(conn, tenant, query, &range)?;
    if accumulator.top_sessions.is_none() {
        for run in &session_merge::split_cover(start, end, merged_until) {
            read_session_run(conn, tenant, query, run, &mut accumulator)?;
        }
    }
    Ok(Some(accumulator.into_report()?))
}

/// Returns the microseconds since the Unix epoch of a stored-format timestamp, or `None`
/// when the text is not RFC 3339.
pub(super) fn micros(text: &str) -> Option<i64> {
    DateTime::parse_from_rfc3339(text)
        .ok()
        .map(|instant| instant.timestamp_micros())
}

/// Returns the stored-format text of a Unix second.
pub(super) fn text_of(second: i64) -> Result<String, StoreError> {
    DateTime::<Utc>::from_timestamp(second, 0)
        .map(|instant| format_timestamp(&instant))
        .ok_or_else(|| StoreError::Corrupt(format!("time {second} is out of range")))
}

/// Returns the first minute with data and the end of the last one, within `[start, end)`.
fn data_extent(
    conn: &Connection,
    tenant: &str,
    start: i64,
    end: i64,
) -> Result<Option<(i64, i64)>, StoreError> {
    // Two queries, because SQLite computes a lone MIN or MAX from the index in one step.
    let mut first = conn.prepare_cached(
        "SELECT MIN(bucket_start) FROM cost_rollups \
         WHERE tenant_id = ?1 AND span = 60 AND bucket_start >= ?2 AND bucket_start < ?3",
    )?;
    let low: Option<i64> = first.query_row((tenant, start, end), |row| row.get(0))?;
    let mut last = conn.prepare_cached(
        "SELECT MAX(bucket_start) FROM cost_rollups \
         WHERE tenant_id = ?1 AND span = 60 AND bucket_start >= ?2 AND bucket_start < ?3",
    )?;
    let high: Option<i64> = last.query_row((tenant, start, end), |row| row.get(0))?;
    Ok(low.zip(high).map(|(low, high)| (low, high + MINUTE)))
}

/// Lists the buckets that meet `[low, high)`, or returns false when a boundary inside it is
/// not on a whole minute or there are too many buckets.
fn list_buckets(accumulator: &mut Accumulator, query: &CostQuery, low: i64, high: i64) -> bool {
    let Some(buckets) = bucket_list(query.granularity, query.time_zone, low, high) else {
        return false;
    };
    for (start, label) in buckets {
        accumulator.bucket_starts.push(start);
        accumulator.buckets.push(BucketSums::new(label));
    }
    true
}

/// Returns the start second and label of each bucket that meets `[low, high)`, or `None`
/// when a boundary inside it is not on a whole minute or there are more than
/// [`MAX_BUCKETS`] buckets.
pub(super) fn bucket_list(
    granularity: Granularity,
    zone: Tz,
    low: i64,
    high: i64,
) -> Option<Vec<(i64, String)>> {
    let mut instant = DateTime::<Utc>::from_timestamp(low, 0)?;
    let mut buckets = Vec::new();
    loop {
        let (start, label) = bucket_of(instant, granularity, zone);
        let start_second = start.timestamp();
        if start_second > low && start_second % MINUTE != 0 {
            return None;
        }
        buckets.push((start_second, label));
        if buckets.len() > MAX_BUCKETS {
            return None;
        }
        instant = next_bucket_start(start, granularity, zone);
        if instant.timestamp() >= high {
            return Some(buckets);
        }
    }
}

/// Covers the whole minutes `[start, end)` of every bucket with the largest aligned UTC
/// units that stay inside the bucket, and merges neighbouring units of one size.
pub(super) fn cover(bucket_starts: &[i64], start: i64, end: i64) -> Vec<Run> {
    let mut runs: Vec<Run> = Vec::new();
    let mut last_of_span: HashMap<i64, usize> = HashMap::new();
    for (index, &bucket_start) in bucket_starts.iter().enumerate() {
        let bucket_end = bucket_starts.get(index + 1).copied().unwrap_or(i64::MAX);
        let (mut position, stop) = (bucket_start.max(start), bucket_end.min(end));
        while position < stop {
            let Some(span) = SPANS
                .into_iter()
                .find(|&span| position % span == 0 && position + span <= stop)
            else {
                break;
            };
            match last_of_span.get(&span).map(|&i| &mut runs[i]) {
                Some(run) if run.end == position => run.end += span,
                _ => {
                    last_of_span.insert(span, runs.len());
                    runs.push(Run {
                        span,
                        start: position,
                        end: position + span,
                    });
                }
            }
            position += span;
        }
    }
    runs
}

/// Returns the parameters `tenant, span, start, end` and, when set, the agent filter.
fn run_params(tenant: &str, query: &CostQuery, run: &Run) -> Vec<Value> {
    let mut params = vec![
        Value::Text(tenant.to_owned()),
        Value::Integer(run.span),
        Value::Integer(run.start),
        Value::Integer(run.end),
    ];
    if let Some(agent) = &query.agent_id {
        params.push(Value::Text(agent.clone()));
    }
    params
}

fn agent_clause(query: &CostQuery) -> &'static str {
    if query.agent_id.is_some() {
        "AND agent_id = ?5"
    } else {
        ""
    }
}

/// Borrows a text column without copying it.
pub(super) fn text<'r>(row: &'r Row<'_>, index: usize) -> rusqlite::Result<&'r str> {
    row.get_ref(index)?.as_str().map_err(|error| {
        rusqlite::Error::FromSqlConversionFailure(
            index,
            rusqlite::types::Type::Text,
            Box::new(error),
        )
    })
}

/// Runs the cached statement `sql` with `params` and passes each row to `visit`.
fn for_each_row(
    conn: &Connection,
    sql: &str,
    params: impl Params,
    mut visit: impl FnMut(&Row<'_>) -> Result<(), StoreError>,
) -> Result<(), StoreError> {
    let mut statement = conn.prepare_cached(sql)?;
    let mut rows = statement.query(params)?;
    while let Some(row) = rows.next()? {
        visit(row)?;
    }
    Ok(())
}

fn read_cost_run(
    conn: &Connection,
    tenant: &str,
    query: &CostQuery,
    run: &Run,
    accumulator: &mut Accumulator,
) -> Result<(), StoreError> {
    let sql = format!(
        "SELECT bucket_start, agent_id, provider, model, {ROLLUP_SUMS} FROM cost_rollups \
         WHERE tenant_id = ?1 AND span = ?2 AND bucket_start >= ?3 AND bucket_start < ?4 \
         AND event_count > 0 {}",
        agent_clause(query)
    );
    let params = params_from_iter(run_params(tenant, query, run));
    for_each_row(conn, &sql, params, |row| {
        let sums = Sums::from_row(row, 4)?;
        let at: i64 = row.get(0)?;
        accumulator.add_cost_row(at, text(row, 1)?, text(row, 2)?, text(row, 3)?, &sums);
        Ok(())
    })
}

/// Reads a run into the `overTime` buckets only: from the tenant rollups, or from
/// `cost_rollups` when the report is for one agent.
fn read_bucket_run(
    conn: &Connection,
    tenant: &str,
    query: &CostQuery,
    run: &Run,
    accumulator: &mut Accumulator,
) -> Result<(), StoreError> {
    if query.agent_id.is_some() {
        return read_agent_bucket_run(conn, tenant, query, run, accumulator);
    }

    let sql = "SELECT bucket_start, agents FROM tenant_cost_rollups \
         WHERE tenant_id = ?1 AND span = ?2 AND bucket_start >= ?3 AND bucket_start < ?4";
    let params = params_from_iter(run_params(tenant, query, run));
    for_each_row(conn, sql, params, |row| {
        let at: i64 = row.get(0)?;
        let agents = row.get_ref(1)?.as_blob().map_err(|error| {
            StoreError::Corrupt(format!("tenant_cost_rollups.agents at {at}: {error}"))
        })?;
        tenant_rollups::for_each_agent(agents, |agent, (cost, events)| {
            if events > 0 {
                accumulator.add_bucket_row(at, agent, PicoSum(cost), events, 0);
            }
        })?;
        Ok(())
    })?;
    read_bucket_unpriced(conn, tenant, query, run, accumulator)
}

/// Reads the unpriced count of each unit of a run from `cost_rollups`.
/// Without statistics, SQLite would choose the primary key, so the index is named.
const BUCKET_UNPRICED_SQL: &str = "SELECT bucket_start, SUM(unpriced_count) \
    FROM cost_rollups INDEXED BY cost_rollups_unpriced \
    WHERE tenant_id = ?1 AND span = ?2 AND bucket_start >= ?3 AND bucket_start < ?4 \
    AND unpriced_count > 0 GROUP BY bucket_start";

/// Adds the unpriced rows of a run to the `overTime` buckets, which the tenant rollups
/// cannot give because they store no unpriced count. The partial index
/// `cost_rollups_unpriced` holds only the `cost_rollups` rows with unpriced rows, so the
/// read skips the others.
fn read_bucket_unpriced(
    conn: &Connection,
    tenant: &str,
    query: &CostQuery,
    run: &Run,
    accumulator: &mut Accumulator,
) -> Result<(), StoreError> {
    let params = params_from_iter(run_params(tenant, query, run));
    for_each_row(conn, BUCKET_UNPRICED_SQL, params, |row| {
        let at: i64 = row.get(0)?;
        let unpriced: i64 = row.get(1)?;
        if let Some(bucket) = accumulator.bucket_at(at) {
            bucket.add_unpriced(unpriced);
        }
        Ok(())
    })
}

/// Reads a run of one agent's rows in `cost_rollups` into the `overTime` buckets only.
fn read_agent_bucket_run(
    conn: &Connection,
    tenant: &str,
    query: &CostQuery,
    run: &Run,
    accumulator: &mut Accumulator,
) -> Result<(), StoreError> {
    let sql = format!(
        "SELECT bucket_start, agent_id, cost_high, cost_low, event_count, unpriced_count \
         FROM cost_rollups \
         WHERE tenant_id = ?1 AND span = ?2 AND bucket_start >= ?3 AND bucket_start < ?4 \
         AND event_count > 0 {}",
        agent_clause(query)
    );
    let params = params_from_iter(run_params(tenant, query, run));
    for_each_row(conn, &sql, params, |row| {
        let at: i64 = row.get(0)?;
        let cost = PicoSum::from_row(row, 2)?;
        let events: i64 = row.get(4)?;
        let unpriced: i64 = row.get(5)?;
        accumulator.add_bucket_row(at, text(row, 1)?, cost, events, unpriced);
        Ok(())
    })
}

/// Reads a run into `byAgent`, `byModel` and `totals` only.
fn read_breakdown_run(
    conn: &Connection,
    tenant: &str,
    query: &CostQuery,
    run: &Run,
    accumulator: &mut Accumulator,
) -> Result<(), StoreError> {
    let sql = format!(
        "SELECT agent_id, provider, model, {ROLLUP_SUMS} FROM cost_rollups \
         WHERE tenant_id = ?1 AND span = ?2 AND bucket_start >= ?3 AND bucket_start < ?4 \
         AND event_count > 0 {}",
        agent_clause(query)
    );
    let params = params_from_iter(run_params(tenant, query, run));
    for_each_row(conn, &sql, params, |row| {
        let sums = Sums::from_row(row, 3)?;
        accumulator.add_breakdown_row(text(row, 0)?, text(row, 1)?, text(row, 2)?, &sums);
        Ok(())
    })
}

fn read_session_run(
    conn: &Connection,
    tenant: &str,
    query: &CostQuery,
    run: &Run,
    accumulator: &mut Accumulator,
) -> Result<(), StoreError> {
    let sql = format!(
        "SELECT session_id, {ROLLUP_SUMS} FROM session_cost_rollups \
         WHERE tenant_id = ?1 AND span = ?2 AND bucket_start >= ?3 AND bucket_start < ?4 \
         AND event_count > 0 {}",
        agent_clause(query)
    );
    let params = params_from_iter(run_params(tenant, query, run));
    for_each_row(conn, &sql, params, |row| {
        let sums = Sums::from_row(row, 1)?;
        accumulator.add_session_row(text(row, 0)?, &sums);
        Ok(())
    })
}

/// Reads the events of a partial minute, `from <= timestamp < to` or, when `inclusive` is
/// set for the end of the range, `from <= timestamp <= to`, into the bucket of `minute`.
///
/// The flag cannot be derived from `to` alone. When the range ends on a whole minute and
/// starts inside the minute before, the first edge also ends at the range's end, so an
/// inclusive first edge would count an event at that instant twice.
fn read_edge(
    conn: &Connection,
    tenant: &str,
    query: &CostQuery,
    (from, to, inclusive): (&str, &str, bool),
    minute: i64,
    accumulator: &mut Accumulator,
) -> Result<(), StoreError> {
    let upper = if inclusive { "<=" } else { "<" };
    let agent = if query.agent_id.is_some() {
        "AND agent_id = ?4"
    } else {
        ""
    };
    let mut params = vec![
        Value::Text(tenant.to_owned()),
        Value::Text(from.to_owned()),
        Value::Text(to.to_owned()),
    ];
    if let Some(agent_id) = &query.agent_id {
        params.push(Value::Text(agent_id.clone()));
    }
    let range = format!(
        "FROM events WHERE tenant_id = ?1 AND {COUNTED_COST_ROWS} AND timestamp >= ?2 \
         AND timestamp {upper} ?3 {agent}"
    );

    let sql = format!("SELECT agent_id, provider, model, {SUMS_SQL} {range} GROUP BY 1, 2, 3");
    for_each_row(conn, &sql, params_from_iter(params.iter()), |row| {
        let sums = Sums::from_row(row, 3)?;
        accumulator.add_cost_row(minute, text(row, 0)?, text(row, 1)?, text(row, 2)?, &sums);
        Ok(())
    })?;

    let sql = format!("SELECT session_id, {SUMS_SQL} {range} GROUP BY 1");
    for_each_row(conn, &sql, params_from_iter(params.iter()), |row| {
        let sums = Sums::from_row(row, 1)?;
        accumulator.add_session_row(text(row, 0)?, &sums);
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cover_uses_largest_units_inside_buckets() {
        // Two Asia/Kolkata days: each starts at 18:30 UTC.
        let day = 86_400;
        let first = 20 * day - 5 * 3_600 - 1_800;
        let runs = cover(&[first, first + day], first, first + 2 * day);

        let minutes: i64 = runs.iter().map(|run| run.end - run.start).sum();
        assert_eq!(minutes, 2 * day);
        assert!(runs.iter().all(|run| run.span >= 900));
        let quarter_runs = runs.iter().filter(|run| run.span == 900).count();
        assert_eq!(quarter_runs, 3);
    }

    #[test]
    fn cover_merges_neighbouring_units() {
        let runs = cover(&[0, 3_600, 7_200], 0, 10_800);
        assert_eq!(
            runs,
            vec![Run {
                span: 3_600,
                start: 0,
                end: 10_800
            }]
        );
    }

    #[test]
    fn cover_keeps_partial_minutes_out() {
        let runs = cover(&[0], 120, 300);
        assert_eq!(runs.iter().map(|run| run.end - run.start).sum::<i64>(), 180);
        assert!(runs.iter().all(|run| run.span == 60));
    }

    #[test]
    fn unpriced_bucket_read_uses_partial_index() {
        let dir = tempfile::tempdir().unwrap();
        let conn = super::super::sqlite::open_writer(&dir.path().join("plan.db")).unwrap();
        let plan = format!("EXPLAIN QUERY PLAN {BUCKET_UNPRICED_SQL}");
        let details: Vec<String> = conn
            .prepare(&plan)
            .unwrap()
            .query_map(rusqlite::params!["t", 900, 0, 86_400], |row| row.get(3))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        assert!(
            details
                .iter()
                .any(|detail| detail.contains("INDEX cost_rollups_unpriced")),
            "{details:?}"
        );
    }
}
