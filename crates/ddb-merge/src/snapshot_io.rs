//! The merge over real snapshots: a [`SnapshotInput`] over a published snapshot directory, a
//! [`SinkFactory`] whose partitions write snapshot files, and [`checkpoint`], which merges an
//! old snapshot with the log into a new snapshot directory and commits it by publishing its
//! manifest.
//!
//! Crash safety: the manifest is the commit point. Files written before it are not part of any
//! snapshot; [`remove_unreferenced`] deletes them (and [`checkpoint`] does so before writing).

use std::collections::{BTreeMap, BTreeSet};
use std::ops::Bound;
use std::path::Path;
use std::sync::{Arc, Mutex, PoisonError};

use ddb_io::publish::is_publish_temp;
use ddb_io::{Io, error_at};
use ddb_log::{LogError, Record};
use ddb_model::ScalarAttributeType;
use ddb_snapshot::{
    Columns, FileEntry, MANIFEST_FILE_NAME, SnapshotError, SnapshotManifest, SnapshotReader,
    SnapshotWriter, WriterOptions, attrs_from_item,
};

use crate::error::{MergeError, Result};
use crate::fingerprint::Fingerprint;
use crate::io_types::{Row, RowSink, SinkFactory, SinkOutput, SnapshotInput};
use crate::merge::{MergeOptions, MergeResult, merge};

fn snapshot_error(e: SnapshotError) -> MergeError {
    MergeError::Snapshot(Box::new(e))
}

/// Split hints a snapshot input offers at most: enough to cut any number of partitions this
/// machine would run into pieces of even size, and a bound on their memory however large the
/// table.
pub const SPLIT_HINTS_MAX: usize = 4096;

/// A published snapshot as the merge's input: every column of every file, in key order. Holds
/// the manifest; files are opened while they are scanned.
#[derive(Debug)]
pub struct SnapshotDirInput {
    reader: SnapshotReader,
}

impl SnapshotDirInput {
    /// Opens the snapshot published in `dir`: its manifest, and every file it names once, to
    /// check it against the manifest.
    pub fn open(io: Arc<dyn Io>, dir: &Path) -> Result<Self> {
        Ok(Self {
            reader: SnapshotReader::open(io, dir).map_err(snapshot_error)?,
        })
    }

    pub fn reader(&self) -> &SnapshotReader {
        &self.reader
    }

    pub fn manifest(&self) -> &SnapshotManifest {
        self.reader.manifest()
    }

    /// The typed attribute columns of the snapshot (of its first file; `None` if it has none).
    pub fn attributes(&self) -> Option<&[(String, ScalarAttributeType)]> {
        self.reader.attributes()
    }
}

impl SnapshotInput for SnapshotDirInput {
    fn lsn(&self) -> u64 {
        self.reader.manifest().lsn
    }

    /// Block first keys, at most [`SPLIT_HINTS_MAX`] of them: each file contributes in
    /// proportion to its rows, evenly spaced over its blocks. Files are opened one at a time.
    fn split_hints(&self) -> Vec<Vec<u8>> {
        let manifest = self.reader.manifest();
        let rows = manifest.totals.rows.max(1);
        let mut hints = Vec::new();
        for (index, entry) in manifest.files.iter().enumerate() {
            let share = u128::from(entry.row_count) * SPLIT_HINTS_MAX as u128 / u128::from(rows);
            let wanted = usize::try_from(share).unwrap_or(SPLIT_HINTS_MAX).max(1);
            // A file that no longer opens yields its first key; the scan reports the error.
            let Ok(file) = self.reader.open_file(index) else {
                hints.push(entry.first_key.clone());
                continue;
            };
            let blocks = file.blocks();
            let step = blocks.len().div_ceil(wanted).max(1);
            hints.extend(blocks.iter().step_by(step).map(|b| b.first_key.clone()));
        }
        hints
    }

    fn scan(
        &self,
        lower: Option<&[u8]>,
        upper: Option<&[u8]>,
    ) -> Result<Box<dyn Iterator<Item = Result<Row>> + Send + '_>> {
        let range = (
            lower.map_or(Bound::Unbounded, Bound::Included),
            upper.map_or(Bound::Unbounded, Bound::Excluded),
        );
        let rows = self.reader.scan(range, Columns::ALL);
        Ok(Box::new(rows.map(|row| {
            row.map(|row| Row {
                key: row.key,
                item: row.item,
                attrs: Some(row.attrs),
            })
            .map_err(snapshot_error)
        })))
    }
}

