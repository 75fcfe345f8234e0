//! ImportTable, DescribeImport, ListImports, and the import's row source for the restore job.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use ddb_model::table::{CreateTableInput, IndexStatus, TableStatus};
use ddb_model::{DdbError, ErrorKind, Result as DdbResult};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{IMPORT_ERRORS_KEPT, IMPORT_FILE, IMPORTS_DIR, ImportRecord, RECORD_FORMAT};
use crate::backups::ops::millis_to_seconds;
use crate::backups::ops::now_ms;
use crate::catalog::{GsiState, TableEntry};
use crate::db::{Database, new_table_id, now_seconds, table_arn};
use crate::error::Error;
use crate::index_build::SortBuffer;
use crate::restore::job::JobError;
use crate::restore::load::{Loader, Preparer};
use crate::restore::{RestoreService, RestoreSource, RestoreState};

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
struct ImportInput {
    client_token: Option<String>,
    #[serde(rename = "S3BucketSource")]
    s3_bucket_source: BucketSource,
    input_format: String,
    /// CSV options: accepted and ignored (only DYNAMODB_JSON is read).
    #[allow(dead_code)]
    input_format_options: Option<Value>,
    input_compression_type: Option<String>,
    table_creation_parameters: Value,
}

#[derive(Debug, Deserialize, serde::Serialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
struct BucketSource {
    #[serde(rename = "S3Bucket")]
    s3_bucket: String,
    #[serde(
        rename = "S3KeyPrefix",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    s3_key_prefix: Option<String>,
    #[serde(
        rename = "S3BucketOwner",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    s3_bucket_owner: Option<String>,
}

impl Database {
    pub(crate) fn import_table(&self, request: &Value) -> DdbResult<Value> {
        self.check_writable()?;
        let input: ImportInput = serde_json::from_value(request.clone())
            .map_err(|e| DdbError::serialization(e.to_string()))?;
        if input.input_format != "DYNAMODB_JSON" {
            return Err(DdbError::validation(format!(
                "InputFormat {}: only DYNAMODB_JSON is supported (CSV and ION are not)",
                input.input_format
            )));
        }
        let compression = input
            .input_compression_type
            .clone()
            .unwrap_or_else(|| "NONE".to_owned());
        if !["GZIP", "ZSTD", "NONE"].contains(&compression.as_str()) {
            return Err(DdbError::validation(format!(
                "InputCompressionType {compression}: must be GZIP, ZSTD or NONE"
            )));
        }
        // TableCreationParameters are CreateTable's members (LSIs allowed here, unlike
        // DynamoDB's import).
        let definition = CreateTableInput::from_json(&input.table_creation_parameters.to_string())?;
        definition.validate()?;
        let name = definition.table_name.clone();
        let dir = PathBuf::from(&input.s3_bucket_source.s3_bucket);
        if !self.io().exists(&dir).unwrap_or(false) {
            return Err(DdbError::validation(format!(
                "S3BucketSource: the directory {} does not exist",
                dir.display()
            )));
        }
        let dir = std::fs::canonicalize(&dir).unwrap_or(dir);
        let now = now_ms();
        let id = super::new_id(now, &name);
        let arn = format!("{}/import/{id}", table_arn(&name));
        let table_id = new_table_id(&name);
        let description = json!({
            "ImportArn": arn,
            "ImportStatus": "IN_PROGRESS",
            "TableArn": table_arn(&name),
            "TableId": crate::db::uuid(&table_id),
            "ClientToken": input.client_token,
            "S3BucketSource": input.s3_bucket_source,
            "ErrorCount": 0,
            "InputFormat": "DYNAMODB_JSON",
            "InputCompressionType": compression,
            "TableCreationParameters": input.table_creation_parameters,
            "StartTime": millis_to_seconds(now),
            "ProcessedSizeBytes": 0,
            "ProcessedItemCount": 0,
            "ImportedItemCount": 0,
        });
        let mut description = description;
        if let Some(map) = description.as_object_mut() {
            map.retain(|_, v| !v.is_null());
        }
        let record = ImportRecord {
            format: RECORD_FORMAT,
            id: id.clone(),
            description,
            dir,
            prefix: input.s3_bucket_source.s3_key_prefix.clone(),
            compression,
            table_name: name.clone(),
            errors: Vec::new(),
        };
        if self.catalog.lock().tables.contains_key(&name) {
            return Err(DdbError::new(
                ErrorKind::ResourceInUse,
                format!("Table already exists: {name}"),
            ));
        }
        super::save(
            &**self.io(),
            self.root(),
            IMPORTS_DIR,
            &id,
            IMPORT_FILE,
            &record,
        )?;
        let entry = TableEntry {
            id: table_id,
            status: TableStatus::Creating,
            gsis: definition
                .global_secondary_indexes
                .iter()
                .flatten()
                .map(|g| {
                    let state = GsiState {
                        status: IndexStatus::Creating,
                        backfilling: true,
                        backfill_violations: 0,
                    };
                    (g.index_name.clone(), state)
                })
                .collect(),
            definition,
            creation_date_time: now_seconds(),
            table_arn: table_arn(&name),
            pitr: None,
            backup_schedule: None,
            pending_system_backup: false,
            restore: Some(RestoreState {
                source: RestoreSource::Import { import_id: id },
                source_backup_arn: None,
                source_table_arn: None,
                restore_date_time: millis_to_seconds(now),
                in_progress: true,
            }),
        };
        let recorded = self.catalog.update(|catalog| {
            if catalog.tables.contains_key(&name) {
                return Err(Error::Service(DdbError::new(
                    ErrorKind::ResourceInUse,
                    format!("Table already exists: {name}"),
                )));
            }
            catalog.tables.insert(name.clone(), entry.clone());
            Ok(())
        });
        if let Err(e) = recorded {
            self.restores.finish_import(&record.id, Err(e.to_string()));
            return Err(e.into());
        }
        self.restores.queue(&name);
        Ok(json!({ "ImportTableDescription": record.description }))
    }

