//! Restores: RestoreTableFromBackup and RestoreTableToPointInTime into a new table, as a
//! durable job.
//!
//! The request validates, pins its source (a backup's readers count, or a *hold* on the
//! source table's snapshot and log, as a backup job takes), and records the new table in the
//! catalog as CREATING with a [`RestoreState`] — the request's commit point — and answers.
//! The job ([`job`]) then bulk-loads the rows into the new table's first checkpoint
//! ([`load`]: table and LSI snapshots, no log writes), publishes its `CURRENT`, opens the
//! table with every GSI backfilling, and marks it ACTIVE; the GSIs are then built by the
//! table's own backfill (IndexStatus CREATING, Backfilling true, reads refused) while writes go
//! on.
//!
//! A crash before ACTIVE leaves the CREATING entry: the next open runs the job again from the
//! start (the table directory is emptied first), re-taking the source hold from the entry. A
//! job that fails (a damaged backup, say) removes the table — files, then the catalog entry —
//! so a failed restore leaves nothing behind; the error is kept for [`RestoreService::failure`]
//! and the audit log.

pub(crate) mod job;
pub mod load;
pub(crate) mod ops;
mod sources;

use std::collections::{BTreeMap, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;

use ddb_io::Io;
use serde::{Deserialize, Serialize};

use crate::backups::BackupService;
use crate::catalog::CatalogStore;
use crate::table::{Table, TableConfig, TableEvents};

/// A restore in a table's catalog entry: where it comes from, and (while `in_progress`) the job.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RestoreState {
    pub source: RestoreSource,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_backup_arn: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_table_arn: Option<String>,
    /// The point in time restored, seconds since the epoch (a backup's marker time).
    pub restore_date_time: f64,
    pub in_progress: bool,
}

/// What a restore reads.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "Kind")]
pub enum RestoreSource {
    /// A backup directory (of this database's catalog when `catalog_id` is set, else a
    /// directory given by path).
    Backup {
        dir: PathBuf,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        catalog_arn: Option<String>,
    },
    /// The source table's snapshot at `snapshot_lsn` ⊕ its log up to `lsn`, held by the hold
    /// `hold` on that table.
    PointInTime {
        table_name: String,
        table_id: String,
        hold: String,
        snapshot_lsn: u64,
        lsn: u64,
    },
    /// The files of import `import_id` (`imports/<id>/IMPORT` says where).
    Import { import_id: String },
}

impl RestoreSource {
    /// The hold this restore needs on table `table_id`, if any: (hold id, (snapshot, marker)).
    pub fn hold_on(&self, table_id: &str) -> Option<(String, (u64, u64))> {
        match self {
            RestoreSource::PointInTime {
                table_id: id,
                hold,
                snapshot_lsn,
                lsn,
                ..
            } if id == table_id => Some((hold.clone(), (*snapshot_lsn, *lsn))),
            _ => None,
        }
    }
}

/// Restore jobs: the queue, the worker, failures.
#[derive(Debug)]
pub(crate) struct RestoreService {
    pub io: Arc<dyn Io>,
    pub root: PathBuf,
    pub catalog: Arc<CatalogStore>,
    pub tables: Arc<Mutex<BTreeMap<String, Arc<Table>>>>,
    pub backups: Arc<BackupService>,
    pub events: Arc<dyn TableEvents>,
    pub config: TableConfig,
    /// Run the worker thread (with `config.background`); else [`RestoreService::run_pending`].
    pub worker: bool,
    /// Threads decoding a backup's row groups in parallel.
    pub decode_threads: usize,
    pub state: Mutex<RestoreRuntime>,
    pub changed: Condvar,
    pub thread: Mutex<Option<JoinHandle<()>>>,
    /// Set when the database closes: a running job stops at its next row (it resumes on the
    /// next open).
    pub cancel: AtomicBool,
}

#[derive(Debug, Default)]
pub(crate) struct RestoreRuntime {
    /// Target table names, oldest first.
    pub queue: VecDeque<String>,
    /// Exports to write, oldest first (after the restores).
    pub exports: VecDeque<String>,
    /// Restores that failed (their table was removed), by target name.
    pub failures: BTreeMap<String, String>,
    pub shutdown: bool,
}

pub(crate) fn lock_runtime(state: &Mutex<RestoreRuntime>) -> MutexGuard<'_, RestoreRuntime> {
    state.lock().unwrap_or_else(PoisonError::into_inner)
}

impl RestoreService {
    /// Queues the restore of `target` and wakes the worker.
    pub fn queue(&self, target: &str) {
        let mut state = lock_runtime(&self.state);
        state.failures.remove(target);
        if !state.queue.iter().any(|t| t == target) {
            state.queue.push_back(target.to_owned());
        }
        drop(state);
        self.changed.notify_all();
    }

