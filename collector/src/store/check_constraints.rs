//! The Rust step of migration 11, which rewrites two IN-list CHECK constraints as OR
//! chains of `=` comparisons.
//!
//! For each inserted row, SQLite evaluates `x IN ('a', 'b', 'c')` in a CHECK by opening a
//! temporary B-tree, inserting the listed values and searching it. On the ingest path
//! that cost each `events` insert more than one of its indexes. `x = 'a' OR x = 'b' OR
//! x = 'c'` accepts the same values, lets NULL pass as the IN list does, and runs as
//! three comparisons.
//!
//! SQLite has no statement that changes a CHECK. Its ALTER TABLE documentation
//! ("Making Other Kinds Of Table Schema Changes") allows editing the CREATE TABLE text in
//! `sqlite_master` under `PRAGMA writable_schema` when every stored row still satisfies
//! the new text, followed by raising `schema_version` so that every connection parses it
//! again. Both constraints here accept exactly the rows their old form accepted.

use rusqlite::Connection;

/// A CHECK constraint to rewrite: the table, its text as migration 1 wrote it, and the
/// equivalent text.
struct Rewrite {
    table: &'static str,
    old: &'static str,
    new: &'static str,
}

const REWRITES: [Rewrite; 2] = [
    Rewrite {
        table: "events",
        old: "CHECK (cost_source IN ('reported', 'derived', 'unpriced'))",
        new: "CHECK (cost_source = 'reported' OR cost_source = 'derived' \
              OR cost_source = 'unpriced')",
    },
    Rewrite {
        table: "sessions",
        old: "CHECK (status IN ('active', 'completed', 'error'))",
        new: "CHECK (status = 'active' OR status = 'completed' OR status = 'error')",
    },
];

/// Replaces the IN-list CHECK constraints of `events.cost_source` and `sessions.status`
/// with equivalent OR chains, inside the migration's transaction.
///
/// A table whose stored text does not contain the old constraint is left unchanged, so
/// running the step twice changes nothing.
///
/// # Errors
///
/// Returns [`rusqlite::Error`] when SQLite refuses `writable_schema` (a connection opened
/// with `SQLITE_DBCONFIG_DEFENSIVE`) or an update fails.
pub(crate) fn rewrite_in_list_checks(conn: &Connection) -> rusqlite::Result<()> {
    let mut changed = false;
    for rewrite in &REWRITES {
        let sql: Option<String> = conn
            .query_row(
                "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?1",
                [rewrite.table],
                |row| row.get(0),
            )
            .ok();
        let Some(sql) = sql.filter(|sql| sql.contains(rewrite.old)) else {
            tracing::warn!(
                table = rewrite.table,
                "in-list check constraint not found, table left unchanged"
            );
            continue;
        };
        let new_sql = sql.replacen(rewrite.old, rewrite.new, 1);
        write_table_sql(conn, rewrite.table, &new_sql)?;
        changed = true;
    }

    if changed {
        check_schema(conn)?;
    }
    Ok(())
}

/// Replaces the stored CREATE TABLE text of `table` with `sql` under
/// `PRAGMA writable_schema`, and raises `schema_version` so that every connection parses
/// the new text. The caller must make sure that every stored row and page still matches
/// `sql`, and should call [`check_schema`] after its last edit.
///
/// # Errors
///
/// Returns [`rusqlite::Error`] when SQLite refuses `writable_schema` (a connection opened
/// with `SQLITE_DBCONFIG_DEFENSIVE`) or the update fails.
pub(super) fn write_table_sql(conn: &Connection, table: &str, sql: &str) -> rusqlite::Result<()> {
    let schema_version: i64 = conn.query_row("PRAGMA schema_version", [], |row| row.get(0))?;
    conn.pragma_update(None, "writable_schema", true)?;
    let updated = conn.execute(
        "UPDATE sqlite_master SET sql = ?1 WHERE type = 'table' AND name = ?2",
        (sql, table),
    );
    conn.pragma_update(None, "schema_version", schema_version + 1)?;
    conn.pragma_update(None, "writable_schema", false)?;
    updated.map(drop)
}

