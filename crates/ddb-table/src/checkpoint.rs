//! Checkpoints and GSI backfills: the table's background jobs.
//!
//! A checkpoint at cut `c` (the last acknowledged LSN when it starts):
//! 1. with the writer lock held, freezes the table and LSI deltas and asks the GSI applier to
//!    freeze the GSI deltas once it has applied everything up to `c`;
//! 2. merges the previous table snapshot with the log `(previous, c]` (`ddb_merge::checkpoint`,
//!    bounded memory, partitioned) into `ckpt-<c>/table`;
//! 3. merges each index's previous snapshot with its frozen delta into `ckpt-<c>/index-<name>`;
//! 4. publishes `CURRENT` naming `c` — the commit point: until then the previous checkpoint and
//!    the log are the table;
//! 5. swaps the new snapshots in and drops the frozen deltas; the old snapshot directories go
//!    when their last reader lets go; log segments wholly at or below `c` are deleted.
//!
//! A GSI backfill registers the new index at a checkpoint's cut (the applier maintains it for
//! every change after the cut from then on), then builds its contents at the cut from the
//! table snapshot with an external sort, publishes them in `CURRENT`, and marks it ACTIVE.

use std::collections::BTreeMap;
use std::ops::Bound;
use std::path::{Path, PathBuf};
use std::sync::{Arc, PoisonError};

use ddb_log::LogIter;
use ddb_merge::{CheckpointOptions, MergeOptions};
use ddb_model::{IndexKind, ScalarAttributeType, TableSchema};
use ddb_snapshot::{Columns, SnapshotManifest, SnapshotReader, SnapshotWriter, WriterOptions};

use crate::index_build::IndexBuilder;

use crate::error::{Error, Result};
use crate::files;
use crate::index;
use crate::layers::{Base, SharedDelta, Tree};
use crate::retention::{RetainedSnapshot, pitr_keep};
use crate::state_file;
use crate::table::{Current, Shape, Stats, Table, lock};

/// The typed columns of a table's snapshots: the table key and LSI key attributes, which never
/// change over the table's life (GSIs come and go; their attributes stay in the item column).
pub fn snapshot_attributes(schema: &TableSchema) -> Vec<(String, ScalarAttributeType)> {
    let mut out: Vec<(String, ScalarAttributeType)> = schema
        .key
        .attributes()
        .chain(
            schema
                .indexes
                .iter()
                .filter(|i| i.kind == IndexKind::Local)
                .flat_map(|i| i.key.attributes()),
        )
        .map(|a| (a.name.clone(), a.attribute_type))
        .collect();
    out.sort();
    out.dedup();
    out
}

/// What a checkpoint did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckpointReport {
    /// The checkpoint's LSN (unchanged if there was nothing to do).
    pub lsn: u64,
    /// Whether a new checkpoint was published.
    pub published: bool,
    pub rows: u64,
    pub log_segments_deleted: usize,
}

impl Table {
    fn writer_options(&self, shape: &Shape, lsn: u64) -> WriterOptions {
        let mut options =
            WriterOptions::new(self.table_id, lsn, snapshot_attributes(&shape.schema));
        options.block_bytes_target = self.config.snapshot_block_bytes;
        options
    }

    /// Runs a checkpoint now (waiting for one in progress to finish first).
    pub fn checkpoint(&self) -> Result<CheckpointReport> {
        let _one_at_a_time = lock(&self.checkpoint_lock);
        self.checkpoint_locked(None)
    }

