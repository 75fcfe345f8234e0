//! Lowercase hex for keys and hashes in the manifest, with strict decoding (lowercase only, even
//! length) so that one value has one spelling.

use std::fmt::Write as _;

pub fn encode(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(out, "{b:02x}");
    }
    out
}

pub fn decode(text: &str) -> Result<Vec<u8>, String> {
    if !text.len().is_multiple_of(2) {
        return Err(format!("an even number of hex digits, not {}", text.len()));
    }
    text.as_bytes()
        .chunks_exact(2)
        .map(|pair| match pair {
            [hi, lo] => Ok(nibble(*hi)? << 4 | nibble(*lo)?),
            _ => Err("a hex digit pair".to_owned()),
        })
        .collect()
}

fn nibble(c: u8) -> Result<u8, String> {
    match c {
        b'0'..=b'9' => Ok(c - b'0'),
        b'a'..=b'f' => Ok(c - b'a' + 10),
        _ => Err(format!("a lowercase hex digit, not {:?}", char::from(c))),
    }
}

pub fn encode_u128(value: u128) -> String {
    format!("{value:032x}")
}

pub fn decode_u128(text: &str) -> Result<u128, String> {
    if text.len() != 32 {
        return Err(format!(
            "32 lowercase hex digits, not {} characters",
            text.len()
        ));
    }
    let bytes = decode(text)?;
    Ok(bytes
        .iter()
        .fold(0u128, |acc, b| (acc << 8) | u128::from(*b)))
}

/// Serde for `Vec<u8>` as lowercase hex.
pub mod bytes {
    use serde::{Deserialize, Deserializer, Serializer, de::Error};

    pub fn serialize<S: Serializer>(value: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&super::encode(value))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let text = String::deserialize(d)?;
        super::decode(&text).map_err(|e| D::Error::custom(format!("expected {e}")))
    }
}

/// Serde for `u128` as 32 lowercase hex digits.
pub mod u128_hex {
    use serde::{Deserialize, Deserializer, Serializer, de::Error};

    pub fn serialize<S: Serializer>(value: &u128, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&super::encode_u128(*value))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<u128, D::Error> {
        let text = String::deserialize(d)?;
        super::decode_u128(&text).map_err(|e| D::Error::custom(format!("expected {e}")))
    }
}

/// Serde for [`ddb_model::Fingerprint`] as `{items, item_bytes, hash}` (hash in hex).
pub mod fingerprint {
    use ddb_model::Fingerprint;
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    #[derive(Serialize, Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Shape {
        items: u64,
        item_bytes: u64,
        #[serde(with = "super::u128_hex")]
        hash: u128,
    }

    pub fn serialize<S: Serializer>(value: &Fingerprint, s: S) -> Result<S::Ok, S::Error> {
        Shape {
            items: value.items,
            item_bytes: value.item_bytes,
            hash: value.hash,
        }
        .serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Fingerprint, D::Error> {
        let shape = Shape::deserialize(d)?;
        Ok(Fingerprint {
            items: shape.items,
            item_bytes: shape.item_bytes,
            hash: shape.hash,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_refuses_uppercase() {
        assert_eq!(
            decode(&encode(&[0, 1, 0xab, 0xff])).unwrap(),
            vec![0, 1, 0xab, 0xff]
        );
        assert!(decode("AB").is_err());
        assert!(decode("abc").is_err());
        assert_eq!(
            decode_u128(&encode_u128(u128::MAX - 5)).unwrap(),
            u128::MAX - 5
        );
        assert!(decode_u128("00").is_err());
    }
}