/// Parses the edited schema by preparing a statement, so text that SQLite cannot read
/// fails the migration, which rolls the edit back.
///
/// # Errors
///
/// Returns [`rusqlite::Error`] when SQLite cannot parse the schema.
pub(super) fn check_schema(conn: &Connection) -> rusqlite::Result<()> {
    conn.query_row("SELECT COUNT(*) FROM sqlite_master", [], |_| Ok(()))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Returns a database with the tables of migration 1.
    fn initial_schema() -> Connection {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch(include_str!("migrations/0001_initial.sql"))
            .unwrap();
        conn
    }

    fn insert_cost_source(conn: &Connection, source: Option<&str>) -> rusqlite::Result<usize> {
        conn.execute(
            "INSERT INTO events (id, tenant_id, timestamp, session_id, agent_id, event_type, \
             severity, payload, metadata, hash, is_error, cost_source) \
             VALUES (lower(hex(randomblob(8))), 't', 'ts', 's', 'a', 'custom', 'info', '{}', \
             '{}', 'h', 0, ?1)",
            [source],
        )
    }

    #[test]
    fn rewritten_check_accepts_same_cost_sources() {
        let conn = initial_schema();
        rewrite_in_list_checks(&conn).unwrap();

        for source in [None, Some("reported"), Some("derived"), Some("unpriced")] {
            assert!(insert_cost_source(&conn, source).is_ok(), "{source:?}");
        }
        for source in ["Reported", "free", ""] {
            let error = insert_cost_source(&conn, Some(source)).unwrap_err();
            assert!(error.to_string().contains("CHECK"), "{source}: {error}");
        }
    }

    #[test]
    fn rewritten_check_rejects_unknown_session_status() {
        let conn = initial_schema();
        rewrite_in_list_checks(&conn).unwrap();

        let insert = |status: &str| {
            conn.execute(
                "INSERT INTO sessions VALUES ('t', ?1, 'a', NULL, 's', NULL, 's', ?1, \
                 0, 0, 0, 0, '0', 0, 0, 0, 0, 0, '[]', '')",
                [status],
            )
        };
        for status in ["active", "completed", "error"] {
            assert!(insert(status).is_ok(), "{status}");
        }
        assert!(insert("idle").is_err());
    }

    #[test]
    fn event_insert_builds_no_temporary_btree() {
        let conn = initial_schema();
        let plan = |conn: &Connection| -> Vec<String> {
            let mut statement = conn
                .prepare(
                    "EXPLAIN INSERT INTO events (id, tenant_id, timestamp, session_id, \
                     agent_id, event_type, severity, payload, metadata, hash, is_error, \
                     cost_source) VALUES ('e', 't', 'ts', 's', 'a', 'custom', 'info', '{}', \
                     '{}', 'h', 0, 'reported')",
                )
                .unwrap();
            let opcodes = statement
                .query_map([], |row| row.get::<_, String>(1))
                .unwrap();
            opcodes.map(Result::unwrap).collect()
        };
        assert!(plan(&conn).iter().any(|opcode| opcode == "OpenEphemeral"));

        rewrite_in_list_checks(&conn).unwrap();

        assert!(!plan(&conn).iter().any(|opcode| opcode == "OpenEphemeral"));
    }

    #[test]
    fn second_run_changes_nothing() {
        let conn = initial_schema();
        rewrite_in_list_checks(&conn).unwrap();
        let schema = |conn: &Connection| -> String {
            conn.query_row(
                "SELECT group_concat(sql, ';') FROM sqlite_master WHERE type = 'table'",
                [],
                |row| row.get(0),
            )
            .unwrap()
        };
        let once = schema(&conn);

        rewrite_in_list_checks(&conn).unwrap();

        assert_eq!(schema(&conn), once);
        assert!(!once.contains("IN ('reported'"));
    }
}
