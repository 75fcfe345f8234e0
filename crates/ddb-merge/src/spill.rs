//! Spill runs: a sorted batch of log mutations (key → put item or delete) written to a
//! temporary file when the in-memory map exceeds the memory budget, and read back by key range.
//!
//! Layout (all integers little-endian):
//!
//! | offset | size | field                                               |
//! |--------|------|-----------------------------------------------------|
//! | 0      | 8    | magic `\x89DDBSPL\n`                                |
//! | 8      | 4    | version (1)                                         |
//! | 12     | 4    | reserved, zero                                      |
//! | 16     | 8    | xxh3-64 of bytes 0..16                              |
//! | 24     | ...  | entries, strictly ascending by key                  |
//! | end-24 | 8    | end magic `DDBSPEND`                                |
//! | end-16 | 8    | entry count                                         |
//! | end-8  | 8    | xxh3-64 of the 16 bytes before                      |
//!
//! Entry: kind (1 = put, 2 = delete), 3 reserved zero bytes, key size u32, value size u32 (0 for
//! a delete), key, value, then xxh3-64 of everything before it in the entry. Every byte is
//! covered by a checksum, so any damage is an error naming the file and offset.
//!
//! The writer keeps a sparse index (a key and offset every [`INDEX_INTERVAL_BYTES`]) in memory
//! so that a partition reads only its key range. Runs are temporary: never synced, removed when
//! the merge ends.

use std::collections::BTreeMap;
use std::io;
use std::path::{Path, PathBuf};

use ddb_io::{ChunkReader, ChunkWriter, Io, OpenOptions, ReadAhead, WriteBehind};
use xxhash_rust::xxh3::xxh3_64;

use crate::error::{MergeError, Result};

pub const SPILL_MAGIC: [u8; 8] = *b"\x89DDBSPL\n";
pub const SPILL_END_MAGIC: [u8; 8] = *b"DDBSPEND";
pub const SPILL_VERSION: u32 = 1;

const HEADER_MAGIC_OFFSET: usize = 0;
const HEADER_VERSION_OFFSET: usize = HEADER_MAGIC_OFFSET + 8;
const HEADER_RESERVED_OFFSET: usize = HEADER_VERSION_OFFSET + 4;
const HEADER_CHECKSUM_OFFSET: usize = HEADER_RESERVED_OFFSET + 4;
pub const HEADER_BYTES: usize = HEADER_CHECKSUM_OFFSET + 8;
const _: () = assert!(HEADER_BYTES == 24);

const ENTRY_KIND_OFFSET: usize = 0;
const ENTRY_KEY_SIZE_OFFSET: usize = ENTRY_KIND_OFFSET + 4;
const ENTRY_VALUE_SIZE_OFFSET: usize = ENTRY_KEY_SIZE_OFFSET + 4;
pub const ENTRY_HEADER_BYTES: usize = ENTRY_VALUE_SIZE_OFFSET + 4;
const ENTRY_CHECKSUM_BYTES: usize = 8;
const KIND_PUT: u8 = 1;
const KIND_DELETE: u8 = 2;

const TRAILER_MAGIC_OFFSET: usize = 0;
const TRAILER_COUNT_OFFSET: usize = TRAILER_MAGIC_OFFSET + 8;
const TRAILER_CHECKSUM_OFFSET: usize = TRAILER_COUNT_OFFSET + 8;
pub const TRAILER_BYTES: usize = TRAILER_CHECKSUM_OFFSET + 8;
const _: () = assert!(TRAILER_BYTES == 24);

/// Bytes of entries between two sparse index points.
pub const INDEX_INTERVAL_BYTES: u64 = 64 << 10;
const IO_CHUNK_BYTES: usize = 64 << 10;
const READ_AHEAD_DEPTH: usize = 2;
/// Memory one open run reader may hold: the chunks in flight ([`READ_AHEAD_DEPTH`]), the chunk
/// being consumed, and the carry-over buffer of the byte stream (a chunk plus a partial entry).
/// The merge charges this per run per partition against the memory budget.
pub const RUN_READ_BUFFER_BYTES: usize = IO_CHUNK_BYTES * (READ_AHEAD_DEPTH + 2);

