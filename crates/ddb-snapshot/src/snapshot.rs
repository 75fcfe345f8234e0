//! Reading a whole snapshot: the files its manifest names, as one key-ordered sequence.

use std::ops::Bound;
use std::path::Path;
use std::sync::Arc;

use ddb_io::Io;

use crate::error::{Result, SnapshotError};
use crate::manifest::SnapshotManifest;
use crate::reader::SnapshotFile;
use crate::row::{Columns, Row};
use crate::scan::Scan;

/// The files of a published snapshot, opened and checked against the manifest.
#[derive(Debug)]
pub struct SnapshotReader {
    manifest: SnapshotManifest,
    files: Vec<SnapshotFile>,
}

impl SnapshotReader {
    /// Loads the manifest of `dir` and opens every file it names, checking each file's
    /// size, table, LSN, rows and key range against it (the whole-file hash is `verify`'s).
    pub fn open(io: Arc<dyn Io>, dir: &Path) -> Result<Self> {
        Self::open_with(io, dir, false)
    }

    /// [`SnapshotReader::open`] with every file opened for direct I/O
    /// ([`SnapshotFile::open_direct`]).
    pub fn open_direct(io: Arc<dyn Io>, dir: &Path) -> Result<Self> {
        Self::open_with(io, dir, true)
    }

    fn open_with(io: Arc<dyn Io>, dir: &Path, direct: bool) -> Result<Self> {
        let manifest = SnapshotManifest::load(&*io, dir)?;
        let mut files = Vec::with_capacity(manifest.files.len());
        for entry in &manifest.files {
            let path = dir.join(&entry.name);
            let file = if direct {
                SnapshotFile::open_direct(Arc::clone(&io), &path)?
            } else {
                SnapshotFile::open(Arc::clone(&io), &path)?
            };
            let (first, last) = file.key_range();
            if file.size_bytes() != entry.size_bytes
                || file.row_count() != entry.row_count
                || file.table_id() != manifest.table_id
                || file.lsn() != manifest.lsn
                || first != entry.first_key.as_slice()
                || last != entry.last_key.as_slice()
            {
                return Err(SnapshotError::corrupt(
                    file.path(),
                    0,
                    "a file matching its manifest entry (size, rows, table, LSN, keys)",
                    "a different file",
                ));
            }
            files.push(file);
        }
        Ok(Self { manifest, files })
    }

    pub fn manifest(&self) -> &SnapshotManifest {
        &self.manifest
    }

    pub fn files(&self) -> &[SnapshotFile] {
        &self.files
    }

    /// The row with `key`, if any.
    pub fn get(&self, key: &[u8]) -> Result<Option<Row>> {
        let index = self.files.partition_point(|f| f.key_range().1 < key);
        match self.files.get(index) {
            Some(file) => file.get(key),
            None => Ok(None),
        }
    }

    /// Rows in `range` across all files, in key order.
    pub fn scan<'a>(
        &'a self,
        range: (Bound<&'a [u8]>, Bound<&'a [u8]>),
        columns: Columns,
    ) -> impl Iterator<Item = Result<Row>> + 'a {
        self.files
            .iter()
            .flat_map(move |file| -> Scan<'a> { file.scan(range, columns) })
    }
}
