//! Cost analytics over the cost rows: `cost_tracked` and `llm_response` events.
//!
//! Every breakdown is a separate `GROUP BY` over the same rows inside one read
//! transaction, and every money sum is exact ([`PicoSum`]), so the per-agent, per-model
//! and per-bucket figures add up to the totals to the last pico-dollar.
//!
//! Time buckets are computed in Rust so that any IANA time zone works: SQL groups the rows
//! into 15-minute UTC slots (every current zone offset is a multiple of 15 minutes), and
//! each slot is then assigned to its hour, day or ISO week in the requested zone.

use std::collections::BTreeMap;

use agentlens_core::Usd;
use chrono::{DateTime, Datelike, Duration, NaiveDateTime, SecondsFormat, TimeZone, Timelike, Utc};
use chrono_tz::Tz;
use rusqlite::{Connection, Row};
use serde::Serialize;

use super::filter::SqlFilter;
use super::{PicoSum, Store, StoreError};

/// Partial sums selected by every cost query, read by [`Sums::from_row`].
pub(crate) const SUMS_SQL: &str = "COALESCE(SUM(cost_pico / 1000000), 0), \
    COALESCE(SUM(cost_pico % 1000000), 0), COALESCE(SUM(input_tokens), 0), \
    COALESCE(SUM(output_tokens), 0), COALESCE(SUM(cache_read_tokens), 0), \
    COALESCE(SUM(cache_write_5m_tokens + cache_write_1h_tokens), 0), COUNT(*), \
    COALESCE(SUM(cost_pico IS NULL), 0)";

/// Size of the time buckets of `overTime`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Granularity {
    /// Clock hours.
    Hour,
    /// Calendar days.
    Day,
    /// ISO weeks, starting on Monday.
    Week,
}

/// Parameters of a cost report; timestamps are stored-format text.
#[derive(Debug, Clone)]
pub struct CostQuery {
    /// Earliest event timestamp, inclusive.
    pub from: String,
    /// Latest event timestamp, inclusive.
    pub to: String,
    /// Only this agent's rows, when set.
    pub agent_id: Option<String>,
    /// Bucket size of `overTime`.
    pub granularity: Granularity,
    /// Zone whose clock defines hours, days and weeks.
    pub time_zone: Tz,
}

/// Totals of a group of cost rows.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CostTotals {
    /// Exact sum of known costs.
    pub total_cost_usd: Usd,
    /// Input tokens, cache reads and writes included.
    pub total_input_tokens: i64,
    /// Output tokens.
    pub total_output_tokens: i64,
    /// Input plus output tokens.
    pub total_tokens: i64,
    /// Cache-read tokens.
    pub cache_read_tokens: i64,
    /// Cache-write tokens.
    pub cache_write_tokens: i64,
    /// Cost rows.
    pub event_count: i64,
    /// Cost rows whose cost is unknown; they add nothing to `totalCostUsd`.
    pub unpriced_count: i64,
}

/// Raw partial sums of one group, before conversion to dollars.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Sums {
    pub(crate) cost: PicoSum,
    input: i64,
    output: i64,
    cache_read: i64,
    cache_write: i64,
    pub(crate) events: i64,
    unpriced: i64,
}

impl Sums {
    /// Reads the columns of [`SUMS_SQL`] starting at `index`.
    pub(crate) fn from_row(row: &Row<'_>, index: usize) -> rusqlite::Result<Sums> {
        Ok(Sums {
            cost: PicoSum::from_row(row, index)?,
            input: row.get(index + 2)?,
            output: row.get(index + 3)?,
            cache_read: row.get(index + 4)?,
            cache_write: row.get(index + 5)?,
            events: row.get(index + 6)?,
            unpriced: row.get(index + 7)?,
        })
    }

    fn into_totals(self) -> Result<CostTotals, StoreError> {
        Ok(CostTotals {
            total_cost_usd: self.cost.to_usd()?,
            total_input_tokens: self.input,
            total_output_tokens: self.output,
            total_tokens: self.input.saturating_add(self.output),
            cache_read_tokens: self.cache_read,
            cache_write_tokens: self.cache_write,
            event_count: self.events,
            unpriced_count: self.unpriced,
        })
    }
}

/// Costs of one agent.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AgentCost {
    /// Agent id.
    pub agent_id: String,
    /// Totals of the agent's cost rows.
    #[serde(flatten)]
    pub totals: CostTotals,
}

