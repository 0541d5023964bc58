//! Server ids of events, minted from the event's `seq` since migration 16.
//!
//! Each ingest transaction mints its ids as one [`IdBlock`]. An id is a ULID of three
//! parts. The first is the transaction's clock reading in milliseconds. The next 16 bits
//! contain one more than the transaction's place among the transactions of that
//! millisecond. The last part is a random starting number plus the event's place among
//! the transaction's new events. The writer never lets
//! the clock reading go back, and records each block in `event_id_blocks` (migration 17).
//! So ids are monotonic, [`IdOrigin::seq_of`] maps an id back to its `seq` with one lookup
//! of its block, and a lookup by id then reads one row by its rowid and compares the stored
//! id. No index on `id` is needed for these events.
//!
//! Two ids of one transaction differ by the number of events between them, all of one
//! tenant, because a transaction stores the batches of one tenant. Ids of different
//! transactions share nothing but the order of their blocks.
//!
//! Ids take three forms, by when their event was stored:
//!
//! - before migration 16, random ULIDs. The migration turns the unique index that SQLite
//!   built for `id TEXT NOT NULL UNIQUE` into the partial index [`LEGACY_ID_INDEX`] over
//!   those rows (`seq < first_seq`), so they are still found by id and new rows no longer
//!   enter it;
//! - between migrations 16 and 17, the `seq` plus the file's `id_key`, with the 16 bits
//!   above it zero. These showed the number of events stored between any two ids, those of
//!   other tenants included; they keep their form and are still found;
//! - from migration 17 on, blocks as above.

use rand::Rng;
use rusqlite::{Connection, OptionalExtension};
use ulid::Ulid;

/// The unique index over the ids of the events stored before migration 16.
pub(crate) const LEGACY_ID_INDEX: &str = "events_id_before_seq_ids";

/// The column definition that made SQLite index every id.
const UNIQUE_ID_COLUMN: &str = "id TEXT NOT NULL UNIQUE";

/// The same column without the constraint. Migration 16 narrows the index it had.
const PLAIN_ID_COLUMN: &str = "id TEXT NOT NULL";

/// Maximum number of blocks in one millisecond. The 16 bits above an id's number contain
/// the block's place plus one, and zero marks the ids minted between migrations 16 and 17.
pub(crate) const BLOCKS_PER_MILLISECOND: u16 = u16::MAX;

/// The bound of a block's random starting number, so that adding a transaction's events
/// never carries into the 16 bits above it.
const FIRST_NUMBER_BOUND: u64 = 1 << 62;

/// Position of a block in time: its clock reading and its place among the blocks of that
/// millisecond.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct BlockSlot {
    pub(crate) millis: u64,
    pub(crate) block: u16,
}

impl BlockSlot {
    /// Returns the slot after `self` at the clock reading `now`. That is the first block of
    /// `now` when the clock has passed `self`. Otherwise it is the next block of `self`'s
    /// millisecond, or the first block of the next millisecond when that one is full.
    pub(crate) fn next(self, now: u64) -> BlockSlot {
        if now > self.millis {
            BlockSlot {
                millis: now,
                block: 0,
            }
        } else if self.block + 1 < BLOCKS_PER_MILLISECOND {
            BlockSlot {
                block: self.block + 1,
                ..self
            }
        } else {
            BlockSlot {
                millis: self.millis + 1,
                block: 0,
            }
        }
    }

    /// Reads the slot of the last block recorded, or `None` when there is none, so that
    /// a restarted writer never reuses a slot.
    ///
    /// # Errors
    ///
    /// Returns [`rusqlite::Error`] when the query fails or a stored value is out of range.
    pub(crate) fn last_recorded(conn: &Connection) -> rusqlite::Result<Option<BlockSlot>> {
        conn.query_row(
            "SELECT millis, block FROM event_id_blocks ORDER BY millis DESC, block DESC \
             LIMIT 1",
            [],
            |row| {
                let (millis, block): (i64, i64) = (row.get(0)?, row.get(1)?);
                Ok(BlockSlot {
                    millis: u64::try_from(millis)
                        .map_err(|_| rusqlite::Error::IntegralValueOutOfRange(0, millis))?,
                    block: u16::try_from(block)
                        .map_err(|_| rusqlite::Error::IntegralValueOutOfRange(1, block))?,
                })
            },
        )
        .optional()
    }
}

