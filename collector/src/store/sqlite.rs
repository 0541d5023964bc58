//! SQLite connections: opening, pragmas, migrations, the writer thread and the reader pool.
//!
//! All writes go through one connection owned by a dedicated thread, which runs jobs one
//! at a time in arrival order. That serialises appends to every session's hash chain
//! without locks. Reads run on a small pool of connections inside `spawn_blocking`; WAL
//! mode lets them proceed while the writer commits.

use std::path::Path;
use std::sync::{mpsc, Mutex};
use std::time::Duration;

use rusqlite::{Connection, OpenFlags};
use tokio::sync::oneshot;
use ulid::Generator;

use super::StoreError;

/// How long a connection waits for a lock before failing with `SQLITE_BUSY`.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// Most idle reader connections kept open.
const MAX_IDLE_READERS: usize = 8;

/// Numbered migrations, applied in order and recorded in `schema_migrations`.
const MIGRATIONS: &[(i64, &str, &str)] =
    &[(1, "initial", include_str!("migrations/0001_initial.sql"))];

/// State owned by the writer thread and lent to each write job.
#[derive(Debug)]
pub(crate) struct WriterContext {
    /// The only connection that writes.
    pub(crate) conn: Connection,
    /// Source of monotonic event and record ids.
    ids: Generator,
}

impl WriterContext {
    /// Returns a new ULID, greater than every id this writer returned before.
    pub(crate) fn next_id(&mut self) -> String {
        let id = match self.ids.generate() {
            Ok(id) => id,
            Err(overflow) => overflow.commit_overflow_increment(),
        };
        id.to_string()
    }
}

type WriteJob = Box<dyn FnOnce(&mut WriterContext) + Send>;

/// Handle to the writer thread. The thread exits when the last handle is dropped.
#[derive(Debug, Clone)]
pub(crate) struct Writer {
    jobs: mpsc::Sender<WriteJob>,
}

impl Writer {
    /// Starts the writer thread over an open connection.
    pub(crate) fn spawn(conn: Connection) -> Result<Writer, StoreError> {
        let (jobs, receiver) = mpsc::channel::<WriteJob>();
        let mut context = WriterContext {
            conn,
            ids: Generator::new(),
        };
        std::thread::Builder::new()
            .name("agentlens-sqlite-writer".to_owned())
            .spawn(move || {
                for job in receiver {
                    job(&mut context);
                }
            })
            .map_err(|source| StoreError::Thread(source.to_string()))?;
        Ok(Writer { jobs })
    }

    /// Runs `job` on the writer thread and returns its result.
    pub(crate) async fn run<T, F>(&self, job: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&mut WriterContext) -> Result<T, StoreError> + Send + 'static,
    {
        let (reply, result) = oneshot::channel();
        let boxed: WriteJob = Box::new(move |context| {
            // The receiver is gone only when the request was cancelled; the job has
            // already committed or rolled back by then.
            let _ = reply.send(job(context));
        });
        self.jobs
            .send(boxed)
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

    /// Runs `job` on a reader connection on the blocking thread pool.
    pub(crate) async fn run<T, F>(self: &std::sync::Arc<Self>, job: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<T, StoreError> + Send + 'static,
    {
        let pool = std::sync::Arc::clone(self);
        tokio::task::spawn_blocking(move || {
            let mut conn = pool.checkout()?;
            let result = job(&mut conn);
            pool.checkin(conn);
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

/// Opens the database for writing, creating it if needed, and applies pending migrations.
pub(crate) fn open_writer(path: &Path) -> Result<Connection, StoreError> {
    let conn = Connection::open(path)?;
    conn.busy_timeout(BUSY_TIMEOUT)?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    migrate(&conn)?;
    Ok(conn)
}

fn open_reader(path: &Path) -> Result<Connection, StoreError> {
    let flags = OpenFlags::SQLITE_OPEN_READ_ONLY
        | OpenFlags::SQLITE_OPEN_NO_MUTEX
        | OpenFlags::SQLITE_OPEN_URI;
    let conn = Connection::open_with_flags(path, flags)?;
    conn.busy_timeout(BUSY_TIMEOUT)?;
    Ok(conn)
}

/// Applies every migration newer than the recorded schema version, each in its own
/// transaction.
fn migrate(conn: &Connection) -> Result<(), StoreError> {
    conn.execute_batch(
        "CREATE TABLE IF NOT EXISTS schema_migrations (
             version INTEGER PRIMARY KEY,
             name TEXT NOT NULL,
             applied_at TEXT NOT NULL
         )",
    )?;
    let current: i64 = conn.query_row(
        "SELECT COALESCE(MAX(version), 0) FROM schema_migrations",
        [],
        |row| row.get(0),
    )?;

    for &(version, name, sql) in MIGRATIONS.iter().filter(|(v, _, _)| *v > current) {
        let apply = || -> rusqlite::Result<()> {
            conn.execute_batch("BEGIN IMMEDIATE")?;
            conn.execute_batch(sql)?;
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
