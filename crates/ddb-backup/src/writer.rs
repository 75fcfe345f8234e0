//! The Parquet sinks of the merge: one [`PartitionSink`] per key-range partition, writing
//! `data/part-<partition>-<file>.parquet` through `Io`, row groups cut at a target of item
//! bytes, files cut at a target size, and the manifest entries of what it wrote.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};

use ddb_io::{Io, OpenOptions, WriteBehind};
use ddb_merge::{MergeError, Row, RowSink, SinkFactory, SinkOutput};
use ddb_model::Fingerprint;
use parquet::basic::{Compression, ZstdLevel};
use parquet::data_type::{ByteArray, ByteArrayType};
use parquet::file::metadata::{KeyValue, RowGroupMetaData};
use parquet::file::properties::{EnabledStatistics, WriterProperties, WriterVersion};
use parquet::file::writer::SerializedFileWriter;
use parquet::schema::types::{ColumnPath, TypePtr};
use xxhash_rust::xxh3::xxh3_128;

use crate::columns::{AttributeColumn, ITEM_COLUMN, KEY_COLUMN, parquet_schema, typed_values};
use crate::error::{BackupError, Result};
use crate::manifest::{ArtifactEntry, RowGroupEntry, artifact_path};
use crate::reader::{chunk_range, footer_region};

/// What every artifact of one backup shares.
#[derive(Debug)]
pub(crate) struct ArtifactSettings {
    pub io: Arc<dyn Io>,
    /// The backup directory (artifacts go to its `data/`).
    pub dir: PathBuf,
    pub columns: Vec<AttributeColumn>,
    /// Key-value metadata common to all files; `ddb.partition` and `ddb.file_index` follow.
    pub key_value: Vec<(String, String)>,
    pub zstd_level: i32,
    pub row_group_bytes: usize,
    pub artifact_bytes: u64,
}

/// The merge's sink factory for a backup.
#[derive(Debug)]
pub(crate) struct ParquetSinks {
    settings: Arc<ArtifactSettings>,
    schema: TypePtr,
    entries: Arc<Mutex<BTreeMap<usize, Vec<ArtifactEntry>>>>,
}

impl ParquetSinks {
    pub fn new(settings: ArtifactSettings) -> Result<Self> {
        let schema = parquet_schema(&settings.columns)
            .map_err(|e| BackupError::InvalidRequest(format!("Parquet schema: {e}")))?;
        Ok(Self {
            settings: Arc::new(settings),
            schema,
            entries: Arc::default(),
        })
    }

    /// Every artifact written, in partition and file order (= key order).
    pub fn entries(&self) -> Vec<ArtifactEntry> {
        self.entries
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .values()
            .flatten()
            .cloned()
            .collect()
    }
}

impl SinkFactory for ParquetSinks {
    fn sink(
        &self,
        partition: usize,
        _lower: Option<&[u8]>,
        _upper: Option<&[u8]>,
    ) -> ddb_merge::Result<Box<dyn RowSink>> {
        Ok(Box::new(PartitionSink {
            settings: Arc::clone(&self.settings),
            schema: TypePtr::clone(&self.schema),
            shared: Arc::clone(&self.entries),
            partition,
            buffer: RowGroupBuffer::new(self.settings.columns.len()),
            open: None,
            entries: Vec::new(),
            rows: 0,
            last_key: None,
        }))
    }
}

/// The rows of the row group being gathered, column by column.
#[derive(Debug, Default)]
struct RowGroupBuffer {
    keys: Vec<ByteArray>,
    typed: Vec<Vec<ByteArray>>,
    typed_levels: Vec<Vec<i16>>,
    items: Vec<ByteArray>,
    item_bytes: usize,
    fingerprint: Fingerprint,
}

impl RowGroupBuffer {
    fn new(columns: usize) -> Self {
        Self {
            typed: vec![Vec::new(); columns],
            typed_levels: vec![Vec::new(); columns],
            ..Self::default()
        }
    }
}

/// The artifact file being written.
struct OpenArtifact {
    path: PathBuf,
    file: Arc<dyn ddb_io::IoFile>,
    writer: SerializedFileWriter<crate::io_adapt::HashingWrite>,
    entry: ArtifactEntry,
}

/// One partition's sink.
pub(crate) struct PartitionSink {
    settings: Arc<ArtifactSettings>,
    schema: TypePtr,
    shared: Arc<Mutex<BTreeMap<usize, Vec<ArtifactEntry>>>>,
    partition: usize,
    buffer: RowGroupBuffer,
    open: Option<OpenArtifact>,
    entries: Vec<ArtifactEntry>,
    rows: u64,
    last_key: Option<Vec<u8>>,
}

impl std::fmt::Debug for PartitionSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PartitionSink")
            .field("partition", &self.partition)
            .field("rows", &self.rows)
            .finish_non_exhaustive()
    }
}

