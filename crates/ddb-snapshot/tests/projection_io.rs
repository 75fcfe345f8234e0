//! A projected scan reads only the selected column chunks: counted at the `Io` boundary, it
//! reads fewer bytes than a full scan, and keys-only reads no item bytes at all.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::cast_possible_truncation
)]

mod common;

use std::ffi::OsString;
use std::io;
use std::ops::Bound;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use common::*;
use ddb_io::{Io, IoFile, OpenOptions, StdIo};
use ddb_snapshot::{Columns, Row, SnapshotFile};

/// Counts the bytes every file opened through it returns from reads.
#[derive(Debug, Default)]
struct CountingIo {
    inner: StdIo,
    read_bytes: Arc<AtomicU64>,
}

#[derive(Debug)]
struct CountingFile {
    inner: Arc<dyn IoFile>,
    read_bytes: Arc<AtomicU64>,
}

impl IoFile for CountingFile {
    fn path(&self) -> &Path {
        self.inner.path()
    }
    fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<usize> {
        let n = self.inner.read_at(buf, offset)?;
        self.read_bytes.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
    fn write_at(&self, buf: &[u8], offset: u64) -> io::Result<usize> {
        self.inner.write_at(buf, offset)
    }
    fn sync_data(&self) -> io::Result<()> {
        self.inner.sync_data()
    }
    fn sync_all(&self) -> io::Result<()> {
        self.inner.sync_all()
    }
    fn len(&self) -> io::Result<u64> {
        self.inner.len()
    }
    fn set_len(&self, len: u64) -> io::Result<()> {
        self.inner.set_len(len)
    }
}

impl Io for CountingIo {
    fn name(&self) -> &'static str {
        "counting"
    }
    fn open(&self, path: &Path, options: OpenOptions) -> io::Result<Arc<dyn IoFile>> {
        Ok(Arc::new(CountingFile {
            inner: self.inner.open(path, options)?,
            read_bytes: Arc::clone(&self.read_bytes),
        }))
    }
    fn create_dir_all(&self, path: &Path) -> io::Result<()> {
        self.inner.create_dir_all(path)
    }
    fn read_dir(&self, path: &Path) -> io::Result<Vec<OsString>> {
        self.inner.read_dir(path)
    }
    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        self.inner.rename(from, to)
    }
    fn remove_file(&self, path: &Path) -> io::Result<()> {
        self.inner.remove_file(path)
    }
    fn remove_dir(&self, path: &Path) -> io::Result<()> {
        self.inner.remove_dir(path)
    }
    fn sync_dir(&self, path: &Path) -> io::Result<()> {
        self.inner.sync_dir(path)
    }
    fn exists(&self, path: &Path) -> io::Result<bool> {
        self.inner.exists(path)
    }
}

