//! `manifest.json`: the commit point of a backup. Pretty JSON in a fixed field order, ending
//! with its own checksum line (`formats/backup/SPEC.md`, "Manifest").

use std::path::{Path, PathBuf};

use ddb_io::Io;
use ddb_model::{Fingerprint, KeySchemaElement};
use serde::{Deserialize, Serialize};
use xxhash_rust::xxh3::xxh3_128;

use crate::columns::AttributeColumn;
use crate::error::{BackupError, Location, Result};
use crate::{DATA_DIR, FORMAT_VERSION, MANIFEST_FILE, hex};

/// Who and what a backup is (DynamoDB's BackupDetails, in snake_case).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct BackupIdentity {
    pub backup_arn: String,
    pub backup_name: String,
    /// `USER` or `SYSTEM`.
    pub backup_type: String,
    pub table_name: String,
    pub table_arn: String,
    /// 32 lowercase hex digits.
    pub table_id: String,
    /// BackupCreationDateTime: wall time of the request, ms since the epoch.
    pub request_time_ms: u64,
}

/// The exact cut: every mutation with an LSN ≤ `lsn`, nothing later.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Marker {
    pub lsn: u64,
    pub time_ms: u64,
}

/// One row group of an artifact.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct RowGroupEntry {
    pub index: usize,
    pub rows: u64,
    /// `[start, end)`: the bytes of the row group's column chunks.
    pub start: u64,
    pub end: u64,
    /// xxh3-128 of the bytes `[start, end)`.
    #[serde(with = "hex::u128_hex")]
    pub xxh3_128: u128,
    #[serde(with = "hex::bytes")]
    pub first_key: Vec<u8>,
    #[serde(with = "hex::bytes")]
    pub last_key: Vec<u8>,
}

/// One Parquet artifact.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct ArtifactEntry {
    /// Relative to the backup directory: `data/part-<partition:05>-<file_index:05>.parquet`.
    pub path: String,
    pub partition: usize,
    pub file_index: usize,
    /// File size in bytes.
    pub size: u64,
    pub rows: u64,
    /// Sum of the `_item` lengths.
    pub item_bytes: u64,
    #[serde(with = "hex::bytes")]
    pub first_key: Vec<u8>,
    #[serde(with = "hex::bytes")]
    pub last_key: Vec<u8>,
    /// xxh3-128 of the whole file.
    #[serde(with = "hex::u128_hex")]
    pub xxh3_128: u128,
    /// xxh3-128 of the footer region: the Thrift footer, its 4-byte length and `PAR1`.
    #[serde(with = "hex::u128_hex")]
    pub footer_xxh3_128: u128,
    #[serde(with = "hex::fingerprint")]
    pub fingerprint: Fingerprint,
    pub row_groups: Vec<RowGroupEntry>,
}

/// The sums over all artifacts.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Totals {
    pub rows: u64,
    pub item_bytes: u64,
    pub artifact_bytes: u64,
    #[serde(with = "hex::fingerprint")]
    pub fingerprint: Fingerprint,
}

/// The manifest. Field order here is the order in the file.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct BackupManifest {
    pub format_version: u32,
    pub backup: BackupIdentity,
    pub expires_at_ms: Option<u64>,
    /// The table description at the marker, as the engine gave it.
    pub source_table: serde_json::Value,
    pub marker: Marker,
    /// The snapshot the backup was merged from; 0: none (an empty table at LSN 0).
    pub snapshot_lsn: u64,
    pub log_records_applied: u64,
    /// The table's key schema (the `_key` column encodes these attributes, HASH first).
    pub key_schema: Vec<KeySchemaElement>,
    pub attribute_columns: Vec<AttributeColumn>,
    pub artifacts: Vec<ArtifactEntry>,
    pub totals: Totals,
}

/// The checksum line's text up to the hex digits, and after them.
const CHECKSUM_PREFIX: &[u8] = b"  \"manifest_checksum\": \"xxh3-128:";
const CHECKSUM_SUFFIX: &[u8] = b"\"\n}\n";
const CHECKSUM_TAIL_BYTES: usize = CHECKSUM_PREFIX.len() + 32 + CHECKSUM_SUFFIX.len();