fn sink_error(partition: usize, e: BackupError) -> MergeError {
    MergeError::Sink {
        partition,
        source: Box::new(e),
    }
}

fn write_error(path: &Path, e: impl std::fmt::Display) -> BackupError {
    BackupError::ParquetWrite {
        file: path.to_path_buf(),
        message: e.to_string(),
    }
}

impl PartitionSink {
    fn properties(&self, file_index: usize) -> WriterProperties {
        let s = &self.settings;
        let level = ZstdLevel::try_new(s.zstd_level).unwrap_or_default();
        let mut key_value: Vec<KeyValue> = s
            .key_value
            .iter()
            .map(|(k, v)| KeyValue::new(k.clone(), v.clone()))
            .collect();
        key_value.push(KeyValue::new(
            "ddb.partition".to_owned(),
            self.partition.to_string(),
        ));
        key_value.push(KeyValue::new(
            "ddb.file_index".to_owned(),
            file_index.to_string(),
        ));
        let key = ColumnPath::new(vec![KEY_COLUMN.to_owned()]);
        let item = ColumnPath::new(vec![ITEM_COLUMN.to_owned()]);
        WriterProperties::builder()
            .set_writer_version(WriterVersion::PARQUET_1_0)
            .set_compression(Compression::ZSTD(level))
            .set_statistics_enabled(EnabledStatistics::Page)
            .set_max_row_group_row_count(None)
            .set_key_value_metadata(Some(key_value))
            .set_column_dictionary_enabled(key.clone(), false)
            .set_column_dictionary_enabled(item.clone(), false)
            // Min/max of whole JSON documents prune nothing and cost a copy per page.
            .set_column_statistics_enabled(item, EnabledStatistics::None)
            .build()
    }

    fn push_row(&mut self, row: &Row) -> Result<()> {
        if self.last_key.as_ref().is_some_and(|last| *last >= row.key) {
            return Err(BackupError::InvalidItem {
                key: crate::hex::encode(&row.key),
                message: "key not above the previous row's (the merge's order is broken)".into(),
            });
        }
        // Typed values come from the item itself (snapshot `attrs` use the key encoding).
        let typed = typed_values(&row.item, &self.settings.columns).map_err(|message| {
            BackupError::InvalidItem {
                key: crate::hex::encode(&row.key),
                message: format!("not canonical item JSON: expected {message}"),
            }
        })?;
        let b = &mut self.buffer;
        for ((values, levels), value) in b.typed.iter_mut().zip(&mut b.typed_levels).zip(typed) {
            match value {
                Some(v) => {
                    values.push(ByteArray::from(v));
                    levels.push(1);
                }
                None => levels.push(0),
            }
        }
        b.keys.push(ByteArray::from(row.key.clone()));
        b.items.push(ByteArray::from(row.item.clone()));
        b.item_bytes += row.item.len();
        b.fingerprint.add(&row.key, &row.item);
        self.rows += 1;
        self.last_key = Some(row.key.clone());
        if b.item_bytes >= self.settings.row_group_bytes {
            self.write_row_group()?;
        }
        Ok(())
    }

    fn open_artifact(&mut self) -> Result<OpenArtifact> {
        let file_index = self.entries.len();
        let relative = artifact_path(self.partition, file_index);
        let path = self.settings.dir.join(&relative);
        let io = &self.settings.io;
        let file = io.open(
            &path,
            OpenOptions {
                create: true,
                truncate: true,
                ..OpenOptions::read_write()
            },
        )?;
        let sequential = io.write_sequential(Arc::clone(&file), 0, WriteBehind::default())?;
        let writer = SerializedFileWriter::new(
            crate::io_adapt::HashingWrite::new(sequential),
            TypePtr::clone(&self.schema),
            Arc::new(self.properties(file_index)),
        )
        .map_err(|e| write_error(&path, e))?;
        Ok(OpenArtifact {
            path,
            file,
            writer,
            entry: ArtifactEntry {
                path: relative,
                partition: self.partition,
                file_index,
                size: 0,
                rows: 0,
                item_bytes: 0,
                first_key: Vec::new(),
                last_key: Vec::new(),
                xxh3_128: 0,
                footer_xxh3_128: 0,
                fingerprint: Fingerprint::default(),
                row_groups: Vec::new(),
            },
        })
    }

