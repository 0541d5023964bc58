//! Storage faults: failures of the database file or its disk that no retry fixes until an
//! operator acts, such as a full disk. The HTTP layer names them in its error responses,
//! and the health route reports the last one until a write commits data again.
//!
//! Both sides of [`LastWriteFault`] run on the writer thread, in the order of the writes.
//! A job records its fault before it replies. The WAL hook of the writer connection clears
//! the fault after each commit that wrote pages to the WAL. A job that writes nothing,
//! such as a WAL checkpoint or an update that matches no row, commits no pages, so it
//! leaves the fault in place.

use std::sync::{Arc, Mutex};

use rusqlite::ErrorCode;

use super::StoreError;

/// A failure of the database file or its disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StorageFault {
    /// The disk of the database or its WAL is full (`SQLITE_FULL`).
    Full,
    /// The database, its WAL or their directory cannot be written (`SQLITE_READONLY`).
    ReadOnly,
    /// The database file is damaged or not a database (`SQLITE_CORRUPT`,
    /// `SQLITE_NOTADB`).
    Corrupt,
}

impl StoreError {
    /// Returns the storage fault behind this error, when SQLite reported one.
    pub fn storage_fault(&self) -> Option<StorageFault> {
        let error = match self {
            StoreError::Sqlite(error) => error,
            StoreError::Migration { source, .. } => source,
            _ => return None,
        };
        let rusqlite::Error::SqliteFailure(failure, _) = error else {
            return None;
        };
        match failure.code {
            ErrorCode::DiskFull => Some(StorageFault::Full),
            ErrorCode::ReadOnly => Some(StorageFault::ReadOnly),
            ErrorCode::DatabaseCorrupt | ErrorCode::NotADatabase => Some(StorageFault::Corrupt),
            _ => None,
        }
    }
}

/// The storage fault of the last write that failed with one, cleared by the next commit
/// that stores data.
#[derive(Debug, Clone, Default)]
pub(crate) struct LastWriteFault(Arc<Mutex<Option<String>>>);

impl LastWriteFault {
    /// Records the fault of a failed write. A success or another error, such as a rejected
    /// batch, is no sign of a storage fault and changes nothing.
    pub(crate) fn record_failure<T>(&self, result: &Result<T, StoreError>) {
        let Err(error) = result else {
            return;
        };
        if error.storage_fault().is_none() {
            return;
        }
        if let Ok(mut last) = self.0.lock() {
            *last = Some(error.to_string());
        }
    }

    /// Forgets the recorded fault, because a transaction that wrote pages has committed.
    pub(crate) fn clear(&self) {
        if let Ok(mut last) = self.0.lock() {
            *last = None;
        }
    }

    /// Returns the message of the recorded fault, if any.
    pub(crate) fn get(&self) -> Option<String> {
        self.0.lock().ok().and_then(|last| last.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{Store, WriterContext};

    fn sqlite_error(code: i32) -> StoreError {
        StoreError::Sqlite(rusqlite::Error::SqliteFailure(
            rusqlite::ffi::Error::new(code),
            None,
        ))
    }

    #[test]
    fn sqlite_codes_map_to_faults() {
        assert_eq!(
            sqlite_error(rusqlite::ffi::SQLITE_FULL).storage_fault(),
            Some(StorageFault::Full)
        );
        assert_eq!(
            sqlite_error(rusqlite::ffi::SQLITE_READONLY).storage_fault(),
            Some(StorageFault::ReadOnly)
        );
        assert_eq!(
            sqlite_error(rusqlite::ffi::SQLITE_CORRUPT).storage_fault(),
            Some(StorageFault::Corrupt)
        );
        assert_eq!(
            sqlite_error(rusqlite::ffi::SQLITE_BUSY).storage_fault(),
            None
        );
    }

    #[test]
    fn only_storage_faults_are_recorded() {
        let last = LastWriteFault::default();

        last.record_failure::<()>(&Err(sqlite_error(rusqlite::ffi::SQLITE_FULL)));
        let recorded = last.get();
        last.record_failure::<()>(&Err(StoreError::Corrupt("a value".to_owned())));
        let after_other_error = last.get();
        last.record_failure(&Ok(()));
        let after_success = last.get();
        last.clear();

        assert!(recorded.is_some());
        assert_eq!(after_other_error, recorded);
        assert_eq!(after_success, recorded);
        assert_eq!(last.get(), None);
    }

    fn full_disk(_: &mut WriterContext) -> Result<(), StoreError> {
        Err(sqlite_error(rusqlite::ffi::SQLITE_FULL))
    }

    #[tokio::test]
    async fn write_without_changes_keeps_fault() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("agentlens.db")).unwrap();

        store.write(full_disk).await.unwrap_err();
        let recorded = store.last_write_fault();
        store.checkpoint_on_stop().await.unwrap();
        store.write(|_| Ok(())).await.unwrap();
        let after_empty_writes = store.last_write_fault();

        assert!(recorded.is_some());
        assert_eq!(after_empty_writes, recorded);
    }

    #[tokio::test]
    async fn committed_write_clears_fault() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("agentlens.db")).unwrap();

        store.write(full_disk).await.unwrap_err();
        let recorded = store.last_write_fault();
        let hash = crate::auth::hash_key("als_test");
        store
            .insert_api_key(hash, "ci".to_owned(), vec!["read".into()], "default")
            .await
            .unwrap();

        assert!(recorded.is_some());
        assert_eq!(store.last_write_fault(), None);
    }
}
