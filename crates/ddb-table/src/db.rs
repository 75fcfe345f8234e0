//! The database directory: its lock, the catalog of tables, the tables and their background
//! work, and the control plane (CreateTable, DescribeTable, ListTables, DeleteTable,
//! UpdateTable).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ddb_io::{DirLock, Io, LockError};
use ddb_model::table::{
    CreateTableInput, IndexStatus, TableDescription, TableStatus, describe_new_table,
};
use ddb_model::{DdbError, ErrorKind, Result as DdbResult};
use serde::Deserialize;
use serde_json::Value;

use crate::backups::{BackupEntry, BackupOptions, BackupService, BackupStatus, BackupsState};
use crate::catalog::{CatalogStore, GsiState, TableEntry};
use crate::checkpoint::CheckpointReport;
use crate::error::{Error, Result};
use crate::files;
use crate::handle::TableHandle;
use crate::recovery::TableSpec;
use crate::store::{TableStore, Tables};
use crate::table::{GsiLag, Table, TableConfig, TableEvents, lock};

/// How a database is opened.
#[derive(Debug, Clone, Default)]
pub struct DatabaseOptions {
    /// The I/O backend; `None`: chosen from `DDB_IO_BACKEND` (io_uring where available).
    pub io: Option<Arc<dyn Io>>,
    /// Open for inspection: no lock taken, nothing written, no table opened; only ListTables
    /// and DescribeTable run, with counts as of each table's last checkpoint.
    pub read_only: bool,
    /// Tunables of every table.
    pub table: TableConfig,
    /// How backups are built.
    pub backup: BackupOptions,
}

/// What [`Database::wait`] waits for (the `aws dynamodb wait` conditions, and GSI catch-up).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WaitFor {
    TableExists(String),
    TableNotExists(String),
    IndexActive {
        table: String,
        index: String,
    },
    /// Every change acknowledged before the wait started is applied to the table's GSIs.
    GsiCaughtUp {
        table: String,
    },
    /// The backup with this ARN is AVAILABLE.
    BackupAvailable(String),
}

/// An open database directory.
#[derive(Debug)]
pub struct Database {
    pub(crate) root: PathBuf,
    pub(crate) io: Arc<dyn Io>,
    options: DatabaseOptions,
    _lock: Option<DirLock>,
    pub(crate) catalog: Arc<CatalogStore>,
    pub(crate) tables: Arc<Mutex<BTreeMap<String, Arc<Table>>>>,
    events: Arc<Events>,
    pub(crate) backups: Arc<BackupService>,
    pub(crate) restores: Arc<crate::restore::RestoreService>,
}

#[derive(Debug)]
struct Events {
    catalog: Arc<CatalogStore>,
}

impl TableEvents for Events {
    fn gsi_active(&self, table: &str, index: &str, violations: u64) -> Result<()> {
        self.catalog.update(|catalog| {
            if let Some(entry) = catalog.tables.get_mut(table) {
                entry.gsis.insert(
                    index.to_owned(),
                    GsiState {
                        status: IndexStatus::Active,
                        backfilling: false,
                        backfill_violations: violations,
                    },
                );
            }
            Ok(())
        })
    }

    fn notify(&self) {
        self.catalog.notify();
    }
}

/// The control-plane operations recorded in the audit log (successful or not).
pub const AUDITED: [&str; 12] = [
    "CreateTable",
    "UpdateTable",
    "DeleteTable",
    "CreateBackup",
    "DeleteBackup",
    "UpdateContinuousBackups",
    "PutBackupSchedule",
    "DeleteBackupSchedule",
    "RestoreTableFromBackup",
    "RestoreTableToPointInTime",
    "ExportTableToPointInTime",
    "ImportTable",
];

/// A list operation's `Limit` (1–100, default 100), with DynamoDB's validation message.
pub(crate) fn page_limit(limit: Option<i64>) -> DdbResult<usize> {
    let limit = limit.unwrap_or(100);
    if !(1..=100).contains(&limit) {
        let constraint = if limit < 1 {
            "Member must have value greater than or equal to 1"
        } else {
            "Member must have value less than or equal to 100"
        };
        return Err(DdbError::validation(format!(
            "1 validation error detected: Value '{limit}' at 'limit' failed to satisfy \
             constraint: {constraint}"
        )));
    }
    Ok(usize::try_from(limit).unwrap_or(100))
}