/// The ids of one ingest transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct IdBlock {
    slot: BlockSlot,
    /// The `seq` of the block's first event.
    pub(crate) first_seq: i64,
    /// The number in the first event's id.
    first_number: u64,
}

impl IdBlock {
    /// Returns a block in `slot` whose first event will be stored as `first_seq`, with a
    /// random starting number.
    pub(crate) fn new(slot: BlockSlot, first_seq: i64) -> IdBlock {
        IdBlock {
            slot,
            first_seq,
            first_number: rand::rng().random_range(0..FIRST_NUMBER_BOUND),
        }
    }

    /// Returns the server id of the event stored as `seq`, which is `first_seq` or later.
    pub(crate) fn mint(&self, seq: i64) -> String {
        let place = u64::try_from(seq - self.first_seq).unwrap_or_default();
        let number = self.first_number + place;
        let mark = u128::from(self.slot.block) + 1;
        Ulid::from_parts(self.slot.millis, mark << 64 | u128::from(number)).to_string()
    }

    /// Records the block, so that its ids map back to `seq`. Call it once the transaction
    /// stored at least one event.
    ///
    /// # Errors
    ///
    /// Returns [`rusqlite::Error`] when the insert fails, such as for a slot already
    /// recorded.
    pub(crate) fn record(&self, conn: &Connection) -> rusqlite::Result<()> {
        let millis = i64::try_from(self.slot.millis).unwrap_or(i64::MAX);
        let first_number = i64::try_from(self.first_number).unwrap_or(i64::MAX);
        conn.prepare_cached(
            "INSERT INTO event_id_blocks (millis, block, first_seq, first_number) \
             VALUES (?1, ?2, ?3, ?4)",
        )?
        .execute((millis, self.slot.block, self.first_seq, first_number))?;
        Ok(())
    }
}

