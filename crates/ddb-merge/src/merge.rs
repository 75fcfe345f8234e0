//! The merge: log pass ([`crate::ingest`]), partition boundaries, then one k-way merge per key
//! range on its own thread.

use std::cmp::{Ordering as CmpOrdering, Reverse};
use std::collections::BinaryHeap;
use std::ops::Bound;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use ddb_io::Io;
use ddb_log::{LogError, Record};

use crate::error::{MergeError, Result};
use crate::fingerprint::Fingerprint;
use crate::ingest::{Ingested, SpillFiles, ingest};
use crate::io_types::{Row, SinkFactory, SinkOutput, SnapshotInput};
use crate::spill::{Mutation, RunScan};

/// How a merge runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MergeOptions {
    /// Key ranges merged in parallel (at most; fewer if the keys do not split that finely).
    pub partitions: usize,
    /// Memory for log mutations and spill run read buffers (see [`crate::ingest`] for the
    /// bound).
    pub memory_budget_bytes: usize,
    /// Where spill runs are written (created if missing); they are removed when the merge ends.
    pub spill_dir: PathBuf,
}

/// A partition's key range, `[lower, upper)`; `None` is unbounded.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PartitionBounds {
    pub lower: Option<Vec<u8>>,
    pub upper: Option<Vec<u8>>,
}

/// One partition's result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartitionResult {
    pub bounds: PartitionBounds,
    pub output: SinkOutput,
    pub fingerprint: Fingerprint,
}

/// The merge's result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MergeResult {
    /// In key order: concatenating the outputs gives the key-sorted table at the cut.
    pub partitions: Vec<PartitionResult>,
    /// All partitions combined.
    pub fingerprint: Fingerprint,
    /// Runs spilled from the in-memory map (before run merges).
    pub spilled_runs: usize,
    /// Run merges done to keep the fan-in at most `fan_in_limit`.
    pub run_merges: usize,
    /// Most runs one run merge opened (0 if none).
    pub max_runs_merged: usize,
    /// Runs each partition's final merge opened: at most `fan_in_limit`.
    pub final_runs: usize,
    /// The fan-in limit derived from the memory budget and the partition count.
    pub fan_in_limit: usize,
    pub records_applied: u64,
}

/// Merges `snapshot` (or an empty table at LSN 0) with the log records in `(snapshot LSN, cut]`
/// into the rows live at `cut`, pushed to one sink per key-range partition.
///
/// `log` must yield every record after the snapshot LSN up to and including `cut`, in LSN
/// order, and nothing else: a gap, a record outside the range, a log that stops early or a cut
/// inside a batch is an error. Spill files are removed before returning, also on error.
pub fn merge<L>(
    io: Arc<dyn Io>,
    snapshot: Option<&dyn SnapshotInput>,
    log: L,
    cut: u64,
    options: &MergeOptions,
    sinks: &dyn SinkFactory,
) -> Result<MergeResult>
where
    L: IntoIterator<Item = Result<Record, LogError>>,
{
    if options.partitions == 0 {
        return Err(MergeError::InvalidOptions(
            "partitions must be at least 1".to_owned(),
        ));
    }
    let snapshot_lsn = snapshot.map_or(0, SnapshotInput::lsn);
    if cut < snapshot_lsn {
        return Err(MergeError::CutBeforeSnapshot { cut, snapshot_lsn });
    }
    io.create_dir_all(&options.spill_dir)?;
    let mut files = SpillFiles::default();
    let result = merge_with_files(&*io, snapshot, log, cut, options, sinks, &mut files);
    let mut removal = Ok(());
    for path in &files.paths {
        // Keep going on failure so that one stuck file does not leave the others behind.
        if let Err(e) = io.remove_file(path)
            && io.exists(path).unwrap_or(true)
            && removal.is_ok()
        {
            removal = Err(MergeError::Io(ddb_io::error_at(
                "remove spill run",
                path,
                e,
            )));
        }
    }
    let merged = result?;
    removal?;
    Ok(merged)
}

