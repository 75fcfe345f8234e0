//! The backup control plane in DynamoDB's shapes: CreateBackup, DescribeBackup, ListBackups,
//! DeleteBackup, UpdateContinuousBackups, DescribeContinuousBackups, and the backup schedule
//! operations (ours: PutBackupSchedule, DescribeBackupSchedule, DeleteBackupSchedule).

use std::sync::atomic::{AtomicU64, Ordering};

use ddb_backup::BackupIdentity;
use ddb_model::table::TableStatus;
use ddb_model::{DdbError, ErrorKind, Result as DdbResult};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{
    BackupEntry, BackupJob, BackupService, BackupStatus, DELETED_PREFIX, JOB_FILE, JOB_FORMAT,
    backups_dir, creating_entry, id_of_arn, lock_state,
};
use crate::db::Database;
use crate::error::{Error, Result};
use crate::files;
use crate::state_file;
use crate::table::lock;

/// Wall time, ms since the epoch.
pub fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// Seconds since the epoch with millisecond precision, as DynamoDB's JSON carries times.
pub fn seconds(ms: u64) -> Value {
    json!(millis_to_seconds(ms))
}

/// Milliseconds since the epoch as DynamoDB's epoch seconds (fractional): the double nearest
/// the exact decimal (`ms` is exact in f64 below 2^53, and one division rounds once).
pub fn millis_to_seconds(ms: u64) -> f64 {
    #[allow(clippy::cast_precision_loss)]
    let ms = ms as f64;
    ms / 1000.0
}

/// The member at JSON pointer `pointer`, or null.
pub(crate) fn at<'a>(value: &'a Value, pointer: &str) -> &'a Value {
    static NULL: Value = Value::Null;
    value.pointer(pointer).unwrap_or(&NULL)
}

fn backup_not_found() -> DdbError {
    DdbError::new(
        ErrorKind::BackupNotFound,
        "Backup not found for the given BackupARN",
    )
}

pub(crate) fn table_not_found(name: &str) -> DdbError {
    DdbError::new(ErrorKind::TableNotFound, format!("Table not found: {name}"))
}

pub(crate) fn parse<T: for<'de> Deserialize<'de>>(request: &Value) -> DdbResult<T> {
    serde_json::from_value(request.clone()).map_err(|e| DdbError::serialization(e.to_string()))
}

pub(crate) fn validate_backup_name(name: &str) -> DdbResult<()> {
    let problem = if name.len() < 3 {
        Some("Member must have length greater than or equal to 3")
    } else if name.len() > 255 {
        Some("Member must have length less than or equal to 255")
    } else if !name
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'))
    {
        Some("Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+")
    } else {
        None
    };
    match problem {
        Some(constraint) => Err(DdbError::validation(format!(
            "1 validation error detected: Value '{name}' at 'backupName' failed to satisfy \
             constraint: {constraint}"
        ))),
        None => Ok(()),
    }
}

/// A new backup id: creation ms (14 digits) and 32 bits from the clock, process and a counter.
pub(crate) fn new_backup_id(table: &str, ms: u64) -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let seed = format!(
        "{table}\0{nanos}\0{}\0{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    );
    let hash = xxhash_rust::xxh3::xxh3_64(seed.as_bytes()) & 0xffff_ffff;
    format!("{ms:014}-{hash:08x}")
}

