//! Backup artifacts (`formats/backup/SPEC.md`): a table at an exact cut as zstd Parquet files
//! under `data/`, plus `manifest.json`, the commit point, which names every file with its size,
//! rows, key range, whole-file, footer and row-group xxh3-128 hashes and the logical fingerprint
//! of its rows, and ends with its own checksum.
//!
//! - [`build`]: snapshot ⊕ log up to the marker LSN through `ddb_merge` into one
//!   [`writer`] sink per key-range partition, then the manifest, published last;
//! - [`BackupReader`]: row groups in key order, each checked against its hash before decoding;
//! - [`verify()`]: three tiers (structure, bytes, deep), collecting every problem found;
//! - [`BackupManifest`]: the manifest's bytes, its checksum and its rules.
//!
//! Invariants:
//! - all file access goes through `ddb_io::Io`, so crash tests can tear every byte;
//! - a backup exists iff `manifest.json` exists and verifies; it is written after every artifact
//!   and the `data/` directory are durable, and only if the fingerprint of what the sinks wrote
//!   equals the merge's;
//! - the `_item` column holds the merge's item bytes unchanged; typed columns are derived from
//!   them, never the other way round;
//! - the same inputs and options give byte-identical files: nothing in them depends on the clock,
//!   randomness or thread timing (partitions write disjoint files);
//! - build touches only `manifest.json`, its publish temporaries and `data/` in the backup
//!   directory (the engine keeps its job file there);
//! - bytes read from disk never cause a panic: they are checked against the manifest before the
//!   Parquet decoder sees them, and the decoder is guarded besides.
#![forbid(unsafe_code)]

mod columns;
mod error;
mod hex;
mod io_adapt;
mod manifest;
mod reader;
mod verify;
mod writer;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use ddb_io::publish::is_publish_temp;
use ddb_io::{Io, error_at, publish_atomically};
use ddb_log::{LogError, Record};
use ddb_merge::{MergeOptions, SnapshotInput, merge};
use ddb_model::{Fingerprint, TableSchema};

pub use columns::{
    AttributeColumn, ITEM_COLUMN, KEY_COLUMN, attribute_of_column, column_of_attribute,
    typed_values,
};
pub use error::{BackupError, Location, Result};
pub use manifest::{
    ArtifactEntry, BackupIdentity, BackupManifest, Marker, RowGroupEntry, Totals, artifact_path,
};
pub use reader::{BackupReader, BackupRow, RowGroupRef};
pub use verify::{
    LoneArtifact, Problem, VerifyLevel, VerifyReport, inspect_artifact, verify, verify_artifact,
};

/// The format version this crate writes and reads.
pub const FORMAT_VERSION: u32 = 1;
/// The commit point, at the root of the backup directory.
pub const MANIFEST_FILE: &str = "manifest.json";
/// The artifacts' directory, under the backup directory.
pub const DATA_DIR: &str = "data";

/// What to back up.
#[derive(Debug, Clone)]
pub struct BuildRequest {
    pub identity: BackupIdentity,
    /// The exact cut: every mutation with LSN <= marker_lsn, nothing later.
    pub marker_lsn: u64,
    /// The request's wall time (ms since the epoch).
    pub marker_time_ms: u64,
    /// Key schema and index schemas: their AttributeDefinitions become the typed columns.
    pub schema: TableSchema,
    /// The table description at the marker, stored verbatim in the manifest.
    pub source_table: serde_json::Value,
    /// SYSTEM backups expire; recorded in the manifest.
    pub expires_at_ms: Option<u64>,
}

/// How a backup is built.
#[derive(Debug, Clone)]
pub struct BuildOptions {
    pub zstd_level: i32,
    /// Key-range partitions merged in parallel.
    pub partitions: usize,
    /// For the merge's log map and spill buffers.
    pub memory_budget_bytes: usize,
    /// Scratch for the merge's spill runs.
    pub spill_dir: PathBuf,
    /// Target item bytes per row group. Each partition holds about this much (items, keys and
    /// typed values) in memory while it gathers a row group.
    pub row_group_bytes: usize,
    /// A partition starts a new file once its current one reaches this size.
    pub artifact_bytes: u64,
}