impl BackupManifest {
    /// The file's bytes: the pretty JSON of the fields, then the checksum line, which hashes
    /// every byte before it.
    pub fn encode(&self) -> Result<Vec<u8>> {
        let pretty = serde_json::to_string_pretty(self)
            .map_err(|e| BackupError::InvalidRequest(format!("manifest JSON: {e}")))?;
        let open = pretty.strip_suffix("\n}").ok_or_else(|| {
            BackupError::InvalidRequest("manifest JSON does not end with \"\\n}\"".to_owned())
        })?;
        let mut out = Vec::with_capacity(pretty.len() + CHECKSUM_TAIL_BYTES + 2);
        out.extend_from_slice(open.as_bytes());
        out.extend_from_slice(b",\n");
        let checksum = xxh3_128(&out);
        out.extend_from_slice(CHECKSUM_PREFIX);
        out.extend_from_slice(hex::encode_u128(checksum).as_bytes());
        out.extend_from_slice(CHECKSUM_SUFFIX);
        Ok(out)
    }

    /// Decodes and checks manifest bytes (`path` names the file in errors): checksum, version,
    /// every field and every rule of the spec.
    pub fn decode(path: &Path, bytes: &[u8]) -> Result<BackupManifest> {
        let corrupt = |offset: usize, expected: &str, found: String| {
            BackupError::corrupt(path, Location::offset(offset as u64), expected, found)
        };
        let Some(tail_at) = bytes.len().checked_sub(CHECKSUM_TAIL_BYTES) else {
            return Err(corrupt(
                bytes.len(),
                "a manifest ending with its checksum line",
                format!("{} bytes", bytes.len()),
            ));
        };
        let (body, tail) = bytes.split_at(tail_at);
        let hex_at = tail_at + CHECKSUM_PREFIX.len();
        let (prefix, rest) = tail.split_at(CHECKSUM_PREFIX.len());
        let (digits, suffix) = rest.split_at(32);
        if prefix != CHECKSUM_PREFIX || suffix != CHECKSUM_SUFFIX {
            return Err(corrupt(
                tail_at,
                "the last line `  \"manifest_checksum\": \"xxh3-128:<32 hex>\"` then `}`",
                format!("{:?}", String::from_utf8_lossy(tail)),
            ));
        }
        let digits = std::str::from_utf8(digits).unwrap_or_default();
        let recorded =
            hex::decode_u128(digits).map_err(|e| corrupt(hex_at, &e, format!("{digits:?}")))?;
        let actual = xxh3_128(body);
        if recorded != actual {
            return Err(corrupt(
                hex_at,
                &format!("manifest checksum {}", hex::encode_u128(actual)),
                hex::encode_u128(recorded),
            ));
        }
        let Some(open) = body.strip_suffix(b",\n") else {
            return Err(corrupt(
                tail_at.saturating_sub(2),
                "\",\\n\" before the checksum line",
                format!(
                    "{:?}",
                    String::from_utf8_lossy(
                        body.get(body.len().saturating_sub(2)..).unwrap_or_default()
                    )
                ),
            ));
        };
        let mut json = open.to_vec();
        json.extend_from_slice(b"\n}");
        // The version first, so that a newer manifest is refused as such, not as malformed.
        #[derive(Deserialize)]
        struct Version {
            format_version: u64,
        }
        let version: Version = serde_json::from_slice(&json).map_err(|e| {
            corrupt(
                json_offset(&json, &e),
                "manifest JSON with a format_version",
                e.to_string(),
            )
        })?;
        if version.format_version != u64::from(FORMAT_VERSION) {
            return Err(BackupError::UnsupportedVersion {
                file: path.to_path_buf(),
                found: version.format_version,
                supported: FORMAT_VERSION,
            });
        }
        let manifest: BackupManifest = serde_json::from_slice(&json).map_err(|e| {
            corrupt(
                json_offset(&json, &e),
                "the manifest fields of format version 1",
                e.to_string(),
            )
        })?;
        manifest
            .check()
            .map_err(|(expected, found)| corrupt(0, &expected, found))?;
        Ok(manifest)
    }

    /// Reads and checks `dir/manifest.json`.
    pub fn load(io: &dyn Io, dir: &Path) -> Result<BackupManifest> {
        let path = dir.join(MANIFEST_FILE);
        if !io.exists(&path)? {
            return Err(BackupError::NotPublished {
                dir: dir.to_path_buf(),
            });
        }
        let bytes = read_all(io, &path)?;
        Self::decode(&path, &bytes)
    }

