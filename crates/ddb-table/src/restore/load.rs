//! The bulk load: key-sorted rows straight into a new table's first checkpoint — the table
//! snapshot and every LSI's snapshot — with no log writes.
//!
//! Rows arrive in table-key order, already decoded and checked by the caller ([`Prepared`]:
//! the stage that decodes runs on other threads). The table snapshot is written as they come.
//! Each LSI's entries are keyed by (partition key, LSI sort key, table sort key): within one
//! item collection they arrive out of order, across collections in order. So each LSI builder
//! sorts one collection at a time (an [`IndexBuilder`] barrier at every partition-key change)
//! and spills only a collection larger than its budget. `finish` publishes every snapshot and
//! then `CURRENT` (LSN [`RESTORED_LSN`]), the table's commit point: until it is durable the
//! load did not happen.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use ddb_io::Io;
use ddb_model::fingerprint::Fingerprint;
use ddb_model::{IndexKind, IndexSchema, Item, KeyValue, TableSchema};
use ddb_snapshot::{SnapshotManifest, SnapshotWriter, WriterOptions};

use crate::checkpoint::snapshot_attributes;
use crate::error::{Error, Result};
use crate::files;
use crate::index;
use crate::index_build::IndexBuilder;
use crate::state_file;
use crate::table::{CURRENT_FORMAT, Current, Stats};

/// The LSN of a restored table's first checkpoint; its log starts after it. (Not 0: LSN 0
/// means "no snapshot" to the log retention and backup holds.)
pub const RESTORED_LSN: u64 = 1;

/// An LSI entry: key, projected item bytes, DynamoDB size.
pub type LsiEntry = (Vec<u8>, Vec<u8>, usize);

/// One row ready for the writer: computed off the writer's thread.
#[derive(Debug)]
pub struct Prepared {
    pub key: Vec<u8>,
    pub item: Vec<u8>,
    /// DynamoDB's size of the item.
    pub size: usize,
    /// The encoded partition key (a prefix of `key` and of every LSI entry's key).
    pub partition: Vec<u8>,
    /// The typed attribute values of the table snapshot's columns.
    pub attrs: Vec<Option<Vec<u8>>>,
    /// Per LSI of the loader (in its order): the entry's key, projected bytes and size.
    pub lsi_entries: Vec<Option<LsiEntry>>,
}

/// What the rows of a load are checked and prepared against: the target table's schema.
#[derive(Debug, Clone)]
pub struct Preparer {
    pub schema: TableSchema,
    lsis: Vec<IndexSchema>,
    attributes: Vec<(String, ddb_model::ScalarAttributeType)>,
}

impl Preparer {
    pub fn new(schema: TableSchema) -> Preparer {
        let lsis = schema
            .indexes
            .iter()
            .filter(|i| i.kind == IndexKind::Local)
            .cloned()
            .collect();
        let attributes = snapshot_attributes(&schema);
        Preparer {
            schema,
            lsis,
            attributes,
        }
    }

    /// Decodes and checks one row: the item must be valid DynamoDB JSON in canonical form,
    /// carry the table key with its declared types, and `key` must be that key's encoding.
    /// `what` names the row for errors (file and row group, say).
    pub fn prepare(
        &self,
        key: Vec<u8>,
        item_bytes: Vec<u8>,
        what: &dyn Fn() -> String,
    ) -> Result<Prepared> {
        let item = crate::table::decode_item(&item_bytes).map_err(|e| Error::Corrupt {
            path: PathBuf::from(what()),
            message: format!("an item that does not decode: {e}"),
        })?;
        self.prepare_item(key, item_bytes, &item, what)
    }