    /// A checkpoint (the caller holds `checkpoint_lock`) that also registers `register` (a GSI
    /// being backfilled) at its cut.
    fn checkpoint_locked(&self, register: Option<&str>) -> Result<CheckpointReport> {
        // 1. Freeze at the cut.
        let mut writer = lock(&self.writer);
        // The cut: the last installed change. Everything up to it is durable and in the deltas;
        // changes still waiting for their fsync land in the new active delta.
        self.install_acknowledged(&mut writer);
        let cut = writer.installed_lsn;
        let current = lock(&self.current).clone();
        let shape = self.shape();
        let changed = cut > current.lsn;
        let stats = writer.stats;
        let last_commit_us = writer.last_commit_us.max(current.last_commit_us);
        let lsi_stats = writer.index_stats.clone();
        let active_gsis: Vec<String> = shape
            .gsis()
            .filter(|g| !shape.backfilling.contains(&g.name))
            .map(|g| g.name.clone())
            .collect();
        if changed {
            let mut trees = self.trees_mut();
            trees.table.freeze();
            for lsi in shape.lsis() {
                if let Some(tree) = trees.indexes.get_mut(&lsi.name) {
                    tree.freeze();
                }
            }
        }
        if let Some(name) = register {
            self.trees_mut()
                .indexes
                .insert(name.to_owned(), Tree::new(None));
            let mut next = (*shape).clone();
            next.gsi_start.insert(name.to_owned(), cut);
            *self.shape.write().unwrap_or_else(PoisonError::into_inner) = Arc::new(next);
            // A retried backfill starts over: the applier's counts since an earlier
            // registration describe the tree just replaced.
            let mut gsi = lock(&self.gsi);
            gsi.violations.insert(name.to_owned(), 0);
            gsi.stats.remove(name);
        }
        let wait_for_gsis = changed && !active_gsis.is_empty();
        if wait_for_gsis {
            let mut gsi = lock(&self.gsi);
            gsi.freeze_at = Some(cut);
            gsi.frozen_at = None;
        }
        drop(writer);
        if !changed {
            return Ok(CheckpointReport {
                lsn: current.lsn,
                published: false,
                rows: 0,
                log_segments_deleted: 0,
            });
        }
        let gsi_stats = if wait_for_gsis {
            self.wait_for_gsi_freeze(cut)?
        } else {
            lock(&self.gsi).stats.clone()
        };

        // 2. The table: previous snapshot ⊕ log.
        let trees = self.trees_snapshot();
        let checkpoint_dir = files::checkpoint_dir(&self.dir, cut);
        if self.io.exists(&checkpoint_dir)? {
            // A failed attempt at this cut left it (`cut` is past the published checkpoint, so
            // nothing references it) — unless that attempt failed inside publishing `CURRENT`
            // after the rename, when the file may name it: then only a reopen can tell.
            let published: Option<Current> =
                state_file::load(&*self.io, &self.dir, files::CURRENT_FILE)?;
            if published.is_some_and(|c| c.lsn == cut) {
                return Err(Error::Unavailable(format!(
                    "an earlier checkpoint at LSN {cut} failed while publishing; reopen the \
                     table to recover it"
                )));
            }
            files::remove_dir_all(&*self.io, &checkpoint_dir)?;
        }
        let old_dir = current
            .table_snapshot
            .then(|| files::table_snapshot_dir(&files::checkpoint_dir(&self.dir, current.lsn)));
        let log = LogIter::new(
            Arc::clone(&self.io),
            self.log.segments(),
            current.lsn + 1,
            cut,
        )?;
        let options = CheckpointOptions {
            merge: MergeOptions {
                partitions: self.config.merge_partitions.max(1),
                memory_budget_bytes: self.config.merge_memory_bytes,
                spill_dir: files::work_dir(&self.dir),
            },
            writer: self.writer_options(&shape, cut),
        };
        let table_dir = files::table_snapshot_dir(&checkpoint_dir);
        let merged = ddb_merge::checkpoint(
            Arc::clone(&self.io),
            old_dir.as_deref(),
            log,
            cut,
            &table_dir,
            &options,
        )?;
        if merged.manifest.totals.rows != u64::try_from(stats.items).unwrap_or(u64::MAX) {
            return Err(Error::Corrupt {
                path: table_dir,
                message: format!(
                    "the checkpoint holds {} rows but the table counts {} items",
                    merged.manifest.totals.rows, stats.items
                ),
            });
        }

        // 3. Each index: previous snapshot ⊕ frozen delta.
        let mut index_names = std::collections::BTreeSet::new();
        let mut index_stats = BTreeMap::new();
        for index in &shape.schema.indexes {
            if shape.backfilling.contains(&index.name) {
                continue;
            }
            let Some(tree) = trees.indexes.get(&index.name) else {
                continue;
            };
            let dir = files::index_snapshot_dir(&checkpoint_dir, &index.name);
            write_tree(
                &self.io,
                tree.base.as_ref(),
                &tree.frozen,
                &dir,
                self.writer_options(&shape, cut),
                current.lsn,
            )?;
            index_names.insert(index.name.clone());
            let stats = match index.kind {
                IndexKind::Local => lsi_stats.get(&index.name),
                IndexKind::Global => gsi_stats.get(&index.name),
            };
            index_stats.insert(index.name.clone(), stats.copied().unwrap_or_default());
        }

        // 4. Commit, with the snapshots the PITR window keeps.
        let now_ms = self.config.clock.now_us() / 1000;
        let mut candidates = current.retained.clone();
        candidates.push(RetainedSnapshot {
            lsn: current.lsn,
            time_ms: current.time_ms,
        });
        let pitr = lock(&self.retention).pitr;
        let retained: Vec<RetainedSnapshot> = pitr_keep(pitr, now_ms, candidates);
        let next = Current {
            format: crate::table::CURRENT_FORMAT,
            lsn: cut,
            table_snapshot: true,
            indexes: index_names.clone(),
            stats,
            index_stats,
            time_ms: now_ms,
            retained: retained.clone(),
            last_commit_us,
        };
        state_file::publish(&*self.io, &self.dir, files::CURRENT_FILE, &next)?;
        *lock(&self.current) = next;

        // 5. Swap.
        let table_base = Arc::new(Base::open(Arc::clone(&self.io), table_dir)?);
        let mut index_bases = BTreeMap::new();
        for name in &index_names {
            let dir = files::index_snapshot_dir(&checkpoint_dir, name);
            index_bases.insert(
                name.clone(),
                Arc::new(Base::open(Arc::clone(&self.io), dir)?),
            );
        }
        // The holds are read under the same lock as the swap: a backup that took the old base
        // registered its hold before, one that did not sees the new base.
        let mut retention = lock(&self.retention);
        {
            let mut trees = self.trees_mut();
            let frozen = trees.table.frozen.len();
            let old = trees.table.swap_base_keeping_old(Some(table_base), frozen);
            if let Some(old) = old {
                if retained.iter().any(|r| r.lsn == old.lsn) {
                    retention.retained.insert(old.lsn, old);
                } else {
                    old.mark_obsolete();
                }
            }
            let let_go: Vec<u64> = retention
                .retained
                .keys()
                .copied()
                .filter(|lsn| !retained.iter().any(|r| r.lsn == *lsn))
                .collect();
            for lsn in let_go {
                if let Some(base) = retention.retained.remove(&lsn) {
                    base.mark_obsolete();
                }
            }
            for (name, base) in index_bases {
                if let Some(tree) = trees.indexes.get_mut(&name) {
                    let frozen = tree.frozen.len();
                    tree.swap_base(Some(base), frozen);
                }
            }
        }
        let keep_from = retention.log_keep_from(cut, &retained);
        drop(retention);
        lock(&self.gsi).frozen_at = None;
        let deleted = self.log.delete_segments_below(keep_from)?;
        Ok(CheckpointReport {
            lsn: cut,
            published: true,
            rows: merged.manifest.totals.rows,
            log_segments_deleted: deleted,
        })
    }

