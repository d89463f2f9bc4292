//! The one error type of the store. Messages say what happened and what the person can do.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error(
        "cannot find the data folder: neither XDG_DATA_HOME nor HOME is set to an absolute path"
    )]
    NoDataDir,

    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// The file (or its key) is damaged or is not a link store. Nothing was written to it.
    #[error(
        "the linked-phone store {path} cannot be read: {reason}. It was left untouched; \
         move it aside (for example `mv {path} {path}.broken`) and link your phones again"
    )]
    Corrupt { path: PathBuf, reason: String },

    #[error(
        "the linked-phone store {path} was written by a newer version of cable \
         (schema {found}; this version understands {known})"
    )]
    TooNew {
        path: PathBuf,
        found: i64,
        known: i64,
    },

    /// The store exists but the key that encrypts its link secrets cannot be had right now.
    #[error("the key for the linked-phone store {path} is not available: {reason}")]
    KeyUnavailable { path: PathBuf, reason: String },

    #[error("the linked-phone store {path} is busy in another process and stayed busy: {source}")]
    Busy {
        path: PathBuf,
        #[source]
        source: rusqlite::Error,
    },

    #[error("the linked-phone store {path} failed: {source}")]
    Database {
        path: PathBuf,
        #[source]
        source: rusqlite::Error,
    },

    #[error("device id {prefix:?} matches {count} linked phones; type more of it")]
    AmbiguousId { prefix: String, count: usize },

    #[error("invalid link: {0}")]
    InvalidLink(&'static str),
}

impl StoreError {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Self::Io {
            path: path.into(),
            source,
        }
    }

    pub(crate) fn corrupt(path: impl Into<PathBuf>, reason: impl Into<String>) -> Self {
        Self::Corrupt {
            path: path.into(),
            reason: reason.into(),
        }
    }

    /// Sorts an SQLite error: damage becomes `Corrupt`, lock timeouts `Busy`, the rest `Database`.
    pub(crate) fn sqlite(path: impl Into<PathBuf>, source: rusqlite::Error) -> Self {
        use rusqlite::ErrorCode;
        let path = path.into();
        match source.sqlite_error_code() {
            Some(ErrorCode::DatabaseCorrupt | ErrorCode::NotADatabase) => Self::Corrupt {
                path,
                reason: source.to_string(),
            },
            Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked) => {
                Self::Busy { path, source }
            }
            _ => Self::Database { path, source },
        }
    }
}
