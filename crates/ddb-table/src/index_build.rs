//! Building an index snapshot from entries that arrive out of order, with bounded memory: the
//! GSI backfill (entries in table-key order, index order arbitrary) and the restore's LSI build
//! (entries grouped by partition key: sorted one item collection at a time).
//!
//! Entries are collected in a sorted map; past the memory budget the map is written as a sorted
//! spill run (`ddb_merge::spill`, checksummed) in the table's `work/` directory. A *barrier*
//! says that every later entry sorts after every entry pushed so far (an LSI's item collection
//! ended): the map and the runs are merged into the snapshot writer there and then, so an LSI
//! build holds one item collection at a time and spills only a collection larger than the
//! budget. `finish` merges the rest and publishes the snapshot's manifest.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use ddb_io::Io;
use ddb_merge::spill::{SpillRun, write_run};
use ddb_snapshot::{SnapshotManifest, SnapshotWriter, WriterOptions};

use crate::error::Result;

/// Bytes an entry is charged in the map beyond its key and value (node and allocation
/// overhead, roughly).
const ENTRY_OVERHEAD: usize = 64;

/// Builds one index snapshot; see the module documentation.
#[derive(Debug)]
pub(crate) struct IndexBuilder {
    io: Arc<dyn Io>,
    dir: PathBuf,
    work: PathBuf,
    /// Names the spill runs (`<run_prefix>-<n>.run`).
    run_prefix: String,
    options: WriterOptions,
    writer: Option<SnapshotWriter>,
    pending: BTreeMap<Vec<u8>, Option<Vec<u8>>>,
    pending_bytes: usize,
    budget: usize,
    runs: Vec<SpillRun>,
    runs_written: usize,
    /// Entries written to the snapshot so far.
    pub written: u64,
    /// Spill runs written over the build.
    pub spilled_runs: usize,
}

impl IndexBuilder {
    /// A builder writing the snapshot into `dir` (created, and emptied first), spilling into
    /// `work` past `budget` bytes of entries.
    pub fn new(
        io: Arc<dyn Io>,
        dir: &Path,
        work: &Path,
        run_prefix: &str,
        options: WriterOptions,
        budget: usize,
    ) -> Result<IndexBuilder> {
        crate::files::remove_dir_all(&*io, dir)?;
        io.create_dir_all(dir)?;
        io.create_dir_all(work)?;
        let writer = SnapshotWriter::new(Arc::clone(&io), dir, "part-0", options.clone())?;
        Ok(IndexBuilder {
            io,
            dir: dir.to_owned(),
            work: work.to_owned(),
            run_prefix: run_prefix.to_owned(),
            options,
            writer: Some(writer),
            pending: BTreeMap::new(),
            pending_bytes: 0,
            budget: budget.max(1 << 16),
            runs: Vec::new(),
            runs_written: 0,
            written: 0,
            spilled_runs: 0,
        })
    }

    /// Adds an entry (index key, projected item bytes). A key pushed twice keeps the last value.
    pub fn push(&mut self, key: Vec<u8>, value: Vec<u8>) -> Result<()> {
        self.pending_bytes += key.len() + value.len() + ENTRY_OVERHEAD;
        self.pending.insert(key, Some(value));
        if self.pending_bytes > self.budget {
            self.spill()?;
        }
        Ok(())
    }

    fn spill(&mut self) -> Result<()> {
        let path = self.run_path(self.runs_written);
        self.runs_written += 1;
        self.spilled_runs += 1;
        self.runs.push(write_run(&*self.io, &path, &self.pending)?);
        self.pending.clear();
        self.pending_bytes = 0;
        Ok(())
    }

    fn run_path(&self, n: usize) -> PathBuf {
        self.work.join(format!("{}-{n:06}.run", self.run_prefix))
    }

