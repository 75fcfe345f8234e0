//! Where a restore's rows come from: a backup's Parquet artifacts (row groups decoded on
//! several threads, delivered in key order, checked against the manifest as they pass), or a
//! table's held snapshot merged with its log up to a cut (the point-in-time restore).

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::sync::{Arc, Mutex, PoisonError};

use ddb_backup::{BackupManifest, BackupReader, VerifyLevel};
use ddb_io::Io;
use ddb_merge::{MergeOptions, Row, RowSink, SinkFactory, SinkOutput, SnapshotDirInput};
use ddb_model::fingerprint::Fingerprint;

use super::job::JobError;
use super::load::{Loader, Prepared, Preparer};
use crate::table::Table;

/// Rows as (key, item) bytes, handed from the merge to the loader.
type KeyItems = Vec<(Vec<u8>, Vec<u8>)>;

/// A row group's rows, prepared, with their fingerprint.
type Batch = Result<(Vec<Prepared>, Fingerprint), JobError>;

/// Loads the backup in `dir` into `loader`: first the byte tier of verification (every
/// artifact's and row group's xxh3-128, sizes, footers, the manifest's own checksum), then
/// every row group — decoded on `threads` threads, each group's bytes checked again as read —
/// with each row's key re-derived from its item, each row group's first and last key, and
/// each artifact's row count and fingerprint compared with the manifest. Any difference fails
/// the restore, naming where.
pub(crate) fn load_backup(
    io: &Arc<dyn Io>,
    dir: &Path,
    preparer: &Preparer,
    loader: &mut Loader,
    threads: usize,
    cancel: &AtomicBool,
) -> Result<BackupManifest, JobError> {
    let report = ddb_backup::verify(Arc::clone(io), dir, VerifyLevel::Bytes).map_err(|e| {
        JobError::Failed(format!(
            "the backup in {} does not verify: {e}",
            dir.display()
        ))
    })?;
    if let Some(problem) = report.problems.first() {
        return Err(JobError::Failed(format!(
            "the backup in {} is damaged ({} problems), the first: {problem}",
            dir.display(),
            report.problems.len()
        )));
    }
    let reader = BackupReader::open(Arc::clone(io), dir)
        .map_err(|e| JobError::Failed(format!("the backup in {}: {e}", dir.display())))?;
    let manifest = reader.manifest().clone();
    let groups = reader.row_groups();
    let threads = threads.clamp(1, groups.len().max(1));
    let mut artifact_prints = vec![Fingerprint::default(); manifest.artifacts.len()];
    std::thread::scope(|scope| -> Result<(), JobError> {
        // Worker w decodes row groups w, w + threads, …, at most one ahead of the writer.
        let mut receivers: Vec<Receiver<Batch>> = Vec::with_capacity(threads);
        for worker in 0..threads {
            // A rendezvous: a worker holds at most the group it decoded until the writer takes it.
            let (tx, rx) = sync_channel::<Batch>(0);
            receivers.push(rx);
            let (reader, groups) = (&reader, &groups);
            scope.spawn(move || {
                for rg in groups.iter().skip(worker).step_by(threads) {
                    let batch = decode_group(reader, rg, preparer, cancel);
                    let failed = batch.is_err();
                    if tx.send(batch).is_err() || failed {
                        return;
                    }
                }
            });
        }
        for (i, rg) in groups.iter().enumerate() {
            let Some(rx) = receivers.get(i % threads) else {
                break;
            };
            let (rows, print) = rx.recv().map_err(|_| {
                JobError::Failed("a row group decoder stopped without an answer".to_owned())
            })??;
            if u64::try_from(rows.len()).ok() != Some(rg.rows) {
                return Err(JobError::Failed(format!(
                    "{} row group {}: {} rows, the manifest says {}",
                    artifact_name(&manifest, rg.artifact),
                    rg.row_group,
                    rows.len(),
                    rg.rows
                )));
            }
            // The manifest's key range of the group must be its rows' (a manifest that
            // misdescribes its data is damaged, even when the rows themselves are intact).
            let first = rows.first().map(|r| r.key.as_slice());
            let last = rows.last().map(|r| r.key.as_slice());
            if first != Some(rg.first_key.as_slice()) || last != Some(rg.last_key.as_slice()) {
                return Err(JobError::Failed(format!(
                    "{} row group {}: its first and last keys are not the manifest's",
                    artifact_name(&manifest, rg.artifact),
                    rg.row_group
                )));
            }
            if let Some(total) = artifact_prints.get_mut(rg.artifact) {
                total.combine(&print);
            }
            for row in rows {
                loader.push(row).map_err(JobError::from)?;
            }
        }
        Ok(())
    })?;
    let mut total = Fingerprint::default();
    for (artifact, print) in manifest.artifacts.iter().zip(&artifact_prints) {
        if artifact.fingerprint != *print || artifact.rows != print.items {
            return Err(JobError::Failed(format!(
                "{}: its rows do not match the manifest's count and fingerprint \
                 ({} rows read, {} expected)",
                artifact.path, print.items, artifact.rows
            )));
        }
        total.combine(print);
    }
    if total != manifest.totals.fingerprint {
        return Err(JobError::Failed(format!(
            "{}: the rows read do not match the manifest's total fingerprint",
            dir.display()
        )));
    }
    Ok(manifest)
}