fn merge_with_files<L>(
    io: &dyn Io,
    snapshot: Option<&dyn SnapshotInput>,
    log: L,
    cut: u64,
    options: &MergeOptions,
    sinks: &dyn SinkFactory,
    files: &mut SpillFiles,
) -> Result<MergeResult>
where
    L: IntoIterator<Item = Result<Record, LogError>>,
{
    let snapshot_lsn = snapshot.map_or(0, SnapshotInput::lsn);
    let ingested = ingest(io, log, snapshot_lsn, cut, options, files)?;
    for run in &ingested.runs {
        run.verify_frame(io)?;
    }
    let bounds = partition_bounds(snapshot, &ingested, options.partitions);
    let cancelled = AtomicBool::new(false);
    let outcomes: Vec<Result<(SinkOutput, Fingerprint)>> = std::thread::scope(|scope| {
        let handles: Vec<_> = bounds
            .iter()
            .enumerate()
            .map(|(partition, range)| {
                let ingested = &ingested;
                let cancelled = &cancelled;
                scope.spawn(move || {
                    let outcome =
                        merge_partition(io, snapshot, ingested, partition, range, sinks, cancelled);
                    if outcome.is_err() {
                        cancelled.store(true, Ordering::Relaxed);
                    }
                    outcome
                })
            })
            .collect();
        handles
            .into_iter()
            .enumerate()
            .map(|(partition, handle)| {
                handle
                    .join()
                    .unwrap_or(Err(MergeError::Panicked(partition)))
            })
            .collect()
    });
    let mut partitions = Vec::with_capacity(bounds.len());
    let mut fingerprint = Fingerprint::default();
    let mut first_error = None;
    for (range, outcome) in bounds.into_iter().zip(outcomes) {
        match outcome {
            Ok((output, partition_fingerprint)) => {
                fingerprint.combine(&partition_fingerprint);
                partitions.push(PartitionResult {
                    bounds: range,
                    output,
                    fingerprint: partition_fingerprint,
                });
            }
            // A partition stopped because another failed reports nothing of its own.
            Err(MergeError::Cancelled) => {}
            Err(e) => {
                first_error.get_or_insert(e);
            }
        }
    }
    if let Some(e) = first_error {
        return Err(e);
    }
    Ok(MergeResult {
        partitions,
        fingerprint,
        spilled_runs: ingested.spilled_runs,
        run_merges: ingested.run_merges,
        max_runs_merged: ingested.max_runs_merged,
        final_runs: ingested.runs.len(),
        fan_in_limit: ingested.fan_in_limit,
        records_applied: ingested.records_applied,
    })
}

/// Chooses up to `partitions - 1` split keys from the snapshot's hints and the log's keys (the
/// spill runs' index keys and a sample of the in-memory map), evenly spaced in that sample.
fn partition_bounds(
    snapshot: Option<&dyn SnapshotInput>,
    ingested: &Ingested,
    partitions: usize,
) -> Vec<PartitionBounds> {
    let mut sample: Vec<Vec<u8>> = snapshot.map(SnapshotInput::split_hints).unwrap_or_default();
    for run in &ingested.runs {
        sample.extend(run.index.iter().map(|(key, _)| key.clone()));
    }
    // About as many samples from memory as a run of the same size would give.
    let step = (ingested.memory.len() / 1024).max(1);
    sample.extend(ingested.memory.keys().step_by(step).cloned());
    sample.sort_unstable();
    sample.dedup();
    let mut splits: Vec<Vec<u8>> = (1..partitions)
        .filter_map(|i| sample.get(i * sample.len() / partitions).cloned())
        .collect();
    splits.dedup();
    // An empty key cannot split anything: no key sorts below it.
    splits.retain(|key| !key.is_empty());
    let mut bounds = Vec::with_capacity(splits.len() + 1);
    let mut lower = None;
    for split in splits {
        bounds.push(PartitionBounds {
            lower: lower.take(),
            upper: Some(split.clone()),
        });
        lower = Some(split);
    }
    bounds.push(PartitionBounds { lower, upper: None });
    bounds
}

