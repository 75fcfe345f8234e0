//! Verification in three tiers (`formats/backup/SPEC.md`, "Verification"), collecting every
//! problem it can rather than stopping at the first, and the same checks for a lone artifact.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use bytes::Bytes;
use ddb_io::{Io, IoFile, OpenOptions, ReadAhead};
use ddb_model::{
    AttributeValue, Fingerprint, KeyAttribute, KeyDef, KeyType, TableSchema, parse_item,
};
use parquet::arrow::arrow_reader::{ArrowReaderMetadata, ArrowReaderOptions};
use parquet::file::metadata::ParquetMetaData;
use xxhash_rust::xxh3::{Xxh3, xxh3_128};

use crate::columns::{AttributeColumn, TypedValue, attribute_of_column};
use crate::error::{BackupError, Location, Result};
use crate::hex;
use crate::io_adapt::RangeChunk;
use crate::manifest::{ArtifactEntry, BackupManifest};
use crate::reader::{
    BackupReader, DecodedRow, PARQUET_MAGIC, check_footer, chunk_range, decode_row_group,
    expected_key_value, footer_region, parse_footer,
};
use crate::{MANIFEST_FILE, is_published};

/// How much to check.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord)]
pub enum VerifyLevel {
    /// Manifest, file sizes, magics, footers, schema, row-group layout, kv metadata.
    Structure,
    /// + the xxh3-128 of every whole artifact and of every row group's byte range.
    #[default]
    Bytes,
    /// + every row decoded and checked against its item, key order, counts and fingerprints.
    Deep,
}

impl VerifyLevel {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Structure => "structure",
            Self::Bytes => "bytes",
            Self::Deep => "deep",
        }
    }
}

/// One finding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub file: PathBuf,
    pub row_group: Option<usize>,
    /// Row index within the row group.
    pub row: Option<u64>,
    pub offset: Option<u64>,
    pub expected: String,
    pub found: String,
}

impl Problem {
    fn new(
        file: &Path,
        location: Location,
        expected: impl Into<String>,
        found: impl Into<String>,
    ) -> Self {
        Self {
            file: file.to_path_buf(),
            row_group: location.row_group,
            row: location.row,
            offset: location.offset,
            expected: expected.into(),
            found: found.into(),
        }
    }

    /// From a decode error, if it is one (else the error is not about the bytes).
    fn from_error(file: &Path, e: BackupError) -> std::result::Result<Self, BackupError> {
        match e {
            BackupError::Corrupt {
                file,
                location,
                expected,
                found,
            } => Ok(Self::new(&file, location, expected, found)),
            BackupError::UnsupportedVersion {
                file,
                found,
                supported,
            } => Ok(Self::new(
                &file,
                Location::default(),
                format!("format_version {supported}"),
                found.to_string(),
            )),
            BackupError::Io(io) if io.kind() == std::io::ErrorKind::UnexpectedEof => Ok(Self::new(
                file,
                Location::default(),
                "readable bytes",
                io.to_string(),
            )),
            other => Err(other),
        }
    }

    pub fn location(&self) -> Location {
        Location {
            row_group: self.row_group,
            row: self.row,
            offset: self.offset,
        }
    }
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}: {}: expected {}, found {}",
            self.file.display(),
            self.location(),
            self.expected,
            self.found
        )
    }
}

/// What verification checked and found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyReport {
    pub level: VerifyLevel,
    pub artifacts: usize,
    pub row_groups: usize,
    pub rows_checked: u64,
    pub problems: Vec<Problem>,
}

impl VerifyReport {
    pub fn is_sound(&self) -> bool {
        self.problems.is_empty()
    }
}