/// A mutation: the item of a put, or `None` for a delete.
pub type Mutation = Option<Vec<u8>>;

/// A spill run on disk, with what the writer remembers about it.
#[derive(Debug, Clone)]
pub struct SpillRun {
    pub path: PathBuf,
    /// Offset of the trailer: entries are `[HEADER_BYTES, data_end)`.
    pub data_end: u64,
    pub entries: u64,
    /// `(first key at or after the offset, entry offset)`, ascending; starts with the first entry.
    pub index: Vec<(Vec<u8>, u64)>,
}

fn u32_at(bytes: &[u8], offset: usize) -> Option<u32> {
    let field = bytes.get(offset..offset.checked_add(4)?)?;
    field.try_into().ok().map(u32::from_le_bytes)
}

fn u64_at(bytes: &[u8], offset: usize) -> Option<u64> {
    let field = bytes.get(offset..offset.checked_add(8)?)?;
    field.try_into().ok().map(u64::from_le_bytes)
}

fn encode_header() -> [u8; HEADER_BYTES] {
    let mut out = [0u8; HEADER_BYTES];
    let (body, checksum) = out.split_at_mut(HEADER_CHECKSUM_OFFSET);
    let (magic, rest) = body.split_at_mut(HEADER_VERSION_OFFSET);
    magic.copy_from_slice(&SPILL_MAGIC);
    if let Some(version) = rest.get_mut(..4) {
        version.copy_from_slice(&SPILL_VERSION.to_le_bytes());
    }
    checksum.copy_from_slice(&xxh3_64(body).to_le_bytes());
    out
}

fn encode_trailer(entries: u64) -> [u8; TRAILER_BYTES] {
    let mut out = [0u8; TRAILER_BYTES];
    let (body, checksum) = out.split_at_mut(TRAILER_CHECKSUM_OFFSET);
    let (magic, count) = body.split_at_mut(TRAILER_COUNT_OFFSET);
    magic.copy_from_slice(&SPILL_END_MAGIC);
    count.copy_from_slice(&entries.to_le_bytes());
    checksum.copy_from_slice(&xxh3_64(body).to_le_bytes());
    out
}

fn size_u32(what: &str, len: usize) -> Result<u32> {
    u32::try_from(len).map_err(|_| {
        MergeError::Io(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("spill run: {what} of {len} bytes does not fit a u32 size field"),
        ))
    })
}

/// Appends one encoded entry to `out` (cleared first).
pub fn encode_entry(out: &mut Vec<u8>, key: &[u8], mutation: &Mutation) -> Result<()> {
    out.clear();
    let (kind, value) = match mutation {
        Some(item) => (KIND_PUT, item.as_slice()),
        None => (KIND_DELETE, &[][..]),
    };
    out.extend_from_slice(&[kind, 0, 0, 0]);
    out.extend_from_slice(&size_u32("key", key.len())?.to_le_bytes());
    out.extend_from_slice(&size_u32("item", value.len())?.to_le_bytes());
    out.extend_from_slice(key);
    out.extend_from_slice(value);
    let checksum = xxh3_64(out);
    out.extend_from_slice(&checksum.to_le_bytes());
    Ok(())
}

/// Writes `entries` (ascending, as a `BTreeMap` iterates) as a new run at `path`. The caller
/// owns the file from before this call, so that it is removed even if the write fails.
pub fn write_run(
    io: &dyn Io,
    path: &Path,
    entries: &BTreeMap<Vec<u8>, Mutation>,
) -> Result<SpillRun> {
    let mut writer = RunWriter::create(io, path)?;
    for (key, mutation) in entries {
        writer.push(key, mutation)?;
    }
    writer.finish()
}