    /// As [`Preparer::prepare`] for an item already decoded.
    pub fn prepare_item(
        &self,
        key: Vec<u8>,
        item_bytes: Vec<u8>,
        item: &Item,
        what: &dyn Fn() -> String,
    ) -> Result<Prepared> {
        let corrupt = |message: String| Error::Corrupt {
            path: PathBuf::from(what()),
            message,
        };
        let expected = self
            .schema
            .table_key(item)
            .map_err(|e| corrupt(format!("an item without a valid table key: {e}")))?;
        if expected != key {
            return Err(corrupt(
                "a row whose key is not the encoding of its item's key attributes".to_owned(),
            ));
        }
        let mut partition = Vec::with_capacity(32);
        let value = item
            .get(&self.schema.key.partition.name)
            .and_then(KeyValue::from_attribute)
            .ok_or_else(|| corrupt("an item without its partition key".to_owned()))?;
        ddb_model::key::encode_key(&mut partition, value, None);
        let attrs = ddb_snapshot::attrs_from_item(&item_bytes, &self.attributes)?;
        let lsi_entries = self
            .lsis
            .iter()
            .map(|lsi| {
                index::entry(&self.schema, lsi, item).map(|entry| {
                    let size = entry.item.size_bytes();
                    (entry.key, entry.bytes.to_vec(), size)
                })
            })
            .collect();
        Ok(Prepared {
            key,
            size: item.size_bytes(),
            item: item_bytes,
            partition,
            attrs,
            lsi_entries,
        })
    }
}

/// What a finished load wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadReport {
    pub rows: u64,
    pub stats: Stats,
    pub index_stats: BTreeMap<String, Stats>,
    /// The fingerprint of the table snapshot's rows, as its manifest records it.
    pub fingerprint: Fingerprint,
    /// Spill runs the LSI builds needed (item collections larger than their budget).
    pub spilled_runs: usize,
}

/// Writes a new table's first checkpoint from key-sorted rows.
#[derive(Debug)]
pub struct Loader {
    io: Arc<dyn Io>,
    table_dir: PathBuf,
    table_id: [u8; 16],
    writer: Option<SnapshotWriter>,
    lsis: Vec<(String, IndexBuilder, Stats)>,
    stats: Stats,
    fingerprint: Fingerprint,
    last_partition: Option<Vec<u8>>,
    last_key: Option<Vec<u8>>,
}

impl Loader {
    /// Starts the load into `table_dir` (which must hold nothing a catalog entry relies on: it
    /// is emptied first). `memory_bytes` bounds the LSI builds' sort buffers (shared).
    pub fn new(
        io: Arc<dyn Io>,
        table_dir: &Path,
        table_id: [u8; 16],
        preparer: &Preparer,
        block_bytes: usize,
        memory_bytes: usize,
    ) -> Result<Loader> {
        files::remove_dir_all(&*io, table_dir)?;
        io.create_dir_all(table_dir)?;
        if let Some(parent) = table_dir.parent() {
            io.sync_dir(parent)?;
        }
        let checkpoint_dir = files::checkpoint_dir(table_dir, RESTORED_LSN);
        io.create_dir_all(&checkpoint_dir)?;
        io.sync_dir(table_dir)?;
        let mut options = WriterOptions::new(table_id, RESTORED_LSN, preparer.attributes.clone());
        options.block_bytes_target = block_bytes;
        let table_snapshot = files::table_snapshot_dir(&checkpoint_dir);
        io.create_dir_all(&table_snapshot)?;
        let writer =
            SnapshotWriter::new(Arc::clone(&io), &table_snapshot, "part-0", options.clone())?;
        let work = files::work_dir(table_dir);
        let budget = memory_bytes / preparer.lsis.len().max(1);
        let mut lsis = Vec::new();
        for lsi in &preparer.lsis {
            let builder = IndexBuilder::new(
                Arc::clone(&io),
                &files::index_snapshot_dir(&checkpoint_dir, &lsi.name),
                &work,
                &format!("restore-{}", lsi.name),
                options.clone(),
                budget,
            )?;
            lsis.push((lsi.name.clone(), builder, Stats::default()));
        }
        Ok(Loader {
            io,
            table_dir: table_dir.to_owned(),
            table_id,
            writer: Some(writer),
            lsis,
            stats: Stats::default(),
            fingerprint: Fingerprint::default(),
            last_partition: None,
            last_key: None,
        })
    }

