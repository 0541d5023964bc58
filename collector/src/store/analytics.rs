//! Cost analytics over the counted cost rows: the `cost_tracked` and `llm_response` events
//! that the [cost rule](super::cost_rule) counts.
//!
//! Every breakdown is a separate `GROUP BY` over the same rows inside one read
//! transaction, and every money sum is exact ([`PicoSum`]), so the per-agent, per-model
//! and per-bucket figures add up to the totals to the last pico-dollar.
//!
//! [`Store::cost_report`] reads the [rollups](super::rollups) through
//! [`super::rollup_report`], so its cost grows with the number of buckets, agents and
//! models in the range rather than with the number of events. `bySession` reads the
//! running session totals, most expensive first, and stops once the list is certain.
//! `bySessionOmitted` is `totals` minus the list, so it costs no further read.
//! [`Store::cost_report_from_events`] recomputes the same report from the events; the
//! tests use it to check the rollups, and the rollup path falls back to it for zones whose
//! bucket boundaries are not on whole minutes. Time buckets are computed in
//! [`super::buckets`].

use std::cmp::Reverse;
use std::collections::BTreeMap;

use agentlens_core::Usd;
use chrono_tz::Tz;
use rusqlite::{Connection, Row};
use serde::Serialize;

use super::cost_rule::COUNTED_COST_ROWS;
use super::filter::SqlFilter;
use super::tool_costs::{self, ToolCost};
use super::{buckets, PicoSum, Store, StoreError};

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
#[derive(Debug, Clone, Default, PartialEq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CostTotals {
    /// Exact sum of known costs.
    #[schema(schema_with = crate::openapi::schemas::exact_decimal)]
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
    pub(crate) unpriced: i64,
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

    /// Adds another group's sums.
    pub(crate) fn add(&mut self, other: &Sums) {
        self.cost.add(other.cost);
        self.input += other.input;
        self.output += other.output;
        self.cache_read += other.cache_read;
        self.cache_write += other.cache_write;
        self.events += other.events;
        self.unpriced += other.unpriced;
    }

    /// Subtracts another group's sums, a part of this group.
    fn subtract(&mut self, part: &Sums) {
        self.cost.0 -= part.cost.0;
        self.input -= part.input;
        self.output -= part.output;
        self.cache_read -= part.cache_read;
        self.cache_write -= part.cache_write;
        self.events -= part.events;
        self.unpriced -= part.unpriced;
    }

    pub(crate) fn into_totals(self) -> Result<CostTotals, StoreError> {
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
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AgentCost {
    /// Agent id.
    pub agent_id: String,
    /// Totals of the agent's cost rows.
    #[serde(flatten)]
    pub totals: CostTotals,
}

/// Costs of one model of one provider.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
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
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SessionCost {
    /// Session id.
    pub session_id: String,
    /// Totals of the session's cost rows.
    #[serde(flatten)]
    pub totals: CostTotals,
}

/// Costs of one time bucket.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CostBucket {
    /// Bucket label: the local start time for hours and days, in RFC 3339 (or with a
    /// `±hh:mm:ss` offset when the zone's offset then had seconds), `IYYY-Www` for weeks.
    /// A local hour that a clock change shortens starts at the change, and one it repeats
    /// right away is a single longer bucket. A clock that goes back at other than a whole
    /// hour, or by more than an hour, shows an hour twice with another hour between. Each
    /// of those stretches is a bucket of its own, so that label appears twice.
    pub bucket: String,
    /// Exact sum of known costs.
    #[schema(schema_with = crate::openapi::schemas::exact_decimal)]
    pub total_cost_usd: Usd,
    /// Cost rows.
    pub event_count: i64,
    /// Cost rows whose cost is unknown, which add nothing to `totalCostUsd` or `byAgent`.
    pub unpriced_count: i64,
    /// Cost per agent.
    #[schema(schema_with = crate::openapi::schemas::exact_decimal_map)]
    pub by_agent: BTreeMap<String, Usd>,
}

/// The body of `GET /api/analytics/costs`.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CostReport {
    /// Per agent, highest cost first.
    pub by_agent: Vec<AgentCost>,
    /// Per provider and model, highest cost first.
    pub by_model: Vec<ModelCost>,
    /// The 100 most expensive sessions, as in upstream AgentLens. Ties in cost are ordered
    /// by session id.
    pub by_session: Vec<SessionCost>,
    /// The sessions beyond the first 100, summed: `totals` minus the `bySession`
    /// entries. Its `eventCount` is 0 when `bySession` lists every session.
    pub by_session_omitted: CostTotals,
    /// Per tool that the range's tool and cost events name in `toolName`, highest cost
    /// first.
    // The report builders leave it empty, and `Store::cost_report` and
    // `Store::cost_report_from_events` fill it from `super::tool_costs`.
    pub by_tool: Vec<ToolCost>,
    /// Per time bucket, oldest first; buckets without rows are left out.
    pub over_time: Vec<CostBucket>,
    /// All cost rows in the range.
    pub totals: CostTotals,
}

/// Sessions listed in `bySession`.
pub(crate) const TOP_SESSIONS: usize = 100;

