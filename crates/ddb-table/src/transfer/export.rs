//! ExportTableToPointInTime, DescribeExport, ListExports, and the export job.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use ddb_merge::{MergeOptions, Row, RowSink, SinkFactory, SinkOutput, SnapshotDirInput};
use ddb_model::{DdbError, ErrorKind, Result as DdbResult};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{EXPORT_FILE, EXPORTS_DIR, ExportRecord, RECORD_FORMAT, is_in_progress};
use crate::backups::ops::millis_to_seconds;
use crate::backups::ops::now_ms;
use crate::db::Database;
use crate::error::{Error, Result};
use crate::files;
use crate::restore::RestoreService;
use crate::table::lock;

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
struct ExportInput {
    table_arn: Option<String>,
    /// Ours: the table by name instead of ARN.
    table_name: Option<String>,
    export_time: Option<f64>,
    client_token: Option<String>,
    s3_bucket: String,
    s3_bucket_owner: Option<String>,
    s3_prefix: Option<String>,
    #[serde(rename = "S3SseAlgorithm")]
    s3_sse_algorithm: Option<String>,
    #[serde(rename = "S3SseKmsKeyId")]
    s3_sse_kms_key_id: Option<String>,
    export_format: Option<String>,
    export_type: Option<String>,
}

impl Database {
    pub(crate) fn export_table_to_point_in_time(&self, request: &Value) -> DdbResult<Value> {
        self.check_writable()?;
        let input: ExportInput = serde_json::from_value(request.clone())
            .map_err(|e| DdbError::serialization(e.to_string()))?;
        let name = match (&input.table_name, &input.table_arn) {
            (Some(name), _) => name.clone(),
            (None, Some(arn)) => crate::restore::ops::table_name_of_arn(arn)
                .map(str::to_owned)
                .ok_or_else(|| DdbError::validation(format!("Invalid TableArn: {arn}")))?,
            (None, None) => {
                return Err(DdbError::validation(
                    "1 validation error detected: Value null at 'tableArn' failed to satisfy \
                     constraint: Member must not be null",
                ));
            }
        };
        if input
            .export_format
            .as_deref()
            .is_some_and(|f| f != "DYNAMODB_JSON")
        {
            return Err(DdbError::validation(
                "ExportFormat: only DYNAMODB_JSON is supported (ION is not)",
            ));
        }
        if input
            .export_type
            .as_deref()
            .is_some_and(|t| t != "FULL_EXPORT")
        {
            return Err(DdbError::validation(
                "ExportType: only FULL_EXPORT is supported (incremental exports are not)",
            ));
        }
        let entry = self.entry(&name).map_err(|_| {
            DdbError::new(ErrorKind::TableNotFound, format!("Table not found: {name}"))
        })?;
        let Some(settings) = entry.pitr.clone() else {
            return Err(DdbError::new(
                ErrorKind::PointInTimeRecoveryUnavailable,
                format!("Point in time recovery is not enabled for table '{name}'"),
            ));
        };
        let (earliest, latest) = self.restorable_window(&name, &settings)?;
        let time_us = match input.export_time {
            None => latest * 1000 + 999,
            Some(seconds) => {
                let us = crate::restore::ops::seconds_to_micros(seconds).ok_or_else(|| {
                    DdbError::validation(format!("Invalid ExportTime: {seconds}"))
                })?;
                if us / 1000 < earliest || us / 1000 > latest {
                    return Err(DdbError::new(
                        ErrorKind::InvalidExportTime,
                        format!(
                            "ExportTime {} is outside the restorable window [{}, {}]",
                            crate::audit::iso8601_ms(us / 1000),
                            crate::audit::iso8601_ms(earliest),
                            crate::audit::iso8601_ms(latest)
                        ),
                    ));
                }
                us
            }
        };
        let now = now_ms();
        let id = super::new_id(now, &name);
        let hold = format!("export-{id}");
        let table = self.engine_table(&name)?;
        let Some((snapshot_lsn, lsn)) = table
            .hold_as_of(&hold, time_us)
            .map_err(|e| DdbError::new(ErrorKind::InternalServerError, e.to_string()))?
        else {
            return Err(DdbError::new(
                ErrorKind::InvalidExportTime,
                "no snapshot old enough for that time is kept",
            ));
        };
        let export_arn = format!("{}/export/{id}", entry.table_arn);
        // The bucket is a directory that must exist (as a bucket must); held as an absolute
        // path so the job writes to the same place whichever process runs it.
        let bucket_dir = PathBuf::from(&input.s3_bucket);
        let bucket_dir = match std::fs::canonicalize(&bucket_dir) {
            Ok(dir) if dir.is_dir() => dir,
            _ => {
                let _ = table.release_hold(&hold);
                return Err(DdbError::validation(format!(
                    "S3Bucket: the directory {} does not exist",
                    input.s3_bucket
                )));
            }
        };
        let export_root = ddb_export::export_root(&bucket_dir, input.s3_prefix.as_deref(), &id);
        let export_time_ms = time_us / 1000;
        let description = json!({
            "ExportArn": export_arn,
            "ExportStatus": "IN_PROGRESS",
            "StartTime": millis_to_seconds(now),
            "TableArn": entry.table_arn,
            "TableId": crate::db::uuid(&entry.id),
            "ExportTime": millis_to_seconds(export_time_ms.min(latest)),
            "ClientToken": input.client_token,
            "S3Bucket": input.s3_bucket,
            "S3BucketOwner": input.s3_bucket_owner,
            "S3Prefix": input.s3_prefix,
            "S3SseAlgorithm": input.s3_sse_algorithm.unwrap_or_else(|| "AES256".to_owned()),
            "S3SseKmsKeyId": input.s3_sse_kms_key_id,
            "ExportFormat": "DYNAMODB_JSON",
            "ExportType": "FULL_EXPORT",
        });
        let record = ExportRecord {
            format: RECORD_FORMAT,
            id: id.clone(),
            description: strip_nulls(description),
            export_root,
            table_name: name.clone(),
            table_id: entry.id.clone(),
            hold: hold.clone(),
            snapshot_lsn,
            lsn,
        };
        if let Err(e) = super::save(
            &**self.io(),
            self.root(),
            EXPORTS_DIR,
            &id,
            EXPORT_FILE,
            &record,
        ) {
            let _ = table.release_hold(&hold);
            return Err(DdbError::new(ErrorKind::InternalServerError, e.to_string()));
        }
        self.restores.queue_export(&id);
        Ok(json!({ "ExportDescription": record.description }))
    }

