//! Time buckets of the cost report.
//!
//! [`bucket_of`] and [`next_bucket_start`] place instants in hours, days and ISO weeks on
//! the clock of the requested IANA zone, for both the rollup report and the recomputation
//! from events. The recomputation ([`over_time`]) groups the cost rows in SQL into
//! 15-minute UTC slots per agent, because every current zone offset is a multiple of 15
//! minutes, and assigns each slot to its bucket in Rust, so any zone works and sums stay
//! exact.

use std::collections::BTreeMap;

use chrono::{DateTime, Datelike, Duration, NaiveDateTime, SecondsFormat, TimeZone, Timelike, Utc};
use chrono_tz::Tz;
use rusqlite::Connection;

use super::analytics::{CostBucket, CostQuery, Granularity, Sums, SUMS_SQL};
use super::filter::SqlFilter;
use super::{PicoSum, StoreError};

/// Running sums of one bucket.
#[derive(Debug, Default)]
pub(crate) struct BucketSums {
    label: String,
    cost: PicoSum,
    pub(crate) events: i64,
    unpriced: i64,
    by_agent: BTreeMap<String, PicoSum>,
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
        match self.by_agent.get_mut(agent) {
            Some(agent_cost) => agent_cost.add(cost),
            None => {
                self.by_agent.insert(agent.to_owned(), cost);
            }
        }
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
pub(crate) const SLOT_SQL: &str = "substr(timestamp, 1, 14) || \
    printf('%02d', CAST(substr(timestamp, 15, 2) AS INTEGER) / 15 * 15)";

/// Parses a slot start written by [`SLOT_SQL`].
pub(crate) fn parse_slot(slot: &str) -> Result<DateTime<Utc>, StoreError> {
    NaiveDateTime::parse_from_str(slot, "%Y-%m-%dT%H:%M")
        .map(|start| start.and_utc())
        .map_err(|error| StoreError::Corrupt(format!("timestamp slot {slot:?}: {error}")))
}

/// Accumulates 15-minute UTC slots per agent into the requested buckets, reading the events.
pub(crate) fn over_time(
    conn: &Connection,
    filter: &SqlFilter,
    query: &CostQuery,
) -> Result<Vec<CostBucket>, StoreError> {
    let sql = format!(
        "SELECT {SLOT_SQL} AS slot, agent_id, {SUMS_SQL} FROM events {} GROUP BY slot, agent_id",
        filter.where_sql()
    );
    let mut statement = conn.prepare(&sql)?;
    let rows = statement.query_map(rusqlite::params_from_iter(filter.params()), |row| {
        Ok((
            row.get::<_, String>(0)?,
            row.get::<_, String>(1)?,
            Sums::from_row(row, 2)?,
        ))
    })?;

    let mut buckets: BTreeMap<DateTime<Utc>, BucketSums> = BTreeMap::new();
    for row in rows {
        let (slot, agent, sums) = row?;
        let slot_start = parse_slot(&slot)?;
        let (start, label) = bucket_of(slot_start, query.granularity, query.time_zone);
        buckets
            .entry(start)
            .or_insert_with(|| BucketSums::new(label))
            .add(&agent, &sums);
    }
    buckets.into_values().map(BucketSums::into_bucket).collect()
}

/// Returns the start of the bucket after the one starting at `start`.
///
/// Hours are 60 minutes, and days and weeks follow the zone's calendar, so a day with a
/// daylight saving change lasts 23 or 25 hours.
pub(crate) fn next_bucket_start(
    start: DateTime<Utc>,
    granularity: Granularity,
    zone: Tz,
) -> DateTime<Utc> {
    let nominal = match granularity {
        Granularity::Hour => return start + Duration::hours(1),
        Granularity::Day => Duration::days(1),
        Granularity::Week => Duration::weeks(1),
    };
    // A nominal day can end before the next local midnight (a 25-hour day), so step on
    // by an hour until the bucket changes.
    let mut probe = start + nominal;
    loop {
        let (next, _) = bucket_of(probe, granularity, zone);
        if next > start {
            return next;
        }
        probe += Duration::hours(1);
    }
}

/// Returns the start instant and label of the bucket that contains `instant`.
pub(crate) fn bucket_of(
    instant: DateTime<Utc>,
    granularity: Granularity,
    zone: Tz,
) -> (DateTime<Utc>, String) {
    let local = instant.with_timezone(&zone);
    match granularity {
        Granularity::Hour => {
            let start = instant - Duration::minutes(i64::from(local.minute()));
            (
                start,
                start
                    .with_timezone(&zone)
                    .to_rfc3339_opts(SecondsFormat::Secs, true),
            )
        }
        Granularity::Day => {
            let start = local_midnight(local.date_naive(), zone).unwrap_or(instant);
            (
                start,
                start
                    .with_timezone(&zone)
                    .to_rfc3339_opts(SecondsFormat::Secs, true),
            )
        }
        Granularity::Week => {
            let days_since_monday = i64::from(local.weekday().num_days_from_monday());
            let monday = local.date_naive() - Duration::days(days_since_monday);
            let start = local_midnight(monday, zone).unwrap_or(instant);
            let week = local.iso_week();
            (start, format!("{}-W{:02}", week.year(), week.week()))
        }
    }
}

/// Returns the first instant of a local date; `None` only if the zone skips that whole day.
pub(crate) fn local_midnight(date: chrono::NaiveDate, zone: Tz) -> Option<DateTime<Utc>> {
    // A zone may skip midnight when its clocks jump forward (Sao Paulo until 2019, Santiago,
    // Havana, Beirut, Cairo), so try the following minutes. Midnight exists on almost every
    // day, so the loop nearly always stops at once.
    (0..24 * 60).find_map(|minute| {
        let time = date.and_hms_opt(minute / 60, minute % 60, 0)?;
        zone.from_local_datetime(&time)
            .earliest()
            .map(|start| start.with_timezone(&Utc))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> DateTime<Utc> {
        text.parse().unwrap()
    }

    #[test]
    fn utc_hour_and_day_labels() {
        let instant = at("2026-02-07T10:45:00Z");
        assert_eq!(
            bucket_of(instant, Granularity::Hour, Tz::UTC).1,
            "2026-02-07T10:00:00Z"
        );
        assert_eq!(
            bucket_of(instant, Granularity::Day, Tz::UTC).1,
            "2026-02-07T00:00:00Z"
        );
    }

    #[test]
    fn iso_week_label_crosses_year() {
        let instant = at("2027-01-01T12:00:00Z");
        let (start, label) = bucket_of(instant, Granularity::Week, Tz::UTC);
        assert_eq!(label, "2026-W53");
        assert_eq!(start, at("2026-12-28T00:00:00Z"));
    }

    #[test]
    fn day_bucket_follows_time_zone() {
        let instant = at("2026-02-07T20:00:00Z");
        let (_, label) = bucket_of(instant, Granularity::Day, chrono_tz::Asia::Kolkata);
        assert_eq!(label, "2026-02-08T00:00:00+05:30");
    }

    #[test]
    fn hour_bucket_with_half_hour_offset() {
        let instant = at("2026-02-07T10:15:00Z");
        let (start, label) = bucket_of(instant, Granularity::Hour, chrono_tz::Asia::Kolkata);
        assert_eq!(label, "2026-02-07T15:00:00+05:30");
        assert_eq!(start, at("2026-02-07T09:30:00Z"));
    }
}
