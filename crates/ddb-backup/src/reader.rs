//! Reading a published backup: the manifest, each artifact's footer (checked against the
//! manifest before it is parsed), and row groups (each checked against its xxh3-128 before it
//! is decoded), in key order.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};

use arrow_array::cast::AsArray;
use arrow_array::{Array, RecordBatch};
use arrow_schema::DataType;
use bytes::Bytes;
use ddb_io::{Io, IoFile, OpenOptions};
use parquet::arrow::arrow_reader::{
    ArrowReaderMetadata, ArrowReaderOptions, ParquetRecordBatchReaderBuilder,
};
use parquet::basic::{LogicalType, Repetition, Type as PhysicalType};
use parquet::file::metadata::{ParquetMetaData, ParquetMetaDataReader, RowGroupMetaData};
use xxhash_rust::xxh3::xxh3_128;

use crate::columns::{AttributeColumn, ITEM_COLUMN, KEY_COLUMN, TypedValue};
use crate::error::{BackupError, Location, Result};
use crate::hex;
use crate::io_adapt::RangeChunk;
use crate::manifest::{ArtifactEntry, BackupManifest};

/// `PAR1`, at both ends of a Parquet file.
pub const PARQUET_MAGIC: &[u8; 4] = b"PAR1";
/// The fixed tail: u32 footer length, then the magic.
pub const PARQUET_TAIL_BYTES: u64 = 8;

/// One row group of a backup, as the manifest describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowGroupRef {
    /// Index into the manifest's artifacts.
    pub artifact: usize,
    /// Index of the row group in its artifact.
    pub row_group: usize,
    pub rows: u64,
    pub first_key: Vec<u8>,
    pub last_key: Vec<u8>,
}

/// One row: the order-preserving key and the canonical item JSON.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackupRow {
    pub key: Vec<u8>,
    pub item: Vec<u8>,
}

/// A row with its typed column values, as deep verification sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DecodedRow {
    pub key: Vec<u8>,
    pub typed: Vec<TypedValue>,
    pub item: Vec<u8>,
}

/// The byte range `[start, end)` of column chunk `column` of a row group, from its metadata
/// (dictionary page first when there is one); `None` if the metadata holds impossible values.
pub(crate) fn chunk_range(row_group: &RowGroupMetaData, column: usize) -> Option<(u64, u64)> {
    let chunk = row_group.columns().get(column)?;
    let start = chunk
        .dictionary_page_offset()
        .unwrap_or(chunk.data_page_offset());
    let start = u64::try_from(start).ok()?;
    let len = u64::try_from(chunk.compressed_size()).ok()?;
    Some((start, start.checked_add(len)?))
}

/// The footer region of a file of `size` bytes: `(start, bytes)` covering the Thrift footer,
/// its length and the trailing magic. Errors: `(offset, what was expected)`.
pub(crate) fn footer_region(
    file: &dyn IoFile,
    size: u64,
) -> std::result::Result<(u64, Vec<u8>), (u64, String)> {
    if size < 12 {
        return Err((size, "a Parquet file of at least 12 bytes".to_owned()));
    }
    let mut tail = [0u8; 8];
    file.read_exact_at(&mut tail, size - PARQUET_TAIL_BYTES)
        .map_err(|e| {
            (
                size - PARQUET_TAIL_BYTES,
                format!("readable footer length: {e}"),
            )
        })?;
    let [l0, l1, l2, l3, m0, m1, m2, m3] = tail;
    if [m0, m1, m2, m3] != *PARQUET_MAGIC {
        return Err((
            size - 4,
            format!("trailing magic PAR1, found {:02x?}", [m0, m1, m2, m3]),
        ));
    }
    let footer_len = u64::from(u32::from_le_bytes([l0, l1, l2, l3]));
    let start = (size - PARQUET_TAIL_BYTES)
        .checked_sub(footer_len)
        .filter(|start| *start >= 4)
        .ok_or((
            size - PARQUET_TAIL_BYTES,
            format!(
                "a footer length of at most {} bytes, found {footer_len}",
                size - 12
            ),
        ))?;
    let len = usize::try_from(size - start)
        .map_err(|_| (start, "a footer that fits in memory".to_owned()))?;
    let mut bytes = vec![0u8; len];
    file.read_exact_at(&mut bytes, start)
        .map_err(|e| (start, format!("a readable footer: {e}")))?;
    Ok((start, bytes))
}