/// Costs of one model of one provider.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ModelCost {
    /// Model id.
    pub model: String,
    /// Provider name.
    pub provider: String,
    /// Totals of the model's cost rows.
    #[serde(flatten)]
    pub totals: CostTotals,
}

/// Costs of one session.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SessionCost {
    /// Session id.
    pub session_id: String,
    /// Totals of the session's cost rows.
    #[serde(flatten)]
    pub totals: CostTotals,
}

/// Costs of one time bucket.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CostBucket {
    /// Bucket label: RFC 3339 start time for hours and days, `IYYY-Www` for weeks.
    pub bucket: String,
    /// Exact sum of known costs.
    pub total_cost_usd: Usd,
    /// Cost rows.
    pub event_count: i64,
    /// Cost per agent.
    pub by_agent: BTreeMap<String, Usd>,
}

/// The body of `GET /api/analytics/costs`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CostReport {
    /// Per agent, highest cost first.
    pub by_agent: Vec<AgentCost>,
    /// Per provider and model, highest cost first.
    pub by_model: Vec<ModelCost>,
    /// The 100 most expensive sessions.
    pub by_session: Vec<SessionCost>,
    /// Per time bucket, oldest first; buckets without rows are left out.
    pub over_time: Vec<CostBucket>,
    /// All cost rows in the range.
    pub totals: CostTotals,
}

/// Sessions listed in `bySession`.
const TOP_SESSIONS: usize = 100;

impl Store {
    /// Builds the cost report for a tenant.
    ///
    /// # Errors
    ///
    /// Returns [`StoreError`] when a query fails or a sum leaves the decimal range.
    pub async fn cost_report(&self, tenant: &str, query: CostQuery) -> Result<CostReport, StoreError> {
        let mut filter = SqlFilter::for_tenant(tenant);
        filter.push("cost_source IS NOT NULL", []);
        filter.at_least("timestamp", Some(&query.from));
        filter.at_most("timestamp", Some(&query.to));
        filter.eq("agent_id", query.agent_id.as_deref());

        self.read(move |conn| {
            // One transaction gives every breakdown the same snapshot.
            let transaction = conn.transaction()?;
            let report = build_report(&transaction, &filter, &query)?;
            transaction.commit()?;
            Ok(report)
        })
        .await
    }
}

fn build_report(conn: &Connection, filter: &SqlFilter, query: &CostQuery) -> Result<CostReport, StoreError> {
    let mut by_agent = Vec::new();
    for (keys, sums) in grouped(conn, filter, &["agent_id"])? {
        let [agent_id] = <[String; 1]>::try_from(keys).map_err(keys_error)?;
        by_agent.push(AgentCost { agent_id, totals: sums.into_totals()? });
    }
    by_agent.sort_by(|a, b| b.totals.total_cost_usd.cmp(&a.totals.total_cost_usd));

    let mut by_model = Vec::new();
    for (keys, sums) in grouped(conn, filter, &["provider", "model"])? {
        let [provider, model] = <[String; 2]>::try_from(keys).map_err(keys_error)?;
        by_model.push(ModelCost { model, provider, totals: sums.into_totals()? });
    }
    by_model.sort_by(|a, b| b.totals.total_cost_usd.cmp(&a.totals.total_cost_usd));

    let mut by_session = Vec::new();
    for (keys, sums) in grouped(conn, filter, &["session_id"])? {
        let [session_id] = <[String; 1]>::try_from(keys).map_err(keys_error)?;
        by_session.push(SessionCost { session_id, totals: sums.into_totals()? });
    }
    by_session.sort_by(|a, b| b.totals.total_cost_usd.cmp(&a.totals.total_cost_usd));
    by_session.truncate(TOP_SESSIONS);

    let totals = grouped(conn, filter, &[])?
        .pop()
        .map(|(_, sums)| sums)
        .unwrap_or_default()
        .into_totals()?;

    Ok(CostReport {
        by_agent,
        by_model,
        by_session,
        over_time: over_time(conn, filter, query)?,
        totals,
    })
}

fn keys_error(keys: Vec<String>) -> StoreError {
    StoreError::Corrupt(format!("unexpected group key {keys:?}"))
}

