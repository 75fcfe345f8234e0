//! MD5 as DynamoDB's export manifests spell it (base64 `md5Checksum`, hex `etag`, the `.md5`
//! files), and the deterministic data file names.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use md5::{Digest, Md5};

/// An MD5 digest.
pub(crate) type Md5Digest = [u8; 16];

/// The MD5 of `bytes`.
pub(crate) fn md5_of(bytes: &[u8]) -> Md5Digest {
    Md5::digest(bytes).into()
}

/// Standard base64 with padding: the spelling of `md5Checksum` and of the `.md5` files
/// (24 characters).
pub(crate) fn base64(digest: &Md5Digest) -> String {
    BASE64.encode(digest)
}

/// 32 lowercase hex digits: S3's ETag of an object uploaded in one part.
pub(crate) fn hex(digest: &Md5Digest) -> String {
    let mut out = String::with_capacity(32);
    for byte in digest {
        out.push(hex_digit(byte >> 4));
        out.push(hex_digit(byte & 0x0f));
    }
    out
}

fn hex_digit(nibble: u8) -> char {
    char::from_digit(u32::from(nibble), 16).unwrap_or('0')
}

/// RFC 4648 base32 in lowercase without padding: 16 bytes give 26 characters, the shape of
/// DynamoDB's data file names.
pub(crate) fn base32_lower(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(5) * 8);
    let mut buffer: u32 = 0;
    let mut bits = 0u32;
    for &byte in bytes {
        buffer = (buffer << 8) | u32::from(byte);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(base32_digit((buffer >> bits) & 0x1f));
        }
        buffer &= (1 << bits) - 1;
    }
    if bits > 0 {
        out.push(base32_digit((buffer << (5 - bits)) & 0x1f));
    }
    out
}

fn base32_digit(value: u32) -> char {
    // a..z are 0..=25, 2..=7 are 26..=31.
    let byte = if value < 26 {
        b'a' + u8::try_from(value).unwrap_or(0)
    } else {
        b'2' + u8::try_from(value - 26).unwrap_or(0)
    };
    char::from(byte)
}

/// The name of data file `index` (0-based, in write order) of export `export_id`:
/// base32_lower(MD5(`<export_id>/data/<index>`)) + `.json.gz` — 26 characters like DynamoDB's
/// random names, but a function of the export id and the position, so the same export
/// written twice has the same names.
pub(crate) fn data_file_name(export_id: &str, index: u64) -> String {
    let digest = md5_of(format!("{export_id}/data/{index}").as_bytes());
    format!("{}.json.gz", base32_lower(&digest))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn md5_spellings() {
        // RFC 1321 test suite: MD5("abc").
        let digest = md5_of(b"abc");
        assert_eq!(hex(&digest), "900150983cd24fb0d6963f7d28e17f72");
        assert_eq!(base64(&digest), "kAFQmDzST7DWlj99KOF/cg==");
        assert_eq!(base64(&md5_of(b"")), "1B2M2Y8AsgTpgAmY7PhCfg==");
    }

    #[test]
    fn base32_matches_rfc4648() {
        // RFC 4648 section 10, lowercased and unpadded.
        for (input, expected) in [
            ("", ""),
            ("f", "my"),
            ("fo", "mzxq"),
            ("foo", "mzxw6"),
            ("foob", "mzxw6yq"),
            ("fooba", "mzxw6ytb"),
            ("foobar", "mzxw6ytboi"),
        ] {
            assert_eq!(base32_lower(input.as_bytes()), expected, "{input:?}");
        }
        assert_eq!(base32_lower(&[0xff; 16]).len(), 26);
    }

    #[test]
    fn data_file_names_are_deterministic_and_distinct() {
        let a = data_file_name("01700000000000-0a1b2c3d", 0);
        assert_eq!(a, data_file_name("01700000000000-0a1b2c3d", 0));
        assert_ne!(a, data_file_name("01700000000000-0a1b2c3d", 1));
        assert_ne!(a, data_file_name("01700000000001-0a1b2c3d", 0));
        let stem = a.strip_suffix(".json.gz").unwrap();
        assert_eq!(stem.len(), 26);
        assert!(
            stem.bytes()
                .all(|b| b.is_ascii_lowercase() || (b'2'..=b'7').contains(&b))
        );
    }
}
