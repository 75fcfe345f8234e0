//! Reading one snapshot file: open checks header, trailer and footer; blocks are fetched
//! either whole through the sequential reader (full scans, with read-ahead) or as the byte
//! ranges of the selected column chunks only (projections, point lookups).

use std::ops::Bound;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use ddb_io::{Io, IoFile, OpenOptions, error_at};
use ddb_model::ScalarAttributeType;
use xxhash_rust::xxh3::xxh3_64;

use crate::block::decode_block;
use crate::error::{Result, SnapshotError};
use crate::footer::{BlockMeta, Footer};
use crate::format::{
    FIRST_BLOCK_OFFSET, FileHeader, FormatError, HEADER_BYTES, TRAILER_BYTES, Trailer, check_zero,
};
use crate::row::{Columns, Row};
use crate::scan::Scan;

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
}

pub(crate) fn corrupt_at(path: &Path, e: FormatError) -> SnapshotError {
    SnapshotError::corrupt(path, e.offset, e.expected, e.found)
}

impl SnapshotFile {
    /// Opens `path` and checks its header (and the zero padding of its 4 KiB slot), trailer
    /// and footer, including every layout rule of the block index.
    pub fn open(io: Arc<dyn Io>, path: &Path) -> Result<Self> {
        let file = io
            .open(path, OpenOptions::read_only())
            .map_err(|e| error_at("open", path, e))?;
        let len = file.len().map_err(|e| error_at("stat", path, e))?;
        let smallest = FIRST_BLOCK_OFFSET + TRAILER_BYTES as u64;
        if len < smallest {
            return Err(SnapshotError::corrupt(
                path,
                len,
                format!("a file of at least {smallest} bytes"),
                format!("{len} bytes"),
            ));
        }
        let mut slot = vec![0u8; usize::try_from(FIRST_BLOCK_OFFSET).unwrap_or_default()];
        file.read_exact_at(&mut slot, 0)
            .map_err(|e| error_at("read", path, e))?;
        let header = FileHeader::decode(&slot).map_err(|e| corrupt_at(path, e))?;
        check_zero(&slot, HEADER_BYTES, slot.len(), 0).map_err(|e| corrupt_at(path, e))?;

        let trailer_at = len - TRAILER_BYTES as u64;
        let mut trailer = [0u8; TRAILER_BYTES];
        file.read_exact_at(&mut trailer, trailer_at)
            .map_err(|e| error_at("read", path, e))?;
        let trailer = Trailer::decode(&trailer, trailer_at).map_err(|e| corrupt_at(path, e))?;

        let mut footer = vec![0u8; usize::try_from(trailer.footer_bytes).unwrap_or_default()];
        file.read_exact_at(&mut footer, trailer.footer_offset)
            .map_err(|e| error_at("read", path, e))?;
        let computed = xxh3_64(&footer);
        if computed != trailer.footer_checksum {
            return Err(SnapshotError::corrupt(
                path,
                trailer.footer_offset,
                format!("a footer with checksum {:#018x}", trailer.footer_checksum),
                format!("checksum {computed:#018x}"),
            ));
        }
        let footer = Footer::decode(&footer, &trailer).map_err(|e| corrupt_at(path, e))?;
        Ok(Self {
            io,
            path: path.to_path_buf(),
            file,
            header,
            trailer,
            footer,
            len,
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

    /// The file offset where the footer starts (the end of the last block's padding).
    pub fn footer_offset(&self) -> u64 {
        self.trailer.footer_offset
    }

    /// Reads block `index` with `columns`, fetching only the selected chunks' bytes (adjacent
    /// chunks in one read).
    pub fn read_block(&self, index: usize, columns: Columns) -> Result<Vec<Row>> {
        let meta = self.footer.blocks.get(index).ok_or_else(|| {
            SnapshotError::InvalidInput(format!("block {index} of {}", self.footer.blocks.len()))
        })?;
        let count = meta.chunks.len();
        let wanted: Vec<usize> = (0..count)
            .filter(|&c| {
                c == 0 || (c + 1 == count && columns.item) || (c + 1 < count && columns.attrs)
            })
            .collect();
        let mut stored: Vec<Option<Vec<u8>>> = vec![None; count];
        let mut runs: Vec<(usize, usize)> = Vec::new();
        for &c in &wanted {
            match runs.last_mut() {
                Some((_, end)) if *end == c => *end = c + 1,
                _ => runs.push((c, c + 1)),
            }
        }
        for (first, end) in runs {
            let from = meta.chunk_offset(first);
            let to = meta.chunk_offset(end);
            let mut bytes = vec![0u8; usize::try_from(to - from).unwrap_or_default()];
            self.file
                .read_exact_at(&mut bytes, from)
                .map_err(|e| error_at("read", &self.path, e))?;
            let mut at = 0usize;
            for c in first..end {
                let size = meta
                    .chunks
                    .get(c)
                    .map(|m| usize::try_from(m.stored_bytes).unwrap_or_default())
                    .unwrap_or_default();
                let part = bytes.get(at..at + size).unwrap_or_default().to_vec();
                if let Some(slot) = stored.get_mut(c) {
                    *slot = Some(part);
                }
                at += size;
            }
        }
        decode_block(&self.path, meta, columns, |c| {
            stored.get(c).and_then(|s| s.as_deref())
        })
    }

    /// The row with `key`, if any: a binary search of the block index, then one block read.
    pub fn get(&self, key: &[u8]) -> Result<Option<Row>> {
        let blocks = &self.footer.blocks;
        let index = blocks.partition_point(|b| b.last_key.as_slice() < key);
        let Some(meta) = blocks.get(index) else {
            return Ok(None);
        };
        if meta.first_key.as_slice() > key {
            return Ok(None);
        }
        let rows = self.read_block(index, Columns::ALL)?;
        Ok(rows
            .binary_search_by(|r| r.key.as_slice().cmp(key))
            .ok()
            .and_then(|i| rows.into_iter().nth(i)))
    }

    /// Rows whose keys lie in `range`, in key order. A scan with every column reads the
    /// blocks front to back through the sequential reader (read-ahead) and checks the zero
    /// padding between them; a projection reads only the selected chunks of each block.
    pub fn scan(&self, range: (Bound<&[u8]>, Bound<&[u8]>), columns: Columns) -> Scan<'_> {
        Scan::new(self, range, columns)
    }
}