    /// Waits until the applier froze the GSI deltas at `cut` (running it inline without
    /// background threads); returns the GSI stats at the cut.
    fn wait_for_gsi_freeze(&self, cut: u64) -> Result<BTreeMap<String, Stats>> {
        if !self.config.background {
            loop {
                let work = {
                    let mut gsi = lock(&self.gsi);
                    match gsi.queue.front() {
                        Some(w) if w.lsn <= cut => gsi.queue.pop_front(),
                        _ => None,
                    }
                };
                let Some(work) = work else { break };
                let shape = self.shape();
                self.apply_gsi_work(&shape, &work);
                let mut gsi = lock(&self.gsi);
                gsi.applied_lsn = gsi.applied_lsn.max(work.lsn);
                gsi.applied_timestamp_us = work.timestamp_us;
            }
            let mut gsi = lock(&self.gsi);
            gsi.freeze_at = Some(cut);
            self.freeze_gsis(&mut gsi);
            return Ok(gsi.frozen_stats.clone());
        }
        self.gsi_changed.notify_all();
        let mut gsi = lock(&self.gsi);
        loop {
            if gsi.frozen_at == Some(cut) {
                return Ok(gsi.frozen_stats.clone());
            }
            if gsi.shutdown {
                return Err(Error::Unavailable(
                    "the table is closing; the checkpoint was abandoned".to_owned(),
                ));
            }
            gsi = self
                .gsi_changed
                .wait(gsi)
                .unwrap_or_else(PoisonError::into_inner);
        }
    }