/// Verifies the backup published in `dir` at `level`. Damage is reported in the report; an
/// error means verification itself could not run (no manifest, an I/O error).
pub fn verify(io: Arc<dyn Io>, dir: &Path, level: VerifyLevel) -> Result<VerifyReport> {
    let mut report = VerifyReport {
        level,
        artifacts: 0,
        row_groups: 0,
        rows_checked: 0,
        problems: Vec::new(),
    };
    if !is_published(&*io, dir)? {
        return Err(BackupError::NotPublished {
            dir: dir.to_path_buf(),
        });
    }
    let manifest_path = dir.join(MANIFEST_FILE);
    let manifest = match BackupManifest::load(&*io, dir) {
        Ok(m) => m,
        Err(e) => {
            report
                .problems
                .push(Problem::from_error(&manifest_path, e)?);
            return Ok(report);
        }
    };
    report.artifacts = manifest.artifacts.len();
    report.row_groups = manifest.artifacts.iter().map(|a| a.row_groups.len()).sum();
    let mut usable = Vec::with_capacity(manifest.artifacts.len());
    for entry in &manifest.artifacts {
        let path = dir.join(&entry.path);
        let before = report.problems.len();
        let file = check_structure(&*io, &manifest, entry, &path, &mut report.problems)?;
        if level >= VerifyLevel::Bytes
            && let Some(file) = &file
        {
            check_bytes(&*io, entry, &path, file, &mut report.problems)?;
        }
        usable.push(file.is_some() && report.problems.len() == before);
    }
    if level == VerifyLevel::Deep {
        check_deep(io, dir, manifest, &usable, &mut report)?;
    }
    Ok(report)
}

/// Size, magics, footer hash, footer, schema, row groups, kv metadata. Returns the open file if
/// its size is right (so the byte checks can run).
fn check_structure(
    io: &dyn Io,
    manifest: &BackupManifest,
    entry: &ArtifactEntry,
    path: &Path,
    problems: &mut Vec<Problem>,
) -> Result<Option<Arc<dyn IoFile>>> {
    if !io.exists(path)? {
        problems.push(Problem::new(
            path,
            Location::default(),
            "the artifact the manifest names",
            "no such file",
        ));
        return Ok(None);
    }
    let file = io
        .open(path, OpenOptions::read_only())
        .map_err(|e| ddb_io::error_at("open", path, e))?;
    let len = file.len()?;
    if len != entry.size {
        problems.push(Problem::new(
            path,
            Location::offset(len.min(entry.size)),
            format!("a file of {} bytes", entry.size),
            format!("{len} bytes"),
        ));
        return Ok(None);
    }
    let mut magic = [0u8; 4];
    file.read_exact_at(&mut magic, 0)?;
    if magic != *PARQUET_MAGIC {
        problems.push(Problem::new(
            path,
            Location::offset(0),
            "leading magic PAR1",
            format!("{magic:02x?}"),
        ));
    }
    let (start, region) = match footer_region(&*file, len) {
        Ok(found) => found,
        Err((offset, expected)) => {
            problems.push(Problem::new(
                path,
                Location::offset(offset),
                expected,
                "other bytes",
            ));
            return Ok(Some(file));
        }
    };
    let hash = xxh3_128(&region);
    if hash != entry.footer_xxh3_128 {
        problems.push(Problem::new(
            path,
            Location::offset(start),
            format!(
                "footer xxh3-128 {}",
                hex::encode_u128(entry.footer_xxh3_128)
            ),
            hex::encode_u128(hash),
        ));
        // The footer is not the one written: parse nothing from it.
        return Ok(Some(file));
    }
    match parse_footer(&region) {
        Ok(metadata) => {
            let kv = expected_key_value(manifest, entry);
            for (location, expected, found) in
                check_footer(&metadata, &manifest.attribute_columns, &kv, Some(entry))
            {
                problems.push(Problem::new(path, location, expected, found));
            }
        }
        Err(expected) => problems.push(Problem::new(
            path,
            Location::offset(start),
            expected,
            "other bytes",
        )),
    }
    Ok(Some(file))
}

