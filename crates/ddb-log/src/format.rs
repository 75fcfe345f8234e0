//! The byte layout of log segments (normative text: `formats/log/SPEC.md`). Encoding and
//! decoding only: this module does no I/O.
//!
//! All integers are little-endian. Offsets are named constants chained from the previous field,
//! so the code reads like the spec's tables.

use xxhash_rust::xxh3::{Xxh3, xxh3_64};

/// First bytes of every segment: non-ASCII first byte and a newline, so text-mode transfers and
/// wrong files fail fast.
pub const SEGMENT_MAGIC: [u8; 8] = *b"\x89DDBLOG\n";
/// Format version written by this code.
pub const FORMAT_VERSION: u32 = 1;

// Segment header: 64 bytes.
pub const HEADER_MAGIC_OFFSET: usize = 0;
pub const HEADER_VERSION_OFFSET: usize = HEADER_MAGIC_OFFSET + 8;
pub const HEADER_SIZE_OFFSET: usize = HEADER_VERSION_OFFSET + 4;
pub const HEADER_TABLE_ID_OFFSET: usize = HEADER_SIZE_OFFSET + 4;
pub const HEADER_FIRST_LSN_OFFSET: usize = HEADER_TABLE_ID_OFFSET + 16;
pub const HEADER_CREATED_OFFSET: usize = HEADER_FIRST_LSN_OFFSET + 8;
pub const HEADER_RESERVED_OFFSET: usize = HEADER_CREATED_OFFSET + 8;
pub const HEADER_CHECKSUM_OFFSET: usize = HEADER_RESERVED_OFFSET + 8;
pub const HEADER_BYTES: usize = HEADER_CHECKSUM_OFFSET + 8;
const _: () = assert!(HEADER_BYTES == 64);
/// [`HEADER_BYTES`] as stored in the header's size field.
const HEADER_BYTES_U32: u32 = 64;
const _: () = assert!(HEADER_BYTES_U32 as usize == HEADER_BYTES);

/// Marks the start of every frame (`DDBF` as bytes).
pub const FRAME_MAGIC: [u8; 4] = *b"DDBF";
// Frame header: 32 bytes.
pub const FRAME_MAGIC_OFFSET: usize = 0;
pub const FRAME_SIZE_OFFSET: usize = FRAME_MAGIC_OFFSET + 4;
pub const FRAME_FIRST_LSN_OFFSET: usize = FRAME_SIZE_OFFSET + 4;
pub const FRAME_COUNT_OFFSET: usize = FRAME_FIRST_LSN_OFFSET + 8;
pub const FRAME_FLAGS_OFFSET: usize = FRAME_COUNT_OFFSET + 4;
pub const FRAME_CHECKSUM_OFFSET: usize = FRAME_FLAGS_OFFSET + 4;
pub const FRAME_HEADER_BYTES: usize = FRAME_CHECKSUM_OFFSET + 8;
const _: () = assert!(FRAME_HEADER_BYTES == 32);
/// Frame flag: this frame seals its segment; it has no records and nothing may follow it.
pub const FRAME_FLAG_SEAL: u32 = 1;
/// Largest frame a writer produces and a reader accepts (a group is split at batch boundaries
/// below this; one batch of 25 items of 400 KB fits).
pub const FRAME_BYTES_MAX: usize = 64 << 20;

// Record header: 24 bytes, then the key, then the value.
pub const RECORD_TYPE_OFFSET: usize = 0;
pub const RECORD_FLAGS_OFFSET: usize = RECORD_TYPE_OFFSET + 1;
pub const RECORD_KEY_SIZE_OFFSET: usize = RECORD_FLAGS_OFFSET + 1;
pub const RECORD_VALUE_SIZE_OFFSET: usize = RECORD_KEY_SIZE_OFFSET + 2;
pub const RECORD_LSN_OFFSET: usize = RECORD_VALUE_SIZE_OFFSET + 4;
pub const RECORD_TIMESTAMP_OFFSET: usize = RECORD_LSN_OFFSET + 8;
pub const RECORD_HEADER_BYTES: usize = RECORD_TIMESTAMP_OFFSET + 8;
const _: () = assert!(RECORD_HEADER_BYTES == 24);
/// Record flag: the last record of its batch.
pub const RECORD_FLAG_END_OF_BATCH: u8 = 1;