/// Runs one `GROUP BY` over the cost rows; text keys come first in each result.
fn grouped(conn: &Connection, filter: &SqlFilter, keys: &[&str]) -> Result<Vec<(Vec<String>, Sums)>, StoreError> {
    let key_list = keys.join(", ");
    let select = if keys.is_empty() { String::new() } else { format!("{key_list}, ") };
    let group = if keys.is_empty() { String::new() } else { format!("GROUP BY {key_list}") };
    let sql = format!("SELECT {select}{SUMS_SQL} FROM events {} {group}", filter.where_sql());

    let mut statement = conn.prepare(&sql)?;
    let rows = statement.query_map(rusqlite::params_from_iter(filter.params()), |row| {
        let values = (0..keys.len()).map(|i| row.get(i)).collect::<rusqlite::Result<Vec<String>>>()?;
        Ok((values, Sums::from_row(row, keys.len())?))
    })?;
    Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
}

/// Accumulates 15-minute UTC slots per agent into the requested buckets.
fn over_time(conn: &Connection, filter: &SqlFilter, query: &CostQuery) -> Result<Vec<CostBucket>, StoreError> {
    let slot = "substr(timestamp, 1, 14) || \
        printf('%02d', CAST(substr(timestamp, 15, 2) AS INTEGER) / 15 * 15)";
    let sql = format!(
        "SELECT {slot} AS slot, agent_id, {SUMS_SQL} FROM events {} GROUP BY slot, agent_id",
        filter.where_sql()
    );
    let mut statement = conn.prepare(&sql)?;
    let rows = statement.query_map(rusqlite::params_from_iter(filter.params()), |row| {
        Ok((row.get::<_, String>(0)?, row.get::<_, String>(1)?, Sums::from_row(row, 2)?))
    })?;

    let mut buckets: BTreeMap<DateTime<Utc>, (String, PicoSum, i64, BTreeMap<String, PicoSum>)> =
        BTreeMap::new();
    for row in rows {
        let (slot, agent, sums) = row?;
        let slot_start = NaiveDateTime::parse_from_str(&slot, "%Y-%m-%dT%H:%M")
            .map_err(|error| StoreError::Corrupt(format!("timestamp slot {slot:?}: {error}")))?
            .and_utc();
        let (start, label) = bucket_of(slot_start, query.granularity, query.time_zone);
        let entry = buckets.entry(start).or_insert_with(|| (label, PicoSum::default(), 0, BTreeMap::new()));
        entry.1.add(sums.cost);
        entry.2 += sums.events;
        entry.3.entry(agent).or_default().add(sums.cost);
    }

    buckets
        .into_values()
        .map(|(bucket, cost, event_count, agents)| {
            let by_agent = agents
                .into_iter()
                .map(|(agent, cost)| Ok((agent, cost.to_usd()?)))
                .collect::<Result<BTreeMap<_, _>, StoreError>>()?;
            Ok(CostBucket { bucket, total_cost_usd: cost.to_usd()?, event_count, by_agent })
        })
        .collect()
}

/// Returns the start instant and label of the bucket that contains `instant`.
pub(crate) fn bucket_of(instant: DateTime<Utc>, granularity: Granularity, zone: Tz) -> (DateTime<Utc>, String) {
    let local = instant.with_timezone(&zone);
    match granularity {
        Granularity::Hour => {
            let start = instant - Duration::minutes(i64::from(local.minute()));
            (start, start.with_timezone(&zone).to_rfc3339_opts(SecondsFormat::Secs, true))
        }
        Granularity::Day => {
            let start = local_midnight(local.date_naive(), zone).unwrap_or(instant);
            (start, start.with_timezone(&zone).to_rfc3339_opts(SecondsFormat::Secs, true))
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
fn local_midnight(date: chrono::NaiveDate, zone: Tz) -> Option<DateTime<Utc>> {
    // A zone may skip midnight when its clocks jump forward, so try the following hours.
    (0..24).find_map(|hour| {
        let time = date.and_hms_opt(hour, 0, 0)?;
        zone.from_local_datetime(&time).earliest().map(|start| start.with_timezone(&Utc))
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
        assert_eq!(bucket_of(instant, Granularity::Hour, Tz::UTC).1, "2026-02-07T10:00:00Z");
        assert_eq!(bucket_of(instant, Granularity::Day, Tz::UTC).1, "2026-02-07T00:00:00Z");
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