    fn write_row_group(&mut self) -> Result<()> {
        if self.buffer.keys.is_empty() {
            return Ok(());
        }
        let mut open = match self.open.take() {
            Some(open) => open,
            None => self.open_artifact()?,
        };
        let buffer = std::mem::replace(
            &mut self.buffer,
            RowGroupBuffer::new(self.settings.columns.len()),
        );
        // The previous row group (or the leading magic) ends the previous segment.
        open.writer
            .flush()
            .map_err(|e| write_error(&open.path, e))?;
        let _ = open.writer.inner_mut().cut();
        let metadata =
            write_columns(&mut open.writer, &buffer).map_err(|e| write_error(&open.path, e))?;
        open.writer
            .flush()
            .map_err(|e| write_error(&open.path, e))?;
        let (start, end, hash) = open.writer.inner_mut().cut();
        // Assert what the spec promises readers: the row group's column chunks are exactly the
        // bytes hashed.
        let mut columns = (0..metadata.num_columns()).map(|i| chunk_range(&metadata, i));
        let (min, max) = columns
            .try_fold((u64::MAX, 0u64), |(lo, hi), range| {
                let (s, e) = range?;
                Some((lo.min(s), hi.max(e)))
            })
            .unwrap_or((u64::MAX, 0));
        if (min, max) != (start, end) {
            return Err(write_error(
                &open.path,
                format!(
                    "row group column chunks span [{min}, {max}), the writer wrote [{start}, {end})"
                ),
            ));
        }
        let rows = buffer.keys.len() as u64;
        let first_key = buffer
            .keys
            .first()
            .map(|k| k.data().to_vec())
            .unwrap_or_default();
        let last_key = buffer
            .keys
            .last()
            .map(|k| k.data().to_vec())
            .unwrap_or_default();
        let entry = &mut open.entry;
        if entry.row_groups.is_empty() {
            entry.first_key.clone_from(&first_key);
        }
        entry.last_key.clone_from(&last_key);
        entry.row_groups.push(RowGroupEntry {
            index: entry.row_groups.len(),
            rows,
            start,
            end,
            xxh3_128: hash,
            first_key,
            last_key,
        });
        entry.rows += rows;
        entry.item_bytes += buffer.item_bytes as u64;
        entry.fingerprint.combine(&buffer.fingerprint);
        if end >= self.settings.artifact_bytes {
            self.finish_artifact(open)?;
        } else {
            self.open = Some(open);
        }
        Ok(())
    }

    /// Footer, size and hashes, fsync; the entry joins the partition's list.
    fn finish_artifact(&mut self, mut open: OpenArtifact) -> Result<()> {
        open.writer
            .finish()
            .map_err(|e| write_error(&open.path, e))?;
        // `finish` flushed everything to the hashing sink, which now writes its last chunk.
        let (size, hash) = open.writer.inner_mut().finish()?;
        open.file
            .sync_all()
            .map_err(|e| ddb_io::error_at("sync", &open.path, e))?;
        let (_, bytes) =
            footer_region(&*open.file, size).map_err(|(_, what)| write_error(&open.path, what))?;
        open.entry.size = size;
        open.entry.xxh3_128 = hash;
        open.entry.footer_xxh3_128 = xxh3_128(&bytes);
        self.entries.push(open.entry);
        Ok(())
    }
}

/// Writes one row group: `_key`, the typed columns, `_item`.
fn write_columns(
    writer: &mut SerializedFileWriter<crate::io_adapt::HashingWrite>,
    buffer: &RowGroupBuffer,
) -> parquet::errors::Result<Arc<RowGroupMetaData>> {
    let mut row_group = writer.next_row_group()?;
    let mut column_index = 0usize;
    while let Some(mut column) = row_group.next_column()? {
        let typed = column_index
            .checked_sub(1)
            .and_then(|i| buffer.typed.get(i).zip(buffer.typed_levels.get(i)));
        let writer = column.typed::<ByteArrayType>();
        match typed {
            Some((values, levels)) => {
                writer.write_batch(values, Some(levels), None)?;
            }
            None if column_index == 0 => {
                writer.write_batch(&buffer.keys, None, None)?;
            }
            None => {
                writer.write_batch(&buffer.items, None, None)?;
            }
        }
        column.close()?;
        column_index += 1;
    }
    row_group.close()
}

impl RowSink for PartitionSink {
    fn push(&mut self, row: &Row) -> ddb_merge::Result<()> {
        let partition = self.partition;
        self.push_row(row).map_err(|e| sink_error(partition, e))
    }

    fn finish(mut self: Box<Self>) -> ddb_merge::Result<SinkOutput> {
        let partition = self.partition;
        let finished = (|| -> Result<()> {
            self.write_row_group()?;
            if let Some(open) = self.open.take() {
                self.finish_artifact(open)?;
            }
            Ok(())
        })();
        finished.map_err(|e| sink_error(partition, e))?;
        let output = SinkOutput {
            rows: self.rows,
            bytes: self.entries.iter().map(|e| e.size).sum(),
            artifacts: self
                .entries
                .iter()
                .map(|e| PathBuf::from(&e.path))
                .collect(),
        };
        self.shared
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(partition, std::mem::take(&mut self.entries));
        Ok(output)
    }
}
