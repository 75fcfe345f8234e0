//! On-demand backups: the durable job behind CreateBackup, the background worker that turns
//! each job into Parquet artifacts and a manifest (`ddb-backup`), the in-memory catalog of
//! backups rebuilt from `backups/` on open, scheduled backups, and the expiry of SYSTEM ones.
//!
//! Layout (`formats/database/SPEC.md`): `backups/<id>/` per backup, `<id>` =
//! `<14-digit creation ms>-<8 hex>` (the end of its ARN). While the backup is CREATING the
//! directory holds the job's state file `JOB`; the artifacts (`data/`) and `manifest.json`
//! are `ddb-backup`'s. A backup exists from the moment `JOB` is durable; it is AVAILABLE iff
//! `manifest.json` is published. DeleteBackup renames the directory to `.deleted-<id>` (one
//! atomic step) and then removes it; an open finishes such removals.
//!
//! Lifecycle of a job: CreateBackup takes the marker and a hold on the table's files
//! ([`Table::begin_backup`]), publishes `JOB` (marker LSN and time, the snapshot LSN it
//! merges from, the table definition at the marker, build options) and answers CREATING. The
//! worker merges the held snapshot with the log up to the marker into `data/`, publishes the
//! manifest, removes `JOB`, releases the hold. A crash anywhere leaves `JOB`: the next open
//! re-takes the hold from it and builds again from the start, which gives the same bytes.

mod job;
pub mod ops;
mod pitr;
mod schedule;

use std::collections::{BTreeMap, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use ddb_backup::BackupIdentity;
use ddb_io::Io;
use ddb_model::table::CreateTableInput;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::catalog::CatalogStore;
use crate::error::{Error, Result};
use crate::files;
use crate::state_file;
use crate::table::{Table, TableConfig};
use ops::at;

pub use schedule::BackupSchedule;

/// The directory of backups under the database root.
pub const BACKUPS_DIR: &str = "backups";
/// The job state file in a backup directory while it is CREATING.
pub const JOB_FILE: &str = "JOB";
/// Scratch space of a running job (spill runs), inside its directory.
pub const SPILL_DIR: &str = "spill";
/// Prefix of a backup directory being deleted.
pub const DELETED_PREFIX: &str = ".deleted-";
/// The version of the `JOB` layout this build writes and reads.
pub const JOB_FORMAT: u32 = 1;
/// Name suffix of the SYSTEM backup DeleteTable makes of a table with PITR on.
pub const DELETED_TABLE_SUFFIX: &str = "$DeletedTableBackup";
/// How long a SYSTEM backup of a deleted table is kept (DynamoDB: 35 days).
pub const SYSTEM_BACKUP_RETENTION_MS: u64 = 35 * 86_400_000;

/// How backups are built.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackupOptions {
    pub zstd_level: i32,
    /// Key-range partitions merged (and compressed) in parallel.
    pub partitions: usize,
    /// Target item bytes per Parquet row group.
    pub row_group_bytes: usize,
    /// A partition's output is split into files of about this size.
    pub artifact_bytes: u64,
    /// Run the backup worker (jobs, schedules, expiry) while the database is open (with
    /// `TableConfig::background`). Off: jobs wait for a process that runs it, or for
    /// [`crate::Database::run_backup_jobs`]. A short-lived process (a CLI call) turns it off so
    /// that it neither starts a long build it would cancel at exit nor waits for one.
    pub worker: bool,
}

impl Default for BackupOptions {
    fn default() -> Self {
        let defaults = ddb_backup::BuildOptions::default();
        Self {
            zstd_level: defaults.zstd_level,
            partitions: 2,
            row_group_bytes: defaults.row_group_bytes,
            artifact_bytes: defaults.artifact_bytes,
            worker: true,
        }
    }
}

/// The `JOB` state file: everything a (resumed) build needs, fixed when the backup was
/// requested.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BackupJob {
    pub format: u32,
    pub id: String,
    pub identity: BackupIdentity,
    /// The exact cut: every mutation with an LSN up to it, nothing later.
    pub marker_lsn: u64,
    pub marker_time_ms: u64,
    /// The snapshot the build merges from (0: none, the log from LSN 1).
    pub snapshot_lsn: u64,
    /// The table's definition at the marker.
    pub definition: CreateTableInput,
    /// The table description and recorded facts stored in the manifest.
    pub source_table: Value,
    pub expires_at_ms: Option<u64>,
    /// Items at the marker: the build must produce exactly this many rows.
    pub expected_items: u64,
    pub zstd_level: i32,
    pub partitions: usize,
    pub row_group_bytes: usize,
    pub artifact_bytes: u64,
    /// The SYSTEM backup of a table being deleted: delete the table once it is AVAILABLE.
    #[serde(default)]
    pub then_delete_table: bool,
}

