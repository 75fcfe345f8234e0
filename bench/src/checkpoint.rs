//! Inputs of the checkpoint benchmarks, generated as streams so that the generator itself adds
//! nothing to the process's peak RSS: a snapshot directory of N rows of ~400-byte items (even
//! keys), and a log of 0.2 N records after it (overwrites, inserts of odd keys, deletes).

use std::io;
use std::path::Path;
use std::sync::Arc;

use ddb_io::Io;
use ddb_log::{Record, RecordType};
use ddb_model::ScalarAttributeType;
use ddb_snapshot::{SnapshotManifest, SnapshotWriter, WriterOptions, attrs_from_item};

pub const TABLE_ID: [u8; 16] = *b"bench-checkpoint";
/// The LSN of the generated snapshot; the log starts after it.
pub const SNAPSHOT_LSN: u64 = 100;
pub const ITEM_BYTES: usize = 400;

/// The typed column of the generated table: its partition key.
pub fn attributes() -> Vec<(String, ScalarAttributeType)> {
    vec![("id".to_owned(), ScalarAttributeType::S)]
}

pub fn key(i: u64) -> Vec<u8> {
    let mut key = Vec::with_capacity(16);
    ddb_model::encode_key(&mut key, ddb_model::KeyValue::S(&format!("k{i:012}")), None);
    key
}

pub fn item(i: u64, version: u64) -> Vec<u8> {
    let head =
        format!("{{\"id\":{{\"S\":\"k{i:012}\"}},\"v\":{{\"N\":\"{version}\"}},\"pad\":{{\"S\":\"");
    let mut item = head.into_bytes();
    item.resize(ITEM_BYTES - 3, b'x');
    item.extend_from_slice(b"\"}}");
    item
}

fn snapshot_error(e: ddb_snapshot::SnapshotError) -> io::Error {
    io::Error::other(e.to_string())
}

/// Writes and publishes a snapshot of `rows` rows (keys `2 i`) at [`SNAPSHOT_LSN`] in `dir`.
pub fn write_snapshot(io: &Arc<dyn Io>, dir: &Path, rows: u64) -> io::Result<SnapshotManifest> {
    io.create_dir_all(dir)?;
    let options = WriterOptions::new(TABLE_ID, SNAPSHOT_LSN, attributes());
    let mut writer =
        SnapshotWriter::new(Arc::clone(io), dir, "base", options).map_err(snapshot_error)?;
    for i in 0..rows {
        let item = item(2 * i, 0);
        let attrs = attrs_from_item(&item, &attributes()).map_err(snapshot_error)?;
        writer
            .push(&ddb_snapshot::Row {
                key: key(2 * i),
                item,
                attrs,
            })
            .map_err(snapshot_error)?;
    }
    let files = writer.finish().map_err(snapshot_error)?;
    let manifest = SnapshotManifest::new(TABLE_ID, SNAPSHOT_LSN, files);
    manifest.publish(&**io, dir).map_err(snapshot_error)?;
    Ok(manifest)
}

/// The last LSN of [`log_records`]`(rows)`.
pub fn log_end(rows: u64) -> u64 {
    SNAPSHOT_LSN + rows / 5
}

/// 0.2 `rows` records after [`SNAPSHOT_LSN`], one per batch: a tenth deletes, the rest puts of
/// random keys in `[0, 2 rows)` (half overwrite snapshot rows, half insert).
pub fn log_records(rows: u64) -> impl Iterator<Item = Record> + Clone {
    let mut state = 0x2545_f491_4f6c_dd1d_u64;
    (0..rows / 5).map(move |n| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        let target = state % (2 * rows).max(1);
        let (record_type, value) = if n % 10 == 0 {
            (RecordType::Delete, Vec::new())
        } else {
            (RecordType::Put, item(target, n + 1))
        };
        Record {
            record_type,
            end_of_batch: true,
            lsn: SNAPSHOT_LSN + 1 + n,
            timestamp_us: n,
            key: key(target),
            value,
        }
    })
}

/// A field of `/proc/self/status` in KiB (`VmHWM`: peak RSS, `VmRSS`: current RSS).
pub fn proc_status_kib(field: &str) -> io::Result<u64> {
    let status = std::fs::read_to_string("/proc/self/status")?;
    status
        .lines()
        .find_map(|line| line.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        .ok_or_else(|| io::Error::other(format!("no {field} in /proc/self/status")))
}
