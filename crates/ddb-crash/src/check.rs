//! The checks after each kill, against the parent's model:
//! 1. no acknowledged write lost: each base table's full consistent Scan equals the model;
//! 2. every AVAILABLE backup verifies deeply and holds exactly its table at its cut (one still
//!    CREATING is allowed, except in the final check);
//! 3. every ACTIVE restored table equals its expected content (CREATING allowed, except in the
//!    final check; FAILED or gone is a failure);
//! 4. every ACTIVE LSI/GSI equals the projection of its table's items (Scan of the index and a
//!    Query per partition value);
//! 5. `ddb_table::verify::verify_database(io, root, deep)` finds nothing.
//!
//! Plus the control plane: exactly the tables, backups, GSIs and PITR settings acknowledged.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use ddb_io::Io;
use ddb_model::Item;
use ddb_table::{Database, WaitFor};
use serde_json::{Value, json};

use crate::model::{Model, RestoreSource};
use crate::schema::{item_of, key_string, short};

/// What one check looked at.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CheckCounts {
    /// Items of base tables compared with the model (check 1).
    pub writes: u64,
    pub backups_verified: u64,
    pub backups_creating: u64,
    pub restores_compared: u64,
    pub pitr_compared: u64,
    pub restores_creating: u64,
    /// Indexes compared with their table (check 4).
    pub index_checks: u64,
    /// Indexes skipped because they are still backfilling.
    pub indexes_backfilling: u64,
    /// Unacknowledged ops resolved by what the database shows.
    pub pending_resolved: u64,
}

impl CheckCounts {
    pub fn add(&mut self, other: &CheckCounts) {
        self.writes += other.writes;
        self.backups_verified += other.backups_verified;
        self.backups_creating += other.backups_creating;
        self.restores_compared += other.restores_compared;
        self.pitr_compared += other.pitr_compared;
        self.restores_creating += other.restores_creating;
        self.index_checks += other.index_checks;
        self.indexes_backfilling += other.indexes_backfilling;
        self.pending_resolved += other.pending_resolved;
    }
}

/// The outcome of a passed check.
#[derive(Debug, Clone, Default)]
pub struct CheckReport {
    pub counts: CheckCounts,
    /// How the op in flight at the kill was resolved, if there was one.
    pub resolution: Option<String>,
}

/// Runs `operation` and turns an error into a message naming the request.
pub fn call(db: &Database, operation: &str, request: &Value) -> Result<Value, String> {
    db.call(operation, request).map_err(|e| {
        format!(
            "{operation} {request} failed: {}: {}",
            e.name(),
            e.message()
        )
    })
}

/// Opens the database in `dir` without background work, checks it against `model` (resolving
/// the pending op into the model), closes it and verifies the directory. `strict`: the final
/// check, where nothing may still be CREATING or backfilling.
pub fn check(
    io: &Arc<dyn Io>,
    dir: &Path,
    model: &mut Model,
    strict: bool,
) -> Result<CheckReport, String> {
    let mut report = CheckReport::default();
    {
        let db = Database::open(dir, crate::database_options(Arc::clone(io), false))
            .map_err(|e| format!("the database does not open after the kill: {e}"))?;
        let tables = list_tables(&db)?;
        let backups = list_backups(&db)?;
        if model.pending.is_some() {
            report.resolution = Some(crate::check_resolve::resolve(
                &db, model, &tables, &backups,
            )?);
            report.counts.pending_resolved += 1;
        }
        check_catalog(&db, model, &tables, &backups)?;
        check_contents(&db, io, model, &backups, strict, &mut report.counts)?;
    }
    // The engine writes its catalog with the first CreateTable: a database killed before any
    // is not yet a database directory to `verify_database` (nothing was acknowledged).
    let nothing_created = model.tables.is_empty() && model.restores.is_empty();
    if nothing_created && !ddb_table::verify::is_database_dir(&**io, dir) {
        return Ok(report);
    }
    let found = ddb_table::verify::verify_database(Arc::clone(io), dir, true);
    if !found.is_sound() {
        let findings: Vec<String> = found
            .findings
            .iter()
            .take(5)
            .map(|f| format!("{}: {}", f.path.display(), f.message))
            .collect();
        return Err(format!(
            "verify_database found {} problem(s): {}",
            found.findings.len(),
            findings.join("; ")
        ));
    }
    Ok(report)
}

