//! Reading a whole snapshot: the files its manifest names, as one key-ordered sequence.
//!
//! Memory does not grow with the snapshot: the reader holds the manifest (a few hundred bytes
//! a file) and opens a file — decoding its block index — only while it is being read. Scans
//! open each file in turn and close it when they move on; point lookups keep the few files
//! they touched last open ([`OPEN_FILES_CACHED`]).

use std::collections::VecDeque;
use std::ops::Bound;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};

use ddb_io::Io;
use ddb_model::ScalarAttributeType;

use crate::error::{Damage, Result, SnapshotError};
use crate::manifest::{FileEntry, SnapshotManifest, hex};
use crate::reader::SnapshotFile;
use crate::row::{Columns, Row};

/// Files a reader keeps open for point lookups.
pub const OPEN_FILES_CACHED: usize = 4;

/// A published snapshot: its checked manifest, and its files opened on demand, each checked
/// against its manifest entry when opened.
pub struct SnapshotReader {
    io: Arc<dyn Io>,
    dir: PathBuf,
    manifest: SnapshotManifest,
    direct: bool,
    /// The typed attribute columns of the first file (`None`: no files).
    attributes: Option<Vec<(String, ScalarAttributeType)>>,
    /// The files point lookups opened last, by index, most recent last.
    cached: Mutex<VecDeque<(usize, Arc<SnapshotFile>)>>,
}

impl std::fmt::Debug for SnapshotReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SnapshotReader")
            .field("dir", &self.dir)
            .field("lsn", &self.manifest.lsn)
            .field("files", &self.manifest.files.len())
            .finish_non_exhaustive()
    }
}

