//! Storage of events, sessions, API keys and alerts in one SQLite file.
//!
//! [`Store`] is the storage API the handlers and the alert evaluator call. Each resource
//! has its own file with an `impl Store` block: [`events`] (ingest and event queries),
//! [`sessions`], [`timeline`], [`analytics`], [`llm_analytics`], [`overview`],
//! [`agent_tool_analytics`], [`alerts`] and [`keys`]. Writes run on the single writer
//! thread of [`sqlite`], reads on pooled reader connections. [`cost_rule`] states which
//! events count towards cost totals.
//!
//! Costs are INTEGER pico-dollars in the `events` table. SQLite's `SUM` over a 64-bit
//! column fails beyond about 9.2 million dollars in pico-dollars, so every money sum is
//! taken as two sums, `SUM(cost_pico / 1000000)` and `SUM(cost_pico % 1000000)`, and
//! recombined exactly in an `i128` by [`PicoSum`].

pub mod agent_tool_analytics;
mod alert_close;
pub mod alert_deliveries;
pub mod alerts;
pub mod analytics;
mod bucket_clock;
mod buckets;
mod check_constraints;
pub mod client_ids;
mod cost_fill;
pub mod cost_rule;
mod event_ids;
mod event_seq;
mod event_writer;
pub mod events;
mod filter;
pub mod keys;
pub mod llm_analytics;
mod llm_rollup_report;
mod llm_rollups;
mod outcome;
pub mod overview;
pub mod reprice;
mod rollup_report;
mod rollups;
mod session_events;
mod session_index;
mod session_merge;
mod session_resume;
mod session_totals;
pub mod sessions;
mod sqlite;
mod tenant_rollups;
pub mod timeline;
pub mod tool_costs;
mod tool_rollups;
mod top_sessions;
mod write_fault;

pub use write_fault::StorageFault;

pub(crate) use bucket_clock::local_midnight;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use agentlens_core::event::format_timestamp;
use agentlens_core::Usd;
use chrono::Utc;

pub(crate) use sqlite::{sql_count, WriterContext};
use sqlite::{ReaderPool, Writer};

/// A hash map for the per-batch state of the writer thread: the sessions and rollup
/// changes of an ingest transaction, looked up several times per event. foldhash costs a
/// fraction of the standard library's SipHash on these short keys. Each map draws a random
/// seed and lives for one transaction, so a client has no time to learn the seed and send
/// keys that collide.
pub(crate) type BatchMap<K, V> = std::collections::HashMap<K, V, foldhash::fast::RandomState>;

/// Errors from the store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// SQLite reported an error.
    #[error("sqlite error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// A schema migration could not be applied.
    #[error("migration {version} failed: {source}")]
    Migration {
        /// Number of the failed migration.
        version: i64,
        /// The SQLite error.
        source: rusqlite::Error,
    },
    /// The writer thread is gone, so no write can run.
    #[error("the sqlite writer thread has stopped")]
    WriterStopped,
    /// A storage thread could not start or panicked.
    #[error("storage thread failed: {0}")]
    Thread(String),
    /// A stored value cannot be read back.
    #[error("stored value is corrupt: {0}")]
    Corrupt(String),
    /// An event resends a stored client id with other content.
    #[error(
        "event {} reuses client id {:?} with a different {}",
        .0.index,
        .0.client_id,
        .0.field
    )]
    ClientIdReused(client_ids::ReusedClientId),
    /// A sum is too large for an exact decimal.
    #[error("sum of {0} pico-dollars is out of range")]
    SumOutOfRange(i128),
    /// A newer collector applied migrations that this one does not know, so it would
    /// store rows that the newer one cannot read back as it expects.
    #[error(
        "the database has schema version {found}, written by a newer collector, and this \
         collector (agentlens {}) reads versions up to {known}; run the collector that \
         upgraded the file, or a newer one",
        env!("CARGO_PKG_VERSION")
    )]
    NewerSchema {
        /// Highest migration version recorded in the file.
        found: i64,
        /// Highest migration version this build contains.
        known: i64,
    },
}

/// The storage API: one writer and a pool of readers over one SQLite file.
#[derive(Debug, Clone)]
pub struct Store {
    writer: Writer,
    readers: Arc<ReaderPool>,
    path: PathBuf,
    /// The ids minted between migrations 16 and 17; migrations fix it before the store
    /// opens.
    id_origin: event_ids::IdOrigin,
}