/// The name prefix of partition `partition`'s files: names sort in partition order.
pub fn partition_prefix(partition: usize) -> String {
    format!("p{partition:06}")
}

/// Makes a [`SnapshotWriter`] per partition in one new snapshot directory, files named by
/// partition ([`partition_prefix`]), and keeps the file entries each partition wrote.
#[derive(Debug)]
pub struct CheckpointSinks {
    io: Arc<dyn Io>,
    dir: std::path::PathBuf,
    options: WriterOptions,
    entries: Arc<Mutex<BTreeMap<usize, Vec<FileEntry>>>>,
}

impl CheckpointSinks {
    /// Sinks writing into `dir` (which must exist) with `options` (their LSN is the cut).
    pub fn new(io: Arc<dyn Io>, dir: &Path, options: WriterOptions) -> Self {
        Self {
            io,
            dir: dir.to_path_buf(),
            options,
            entries: Arc::default(),
        }
    }

    /// The files of every finished partition, in key order.
    pub fn file_entries(&self) -> Vec<FileEntry> {
        self.entries
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .values()
            .flatten()
            .cloned()
            .collect()
    }
}

impl SinkFactory for CheckpointSinks {
    fn sink(
        &self,
        partition: usize,
        _lower: Option<&[u8]>,
        _upper: Option<&[u8]>,
    ) -> Result<Box<dyn RowSink>> {
        let sink_error = |e: SnapshotError| MergeError::Sink {
            partition,
            source: Box::new(e),
        };
        let writer = SnapshotWriter::new(
            Arc::clone(&self.io),
            &self.dir,
            &partition_prefix(partition),
            self.options.clone(),
        )
        .map_err(sink_error)?;
        Ok(Box::new(CheckpointSink {
            partition,
            writer,
            attributes: self.options.attributes.clone(),
            entries: Arc::clone(&self.entries),
            rows: 0,
        }))
    }
}

/// One partition's snapshot writer.
#[derive(Debug)]
pub struct CheckpointSink {
    partition: usize,
    writer: SnapshotWriter,
    attributes: Vec<(String, ScalarAttributeType)>,
    entries: Arc<Mutex<BTreeMap<usize, Vec<FileEntry>>>>,
    rows: u64,
}

impl CheckpointSink {
    fn error(&self, e: SnapshotError) -> MergeError {
        MergeError::Sink {
            partition: self.partition,
            source: Box::new(e),
        }
    }
}

impl RowSink for CheckpointSink {
    fn push(&mut self, row: &Row) -> Result<()> {
        let pushed = match &row.attrs {
            // From the snapshot: the stored bytes, untouched.
            Some(attrs) => self.writer.push_parts(&row.key, &row.item, attrs),
            // From the log: derived from the item.
            None => attrs_from_item(&row.item, &self.attributes)
                .and_then(|attrs| self.writer.push_parts(&row.key, &row.item, &attrs)),
        };
        pushed.map_err(|e| self.error(e))?;
        self.rows += 1;
        Ok(())
    }

    fn finish(self: Box<Self>) -> Result<SinkOutput> {
        let this = *self;
        let partition = this.partition;
        let files = this.writer.finish().map_err(|e| MergeError::Sink {
            partition,
            source: Box::new(e),
        })?;
        let output = SinkOutput {
            rows: this.rows,
            bytes: files.iter().map(|f| f.size_bytes).sum(),
            artifacts: files.iter().map(|f| f.name.clone().into()).collect(),
        };
        this.entries
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(partition, files);
        Ok(output)
    }
}

/// How a checkpoint runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckpointOptions {
    pub merge: MergeOptions,
    /// The new snapshot's files: table id, typed attributes, block and file sizes. The LSN is
    /// replaced by the cut. With an old snapshot, table id and attributes must match it.
    pub writer: WriterOptions,
}

/// A committed checkpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    /// The published manifest of the new snapshot.
    pub manifest: SnapshotManifest,
    /// The fingerprint of the rows of the new snapshot.
    pub fingerprint: Fingerprint,
    pub merge: MergeResult,
}