/// What a record does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RecordType {
    /// Stores the item (value = canonical item JSON) under the key.
    Put,
    /// Removes the item with the key (no value).
    Delete,
    /// A type this reader does not know but may skip (`0x80..=0xFF`).
    Skippable(u8),
}

impl RecordType {
    pub const PUT: u8 = 1;
    pub const DELETE: u8 = 2;

    pub fn code(self) -> u8 {
        match self {
            Self::Put => Self::PUT,
            Self::Delete => Self::DELETE,
            Self::Skippable(code) => code,
        }
    }

    /// Type 0 is never valid; `3..=0x7F` are reserved for types every reader must understand.
    pub fn from_code(code: u8) -> Option<Self> {
        match code {
            Self::PUT => Some(Self::Put),
            Self::DELETE => Some(Self::Delete),
            0x80..=0xFF => Some(Self::Skippable(code)),
            _ => None,
        }
    }
}

/// The decoded segment header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SegmentHeader {
    pub table_id: [u8; 16],
    pub first_lsn: u64,
    pub created_at_us: u64,
}

/// A decoding failure: where (offset within the bytes given) and what was expected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FormatError {
    pub offset: u64,
    pub expected: String,
    pub found: String,
}

impl FormatError {
    fn new(offset: usize, expected: impl Into<String>, found: impl Into<String>) -> Self {
        Self {
            offset: offset as u64,
            expected: expected.into(),
            found: found.into(),
        }
    }
}

fn u32_at(bytes: &[u8], offset: usize) -> Option<u32> {
    bytes
        .get(offset..offset + 4)?
        .try_into()
        .ok()
        .map(u32::from_le_bytes)
}

fn u64_at(bytes: &[u8], offset: usize) -> Option<u64> {
    bytes
        .get(offset..offset + 8)?
        .try_into()
        .ok()
        .map(u64::from_le_bytes)
}

fn u16_at(bytes: &[u8], offset: usize) -> Option<u16> {
    bytes
        .get(offset..offset + 2)?
        .try_into()
        .ok()
        .map(u16::from_le_bytes)
}

impl SegmentHeader {
    pub fn encode(&self) -> [u8; HEADER_BYTES] {
        let mut out = [0u8; HEADER_BYTES];
        let put = |out: &mut [u8; HEADER_BYTES], offset: usize, bytes: &[u8]| {
            put_bytes(out, offset, bytes)
        };
        put(&mut out, HEADER_MAGIC_OFFSET, &SEGMENT_MAGIC);
        put(
            &mut out,
            HEADER_VERSION_OFFSET,
            &FORMAT_VERSION.to_le_bytes(),
        );
        put(
            &mut out,
            HEADER_SIZE_OFFSET,
            &HEADER_BYTES_U32.to_le_bytes(),
        );
        put(&mut out, HEADER_TABLE_ID_OFFSET, &self.table_id);
        put(
            &mut out,
            HEADER_FIRST_LSN_OFFSET,
            &self.first_lsn.to_le_bytes(),
        );
        put(
            &mut out,
            HEADER_CREATED_OFFSET,
            &self.created_at_us.to_le_bytes(),
        );
        let checksum = xxh3_64(out.get(..HEADER_CHECKSUM_OFFSET).unwrap_or_default());
        put(&mut out, HEADER_CHECKSUM_OFFSET, &checksum.to_le_bytes());
        out
    }

