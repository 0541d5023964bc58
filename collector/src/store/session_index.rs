//! The session index: the events of each session, listed in `session_events` after the
//! fact (migration 23).
//!
//! Ingest adds no per-event entry to a session index. A session of a commit with 50
//! sessions would otherwise rewrite two or three leaves of that index per commit, about
//! two thirds of the pages the commit writes (`BENCHMARKS.md`). Instead:
//!
//! - `session_events` contains `(tenant_id, session_id, timestamp, seq)` for every event up
//!   to `session_index_state.indexed_through`;
//! - the events after it form the tail, which readers scan by `seq`;
//! - an ingest transaction that leaves at least [`TAIL_LIMIT`] events in the tail adds
//!   them all at once, sorted by key, so each session's leaf changes once for many
//!   commits. The writer also indexes the tail when it has had no job for a moment, so a
//!   collector under light load keeps almost no tail.
//!
//! Every statement that reads a session's events reads both parts in one snapshot, so an
//! event is found exactly once whether or not it has been indexed yet.

use rusqlite::{params, Connection};

/// How many events the tail may hold before an ingest transaction indexes them.
pub(crate) const TAIL_LIMIT: i64 = 65_536;

/// How many bytes of payload and metadata text the tail may hold before an ingest
/// transaction indexes it. Readers scan the tail's rows, so a tail of large events is
/// indexed sooner than one of small events.
pub(crate) const TAIL_BYTES: u64 = 16 * 1024 * 1024;

/// The condition on `events` that selects the rows not indexed yet. Statements pair it with
/// `FROM events NOT INDEXED`, so SQLite reads those rows as a range of rowids instead of
/// walking an index of the whole tenant.
pub(crate) const TAIL: &str = "seq > (SELECT indexed_through FROM session_index_state)";

/// Source of a session's events in a statement: the table, or the old index.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) enum SessionRows {
    /// From migration 23 on: through `session_events` and the tail.
    #[default]
    Indexed,
    /// Before migration 23, through the index on the `session_id` column.
    EventColumn,
}

impl SessionRows {
    /// Returns an SQL condition on `events` that selects the rows of the session named by
    /// parameter `?{session}` of the tenant named by parameter `?{tenant}`.
    pub(crate) fn condition(self, tenant: usize, session: usize) -> String {
        match self {
            SessionRows::Indexed => format!("seq IN ({})", seqs_sql(tenant, session)),
            SessionRows::EventColumn => {
                format!("tenant_id = ?{tenant} AND session_id = ?{session}")
            }
        }
    }
}

/// Returns a query of the `seq` of every event of the session named by parameter
/// `?{session}` of the tenant named by parameter `?{tenant}`.
fn seqs_sql(tenant: usize, session: usize) -> String {
    format!(
        "SELECT seq FROM session_events WHERE tenant_id = ?{tenant} AND session_id = ?{session} \
         UNION ALL SELECT seq FROM events NOT INDEXED \
         WHERE {TAIL} AND tenant_id = ?{tenant} AND session_id = ?{session}"
    )
}

/// Indexes the tail when the events up to `last_seq` leave at least [`TAIL_LIMIT`] in it,
/// or when its events hold `tail_bytes` of text, at least [`TAIL_BYTES`]. Returns true when
/// a tail remains.
///
/// # Errors
///
/// Returns [`rusqlite::Error`] when a statement fails.
pub(crate) fn index_long_tail(
    conn: &Connection,
    last_seq: i64,
    tail_bytes: u64,
) -> rusqlite::Result<bool> {
    let through = indexed_through(conn)?;
    if last_seq <= through {
        return Ok(false);
    }
    if last_seq - through < TAIL_LIMIT && tail_bytes < TAIL_BYTES {
        return Ok(true);
    }
    index_range(conn, through, last_seq)?;
    Ok(false)
}

/// Indexes every event of the tail and returns how many there were.
///
/// # Errors
///
/// Returns [`rusqlite::Error`] when a statement fails.
pub(crate) fn index_tail(conn: &Connection) -> rusqlite::Result<usize> {
    let through = indexed_through(conn)?;
    let last = last_seq(conn)?;
    if last <= through {
        return Ok(0);
    }
    index_range(conn, through, last)
}

/// Returns true when some event is not in `session_events` yet.
///
/// # Errors
///
/// Returns [`rusqlite::Error`] when a statement fails.
pub(crate) fn has_tail(conn: &Connection) -> rusqlite::Result<bool> {
    Ok(last_seq(conn)? > indexed_through(conn)?)
}

/// Returns the largest stored `seq`, or 0 for a file without events.
fn last_seq(conn: &Connection) -> rusqlite::Result<i64> {
    conn.query_row("SELECT COALESCE(MAX(seq), 0) FROM events", [], |row| {
        row.get(0)
    })
}

/// Returns the largest `seq` whose event is in `session_events`.
fn indexed_through(conn: &Connection) -> rusqlite::Result<i64> {
    conn.prepare_cached("SELECT indexed_through FROM session_index_state")?
        .query_row([], |row| row.get(0))
}