pub(crate) fn not_found(name: &str) -> DdbError {
    DdbError::new(
        ErrorKind::ResourceNotFound,
        format!("Requested resource not found: Table: {name} not found"),
    )
}

pub(crate) fn now_seconds() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

/// A new table id: 128 bits from the clock, the process and a counter, hashed.
pub(crate) fn new_table_id(name: &str) -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let seed = format!(
        "{name}\0{nanos}\0{}\0{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    );
    format!("{:032x}", xxhash_rust::xxh3::xxh3_128(seed.as_bytes()))
}

/// `TableId` as DynamoDB prints it (a UUID).
pub(crate) fn uuid(id: &str) -> String {
    let part = |range: std::ops::Range<usize>| id.get(range).unwrap_or("");
    format!(
        "{}-{}-{}-{}-{}",
        part(0..8),
        part(8..12),
        part(12..16),
        part(16..20),
        part(20..32)
    )
}

pub(crate) fn table_arn(name: &str) -> String {
    format!("arn:aws:dynamodb:ddblocal:000000000000:table/{name}")
}

fn request_text(request: &Value) -> String {
    request.to_string()
}

pub(crate) fn table_name_of(request: &Value) -> DdbResult<String> {
    required_string(request, "TableName", "tableName")
}

/// The string member `member` of `request` (`field`: its name in DynamoDB's validation
/// messages), with DynamoDB's errors for a missing or mistyped one.
pub(crate) fn required_string(request: &Value, member: &str, field: &str) -> DdbResult<String> {
    match request.get(member) {
        Some(Value::String(value)) => Ok(value.clone()),
        Some(_) => Err(DdbError::serialization(format!(
            "{member}: expected a string"
        ))),
        None => Err(DdbError::validation(format!(
            "1 validation error detected: Value null at '{field}' failed to satisfy constraint: \
             Member must not be null"
        ))),
    }
}

impl Database {
    /// Opens (creating if needed) the database in `dir`: takes its lock, loads the catalog,
    /// opens every table (recovering each from its checkpoint and log), finishes interrupted
    /// creations and deletions, and resumes GSI backfills.
    pub fn open(dir: &Path, options: DatabaseOptions) -> Result<Arc<Database>> {
        let io = match &options.io {
            Some(io) => Arc::clone(io),
            None => ddb_io::select_backend(ddb_io::BackendChoice::from_env()?)?,
        };
        let lock = if options.read_only {
            None
        } else {
            std::fs::create_dir_all(dir)
                .map_err(|e| ddb_io::error_at("create database directory", dir, e))?;
            io.create_dir_all(dir)?;
            match DirLock::acquire(&dir.join(files::LOCK_FILE)) {
                Ok(lock) => Some(lock),
                Err(LockError::Held { path, pid }) => return Err(Error::Locked { path, pid }),
                Err(LockError::Io(e)) => return Err(Error::Io(e)),
            }
        };
        let catalog = Arc::new(CatalogStore::load(Arc::clone(&io), dir, options.read_only)?);
        let events = Arc::new(Events {
            catalog: Arc::clone(&catalog),
        });
        let audit = if options.read_only {
            None
        } else {
            Some(Arc::new(crate::audit::AuditLog::open(
                Arc::clone(&io),
                dir,
            )?))
        };
        let tables = Arc::new(Mutex::new(BTreeMap::new()));
        let backups = Arc::new(BackupService {
            io: Arc::clone(&io),
            root: dir.to_owned(),
            catalog: Arc::clone(&catalog),
            tables: Arc::clone(&tables),
            config: options.table.clone(),
            options: options.backup.clone(),
            state: Mutex::new(BackupsState::default()),
            changed: std::sync::Condvar::new(),
            worker: Mutex::new(None),
            control: Mutex::new(()),
            audit,
            cancel: std::sync::atomic::AtomicBool::new(false),
            damaged: Mutex::new(Vec::new()),
        });
        let restores = Arc::new(crate::restore::RestoreService {
            io: Arc::clone(&io),
            root: dir.to_owned(),
            catalog: Arc::clone(&catalog),
            tables: Arc::clone(&tables),
            backups: Arc::clone(&backups),
            events: Arc::clone(&events) as Arc<dyn TableEvents>,
            config: options.table.clone(),
            worker: options.backup.worker,
            decode_threads: options.table.merge_partitions.max(1),
            state: Mutex::new(crate::restore::RestoreRuntime::default()),
            changed: std::sync::Condvar::new(),
            thread: Mutex::new(None),
            cancel: std::sync::atomic::AtomicBool::new(false),
        });
        let db = Database {
            root: dir.to_owned(),
            io,
            options,
            _lock: lock,
            catalog,
            tables,
            events,
            backups,
            restores,
        };
        if db.options.read_only {
            if db.io.exists(&crate::backups::backups_dir(&db.root))? {
                db.backups.load_read_only()?;
            }
        } else {
            db.recover()?;
            db.backups.start()?;
            db.restores.start()?;
        }
        Ok(Arc::new(db))
    }

