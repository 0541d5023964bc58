//! SQLite connections: opening, pragmas, migrations, the writer thread and the reader pool.
//!
//! All writes go through one connection owned by a dedicated thread, which runs jobs one
//! at a time in arrival order. That serialises appends to every session's hash chain
//! without locks. Ingest batches that wait together share a transaction
//! ([`super::event_writer`]). Reads run on a small pool of connections inside
//! `spawn_blocking`; WAL mode lets them proceed while the writer commits.
//!
//! Checkpoints, which copy the WAL back into the database file and sync it, run on a third
//! thread with its own connection, so the writer does not pause for them between batches.
//! The writer requests one when a commit leaves [`CHECKPOINT_WAL_BYTES`] in the WAL, and
//! checkpoints itself only when the WAL passes [`WRITER_CHECKPOINT_WAL_BYTES`] because the
//! checkpoint thread has fallen behind. Both are `PASSIVE` checkpoints, the kind SQLite
//! runs automatically, so durability is unchanged: with `synchronous=NORMAL` a commit
//! survives a crash of the process, and the last commits before a power loss may be lost.

use std::collections::HashSet;
use std::path::Path;
use std::sync::{mpsc, Mutex};
use std::time::Duration;

use rusqlite::hooks::Wal;
use rusqlite::{Connection, OpenFlags};
use tokio::sync::oneshot;
use ulid::Generator;

use super::event_ids::BlockSlot;
use super::event_writer::{run_group, IngestJob};
use super::events::IngestOutcome;
use super::write_fault::LastWriteFault;
use super::StoreError;
use crate::ingest::PreparedEvent;

/// How long a connection waits for a lock before failing with `SQLITE_BUSY`.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// Page cache of the writer connection, in KiB as a negative `cache_size` (64 MiB).
///
/// Ingest touches the right-hand pages of every `events` index, the pages of the sessions
/// and rollup rows of each batch, and scattered pages of the session index. SQLite's
/// default of 2 MiB cannot keep them all once the indexes grow, and every evicted page is
/// read back from the operating system by the next batch.
const WRITER_CACHE_KIB: i64 = -65_536;

/// Page size of a new database file. An existing file keeps the size it was created with,
/// because WAL mode cannot change it.
///
/// Ingest appends rows and index entries, so larger pages mean fewer page splits and fewer
/// page headers per event. With 16 KiB pages the collector stored about 7% more events per
/// server CPU-second than with SQLite's default of 4 KiB, under the load of
/// `collector/examples/loadgen.rs` (see BENCHMARKS.md).
const NEW_FILE_PAGE_SIZE: i64 = 16_384;

/// WAL size after a commit at which the writer requests a checkpoint: 16 MiB, where SQLite's
/// automatic checkpoint starts at 1000 pages (4 MiB of 4 KiB pages). A page that several
/// commits change, such as the right-hand page of an index or a session row, is copied into
/// the database once per checkpoint, so fewer checkpoints copy fewer pages.
const CHECKPOINT_WAL_BYTES: i64 = 16 * 1024 * 1024;

/// WAL size after a commit at which the writer checkpoints itself.
const WRITER_CHECKPOINT_WAL_BYTES: i64 = 128 * 1024 * 1024;

/// Size to which SQLite truncates the WAL file when it starts reusing it after a complete
/// checkpoint. Without a limit the file keeps the largest size a burst of writes gave it,
/// for example while long reads kept checkpoints from finishing, even after a restart.
const WAL_SIZE_LIMIT_BYTES: i64 = 2 * CHECKPOINT_WAL_BYTES;

/// Prepared statements the writer keeps. Ingest alone uses about a dozen, so SQLite's
/// default of 16 would evict them as soon as alerts or key changes also write.
const WRITER_STATEMENT_CACHE: usize = 64;

/// Time the writer waits for a job before it indexes the session tail that ingest
/// left ([`super::session_index`]).
const IDLE_INDEX_DELAY: Duration = Duration::from_millis(200);

/// Most idle reader connections kept open.
const MAX_IDLE_READERS: usize = 8;

/// One numbered schema change: SQL, then an optional Rust step in the same transaction.
pub(super) struct Migration {
    pub(super) version: i64,
    name: &'static str,
    sql: &'static str,
    after_sql: Option<fn(&Connection) -> rusqlite::Result<()>>,
}

