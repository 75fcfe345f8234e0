//! Errors of the backup crate. Every decode error names the file, where in it (byte offset, or
//! row group and row), what was expected and what was found.

use std::io;
use std::path::PathBuf;

/// Where in a file a problem is.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Location {
    pub row_group: Option<usize>,
    pub row: Option<u64>,
    pub offset: Option<u64>,
}

impl Location {
    pub const fn offset(offset: u64) -> Self {
        Self {
            row_group: None,
            row: None,
            offset: Some(offset),
        }
    }

    pub const fn row_group(row_group: usize) -> Self {
        Self {
            row_group: Some(row_group),
            row: None,
            offset: None,
        }
    }

    pub const fn row(row_group: usize, row: u64) -> Self {
        Self {
            row_group: Some(row_group),
            row: Some(row),
            offset: None,
        }
    }
}

impl std::fmt::Display for Location {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut parts = Vec::new();
        if let Some(rg) = self.row_group {
            parts.push(format!("row group {rg}"));
        }
        if let Some(row) = self.row {
            parts.push(format!("row {row}"));
        }
        if let Some(offset) = self.offset {
            parts.push(format!("byte {offset}"));
        }
        if parts.is_empty() {
            f.write_str("the file as a whole")
        } else {
            f.write_str(&parts.join(", "))
        }
    }
}

/// A backup error.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BackupError {
    #[error(transparent)]
    Io(#[from] io::Error),
    /// Bytes on disk are not what the format or the manifest says they must be.
    #[error("corrupt backup file {}: at {location}: expected {expected}, found {found}", file.display())]
    Corrupt {
        file: PathBuf,
        location: Location,
        expected: String,
        found: String,
    },
    /// The manifest names a format version this reader does not know.
    #[error("{}: format_version {found} is not supported (this reader reads version {supported})", file.display())]
    UnsupportedVersion {
        file: PathBuf,
        found: u64,
        supported: u32,
    },
    /// The directory holds no published backup (no `manifest.json`).
    #[error("{}: no backup is published here (no manifest.json)", dir.display())]
    NotPublished { dir: PathBuf },
    /// The merge failed (log, snapshot, spill runs or a sink).
    #[error("merge: {0}")]
    Merge(#[from] ddb_merge::MergeError),
    /// The Parquet library refused to write (a bug or an I/O error below it).
    #[error("parquet writer for {}: {message}", file.display())]
    ParquetWrite { file: PathBuf, message: String },
    /// The request or options cannot be built (bad schema, bad option values).
    #[error("invalid backup request: {0}")]
    InvalidRequest(String),
    /// An item from the merge is not canonical item JSON of the table (a bug upstream).
    #[error("item with key {key}: {message}")]
    InvalidItem { key: String, message: String },
    /// The artifacts written do not hold the rows the merge produced: nothing was published.
    #[error("the artifacts hold {written:?}, the merge produced {merged:?}; not published")]
    FingerprintMismatch {
        written: ddb_model::Fingerprint,
        merged: ddb_model::Fingerprint,
    },
}

impl BackupError {
    pub(crate) fn corrupt(
        file: impl Into<PathBuf>,
        location: Location,
        expected: impl Into<String>,
        found: impl Into<String>,
    ) -> Self {
        Self::Corrupt {
            file: file.into(),
            location,
            expected: expected.into(),
            found: found.into(),
        }
    }
}

/// Result with [`BackupError`].
pub type Result<T, E = BackupError> = std::result::Result<T, E>;
