//! Server ids of events, minted from the event's `seq` since migration 16.
//!
//! A new event's id is a ULID made of the writer's clock in milliseconds, 16 zero bits and
//! the event's `seq` plus the file's random `id_key`. So [`IdOrigin::seq_of`] recovers the
//! `seq` from an id, and a lookup by id reads one row by its rowid and compares the stored
//! id. No index on `id` is needed for these events. Ids still sort in ingest order,
//! because the clock reading never goes back and `seq` grows.
//!
//! NOTE: the key hides how many events the file holds, but two ids differ by the number of
//! events stored between them, those of other tenants included.
//!
//! Events stored before the migration keep their random ULIDs. The migration turns the
//! unique index that SQLite built for `id TEXT NOT NULL UNIQUE` into the partial index
//! [`LEGACY_ID_INDEX`] over those rows (`seq < first_seq`), so they are still found by id
//! and new rows no longer enter it.

use rusqlite::Connection;
use ulid::Ulid;

/// The unique index over the ids of the events stored before migration 16.
pub(crate) const LEGACY_ID_INDEX: &str = "events_id_before_seq_ids";

/// The column definition that made SQLite index every id.
const UNIQUE_ID_COLUMN: &str = "id TEXT NOT NULL UNIQUE";

/// The same column without the constraint. Migration 16 narrows the index it had.
const PLAIN_ID_COLUMN: &str = "id TEXT NOT NULL";

/// The first `seq` whose server id is minted from it, and the offset added to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct IdOrigin {
    /// Events with a smaller `seq` have random ids, found through [`LEGACY_ID_INDEX`].
    pub(crate) first_seq: i64,
    key: u64,
}

impl IdOrigin {
    /// Reads the origin that migration 16 stored.
    ///
    /// # Errors
    ///
    /// Returns [`rusqlite::Error`] when the query fails.
    pub(crate) fn load(conn: &Connection) -> rusqlite::Result<IdOrigin> {
        conn.query_row("SELECT first_seq, id_key FROM event_id_origin", [], |row| {
            let key: i64 = row.get(1)?;
            Ok(IdOrigin {
                first_seq: row.get(0)?,
                key: u64::try_from(key)
                    .map_err(|_| rusqlite::Error::IntegralValueOutOfRange(1, key))?,
            })
        })
    }

    /// Returns the server id of the event stored as `seq` at `millis` since the Unix epoch.
    pub(crate) fn mint(&self, millis: u64, seq: i64) -> String {
        // A stored `seq` is positive, so it converts.
        let seq = u64::try_from(seq).unwrap_or_default();
        Ulid::from_parts(millis, u128::from(seq.wrapping_add(self.key))).to_string()
    }

    /// Returns the `seq` that `id` was minted from, or `None` when `id` is not a ULID or
    /// names an event stored before migration 16. A random legacy id can also decode to a
    /// `seq`, so the caller still compares the stored id.
    pub(crate) fn seq_of(&self, id: &str) -> Option<i64> {
        let ulid = Ulid::from_string(id).ok()?;
        if ulid.random() >> 64 != 0 {
            return None;
        }
        let low = u64::try_from(ulid.random()).ok()?;
        let seq = i64::try_from(low.checked_sub(self.key)?).ok()?;
        (seq >= self.first_seq).then_some(seq)
    }
}

