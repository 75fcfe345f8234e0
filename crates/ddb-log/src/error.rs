//! Errors of the log. Corruption names the file, the byte offset, what was expected there and
//! what was found.

use std::io;
use std::path::PathBuf;

/// A log error.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LogError {
    #[error(transparent)]
    Io(#[from] io::Error),
    /// Bytes on disk that a writer of this format cannot have produced, not explained by a torn
    /// final write.
    #[error("corrupt log {}: at byte {offset}: expected {expected}, found {found}", path.display())]
    Corrupt {
        path: PathBuf,
        offset: u64,
        expected: String,
        found: String,
    },
    /// A write or sync failed earlier; the log refuses further appends rather than guess what
    /// reached the disk (a failed fsync cannot be retried safely).
    #[error("the log refuses appends after a failed write or sync ({0}); reopen it to recover")]
    Poisoned(String),
    /// The LSN asked for was deleted by retention (or is past the end).
    #[error("LSN {lsn} is not in the log (it holds LSNs {first}..={last})")]
    LsnOutOfRange { lsn: u64, first: u64, last: u64 },
    #[error("{0}")]
    InvalidInput(String),
}

impl LogError {
    pub(crate) fn corrupt(
        path: impl Into<PathBuf>,
        offset: u64,
        expected: impl Into<String>,
        found: impl Into<String>,
    ) -> Self {
        LogError::Corrupt {
            path: path.into(),
            offset,
            expected: expected.into(),
            found: found.into(),
        }
    }
}

/// Result with a [`LogError`].
pub type Result<T, E = LogError> = std::result::Result<T, E>;