/// The whole file's and every row group's xxh3-128, in one sequential pass.
fn check_bytes(
    io: &dyn Io,
    entry: &ArtifactEntry,
    path: &Path,
    file: &Arc<dyn IoFile>,
    problems: &mut Vec<Problem>,
) -> Result<()> {
    let mut reader = io
        .read_sequential(Arc::clone(file), 0..entry.size, ReadAhead::default())
        .map_err(|e| ddb_io::error_at("read", path, e))?;
    let mut whole = Xxh3::new();
    let mut groups: Vec<Xxh3> = entry.row_groups.iter().map(|_| Xxh3::new()).collect();
    while let Some((offset, chunk)) = reader
        .next_chunk()
        .map_err(|e| ddb_io::error_at("read", path, e))?
    {
        whole.update(chunk);
        let chunk_end = offset + chunk.len() as u64;
        for (rg, hasher) in entry.row_groups.iter().zip(&mut groups) {
            let from = rg.start.max(offset);
            let to = rg.end.min(chunk_end);
            if from < to {
                let range = usize::try_from(from - offset).unwrap_or(0)
                    ..usize::try_from(to - offset).unwrap_or(0);
                hasher.update(chunk.get(range).unwrap_or_default());
            }
        }
    }
    // The row groups first: they say where the damage is.
    for (rg, hasher) in entry.row_groups.iter().zip(groups) {
        let hash = hasher.digest128();
        if hash != rg.xxh3_128 {
            problems.push(Problem::new(
                path,
                Location {
                    row_group: Some(rg.index),
                    row: None,
                    offset: Some(rg.start),
                },
                format!("row group xxh3-128 {}", hex::encode_u128(rg.xxh3_128)),
                hex::encode_u128(hash),
            ));
        }
    }
    let hash = whole.digest128();
    if hash != entry.xxh3_128 {
        problems.push(Problem::new(
            path,
            Location::default(),
            format!("file xxh3-128 {}", hex::encode_u128(entry.xxh3_128)),
            hex::encode_u128(hash),
        ));
    }
    Ok(())
}

/// The table schema the `_key` column was encoded under.
fn manifest_schema(manifest: &BackupManifest) -> Option<TableSchema> {
    let attribute = |name: &str| {
        manifest
            .attribute_columns
            .iter()
            .find(|c| c.attribute == name)
            .map(|c| KeyAttribute::new(name, c.attribute_type))
    };
    let hash = manifest
        .key_schema
        .iter()
        .find(|k| k.key_type == KeyType::Hash)?;
    let range = manifest
        .key_schema
        .iter()
        .find(|k| k.key_type == KeyType::Range);
    Some(TableSchema::new(KeyDef {
        partition: attribute(&hash.attribute_name)?,
        sort: match range {
            Some(r) => Some(attribute(&r.attribute_name)?),
            None => None,
        },
    }))
}

/// The typed value an item holds for a column (the spec's "Typed columns").
pub(crate) fn typed_of_item(item: &ddb_model::Item, column: &AttributeColumn) -> TypedValue {
    use ddb_model::ScalarAttributeType as T;
    match (item.get(&column.attribute)?, column.attribute_type) {
        (AttributeValue::S(s), T::S) => Some(s.as_bytes().to_vec()),
        (AttributeValue::N(n), T::N) => Some(n.to_string().into_bytes()),
        (AttributeValue::B(b), T::B) => Some(b.clone()),
        _ => None,
    }
}

/// Checks one decoded row against itself: canonical item, key, typed columns. Returns the
/// problems as `(expected, found)`.
pub(crate) fn check_row(
    row: &DecodedRow,
    schema: Option<&TableSchema>,
    columns: &[AttributeColumn],
) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let Ok(text) = std::str::from_utf8(&row.item) else {
        out.push(("_item as UTF-8 text".to_owned(), "invalid UTF-8".to_owned()));
        return out;
    };
    let item = match parse_item(text) {
        Ok(item) => item,
        Err(e) => {
            out.push((
                "_item as DynamoDB JSON".to_owned(),
                format!("{}: {}", e.name(), e.message()),
            ));
            return out;
        }
    };
    let canonical = item.to_canonical_json();
    if canonical.as_bytes() != row.item.as_slice() {
        out.push((
            "_item in canonical form".to_owned(),
            "another encoding of the item".to_owned(),
        ));
    }
    if let Some(schema) = schema {
        match schema.table_key(&item) {
            Ok(key) if key == row.key => {}
            Ok(key) => out.push((
                format!("_key {} (encoded from the item)", hex::encode(&key)),
                hex::encode(&row.key),
            )),
            Err(e) => out.push((
                "an item holding the table key".to_owned(),
                e.message().to_owned(),
            )),
        }
    }
    for (column, found) in columns.iter().zip(&row.typed) {
        let wanted = typed_of_item(&item, column);
        if wanted != *found {
            let show = |v: &TypedValue| {
                v.as_ref().map_or_else(
                    || "null".to_owned(),
                    |v| format!("{:?}", String::from_utf8_lossy(v)),
                )
            };
            out.push((
                format!("{} = {} (from the item)", column.column, show(&wanted)),
                show(found),
            ));
        }
    }
    out
}

