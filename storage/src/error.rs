//! The store's one error type.

use std::fmt;

/// Why a store call failed. The engine maps each kind to one protocol answer: `Unavailable` is a
/// transient failure (451 4.3.0, `NO [UNAVAILABLE]`), the others are permanent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreError {
    /// The backend failed (I/O error, full disk, corruption); the operation may succeed later.
    Unavailable(String),
    /// Another process holds the store open.
    Locked(String),
    /// The store was written by a newer Mailgenic with a schema this one does not know.
    SchemaTooNew { found: u32, supported: u32 },
    /// The named thing does not exist.
    NotFound(String),
    /// The named thing exists already.
    Exists(String),
    /// The request is invalid (a malformed address, a domain that is not local, ...).
    Invalid(String),
    /// The stored data is not what this version wrote.
    Corrupt(String),
}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StoreError::Unavailable(m) => write!(f, "store unavailable: {m}"),
            StoreError::Locked(m) => write!(f, "store is in use: {m}"),
            StoreError::SchemaTooNew { found, supported } => write!(
                f,
                "the store has schema version {found}, written by a newer Mailgenic; this one supports up to {supported}"
            ),
            StoreError::NotFound(m) => write!(f, "{m} does not exist"),
            StoreError::Exists(m) => write!(f, "{m} exists already"),
            StoreError::Invalid(m) => write!(f, "{m}"),
            StoreError::Corrupt(m) => write!(f, "corrupt store record: {m}"),
        }
    }
}

impl std::error::Error for StoreError {}

impl From<rocksdb::Error> for StoreError {
    fn from(e: rocksdb::Error) -> Self {
        let text = e.into_string();
        if text.contains("lock") && text.contains("LOCK") {
            StoreError::Locked(text)
        } else {
            StoreError::Unavailable(text)
        }
    }
}
