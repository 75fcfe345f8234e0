//! The streaming writer: rows in key order → 4 KiB-aligned blocks of compressed column chunks
//! → files of about `file_bytes_target` bytes, each synced before it is reported. Memory is one
//! block's raw columns plus the block index of the open file.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use ddb_io::{ChunkWriter, Io, IoFile, OpenOptions, WriteBehind, error_at};
use ddb_model::{Fingerprint, ScalarAttributeType};
use xxhash_rust::xxh3::Xxh3;

use crate::chunk;
use crate::error::{Result, SnapshotError};
use crate::footer::{BlockMeta, Codec, Footer, ZoneMap};
use crate::format::{
    BLOCK_ALIGNMENT, FIRST_BLOCK_OFFSET, FileHeader, HEADER_BYTES, Trailer, align_up,
};
use crate::manifest::FileEntry;
use crate::row::Row;

/// Settings of a [`SnapshotWriter`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WriterOptions {
    pub table_id: [u8; 16],
    /// The LSN the snapshot reflects.
    pub lsn: u64,
    /// The typed columns: the table's `AttributeDefinitions`, in this order.
    pub attributes: Vec<(String, ScalarAttributeType)>,
    /// A block is cut once its uncompressed columns reach this many bytes.
    pub block_bytes_target: usize,
    /// A file is finished once it reaches this many bytes (checked after each block).
    pub file_bytes_target: u64,
    /// A file is also finished once it holds this many blocks, which bounds the block index a
    /// writer holds and a reader decodes at open (about 100 bytes a block plus the keys and
    /// zone maps), however well the data compresses.
    pub file_blocks_max: usize,
    pub key_codec: Codec,
    pub attribute_codec: Codec,
    pub item_codec: Codec,
}

impl WriterOptions {
    /// Defaults: 256 KiB blocks, 256 MiB files of at most 1024 blocks (256 MiB of raw rows), lz4
    /// for keys and typed values (decode speed), zstd level 3 for the item JSON (ratio).
    pub fn new(
        table_id: [u8; 16],
        lsn: u64,
        attributes: Vec<(String, ScalarAttributeType)>,
    ) -> Self {
        Self {
            table_id,
            lsn,
            attributes,
            block_bytes_target: 256 << 10,
            file_bytes_target: 256 << 20,
            file_blocks_max: 1024,
            key_codec: Codec::Lz4,
            attribute_codec: Codec::Lz4,
            item_codec: Codec::Zstd(3),
        }
    }
}

/// The raw columns of the block being filled.
#[derive(Debug, Default)]
struct BlockBuf {
    keys: Vec<u8>,
    attrs: Vec<Vec<u8>>,
    items: Vec<u8>,
    rows: u32,
    first_key: Vec<u8>,
    last_key: Vec<u8>,
    zones: Vec<ZoneMap>,
}

impl BlockBuf {
    fn raw_bytes(&self) -> usize {
        self.keys.len() + self.items.len() + self.attrs.iter().map(Vec::len).sum::<usize>()
    }
}

/// The file being written.
struct OpenFile {
    name: String,
    path: PathBuf,
    file: Arc<dyn IoFile>,
    out: Box<dyn ChunkWriter>,
    hash: Xxh3,
    offset: u64,
    blocks: Vec<BlockMeta>,
    rows: u64,
    fingerprint: Fingerprint,
}

impl OpenFile {
    fn write(&mut self, bytes: &[u8]) -> Result<()> {
        self.out
            .write(bytes)
            .map_err(|e| error_at("write", &self.path, e))?;
        self.hash.update(bytes);
        self.offset += bytes.len() as u64;
        Ok(())
    }

    /// Zero bytes up to the next 4 KiB boundary.
    fn pad(&mut self) -> Result<()> {
        const ZEROS: [u8; 4096] = [0; 4096];
        let target = align_up(self.offset)
            .ok_or_else(|| SnapshotError::InvalidInput("file offset overflow".into()))?;
        let len = usize::try_from(target - self.offset).unwrap_or_default();
        self.write(ZEROS.get(..len).unwrap_or_default())
    }
}

/// Writes rows, in strictly increasing key order, into snapshot files `PREFIX-NNNNNN.snap`.
pub struct SnapshotWriter {
    io: Arc<dyn Io>,
    dir: PathBuf,
    prefix: String,
    options: WriterOptions,
    block: BlockBuf,
    current: Option<OpenFile>,
    last_key: Option<Vec<u8>>,
    entries: Vec<FileEntry>,
    /// Set after any error: what reached the disk is unknown, so the writer refuses more work.
    failed: bool,
    /// Write the files with `O_DIRECT` ([`SnapshotWriter::with_direct_io`]).
    direct: bool,
}

impl std::fmt::Debug for SnapshotWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SnapshotWriter")
            .field("dir", &self.dir)
            .field("prefix", &self.prefix)
            .field("files", &self.entries.len())
            .finish_non_exhaustive()
    }
}