    pub(crate) fn open_table(
        &self,
        entry: &TableEntry,
        holds: BTreeMap<String, (u64, u64)>,
    ) -> Result<Arc<Table>> {
        open_table_with(
            &self.io,
            &self.root,
            &self.options.table,
            &(Arc::clone(&self.events) as Arc<dyn TableEvents>),
            &self.tables,
            entry,
            holds,
        )
    }

    pub(crate) fn set_status(&self, name: &str, status: TableStatus) -> Result<()> {
        self.catalog.update(|catalog| {
            if let Some(entry) = catalog.tables.get_mut(name) {
                entry.status = status;
            }
            Ok(())
        })
    }

    pub(crate) fn finish_delete(&self, name: &str, id: &str) -> Result<()> {
        finish_table_delete(&*self.io, &self.root, &self.catalog, &self.tables, name, id)
    }

    /// The directory the database lives in.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The I/O backend in use.
    pub fn io(&self) -> &Arc<dyn Io> {
        &self.io
    }

    /// Runs the operation `operation` (DynamoDB's name: `CreateTable`, `PutItem`, ...) with the
    /// request JSON DynamoDB takes, returning the response JSON.
    pub fn call(&self, operation: &str, request: &Value) -> DdbResult<Value> {
        if !request.is_object() {
            return Err(DdbError::serialization(
                "the request body must be a JSON object".to_owned(),
            ));
        }
        let result = self.dispatch(operation, request);
        if AUDITED.contains(&operation) && !self.options.read_only {
            self.backups.audit(
                operation,
                request.clone(),
                crate::backups::outcome_of(&result),
            );
        }
        result
    }

    fn dispatch(&self, operation: &str, request: &Value) -> DdbResult<Value> {
        match operation {
            "CreateTable" => self.create_table(request),
            "DescribeTable" => self.describe_table(request),
            "ListTables" => self.list_tables(request),
            "DeleteTable" => self.delete_table(request),
            "UpdateTable" => self.update_table(request),
            "CreateBackup" => self.create_backup(request),
            "DescribeBackup" => self.describe_backup(request),
            "ListBackups" => self.list_backups(request),
            "DeleteBackup" => self.delete_backup(request),
            "UpdateContinuousBackups" => self.update_continuous_backups(request),
            "DescribeContinuousBackups" => self.describe_continuous_backups(request),
            "PutBackupSchedule" => self.put_backup_schedule(request),
            "DescribeBackupSchedule" => self.describe_backup_schedule(request),
            "DeleteBackupSchedule" => self.delete_backup_schedule(request),
            "RestoreTableFromBackup" => self.restore_table_from_backup(request),
            "RestoreTableToPointInTime" => self.restore_table_to_point_in_time(request),
            "ExportTableToPointInTime" => self.export_table_to_point_in_time(request),
            "DescribeExport" => self.describe_export(request),
            "ListExports" => self.list_exports(request),
            "ImportTable" => self.import_table(request),
            "DescribeImport" => self.describe_import(request),
            "ListImports" => self.list_imports(request),
            _ => {
                if self.options.read_only {
                    return Err(DdbError::validation(
                        "the database is open read-only: only ListTables and DescribeTable run",
                    ));
                }
                crate::api::data::dispatch(self, operation, request).unwrap_or_else(|| {
                    Err(DdbError::validation(format!(
                        "Unknown operation: {operation}"
                    )))
                })
            }
        }
    }

