//! Spill runs: a sorted batch of log mutations (key → put item or delete) written to a
//! temporary file when the in-memory map exceeds the memory budget, and read back by key range.
//! Normative: `formats/spill/SPEC.md`; the reader's checks follow its "Reader requirements"
//! in order, naming the offsets it names.
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
//! The merge reads runs through the writer's record ([`SpillRun`]: path, trailer offset, count,
//! sparse index); [`read_run`] reads a run from its file alone (tools, tests, fuzzing).
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
const ENTRY_RESERVED_OFFSET: usize = ENTRY_KIND_OFFSET + 1;
const ENTRY_KEY_SIZE_OFFSET: usize = ENTRY_RESERVED_OFFSET + 3;
const ENTRY_VALUE_SIZE_OFFSET: usize = ENTRY_KEY_SIZE_OFFSET + 4;
pub const ENTRY_HEADER_BYTES: usize = ENTRY_VALUE_SIZE_OFFSET + 4;
const _: () = assert!(ENTRY_HEADER_BYTES == 12);
const ENTRY_CHECKSUM_BYTES: usize = 8;
const KIND_PUT: u8 = 1;
const KIND_DELETE: u8 = 2;

const TRAILER_MAGIC_OFFSET: usize = 0;
const TRAILER_COUNT_OFFSET: usize = TRAILER_MAGIC_OFFSET + 8;
const TRAILER_CHECKSUM_OFFSET: usize = TRAILER_COUNT_OFFSET + 8;
pub const TRAILER_BYTES: usize = TRAILER_CHECKSUM_OFFSET + 8;
const _: () = assert!(TRAILER_BYTES == 24);
/// The smallest run: a header and a trailer, no entries.
pub const MIN_RUN_BYTES: u64 = (HEADER_BYTES + TRAILER_BYTES) as u64;
// An end magic where an entry is expected must fail as an invalid kind, never pass as an entry.
const _: () = assert!(SPILL_END_MAGIC[0] != KIND_PUT && SPILL_END_MAGIC[0] != KIND_DELETE);

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

/// The one version gate: versions this reader can read.
fn is_known_version(version: u32) -> bool {
    version == SPILL_VERSION
}

fn corrupt(
    path: &Path,
    offset: u64,
    expected: impl Into<String>,
    found: impl Into<String>,
) -> MergeError {
    MergeError::CorruptSpill {
        path: path.to_owned(),
        offset,
        expected: expected.into(),
        found: found.into(),
    }
}

/// A failed check of a fixed-size part: the offset within the part, expected, found.
type Damage = (u64, String, String);

/// Checks a header in the spec's order: magic, checksum, version, reserved bytes zero.
fn check_header(header: &[u8]) -> std::result::Result<(), Damage> {
    let magic = header.get(..HEADER_VERSION_OFFSET).unwrap_or_default();
    if magic != SPILL_MAGIC {
        return Err((
            HEADER_MAGIC_OFFSET as u64,
            format!("spill magic {SPILL_MAGIC:02x?}"),
            format!("{magic:02x?}"),
        ));
    }
    let stored = u64_at(header, HEADER_CHECKSUM_OFFSET).unwrap_or_default();
    let computed = xxh3_64(header.get(..HEADER_CHECKSUM_OFFSET).unwrap_or_default());
    if stored != computed {
        return Err((
            HEADER_CHECKSUM_OFFSET as u64,
            format!("header checksum {computed:#018x}"),
            format!("{stored:#018x}"),
        ));
    }
    let version = u32_at(header, HEADER_VERSION_OFFSET).unwrap_or_default();
    if !is_known_version(version) {
        return Err((
            HEADER_VERSION_OFFSET as u64,
            format!("format version {SPILL_VERSION}"),
            format!("version {version}"),
        ));
    }
    let reserved = u32_at(header, HEADER_RESERVED_OFFSET).unwrap_or_default();
    if reserved != 0 {
        return Err((
            HEADER_RESERVED_OFFSET as u64,
            "reserved bytes zero".to_owned(),
            format!("{reserved:#010x}"),
        ));
    }
    Ok(())
}

