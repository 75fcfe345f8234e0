//! The export writer: items in, DynamoDB's export layout out (`formats/export/SPEC.md`,
//! "Writer").

use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use ddb_io::publish::is_publish_temp;
use ddb_io::{ChunkWriter, Io, IoFile, OpenOptions, WriteBehind, error_at, publish_atomically};
use flate2::write::GzEncoder;
use md5::{Digest, Md5};

use crate::digest::{Md5Digest, base64, data_file_name, hex, md5_of};
use crate::error::{ExportError, Result};
use crate::manifest::{
    EXPORT_TYPE, FileLineOut, MANIFEST_VERSION, OUTPUT_FORMAT, SSE_ALGORITHM, SummaryOut,
    decode_files, decode_summary,
};
use crate::time::iso8601_ms;
use crate::{
    DATA_DIR, EXPORTS_DIR, MANIFEST_FILES_FILE, MANIFEST_FILES_MD5_FILE, MANIFEST_SUMMARY_FILE,
    MANIFEST_SUMMARY_MD5_FILE, STARTED_FILE, check_prefix, export_key_prefix, is_plain_segment,
};

/// Who and what is exported: the values of `manifest-summary.json` the writer cannot know.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportIdentity {
    /// `<table arn>/export/<ExportId>`.
    pub export_arn: String,
    /// The export's id, e.g. `01733112233445-1a2b3c4d` (the caller makes it); the name of the
    /// export directory.
    pub export_id: String,
    pub table_arn: String,
    /// DynamoDB's TableId (a uuid string).
    pub table_id: String,
    /// The point in time exported, ms since the epoch.
    pub export_time_ms: u64,
    /// When the export started, ms since the epoch.
    pub start_time_ms: u64,
    /// As given by the user (the directory path string).
    pub s3_bucket: String,
    pub s3_prefix: Option<String>,
}

/// How an export is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExportOptions {
    /// Uncompressed bytes per data file: a file is finished after the line that brings it to
    /// this size or more, and the next item starts another.
    pub data_file_bytes: u64,
    /// gzip level, 0..=9.
    pub gzip_level: u32,
}

impl Default for ExportOptions {
    fn default() -> Self {
        Self {
            data_file_bytes: 64 << 20,
            gzip_level: 6,
        }
    }
}

/// One line of `manifest-files.json`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataFileEntry {
    pub item_count: u64,
    /// Base64 MD5 of the file's bytes (the gzip stream), DynamoDB's `md5Checksum`.
    pub md5_base64: String,
    /// Hex MD5 of the file's bytes: S3's ETag of an object uploaded in one part.
    pub etag: String,
    /// Relative to the bucket: `[<prefix>/]AWSDynamoDB/<ExportId>/data/<name>.json.gz`.
    pub data_file_key: String,
}

/// What a finished export holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportSummary {
    pub item_count: u64,
    /// The sum of the items' sizes as DynamoDB measures them (`Item::size_bytes`).
    pub billed_size_bytes: u64,
    /// In write order, as in `manifest-files.json`.
    pub data_files: Vec<DataFileEntry>,
    /// Relative key as in the summary: `[<prefix>/]AWSDynamoDB/<ExportId>/manifest-files.json`.
    pub manifest_files_key: String,
}

/// Writes one export. [`ExportWriter::create`], [`ExportWriter::push`] every item,
/// [`ExportWriter::finish`]. Dropping it unfinished leaves an unpublished export (no
/// `manifest-summary.json`), which readers do not take for an export and the next `create`
/// of the same directory clears.
#[derive(Debug)]
pub struct ExportWriter {
    io: Arc<dyn Io>,
    root: PathBuf,
    data_dir: PathBuf,
    identity: ExportIdentity,
    options: ExportOptions,
    /// `[<prefix>/]AWSDynamoDB/<ExportId>/`.
    key_prefix: String,
    current: Option<DataFile>,
    files: Vec<DataFileEntry>,
    item_count: u64,
    billed_size_bytes: u64,
    /// A write failed after bytes of a line may have reached a data file: nothing more is
    /// written and nothing is published.
    failed: bool,
}