/// Table names the database lists.
pub fn list_tables(db: &Database) -> Result<BTreeSet<String>, String> {
    let mut out = BTreeSet::new();
    let mut start: Option<Value> = None;
    loop {
        let mut request = json!({});
        if let Some(s) = &start {
            crate::set(&mut request, "ExclusiveStartTableName", s.clone());
        }
        let page = call(db, "ListTables", &request)?;
        for name in crate::at(&page, "/TableNames")
            .as_array()
            .into_iter()
            .flatten()
        {
            out.insert(name.as_str().unwrap_or_default().to_owned());
        }
        match page.get("LastEvaluatedTableName") {
            Some(s) => start = Some(s.clone()),
            None => return Ok(out),
        }
    }
}

/// A backup as ListBackups shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListedBackup {
    pub name: String,
    pub table: String,
    pub status: String,
}

/// Every backup the database lists, by ARN.
pub fn list_backups(db: &Database) -> Result<BTreeMap<String, ListedBackup>, String> {
    let mut out = BTreeMap::new();
    let mut start: Option<Value> = None;
    loop {
        let mut request = json!({"BackupType": "ALL"});
        if let Some(s) = &start {
            crate::set(&mut request, "ExclusiveStartBackupArn", s.clone());
        }
        let page = call(db, "ListBackups", &request)?;
        for b in crate::at(&page, "/BackupSummaries")
            .as_array()
            .into_iter()
            .flatten()
        {
            let text = |name: &str| b[name].as_str().unwrap_or_default().to_owned();
            out.insert(
                text("BackupArn"),
                ListedBackup {
                    name: text("BackupName"),
                    table: text("TableName"),
                    status: text("BackupStatus"),
                },
            );
        }
        match page.get("LastEvaluatedBackupArn") {
            Some(s) => start = Some(s.clone()),
            None => return Ok(out),
        }
    }
}

/// Every item of `table` (or of its index `index`) by a paged Scan, keyed by the table key.
pub fn scan_items(
    db: &Database,
    table: &str,
    index: Option<&str>,
    keys: &[String],
) -> Result<BTreeMap<String, Item>, String> {
    let mut out = BTreeMap::new();
    let mut start: Option<Value> = None;
    loop {
        let mut request = json!({"TableName": table, "Limit": 97});
        match index {
            Some(index) => crate::set(&mut request, "IndexName", json!(index)),
            None => crate::set(&mut request, "ConsistentRead", json!(true)),
        }
        if let Some(s) = &start {
            crate::set(&mut request, "ExclusiveStartKey", s.clone());
        }
        let page = call(db, "Scan", &request)?;
        for value in crate::at(&page, "/Items").as_array().into_iter().flatten() {
            let item = item_of(value)?;
            let key = key_string(&item, keys)?;
            if let Some(first) = out.insert(key.clone(), item) {
                return Err(format!(
                    "Scan of {table}{} returned key {key} twice (first {})",
                    index.map(|i| format!(" index {i}")).unwrap_or_default(),
                    short(&first)
                ));
            }
        }
        match page.get("LastEvaluatedKey") {
            Some(k) => start = Some(k.clone()),
            None => return Ok(out),
        }
    }
}

/// Compares what a table (or backup, or index) holds with what the model expects; the message
/// counts the differences and names the first few.
pub fn compare_tables(
    what: &str,
    expected: &BTreeMap<String, Item>,
    actual: &BTreeMap<String, Item>,
) -> Result<(), String> {
    let mut differences = Vec::new();
    let keys: BTreeSet<&String> = expected.keys().chain(actual.keys()).collect();
    for key in keys {
        match (expected.get(key), actual.get(key)) {
            (Some(e), Some(a)) if e == a => {}
            (Some(e), None) => differences.push(format!(
                "LOST: key {key} should hold {} (acknowledged) but is absent",
                short(e)
            )),
            (None, Some(a)) => differences.push(format!(
                "key {key} holds {} but no acknowledged write left it there (expected absent)",
                short(a)
            )),
            (Some(e), Some(a)) => differences.push(format!(
                "key {key}: expected {} found {}",
                e.to_canonical_json(),
                a.to_canonical_json()
            )),
            (None, None) => {}
        }
    }
    if differences.is_empty() {
        return Ok(());
    }
    let count = differences.len();
    differences.truncate(3);
    Err(format!(
        "{what}: {count} difference(s) from the model ({} expected items, {} found); {}",
        expected.len(),
        actual.len(),
        differences.join("; ")
    ))
}