#[test]
fn projected_scans_read_fewer_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let counting = Arc::new(CountingIo::default());
    let io: Arc<dyn Io> = counting.clone();
    let entries = (0..2000u32)
        .map(|i| (format!("k{i:05}"), (i % 251) as u8))
        .collect();
    let rows = rows_from(entries);
    let mut options = small_options();
    // Large enough blocks that a block's chunks are far bigger than its padding.
    options.block_bytes_target = 64 << 10;
    options.file_bytes_target = 1 << 30;
    options.item_codec = ddb_snapshot::Codec::None;
    let files = write_snapshot(&io, dir.path(), &rows, options);
    let path = dir.path().join(&files[0].name);
    let file = SnapshotFile::open(Arc::clone(&io), &path).unwrap();

    let read = |columns: Columns| {
        let before = counting.read_bytes.load(Ordering::Relaxed);
        let n = file
            .scan((Bound::Unbounded, Bound::Unbounded), columns)
            .map(Result::unwrap)
            .count();
        assert_eq!(n, rows.len());
        counting.read_bytes.load(Ordering::Relaxed) - before
    };
    let all = read(Columns::ALL);
    let keys = read(Columns::KEYS);
    let keys_attrs = read(Columns::KEYS_AND_ATTRS);
    let keys_item = read(Columns::KEYS_AND_ITEM);

    // The selected chunks' bytes are a lower bound; what is read is exactly the 4 KiB-aligned
    // range around each run of adjacent selected chunks (O_DIRECT-able), nothing else.
    let chunk_bytes = |wanted: &dyn Fn(usize, usize) -> bool| -> u64 {
        file.blocks()
            .iter()
            .map(|b| {
                (0..b.chunks.len())
                    .filter(|&c| wanted(c, b.chunks.len()))
                    .map(|c| u64::from(b.chunks[c].stored_bytes))
                    .sum::<u64>()
            })
            .sum()
    };
    let aligned_bytes = |wanted: &dyn Fn(usize, usize) -> bool| -> u64 {
        file.blocks()
            .iter()
            .map(|b| {
                let n = b.chunks.len();
                let mut runs: Vec<(usize, usize)> = Vec::new();
                for c in (0..n).filter(|&c| wanted(c, n)) {
                    match runs.last_mut() {
                        Some((_, end)) if *end == c => *end = c + 1,
                        _ => runs.push((c, c + 1)),
                    }
                }
                runs.iter()
                    .map(|&(first, end)| {
                        let from = b.chunk_offset(first) / 4096 * 4096;
                        b.chunk_offset(end).next_multiple_of(4096) - from
                    })
                    .sum::<u64>()
            })
            .sum()
    };
    let key_cols = |c: usize, _: usize| c == 0;
    let attr_cols = |c: usize, n: usize| c + 1 < n;
    let item_cols = |c: usize, n: usize| c == 0 || c + 1 == n;
    for (read, wanted) in [
        (keys, &key_cols as &dyn Fn(usize, usize) -> bool),
        (keys_attrs, &attr_cols),
        (keys_item, &item_cols),
    ] {
        assert!(read >= chunk_bytes(wanted), "{read}");
        assert_eq!(read, aligned_bytes(wanted));
    }
    assert!(keys < keys_attrs && keys_attrs < all && keys_item < all);
    // Far below a full scan: the item chunks dominate.
    assert!(keys_attrs * 2 < all, "{keys_attrs} of {all}");
    // Point lookups read the aligned range around their block only.
    let before = counting.read_bytes.load(Ordering::Relaxed);
    let row = &rows[rows.len() / 2];
    assert_eq!(file.get(&row.key).unwrap().as_ref(), Some(row));
    let got = counting.read_bytes.load(Ordering::Relaxed) - before;
    let block = file
        .blocks()
        .iter()
        .find(|b| b.first_key <= row.key && row.key <= b.last_key)
        .unwrap();
    assert_eq!(got, block.end().next_multiple_of(4096) - block.offset);
    // A lookup with fewer columns returns just those, from the same one read.
    let keys_and_item = file.get_columns(&row.key, Columns::KEYS_AND_ITEM).unwrap();
    let expected = Row {
        attrs: Vec::new(),
        ..row.clone()
    };
    assert_eq!(keys_and_item, Some(expected));
    let keys_only = file.get_columns(&row.key, Columns::KEYS).unwrap().unwrap();
    assert!(keys_only.item.is_empty() && keys_only.attrs.is_empty());
    assert_eq!(keys_only.key, row.key);
    // A key inside a block's range that is not in the file: no row.
    let mut absent = row.key.clone();
    absent.push(0);
    assert!(rows.binary_search_by(|r| r.key.cmp(&absent)).is_err());
    assert_eq!(file.get(&absent).unwrap(), None);
    // At least every block byte. (ddb-io's SyncChunkReader asks the kernel for a whole buffer
    // and may return bytes past the end of the range, here the footer: hence not equality.)
    assert!(all >= file.footer_offset() - 4096);
}