impl Default for BuildOptions {
    fn default() -> Self {
        Self {
            zstd_level: 3,
            partitions: 2,
            memory_budget_bytes: 256 << 20,
            spill_dir: std::env::temp_dir().join("ddb-backup-spill"),
            // A restore decodes a row group whole on each of its threads: 16 MiB keeps that
            // bounded (~2.5× in memory while decoded) with enough groups to spread.
            row_group_bytes: 16 << 20,
            artifact_bytes: 1 << 30,
        }
    }
}

/// Builds the backup into `dir` (created if missing); see `formats/backup/SPEC.md`, "Writer".
///
/// Removes any `data/` left by an interrupted earlier attempt and stray manifest temporaries,
/// merges `snapshot` (None = empty table at LSN 0) with `log` (exactly the records after the
/// snapshot LSN up to `marker_lsn`) into zstd Parquet artifacts under `dir/data/`, syncs them
/// and the directories, checks that the artifacts' fingerprint equals the merge's, then
/// publishes `manifest.json` atomically, last. A directory that already holds a published
/// backup is refused (it would be destroyed).
pub fn build<L>(
    io: Arc<dyn Io>,
    dir: &Path,
    request: &BuildRequest,
    snapshot: Option<&dyn SnapshotInput>,
    log: L,
    options: &BuildOptions,
) -> Result<BackupManifest>
where
    L: IntoIterator<Item = Result<Record, LogError>>,
{
    check_request(request, options)?;
    io.create_dir_all(dir)
        .map_err(|e| error_at("create", dir, e))?;
    if let Some(parent) = dir.parent().filter(|p| !p.as_os_str().is_empty()) {
        io.sync_dir(parent)
            .map_err(|e| error_at("sync", parent, e))?;
    }
    if is_published(&*io, dir)? {
        return Err(BackupError::InvalidRequest(format!(
            "{} already holds a published backup",
            dir.display()
        )));
    }
    remove_unpublished(&*io, dir)?;
    let data = dir.join(DATA_DIR);
    io.create_dir_all(&data)
        .map_err(|e| error_at("create", &data, e))?;
    io.sync_dir(dir).map_err(|e| error_at("sync", dir, e))?;

    let columns: Vec<AttributeColumn> = request
        .schema
        .attribute_definitions()
        .iter()
        .map(|d| AttributeColumn::new(&d.attribute_name, d.attribute_type))
        .collect();
    let mut manifest = BackupManifest {
        format_version: FORMAT_VERSION,
        backup: request.identity.clone(),
        expires_at_ms: request.expires_at_ms,
        source_table: request.source_table.clone(),
        marker: Marker {
            lsn: request.marker_lsn,
            time_ms: request.marker_time_ms,
        },
        snapshot_lsn: snapshot.map_or(0, SnapshotInput::lsn),
        log_records_applied: 0,
        key_schema: request.schema.key.key_schema(),
        attribute_columns: columns.clone(),
        artifacts: Vec::new(),
        totals: Totals {
            rows: 0,
            item_bytes: 0,
            artifact_bytes: 0,
            fingerprint: Fingerprint::default(),
        },
    };
    let sinks = writer::ParquetSinks::new(writer::ArtifactSettings {
        io: Arc::clone(&io),
        dir: dir.to_path_buf(),
        columns,
        key_value: reader::common_key_value(&manifest),
        zstd_level: options.zstd_level,
        row_group_bytes: options.row_group_bytes,
        artifact_bytes: options.artifact_bytes,
    })?;
    let merge_options = MergeOptions {
        partitions: options.partitions,
        memory_budget_bytes: options.memory_budget_bytes,
        spill_dir: options.spill_dir.clone(),
    };
    let merged = merge(
        Arc::clone(&io),
        snapshot,
        log,
        request.marker_lsn,
        &merge_options,
        &sinks,
    )?;
    io.sync_dir(&data).map_err(|e| error_at("sync", &data, e))?;

    manifest.log_records_applied = merged.records_applied;
    manifest.artifacts = sinks.entries();
    for artifact in &manifest.artifacts {
        let t = &mut manifest.totals;
        t.rows += artifact.rows;
        t.item_bytes += artifact.item_bytes;
        t.artifact_bytes += artifact.size;
        t.fingerprint.combine(&artifact.fingerprint);
    }
    // The sinks fingerprinted the rows they wrote, the merge the rows it produced.
    if manifest.totals.fingerprint != merged.fingerprint {
        return Err(BackupError::FingerprintMismatch {
            written: manifest.totals.fingerprint,
            merged: merged.fingerprint,
        });
    }
    let bytes = manifest.encode()?;
    // What is published must be what a reader accepts.
    let manifest = BackupManifest::decode(&dir.join(MANIFEST_FILE), &bytes)?;
    publish_atomically(&*io, dir, MANIFEST_FILE, &bytes)?;
    Ok(manifest)
}