/// DescribeTable's ItemCount and TableSizeBytes (exact and live in this engine, recovered from
/// the checkpoint and the log replay) equal the model's.
fn check_stats(db: &Database, name: &str, table: &crate::model::TableModel) -> Result<(), String> {
    let description = describe(db, name)?;
    let count = crate::at(&description, "/ItemCount").as_u64();
    let size = crate::at(&description, "/TableSizeBytes").as_u64();
    let want_count = u64::try_from(table.items.len()).unwrap_or(u64::MAX);
    let want_size: u64 = table
        .items
        .values()
        .map(|i| u64::try_from(i.size_bytes()).unwrap_or(u64::MAX))
        .sum();
    if count != Some(want_count) || size != Some(want_size) {
        return Err(format!(
            "table {name}: DescribeTable says ItemCount {count:?}, TableSizeBytes {size:?}; the \
             model holds {want_count} items of {want_size} bytes"
        ));
    }
    Ok(())
}

/// The description of table `name`.
pub fn describe(db: &Database, name: &str) -> Result<Value, String> {
    let mut response = call(db, "DescribeTable", &json!({"TableName": name}))?;
    Ok(response
        .get_mut("Table")
        .map(serde_json::Value::take)
        .unwrap_or_default())
}

/// The tables, backups, GSIs and PITR settings are exactly the acknowledged ones.
fn check_catalog(
    db: &Database,
    model: &Model,
    tables: &BTreeSet<String>,
    backups: &BTreeMap<String, crate::check::ListedBackup>,
) -> Result<(), String> {
    for name in model.tables.keys() {
        if !tables.contains(name) {
            return Err(format!(
                "table {name} (acknowledged CreateTable) is not listed"
            ));
        }
    }
    for (name, restore) in &model.restores {
        if !tables.contains(name) {
            let why = db
                .restore_failure(name)
                .unwrap_or_else(|| "no failure recorded".into());
            return Err(format!(
                "restored table {name} ({}) was acknowledged but is gone (a FAILED restore?): {why}",
                describe_source(&restore.source)
            ));
        }
    }
    for name in tables {
        if !model.tables.contains_key(name) && !model.restores.contains_key(name) {
            let deleted = if model.deleted_tables.contains(name) {
                " (its DeleteTable was acknowledged)"
            } else {
                ""
            };
            return Err(format!(
                "table {name} is listed but the model has no such table{deleted}"
            ));
        }
    }
    for arn in model.backups.keys() {
        if !backups.contains_key(arn) {
            return Err(format!(
                "backup {arn} (acknowledged CreateBackup) is not listed"
            ));
        }
    }
    for (arn, listed) in backups {
        if !model.backups.contains_key(arn) {
            let deleted = if model.deleted_backups.contains(arn) {
                " (its DeleteBackup was acknowledged)"
            } else {
                ""
            };
            return Err(format!(
                "backup {arn} ({} of {}, {}) is listed but not in the model{deleted}",
                listed.name, listed.table, listed.status
            ));
        }
    }
    for (table, expected) in &model.gsis {
        let description = describe(db, table)?;
        let found: BTreeSet<String> = crate::at(&description, "/GlobalSecondaryIndexes")
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|g| crate::at(g, "/IndexName").as_str().map(str::to_owned))
            .collect();
        if &found != expected {
            return Err(format!(
                "table {table} has GSIs {found:?}, the acknowledged UpdateTables left {expected:?}"
            ));
        }
    }
    for table in &model.pitr {
        let response = call(
            db,
            "DescribeContinuousBackups",
            &json!({"TableName": table}),
        )?;
        let status = crate::at(
            &response,
            "/ContinuousBackupsDescription/PointInTimeRecoveryDescription/PointInTimeRecoveryStatus",
        );
        if status != "ENABLED" {
            return Err(format!(
                "PITR of {table} was enabled (acknowledged) but is {status}"
            ));
        }
    }
    Ok(())
}

