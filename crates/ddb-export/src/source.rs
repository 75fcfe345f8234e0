//! The files of an import: an export's data files (as its manifest lists them) or every file
//! under a directory (`formats/export/SPEC.md`, "Reader").

use std::io;
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;

use ddb_io::{Io, OpenOptions, error_at};

use crate::digest::{base64, md5_of};
use crate::error::{ExportError, Result};
use crate::manifest::{SummaryIn, decode_files, decode_summary};
use crate::reader::{ImportItem, ImportLineError, Items};
use crate::{
    DATA_DIR, EXPORTS_DIR, MANIFEST_FILES_FILE, MANIFEST_SUMMARY_FILE, MANIFEST_SUMMARY_MD5_FILE,
    check_prefix, is_plain_segment, prefix_segments,
};

/// How the data files are compressed (DynamoDB's `InputCompressionType`). It applies to every
/// file of the source, an export's too (they are gzip), as DynamoDB's import applies it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    Gzip,
    Zstd,
    None,
}

/// The longest manifest the reader loads (manifests are read whole; a data file's line is
/// under 300 bytes, so this is millions of files).
const MANIFEST_BYTES_MAX: u64 = 256 << 20;

/// What the reader knows of one data file before reading it.
#[derive(Debug, Clone)]
pub(crate) struct SourceFile {
    pub path: PathBuf,
    /// Relative to the import's `dir`, `/`-separated: how errors and items name the file.
    pub name: String,
    /// From `manifest-files.json`: base64 MD5 and item count.
    pub expected: Option<Expected>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Expected {
    pub md5_base64: String,
    pub item_count: u64,
}

/// The files of an import and how to read them.
#[derive(Debug)]
pub struct ImportSource {
    io: Arc<dyn Io>,
    compression: Compression,
    paths: Vec<PathBuf>,
    files: Vec<SourceFile>,
    export_root: Option<PathBuf>,
}

impl ImportSource {
    /// `dir` = bucket dir, `prefix` = optional key prefix under it. If the location
    /// (`<dir>/<prefix>`) contains an export — a `manifest-summary.json` (or, of an export
    /// not yet published, a `manifest-files.json`) at `<location>/AWSDynamoDB/<id>/` or at
    /// `<location>` itself — the data files are the ones `manifest-files.json` lists, in its
    /// order (MD5 and item counts are checked while reading: a mismatch is an error reported
    /// for that file, counted, not fatal to the other files). Otherwise every regular file
    /// under the location, recursively, in sorted path order, skipping names (of files and
    /// directories) starting with `_`, `.` or `manifest-`, and `.md5` and `.checksum` files. A
    /// location that is one file is that file.
    pub fn open(
        io: Arc<dyn Io>,
        dir: &Path,
        prefix: Option<&str>,
        compression: Compression,
    ) -> Result<ImportSource> {
        check_prefix(prefix)?;
        let mut location = dir.to_path_buf();
        for segment in prefix_segments(prefix) {
            location.push(segment);
        }
        let (files, export_root) = match find_export(&*io, &location)? {
            Some(root) => (export_files(&*io, dir, &root)?, Some(root)),
            None => (plain_files(&*io, dir, &location)?, None),
        };
        Ok(ImportSource {
            io,
            compression,
            paths: files.iter().map(|f| f.path.clone()).collect(),
            files,
            export_root,
        })
    }

    /// The data files, in reading order (paths under `dir`).
    pub fn files(&self) -> &[PathBuf] {
        &self.paths
    }

    /// The export directory whose manifest lists the files; `None` for a plain directory.
    pub fn export_root(&self) -> Option<&Path> {
        self.export_root.as_deref()
    }

    /// Every line of every file in order. Each is `Ok(ImportItem)` or `Err(ImportLineError)` —
    /// bad JSON, not a DynamoDB item, a line longer than [`crate::LINE_BYTES_MAX`], a
    /// decompression error (reported once for the rest of that file, then the next file),
    /// an MD5 or itemCount mismatch (after the file's last line, with line 0: the file as a
    /// whole). Blank lines are skipped. Both line shapes are items: `{"Item":{…}}` (an export
    /// line) and a bare item `{…}`. Never panics; bounded memory (streams).
    pub fn items(
        &self,
    ) -> impl Iterator<Item = std::result::Result<ImportItem, ImportLineError>> + '_ {
        Items::new(&*self.io, self.compression, &self.files)
    }
}

