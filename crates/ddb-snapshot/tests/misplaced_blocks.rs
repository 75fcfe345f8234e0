//! Damage that moves valid bytes rather than flipping bits: two blocks of a file swapped in
//! place, a block copied from another snapshot file, a listed file replaced by another valid
//! snapshot file, and a manifest whose table or LSN disagrees with a file's header. Each is a
//! named corruption (file and offset); readers never return rows from the wrong position.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::cast_possible_truncation
)]

mod common;

use std::ops::Bound;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use common::*;
use ddb_io::{Io, StdIo};
use ddb_snapshot::format::Trailer;
use ddb_snapshot::{
    Codec, Columns, Footer, MANIFEST_FILE_NAME, Row, SnapshotError, SnapshotFile, SnapshotManifest,
    SnapshotReader, verify,
};

fn io() -> Arc<dyn Io> {
    Arc::new(StdIo::new())
}

/// 24 rows whose every column value has the same width, so that with no compression all
/// blocks holding the same number of rows have chunks of equal stored sizes. `prefix` (3
/// bytes) sets the keys, `tag` (one digit) the items.
fn fixed_rows(prefix: &str, tag: u8) -> Vec<Row> {
    (0..24u8)
        .map(|i| {
            let name = format!("{prefix}{i:02}");
            let key = encode_s(&name);
            Row {
                key: key.clone(),
                item: format!("{{\"pk\":{{\"S\":\"{name}\"}},\"v\":{{\"N\":\"{tag}{i:02}\"}}}}")
                    .into_bytes(),
                attrs: vec![Some(key), None],
            }
        })
        .collect()
}

/// Writes `rows` as one uncompressed file in `dir` (with its manifest); returns its path.
fn write_fixed(dir: &Path, rows: &[Row], table_id: [u8; 16], lsn: u64) -> PathBuf {
    std::fs::create_dir_all(dir).unwrap();
    let mut options = small_options();
    options.table_id = table_id;
    options.lsn = lsn;
    options.block_bytes_target = 300;
    options.file_bytes_target = 1 << 30;
    (
        options.key_codec,
        options.attribute_codec,
        options.item_codec,
    ) = (Codec::None, Codec::None, Codec::None);
    let files = write_snapshot(&io(), dir, rows, options);
    assert_eq!(files.len(), 1);
    dir.join(&files[0].name)
}

fn blocks_of(path: &Path) -> Vec<ddb_snapshot::BlockMeta> {
    SnapshotFile::open(io(), path).unwrap().blocks().to_vec()
}

/// The offsets deep verification names, each error naming `path`.
fn named_offsets(path: &Path, target: &Path) -> Vec<u64> {
    verify(io(), target, true)
        .errors
        .iter()
        .map(|e| match e {
            SnapshotError::Corrupt {
                path: p, offset, ..
            } => {
                assert_eq!(p, path, "{e}");
                *offset
            }
            other => panic!("expected a corruption, got {other:?}"),
        })
        .collect()
}

/// Reads `path` every way (full scan, projections, point lookups): each row returned is the
/// one `rows` has at that position; a full scan fails, and neither it nor a lookup returns a
/// row of `damaged_keys` (projections may return those whose selected chunks are intact).
fn assert_never_wrong_rows(path: &Path, rows: &[Row], damaged_keys: &[Vec<u8>]) {
    let file = SnapshotFile::open(io(), path).unwrap();
    let all = (Bound::Unbounded, Bound::Unbounded);
    for columns in [Columns::ALL, Columns::KEYS_AND_ATTRS, Columns::KEYS] {
        let mut failed = false;
        for (i, got) in file.scan(all, columns).enumerate() {
            match got {
                Ok(row) => {
                    assert_eq!(row.key, rows[i].key, "{columns:?} row {i}");
                    if columns == Columns::ALL {
                        assert!(!damaged_keys.contains(&row.key), "row {i}");
                    }
                    if columns.item {
                        assert_eq!(row.item, rows[i].item, "{columns:?} row {i}");
                    }
                    if columns.attrs {
                        assert_eq!(row.attrs, rows[i].attrs, "{columns:?} row {i}");
                    }
                }
                Err(SnapshotError::Corrupt { path: p, .. }) => {
                    assert_eq!(p, path);
                    failed = true;
                    break;
                }
                Err(other) => panic!("{other:?}"),
            }
        }
        assert!(
            failed || columns != Columns::ALL,
            "full scan over damaged blocks succeeded"
        );
    }
    for row in rows {
        match file.get(&row.key) {
            Ok(got) => {
                assert!(
                    !damaged_keys.contains(&row.key),
                    "get returned a damaged row"
                );
                assert_eq!(got.as_ref(), Some(row));
            }
            Err(SnapshotError::Corrupt { path: p, .. }) => assert_eq!(p, path),
            Err(other) => panic!("{other:?}"),
        }
    }
}