/// Checks a trailer's end magic and checksum; returns its entry count.
fn check_trailer(trailer: &[u8]) -> std::result::Result<u64, Damage> {
    let magic = trailer.get(..TRAILER_COUNT_OFFSET).unwrap_or_default();
    if magic != SPILL_END_MAGIC {
        return Err((
            TRAILER_MAGIC_OFFSET as u64,
            format!("end magic {SPILL_END_MAGIC:02x?}"),
            format!("{magic:02x?}"),
        ));
    }
    let stored = u64_at(trailer, TRAILER_CHECKSUM_OFFSET).unwrap_or_default();
    let computed = xxh3_64(trailer.get(..TRAILER_CHECKSUM_OFFSET).unwrap_or_default());
    if stored != computed {
        return Err((
            TRAILER_CHECKSUM_OFFSET as u64,
            format!("trailer checksum {computed:#018x}"),
            format!("{stored:#018x}"),
        ));
    }
    Ok(u64_at(trailer, TRAILER_COUNT_OFFSET).unwrap_or_default())
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
    // Whole-run scans also check each trailer's count against the entries read.
    let mut scans = inputs
        .iter()
        .map(|run| run.scan_whole(io))
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
            if let Some((key, _)) = head
                && winner.is_none_or(|(_, best)| key.as_slice() <= best)
            {
                winner = Some((index, key.as_slice()));
            }
        }
        let Some((winner, key)) = winner else { break };
        let key = key.to_vec();
        for (index, (head, scan)) in heads.iter_mut().zip(scans.iter_mut()).enumerate() {
            if head.as_ref().is_some_and(|(k, _)| *k == key) {
                if index == winner
                    && let Some((k, mutation)) = head.take()
                {
                    writer.push(&k, &mutation)?;
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
    /// The key of the last entry written (meaningful once `entries > 0`).
    last_key: Vec<u8>,
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
            last_key: Vec::new(),
        })
    }

    fn push(&mut self, key: &[u8], mutation: &Mutation) -> Result<()> {
        // Readers reject a run out of key order; refuse to write one (a caller bug).
        if self.entries > 0 && self.last_key.as_slice() >= key {
            return Err(MergeError::Io(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "spill run {}: entry {} has key {key:02x?}, not above the previous key {:02x?}",
                    self.path.display(),
                    self.entries,
                    self.last_key
                ),
            )));
        }
        if self.offset >= self.next_index_at {
            self.index.push((key.to_vec(), self.offset));
            self.next_index_at = self.offset + INDEX_INTERVAL_BYTES;
        }
        encode_entry(&mut self.scratch, key, mutation)?;
        self.writer.write(&self.scratch)?;
        self.offset += self.scratch.len() as u64;
        self.entries += 1;
        self.last_key.clear();
        self.last_key.extend_from_slice(key);
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
        corrupt(&self.path, offset, expected, found)
    }

    fn read_range(&self, io: &dyn Io, start: u64, end: u64) -> Result<Box<dyn ChunkReader>> {
        let file = io.open(&self.path, OpenOptions::read_only())?;
        let read_ahead = ReadAhead {
            chunk_bytes: IO_CHUNK_BYTES,
            depth: READ_AHEAD_DEPTH,
        };
        Ok(io.read_sequential(file, start..end, read_ahead)?)
    }

    /// Checks the header, and the trailer at `data_end`; returns the trailer's entry count.
    fn check_header_and_trailer(&self, io: &dyn Io) -> Result<u64> {
        let mut bytes = ByteStream::new(self, self.read_range(io, 0, HEADER_BYTES as u64)?, 0);
        check_header(bytes.take(HEADER_BYTES)?)
            .map_err(|(offset, expected, found)| self.corrupt(offset, expected, found))?;
        let trailer_end = self.data_end + TRAILER_BYTES as u64;
        let reader = self.read_range(io, self.data_end, trailer_end)?;
        let mut bytes = ByteStream::new(self, reader, self.data_end);
        check_trailer(bytes.take(TRAILER_BYTES)?).map_err(|(offset, expected, found)| {
            self.corrupt(self.data_end + offset, expected, found)
        })
    }

    /// Checks the file length, header and trailer against the writer's record: the bytes that
    /// no key range scan reads.
    pub fn verify_frame(&self, io: &dyn Io) -> Result<()> {
        let file = io.open(&self.path, OpenOptions::read_only())?;
        let len = file.len()?;
        let expected_len = self.data_end + TRAILER_BYTES as u64;
        if len != expected_len {
            // Named where the file ends early, or where the unexpected bytes start.
            return Err(self.corrupt(
                len.min(expected_len),
                format!("a file of {expected_len} bytes"),
                format!("{len} bytes"),
            ));
        }
        let count = self.check_header_and_trailer(io)?;
        if count != self.entries {
            return Err(self.corrupt(
                self.data_end + TRAILER_COUNT_OFFSET as u64,
                format!("an entry count of {} (as written)", self.entries),
                format!("{count}"),
            ));
        }
        Ok(())
    }

    /// Every entry, ascending; at the end the trailer's count is checked against the entries
    /// read.
    pub fn scan_whole<'a>(&'a self, io: &dyn Io) -> Result<RunScan<'a>> {
        let start = HEADER_BYTES as u64;
        let end = self.data_end.max(start);
        Ok(RunScan {
            bytes: ByteStream::new(self, self.read_range(io, start, end)?, start),
            end,
            lower: None,
            upper: None,
            previous: None,
            whole: true,
            entries_read: 0,
        })
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
            whole: false,
            entries_read: 0,
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
    /// The scan covers every entry, so its end checks the trailer's count.
    whole: bool,
    entries_read: u64,
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
                let run = self.bytes.run;
                if self.whole && self.entries_read != run.entries {
                    return Err(run.corrupt(
                        run.data_end + TRAILER_COUNT_OFFSET as u64,
                        format!(
                            "an entry count equal to the {} entries read",
                            self.entries_read
                        ),
                        format!("{}", run.entries),
                    ));
                }
                return Ok(None);
            }
            let (key, mutation) = self.read_entry(at)?;
            self.entries_read += 1;
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

    /// Reads and checks the entry at `at`, in the spec's order: kind, reserved bytes, a
    /// delete's value size, the sizes within the range, the checksum.
    fn read_entry(&mut self, at: u64) -> Result<(Vec<u8>, Mutation)> {
        let run = self.bytes.run;
        // Fewer than a header's bytes before the end of the range: named at `at`.
        let header = self.bytes.take(ENTRY_HEADER_BYTES)?.to_vec();
        let kind = header.get(ENTRY_KIND_OFFSET).copied().unwrap_or_default();
        let reserved = header
            .get(ENTRY_RESERVED_OFFSET..ENTRY_KEY_SIZE_OFFSET)
            .unwrap_or_default();
        let key_size = u32_at(&header, ENTRY_KEY_SIZE_OFFSET).unwrap_or_default();
        let value_size = u32_at(&header, ENTRY_VALUE_SIZE_OFFSET).unwrap_or_default();
        if kind != KIND_PUT && kind != KIND_DELETE {
            return Err(run.corrupt(
                at + ENTRY_KIND_OFFSET as u64,
                "an entry kind (1 put, 2 delete)",
                format!("kind {kind:#04x}"),
            ));
        }
        if reserved.iter().any(|b| *b != 0) {
            return Err(run.corrupt(
                at + ENTRY_RESERVED_OFFSET as u64,
                "reserved bytes zero",
                format!("{reserved:02x?}"),
            ));
        }
        if kind == KIND_DELETE && value_size != 0 {
            return Err(run.corrupt(
                at + ENTRY_VALUE_SIZE_OFFSET as u64,
                "value size 0 for a delete",
                format!("{value_size}"),
            ));
        }
        // Checked before anything is allocated. A range scan ends at an index point, which is
        // an entry boundary, so no entry crosses its end either.
        let entry_bytes = (ENTRY_HEADER_BYTES + ENTRY_CHECKSUM_BYTES) as u64
            + u64::from(key_size)
            + u64::from(value_size);
        if at + entry_bytes > self.end {
            return Err(run.corrupt(
                at + ENTRY_KEY_SIZE_OFFSET as u64,
                format!("an entry ending at or before byte {}", self.end),
                format!(
                    "key size {key_size}, value size {value_size}: ending at byte {}",
                    at + entry_bytes
                ),
            ));
        }
        let body_size =
            usize::try_from(u64::from(key_size) + u64::from(value_size)).map_err(|_| {
                run.corrupt(
                    at + ENTRY_KEY_SIZE_OFFSET as u64,
                    "an entry that fits in memory",
                    format!("{key_size} + {value_size} bytes"),
                )
            })?;
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

/// Reads a whole run from its file alone, without the writer's record: the trailer is the
/// file's last [`TRAILER_BYTES`], and every check of the spec's "Reader requirements" is made,
/// the trailer's count included. For tools, tests and fuzzing; the merge reads through
/// [`SpillRun`].
pub fn read_run(io: &dyn Io, path: &Path) -> Result<Vec<(Vec<u8>, Mutation)>> {
    let len = io.open(path, OpenOptions::read_only())?.len()?;
    if len < MIN_RUN_BYTES {
        return Err(corrupt(
            path,
            len,
            format!("a run of at least {MIN_RUN_BYTES} bytes (header and trailer)"),
            format!("{len} bytes"),
        ));
    }
    let mut run = SpillRun {
        path: path.to_owned(),
        data_end: len - TRAILER_BYTES as u64,
        entries: 0,
        index: Vec::new(),
    };
    run.entries = run.check_header_and_trailer(io)?;
    let mut scan = run.scan_whole(io)?;
    let mut entries = Vec::new();
    while let Some(entry) = scan.next_entry()? {
        entries.push(entry);
    }
    Ok(entries)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ddb_io::StdIo;

    fn put(key: &str, item: &str) -> (Vec<u8>, Mutation) {
        (key.as_bytes().to_vec(), Some(item.as_bytes().to_vec()))
    }

    fn sample() -> BTreeMap<Vec<u8>, Mutation> {
        BTreeMap::from([
            put("a", "{}"),
            (b"b".to_vec(), None),
            put("c", r#"{"pk":{"S":"c"}}"#),
        ])
    }

    /// Writes `entries` as a run in a fresh directory; returns the directory and the record.
    fn written(entries: &BTreeMap<Vec<u8>, Mutation>) -> (tempfile::TempDir, SpillRun) {
        let dir = tempfile::tempdir().unwrap();
        let run = write_run(&StdIo::new(), &dir.path().join("r.spill"), entries).unwrap();
        (dir, run)
    }

    fn offset_of(result: Result<impl std::fmt::Debug>, path: &Path) -> u64 {
        match result {
            Err(MergeError::CorruptSpill {
                path: p, offset, ..
            }) => {
                assert_eq!(p, path);
                offset
            }
            other => panic!("expected a spill corruption, got {other:?}"),
        }
    }

    /// Replaces bytes of the file at `at`.
    fn patch(path: &Path, at: usize, bytes: &[u8]) {
        let mut data = std::fs::read(path).unwrap();
        data[at..at + bytes.len()].copy_from_slice(bytes);
        std::fs::write(path, data).unwrap();
    }

    #[test]
    fn read_run_returns_what_was_written() {
        for entries in [BTreeMap::new(), sample()] {
            let (_dir, run) = written(&entries);
            assert_eq!(run.entries, entries.len() as u64);
            run.verify_frame(&StdIo::new()).unwrap();
            let read = read_run(&StdIo::new(), &run.path).unwrap();
            assert_eq!(read, entries.into_iter().collect::<Vec<_>>());
        }
    }

    #[test]
    fn the_writer_refuses_keys_out_of_order() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.spill");
        let io = StdIo::new();
        let mut writer = RunWriter::create(&io, &path).unwrap();
        writer.push(b"b", &None).unwrap();
        for key in [&b"b"[..], b"a"] {
            match writer.push(key, &None) {
                Err(MergeError::Io(e)) => assert_eq!(e.kind(), io::ErrorKind::InvalidInput),
                other => panic!("key {key:?}: expected a refusal, got {other:?}"),
            }
        }
        writer.push(b"c", &None).unwrap();
        assert_eq!(writer.finish().unwrap().entries, 2);
    }

    #[test]
    fn header_damage_is_named_at_its_field() {
        let mut header = encode_header();
        header[HEADER_VERSION_OFFSET] = 2;
        let checksum = xxh3_64(&header[..HEADER_CHECKSUM_OFFSET]).to_le_bytes();
        header[HEADER_CHECKSUM_OFFSET..].copy_from_slice(&checksum);
        let (_dir, run) = written(&sample());
        patch(&run.path, 0, &header);
        assert_eq!(offset_of(run.verify_frame(&StdIo::new()), &run.path), 8);
        assert_eq!(offset_of(read_run(&StdIo::new(), &run.path), &run.path), 8);

        let mut header = encode_header();
        header[HEADER_RESERVED_OFFSET + 3] = 1;
        let checksum = xxh3_64(&header[..HEADER_CHECKSUM_OFFSET]).to_le_bytes();
        header[HEADER_CHECKSUM_OFFSET..].copy_from_slice(&checksum);
        patch(&run.path, 0, &header);
        assert_eq!(offset_of(read_run(&StdIo::new(), &run.path), &run.path), 12);

        patch(&run.path, HEADER_RESERVED_OFFSET + 3, &[0]);
        assert_eq!(offset_of(read_run(&StdIo::new(), &run.path), &run.path), 16);
    }

    /// A trailer count that matches the writer's record but not the entries: the frame checks
    /// pass, and only a whole scan (a run merge, `read_run`) can tell.
    #[test]
    fn whole_scans_check_the_count_against_the_entries_read() {
        let (dir, run) = written(&sample());
        let record = SpillRun {
            entries: run.entries + 1,
            ..run.clone()
        };
        patch(
            &run.path,
            usize::try_from(run.data_end).unwrap(),
            &encode_trailer(record.entries),
        );
        let io = StdIo::new();
        record.verify_frame(&io).unwrap();
        let count_at = run.data_end + TRAILER_COUNT_OFFSET as u64;
        assert_eq!(offset_of(read_run(&io, &run.path), &run.path), count_at);
        let merged = merge_runs(&io, &dir.path().join("m.spill"), &[record]);
        assert_eq!(offset_of(merged, &run.path), count_at);
        // A range scan cannot check the count, and does not claim to.
        let mut scan = run.scan(&io, None, None).unwrap();
        while scan.next_entry().unwrap().is_some() {}
    }

    #[test]
    fn trailing_bytes_and_truncation_are_named_where_the_file_departs() {
        let io = StdIo::new();
        let (_dir, run) = written(&sample());
        let mut data = std::fs::read(&run.path).unwrap();
        data.extend_from_slice(b"xyz");
        std::fs::write(&run.path, &data).unwrap();
        let end = run.data_end + TRAILER_BYTES as u64;
        assert_eq!(offset_of(run.verify_frame(&io), &run.path), end);
        assert_eq!(offset_of(read_run(&io, &run.path), &run.path), end + 3 - 24);
        data.truncate(usize::try_from(run.data_end).unwrap() - 5);
        std::fs::write(&run.path, &data).unwrap();
        let len = data.len() as u64;
        assert_eq!(offset_of(run.verify_frame(&io), &run.path), len);
        assert_eq!(offset_of(read_run(&io, &run.path), &run.path), len - 24);
    }

    /// Entry fields of a put changed with the checksum recomputed, so that each field check
    /// is what fails: named at the field (sizes: at the key size).
    #[test]
    fn entry_damage_is_named_at_its_field() {
        let at = HEADER_BYTES;
        let cases: [(usize, &[u8], usize); 5] = [
            (ENTRY_KIND_OFFSET, &[3], ENTRY_KIND_OFFSET),
            (ENTRY_RESERVED_OFFSET + 2, &[1], ENTRY_RESERVED_OFFSET),
            // A delete with the put's value size 1.
            (ENTRY_KIND_OFFSET, &[KIND_DELETE], ENTRY_VALUE_SIZE_OFFSET),
            (ENTRY_KEY_SIZE_OFFSET, &[0xFF; 4], ENTRY_KEY_SIZE_OFFSET),
            (ENTRY_VALUE_SIZE_OFFSET, &[0xFF; 4], ENTRY_KEY_SIZE_OFFSET),
        ];
        for (field, bytes, named) in cases {
            let (_dir, run) = written(&BTreeMap::from([put("k", "v"), put("l", "w")]));
            // 12 header bytes, key, value, checksum.
            let mut entry = std::fs::read(&run.path).unwrap()[at..at + 22].to_vec();
            entry[field..field + bytes.len()].copy_from_slice(bytes);
            let checksum = xxh3_64(&entry[..14]).to_le_bytes();
            entry[14..].copy_from_slice(&checksum);
            patch(&run.path, at, &entry);
            let offset = offset_of(read_run(&StdIo::new(), &run.path), &run.path);
            assert_eq!(offset, (at + named) as u64, "field {field} = {bytes:?}");
        }
    }
}
