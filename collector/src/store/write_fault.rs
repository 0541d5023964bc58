//! Storage faults: failures of the database file or its disk that no retry fixes until an
//! operator acts, such as a full disk. The HTTP layer names them in its error responses,
//! and the health route reports the last one until a write succeeds again.

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

/// The storage fault of the last write that failed with one, cleared by the next write
/// that succeeds.
#[derive(Debug, Clone, Default)]
pub(crate) struct LastWriteFault(Arc<Mutex<Option<String>>>);

impl LastWriteFault {
    /// Records the outcome of a write.
    pub(crate) fn record<T>(&self, result: &Result<T, StoreError>) {
        let fault = match result {
            Ok(_) => None,
            Err(error) if error.storage_fault().is_some() => Some(error.to_string()),
            // Other errors, such as a rejected batch, say nothing about the storage.
            Err(_) => return,
        };
        if let Ok(mut last) = self.0.lock() {
            *last = fault;
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
    fn success_clears_recorded_fault() {
        let last = LastWriteFault::default();

        last.record::<()>(&Err(sqlite_error(rusqlite::ffi::SQLITE_FULL)));
        let recorded = last.get();
        last.record::<()>(&Err(StoreError::Corrupt("a value".to_owned())));
        let after_other_error = last.get();
        last.record(&Ok(()));

        assert!(recorded.is_some());
        assert_eq!(after_other_error, recorded);
        assert_eq!(last.get(), None);
    }
}
