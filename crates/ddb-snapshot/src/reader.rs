//! Reading one snapshot file: open checks header, trailer and footer; blocks are fetched
//! either whole through the sequential reader (full scans, with read-ahead) or as the byte
//! ranges of the selected column chunks only (projections, point lookups).

use std::ops::{Bound, Range};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use ddb_io::{AlignedBuf, Io, IoFile, OpenOptions, error_at};
use ddb_model::ScalarAttributeType;
use xxhash_rust::xxh3::xxh3_64;

use crate::block::{decode_block, decode_row};
use crate::error::{Damage, Result, SnapshotError};
use crate::footer::{BlockMeta, Footer};
use crate::format::{
    BLOCK_ALIGNMENT, FIRST_BLOCK_OFFSET, FileHeader, FormatError, HEADER_BYTES, TRAILER_BYTES,
    Trailer, align_up, check_zero,
};
use crate::row::{Columns, Row};
use crate::scan::{FileRef, Filter, Scan};

/// An open, checked snapshot file.
#[derive(Debug)]
pub struct SnapshotFile {
    pub(crate) io: Arc<dyn Io>,
    pub(crate) path: PathBuf,
    pub(crate) file: Arc<dyn IoFile>,
    header: FileHeader,
    trailer: Trailer,
    pub(crate) footer: Footer,
    len: u64,
    direct: bool,
}

/// Bytes read as the 4 KiB-aligned range around a wanted range, into an aligned buffer (as
/// `O_DIRECT` requires): `base` is the file offset of the buffer's first byte.
#[derive(Debug)]
pub(crate) struct AlignedRead {
    buf: AlignedBuf,
    base: u64,
    len: usize,
}

impl AlignedRead {
    pub(crate) fn base(&self) -> u64 {
        self.base
    }

    /// The bytes read, from `base`.
    pub(crate) fn bytes(&self) -> &[u8] {
        self.buf.as_slice().get(..self.len).unwrap_or_default()
    }
}

/// `range` rounded out to [`BLOCK_ALIGNMENT`] on both ends.
pub(crate) fn aligned_range(range: &Range<u64>) -> Range<u64> {
    let start = range.start - range.start % BLOCK_ALIGNMENT;
    start..align_up(range.end).unwrap_or(u64::MAX)
}

/// Reads the aligned range around `range` (the part past the end of the file is not there);
/// every byte of `range` must be read.
pub(crate) fn read_aligned(
    file: &dyn IoFile,
    path: &Path,
    range: Range<u64>,
) -> Result<AlignedRead> {
    let outer = aligned_range(&range);
    let size = usize::try_from(outer.end - outer.start)
        .map_err(|_| SnapshotError::InvalidInput(format!("a read of {outer:?}")))?;
    let need = usize::try_from(range.end - outer.start).unwrap_or(usize::MAX);
    let mut buf = AlignedBuf::zeroed(size).map_err(|e| error_at("read", path, e))?;
    let mut got = 0usize;
    while got < need {
        let rest = buf.as_mut_slice().get_mut(got..).unwrap_or_default();
        match file.read_at(rest, outer.start + got as u64) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(error_at("read", path, e).into()),
        }
    }
    if got < need {
        return Err(error_at(
            "read",
            path,
            std::io::Error::new(
                std::io::ErrorKind::UnexpectedEof,
                format!(
                    "bytes {range:?}: end of file at {}",
                    outer.start + got as u64
                ),
            ),
        )
        .into());
    }
    Ok(AlignedRead {
        buf,
        base: outer.start,
        len: got,
    })
}

/// The runs of adjacent chunks (`first..end` column indices) that `columns` selects.
pub(crate) fn selected_runs(meta: &BlockMeta, columns: Columns) -> Vec<(usize, usize)> {
    let count = meta.chunks.len();
    let mut runs: Vec<(usize, usize)> = Vec::new();
    for c in (0..count)
        .filter(|&c| c == 0 || (c + 1 == count && columns.item) || (c + 1 < count && columns.attrs))
    {
        match runs.last_mut() {
            Some((_, end)) if *end == c => *end = c + 1,
            _ => runs.push((c, c + 1)),
        }
    }
    runs
}