/// Re-encodes the footer of `bytes` after `edit`, with a matching trailer.
fn edit_footer(path: &Path, bytes: &[u8], edit: impl Fn(&mut Footer)) -> Vec<u8> {
    let file = SnapshotFile::open(io(), path).unwrap();
    let mut footer = Footer {
        attributes: file.attributes().to_vec(),
        blocks: file.blocks().to_vec(),
    };
    edit(&mut footer);
    let encoded = footer.encode();
    let trailer = Trailer {
        footer_offset: file.footer_offset(),
        footer_bytes: encoded.len() as u64,
        footer_checksum: xxhash_rust::xxh3::xxh3_64(&encoded),
        row_count: file.row_count(),
        block_count: footer.blocks.len() as u32,
        attribute_count: footer.attributes.len() as u32,
    };
    let mut out = bytes[..file.footer_offset() as usize].to_vec();
    out.extend_from_slice(&encoded);
    out.extend_from_slice(&trailer.encode());
    out
}

fn block_keys(rows: &[Row], blocks: &[ddb_snapshot::BlockMeta], which: &[usize]) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let mut start = 0usize;
    for (i, b) in blocks.iter().enumerate() {
        let end = start + b.row_count as usize;
        if which.contains(&i) {
            out.extend(rows[start..end].iter().map(|r| r.key.clone()));
        }
        start = end;
    }
    out
}

#[test]
fn two_blocks_swapped_in_place_are_named_and_never_read_as_rows() {
    let dir = tempfile::tempdir().unwrap();
    let rows = fixed_rows("key", 1);
    let path = write_fixed(dir.path(), &rows, TABLE_ID, 42);
    let blocks = blocks_of(&path);
    assert!(blocks.len() >= 3, "{} blocks", blocks.len());
    let (b0, b1) = (&blocks[0], &blocks[1]);
    assert_eq!(b0.row_count, b1.row_count);
    let sizes = |b: &ddb_snapshot::BlockMeta| {
        b.chunks
            .iter()
            .map(|c| c.stored_bytes)
            .collect::<Vec<u32>>()
    };
    assert_eq!(sizes(b0), sizes(b1), "blocks 0 and 1 differ in size");
    let clean = std::fs::read(&path).unwrap();
    let len = (b0.end() - b0.offset) as usize;
    let (at0, at1) = (b0.offset as usize, b1.offset as usize);
    let mut swapped = clean.clone();
    swapped[at0..at0 + len].copy_from_slice(&clean[at1..at1 + len]);
    swapped[at1..at1 + len].copy_from_slice(&clean[at0..at0 + len]);
    assert_ne!(swapped, clean);
    let damaged = block_keys(&rows, &blocks, &[0, 1]);

    // The footer kept: each block fails its key chunk's checksum, named at the block.
    std::fs::write(&path, &swapped).unwrap();
    assert_eq!(named_offsets(&path, &path), vec![b0.offset, b1.offset]);
    assert_never_wrong_rows(&path, &rows, &damaged);

    // The chunk descriptors swapped too (footer re-checksummed): the checksums now pass, and
    // the keys no longer match the block index's first and last key.
    std::fs::write(&path, &clean).unwrap();
    let both = edit_footer(&path, &swapped, |f| {
        let chunks0 = f.blocks[0].chunks.clone();
        f.blocks[0].chunks = f.blocks[1].chunks.clone();
        f.blocks[1].chunks = chunks0;
    });
    std::fs::write(&path, &both).unwrap();
    assert!(SnapshotFile::open(io(), &path).is_ok());
    assert_eq!(named_offsets(&path, &path), vec![b0.offset, b1.offset]);
    assert_never_wrong_rows(&path, &rows, &damaged);
}