    pub(crate) fn describe(&self, entry: &TableEntry) -> DdbResult<TableDescription> {
        describe_entry(&*self.io, &self.root, &self.tables, entry)
    }
}

/// The TableDescription of `entry`, with live counts where the table is open (else those of
/// its last checkpoint).
pub(crate) fn describe_entry(
    io: &dyn Io,
    root: &Path,
    tables: &Mutex<BTreeMap<String, Arc<Table>>>,
    entry: &TableEntry,
) -> DdbResult<TableDescription> {
    {
        let schema = entry.definition.validate()?;
        let mut description = describe_new_table(
            &entry.definition,
            &schema,
            entry.table_arn.clone(),
            uuid(&entry.id),
            entry.creation_date_time,
        );
        description.table_status = entry.status;
        description.restore_summary = entry
            .restore
            .as_ref()
            .filter(|r| !matches!(r.source, crate::restore::RestoreSource::Import { .. }))
            .map(|r| ddb_model::table::RestoreSummary {
                source_backup_arn: r.source_backup_arn.clone(),
                source_table_arn: r.source_table_arn.clone(),
                restore_date_time: r.restore_date_time,
                restore_in_progress: r.in_progress,
            });
        let table = lock(tables).get(&entry.definition.table_name).cloned();
        // Open read-only, the tables are not opened: counts are those of the last checkpoint.
        let checkpointed: Option<crate::table::Current> = if table.is_none() {
            crate::state_file::load(io, &files::table_dir(root, &entry.id), files::CURRENT_FILE)
                .ok()
                .flatten()
        } else {
            None
        };
        let stats_of = |index: Option<&str>| -> crate::table::Stats {
            match (&table, &checkpointed, index) {
                (Some(t), _, None) => t.stats(),
                (Some(t), _, Some(i)) => t.index_stats(i),
                (None, Some(c), None) => c.stats,
                (None, Some(c), Some(i)) => c.index_stats.get(i).copied().unwrap_or_default(),
                (None, None, _) => crate::table::Stats::default(),
            }
        };
        let stats = stats_of(None);
        description.item_count = stats.items;
        description.table_size_bytes = stats.bytes;
        if let Some(lsis) = &mut description.local_secondary_indexes {
            for lsi in lsis {
                let stats = stats_of(Some(&lsi.index_name));
                lsi.item_count = stats.items;
                lsi.index_size_bytes = stats.bytes;
            }
        }
        if let Some(gsis) = &mut description.global_secondary_indexes {
            for gsi in gsis {
                let state = entry.gsis.get(&gsi.index_name);
                gsi.index_status = state.map_or(IndexStatus::Active, |s| s.status);
                gsi.backfilling = state.and_then(|s| s.backfilling.then_some(true));
                gsi.backfill_violation_count =
                    state.map(|s| s.backfill_violations).filter(|n| *n > 0);
                let stats = stats_of(Some(&gsi.index_name));
                gsi.item_count = stats.items;
                gsi.index_size_bytes = stats.bytes;
            }
        }
        Ok(description)
    }
}

/// Opens the table of `entry` and registers it in `tables`.
pub(crate) fn open_table_with(
    io: &Arc<dyn Io>,
    root: &Path,
    config: &TableConfig,
    events: &Arc<dyn TableEvents>,
    tables: &Mutex<BTreeMap<String, Arc<Table>>>,
    entry: &TableEntry,
    holds: BTreeMap<String, (u64, u64)>,
) -> Result<Arc<Table>> {
    let schema = entry.definition.validate()?;
    let backfilling: BTreeSet<String> = entry
        .gsis
        .iter()
        .filter(|(_, s)| s.backfilling)
        .map(|(n, _)| n.clone())
        .collect();
    let dir = files::table_dir(root, &entry.id);
    let table = Table::open(
        TableSpec {
            io: Arc::clone(io),
            dir,
            name: entry.definition.table_name.clone(),
            table_id: entry.table_id_bytes(),
            schema,
            backfilling,
            config: config.clone(),
            holds,
            pitr: entry
                .pitr
                .as_ref()
                .map(crate::catalog::PitrSettings::policy),
        },
        Arc::clone(events),
    )?;
    lock(tables).insert(entry.definition.table_name.clone(), Arc::clone(&table));
    Ok(table)
}