    pub(crate) fn describe_import(&self, request: &Value) -> DdbResult<Value> {
        let arn = crate::db::required_string(request, "ImportArn", "importArn")?;
        let records: Vec<ImportRecord> =
            super::load_all(&**self.io(), self.root(), IMPORTS_DIR, IMPORT_FILE)?;
        let record = records
            .into_iter()
            .find(|r| r.description.get("ImportArn").and_then(Value::as_str) == Some(arn.as_str()))
            .ok_or_else(|| {
                DdbError::new(
                    ErrorKind::ImportNotFound,
                    format!("Import not found: {arn}"),
                )
            })?;
        let mut description = record.description;
        if let Some(map) = description.as_object_mut()
            && !record.errors.is_empty()
        {
            // Ours: where the invalid lines were (DynamoDB writes them to CloudWatch Logs).
            map.insert("ErrorSamples".to_owned(), json!(record.errors));
        }
        Ok(json!({ "ImportTableDescription": description }))
    }

    pub(crate) fn list_imports(&self, request: &Value) -> DdbResult<Value> {
        #[derive(Deserialize)]
        #[serde(rename_all = "PascalCase", deny_unknown_fields)]
        struct Input {
            table_arn: Option<String>,
            page_size: Option<i64>,
            next_token: Option<String>,
        }
        let input: Input = serde_json::from_value(request.clone())
            .map_err(|e| DdbError::serialization(e.to_string()))?;
        let limit = crate::db::page_limit(input.page_size.map(|m| m.min(25)))?;
        let records: Vec<ImportRecord> =
            super::load_all(&**self.io(), self.root(), IMPORTS_DIR, IMPORT_FILE)?;
        let (page, next) = super::page(
            &records,
            input.table_arn.as_deref(),
            input.next_token.as_deref(),
            limit,
        );
        let page: Vec<Value> = page
            .iter()
            .map(|r| {
                let d = &r.description;
                json!({
                    "ImportArn": d.get("ImportArn"),
                    "ImportStatus": d.get("ImportStatus"),
                    "TableArn": d.get("TableArn"),
                    "S3BucketSource": d.get("S3BucketSource"),
                    "InputFormat": d.get("InputFormat"),
                    "StartTime": d.get("StartTime"),
                    "EndTime": d.get("EndTime"),
                })
            })
            .collect();
        Ok(super::with_next_token(
            json!({ "ImportSummaryList": page }),
            next,
        ))
    }
}

/// What an import read.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct ImportCounts {
    pub processed: u64,
    pub processed_bytes: u64,
    pub imported: u64,
    pub errors: u64,
    pub duplicates: u64,
    pub samples: Vec<String>,
}