    /// Decodes and checks a segment header: magic, version, size, reserved bytes zero, checksum.
    pub fn decode(bytes: &[u8]) -> Result<Self, FormatError> {
        if bytes.len() < HEADER_BYTES {
            return Err(FormatError::new(
                bytes.len(),
                format!("a {HEADER_BYTES}-byte segment header"),
                format!("{} bytes", bytes.len()),
            ));
        }
        let magic = bytes.get(..8).unwrap_or_default();
        if magic != SEGMENT_MAGIC {
            return Err(FormatError::new(
                0,
                format!("segment magic {SEGMENT_MAGIC:02x?}"),
                format!("{magic:02x?}"),
            ));
        }
        let stored = u64_at(bytes, HEADER_CHECKSUM_OFFSET).unwrap_or_default();
        let computed = xxh3_64(bytes.get(..HEADER_CHECKSUM_OFFSET).unwrap_or_default());
        if stored != computed {
            return Err(FormatError::new(
                HEADER_CHECKSUM_OFFSET,
                format!("header checksum {computed:#018x}"),
                format!("{stored:#018x}"),
            ));
        }
        let version = u32_at(bytes, HEADER_VERSION_OFFSET).unwrap_or_default();
        if version != FORMAT_VERSION {
            return Err(FormatError::new(
                HEADER_VERSION_OFFSET,
                format!("format version {FORMAT_VERSION}"),
                format!("version {version}"),
            ));
        }
        let size = u32_at(bytes, HEADER_SIZE_OFFSET).unwrap_or_default();
        if size as usize != HEADER_BYTES {
            return Err(FormatError::new(
                HEADER_SIZE_OFFSET,
                format!("header size {HEADER_BYTES}"),
                format!("{size}"),
            ));
        }
        let reserved = u64_at(bytes, HEADER_RESERVED_OFFSET).unwrap_or_default();
        if reserved != 0 {
            return Err(FormatError::new(
                HEADER_RESERVED_OFFSET,
                "reserved bytes zero",
                format!("{reserved:#018x}"),
            ));
        }
        let first_lsn = u64_at(bytes, HEADER_FIRST_LSN_OFFSET).unwrap_or_default();
        if first_lsn == 0 {
            return Err(FormatError::new(
                HEADER_FIRST_LSN_OFFSET,
                "a first LSN of at least 1",
                "0",
            ));
        }
        let mut table_id = [0u8; 16];
        table_id.copy_from_slice(
            bytes
                .get(HEADER_TABLE_ID_OFFSET..HEADER_TABLE_ID_OFFSET + 16)
                .unwrap_or(&[0; 16]),
        );
        Ok(Self {
            table_id,
            first_lsn,
            created_at_us: u64_at(bytes, HEADER_CREATED_OFFSET).unwrap_or_default(),
        })
    }
}

/// One mutation, as a writer hands it to a frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mutation {
    pub kind: MutationKind,
    /// The table key in the order-preserving encoding (`formats/key`).
    pub key: Vec<u8>,
}

/// A put (with its canonical item JSON) or a delete.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MutationKind {
    Put(Vec<u8>),
    Delete,
}

/// A decoded record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    pub record_type: RecordType,
    pub end_of_batch: bool,
    pub lsn: u64,
    pub timestamp_us: u64,
    pub key: Vec<u8>,
    /// Canonical item JSON for a put; empty for a delete.
    pub value: Vec<u8>,
}

/// A decoded frame: its header fields and records.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    pub first_lsn: u64,
    pub seal: bool,
    pub records: Vec<Record>,
}

impl Frame {
    /// LSN of the last record, or `first_lsn - 1` for a seal frame (which names the next LSN).
    pub fn last_lsn(&self) -> u64 {
        self.first_lsn + self.records.len() as u64 - 1
    }
}

/// Appends one frame holding `batches` (each a non-empty list of mutations) with consecutive
/// LSNs from `first_lsn`, all stamped `timestamp_us`. Returns the frame's length in bytes.
pub fn encode_frame(
    out: &mut Vec<u8>,
    first_lsn: u64,
    timestamp_us: u64,
    batches: &[&[Mutation]],
) -> usize {
    let start = out.len();
    out.extend_from_slice(&[0u8; FRAME_HEADER_BYTES]);
    let mut lsn = first_lsn;
    let mut count: u32 = 0;
    for batch in batches {
        for (i, mutation) in batch.iter().enumerate() {
            let (code, value): (u8, &[u8]) = match &mutation.kind {
                MutationKind::Put(item) => (RecordType::PUT, item),
                MutationKind::Delete => (RecordType::DELETE, &[]),
            };
            let flags = if i + 1 == batch.len() {
                RECORD_FLAG_END_OF_BATCH
            } else {
                0
            };
            out.push(code);
            out.push(flags);
            out.extend_from_slice(
                &u16::try_from(mutation.key.len())
                    .unwrap_or(u16::MAX)
                    .to_le_bytes(),
            );
            out.extend_from_slice(&u32::try_from(value.len()).unwrap_or(u32::MAX).to_le_bytes());
            out.extend_from_slice(&lsn.to_le_bytes());
            out.extend_from_slice(&timestamp_us.to_le_bytes());
            out.extend_from_slice(&mutation.key);
            out.extend_from_slice(value);
            lsn += 1;
            count += 1;
        }
    }
    let frame_bytes = out.len() - start;
    write_frame_header(out, start, frame_bytes, first_lsn, count, 0);
    frame_bytes
}