/// Merges `inputs` (oldest first) into one new run at `path`: for equal keys the newest input
/// wins, and deletes are kept as tombstones, because the merged run may still have to shadow
/// older data (the snapshot). Opens one reader per input, so at most
/// `inputs.len() × RUN_READ_BUFFER_BYTES` of read buffers plus one write buffer. The caller
/// owns the file from before this call, and removes the inputs afterwards.
pub fn merge_runs(io: &dyn Io, path: &Path, inputs: &[SpillRun]) -> Result<SpillRun> {
    for run in inputs {
        run.verify_frame(io)?;
    }
    let mut scans = inputs
        .iter()
        .map(|run| run.scan(io, None, None))
        .collect::<Result<Vec<_>>>()?;
    let mut heads = scans
        .iter_mut()
        .map(RunScan::next_entry)
        .collect::<Result<Vec<_>>>()?;
    let mut writer = RunWriter::create(io, path)?;
    loop {
        // The smallest key; for equal keys the newest input (the last one seen) wins.
        let mut winner: Option<(usize, &[u8])> = None;
        for (index, head) in heads.iter().enumerate() {
            if let Some((key, _)) = head {
                if winner.is_none_or(|(_, best)| key.as_slice() <= best) {
                    winner = Some((index, key.as_slice()));
                }
            }
        }
        let Some((winner, key)) = winner else { break };
        let key = key.to_vec();
        for (index, (head, scan)) in heads.iter_mut().zip(scans.iter_mut()).enumerate() {
            if head.as_ref().is_some_and(|(k, _)| *k == key) {
                if index == winner {
                    if let Some((k, mutation)) = head.take() {
                        writer.push(&k, &mutation)?;
                    }
                }
                *head = scan.next_entry()?;
            }
        }
    }
    writer.finish()
}

/// Writes a run entry by entry; entries must come in strictly ascending key order.
struct RunWriter<'a> {
    path: &'a Path,
    writer: Box<dyn ChunkWriter>,
    offset: u64,
    index: Vec<(Vec<u8>, u64)>,
    next_index_at: u64,
    scratch: Vec<u8>,
    entries: u64,
}

impl<'a> RunWriter<'a> {
    fn create(io: &dyn Io, path: &'a Path) -> Result<Self> {
        let file = io.open(path, OpenOptions::create_new())?;
        let write_behind = WriteBehind {
            chunk_bytes: 256 << 10,
            depth: 2,
            direct: false,
        };
        let mut writer = io.write_sequential(file, 0, write_behind)?;
        writer.write(&encode_header())?;
        let offset = HEADER_BYTES as u64;
        Ok(Self {
            path,
            writer,
            offset,
            index: Vec::new(),
            next_index_at: offset,
            scratch: Vec::new(),
            entries: 0,
        })
    }

    fn push(&mut self, key: &[u8], mutation: &Mutation) -> Result<()> {
        if self.offset >= self.next_index_at {
            self.index.push((key.to_vec(), self.offset));
            self.next_index_at = self.offset + INDEX_INTERVAL_BYTES;
        }
        encode_entry(&mut self.scratch, key, mutation)?;
        self.writer.write(&self.scratch)?;
        self.offset += self.scratch.len() as u64;
        self.entries += 1;
        Ok(())
    }

    fn finish(mut self) -> Result<SpillRun> {
        let data_end = self.offset;
        self.writer.write(&encode_trailer(self.entries))?;
        let end = self.writer.finish()?;
        if end != data_end + TRAILER_BYTES as u64 {
            return Err(MergeError::Io(io::Error::other(format!(
                "spill run {}: the writer ended at byte {end}, expected {}",
                self.path.display(),
                data_end + TRAILER_BYTES as u64
            ))));
        }
        Ok(SpillRun {
            path: self.path.to_owned(),
            data_end,
            entries: self.entries,
            index: self.index,
        })
    }
}

impl SpillRun {
    fn corrupt(
        &self,
        offset: u64,
        expected: impl Into<String>,
        found: impl Into<String>,
    ) -> MergeError {
        MergeError::CorruptSpill {
            path: self.path.clone(),
            offset,
            expected: expected.into(),
            found: found.into(),
        }
    }

    fn read_range(&self, io: &dyn Io, start: u64, end: u64) -> Result<Box<dyn ChunkReader>> {
        let file = io.open(&self.path, OpenOptions::read_only())?;
        let read_ahead = ReadAhead {
            chunk_bytes: IO_CHUNK_BYTES,
            depth: READ_AHEAD_DEPTH,
        };
        Ok(io.read_sequential(file, start..end, read_ahead)?)
    }

