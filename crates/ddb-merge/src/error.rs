//! Errors of the merge. Input errors name the LSN; spill corruption names file, offset, what was
//! expected and what was found.

use std::io;
use std::path::PathBuf;

use ddb_log::LogError;

/// A boxed error from a component implemented outside this crate (a snapshot reader, a sink).
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// A merge error.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MergeError {
    #[error(transparent)]
    Io(#[from] io::Error),
    /// Reading the log failed.
    #[error("log: {0}")]
    Log(#[from] LogError),
    /// The cut is older than the snapshot: the snapshot cannot be rolled back.
    #[error("cut LSN {cut} is before the snapshot LSN {snapshot_lsn}")]
    CutBeforeSnapshot { cut: u64, snapshot_lsn: u64 },
    /// A log record at or before the snapshot LSN: already contained in the snapshot.
    #[error("log record LSN {lsn} is not after the snapshot LSN {snapshot_lsn}")]
    RecordBeforeSnapshot { lsn: u64, snapshot_lsn: u64 },
    /// A log record after the cut: the caller must stop the log at the cut.
    #[error("log record LSN {lsn} is beyond the cut LSN {cut}")]
    RecordBeyondCut { lsn: u64, cut: u64 },
    /// LSNs are dense; a missing one means lost mutations.
    #[error("log LSN gap: expected LSN {expected}, found LSN {found}")]
    LsnGap { expected: u64, found: u64 },
    /// The log stops before the cut, so the state at the cut cannot be built.
    #[error("the log ends at LSN {last} before the cut LSN {cut}")]
    LogEndsBeforeCut { last: u64, cut: u64 },
    /// Batches are atomic: a cut inside one would expose half a batch.
    #[error("the cut LSN {cut} is inside a batch (record {cut} does not end its batch)")]
    CutInsideBatch { cut: u64 },
    /// A spill run is damaged: bytes this crate did not write.
    #[error("corrupt spill run {}: at byte {offset}: expected {expected}, found {found}", path.display())]
    CorruptSpill {
        path: PathBuf,
        offset: u64,
        expected: String,
        found: String,
    },
    /// The snapshot produced rows out of key order or outside the range asked for.
    #[error("snapshot row order: {0}")]
    SnapshotOrder(String),
    /// The snapshot reader failed.
    #[error("snapshot: {0}")]
    Snapshot(#[source] BoxError),
    /// A sink failed.
    #[error("sink of partition {partition}: {source}")]
    Sink {
        partition: usize,
        #[source]
        source: BoxError,
    },
    /// Invalid options (zero partitions, a spill directory that cannot be used).
    #[error("invalid merge options: {0}")]
    InvalidOptions(String),
    /// This partition stopped because another partition failed (never returned by `merge`).
    #[error("cancelled because another partition failed")]
    Cancelled,
    /// A partition thread panicked (a bug in a snapshot reader or sink).
    #[error("partition {0} thread panicked")]
    Panicked(usize),
    /// The files a checkpoint wrote do not hold the rows the merge produced (a bug in a sink):
    /// nothing was published.
    #[error("the files written hold {written:?}, the merge produced {merged:?}; not published")]
    FingerprintMismatch {
        written: ddb_model::Fingerprint,
        merged: ddb_model::Fingerprint,
    },
}

/// Result with [`MergeError`].
pub type Result<T, E = MergeError> = std::result::Result<T, E>;