impl ExportWriter {
    /// export_root = `<bucket dir>[/<prefix>]/AWSDynamoDB/<ExportId>` (see
    /// [`crate::export_root`]); creates it and `data/`, writes `_started` durably.
    /// Refuses (error) if export_root already has a `manifest-summary.json`. What an
    /// unpublished attempt left there (`data/`, the other manifests, publish temporaries) is
    /// removed first.
    pub fn create(
        io: Arc<dyn Io>,
        export_root: &Path,
        identity: ExportIdentity,
        options: ExportOptions,
    ) -> Result<ExportWriter> {
        check_request(export_root, &identity, &options)?;
        create_dir_durably(&*io, export_root)?;
        if io.exists(&export_root.join(MANIFEST_SUMMARY_FILE))? {
            return Err(ExportError::AlreadyPublished {
                dir: export_root.to_path_buf(),
            });
        }
        remove_unpublished(&*io, export_root)?;
        let data_dir = export_root.join(DATA_DIR);
        io.create_dir_all(&data_dir)
            .map_err(|e| error_at("create", &data_dir, e))?;
        io.sync_dir(export_root)
            .map_err(|e| error_at("sync", export_root, e))?;
        publish_atomically(&*io, export_root, STARTED_FILE, b"")?;
        let key_prefix = export_key_prefix(identity.s3_prefix.as_deref(), &identity.export_id);
        Ok(ExportWriter {
            io,
            root: export_root.to_path_buf(),
            data_dir,
            identity,
            options,
            key_prefix,
            current: None,
            files: Vec::new(),
            item_count: 0,
            billed_size_bytes: 0,
            failed: false,
        })
    }

    /// One item as canonical item JSON text (the object DynamoDB calls Item); writes the line
    /// `{"Item":<item>}\n`. The text is written as given; it is parsed only to check that it is
    /// one valid item on one line and to add its size to `billedSizeBytes`.
    ///
    /// An invalid item is refused before anything is written, and the export can go on. After
    /// an I/O error the writer is failed: every later `push` and `finish` is refused.
    pub fn push(&mut self, item_json: &[u8]) -> Result<()> {
        self.check_not_failed()?;
        let index = self.item_count;
        let invalid = |message: String| ExportError::InvalidItem { index, message };
        if item_json.iter().any(|&b| b == b'\n' || b == b'\r') {
            // Only whitespace between tokens can be a raw line break (JSON strings escape
            // theirs), and it would split the line.
            return Err(invalid("the JSON text contains a line break".to_owned()));
        }
        let text = std::str::from_utf8(item_json)
            .map_err(|e| invalid(format!("the JSON text is not UTF-8: {e}")))?;
        let item = ddb_model::parse_item(text).map_err(|e| invalid(e.to_string()))?;
        item.validate().map_err(|e| invalid(e.to_string()))?;
        let size = u64::try_from(item.size_bytes()).unwrap_or(u64::MAX);
        self.failed = true;
        self.write_item(item_json, size)?;
        self.failed = false;
        Ok(())
    }

    fn write_item(&mut self, item_json: &[u8], size: u64) -> Result<()> {
        if self.current.is_none() {
            self.current = Some(self.start_file()?);
        }
        let Some(file) = self.current.as_mut() else {
            return Err(ExportError::Io(io::Error::other("no data file open")));
        };
        file.write_line(item_json)?;
        self.item_count += 1;
        self.billed_size_bytes = self.billed_size_bytes.saturating_add(size);
        if file.uncompressed_bytes >= self.options.data_file_bytes {
            self.finish_file()?;
        }
        Ok(())
    }

