//! Running a restore job: load the rows into the new table's first checkpoint, open the table
//! with its GSIs backfilling, mark it ACTIVE; on failure, remove the table.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::sync::atomic::Ordering;

use ddb_merge::MergeOptions;
use ddb_model::table::{IndexStatus, TableStatus};

use super::load::{Loader, Preparer};
use super::sources::{load_backup, load_point_in_time};
use super::{RestoreService, RestoreSource};
use crate::catalog::{GsiState, TableEntry};
use crate::files;
use crate::table::lock;

/// How a job ended other than by success.
#[derive(Debug)]
pub(crate) enum JobError {
    /// The database is closing: the job resumes on the next open.
    Cancelled,
    /// The restore cannot succeed (or failed): the table is removed.
    Failed(String),
}

impl From<crate::Error> for JobError {
    fn from(e: crate::Error) -> Self {
        JobError::Failed(e.to_string())
    }
}

impl RestoreService {
    /// Runs the restore into table `target` (CREATING, restore in progress).
    pub(super) fn run_job(&self, target: &str) -> Result<(), JobError> {
        let Some(entry) = self.catalog.lock().tables.get(target).cloned() else {
            return Ok(());
        };
        let Some(restore) = entry.restore.clone().filter(|r| r.in_progress) else {
            return Ok(());
        };
        let loaded = self.load(&entry, &restore.source);
        let import = match &restore.source {
            RestoreSource::Import { import_id } => Some(import_id.as_str()),
            _ => None,
        };
        // An import is COMPLETED once its rows are loaded (CURRENT is durable), before the table
        // turns ACTIVE: a crash in between reruns the job, which completes it again; the other
        // order could leave an ACTIVE table whose import an open would call interrupted.
        if let (Some(import_id), Ok(counts)) = (import, &loaded) {
            self.finish_import(import_id, Ok(counts.clone().unwrap_or_default()));
        }
        let outcome = loaded.and_then(|_| self.activate(&entry).map_err(JobError::from));
        if let (Some(import_id), Err(JobError::Failed(message))) = (import, &outcome)
            && !self.cancel.load(Ordering::Relaxed)
        {
            self.finish_import(import_id, Err(message.clone()));
        }
        if self.cancel.load(Ordering::Relaxed) && outcome.is_err() {
            return Err(JobError::Cancelled);
        }
        match outcome {
            Ok(_) => {
                self.release_source(&restore.source);
                Ok(())
            }
            Err(JobError::Cancelled) => Err(JobError::Cancelled),
            Err(JobError::Failed(message)) => {
                // Leave nothing behind: the files, then the entry (so a crash in between is
                // finished by the next open, which removes directories the catalog does not
                // know).
                if let Some(table) = lock(&self.tables).remove(target) {
                    table.shutdown();
                }
                let removed =
                    files::remove_dir_all(&*self.io, &files::table_dir(&self.root, &entry.id))
                        .and_then(|()| {
                            self.catalog.update(|catalog| {
                                if catalog.tables.get(target).is_some_and(|e| e.id == entry.id) {
                                    catalog.tables.remove(target);
                                }
                                Ok(())
                            })
                        });
                self.release_source(&restore.source);
                match removed {
                    Ok(()) => Err(JobError::Failed(message)),
                    Err(e) => Err(JobError::Failed(format!(
                        "{message}; removing the table failed too: {e}"
                    ))),
                }
            }
        }
    }