fn artifact_name(manifest: &BackupManifest, index: usize) -> String {
    manifest
        .artifacts
        .get(index)
        .map_or_else(|| format!("artifact {index}"), |a| a.path.clone())
}

fn decode_group(
    reader: &BackupReader,
    rg: &ddb_backup::RowGroupRef,
    preparer: &Preparer,
    cancel: &AtomicBool,
) -> Batch {
    if cancel.load(Ordering::Relaxed) {
        return Err(JobError::Cancelled);
    }
    let name = artifact_name(reader.manifest(), rg.artifact);
    let rows = reader
        .read_row_group(rg)
        .map_err(|e| JobError::Failed(format!("{name} row group {}: {e}", rg.row_group)))?;
    let mut print = Fingerprint::default();
    let mut out = Vec::with_capacity(rows.len());
    for (n, row) in rows.into_iter().enumerate() {
        print.add(&row.key, &row.item);
        let what = || format!("{name} row group {} row {n}", rg.row_group);
        out.push(
            preparer
                .prepare(row.key, row.item, &what)
                .map_err(|e| JobError::Failed(e.to_string()))?,
        );
    }
    Ok((out, print))
}

/// Loads `table` as of LSN `lsn` — its held snapshot (`hold`) merged with its log up to
/// `lsn` — into `loader`; returns the merge's fingerprint (the caller compares it with the
/// load's).
#[allow(clippy::too_many_arguments)] // each is a distinct input of the job
pub(crate) fn load_point_in_time(
    io: &Arc<dyn Io>,
    table: &Arc<Table>,
    hold_id: &str,
    (snapshot_lsn, lsn): (u64, u64),
    merge: &MergeOptions,
    preparer: &Preparer,
    loader: &mut Loader,
    cancel: &AtomicBool,
) -> Result<Fingerprint, JobError> {
    let hold = table.hold(hold_id).ok_or_else(|| {
        JobError::Failed(format!(
            "table {} holds no files for this restore",
            table.name
        ))
    })?;
    if hold.snapshot_lsn() != snapshot_lsn || hold.marker_lsn != lsn {
        return Err(JobError::Failed(format!(
            "the restore merges snapshot {snapshot_lsn} up to {lsn}, the table holds snapshot {} \
             up to {}",
            hold.snapshot_lsn(),
            hold.marker_lsn
        )));
    }
    let snapshot = hold
        .snapshot
        .as_ref()
        .map(|base| SnapshotDirInput::open(Arc::clone(io), base.dir()))
        .transpose()
        .map_err(|e| JobError::Failed(e.to_string()))?;
    let log = table
        .read_log(snapshot_lsn + 1, lsn)
        .map_err(|e| JobError::Failed(e.to_string()))?;
    let log = log.map(move |record| {
        if cancel.load(Ordering::Relaxed) {
            return Err(ddb_log::LogError::Io(std::io::Error::other(
                "the database is closing",
            )));
        }
        record
    });
    let (tx, rx) = sync_channel::<KeyItems>(2);
    let sinks = ChannelSinks {
        tx: Mutex::new(Some(tx)),
    };
    std::thread::scope(|scope| -> Result<Fingerprint, JobError> {
        let merging = scope.spawn(|| {
            let snapshot = snapshot
                .as_ref()
                .map(|s| s as &dyn ddb_merge::SnapshotInput);
            let result = ddb_merge::merge(Arc::clone(io), snapshot, log, lsn, merge, &sinks);
            // Close the channel so the loader sees the end (also on error).
            drop(
                sinks
                    .tx
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .take(),
            );
            result
        });
        let mut loaded: Result<(), JobError> = Ok(());
        for batch in rx.iter() {
            if loaded.is_err() {
                continue;
            }
            for (key, item) in batch {
                let what = || format!("table {} at LSN {lsn}", table.name);
                let prepared = preparer
                    .prepare(key, item, &what)
                    .map_err(|e| JobError::Failed(e.to_string()));
                if let Err(e) = prepared.and_then(|p| loader.push(p).map_err(JobError::from)) {
                    loaded = Err(e);
                    break;
                }
            }
        }
        let merged = merging
            .join()
            .map_err(|_| JobError::Failed("the merge thread panicked".to_owned()))?;
        loaded?;
        if cancel.load(Ordering::Relaxed) {
            return Err(JobError::Cancelled);
        }
        let merged = merged.map_err(|e| JobError::Failed(e.to_string()))?;
        Ok(merged.fingerprint)
    })
}