    /// Backfills the GSI `name`: registers it at a checkpoint's cut, builds its contents at
    /// the cut from the table snapshot, publishes them and makes the index ACTIVE.
    pub(crate) fn backfill(&self, name: &str) -> Result<()> {
        let shape = self.shape();
        if !shape.backfilling.contains(name) {
            return Ok(());
        }
        let _one_at_a_time = lock(&self.checkpoint_lock);
        self.checkpoint_locked(Some(name))?;
        let current = lock(&self.current).clone();
        let shape = self.shape();
        let index = shape
            .schema
            .index(name)
            .cloned()
            .ok_or_else(|| Error::Unavailable(format!("index {name} is gone")))?;
        let checkpoint_dir = files::checkpoint_dir(&self.dir, current.lsn);
        let dir = files::index_snapshot_dir(&checkpoint_dir, name);
        let work = files::work_dir(&self.dir);
        let budget = (self.config.merge_memory_bytes / 2).max(1 << 20);
        let mut built = Stats::default();
        let mut violations = 0u64;
        // An external sort of the entries (bounded by the budget) into the index snapshot.
        let mut builder = IndexBuilder::new(
            Arc::clone(&self.io),
            &dir,
            &work,
            &format!("backfill-{name}"),
            self.writer_options(&shape, current.lsn),
            budget,
        )?;
        if current.table_snapshot {
            let reader = SnapshotReader::open(
                Arc::clone(&self.io),
                &files::table_snapshot_dir(&checkpoint_dir),
            )?;
            let columns = Columns {
                item: true,
                attrs: false,
            };
            for row in reader.scan((Bound::Unbounded, Bound::Unbounded), columns) {
                let row = row?;
                let item = crate::table::decode_item(&row.item)?;
                if index::is_violation(&index, &item) {
                    violations += 1;
                    continue;
                }
                let Some(entry) = index::entry(&shape.schema, &index, &item) else {
                    continue;
                };
                built.add(Some(&entry.item), 1);
                builder.push(entry.key, entry.bytes.to_vec())?;
            }
        }
        builder.finish(current.lsn)?;

        // Publish, install, activate.
        let mut next = current.clone();
        next.indexes.insert(name.to_owned());
        next.index_stats.insert(name.to_owned(), built);
        state_file::publish(&*self.io, &self.dir, files::CURRENT_FILE, &next)?;
        *lock(&self.current) = next;
        let base = Arc::new(Base::open(Arc::clone(&self.io), dir)?);
        {
            let writer = lock(&self.writer);
            if let Some(tree) = self.trees_mut().indexes.get_mut(name) {
                tree.base = Some(base);
            }
            let mut next_shape = (*self.shape()).clone();
            next_shape.backfilling.remove(name);
            let backfilling = next_shape.backfilling.clone();
            let gsi_start = next_shape.gsi_start.clone();
            let mut rebuilt = Shape::new(next_shape.schema, backfilling);
            rebuilt.gsi_start = gsi_start;
            *self.shape.write().unwrap_or_else(PoisonError::into_inner) = Arc::new(rebuilt);
            drop(writer);
        }
        let applier_violations = {
            let mut gsi = lock(&self.gsi);
            let stats = gsi.stats.entry(name.to_owned()).or_default();
            stats.items += built.items;
            stats.bytes += built.bytes;
            gsi.violations.remove(name).unwrap_or(0)
        };
        self.events
            .gsi_active(&self.name, name, violations + applier_violations)?;
        self.events.notify();
        Ok(())
    }