fn check_deep(
    io: Arc<dyn Io>,
    dir: &Path,
    manifest: BackupManifest,
    usable: &[bool],
    report: &mut VerifyReport,
) -> Result<()> {
    let schema = manifest_schema(&manifest);
    let columns = manifest.attribute_columns.clone();
    let artifacts = manifest.artifacts.clone();
    let totals = manifest.totals.fingerprint;
    let reader = BackupReader::from_manifest(io, dir, manifest);
    let mut all_read = true;
    let mut total = Fingerprint::default();
    let mut previous: Option<Vec<u8>> = None;
    for (index, entry) in artifacts.iter().enumerate() {
        let path = dir.join(&entry.path);
        if !usable.get(index).copied().unwrap_or(false) {
            all_read = false;
            previous = Some(entry.last_key.clone());
            continue;
        }
        let mut fingerprint = Fingerprint::default();
        let mut complete = true;
        for rg in &entry.row_groups {
            let rows = match reader.read_decoded(index, rg.index) {
                Ok(rows) => rows,
                Err(e) => {
                    report.problems.push(Problem::from_error(&path, e)?);
                    complete = false;
                    continue;
                }
            };
            for (i, row) in rows.iter().enumerate() {
                let location = Location::row(rg.index, i as u64);
                if previous.as_ref().is_some_and(|p| *p >= row.key) {
                    report.problems.push(Problem::new(
                        &path,
                        location,
                        format!(
                            "a key above the previous key {}",
                            hex::encode(previous.as_deref().unwrap_or_default())
                        ),
                        hex::encode(&row.key),
                    ));
                }
                previous = Some(row.key.clone());
                for (expected, found) in check_row(row, schema.as_ref(), &columns) {
                    report
                        .problems
                        .push(Problem::new(&path, location, expected, found));
                }
                fingerprint.add(&row.key, &row.item);
                report.rows_checked += 1;
            }
            let first = rows.first().map(|r| r.key.as_slice());
            let last = rows.last().map(|r| r.key.as_slice());
            if first != Some(rg.first_key.as_slice()) || last != Some(rg.last_key.as_slice()) {
                report.problems.push(Problem::new(
                    &path,
                    Location::row_group(rg.index),
                    format!(
                        "keys {} .. {} (the manifest's)",
                        hex::encode(&rg.first_key),
                        hex::encode(&rg.last_key)
                    ),
                    format!(
                        "{} .. {}",
                        hex::encode(first.unwrap_or_default()),
                        hex::encode(last.unwrap_or_default())
                    ),
                ));
            }
        }
        if complete && fingerprint != entry.fingerprint {
            report.problems.push(Problem::new(
                &path,
                Location::default(),
                format!(
                    "rows with fingerprint {} items, {} item bytes, {} (the manifest's)",
                    entry.fingerprint.items,
                    entry.fingerprint.item_bytes,
                    hex::encode_u128(entry.fingerprint.hash)
                ),
                format!(
                    "{} items, {} item bytes, {}",
                    fingerprint.items,
                    fingerprint.item_bytes,
                    hex::encode_u128(fingerprint.hash)
                ),
            ));
        }
        all_read &= complete;
        total.combine(&fingerprint);
    }
    if all_read && total != totals {
        report.problems.push(Problem::new(
            &dir.join(MANIFEST_FILE),
            Location::default(),
            format!(
                "totals.fingerprint {} (the manifest's)",
                hex::encode_u128(totals.hash)
            ),
            format!(
                "{} items, {} item bytes, {}",
                total.items,
                total.item_bytes,
                hex::encode_u128(total.hash)
            ),
        ));
    }
    Ok(())
}