/// Sinks that hand the merge's rows to the loader thread in batches.
struct ChannelSinks {
    tx: Mutex<Option<SyncSender<KeyItems>>>,
}

impl SinkFactory for ChannelSinks {
    fn sink(
        &self,
        _partition: usize,
        _lower: Option<&[u8]>,
        _upper: Option<&[u8]>,
    ) -> ddb_merge::Result<Box<dyn RowSink>> {
        let tx = self
            .tx
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
            .ok_or_else(|| ddb_merge::MergeError::InvalidOptions("sink closed".to_owned()))?;
        Ok(Box::new(ChannelSink {
            tx,
            batch: Vec::with_capacity(BATCH_ROWS),
            rows: 0,
        }))
    }
}

const BATCH_ROWS: usize = 1024;

/// Key and item bytes only: the loader derives the typed columns itself.
struct ChannelSink {
    tx: SyncSender<KeyItems>,
    batch: KeyItems,
    rows: u64,
}

impl ChannelSink {
    fn flush(&mut self) -> ddb_merge::Result<()> {
        let batch = std::mem::replace(&mut self.batch, Vec::with_capacity(BATCH_ROWS));
        self.tx.send(batch).map_err(|_| {
            ddb_merge::MergeError::Io(std::io::Error::other("the restore stopped reading rows"))
        })
    }
}

impl RowSink for ChannelSink {
    fn push(&mut self, row: &Row) -> ddb_merge::Result<()> {
        self.batch.push((row.key.clone(), row.item.clone()));
        self.rows += 1;
        if self.batch.len() >= BATCH_ROWS {
            self.flush()?;
        }
        Ok(())
    }

    fn finish(mut self: Box<Self>) -> ddb_merge::Result<SinkOutput> {
        if !self.batch.is_empty() {
            self.flush()?;
        }
        Ok(SinkOutput {
            rows: self.rows,
            bytes: 0,
            artifacts: Vec::new(),
        })
    }
}