    /// Every entry pushed later sorts after every entry pushed so far: writes them out now.
    pub fn barrier(&mut self) -> Result<()> {
        if self.runs.is_empty() {
            let pending = std::mem::take(&mut self.pending);
            self.pending_bytes = 0;
            for (key, value) in pending {
                if let Some(value) = value {
                    self.write(&key, &value)?;
                }
            }
            return Ok(());
        }
        self.merge_out()
    }

    fn write(&mut self, key: &[u8], value: &[u8]) -> Result<()> {
        let attrs = ddb_snapshot::attrs_from_item(value, &self.options.attributes)?;
        if let Some(writer) = &mut self.writer {
            writer.push_parts(key, value, &attrs)?;
        }
        self.written += 1;
        Ok(())
    }

    /// Merges the runs and the map into the writer (a key in several sources: the newest, i.e.
    /// the map, then the latest run, wins), then removes the runs.
    fn merge_out(&mut self) -> Result<()> {
        let runs = std::mem::take(&mut self.runs);
        let pending = std::mem::take(&mut self.pending);
        self.pending_bytes = 0;
        let result = (|| -> Result<()> {
            let mut scans = runs
                .iter()
                .map(|run| run.scan_whole(&*self.io))
                .collect::<std::result::Result<Vec<_>, _>>()?;
            let mut heads = Vec::with_capacity(scans.len());
            for scan in &mut scans {
                heads.push(scan.next_entry()?);
            }
            let mut memory = pending.into_iter().peekable();
            loop {
                // The smallest key among the run heads and the map; on a tie the newest source.
                let mut best: Option<(usize, Vec<u8>)> = None;
                for (i, head) in heads.iter().enumerate() {
                    if let Some((key, _)) = head
                        && best.as_ref().is_none_or(|(_, b)| key <= b)
                    {
                        best = Some((i, key.clone()));
                    }
                }
                let memory_key = memory.peek().map(|(k, _)| k.clone());
                let take_memory = match (&memory_key, &best) {
                    (Some(m), Some((_, b))) => m <= b,
                    (Some(_), None) => true,
                    (None, _) => false,
                };
                let smallest = if take_memory {
                    memory_key
                } else {
                    best.as_ref().map(|(_, k)| k.clone())
                };
                let Some(smallest) = smallest else { break };
                // Every source's entry with this key: the newest wins.
                let mut winner: Option<Option<Vec<u8>>> = None;
                for (i, head) in heads.iter_mut().enumerate() {
                    if head.as_ref().is_some_and(|(k, _)| *k == smallest) {
                        if let Some((_, value)) = head.take() {
                            winner = Some(value);
                        }
                        if let Some(scan) = scans.get_mut(i) {
                            *head = scan.next_entry()?;
                        }
                    }
                }
                if take_memory && let Some((_, value)) = memory.next() {
                    winner = Some(value);
                }
                if let Some(Some(value)) = winner {
                    self.write(&smallest, &value)?;
                }
            }
            Ok(())
        })();
        for run in &runs {
            let _ = self.io.remove_file(&run.path);
        }
        result
    }

    /// Writes everything left and publishes the snapshot at the writer options' LSN with
    /// `base_lsn`; returns its manifest.
    pub fn finish(mut self, base_lsn: u64) -> Result<SnapshotManifest> {
        self.barrier()?;
        let files = match self.writer.take() {
            Some(writer) => writer.finish()?,
            None => Vec::new(),
        };
        let manifest = SnapshotManifest::new(self.options.table_id, self.options.lsn, files)
            .with_base_lsn(base_lsn);
        manifest.publish(&*self.io, &self.dir)?;
        if let Some(parent) = self.dir.parent() {
            self.io.sync_dir(parent)?;
        }
        Ok(manifest)
    }
}

impl Drop for IndexBuilder {
    fn drop(&mut self) {
        // An abandoned build (error, cancellation) leaves no run behind.
        for run in &self.runs {
            let _ = self.io.remove_file(&run.path);
        }
    }
}