/// Appends a seal frame: no records, flag [`FRAME_FLAG_SEAL`], `first_lsn` = the next LSN.
pub fn encode_seal(out: &mut Vec<u8>, next_lsn: u64) -> usize {
    let start = out.len();
    out.extend_from_slice(&[0u8; FRAME_HEADER_BYTES]);
    write_frame_header(out, start, FRAME_HEADER_BYTES, next_lsn, 0, FRAME_FLAG_SEAL);
    FRAME_HEADER_BYTES
}

fn write_frame_header(
    out: &mut [u8],
    start: usize,
    frame_bytes: usize,
    first_lsn: u64,
    count: u32,
    flags: u32,
) {
    let Some(frame) = out.get_mut(start..start + frame_bytes) else {
        return;
    };
    put_bytes(frame, FRAME_MAGIC_OFFSET, &FRAME_MAGIC);
    put_bytes(
        frame,
        FRAME_SIZE_OFFSET,
        &u32::try_from(frame_bytes).unwrap_or(u32::MAX).to_le_bytes(),
    );
    put_bytes(frame, FRAME_FIRST_LSN_OFFSET, &first_lsn.to_le_bytes());
    put_bytes(frame, FRAME_COUNT_OFFSET, &count.to_le_bytes());
    put_bytes(frame, FRAME_FLAGS_OFFSET, &flags.to_le_bytes());
    let checksum = frame_checksum(frame);
    put_bytes(frame, FRAME_CHECKSUM_OFFSET, &checksum.to_le_bytes());
}

fn put_bytes(out: &mut [u8], offset: usize, bytes: &[u8]) {
    if let Some(slot) = out.get_mut(offset..offset + bytes.len()) {
        slot.copy_from_slice(bytes);
    }
}

/// xxh3-64 over the frame header before the checksum field, then the body after it.
fn frame_checksum(frame: &[u8]) -> u64 {
    let mut hasher = Xxh3::new();
    hasher.update(frame.get(..FRAME_CHECKSUM_OFFSET).unwrap_or_default());
    hasher.update(frame.get(FRAME_HEADER_BYTES..).unwrap_or_default());
    hasher.digest()
}

/// The outcome of trying to decode a frame at the start of `bytes`.
#[derive(Debug)]
pub enum FrameDecode {
    /// A whole, valid frame of this many bytes.
    Frame(Frame, usize),
    /// `bytes` ends before the frame does (the frame may continue in bytes not read yet).
    NeedMore { frame_bytes: Option<usize> },
    /// The bytes are not a valid frame.
    Invalid(FormatError),
}