/// Removes a DELETING table: its files, then its catalog record.
pub(crate) fn finish_table_delete(
    io: &dyn Io,
    root: &Path,
    catalog: &CatalogStore,
    tables: &Mutex<BTreeMap<String, Arc<Table>>>,
    name: &str,
    id: &str,
) -> Result<()> {
    if let Some(table) = lock(tables).remove(name) {
        table.shutdown();
    }
    files::remove_dir_all(io, &files::table_dir(root, id))?;
    catalog.update(|catalog| {
        catalog.tables.remove(name);
        Ok(())
    })
}

impl Database {
    pub(crate) fn description_json(&self, description: &TableDescription) -> DdbResult<Value> {
        serde_json::to_value(description)
            .map_err(|e| DdbError::new(ErrorKind::InternalServerError, format!("encoding: {e}")))
    }

    pub(crate) fn entry(&self, name: &str) -> DdbResult<TableEntry> {
        self.catalog
            .lock()
            .tables
            .get(name)
            .cloned()
            .ok_or_else(|| not_found(name))
    }

    fn create_table(&self, request: &Value) -> DdbResult<Value> {
        self.check_writable()?;
        let input = CreateTableInput::from_json(&request_text(request))?;
        input.validate()?;
        let name = input.table_name.clone();
        let id = new_table_id(&name);
        let entry = TableEntry {
            id: id.clone(),
            status: TableStatus::Creating,
            gsis: input
                .global_secondary_indexes
                .iter()
                .flatten()
                .map(|g| {
                    (
                        g.index_name.clone(),
                        GsiState {
                            status: IndexStatus::Active,
                            backfilling: false,
                            backfill_violations: 0,
                        },
                    )
                })
                .collect(),
            definition: input,
            creation_date_time: now_seconds(),
            table_arn: table_arn(&name),
            pitr: None,
            backup_schedule: None,
            pending_system_backup: false,
            restore: None,
        };
        self.catalog.update(|catalog| {
            if catalog.tables.contains_key(&name) {
                return Err(Error::Service(DdbError::new(
                    ErrorKind::ResourceInUse,
                    format!("Table already exists: {name}"),
                )));
            }
            catalog.tables.insert(name.clone(), entry.clone());
            Ok(())
        })?;
        // The response shows the table as the request left it: CREATING, its GSIs CREATING.
        let mut description = self.describe(&entry)?;
        if let Some(gsis) = &mut description.global_secondary_indexes {
            for gsi in gsis {
                gsi.index_status = IndexStatus::Creating;
            }
        }
        self.open_table(&entry, BTreeMap::new())?;
        self.set_status(&name, TableStatus::Active)?;
        Ok(serde_json::json!({ "TableDescription": self.description_json(&description)? }))
    }

    fn describe_table(&self, request: &Value) -> DdbResult<Value> {
        let name = table_name_of(request)?;
        let entry = self.entry(&name)?;
        let description = self.describe(&entry)?;
        Ok(serde_json::json!({ "Table": self.description_json(&description)? }))
    }

    fn list_tables(&self, request: &Value) -> DdbResult<Value> {
        #[derive(Deserialize)]
        #[serde(rename_all = "PascalCase", deny_unknown_fields)]
        struct ListTablesInput {
            exclusive_start_table_name: Option<String>,
            limit: Option<i64>,
        }
        let input: ListTablesInput = serde_json::from_value(request.clone())
            .map_err(|e| DdbError::serialization(e.to_string()))?;
        let limit = page_limit(input.limit)?;
        let catalog = self.catalog.lock();
        let names: Vec<&String> = catalog
            .tables
            .keys()
            .filter(|n| {
                input
                    .exclusive_start_table_name
                    .as_ref()
                    .is_none_or(|start| n.as_str() > start.as_str())
            })
            .collect();
        let page: Vec<&String> = names.iter().take(limit).copied().collect();
        let mut out = serde_json::json!({ "TableNames": page });
        if names.len() > limit
            && let (Some(last), Some(map)) = (page.last(), out.as_object_mut())
        {
            map.insert(
                "LastEvaluatedTableName".to_owned(),
                Value::from(last.as_str()),
            );
        }
        Ok(out)
    }