impl BackupService {
    /// Creates a backup of `table_name`: takes the marker and the hold, publishes the job and
    /// queues it. Reads no table data. `then_delete` marks the SYSTEM backup of a table being
    /// deleted.
    pub(crate) fn create(
        &self,
        table_name: &str,
        backup_name: &str,
        backup_type: &str,
        schedule: Option<&str>,
        then_delete: bool,
        expires_at_ms: Option<u64>,
    ) -> Result<BackupEntry> {
        let _control = lock(&self.control);
        let entry = self
            .catalog
            .lock()
            .tables
            .get(table_name)
            .cloned()
            .ok_or_else(|| table_not_found(table_name))?;
        let allowed = entry.status == TableStatus::Active
            || (then_delete && entry.status == TableStatus::Deleting);
        if !allowed {
            return Err(DdbError::new(
                ErrorKind::TableInUse,
                format!(
                    "Table is being {}: {table_name}",
                    match entry.status {
                        TableStatus::Creating => "created",
                        TableStatus::Deleting => "deleted",
                        _ => "updated",
                    }
                ),
            )
            .into());
        }
        let table = lock(&self.tables)
            .get(table_name)
            .cloned()
            .ok_or_else(|| table_not_found(table_name))?;
        let request_ms = now_ms();
        let id = new_backup_id(table_name, request_ms);
        let arn = format!("{}/backup/{id}", entry.table_arn);
        let dir = backups_dir(&self.root).join(&id);
        self.io.create_dir_all(&dir)?;
        self.io.sync_dir(&backups_dir(&self.root))?;
        let start = table.begin_backup(&id);
        let made = (|| -> Result<BackupEntry> {
            let mut description =
                crate::db::describe_entry(&*self.io, &self.root, &self.tables, &entry)?;
            description.item_count = start.stats.items;
            description.table_size_bytes = start.stats.bytes;
            for lsi in description.local_secondary_indexes.iter_mut().flatten() {
                let stats = start.index_stats.get(&lsi.index_name).copied();
                lsi.item_count = stats.map_or(0, |s| s.items);
                lsi.index_size_bytes = stats.map_or(0, |s| s.bytes);
            }
            let pitr = entry.pitr.as_ref().map(|p| {
                json!({"PointInTimeRecoveryStatus": "ENABLED", "RecoveryPeriodInDays": p.recovery_period_in_days})
            });
            let source_table = json!({
                "TableDescription": serde_json::to_value(&description).map_err(|e| Error::Unavailable(e.to_string()))?,
                "Definition": serde_json::to_value(&entry.definition).map_err(|e| Error::Unavailable(e.to_string()))?,
                "Tags": entry.definition.tags.clone().unwrap_or_default(),
                "TimeToLiveDescription": {"TimeToLiveStatus": "DISABLED"},
                "SSEDescription": entry.definition.sse_specification.as_ref().map(|_| json!({"Status": "ENABLED"})),
                "PointInTimeRecoveryDescription": pitr.unwrap_or_else(|| json!({"PointInTimeRecoveryStatus": "DISABLED"})),
                "Schedule": schedule.map(|s| json!({"Id": s})),
            });
            let defaults = &self.options;
            let job = BackupJob {
                format: JOB_FORMAT,
                id: id.clone(),
                identity: BackupIdentity {
                    backup_arn: arn.clone(),
                    backup_name: backup_name.to_owned(),
                    backup_type: backup_type.to_owned(),
                    table_name: table_name.to_owned(),
                    table_arn: entry.table_arn.clone(),
                    table_id: entry.id.clone(),
                    request_time_ms: request_ms,
                },
                marker_lsn: start.marker_lsn,
                marker_time_ms: request_ms,
                snapshot_lsn: start.snapshot_lsn,
                definition: entry.definition.clone(),
                source_table,
                expires_at_ms,
                expected_items: u64::try_from(start.stats.items).unwrap_or(0),
                zstd_level: defaults.zstd_level,
                partitions: defaults.partitions,
                row_group_bytes: defaults.row_group_bytes,
                artifact_bytes: defaults.artifact_bytes,
                then_delete_table: then_delete,
            };
            state_file::publish(&*self.io, &dir, JOB_FILE, &job)?;
            Ok(creating_entry(&dir, &job))
        })();
        match made {
            Ok(created) => {
                {
                    let mut state = lock_state(&self.state);
                    state.entries.insert(id.clone(), created.clone());
                    state.queue.push_back(id);
                }
                self.changed.notify_all();
                Ok(created)
            }
            Err(e) => {
                let _ = table.release_hold(&id);
                let _ = files::remove_dir_all(&*self.io, &dir);
                Err(e)
            }
        }
    }