/// Parses Thrift footer bytes (the region of [`footer_region`] without its 8-byte tail).
/// Guarded: a decoder panic on hostile bytes becomes an error.
pub(crate) fn parse_footer(region: &[u8]) -> std::result::Result<ParquetMetaData, String> {
    let thrift = region
        .get(..region.len().saturating_sub(8))
        .unwrap_or_default();
    std::panic::catch_unwind(|| ParquetMetaDataReader::decode_metadata(thrift))
        .map_err(|_| "footer metadata the Parquet decoder accepts (it panicked)".to_owned())?
        .map_err(|e| format!("decodable Parquet footer metadata ({e})"))
}

/// Checks a parsed footer against the spec's schema and kv metadata, and (if given) the
/// manifest entry's row groups. Returns `(location, expected, found)` for each difference.
pub(crate) fn check_footer(
    metadata: &ParquetMetaData,
    columns: &[AttributeColumn],
    key_value: &[(String, String)],
    entry: Option<&ArtifactEntry>,
) -> Vec<(Location, String, String)> {
    let mut problems = Vec::new();
    let mut problem = |location: Location, expected: String, found: String| {
        problems.push((location, expected, found));
    };
    let schema = metadata.file_metadata().schema_descr();
    let wanted: Vec<(&str, Repetition, Option<LogicalType>)> =
        std::iter::once((KEY_COLUMN, Repetition::REQUIRED, None))
            .chain(columns.iter().map(|c| {
                let logical = match c.attribute_type {
                    ddb_model::ScalarAttributeType::B => None,
                    _ => Some(LogicalType::String),
                };
                (c.column.as_str(), Repetition::OPTIONAL, logical)
            }))
            .chain(std::iter::once((
                ITEM_COLUMN,
                Repetition::REQUIRED,
                Some(LogicalType::Json),
            )))
            .collect();
    let describe = |name: &str, repetition: Repetition, logical: Option<&LogicalType>| {
        format!("{name}: {repetition} BYTE_ARRAY {logical:?}")
    };
    let expected_schema: Vec<String> = wanted
        .iter()
        .map(|(n, r, l)| describe(n, *r, l.as_ref()))
        .collect();
    let found_schema: Vec<String> = schema
        .columns()
        .iter()
        .map(|c| {
            let repetition = c.self_type().get_basic_info().repetition();
            let mut text = describe(c.name(), repetition, c.logical_type_ref());
            if c.physical_type() != PhysicalType::BYTE_ARRAY {
                text = format!(
                    "{}: {repetition} {} {:?}",
                    c.name(),
                    c.physical_type(),
                    c.logical_type_ref()
                );
            }
            if c.path().parts().len() != 1 {
                text = format!("{text} (nested at {})", c.path());
            }
            text
        })
        .collect();
    if expected_schema != found_schema || schema.root_schema().get_fields().len() != wanted.len() {
        problem(
            Location::default(),
            format!("schema [{}]", expected_schema.join(", ")),
            format!("[{}]", found_schema.join(", ")),
        );
    }
    let found_kv: Vec<(String, String)> = metadata
        .file_metadata()
        .key_value_metadata()
        .map(|kvs| {
            kvs.iter()
                .map(|kv| (kv.key.clone(), kv.value.clone().unwrap_or_default()))
                .collect()
        })
        .unwrap_or_default();
    for (key, value) in key_value {
        let found = found_kv
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str());
        if found != Some(value.as_str()) {
            problem(
                Location::default(),
                format!("key-value metadata {key} = {value:?}"),
                found.map_or_else(|| "none".to_owned(), |v| format!("{v:?}")),
            );
        }
    }
    let Some(entry) = entry else {
        return problems;
    };
    if metadata.num_row_groups() != entry.row_groups.len() {
        problem(
            Location::default(),
            format!("{} row groups", entry.row_groups.len()),
            metadata.num_row_groups().to_string(),
        );
    }
    if metadata.file_metadata().num_rows() != i64::try_from(entry.rows).unwrap_or(-1) {
        problem(
            Location::default(),
            format!("{} rows in the footer", entry.rows),
            metadata.file_metadata().num_rows().to_string(),
        );
    }
    for (index, (rg, wanted)) in metadata
        .row_groups()
        .iter()
        .zip(&entry.row_groups)
        .enumerate()
    {
        if rg.num_rows() != i64::try_from(wanted.rows).unwrap_or(-1) {
            problem(
                Location::row_group(index),
                format!("{} rows", wanted.rows),
                rg.num_rows().to_string(),
            );
        }
        let ranges: Option<Vec<(u64, u64)>> =
            (0..rg.num_columns()).map(|c| chunk_range(rg, c)).collect();
        let span = ranges.and_then(|r| {
            let start = r.iter().map(|(s, _)| *s).min()?;
            let end = r.iter().map(|(_, e)| *e).max()?;
            Some((start, end))
        });
        if span != Some((wanted.start, wanted.end)) {
            problem(
                Location::row_group(index),
                format!("column chunks spanning [{}, {})", wanted.start, wanted.end),
                span.map_or_else(
                    || "impossible offsets".to_owned(),
                    |(s, e)| format!("[{s}, {e})"),
                ),
            );
        }
    }
    problems
}