/// Removes `UNIQUE` from `events.id` and turns the index SQLite kept for it into
/// [`LEGACY_ID_INDEX`], limited to the rows stored so far. This is the Rust step of
/// migration 16.
///
/// The index keeps its pages: every row stored so far has `seq < first_seq`, so the
/// partial index contains the same entries. Like migrations 11 and 14, the step edits the
/// stored schema text and copies no row, so it takes no time on a file of any size.
///
/// # Errors
///
/// Returns [`rusqlite::Error`] when the schema is not the one migration 1 created (the
/// migration then rolls back), or when SQLite refuses the edit.
pub(crate) fn narrow_id_index(conn: &Connection) -> rusqlite::Result<()> {
    let origin = IdOrigin::load(conn)?;
    let table_sql: String = conn.query_row(
        "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'events'",
        [],
        |row| row.get(0),
    )?;
    let autoindex: String = conn.query_row(
        "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'events' \
         AND name LIKE 'sqlite_autoindex_events_%'",
        [],
        |row| row.get(0),
    )?;
    let columns: Vec<String> = conn
        .prepare("SELECT name FROM pragma_index_info(?1)")?
        .query_map([&autoindex], |row| row.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    if columns != ["id"] || table_sql.matches(UNIQUE_ID_COLUMN).count() != 1 {
        let message = format!(
            "unexpected events schema: expected one unique index on id, found {autoindex} \
             on {columns:?}"
        );
        let code = rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_ERROR);
        return Err(rusqlite::Error::SqliteFailure(code, Some(message)));
    }

    let index_sql = format!(
        "CREATE UNIQUE INDEX {LEGACY_ID_INDEX} ON events (id) WHERE seq < {}",
        origin.first_seq
    );
    let schema_version: i64 = conn.query_row("PRAGMA schema_version", [], |row| row.get(0))?;
    conn.pragma_update(None, "writable_schema", true)?;
    let edited = conn
        .execute(
            "UPDATE sqlite_master SET sql = ?1 WHERE type = 'table' AND name = 'events'",
            [table_sql.replacen(UNIQUE_ID_COLUMN, PLAIN_ID_COLUMN, 1)],
        )
        .and_then(|_| {
            conn.execute(
                "UPDATE sqlite_master SET name = ?1, sql = ?2 WHERE type = 'index' AND name = ?3",
                (LEGACY_ID_INDEX, &index_sql, &autoindex),
            )
        });
    conn.pragma_update(None, "schema_version", schema_version + 1)?;
    conn.pragma_update(None, "writable_schema", false)?;
    edited?;
    super::check_constraints::check_schema(conn)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    const ORIGIN: IdOrigin = IdOrigin {
        first_seq: 1,
        key: 0x0123_4567_89ab_cdef,
    };

    proptest! {
        #[test]
        fn minted_id_gives_back_its_seq(seq in 1i64..(1 << 62), millis in 0u64..(1 << 48)) {
            let id = ORIGIN.mint(millis, seq);
            prop_assert_eq!(id.len(), 26);
            prop_assert_eq!(ORIGIN.seq_of(&id), Some(seq));
        }

        #[test]
        fn later_seq_sorts_after(seq in 1i64..(1 << 61), step in 1i64..1000) {
            prop_assert!(ORIGIN.mint(7, seq) < ORIGIN.mint(7, seq + step));
        }
    }

    #[test]
    fn seq_before_origin_is_not_decoded() {
        let origin = IdOrigin {
            first_seq: 500,
            ..ORIGIN
        };
        assert_eq!(origin.seq_of(&origin.mint(0, 499)), None);
        assert_eq!(origin.seq_of(&origin.mint(0, 500)), Some(500));
    }

    /// A random ULID as migration 16 finds it on events stored before.
    const LEGACY_ID: &str = "01KBKR4X3G7V9TQ2M8HZJ5N6PW";

    /// Creates a file at the schema before migration 16 with one event of [`LEGACY_ID`].
    fn file_before_migration(path: &std::path::Path) {
        use crate::store::sqlite::{apply_migrations, MIGRATIONS};

        let conn = Connection::open(path).unwrap();
        let count = MIGRATIONS.iter().take_while(|m| m.version < 16).count();
        apply_migrations(&conn, &MIGRATIONS[..count]).unwrap();
        conn.execute(
            "INSERT INTO events (id, tenant_id, timestamp, session_id, agent_id, event_type, \
             severity, payload, metadata, hash, is_error) VALUES (?1, 'default', \
             '2026-12-01T10:00:00.000000Z', 's1', 'a1', 'custom', 'info', '{}', '{}', 'h1', 0)",
            [LEGACY_ID],
        )
        .unwrap();
    }

    #[tokio::test]
    async fn events_before_migration_keep_their_ids() {
        use agentlens_core::pricing::PriceTable;
        use serde_json::json;

        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("legacy.db");
        file_before_migration(&path);
        let store = crate::store::Store::open(&path).unwrap();
        let body = json!({"events": [{"sessionId": "s2", "agentId": "a1",
            "eventType": "cost_tracked", "payload": {"provider": "openai", "model": "gpt-4o",
            "inputTokens": 10, "outputTokens": 5, "costUsd": "0.01"}}]});
        let prepared =
            crate::ingest::prepare_batch(&body, chrono::Utc::now(), PriceTable::embedded())
                .unwrap();
        let outcome = store.ingest("default", prepared).await.unwrap();
        let new_id = outcome.events[0].id.clone();

        let legacy = store.event("default", LEGACY_ID).await.unwrap();
        assert_eq!(legacy.map(|event| event.id).as_deref(), Some(LEGACY_ID));
        let new = store.event("default", &new_id).await.unwrap();
        assert_eq!(new.map(|event| event.id), Some(new_id.clone()));
        assert!(store.event("other", &new_id).await.unwrap().is_none());
        assert!(store.event("other", LEGACY_ID).await.unwrap().is_none());

        let conn = Connection::open(&path).unwrap();
        let origin = IdOrigin::load(&conn).unwrap();
        assert_eq!(origin.first_seq, 2);
        assert_eq!(origin.seq_of(&new_id), Some(2));
        let check: String = conn
            .query_row("PRAGMA integrity_check", [], |row| row.get(0))
            .unwrap();
        assert_eq!(check, "ok");
    }

    #[test]
    fn legacy_id_stays_unique() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("unique.db");
        file_before_migration(&path);
        drop(crate::store::Store::open(&path).unwrap());

        let conn = Connection::open(&path).unwrap();
        let repeated = conn.execute(
            "INSERT INTO events (seq, id, tenant_id, timestamp, session_id, agent_id, \
             event_type, severity, payload, metadata, hash, is_error) VALUES (0, ?1, \
             'default', 't', 's1', 'a1', 'custom', 'info', '{}', '{}', 'h', 0)",
            [LEGACY_ID],
        );
        assert!(
            repeated.is_err(),
            "a second row with a legacy id was stored"
        );
    }

    #[test]
    fn non_ulid_is_not_decoded() {
        assert_eq!(ORIGIN.seq_of("not-a-ulid"), None);
        assert_eq!(ORIGIN.seq_of(""), None);
    }
}