    /// Checks the file length, header and trailer: the bytes that no key range scan reads.
    pub fn verify_frame(&self, io: &dyn Io) -> Result<()> {
        let file = io.open(&self.path, OpenOptions::read_only())?;
        let len = file.len()?;
        let expected_len = self.data_end + TRAILER_BYTES as u64;
        if len != expected_len {
            return Err(self.corrupt(
                0,
                format!("a file of {expected_len} bytes"),
                format!("{len} bytes"),
            ));
        }
        let mut bytes = ByteStream::new(self, self.read_range(io, 0, HEADER_BYTES as u64)?, 0);
        let header = bytes.take(HEADER_BYTES)?;
        if header != encode_header() {
            let found = header.get(..HEADER_CHECKSUM_OFFSET).unwrap_or_default();
            return Err(self.corrupt(
                0,
                "the spill header (magic, version 1, checksum)",
                format!("{found:02x?}"),
            ));
        }
        let mut bytes = ByteStream::new(
            self,
            self.read_range(io, self.data_end, len)?,
            self.data_end,
        );
        let trailer = bytes.take(TRAILER_BYTES)?;
        if trailer != encode_trailer(self.entries) {
            let count = u64_at(trailer, TRAILER_COUNT_OFFSET).unwrap_or_default();
            return Err(self.corrupt(
                self.data_end,
                format!(
                    "the spill trailer (end magic, {} entries, checksum)",
                    self.entries
                ),
                format!(
                    "{:02x?} with count {count}",
                    trailer.get(..8).unwrap_or_default()
                ),
            ));
        }
        Ok(())
    }

    /// The entries with `lower <= key < upper`, ascending.
    pub fn scan<'a>(
        &'a self,
        io: &dyn Io,
        lower: Option<&[u8]>,
        upper: Option<&[u8]>,
    ) -> Result<RunScan<'a>> {
        // Start at the last index point whose key is <= lower; stop at the first whose key is
        // >= upper (every entry from there on is >= upper too).
        let start = lower.map_or(0, |l| {
            self.index
                .partition_point(|(k, _)| k.as_slice() <= l)
                .saturating_sub(1)
        });
        let start = self
            .index
            .get(start)
            .map_or(self.data_end, |(_, offset)| *offset);
        let end = upper
            .and_then(|u| self.index.iter().find(|(k, _)| k.as_slice() >= u))
            .map_or(self.data_end, |(_, offset)| *offset);
        let end = end.max(start);
        Ok(RunScan {
            bytes: ByteStream::new(self, self.read_range(io, start, end)?, start),
            end,
            lower: lower.map(<[u8]>::to_vec),
            upper: upper.map(<[u8]>::to_vec),
            previous: None,
        })
    }
}

/// Bytes of a file range as a stream, across chunk boundaries.
struct ByteStream<'a> {
    run: &'a SpillRun,
    reader: Box<dyn ChunkReader>,
    buf: Vec<u8>,
    /// Consumed bytes at the front of `buf`.
    pos: usize,
    /// File offset of `buf[0]`.
    buf_offset: u64,
}

impl<'a> ByteStream<'a> {
    fn new(run: &'a SpillRun, reader: Box<dyn ChunkReader>, start: u64) -> Self {
        Self {
            run,
            reader,
            buf: Vec::new(),
            pos: 0,
            buf_offset: start,
        }
    }

    /// File offset of the next byte `take` returns.
    fn offset(&self) -> u64 {
        self.buf_offset + self.pos as u64
    }

    /// The next `n` bytes; an error if the range ends first.
    fn take(&mut self, n: usize) -> Result<&[u8]> {
        while self.buf.len() - self.pos < n {
            if self.pos > 0 {
                self.buf.drain(..self.pos);
                self.buf_offset += self.pos as u64;
                self.pos = 0;
            }
            let expected_at = self.buf_offset + self.buf.len() as u64;
            match self.reader.next_chunk()? {
                Some((at, chunk)) if at == expected_at => self.buf.extend_from_slice(chunk),
                Some((at, _)) => {
                    return Err(MergeError::Io(io::Error::other(format!(
                        "read {}: chunk at byte {at}, expected byte {expected_at}",
                        self.run.path.display()
                    ))));
                }
                None => {
                    return Err(self.run.corrupt(
                        self.offset(),
                        format!("{n} more bytes"),
                        format!(
                            "the end of the range after {} bytes",
                            self.buf.len() - self.pos
                        ),
                    ));
                }
            }
        }
        let start = self.pos;
        self.pos += n;
        Ok(self.buf.get(start..self.pos).unwrap_or_default())
    }
}