/// The file ranges read for block `meta` with `columns`: the aligned range around each run.
pub(crate) fn selected_ranges(meta: &BlockMeta, columns: Columns) -> Vec<Range<u64>> {
    selected_runs(meta, columns)
        .into_iter()
        .map(|(first, end)| aligned_range(&(meta.chunk_offset(first)..meta.chunk_offset(end))))
        .collect()
}

/// Decodes block `meta` from the aligned reads of its selected runs, each given as the file
/// offset of its first byte and its bytes; checks the padding after the block when read.
pub(crate) fn decode_runs(
    path: &Path,
    meta: &BlockMeta,
    columns: Columns,
    parts: &[((usize, usize), u64, &[u8])],
) -> Result<Vec<Row>> {
    check_read_padding(path, meta, parts)?;
    decode_block(path, meta, columns, |c| chunk_in(meta, parts, c))
}

/// Checks the zero padding after block `meta` that any of the reads `parts` covers.
fn check_read_padding(
    path: &Path,
    meta: &BlockMeta,
    parts: &[((usize, usize), u64, &[u8])],
) -> Result<()> {
    let end = meta.end();
    for &(_, base, bytes) in parts {
        let read_end = base + bytes.len() as u64;
        if base <= end && read_end > end {
            let from = usize::try_from(end - base).unwrap_or(usize::MAX);
            check_zero(bytes, from, bytes.len(), base)
                .map_err(|e| corrupt_at(path, Damage::Padding, e))?;
        }
    }
    Ok(())
}

/// The stored bytes of chunk `c` of block `meta` within the reads `parts`.
fn chunk_in<'a>(
    meta: &BlockMeta,
    parts: &[((usize, usize), u64, &'a [u8])],
    c: usize,
) -> Option<&'a [u8]> {
    let &(_, base, bytes) = parts
        .iter()
        .find(|((first, end), _, _)| (*first..*end).contains(&c))?;
    let from = usize::try_from(meta.chunk_offset(c).checked_sub(base)?).ok()?;
    let to = usize::try_from(meta.chunk_offset(c + 1).checked_sub(base)?).ok()?;
    bytes.get(from..to)
}
pub(crate) fn corrupt_at(path: &Path, damage: Damage, e: FormatError) -> SnapshotError {
    SnapshotError::corrupt(path, damage, e.offset, e.expected, e.found)
}

impl SnapshotFile {
    /// Opens `path` and checks its header (and the zero padding of its 4 KiB slot), trailer
    /// and footer, including every layout rule of the block index.
    pub fn open(io: Arc<dyn Io>, path: &Path) -> Result<Self> {
        Self::open_with(io, path, false)
    }

    /// [`SnapshotFile::open`] with the file opened for direct I/O (`O_DIRECT`, bypassing the
    /// page cache). Every read is of 4 KiB-aligned ranges into aligned buffers, so the same
    /// bytes are read either way. Fails if the file system refuses `O_DIRECT`.
    pub fn open_direct(io: Arc<dyn Io>, path: &Path) -> Result<Self> {
        Self::open_with(io, path, true)
    }

    /// Whether the file was opened with [`SnapshotFile::open_direct`].
    pub fn is_direct(&self) -> bool {
        self.direct
    }

