//! Errors of the export crate. Problems with the bytes of a file name the file and the byte
//! offset (or line) in it, what was expected and what was found. Problems with one line of an
//! import are not errors of this type: they are [`crate::ImportLineError`]s, yielded in the
//! stream of lines so that the other lines still import.

use std::io;
use std::path::PathBuf;

/// An export or import error.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ExportError {
    #[error(transparent)]
    Io(#[from] io::Error),
    /// A manifest is not what the format says it must be.
    #[error("corrupt export file {}{}: expected {expected}, found {found}", file.display(), at_offset(*offset))]
    Corrupt {
        file: PathBuf,
        /// The byte offset in the file, when the problem has one.
        offset: Option<u64>,
        expected: String,
        found: String,
    },
    /// A well-formed export this reader cannot import (Ion output, an incremental export, an
    /// unknown manifest version).
    #[error("{}: {what} is not supported", file.display())]
    Unsupported { file: PathBuf, what: String },
    /// The export directory already holds a published export (a `manifest-summary.json`).
    #[error("{}: an export is already published here (manifest-summary.json exists)", dir.display())]
    AlreadyPublished { dir: PathBuf },
    /// The import location holds more than one export; the caller must name one.
    #[error("{} holds {} exports ({}); give the prefix of one of them (…/AWSDynamoDB/<ExportId>)", dir.display(), exports.len(), exports.join(", "))]
    AmbiguousExports { dir: PathBuf, exports: Vec<String> },
    /// The identity, options or import location cannot be used.
    #[error("invalid export request: {0}")]
    InvalidRequest(String),
    /// An item handed to the writer is not an item (a bug in the caller: items come from a
    /// table, already valid). `index` counts the items pushed before it.
    #[error("item {index} pushed to the export: {message}")]
    InvalidItem { index: u64, message: String },
}

fn at_offset(offset: Option<u64>) -> String {
    offset.map_or_else(String::new, |o| format!(" at byte {o}"))
}

impl ExportError {
    pub(crate) fn corrupt(
        file: impl Into<PathBuf>,
        offset: Option<u64>,
        expected: impl Into<String>,
        found: impl Into<String>,
    ) -> Self {
        Self::Corrupt {
            file: file.into(),
            offset,
            expected: expected.into(),
            found: found.into(),
        }
    }
}

/// Result with [`ExportError`].
pub type Result<T, E = ExportError> = std::result::Result<T, E>;
