//! The footer: the file's attribute list, the block index (key range, offset, row count and
//! column chunk descriptors of every block) and per-block zone maps of the typed columns.
//! Decoding checks every layout rule, so a reader that accepted the footer can compute where
//! every chunk lies without trusting anything else.

use ddb_model::ScalarAttributeType;

use crate::format::{
    BLOCK_ALIGNMENT, CHUNK_RAW_BYTES_MAX, FIRST_BLOCK_OFFSET, FormatError, Trailer, align_up,
};

/// How a column chunk's bytes are compressed (recorded per chunk, so a reader needs no
/// writer settings).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Codec {
    /// Stored as is.
    None,
    /// LZ4 block format (`lz4_flex::block`): fast to decode, for keys and typed values.
    Lz4,
    /// Zstandard at the given level: better ratio, for the item JSON.
    Zstd(i32),
}

impl Codec {
    pub const NONE: u8 = 0;
    pub const LZ4: u8 = 1;
    pub const ZSTD: u8 = 2;

    pub fn code(self) -> u8 {
        match self {
            Codec::None => Self::NONE,
            Codec::Lz4 => Self::LZ4,
            Codec::Zstd(_) => Self::ZSTD,
        }
    }
}

/// Where a column chunk is and how to check and decode it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChunkMeta {
    /// [`Codec::code`].
    pub codec: u8,
    pub stored_bytes: u32,
    pub raw_bytes: u32,
    /// xxh3-64 of the stored bytes.
    pub checksum: u64,
}

/// Smallest and largest present value of a typed column in one block (by `memcmp`), or
/// `None` if no row of the block has the attribute.
pub type ZoneMap = Option<(Vec<u8>, Vec<u8>)>;

/// One block-index entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlockMeta {
    pub offset: u64,
    pub row_count: u32,
    pub first_key: Vec<u8>,
    pub last_key: Vec<u8>,
    /// Key column, then one per attribute, then the item column (the order on disk).
    pub chunks: Vec<ChunkMeta>,
    /// One per attribute.
    pub zones: Vec<ZoneMap>,
}

impl BlockMeta {
    /// File offset of chunk `column`.
    pub fn chunk_offset(&self, column: usize) -> u64 {
        self.offset
            + self
                .chunks
                .iter()
                .take(column)
                .map(|c| u64::from(c.stored_bytes))
                .sum::<u64>()
    }

    /// File offset just past the block's last chunk (before its padding).
    pub fn end(&self) -> u64 {
        self.chunk_offset(self.chunks.len())
    }
}

/// The decoded footer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Footer {
    pub attributes: Vec<(String, ScalarAttributeType)>,
    pub blocks: Vec<BlockMeta>,
}

fn type_code(t: ScalarAttributeType) -> u8 {
    match t {
        ScalarAttributeType::S => b'S',
        ScalarAttributeType::N => b'N',
        ScalarAttributeType::B => b'B',
    }
}

fn put_bytes32(out: &mut Vec<u8>, bytes: &[u8]) {
    out.extend_from_slice(&u32::try_from(bytes.len()).unwrap_or(u32::MAX).to_le_bytes());
    out.extend_from_slice(bytes);
}