    pub(crate) fn describe_export(&self, request: &Value) -> DdbResult<Value> {
        let arn = crate::db::required_string(request, "ExportArn", "exportArn")?;
        let records: Vec<ExportRecord> =
            super::load_all(&**self.io(), self.root(), EXPORTS_DIR, EXPORT_FILE)?;
        let record = records
            .into_iter()
            .find(|r| r.description.get("ExportArn").and_then(Value::as_str) == Some(arn.as_str()))
            .ok_or_else(|| {
                DdbError::new(
                    ErrorKind::ExportNotFound,
                    format!("Export not found: {arn}"),
                )
            })?;
        Ok(json!({ "ExportDescription": record.description }))
    }

    pub(crate) fn list_exports(&self, request: &Value) -> DdbResult<Value> {
        #[derive(Deserialize)]
        #[serde(rename_all = "PascalCase", deny_unknown_fields)]
        struct Input {
            table_arn: Option<String>,
            max_results: Option<i64>,
            next_token: Option<String>,
        }
        let input: Input = serde_json::from_value(request.clone())
            .map_err(|e| DdbError::serialization(e.to_string()))?;
        let limit = crate::db::page_limit(input.max_results.map(|m| m.min(100)))?;
        let records: Vec<ExportRecord> =
            super::load_all(&**self.io(), self.root(), EXPORTS_DIR, EXPORT_FILE)?;
        let (page, next) = super::page(
            &records,
            input.table_arn.as_deref(),
            input.next_token.as_deref(),
            limit,
        );
        let page: Vec<Value> = page
            .iter()
            .map(|r| {
                json!({
                    "ExportArn": r.description.get("ExportArn"),
                    "ExportStatus": r.description.get("ExportStatus"),
                    "ExportType": "FULL_EXPORT",
                })
            })
            .collect();
        Ok(super::with_next_token(
            json!({ "ExportSummaries": page }),
            next,
        ))
    }
}