fn check_request(request: &BuildRequest, options: &BuildOptions) -> Result<()> {
    let id = &request.identity.table_id;
    if id.len() != 32 || hex::decode(id).is_err() {
        return Err(BackupError::InvalidRequest(format!(
            "table_id must be 32 lowercase hex digits, not {id:?}"
        )));
    }
    if options.partitions == 0 || options.row_group_bytes == 0 || options.artifact_bytes == 0 {
        return Err(BackupError::InvalidRequest(
            "partitions, row_group_bytes and artifact_bytes must be at least 1".to_owned(),
        ));
    }
    if !(1..=22).contains(&options.zstd_level) {
        return Err(BackupError::InvalidRequest(format!(
            "zstd_level must be 1..=22, not {}",
            options.zstd_level
        )));
    }
    Ok(())
}

/// Whether `dir` holds a published backup (its manifest exists; whether it verifies is
/// [`verify()`]'s question).
pub fn is_published(io: &dyn Io, dir: &Path) -> Result<bool> {
    Ok(io.exists(&dir.join(MANIFEST_FILE))?)
}

/// Removes what an unpublished attempt may have left: `data/` and manifest temporaries.
fn remove_unpublished(io: &dyn Io, dir: &Path) -> Result<()> {
    let data = dir.join(DATA_DIR);
    let mut removed = false;
    if io.exists(&data)? {
        remove_tree(io, &data)?;
        removed = true;
    }
    for name in io.read_dir(dir).map_err(|e| error_at("list", dir, e))? {
        let Some(name) = name.to_str() else { continue };
        if is_publish_temp(name) && name.contains(MANIFEST_FILE) {
            let path = dir.join(name);
            io.remove_file(&path)
                .map_err(|e| error_at("remove", &path, e))?;
            removed = true;
        }
    }
    if removed {
        io.sync_dir(dir).map_err(|e| error_at("sync", dir, e))?;
    }
    Ok(())
}

/// Removes the files `build` writes in `dir`: `manifest.json` first (so that a crash midway
/// leaves no backup rather than a manifest naming missing files), then its temporaries and
/// `data/`. Other files (the engine's job file) and `dir` itself stay.
pub fn remove_backup_files(io: &dyn Io, dir: &Path) -> Result<()> {
    let manifest = dir.join(MANIFEST_FILE);
    if io.exists(&manifest)? {
        io.remove_file(&manifest)
            .map_err(|e| error_at("remove", &manifest, e))?;
        io.sync_dir(dir).map_err(|e| error_at("sync", dir, e))?;
    }
    remove_unpublished(io, dir)
}

/// Removes `path` and everything below it. `Io` has no stat: a path that will not unlink as a
/// file is listed and removed as a directory.
fn remove_tree(io: &dyn Io, path: &Path) -> Result<()> {
    if io.remove_file(path).is_ok() {
        return Ok(());
    }
    for name in io.read_dir(path).map_err(|e| error_at("list", path, e))? {
        remove_tree(io, &path.join(name))?;
    }
    // The removals must be durable before the directory goes: a crash must not bring back a
    // directory entry whose files were already unlinked (found by the engine's crash test).
    io.sync_dir(path).map_err(|e| error_at("sync", path, e))?;
    io.remove_dir(path)
        .map_err(|e| error_at("remove", path, e))?;
    Ok(())
}