    /// Finishes the data files (fsync each and `data/`), writes `manifest-files.json`, then
    /// `manifest-summary.json` last (the commit point), each published atomically, plus the
    /// `.md5` files DynamoDB writes beside them (each before its manifest). An export of no
    /// items has one empty data file, as DynamoDB writes for an empty partition.
    pub fn finish(mut self, end_time_ms: u64) -> Result<ExportSummary> {
        self.check_not_failed()?;
        if self.current.is_some() {
            self.finish_file()?;
        }
        if self.files.is_empty() {
            self.current = Some(self.start_file()?);
            self.finish_file()?;
        }
        self.io
            .sync_dir(&self.data_dir)
            .map_err(|e| error_at("sync", &self.data_dir, e))?;

        let files_bytes = self.encode_files()?;
        // What is published must be what a reader accepts.
        let files_path = self.root.join(MANIFEST_FILES_FILE);
        let decoded = decode_files(&files_path, &files_bytes)?;
        debug_assert_eq!(decoded.len(), self.files.len());
        self.publish_with_md5(MANIFEST_FILES_FILE, MANIFEST_FILES_MD5_FILE, &files_bytes)?;

        let manifest_files_key = format!("{}{MANIFEST_FILES_FILE}", self.key_prefix);
        let id = &self.identity;
        let summary = SummaryOut {
            version: MANIFEST_VERSION,
            export_arn: &id.export_arn,
            start_time: iso8601_ms(id.start_time_ms),
            end_time: iso8601_ms(end_time_ms),
            table_arn: &id.table_arn,
            table_id: &id.table_id,
            export_time: iso8601_ms(id.export_time_ms),
            s3_bucket: &id.s3_bucket,
            s3_prefix: id.s3_prefix.as_deref(),
            s3_sse_algorithm: SSE_ALGORITHM,
            s3_sse_kms_key_id: None,
            manifest_files_s3_key: &manifest_files_key,
            billed_size_bytes: self.billed_size_bytes,
            item_count: self.item_count,
            output_format: OUTPUT_FORMAT,
            export_type: EXPORT_TYPE,
        };
        let summary_bytes = serde_json::to_vec(&summary).map_err(io::Error::other)?;
        let summary_path = self.root.join(MANIFEST_SUMMARY_FILE);
        let decoded = decode_summary(&summary_path, &summary_bytes)?;
        debug_assert_eq!(decoded.item_count, self.item_count);
        self.publish_with_md5(
            MANIFEST_SUMMARY_FILE,
            MANIFEST_SUMMARY_MD5_FILE,
            &summary_bytes,
        )?;
        Ok(ExportSummary {
            item_count: self.item_count,
            billed_size_bytes: self.billed_size_bytes,
            data_files: self.files,
            manifest_files_key,
        })
    }

    fn check_not_failed(&self) -> Result<()> {
        if self.failed {
            return Err(ExportError::InvalidRequest(format!(
                "the export in {} failed earlier (a write failed); it cannot go on or be \
                 published",
                self.root.display()
            )));
        }
        Ok(())
    }

    fn start_file(&self) -> Result<DataFile> {
        let index = u64::try_from(self.files.len()).unwrap_or(u64::MAX);
        let name = data_file_name(&self.identity.export_id, index);
        let path = self.data_dir.join(&name);
        let file = self.io.open(&path, OpenOptions::create_new())?;
        let chunks = self
            .io
            .write_sequential(Arc::clone(&file), 0, WriteBehind::default())?;
        // GzEncoder's header has mtime 0, no name and OS 255 (unknown): nothing of the machine
        // or the clock.
        let encoder = GzEncoder::new(
            HashingWrite::new(chunks),
            flate2::Compression::new(self.options.gzip_level),
        );
        Ok(DataFile {
            path,
            name,
            file,
            encoder,
            uncompressed_bytes: 0,
            item_count: 0,
        })
    }