fn strip_nulls(mut value: Value) -> Value {
    if let Some(map) = value.as_object_mut() {
        map.retain(|_, v| !v.is_null());
    }
    value
}

impl RestoreService {
    /// Runs export `id` (IN_PROGRESS); records COMPLETED or FAILED and releases its hold.
    pub(crate) fn run_export(
        &self,
        id: &str,
    ) -> std::result::Result<(), crate::restore::job::JobError> {
        use crate::restore::job::JobError;
        let dir = super::records_dir(&self.root, EXPORTS_DIR).join(id);
        let Some(mut record): Option<ExportRecord> =
            crate::state_file::load(&*self.io, &dir, EXPORT_FILE).map_err(JobError::from)?
        else {
            return Ok(());
        };
        if !is_in_progress(&record.description, "ExportStatus") {
            return Ok(());
        }
        let outcome = self.write_export(&record);
        if self.cancel.load(Ordering::Relaxed) && outcome.is_err() {
            return Err(JobError::Cancelled);
        }
        let table = lock(&self.tables).get(&record.table_name).cloned();
        let end = now_ms();
        if let Some(map) = record.description.as_object_mut() {
            map.insert("EndTime".to_owned(), Value::from(millis_to_seconds(end)));
            match &outcome {
                Ok(summary) => {
                    map.insert("ExportStatus".to_owned(), Value::from("COMPLETED"));
                    map.insert("ItemCount".to_owned(), Value::from(summary.item_count));
                    map.insert(
                        "BilledSizeBytes".to_owned(),
                        Value::from(summary.billed_size_bytes),
                    );
                    map.insert(
                        "ExportManifest".to_owned(),
                        Value::from(summary.manifest_files_key.clone()),
                    );
                }
                Err(e) => {
                    map.insert("ExportStatus".to_owned(), Value::from("FAILED"));
                    map.insert("FailureCode".to_owned(), Value::from("ExportFailed"));
                    map.insert("FailureMessage".to_owned(), Value::from(e.to_string()));
                }
            }
        }
        super::save(&*self.io, &self.root, EXPORTS_DIR, id, EXPORT_FILE, &record)
            .map_err(JobError::from)?;
        if let Some(table) = table
            && table.id_hex() == record.table_id
        {
            let _ = table.release_hold(&record.hold);
        }
        self.catalog.notify();
        outcome
            .map(|_| ())
            .map_err(|e| JobError::Failed(e.to_string()))
    }

