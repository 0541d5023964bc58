//! The exclusive advisory lock that keeps a second `agentlens serve` off a database file.
//!
//! Two servers on one file would each run the alert evaluator and fire every alert twice,
//! and their id generators would interleave. The lock is taken on `<db>.lock` (the resolved
//! database path with `.lock` appended), with `File::try_lock`, and held until the server
//! exits, when the operating system releases it, crash or not. The file contains the
//! holder's process id and listen address, so the rejected process can name them. The file
//! itself stays. `agentlens keys` takes the lock only to upgrade the file's schema, and
//! other readers do not take it: SQLite serialises their writes.

use std::ffi::OsString;
use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, Write};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

/// Errors from taking the database lock.
#[derive(Debug, thiserror::Error)]
pub enum DatabaseLockError {
    /// Another process holds the lock.
    #[error(
        "database {} is in use by another agentlens serve ({}; lock file {}); stop that \
         server or pass a different --db",
        .database.display(),
        .holder.as_deref().unwrap_or("holder unknown"),
        .lock_file.display()
    )]
    Held {
        /// Database file.
        database: PathBuf,
        /// Lock file.
        lock_file: PathBuf,
        /// Process id and listen address of the holder, as it recorded them.
        holder: Option<String>,
    },
    /// The lock file could not be opened, locked or written.
    #[error("cannot lock {}: {source}", .lock_file.display())]
    Io {
        /// Lock file.
        lock_file: PathBuf,
        /// The file system error.
        source: std::io::Error,
    },
}

/// A held lock on a database file; dropping it releases the lock.
#[derive(Debug)]
pub struct DatabaseLock {
    _file: File,
}

impl DatabaseLock {
    /// Takes the lock of `database` without waiting and records this process's id and
    /// `bind` address in the lock file.
    ///
    /// # Errors
    ///
    /// Returns [`DatabaseLockError::Held`] when another process holds the lock, and
    /// [`DatabaseLockError::Io`] when the lock file cannot be opened or written.
    pub fn acquire(database: &Path, bind: SocketAddr) -> Result<DatabaseLock, DatabaseLockError> {
        let lock_file = lock_path(database);
        let io_error = |source| DatabaseLockError::Io {
            lock_file: lock_file.clone(),
            source,
        };
        // Not truncated on open: the holder's record must survive until the lock is ours.
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&lock_file)
            .map_err(io_error)?;

        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                return Err(DatabaseLockError::Held {
                    database: database.to_owned(),
                    holder: read_holder(&mut file),
                    lock_file,
                })
            }
            Err(TryLockError::Error(source)) => return Err(io_error(source)),
        }

        let record = format!("pid {}, listening on {bind}\n", std::process::id());
        file.set_len(0).map_err(io_error)?;
        file.rewind().map_err(io_error)?;
        file.write_all(record.as_bytes()).map_err(io_error)?;
        file.flush().map_err(io_error)?;
        Ok(DatabaseLock { _file: file })
    }
}

/// Returns the lock file of `database`: its resolved path with `.lock` appended.
///
/// The path is resolved, symbolic links and `..` included, so that two spellings of one
/// file share one lock. A file that does not exist yet is resolved through its folder.
/// NOTE: a hard link is a second path that nothing resolves, so it gets a lock of its own.
pub fn lock_path(database: &Path) -> PathBuf {
    let resolved = std::fs::canonicalize(database).unwrap_or_else(|_| {
        match (database.parent(), database.file_name()) {
            (Some(parent), Some(name)) => {
                let parent = if parent.as_os_str().is_empty() {
                    Path::new(".")
                } else {
                    parent
                };
                std::fs::canonicalize(parent)
                    .map_or_else(|_| database.to_owned(), |dir| dir.join(name))
            }
            _ => database.to_owned(),
        }
    });
    let mut path = OsString::from(resolved.as_os_str());
    path.push(".lock");
    PathBuf::from(path)
}

/// Reads the holder's record. Returns `None` when it is empty or unreadable, as on
/// Windows, where the lock also blocks reads.
fn read_holder(file: &mut File) -> Option<String> {
    let mut text = String::new();
    file.read_to_string(&mut text).ok()?;
    let text = text.trim();
    (!text.is_empty()).then(|| text.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn second_lock_names_first_holder() {
        let dir = tempfile::tempdir().unwrap();
        let database = dir.path().join("agentlens.db");
        let bind: SocketAddr = "127.0.0.1:3400".parse().unwrap();
        let first = DatabaseLock::acquire(&database, bind).unwrap();

        let error = DatabaseLock::acquire(&database, bind).unwrap_err();
        let message = error.to_string();
        assert!(matches!(error, DatabaseLockError::Held { .. }), "{message}");
        assert!(message.contains("listening on 127.0.0.1:3400"), "{message}");
        assert!(message.contains("agentlens.db.lock"), "{message}");

        drop(first);
        assert!(DatabaseLock::acquire(&database, bind).is_ok());
    }

    #[cfg(unix)]
    #[test]
    fn symlinked_path_shares_lock() {
        let dir = tempfile::tempdir().unwrap();
        let database = dir.path().join("agentlens.db");
        std::fs::write(&database, b"").unwrap();
        let link = dir.path().join("link.db");
        std::os::unix::fs::symlink(&database, &link).unwrap();
        let bind: SocketAddr = "127.0.0.1:3400".parse().unwrap();
        let _first = DatabaseLock::acquire(&link, bind).unwrap();

        let error = DatabaseLock::acquire(&database, bind).unwrap_err();

        assert!(matches!(error, DatabaseLockError::Held { .. }), "{error}");
    }

    #[test]
    fn new_file_lock_is_resolved_through_folder() {
        let dir = tempfile::tempdir().unwrap();
        let nested = dir.path().join("sub");
        std::fs::create_dir(&nested).unwrap();
        let roundabout = nested.join("..").join("agentlens.db");

        let lock = lock_path(&roundabout);

        let expected = std::fs::canonicalize(dir.path())
            .unwrap()
            .join("agentlens.db.lock");
        assert_eq!(lock, expected);
    }
}
