//! Export to and import from DynamoDB's S3 export layout in a local directory (the "bucket"),
//! as durable jobs run by the restore worker.
//!
//! - **ExportTableToPointInTime** takes a hold on the source table as of the export time (as a
//!   point-in-time restore does), records `exports/<id>/EXPORT` (IN_PROGRESS; the request's
//!   commit point) and answers. The job merges the held snapshot with the log up to the cut and
//!   streams the items into `ddb_export::ExportWriter` (`<bucket>/[<prefix>/]AWSDynamoDB/<id>/`,
//!   `manifest-summary.json` last), then records COMPLETED and releases the hold. A crash
//!   re-takes the hold from the record and writes the export again from the start.
//! - **ImportTable** records `imports/<id>/IMPORT` and the new table (CREATING, with a restore
//!   record whose source is the import), and answers. The job reads every line of the source
//!   files, validates each item against the new table's schema (invalid lines are counted and
//!   their locations kept, never fatal), sorts them by key with the merge's bounded-memory
//!   spill (an import line is a logged put; the last line of a key wins, so duplicates resolve
//!   deterministically in file order), and bulk-loads the result like a restore; then the
//!   table is ACTIVE (GSIs backfill) and the import COMPLETED with its counts. If the import
//!   cannot finish, the table is removed and the import FAILED.

pub(crate) mod export;
pub(crate) mod import;

use std::path::{Path, PathBuf};

use ddb_io::Io;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::Result;
use crate::state_file;

pub const EXPORTS_DIR: &str = "exports";
pub const IMPORTS_DIR: &str = "imports";
pub const EXPORT_FILE: &str = "EXPORT";
pub const IMPORT_FILE: &str = "IMPORT";
pub const RECORD_FORMAT: u32 = 1;
/// Error locations an import keeps (the count is exact; the list is a sample).
pub const IMPORT_ERRORS_KEPT: usize = 100;

/// An export's record: its `ExportDescription` (DynamoDB's shape) and the job's source.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExportRecord {
    pub format: u32,
    pub id: String,
    pub description: Value,
    /// The export directory (`…/AWSDynamoDB/<id>`).
    pub export_root: PathBuf,
    pub table_name: String,
    pub table_id: String,
    pub hold: String,
    pub snapshot_lsn: u64,
    pub lsn: u64,
}

/// An import's record: its `ImportTableDescription` and where it reads.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ImportRecord {
    pub format: u32,
    pub id: String,
    pub description: Value,
    pub dir: PathBuf,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prefix: Option<String>,
    /// GZIP | ZSTD | NONE.
    pub compression: String,
    pub table_name: String,
    /// Where the invalid lines were (a sample of [`IMPORT_ERRORS_KEPT`]).
    #[serde(default)]
    pub errors: Vec<String>,
}

/// A record the List operations page through: its id (the paging token) and description.
pub(crate) trait Listed {
    fn id(&self) -> &str;
    fn description(&self) -> &Value;
}

impl Listed for ExportRecord {
    fn id(&self) -> &str {
        &self.id
    }
    fn description(&self) -> &Value {
        &self.description
    }
}

impl Listed for ImportRecord {
    fn id(&self) -> &str {
        &self.id
    }
    fn description(&self) -> &Value {
        &self.description
    }
}

/// ListExports/ListImports paging over `records` (in id order): those of `table_arn` (all when
/// `None`) after the id `next_token`, at most `limit`, and the token of the next page if any.
pub(crate) fn page<'a, T: Listed>(
    records: &'a [T],
    table_arn: Option<&str>,
    next_token: Option<&str>,
    limit: usize,
) -> (Vec<&'a T>, Option<String>) {
    let matching: Vec<&T> = records
        .iter()
        .filter(|r| {
            table_arn.is_none_or(|arn| {
                r.description().get("TableArn").and_then(Value::as_str) == Some(arn)
            })
        })
        .filter(|r| next_token.is_none_or(|t| r.id() > t))
        .collect();
    let next = (matching.len() > limit)
        .then(|| {
            matching
                .get(limit.saturating_sub(1))
                .map(|r| r.id().to_owned())
        })
        .flatten();
    (matching.into_iter().take(limit).collect(), next)
}

/// Adds `NextToken` to a List response when there is one.
pub(crate) fn with_next_token(mut out: Value, next: Option<String>) -> Value {
    if let (Some(token), Some(map)) = (next, out.as_object_mut()) {
        map.insert("NextToken".to_owned(), Value::from(token));
    }
    out
}

pub fn is_in_progress(description: &Value, status_member: &str) -> bool {
    description.get(status_member).and_then(Value::as_str) == Some("IN_PROGRESS")
}

pub(crate) fn records_dir(root: &Path, kind: &str) -> PathBuf {
    root.join(kind)
}

/// Every record of `kind` (`exports` or `imports`) under `root`, in id order.
pub(crate) fn load_all<T: for<'de> Deserialize<'de>>(
    io: &dyn Io,
    root: &Path,
    kind: &str,
    file: &str,
) -> Result<Vec<T>> {
    let dir = records_dir(root, kind);
    if !io.exists(&dir)? {
        return Ok(Vec::new());
    }
    let mut names: Vec<String> = io
        .read_dir(&dir)?
        .into_iter()
        .filter_map(|n| n.to_str().map(str::to_owned))
        .filter(|n| !n.starts_with('.'))
        .collect();
    names.sort();
    let mut out = Vec::new();
    for name in names {
        // A directory whose record never became durable was never answered: skip it.
        if let Some(record) = state_file::load(io, &dir.join(&name), file)? {
            out.push(record);
        }
    }
    Ok(out)
}

/// Publishes a record durably (its directory made durable first).
pub(crate) fn save<T: Serialize>(
    io: &dyn Io,
    root: &Path,
    kind: &str,
    id: &str,
    file: &str,
    record: &T,
) -> Result<()> {
    let parent = records_dir(root, kind);
    let dir = parent.join(id);
    if !io.exists(&dir)? {
        io.create_dir_all(&dir)?;
        io.sync_dir(&parent)?;
        if let Some(up) = parent.parent() {
            io.sync_dir(up)?;
        }
    }
    state_file::publish(io, &dir, file, record)
}

/// A new record id: `<14-digit ms>-<8 hex>`, as backups have.
pub(crate) fn new_id(now_ms: u64, salt: &str) -> String {
    let hash = xxhash_rust::xxh3::xxh3_64(
        format!("{salt}{now_ms}{:?}", std::time::Instant::now()).as_bytes(),
    );
    format!("{now_ms:014}-{:08x}", hash & 0xffff_ffff)
}