impl SnapshotReader {
    /// Loads the manifest of `dir` and opens every file it names once, checking each against
    /// its entry (size, table, LSN, rows, key range and footer checksum; see
    /// [`SnapshotReader::open_file`]), so that a missing or replaced file is reported here.
    /// The files are closed again; reads open them as needed.
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
        let mut reader = Self {
            io,
            dir: dir.to_path_buf(),
            manifest,
            direct,
            attributes: None,
            cached: Mutex::new(VecDeque::new()),
        };
        for index in 0..reader.manifest.files.len() {
            let file = reader.open_file(index)?;
            if index == 0 {
                reader.attributes = Some(file.attributes().to_vec());
            }
        }
        Ok(reader)
    }

    pub fn manifest(&self) -> &SnapshotManifest {
        &self.manifest
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The typed attribute columns (of the first file; `None` if the snapshot has no files).
    pub fn attributes(&self) -> Option<&[(String, ScalarAttributeType)]> {
        self.attributes.as_deref()
    }

    /// Opens file `index` of the manifest and checks it against its entry. The footer checksum
    /// binds the file's content to the entry: the footer holds every chunk's checksum and
    /// every block's position, and each chunk is checked against it when read, so a file that
    /// passes this check and its reads is the one the manifest committed (padding aside, which
    /// reads check is zero). The whole-file hash is [`crate::verify`]'s.
    pub fn open_file(&self, index: usize) -> Result<SnapshotFile> {
        let entry = self.manifest.files.get(index).ok_or_else(|| {
            SnapshotError::InvalidInput(format!(
                "file {index} of a snapshot of {} files",
                self.manifest.files.len()
            ))
        })?;
        let path = self.dir.join(&entry.name);
        let file = if self.direct {
            SnapshotFile::open_direct(Arc::clone(&self.io), &path)?
        } else {
            SnapshotFile::open(Arc::clone(&self.io), &path)?
        };
        check_entry(&file, entry, &self.manifest)?;
        Ok(file)
    }

    /// File `index`, from the reader's small cache of open files (the last few used) or opened
    /// and cached: what point lookups and short range reads (a Query of one partition) use, so
    /// that repeated reads of the same files do not reopen them and decode their block index
    /// each time.
    pub fn cached_file(&self, index: usize) -> Result<Arc<SnapshotFile>> {
        {
            let mut cached = self.cached.lock().unwrap_or_else(PoisonError::into_inner);
            if let Some(at) = cached.iter().position(|(i, _)| *i == index) {
                let hit = cached.remove(at);
                if let Some((_, file)) = hit {
                    cached.push_back((index, Arc::clone(&file)));
                    return Ok(file);
                }
            }
        }
        let file = Arc::new(self.open_file(index)?);
        let mut cached = self.cached.lock().unwrap_or_else(PoisonError::into_inner);
        if cached.len() >= OPEN_FILES_CACHED {
            cached.pop_front();
        }
        cached.push_back((index, Arc::clone(&file)));
        Ok(file)
    }

    /// The indexes of the files whose key ranges meet `range`.
    pub fn files_in(&self, range: (Bound<&[u8]>, Bound<&[u8]>)) -> std::ops::Range<usize> {
        let files = &self.manifest.files;
        let first = match range.0 {
            Bound::Included(l) => files.partition_point(|f| f.last_key.as_slice() < l),
            Bound::Excluded(l) => files.partition_point(|f| f.last_key.as_slice() <= l),
            Bound::Unbounded => 0,
        };
        let end = match range.1 {
            Bound::Included(u) => files.partition_point(|f| f.first_key.as_slice() <= u),
            Bound::Excluded(u) => files.partition_point(|f| f.first_key.as_slice() < u),
            Bound::Unbounded => files.len(),
        };
        first..end.max(first)
    }

    /// The row with `key`, if any: the manifest's key ranges pick the file, its block index
    /// the block.
    pub fn get(&self, key: &[u8]) -> Result<Option<Row>> {
        let files = &self.manifest.files;
        let index = files.partition_point(|f| f.last_key.as_slice() < key);
        match files.get(index) {
            Some(entry) if entry.first_key.as_slice() <= key => self.cached_file(index)?.get(key),
            _ => Ok(None),
        }
    }

    /// Rows in `range` across all files, in key order. Files are opened one at a time, as the
    /// scan reaches them, and closed when it moves on. The bounds are copied, so the scan
    /// borrows only the reader.
    pub fn scan<'a>(
        &'a self,
        range: (Bound<&[u8]>, Bound<&[u8]>),
        columns: Columns,
    ) -> impl Iterator<Item = Result<Row>> + Send + use<'a> {
        let files = self.files_in(range);
        let start = range.0.map(<[u8]>::to_vec);
        let end = range.1.map(<[u8]>::to_vec);
        files.flat_map(move |index| {
            let range = (
                start.as_ref().map(Vec::as_slice),
                end.as_ref().map(Vec::as_slice),
            );
            let scan: Box<dyn Iterator<Item = Result<Row>> + Send> = match self.open_file(index) {
                Ok(file) => Box::new(Arc::new(file).scan_shared(range, columns)),
                Err(e) => Box::new(std::iter::once(Err(e))),
            };
            scan
        })
    }
}

/// Checks an opened file against its manifest entry.
pub(crate) fn check_entry(
    file: &SnapshotFile,
    entry: &FileEntry,
    manifest: &SnapshotManifest,
) -> Result<()> {
    let (first, last) = file.key_range();
    if file.size_bytes() != entry.size_bytes
        || file.row_count() != entry.row_count
        || file.table_id() != manifest.table_id
        || file.lsn() != manifest.lsn
        || first != entry.first_key.as_slice()
        || last != entry.last_key.as_slice()
        || file.footer_checksum() != entry.footer_xxh3_64
    {
        return Err(SnapshotError::corrupt(
            file.path(),
            Damage::Mismatch,
            0,
            format!(
                "the file of the manifest entry: {} bytes, table {}, LSN {}, {} rows, keys {}..={}, footer {:016x}",
                entry.size_bytes,
                hex(&manifest.table_id),
                manifest.lsn,
                entry.row_count,
                hex(&entry.first_key),
                hex(&entry.last_key),
                entry.footer_xxh3_64
            ),
            format!(
                "{} bytes, table {}, LSN {}, {} rows, keys {}..={}, footer {:016x}",
                file.size_bytes(),
                hex(&file.table_id()),
                file.lsn(),
                file.row_count(),
                hex(first),
                hex(last),
                file.footer_checksum()
            ),
        ));
    }
    Ok(())
}
