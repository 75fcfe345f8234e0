//! Running a backup job: the held snapshot ⊕ the log up to the marker → `ddb_backup::build`.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use ddb_backup::{BuildOptions, BuildRequest};
use ddb_log::LogIter;
use ddb_merge::{MergeError, Row, SnapshotDirInput, SnapshotInput};

use super::{BackupJob, BackupService, BackupStatus, JOB_FILE, SPILL_DIR, lock_state};
use crate::error::{Error, Result};
use crate::files;
use crate::state_file;
use crate::table::lock;

impl BackupService {
    /// Builds backup `id` from its job file; on success it is AVAILABLE, its hold released,
    /// and (for the SYSTEM backup of a table being deleted) the table deleted.
    pub(super) fn run_job(&self, id: &str) -> Result<()> {
        let dir = super::backups_dir(&self.root).join(id);
        let job: BackupJob =
            state_file::load(&*self.io, &dir, JOB_FILE)?.ok_or_else(|| Error::Corrupt {
                path: dir.join(JOB_FILE),
                message: "the job file of a CREATING backup is missing".to_owned(),
            })?;
        let table = lock(&self.tables)
            .get(&job.identity.table_name)
            .cloned()
            .filter(|t| t.id_hex() == job.identity.table_id)
            .ok_or_else(|| {
                Error::Unavailable(format!(
                    "backup {id}: its table {} ({}) is not open",
                    job.identity.table_name, job.identity.table_id
                ))
            })?;
        let hold = table.hold(id).ok_or_else(|| {
            Error::Unavailable(format!("backup {id}: the table holds no files for it"))
        })?;
        if hold.snapshot_lsn() != job.snapshot_lsn || hold.marker_lsn != job.marker_lsn {
            return Err(Error::Corrupt {
                path: dir.join(JOB_FILE),
                message: format!(
                    "the job merges snapshot {} up to {}, the table holds snapshot {} up to {}",
                    job.snapshot_lsn,
                    job.marker_lsn,
                    hold.snapshot_lsn(),
                    hold.marker_lsn
                ),
            });
        }
        let snapshot = hold
            .snapshot
            .as_ref()
            .map(|base| SnapshotDirInput::open(Arc::clone(&self.io), base.dir()))
            .transpose()?;
        let log = LogIter::new(
            Arc::clone(&self.io),
            table.log.segments(),
            job.snapshot_lsn + 1,
            job.marker_lsn,
        )?;
        let request = BuildRequest {
            identity: job.identity.clone(),
            marker_lsn: job.marker_lsn,
            marker_time_ms: job.marker_time_ms,
            schema: job.definition.validate()?,
            source_table: job.source_table.clone(),
            expires_at_ms: job.expires_at_ms,
        };
        let spill_dir = dir.join(SPILL_DIR);
        files::remove_dir_all(&*self.io, &spill_dir)?;
        let options = BuildOptions {
            zstd_level: job.zstd_level,
            partitions: job.partitions.max(1),
            memory_budget_bytes: self.config.merge_memory_bytes,
            spill_dir: spill_dir.clone(),
            row_group_bytes: job.row_group_bytes,
            artifact_bytes: job.artifact_bytes,
        };
        let cancel = &self.cancel;
        let cancellable = snapshot.as_ref().map(|inner| Cancellable {
            inner: inner as &dyn SnapshotInput,
            cancel,
        });
        let log = log.map(|record| {
            if cancel.load(Ordering::Relaxed) {
                return Err(ddb_log::LogError::Io(shutting_down()));
            }
            record
        });
        let manifest = ddb_backup::build(
            Arc::clone(&self.io),
            &dir,
            &request,
            cancellable.as_ref().map(|s| s as &dyn SnapshotInput),
            log,
            &options,
        )?;
        if manifest.total_rows() != job.expected_items {
            // The manifest is published but disagrees with the table's count at the marker:
            // a bug, never a backup to offer. Withdraw it.
            self.io.remove_file(&dir.join(ddb_backup::MANIFEST_FILE))?;
            self.io.sync_dir(&dir)?;
            return Err(Error::Corrupt {
                path: dir,
                message: format!(
                    "the backup holds {} rows but the table counted {} items at LSN {}",
                    manifest.total_rows(),
                    job.expected_items,
                    job.marker_lsn
                ),
            });
        }
        // AVAILABLE: the manifest is durable. What follows is cleanup an open redoes.
        files::remove_dir_all(&*self.io, &spill_dir)?;
        self.io.remove_file(&dir.join(JOB_FILE))?;
        self.io.sync_dir(&dir)?;
        {
            let mut state = lock_state(&self.state);
            if let Some(entry) = state.entries.get_mut(id) {
                entry.status = BackupStatus::Available;
                entry.size_bytes = Some(manifest.total_bytes());
                entry.last_error = None;
            }
        }
        self.changed.notify_all();
        table.release_hold(id)?;
        if job.then_delete_table {
            crate::db::finish_table_delete(
                &*self.io,
                &self.root,
                &self.catalog,
                &self.tables,
                &job.identity.table_name,
                &job.identity.table_id,
            )?;
        }
        Ok(())
    }
}

fn shutting_down() -> std::io::Error {
    std::io::Error::other(
        "the database is closing: the backup job stops and resumes on the next open",
    )
}

/// A snapshot whose scans stop with an error once `cancel` is set: a closing database does not
/// wait for a long backup (the job resumes, from the start, on the next open).
struct Cancellable<'a> {
    inner: &'a dyn SnapshotInput,
    cancel: &'a AtomicBool,
}

impl SnapshotInput for Cancellable<'_> {
    fn lsn(&self) -> u64 {
        self.inner.lsn()
    }

    fn split_hints(&self) -> Vec<Vec<u8>> {
        self.inner.split_hints()
    }

    fn scan(
        &self,
        lower: Option<&[u8]>,
        upper: Option<&[u8]>,
    ) -> ddb_merge::Result<Box<dyn Iterator<Item = ddb_merge::Result<Row>> + Send + '_>> {
        let rows = self.inner.scan(lower, upper)?;
        let cancel = self.cancel;
        Ok(Box::new(rows.map(move |row| {
            if cancel.load(Ordering::Relaxed) {
                return Err(MergeError::Io(shutting_down()));
            }
            row
        })))
    }
}