    /// Loads the rows; an import also returns what it read.
    fn load(
        &self,
        entry: &TableEntry,
        source: &RestoreSource,
    ) -> Result<Option<crate::transfer::import::ImportCounts>, JobError> {
        let schema = entry
            .definition
            .validate()
            .map_err(|e| JobError::Failed(e.to_string()))?;
        let preparer = Preparer::new(schema);
        let dir = files::table_dir(&self.root, &entry.id);
        let mut loader = Loader::new(
            Arc::clone(&self.io),
            &dir,
            entry.table_id_bytes(),
            &preparer,
            self.config.snapshot_block_bytes,
            self.config.merge_memory_bytes / 2,
        )?;
        let mut counts = None;
        let expected = match source {
            RestoreSource::Import { import_id } => {
                let read = self.load_import(
                    import_id,
                    &preparer,
                    &mut loader,
                    &files::work_dir(&dir).join("import"),
                    &self.cancel,
                )?;
                counts = Some(read);
                None
            }
            RestoreSource::Backup {
                dir: backup,
                catalog_arn,
            } => {
                // A catalog backup is found where this database keeps it now (its root may be
                // a relative path, opened from another directory than the request's).
                let backup = match catalog_arn {
                    Some(arn) => {
                        self.backups
                            .entry_by_arn(arn)
                            .map_err(|e| {
                                JobError::Failed(format!("backup {arn}: {}", e.message()))
                            })?
                            .dir
                    }
                    None => backup.clone(),
                };
                let manifest = load_backup(
                    &self.io,
                    &backup,
                    &preparer,
                    &mut loader,
                    self.decode_threads,
                    &self.cancel,
                )?;
                Some(manifest.totals.fingerprint)
            }
            RestoreSource::PointInTime {
                table_name,
                table_id,
                hold,
                snapshot_lsn,
                lsn,
            } => {
                let table = lock(&self.tables)
                    .get(table_name)
                    .cloned()
                    .filter(|t| t.id_hex() == *table_id)
                    .ok_or_else(|| {
                        JobError::Failed(format!("the source table {table_name} is not open"))
                    })?;
                let merge = MergeOptions {
                    partitions: 1,
                    memory_budget_bytes: self.config.merge_memory_bytes / 2,
                    spill_dir: files::work_dir(&dir).join("merge"),
                };
                Some(load_point_in_time(
                    &self.io,
                    &table,
                    hold,
                    (*snapshot_lsn, *lsn),
                    &merge,
                    &preparer,
                    &mut loader,
                    &self.cancel,
                )?)
            }
        };
        if self.cancel.load(Ordering::Relaxed) {
            return Err(JobError::Cancelled);
        }
        let report = loader.finish(crate::backups::ops::now_ms())?;
        if let Some(expected) = expected
            && report.fingerprint != expected
        {
            return Err(JobError::Failed(format!(
                "the restored table holds {} rows, the source {}: their fingerprints differ",
                report.rows, expected.items
            )));
        }
        Ok(counts)
    }

    /// The loaded table: open it (its GSIs queued for backfill) and make it ACTIVE.
    fn activate(&self, entry: &TableEntry) -> crate::Result<()> {
        let backfilling: BTreeSet<String> = entry.gsis.keys().cloned().collect();
        let mut opened = entry.clone();
        for state in opened.gsis.values_mut() {
            state.backfilling = true;
            state.status = IndexStatus::Creating;
        }
        crate::db::open_table_with(
            &self.io,
            &self.root,
            &self.config,
            &self.events,
            &self.tables,
            &opened,
            BTreeMap::new(),
        )?;
        let name = entry.definition.table_name.clone();
        self.catalog.update(|catalog| {
            if let Some(e) = catalog.tables.get_mut(&name) {
                e.status = TableStatus::Active;
                if let Some(restore) = &mut e.restore {
                    restore.in_progress = false;
                }
                for (index, state) in &mut e.gsis {
                    if backfilling.contains(index) && state.status != IndexStatus::Active {
                        *state = GsiState {
                            status: IndexStatus::Creating,
                            backfilling: true,
                            backfill_violations: 0,
                        };
                    }
                }
            }
            Ok(())
        })
    }

    /// Lets go of what the restore pinned: the backup's reader count or the source table's
    /// hold.
    fn release_source(&self, source: &RestoreSource) {
        match source {
            RestoreSource::Backup {
                catalog_arn: Some(arn),
                ..
            } => self.backups.unpin(arn),
            RestoreSource::Backup { .. } | RestoreSource::Import { .. } => {}
            RestoreSource::PointInTime {
                table_name, hold, ..
            } => {
                let table = lock(&self.tables).get(table_name).cloned();
                if let Some(table) = table
                    && let Err(e) = table.release_hold(hold)
                {
                    eprintln!("ddb-table: releasing the restore hold {hold}: {e}");
                }
            }
        }
    }
}
