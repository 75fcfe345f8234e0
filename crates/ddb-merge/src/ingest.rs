//! The first pass: read the log once, keep the newest mutation of each key, and spill the map to
//! a sorted run whenever it outgrows the memory budget.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};

use ddb_io::Io;
use ddb_log::{LogError, Record, RecordType};

use crate::error::{MergeError, Result};
use crate::spill::{Mutation, SpillRun, write_run};

/// Bytes a map entry costs beyond its key and item: the `BTreeMap` slot and two `Vec` headers.
/// An estimate; the budget bounds the order of magnitude, not the exact heap size.
pub const ENTRY_OVERHEAD_BYTES: usize = 64;

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
}

/// The spill files created so far; the caller removes them whatever happens.
#[derive(Debug, Default)]
pub struct SpillFiles {
    pub paths: Vec<PathBuf>,
}

/// Checks the LSN sequence of the log records in `(snapshot_lsn, cut]` and folds them into a map
/// per key, spilling to `spill_dir` when the map exceeds `memory_budget_bytes`.
pub fn ingest<L>(
    io: &dyn Io,
    log: L,
    snapshot_lsn: u64,
    cut: u64,
    memory_budget_bytes: usize,
    spill_dir: &std::path::Path,
    files: &mut SpillFiles,
) -> Result<Ingested>
where
    L: IntoIterator<Item = Result<Record, LogError>>,
{
    let merge_id = NEXT_MERGE_ID.fetch_add(1, Ordering::Relaxed);
    let mut out = Ingested::default();
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
        let added = record.key.len() + mutation.as_ref().map_or(0, Vec::len) + ENTRY_OVERHEAD_BYTES;
        let key_len = record.key.len();
        if let Some(old) = out.memory.insert(record.key, mutation) {
            let freed = key_len + old.as_ref().map_or(0, Vec::len) + ENTRY_OVERHEAD_BYTES;
            memory_bytes = memory_bytes.saturating_sub(freed);
        }
        memory_bytes += added;
        if memory_bytes > memory_budget_bytes {
            let path = spill_dir.join(format!(
                "merge-{}-{merge_id}-{:06}.spill",
                std::process::id(),
                out.runs.len()
            ));
            // Owned before the file exists, so a failed write still leaves it for removal.
            files.paths.push(path.clone());
            out.runs.push(write_run(io, &path, &out.memory)?);
            out.memory.clear();
            memory_bytes = 0;
        }
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
