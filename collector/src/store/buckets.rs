//! Time buckets read from the events.
//!
//! [`for_each_group`] groups events in SQL into 15-minute UTC slots, because every current
//! zone offset is a multiple of 15 minutes, and assigns each slot to its bucket in Rust
//! ([`super::bucket_clock`]), so sums stay exact. Slots that a bucket boundary splits are
//! read again by second, so any zone works. The cost recomputation ([`over_time`]) and the
//! overview of `GET /api/analytics` both use it.

use std::collections::{BTreeMap, BTreeSet};

use agentlens_core::event::format_timestamp;
use chrono::{DateTime, Duration, NaiveDateTime, Utc};
use rusqlite::types::Value;
use rusqlite::{params_from_iter, Connection, Row};

use super::analytics::{CostBucket, CostQuery, Sums, SUMS_SQL};
use super::bucket_clock::{Bucket, BucketCursor};
use super::filter::SqlFilter;
use super::rollup_report::text;
use super::{PicoSum, StoreError};

/// Running sums of one bucket.
#[derive(Debug, Default)]
pub(crate) struct BucketSums {
    label: String,
    cost: PicoSum,
    pub(crate) events: i64,
    unpriced: i64,
    /// Cost per agent, sorted by agent id.
    by_agent: Vec<(String, PicoSum)>,
    /// Index in `by_agent` where the next agent is looked for first. A tenant rollup row
    /// lists its agents in id order, so most look-ups hit it with one comparison.
    next_agent: usize,
}

impl BucketSums {
    /// Adds unpriced rows that [`BucketSums::add_cost`] has already counted as rows.
    pub(crate) fn add_unpriced(&mut self, unpriced: i64) {
        self.unpriced += unpriced;
    }

    /// Creates empty sums for the bucket labelled `label`.
    pub(crate) fn new(label: String) -> BucketSums {
        BucketSums {
            label,
            ..BucketSums::default()
        }
    }

    /// Adds the sums of one agent's rows.
    pub(crate) fn add(&mut self, agent: &str, sums: &Sums) {
        self.add_cost(agent, sums.cost, sums.events, sums.unpriced);
    }

    /// Adds the cost, row count and unpriced row count of one agent's rows.
    pub(crate) fn add_cost(&mut self, agent: &str, cost: PicoSum, events: i64, unpriced: i64) {
        self.cost.add(cost);
        self.events += events;
        self.unpriced += unpriced;
        let index = self.agent_index(agent);
        self.by_agent[index].1.add(cost);
    }

    /// Returns the index of the agent's entry in `by_agent`, inserted in order with a
    /// zero cost when missing.
    fn agent_index(&mut self, agent: &str) -> usize {
        let index = match self.by_agent.get(self.next_agent) {
            Some((known, _)) if known == agent => self.next_agent,
            _ => {
                let found = self
                    .by_agent
                    .binary_search_by(|(known, _)| known.as_str().cmp(agent));
                found.unwrap_or_else(|index| {
                    self.by_agent
                        .insert(index, (agent.to_owned(), PicoSum::default()));
                    index
                })
            }
        };
        self.next_agent = index + 1;
        index
    }

    /// Converts the sums to dollars.
    pub(crate) fn into_bucket(self) -> Result<CostBucket, StoreError> {
        let by_agent = self
            .by_agent
            .into_iter()
            .map(|(agent, cost)| Ok((agent, cost.to_usd()?)))
            .collect::<Result<BTreeMap<_, _>, StoreError>>()?;
        Ok(CostBucket {
            bucket: self.label,
            total_cost_usd: self.cost.to_usd()?,
            event_count: self.events,
            unpriced_count: self.unpriced,
            by_agent,
        })
    }
}

/// SQL giving the start of an event's 15-minute UTC slot, as `YYYY-MM-DDTHH:MM`.
const SLOT_SQL: &str = "substr(timestamp, 1, 14) || \
    printf('%02d', CAST(substr(timestamp, 15, 2) AS INTEGER) / 15 * 15)";