    /// One round of queued jobs: a backfill if one is queued, else a requested checkpoint.
    pub(crate) fn run_jobs_once(&self) -> Result<()> {
        let (checkpoint, backfill) = {
            let mut jobs = lock(&self.jobs);
            let checkpoint = std::mem::take(&mut jobs.checkpoint_requested);
            (checkpoint, jobs.backfills.front().cloned())
        };
        if let Some(name) = backfill {
            self.backfill(&name)?;
            let mut jobs = lock(&self.jobs);
            if jobs.backfills.front() == Some(&name) {
                jobs.backfills.pop_front();
            }
        }
        if checkpoint {
            self.checkpoint()?;
        }
        Ok(())
    }

    pub(crate) fn jobs_loop(self: Arc<Self>) {
        loop {
            {
                let mut jobs = lock(&self.jobs);
                loop {
                    if jobs.shutdown {
                        return;
                    }
                    let failed_backfill = jobs.last_error.is_some();
                    if jobs.checkpoint_requested || (!jobs.backfills.is_empty() && !failed_backfill)
                    {
                        break;
                    }
                    jobs = self
                        .jobs_changed
                        .wait(jobs)
                        .unwrap_or_else(PoisonError::into_inner);
                }
            }
            if let Err(e) = self.run_jobs_once() {
                // Kept for DescribeTable-side reporting; a backfill is retried on the next open
                // or the next checkpoint request.
                let mut jobs = lock(&self.jobs);
                jobs.last_error = Some(e.to_string());
                eprintln!(
                    "ddb-table: background job of table {} failed: {e}",
                    self.name
                );
            } else {
                lock(&self.jobs).last_error = None;
            }
            self.events.notify();
        }
    }

    /// Queues the backfill of `name` (already in the shape as backfilling).
    pub(crate) fn queue_backfill(&self, name: &str) {
        let mut jobs = lock(&self.jobs);
        jobs.backfills.push_back(name.to_owned());
        jobs.last_error = None;
        drop(jobs);
        self.jobs_changed.notify_all();
    }
}

/// Writes `base` ⊕ `deltas` (oldest first) as a snapshot in `dir` at `lsn`.
fn write_tree(
    io: &Arc<dyn ddb_io::Io>,
    base: Option<&Arc<Base>>,
    deltas: &[SharedDelta],
    dir: &Path,
    options: WriterOptions,
    base_lsn: u64,
) -> Result<SnapshotManifest> {
    files::remove_dir_all(&**io, dir)?;
    io.create_dir_all(dir)?;
    let tree = Tree {
        base: base.cloned(),
        frozen: deltas.to_vec(),
        active: SharedDelta::default(),
    };
    let attributes = options.attributes.clone();
    let (table_id, lsn) = (options.table_id, options.lsn);
    let mut writer = SnapshotWriter::new(Arc::clone(io), dir, "part-0", options)?;
    for entry in tree.range(Bound::Unbounded, Bound::Unbounded, true) {
        let (key, bytes) = entry?;
        let attrs = ddb_snapshot::attrs_from_item(&bytes, &attributes)?;
        writer.push_parts(&key, &bytes, &attrs)?;
    }
    let files = writer.finish()?;
    let manifest = SnapshotManifest::new(table_id, lsn, files).with_base_lsn(base_lsn);
    manifest.publish(&**io, dir)?;
    if let Some(parent) = dir.parent() {
        io.sync_dir(parent)?;
    }
    Ok(manifest)
}

/// The path of a table's checkpoint directory (for tools).
pub fn checkpoint_path(table_dir: &Path, lsn: u64) -> PathBuf {
    files::checkpoint_dir(table_dir, lsn)
}