    /// Adds the next row (keys strictly increasing).
    pub fn push(&mut self, row: Prepared) -> Result<()> {
        if self.last_key.as_ref().is_some_and(|last| row.key <= *last) {
            return Err(Error::Corrupt {
                path: self.table_dir.clone(),
                message: "restore rows out of key order (or a key twice)".to_owned(),
            });
        }
        if self.last_partition.as_ref() != Some(&row.partition) {
            // An item collection ended: every later LSI entry sorts after it.
            for (_, builder, _) in &mut self.lsis {
                builder.barrier()?;
            }
            self.last_partition = Some(row.partition.clone());
        }
        if let Some(writer) = &mut self.writer {
            writer.push_parts(&row.key, &row.item, &row.attrs)?;
        }
        self.fingerprint.add(&row.key, &row.item);
        self.stats.add_size(Some(row.size), 1);
        for ((_, builder, stats), entry) in self.lsis.iter_mut().zip(row.lsi_entries) {
            if let Some((key, bytes, size)) = entry {
                stats.add_size(Some(size), 1);
                builder.push(key, bytes)?;
            }
        }
        self.last_key = Some(row.key);
        Ok(())
    }

    pub fn rows(&self) -> u64 {
        self.fingerprint.items
    }

    /// Publishes the snapshots, then `CURRENT`: the table exists from here on.
    pub fn finish(mut self, now_ms: u64) -> Result<LoadReport> {
        let checkpoint_dir = files::checkpoint_dir(&self.table_dir, RESTORED_LSN);
        let table_snapshot = files::table_snapshot_dir(&checkpoint_dir);
        let files_written = match self.writer.take() {
            Some(writer) => writer.finish()?,
            None => Vec::new(),
        };
        let manifest = SnapshotManifest::new(self.table_id, RESTORED_LSN, files_written);
        if manifest.totals.fingerprint != self.fingerprint {
            return Err(Error::Corrupt {
                path: table_snapshot,
                message: "the restored snapshot's fingerprint differs from the rows loaded"
                    .to_owned(),
            });
        }
        manifest.publish(&*self.io, &table_snapshot)?;
        let mut index_stats = BTreeMap::new();
        let mut indexes = BTreeSet::new();
        let mut spilled_runs = 0;
        for (name, builder, stats) in std::mem::take(&mut self.lsis) {
            spilled_runs += builder.spilled_runs;
            let index_manifest = builder.finish(RESTORED_LSN)?;
            if i64::try_from(index_manifest.totals.rows).ok() != Some(stats.items) {
                return Err(Error::Corrupt {
                    path: files::index_snapshot_dir(&checkpoint_dir, &name),
                    message: format!(
                        "index {name}: {} rows published, {} entries counted",
                        index_manifest.totals.rows, stats.items
                    ),
                });
            }
            index_stats.insert(name.clone(), stats);
            indexes.insert(name);
        }
        self.io.sync_dir(&checkpoint_dir)?;
        let current = Current {
            format: CURRENT_FORMAT,
            lsn: RESTORED_LSN,
            table_snapshot: true,
            indexes,
            stats: self.stats,
            index_stats: index_stats.clone(),
            time_ms: now_ms,
            retained: Vec::new(),
            last_commit_us: 0,
        };
        files::empty_dir(&*self.io, &files::work_dir(&self.table_dir))?;
        state_file::publish(&*self.io, &self.table_dir, files::CURRENT_FILE, &current)?;
        Ok(LoadReport {
            rows: self.fingerprint.items,
            stats: self.stats,
            index_stats,
            fingerprint: self.fingerprint,
            spilled_runs,
        })
    }
}
