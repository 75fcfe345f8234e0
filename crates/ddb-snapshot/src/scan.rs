//! Range scans over one file, as an iterator of rows in key order.

use std::collections::VecDeque;
use std::ops::{Bound, Range};
use std::sync::Arc;

use ddb_io::{ChunkReader, ReadAhead, error_at};

use crate::block::decode_block;
use crate::error::{Damage, Result, SnapshotError};
use crate::footer::BlockMeta;
use crate::format::{align_up, check_zero};
use crate::reader::{SnapshotFile, corrupt_at, decode_runs, selected_ranges, selected_runs};
use crate::row::{Columns, Row};

/// The file a scan reads: borrowed, or shared by the scan (a reader that opens files lazily
/// hands each scan its file, so no more than the files being scanned are open).
#[derive(Debug, Clone)]
pub(crate) enum FileRef<'a> {
    Borrowed(&'a SnapshotFile),
    Shared(Arc<SnapshotFile>),
}

impl std::ops::Deref for FileRef<'_> {
    type Target = SnapshotFile;

    fn deref(&self) -> &SnapshotFile {
        match self {
            FileRef::Borrowed(file) => file,
            FileRef::Shared(file) => file,
        }
    }
}

/// An iterator over the rows of a key range of one file. After an error it ends.
pub struct Scan<'a> {
    file: FileRef<'a>,
    start: Bound<Vec<u8>>,
    end: Bound<Vec<u8>>,
    columns: Columns,
    /// The next block to read, and one past the last.
    next_block: usize,
    end_block: usize,
    rows: VecDeque<Row>,
    /// Full scans: the sequential reader and the bytes it returned not yet consumed, which
    /// start at file offset `pending_at`.
    sequential: Option<Box<dyn ChunkReader>>,
    pending: Vec<u8>,
    pending_at: u64,
    /// Projected scans: the aligned ranges of the selected chunks of the blocks to read.
    projected: Option<Projected>,
    /// `scan_where`: the predicate on one typed attribute.
    filter: Option<Filter>,
    blocks_read: u64,
    done: bool,
}

/// A predicate on typed attribute `attribute`: its value is present and within the bounds
/// (by `memcmp` of the encoded values).
#[derive(Debug, Clone)]
pub(crate) struct Filter {
    pub(crate) attribute: usize,
    pub(crate) lower: Bound<Vec<u8>>,
    pub(crate) upper: Bound<Vec<u8>>,
}

impl Filter {
    fn contains(&self, value: &[u8]) -> bool {
        let above = match &self.lower {
            Bound::Included(l) => value >= l.as_slice(),
            Bound::Excluded(l) => value > l.as_slice(),
            Bound::Unbounded => true,
        };
        let below = match &self.upper {
            Bound::Included(u) => value <= u.as_slice(),
            Bound::Excluded(u) => value < u.as_slice(),
            Bound::Unbounded => true,
        };
        above && below
    }

    /// Whether the block's zone map allows a matching row.
    fn may_match(&self, meta: &BlockMeta) -> bool {
        let Some(Some((min, max))) = meta.zones.get(self.attribute) else {
            return false;
        };
        let max_above = match &self.lower {
            Bound::Included(l) => max >= l,
            Bound::Excluded(l) => max > l,
            Bound::Unbounded => true,
        };
        let min_below = match &self.upper {
            Bound::Included(u) => min <= u,
            Bound::Excluded(u) => min < u,
            Bound::Unbounded => true,
        };
        max_above && min_below
    }

    fn matches(&self, row: &Row) -> bool {
        row.attrs
            .get(self.attribute)
            .and_then(Option::as_deref)
            .is_some_and(|v| self.contains(v))
    }
}

/// Sequential readers kept open ahead of the consumer: at most this many ranges at once.
const PROJECTED_WINDOW: usize = 4;
/// Largest read of a projected range.
const PROJECTED_CHUNK_BYTES: usize = 1 << 20;

/// The aligned ranges a projected scan reads, in file order, each through its own sequential
/// reader; up to [`PROJECTED_WINDOW`] of them are open (reading ahead where the backend can)
/// before their bytes are wanted.
struct Projected {
    pending: VecDeque<Range<u64>>,
    open: VecDeque<(Range<u64>, Box<dyn ChunkReader>)>,
}

impl Projected {
    fn top_up(&mut self, file: &SnapshotFile) -> Result<()> {
        while self.open.len() < PROJECTED_WINDOW {
            let Some(range) = self.pending.pop_front() else {
                break;
            };
            let len = usize::try_from(range.end - range.start).unwrap_or(PROJECTED_CHUNK_BYTES);
            let read_ahead = ReadAhead {
                chunk_bytes: len.clamp(1, PROJECTED_CHUNK_BYTES),
                depth: 2,
            };
            let reader = file
                .io
                .read_sequential(Arc::clone(&file.file), range.clone(), read_ahead)
                .map_err(|e| error_at("read", &file.path, e))?;
            self.open.push_back((range, reader));
        }
        Ok(())
    }