/// Builds the snapshot at `cut` in `new_dir` from the snapshot published in `old_snapshot_dir`
/// (or an empty table) and `log`, which must yield exactly the records after the old
/// snapshot's LSN up to `cut`.
///
/// `new_dir` must not hold a published snapshot; `.snap` files left there by an interrupted
/// checkpoint are removed first. The manifest is published last, atomically: until it is,
/// no snapshot exists in `new_dir`, whatever files a crash leaves.
pub fn checkpoint<L>(
    io: Arc<dyn Io>,
    old_snapshot_dir: Option<&Path>,
    log: L,
    cut: u64,
    new_dir: &Path,
    options: &CheckpointOptions,
) -> Result<Checkpoint>
where
    L: IntoIterator<Item = Result<Record, LogError>>,
{
    let old = old_snapshot_dir
        .map(|dir| SnapshotDirInput::open(Arc::clone(&io), dir))
        .transpose()?;
    let mut writer = options.writer.clone();
    writer.lsn = cut;
    if let Some(old) = &old {
        if old.manifest().table_id != writer.table_id {
            return Err(MergeError::InvalidOptions(format!(
                "the old snapshot is of table {:02x?}, the options name {:02x?}",
                old.manifest().table_id,
                writer.table_id
            )));
        }
        if old
            .attributes()
            .is_some_and(|attributes| attributes != writer.attributes.as_slice())
        {
            return Err(MergeError::InvalidOptions(
                "the old snapshot's typed attributes differ from the options'".to_owned(),
            ));
        }
    }
    let manifest_path = new_dir.join(MANIFEST_FILE_NAME);
    if io.exists(&manifest_path)? {
        return Err(MergeError::InvalidOptions(format!(
            "{} already holds a snapshot",
            new_dir.display()
        )));
    }
    io.create_dir_all(new_dir)?;
    // The directory's own entry must be durable before the manifest in it commits anything.
    if let Some(parent) = new_dir.parent().filter(|p| !p.as_os_str().is_empty()) {
        io.sync_dir(parent)
            .map_err(|e| error_at("sync", parent, e))?;
    }
    remove_unreferenced(&*io, new_dir)?;
    let sinks = CheckpointSinks::new(Arc::clone(&io), new_dir, writer.clone());
    let merged = merge(
        Arc::clone(&io),
        old.as_ref().map(|o| o as &dyn SnapshotInput),
        log,
        cut,
        &options.merge,
        &sinks,
    )?;
    let base_lsn = old.as_ref().map_or(0, |o| o.manifest().lsn);
    let manifest =
        SnapshotManifest::new(writer.table_id, cut, sinks.file_entries()).with_base_lsn(base_lsn);
    // The writers fingerprinted the rows they wrote, the merge the rows it produced: the same
    // rows, or nothing is published.
    if manifest.totals.fingerprint != merged.fingerprint {
        return Err(MergeError::FingerprintMismatch {
            written: manifest.totals.fingerprint,
            merged: merged.fingerprint,
        });
    }
    manifest.publish(&*io, new_dir).map_err(snapshot_error)?;
    Ok(Checkpoint {
        manifest,
        fingerprint: merged.fingerprint,
        merge: merged,
    })
}

/// Deletes the `.snap` files (and stray manifest temporaries) in `dir` that its manifest does
/// not name; with no manifest, every `.snap` file. A manifest that exists but does not load is
/// an error and nothing is deleted. Returns how many files were removed.
pub fn remove_unreferenced(io: &dyn Io, dir: &Path) -> Result<usize> {
    let referenced: BTreeSet<String> = if io.exists(&dir.join(MANIFEST_FILE_NAME))? {
        SnapshotManifest::load(io, dir)
            .map_err(snapshot_error)?
            .files
            .into_iter()
            .map(|f| f.name)
            .collect()
    } else {
        BTreeSet::new()
    };
    let mut removed = 0;
    for name in io.read_dir(dir)? {
        let Some(name) = name.to_str() else {
            continue;
        };
        let stray = (name.ends_with(".snap") && !referenced.contains(name))
            || (is_publish_temp(name) && name.contains(MANIFEST_FILE_NAME));
        if stray {
            let path = dir.join(name);
            io.remove_file(&path)
                .map_err(|e| error_at("remove", &path, e))?;
            removed += 1;
        }
    }
    if removed > 0 {
        io.sync_dir(dir).map_err(|e| error_at("sync", dir, e))?;
    }
    Ok(removed)
}