    fn delete_table(&self, request: &Value) -> DdbResult<Value> {
        self.check_writable()?;
        let name = table_name_of(request)?;
        let entry = self.entry(&name)?;
        if entry.status != TableStatus::Active {
            return Err(DdbError::new(
                ErrorKind::ResourceInUse,
                format!(
                    "Attempt to change a resource which is still in use: Table is being {}: {name}",
                    match entry.status {
                        TableStatus::Creating => "created",
                        TableStatus::Deleting => "deleted",
                        _ => "updated",
                    }
                ),
            ));
        }
        if entry.definition.deletion_protection_enabled == Some(true) {
            return Err(DdbError::validation(
                "Resource cannot be deleted as it is currently protected against deletion. \
                 Disable deletion protection first.",
            ));
        }
        let control = lock(&self.backups.control);
        if self.backups.table_busy(&entry.id) {
            return Err(DdbError::new(
                ErrorKind::ResourceInUse,
                format!(
                    "Attempt to change a resource which is still in use: Table is being backed                      up: {name}"
                ),
            ));
        }
        let mut description = self.describe(&entry)?;
        description.table_status = TableStatus::Deleting;
        let with_backup = entry.pitr.is_some();
        self.catalog.update(|catalog| {
            if let Some(e) = catalog.tables.get_mut(&name) {
                e.status = TableStatus::Deleting;
                e.pending_system_backup = with_backup;
            }
            Ok(())
        })?;
        drop(control);
        if with_backup {
            // DynamoDB keeps a SYSTEM backup of a table deleted with PITR on; its job deletes
            // the table once the backup is AVAILABLE.
            self.create_system_backup(&name)?;
        } else {
            self.finish_delete(&name, &entry.id)?;
        }
        Ok(serde_json::json!({ "TableDescription": self.description_json(&description)? }))
    }

    pub(crate) fn check_writable(&self) -> DdbResult<()> {
        if self.options.read_only {
            return Err(DdbError::validation(
                "the database is open read-only: only ListTables and DescribeTable run",
            ));
        }
        Ok(())
    }

    /// Waits until `what` holds (the database's background work runs meanwhile); `false` if
    /// `timeout` passed first.
    pub fn wait(&self, what: &WaitFor, timeout: Duration) -> DdbResult<bool> {
        let deadline = Instant::now() + timeout;
        match what {
            WaitFor::TableExists(name) => {
                let active = |c: &crate::catalog::Catalog| {
                    c.tables
                        .get(name)
                        .is_some_and(|e| e.status == TableStatus::Active)
                };
                // A failed restore removes its table: stop waiting then.
                let mut ended = false;
                self.catalog.wait_until(deadline, |c| {
                    ended = active(c) || self.restores.failure(name).is_some();
                    ended
                });
                Ok(active(&self.catalog.lock()))
            }
            WaitFor::TableNotExists(name) => Ok(self
                .catalog
                .wait_until(deadline, |c| !c.tables.contains_key(name))),
            WaitFor::IndexActive { table, index } => {
                let entry = self.entry(table)?;
                let is_lsi = entry
                    .definition
                    .local_secondary_indexes
                    .iter()
                    .flatten()
                    .any(|l| l.index_name == *index);
                if is_lsi {
                    return Ok(true);
                }
                Ok(self.catalog.wait_until(deadline, |c| {
                    c.tables
                        .get(table)
                        .and_then(|e| e.gsis.get(index))
                        .is_some_and(|s| s.status == IndexStatus::Active)
                }))
            }
            WaitFor::BackupAvailable(arn) => {
                let entry = self.backups.entry_by_arn(arn)?;
                Ok(self.backups.wait_until(deadline, |state| {
                    state
                        .entries
                        .get(&entry.id)
                        .is_none_or(|e| e.status == BackupStatus::Available)
                }) && self.backups.entry_by_arn(arn).is_ok())
            }
            WaitFor::GsiCaughtUp { table } => {
                let handle = lock(&self.tables)
                    .get(table)
                    .cloned()
                    .ok_or_else(|| not_found(table))?;
                Ok(handle.wait_gsi_caught_up(timeout))
            }
        }
    }