/// Adds the events with `through < seq <= last` to `session_events` in key order, and
/// moves `indexed_through` to `last`.
fn index_range(conn: &Connection, through: i64, last: i64) -> rusqlite::Result<usize> {
    let added = conn
        .prepare_cached(
            "INSERT INTO session_events (tenant_id, session_id, timestamp, seq) \
             SELECT tenant_id, session_id, timestamp, seq FROM events \
             WHERE seq > ?1 AND seq <= ?2 \
             ORDER BY tenant_id, session_id, timestamp, seq",
        )?
        .execute(params![through, last])?;
    conn.prepare_cached("UPDATE session_index_state SET indexed_through = ?1")?
        .execute([last])?;
    tracing::trace!(events = added, through = last, "indexed the session tail");
    Ok(added)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Returns a database with the columns of `events` that the index reads, migrated
    /// by migration 23 after `count` events alternating between two sessions.
    fn store_with_events(count: i64) -> Connection {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch(
            "CREATE TABLE events (seq INTEGER PRIMARY KEY, tenant_id TEXT NOT NULL, \
             session_id TEXT NOT NULL, timestamp TEXT NOT NULL);
             CREATE INDEX events_tenant_timestamp ON events (tenant_id, timestamp);
             CREATE INDEX events_tenant_session ON events (tenant_id, session_id, timestamp);",
        )
        .unwrap();
        insert_events(&conn, 1, count);
        conn.execute_batch(include_str!("migrations/0023_session_index_table.sql"))
            .unwrap();
        conn
    }

    /// Inserts events `first..=last` of tenant `t`, alternating between sessions.
    fn insert_events(conn: &Connection, first: i64, last: i64) {
        conn.execute(
            "WITH RECURSIVE n(value) AS (SELECT ?1 UNION ALL SELECT value + 1 FROM n \
             WHERE value < ?2) \
             INSERT INTO events SELECT value, 't', 's' || (value % 2), \
             '2026-11-01T10:00:00.000Z' FROM n",
            [first, last],
        )
        .unwrap();
    }

    fn session_seqs(conn: &Connection, session: &str) -> Vec<i64> {
        let sql = format!(
            "SELECT seq FROM events WHERE {} ORDER BY seq",
            SessionRows::Indexed.condition(1, 2)
        );
        let mut statement = conn.prepare(&sql).unwrap();
        let rows = statement
            .query_map(params!["t", session], |row| row.get(0))
            .unwrap();
        rows.collect::<rusqlite::Result<_>>().unwrap()
    }

    #[test]
    fn short_tail_waits_for_limit() {
        let conn = store_with_events(3);
        insert_events(&conn, 4, TAIL_LIMIT + 2);
        assert!(index_long_tail(&conn, TAIL_LIMIT + 2, 0).unwrap());
        assert_eq!(indexed_through(&conn).unwrap(), 3);

        insert_events(&conn, TAIL_LIMIT + 3, TAIL_LIMIT + 3);
        assert!(!index_long_tail(&conn, TAIL_LIMIT + 3, 0).unwrap());
        assert_eq!(indexed_through(&conn).unwrap(), TAIL_LIMIT + 3);
        let entries: i64 = conn
            .query_row("SELECT COUNT(*) FROM session_events", [], |row| row.get(0))
            .unwrap();
        assert_eq!(entries, TAIL_LIMIT + 3);
    }

    #[test]
    fn tail_of_many_bytes_is_indexed_before_limit() {
        let conn = store_with_events(3);
        insert_events(&conn, 4, 10);
        assert!(index_long_tail(&conn, 10, TAIL_BYTES - 1).unwrap());
        assert_eq!(indexed_through(&conn).unwrap(), 3);

        assert!(!index_long_tail(&conn, 10, TAIL_BYTES).unwrap());
        assert_eq!(indexed_through(&conn).unwrap(), 10);
        assert!(!index_long_tail(&conn, 10, TAIL_BYTES).unwrap());
    }

    #[test]
    fn session_rows_read_both_parts_once() {
        let conn = store_with_events(10);
        assert_eq!(index_tail(&conn).unwrap(), 0);
        insert_events(&conn, 11, 11);
        conn.execute_batch("INSERT INTO events VALUES (12, 'u', 's1', '2026-11-01T10:00:00.000Z')")
            .unwrap();
        assert_eq!(session_seqs(&conn, "s1"), [1, 3, 5, 7, 9, 11]);
        assert_eq!(index_tail(&conn).unwrap(), 2);
        assert_eq!(session_seqs(&conn, "s1"), [1, 3, 5, 7, 9, 11]);
        assert_eq!(index_tail(&conn).unwrap(), 0);
    }

    #[test]
    fn tail_is_read_by_seq_range() {
        let conn = store_with_events(4);
        let sql = format!(
            "EXPLAIN QUERY PLAN SELECT seq FROM events WHERE {}",
            SessionRows::Indexed.condition(1, 2)
        );
        let mut statement = conn.prepare(&sql).unwrap();
        let plan: Vec<String> = statement
            .query_map(params!["t", "s1"], |row| row.get(3))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        assert!(
            plan.iter()
                .any(|step| step.contains("SEARCH events USING INTEGER PRIMARY KEY (rowid>?)")),
            "{plan:#?}"
        );
    }
}