/// The kv metadata every artifact of `manifest` must hold.
pub(crate) fn expected_key_value(
    manifest: &BackupManifest,
    entry: &ArtifactEntry,
) -> Vec<(String, String)> {
    let mut kv = common_key_value(manifest);
    kv.push(("ddb.partition".into(), entry.partition.to_string()));
    kv.push(("ddb.file_index".into(), entry.file_index.to_string()));
    kv
}

/// The kv metadata shared by all artifacts of a backup.
pub(crate) fn common_key_value(manifest: &BackupManifest) -> Vec<(String, String)> {
    vec![
        (
            "ddb.format_version".into(),
            manifest.format_version.to_string(),
        ),
        ("ddb.backup_arn".into(), manifest.backup.backup_arn.clone()),
        ("ddb.table_name".into(), manifest.backup.table_name.clone()),
        ("ddb.table_id".into(), manifest.backup.table_id.clone()),
        ("ddb.marker_lsn".into(), manifest.marker.lsn.to_string()),
        (
            "ddb.marker_time_ms".into(),
            manifest.marker.time_ms.to_string(),
        ),
    ]
}

/// A published backup, read row group by row group.
#[derive(Debug)]
pub struct BackupReader {
    io: Arc<dyn Io>,
    dir: PathBuf,
    manifest: BackupManifest,
    /// Each artifact's footer, parsed on first use.
    footers: Vec<Mutex<Option<ArrowReaderMetadata>>>,
}

impl BackupReader {
    /// Loads and checks the manifest of the backup in `dir`. Artifacts are opened when read.
    pub fn open(io: Arc<dyn Io>, dir: &Path) -> Result<BackupReader> {
        let manifest = BackupManifest::load(&*io, dir)?;
        let footers = manifest
            .artifacts
            .iter()
            .map(|_| Mutex::new(None))
            .collect();
        Ok(Self {
            io,
            dir: dir.to_path_buf(),
            manifest,
            footers,
        })
    }

    pub fn manifest(&self) -> &BackupManifest {
        &self.manifest
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Every row group, in key order.
    pub fn row_groups(&self) -> Vec<RowGroupRef> {
        self.manifest
            .artifacts
            .iter()
            .enumerate()
            .flat_map(|(artifact, entry)| {
                entry.row_groups.iter().map(move |rg| RowGroupRef {
                    artifact,
                    row_group: rg.index,
                    rows: rg.rows,
                    first_key: rg.first_key.clone(),
                    last_key: rg.last_key.clone(),
                })
            })
            .collect()
    }

    /// The rows of one row group, after checking its bytes against the manifest's xxh3-128.
    pub fn read_row_group(&self, rg: &RowGroupRef) -> Result<Vec<BackupRow>> {
        Ok(self
            .read_decoded(rg.artifact, rg.row_group)?
            .into_iter()
            .map(|row| BackupRow {
                key: row.key,
                item: row.item,
            })
            .collect())
    }

    /// All rows in key order, one row group in memory at a time.
    pub fn rows(&self) -> impl Iterator<Item = Result<BackupRow>> + '_ {
        let groups = self.row_groups();
        let mut failed = false;
        groups
            .into_iter()
            .map_while(move |rg| {
                if failed {
                    return None;
                }
                let rows = self.read_row_group(&rg);
                failed = rows.is_err();
                Some(rows)
            })
            .flat_map(|rows| -> Box<dyn Iterator<Item = Result<BackupRow>>> {
                match rows {
                    Ok(rows) => Box::new(rows.into_iter().map(Ok)),
                    Err(e) => Box::new(std::iter::once(Err(e))),
                }
            })
    }