    /// Checkpoints the table now (`ddbfmt checkpoint`).
    pub fn checkpoint(&self, table: &str) -> DdbResult<CheckpointReport> {
        self.check_writable()?;
        let handle = lock(&self.tables)
            .get(table)
            .cloned()
            .ok_or_else(|| not_found(table))?;
        Ok(handle.checkpoint()?)
    }

    /// How far a table's GSIs are behind it.
    pub fn gsi_lag(&self, table: &str) -> DdbResult<GsiLag> {
        let handle = lock(&self.tables)
            .get(table)
            .cloned()
            .ok_or_else(|| not_found(table))?;
        Ok(handle.gsi_lag())
    }

    /// Items the last backfill of GSI `index` skipped because their index key attribute had the
    /// wrong type or was empty (DynamoDB's index key violations).
    pub fn backfill_violations(&self, table: &str, index: &str) -> DdbResult<u64> {
        let entry = self.entry(table)?;
        entry
            .gsis
            .get(index)
            .map(|s| s.backfill_violations)
            .ok_or_else(|| {
                DdbError::new(
                    ErrorKind::ResourceNotFound,
                    format!(
                        "Requested resource not found: Index: {index} not found in table {table}"
                    ),
                )
            })
    }

    /// The open table called `name` (for tools and tests that step it).
    pub fn engine_table(&self, name: &str) -> DdbResult<Arc<Table>> {
        lock(&self.tables)
            .get(name)
            .cloned()
            .ok_or_else(|| not_found(name))
    }
}

impl Database {
    /// Runs queued backup jobs and due scheduled work now (configurations without background
    /// threads; with them, the worker does this).
    pub fn run_backup_jobs(&self) -> DdbResult<()> {
        self.check_writable()?;
        Ok(self.backups.run_pending()?)
    }

    /// Runs the scheduled backup work (due schedules, retention, expiry) as if the time were
    /// `now_ms` (tools and tests; the worker runs it every second with the real time).
    pub fn run_scheduled_at(&self, now_ms: u64) -> DdbResult<()> {
        self.check_writable()?;
        Ok(self.backups.tick(now_ms)?)
    }

    /// Makes the SYSTEM backup `<table>$DeletedTableBackup` of a DELETING table; its job
    /// deletes the table once the backup is AVAILABLE.
    pub(crate) fn create_system_backup(&self, name: &str) -> Result<()> {
        let now = crate::backups::ops::now_ms();
        self.backups.create(
            name,
            &format!("{name}{}", crate::backups::DELETED_TABLE_SUFFIX),
            "SYSTEM",
            None,
            true,
            Some(now + crate::backups::SYSTEM_BACKUP_RETENTION_MS),
        )?;
        Ok(())
    }

    /// Backup directories whose manifest does not load: not offered, not deleted.
    pub fn damaged_backups(&self) -> Vec<(PathBuf, String)> {
        self.backups
            .damaged
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// The backup with this ARN (status, directory, marker).
    pub fn backup(&self, arn: &str) -> DdbResult<BackupEntry> {
        self.backups.entry_by_arn(arn)
    }

    /// Marks a backup as being read by a restore: DeleteBackup answers BackupInUseException
    /// until [`Database::end_backup_read`].
    pub fn begin_backup_read(&self, arn: &str) -> DdbResult<BackupEntry> {
        self.backups.pin_for_restore(arn)
    }

    pub fn end_backup_read(&self, arn: &str) {
        self.backups.unpin(arn);
    }
}

impl Drop for Database {
    fn drop(&mut self) {
        self.restores.shutdown();
        self.backups.shutdown();
        let tables: Vec<Arc<Table>> = lock(&self.tables).values().cloned().collect();
        for table in tables {
            table.shutdown();
        }
    }
}

impl Tables for Database {
    fn table(&self, name: &str) -> DdbResult<Arc<dyn TableStore>> {
        let status = self.catalog.lock().tables.get(name).map(|e| e.status);
        match status {
            Some(TableStatus::Active | TableStatus::Updating) => {}
            _ => {
                return Err(DdbError::new(
                    ErrorKind::ResourceNotFound,
                    "Requested resource not found",
                ));
            }
        }
        let table = lock(&self.tables).get(name).cloned().ok_or_else(|| {
            DdbError::new(ErrorKind::ResourceNotFound, "Requested resource not found")
        })?;
        Ok(Arc::new(TableHandle::new(table)))
    }
}