impl Store {
    /// Opens the database at `path`, creating it and applying migrations as needed.
    ///
    /// # Errors
    ///
    /// Returns [`StoreError`] when the file cannot be opened or a migration fails.
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        let last_fault = write_fault::LastWriteFault::default();
        let conn = sqlite::open_writer_tracking(path, last_fault.clone())?;
        let id_origin = event_ids::IdOrigin::load(&conn)?;
        Ok(Store {
            writer: Writer::spawn(conn, last_fault)?,
            readers: Arc::new(ReaderPool::new(path)),
            path: path.to_owned(),
            id_origin,
        })
    }

    /// Returns true when the existing file at `path` lacks a schema migration that
    /// [`Store::open`] would apply. It reads the file and changes nothing.
    ///
    /// # Errors
    ///
    /// Returns [`StoreError`] when the file cannot be opened or read.
    pub fn needs_migration(path: &Path) -> Result<bool, StoreError> {
        sqlite::needs_migration(path)
    }

    /// Returns why the existing file at `path` is not a collector database: the SQLite
    /// error of opening or reading it, or a note that `schema_migrations` or `table` is
    /// missing, as in an empty file or another program's database. Returns `None` for a collector database. It
    /// reads through a read-only connection and changes nothing, so a command can refuse
    /// such a file before [`Store::open`] writes the schema into it.
    pub fn schema_problem(path: &Path, table: &str) -> Option<String> {
        let flags = rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY;
        let conn = match rusqlite::Connection::open_with_flags(path, flags) {
            Ok(conn) => conn,
            Err(error) => return Some(error.to_string()),
        };
        // Every collector database records its migrations, so a file with `table` but no
        // `schema_migrations` is another program's.
        for name in ["schema_migrations", table] {
            let has_table = conn.query_row(
                "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?1)",
                [name],
                |row| row.get::<_, bool>(0),
            );
            match has_table {
                Ok(true) => {}
                Ok(false) => return Some(format!("it has no {name} table")),
                Err(error) => return Some(error.to_string()),
            }
        }
        None
    }

    /// Returns the message of the storage fault that made the last failed write fail,
    /// such as a full disk, until a write commits data again.
    pub fn last_write_fault(&self) -> Option<String> {
        self.writer.last_fault.get()
    }

    /// Returns the path of the database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Runs a trivial query and returns how long it took.
    ///
    /// # Errors
    ///
    /// Returns [`StoreError`] when the database cannot be read.
    pub async fn ping(&self) -> Result<Duration, StoreError> {
        let started = Instant::now();
        self.read(|conn| Ok(conn.query_row("SELECT 1", [], |row| row.get::<_, i64>(0))?))
            .await?;
        Ok(started.elapsed())
    }

    /// Copies every commit from the WAL into the database file and truncates the WAL, so
    /// that a copy of the database file alone contains all stored data once the collector
    /// has stopped.
    ///
    /// Returns `false` when a reader or the checkpoint thread kept the checkpoint from
    /// completing. SQLite then finishes it when the next process opens the file.
    ///
    /// # Errors
    ///
    /// Returns [`StoreError`] when the checkpoint fails.
    pub async fn checkpoint_on_stop(&self) -> Result<bool, StoreError> {
        self.write(|context| {
            let busy: i64 =
                context
                    .conn
                    .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |row| row.get(0))?;
            Ok(busy == 0)
        })
        .await
    }

    async fn write<T, F>(&self, job: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&mut WriterContext) -> Result<T, StoreError> + Send + 'static,
    {
        self.writer.run(job).await
    }

    async fn read<T, F>(&self, job: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&mut rusqlite::Connection) -> Result<T, StoreError> + Send + 'static,
    {
        self.readers.run(job).await
    }
}

/// Returns the current time as stored timestamp text.
pub(crate) fn now_text() -> String {
    format_timestamp(&Utc::now())
}

/// An exact sum of pico-dollar amounts, read from the two partial SQL sums.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct PicoSum(i128);

impl PicoSum {
    /// SQL selecting the two partial sums of `cost_pico`, in this order.
    pub const SQL: &'static str =
        "COALESCE(SUM(cost_pico / 1000000), 0), COALESCE(SUM(cost_pico % 1000000), 0)";

    /// Combines the partial sums `SUM(x / 1e6)` and `SUM(x % 1e6)`.
    pub fn from_parts(high: i64, low: i64) -> PicoSum {
        PicoSum(i128::from(high) * 1_000_000 + i128::from(low))
    }

    /// Reads the two partial sums starting at column `index`.
    pub fn from_row(row: &rusqlite::Row<'_>, index: usize) -> rusqlite::Result<PicoSum> {
        Ok(PicoSum::from_parts(row.get(index)?, row.get(index + 1)?))
    }

    /// Adds another sum.
    pub fn add(&mut self, other: PicoSum) {
        self.0 += other.0;
    }

    /// Returns the sum as dollars.
    ///
    /// # Errors
    ///
    /// Returns [`StoreError::SumOutOfRange`] beyond the 28 digits of a decimal.
    pub fn to_usd(self) -> Result<Usd, StoreError> {
        Usd::from_pico_i128(self.0).ok_or(StoreError::SumOutOfRange(self.0))
    }
}

/// One page of a listing, with the count of all matching rows.
#[derive(Debug, Clone)]
pub struct Page<T> {
    /// Items of this page.
    pub items: Vec<T>,
    /// Matching rows over all pages.
    pub total: i64,
    /// True when rows follow this page.
    pub has_more: bool,
}

impl<T> Page<T> {
    /// Builds a page from its items, the offset it started at and the total.
    pub fn new(items: Vec<T>, offset: i64, total: i64) -> Page<T> {
        let has_more = offset + (items.len() as i64) < total;
        Page {
            items,
            total,
            has_more,
        }
    }
}

/// Paging and order shared by the listings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Paging {
    /// Rows per page, 1 to 500.
    pub limit: i64,
    /// Rows skipped.
    pub offset: i64,
}

/// Tenant every request maps to until multi-tenancy arrives.
pub const DEFAULT_TENANT: &str = "default";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pico_sum_recombines_negative_parts() {
        let values: [i64; 2] = [-1_500_001, 2_999_999];
        let high: i64 = values.iter().map(|v| v / 1_000_000).sum();
        let low: i64 = values.iter().map(|v| v % 1_000_000).sum();
        assert_eq!(PicoSum::from_parts(high, low), PicoSum(1_499_998));
    }

    #[test]
    fn pico_sum_exceeds_i64() {
        let mut sum = PicoSum::from_parts(i64::MAX / 1_000_000, i64::MAX % 1_000_000);
        sum.add(sum);
        assert_eq!(sum.0, 2 * i128::from(i64::MAX));
        assert_eq!(sum.to_usd().unwrap().to_string(), "18446744.073709551614");
    }

    #[test]
    fn page_reports_more_rows() {
        let page = Page::new(vec![1, 2], 0, 3);
        assert!(page.has_more);
        assert!(!Page::new(vec![3], 2, 3).has_more);
    }
}
