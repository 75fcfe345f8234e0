//! Errors of snapshots. Corruption names the file, the byte offset, what was expected there and
//! what was found, so an operator can go straight to the damaged structure.

use std::io;
use std::path::PathBuf;

/// A snapshot error.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SnapshotError {
    #[error(transparent)]
    Io(#[from] io::Error),
    /// Bytes on disk that a writer of this format cannot have produced.
    #[error("corrupt snapshot {}: at byte {offset}: expected {expected}, found {found}", path.display())]
    Corrupt {
        path: PathBuf,
        offset: u64,
        expected: String,
        found: String,
    },
    /// The caller broke a rule of the writer (keys out of order, bad options).
    #[error("{0}")]
    InvalidInput(String),
    /// An item's JSON or typed value could not be parsed.
    #[error("item: {0}")]
    Model(#[from] ddb_model::DdbError),
}

impl SnapshotError {
    pub(crate) fn corrupt(
        path: impl Into<PathBuf>,
        offset: u64,
        expected: impl Into<String>,
        found: impl Into<String>,
    ) -> Self {
        SnapshotError::Corrupt {
            path: path.into(),
            offset,
            expected: expected.into(),
            found: found.into(),
        }
    }

    /// The byte offset of a corruption, if this is one.
    pub fn corrupt_offset(&self) -> Option<u64> {
        match self {
            SnapshotError::Corrupt { offset, .. } => Some(*offset),
            _ => None,
        }
    }
}

/// Result with a [`SnapshotError`].
pub type Result<T, E = SnapshotError> = std::result::Result<T, E>;