/// A source of the k-way merge, ordered by age: the snapshot first, then the spill runs oldest
/// first, then the in-memory map.
enum Source<'a> {
    Snapshot(Box<dyn Iterator<Item = Result<Row>> + Send + 'a>),
    Run(RunScan<'a>),
    Memory(std::collections::btree_map::Range<'a, Vec<u8>, Mutation>),
}

/// The current entry of a source.
enum Head {
    Row(Row),
    Mutation(Vec<u8>, Mutation),
}

impl Head {
    fn key(&self) -> &[u8] {
        match self {
            Head::Row(row) => &row.key,
            Head::Mutation(key, _) => key,
        }
    }
}

impl Source<'_> {
    fn next_head(&mut self) -> Result<Option<Head>> {
        match self {
            Source::Snapshot(rows) => rows.next().transpose().map(|row| row.map(Head::Row)),
            Source::Run(scan) => Ok(scan.next_entry()?.map(|(k, m)| Head::Mutation(k, m))),
            Source::Memory(range) => Ok(range
                .next()
                .map(|(k, m)| Head::Mutation(k.clone(), m.clone()))),
        }
    }
}

/// Heap entry: the smallest key first; for equal keys the newest source (highest index) first.
#[derive(PartialEq, Eq)]
struct HeapKey {
    key: Reverse<Vec<u8>>,
    source: usize,
}

impl Ord for HeapKey {
    fn cmp(&self, other: &Self) -> CmpOrdering {
        self.key
            .cmp(&other.key)
            .then(self.source.cmp(&other.source))
    }
}

impl PartialOrd for HeapKey {
    fn partial_cmp(&self, other: &Self) -> Option<CmpOrdering> {
        Some(self.cmp(other))
    }
}

fn merge_partition(
    io: &dyn Io,
    snapshot: Option<&dyn SnapshotInput>,
    ingested: &Ingested,
    partition: usize,
    bounds: &PartitionBounds,
    sinks: &dyn SinkFactory,
    cancelled: &AtomicBool,
) -> Result<(SinkOutput, Fingerprint)> {
    let lower = bounds.lower.as_deref();
    let upper = bounds.upper.as_deref();
    let mut sources = Vec::with_capacity(ingested.runs.len() + 2);
    if let Some(snapshot) = snapshot {
        sources.push(Source::Snapshot(snapshot.scan(lower, upper)?));
    }
    for run in &ingested.runs {
        sources.push(Source::Run(run.scan(io, lower, upper)?));
    }
    let range_start = lower.map_or(Bound::Unbounded, Bound::Included);
    let range_end = upper.map_or(Bound::Unbounded, Bound::Excluded);
    sources.push(Source::Memory(
        ingested.memory.range::<[u8], _>((range_start, range_end)),
    ));

    let mut heads: Vec<Option<Head>> = Vec::with_capacity(sources.len());
    let mut heap = BinaryHeap::with_capacity(sources.len());
    for (index, source) in sources.iter_mut().enumerate() {
        let head = source.next_head()?;
        if let Some(head) = &head {
            heap.push(HeapKey {
                key: Reverse(head.key().to_vec()),
                source: index,
            });
        }
        heads.push(head);
    }
    let mut sink = sinks.sink(partition, lower, upper)?;
    let mut fingerprint = Fingerprint::default();
    let mut previous: Option<Vec<u8>> = None;
    while let Some(top) = heap.pop() {
        if cancelled.load(Ordering::Relaxed) {
            return Err(MergeError::Cancelled);
        }
        let key = top.key.0;
        // The newest source's entry decides; older entries for the same key are dropped.
        let winner = heads.get_mut(top.source).and_then(Option::take);
        let mut advance = vec![top.source];
        while heap.peek().is_some_and(|next| next.key.0 == key) {
            if let Some(older) = heap.pop() {
                advance.push(older.source);
            }
        }
        check_order(&key, previous.as_deref(), lower, upper)?;
        match winner {
            Some(Head::Row(row)) => {
                fingerprint.add(&row.key, &row.item);
                sink.push(&row)?;
            }
            Some(Head::Mutation(key, Some(item))) => {
                let row = Row {
                    key,
                    item,
                    attrs: None,
                };
                fingerprint.add(&row.key, &row.item);
                sink.push(&row)?;
            }
            Some(Head::Mutation(_, None)) | None => {}
        }
        for index in advance {
            let head = match sources.get_mut(index) {
                Some(source) => source.next_head()?,
                None => None,
            };
            if let Some(head) = &head {
                heap.push(HeapKey {
                    key: Reverse(head.key().to_vec()),
                    source: index,
                });
            }
            if let Some(slot) = heads.get_mut(index) {
                *slot = head;
            }
        }
        previous = Some(key);
    }
    let output = sink.finish()?;
    Ok((output, fingerprint))
}

/// Every source is sorted and range-limited; this catches a snapshot reader that is not.
fn check_order(
    key: &[u8],
    previous: Option<&[u8]>,
    lower: Option<&[u8]>,
    upper: Option<&[u8]>,
) -> Result<()> {
    if previous.is_some_and(|p| p >= key) {
        return Err(MergeError::SnapshotOrder(format!(
            "key {key:02x?} is not above the previous key"
        )));
    }
    if lower.is_some_and(|l| key < l) || upper.is_some_and(|u| key >= u) {
        return Err(MergeError::SnapshotOrder(format!(
            "key {key:02x?} is outside the partition's range"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn heap_orders_by_key_then_newest_source() {
        let mut heap = BinaryHeap::new();
        heap.push(HeapKey {
            key: Reverse(b"b".to_vec()),
            source: 2,
        });
        heap.push(HeapKey {
            key: Reverse(b"a".to_vec()),
            source: 0,
        });
        heap.push(HeapKey {
            key: Reverse(b"a".to_vec()),
            source: 3,
        });
        let order: Vec<_> = std::iter::from_fn(|| heap.pop())
            .map(|h| (h.key.0, h.source))
            .collect();
        assert_eq!(
            order,
            vec![(b"a".to_vec(), 3), (b"a".to_vec(), 0), (b"b".to_vec(), 2)]
        );
    }
}