impl Footer {
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::new();
        for (name, t) in &self.attributes {
            out.extend_from_slice(&u16::try_from(name.len()).unwrap_or(u16::MAX).to_le_bytes());
            out.extend_from_slice(name.as_bytes());
            out.push(type_code(*t));
        }
        for block in &self.blocks {
            out.extend_from_slice(&block.offset.to_le_bytes());
            out.extend_from_slice(&block.row_count.to_le_bytes());
            put_bytes32(&mut out, &block.first_key);
            put_bytes32(&mut out, &block.last_key);
            for chunk in &block.chunks {
                out.push(chunk.codec);
                out.extend_from_slice(&chunk.stored_bytes.to_le_bytes());
                out.extend_from_slice(&chunk.raw_bytes.to_le_bytes());
                out.extend_from_slice(&chunk.checksum.to_le_bytes());
            }
            for zone in &block.zones {
                match zone {
                    None => out.push(0),
                    Some((min, max)) => {
                        out.push(1);
                        put_bytes32(&mut out, min);
                        put_bytes32(&mut out, max);
                    }
                }
            }
        }
        out
    }

    /// Decodes a footer whose checksum was already verified, and checks every layout rule
    /// against the trailer. `bytes` start at file offset `trailer.footer_offset`.
    pub fn decode(bytes: &[u8], trailer: &Trailer) -> Result<Self, FormatError> {
        let mut c = Cursor {
            bytes,
            at: 0,
            base: trailer.footer_offset,
        };
        let mut attributes = Vec::new();
        for _ in 0..trailer.attribute_count {
            let start = c.offset();
            let len = usize::from(c.u16("attribute name length")?);
            let name = c.take(len, "attribute name")?;
            let name = std::str::from_utf8(name)
                .map_err(|_| FormatError::new(start, "a UTF-8 attribute name", "invalid UTF-8"))?;
            if name.is_empty() {
                return Err(FormatError::new(
                    start,
                    "a non-empty attribute name",
                    "empty",
                ));
            }
            let at = c.offset();
            let t = match c.u8("attribute type")? {
                b'S' => ScalarAttributeType::S,
                b'N' => ScalarAttributeType::N,
                b'B' => ScalarAttributeType::B,
                other => {
                    return Err(FormatError::new(
                        at,
                        "attribute type S, N or B",
                        format!("{other:#04x}"),
                    ));
                }
            };
            attributes.push((name.to_owned(), t));
        }
        let columns = attributes.len() + 2;
        let mut blocks: Vec<BlockMeta> = Vec::new();
        let mut expected_offset = FIRST_BLOCK_OFFSET;
        let mut rows = 0u64;
        if trailer.block_count == 0 {
            return Err(FormatError::new(
                trailer.footer_offset
                    + bytes.len() as u64
                    + crate::format::TRAILER_BLOCK_COUNT_OFFSET as u64,
                "at least one block",
                "0",
            ));
        }
        for _ in 0..trailer.block_count {
            let at = c.offset();
            let offset = c.u64("block offset")?;
            if offset != expected_offset {
                return Err(FormatError::new(
                    at,
                    format!("block offset {expected_offset} (previous block end, aligned)"),
                    offset.to_string(),
                ));
            }
            let at = c.offset();
            let row_count = c.u32("block row count")?;
            if row_count == 0 {
                return Err(FormatError::new(at, "a block row count of at least 1", "0"));
            }
            rows += u64::from(row_count);
            let at = c.offset();
            let first_key = c.bytes32("first key")?;
            let last_key = c.bytes32("last key")?;
            if first_key.is_empty() || first_key > last_key {
                return Err(FormatError::new(
                    at,
                    "a non-empty first key <= last key",
                    "keys out of order",
                ));
            }
            if let Some(previous) = blocks.last()
                && first_key <= previous.last_key
            {
                return Err(FormatError::new(
                    at,
                    "a first key above the previous block's last key",
                    "keys out of order",
                ));
            }
            let mut chunks = Vec::with_capacity(columns);
            for _ in 0..columns {
                let at = c.offset();
                let codec = c.u8("chunk codec")?;
                if codec > Codec::ZSTD {
                    return Err(FormatError::new(
                        at,
                        "codec 0 (none), 1 (lz4) or 2 (zstd)",
                        codec.to_string(),
                    ));
                }
                let at = c.offset();
                let stored_bytes = c.u32("chunk stored size")?;
                let raw_bytes = c.u32("chunk raw size")?;
                if raw_bytes > CHUNK_RAW_BYTES_MAX || stored_bytes == 0 || raw_bytes == 0 {
                    return Err(FormatError::new(
                        at,
                        format!("chunk sizes in 1..={CHUNK_RAW_BYTES_MAX}"),
                        format!("stored {stored_bytes}, raw {raw_bytes}"),
                    ));
                }
                let checksum = c.u64("chunk checksum")?;
                chunks.push(ChunkMeta {
                    codec,
                    stored_bytes,
                    raw_bytes,
                    checksum,
                });
            }
            let mut zones = Vec::with_capacity(attributes.len());
            for _ in 0..attributes.len() {
                let at = c.offset();
                match c.u8("zone map flag")? {
                    0 => zones.push(None),
                    1 => {
                        let min = c.bytes32("zone map min")?;
                        let max = c.bytes32("zone map max")?;
                        if min > max {
                            return Err(FormatError::new(at, "zone map min <= max", "min > max"));
                        }
                        zones.push(Some((min, max)));
                    }
                    other => {
                        return Err(FormatError::new(
                            at,
                            "zone map flag 0 or 1",
                            other.to_string(),
                        ));
                    }
                }
            }
            let block = BlockMeta {
                offset,
                row_count,
                first_key,
                last_key,
                chunks,
                zones,
            };
            expected_offset = align_up(block.end())
                .ok_or_else(|| FormatError::new(at, "a block end below 2^64", "overflow"))?;
            blocks.push(block);
        }
        if c.at != bytes.len() {
            return Err(FormatError::new(
                c.offset(),
                "the end of the footer",
                "trailing bytes",
            ));
        }
        if expected_offset != trailer.footer_offset {
            return Err(FormatError::new(
                trailer.footer_offset,
                format!("the footer at {expected_offset} (last block end, aligned)"),
                trailer.footer_offset.to_string(),
            ));
        }
        if rows != trailer.row_count {
            return Err(FormatError::new(
                trailer.footer_offset,
                format!(
                    "block row counts summing to the trailer's {}",
                    trailer.row_count
                ),
                rows.to_string(),
            ));
        }
        debug_assert!(blocks.iter().all(|b| b.offset % BLOCK_ALIGNMENT == 0));
        Ok(Footer { attributes, blocks })
    }
}