    /// Queues export `id` and wakes the worker.
    pub fn queue_export(&self, id: &str) {
        let mut state = lock_runtime(&self.state);
        if !state.exports.iter().any(|t| t == id) {
            state.exports.push_back(id.to_owned());
        }
        drop(state);
        self.changed.notify_all();
    }

    pub fn failure(&self, target: &str) -> Option<String> {
        lock_runtime(&self.state).failures.get(target).cloned()
    }

    pub fn start(self: &Arc<Self>) -> crate::Result<()> {
        if !self.config.background || !self.worker {
            return Ok(());
        }
        let service = Arc::clone(self);
        let handle = std::thread::Builder::new()
            .name("ddb-restores".to_owned())
            .spawn(move || service.worker_loop())?;
        *self.thread.lock().unwrap_or_else(PoisonError::into_inner) = Some(handle);
        Ok(())
    }

    pub fn shutdown(&self) {
        self.cancel
            .store(true, std::sync::atomic::Ordering::Relaxed);
        lock_runtime(&self.state).shutdown = true;
        self.changed.notify_all();
        crate::table::join_worker(&self.thread);
    }

    fn worker_loop(self: Arc<Self>) {
        loop {
            let next = {
                let mut state = lock_runtime(&self.state);
                loop {
                    if state.shutdown {
                        return;
                    }
                    if let Some(target) = state.queue.front().cloned() {
                        break Ok(target);
                    }
                    if let Some(id) = state.exports.front().cloned() {
                        break Err(id);
                    }
                    state = self
                        .changed
                        .wait(state)
                        .unwrap_or_else(PoisonError::into_inner);
                }
            };
            match next {
                Ok(target) => self.run_one(&target),
                Err(id) => {
                    let _ = self.run_one_export(&id);
                }
            }
        }
    }

    /// Runs every queued restore now (configurations without the worker). Returns the first
    /// failure, after running the rest.
    pub fn run_pending(&self) -> crate::Result<()> {
        let mut first_error = None;
        loop {
            let Some(target) = lock_runtime(&self.state).queue.front().cloned() else {
                break;
            };
            self.run_one(&target);
            if let Some(message) = self.failure(&target)
                && first_error.is_none()
            {
                first_error = Some(crate::Error::Unavailable(format!(
                    "restore of {target}: {message}"
                )));
            }
        }
        loop {
            let Some(id) = lock_runtime(&self.state).exports.front().cloned() else {
                break;
            };
            if let Err(message) = self.run_one_export(&id)
                && first_error.is_none()
            {
                first_error = Some(crate::Error::Unavailable(format!("export {id}: {message}")));
            }
        }
        first_error.map_or(Ok(()), Err)
    }

    fn run_one_export(&self, id: &str) -> Result<(), String> {
        let outcome = self.run_export(id);
        let mut state = lock_runtime(&self.state);
        if state.exports.front().map(String::as_str) == Some(id) {
            state.exports.pop_front();
        }
        drop(state);
        self.catalog.notify();
        match outcome {
            Ok(()) | Err(job::JobError::Cancelled) => Ok(()),
            Err(job::JobError::Failed(message)) => {
                eprintln!("ddb-table: export {id} failed: {message}");
                Err(message)
            }
        }
    }

    fn run_one(&self, target: &str) {
        let outcome = self.run_job(target);
        let mut state = lock_runtime(&self.state);
        if state.queue.front().map(String::as_str) == Some(target) {
            state.queue.pop_front();
        }
        drop(state);
        match outcome {
            Ok(()) => {}
            Err(job::JobError::Cancelled) => {}
            Err(job::JobError::Failed(message)) => {
                lock_runtime(&self.state)
                    .failures
                    .insert(target.to_owned(), message.clone());
                self.backups.audit(
                    "RestoreFailed",
                    serde_json::json!({ "TargetTableName": target }),
                    serde_json::json!({ "status": "error", "message": message }),
                );
                eprintln!("ddb-table: the restore of table {target} failed: {message}");
            }
        }
        self.catalog.notify();
    }
}

/// The directory of a backup named by `arn_or_path` when it is a path to a backup directory
/// (one holding `manifest.json`), so a copied backup restores anywhere.
pub(crate) fn backup_dir_from_path(io: &dyn Io, arn_or_path: &str) -> Option<PathBuf> {
    if arn_or_path.starts_with("arn:") {
        return None;
    }
    let path = Path::new(arn_or_path);
    let path = if path
        .file_name()
        .is_some_and(|n| n == ddb_backup::MANIFEST_FILE)
    {
        path.parent()?.to_owned()
    } else {
        path.to_owned()
    };
    io.exists(&path.join(ddb_backup::MANIFEST_FILE))
        .ok()?
        .then_some(path)
}