/// The first `seq` and offset of the ids minted between migrations 16 and 17.
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

    /// Returns the `seq` that `id` was minted from, or `None` when `id` is not a ULID or
    /// names an event stored before migration 16. A random legacy id can also map to a
    /// `seq`, so the caller still compares the stored id.
    ///
    /// # Errors
    ///
    /// Returns [`rusqlite::Error`] when the block query fails.
    pub(crate) fn seq_of(&self, conn: &Connection, id: &str) -> rusqlite::Result<Option<i64>> {
        let Ok(ulid) = Ulid::from_string(id) else {
            return Ok(None);
        };
        let random = ulid.random();
        let Ok(number) = u64::try_from(random & u128::from(u64::MAX)) else {
            return Ok(None);
        };
        let mark = random >> 64;
        if mark == 0 {
            return Ok(self.offset_seq(number));
        }
        let (Ok(millis), Ok(block)) = (i64::try_from(ulid.timestamp_ms()), i64::try_from(mark - 1))
        else {
            return Ok(None);
        };
        let found: Option<(i64, i64)> = conn
            .prepare_cached(
                "SELECT first_seq, first_number FROM event_id_blocks \
                 WHERE millis = ?1 AND block = ?2",
            )?
            .query_row((millis, block), |row| Ok((row.get(0)?, row.get(1)?)))
            .optional()?;
        Ok(found.and_then(|(first_seq, first_number)| {
            let place = number.checked_sub(u64::try_from(first_number).ok()?)?;
            first_seq.checked_add(i64::try_from(place).ok()?)
        }))
    }

    /// Returns the `seq` of an id minted between migrations 16 and 17 from its number.
    fn offset_seq(&self, number: u64) -> Option<i64> {
        let seq = i64::try_from(number.checked_sub(self.key)?).ok()?;
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
    let first_seq: i64 = conn.query_row("SELECT first_seq FROM event_id_origin", [], |row| {
        row.get(0)
    })?;
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

    let index_sql =
        format!("CREATE UNIQUE INDEX {LEGACY_ID_INDEX} ON events (id) WHERE seq < {first_seq}");
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

    /// Returns the id that migration 16's scheme gave `seq`: the offset added, the mark zero.
    fn offset_id(origin: &IdOrigin, millis: u64, seq: i64) -> String {
        let number = u64::try_from(seq).unwrap().wrapping_add(origin.key);
        Ulid::from_parts(millis, u128::from(number)).to_string()
    }

    /// Returns the number that carries the place in the block in `id`.
    fn number(id: &str) -> u64 {
        u64::try_from(Ulid::from_string(id).unwrap().random() & u128::from(u64::MAX)).unwrap()
    }

    /// Returns a connection to a new file with every migration applied.
    fn migrated() -> (tempfile::TempDir, Connection) {
        let dir = tempfile::tempdir().unwrap();
        let conn = crate::store::sqlite::open_writer(&dir.path().join("ids.db")).unwrap();
        (dir, conn)
    }

    /// Returns the slot of the first block at `millis`.
    fn slot(millis: u64) -> BlockSlot {
        BlockSlot { millis, block: 0 }
    }

    proptest! {
        #[test]
        fn minted_id_gives_back_its_seq(
            first_seq in 1i64..(1 << 62),
            place in 0i64..100_000,
            millis in 1u64..(1 << 48),
            block in 0u16..BLOCKS_PER_MILLISECOND,
        ) {
            let (_dir, conn) = migrated();
            let block = IdBlock::new(BlockSlot { millis, block }, first_seq);
            block.record(&conn).unwrap();
            let id = block.mint(first_seq + place);
            prop_assert_eq!(id.len(), 26);
            prop_assert_eq!(ORIGIN.seq_of(&conn, &id).unwrap(), Some(first_seq + place));
        }

        #[test]
        fn offset_id_gives_back_seq(seq in 1i64..(1 << 62)) {
            let (_dir, conn) = migrated();
            let id = offset_id(&ORIGIN, 7, seq);
            prop_assert_eq!(ORIGIN.seq_of(&conn, &id).unwrap(), Some(seq));
        }

        #[test]
        fn ids_sort_in_ingest_order(
            first_seq in 1i64..(1 << 61),
            places in 1i64..1000,
            now in prop_oneof![Just(5u64), Just(7), Just(8)],
        ) {
            let earlier = IdBlock::new(slot(7), first_seq);
            let later = IdBlock::new(slot(7).next(now), first_seq + places);
            let mut ids: Vec<String> = (first_seq..first_seq + places)
                .map(|seq| earlier.mint(seq))
                .collect();
            ids.push(later.mint(first_seq + places));
            prop_assert!(ids.windows(2).all(|pair| pair[0] < pair[1]));
        }
    }

    #[test]
    fn next_slot_never_goes_back() {
        assert_eq!(slot(7).next(9), slot(9));
        let second = BlockSlot {
            millis: 7,
            block: 1,
        };
        assert_eq!(slot(7).next(7), second);
        assert_eq!(slot(7).next(3), second);
        let full = BlockSlot {
            millis: 7,
            block: BLOCKS_PER_MILLISECOND - 1,
        };
        assert_eq!(full.next(7), slot(8));
        let id = IdBlock::new(full, 1).mint(1);
        assert_eq!(Ulid::from_string(&id).unwrap().random() >> 80, 0);
    }

    #[test]
    fn blocks_hide_the_events_stored_between_them() {
        // Two transactions with 10 events stored between them by another tenant.
        let gaps: Vec<u64> = (0..50)
            .map(|_| {
                let first = IdBlock::new(slot(7), 1);
                let second = IdBlock::new(slot(8), 12);
                number(&second.mint(12)).wrapping_sub(number(&first.mint(1)))
            })
            .collect();
        let distinct: std::collections::HashSet<u64> = gaps.iter().copied().collect();
        assert_eq!(distinct.len(), gaps.len(), "the gap between blocks repeats");
    }

    #[test]
    fn id_of_unrecorded_block_is_not_found() {
        let (_dir, conn) = migrated();
        let recorded = IdBlock::new(slot(7), 1);
        recorded.record(&conn).unwrap();
        let other = IdBlock::new(slot(7).next(7), 1);
        assert_eq!(ORIGIN.seq_of(&conn, &other.mint(1)).unwrap(), None);
        assert_eq!(ORIGIN.seq_of(&conn, &recorded.mint(1)).unwrap(), Some(1));
    }

    #[test]
    fn number_below_the_block_is_not_decoded() {
        let (_dir, conn) = migrated();
        let block = IdBlock {
            slot: slot(7),
            first_seq: 10,
            first_number: 100,
        };
        block.record(&conn).unwrap();
        let below = Ulid::from_parts(7, 1 << 64 | 99).to_string();
        assert_eq!(ORIGIN.seq_of(&conn, &below).unwrap(), None);
        assert_eq!(ORIGIN.seq_of(&conn, &block.mint(12)).unwrap(), Some(12));
    }

    #[test]
    fn recorded_slot_is_not_reused() {
        let (_dir, conn) = migrated();
        assert_eq!(BlockSlot::last_recorded(&conn).unwrap(), None);
        IdBlock::new(slot(7), 1).record(&conn).unwrap();
        IdBlock::new(slot(7).next(7), 5).record(&conn).unwrap();
        assert!(IdBlock::new(slot(7), 9).record(&conn).is_err());
        let last = BlockSlot::last_recorded(&conn).unwrap();
        assert_eq!(last, Some(slot(7).next(7)));
    }

    #[test]
    fn seq_before_origin_is_not_decoded() {
        let (_dir, conn) = migrated();
        let origin = IdOrigin {
            first_seq: 500,
            ..ORIGIN
        };
        let early = offset_id(&origin, 0, 499);
        assert_eq!(origin.seq_of(&conn, &early).unwrap(), None);
        let first = offset_id(&origin, 0, 500);
        assert_eq!(origin.seq_of(&conn, &first).unwrap(), Some(500));
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
        let lowercase = LEGACY_ID.to_ascii_lowercase();
        let legacy = store.event("default", &lowercase).await.unwrap();
        assert_eq!(legacy.map(|event| event.id).as_deref(), Some(LEGACY_ID));
        let new = store.event("default", &new_id).await.unwrap();
        assert_eq!(new.map(|event| event.id), Some(new_id.clone()));
        assert!(store.event("other", &new_id).await.unwrap().is_none());
        assert!(store.event("other", LEGACY_ID).await.unwrap().is_none());

        let conn = Connection::open(&path).unwrap();
        let origin = IdOrigin::load(&conn).unwrap();
        assert_eq!(origin.first_seq, 2);
        assert_eq!(origin.seq_of(&conn, &new_id).unwrap(), Some(2));
        let check: String = conn
            .query_row("PRAGMA integrity_check", [], |row| row.get(0))
            .unwrap();
        assert_eq!(check, "ok");
    }

    /// Creates a file at migration 16 with one event, and returns the id that migration
    /// 16's scheme gave it.
    fn file_at_migration_16(path: &std::path::Path) -> String {
        use crate::store::sqlite::{apply_migrations, MIGRATIONS};

        let conn = Connection::open(path).unwrap();
        let count = MIGRATIONS.iter().take_while(|m| m.version <= 16).count();
        apply_migrations(&conn, &MIGRATIONS[..count]).unwrap();
        let (first_seq, key): (i64, i64) = conn
            .query_row("SELECT first_seq, id_key FROM event_id_origin", [], |row| {
                Ok((row.get(0)?, row.get(1)?))
            })
            .unwrap();
        let low = u64::try_from(first_seq + key).unwrap();
        let id = Ulid::from_parts(1_764_583_200_000, u128::from(low)).to_string();
        conn.execute(
            "INSERT INTO events (seq, id, tenant_id, timestamp, session_id, agent_id, \
             event_type, severity, payload, metadata, hash, is_error) VALUES (?1, ?2, \
             'default', '2026-12-01T10:00:00.000000Z', 's1', 'a1', 'custom', 'info', '{}', \
             '{}', 'h1', 0)",
            (first_seq, &id),
        )
        .unwrap();
        id
    }

    #[tokio::test]
    async fn offset_ids_survive_migration_17() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("offset.db");
        let offset_id = file_at_migration_16(&path);
        let store = crate::store::Store::open(&path).unwrap();

        let found = store.event("default", &offset_id).await.unwrap();
        assert_eq!(found.map(|event| event.id), Some(offset_id.clone()));
        assert!(store.event("other", &offset_id).await.unwrap().is_none());

        let body = serde_json::json!({"events": [{"sessionId": "s2", "agentId": "a1",
            "eventType": "custom", "payload": {"type": "note", "data": {}}}]});
        let prepared = crate::ingest::prepare_batch(
            &body,
            chrono::Utc::now(),
            agentlens_core::pricing::PriceTable::embedded(),
        )
        .unwrap();
        let new_id = store.ingest("default", prepared).await.unwrap().events[0]
            .id
            .clone();
        let random = Ulid::from_string(&new_id).unwrap().random();
        assert_ne!(random >> 64, 0);
        let found = store.event("default", &new_id).await.unwrap();
        assert_eq!(found.map(|event| event.id), Some(new_id));
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
        let (_dir, conn) = migrated();
        assert_eq!(ORIGIN.seq_of(&conn, "not-a-ulid").unwrap(), None);
        assert_eq!(ORIGIN.seq_of(&conn, "").unwrap(), None);
    }
}