pub fn describe_source(source: &RestoreSource) -> String {
    match source {
        RestoreSource::Backup(arn) => format!("from backup {arn}"),
        RestoreSource::Pitr { source, time_us } => match time_us {
            Some(t) => format!("PITR of {source} at {t} µs"),
            None => format!("PITR of {source} at the latest restorable time"),
        },
    }
}

/// Checks 1–4.
fn check_contents(
    db: &Database,
    io: &Arc<dyn Io>,
    model: &Model,
    backups: &BTreeMap<String, ListedBackup>,
    strict: bool,
    counts: &mut CheckCounts,
) -> Result<(), String> {
    // 1. Base tables.
    let mut active: Vec<(&String, &crate::model::TableModel)> = Vec::new();
    for (name, table) in &model.tables {
        let status = crate::at(&describe(db, name)?, "/TableStatus").clone();
        if status != "ACTIVE" {
            return Err(format!("base table {name} is {status}, not ACTIVE"));
        }
        let found = scan_items(db, name, None, &table.keys)?;
        compare_tables(&format!("table {name}"), &table.items, &found)?;
        check_stats(db, name, table)?;
        counts.writes += u64::try_from(found.len()).unwrap_or(0);
        active.push((name, table));
    }
    // 3. Restored tables.
    for (name, restore) in &model.restores {
        let description = describe(db, name)?;
        let status = crate::at(&description, "/TableStatus")
            .as_str()
            .unwrap_or_default();
        match status {
            "ACTIVE" => {}
            "CREATING" if !strict => {
                counts.restores_creating += 1;
                continue;
            }
            _ => {
                return Err(format!(
                    "restored table {name} ({}) is {status}{}",
                    describe_source(&restore.source),
                    if strict { " at the final check" } else { "" }
                ));
            }
        }
        let found = scan_items(db, name, None, &restore.expected.keys)?;
        let what = format!(
            "restored table {name} ({})",
            describe_source(&restore.source)
        );
        compare_tables(&what, &restore.expected.items, &found)?;
        check_stats(db, name, &restore.expected)?;
        match restore.source {
            RestoreSource::Backup(_) => counts.restores_compared += 1,
            RestoreSource::Pitr { .. } => counts.pitr_compared += 1,
        }
        active.push((name, &restore.expected));
    }
    // 2. Backups.
    for (arn, backup) in &model.backups {
        let status = backups
            .get(arn)
            .map(|b| b.status.as_str())
            .unwrap_or_default();
        match status {
            "AVAILABLE" => {}
            "CREATING" if !strict => {
                counts.backups_creating += 1;
                continue;
            }
            _ => {
                return Err(format!(
                    "backup {arn} ({} of {}) is {status}{}",
                    backup.name,
                    backup.table,
                    if strict { " at the final check" } else { "" }
                ));
            }
        }
        let entry = db
            .backup(arn)
            .map_err(|e| format!("backup {arn}: {}", e.message()))?;
        crate::backup_check::check_backup(io, arn, &entry.dir, backup)?;
        counts.backups_verified += 1;
    }
    // 4. Indexes. Replay applied the log tail to the GSIs; nothing runs meanwhile.
    for (name, table) in active {
        if !db
            .wait(
                &WaitFor::GsiCaughtUp {
                    table: name.clone(),
                },
                Duration::from_secs(5),
            )
            .map_err(|e| e.message().to_owned())?
        {
            return Err(format!(
                "the GSIs of {name} are not caught up after the reopen"
            ));
        }
        let (checked, backfilling) = crate::index_check::check_indexes(db, name, table, strict)?;
        counts.index_checks += checked;
        counts.indexes_backfilling += backfilling;
    }
    Ok(())
}