/// Decodes the frame at the start of `bytes`, checking everything the spec requires of one
/// frame in isolation. Cross-frame rules (LSN continuity, timestamps, seals last) belong to the
/// caller.
pub fn decode_frame(bytes: &[u8]) -> FrameDecode {
    let invalid = |offset: usize, expected: &str, found: String| {
        FrameDecode::Invalid(FormatError::new(offset, expected, found))
    };
    if bytes.len() < FRAME_HEADER_BYTES {
        // A magic that is already wrong need not wait for more bytes.
        let have = bytes.len().min(4);
        if bytes.get(..have) != FRAME_MAGIC.get(..have) {
            return invalid(
                0,
                "frame magic \"DDBF\"",
                format!("{:02x?}", bytes.get(..have).unwrap_or_default()),
            );
        }
        return FrameDecode::NeedMore { frame_bytes: None };
    }
    if bytes.get(..4) != Some(&FRAME_MAGIC[..]) {
        return invalid(
            0,
            "frame magic \"DDBF\"",
            format!("{:02x?}", bytes.get(..4).unwrap_or_default()),
        );
    }
    let frame_bytes = u32_at(bytes, FRAME_SIZE_OFFSET).unwrap_or_default() as usize;
    let count = u32_at(bytes, FRAME_COUNT_OFFSET).unwrap_or_default();
    let flags = u32_at(bytes, FRAME_FLAGS_OFFSET).unwrap_or_default();
    let first_lsn = u64_at(bytes, FRAME_FIRST_LSN_OFFSET).unwrap_or_default();
    let seal = flags == FRAME_FLAG_SEAL;
    if flags & !FRAME_FLAG_SEAL != 0 {
        return invalid(
            FRAME_FLAGS_OFFSET,
            "frame flags 0 or 1 (seal)",
            format!("{flags:#x}"),
        );
    }
    let min_bytes = if seal {
        FRAME_HEADER_BYTES
    } else {
        FRAME_HEADER_BYTES + RECORD_HEADER_BYTES + 1
    };
    if frame_bytes < min_bytes
        || frame_bytes > FRAME_BYTES_MAX
        || (seal && frame_bytes != FRAME_HEADER_BYTES)
    {
        return invalid(
            FRAME_SIZE_OFFSET,
            "a frame size within bounds",
            format!("{frame_bytes}"),
        );
    }
    if first_lsn == 0 {
        return invalid(
            FRAME_FIRST_LSN_OFFSET,
            "a first LSN of at least 1",
            "0".into(),
        );
    }
    if seal != (count == 0) {
        return invalid(
            FRAME_COUNT_OFFSET,
            "record count 0 exactly for a seal frame",
            format!("{count} (seal: {seal})"),
        );
    }
    // Every record's LSN and the next LSN after the frame must fit in a u64, or the sums that
    // check and continue the sequence would overflow.
    if first_lsn.checked_add(u64::from(count)).is_none() {
        return invalid(
            FRAME_FIRST_LSN_OFFSET,
            "a first LSN with room for the frame's records (first LSN + record count < 2^64)",
            format!("{first_lsn} with {count} records"),
        );
    }
    let Some(frame) = bytes.get(..frame_bytes) else {
        return FrameDecode::NeedMore {
            frame_bytes: Some(frame_bytes),
        };
    };
    let stored = u64_at(frame, FRAME_CHECKSUM_OFFSET).unwrap_or_default();
    let computed = frame_checksum(frame);
    if stored != computed {
        return invalid(
            FRAME_CHECKSUM_OFFSET,
            &format!("frame checksum {computed:#018x}"),
            format!("{stored:#018x}"),
        );
    }
    match decode_records(frame, first_lsn, count) {
        Ok(records) => FrameDecode::Frame(
            Frame {
                first_lsn,
                seal,
                records,
            },
            frame_bytes,
        ),
        Err(e) => FrameDecode::Invalid(e),
    }
}