/// A backup's status, as DynamoDB names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum BackupStatus {
    Creating,
    Available,
    Deleted,
}

impl BackupStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Creating => "CREATING",
            Self::Available => "AVAILABLE",
            Self::Deleted => "DELETED",
        }
    }
}

/// One backup as the catalog knows it.
#[derive(Debug, Clone, PartialEq)]
pub struct BackupEntry {
    pub id: String,
    pub dir: PathBuf,
    pub identity: BackupIdentity,
    pub status: BackupStatus,
    pub expires_at_ms: Option<u64>,
    /// Artifact bytes (AVAILABLE only).
    pub size_bytes: Option<u64>,
    pub source_table: Value,
    pub marker_lsn: u64,
    pub marker_time_ms: u64,
    pub snapshot_lsn: u64,
    /// Restores reading the backup (DeleteBackup is refused meanwhile).
    pub readers: u32,
    /// The last failure of its job (it is retried).
    pub last_error: Option<String>,
    pub then_delete_table: bool,
}

impl BackupEntry {
    pub fn arn(&self) -> &str {
        &self.identity.backup_arn
    }

    /// The schedule that made it, if any (recorded in the source table facts).
    pub fn schedule_id(&self) -> Option<&str> {
        self.source_table
            .get("Schedule")
            .and_then(|s| s.get("Id"))
            .and_then(Value::as_str)
    }
}

#[derive(Debug, Default)]
pub(crate) struct BackupsState {
    /// By id (creation order).
    pub entries: BTreeMap<String, BackupEntry>,
    /// Jobs to run, oldest first.
    pub queue: VecDeque<String>,
    pub running: Option<String>,
    pub shutdown: bool,
}

/// The backups of a database: catalog, job queue and worker.
#[derive(Debug)]
pub(crate) struct BackupService {
    pub io: Arc<dyn Io>,
    pub root: PathBuf,
    pub catalog: Arc<CatalogStore>,
    pub tables: Arc<Mutex<BTreeMap<String, Arc<Table>>>>,
    pub config: TableConfig,
    pub options: BackupOptions,
    pub state: Mutex<BackupsState>,
    pub changed: Condvar,
    pub worker: Mutex<Option<JoinHandle<()>>>,
    /// Serialises CreateBackup, DeleteTable and PITR changes: a table is never deleted (or its
    /// PITR disabled) between a backup's check and its job.
    pub control: Mutex<()>,
    /// The audit log (absent when open read-only).
    pub audit: Option<Arc<crate::audit::AuditLog>>,
    /// Set when the database closes: a running job stops at its next row.
    pub cancel: std::sync::atomic::AtomicBool,
    /// Backup directories whose manifest does not load (listed by verify, never offered).
    pub damaged: Mutex<Vec<(PathBuf, String)>>,
}

impl BackupService {
    /// Appends an audit record. The action has happened whatever the outcome of the append;
    /// a failure is reported on stderr and makes the audit log refuse further appends until the
    /// database is reopened (see [`crate::audit::AuditLog::append`]).
    pub(crate) fn audit(&self, action: &str, parameters: Value, outcome: Value) {
        if let Some(audit) = &self.audit
            && let Err(e) = audit.append(ops::now_ms(), action, parameters, outcome)
        {
            eprintln!("ddb-table: audit record of {action} not written: {e}");
        }
    }
}

/// The outcome of a call as the audit log records it.
pub(crate) fn outcome_of(result: &ddb_model::Result<Value>) -> Value {
    match result {
        Ok(response) => {
            let mut outcome = serde_json::json!({"status": "ok"});
            let pick = [
                ("BackupArn", at(response, "/BackupDetails/BackupArn")),
                (
                    "BackupArn",
                    at(response, "/BackupDescription/BackupDetails/BackupArn"),
                ),
                ("TableStatus", at(response, "/TableDescription/TableStatus")),
                ("TableArn", at(response, "/TableDescription/TableArn")),
            ];
            if let Some(map) = outcome.as_object_mut() {
                for (name, value) in pick {
                    if !value.is_null() {
                        map.insert(name.to_owned(), value.clone());
                    }
                }
            }
            outcome
        }
        Err(e) => serde_json::json!({
            "status": "error",
            "error": e.name(),
            "message": e.message(),
        }),
    }
}

pub(crate) fn lock_state(state: &Mutex<BackupsState>) -> MutexGuard<'_, BackupsState> {
    state.lock().unwrap_or_else(PoisonError::into_inner)
}

pub fn backups_dir(root: &Path) -> PathBuf {
    root.join(BACKUPS_DIR)
}

