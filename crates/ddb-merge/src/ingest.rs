//! The first pass: read the log once, keep the newest mutation of each key, and spill the map to
//! a sorted run whenever it outgrows its share of the memory budget.
//!
//! Memory bound. With budget `B` and `P` partitions:
//!
//! - the map of log mutations is charged [`entry_cost`] per entry (key and item allocations as
//!   the allocator rounds them, plus the `BTreeMap` slot at a typical node fill) and spilled when
//!   it exceeds `B - B/4`;
//! - the other quarter pays for run readers: the final merge opens every run once per
//!   partition, [`RUN_READ_BUFFER_BYTES`] each, so the number of runs it may open (the fan-in
//!   limit, [`fan_in_limit`]) is `B/4 ÷ (P × RUN_READ_BUFFER_BYTES)`, clamped to
//!   `[MIN_FAN_IN, MAX_FAN_IN]`;
//! - whenever the newest `limit` runs were produced by the same number of merges (a "level"),
//!   they are merged into one run of the next level (newest wins, deletes kept as tombstones);
//!   at the end of the log the newest runs are merged until at most `limit` remain. Each such
//!   merge opens at most `limit` readers while the map is empty.
//!
//! So the merge holds at most `3B/4` of mutations plus `max(B/4, MIN_FAN_IN × P ×
//! RUN_READ_BUFFER_BYTES)` of read buffers, whatever the log size; the log is rewritten
//! `log_limit(runs)` times at most.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};

use ddb_io::Io;
use ddb_log::{LogError, Record, RecordType};

use crate::error::{MergeError, Result};
use crate::merge::MergeOptions;
use crate::spill::{Mutation, RUN_READ_BUFFER_BYTES, SpillRun, merge_runs, write_run};

/// Bytes a map entry costs beyond its key and item allocations: the `BTreeMap` slot (two `Vec`
/// headers of 24 bytes, in leaf nodes of 11 slots that are about half full when keys arrive in
/// order and two-thirds full at random, plus the internal nodes and node headers).
pub const ENTRY_OVERHEAD_BYTES: usize = 96;

/// Fewest runs the final merge may open (a run merge needs two inputs).
pub const MIN_FAN_IN: usize = 2;
/// Most runs the final merge opens, whatever the budget.
pub const MAX_FAN_IN: usize = 16;

/// Heap bytes of an allocation of `len` bytes, as glibc's malloc rounds it: an 8-byte header,
/// 16-byte granularity, 32 bytes at least; nothing for an empty `Vec`.
pub fn allocation_bytes(len: usize) -> usize {
    if len == 0 {
        0
    } else {
        len.saturating_add(8 + 15).max(32) & !15
    }
}

/// What one map entry costs against the budget.
pub fn entry_cost(key: &[u8], mutation: &Mutation) -> usize {
    allocation_bytes(key.len())
        + allocation_bytes(mutation.as_ref().map_or(0, Vec::len))
        + ENTRY_OVERHEAD_BYTES
}

/// Budget for the map of log mutations: all but the quarter kept for run readers.
pub fn map_budget(memory_budget_bytes: usize) -> usize {
    memory_budget_bytes - memory_budget_bytes / 4
}

/// Most runs one merge opens (the final merge, once per partition, and each run merge).
pub fn fan_in_limit(memory_budget_bytes: usize, partitions: usize) -> usize {
    let per_run = RUN_READ_BUFFER_BYTES.saturating_mul(partitions.max(1));
    (memory_budget_bytes / 4 / per_run).clamp(MIN_FAN_IN, MAX_FAN_IN)
}

/// Distinguishes the spill files of merges running at the same time in one directory.
static NEXT_MERGE_ID: AtomicU64 = AtomicU64::new(0);

/// What the log pass leaves for the merge pass.
#[derive(Debug, Default)]
pub struct Ingested {
    /// Mutations newer than every spill run.
    pub memory: BTreeMap<Vec<u8>, Mutation>,
    /// Spill runs, oldest first.
    pub runs: Vec<SpillRun>,
    /// Put and delete records applied (skippable records are not counted).
    pub records_applied: u64,
    /// Runs written from the map (before any run merge).
    pub spilled_runs: usize,
    /// Run merges done to bound the fan-in.
    pub run_merges: usize,
    /// Most runs any run merge opened (0 if none).
    pub max_runs_merged: usize,
    /// The fan-in limit this merge used.
    pub fan_in_limit: usize,
}

/// The spill files created so far; the caller removes them whatever happens.
#[derive(Debug, Default)]
pub struct SpillFiles {
    pub paths: Vec<PathBuf>,
}