    fn open_with(io: Arc<dyn Io>, path: &Path, direct: bool) -> Result<Self> {
        let file = io
            .open(path, OpenOptions::read_only().direct(direct))
            .map_err(|e| error_at("open", path, e))?;
        let len = file.len().map_err(|e| error_at("stat", path, e))?;
        let smallest = FIRST_BLOCK_OFFSET + TRAILER_BYTES as u64;
        if len < smallest {
            return Err(SnapshotError::corrupt(
                path,
                Damage::Size,
                len,
                format!("a file of at least {smallest} bytes"),
                format!("{len} bytes"),
            ));
        }
        let slot = read_aligned(&*file, path, 0..FIRST_BLOCK_OFFSET)?;
        let slot = slot.bytes();
        let header = FileHeader::decode(slot).map_err(|e| corrupt_at(path, Damage::Header, e))?;
        check_zero(slot, HEADER_BYTES, slot.len(), 0)
            .map_err(|e| corrupt_at(path, Damage::Padding, e))?;

        let trailer_at = len - TRAILER_BYTES as u64;
        let tail = read_aligned(&*file, path, trailer_at..len)?;
        let skip = usize::try_from(trailer_at - tail.base()).unwrap_or(usize::MAX);
        let trailer = tail
            .bytes()
            .get(skip..skip + TRAILER_BYTES)
            .unwrap_or_default();
        let trailer = Trailer::decode(trailer, trailer_at)
            .map_err(|e| corrupt_at(path, Damage::Trailer, e))?;

        let footer_end = trailer.footer_offset + trailer.footer_bytes;
        let footer_read = if tail.base() <= trailer.footer_offset {
            tail
        } else {
            read_aligned(&*file, path, trailer.footer_offset..footer_end)?
        };
        let from = usize::try_from(trailer.footer_offset - footer_read.base()).unwrap_or_default();
        let to = usize::try_from(footer_end - footer_read.base()).unwrap_or_default();
        let footer = footer_read.bytes().get(from..to).unwrap_or_default();
        let computed = xxh3_64(footer);
        if computed != trailer.footer_checksum {
            return Err(SnapshotError::corrupt(
                path,
                Damage::Footer,
                trailer.footer_offset,
                format!("a footer with checksum {:#018x}", trailer.footer_checksum),
                format!("checksum {computed:#018x}"),
            ));
        }
        let footer =
            Footer::decode(footer, &trailer).map_err(|e| corrupt_at(path, Damage::Footer, e))?;
        Ok(Self {
            io,
            path: path.to_path_buf(),
            file,
            header,
            trailer,
            footer,
            len,
            direct,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn table_id(&self) -> [u8; 16] {
        self.header.table_id
    }

    pub fn lsn(&self) -> u64 {
        self.header.lsn
    }

    pub fn row_count(&self) -> u64 {
        self.trailer.row_count
    }

    pub fn size_bytes(&self) -> u64 {
        self.len
    }

    pub fn attributes(&self) -> &[(String, ScalarAttributeType)] {
        &self.footer.attributes
    }

    /// The block index.
    pub fn blocks(&self) -> &[BlockMeta] {
        &self.footer.blocks
    }

    /// The smallest and largest key of the file.
    pub fn key_range(&self) -> (&[u8], &[u8]) {
        let first = self.footer.blocks.first().map(|b| b.first_key.as_slice());
        let last = self.footer.blocks.last().map(|b| b.last_key.as_slice());
        (first.unwrap_or_default(), last.unwrap_or_default())
    }

    /// The trailer's checksum of the footer (what a manifest entry's `footer_xxh3_64` names).
    pub fn footer_checksum(&self) -> u64 {
        self.trailer.footer_checksum
    }

    /// The file offset where the footer starts (the end of the last block's padding).
    pub fn footer_offset(&self) -> u64 {
        self.trailer.footer_offset
    }

    /// Reads block `index` with `columns`, fetching only the selected chunks: for each run of
    /// adjacent selected chunks, the 4 KiB-aligned range around it, in one read.
    pub fn read_block(&self, index: usize, columns: Columns) -> Result<Vec<Row>> {
        let meta = self.footer.blocks.get(index).ok_or_else(|| {
            SnapshotError::InvalidInput(format!("block {index} of {}", self.footer.blocks.len()))
        })?;
        let mut reads = Vec::new();
        for (first, end) in selected_runs(meta, columns) {
            let range = meta.chunk_offset(first)..meta.chunk_offset(end);
            reads.push(((first, end), read_aligned(&*self.file, &self.path, range)?));
        }
        let parts: Vec<((usize, usize), u64, &[u8])> = reads
            .iter()
            .map(|(run, read)| (*run, read.base(), read.bytes()))
            .collect();
        decode_runs(&self.path, meta, columns, &parts)
    }

    /// The row with `key`, if any: a binary search of the block index, then one read of the
    /// block; its key chunk is decoded and searched, and the other chunks are decompressed only
    /// when the key is there (a miss costs one key chunk).
    pub fn get(&self, key: &[u8]) -> Result<Option<Row>> {
        self.get_columns(key, Columns::ALL)
    }

    /// [`SnapshotFile::get`] returning only `columns` (the block is read whole either way:
    /// one request).
    pub fn get_columns(&self, key: &[u8], columns: Columns) -> Result<Option<Row>> {
        let blocks = &self.footer.blocks;
        let index = blocks.partition_point(|b| b.last_key.as_slice() < key);
        let Some(meta) = blocks.get(index) else {
            return Ok(None);
        };
        if meta.first_key.as_slice() > key {
            return Ok(None);
        }
        let read = read_aligned(&*self.file, &self.path, meta.offset..meta.end())?;
        let parts = [((0, meta.chunks.len()), read.base(), read.bytes())];
        check_read_padding(&self.path, meta, &parts)?;
        decode_row(&self.path, meta, key, columns, |c| {
            chunk_in(meta, &parts, c)
        })
    }

    /// Rows whose keys lie in `range`, in key order. A scan with every column reads the
    /// blocks front to back through the sequential reader (read-ahead) and checks the zero
    /// padding between them; a projection reads only the selected chunks of each block.
    pub fn scan(&self, range: (Bound<&[u8]>, Bound<&[u8]>), columns: Columns) -> Scan<'_> {
        Scan::new(FileRef::Borrowed(self), range, columns)
    }

    /// [`SnapshotFile::scan`] by a scan that holds the file (it closes when the scan and
    /// every other holder are dropped).
    pub fn scan_shared(
        self: Arc<Self>,
        range: (Bound<&[u8]>, Bound<&[u8]>),
        columns: Columns,
    ) -> Scan<'static> {
        Scan::new(FileRef::Shared(self), range, columns)
    }

    /// Rows whose keys lie in `range` and whose typed attribute `attribute_index` (in the
    /// file's attribute list) is present with an encoded value within `lower`..`upper` (by
    /// `memcmp`), in key order. Blocks whose zone map for the attribute excludes the bounds
    /// are not read ([`Scan::blocks_read`]); the others are read with the typed columns (and
    /// the item if `columns` asks for it) as projections. Returned rows carry typed values
    /// only if `columns` asks for them.
    pub fn scan_where<'a>(
        &'a self,
        range: (Bound<&[u8]>, Bound<&[u8]>),
        columns: Columns,
        attribute_index: usize,
        lower: Bound<&[u8]>,
        upper: Bound<&[u8]>,
    ) -> Result<Scan<'a>> {
        if attribute_index >= self.footer.attributes.len() {
            return Err(SnapshotError::InvalidInput(format!(
                "attribute {attribute_index} of {}",
                self.footer.attributes.len()
            )));
        }
        let owned = |b: Bound<&[u8]>| match b {
            Bound::Included(v) => Bound::Included(v.to_vec()),
            Bound::Excluded(v) => Bound::Excluded(v.to_vec()),
            Bound::Unbounded => Bound::Unbounded,
        };
        Ok(
            Scan::new(FileRef::Borrowed(self), range, columns).with_filter(Filter {
                attribute: attribute_index,
                lower: owned(lower),
                upper: owned(upper),
            }),
        )
    }
}
