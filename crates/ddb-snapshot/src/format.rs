//! The byte layout of snapshot files (normative text: `formats/snapshot/SPEC.md`): the header,
//! the trailer and the layout rules that tie blocks to the footer. Encoding and decoding only:
//! this module does no I/O.
//!
//! All integers are little-endian. Offsets are named constants chained from the previous field,
//! so the code reads like the spec's tables.

use xxhash_rust::xxh3::xxh3_64;

/// First bytes of every snapshot file: a non-ASCII first byte and a newline, so text-mode
/// transfers and wrong files fail fast.
pub const FILE_MAGIC: [u8; 8] = *b"\x89DDBSNP\n";
/// Last bytes of every snapshot file: a reader finds the trailer from the end.
pub const TRAILER_MAGIC: [u8; 8] = *b"DDBSNPE\n";
/// Format version written by this code.
pub const FORMAT_VERSION: u32 = 1;
/// Blocks and the footer start on multiples of this, so they can be read with `O_DIRECT`.
pub const BLOCK_ALIGNMENT: u64 = 4096;
const _: () = assert!(BLOCK_ALIGNMENT == ddb_io::ALIGNMENT as u64);

// File header: 64 bytes of fields, then zero padding up to the first block at 4096.
pub const HEADER_MAGIC_OFFSET: usize = 0;
pub const HEADER_VERSION_OFFSET: usize = HEADER_MAGIC_OFFSET + 8;
pub const HEADER_SIZE_OFFSET: usize = HEADER_VERSION_OFFSET + 4;
pub const HEADER_TABLE_ID_OFFSET: usize = HEADER_SIZE_OFFSET + 4;
pub const HEADER_LSN_OFFSET: usize = HEADER_TABLE_ID_OFFSET + 16;
pub const HEADER_RESERVED_OFFSET: usize = HEADER_LSN_OFFSET + 8;
pub const HEADER_CHECKSUM_OFFSET: usize = HEADER_RESERVED_OFFSET + 16;
pub const HEADER_BYTES: usize = HEADER_CHECKSUM_OFFSET + 8;
const _: () = assert!(HEADER_BYTES == 64);
const HEADER_BYTES_U32: u32 = 64;
const _: () = assert!(HEADER_BYTES_U32 as usize == HEADER_BYTES);
/// Where the first block starts: the header's 4 KiB slot.
pub const FIRST_BLOCK_OFFSET: u64 = BLOCK_ALIGNMENT;

// Trailer: the last 64 bytes of the file, right after the footer.
pub const TRAILER_FOOTER_OFFSET_OFFSET: usize = 0;
pub const TRAILER_FOOTER_BYTES_OFFSET: usize = TRAILER_FOOTER_OFFSET_OFFSET + 8;
pub const TRAILER_FOOTER_CHECKSUM_OFFSET: usize = TRAILER_FOOTER_BYTES_OFFSET + 8;
pub const TRAILER_ROW_COUNT_OFFSET: usize = TRAILER_FOOTER_CHECKSUM_OFFSET + 8;
pub const TRAILER_BLOCK_COUNT_OFFSET: usize = TRAILER_ROW_COUNT_OFFSET + 8;
pub const TRAILER_ATTRIBUTE_COUNT_OFFSET: usize = TRAILER_BLOCK_COUNT_OFFSET + 4;
pub const TRAILER_RESERVED_OFFSET: usize = TRAILER_ATTRIBUTE_COUNT_OFFSET + 4;
pub const TRAILER_CHECKSUM_OFFSET: usize = TRAILER_RESERVED_OFFSET + 8;
pub const TRAILER_MAGIC_OFFSET: usize = TRAILER_CHECKSUM_OFFSET + 8;
pub const TRAILER_BYTES: usize = TRAILER_MAGIC_OFFSET + 8;
const _: () = assert!(TRAILER_BYTES == 64);

/// Largest uncompressed column chunk a reader accepts: bounds the memory a damaged (or hostile)
/// footer can make a reader allocate. A writer never produces one this large because a block
/// is cut at its byte target and one item is at most 400 KB.
pub const CHUNK_RAW_BYTES_MAX: u32 = 64 << 20;
/// Largest footer a reader accepts (the block index of a 64 GiB file fits easily).
pub const FOOTER_BYTES_MAX: u64 = 256 << 20;
/// The `length` value that marks an absent typed value in an attribute chunk.
pub const ABSENT: u32 = u32::MAX;

/// A decoding failure: where (absolute file offset) and what was expected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FormatError {
    pub offset: u64,
    pub expected: String,
    pub found: String,
}

impl FormatError {
    pub fn new(offset: u64, expected: impl Into<String>, found: impl Into<String>) -> Self {
        Self {
            offset,
            expected: expected.into(),
            found: found.into(),
        }
    }
}

