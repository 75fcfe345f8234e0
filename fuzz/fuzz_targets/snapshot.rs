//! Snapshot files and manifests: opening arbitrary bytes as a snapshot file, scanning every
//! row and verifying it never panics, and what a successful scan returns is self-consistent
//! (keys strictly increasing, inside the file's key range, as many rows as the trailer says).
//! Raw bytes also go to the manifest decoder.
#![no_main]

use std::ops::Bound;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use ddb_io::Io;
use ddb_snapshot::{Columns, SnapshotFile, SnapshotManifest, verify};
use libfuzzer_sys::fuzz_target;

#[path = "common/mem_io.rs"]
mod mem_io;
use mem_io::{MemFile, MemIo};

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