    /// Deletes backup `id` (AVAILABLE, not being read): one rename, then the files.
    pub(crate) fn delete(&self, id: &str) -> Result<BackupEntry> {
        let entry = {
            let mut state = lock_state(&self.state);
            let entry = state
                .entries
                .get(id)
                .cloned()
                .ok_or_else(backup_not_found)?;
            if entry.status == BackupStatus::Creating {
                return Err(DdbError::new(
                    ErrorKind::BackupInUse,
                    format!("Backup is being created: {}", entry.arn()),
                )
                .into());
            }
            if entry.readers > 0 {
                return Err(DdbError::new(
                    ErrorKind::BackupInUse,
                    format!("Backup is being restored from: {}", entry.arn()),
                )
                .into());
            }
            let parent = backups_dir(&self.root);
            let doomed = parent.join(format!("{DELETED_PREFIX}{id}"));
            self.io.rename(&entry.dir, &doomed)?;
            self.io.sync_dir(&parent)?;
            state.entries.remove(id);
            entry
        };
        self.changed.notify_all();
        let doomed = backups_dir(&self.root).join(format!("{DELETED_PREFIX}{id}"));
        files::remove_dir_all(&*self.io, &doomed)?;
        Ok(BackupEntry {
            status: BackupStatus::Deleted,
            ..entry
        })
    }

    /// The backup with ARN `arn`.
    pub(crate) fn entry_by_arn(&self, arn: &str) -> DdbResult<BackupEntry> {
        let id = id_of_arn(arn).ok_or_else(backup_not_found)?;
        lock_state(&self.state)
            .entries
            .get(id)
            .filter(|e| e.arn() == arn)
            .cloned()
            .ok_or_else(backup_not_found)
    }

    /// Marks backup `arn` as read by a restore (DeleteBackup refused) until [`Self::unpin`].
    pub fn pin_for_restore(&self, arn: &str) -> DdbResult<BackupEntry> {
        let entry = self.entry_by_arn(arn)?;
        let mut state = lock_state(&self.state);
        let Some(live) = state.entries.get_mut(&entry.id) else {
            return Err(backup_not_found());
        };
        if live.status != BackupStatus::Available {
            return Err(DdbError::new(
                ErrorKind::BackupInUse,
                format!("Backup is being created: {arn}"),
            ));
        }
        live.readers += 1;
        Ok(live.clone())
    }

    pub fn unpin(&self, arn: &str) {
        if let Some(id) = id_of_arn(arn)
            && let Some(live) = lock_state(&self.state).entries.get_mut(id)
        {
            live.readers = live.readers.saturating_sub(1);
        }
    }
}

/// `BackupDetails`.
pub fn backup_details(entry: &BackupEntry) -> Value {
    let mut details = json!({
        "BackupArn": entry.arn(),
        "BackupName": entry.identity.backup_name,
        "BackupStatus": entry.status.as_str(),
        "BackupType": entry.identity.backup_type,
        "BackupCreationDateTime": seconds(entry.identity.request_time_ms),
    });
    if let Some(map) = details.as_object_mut() {
        if let Some(size) = entry.size_bytes {
            map.insert("BackupSizeBytes".to_owned(), json!(size));
        }
        if let Some(expiry) = entry.expires_at_ms {
            map.insert("BackupExpiryDateTime".to_owned(), seconds(expiry));
        }
    }
    details
}

/// `BackupSummary` (ListBackups).
pub fn backup_summary(entry: &BackupEntry) -> Value {
    let mut summary = backup_details(entry);
    let table = at(&entry.source_table, "/TableDescription");
    if let Some(map) = summary.as_object_mut() {
        map.insert("TableName".to_owned(), json!(entry.identity.table_name));
        map.insert("TableArn".to_owned(), json!(entry.identity.table_arn));
        map.insert("TableId".to_owned(), at(table, "/TableId").clone());
    }
    summary
}