/// The name of the `index`-th file (from 0) a writer with `prefix` creates.
pub fn file_name(prefix: &str, index: usize) -> String {
    format!("{prefix}-{index:06}.snap")
}

impl SnapshotWriter {
    pub fn new(
        io: Arc<dyn Io>,
        dir: &Path,
        file_name_prefix: &str,
        options: WriterOptions,
    ) -> Result<Self> {
        if file_name_prefix.is_empty()
            || file_name_prefix.starts_with('.')
            || file_name_prefix.contains(['/', '\\'])
        {
            return Err(SnapshotError::InvalidInput(format!(
                "file name prefix {file_name_prefix:?}: non-empty, no '/', not starting with '.'"
            )));
        }
        if options.attributes.len() > usize::from(u16::MAX)
            || options
                .attributes
                .iter()
                .any(|(n, _)| n.is_empty() || n.len() > usize::from(u16::MAX))
        {
            return Err(SnapshotError::InvalidInput(
                "attribute names must be 1..=65535 bytes, at most 65535 of them".into(),
            ));
        }
        let block = BlockBuf {
            attrs: vec![Vec::new(); options.attributes.len()],
            zones: vec![None; options.attributes.len()],
            ..BlockBuf::default()
        };
        Ok(Self {
            io,
            dir: dir.to_path_buf(),
            prefix: file_name_prefix.to_owned(),
            options,
            block,
            current: None,
            last_key: None,
            entries: Vec::new(),
            failed: false,
            direct: false,
        })
    }

    /// Writes the files with direct I/O (`O_DIRECT`, bypassing the page cache) through the
    /// write-behind writer with `WriteBehind { direct: true }`: blocks are 4 KiB-aligned
    /// already; the tail (footer and trailer) is padded for its write and the file truncated
    /// back. Creating a file fails if the file system refuses `O_DIRECT`. The bytes written
    /// are the same either way.
    #[must_use]
    pub fn with_direct_io(mut self, direct: bool) -> Self {
        self.direct = direct;
        self
    }

    /// Adds a row. Its key must be above the previous row's; its `attrs` must have one entry
    /// per attribute of the options.
    pub fn push(&mut self, row: &Row) -> Result<()> {
        self.push_parts(&row.key, &row.item, &row.attrs)
    }

    /// [`SnapshotWriter::push`] of a row given as its parts, for callers that hold them in
    /// another shape (the merge's rows): nothing is copied before the block buffers.
    pub fn push_parts(&mut self, key: &[u8], item: &[u8], attrs: &[Option<Vec<u8>>]) -> Result<()> {
        if self.failed {
            return Err(SnapshotError::InvalidInput(
                "the writer failed earlier".into(),
            ));
        }
        if key.is_empty() || self.last_key.as_deref().is_some_and(|last| key <= last) {
            return Err(SnapshotError::InvalidInput(format!(
                "row keys must be non-empty and strictly increasing: {key:02x?} after {:02x?}",
                self.last_key
            )));
        }
        if attrs.len() != self.options.attributes.len() || item.is_empty() {
            return Err(SnapshotError::InvalidInput(format!(
                "a row needs an item and {} typed values, not {}",
                self.options.attributes.len(),
                attrs.len()
            )));
        }
        let result = self.push_unchecked(key, item, attrs);
        self.failed = result.is_err();
        result
    }

    fn push_unchecked(&mut self, key: &[u8], item: &[u8], attrs: &[Option<Vec<u8>>]) -> Result<()> {
        let Some(file) = self.current.as_mut() else {
            self.open_file()?;
            return self.push_unchecked(key, item, attrs);
        };
        file.fingerprint.add(key, item);
        let b = &mut self.block;
        chunk::push_value(&mut b.keys, key)?;
        chunk::push_value(&mut b.items, item)?;
        for ((raw, zone), value) in b.attrs.iter_mut().zip(&mut b.zones).zip(attrs) {
            match value {
                None => chunk::push_absent(raw),
                Some(value) => {
                    chunk::push_value(raw, value)?;
                    match zone {
                        None => *zone = Some((value.clone(), value.clone())),
                        Some((min, max)) => {
                            if value < min {
                                *min = value.clone();
                            }
                            if value > max {
                                *max = value.clone();
                            }
                        }
                    }
                }
            }
        }
        if b.rows == 0 {
            b.first_key = key.to_vec();
        }
        b.last_key.clear();
        b.last_key.extend_from_slice(key);
        b.rows += 1;
        let last = self.last_key.get_or_insert_with(Vec::new);
        last.clear();
        last.extend_from_slice(key);
        if self.block.raw_bytes() >= self.options.block_bytes_target || self.block.rows == u32::MAX
        {
            self.flush_block()?;
            if self.current.as_ref().is_some_and(|f| {
                f.offset >= self.options.file_bytes_target
                    || f.blocks.len() >= self.options.file_blocks_max
            }) {
                self.finish_file()?;
            }
        }
        Ok(())
    }