fn decode_records(frame: &[u8], first_lsn: u64, count: u32) -> Result<Vec<Record>, FormatError> {
    let mut records = Vec::with_capacity(usize::try_from(count).unwrap_or(0).min(65_536));
    let mut offset = FRAME_HEADER_BYTES;
    let mut last_record_offset = offset;
    let mut previous_timestamp = 0u64;
    while offset < frame.len() {
        let header = frame
            .get(offset..offset + RECORD_HEADER_BYTES)
            .ok_or_else(|| {
                FormatError::new(
                    offset,
                    "a 24-byte record header",
                    format!("{} bytes left in the frame", frame.len() - offset),
                )
            })?;
        let code = header.first().copied().unwrap_or_default();
        let record_type = RecordType::from_code(code).ok_or_else(|| {
            FormatError::new(
                offset,
                "record type 1 (put), 2 (delete) or 0x80..=0xFF",
                format!("{code}"),
            )
        })?;
        let flags = header.get(RECORD_FLAGS_OFFSET).copied().unwrap_or_default();
        if flags & !RECORD_FLAG_END_OF_BATCH != 0 {
            return Err(FormatError::new(
                offset + RECORD_FLAGS_OFFSET,
                "record flags 0 or 1",
                format!("{flags:#x}"),
            ));
        }
        let key_bytes = usize::from(u16_at(header, RECORD_KEY_SIZE_OFFSET).unwrap_or_default());
        let value_bytes = u32_at(header, RECORD_VALUE_SIZE_OFFSET).unwrap_or_default() as usize;
        let lsn = u64_at(header, RECORD_LSN_OFFSET).unwrap_or_default();
        let timestamp_us = u64_at(header, RECORD_TIMESTAMP_OFFSET).unwrap_or_default();
        // More records than `count` may precede the count check below: no overflow here either.
        let Some(expected_lsn) = first_lsn.checked_add(records.len() as u64) else {
            return Err(FormatError::new(
                offset + RECORD_LSN_OFFSET,
                "an LSN below 2^64",
                format!("record {} after first LSN {first_lsn}", records.len()),
            ));
        };
        if lsn != expected_lsn {
            return Err(FormatError::new(
                offset + RECORD_LSN_OFFSET,
                format!("LSN {expected_lsn}"),
                format!("{lsn}"),
            ));
        }
        if timestamp_us < previous_timestamp {
            return Err(FormatError::new(
                offset + RECORD_TIMESTAMP_OFFSET,
                format!("a timestamp of at least {previous_timestamp} µs"),
                format!("{timestamp_us}"),
            ));
        }
        previous_timestamp = timestamp_us;
        if key_bytes == 0 {
            return Err(FormatError::new(
                offset + RECORD_KEY_SIZE_OFFSET,
                "a non-empty key",
                "0",
            ));
        }
        match record_type {
            RecordType::Put if value_bytes < 2 => {
                return Err(FormatError::new(
                    offset + RECORD_VALUE_SIZE_OFFSET,
                    "an item of at least 2 bytes",
                    format!("{value_bytes}"),
                ));
            }
            RecordType::Delete if value_bytes != 0 => {
                return Err(FormatError::new(
                    offset + RECORD_VALUE_SIZE_OFFSET,
                    "no value for a delete",
                    format!("{value_bytes} bytes"),
                ));
            }
            _ => {}
        }
        let key_start = offset + RECORD_HEADER_BYTES;
        let value_start = key_start + key_bytes;
        let end = value_start + value_bytes;
        let (Some(key), Some(value)) = (
            frame.get(key_start..value_start),
            frame.get(value_start..end),
        ) else {
            return Err(FormatError::new(
                offset + RECORD_KEY_SIZE_OFFSET,
                "key and value within the frame",
                format!(
                    "{key_bytes} + {value_bytes} bytes with {} left",
                    frame.len() - key_start
                ),
            ));
        };
        records.push(Record {
            record_type,
            end_of_batch: flags & RECORD_FLAG_END_OF_BATCH != 0,
            lsn,
            timestamp_us,
            key: key.to_vec(),
            value: value.to_vec(),
        });
        last_record_offset = offset;
        offset = end;
    }
    if records.len() as u64 != u64::from(count) {
        return Err(FormatError::new(
            FRAME_COUNT_OFFSET,
            format!("{} records as the body holds", records.len()),
            format!("{count}"),
        ));
    }
    if records.last().is_some_and(|r| !r.end_of_batch) {
        // Blame the flags of the record that should have ended the batch: the frame's end is
        // already the next frame's first byte.
        return Err(FormatError::new(
            last_record_offset + RECORD_FLAGS_OFFSET,
            "the frame's last record to end its batch",
            "a batch continuing past the frame",
        ));
    }
    Ok(records)
}

/// File name of the segment whose first LSN is `first_lsn`: 20 zero-padded digits + `.log`.
pub fn segment_file_name(first_lsn: u64) -> String {
    format!("{first_lsn:020}.log")
}

