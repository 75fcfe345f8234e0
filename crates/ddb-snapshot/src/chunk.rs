//! Column chunks: the values of one column of one block, each `u32` length-prefixed (an
//! attribute value may instead be the [`ABSENT`] marker), then compressed on their own and
//! checksummed, so a reader can fetch, check and decode any one column without the others.

use std::path::Path;

use xxhash_rust::xxh3::xxh3_64;

use crate::error::{Damage, Result, SnapshotError};
use crate::footer::{ChunkMeta, Codec};
use crate::format::{ABSENT, CHUNK_RAW_BYTES_MAX};

/// Appends one present value to a raw chunk.
pub(crate) fn push_value(raw: &mut Vec<u8>, value: &[u8]) -> Result<()> {
    let len = u32::try_from(value.len())
        .ok()
        .filter(|&len| len != ABSENT)
        .ok_or_else(|| SnapshotError::InvalidInput(format!("a value of {} bytes", value.len())))?;
    raw.extend_from_slice(&len.to_le_bytes());
    raw.extend_from_slice(value);
    Ok(())
}

/// Appends the absent marker to a raw attribute chunk.
pub(crate) fn push_absent(raw: &mut Vec<u8>) {
    raw.extend_from_slice(&ABSENT.to_le_bytes());
}

/// Compresses a raw chunk and describes it.
pub(crate) fn seal(codec: Codec, raw: &[u8]) -> Result<(Vec<u8>, ChunkMeta)> {
    let raw_bytes = u32::try_from(raw.len())
        .ok()
        .filter(|&n| n <= CHUNK_RAW_BYTES_MAX)
        .ok_or_else(|| {
            SnapshotError::InvalidInput(format!(
                "a column chunk of {} bytes (at most {CHUNK_RAW_BYTES_MAX}): lower block_bytes_target",
                raw.len()
            ))
        })?;
    let stored = match codec {
        Codec::None => raw.to_vec(),
        Codec::Lz4 => lz4_flex::block::compress(raw),
        Codec::Zstd(level) => zstd::bulk::compress(raw, level)?,
    };
    let stored_bytes = u32::try_from(stored.len())
        .map_err(|_| SnapshotError::InvalidInput("a compressed chunk over 4 GiB".into()))?;
    let meta = ChunkMeta {
        codec: codec.code(),
        stored_bytes,
        raw_bytes,
        checksum: xxh3_64(&stored),
    };
    Ok((stored, meta))
}

/// Checks a stored chunk (at file offset `offset`) against its descriptor and decompresses it.
pub(crate) fn open(path: &Path, offset: u64, meta: &ChunkMeta, stored: &[u8]) -> Result<Vec<u8>> {
    check(path, offset, meta, stored)?;
    decompress(path, offset, meta, stored)
}

/// Checks a stored chunk's size and checksum against its descriptor.
pub(crate) fn check(path: &Path, offset: u64, meta: &ChunkMeta, stored: &[u8]) -> Result<()> {
    let computed = xxh3_64(stored);
    if stored.len() != usize::try_from(meta.stored_bytes).unwrap_or(usize::MAX)
        || computed != meta.checksum
    {
        return Err(SnapshotError::corrupt(
            path,
            Damage::Chunk,
            offset,
            format!("a column chunk with checksum {:#018x}", meta.checksum),
            format!("checksum {computed:#018x}"),
        ));
    }
    Ok(())
}

/// Decompresses a checked chunk to exactly its raw size.
fn decompress(path: &Path, offset: u64, meta: &ChunkMeta, stored: &[u8]) -> Result<Vec<u8>> {
    let raw_len = usize::try_from(meta.raw_bytes).unwrap_or(usize::MAX);
    let raw = match meta.codec {
        Codec::NONE => Ok(stored.to_vec()),
        Codec::LZ4 => lz4_flex::block::decompress(stored, raw_len).map_err(|e| e.to_string()),
        Codec::ZSTD => zstd::bulk::decompress(stored, raw_len).map_err(|e| e.to_string()),
        other => Err(format!("codec {other}")),
    }
    .map_err(|why| {
        SnapshotError::corrupt(
            path,
            Damage::Chunk,
            offset,
            "a chunk that decompresses",
            why,
        )
    })?;
    if raw.len() != raw_len {
        return Err(SnapshotError::corrupt(
            path,
            Damage::Chunk,
            offset,
            format!("{raw_len} bytes after decompression"),
            raw.len().to_string(),
        ));
    }
    Ok(raw)
}

/// Splits a raw chunk (of the chunk at file offset `offset`) into exactly `rows` values;
/// `optional` allows the absent marker.
pub(crate) fn values(
    path: &Path,
    offset: u64,
    raw: &[u8],
    rows: u32,
    optional: bool,
) -> Result<Vec<Option<Vec<u8>>>> {
    let bad = |expected: &str, found: String| {
        SnapshotError::corrupt(path, Damage::Chunk, offset, expected, found)
    };
    let mut out = Vec::with_capacity(usize::try_from(rows).unwrap_or_default().min(raw.len() / 4));
    let mut rest = raw;
    for row in 0..rows {
        let Some((len, tail)) = rest.split_first_chunk::<4>() else {
            return Err(bad(
                &format!("{rows} values in the chunk"),
                format!("{row}"),
            ));
        };
        let len = u32::from_le_bytes(*len);
        rest = tail;
        if len == ABSENT {
            if !optional {
                return Err(bad(
                    "a present value (key and item are never absent)",
                    format!("absent at row {row}"),
                ));
            }
            out.push(None);
            continue;
        }
        let len = usize::try_from(len).unwrap_or(usize::MAX);
        let Some((value, tail)) = rest.split_at_checked(len) else {
            return Err(bad(
                &format!("a {len}-byte value at row {row}"),
                format!("{} bytes left", rest.len()),
            ));
        };
        out.push(Some(value.to_vec()));
        rest = tail;
    }
    if !rest.is_empty() {
        return Err(bad(
            &format!("exactly {rows} values in the chunk"),
            format!("{} bytes more", rest.len()),
        ));
    }
    Ok(out)
}
