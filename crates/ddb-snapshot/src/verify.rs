//! Verification of a snapshot file or a whole snapshot (its manifest and every file it names).
//! Plain verification checks every byte's checksum: a file in a snapshot through its manifest's
//! whole-file hash, a lone file chunk by chunk. Deep verification decodes everything: every
//! chunk's checksum and contents, key order within and across blocks, row counts, zone maps,
//! every padding byte, and the fingerprint of the rows against the manifest's.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use ddb_io::{Io, OpenOptions, ReadAhead, error_at};
use ddb_model::Fingerprint;
use xxhash_rust::xxh3::Xxh3;

use crate::chunk;
use crate::error::{Damage, Result, SnapshotError};
use crate::format::{FIRST_BLOCK_OFFSET, align_up, check_zero};
use crate::manifest::{FileEntry, MANIFEST_FILE_NAME, SnapshotManifest};
use crate::reader::SnapshotFile;
use crate::reader::corrupt_at;
use crate::row::Columns;
use crate::snapshot::check_entry;

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
            if let Err(e) = verify_file(&io, path, None, deep, &mut report) {
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
            .and_then(|()| verify_file(io, &path, Some(entry), deep, report));
        if let Err(e) = checked {
            report.errors.push(e);
        }
    }
}

/// Checks a file against its manifest entry: size, whole-file hash, and (from its header,
/// trailer and footer) table, LSN, rows, key range and footer checksum.
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
            Damage::Mismatch,
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
            Damage::Mismatch,
            0,
            format!("xxh3-128 {} (manifest)", entry.xxh3_128),
            computed,
        ));
    }
    let snap = SnapshotFile::open(Arc::clone(io), path)?;
    check_entry(&snap, entry, manifest)
}

/// Verifies one file: at open its header, trailer and footer; then, deep, every block decoded
/// (and the fingerprint of its rows against `entry`'s); not deep, for a file without a
/// manifest entry (whose whole-file hash would have covered it), every chunk's checksum and
/// every padding byte, without decompressing.
fn verify_file(
    io: &Arc<dyn Io>,
    path: &Path,
    entry: Option<&FileEntry>,
    deep: bool,
    report: &mut Report,
) -> Result<()> {
    let snap = SnapshotFile::open(Arc::clone(io), path)?;
    report.files += 1;
    report.blocks += snap.blocks().len() as u64;
    if deep {
        let Some(fingerprint) = verify_blocks(&snap, report)? else {
            return Ok(());
        };
        if let Some(entry) = entry.filter(|e| e.fingerprint != fingerprint) {
            return Err(SnapshotError::corrupt(
                path,
                Damage::Mismatch,
                0,
                format!(
                    "rows with the manifest's fingerprint {:?}",
                    entry.fingerprint
                ),
                format!("{fingerprint:?}"),
            ));
        }
    } else if entry.is_none() && !check_checksums(io, &snap, report)? {
        return Ok(());
    }
    report.rows += snap.row_count();
    Ok(())
}

/// Decodes every block; reports each damaged block and returns `None` if there was one, else
/// the fingerprint of the rows.
fn verify_blocks(snap: &SnapshotFile, report: &mut Report) -> Result<Option<Fingerprint>> {
    let mut fingerprint = Fingerprint::default();
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
                Ok(row) => fingerprint.add(&row.key, &row.item),
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
        return Ok(None);
    }
    if fingerprint.items != snap.row_count() {
        return Err(SnapshotError::corrupt(
            snap.path(),
            Damage::Footer,
            snap.footer_offset(),
            format!("{} rows", snap.row_count()),
            fingerprint.items.to_string(),
        ));
    }
    Ok(Some(fingerprint))
}

/// Reads the blocks front to back and checks each chunk's size and checksum and the zero
/// padding after each block: every byte between the header slot and the footer, without
/// decompressing anything. Reports the first finding of each damaged block (the footer locates
/// the next one regardless) and returns whether there was none.
fn check_checksums(io: &Arc<dyn Io>, snap: &SnapshotFile, report: &mut Report) -> Result<bool> {
    let path = snap.path();
    let end = snap.footer_offset();
    let mut reader = io
        .read_sequential(
            Arc::clone(&snap.file),
            FIRST_BLOCK_OFFSET..end,
            ReadAhead::default(),
        )
        .map_err(|e| error_at("read", path, e))?;
    let errors_before = report.errors.len();
    let mut pending: Vec<u8> = Vec::new();
    let mut pending_at = FIRST_BLOCK_OFFSET;
    for meta in snap.blocks() {
        let padded_end = align_up(meta.end()).unwrap_or(u64::MAX).min(end);
        let need = usize::try_from(padded_end - pending_at).unwrap_or(usize::MAX);
        while pending.len() < need {
            match reader.next_chunk().map_err(|e| error_at("read", path, e))? {
                Some((_, bytes)) => pending.extend_from_slice(bytes),
                None => {
                    return Err(SnapshotError::corrupt(
                        path,
                        Damage::Size,
                        pending_at + pending.len() as u64,
                        format!("block bytes up to {padded_end}"),
                        "end of file",
                    ));
                }
            }
        }
        let block = pending.get(..need).unwrap_or_default();
        let checked = meta
            .chunks
            .iter()
            .enumerate()
            .try_for_each(|(c, chunk_meta)| {
                let at = |offset: u64| usize::try_from(offset - pending_at).unwrap_or(usize::MAX);
                let stored = block
                    .get(at(meta.chunk_offset(c))..at(meta.chunk_offset(c + 1)))
                    .unwrap_or_default();
                chunk::check(path, meta.chunk_offset(c), chunk_meta, stored)
            })
            .and_then(|()| {
                let block_end = usize::try_from(meta.end() - pending_at).unwrap_or(usize::MAX);
                check_zero(block, block_end, block.len(), pending_at)
                    .map_err(|e| corrupt_at(path, Damage::Padding, e))
            });
        if let Err(e) = checked {
            report.errors.push(e);
        }
        pending.drain(..need.min(pending.len()));
        pending_at = padded_end;
    }
    Ok(report.errors.len() == errors_before)
}