/// A Parquet artifact on its own (no manifest): its footer, parsed (guarded).
#[derive(Debug)]
pub struct LoneArtifact {
    pub path: PathBuf,
    pub size: u64,
    pub metadata: Arc<ParquetMetaData>,
    /// The typed columns as the file's schema names them (type `S` stands for any UTF-8
    /// column: the file alone cannot tell S from N).
    pub columns: Vec<AttributeColumn>,
    file: Arc<dyn IoFile>,
}

/// Opens a lone artifact: magic, footer, schema shape (`_key` first, `_item` last).
pub fn inspect_artifact(io: &dyn Io, path: &Path) -> Result<LoneArtifact> {
    let file = io
        .open(path, OpenOptions::read_only())
        .map_err(|e| ddb_io::error_at("open", path, e))?;
    let size = file.len()?;
    let corrupt = |offset: u64, expected: String| {
        BackupError::corrupt(path, Location::offset(offset), expected, "other bytes")
    };
    let mut magic = [0u8; 4];
    file.read_exact_at(&mut magic, 0)
        .map_err(|_| corrupt(0, "leading magic PAR1".into()))?;
    if magic != *PARQUET_MAGIC {
        return Err(corrupt(0, "leading magic PAR1".into()));
    }
    let (start, region) =
        footer_region(&*file, size).map_err(|(offset, expected)| corrupt(offset, expected))?;
    let metadata = parse_footer(&region).map_err(|expected| corrupt(start, expected))?;
    let schema = metadata.file_metadata().schema_descr();
    let names: Vec<&str> = schema.columns().iter().map(|c| c.name()).collect();
    if names.first() != Some(&crate::KEY_COLUMN)
        || names.last() != Some(&crate::ITEM_COLUMN)
        || names.len() < 2
    {
        return Err(BackupError::corrupt(
            path,
            Location::default(),
            "columns _key, typed columns, _item",
            format!("{names:?}"),
        ));
    }
    let columns = schema
        .columns()
        .iter()
        .skip(1)
        .take(names.len() - 2)
        .map(|c| {
            let attribute = attribute_of_column(c.name()).unwrap_or(c.name());
            let t = if c.logical_type_ref().is_some() {
                ddb_model::ScalarAttributeType::S
            } else {
                ddb_model::ScalarAttributeType::B
            };
            AttributeColumn::new(attribute, t)
        })
        .collect();
    Ok(LoneArtifact {
        path: path.to_path_buf(),
        size,
        metadata: Arc::new(metadata),
        columns,
        file,
    })
}