    fn entry(&self, artifact: usize) -> Result<&ArtifactEntry> {
        self.manifest.artifacts.get(artifact).ok_or_else(|| {
            BackupError::InvalidRequest(format!(
                "artifact {artifact} of a backup of {} artifacts",
                self.manifest.artifacts.len()
            ))
        })
    }

    fn open_artifact(&self, artifact: usize) -> Result<(PathBuf, Arc<dyn IoFile>)> {
        let entry = self.entry(artifact)?;
        let path = self.dir.join(&entry.path);
        let file = self
            .io
            .open(&path, OpenOptions::read_only())
            .map_err(|e| ddb_io::error_at("open", &path, e))?;
        let len = file.len()?;
        if len != entry.size {
            return Err(BackupError::corrupt(
                &path,
                Location::offset(len.min(entry.size)),
                format!("a file of {} bytes (the manifest's size)", entry.size),
                format!("{len} bytes"),
            ));
        }
        Ok((path, file))
    }

    /// The artifact's footer: its bytes checked against the manifest, then parsed and checked
    /// against the schema, kv metadata and row groups.
    fn footer(
        &self,
        artifact: usize,
        path: &Path,
        file: &dyn IoFile,
    ) -> Result<ArrowReaderMetadata> {
        let slot = self
            .footers
            .get(artifact)
            .ok_or_else(|| BackupError::InvalidRequest(format!("artifact {artifact}")))?;
        if let Some(metadata) = slot.lock().unwrap_or_else(PoisonError::into_inner).as_ref() {
            return Ok(metadata.clone());
        }
        let entry = self.entry(artifact)?;
        let (start, region) = footer_region(file, entry.size).map_err(|(offset, expected)| {
            BackupError::corrupt(path, Location::offset(offset), expected, "other bytes")
        })?;
        let hash = xxh3_128(&region);
        if hash != entry.footer_xxh3_128 {
            return Err(BackupError::corrupt(
                path,
                Location::offset(start),
                format!(
                    "a footer with xxh3-128 {}",
                    hex::encode_u128(entry.footer_xxh3_128)
                ),
                hex::encode_u128(hash),
            ));
        }
        let metadata = parse_footer(&region).map_err(|expected| {
            BackupError::corrupt(path, Location::offset(start), expected, "other bytes")
        })?;
        let kv = expected_key_value(&self.manifest, entry);
        if let Some((location, expected, found)) = check_footer(
            &metadata,
            &self.manifest.attribute_columns,
            &kv,
            Some(entry),
        )
        .into_iter()
        .next()
        {
            return Err(BackupError::corrupt(path, location, expected, found));
        }
        let metadata = ArrowReaderMetadata::try_new(Arc::new(metadata), ArrowReaderOptions::new())
            .map_err(|e| {
                BackupError::corrupt(
                    path,
                    Location::offset(start),
                    "a footer arrow can read",
                    e.to_string(),
                )
            })?;
        *slot.lock().unwrap_or_else(PoisonError::into_inner) = Some(metadata.clone());
        Ok(metadata)
    }

    /// Reads, checks and decodes row group `row_group` of artifact `artifact`.
    pub(crate) fn read_decoded(
        &self,
        artifact: usize,
        row_group: usize,
    ) -> Result<Vec<DecodedRow>> {
        let entry = self.entry(artifact)?;
        let wanted = entry.row_groups.get(row_group).ok_or_else(|| {
            BackupError::InvalidRequest(format!("row group {row_group} of {}", entry.path))
        })?;
        let (path, file) = self.open_artifact(artifact)?;
        let metadata = self.footer(artifact, &path, &*file)?;
        let len = usize::try_from(wanted.end - wanted.start).map_err(|_| {
            BackupError::InvalidRequest(format!(
                "row group {row_group} of {} is too large",
                entry.path
            ))
        })?;
        let mut bytes = vec![0u8; len];
        file.read_exact_at(&mut bytes, wanted.start)
            .map_err(|e| ddb_io::error_at("read", &path, e))?;
        let hash = xxh3_128(&bytes);
        if hash != wanted.xxh3_128 {
            return Err(BackupError::corrupt(
                &path,
                Location {
                    row_group: Some(row_group),
                    row: None,
                    offset: Some(wanted.start),
                },
                format!(
                    "row group bytes with xxh3-128 {}",
                    hex::encode_u128(wanted.xxh3_128)
                ),
                hex::encode_u128(hash),
            ));
        }
        let chunk = RangeChunk {
            start: wanted.start,
            bytes: Bytes::from(bytes),
            file_len: entry.size,
        };
        decode_row_group(
            &path,
            metadata,
            chunk,
            row_group,
            wanted.rows,
            self.manifest.attribute_columns.len(),
        )
    }

