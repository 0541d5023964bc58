//! The Rust step of migration 14, which removes AUTOINCREMENT from `events.seq`.
//!
//! With AUTOINCREMENT, every insert statement on `events` reads the table's row of
//! `sqlite_sequence` and writes it back, one more B-tree write per ingested event. A plain
//! `INTEGER PRIMARY KEY` gives a new row the largest rowid plus one, the same number while
//! no event is deleted, and the collector deletes none.
//!
//! The keyword changes no stored row or page: `seq` is the rowid either way. So, as in
//! [`super::check_constraints`], the step edits the stored CREATE TABLE text instead of
//! copying the table, and takes no time on a file of any size.

use rusqlite::Connection;

use super::check_constraints::{check_schema, write_table_sql};

/// The column definition as migration 1 created it.
const OLD_COLUMN: &str = "seq INTEGER PRIMARY KEY AUTOINCREMENT";

/// The same column without AUTOINCREMENT.
const NEW_COLUMN: &str = "seq INTEGER PRIMARY KEY";

/// Removes AUTOINCREMENT from the stored definition of `events.seq`, inside the migration's
/// transaction.
///
/// A definition without the keyword is left unchanged, so running the step twice changes
/// nothing.
///
/// # Errors
///
/// Returns [`rusqlite::Error`] when SQLite refuses `writable_schema` (a connection opened
/// with `SQLITE_DBCONFIG_DEFENSIVE`), an update fails, or the edited schema cannot be
/// parsed.
pub(crate) fn drop_events_autoincrement(conn: &Connection) -> rusqlite::Result<()> {
    let sql: String = conn.query_row(
        "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'events'",
        [],
        |row| row.get(0),
    )?;
    if !sql.contains(OLD_COLUMN) {
        tracing::warn!("events.seq has no AUTOINCREMENT, table left unchanged");
        return Ok(());
    }

    write_table_sql(conn, "events", &sql.replacen(OLD_COLUMN, NEW_COLUMN, 1))?;
    check_schema(conn)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Returns a database with the tables of migration 1 and `count` events.
    fn initial_schema(count: i64) -> Connection {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch(include_str!("migrations/0001_initial.sql"))
            .unwrap();
        for _ in 0..count {
            insert_event(&conn);
        }
        conn
    }

    fn insert_event(conn: &Connection) -> i64 {
        conn.execute(
            "INSERT INTO events (id, tenant_id, timestamp, session_id, agent_id, event_type, \
             severity, payload, metadata, hash, is_error) \
             VALUES (lower(hex(randomblob(8))), 't', 'ts', 's', 'a', 'custom', 'info', '{}', \
             '{}', 'h', 0)",
            [],
        )
        .unwrap();
        conn.last_insert_rowid()
    }

    fn events_sql(conn: &Connection) -> String {
        conn.query_row(
            "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'events'",
            [],
            |row| row.get(0),
        )
        .unwrap()
    }

    #[test]
    fn seq_continues_after_last_stored_event() {
        let conn = initial_schema(3);
        conn.execute_batch(include_str!("migrations/0014_events_seq_rowid.sql"))
            .unwrap();
        drop_events_autoincrement(&conn).unwrap();

        assert!(!events_sql(&conn).contains("AUTOINCREMENT"));
        assert_eq!(insert_event(&conn), 4);
        assert_eq!(insert_event(&conn), 5);
        let check: String = conn
            .query_row("PRAGMA integrity_check", [], |row| row.get(0))
            .unwrap();
        assert_eq!(check, "ok");
    }

    #[test]
    fn insert_no_longer_writes_sqlite_sequence() {
        let conn = initial_schema(1);
        drop_events_autoincrement(&conn).unwrap();
        conn.execute("DELETE FROM sqlite_sequence", []).unwrap();

        insert_event(&conn);

        let counters: i64 = conn
            .query_row("SELECT COUNT(*) FROM sqlite_sequence", [], |row| row.get(0))
            .unwrap();
        assert_eq!(counters, 0);
    }

    #[test]
    fn second_run_changes_nothing() {
        let conn = initial_schema(0);
        drop_events_autoincrement(&conn).unwrap();
        let once = events_sql(&conn);

        drop_events_autoincrement(&conn).unwrap();

        assert_eq!(events_sql(&conn), once);
    }
}
