//! Damage: one flipped bit at every byte offset of a small snapshot file and of its manifest
//! is reported by deep verification (naming the file and an offset inside the damaged
//! structure), and readers then return an error or the right data, never wrong data, never a
//! panic. A file truncated at any block boundary is an error.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::cast_possible_truncation
)]

mod common;

use std::ops::{Bound, Range};
use std::os::unix::fs::FileExt;
use std::path::Path;
use std::sync::Arc;

use common::*;
use ddb_io::{Io, StdIo};
use ddb_snapshot::format::{HEADER_BYTES, TRAILER_BYTES};
use ddb_snapshot::{
    Columns, Damage, MANIFEST_FILE_NAME, Row, SnapshotError, SnapshotFile, SnapshotReader, verify,
};

/// A snapshot of one file with a few blocks, and its rows.
fn small_snapshot(io: &Arc<dyn Io>, dir: &Path) -> (Vec<Row>, String) {
    let entries = (0..24u8).map(|i| (format!("key{i:02}"), i)).collect();
    let rows = rows_from(entries);
    let mut options = small_options();
    options.block_bytes_target = 700;
    options.file_bytes_target = 1 << 30;
    let files = write_snapshot(io, dir, &rows, options);
    assert_eq!(files.len(), 1);
    (rows, files[0].name.clone())
}

/// The structures of a clean file: each a byte range that one error offset must fall in.
/// Padding bytes are single-byte structures (the error names the exact byte).
fn structures(file: &SnapshotFile, len: u64) -> Vec<Range<u64>> {
    let mut out: Vec<Range<u64>> = Vec::new();
    out.push(0..HEADER_BYTES as u64);
    out.extend((HEADER_BYTES as u64..4096).map(|b| b..b + 1));
    for block in file.blocks() {
        for c in 0..block.chunks.len() {
            out.push(block.chunk_offset(c)..block.chunk_offset(c + 1));
        }
        let padded = block.end().next_multiple_of(4096);
        out.extend((block.end()..padded).map(|b| b..b + 1));
    }
    out.push(file.footer_offset()..len - TRAILER_BYTES as u64);
    out.push(len - TRAILER_BYTES as u64..len);
    out
}

fn full_scan(io: &Arc<dyn Io>, path: &Path) -> Result<Vec<Row>, SnapshotError> {
    let file = SnapshotFile::open(Arc::clone(io), path)?;
    file.scan((Bound::Unbounded, Bound::Unbounded), Columns::ALL)
        .collect()
}

#[test]
fn every_flipped_bit_of_a_file_is_reported_where_it_is() {
    let dir = tempfile::tempdir().unwrap();
    let io: Arc<dyn Io> = Arc::new(StdIo::new());
    let (rows, name) = small_snapshot(&io, dir.path());
    let path = dir.path().join(&name);
    let clean = std::fs::read(&path).unwrap();
    let len = clean.len() as u64;
    let file = SnapshotFile::open(Arc::clone(&io), &path).unwrap();
    assert!(file.blocks().len() >= 3, "{} blocks", file.blocks().len());
    let structures = structures(&file, len);
    // Every byte belongs to exactly one structure: nothing unaccounted for.
    let covered: u64 = structures.iter().map(|r| r.end - r.start).sum();
    assert_eq!(covered, len);
    drop(file);

    // The flip is written in place and undone after each round: rewriting the whole file
    // (truncate, then write) makes some file systems flush it on close, which dominated the
    // test's time.
    let handle = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
    for offset in 0..clean.len() {
        let flipped = clean[offset] ^ (1 << (offset % 8));
        handle.write_all_at(&[flipped], offset as u64).unwrap();
        let damaged = structures
            .iter()
            .find(|r| r.contains(&(offset as u64)))
            .unwrap();

        let report = verify(Arc::clone(&io), &path, true);
        let [
            SnapshotError::Corrupt {
                path: at,
                offset: named,
                ..
            },
        ] = report.errors.as_slice()
        else {
            panic!(
                "flip at {offset}: expected one corruption, got {:?}",
                report.errors
            );
        };
        assert_eq!(at, &path);
        assert!(
            damaged.contains(named),
            "flip at {offset} in {damaged:?} reported at {named}: {:?}",
            report.errors
        );

        assert!(
            full_scan(&io, &path).is_err(),
            "flip at {offset}: full scan succeeded"
        );
        // Lookups and projections may avoid the damaged bytes, but never return wrong rows.
        if let Ok(file) = SnapshotFile::open(Arc::clone(&io), &path) {
            for row in rows.iter().step_by(5) {
                if let Ok(got) = file.get(&row.key) {
                    assert_eq!(got.as_ref(), Some(row), "flip at {offset}");
                }
            }
            let projected: Result<Vec<Row>, _> = file
                .scan(
                    (Bound::Unbounded, Bound::Unbounded),
                    Columns::KEYS_AND_ATTRS,
                )
                .collect();
            if let Ok(projected) = projected {
                assert_eq!(projected.len(), rows.len(), "flip at {offset}");
                for (got, want) in projected.iter().zip(&rows) {
                    assert_eq!((&got.key, &got.attrs), (&want.key, &want.attrs));
                }
            }
        }
        handle
            .write_all_at(&clean[offset..=offset], offset as u64)
            .unwrap();
    }
    assert_eq!(std::fs::read(&path).unwrap(), clean);
}