/// The export directory at `location`, if there is one (see [`ImportSource::open`]).
fn find_export(io: &dyn Io, location: &Path) -> Result<Option<PathBuf>> {
    if list_dir(io, location)?.is_none() {
        // A file, or nothing: no export (and looking inside it is an error of its own).
        return Ok(None);
    }
    if has_manifest(io, location)? {
        return Ok(Some(location.to_path_buf()));
    }
    let exports = location.join(EXPORTS_DIR);
    let Some(ids) = list_dir(io, &exports)? else {
        return Ok(None);
    };
    let mut published = Vec::new();
    let mut unpublished = Vec::new();
    for id in ids {
        let Some(id) = id.to_str() else { continue };
        let root = exports.join(id);
        if io.exists(&root.join(MANIFEST_SUMMARY_FILE))? {
            published.push((id.to_owned(), root));
        } else if io.exists(&root.join(MANIFEST_FILES_FILE))? {
            unpublished.push((id.to_owned(), root));
        }
    }
    let candidates = if published.is_empty() {
        unpublished
    } else {
        published
    };
    match candidates.len() {
        0 => Ok(None),
        1 => Ok(candidates.into_iter().next().map(|(_, root)| root)),
        _ => Err(ExportError::AmbiguousExports {
            dir: exports,
            exports: candidates.into_iter().map(|(id, _)| id).collect(),
        }),
    }
}

fn has_manifest(io: &dyn Io, dir: &Path) -> Result<bool> {
    Ok(
        io.exists(&dir.join(MANIFEST_SUMMARY_FILE))?
            || io.exists(&dir.join(MANIFEST_FILES_FILE))?,
    )
}

/// The data files `manifest-files.json` of the export at `root` lists.
fn export_files(io: &dyn Io, dir: &Path, root: &Path) -> Result<Vec<SourceFile>> {
    let summary_path = root.join(MANIFEST_SUMMARY_FILE);
    let mut files_path = root.join(MANIFEST_FILES_FILE);
    let mut summary: Option<SummaryIn> = None;
    if io.exists(&summary_path)? {
        let bytes = read_checked(io, &summary_path, &root.join(MANIFEST_SUMMARY_MD5_FILE))?;
        let decoded = decode_summary(&summary_path, &bytes)?;
        // The key is relative to the bucket; the file is beside the summary.
        let name = last_segment(&decoded.manifest_files_s3_key)
            .filter(|name| is_plain_segment(name))
            .ok_or_else(|| {
                ExportError::corrupt(
                    &summary_path,
                    None,
                    "manifestFilesS3Key ending in a file name",
                    format!("{:?}", decoded.manifest_files_s3_key),
                )
            })?;
        files_path = root.join(name);
        summary = Some(decoded);
    }
    let md5_path = files_path.with_extension("md5");
    let bytes = read_checked(io, &files_path, &md5_path)?;
    let entries = decode_files(&files_path, &bytes)?;
    let listed: u64 = entries.iter().map(|e| e.item_count).sum();
    if let Some(summary) = &summary
        && summary.item_count != listed
    {
        return Err(ExportError::corrupt(
            &summary_path,
            None,
            format!("itemCount {listed}, the sum over {}", files_path.display()),
            format!("itemCount {}", summary.item_count),
        ));
    }
    let data_dir = root.join(DATA_DIR);
    let mut out = Vec::with_capacity(entries.len());
    for entry in entries {
        // Keys are relative to the bucket, which may be elsewhere (an export copied out of
        // S3): a data file is found by its name, under the export's data/.
        let key = &entry.data_file_s3_key;
        let mut segments = key.rsplit('/');
        let name = segments.next().filter(|name| is_plain_segment(name));
        let (Some(name), Some(DATA_DIR)) = (name, segments.next()) else {
            return Err(ExportError::corrupt(
                &files_path,
                None,
                "dataFileS3Key of the form …/data/<name>",
                format!("{key:?}"),
            ));
        };
        let path = data_dir.join(name);
        out.push(SourceFile {
            name: relative_name(dir, &path),
            path,
            expected: Some(Expected {
                md5_base64: entry.md5_checksum,
                item_count: entry.item_count,
            }),
        });
    }
    Ok(out)
}