/// SQL giving the second of an event's timestamp, as `YYYY-MM-DDTHH:MM:SS`.
const SECOND_SQL: &str = "substr(timestamp, 1, 19)";

/// Length of a slot of [`SLOT_SQL`].
const SLOT: Duration = Duration::minutes(15);

/// Parses a time written by [`SLOT_SQL`] or [`SECOND_SQL`] in the given `format`.
fn parse_time(text: &str, format: &str) -> Result<DateTime<Utc>, StoreError> {
    NaiveDateTime::parse_from_str(text, format)
        .map(|start| start.and_utc())
        .map_err(|error| StoreError::Corrupt(format!("timestamp prefix {text:?}: {error}")))
}

/// Reads `columns` of the events that `filter` selects, grouped by time and by `keys`,
/// and passes each group that `read` converts to `add` with the bucket that contains it.
///
/// The groups are 15-minute UTC slots, which keeps them few. A bucket boundary inside a
/// slot, which only offsets with odd minutes or seconds put there, splits it. The events of
/// such a slot are read again grouped by second, which is exact because every boundary is
/// a whole second.
///
/// # Errors
///
/// Returns [`StoreError`] when a query fails or a stored timestamp cannot be read.
pub(crate) fn for_each_group<T>(
    conn: &Connection,
    filter: &SqlFilter,
    (columns, keys): (&str, &str),
    cursor: &mut BucketCursor,
    read: impl Fn(&Row<'_>, usize) -> rusqlite::Result<T>,
    mut add: impl FnMut(&Bucket, T),
) -> Result<(), StoreError> {
    let sql = format!(
        "SELECT {SLOT_SQL} AS slot, {columns} FROM events {} GROUP BY slot, {keys}",
        filter.where_sql()
    );
    let mut statement = conn.prepare(&sql)?;
    let mut rows = statement.query(params_from_iter(filter.params()))?;
    let mut split_slots = BTreeSet::new();
    while let Some(row) = rows.next()? {
        let slot = parse_time(text(row, 0)?, "%Y-%m-%dT%H:%M")?;
        let bucket = cursor.place(slot);
        if bucket.end < slot + SLOT {
            split_slots.insert(slot);
            continue;
        }
        add(bucket, read(row, 1)?);
    }

    let sql = format!(
        "SELECT {SECOND_SQL} AS second, {columns} FROM events {} \
         AND timestamp >= ? AND timestamp < ? GROUP BY second, {keys}",
        filter.where_sql()
    );
    let mut statement = conn.prepare(&sql)?;
    for slot in split_slots {
        let mut params = filter.params().to_vec();
        params.push(Value::Text(format_timestamp(&slot)));
        params.push(Value::Text(format_timestamp(&(slot + SLOT))));
        let mut rows = statement.query(params_from_iter(params))?;
        while let Some(row) = rows.next()? {
            let second = parse_time(text(row, 0)?, "%Y-%m-%dT%H:%M:%S")?;
            add(cursor.place(second), read(row, 1)?);
        }
    }
    Ok(())
}

/// Accumulates the cost rows per agent into the requested buckets, reading the events.
pub(crate) fn over_time(
    conn: &Connection,
    filter: &SqlFilter,
    query: &CostQuery,
) -> Result<Vec<CostBucket>, StoreError> {
    let mut buckets: BTreeMap<DateTime<Utc>, BucketSums> = BTreeMap::new();
    let mut cursor = BucketCursor::new(query.granularity, query.time_zone);
    let columns = format!("agent_id, {SUMS_SQL}");
    let read = |row: &Row<'_>, index: usize| {
        Ok((
            row.get::<_, String>(index)?,
            Sums::from_row(row, index + 1)?,
        ))
    };
    for_each_group(
        conn,
        filter,
        (&columns, "agent_id"),
        &mut cursor,
        read,
        |bucket, (agent, sums)| {
            buckets
                .entry(bucket.start)
                .or_insert_with(|| BucketSums::new(bucket.label.clone()))
                .add(&agent, &sums);
        },
    )?;
    buckets.into_values().map(BucketSums::into_bucket).collect()
}
