//! Direct I/O: files written with `O_DIRECT` are byte-identical to buffered ones, and files
//! opened with `O_DIRECT` return the same rows as buffered opens for full scans, projections,
//! range scans and lookups, on every backend available. Skipped (loudly) where the file system
//! refuses `O_DIRECT` with EINVAL.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::cast_possible_truncation
)]

mod common;

use std::ops::Bound;
use std::path::Path;
use std::sync::Arc;

use common::*;
use ddb_io::{Io, StdIo, UringIo};
use ddb_snapshot::{Columns, Row, SnapshotError, SnapshotManifest, SnapshotReader, SnapshotWriter};

fn backends() -> Vec<Arc<dyn Io>> {
    let mut out: Vec<Arc<dyn Io>> = vec![Arc::new(StdIo::new())];
    match UringIo::new() {
        Ok(uring) => out.push(Arc::new(uring)),
        Err(e) => eprintln!("io_uring unavailable, testing std only: {e}"),
    }
    out
}

fn refused(e: &SnapshotError) -> bool {
    matches!(e, SnapshotError::Io(io) if io.kind() == std::io::ErrorKind::InvalidInput)
}

fn rows() -> Vec<Row> {
    rows_from(
        (0..3000u32)
            .map(|i| (format!("k{:05}", i * 7 % 3001), (i % 251) as u8))
            .collect(),
    )
}

/// Writes `rows` to `dir` (direct or not), publishes the manifest; `None` if O_DIRECT is
/// refused.
fn write(io: &Arc<dyn Io>, dir: &Path, rows: &[Row], direct: bool) -> Option<()> {
    let mut options = small_options();
    options.block_bytes_target = 8 << 10;
    options.file_bytes_target = 20 << 10;
    let writer = SnapshotWriter::new(Arc::clone(io), dir, "t", options.clone())
        .unwrap()
        .with_direct_io(direct);
    let mut writer = writer;
    for row in rows {
        match writer.push(row) {
            Ok(()) => {}
            Err(e) if refused(&e) => return None,
            Err(e) => panic!("{e}"),
        }
    }
    let entries = match writer.finish() {
        Ok(entries) => entries,
        Err(e) if refused(&e) => return None,
        Err(e) => panic!("{e}"),
    };
    SnapshotManifest::new(options.table_id, options.lsn, entries)
        .publish(&**io, dir)
        .unwrap();
    Some(())
}

#[test]
fn direct_writes_and_reads_match_buffered_ones() {
    let rows = rows();
    for io in backends() {
        let base = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
        let buffered_dir = base.path().join("buffered");
        let direct_dir = base.path().join("direct");
        std::fs::create_dir(&buffered_dir).unwrap();
        std::fs::create_dir(&direct_dir).unwrap();
        write(&io, &buffered_dir, &rows, false).unwrap();
        if write(&io, &direct_dir, &rows, true).is_none() {
            eprintln!(
                "SKIPPED ({}): the file system under {} refuses O_DIRECT (EINVAL)",
                io.name(),
                base.path().display()
            );
            return;
        }
        // Byte-identical files, manifest included.
        let names = io.read_dir(&buffered_dir).unwrap();
        assert!(names.len() > 3, "{names:?}");
        assert_eq!(names, io.read_dir(&direct_dir).unwrap());
        for name in &names {
            assert_eq!(
                std::fs::read(buffered_dir.join(name)).unwrap(),
                std::fs::read(direct_dir.join(name)).unwrap(),
                "{name:?}"
            );
        }

        let buffered = SnapshotReader::open(Arc::clone(&io), &direct_dir).unwrap();
        let direct = match SnapshotReader::open_direct(Arc::clone(&io), &direct_dir) {
            Ok(r) => r,
            Err(e) if refused(&e) => {
                eprintln!("SKIPPED ({}): O_DIRECT reads refused: {e}", io.name());
                return;
            }
            Err(e) => panic!("{e}"),
        };
        let files = direct.manifest().files.len();
        assert!((0..files).all(|i| direct.open_file(i).unwrap().is_direct()));
        let all = (Bound::Unbounded, Bound::Unbounded);
        let from = rows[700].key.clone();
        let to = rows[2100].key.clone();
        let some = (
            Bound::Excluded(from.as_slice()),
            Bound::Included(to.as_slice()),
        );
        for columns in [
            Columns::ALL,
            Columns::KEYS,
            Columns::KEYS_AND_ATTRS,
            Columns::KEYS_AND_ITEM,
        ] {
            for range in [all, some] {
                let want: Vec<Row> = buffered.scan(range, columns).map(Result::unwrap).collect();
                let got: Vec<Row> = direct.scan(range, columns).map(Result::unwrap).collect();
                assert_eq!(got, want, "{} {columns:?}", io.name());
            }
        }
        let full: Vec<Row> = direct.scan(all, Columns::ALL).map(Result::unwrap).collect();
        assert_eq!(full, rows);
        for row in rows.iter().step_by(97) {
            assert_eq!(direct.get(&row.key).unwrap().as_ref(), Some(row));
        }
        assert_eq!(direct.get(b"\xff\xff").unwrap(), None);
    }
}