/// Migrations, applied in order and recorded in `schema_migrations`.
pub(super) const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        name: "initial",
        sql: include_str!("migrations/0001_initial.sql"),
        after_sql: None,
    },
    Migration {
        version: 2,
        name: "cost_rule",
        sql: include_str!("migrations/0002_cost_rule.sql"),
        after_sql: Some(super::cost_rule::rebuild_session_costs),
    },
    Migration {
        version: 3,
        name: "alert_deliveries",
        sql: include_str!("migrations/0003_alert_deliveries.sql"),
        after_sql: None,
    },
    Migration {
        version: 4,
        name: "cost_rollups",
        sql: include_str!("migrations/0004_cost_rollups.sql"),
        after_sql: None,
    },
    Migration {
        version: 5,
        name: "event_pricing",
        sql: include_str!("migrations/0005_event_pricing.sql"),
        after_sql: None,
    },
    Migration {
        version: 6,
        name: "session_cost_totals",
        sql: include_str!("migrations/0006_session_cost_totals.sql"),
        after_sql: None,
    },
    Migration {
        version: 7,
        name: "tenant_cost_rollups",
        sql: include_str!("migrations/0007_tenant_cost_rollups.sql"),
        after_sql: Some(super::tenant_rollups::backfill),
    },
    Migration {
        version: 8,
        name: "llm_rows_index",
        sql: include_str!("migrations/0008_llm_rows_index.sql"),
        after_sql: None,
    },
    Migration {
        version: 9,
        name: "session_scoped_cost_rule",
        sql: include_str!("migrations/0009_session_scoped_cost_rule.sql"),
        after_sql: Some(super::cost_rule::rescope_to_sessions),
    },
    Migration {
        version: 10,
        name: "llm_rollups",
        sql: include_str!("migrations/0010_llm_rollups.sql"),
        after_sql: Some(super::llm_rollups::backfill),
    },
    Migration {
        version: 11,
        name: "equality_checks",
        sql: include_str!("migrations/0011_equality_checks.sql"),
        after_sql: Some(super::check_constraints::rewrite_in_list_checks),
    },
    Migration {
        version: 12,
        name: "delivery_schedule",
        sql: include_str!("migrations/0012_delivery_schedule.sql"),
        after_sql: None,
    },
    Migration {
        version: 13,
        name: "unpriced_response_fill",
        sql: include_str!("migrations/0013_unpriced_response_fill.sql"),
        after_sql: Some(super::cost_fill::fill_after_migration),
    },
    Migration {
        version: 14,
        name: "events_seq_rowid",
        sql: include_str!("migrations/0014_events_seq_rowid.sql"),
        after_sql: Some(super::event_seq::drop_events_autoincrement),
    },
    Migration {
        version: 15,
        name: "unpriced_rollup_index",
        sql: include_str!("migrations/0015_unpriced_rollup_index.sql"),
        after_sql: None,
    },
    Migration {
        version: 16,
        name: "server_ids_from_seq",
        sql: include_str!("migrations/0016_server_ids_from_seq.sql"),
        after_sql: Some(super::event_ids::narrow_id_index),
    },
    Migration {
        version: 17,
        name: "event_id_blocks",
        sql: include_str!("migrations/0017_event_id_blocks.sql"),
        after_sql: None,
    },
    Migration {
        version: 18,
        name: "session_rollup_merge",
        sql: include_str!("migrations/0018_session_rollup_merge.sql"),
        after_sql: Some(super::session_merge::split_after_migration),
    },
    Migration {
        version: 19,
        name: "session_resumed_at",
        sql: include_str!("migrations/0019_session_resumed_at.sql"),
        after_sql: None,
    },
    Migration {
        version: 20,
        name: "session_resume_backfill",
        sql: include_str!("migrations/0020_session_resume_backfill.sql"),
        after_sql: Some(super::session_resume::backfill_resumed_at),
    },
    Migration {
        version: 21,
        name: "alert_history_outlives_rule",
        sql: include_str!("migrations/0021_alert_history_outlives_rule.sql"),
        after_sql: Some(super::alert_close::drop_history_rule_reference),
    },
    Migration {
        version: 22,
        name: "event_tool_name",
        sql: include_str!("migrations/0022_event_tool_name.sql"),
        after_sql: None,
    },
    Migration {
        version: 23,
        name: "session_index_table",
        sql: include_str!("migrations/0023_session_index_table.sql"),
        after_sql: None,
    },
];