pub(crate) fn u32_at(bytes: &[u8], offset: usize) -> Option<u32> {
    bytes
        .get(offset..offset + 4)?
        .try_into()
        .ok()
        .map(u32::from_le_bytes)
}

pub(crate) fn u64_at(bytes: &[u8], offset: usize) -> Option<u64> {
    bytes
        .get(offset..offset + 8)?
        .try_into()
        .ok()
        .map(u64::from_le_bytes)
}

fn put(out: &mut [u8], offset: usize, bytes: &[u8]) {
    if let Some(slot) = out.get_mut(offset..offset + bytes.len()) {
        slot.copy_from_slice(bytes);
    }
}

/// `value` rounded up to a multiple of [`BLOCK_ALIGNMENT`]; `None` on overflow.
pub fn align_up(value: u64) -> Option<u64> {
    value.checked_next_multiple_of(BLOCK_ALIGNMENT)
}

/// The decoded file header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileHeader {
    pub table_id: [u8; 16],
    /// The log position the snapshot reflects: every mutation with an LSN up to this one.
    pub lsn: u64,
}

impl FileHeader {
    pub fn encode(&self) -> [u8; HEADER_BYTES] {
        let mut out = [0u8; HEADER_BYTES];
        put(&mut out, HEADER_MAGIC_OFFSET, &FILE_MAGIC);
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
        put(&mut out, HEADER_LSN_OFFSET, &self.lsn.to_le_bytes());
        let checksum = xxh3_64(out.get(..HEADER_CHECKSUM_OFFSET).unwrap_or_default());
        put(&mut out, HEADER_CHECKSUM_OFFSET, &checksum.to_le_bytes());
        out
    }

    /// Decodes and checks a header: magic, checksum, version, size, reserved bytes zero.
    pub fn decode(bytes: &[u8]) -> Result<Self, FormatError> {
        let magic = bytes.get(..8).unwrap_or_default();
        if magic != FILE_MAGIC {
            return Err(FormatError::new(
                0,
                format!("snapshot magic {FILE_MAGIC:02x?}"),
                format!("{magic:02x?}"),
            ));
        }
        let Some(fields) = bytes.get(..HEADER_BYTES) else {
            return Err(FormatError::new(
                0,
                format!("a {HEADER_BYTES}-byte header"),
                format!("{} bytes", bytes.len()),
            ));
        };
        let stored = u64_at(fields, HEADER_CHECKSUM_OFFSET).unwrap_or_default();
        let computed = xxh3_64(fields.get(..HEADER_CHECKSUM_OFFSET).unwrap_or_default());
        if stored != computed {
            return Err(FormatError::new(
                HEADER_CHECKSUM_OFFSET as u64,
                format!("header checksum {computed:#018x}"),
                format!("{stored:#018x}"),
            ));
        }
        let version = u32_at(fields, HEADER_VERSION_OFFSET).unwrap_or_default();
        if !version_is_readable(version) {
            return Err(FormatError::new(
                HEADER_VERSION_OFFSET as u64,
                format!("format version {FORMAT_VERSION}"),
                version.to_string(),
            ));
        }
        let size = u32_at(fields, HEADER_SIZE_OFFSET).unwrap_or_default();
        if size != HEADER_BYTES_U32 {
            return Err(FormatError::new(
                HEADER_SIZE_OFFSET as u64,
                format!("header size {HEADER_BYTES}"),
                size.to_string(),
            ));
        }
        check_zero(fields, HEADER_RESERVED_OFFSET, HEADER_CHECKSUM_OFFSET, 0)?;
        let mut table_id = [0u8; 16];
        if let Some(id) = fields.get(HEADER_TABLE_ID_OFFSET..HEADER_TABLE_ID_OFFSET + 16) {
            table_id.copy_from_slice(id);
        }
        Ok(Self {
            table_id,
            lsn: u64_at(fields, HEADER_LSN_OFFSET).unwrap_or_default(),
        })
    }
}

/// Version 1 is the only version; later versions will name their gates here.
pub fn version_is_readable(version: u32) -> bool {
    version == FORMAT_VERSION
}

/// Checks that `bytes[from..to]` are zero; `base` is the file offset of `bytes[0]`, so the
/// error names the first non-zero byte.
pub fn check_zero(bytes: &[u8], from: usize, to: usize, base: u64) -> Result<(), FormatError> {
    let region = bytes.get(from..to).unwrap_or_default();
    match region.iter().position(|&b| b != 0) {
        None => Ok(()),
        Some(at) => Err(FormatError::new(
            base + (from + at) as u64,
            "zero (reserved or padding byte)",
            format!("{:#04x}", region.get(at).copied().unwrap_or_default()),
        )),
    }
}

/// The decoded trailer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Trailer {
    pub footer_offset: u64,
    pub footer_bytes: u64,
    /// xxh3-64 of the footer's bytes.
    pub footer_checksum: u64,
    pub row_count: u64,
    pub block_count: u32,
    pub attribute_count: u32,
}