impl RestoreService {
    /// The import's rows into `loader`: every line read, each item validated against the new
    /// table's schema (invalid ones counted with their location), sorted by key with bounded
    /// memory (the last line of a key wins), loaded.
    pub(crate) fn load_import(
        &self,
        import_id: &str,
        preparer: &Preparer,
        loader: &mut Loader,
        work: &std::path::Path,
        cancel: &AtomicBool,
    ) -> Result<ImportCounts, JobError> {
        let dir = super::records_dir(&self.root, IMPORTS_DIR).join(import_id);
        let record: ImportRecord = crate::state_file::load(&*self.io, &dir, IMPORT_FILE)
            .map_err(JobError::from)?
            .ok_or_else(|| JobError::Failed(format!("import {import_id} has no record")))?;
        let compression = match record.compression.as_str() {
            "GZIP" => ddb_export::Compression::Gzip,
            "ZSTD" => ddb_export::Compression::Zstd,
            _ => ddb_export::Compression::None,
        };
        let source = ddb_export::ImportSource::open(
            Arc::clone(&self.io),
            &record.dir,
            record.prefix.as_deref(),
            compression,
        )
        .map_err(|e| JobError::Failed(format!("the import source: {e}")))?;
        if source.files().is_empty() {
            return Err(JobError::Failed(format!(
                "no data files under {}{}",
                record.dir.display(),
                record
                    .prefix
                    .as_deref()
                    .map(|p| format!(" / {p}"))
                    .unwrap_or_default()
            )));
        }
        let mut counts = ImportCounts::default();
        let mut sort = SortBuffer::new(
            Arc::clone(&self.io),
            work,
            "import",
            self.config.merge_memory_bytes / 2,
        )?;
        let note = |counts: &mut ImportCounts, what: String| {
            counts.errors += 1;
            if counts.samples.len() < IMPORT_ERRORS_KEPT {
                counts.samples.push(what);
            }
        };
        for line in source.items() {
            if cancel.load(Ordering::Relaxed) {
                return Err(JobError::Cancelled);
            }
            match line {
                Err(e) => {
                    if e.line != 0 {
                        counts.processed += 1;
                    }
                    note(&mut counts, e.to_string());
                }
                Ok(found) => {
                    counts.processed += 1;
                    let item = found.item;
                    counts.processed_bytes += u64::try_from(item.size_bytes()).unwrap_or(0);
                    let valid = preparer
                        .schema
                        .validate_item(&item)
                        .and_then(|()| preparer.schema.table_key(&item));
                    match valid {
                        Ok(key) => sort.push(key, item.to_canonical_json().into_bytes())?,
                        Err(e) => note(
                            &mut counts,
                            format!("{}:{}: {}", found.file, found.line, e.message()),
                        ),
                    }
                }
            }
        }
        sort.drain(&mut |key, value| {
            let what = || format!("import {import_id}");
            let row = preparer.prepare(key.to_vec(), value.to_vec(), &what)?;
            loader.push(row)
        })?;
        counts.duplicates = sort.duplicates;
        counts.imported = loader.rows();
        Ok(counts)
    }

    /// Records the import's outcome (COMPLETED with counts, or FAILED with the reason).
    pub(crate) fn finish_import(&self, import_id: &str, outcome: Result<ImportCounts, String>) {
        let dir = super::records_dir(&self.root, IMPORTS_DIR).join(import_id);
        let Ok(Some(mut record)) =
            crate::state_file::load::<ImportRecord>(&*self.io, &dir, IMPORT_FILE)
        else {
            return;
        };
        if let Some(map) = record.description.as_object_mut() {
            map.insert(
                "EndTime".to_owned(),
                Value::from(millis_to_seconds(now_ms())),
            );
            match outcome {
                Ok(counts) => {
                    map.insert("ImportStatus".to_owned(), Value::from("COMPLETED"));
                    map.insert(
                        "ProcessedItemCount".to_owned(),
                        Value::from(counts.processed),
                    );
                    map.insert(
                        "ProcessedSizeBytes".to_owned(),
                        Value::from(counts.processed_bytes),
                    );
                    map.insert("ImportedItemCount".to_owned(), Value::from(counts.imported));
                    map.insert("ErrorCount".to_owned(), Value::from(counts.errors));
                    // Ours: lines whose key an earlier line had (the last one wins).
                    map.insert(
                        "DuplicateItemCount".to_owned(),
                        Value::from(counts.duplicates),
                    );
                    record.errors = counts.samples;
                }
                Err(message) => {
                    map.insert("ImportStatus".to_owned(), Value::from("FAILED"));
                    map.insert("FailureCode".to_owned(), Value::from("ImportFailed"));
                    map.insert("FailureMessage".to_owned(), Value::from(message));
                }
            }
        }
        if let Err(e) = super::save(
            &*self.io,
            &self.root,
            IMPORTS_DIR,
            import_id,
            IMPORT_FILE,
            &record,
        ) {
            eprintln!("ddb-table: recording the end of import {import_id}: {e}");
        }
    }
}

impl Database {
    /// On open: an import still IN_PROGRESS whose table is not (or no longer) a CREATING
    /// import in the catalog was interrupted before its table was recorded, or after its table
    /// was removed: it failed.
    pub(crate) fn recover_imports(&self, entries: &[TableEntry]) -> crate::error::Result<()> {
        let records: Vec<ImportRecord> =
            super::load_all(&**self.io(), self.root(), IMPORTS_DIR, IMPORT_FILE)?;
        for record in records {
            if !super::is_in_progress(&record.description, "ImportStatus") {
                continue;
            }
            let alive = entries.iter().any(|e| {
                e.restore.as_ref().is_some_and(|r| {
                    r.in_progress
                        && matches!(&r.source, RestoreSource::Import { import_id } if *import_id == record.id)
                })
            });
            if !alive {
                self.restores.finish_import(
                    &record.id,
                    Err(
                        "the import was interrupted before its table was recorded, or its table \
                         was removed"
                            .to_owned(),
                    ),
                );
            }
        }
        Ok(())
    }
}