/// State owned by the writer thread and lent to each write job.
#[derive(Debug)]
pub(crate) struct WriterContext {
    /// The only connection that writes.
    pub(crate) conn: Connection,
    /// Source of monotonic record ids: alert rules and alert history.
    ids: Generator,
    /// The slot of the last block of event ids, read from the file on first use.
    last_block: Option<BlockSlot>,
    /// True when the last ingest left events out of `session_events`.
    pub(crate) session_tail: bool,
    /// Bytes of payload and metadata text of the tail's events, for
    /// [`super::session_index::index_long_tail`].
    pub(crate) tail_bytes: u64,
}

impl WriterContext {
    /// Returns the writer's state over `conn`.
    pub(crate) fn new(conn: Connection) -> Self {
        WriterContext {
            conn,
            ids: Generator::new(),
            last_block: None,
            session_tail: false,
            tail_bytes: 0,
        }
    }

    /// Indexes the session tail in a transaction of its own. A failure is logged and leaves
    /// the tail to the next ingest transaction; readers find its events either way.
    pub(crate) fn index_session_tail(&mut self) {
        self.session_tail = false;
        let result = self
            .conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .and_then(|transaction| {
                super::session_index::index_tail(&transaction)?;
                transaction.commit()
            });
        match result {
            Ok(()) => self.tail_bytes = 0,
            Err(error) => {
                tracing::warn!(%error, "indexing the session tail failed; ingest retries it");
            }
        }
    }

    /// Returns the slot for the event ids of a new transaction: the current time in
    /// milliseconds since the Unix epoch, and the transaction's place among the blocks of
    /// that millisecond. The slot never goes back, even when the clock does, so ids stay
    /// monotonic.
    ///
    /// # Errors
    ///
    /// Returns [`rusqlite::Error`] when the last recorded block cannot be read.
    pub(crate) fn next_block_slot(&mut self) -> rusqlite::Result<BlockSlot> {
        let last = match self.last_block {
            Some(last) => last,
            None => BlockSlot::last_recorded(&self.conn)?.unwrap_or_default(),
        };
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |since| {
                u64::try_from(since.as_millis()).unwrap_or(u64::MAX)
            });
        let slot = last.next(now);
        self.last_block = Some(slot);
        Ok(slot)
    }

    /// Returns a new ULID, greater than every id this writer returned before.
    pub(crate) fn next_id(&mut self) -> String {
        let id = match self.ids.generate() {
            Ok(id) => id,
            Err(overflow) => overflow.commit_overflow_increment(),
        };
        id.to_string()
    }
}

/// A job for the writer thread.
pub(crate) enum WriteJob {
    /// Runs a closure on the writer's state.
    Run(Box<dyn FnOnce(&mut WriterContext) + Send>),
    /// Stores an ingest batch, in one transaction with the batches queued right behind it.
    Ingest(IngestJob),
}

/// Waits for the next job. While ingest has left a session tail, a wait longer than
/// [`IDLE_INDEX_DELAY`] indexes the tail first.
fn next_job(receiver: &mpsc::Receiver<WriteJob>, context: &mut WriterContext) -> Option<WriteJob> {
    while context.session_tail {
        match receiver.recv_timeout(IDLE_INDEX_DELAY) {
            Ok(job) => return Some(job),
            Err(mpsc::RecvTimeoutError::Timeout) => context.index_session_tail(),
            Err(mpsc::RecvTimeoutError::Disconnected) => return None,
        }
    }
    receiver.recv().ok()
}

/// Handle to the writer thread. The thread exits when the last handle is dropped.
#[derive(Debug, Clone)]
pub(crate) struct Writer {
    jobs: mpsc::Sender<WriteJob>,
    /// The storage fault of the last failed write, for the health route.
    pub(crate) last_fault: LastWriteFault,
}