impl LoneArtifact {
    /// The file's key-value metadata.
    pub fn key_value(&self) -> Vec<(String, String)> {
        self.metadata
            .file_metadata()
            .key_value_metadata()
            .map(|kvs| {
                kvs.iter()
                    .map(|kv| (kv.key.clone(), kv.value.clone().unwrap_or_default()))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// `(rows, start, end)` of each row group (`None` for impossible offsets).
    pub fn row_groups(&self) -> Vec<(u64, Option<(u64, u64)>)> {
        self.metadata
            .row_groups()
            .iter()
            .map(|rg| {
                let ranges: Option<Vec<(u64, u64)>> =
                    (0..rg.num_columns()).map(|c| chunk_range(rg, c)).collect();
                let span = ranges.and_then(|r| {
                    Some((r.iter().map(|x| x.0).min()?, r.iter().map(|x| x.1).max()?))
                });
                (u64::try_from(rg.num_rows()).unwrap_or(0), span)
            })
            .collect()
    }

    /// The rows of row group `index` (not checked against any hash: there is no manifest).
    pub fn read_row_group(&self, index: usize) -> Result<Vec<crate::BackupRow>> {
        Ok(self
            .decode(index)?
            .into_iter()
            .map(|r| crate::BackupRow {
                key: r.key,
                item: r.item,
            })
            .collect())
    }

    fn decode(&self, index: usize) -> Result<Vec<DecodedRow>> {
        let groups = self.row_groups();
        let Some((rows, Some((start, end)))) = groups.get(index).copied() else {
            return Err(BackupError::corrupt(
                &self.path,
                Location::row_group(index),
                "a row group with valid offsets",
                "none",
            ));
        };
        if end > self.size {
            return Err(BackupError::corrupt(
                &self.path,
                Location::row_group(index),
                format!("column chunks within the file's {} bytes", self.size),
                format!("an end at {end}"),
            ));
        }
        let len = usize::try_from(end - start).map_err(|_| {
            BackupError::corrupt(
                &self.path,
                Location::row_group(index),
                "a row group that fits in memory",
                "a larger one",
            )
        })?;
        let mut bytes = vec![0u8; len];
        self.file.read_exact_at(&mut bytes, start)?;
        let metadata =
            ArrowReaderMetadata::try_new(Arc::clone(&self.metadata), ArrowReaderOptions::new())
                .map_err(|e| {
                    BackupError::corrupt(
                        &self.path,
                        Location::default(),
                        "a footer arrow can read",
                        e.to_string(),
                    )
                })?;
        let chunk = RangeChunk {
            start,
            bytes: Bytes::from(bytes),
            file_len: self.size,
        };
        decode_row_group(&self.path, metadata, chunk, index, rows, self.columns.len())
    }
}

/// Verifies a lone artifact: structure (magic, footer, schema shape, kv metadata keys); at
/// `Bytes` and above also decodes every row group (there are no hashes to check without the
/// manifest); at `Deep` also checks every row (canonical item, key order, typed columns).
pub fn verify_artifact(io: &dyn Io, path: &Path, level: VerifyLevel) -> Result<VerifyReport> {
    let mut report = VerifyReport {
        level,
        artifacts: 1,
        row_groups: 0,
        rows_checked: 0,
        problems: Vec::new(),
    };
    let artifact = match inspect_artifact(io, path) {
        Ok(a) => a,
        Err(e) => {
            report.problems.push(Problem::from_error(path, e)?);
            return Ok(report);
        }
    };
    report.row_groups = artifact.metadata.num_row_groups();
    let kv = artifact.key_value();
    for key in [
        "ddb.format_version",
        "ddb.backup_arn",
        "ddb.table_name",
        "ddb.table_id",
        "ddb.marker_lsn",
        "ddb.marker_time_ms",
        "ddb.partition",
        "ddb.file_index",
    ] {
        if !kv.iter().any(|(k, _)| k == key) {
            report.problems.push(Problem::new(
                path,
                Location::default(),
                format!("key-value metadata {key}"),
                "none",
            ));
        }
    }
    if level == VerifyLevel::Structure {
        return Ok(report);
    }
    let mut previous: Option<Vec<u8>> = None;
    for index in 0..report.row_groups {
        let rows = match artifact.decode(index) {
            Ok(rows) => rows,
            Err(e) => {
                report.problems.push(Problem::from_error(path, e)?);
                continue;
            }
        };
        for (i, row) in rows.iter().enumerate() {
            report.rows_checked += 1;
            if level < VerifyLevel::Deep {
                continue;
            }
            let location = Location::row(index, i as u64);
            if previous.as_ref().is_some_and(|p| *p >= row.key) {
                report.problems.push(Problem::new(
                    path,
                    location,
                    "a key above the previous key",
                    hex::encode(&row.key),
                ));
            }
            previous = Some(row.key.clone());
            // Without the manifest the key schema and S-versus-N are unknown: a UTF-8 column
            // must equal the item's S or N value.
            let mut problems = check_row(row, None, &[]);
            if let Ok(item) = std::str::from_utf8(&row.item)
                .map_err(|_| ())
                .and_then(|t| parse_item(t).map_err(|_| ()))
            {
                for (column, found) in artifact.columns.iter().zip(&row.typed) {
                    let as_s = typed_of_item(&item, column);
                    let as_n = typed_of_item(
                        &item,
                        &AttributeColumn {
                            attribute_type: ddb_model::ScalarAttributeType::N,
                            ..column.clone()
                        },
                    );
                    if *found != as_s && *found != as_n {
                        problems.push((
                            format!("{} equal to the item's attribute", column.column),
                            "another value".to_owned(),
                        ));
                    }
                }
            }
            for (expected, found) in problems {
                report
                    .problems
                    .push(Problem::new(path, location, expected, found));
            }
        }
    }
    Ok(report)
}