    fn write_export(&self, record: &ExportRecord) -> Result<ddb_export::ExportSummary> {
        let table = lock(&self.tables)
            .get(&record.table_name)
            .cloned()
            .filter(|t| t.id_hex() == record.table_id)
            .ok_or_else(|| {
                Error::Unavailable(format!(
                    "the source table {} is not open",
                    record.table_name
                ))
            })?;
        let hold = table.hold(&record.hold).ok_or_else(|| {
            Error::Unavailable(format!(
                "table {} holds nothing for this export",
                record.table_name
            ))
        })?;
        let snapshot = hold
            .snapshot
            .as_ref()
            .map(|base| SnapshotDirInput::open(Arc::clone(&self.io), base.dir()))
            .transpose()?;
        let log = table.read_log(record.snapshot_lsn + 1, record.lsn)?;
        let cancel = &self.cancel;
        let log = log.map(move |r| {
            if cancel.load(Ordering::Relaxed) {
                return Err(ddb_log::LogError::Io(std::io::Error::other(
                    "the database is closing",
                )));
            }
            r
        });
        let get = |member: &str| {
            record
                .description
                .get(member)
                .and_then(Value::as_str)
                .map(str::to_owned)
        };
        let identity = ddb_export::ExportIdentity {
            export_arn: get("ExportArn").unwrap_or_default(),
            export_id: record.id.clone(),
            table_arn: get("TableArn").unwrap_or_default(),
            table_id: get("TableId").unwrap_or_default(),
            export_time_ms: seconds_member_ms(&record.description, "ExportTime"),
            start_time_ms: seconds_member_ms(&record.description, "StartTime"),
            s3_bucket: get("S3Bucket").unwrap_or_default(),
            s3_prefix: get("S3Prefix"),
        };
        let writer = ddb_export::ExportWriter::create(
            Arc::clone(&self.io),
            &record.export_root,
            identity,
            ddb_export::ExportOptions::default(),
        )
        .map_err(|e| Error::Unavailable(e.to_string()))?;
        let sinks = ExportSinks {
            writer: Arc::new(std::sync::Mutex::new(Some(writer))),
        };
        let merge = MergeOptions {
            partitions: 1,
            memory_budget_bytes: self.config.merge_memory_bytes / 2,
            spill_dir: files::work_dir(&table.dir).join(format!("export-{}", record.id)),
        };
        let snapshot_input = snapshot
            .as_ref()
            .map(|s| s as &dyn ddb_merge::SnapshotInput);
        ddb_merge::merge(
            Arc::clone(&self.io),
            snapshot_input,
            log,
            record.lsn,
            &merge,
            &sinks,
        )?;
        let writer = sinks
            .writer
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take()
            .ok_or_else(|| Error::Unavailable("the export writer is gone".to_owned()))?;
        writer
            .finish(now_ms())
            .map_err(|e| Error::Unavailable(e.to_string()))
    }
}

fn seconds_member_ms(description: &Value, member: &str) -> u64 {
    let seconds = description
        .get(member)
        .and_then(Value::as_f64)
        .unwrap_or(0.0);
    crate::restore::ops::seconds_to_micros(seconds).map_or(0, |us| us / 1000)
}

/// The merge's sinks (it runs one partition) writing into the shared export writer.
struct ExportSinks {
    writer: Arc<std::sync::Mutex<Option<ddb_export::ExportWriter>>>,
}

impl SinkFactory for ExportSinks {
    fn sink(
        &self,
        _partition: usize,
        _lower: Option<&[u8]>,
        _upper: Option<&[u8]>,
    ) -> ddb_merge::Result<Box<dyn RowSink>> {
        Ok(Box::new(ExportSink {
            writer: Arc::clone(&self.writer),
            rows: 0,
        }))
    }
}

struct ExportSink {
    writer: Arc<std::sync::Mutex<Option<ddb_export::ExportWriter>>>,
    rows: u64,
}

impl RowSink for ExportSink {
    fn push(&mut self, row: &Row) -> ddb_merge::Result<()> {
        let mut writer = self
            .writer
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let writer = writer.as_mut().ok_or_else(|| {
            ddb_merge::MergeError::InvalidOptions("the export is closed".to_owned())
        })?;
        writer
            .push(&row.item)
            .map_err(|e| ddb_merge::MergeError::Io(std::io::Error::other(e.to_string())))?;
        self.rows += 1;
        Ok(())
    }

    fn finish(self: Box<Self>) -> ddb_merge::Result<SinkOutput> {
        Ok(SinkOutput {
            rows: self.rows,
            bytes: 0,
            artifacts: Vec::new(),
        })
    }
}