impl Writer {
    /// Starts the writer thread over a connection from [`open_writer_tracking`] that
    /// clears `last_fault`.
    pub(crate) fn spawn(
        conn: Connection,
        last_fault: LastWriteFault,
    ) -> Result<Writer, StoreError> {
        let (jobs, receiver) = mpsc::channel::<WriteJob>();
        let mut context = WriterContext::new(conn);
        // A tail left by the last run is indexed once the writer is idle, as after ingest.
        context.session_tail = super::session_index::has_tail(&context.conn).unwrap_or(true);
        // The size of that tail is not known, so the first ingest transaction indexes it
        // unless the idle writer did so first.
        if context.session_tail {
            context.tail_bytes = super::session_index::TAIL_BYTES;
        }
        let faults = last_fault.clone();
        std::thread::Builder::new()
            .name("agentlens-sqlite-writer".to_owned())
            .spawn(move || {
                let mut next = None;
                while let Some(job) = next.take().or_else(|| next_job(&receiver, &mut context)) {
                    next = match job {
                        WriteJob::Run(job) => {
                            job(&mut context);
                            None
                        }
                        WriteJob::Ingest(first) => {
                            run_group(&mut context, first, &receiver, &faults)
                        }
                    };
                }
            })
            .map_err(|source| StoreError::Thread(source.to_string()))?;
        Ok(Writer { jobs, last_fault })
    }

    /// Runs `job` on the writer thread and returns its result.
    pub(crate) async fn run<T, F>(&self, job: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&mut WriterContext) -> Result<T, StoreError> + Send + 'static,
    {
        let (reply, result) = oneshot::channel();
        let faults = self.last_fault.clone();
        let boxed = WriteJob::Run(Box::new(move |context| {
            let outcome = job(context);
            faults.record_failure(&outcome);
            // The receiver is gone only when the request was cancelled; the job has
            // already committed or rolled back by then.
            let _ = reply.send(outcome);
        }));
        self.jobs
            .send(boxed)
            .map_err(|_| StoreError::WriterStopped)?;
        result.await.map_err(|_| StoreError::WriterStopped)?
    }

    /// Stores an ingest batch on the writer thread and returns its outcome.
    pub(crate) async fn ingest(
        &self,
        tenant: String,
        events: Vec<PreparedEvent>,
    ) -> Result<IngestOutcome, StoreError> {
        let (reply, result) = oneshot::channel();
        let job = IngestJob {
            tenant,
            events,
            reply,
        };
        self.jobs
            .send(WriteJob::Ingest(job))
            .map_err(|_| StoreError::WriterStopped)?;
        result.await.map_err(|_| StoreError::WriterStopped)?
    }
}

/// A pool of read-only connections.
#[derive(Debug)]
pub(crate) struct ReaderPool {
    path: std::path::PathBuf,
    idle: Mutex<Vec<Connection>>,
}

impl ReaderPool {
    /// Creates an empty pool; connections open on first use.
    pub(crate) fn new(path: &Path) -> ReaderPool {
        ReaderPool {
            path: path.to_owned(),
            idle: Mutex::new(Vec::new()),
        }
    }