/// Reads footer fields front to back; errors name absolute file offsets.
struct Cursor<'a> {
    bytes: &'a [u8],
    at: usize,
    base: u64,
}

impl<'a> Cursor<'a> {
    fn offset(&self) -> u64 {
        self.base + self.at as u64
    }

    fn take(&mut self, len: usize, what: &str) -> Result<&'a [u8], FormatError> {
        let slice = self
            .at
            .checked_add(len)
            .and_then(|end| self.bytes.get(self.at..end))
            .ok_or_else(|| {
                FormatError::new(
                    self.offset(),
                    format!("{len} bytes of {what}"),
                    "end of footer",
                )
            })?;
        self.at += len;
        Ok(slice)
    }

    fn u8(&mut self, what: &str) -> Result<u8, FormatError> {
        Ok(self.take(1, what)?.first().copied().unwrap_or_default())
    }

    fn u16(&mut self, what: &str) -> Result<u16, FormatError> {
        let b = self.take(2, what)?;
        Ok(u16::from_le_bytes(b.try_into().unwrap_or_default()))
    }

    fn u32(&mut self, what: &str) -> Result<u32, FormatError> {
        let b = self.take(4, what)?;
        Ok(u32::from_le_bytes(b.try_into().unwrap_or_default()))
    }

    fn u64(&mut self, what: &str) -> Result<u64, FormatError> {
        let b = self.take(8, what)?;
        Ok(u64::from_le_bytes(b.try_into().unwrap_or_default()))
    }

    fn bytes32(&mut self, what: &str) -> Result<Vec<u8>, FormatError> {
        let len = usize::try_from(self.u32(what)?).unwrap_or(usize::MAX);
        Ok(self.take(len, what)?.to_vec())
    }
}
