//! `GET /api/events` for one session: the page is read through `session_events` and the
//! tail that ingest has not indexed yet ([`super::session_index`]), in one statement.

use rusqlite::types::Value;
use rusqlite::Connection;

use super::events::{StoredEvent, COLUMNS};
use super::filter::SqlFilter;
use super::session_index::TAIL;
use super::{Page, Paging, StoreError};

/// The inclusive time window of an event listing.
#[derive(Debug, Clone, Default)]
pub(crate) struct TimeWindow {
    /// Earliest timestamp text.
    pub(crate) from: Option<String>,
    /// Latest timestamp text.
    pub(crate) to: Option<String>,
}

impl TimeWindow {
    /// Returns the window's conditions on `column`.
    pub(crate) fn filter(&self, column: &str) -> SqlFilter {
        let mut filter = SqlFilter::default();
        filter.at_least(column, self.from.as_deref());
        filter.at_most(column, self.to.as_deref());
        filter
    }
}

/// The selection of an event listing, besides the tenant and the session.
#[derive(Debug)]
pub(crate) struct EventQuery {
    /// Conditions on columns that only `events` has.
    pub(crate) conditions: SqlFilter,
    /// The time window.
    pub(crate) window: TimeWindow,
    /// Oldest first instead of newest first.
    pub(crate) ascending: bool,
}

impl EventQuery {
    /// Returns the SQL sort direction.
    pub(crate) fn direction(&self) -> &'static str {
        if self.ascending {
            "ASC"
        } else {
            "DESC"
        }
    }
}

/// Reads a page of the events of one session of `tenant` that match `query`, ordered by
/// timestamp and then `seq`.
///
/// The indexed part walks `session_events` in key order, so a page costs what it skips and
/// returns, however long the session. Each of the two parts stops after `offset + limit`
/// keys, and SQLite merges them.
pub(crate) fn session_page(
    conn: &Connection,
    tenant: &str,
    session: &str,
    query: &EventQuery,
    paging: Paging,
) -> Result<Page<StoredEvent>, StoreError> {
    let direction = query.direction();
    let conditions = query.conditions.and_sql();
    let indexed_window = query.window.filter("s.timestamp").and_sql();
    let tail_window = query.window.filter("timestamp").and_sql();
    // The columns named in `conditions` exist in `events` alone, so they need no prefix.
    let indexed_from = if query.conditions.is_empty() {
        "FROM session_events s"
    } else {
        "FROM session_events s CROSS JOIN events e ON e.seq = s.seq"
    };
    let count_sql = format!(
        "SELECT (SELECT COUNT(*) {indexed_from} \
         WHERE s.tenant_id = ? AND s.session_id = ?{indexed_window}{conditions}) \
         + (SELECT COUNT(*) FROM events NOT INDEXED \
         WHERE {TAIL} AND tenant_id = ? AND session_id = ?{tail_window}{conditions})"
    );
    let total: i64 = conn.query_row(
        &count_sql,
        rusqlite::params_from_iter(part_params(tenant, session, query, None)),
        |row| row.get(0),
    )?;

    // The parts select keys only. Rows that `offset` skips are then read only when a
    // condition needs them, and the page's rows are read once, by `seq`.
    let rows_each = paging.offset.saturating_add(paging.limit);
    let sql = format!(
        "SELECT {COLUMNS} FROM events WHERE seq IN (SELECT sort_seq FROM (\
         SELECT * FROM (SELECT s.timestamp AS sort_timestamp, s.seq AS sort_seq \
         {indexed_from} WHERE s.tenant_id = ? AND s.session_id = ?{indexed_window}{conditions} \
         ORDER BY s.timestamp {direction}, s.seq {direction} LIMIT ?) \
         UNION ALL SELECT * FROM (SELECT timestamp, seq FROM events NOT INDEXED \
         WHERE {TAIL} AND tenant_id = ? AND session_id = ?{tail_window}{conditions} \
         ORDER BY timestamp {direction}, seq {direction} LIMIT ?) \
         ORDER BY sort_timestamp {direction}, sort_seq {direction} LIMIT ? OFFSET ?)) \
         ORDER BY timestamp {direction}, seq {direction}"
    );
    let mut params = part_params(tenant, session, query, Some(rows_each));
    params.push(paging.limit.into());
    params.push(paging.offset.into());
    let mut statement = conn.prepare(&sql)?;
    let rows = statement.query_map(rusqlite::params_from_iter(params), StoredEvent::from_row)?;
    let items = rows.collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(Page::new(items, paging.offset, total))
}

/// Returns the parameters of the indexed part and then of the tail: tenant, session, the
/// window, the conditions and, when given, the row limit of the part.
fn part_params(tenant: &str, session: &str, query: &EventQuery, limit: Option<i64>) -> Vec<Value> {
    let mut part: Vec<Value> = vec![
        Value::Text(tenant.to_owned()),
        Value::Text(session.to_owned()),
    ];
    part.extend_from_slice(query.window.filter("timestamp").params());
    part.extend_from_slice(query.conditions.params());
    part.extend(limit.map(Value::from));
    [part.clone(), part].concat()
}
