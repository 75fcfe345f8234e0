//! Running a backup job: the held snapshot ⊕ the log up to the marker → `ddb_backup::build`.

use std::sync::Arc;

use ddb_backup::{BuildOptions, BuildRequest};
use ddb_log::LogIter;
use ddb_merge::{SnapshotDirInput, SnapshotInput};

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
        let manifest = ddb_backup::build(
            Arc::clone(&self.io),
            &dir,
            &request,
            snapshot.as_ref().map(|s| s as &dyn SnapshotInput),
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