/// `BackupDescription`: details, the source table at the marker, and its features.
pub fn backup_description(entry: &BackupEntry) -> Value {
    let table = at(&entry.source_table, "/TableDescription");
    let throughput = at(table, "/ProvisionedThroughput");
    let billing = at(table, "/BillingModeSummary/BillingMode")
        .as_str()
        .unwrap_or("PROVISIONED");
    let source = json!({
        "TableName": at(table, "/TableName"),
        "TableId": at(table, "/TableId"),
        "TableArn": at(table, "/TableArn"),
        "TableSizeBytes": at(table, "/TableSizeBytes"),
        "KeySchema": at(table, "/KeySchema"),
        "TableCreationDateTime": at(table, "/CreationDateTime"),
        "ProvisionedThroughput": {
            "ReadCapacityUnits": at(throughput, "/ReadCapacityUnits"),
            "WriteCapacityUnits": at(throughput, "/WriteCapacityUnits"),
        },
        "ItemCount": at(table, "/ItemCount"),
        "BillingMode": billing,
    });
    let lsis: Vec<Value> = at(table, "/LocalSecondaryIndexes")
        .as_array()
        .into_iter()
        .flatten()
        .map(|i| json!({"IndexName": at(i, "/IndexName"), "KeySchema": at(i, "/KeySchema"), "Projection": at(i, "/Projection")}))
        .collect();
    let gsis: Vec<Value> = at(table, "/GlobalSecondaryIndexes")
        .as_array()
        .into_iter()
        .flatten()
        .map(|i| {
            json!({
                "IndexName": at(i, "/IndexName"),
                "KeySchema": at(i, "/KeySchema"),
                "Projection": at(i, "/Projection"),
                "ProvisionedThroughput": {
                    "ReadCapacityUnits": at(i, "/ProvisionedThroughput/ReadCapacityUnits"),
                    "WriteCapacityUnits": at(i, "/ProvisionedThroughput/WriteCapacityUnits"),
                },
            })
        })
        .collect();
    let mut features = serde_json::Map::new();
    if !lsis.is_empty() {
        features.insert("LocalSecondaryIndexes".to_owned(), Value::Array(lsis));
    }
    if !gsis.is_empty() {
        features.insert("GlobalSecondaryIndexes".to_owned(), Value::Array(gsis));
    }
    if let Some(stream) = table.get("StreamSpecification") {
        features.insert("StreamDescription".to_owned(), stream.clone());
    }
    features.insert(
        "TimeToLiveDescription".to_owned(),
        at(&entry.source_table, "/TimeToLiveDescription").clone(),
    );
    if let Some(sse) = entry
        .source_table
        .get("SSEDescription")
        .filter(|v| !v.is_null())
    {
        features.insert("SSEDescription".to_owned(), sse.clone());
    }
    json!({
        "BackupDetails": backup_details(entry),
        "SourceTableDetails": source,
        "SourceTableFeatureDetails": Value::Object(features),
    })
}

/// The non-DynamoDB fields every backup response carries: where the files are and the cut.
fn with_location(mut response: Value, entry: &BackupEntry) -> Value {
    if let Some(map) = response.as_object_mut() {
        map.insert(
            "BackupDirectory".to_owned(),
            json!(entry.dir.display().to_string()),
        );
        map.insert(
            "BackupMarker".to_owned(),
            json!({
                "Lsn": entry.marker_lsn,
                "DateTime": seconds(entry.marker_time_ms),
                "SnapshotLsn": entry.snapshot_lsn,
            }),
        );
        // Ours: a CREATING backup whose job failed (it is retried) says why.
        if let Some(error) = &entry.last_error {
            map.insert("BackupJobLastError".to_owned(), json!(error));
        }
    }
    response
}

fn arn_field(request: &Value) -> DdbResult<String> {
    crate::db::required_string(request, "BackupArn", "backupArn")
}

/// Epoch seconds (a JSON number, or a string of one) → ms.
fn time_field(value: &Value, member: &str) -> DdbResult<u64> {
    let secs = match value {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.parse::<f64>().ok(),
        _ => None,
    };
    match secs {
        Some(s) if s.is_finite() && s >= 0.0 => {
            // Rounded to whole ms; times before 2^53 ms are exact.
            #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
            let ms = (s * 1000.0).round() as u64;
            Ok(ms)
        }
        _ => Err(DdbError::serialization(format!(
            "{member}: expected a timestamp in epoch seconds"
        ))),
    }
}

impl Database {
    pub(crate) fn create_backup(&self, request: &Value) -> DdbResult<Value> {
        #[derive(Deserialize)]
        #[serde(rename_all = "PascalCase", deny_unknown_fields)]
        struct Input {
            table_name: String,
            backup_name: String,
        }
        self.check_writable()?;
        crate::db::table_name_of(request)?;
        if request.get("BackupName").is_none() {
            return Err(DdbError::validation(
                "1 validation error detected: Value null at 'backupName' failed to satisfy \
                 constraint: Member must not be null",
            ));
        }
        let input: Input = parse(request)?;
        validate_backup_name(&input.backup_name)?;
        let entry = self.backups.create(
            &input.table_name,
            &input.backup_name,
            "USER",
            None,
            false,
            None,
        )?;
        Ok(with_location(
            json!({ "BackupDetails": backup_details(&entry) }),
            &entry,
        ))
    }

