//! Small JSON state files (the catalog, a table's `CURRENT`) with a checksum, published
//! atomically.
//!
//! Layout: the JSON document, then one line `#xxh3-64:<16 lowercase hex digits>\n` holding the
//! XXH3-64 of the document bytes before it. A file whose checksum line is missing or wrong is
//! corrupt (it can only be: publication is atomic, so a crash leaves the old or the new file).

use std::path::Path;

use ddb_io::Io;
use serde::Serialize;
use serde::de::DeserializeOwned;
use xxhash_rust::xxh3::xxh3_64;

use crate::error::{Error, Result};

const CHECKSUM_PREFIX: &[u8] = b"#xxh3-64:";

/// Encodes `value` with its checksum line.
pub fn encode<T: Serialize>(value: &T) -> Result<Vec<u8>> {
    let mut bytes = serde_json::to_vec_pretty(value)
        .map_err(|e| Error::Unavailable(format!("cannot encode a state file: {e}")))?;
    bytes.push(b'\n');
    let checksum = xxh3_64(&bytes);
    bytes.extend_from_slice(CHECKSUM_PREFIX);
    bytes.extend_from_slice(format!("{checksum:016x}\n").as_bytes());
    Ok(bytes)
}

/// Decodes a state file read from `path`. Damage is [`Error::CorruptState`] naming the byte
/// offset: 0 for a file too short or whose checksum does not match its document (the checksum
/// covers bytes `0..n`), the start of the checksum line for a malformed line.
pub fn decode<T: DeserializeOwned>(path: &Path, bytes: &[u8]) -> Result<T> {
    let corrupt = |offset: usize, expected: String| Error::CorruptState {
        path: path.to_owned(),
        offset: offset as u64,
        expected,
    };
    let trailer = CHECKSUM_PREFIX.len() + 17;
    let split = bytes.len().checked_sub(trailer).ok_or_else(|| {
        corrupt(
            0,
            format!(
                "a JSON document and a checksum line (at least {trailer} bytes), not {} bytes",
                bytes.len()
            ),
        )
    })?;
    let (body, line) = bytes.split_at(split);
    let digits = line
        .strip_prefix(CHECKSUM_PREFIX)
        .and_then(|rest| rest.strip_suffix(b"\n"))
        .filter(|hex| {
            hex.iter()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(b))
        })
        .and_then(|hex| std::str::from_utf8(hex).ok())
        .and_then(|hex| u64::from_str_radix(hex, 16).ok())
        .ok_or_else(|| {
            corrupt(
                split,
                "the checksum line `#xxh3-64:<16 lowercase hex digits>\\n`".to_owned(),
            )
        })?;
    let actual = xxh3_64(body);
    if actual != digits {
        return Err(corrupt(
            0,
            format!(
                "bytes 0..{split} to hash to {digits:016x} as the checksum line says, not {actual:016x}"
            ),
        ));
    }
    serde_json::from_slice(body)
        .map_err(|e| corrupt(0, format!("a JSON document of the expected shape ({e})")))
}

/// Reads and decodes `dir/name`; `None` if the file does not exist.
pub fn load<T: DeserializeOwned>(io: &dyn Io, dir: &Path, name: &str) -> Result<Option<T>> {
    let path = dir.join(name);
    if !io.exists(&path)? {
        return Ok(None);
    }
    let file = io.open(&path, ddb_io::OpenOptions::read_only())?;
    let len = usize::try_from(file.len()?).map_err(|_| Error::Corrupt {
        path: path.clone(),
        message: "larger than memory".to_owned(),
    })?;
    let mut bytes = vec![0; len];
    file.read_exact_at(&mut bytes, 0)?;
    decode(&path, &bytes).map(Some)
}

/// Publishes `value` as `dir/name` atomically and durably.
pub fn publish<T: Serialize>(io: &dyn Io, dir: &Path, name: &str, value: &T) -> Result<()> {
    let bytes = encode(value)?;
    ddb_io::publish_atomically(io, dir, name, &bytes)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;

    #[test]
    fn round_trips_and_every_flipped_byte_is_caught() {
        let value = serde_json::json!({"tables": [{"name": "t", "id": 7}]});
        let bytes = encode(&value).unwrap();
        let back: serde_json::Value = decode(Path::new("x"), &bytes).unwrap();
        assert_eq!(back, value);
        for i in 0..bytes.len() {
            let mut damaged = bytes.clone();
            damaged[i] ^= 0x01;
            assert!(
                decode::<serde_json::Value>(Path::new("x"), &damaged).is_err(),
                "flip at {i} not caught"
            );
        }
        assert!(decode::<serde_json::Value>(Path::new("x"), &bytes[..bytes.len() - 1]).is_err());
    }
}
