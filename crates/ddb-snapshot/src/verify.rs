//! Verification of a snapshot file or a whole snapshot (its manifest and every file it names).
//! Deep verification decodes everything: every chunk's checksum and contents, key order within
//! and across blocks, row counts, zone maps and every padding byte.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use ddb_io::{Io, OpenOptions, ReadAhead, error_at};
use xxhash_rust::xxh3::Xxh3;

use crate::error::{Result, SnapshotError};
use crate::manifest::{FileEntry, MANIFEST_FILE_NAME, SnapshotManifest, hex};
use crate::reader::SnapshotFile;
use crate::row::Columns;

/// What a verification found.
#[derive(Debug, Default)]
pub struct Report {
    pub path: PathBuf,
    pub files: u64,
    pub blocks: u64,
    pub rows: u64,
    /// Every problem found, in file order. In a file whose header, trailer and footer check
    /// out, deep verification reports every damaged block (one finding per block: within a
    /// block, later offsets cannot be trusted); damage to the header, trailer, footer or the
    /// whole-file hash is the file's only finding.
    pub errors: Vec<SnapshotError>,
}

impl Report {
    pub fn is_ok(&self) -> bool {
        self.errors.is_empty()
    }
}

/// Verifies a snapshot file, or a snapshot if `path` is a directory holding a manifest or the
/// manifest itself.
pub fn verify(io: Arc<dyn Io>, path: &Path, deep: bool) -> Report {
    let mut report = Report {
        path: path.to_path_buf(),
        ..Report::default()
    };
    let manifest_dir = if path.file_name().is_some_and(|n| n == MANIFEST_FILE_NAME) {
        path.parent().map(Path::to_path_buf)
    } else if io.exists(&path.join(MANIFEST_FILE_NAME)).unwrap_or(false) {
        Some(path.to_path_buf())
    } else {
        None
    };
    match manifest_dir {
        Some(dir) => verify_snapshot(&io, &dir, deep, &mut report),
        None => {
            if let Err(e) = verify_file(&io, path, deep, &mut report) {
                report.errors.push(e);
            }
        }
    }
    report
}

fn verify_snapshot(io: &Arc<dyn Io>, dir: &Path, deep: bool, report: &mut Report) {
    let manifest = match SnapshotManifest::load(&**io, dir) {
        Ok(m) => m,
        Err(e) => {
            report.errors.push(e);
            return;
        }
    };
    for entry in &manifest.files {
        let path = dir.join(&entry.name);
        let checked = check_listed(io, &path, entry, &manifest)
            .and_then(|()| verify_file(io, &path, deep, report));
        if let Err(e) = checked {
            report.errors.push(e);
        }
    }
}

/// Checks a file against its manifest entry: size, whole-file hash, and (from its header and
/// footer) table, LSN, rows and key range.
fn check_listed(
    io: &Arc<dyn Io>,
    path: &Path,
    entry: &FileEntry,
    manifest: &SnapshotManifest,
) -> Result<()> {
    let file = io
        .open(path, OpenOptions::read_only())
        .map_err(|e| error_at("open", path, e))?;
    let len = file.len().map_err(|e| error_at("stat", path, e))?;
    if len != entry.size_bytes {
        return Err(SnapshotError::corrupt(
            path,
            len.min(entry.size_bytes),
            format!("{} bytes (manifest)", entry.size_bytes),
            format!("{len} bytes"),
        ));
    }
    let mut reader = io
        .read_sequential(Arc::clone(&file), 0..len, ReadAhead::default())
        .map_err(|e| error_at("read", path, e))?;
    let mut hash = Xxh3::new();
    while let Some((_, bytes)) = reader.next_chunk().map_err(|e| error_at("read", path, e))? {
        hash.update(bytes);
    }
    let computed = format!("{:032x}", hash.digest128());
    if computed != entry.xxh3_128 {
        return Err(SnapshotError::corrupt(
            path,
            0,
            format!("xxh3-128 {} (manifest)", entry.xxh3_128),
            computed,
        ));
    }
    let snap = SnapshotFile::open(Arc::clone(io), path)?;
    let (first, last) = snap.key_range();
    if snap.table_id() != manifest.table_id
        || snap.lsn() != manifest.lsn
        || snap.row_count() != entry.row_count
        || first != entry.first_key.as_slice()
        || last != entry.last_key.as_slice()
    {
        return Err(SnapshotError::corrupt(
            path,
            0,
            format!(
                "table {}, LSN {}, {} rows, keys {}..={} (manifest)",
                hex(&manifest.table_id),
                manifest.lsn,
                entry.row_count,
                hex(&entry.first_key),
                hex(&entry.last_key)
            ),
            format!(
                "table {}, LSN {}, {} rows, keys {}..={}",
                hex(&snap.table_id()),
                snap.lsn(),
                snap.row_count(),
                hex(first),
                hex(last)
            ),
        ));
    }
    Ok(())
}

fn verify_file(io: &Arc<dyn Io>, path: &Path, deep: bool, report: &mut Report) -> Result<()> {
    let snap = SnapshotFile::open(Arc::clone(io), path)?;
    report.files += 1;
    report.blocks += snap.blocks().len() as u64;
    if deep {
        let mut rows = 0u64;
        let mut damaged = false;
        let mut next = 0usize;
        let all = (std::ops::Bound::Unbounded, std::ops::Bound::Unbounded);
        // After a damaged block, checking resumes at the next one: the footer (checked at
        // open) locates every block independently.
        while next < snap.blocks().len() {
            let mut scan = snap.scan(all, Columns::ALL).starting_at_block(next);
            let mut failed = None;
            for row in scan.by_ref() {
                match row {
                    Ok(_) => rows += 1,
                    Err(e) => {
                        failed = Some(e);
                        break;
                    }
                }
            }
            next = scan.next_block();
            match failed {
                Some(e) => {
                    damaged = true;
                    report.errors.push(e);
                }
                None => break,
            }
        }
        if damaged {
            return Ok(());
        }
        if rows != snap.row_count() {
            return Err(SnapshotError::corrupt(
                path,
                snap.footer_offset(),
                format!("{} rows", snap.row_count()),
                rows.to_string(),
            ));
        }
    }
    report.rows += snap.row_count();
    Ok(())
}
