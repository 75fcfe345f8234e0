//! Engine errors: storage failures below the request layer. A request sees them as
//! `InternalServerError` with the message (which names the file and offset).

use std::path::PathBuf;

use ddb_model::{DdbError, ErrorKind};

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Another process holds the database's lock file.
    #[error(
        "{path}: the database is locked by process {pid} (a database has one owner at a time; open it read-only to inspect it)"
    )]
    Locked { path: PathBuf, pid: String },
    #[error(transparent)]
    Io(#[from] std::io::Error),
    #[error(transparent)]
    Log(#[from] ddb_log::LogError),
    #[error(transparent)]
    Snapshot(#[from] ddb_snapshot::SnapshotError),
    #[error(transparent)]
    Merge(#[from] ddb_merge::MergeError),
    /// Boxed: a backup error carries a location and is much larger than the others.
    #[error(transparent)]
    Backup(Box<ddb_backup::BackupError>),
    /// A catalog or table state file that does not load.
    #[error("{path}: {message}")]
    Corrupt { path: PathBuf, message: String },
    /// A state file (catalog, `CURRENT`) that does not check out.
    #[error("{path}: byte {offset}: expected {expected}")]
    CorruptState {
        path: PathBuf,
        offset: u64,
        expected: String,
    },
    /// The database is open read-only, closed, or failed earlier.
    #[error("{0}")]
    Unavailable(String),
    /// A request error (validation, not found, ...).
    #[error("{0}")]
    Service(DdbError),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl From<ddb_backup::BackupError> for Error {
    fn from(e: ddb_backup::BackupError) -> Self {
        Self::Backup(Box::new(e))
    }
}

impl From<DdbError> for Error {
    fn from(e: DdbError) -> Self {
        Self::Service(e)
    }
}

impl From<Error> for DdbError {
    fn from(e: Error) -> Self {
        match e {
            Error::Service(e) => e,
            other => DdbError::new(ErrorKind::InternalServerError, other.to_string()),
        }
    }
}
