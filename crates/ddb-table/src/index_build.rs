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

/// Receives sorted entries (key, value).
pub(crate) type Emit<'a> = dyn FnMut(&[u8], &[u8]) -> Result<()> + 'a;

/// Entries kept sorted with bounded memory: a map, spilled as sorted runs past the budget.
/// A key pushed twice keeps the last value (and counts a duplicate).
#[derive(Debug)]
pub(crate) struct SortBuffer {
    io: Arc<dyn Io>,
    work: PathBuf,
    /// Names the spill runs (`<run_prefix>-<n>.run`).
    run_prefix: String,
    pending: BTreeMap<Vec<u8>, Option<Vec<u8>>>,
    pending_bytes: usize,
    budget: usize,
    runs: Vec<SpillRun>,
    runs_written: usize,
    /// Spill runs written so far.
    pub spilled_runs: usize,
    /// Entries replaced by a later push of the same key.
    pub duplicates: u64,
}

impl SortBuffer {
    pub fn new(
        io: Arc<dyn Io>,
        work: &Path,
        run_prefix: &str,
        budget: usize,
    ) -> Result<SortBuffer> {
        io.create_dir_all(work)?;
        Ok(SortBuffer {
            io,
            work: work.to_owned(),
            run_prefix: run_prefix.to_owned(),
            pending: BTreeMap::new(),
            pending_bytes: 0,
            budget: budget.max(1 << 16),
            runs: Vec::new(),
            runs_written: 0,
            spilled_runs: 0,
            duplicates: 0,
        })
    }

    pub fn push(&mut self, key: Vec<u8>, value: Vec<u8>) -> Result<()> {
        self.pending_bytes += key.len() + value.len() + ENTRY_OVERHEAD;
        if self.pending.insert(key, Some(value)).is_some() {
            self.duplicates += 1;
        }
        if self.pending_bytes > self.budget {
            let path = self
                .work
                .join(format!("{}-{:06}.run", self.run_prefix, self.runs_written));
            self.runs_written += 1;
            self.spilled_runs += 1;
            self.runs.push(write_run(&*self.io, &path, &self.pending)?);
            self.pending.clear();
            self.pending_bytes = 0;
        }
        Ok(())
    }

    /// Hands every entry to `emit` in key order (a key in several runs: the newest source wins,
    /// the others count as duplicates) and empties the buffer, removing its runs.
    pub fn drain(&mut self, emit: &mut Emit<'_>) -> Result<()> {
        let runs = std::mem::take(&mut self.runs);
        let pending = std::mem::take(&mut self.pending);
        self.pending_bytes = 0;
        if runs.is_empty() {
            for (key, value) in pending {
                if let Some(value) = value {
                    emit(&key, &value)?;
                }
            }
            return Ok(());
        }
        let io = Arc::clone(&self.io);
        let mut duplicates = 0u64;
        let result = (|| -> Result<()> {
            let mut scans = runs
                .iter()
                .map(|run| run.scan_whole(&*io))
                .collect::<std::result::Result<Vec<_>, _>>()?;
            let mut heads = Vec::with_capacity(scans.len());
            for scan in &mut scans {
                heads.push(scan.next_entry()?);
            }
            let mut memory = pending.into_iter().peekable();
            loop {
                // The smallest key among the run heads and the map.
                let mut smallest: Option<Vec<u8>> = memory.peek().map(|(k, _)| k.clone());
                for (key, _) in heads.iter().flatten() {
                    if smallest.as_ref().is_none_or(|s| key < s) {
                        smallest = Some(key.clone());
                    }
                }
                let Some(smallest) = smallest else { break };
                // Every source's entry with this key, oldest run first: the newest wins.
                let mut winner: Option<Option<Vec<u8>>> = None;
                for (i, head) in heads.iter_mut().enumerate() {
                    if head.as_ref().is_some_and(|(k, _)| *k == smallest) {
                        if let Some((_, value)) = head.take() {
                            if winner.is_some() {
                                duplicates += 1;
                            }
                            winner = Some(value);
                        }
                        if let Some(scan) = scans.get_mut(i) {
                            *head = scan.next_entry()?;
                        }
                    }
                }
                if memory.peek().is_some_and(|(k, _)| *k == smallest)
                    && let Some((_, value)) = memory.next()
                {
                    if winner.is_some() {
                        duplicates += 1;
                    }
                    winner = Some(value);
                }
                if let Some(Some(value)) = winner {
                    emit(&smallest, &value)?;
                }
            }
            Ok(())
        })();
        self.duplicates += duplicates;
        for run in &runs {
            let _ = self.io.remove_file(&run.path);
        }
        result
    }
}

impl Drop for SortBuffer {
    fn drop(&mut self) {
        // An abandoned sort (error, cancellation) leaves no run behind.
        for run in &self.runs {
            let _ = self.io.remove_file(&run.path);
        }
    }
}

/// Builds one index snapshot; see the module documentation.
#[derive(Debug)]
pub(crate) struct IndexBuilder {
    io: Arc<dyn Io>,
    dir: PathBuf,
    options: WriterOptions,
    writer: Option<SnapshotWriter>,
    sort: SortBuffer,
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
        let writer = SnapshotWriter::new(Arc::clone(&io), dir, "part-0", options.clone())?;
        let sort = SortBuffer::new(Arc::clone(&io), work, run_prefix, budget)?;
        Ok(IndexBuilder {
            io,
            dir: dir.to_owned(),
            options,
            writer: Some(writer),
            sort,
            written: 0,
            spilled_runs: 0,
        })
    }

    /// Adds an entry (index key, projected item bytes). A key pushed twice keeps the last value.
    pub fn push(&mut self, key: Vec<u8>, value: Vec<u8>) -> Result<()> {
        self.sort.push(key, value)?;
        self.spilled_runs = self.sort.spilled_runs;
        Ok(())
    }

    /// Every entry pushed later sorts after every entry pushed so far: writes them out now.
    pub fn barrier(&mut self) -> Result<()> {
        let (writer, attributes, written) = (
            &mut self.writer,
            &self.options.attributes,
            &mut self.written,
        );
        self.sort.drain(&mut |key, value| {
            let attrs = ddb_snapshot::attrs_from_item(value, attributes)?;
            if let Some(writer) = writer.as_mut() {
                writer.push_parts(key, value, &attrs)?;
            }
            *written += 1;
            Ok(())
        })
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