fn last_segment(key: &str) -> Option<&str> {
    key.rsplit('/').next()
}

/// Reads a manifest whole, and checks it against its `.md5` file when there is one.
fn read_checked(io: &dyn Io, path: &Path, md5_path: &Path) -> Result<Vec<u8>> {
    let bytes = read_small(io, path)?;
    if io.exists(md5_path)? {
        let expected = read_small(io, md5_path)?;
        let expected = String::from_utf8_lossy(&expected);
        let found = base64(&md5_of(&bytes));
        if expected.trim() != found {
            return Err(ExportError::corrupt(
                path,
                None,
                format!("MD5 {} (from {})", expected.trim(), md5_path.display()),
                format!("MD5 {found}"),
            ));
        }
    }
    Ok(bytes)
}

fn read_small(io: &dyn Io, path: &Path) -> Result<Vec<u8>> {
    let file = io.open(path, OpenOptions::read_only())?;
    let len = file.len().map_err(|e| error_at("stat", path, e))?;
    if len > MANIFEST_BYTES_MAX {
        return Err(ExportError::corrupt(
            path,
            None,
            format!("a manifest of at most {MANIFEST_BYTES_MAX} bytes"),
            format!("{len} bytes"),
        ));
    }
    let mut bytes = vec![0u8; usize::try_from(len).unwrap_or(0)];
    file.read_exact_at(&mut bytes, 0)
        .map_err(|e| error_at("read", path, e))?;
    Ok(bytes)
}

/// Every file under `location` (see [`ImportSource::open`]), in sorted path order.
fn plain_files(io: &dyn Io, dir: &Path, location: &Path) -> Result<Vec<SourceFile>> {
    let mut paths = Vec::new();
    match list_dir(io, location)? {
        Some(_) => walk(io, location, &mut paths)?,
        None if io.exists(location)? => paths.push(location.to_path_buf()),
        None => {
            return Err(ExportError::InvalidRequest(format!(
                "{}: no such file or directory",
                location.display()
            )));
        }
    }
    paths.sort();
    Ok(paths
        .into_iter()
        .map(|path| SourceFile {
            name: relative_name(dir, &path),
            path,
            expected: None,
        })
        .collect())
}

fn walk(io: &dyn Io, dir: &Path, out: &mut Vec<PathBuf>) -> Result<()> {
    let Some(names) = list_dir(io, dir)? else {
        return Ok(());
    };
    for name in names {
        let path = dir.join(&name);
        let text = name.to_string_lossy();
        let skipped =
            text.starts_with('_') || text.starts_with('.') || text.starts_with("manifest-");
        if skipped {
            continue;
        }
        if list_dir(io, &path)?.is_some() {
            walk(io, &path, out)?;
        } else if !(text.ends_with(".md5") || text.ends_with(".checksum")) {
            out.push(path);
        }
    }
    Ok(())
}

/// The entries of `path` if it is a directory; `None` if it is not one or does not exist.
/// (`Io` has no stat: listing is how a directory is told from a file.)
fn list_dir(io: &dyn Io, path: &Path) -> Result<Option<Vec<std::ffi::OsString>>> {
    match io.read_dir(path) {
        Ok(names) => Ok(Some(names)),
        Err(e)
            if matches!(
                e.kind(),
                io::ErrorKind::NotADirectory | io::ErrorKind::NotFound
            ) =>
        {
            Ok(None)
        }
        Err(e) => Err(e.into()),
    }
}

/// `path` relative to `dir`, `/`-separated (the whole path if it is not under `dir`).
fn relative_name(dir: &Path, path: &Path) -> String {
    let relative = path.strip_prefix(dir).unwrap_or(path);
    let parts: Vec<_> = relative
        .components()
        .filter_map(|c| match c {
            Component::Normal(part) => Some(part.to_string_lossy()),
            _ => None,
        })
        .collect();
    if parts.is_empty() {
        path.to_string_lossy().into_owned()
    } else {
        parts.join("/")
    }
}