    /// Rows of all artifacts.
    pub fn total_rows(&self) -> u64 {
        self.totals.rows
    }

    /// Bytes of all artifact files (DynamoDB's BackupSizeBytes).
    pub fn total_bytes(&self) -> u64 {
        self.totals.artifact_bytes
    }

    /// The path of artifact `index`'s file under `dir`.
    pub fn artifact_path(&self, dir: &Path, index: usize) -> Option<PathBuf> {
        self.artifacts.get(index).map(|a| dir.join(&a.path))
    }

    /// Every rule of the spec's "Manifest rules"; `(expected, found)` of the first broken one.
    fn check(&self) -> std::result::Result<(), (String, String)> {
        let id = &self.backup.table_id;
        if id.len() != 32 || hex::decode(id).is_err() {
            return Err((
                "backup.table_id of 32 lowercase hex digits".into(),
                id.clone(),
            ));
        }
        if self.snapshot_lsn > self.marker.lsn {
            return Err((
                format!("snapshot_lsn <= marker.lsn {}", self.marker.lsn),
                self.snapshot_lsn.to_string(),
            ));
        }
        for (i, column) in self.attribute_columns.iter().enumerate() {
            let wanted = crate::columns::column_of_attribute(&column.attribute);
            if column.column != wanted || column.attribute.is_empty() {
                return Err((
                    format!("attribute_columns[{i}].column {wanted:?}"),
                    format!("{:?}", column.column),
                ));
            }
            if self
                .attribute_columns
                .iter()
                .take(i)
                .any(|c| c.attribute == column.attribute)
            {
                return Err((
                    format!("attribute_columns[{i}] named once"),
                    column.attribute.clone(),
                ));
            }
        }
        if self.key_schema.is_empty() || self.key_schema.len() > 2 {
            return Err((
                "a key_schema of 1 or 2 elements".into(),
                self.key_schema.len().to_string(),
            ));
        }
        for element in &self.key_schema {
            if !self
                .attribute_columns
                .iter()
                .any(|c| c.attribute == element.attribute_name)
            {
                return Err((
                    format!(
                        "key attribute {:?} among attribute_columns",
                        element.attribute_name
                    ),
                    "none".into(),
                ));
            }
        }
        let mut rows = 0u64;
        let mut item_bytes = 0u64;
        let mut artifact_bytes = 0u64;
        let mut fingerprint = Fingerprint::default();
        let mut previous: Option<&ArtifactEntry> = None;
        for (i, a) in self.artifacts.iter().enumerate() {
            let at = |what: &str| format!("artifacts[{i}] ({}): {what}", a.path);
            let wanted = artifact_path(a.partition, a.file_index);
            if a.path != wanted {
                return Err((at(&format!("path {wanted:?}")), format!("{:?}", a.path)));
            }
            if let Some(p) = previous
                && (a.partition, a.file_index) <= (p.partition, p.file_index)
            {
                return Err((
                    at("(partition, file_index) above the previous artifact's"),
                    format!("({}, {})", a.partition, a.file_index),
                ));
            }
            if let Some(p) = previous
                && a.first_key <= p.last_key
            {
                return Err((
                    at(&format!(
                        "first_key above the previous artifact's last_key {}",
                        hex::encode(&p.last_key)
                    )),
                    hex::encode(&a.first_key),
                ));
            }
            if a.rows == 0 || a.row_groups.is_empty() {
                return Err((
                    at("at least one row and one row group"),
                    format!("{} rows, {} row groups", a.rows, a.row_groups.len()),
                ));
            }
            if a.fingerprint.items != a.rows || a.fingerprint.item_bytes != a.item_bytes {
                return Err((
                    at(&format!(
                        "a fingerprint of {} items and {} item bytes",
                        a.rows, a.item_bytes
                    )),
                    format!(
                        "{} items and {} item bytes",
                        a.fingerprint.items, a.fingerprint.item_bytes
                    ),
                ));
            }
            let mut rg_rows = 0u64;
            let mut rg_end = 4u64;
            let mut rg_last: Option<&[u8]> = None;
            for (j, rg) in a.row_groups.iter().enumerate() {
                let rg_at = |what: &str| at(&format!("row_groups[{j}]: {what}"));
                if rg.index != j {
                    return Err((rg_at(&format!("index {j}")), rg.index.to_string()));
                }
                if rg.rows == 0 || rg.first_key > rg.last_key {
                    return Err((
                        rg_at("rows >= 1 and first_key <= last_key"),
                        format!("{} rows", rg.rows),
                    ));
                }
                if rg_last.is_some_and(|last| rg.first_key.as_slice() <= last) {
                    return Err((
                        rg_at("first_key above the previous row group's last_key"),
                        hex::encode(&rg.first_key),
                    ));
                }
                if rg.start < rg_end || rg.end <= rg.start || rg.end > a.size {
                    return Err((
                        rg_at(&format!(
                            "a byte range starting at or after {rg_end}, non-empty, within the file's {} bytes",
                            a.size
                        )),
                        format!("[{}, {})", rg.start, rg.end),
                    ));
                }
                rg_rows = rg_rows.saturating_add(rg.rows);
                rg_end = rg.end;
                rg_last = Some(&rg.last_key);
            }
            let (Some(first), Some(last)) = (a.row_groups.first(), a.row_groups.last()) else {
                return Err((at("row groups"), "none".into()));
            };
            if first.first_key != a.first_key || last.last_key != a.last_key {
                return Err((
                    at("first_key and last_key of its first and last row groups"),
                    format!(
                        "{} .. {}",
                        hex::encode(&a.first_key),
                        hex::encode(&a.last_key)
                    ),
                ));
            }
            if rg_rows != a.rows {
                return Err((
                    at(&format!("rows = the row groups' sum {rg_rows}")),
                    a.rows.to_string(),
                ));
            }
            rows = rows.saturating_add(a.rows);
            item_bytes = item_bytes.saturating_add(a.item_bytes);
            artifact_bytes = artifact_bytes.saturating_add(a.size);
            fingerprint.combine(&a.fingerprint);
            previous = Some(a);
        }
        let t = &self.totals;
        if t.rows != rows || t.item_bytes != item_bytes || t.artifact_bytes != artifact_bytes {
            return Err((
                format!(
                    "totals rows {rows}, item_bytes {item_bytes}, artifact_bytes {artifact_bytes} (the sums over artifacts)"
                ),
                format!(
                    "rows {}, item_bytes {}, artifact_bytes {}",
                    t.rows, t.item_bytes, t.artifact_bytes
                ),
            ));
        }
        if t.fingerprint != fingerprint {
            return Err((
                format!(
                    "totals.fingerprint {} (the artifacts' combined)",
                    hex::encode_u128(fingerprint.hash)
                ),
                format!(
                    "{} items, {} item bytes, {}",
                    t.fingerprint.items,
                    t.fingerprint.item_bytes,
                    hex::encode_u128(t.fingerprint.hash)
                ),
            ));
        }
        Ok(())
    }
}

/// `data/part-<partition:05>-<file:05>.parquet`.
pub fn artifact_path(partition: usize, file_index: usize) -> String {
    format!("{DATA_DIR}/part-{partition:05}-{file_index:05}.parquet")
}

/// The byte offset of a serde_json error (it reports line and column, 1-based).
fn json_offset(json: &[u8], e: &serde_json::Error) -> usize {
    let mut line = 1usize;
    let mut offset = 0usize;
    for (i, b) in json.iter().enumerate() {
        if line == e.line() {
            offset = i;
            break;
        }
        if *b == b'\n' {
            line += 1;
            offset = i + 1;
        }
    }
    (offset + e.column().saturating_sub(1)).min(json.len())
}

/// A whole file through `Io`.
pub(crate) fn read_all(io: &dyn Io, path: &Path) -> Result<Vec<u8>> {
    let file = io.open(path, ddb_io::OpenOptions::read_only())?;
    let len = usize::try_from(file.len()?).map_err(|_| {
        BackupError::corrupt(
            path,
            Location::default(),
            "a file that fits in memory",
            "a larger one",
        )
    })?;
    let mut bytes = vec![0u8; len];
    file.read_exact_at(&mut bytes, 0)?;
    Ok(bytes)
}