    fn finish_file(&mut self) -> Result<()> {
        let Some(current) = self.current.take() else {
            return Ok(());
        };
        let DataFile {
            path,
            name,
            file,
            encoder,
            item_count,
            ..
        } = current;
        let sink = encoder.finish().map_err(|e| error_at("write", &path, e))?;
        let (size, digest) = sink.finish().map_err(|e| error_at("write", &path, e))?;
        let on_disk = file.len().map_err(|e| error_at("stat", &path, e))?;
        if on_disk != size {
            return Err(ExportError::corrupt(
                &path,
                Some(on_disk),
                format!("a file of {size} bytes, as written"),
                format!("{on_disk} bytes"),
            ));
        }
        file.sync_all().map_err(|e| error_at("sync", &path, e))?;
        self.files.push(DataFileEntry {
            item_count,
            md5_base64: base64(&digest),
            etag: hex(&digest),
            data_file_key: format!("{}{DATA_DIR}/{name}", self.key_prefix),
        });
        Ok(())
    }

    fn encode_files(&self) -> Result<Vec<u8>> {
        let mut out = Vec::new();
        for entry in &self.files {
            let line = FileLineOut {
                item_count: entry.item_count,
                md5_checksum: &entry.md5_base64,
                etag: &entry.etag,
                data_file_s3_key: &entry.data_file_key,
            };
            serde_json::to_writer(&mut out, &line).map_err(io::Error::other)?;
            out.push(b'\n');
        }
        Ok(out)
    }

    /// Publishes `<name>.md5` (base64 MD5 of `bytes`), then `name` itself.
    fn publish_with_md5(&self, name: &str, md5_name: &str, bytes: &[u8]) -> Result<()> {
        let md5 = base64(&md5_of(bytes));
        publish_atomically(&*self.io, &self.root, md5_name, md5.as_bytes())?;
        publish_atomically(&*self.io, &self.root, name, bytes)?;
        Ok(())
    }
}

/// The data file being written.
struct DataFile {
    path: PathBuf,
    name: String,
    file: Arc<dyn IoFile>,
    encoder: GzEncoder<HashingWrite>,
    uncompressed_bytes: u64,
    item_count: u64,
}

impl std::fmt::Debug for DataFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DataFile")
            .field("path", &self.path)
            .field("uncompressed_bytes", &self.uncompressed_bytes)
            .field("item_count", &self.item_count)
            .finish_non_exhaustive()
    }
}

const LINE_OPEN: &[u8] = b"{\"Item\":";
const LINE_CLOSE: &[u8] = b"}\n";

impl DataFile {
    fn write_line(&mut self, item_json: &[u8]) -> Result<()> {
        let path = &self.path;
        for part in [LINE_OPEN, item_json, LINE_CLOSE] {
            self.encoder
                .write_all(part)
                .map_err(|e| error_at("write", path, e))?;
        }
        let len = LINE_OPEN.len() + item_json.len() + LINE_CLOSE.len();
        self.uncompressed_bytes = self
            .uncompressed_bytes
            .saturating_add(u64::try_from(len).unwrap_or(u64::MAX));
        self.item_count += 1;
        Ok(())
    }
}

/// The data file's byte sink: every byte goes to the `Io` writer and into the MD5.
struct HashingWrite {
    inner: Option<Box<dyn ChunkWriter>>,
    md5: Md5,
    written: u64,
}

impl HashingWrite {
    fn new(inner: Box<dyn ChunkWriter>) -> Self {
        Self {
            inner: Some(inner),
            md5: Md5::new(),
            written: 0,
        }
    }

    /// Writes what is buffered; the file's size and MD5.
    fn finish(mut self) -> io::Result<(u64, Md5Digest)> {
        let inner = self
            .inner
            .take()
            .ok_or_else(|| io::Error::other("data file writer finished twice"))?;
        let end = inner.finish()?;
        if end != self.written {
            return Err(io::Error::other(format!(
                "data file writer ended at byte {end}, {} bytes were written",
                self.written
            )));
        }
        Ok((self.written, self.md5.finalize().into()))
    }
}