impl Trailer {
    pub fn encode(&self) -> [u8; TRAILER_BYTES] {
        let mut out = [0u8; TRAILER_BYTES];
        put(
            &mut out,
            TRAILER_FOOTER_OFFSET_OFFSET,
            &self.footer_offset.to_le_bytes(),
        );
        put(
            &mut out,
            TRAILER_FOOTER_BYTES_OFFSET,
            &self.footer_bytes.to_le_bytes(),
        );
        put(
            &mut out,
            TRAILER_FOOTER_CHECKSUM_OFFSET,
            &self.footer_checksum.to_le_bytes(),
        );
        put(
            &mut out,
            TRAILER_ROW_COUNT_OFFSET,
            &self.row_count.to_le_bytes(),
        );
        put(
            &mut out,
            TRAILER_BLOCK_COUNT_OFFSET,
            &self.block_count.to_le_bytes(),
        );
        put(
            &mut out,
            TRAILER_ATTRIBUTE_COUNT_OFFSET,
            &self.attribute_count.to_le_bytes(),
        );
        let checksum = xxh3_64(out.get(..TRAILER_CHECKSUM_OFFSET).unwrap_or_default());
        put(&mut out, TRAILER_CHECKSUM_OFFSET, &checksum.to_le_bytes());
        put(&mut out, TRAILER_MAGIC_OFFSET, &TRAILER_MAGIC);
        out
    }

    /// Decodes and checks the trailer (`bytes` are its 64 bytes, which start at file offset
    /// `base`) against the file length: magic, checksum, reserved zero, and the footer lying
    /// at a 4 KiB boundary right before the trailer, at least one block.
    pub fn decode(bytes: &[u8], base: u64) -> Result<Self, FormatError> {
        let at = |field: usize| base + field as u64;
        let magic = bytes
            .get(TRAILER_MAGIC_OFFSET..TRAILER_BYTES)
            .unwrap_or_default();
        if magic != TRAILER_MAGIC {
            return Err(FormatError::new(
                at(TRAILER_MAGIC_OFFSET),
                format!("trailer magic {TRAILER_MAGIC:02x?}"),
                format!("{magic:02x?}"),
            ));
        }
        let stored = u64_at(bytes, TRAILER_CHECKSUM_OFFSET).unwrap_or_default();
        let computed = xxh3_64(bytes.get(..TRAILER_CHECKSUM_OFFSET).unwrap_or_default());
        if stored != computed {
            return Err(FormatError::new(
                at(TRAILER_CHECKSUM_OFFSET),
                format!("trailer checksum {computed:#018x}"),
                format!("{stored:#018x}"),
            ));
        }
        check_zero(
            bytes,
            TRAILER_RESERVED_OFFSET,
            TRAILER_CHECKSUM_OFFSET,
            base,
        )?;
        let trailer = Self {
            footer_offset: u64_at(bytes, TRAILER_FOOTER_OFFSET_OFFSET).unwrap_or_default(),
            footer_bytes: u64_at(bytes, TRAILER_FOOTER_BYTES_OFFSET).unwrap_or_default(),
            footer_checksum: u64_at(bytes, TRAILER_FOOTER_CHECKSUM_OFFSET).unwrap_or_default(),
            row_count: u64_at(bytes, TRAILER_ROW_COUNT_OFFSET).unwrap_or_default(),
            block_count: u32_at(bytes, TRAILER_BLOCK_COUNT_OFFSET).unwrap_or_default(),
            attribute_count: u32_at(bytes, TRAILER_ATTRIBUTE_COUNT_OFFSET).unwrap_or_default(),
        };
        let footer_end = trailer.footer_offset.checked_add(trailer.footer_bytes);
        if !trailer.footer_offset.is_multiple_of(BLOCK_ALIGNMENT)
            || trailer.footer_offset < FIRST_BLOCK_OFFSET
            || trailer.footer_bytes > FOOTER_BYTES_MAX
            || footer_end != Some(base)
        {
            return Err(FormatError::new(
                at(TRAILER_FOOTER_OFFSET_OFFSET),
                format!(
                    "a footer at a multiple of {BLOCK_ALIGNMENT} (at least {FIRST_BLOCK_OFFSET}) \
                     ending at the trailer ({base})"
                ),
                format!(
                    "footer at {} of {} bytes",
                    trailer.footer_offset, trailer.footer_bytes
                ),
            ));
        }
        // A trailer field: reported as trailer damage, at the field (the footer decoder,
        // which runs later, would name the footer for it).
        if trailer.block_count == 0 {
            return Err(FormatError::new(
                at(TRAILER_BLOCK_COUNT_OFFSET),
                "a block count of at least 1",
                "0",
            ));
        }
        Ok(trailer)
    }
}