#[test]
fn every_flipped_bit_of_a_manifest_is_reported() {
    let dir = tempfile::tempdir().unwrap();
    let io: Arc<dyn Io> = Arc::new(StdIo::new());
    small_snapshot(&io, dir.path());
    let path = dir.path().join(MANIFEST_FILE_NAME);
    let clean = std::fs::read(&path).unwrap();
    assert!(verify(Arc::clone(&io), dir.path(), true).is_ok());
    for offset in 0..clean.len() {
        let mut bytes = clean.clone();
        bytes[offset] ^= 1 << (offset % 8);
        std::fs::write(&path, &bytes).unwrap();
        let report = verify(Arc::clone(&io), dir.path(), true);
        let [
            SnapshotError::Corrupt {
                path: at,
                offset: named,
                ..
            },
        ] = report.errors.as_slice()
        else {
            panic!(
                "flip at {offset}: expected one corruption, got {:?}",
                report.errors
            );
        };
        assert_eq!(at, &path);
        assert!(*named < clean.len() as u64);
        assert!(SnapshotReader::open(Arc::clone(&io), dir.path()).is_err());
    }
}

#[test]
fn a_flipped_bit_in_a_listed_file_fails_the_snapshot_hash() {
    let dir = tempfile::tempdir().unwrap();
    let io: Arc<dyn Io> = Arc::new(StdIo::new());
    let (_, name) = small_snapshot(&io, dir.path());
    let path = dir.path().join(&name);
    let clean = std::fs::read(&path).unwrap();
    // Padding after the header: no reader needs those bytes, only the hash and deep checks.
    for offset in [100usize, 4095, clean.len() - 1] {
        let mut bytes = clean.clone();
        bytes[offset] ^= 0x10;
        std::fs::write(&path, &bytes).unwrap();
        let report = verify(Arc::clone(&io), dir.path(), false);
        assert_eq!(
            report.errors.len(),
            1,
            "flip at {offset}: {:?}",
            report.errors
        );
        assert!(matches!(&report.errors[0], SnapshotError::Corrupt { path: p, .. } if *p == path));
    }
}

#[test]
fn truncation_at_every_block_boundary_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let io: Arc<dyn Io> = Arc::new(StdIo::new());
    let (_, name) = small_snapshot(&io, dir.path());
    let path = dir.path().join(&name);
    let clean = std::fs::read(&path).unwrap();
    let file = SnapshotFile::open(Arc::clone(&io), &path).unwrap();
    let mut cuts: Vec<u64> = vec![0, 64, 4096, file.footer_offset()];
    for block in file.blocks() {
        cuts.push(block.offset);
        cuts.push(block.end());
        cuts.push(block.end().next_multiple_of(4096));
    }
    cuts.push(clean.len() as u64 - TRAILER_BYTES as u64);
    cuts.push(clean.len() as u64 - 1);
    drop(file);
    for cut in cuts {
        std::fs::write(&path, &clean[..cut as usize]).unwrap();
        assert!(
            SnapshotFile::open(Arc::clone(&io), &path).is_err(),
            "cut at {cut}"
        );
        assert!(
            !verify(Arc::clone(&io), &path, true).is_ok(),
            "cut at {cut}"
        );
        assert!(
            !verify(Arc::clone(&io), dir.path(), false).is_ok(),
            "cut at {cut}"
        );
    }
}

#[test]
fn verify_reports_every_damaged_block_in_file_order() {
    let dir = tempfile::tempdir().unwrap();
    let io: Arc<dyn Io> = Arc::new(StdIo::new());
    let (_, name) = small_snapshot(&io, dir.path());
    let path = dir.path().join(&name);
    let mut bytes = std::fs::read(&path).unwrap();
    let file = SnapshotFile::open(Arc::clone(&io), &path).unwrap();
    let blocks = file.blocks().to_vec();
    drop(file);
    assert!(blocks.len() >= 3);
    // Damage the item chunk of the first block, the padding after the second, and the key
    // chunk of the last.
    let first = blocks[0].chunk_offset(blocks[0].chunks.len() - 1);
    let second = blocks[1].end();
    let last = blocks[blocks.len() - 1].offset;
    for at in [first, second, last] {
        bytes[at as usize] ^= 0x04;
    }
    std::fs::write(&path, &bytes).unwrap();
    // Deep verification decodes every block; plain verification of a lone file checks every
    // chunk's checksum and every padding byte: both name the same three places.
    for deep in [true, false] {
        let report = verify(Arc::clone(&io), &path, deep);
        let named: Vec<(Damage, u64)> = report
            .errors
            .iter()
            .map(|e| match e {
                SnapshotError::Corrupt {
                    path: p,
                    damage,
                    offset,
                    ..
                } => {
                    assert_eq!(p, &path);
                    (*damage, *offset)
                }
                other => panic!("{other:?}"),
            })
            .collect();
        let expected = vec![
            (Damage::Chunk, first),
            (Damage::Padding, second),
            (Damage::Chunk, last),
        ];
        assert_eq!(named, expected, "deep {deep}: {:?}", report.errors);
    }
}
