//! The workload for peer tools (DuckDB, Polars): the same logical data as the snapshot and the
//! log, as two plain Parquet files (zstd 1, row groups of [`ROW_GROUP_ROWS`] rows).
//!
//! - `snapshot.parquet`: `pk`, `sk`, `item` (utf8; `item` is the canonical item JSON the snapshot
//!   stores), rows in (`pk`, `sk`) order;
//! - `log.parquet`: `seq` (int64, 1-based log position), `pk`, `sk`, `op` (`PUT` | `DELETE`),
//!   `item` (utf8, null for a delete), rows in `seq` order.

use std::fs::File;
use std::path::Path;
use std::sync::Arc;

use arrow_array::builder::{Int64Builder, StringBuilder};
use arrow_array::{ArrayRef, RecordBatch};
use arrow_schema::{DataType, Field, Schema, SchemaRef};
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::properties::WriterProperties;

use super::Result;

/// Rows per Parquet row group.
pub const ROW_GROUP_ROWS: usize = 128 << 10;
/// Rows gathered in memory before they are handed to the Parquet writer.
const BATCH_ROWS: usize = 8192;

pub const SNAPSHOT_FILE: &str = "snapshot.parquet";
pub const LOG_FILE: &str = "log.parquet";

/// The schema of `snapshot.parquet`.
pub fn snapshot_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("pk", DataType::Utf8, false),
        Field::new("sk", DataType::Utf8, false),
        Field::new("item", DataType::Utf8, false),
    ]))
}

/// The schema of `log.parquet`.
pub fn log_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("seq", DataType::Int64, false),
        Field::new("pk", DataType::Utf8, false),
        Field::new("sk", DataType::Utf8, false),
        Field::new("op", DataType::Utf8, false),
        Field::new("item", DataType::Utf8, true),
    ]))
}

fn writer(path: &Path, schema: SchemaRef) -> Result<ArrowWriter<File>> {
    let properties = WriterProperties::builder()
        .set_compression(Compression::ZSTD(ZstdLevel::try_new(1)?))
        .set_max_row_group_row_count(Some(ROW_GROUP_ROWS))
        .build();
    let file = File::create(path).map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(ArrowWriter::try_new(file, schema, Some(properties))?)
}

/// Streams `snapshot.parquet`.
pub struct SnapshotParquet {
    writer: ArrowWriter<File>,
    schema: SchemaRef,
    pk: StringBuilder,
    sk: StringBuilder,
    item: StringBuilder,
    rows: usize,
}

impl std::fmt::Debug for SnapshotParquet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SnapshotParquet")
            .field("rows", &self.rows)
            .finish_non_exhaustive()
    }
}

impl SnapshotParquet {
    pub fn create(path: &Path) -> Result<Self> {
        let schema = snapshot_schema();
        Ok(Self {
            writer: writer(path, Arc::clone(&schema))?,
            schema,
            pk: StringBuilder::new(),
            sk: StringBuilder::new(),
            item: StringBuilder::new(),
            rows: 0,
        })
    }

    /// Appends one row; rows must come in (`pk`, `sk`) order.
    pub fn push(&mut self, pk: &str, sk: &str, item: &str) -> Result<()> {
        self.pk.append_value(pk);
        self.sk.append_value(sk);
        self.item.append_value(item);
        self.rows += 1;
        if self.rows == BATCH_ROWS {
            self.flush()?;
        }
        Ok(())
    }

    fn flush(&mut self) -> Result<()> {
        if self.rows == 0 {
            return Ok(());
        }
        let columns: Vec<ArrayRef> = vec![
            Arc::new(self.pk.finish()),
            Arc::new(self.sk.finish()),
            Arc::new(self.item.finish()),
        ];
        self.writer
            .write(&RecordBatch::try_new(Arc::clone(&self.schema), columns)?)?;
        self.rows = 0;
        Ok(())
    }

    pub fn finish(mut self) -> Result<()> {
        self.flush()?;
        self.writer.close()?;
        Ok(())
    }
}

/// One record of `log.parquet`.
#[derive(Debug, Clone, Copy)]
pub struct LogRow<'a> {
    pub seq: u64,
    pub pk: &'a str,
    pub sk: &'a str,
    /// The canonical item JSON of a put; `None` for a delete.
    pub item: Option<&'a str>,
}

/// Streams `log.parquet`.
pub struct LogParquet {
    writer: ArrowWriter<File>,
    schema: SchemaRef,
    seq: Int64Builder,
    pk: StringBuilder,
    sk: StringBuilder,
    op: StringBuilder,
    item: StringBuilder,
    rows: usize,
}

impl std::fmt::Debug for LogParquet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LogParquet")
            .field("rows", &self.rows)
            .finish_non_exhaustive()
    }
}

impl LogParquet {
    pub fn create(path: &Path) -> Result<Self> {
        let schema = log_schema();
        Ok(Self {
            writer: writer(path, Arc::clone(&schema))?,
            schema,
            seq: Int64Builder::new(),
            pk: StringBuilder::new(),
            sk: StringBuilder::new(),
            op: StringBuilder::new(),
            item: StringBuilder::new(),
            rows: 0,
        })
    }

    /// Appends one record; records must come in `seq` order.
    pub fn push(&mut self, row: LogRow<'_>) -> Result<()> {
        self.seq.append_value(i64::try_from(row.seq)?);
        self.pk.append_value(row.pk);
        self.sk.append_value(row.sk);
        self.op
            .append_value(if row.item.is_some() { "PUT" } else { "DELETE" });
        self.item.append_option(row.item);
        self.rows += 1;
        if self.rows == BATCH_ROWS {
            self.flush()?;
        }
        Ok(())
    }

    fn flush(&mut self) -> Result<()> {
        if self.rows == 0 {
            return Ok(());
        }
        let columns: Vec<ArrayRef> = vec![
            Arc::new(self.seq.finish()),
            Arc::new(self.pk.finish()),
            Arc::new(self.sk.finish()),
            Arc::new(self.op.finish()),
            Arc::new(self.item.finish()),
        ];
        self.writer
            .write(&RecordBatch::try_new(Arc::clone(&self.schema), columns)?)?;
        self.rows = 0;
        Ok(())
    }

    pub fn finish(mut self) -> Result<()> {
        self.flush()?;
        self.writer.close()?;
        Ok(())
    }
}