    pub(crate) fn describe_backup(&self, request: &Value) -> DdbResult<Value> {
        let arn = arn_field(request)?;
        let entry = self.backups.entry_by_arn(&arn)?;
        Ok(with_location(
            json!({ "BackupDescription": backup_description(&entry) }),
            &entry,
        ))
    }

    pub(crate) fn delete_backup(&self, request: &Value) -> DdbResult<Value> {
        self.check_writable()?;
        let arn = arn_field(request)?;
        let entry = self.backups.entry_by_arn(&arn)?;
        let deleted = self.backups.delete(&entry.id)?;
        Ok(json!({ "BackupDescription": backup_description(&deleted) }))
    }

    pub(crate) fn list_backups(&self, request: &Value) -> DdbResult<Value> {
        #[derive(Deserialize)]
        #[serde(rename_all = "PascalCase", deny_unknown_fields)]
        struct Input {
            table_name: Option<String>,
            limit: Option<i64>,
            time_range_lower_bound: Option<Value>,
            time_range_upper_bound: Option<Value>,
            exclusive_start_backup_arn: Option<String>,
            backup_type: Option<String>,
        }
        let input: Input = parse(request)?;
        let limit = crate::db::page_limit(input.limit)?;
        let kind = input.backup_type.unwrap_or_else(|| "USER".to_owned());
        if !matches!(kind.as_str(), "USER" | "SYSTEM" | "AWS_BACKUP" | "ALL") {
            return Err(DdbError::validation(format!(
                "1 validation error detected: Value '{kind}' at 'backupType' failed to satisfy \
                 constraint: Member must satisfy enum value set: [USER, SYSTEM, AWS_BACKUP, ALL]"
            )));
        }
        let lower = input
            .time_range_lower_bound
            .as_ref()
            .map(|v| time_field(v, "TimeRangeLowerBound"))
            .transpose()?;
        let upper = input
            .time_range_upper_bound
            .as_ref()
            .map(|v| time_field(v, "TimeRangeUpperBound"))
            .transpose()?;
        if let (Some(l), Some(u)) = (lower, upper)
            && l > u
        {
            return Err(DdbError::validation(
                "TimeRangeLowerBound must be less than or equal to TimeRangeUpperBound",
            ));
        }
        let start = match &input.exclusive_start_backup_arn {
            Some(arn) => Some(id_of_arn(arn).ok_or_else(backup_not_found)?.to_owned()),
            None => None,
        };
        let state = lock_state(&self.backups.state);
        let matching: Vec<&BackupEntry> = state
            .entries
            .values()
            .filter(|e| start.as_ref().is_none_or(|s| e.id.as_str() > s.as_str()))
            .filter(|e| {
                input
                    .table_name
                    .as_ref()
                    .is_none_or(|t| &e.identity.table_name == t)
            })
            .filter(|e| kind == "ALL" || e.identity.backup_type == kind)
            .filter(|e| lower.is_none_or(|l| e.identity.request_time_ms >= l))
            .filter(|e| upper.is_none_or(|u| e.identity.request_time_ms < u))
            .collect();
        let page: Vec<Value> = matching
            .iter()
            .take(limit)
            .map(|e| backup_summary(e))
            .collect();
        let mut out = json!({ "BackupSummaries": page });
        if matching.len() > limit
            && let (Some(last), Some(map)) = (matching.get(limit - 1), out.as_object_mut())
        {
            map.insert("LastEvaluatedBackupArn".to_owned(), json!(last.arn()));
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backup_ids_and_names() {
        let id = new_backup_id("t", 1_764_633_600_123);
        assert_eq!(id.len(), 23);
        assert!(id.starts_with("01764633600123-"));
        let arn = format!("arn:aws:dynamodb:ddblocal:000000000000:table/t/backup/{id}");
        assert_eq!(id_of_arn(&arn), Some(id.as_str()));
        assert_eq!(id_of_arn("arn:x/backup/123-abc"), None);
        assert!(validate_backup_name("ab").is_err());
        assert!(validate_backup_name("a b c").is_err());
        assert!(validate_backup_name("nightly_2026.12-02").is_ok());
    }
}
