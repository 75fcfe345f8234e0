//! The merge's interfaces to its inputs and outputs: rows, the snapshot it reads, and the sinks
//! it writes, with in-memory implementations for tests and benchmarks.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError};

use crate::error::{MergeError, Result};

/// One live row: the order-preserving key bytes and the canonical item bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    pub key: Vec<u8>,
    pub item: Vec<u8>,
    /// Typed attribute values as the snapshot stores them, carried through unchanged so that a
    /// sink never re-derives them for untouched rows. `None` for rows from the log: the sink
    /// derives them from the item.
    pub attrs: Option<Vec<Option<Vec<u8>>>>,
}

/// A key-sorted snapshot of a table at one LSN.
pub trait SnapshotInput: Sync {
    /// The LSN the snapshot contains every mutation up to.
    fn lsn(&self) -> u64;

    /// Keys that split the snapshot into pieces of similar size (for example each block's first
    /// key), ascending. Used to choose partition boundaries.
    fn split_hints(&self) -> Vec<Vec<u8>>;

    /// The rows with `lower <= key < upper` (`None`: unbounded), in ascending key order.
    fn scan(
        &self,
        lower: Option<&[u8]>,
        upper: Option<&[u8]>,
    ) -> Result<Box<dyn Iterator<Item = Result<Row>> + Send + '_>>;
}

/// What a sink produced, for the caller's manifest.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SinkOutput {
    /// Rows pushed.
    pub rows: u64,
    /// Bytes the sink wrote (its own measure: file bytes for a file sink).
    pub bytes: u64,
    /// Files the sink produced, if any.
    pub artifacts: Vec<PathBuf>,
}

/// Receives one partition's rows in ascending key order.
pub trait RowSink: Send {
    fn push(&mut self, row: &Row) -> Result<()>;

    /// Completes the output (flush, footer, fsync as the sink requires).
    fn finish(self: Box<Self>) -> Result<SinkOutput>;
}

/// Makes the sink of each partition. Partitions are `[lower, upper)` key ranges; their outputs
/// concatenated in partition order are key-sorted.
pub trait SinkFactory: Sync {
    fn sink(
        &self,
        partition: usize,
        lower: Option<&[u8]>,
        upper: Option<&[u8]>,
    ) -> Result<Box<dyn RowSink>>;
}

/// An in-memory snapshot: rows sorted by key.
#[derive(Debug, Clone, Default)]
pub struct VecSnapshot {
    lsn: u64,
    rows: Vec<Row>,
    rows_per_hint: usize,
}

impl VecSnapshot {
    /// A snapshot at `lsn`; the rows are sorted here, and duplicate keys are refused.
    pub fn new(lsn: u64, mut rows: Vec<Row>) -> Result<Self> {
        rows.sort_by(|a, b| a.key.cmp(&b.key));
        if rows
            .windows(2)
            .any(|w| matches!(w, [a, b] if a.key == b.key))
        {
            return Err(MergeError::SnapshotOrder(
                "VecSnapshot: duplicate key".to_owned(),
            ));
        }
        Ok(Self {
            lsn,
            rows,
            rows_per_hint: 64,
        })
    }

    /// Emits one split hint per `rows` rows, as a block index would per block.
    #[must_use]
    pub fn with_rows_per_hint(mut self, rows: usize) -> Self {
        self.rows_per_hint = rows.max(1);
        self
    }

    pub fn rows(&self) -> &[Row] {
        &self.rows
    }
}

impl SnapshotInput for VecSnapshot {
    fn lsn(&self) -> u64 {
        self.lsn
    }

    fn split_hints(&self) -> Vec<Vec<u8>> {
        self.rows
            .iter()
            .step_by(self.rows_per_hint)
            .map(|row| row.key.clone())
            .collect()
    }

    fn scan(
        &self,
        lower: Option<&[u8]>,
        upper: Option<&[u8]>,
    ) -> Result<Box<dyn Iterator<Item = Result<Row>> + Send + '_>> {
        let start = lower.map_or(0, |l| self.rows.partition_point(|r| r.key.as_slice() < l));
        let end = upper.map_or(self.rows.len(), |u| {
            self.rows.partition_point(|r| r.key.as_slice() < u)
        });
        let slice = self.rows.get(start..end.max(start)).unwrap_or_default();
        Ok(Box::new(slice.iter().cloned().map(Ok)))
    }
}

/// Collects each partition's rows in memory; [`VecSinkFactory::rows`] returns them concatenated
/// in partition order.
#[derive(Debug, Default)]
pub struct VecSinkFactory {
    partitions: Arc<Mutex<BTreeMap<usize, Vec<Row>>>>,
}

impl VecSinkFactory {
    pub fn new() -> Self {
        Self::default()
    }

    /// All rows pushed so far, partition by partition.
    pub fn rows(&self) -> Vec<Row> {
        let partitions = self
            .partitions
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        partitions.values().flatten().cloned().collect()
    }

    /// The rows of each partition.
    pub fn partitions(&self) -> BTreeMap<usize, Vec<Row>> {
        self.partitions
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

impl SinkFactory for VecSinkFactory {
    fn sink(
        &self,
        partition: usize,
        _lower: Option<&[u8]>,
        _upper: Option<&[u8]>,
    ) -> Result<Box<dyn RowSink>> {
        Ok(Box::new(VecSink {
            partitions: Arc::clone(&self.partitions),
            partition,
            rows: Vec::new(),
            bytes: 0,
        }))
    }
}

/// The sink of [`VecSinkFactory`]: hands its rows to the factory on finish.
#[derive(Debug)]
pub struct VecSink {
    partitions: Arc<Mutex<BTreeMap<usize, Vec<Row>>>>,
    partition: usize,
    rows: Vec<Row>,
    bytes: u64,
}

impl RowSink for VecSink {
    fn push(&mut self, row: &Row) -> Result<()> {
        self.bytes += (row.key.len() + row.item.len()) as u64;
        self.rows.push(row.clone());
        Ok(())
    }

    fn finish(self: Box<Self>) -> Result<SinkOutput> {
        let output = SinkOutput {
            rows: self.rows.len() as u64,
            bytes: self.bytes,
            artifacts: Vec::new(),
        };
        self.partitions
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(self.partition, self.rows);
        Ok(output)
    }
}