    fn open_file(&mut self) -> Result<()> {
        let name = file_name(&self.prefix, self.entries.len());
        let path = self.dir.join(&name);
        let file = self
            .io
            .open(&path, OpenOptions::create_new().direct(self.direct))
            .map_err(|e| error_at("create", &path, e))?;
        let write_behind = WriteBehind {
            direct: self.direct,
            ..WriteBehind::default()
        };
        let out = self
            .io
            .write_sequential(Arc::clone(&file), 0, write_behind)
            .map_err(|e| error_at("write", &path, e))?;
        let mut open = OpenFile {
            name,
            path,
            file,
            out,
            hash: Xxh3::new(),
            offset: 0,
            blocks: Vec::new(),
            rows: 0,
            fingerprint: Fingerprint::default(),
        };
        let header = FileHeader {
            table_id: self.options.table_id,
            lsn: self.options.lsn,
        };
        open.write(&header.encode())?;
        open.pad()?;
        debug_assert_eq!(open.offset, FIRST_BLOCK_OFFSET);
        debug_assert!(HEADER_BYTES as u64 <= FIRST_BLOCK_OFFSET);
        self.current = Some(open);
        Ok(())
    }

    fn flush_block(&mut self) -> Result<()> {
        let Some(file) = self.current.as_mut() else {
            return Ok(());
        };
        if self.block.rows == 0 {
            return Ok(());
        }
        let attributes = self.options.attributes.len();
        let fresh = BlockBuf {
            attrs: vec![Vec::new(); attributes],
            zones: vec![None; attributes],
            ..BlockBuf::default()
        };
        let b = std::mem::replace(&mut self.block, fresh);
        let offset = file.offset;
        debug_assert_eq!(offset % BLOCK_ALIGNMENT, 0);
        let mut chunks = Vec::with_capacity(attributes + 2);
        let columns = std::iter::once((self.options.key_codec, &b.keys))
            .chain(
                b.attrs
                    .iter()
                    .map(|raw| (self.options.attribute_codec, raw)),
            )
            .chain(std::iter::once((self.options.item_codec, &b.items)));
        for (codec, raw) in columns {
            let (stored, meta) = chunk::seal(codec, raw)?;
            file.write(&stored)?;
            chunks.push(meta);
        }
        file.pad()?;
        file.rows += u64::from(b.rows);
        file.blocks.push(BlockMeta {
            offset,
            row_count: b.rows,
            first_key: b.first_key,
            last_key: b.last_key,
            chunks,
            zones: b.zones,
        });
        Ok(())
    }

    fn finish_file(&mut self) -> Result<()> {
        self.flush_block()?;
        let Some(mut file) = self.current.take() else {
            return Ok(());
        };
        let footer = Footer {
            attributes: self.options.attributes.clone(),
            blocks: std::mem::take(&mut file.blocks),
        };
        let footer_bytes = footer.encode();
        let trailer = Trailer {
            footer_offset: file.offset,
            footer_bytes: footer_bytes.len() as u64,
            footer_checksum: xxhash_rust::xxh3::xxh3_64(&footer_bytes),
            row_count: file.rows,
            block_count: u32::try_from(footer.blocks.len())
                .map_err(|_| SnapshotError::InvalidInput("over 2^32 blocks in one file".into()))?,
            attribute_count: u32::try_from(footer.attributes.len()).unwrap_or(u32::MAX),
        };
        file.write(&footer_bytes)?;
        file.write(&trailer.encode())?;
        let OpenFile {
            name,
            path,
            file: handle,
            out,
            hash,
            offset,
            fingerprint,
            ..
        } = file;
        let end = out.finish().map_err(|e| error_at("write", &path, e))?;
        debug_assert_eq!(end, offset);
        handle.sync_data().map_err(|e| error_at("sync", &path, e))?;
        let (first_key, last_key) = match (footer.blocks.first(), footer.blocks.last()) {
            (Some(first), Some(last)) => (first.first_key.clone(), last.last_key.clone()),
            _ => (Vec::new(), Vec::new()),
        };
        self.entries.push(FileEntry {
            name,
            size_bytes: offset,
            row_count: trailer.row_count,
            first_key,
            last_key,
            xxh3_128: format!("{:032x}", hash.digest128()),
            footer_xxh3_64: trailer.footer_checksum,
            fingerprint,
        });
        Ok(())
    }

    /// Finishes the open file, makes the directory entries durable, and returns every file
    /// written, in key order. No rows at all → no files.
    pub fn finish(mut self) -> Result<Vec<FileEntry>> {
        if self.failed {
            return Err(SnapshotError::InvalidInput(
                "the writer failed earlier".into(),
            ));
        }
        self.finish_file()?;
        if !self.entries.is_empty() {
            self.io
                .sync_dir(&self.dir)
                .map_err(|e| error_at("sync", &self.dir, e))?;
        }
        Ok(self.entries)
    }
}