    /// The next range's file offset and bytes (all of them, up to the end of the file).
    fn next_range(&mut self, file: &SnapshotFile) -> Result<(u64, Vec<u8>)> {
        self.top_up(file)?;
        let Some((range, mut reader)) = self.open.pop_front() else {
            return Err(SnapshotError::InvalidInput(
                "a projected scan ran out of ranges".into(),
            ));
        };
        let mut bytes = Vec::with_capacity(usize::try_from(range.end - range.start).unwrap_or(0));
        while let Some((_, chunk)) = reader
            .next_chunk()
            .map_err(|e| error_at("read", &file.path, e))?
        {
            bytes.extend_from_slice(chunk);
        }
        drop(reader);
        self.top_up(file)?;
        Ok((range.start, bytes))
    }
}

impl std::fmt::Debug for Scan<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Scan")
            .field("path", &self.file.path())
            .field("next_block", &self.next_block)
            .field("end_block", &self.end_block)
            .finish_non_exhaustive()
    }
}

fn owned(bound: Bound<&[u8]>) -> Bound<Vec<u8>> {
    match bound {
        Bound::Included(k) => Bound::Included(k.to_vec()),
        Bound::Excluded(k) => Bound::Excluded(k.to_vec()),
        Bound::Unbounded => Bound::Unbounded,
    }
}

impl<'a> Scan<'a> {
    pub(crate) fn new(
        file: FileRef<'a>,
        range: (Bound<&[u8]>, Bound<&[u8]>),
        columns: Columns,
    ) -> Self {
        let blocks = file.blocks();
        let next_block = match range.0 {
            Bound::Included(s) => blocks.partition_point(|b| b.last_key.as_slice() < s),
            Bound::Excluded(s) => blocks.partition_point(|b| b.last_key.as_slice() <= s),
            Bound::Unbounded => 0,
        };
        let end_block = match range.1 {
            Bound::Included(e) => blocks.partition_point(|b| b.first_key.as_slice() <= e),
            Bound::Excluded(e) => blocks.partition_point(|b| b.first_key.as_slice() < e),
            Bound::Unbounded => blocks.len(),
        };
        Self {
            file,
            start: owned(range.0),
            end: owned(range.1),
            columns,
            next_block,
            end_block: end_block.max(next_block),
            rows: VecDeque::new(),
            sequential: None,
            pending: Vec::new(),
            pending_at: 0,
            projected: None,
            filter: None,
            blocks_read: 0,
            done: false,
        }
    }

    pub(crate) fn with_filter(mut self, filter: Filter) -> Self {
        self.filter = Some(filter);
        self
    }

    /// Starts (a scan not yet started) at block `index` instead.
    pub(crate) fn starting_at_block(mut self, index: usize) -> Self {
        self.next_block = index.min(self.end_block);
        self
    }

    /// The block the scan reads next (after an error: the one after the damaged block).
    pub(crate) fn next_block(&self) -> usize {
        self.next_block
    }

    /// Blocks read so far (blocks a predicate's zone maps exclude are not read).
    pub fn blocks_read(&self) -> u64 {
        self.blocks_read
    }

    /// The columns read from disk: a predicate needs the typed columns.
    fn read_columns(&self) -> Columns {
        Columns {
            attrs: self.columns.attrs || self.filter.is_some(),
            ..self.columns
        }
    }

    fn in_range(&self, key: &[u8]) -> bool {
        let after_start = match &self.start {
            Bound::Included(s) => key >= s.as_slice(),
            Bound::Excluded(s) => key > s.as_slice(),
            Bound::Unbounded => true,
        };
        let before_end = match &self.end {
            Bound::Included(e) => key <= e.as_slice(),
            Bound::Excluded(e) => key < e.as_slice(),
            Bound::Unbounded => true,
        };
        after_start && before_end
    }

