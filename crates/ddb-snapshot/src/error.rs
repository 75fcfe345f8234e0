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
    #[error("corrupt snapshot {}: {} at byte {offset}: expected {expected}, found {found}", path.display(), damage.name())]
    Corrupt {
        path: PathBuf,
        /// Which structure is damaged.
        damage: Damage,
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

/// The structure a corruption was found in (`formats/snapshot/SPEC.md` names the offset each
/// is reported at). Golden vectors record it, so a test tells "the right error" from "an error".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Damage {
    /// A file too short to hold a header and a trailer.
    Size,
    /// The 64-byte header.
    Header,
    /// Zero padding (after the header, after a block) that is not zero.
    Padding,
    /// A column chunk: stored size, checksum, decompression, or values not filling its raw bytes.
    Chunk,
    /// A decoded block against its index entry: key order, first/last key, zone maps.
    Block,
    /// The footer: its checksum or one of its rules.
    Footer,
    /// The 64-byte trailer.
    Trailer,
    /// The manifest: its checksum, JSON or one of its rules.
    Manifest,
    /// A file that checks out on its own but is not the one its manifest entry describes
    /// (size, whole-file hash, table, LSN, rows, key range, footer checksum, fingerprint).
    Mismatch,
}

impl Damage {
    /// The name used in messages and golden vectors.
    pub fn name(self) -> &'static str {
        match self {
            Damage::Size => "size",
            Damage::Header => "header",
            Damage::Padding => "padding",
            Damage::Chunk => "chunk",
            Damage::Block => "block",
            Damage::Footer => "footer",
            Damage::Trailer => "trailer",
            Damage::Manifest => "manifest",
            Damage::Mismatch => "mismatch",
        }
    }
}

impl SnapshotError {
    pub(crate) fn corrupt(
        path: impl Into<PathBuf>,
        damage: Damage,
        offset: u64,
        expected: impl Into<String>,
        found: impl Into<String>,
    ) -> Self {
        SnapshotError::Corrupt {
            path: path.into(),
            damage,
            offset,
            expected: expected.into(),
            found: found.into(),
        }
    }

    /// The damaged structure, if this is a corruption.
    pub fn damage(&self) -> Option<Damage> {
        match self {
            SnapshotError::Corrupt { damage, .. } => Some(*damage),
            _ => None,
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