/// The first LSN a segment file name stands for, if it is a segment file name.
pub fn parse_segment_file_name(name: &str) -> Option<u64> {
    let digits = name.strip_suffix(".log")?;
    if digits.len() != 20 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok().filter(|&lsn| lsn > 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn delete(key: &[u8]) -> Mutation {
        Mutation {
            kind: MutationKind::Delete,
            key: key.to_vec(),
        }
    }

    /// Sets the frame checksum of `frame` to match its bytes, so a test can change a field and
    /// still reach the checks behind the checksum.
    fn reseal_checksum(frame: &mut [u8]) {
        let checksum = frame_checksum(frame);
        put_bytes(frame, FRAME_CHECKSUM_OFFSET, &checksum.to_le_bytes());
    }

    #[test]
    fn an_unended_batch_is_reported_inside_the_frame_at_the_last_records_flags() {
        let mut frame = Vec::new();
        let batch = [delete(b"a"), delete(b"b")];
        let frame_bytes = encode_frame(&mut frame, 1, 5, &[&batch]);
        let last_record = FRAME_HEADER_BYTES + RECORD_HEADER_BYTES + 1;
        frame[last_record + RECORD_FLAGS_OFFSET] = 0;
        reseal_checksum(&mut frame);
        let FrameDecode::Invalid(error) = decode_frame(&frame) else {
            panic!("an unended batch must not decode");
        };
        assert_eq!(error.offset, (last_record + RECORD_FLAGS_OFFSET) as u64);
        assert!(error.offset < frame_bytes as u64, "within the frame");
        assert_eq!(error.expected, "the frame's last record to end its batch");
    }

    /// A frame encoded at LSN 1 and then moved to `first_lsn` (the encoder itself cannot
    /// count past `u64::MAX`).
    fn frame_at(first_lsn: u64, keys: &[&[u8]]) -> Vec<u8> {
        let batch: Vec<Mutation> = keys.iter().map(|k| delete(k)).collect();
        let mut frame = Vec::new();
        encode_frame(&mut frame, 1, 5, &[&batch]);
        put_bytes(&mut frame, FRAME_FIRST_LSN_OFFSET, &first_lsn.to_le_bytes());
        let mut offset = FRAME_HEADER_BYTES;
        for (index, key) in (0u64..).zip(keys) {
            let lsn = first_lsn.wrapping_add(index);
            put_bytes(&mut frame, offset + RECORD_LSN_OFFSET, &lsn.to_le_bytes());
            offset += RECORD_HEADER_BYTES + key.len();
        }
        reseal_checksum(&mut frame);
        frame
    }

    #[test]
    fn lsns_past_u64_max_are_invalid_not_an_overflow() {
        // The last representable next LSN: fine.
        let FrameDecode::Frame(frame, _) = decode_frame(&frame_at(u64::MAX - 2, &[b"a", b"b"]))
        else {
            panic!("a frame whose next LSN is u64::MAX decodes");
        };
        assert_eq!(frame.last_lsn(), u64::MAX - 1);
        for (first_lsn, keys) in [
            (u64::MAX, &[&b"a"[..]][..]),
            (u64::MAX, &[&b"a"[..], &b"b"[..]][..]),
            (u64::MAX - 1, &[&b"a"[..], &b"b"[..], &b"c"[..]][..]),
        ] {
            let FrameDecode::Invalid(error) = decode_frame(&frame_at(first_lsn, keys)) else {
                panic!("{first_lsn} + {} records overflows", keys.len());
            };
            assert_eq!(error.offset, FRAME_FIRST_LSN_OFFSET as u64);
        }
        // A body holding more records than the count must not overflow before the count check.
        let mut frame = frame_at(u64::MAX - 1, &[b"a", b"b", b"c"]);
        put_bytes(&mut frame, FRAME_COUNT_OFFSET, &1u32.to_le_bytes());
        reseal_checksum(&mut frame);
        let FrameDecode::Invalid(error) = decode_frame(&frame) else {
            panic!("three records under a count of one");
        };
        let third_record = FRAME_HEADER_BYTES + 2 * (RECORD_HEADER_BYTES + 1);
        assert_eq!(error.offset, (third_record + RECORD_LSN_OFFSET) as u64);
    }
}