/// The id at the end of a backup ARN (`…/backup/<id>`), if it is one of ours in shape.
pub fn id_of_arn(arn: &str) -> Option<&str> {
    let (_, id) = arn.rsplit_once("/backup/")?;
    let (ms, hex) = id.split_once('-')?;
    let ok = ms.len() == 14
        && ms.bytes().all(|b| b.is_ascii_digit())
        && hex.len() == 8
        && hex.bytes().all(|b| b.is_ascii_hexdigit());
    ok.then_some(id)
}

impl BackupService {
    /// Loads the catalog of backups from `backups/`: finishes interrupted deletions, removes
    /// directories of requests that never became durable, and drops `JOB` files of backups
    /// whose manifest was published. Returns the unfinished jobs.
    pub fn load(&self) -> Result<Vec<BackupJob>> {
        self.load_with(true)
    }

    /// The catalog of backups as the files say, changing nothing (a read-only open).
    pub fn load_read_only(&self) -> Result<()> {
        self.load_with(false).map(drop)
    }

    fn load_with(&self, repair: bool) -> Result<Vec<BackupJob>> {
        let dir = backups_dir(&self.root);
        if repair && !self.io.exists(&dir)? {
            self.io.create_dir_all(&dir)?;
            // Its entry must be durable before any backup in it is.
            self.io.sync_dir(&self.root)?;
        }
        let mut jobs = Vec::new();
        let mut entries = BTreeMap::new();
        for name in self.io.read_dir(&dir)? {
            let Some(name) = name.to_str().map(str::to_owned) else {
                continue;
            };
            let path = dir.join(&name);
            if name.starts_with(DELETED_PREFIX) {
                if repair {
                    files::remove_dir_all(&*self.io, &path)?;
                }
                continue;
            }
            if ddb_io::publish::is_publish_temp(&name) {
                if repair {
                    self.io.remove_file(&path)?;
                }
                continue;
            }
            if repair {
                files::remove_publish_temps(&*self.io, &path)?;
            }
            let job: Option<BackupJob> = state_file::load(&*self.io, &path, JOB_FILE)?;
            if ddb_backup::is_published(&*self.io, &path)? {
                let manifest = match ddb_backup::BackupManifest::load(&*self.io, &path) {
                    Ok(manifest) => manifest,
                    Err(e) => {
                        // A damaged backup must not make the database unopenable: it is not
                        // offered (or deleted), and `verify` reports it.
                        eprintln!("ddb-table: backup {} is not offered: {e}", path.display());
                        self.damaged
                            .lock()
                            .unwrap_or_else(PoisonError::into_inner)
                            .push((path.clone(), e.to_string()));
                        continue;
                    }
                };
                if repair {
                    if job.is_some() {
                        self.io.remove_file(&path.join(JOB_FILE))?;
                        self.io.sync_dir(&path)?;
                    }
                    files::remove_dir_all(&*self.io, &path.join(SPILL_DIR))?;
                }
                entries.insert(name.clone(), available_entry(&name, &path, &manifest));
            } else if let Some(job) = job {
                if job.format != JOB_FORMAT || job.id != name {
                    return Err(Error::Corrupt {
                        path: path.join(JOB_FILE),
                        message: format!(
                            "job format {} for backup {} (this build reads format {JOB_FORMAT} \
                             and expects id {name})",
                            job.format, job.id
                        ),
                    });
                }
                entries.insert(name.clone(), creating_entry(&path, &job));
                jobs.push(job);
            } else if repair {
                // The request crashed before its job was durable: it was never answered.
                files::remove_dir_all(&*self.io, &path)?;
            }
        }
        let mut state = lock_state(&self.state);
        state.entries = entries;
        state.queue = jobs.iter().map(|j| j.id.clone()).collect();
        Ok(jobs)
    }

    /// Starts the worker thread (when the configuration runs background work).
    pub fn start(self: &Arc<Self>) -> Result<()> {
        if !self.config.background || !self.options.worker {
            return Ok(());
        }
        let service = Arc::clone(self);
        let handle = std::thread::Builder::new()
            .name("ddb-backups".to_owned())
            .spawn(move || service.worker_loop())?;
        *self.worker.lock().unwrap_or_else(PoisonError::into_inner) = Some(handle);
        Ok(())
    }

    pub fn shutdown(&self) {
        self.cancel
            .store(true, std::sync::atomic::Ordering::Relaxed);
        lock_state(&self.state).shutdown = true;
        self.changed.notify_all();
        crate::table::join_worker(&self.worker);
    }