    /// Runs `job` on a reader connection on the blocking thread pool, in one read
    /// transaction. Every statement of the job reads the same snapshot, so a count and its
    /// page, or the totals and buckets of one report, never straddle a commit.
    pub(crate) async fn run<T, F>(self: &std::sync::Arc<Self>, job: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<T, StoreError> + Send + 'static,
    {
        let pool = std::sync::Arc::clone(self);
        tokio::task::spawn_blocking(move || {
            let mut conn = pool.checkout()?;
            let result = in_snapshot(&mut conn, job);
            // A connection left inside a transaction would pin its snapshot for the next job.
            if conn.is_autocommit() {
                pool.checkin(conn);
            }
            result
        })
        .await
        .map_err(|source| StoreError::Thread(source.to_string()))?
    }

    fn checkout(&self) -> Result<Connection, StoreError> {
        let idle = self.idle.lock().map(|mut idle| idle.pop());
        match idle {
            Ok(Some(conn)) => Ok(conn),
            _ => open_reader(&self.path),
        }
    }

    fn checkin(&self, conn: Connection) {
        if let Ok(mut idle) = self.idle.lock() {
            if idle.len() < MAX_IDLE_READERS {
                idle.push(conn);
            }
        }
    }
}

/// Runs `job` inside a read transaction on `conn` and ends it, whatever the job returned.
fn in_snapshot<T>(
    conn: &mut Connection,
    job: impl FnOnce(&mut Connection) -> Result<T, StoreError>,
) -> Result<T, StoreError> {
    conn.execute_batch("BEGIN")?;
    let result = job(conn);
    // The transaction only read, so ending it cannot lose anything.
    let ended = conn.execute_batch("ROLLBACK");
    let value = result?;
    ended?;
    Ok(value)
}

/// Opens the database for writing, creating it if needed, and applies pending migrations.
#[cfg(test)]
pub(crate) fn open_writer(path: &Path) -> Result<Connection, StoreError> {
    open_writer_tracking(path, LastWriteFault::default())
}

/// Opens the database for writing, creating it if needed, applies pending migrations, and
/// clears `last_fault` after each commit that writes pages.
pub(crate) fn open_writer_tracking(
    path: &Path,
    last_fault: LastWriteFault,
) -> Result<Connection, StoreError> {
    let mut conn = Connection::open(path)?;
    conn.busy_timeout(BUSY_TIMEOUT)?;
    // Takes effect only while the file is still empty, so it must precede the WAL switch.
    conn.pragma_update(None, "page_size", NEW_FILE_PAGE_SIZE)?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    conn.pragma_update(None, "cache_size", WRITER_CACHE_KIB)?;
    conn.pragma_update(None, "temp_store", "MEMORY")?;
    conn.pragma_update(None, "journal_size_limit", WAL_SIZE_LIMIT_BYTES)?;
    conn.set_prepared_statement_cache_capacity(WRITER_STATEMENT_CACHE);
    migrate(&conn)?;
    start_checkpointer(&mut conn, path, last_fault)?;
    Ok(conn)
}

/// Returns true when the file at `path` lacks a migration that this build would apply,
/// read through a read-only connection. A file without the migrations table needs all.
pub(crate) fn needs_migration(path: &Path) -> Result<bool, StoreError> {
    let conn = open_reader(path)?;
    let has_table: bool = conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' \
         AND name = 'schema_migrations')",
        [],
        |row| row.get(0),
    )?;
    if !has_table {
        return Ok(true);
    }
    let applied = applied_versions(&conn)?;
    Ok(MIGRATIONS
        .iter()
        .any(|migration| !applied.contains(&migration.version)))
}

/// Returns the migration versions that `schema_migrations` records.
fn applied_versions(conn: &Connection) -> rusqlite::Result<HashSet<i64>> {
    conn.prepare("SELECT version FROM schema_migrations")?
        .query_map([], |row| row.get(0))?
        .collect()
}

/// Starts the checkpoint thread and installs the WAL hook that wakes it after commits.
///
/// The thread exits when `writer` closes, because the hook owns the only sender.
fn start_checkpointer(
    writer: &mut Connection,
    path: &Path,
    last_fault: LastWriteFault,
) -> Result<(), StoreError> {
    let checkpointer = Connection::open(path)?;
    checkpointer.busy_timeout(BUSY_TIMEOUT)?;
    checkpointer.pragma_update(None, "synchronous", "NORMAL")?;
    // A full channel means a checkpoint is already pending, which covers this commit too.
    let (wake, woken) = mpsc::sync_channel::<()>(1);
    std::thread::Builder::new()
        .name("agentlens-sqlite-checkpoint".to_owned())
        .spawn(move || {
            for () in woken {
                let result =
                    checkpointer.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()));
                log_checkpoint_error(result, None);
            }
        })
        .map_err(|source| StoreError::Thread(source.to_string()))?;

    // The hook counts WAL pages, and the page size depends on when the file was created.
    let page_size: i64 = writer.query_row("PRAGMA page_size", [], |row| row.get(0))?;
    let request_pages = wal_pages(CHECKPOINT_WAL_BYTES, page_size);
    let writer_pages = wal_pages(WRITER_CHECKPOINT_WAL_BYTES, page_size);

    // The hook runs after the commit, and an error from it would fail the statement that
    // committed, so a failed checkpoint is only logged, as SQLite's own hook does. SQLite
    // calls it only for commits that wrote pages, which is what clears a storage fault.
    writer.wal_hook(Some(move |wal: &mut Wal, pages: i32| {
        last_fault.clear();
        if pages >= writer_pages {
            log_checkpoint_error(wal.checkpoint(), Some(pages));
        } else if pages >= request_pages {
            let _ = wake.try_send(());
        }
        Ok(())
    }))?;
    Ok(())
}

