//! Helpers shared by the integration tests: row generators and a snapshot writer shortcut.
#![allow(dead_code)]

use std::path::Path;
use std::sync::Arc;

use ddb_io::Io;
use ddb_model::{KeyValue, ScalarAttributeType};
use ddb_snapshot::{Codec, FileEntry, Row, SnapshotManifest, SnapshotWriter, WriterOptions};

pub const TABLE_ID: [u8; 16] = *b"table-id-0123456";

pub fn attributes() -> Vec<(String, ScalarAttributeType)> {
    vec![
        ("pk".to_owned(), ScalarAttributeType::S),
        ("gsi".to_owned(), ScalarAttributeType::B),
    ]
}

pub fn encode_s(s: &str) -> Vec<u8> {
    let mut out = Vec::new();
    KeyValue::S(s).encode(&mut out);
    out
}

/// Rows for distinct key strings (sorted here), with an item and typed values derived from
/// `seed` values so every column varies.
pub fn rows_from(mut entries: Vec<(String, u8)>) -> Vec<Row> {
    entries.sort();
    entries.dedup_by(|a, b| a.0 == b.0);
    entries
        .into_iter()
        .map(|(k, seed)| {
            let key = encode_s(&k);
            let item = format!(
                "{{\"pk\":{{\"S\":{}}},\"v\":{{\"N\":\"{seed}\"}}}}",
                serde_json::to_string(&k).unwrap()
            )
            .into_bytes();
            let gsi = (seed % 3 != 0).then(|| {
                let mut out = Vec::new();
                KeyValue::B(&[seed, seed / 2]).encode(&mut out);
                out
            });
            Row {
                key: key.clone(),
                item,
                attrs: vec![Some(key), gsi],
            }
        })
        .collect()
}

pub fn small_options() -> WriterOptions {
    let mut options = WriterOptions::new(TABLE_ID, 42, attributes());
    options.block_bytes_target = 600;
    options.file_bytes_target = 20 << 10;
    options
}

/// Writes `rows` into `dir` and publishes the manifest.
pub fn write_snapshot(
    io: &Arc<dyn Io>,
    dir: &Path,
    rows: &[Row],
    options: WriterOptions,
) -> Vec<FileEntry> {
    let mut writer = SnapshotWriter::new(Arc::clone(io), dir, "t", options.clone()).unwrap();
    for row in rows {
        writer.push(row).unwrap();
    }
    let entries = writer.finish().unwrap();
    SnapshotManifest::new(options.table_id, options.lsn, entries.clone())
        .publish(&**io, dir)
        .unwrap();
    entries
}

pub fn codecs_variant(options: &mut WriterOptions, n: u8) {
    let pick = |i: u8| match (n / i) % 3 {
        0 => Codec::None,
        1 => Codec::Lz4,
        _ => Codec::Zstd(1),
    };
    options.key_codec = pick(1);
    options.attribute_codec = pick(3);
    options.item_codec = pick(9);
}