/// A key range scan of one run.
pub struct RunScan<'a> {
    bytes: ByteStream<'a>,
    end: u64,
    lower: Option<Vec<u8>>,
    upper: Option<Vec<u8>>,
    previous: Option<Vec<u8>>,
}

impl std::fmt::Debug for RunScan<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunScan")
            .field("path", &self.bytes.run.path)
            .field("offset", &self.bytes.offset())
            .finish_non_exhaustive()
    }
}

impl RunScan<'_> {
    /// The next entry in range, or `None` at the end of the range.
    pub fn next_entry(&mut self) -> Result<Option<(Vec<u8>, Mutation)>> {
        loop {
            let at = self.bytes.offset();
            if at >= self.end {
                return Ok(None);
            }
            let (key, mutation) = self.read_entry(at)?;
            if self.previous.as_ref().is_some_and(|p| *p >= key) {
                return Err(self.bytes.run.corrupt(
                    at,
                    "keys in strictly ascending order",
                    "a key not above the previous one",
                ));
            }
            self.previous = Some(key.clone());
            if self.lower.as_ref().is_some_and(|l| key < *l) {
                continue;
            }
            if self.upper.as_ref().is_some_and(|u| key >= *u) {
                self.end = at;
                return Ok(None);
            }
            return Ok(Some((key, mutation)));
        }
    }

    fn read_entry(&mut self, at: u64) -> Result<(Vec<u8>, Mutation)> {
        let run = self.bytes.run;
        let header = self.bytes.take(ENTRY_HEADER_BYTES)?.to_vec();
        let kind = header.first().copied().unwrap_or_default();
        let reserved = header.get(1..ENTRY_KEY_SIZE_OFFSET).unwrap_or_default();
        let key_size = u32_at(&header, ENTRY_KEY_SIZE_OFFSET).unwrap_or_default();
        let value_size = u32_at(&header, ENTRY_VALUE_SIZE_OFFSET).unwrap_or_default();
        if !(kind == KIND_PUT || kind == KIND_DELETE && value_size == 0)
            || reserved.iter().any(|b| *b != 0)
        {
            return Err(run.corrupt(
                at,
                "an entry header (kind 1 or 2, zero reserved bytes, no value for a delete)",
                format!("{header:02x?}"),
            ));
        }
        let body_size =
            usize::try_from(u64::from(key_size) + u64::from(value_size)).map_err(|_| {
                run.corrupt(
                    at,
                    "an entry that fits in memory",
                    format!("{key_size} + {value_size} bytes"),
                )
            })?;
        if at + (ENTRY_HEADER_BYTES + ENTRY_CHECKSUM_BYTES) as u64 + body_size as u64 > run.data_end
        {
            return Err(run.corrupt(
                at,
                "an entry inside the run",
                format!("key size {key_size}, value size {value_size}"),
            ));
        }
        let body = self.bytes.take(body_size + ENTRY_CHECKSUM_BYTES)?;
        let (data, checksum) = body.split_at(body_size);
        let stored = u64_at(checksum, 0).unwrap_or_default();
        let mut hasher = xxhash_rust::xxh3::Xxh3::new();
        hasher.update(&header);
        hasher.update(data);
        let computed = hasher.digest();
        if stored != computed {
            return Err(run.corrupt(
                at + (ENTRY_HEADER_BYTES + body_size) as u64,
                format!("entry checksum {computed:#018x}"),
                format!("{stored:#018x}"),
            ));
        }
        let key_len = usize::try_from(key_size)
            .unwrap_or(usize::MAX)
            .min(data.len());
        let (key, value) = data.split_at(key_len);
        let mutation = (kind == KIND_PUT).then(|| value.to_vec());
        Ok((key.to_vec(), mutation))
    }
}