#[test]
fn a_block_from_another_file_is_named_at_the_block() {
    let dir = tempfile::tempdir().unwrap();
    let rows = fixed_rows("key", 1);
    let path = write_fixed(&dir.path().join("a"), &rows, TABLE_ID, 42);
    let blocks = blocks_of(&path);
    let clean = std::fs::read(&path).unwrap();
    let b1 = &blocks[1];
    let (start, end) = (b1.offset as usize, b1.end() as usize);
    let damaged = block_keys(&rows, &blocks, &[1]);

    // Another table and LSN, other keys: the key chunk fails, named at the block's offset.
    // Same keys, other items: key and typed chunks are identical, the item chunk fails.
    let other_table = *b"another-table-id";
    let cases = [
        ("kez", 1, b1.offset),
        ("key", 2, b1.chunk_offset(b1.chunks.len() - 1)),
    ];
    for (n, (prefix, tag, expected)) in cases.into_iter().enumerate() {
        let other_dir = dir.path().join(format!("other{n}"));
        let other = write_fixed(&other_dir, &fixed_rows(prefix, tag), other_table, 43);
        let other_blocks = blocks_of(&other);
        assert_eq!(other_blocks[1].offset, b1.offset);
        assert_eq!(other_blocks[1].end(), b1.end());
        let foreign = std::fs::read(&other).unwrap();
        let mut bytes = clean.clone();
        bytes[start..end].copy_from_slice(&foreign[start..end]);
        std::fs::write(&path, &bytes).unwrap();
        assert_eq!(named_offsets(&path, &path), vec![expected], "{prefix}{tag}");
        assert_never_wrong_rows(&path, &rows, &damaged);
        // The snapshot (manifest of `a`) fails on the whole-file hash, naming the file.
        assert_eq!(named_offsets(&path, &dir.path().join("a")), vec![0]);
    }

    // A block of another table's file holding the same rows is byte-identical: copying it
    // changes nothing, so there is nothing to detect and no wrong row to return.
    let same = write_fixed(&dir.path().join("same"), &rows, other_table, 43);
    let foreign = std::fs::read(&same).unwrap();
    assert_eq!(foreign[start..end], clean[start..end]);
}

#[test]
fn a_listed_file_replaced_by_another_valid_file_fails_the_hash() {
    let dir = tempfile::tempdir().unwrap();
    let a = write_fixed(&dir.path().join("a"), &fixed_rows("key", 1), TABLE_ID, 42);
    // Same table, LSN, keys, row count and size: only the items differ.
    let b = write_fixed(&dir.path().join("b"), &fixed_rows("key", 2), TABLE_ID, 42);
    let (bytes_a, bytes_b) = (std::fs::read(&a).unwrap(), std::fs::read(&b).unwrap());
    assert_eq!(bytes_a.len(), bytes_b.len());
    assert_ne!(bytes_a, bytes_b);
    std::fs::copy(&b, &a).unwrap();
    // The replacement is a valid file on its own.
    assert!(verify(io(), &a, true).is_ok());
    for deep in [false, true] {
        let report = verify(io(), &dir.path().join("a"), deep);
        let [
            SnapshotError::Corrupt {
                path,
                offset: 0,
                expected,
                ..
            },
        ] = report.errors.as_slice()
        else {
            panic!("deep {deep}: {:?}", report.errors);
        };
        assert_eq!(path, &a);
        assert!(expected.starts_with("xxh3-128 "), "{expected}");
    }
}

type ManifestEdit = fn(&mut SnapshotManifest);

/// Rewrites the manifest of `dir` with `edit` applied, checksum recomputed.
fn rewrite_manifest(dir: &Path, edit: impl Fn(&mut SnapshotManifest)) {
    let mut manifest = SnapshotManifest::load(&*io(), dir).unwrap();
    edit(&mut manifest);
    std::fs::write(dir.join(MANIFEST_FILE_NAME), manifest.encode().unwrap()).unwrap();
}

#[test]
fn a_manifest_disagreeing_with_a_file_header_is_named_at_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_fixed(dir.path(), &fixed_rows("key", 1), TABLE_ID, 42);
    let clean = std::fs::read(dir.path().join(MANIFEST_FILE_NAME)).unwrap();
    let edits: [(&str, ManifestEdit); 2] = [
        ("LSN 42", |m| m.lsn = 43),
        ("table 7461626c652d69642d30313233343536", |m| {
            m.table_id = *b"another-table-id"
        }),
    ];
    for (found_in_file, edit) in edits {
        std::fs::write(dir.path().join(MANIFEST_FILE_NAME), &clean).unwrap();
        rewrite_manifest(dir.path(), edit);
        // The manifest itself is valid.
        assert!(SnapshotManifest::load(&*io(), dir.path()).is_ok());
        for deep in [false, true] {
            let report = verify(io(), dir.path(), deep);
            let [
                SnapshotError::Corrupt {
                    path: p,
                    offset: 0,
                    found,
                    ..
                },
            ] = report.errors.as_slice()
            else {
                panic!("{found_in_file}: {:?}", report.errors);
            };
            assert_eq!(p, &path);
            assert!(found.contains(found_in_file), "{found}");
        }
        match SnapshotReader::open(io(), dir.path()) {
            Err(SnapshotError::Corrupt {
                path: p, offset: 0, ..
            }) => assert_eq!(p, path),
            other => panic!("{found_in_file}: {other:?}"),
        }
    }
}