impl Write for HashingWrite {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let inner = self
            .inner
            .as_mut()
            .ok_or_else(|| io::Error::other("data file writer already finished"))?;
        inner.write(buf)?;
        self.md5.update(buf);
        self.written += u64::try_from(buf.len()).unwrap_or(u64::MAX);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

fn check_request(root: &Path, identity: &ExportIdentity, options: &ExportOptions) -> Result<()> {
    let id = &identity.export_id;
    if !is_plain_segment(id) {
        return Err(ExportError::InvalidRequest(format!(
            "export_id {id:?} must be a plain name (it names the export directory)"
        )));
    }
    let name = root.file_name().and_then(|n| n.to_str());
    let parent = root
        .parent()
        .and_then(Path::file_name)
        .and_then(|n| n.to_str());
    if name != Some(id.as_str()) || parent != Some(EXPORTS_DIR) {
        return Err(ExportError::InvalidRequest(format!(
            "export root {} must end in {EXPORTS_DIR}/{id}",
            root.display()
        )));
    }
    check_prefix(identity.s3_prefix.as_deref())?;
    if options.gzip_level > 9 {
        return Err(ExportError::InvalidRequest(format!(
            "gzip_level must be 0..=9, not {}",
            options.gzip_level
        )));
    }
    if options.data_file_bytes == 0 {
        return Err(ExportError::InvalidRequest(
            "data_file_bytes must be at least 1".to_owned(),
        ));
    }
    Ok(())
}

/// Creates `dir` and any missing parents, and makes their entries durable: each created
/// directory's parent is synced, up to the first one that existed.
fn create_dir_durably(io: &dyn Io, dir: &Path) -> Result<()> {
    let mut missing = Vec::new();
    let mut probe = Some(dir);
    while let Some(path) = probe.filter(|p| !p.as_os_str().is_empty()) {
        if io.exists(path)? {
            break;
        }
        missing.push(path);
        probe = path.parent();
    }
    io.create_dir_all(dir)
        .map_err(|e| error_at("create", dir, e))?;
    for created in missing {
        if let Some(parent) = created.parent().filter(|p| !p.as_os_str().is_empty()) {
            io.sync_dir(parent)
                .map_err(|e| error_at("sync", parent, e))?;
        }
    }
    Ok(())
}

/// Removes what an unpublished attempt may have left in the export directory: `data/`, the
/// manifests other than the summary (absent, or this would not run), their `.md5` files and
/// publish temporaries.
fn remove_unpublished(io: &dyn Io, root: &Path) -> Result<()> {
    let mut removed = false;
    let data = root.join(DATA_DIR);
    if io.exists(&data)? {
        remove_tree(io, &data)?;
        removed = true;
    }
    for name in io.read_dir(root).map_err(|e| error_at("list", root, e))? {
        let Some(name) = name.to_str() else { continue };
        let ours = [
            MANIFEST_FILES_FILE,
            MANIFEST_FILES_MD5_FILE,
            MANIFEST_SUMMARY_MD5_FILE,
        ];
        if ours.contains(&name) || is_publish_temp(name) {
            let path = root.join(name);
            io.remove_file(&path)
                .map_err(|e| error_at("remove", &path, e))?;
            removed = true;
        }
    }
    if removed {
        io.sync_dir(root).map_err(|e| error_at("sync", root, e))?;
    }
    Ok(())
}

/// Removes `path` and everything below it. `Io` has no stat: a path that will not unlink as a
/// file is listed and removed as a directory.
fn remove_tree(io: &dyn Io, path: &Path) -> Result<()> {
    if io.remove_file(path).is_ok() {
        return Ok(());
    }
    for name in io.read_dir(path).map_err(|e| error_at("list", path, e))? {
        remove_tree(io, &path.join(name))?;
    }
    // The removals must be durable before the directory goes.
    io.sync_dir(path).map_err(|e| error_at("sync", path, e))?;
    io.remove_dir(path)
        .map_err(|e| error_at("remove", path, e))?;
    Ok(())
}