    /// Reads block `index` whole (chunks and padding) from the sequential reader.
    fn read_sequential(&mut self, index: usize) -> Result<Vec<Row>> {
        let handle = self.file.clone();
        let file: &SnapshotFile = &handle;
        let blocks = file.blocks();
        let meta = blocks
            .get(index)
            .ok_or_else(|| SnapshotError::InvalidInput(format!("block {index}")))?;
        let padded_end = align_up(meta.end()).unwrap_or(u64::MAX);
        if self.sequential.is_none() {
            let last = blocks
                .get(self.end_block.saturating_sub(1))
                .map_or(padded_end, |b| align_up(b.end()).unwrap_or(u64::MAX));
            let reader = file
                .io
                .read_sequential(
                    std::sync::Arc::clone(&file.file),
                    meta.offset..last,
                    ReadAhead::default(),
                )
                .map_err(|e| error_at("read", &file.path, e))?;
            self.sequential = Some(reader);
            self.pending_at = meta.offset;
        }
        let need = usize::try_from(padded_end - self.pending_at).unwrap_or(usize::MAX);
        while self.pending.len() < need {
            let Some(reader) = self.sequential.as_mut() else {
                break;
            };
            match reader
                .next_chunk()
                .map_err(|e| error_at("read", &file.path, e))?
            {
                Some((_, bytes)) => self.pending.extend_from_slice(bytes),
                None => {
                    return Err(SnapshotError::corrupt(
                        &file.path,
                        Damage::Size,
                        self.pending_at + self.pending.len() as u64,
                        format!("block bytes up to {padded_end}"),
                        "end of file",
                    ));
                }
            }
        }
        let skip = usize::try_from(meta.offset - self.pending_at).unwrap_or_default();
        let block_len = usize::try_from(meta.end() - meta.offset).unwrap_or_default();
        let bytes = self.pending.get(skip..need).unwrap_or_default();
        check_zero(bytes, block_len, bytes.len(), meta.offset)
            .map_err(|e| corrupt_at(&file.path, Damage::Padding, e))?;
        let rows = decode_block(&file.path, meta, self.columns, |c| {
            let from = usize::try_from(meta.chunk_offset(c) - meta.offset).ok()?;
            let to = usize::try_from(meta.chunk_offset(c + 1) - meta.offset).ok()?;
            bytes.get(from..to)
        })?;
        self.pending.drain(..need.min(self.pending.len()));
        self.pending_at = padded_end;
        Ok(rows)
    }

    /// Reads block `index`'s selected chunks from the projected ranges.
    fn read_projected(&mut self, index: usize) -> Result<Vec<Row>> {
        let handle = self.file.clone();
        let file: &SnapshotFile = &handle;
        let blocks = file.blocks();
        let meta = blocks
            .get(index)
            .ok_or_else(|| SnapshotError::InvalidInput(format!("block {index}")))?;
        let columns = self.read_columns();
        let filter = self.filter.as_ref();
        let projected = self.projected.get_or_insert_with(|| Projected {
            pending: blocks
                .get(index..self.end_block)
                .unwrap_or_default()
                .iter()
                .filter(|b| filter.is_none_or(|f| f.may_match(b)))
                .flat_map(|b| selected_ranges(b, columns))
                .collect(),
            open: VecDeque::new(),
        });
        let mut reads = Vec::new();
        for run in selected_runs(meta, columns) {
            let (base, bytes) = projected.next_range(file)?;
            let wanted = meta.chunk_offset(run.1);
            if base + (bytes.len() as u64) < wanted {
                return Err(SnapshotError::corrupt(
                    &file.path,
                    Damage::Size,
                    base + bytes.len() as u64,
                    format!("chunk bytes up to {wanted}"),
                    "end of file",
                ));
            }
            reads.push((run, base, bytes));
        }
        let parts: Vec<((usize, usize), u64, &[u8])> = reads
            .iter()
            .map(|(run, base, bytes)| (*run, *base, bytes.as_slice()))
            .collect();
        decode_runs(&file.path, meta, columns, &parts)
    }

    fn fill(&mut self) -> Result<()> {
        while self.rows.is_empty() && self.next_block < self.end_block {
            let index = self.next_block;
            self.next_block += 1;
            if let Some(filter) = &self.filter {
                let meta = self.file.blocks().get(index);
                if !meta.is_some_and(|m| filter.may_match(m)) {
                    continue;
                }
            }
            self.blocks_read += 1;
            let rows = if self.columns == Columns::ALL && self.filter.is_none() {
                self.read_sequential(index)?
            } else {
                self.read_projected(index)?
            };
            let strip = !self.columns.attrs;
            let kept = rows
                .into_iter()
                .filter(|r| self.in_range(&r.key))
                .filter(|r| self.filter.as_ref().is_none_or(|f| f.matches(r)))
                .map(|mut r| {
                    if strip {
                        r.attrs.clear();
                    }
                    r
                })
                .collect::<Vec<Row>>();
            self.rows.extend(kept);
        }
        Ok(())
    }
}

impl Iterator for Scan<'_> {
    type Item = Result<Row>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        if let Err(e) = self.fill() {
            self.done = true;
            return Some(Err(e));
        }
        let row = self.rows.pop_front();
        if row.is_none() {
            self.done = true;
        }
        row.map(Ok)
    }
}
