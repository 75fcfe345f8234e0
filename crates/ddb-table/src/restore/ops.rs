//! RestoreTableFromBackup and RestoreTableToPointInTime: validation, the target's definition
//! (the source's, with DynamoDB's overrides), the catalog record, the CREATING answer.

use std::collections::BTreeSet;

use ddb_model::table::{
    BillingMode, CreateTableInput, GlobalSecondaryIndex, IndexStatus, LocalSecondaryIndex,
    ProvisionedThroughput, SseSpecification, TableStatus,
};
use ddb_model::{DdbError, ErrorKind, Result as DdbResult};
use serde::Deserialize;
use serde_json::Value;

use super::{RestoreSource, RestoreState, backup_dir_from_path};
use crate::backups::BackupStatus;
use crate::backups::ops::millis_to_seconds;
use crate::catalog::{GsiState, TableEntry};
use crate::db::{Database, new_table_id, now_seconds, table_arn};
use crate::error::Error;

/// The overrides both restores take (DynamoDB's), and our opt-ins to re-apply recorded
/// settings a restore does not carry over by default.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Overrides {
    billing_mode_override: Option<BillingMode>,
    provisioned_throughput_override: Option<ProvisionedThroughput>,
    global_secondary_index_override: Option<Vec<GlobalSecondaryIndex>>,
    local_secondary_index_override: Option<Vec<LocalSecondaryIndex>>,
    #[serde(rename = "SSESpecificationOverride")]
    sse_specification_override: Option<SseSpecification>,
    /// Ours: re-apply the source's tags (DynamoDB never restores them).
    reapply_tags: Option<bool>,
    /// Ours: re-apply the source's stream specification.
    reapply_stream_specification: Option<bool>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct FromBackupInput {
    target_table_name: String,
    backup_arn: String,
    #[serde(flatten)]
    overrides: Overrides,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ToPointInTimeInput {
    source_table_arn: Option<String>,
    source_table_name: Option<String>,
    target_table_name: String,
    use_latest_restorable_time: Option<bool>,
    restore_date_time: Option<f64>,
    #[serde(flatten)]
    overrides: Overrides,
}

const OVERRIDE_MEMBERS: [&str; 7] = [
    "BillingModeOverride",
    "ProvisionedThroughputOverride",
    "GlobalSecondaryIndexOverride",
    "LocalSecondaryIndexOverride",
    "SSESpecificationOverride",
    "ReapplyTags",
    "ReapplyStreamSpecification",
];

/// Refuses members the operation does not have (serde's `deny_unknown_fields` does not work
/// with the flattened overrides).
fn check_members(request: &Value, own: &[&str]) -> DdbResult<()> {
    if let Some(unknown) = request.as_object().and_then(|m| {
        m.keys()
            .find(|k| !own.contains(&k.as_str()) && !OVERRIDE_MEMBERS.contains(&k.as_str()))
    }) {
        return Err(DdbError::serialization(format!("unknown member {unknown}")));
    }
    Ok(())
}

fn parse<T: for<'de> Deserialize<'de>>(request: &Value) -> DdbResult<T> {
    serde_json::from_value(request.clone()).map_err(|e| DdbError::serialization(e.to_string()))
}

fn internal(e: impl std::fmt::Display) -> DdbError {
    DdbError::new(ErrorKind::InternalServerError, e.to_string())
}

/// The target's definition: the source's, renamed, with the overrides applied, without the
/// settings a restore does not carry (tags, stream specification, deletion protection) unless
/// re-applied; validated as CreateTable would.
fn restored_definition(
    source: &CreateTableInput,
    target: &str,
    overrides: &Overrides,
) -> DdbResult<CreateTableInput> {
    let mut def = source.clone();
    def.table_name = target.to_owned();
    if overrides.reapply_tags != Some(true) {
        def.tags = None;
    }
    if overrides.reapply_stream_specification != Some(true) {
        def.stream_specification = None;
    }
    def.deletion_protection_enabled = None;
    if let Some(sse) = &overrides.sse_specification_override {
        def.sse_specification = Some(sse.clone());
    }
    if let Some(gsis) = &overrides.global_secondary_index_override {
        let known = source
            .global_secondary_indexes
            .as_deref()
            .unwrap_or_default();
        for gsi in gsis {
            let Some(original) = known.iter().find(|g| g.index_name == gsi.index_name) else {
                return Err(DdbError::validation(format!(
                    "GlobalSecondaryIndexOverride: the backup has no global secondary index \
                     {}: a restore can drop indexes, not add them",
                    gsi.index_name
                )));
            };
            if original.key_schema != gsi.key_schema || original.projection != gsi.projection {
                return Err(DdbError::validation(format!(
                    "GlobalSecondaryIndexOverride: index {} must keep the backup's key schema \
                     and projection",
                    gsi.index_name
                )));
            }
        }
        def.global_secondary_indexes = (!gsis.is_empty()).then(|| gsis.clone());
    }
    if let Some(lsis) = &overrides.local_secondary_index_override {
        let known = source
            .local_secondary_indexes
            .as_deref()
            .unwrap_or_default();
        for lsi in lsis {
            if !known.contains(lsi) {
                return Err(DdbError::validation(format!(
                    "LocalSecondaryIndexOverride: the backup has no local secondary index {} \
                     with that key schema and projection: a restore can drop indexes, not add \
                     or change them",
                    lsi.index_name
                )));
            }
        }
        def.local_secondary_indexes = (!lsis.is_empty()).then(|| lsis.clone());
    }
    if let Some(mode) = overrides.billing_mode_override {
        def.billing_mode = Some(mode);
        if mode == BillingMode::PayPerRequest {
            def.provisioned_throughput = None;
            for gsi in def.global_secondary_indexes.iter_mut().flatten() {
                gsi.provisioned_throughput = None;
            }
        }
    }
    if let Some(throughput) = &overrides.provisioned_throughput_override {
        def.provisioned_throughput = Some(*throughput);
    }
    // AttributeDefinitions must list exactly the key attributes of what is left.
    let mut used: BTreeSet<&str> = def
        .key_schema
        .iter()
        .map(|k| k.attribute_name.as_str())
        .collect();
    for lsi in def.local_secondary_indexes.iter().flatten() {
        used.extend(lsi.key_schema.iter().map(|k| k.attribute_name.as_str()));
    }
    for gsi in def.global_secondary_indexes.iter().flatten() {
        used.extend(gsi.key_schema.iter().map(|k| k.attribute_name.as_str()));
    }
    let used: BTreeSet<String> = used.into_iter().map(str::to_owned).collect();
    def.attribute_definitions
        .retain(|a| used.contains(&a.attribute_name));
    def.validate()?;
    Ok(def)
}

/// The table name of an ARN `arn:…:table/<name>[/…]`.
pub(crate) fn table_name_of_arn(arn: &str) -> Option<&str> {
    let rest = arn.split_once(":table/")?.1;
    Some(rest.split('/').next().unwrap_or(rest))
}

impl Database {
    pub(crate) fn restore_table_from_backup(&self, request: &Value) -> DdbResult<Value> {
        self.check_writable()?;
        check_members(request, &["TargetTableName", "BackupArn"])?;
        let input: FromBackupInput = parse(request)?;
        let (dir, catalog_arn, source_table, marker_ms, table_arn_of_source, backup_arn) =
            if let Some(dir) = backup_dir_from_path(&**self.io(), &input.backup_arn) {
                let manifest =
                    ddb_backup::BackupManifest::load(&**self.io(), &dir).map_err(|e| {
                        DdbError::validation(format!(
                            "the backup in {} does not load: {e}",
                            dir.display()
                        ))
                    })?;
                let dir = std::fs::canonicalize(&dir).unwrap_or(dir);
                (
                    dir,
                    None,
                    manifest.source_table.clone(),
                    manifest.marker.time_ms,
                    manifest.backup.table_arn.clone(),
                    manifest.backup.backup_arn.clone(),
                )
            } else {
                let backup = self.backup(&input.backup_arn)?;
                if backup.status == BackupStatus::Creating {
                    return Err(DdbError::new(
                        ErrorKind::BackupInUse,
                        format!("Backup is being created: {}", input.backup_arn),
                    ));
                }
                (
                    backup.dir.clone(),
                    Some(input.backup_arn.clone()),
                    backup.source_table.clone(),
                    backup.marker_time_ms,
                    backup.identity.table_arn.clone(),
                    input.backup_arn.clone(),
                )
            };
        let source_definition: CreateTableInput = source_table
            .get("Definition")
            .cloned()
            .ok_or_else(|| internal("the backup records no table definition"))
            .and_then(|d| serde_json::from_value(d).map_err(internal))?;
        let definition = restored_definition(
            &source_definition,
            &input.target_table_name,
            &input.overrides,
        )?;
        let state = RestoreState {
            source: RestoreSource::Backup {
                dir,
                catalog_arn: catalog_arn.clone(),
            },
            source_backup_arn: Some(backup_arn),
            source_table_arn: Some(table_arn_of_source),
            restore_date_time: millis_to_seconds(marker_ms),
            in_progress: true,
        };
        // Pin the backup (DeleteBackup refused) before the restore is recorded.
        if let Some(arn) = &catalog_arn {
            self.begin_backup_read(arn)?;
        }
        let recorded = self.record_restore(definition, state);
        if recorded.is_err()
            && let Some(arn) = &catalog_arn
        {
            self.end_backup_read(arn);
        }
        recorded
    }

    pub(crate) fn restore_table_to_point_in_time(&self, request: &Value) -> DdbResult<Value> {
        self.check_writable()?;
        check_members(
            request,
            &[
                "SourceTableArn",
                "SourceTableName",
                "TargetTableName",
                "UseLatestRestorableTime",
                "RestoreDateTime",
            ],
        )?;
        let input: ToPointInTimeInput = parse(request)?;
        let source_name = match (&input.source_table_name, &input.source_table_arn) {
            (Some(name), _) => name.clone(),
            (None, Some(arn)) => table_name_of_arn(arn)
                .ok_or_else(|| DdbError::validation(format!("Invalid SourceTableArn: {arn}")))?
                .to_owned(),
            (None, None) => {
                return Err(DdbError::validation(
                    "Either SourceTableArn or SourceTableName must be specified",
                ));
            }
        };
        let latest = input.use_latest_restorable_time == Some(true);
        if latest == input.restore_date_time.is_some() {
            return Err(DdbError::validation(
                "Exactly one of RestoreDateTime and UseLatestRestorableTime must be specified",
            ));
        }
        let Some(entry) = self.catalog.lock().tables.get(&source_name).cloned() else {
            return self.restore_deleted_table(&source_name, &input, latest);
        };
        let Some(settings) = entry.pitr.clone() else {
            return Err(DdbError::new(
                ErrorKind::PointInTimeRecoveryUnavailable,
                format!("Point in time recovery is not enabled for table '{source_name}'"),
            ));
        };
        if !matches!(entry.status, TableStatus::Active | TableStatus::Updating) {
            return Err(DdbError::new(
                ErrorKind::TableInUse,
                format!("Table is not active: {source_name}"),
            ));
        }
        let (earliest_ms, latest_ms) = self.restorable_window(&source_name, &settings)?;
        let time_us = match input.restore_date_time {
            Some(seconds) => {
                let time_us = seconds_to_micros(seconds).ok_or_else(|| {
                    DdbError::validation(format!("Invalid RestoreDateTime: {seconds}"))
                })?;
                let time_ms = time_us / 1000;
                if time_ms < earliest_ms || time_ms > latest_ms {
                    return Err(DdbError::new(
                        ErrorKind::InvalidRestoreTime,
                        format!(
                            "RestoreDateTime {} is outside the restorable window [{}, {}]",
                            iso(time_ms),
                            iso(earliest_ms),
                            iso(latest_ms)
                        ),
                    ));
                }
                time_us
            }
            None => latest_ms * 1000 + 999,
        };
        let definition = restored_definition(
            &entry.definition,
            &input.target_table_name,
            &input.overrides,
        )?;
        let table = self.engine_table(&source_name)?;
        let target_id = new_table_id(&input.target_table_name);
        let hold = format!("restore-{target_id}");
        let Some((snapshot_lsn, lsn)) = table.hold_as_of(&hold, time_us).map_err(internal)? else {
            return Err(DdbError::new(
                ErrorKind::InvalidRestoreTime,
                "no snapshot old enough for that time is kept".to_owned(),
            ));
        };
        let state = RestoreState {
            source: RestoreSource::PointInTime {
                table_name: source_name.clone(),
                table_id: entry.id.clone(),
                hold: hold.clone(),
                snapshot_lsn,
                lsn,
            },
            source_backup_arn: None,
            source_table_arn: Some(entry.table_arn.clone()),
            restore_date_time: if latest {
                millis_to_seconds(latest_ms)
            } else {
                micros_to_seconds(time_us)
            },
            in_progress: true,
        };
        let recorded = self.record_restore_with_id(definition, state, target_id);
        if recorded.is_err() {
            let _ = table.release_hold(&hold);
        }
        recorded
    }

    /// RestoreTableToPointInTime of a table deleted with PITR on: its SYSTEM backup, which
    /// holds the table as it was at deletion (its latest restorable time).
    fn restore_deleted_table(
        &self,
        source_name: &str,
        input: &ToPointInTimeInput,
        latest: bool,
    ) -> DdbResult<Value> {
        let wanted = format!("{source_name}{}", crate::backups::DELETED_TABLE_SUFFIX);
        let backup = {
            let state = crate::backups::lock_state(&self.backups.state);
            state
                .entries
                .values()
                .filter(|b| {
                    b.identity.backup_type == "SYSTEM"
                        && b.identity.backup_name == wanted
                        && b.status == BackupStatus::Available
                })
                .max_by_key(|b| b.marker_time_ms)
                .cloned()
        };
        let Some(backup) = backup else {
            return Err(DdbError::new(
                ErrorKind::TableNotFound,
                format!("Source table not found: {source_name}"),
            ));
        };
        if !latest
            && input
                .restore_date_time
                .and_then(seconds_to_micros)
                .is_none_or(|us| us / 1000 < backup.marker_time_ms)
        {
            return Err(DdbError::new(
                ErrorKind::InvalidRestoreTime,
                format!(
                    "table {source_name} was deleted; it restores only to its state at deletion \
                     ({}, its SYSTEM backup {})",
                    iso(backup.marker_time_ms),
                    backup.arn()
                ),
            ));
        }
        let mut request = serde_json::to_value(RequestFromBackup {
            target_table_name: &input.target_table_name,
            backup_arn: backup.arn(),
        })
        .map_err(internal)?;
        if let (Some(map), Some(original)) = (request.as_object_mut(), self.pitr_overrides(input)) {
            map.extend(original);
        }
        self.restore_table_from_backup(&request)
    }

    fn pitr_overrides(&self, input: &ToPointInTimeInput) -> Option<serde_json::Map<String, Value>> {
        let o = &input.overrides;
        let mut map = serde_json::Map::new();
        let mut put = |name: &str, value: Option<Value>| {
            if let Some(value) = value {
                map.insert(name.to_owned(), value);
            }
        };
        put(
            "BillingModeOverride",
            o.billing_mode_override
                .and_then(|v| serde_json::to_value(v).ok()),
        );
        put(
            "ProvisionedThroughputOverride",
            o.provisioned_throughput_override
                .as_ref()
                .and_then(|v| serde_json::to_value(v).ok()),
        );
        put(
            "GlobalSecondaryIndexOverride",
            o.global_secondary_index_override
                .as_ref()
                .and_then(|v| serde_json::to_value(v).ok()),
        );
        put(
            "LocalSecondaryIndexOverride",
            o.local_secondary_index_override
                .as_ref()
                .and_then(|v| serde_json::to_value(v).ok()),
        );
        put(
            "SSESpecificationOverride",
            o.sse_specification_override
                .as_ref()
                .and_then(|v| serde_json::to_value(v).ok()),
        );
        put("ReapplyTags", o.reapply_tags.map(Value::from));
        put(
            "ReapplyStreamSpecification",
            o.reapply_stream_specification.map(Value::from),
        );
        Some(map)
    }

    fn record_restore(
        &self,
        definition: CreateTableInput,
        state: RestoreState,
    ) -> DdbResult<Value> {
        let id = new_table_id(&definition.table_name);
        self.record_restore_with_id(definition, state, id)
    }

    /// Records the target table (CREATING, restore in progress) and queues its job: the
    /// request's commit point. Answers with the CREATING description.
    fn record_restore_with_id(
        &self,
        definition: CreateTableInput,
        state: RestoreState,
        id: String,
    ) -> DdbResult<Value> {
        let name = definition.table_name.clone();
        let entry = TableEntry {
            id,
            status: TableStatus::Creating,
            gsis: definition
                .global_secondary_indexes
                .iter()
                .flatten()
                .map(|g| {
                    (
                        g.index_name.clone(),
                        GsiState {
                            status: IndexStatus::Creating,
                            backfilling: true,
                            backfill_violations: 0,
                        },
                    )
                })
                .collect(),
            definition,
            creation_date_time: now_seconds(),
            table_arn: table_arn(&name),
            pitr: None,
            backup_schedule: None,
            pending_system_backup: false,
            restore: Some(state),
        };
        self.catalog.update(|catalog| {
            if catalog.tables.contains_key(&name) {
                return Err(Error::Service(DdbError::new(
                    ErrorKind::TableAlreadyExists,
                    format!("Table already exists: {name}"),
                )));
            }
            catalog.tables.insert(name.clone(), entry.clone());
            Ok(())
        })?;
        let description = self.describe(&entry)?;
        self.restores.queue(&name);
        Ok(serde_json::json!({ "TableDescription": self.description_json(&description)? }))
    }

    /// Runs queued restores now (configurations without the restore worker).
    pub fn run_restore_jobs(&self) -> DdbResult<()> {
        self.check_writable()?;
        Ok(self.restores.run_pending()?)
    }

    /// Why the restore into `table` failed (its table was removed), if it did.
    pub fn restore_failure(&self, table: &str) -> Option<String> {
        self.restores.failure(table)
    }

    /// Whether the restore into `table` is still loading (CREATING).
    pub fn restore_in_progress(&self, table: &str) -> bool {
        self.catalog
            .lock()
            .tables
            .get(table)
            .and_then(|e| e.restore.as_ref())
            .is_some_and(|r| r.in_progress)
    }
}

#[derive(serde::Serialize)]
#[serde(rename_all = "PascalCase")]
struct RequestFromBackup<'a> {
    target_table_name: &'a str,
    backup_arn: &'a str,
}

fn micros_to_seconds(us: u64) -> f64 {
    // Exact in f64 below 2^53 µs (year 2255); one division rounds once.
    #[allow(clippy::cast_precision_loss)]
    let us = us as f64;
    us / 1_000_000.0
}

/// Epoch seconds (fractional) to µs; `None` if negative, not finite or absurdly large.
#[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
pub(crate) fn seconds_to_micros(seconds: f64) -> Option<u64> {
    if !seconds.is_finite() || !(0.0..=1.0e11).contains(&seconds) {
        return None;
    }
    let whole = seconds.trunc();
    let frac = ((seconds - whole) * 1_000_000.0).round();
    // Both are in range: checked above.
    let whole = whole as u64; // allowed: 0 ≤ whole ≤ 1e11
    let frac = frac as u64; // allowed: 0 ≤ frac ≤ 1e6
    Some(whole * 1_000_000 + frac)
}

fn iso(ms: u64) -> String {
    crate::audit::iso8601_ms(ms)
}