/// Logs a failed checkpoint. `SQLITE_BUSY` only means that the other connection is running
/// a checkpoint at that moment, which covers this one, so it is logged at debug level.
fn log_checkpoint_error(result: rusqlite::Result<()>, pages: Option<i32>) {
    let Err(error) = result else {
        return;
    };
    if error.sqlite_error_code() == Some(rusqlite::ErrorCode::DatabaseBusy) {
        tracing::debug!(%error, wal.pages = pages, "wal checkpoint skipped: another is running");
    } else {
        tracing::warn!(%error, wal.pages = pages, "wal checkpoint failed");
    }
}

/// Returns how many pages of `page_size` bytes make `bytes`, at least one.
fn wal_pages(bytes: i64, page_size: i64) -> i32 {
    i32::try_from(bytes / page_size.max(512)).map_or(i32::MAX, |pages| pages.max(1))
}

fn open_reader(path: &Path) -> Result<Connection, StoreError> {
    let flags = OpenFlags::SQLITE_OPEN_READ_ONLY
        | OpenFlags::SQLITE_OPEN_NO_MUTEX
        | OpenFlags::SQLITE_OPEN_URI;
    let conn = Connection::open_with_flags(path, flags)?;
    conn.busy_timeout(BUSY_TIMEOUT)?;
    Ok(conn)
}

/// Applies, in version order, every migration that `schema_migrations` does not record,
/// each in its own transaction. A missing version below a recorded one is applied too.
fn migrate(conn: &Connection) -> Result<(), StoreError> {
    apply_migrations(conn, MIGRATIONS)
}

/// Applies those of `migrations` that `schema_migrations` does not record, as [`migrate`].
pub(super) fn apply_migrations(
    conn: &Connection,
    migrations: &[Migration],
) -> Result<(), StoreError> {
    conn.execute_batch(
        "CREATE TABLE IF NOT EXISTS schema_migrations (
             version INTEGER PRIMARY KEY,
             name TEXT NOT NULL,
             applied_at TEXT NOT NULL
         )",
    )?;
    let applied = applied_versions(conn)?;

    let known = MIGRATIONS.last().map_or(0, |migration| migration.version);
    if let Some(&found) = applied.iter().filter(|&&version| version > known).max() {
        return Err(StoreError::NewerSchema { found, known });
    }

    for migration in migrations.iter().filter(|m| !applied.contains(&m.version)) {
        let (version, name) = (migration.version, migration.name);
        let apply = || -> rusqlite::Result<()> {
            conn.execute_batch("BEGIN IMMEDIATE")?;
            conn.execute_batch(migration.sql)?;
            if let Some(step) = migration.after_sql {
                step(conn)?;
            }
            conn.execute(
                "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?1, ?2, ?3)",
                (version, name, super::now_text()),
            )?;
            conn.execute_batch("COMMIT")
        };
        if let Err(source) = apply() {
            let _ = conn.execute_batch("ROLLBACK");
            return Err(StoreError::Migration { version, source });
        }
        tracing::info!(
            migration.version = version,
            migration.name = name,
            "applied migration"
        );
    }
    Ok(())
}