    /// A reader over a manifest already loaded (by verify).
    pub(crate) fn from_manifest(io: Arc<dyn Io>, dir: &Path, manifest: BackupManifest) -> Self {
        let footers = manifest
            .artifacts
            .iter()
            .map(|_| Mutex::new(None))
            .collect();
        Self {
            io,
            dir: dir.to_path_buf(),
            manifest,
            footers,
        }
    }
}

/// Decodes row group `row_group` from `chunk` (which must hold its column chunks): `columns`
/// typed columns between `_key` and `_item`, `rows` rows expected.
pub(crate) fn decode_row_group(
    path: &Path,
    metadata: ArrowReaderMetadata,
    chunk: RangeChunk,
    row_group: usize,
    rows: u64,
    columns: usize,
) -> Result<Vec<DecodedRow>> {
    let corrupt = |what: String| {
        BackupError::corrupt(
            path,
            Location::row_group(row_group),
            "decodable row group pages",
            what,
        )
    };
    let batch_rows = usize::try_from(rows)
        .unwrap_or(usize::MAX)
        .clamp(1, 1 << 20);
    let decoded = std::panic::catch_unwind(std::panic::AssertUnwindSafe(
        || -> std::result::Result<Vec<RecordBatch>, String> {
            let reader = ParquetRecordBatchReaderBuilder::new_with_metadata(chunk, metadata)
                .with_row_groups(vec![row_group])
                .with_batch_size(batch_rows)
                .build()
                .map_err(|e| e.to_string())?;
            reader
                .map(|batch| batch.map_err(|e| e.to_string()))
                .collect()
        },
    ))
    .map_err(|_| corrupt("bytes that made the decoder panic".to_owned()))?
    .map_err(corrupt)?;
    let mut out = Vec::with_capacity(batch_rows);
    for batch in &decoded {
        let column = |i: usize| -> Result<Vec<Option<Vec<u8>>>> {
            let array = batch
                .columns()
                .get(i)
                .ok_or_else(|| corrupt(format!("no column {i}")))?;
            byte_values(array.as_ref()).map_err(corrupt)
        };
        let keys = column(0)?;
        let typed: Vec<Vec<Option<Vec<u8>>>> = (1..=columns).map(column).collect::<Result<_>>()?;
        let items = column(columns + 1)?;
        for (i, (key, item)) in keys.into_iter().zip(items).enumerate() {
            let (Some(key), Some(item)) = (key, item) else {
                return Err(corrupt(format!("a null _key or _item in row {i}")));
            };
            let typed = typed
                .iter()
                .map(|values| values.get(i).cloned().flatten())
                .collect();
            out.push(DecodedRow { key, typed, item });
        }
    }
    if out.len() as u64 != rows {
        return Err(BackupError::corrupt(
            path,
            Location::row_group(row_group),
            format!("{rows} rows"),
            format!("{} rows decoded", out.len()),
        ));
    }
    Ok(out)
}

/// The values of a byte-array column as the arrow reader returns it (binary or UTF-8, any
/// offset width).
fn byte_values(array: &dyn Array) -> std::result::Result<Vec<Option<Vec<u8>>>, String> {
    fn collect<'a>(values: impl Iterator<Item = Option<&'a [u8]>>) -> Vec<Option<Vec<u8>>> {
        values.map(|v| v.map(<[u8]>::to_vec)).collect()
    }
    Ok(match array.data_type() {
        DataType::Binary => collect(array.as_binary::<i32>().iter()),
        DataType::LargeBinary => collect(array.as_binary::<i64>().iter()),
        DataType::BinaryView => collect(array.as_binary_view().iter()),
        DataType::Utf8 => collect(
            array
                .as_string::<i32>()
                .iter()
                .map(|v| v.map(str::as_bytes)),
        ),
        DataType::LargeUtf8 => collect(
            array
                .as_string::<i64>()
                .iter()
                .map(|v| v.map(str::as_bytes)),
        ),
        DataType::Utf8View => collect(array.as_string_view().iter().map(|v| v.map(str::as_bytes))),
        other => return Err(format!("a byte array column, found arrow type {other}")),
    })
}
