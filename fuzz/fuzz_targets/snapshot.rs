//! Snapshot files and manifests: opening arbitrary bytes as a snapshot file, scanning every
//! row and verifying it never panics, and what a successful scan returns is self-consistent
//! (keys strictly increasing, inside the file's key range, as many rows as the trailer says).
//! Raw bytes also go to the manifest decoder.
#![no_main]

use std::ffi::OsString;
use std::io;
use std::ops::Bound;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use ddb_io::{Io, IoFile, OpenOptions};
use ddb_snapshot::{Columns, SnapshotFile, SnapshotManifest, verify};
use libfuzzer_sys::fuzz_target;

/// A read-only file system holding one file, so the scan reads the input without disk I/O.
#[derive(Debug)]
struct MemIo {
    file: Arc<MemFile>,
}

#[derive(Debug)]
struct MemFile {
    path: PathBuf,
    bytes: Vec<u8>,
}

fn read_only() -> io::Error {
    io::Error::new(
        io::ErrorKind::PermissionDenied,
        "the fuzz file system is read-only",
    )
}

impl IoFile for MemFile {
    fn path(&self) -> &Path {
        &self.path
    }

    fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<usize> {
        let start = usize::try_from(offset)
            .unwrap_or(usize::MAX)
            .min(self.bytes.len());
        let n = buf.len().min(self.bytes.len() - start);
        buf[..n].copy_from_slice(&self.bytes[start..start + n]);
        Ok(n)
    }

    fn write_at(&self, _: &[u8], _: u64) -> io::Result<usize> {
        Err(read_only())
    }

    fn sync_data(&self) -> io::Result<()> {
        Ok(())
    }

    fn sync_all(&self) -> io::Result<()> {
        Ok(())
    }

    fn len(&self) -> io::Result<u64> {
        Ok(self.bytes.len() as u64)
    }

    fn set_len(&self, _: u64) -> io::Result<()> {
        Err(read_only())
    }
}

impl Io for MemIo {
    fn name(&self) -> &'static str {
        "fuzz-mem"
    }

    fn open(&self, path: &Path, _: OpenOptions) -> io::Result<Arc<dyn IoFile>> {
        if path == self.file.path {
            Ok(self.file.clone())
        } else {
            Err(io::Error::new(
                io::ErrorKind::NotFound,
                path.display().to_string(),
            ))
        }
    }

    fn create_dir_all(&self, _: &Path) -> io::Result<()> {
        Err(read_only())
    }

    fn read_dir(&self, _: &Path) -> io::Result<Vec<OsString>> {
        Ok(vec![
            self.file.path.file_name().unwrap_or_default().to_owned(),
        ])
    }

    fn rename(&self, _: &Path, _: &Path) -> io::Result<()> {
        Err(read_only())
    }

    fn remove_file(&self, _: &Path) -> io::Result<()> {
        Err(read_only())
    }

    fn sync_dir(&self, _: &Path) -> io::Result<()> {
        Ok(())
    }

    fn exists(&self, path: &Path) -> io::Result<bool> {
        Ok(path == self.file.path)
    }
}

fuzz_target!(|data: &[u8]| {
    if let Ok(manifest) = SnapshotManifest::decode(Path::new("/fuzz/snapshot.manifest"), data) {
        // What decodes re-encodes, and the re-encoding decodes to the same manifest.
        let again = manifest.encode().expect("a decoded manifest encodes");
        let back = SnapshotManifest::decode(Path::new("/fuzz/snapshot.manifest"), &again)
            .expect("a re-encoded manifest decodes");
        assert_eq!(back, manifest, "manifest round trip");
    }

    let path = PathBuf::from("/fuzz/t-000000.snap");
    let io: Arc<dyn Io> = Arc::new(MemIo {
        file: Arc::new(MemFile {
            path: path.clone(),
            bytes: data.to_vec(),
        }),
    });
    if let Ok(file) = SnapshotFile::open(Arc::clone(&io), &path) {
        assert_eq!(file.size_bytes(), data.len() as u64);
        let (first, last) = file.key_range();
        assert!(first <= last);
        let mut previous: Option<Vec<u8>> = None;
        let mut rows = 0u64;
        let mut clean = true;
        for row in file.scan((Bound::Unbounded, Bound::Unbounded), Columns::ALL) {
            let Ok(row) = row else {
                clean = false;
                break;
            };
            assert!(
                previous.as_deref().is_none_or(|p| p < row.key.as_slice()),
                "key order"
            );
            assert!(
                row.key.as_slice() >= first && row.key.as_slice() <= last,
                "key range"
            );
            assert_eq!(row.attrs.len(), file.attributes().len());
            previous = Some(row.key);
            rows += 1;
        }
        if clean {
            assert_eq!(rows, file.row_count(), "rows");
        }
        for index in 0..file.blocks().len() {
            let _ = file.read_block(index, Columns::KEYS_AND_ATTRS);
        }
        if let Some(key) = previous {
            let _ = file.get(&key);
        }
        let report = verify(Arc::clone(&io), &path, true);
        assert_eq!(report.is_ok(), clean, "deep verify agrees with a full scan");
    }
    let _ = verify(io, &path, true);
});