/// Converts a token count to an SQLite integer, saturating at `i64::MAX`.
pub(crate) fn sql_count(count: u64) -> i64 {
    i64::try_from(count).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Creates a database at schema version 1 holding one session with a `cost_tracked`
    /// and an `llm_response` that share a call id, both counted as version 1 did.
    fn version_1_database() -> Connection {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch(
            "CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, \
             applied_at TEXT NOT NULL)",
        )
        .unwrap();
        conn.execute_batch(MIGRATIONS[0].sql).unwrap();
        conn.execute_batch(
            "INSERT INTO schema_migrations VALUES (1, 'initial', '2026-02-07T10:00:00.000000Z');
             INSERT INTO sessions VALUES ('default', 's1', 'a1', NULL, 't', NULL, 't', 'active',
                 2, 0, 0, 1, '0.8', 0, 1010, 205, 0, 0, '[]', 'h2');
             INSERT INTO events (id, tenant_id, timestamp, session_id, agent_id, event_type,
                 severity, payload, metadata, hash, is_error, cost_pico, cost_source,
                 input_tokens, output_tokens, cache_read_tokens, cache_write_5m_tokens,
                 cache_write_1h_tokens, call_id)
             VALUES
                 ('E1', 'default', 't', 's1', 'a1', 'cost_tracked', 'info', '{}', '{}', 'h1', 0,
                  500000000000, 'reported', 10, 5, 0, 0, 0, 'c1'),
                 ('E2', 'default', 't', 's1', 'a1', 'llm_response', 'info', '{}', '{}', 'h2', 0,
                  300000000000, 'reported', 1000, 200, 0, 0, 0, 'c1');",
        )
        .unwrap();
        conn
    }

    #[test]
    fn large_commits_are_checkpointed_into_database_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("checkpoint.db");
        let conn = open_writer(&path).unwrap();
        let before = std::fs::metadata(&path).unwrap().len();

        // About 32 MiB in one commit, twice the WAL size that requests a checkpoint.
        conn.execute_batch(
            "CREATE TABLE filler (data BLOB);
             WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 8000)
             INSERT INTO filler SELECT randomblob(4000) FROM n;",
        )
        .unwrap();

        // The writer leaves a WAL this small to the checkpoint thread.
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        let mut size = before;
        while size < before + 32_000_000 && std::time::Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
            size = std::fs::metadata(&path).unwrap().len();
        }
        assert!(
            size >= before + 32_000_000,
            "database file stayed at {size} bytes"
        );
    }

    #[test]
    fn wal_file_shrinks_after_a_burst() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("burst.db");
        let wal = dir.path().join("burst.db-wal");
        let conn = open_writer(&path).unwrap();

        // About 48 MiB in one commit, more than the size limit of the WAL file.
        conn.execute_batch(
            "CREATE TABLE filler (data BLOB);
             WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 12000)
             INSERT INTO filler SELECT randomblob(4000) FROM n;",
        )
        .unwrap();
        let burst = std::fs::metadata(&wal).unwrap().len();
        assert!(burst > 40_000_000, "WAL after the burst: {burst} bytes");

        // Once a checkpoint has copied every frame, the next commit starts the WAL over and
        // truncates the file to the limit. The checkpoint thread may hold the checkpoint
        // lock for a while, so retry until one reports no busy lock and every frame copied.
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        loop {
            let (busy, frames, copied): (i64, i64, i64) = conn
                .query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |row| {
                    Ok((row.get(0)?, row.get(1)?, row.get(2)?))
                })
                .unwrap();
            if busy == 0 && frames == copied {
                break;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "checkpoint never finished"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        conn.execute_batch("INSERT INTO filler VALUES (x'00')")
            .unwrap();
        let after = std::fs::metadata(&wal).unwrap().len();
        assert!(
            after <= WAL_SIZE_LIMIT_BYTES as u64,
            "WAL after the next commit: {after} bytes"
        );
    }

    #[test]
    fn page_size_applies_to_new_files_only() {
        let dir = tempfile::tempdir().unwrap();
        let page_size = |conn: &Connection| -> i64 {
            conn.query_row("PRAGMA page_size", [], |row| row.get(0))
                .unwrap()
        };

        let new_path = dir.path().join("new.db");
        let new_file = open_writer(&new_path).unwrap();
        assert_eq!(page_size(&new_file), NEW_FILE_PAGE_SIZE);

        let old_path = dir.path().join("old.db");
        let old = Connection::open(&old_path).unwrap();
        old.execute_batch("PRAGMA journal_mode = WAL; CREATE TABLE t (x INTEGER);")
            .unwrap();
        drop(old);
        let reopened = open_writer(&old_path).unwrap();
        assert_eq!(page_size(&reopened), 4096);
    }

    #[test]
    fn wal_pages_round_down_and_stay_positive() {
        assert_eq!(wal_pages(CHECKPOINT_WAL_BYTES, 4096), 4096);
        assert_eq!(wal_pages(CHECKPOINT_WAL_BYTES, 16_384), 1024);
        assert_eq!(wal_pages(100, 65_536), 1);
    }

    #[test]
    fn llm_rows_index_replaces_cost_rows_index() {
        let conn = version_1_database();
        migrate(&conn).unwrap();

        let index_count = |name: &str| -> i64 {
            conn.query_row(
                "SELECT COUNT(*) FROM sqlite_master WHERE type = 'index' AND name = ?1",
                [name],
                |row| row.get(0),
            )
            .unwrap()
        };
        assert_eq!(index_count("events_tenant_cost_rows"), 0);
        assert_eq!(index_count("events_tenant_llm_rows"), 1);

        // The counted `llm_response` rows of a range, as `GET /api/analytics/llm` reads them.
        let sql = format!(
            "EXPLAIN QUERY PLAN SELECT COUNT(*) FROM events WHERE tenant_id = ?1 \
             AND {} AND event_type = 'llm_response' AND timestamp >= ?2 AND timestamp <= ?3",
            super::super::cost_rule::COUNTED_COST_ROWS
        );
        let plan: String = conn
            .query_row(&sql, ["default", "a", "b"], |row| row.get(3))
            .unwrap();
        assert!(plan.contains("events_tenant_llm_rows"), "plan: {plan}");
    }

    #[test]
    fn events_seq_continues_after_autoincrement_is_dropped() {
        let conn = version_1_database();
        migrate(&conn).unwrap();

        let events_sql: String = conn
            .query_row(
                "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'events'",
                [],
                |row| row.get(0),
            )
            .unwrap();
        assert!(!events_sql.contains("AUTOINCREMENT"), "{events_sql}");
        conn.execute(
            "INSERT INTO events (id, tenant_id, timestamp, session_id, agent_id, event_type, \
             severity, payload, metadata, hash, is_error) \
             VALUES ('E3', 'default', 't', 's1', 'a1', 'custom', 'info', '{}', '{}', 'h3', 0)",
            [],
        )
        .unwrap();
        let seq: i64 = conn
            .query_row("SELECT seq FROM events WHERE id = 'E3'", [], |row| {
                row.get(0)
            })
            .unwrap();
        assert_eq!(seq, 3);
    }

    #[test]
    fn newer_schema_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("newer.db");
        drop(open_writer(&path).unwrap());
        let conn = Connection::open(&path).unwrap();
        conn.execute(
            "INSERT INTO schema_migrations VALUES (999, 'future', '2027-01-01T00:00:00Z')",
            [],
        )
        .unwrap();
        drop(conn);

        let error = open_writer(&path).unwrap_err();

        assert!(
            matches!(error, StoreError::NewerSchema { found: 999, .. }),
            "{error}"
        );
        assert!(error.to_string().contains("a newer one"), "{error}");
    }

    #[test]
    fn cost_rule_migration_fixes_old_totals() {
        let conn = version_1_database();
        migrate(&conn).unwrap();

        let superseded_by: Option<String> = conn
            .query_row(
                "SELECT superseded_by FROM events WHERE id = 'E1'",
                [],
                |row| row.get(0),
            )
            .unwrap();
        assert_eq!(superseded_by.as_deref(), Some("E2"));
        let (total, input): (String, i64) = conn
            .query_row(
                "SELECT total_cost_usd, input_tokens FROM sessions WHERE id = 's1'",
                [],
                |row| Ok((row.get(0)?, row.get(1)?)),
            )
            .unwrap();
        assert_eq!(total, "0.3");
        assert_eq!(input, 1000);
    }

    #[tokio::test]
    async fn reader_job_reads_one_snapshot() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("snapshot.db");
        drop(open_writer(&path).unwrap());
        let pool = std::sync::Arc::new(ReaderPool::new(&path));
        let read_through = |conn: &Connection| -> Result<i64, StoreError> {
            Ok(conn.query_row(
                "SELECT indexed_through FROM session_index_state",
                [],
                |row| row.get(0),
            )?)
        };

        let writer_path = path.clone();
        let (before, after) = pool
            .run(move |conn| {
                let before = read_through(conn)?;
                // A commit lands between two statements of the job.
                let writer = Connection::open(&writer_path)?;
                writer.execute("UPDATE session_index_state SET indexed_through = 7", [])?;
                Ok((before, read_through(conn)?))
            })
            .await
            .unwrap();
        assert_eq!((before, after), (0, 0));

        let next = pool.run(move |conn| read_through(conn)).await.unwrap();
        assert_eq!(next, 7);
    }
}