/// Checks the LSN sequence of the log records in `(snapshot_lsn, cut]` and folds them into a map
/// per key, spilling to `options.spill_dir` when the map exceeds its share of the budget.
pub fn ingest<L>(
    io: &dyn Io,
    log: L,
    snapshot_lsn: u64,
    cut: u64,
    options: &MergeOptions,
    files: &mut SpillFiles,
) -> Result<Ingested>
where
    L: IntoIterator<Item = Result<Record, LogError>>,
{
    let merge_id = NEXT_MERGE_ID.fetch_add(1, Ordering::Relaxed);
    let limit = fan_in_limit(options.memory_budget_bytes, options.partitions);
    let map_budget = map_budget(options.memory_budget_bytes);
    let mut runs = Runs {
        io,
        spill_dir: &options.spill_dir,
        merge_id,
        files,
        levels: Vec::new(),
        next_file: 0,
    };
    let mut out = Ingested {
        fan_in_limit: limit,
        ..Ingested::default()
    };
    let mut memory_bytes = 0usize;
    let mut expected = snapshot_lsn.saturating_add(1);
    let mut last_ends_batch = true;
    for record in log {
        let record = record?;
        check_lsn(record.lsn, expected, snapshot_lsn, cut)?;
        expected = record.lsn.saturating_add(1);
        last_ends_batch = record.end_of_batch;
        let mutation = match record.record_type {
            RecordType::Put => Some(record.value),
            RecordType::Delete => None,
            RecordType::Skippable(_) => continue,
        };
        out.records_applied += 1;
        let added = entry_cost(&record.key, &mutation);
        let key_cost = allocation_bytes(record.key.len());
        if let Some(old) = out.memory.insert(record.key, mutation) {
            // The map keeps its old key allocation and drops the new one.
            let freed = key_cost + allocation_bytes(old.as_ref().map_or(0, Vec::len));
            memory_bytes = memory_bytes.saturating_sub(freed + ENTRY_OVERHEAD_BYTES);
        }
        memory_bytes += added;
        if memory_bytes > map_budget {
            let path = runs.new_path();
            out.runs.push(write_run(io, &path, &out.memory)?);
            runs.levels.push(0);
            out.spilled_runs += 1;
            out.memory.clear();
            memory_bytes = 0;
            // Merge while the newest `limit` runs share a level.
            while let Some(first) = out.runs.len().checked_sub(limit) {
                let same = runs
                    .levels
                    .get(first..)
                    .is_some_and(|l| l.windows(2).all(|w| w.first() == w.last()));
                if !same {
                    break;
                }
                runs.merge_from(&mut out, first)?;
            }
        }
    }
    // The final merge opens at most `limit` runs: merge the newest (smallest) ones, at most
    // `limit` at a time.
    while out.runs.len() > limit {
        let inputs = (out.runs.len() - limit + 1).min(limit);
        let first = out.runs.len() - inputs;
        runs.merge_from(&mut out, first)?;
    }
    let last = expected.saturating_sub(1);
    if last < cut {
        return Err(MergeError::LogEndsBeforeCut { last, cut });
    }
    if !last_ends_batch {
        return Err(MergeError::CutInsideBatch { cut });
    }
    Ok(out)
}

/// The runs' bookkeeping during the log pass.
struct Runs<'a> {
    io: &'a dyn Io,
    spill_dir: &'a std::path::Path,
    merge_id: u64,
    files: &'a mut SpillFiles,
    /// Per run of `Ingested::runs`: how many merges produced it.
    levels: Vec<u32>,
    next_file: u64,
}

impl Runs<'_> {
    /// A new spill path, owned before the file exists so that a failed write still leaves it
    /// for removal.
    fn new_path(&mut self) -> PathBuf {
        let path = self.spill_dir.join(format!(
            "merge-{}-{}-{:06}.spill",
            std::process::id(),
            self.merge_id,
            self.next_file
        ));
        self.next_file += 1;
        self.files.paths.push(path.clone());
        path
    }

    /// Replaces `out.runs[first..]` by one run merged from them, and removes their files.
    fn merge_from(&mut self, out: &mut Ingested, first: usize) -> Result<()> {
        let Some(inputs) = out.runs.get(first..) else {
            return Ok(());
        };
        if inputs.len() < 2 {
            return Ok(());
        }
        let path = self.new_path();
        let merged = merge_runs(self.io, &path, inputs)?;
        let level = self
            .levels
            .get(first..)
            .and_then(|l| l.iter().max().copied())
            .unwrap_or_default()
            .saturating_add(1);
        out.max_runs_merged = out.max_runs_merged.max(inputs.len());
        out.run_merges += 1;
        for run in out.runs.drain(first..) {
            // A file that cannot be removed now stays listed; the merge's cleanup retries it.
            if self.io.remove_file(&run.path).is_ok() {
                self.files.paths.retain(|p| *p != run.path);
            }
        }
        self.levels.truncate(first);
        out.runs.push(merged);
        self.levels.push(level);
        Ok(())
    }
}

fn check_lsn(lsn: u64, expected: u64, snapshot_lsn: u64, cut: u64) -> Result<()> {
    if lsn <= snapshot_lsn {
        return Err(MergeError::RecordBeforeSnapshot { lsn, snapshot_lsn });
    }
    if lsn > cut {
        return Err(MergeError::RecordBeyondCut { lsn, cut });
    }
    if lsn != expected {
        return Err(MergeError::LsnGap {
            expected,
            found: lsn,
        });
    }
    Ok(())
}