impl Store {
    /// Builds the cost report for a tenant from the rollups.
    ///
    /// # Errors
    ///
    /// Returns [`StoreError`] when a query fails or a sum leaves the decimal range.
    pub async fn cost_report(
        &self,
        tenant: &str,
        query: CostQuery,
    ) -> Result<CostReport, StoreError> {
        let tenant = tenant.to_owned();
        self.read(move |conn| {
            let mut report = match super::rollup_report::build(conn, &tenant, &query)? {
                Some(report) => report,
                None => build_report(conn, &event_filter(&tenant, &query), &query)?,
            };
            report.by_tool = tool_costs::by_tool(conn, &tenant, &query)?;
            Ok(report)
        })
        .await
    }

    /// Builds the cost report for a tenant by reading every counted event in the range.
    ///
    /// It returns the same report as [`Store::cost_report`], more slowly.
    ///
    /// # Errors
    ///
    /// Returns [`StoreError`] when a query fails or a sum leaves the decimal range.
    pub async fn cost_report_from_events(
        &self,
        tenant: &str,
        query: CostQuery,
    ) -> Result<CostReport, StoreError> {
        let filter = event_filter(tenant, &query);
        let tenant = tenant.to_owned();
        self.read(move |conn| {
            let mut report = build_report(conn, &filter, &query)?;
            report.by_tool = tool_costs::by_tool(conn, &tenant, &query)?;
            Ok(report)
        })
        .await
    }
}

/// Returns the filter selecting the counted cost rows of a report.
fn event_filter(tenant: &str, query: &CostQuery) -> SqlFilter {
    let mut filter = SqlFilter::for_tenant(tenant);
    filter.push(COUNTED_COST_ROWS, []);
    filter.at_least("timestamp", Some(&query.from));
    filter.at_most("timestamp", Some(&query.to));
    filter.eq("agent_id", query.agent_id.as_deref());
    filter
}

/// Sorts models by cost, highest first, then by provider and model.
pub(crate) fn sort_models(models: &mut [ModelCost]) {
    models.sort_by(|a, b| {
        (Reverse(a.totals.total_cost_usd), &a.provider, &a.model).cmp(&(
            Reverse(b.totals.total_cost_usd),
            &b.provider,
            &b.model,
        ))
    });
}

/// Builds `bySession` and `bySessionOmitted` from the listed sessions, best first, and
/// the totals of the range.
pub(crate) fn session_breakdown(
    listed: Vec<(String, Sums)>,
    totals: &Sums,
) -> Result<(Vec<SessionCost>, CostTotals), StoreError> {
    let mut rest = *totals;
    for (_, sums) in &listed {
        rest.subtract(sums);
    }
    let omitted = rest.into_totals()?;

    let by_session = listed
        .into_iter()
        .map(|(session_id, sums)| {
            Ok(SessionCost {
                session_id,
                totals: sums.into_totals()?,
            })
        })
        .collect::<Result<Vec<_>, StoreError>>()?;
    Ok((by_session, omitted))
}

/// Builds the report from the events; ties in cost are ordered by key.
pub(crate) fn build_report(
    conn: &Connection,
    filter: &SqlFilter,
    query: &CostQuery,
) -> Result<CostReport, StoreError> {
    let mut by_agent = Vec::new();
    for (keys, sums) in grouped(conn, filter, &["agent_id"])? {
        let [agent_id] = <[String; 1]>::try_from(keys).map_err(keys_error)?;
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
    for (keys, sums) in grouped(conn, filter, &["provider", "model"])? {
        let [provider, model] = <[String; 2]>::try_from(keys).map_err(keys_error)?;
        by_model.push(ModelCost {
            model,
            provider,
            totals: sums.into_totals()?,
        });
    }
    sort_models(&mut by_model);

    let mut sessions = Vec::new();
    for (keys, sums) in grouped(conn, filter, &["session_id"])? {
        let [session_id] = <[String; 1]>::try_from(keys).map_err(keys_error)?;
        sessions.push((session_id, sums));
    }
    sessions.sort_by(|(a_id, a), (b_id, b)| (Reverse(a.cost), a_id).cmp(&(Reverse(b.cost), b_id)));
    sessions.truncate(TOP_SESSIONS);

    let totals = grouped(conn, filter, &[])?
        .pop()
        .map(|(_, sums)| sums)
        .unwrap_or_default();
    let (by_session, by_session_omitted) = session_breakdown(sessions, &totals)?;

    Ok(CostReport {
        by_agent,
        by_model,
        by_session,
        by_session_omitted,
        by_tool: Vec::new(),
        over_time: buckets::over_time(conn, filter, query)?,
        totals: totals.into_totals()?,
    })
}

fn keys_error(keys: Vec<String>) -> StoreError {
    StoreError::Corrupt(format!("unexpected group key {keys:?}"))
}

/// Runs one `GROUP BY` over the cost rows; text keys come first in each result.
fn grouped(
    conn: &Connection,
    filter: &SqlFilter,
    keys: &[&str],
) -> Result<Vec<(Vec<String>, Sums)>, StoreError> {
    let key_list = keys.join(", ");
    let select = if keys.is_empty() {
        String::new()
    } else {
        format!("{key_list}, ")
    };
    let group = if keys.is_empty() {
        String::new()
    } else {
        format!("GROUP BY {key_list}")
    };
    let sql = format!(
        "SELECT {select}{SUMS_SQL} FROM events {} {group}",
        filter.where_sql()
    );

    let mut statement = conn.prepare(&sql)?;
    let rows = statement.query_map(rusqlite::params_from_iter(filter.params()), |row| {
        let values = (0..keys.len())
            .map(|i| row.get(i))
            .collect::<rusqlite::Result<Vec<String>>>()?;
        Ok((values, Sums::from_row(row, keys.len())?))
    })?;
    Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
}
