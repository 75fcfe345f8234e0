//! Log ⊕ snapshot at an exact cut: the rows live at LSN `cut`, built from a snapshot at LSN `s`
//! and the log records in `(s, cut]`, key-sorted and split into key-range partitions merged in
//! parallel, each into its own sink (a checkpoint's snapshot writer, a backup's Parquet writer).
//!
//! - [`io_types`]: [`Row`], the [`SnapshotInput`] and [`RowSink`]/[`SinkFactory`] traits, and
//!   in-memory implementations for tests;
//! - [`ingest`]: the log pass, bounded by a memory budget, spilling sorted runs;
//! - [`spill`]: the checksummed spill run format;
//! - [`merge()`]: partitioning and the per-partition k-way merge;
//! - [`fingerprint`] (from `ddb-model`): the order-independent logical fingerprint of the output;
//! - [`snapshot_io`]: snapshot directories as input and output, and [`checkpoint()`].
//!
//! Architecture invariants: all file access goes through `ddb_io::Io`; rows the log does not
//! touch pass from snapshot to sink as the same bytes, never decoded; memory holds the map of log
//! mutations and one read buffer per spill run per partition, both charged against the budget;
//! runs are merged so that the fan-in stays bounded whatever the log size (see [`ingest`]).
#![forbid(unsafe_code)]

pub mod error;
pub mod ingest;
pub mod io_types;
pub mod merge;
pub mod snapshot_io;
pub mod spill;

/// The fingerprint lives in `ddb-model` so that snapshots and backups record the same one.
pub use ddb_model::fingerprint::{self, Fingerprint};
pub use error::{BoxError, MergeError, Result};
pub use io_types::{
    Row, RowSink, SinkFactory, SinkOutput, SnapshotInput, VecSink, VecSinkFactory, VecSnapshot,
};
pub use merge::{MergeOptions, MergeResult, PartitionBounds, PartitionResult, merge};
pub use snapshot_io::{
    Checkpoint, CheckpointOptions, CheckpointSinks, SnapshotDirInput, checkpoint,
    remove_unreferenced,
};