    fn worker_loop(self: Arc<Self>) {
        let mut next_tick = Instant::now();
        loop {
            let id = {
                let mut state = lock_state(&self.state);
                loop {
                    if state.shutdown {
                        return;
                    }
                    if Instant::now() >= next_tick {
                        break None;
                    }
                    if let Some(id) = state.queue.front().cloned() {
                        state.running = Some(id.clone());
                        break Some(id);
                    }
                    let wait = next_tick.saturating_duration_since(Instant::now());
                    state = self
                        .changed
                        .wait_timeout(state, wait)
                        .unwrap_or_else(PoisonError::into_inner)
                        .0;
                }
            };
            match id {
                None => {
                    // Schedules and expiry; failures are retried at the next tick.
                    if let Err(e) = self.tick(crate::backups::ops::now_ms()) {
                        eprintln!("ddb-table: scheduled backup work failed: {e}");
                    }
                    next_tick = Instant::now() + Duration::from_secs(1);
                }
                Some(id) => {
                    let result = self.run_job(&id);
                    let failed = result.is_err();
                    self.finish_run(&id, result);
                    if failed {
                        // Retry later rather than spin on a persistent failure (disk full).
                        let state = lock_state(&self.state);
                        let _ =
                            self.changed
                                .wait_timeout_while(state, Duration::from_secs(2), |s| !s.shutdown);
                    }
                }
            }
        }
    }

    /// Records the outcome of a run of job `id`: done, or failed (moved to the back of the
    /// queue with its error).
    fn finish_run(&self, id: &str, result: Result<()>) {
        let mut state = lock_state(&self.state);
        state.running = None;
        match result {
            Ok(()) => {
                state.queue.retain(|q| q != id);
            }
            Err(e) => {
                if let Some(entry) = state.entries.get_mut(id) {
                    entry.last_error = Some(e.to_string());
                }
                if let Some(pos) = state.queue.iter().position(|q| q == id)
                    && let Some(job) = state.queue.remove(pos)
                {
                    state.queue.push_back(job);
                }
            }
        }
        drop(state);
        self.changed.notify_all();
        self.catalog.notify();
    }

    /// Runs every queued job now, in order, and the scheduled work (for configurations without
    /// background threads). Returns the first failure.
    pub fn run_pending(&self) -> Result<()> {
        self.tick(crate::backups::ops::now_ms())?;
        loop {
            let id = {
                let mut state = lock_state(&self.state);
                let Some(id) = state.queue.front().cloned() else {
                    return Ok(());
                };
                state.running = Some(id.clone());
                id
            };
            let result = self.run_job(&id);
            let error = result.as_ref().err().map(ToString::to_string);
            self.finish_run(&id, result);
            if let Some(message) = error {
                return Err(Error::Unavailable(format!("backup {id}: {message}")));
            }
        }
    }

    /// Waits until `done` holds or `deadline` passes.
    pub fn wait_until(
        &self,
        deadline: Instant,
        mut done: impl FnMut(&BackupsState) -> bool,
    ) -> bool {
        let mut state = lock_state(&self.state);
        loop {
            if done(&state) {
                return true;
            }
            let now = Instant::now();
            if now >= deadline {
                return false;
            }
            state = self
                .changed
                .wait_timeout(state, deadline - now)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
    }

    /// Whether a job for the table with id `table_id` is unfinished.
    pub fn table_busy(&self, table_id: &str) -> bool {
        lock_state(&self.state)
            .entries
            .values()
            .any(|e| e.status == BackupStatus::Creating && e.identity.table_id == table_id)
    }

    /// The holds unfinished jobs need on the table with id `table_id`: job id → (snapshot
    /// LSN, marker LSN).
    pub fn holds_of(jobs: &[BackupJob], table_id: &str) -> BTreeMap<String, (u64, u64)> {
        jobs.iter()
            .filter(|j| j.identity.table_id == table_id)
            .map(|j| (j.id.clone(), (j.snapshot_lsn, j.marker_lsn)))
            .collect()
    }
}

fn creating_entry(dir: &Path, job: &BackupJob) -> BackupEntry {
    BackupEntry {
        id: job.id.clone(),
        dir: dir.to_owned(),
        identity: job.identity.clone(),
        status: BackupStatus::Creating,
        expires_at_ms: job.expires_at_ms,
        size_bytes: None,
        source_table: job.source_table.clone(),
        marker_lsn: job.marker_lsn,
        marker_time_ms: job.marker_time_ms,
        snapshot_lsn: job.snapshot_lsn,
        readers: 0,
        last_error: None,
        then_delete_table: job.then_delete_table,
    }
}

fn available_entry(id: &str, dir: &Path, manifest: &ddb_backup::BackupManifest) -> BackupEntry {
    BackupEntry {
        id: id.to_owned(),
        dir: dir.to_owned(),
        identity: manifest.backup.clone(),
        status: BackupStatus::Available,
        expires_at_ms: manifest.expires_at_ms,
        size_bytes: Some(manifest.total_bytes()),
        source_table: manifest.source_table.clone(),
        marker_lsn: manifest.marker.lsn,
        marker_time_ms: manifest.marker.time_ms,
        snapshot_lsn: manifest.snapshot_lsn,
        readers: 0,
        last_error: None,
        then_delete_table: false,
    }
}
