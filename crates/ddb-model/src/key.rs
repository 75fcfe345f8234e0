//! The order-preserving key encoding: table and index keys as bytes whose `memcmp` order is
//! DynamoDB's order (strings by UTF-8 bytes, binary by unsigned bytes, numbers numerically;
//! partition key first, then sort key).
//!
//! A key is the concatenation of its components, each self-delimiting, so a concatenation of
//! components compares component by component and no encoded key is a prefix of a different
//! one at a component boundary. Each component starts with a type tag (the ASCII letter of its
//! type) so that encoded keys can be decoded and printed without the schema:
//!
//! | type | bytes |
//! |------|-------|
//! | `S`  | `0x53`, the UTF-8 bytes with each `0x00` written `0x00 0xFF`, then `0x00` |
//! | `B`  | `0x42`, the bytes with each `0x00` written `0x00 0xFF`, then `0x00` |
//! | `N`  | `0x4E`, a class byte (`0x01` negative, `0x02` zero, `0x03` positive), then for non-zero numbers an exponent byte and digit bytes (below) |
//!
//! A non-zero number `±0.d₁d₂…dₙ × 10^e` (normalised, `e ∈ [-129, 126]`) is written as the
//! exponent byte `e + 129`, then one byte per pair of digits, `10·a + b + 1` (an odd last digit
//! pairs with 0), then `0x00`. A negative number writes every one of those bytes as
//! `0xFF − byte`, so larger magnitudes sort first and its terminator is `0xFF`.
//!
//! Why these choices: the `0x00 0xFF` escape keeps strings with embedded zero bytes in order
//! while `0x00` ends the component (the next byte is a tag, end of key, or `0xFF` for an
//! escaped zero — tags are all below `0xFF`); digit bytes `1..=100` sort above the terminator
//! `0x00`, so `0.1 < 0.15`; packing two digits per byte keeps a 38-digit number to 21 bytes.

use std::cmp::Ordering;

use crate::error::{DdbError, Result};
use crate::number::{EXPONENT_MIN, Number, Sign};
use crate::schema::{IndexSchema, KeyAttribute, KeyDef, ScalarAttributeType, TableSchema};
use crate::value::{AttributeValue, Item, check_item_size};

/// Tag byte of a string component.
pub const TAG_S: u8 = b'S';
/// Tag byte of a binary component.
pub const TAG_B: u8 = b'B';
/// Tag byte of a number component.
pub const TAG_N: u8 = b'N';

const NUMBER_NEGATIVE: u8 = 0x01;
const NUMBER_ZERO: u8 = 0x02;
const NUMBER_POSITIVE: u8 = 0x03;
const ESCAPE: u8 = 0xFF;
const TERMINATOR: u8 = 0x00;

/// Partition key values may be at most this many bytes (strings and binary).
pub const PARTITION_KEY_BYTES_MAX: usize = 2048;
/// Sort key values may be at most this many bytes (strings and binary).
pub const SORT_KEY_BYTES_MAX: usize = 1024;

/// A key value borrowed from an attribute value: only `S`, `N` and `B` can be keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyValue<'a> {
    S(&'a str),
    N(&'a Number),
    B(&'a [u8]),
}

impl<'a> KeyValue<'a> {
    /// The key value inside `value`, if `value` is a string, number or binary.
    pub fn from_attribute(value: &'a AttributeValue) -> Option<KeyValue<'a>> {
        match value {
            AttributeValue::S(s) => Some(KeyValue::S(s)),
            AttributeValue::N(n) => Some(KeyValue::N(n)),
            AttributeValue::B(b) => Some(KeyValue::B(b)),
            _ => None,
        }
    }

    pub fn attribute_type(&self) -> ScalarAttributeType {
        match self {
            KeyValue::S(_) => ScalarAttributeType::S,
            KeyValue::N(_) => ScalarAttributeType::N,
            KeyValue::B(_) => ScalarAttributeType::B,
        }
    }

    /// DynamoDB's order of two key values of the same type; values of different types (which a
    /// schema never mixes) order by type tag.
    pub fn dynamo_cmp(&self, other: &KeyValue<'_>) -> Ordering {
        match (self, other) {
            (KeyValue::S(a), KeyValue::S(b)) => a.as_bytes().cmp(b.as_bytes()),
            (KeyValue::B(a), KeyValue::B(b)) => a.cmp(b),
            (KeyValue::N(a), KeyValue::N(b)) => a.cmp(b),
            (a, b) => a.tag().cmp(&b.tag()),
        }
    }

    fn tag(&self) -> u8 {
        match self {
            KeyValue::S(_) => TAG_S,
            KeyValue::N(_) => TAG_N,
            KeyValue::B(_) => TAG_B,
        }
    }

    /// Appends this value's encoded component to `out`.
    pub fn encode(&self, out: &mut Vec<u8>) {
        out.push(self.tag());
        match self {
            KeyValue::S(s) => encode_bytes(out, s.as_bytes()),
            KeyValue::B(b) => encode_bytes(out, b),
            KeyValue::N(n) => encode_number(out, n),
        }
    }
}

fn encode_bytes(out: &mut Vec<u8>, bytes: &[u8]) {
    out.reserve(bytes.len() + 1);
    for &b in bytes {
        out.push(b);
        if b == TERMINATOR {
            out.push(ESCAPE);
        }
    }
    out.push(TERMINATOR);
}

fn encode_number(out: &mut Vec<u8>, n: &Number) {
    let flip = match n.sign() {
        Sign::Zero => {
            out.push(NUMBER_ZERO);
            return;
        }
        Sign::Positive => {
            out.push(NUMBER_POSITIVE);
            0x00
        }
        Sign::Negative => {
            out.push(NUMBER_NEGATIVE);
            0xFF
        }
    };
    // The exponent is in [-129, 126] by Number's invariant, so this is in 0..=255.
    let exponent =
        u8::try_from(i32::from(n.exponent()) - i32::from(EXPONENT_MIN)).unwrap_or(u8::MAX);
    out.push(exponent ^ flip);
    for pair in n.digits().chunks(2) {
        let (a, b) = match pair {
            [a, b] => (*a, *b),
            [a] => (*a, 0),
            _ => continue,
        };
        out.push((10 * a + b + 1) ^ flip);
    }
    out.push(TERMINATOR ^ flip);
}

/// Appends the encoded components of a key (partition value, then the sort value if any).
pub fn encode_key(out: &mut Vec<u8>, partition: KeyValue<'_>, sort: Option<KeyValue<'_>>) {
    partition.encode(out);
    if let Some(sort) = sort {
        sort.encode(out);
    }
}

/// Bytes of a key that do not decode: where, and what was expected there.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("malformed key at byte {offset}: expected {expected}")]
pub struct KeyDecodeError {
    /// Offset into the encoded key.
    pub offset: usize,
    pub expected: &'static str,
}

/// Decodes every component of an encoded key into `S`, `N` or `B` attribute values.
/// Rejects any byte string that [`KeyValue::encode`] cannot produce.
pub fn decode_key(bytes: &[u8]) -> Result<Vec<AttributeValue>, KeyDecodeError> {
    let mut out = Vec::new();
    let mut offset = 0;
    while offset < bytes.len() {
        let (value, next) = decode_component(bytes, offset)?;
        out.push(value);
        offset = next;
    }
    Ok(out)
}

/// Decodes the component starting at `offset`; returns it and the offset just past it.
pub fn decode_component(
    bytes: &[u8],
    offset: usize,
) -> Result<(AttributeValue, usize), KeyDecodeError> {
    let at = |offset: usize, expected: &'static str| KeyDecodeError { offset, expected };
    let tag = *bytes
        .get(offset)
        .ok_or(at(offset, "a type tag (S, N or B)"))?;
    match tag {
        TAG_S | TAG_B => {
            let (raw, next) = decode_bytes(bytes, offset + 1)?;
            if raw.is_empty() {
                return Err(at(offset + 1, "a non-empty key value"));
            }
            if tag == TAG_B {
                return Ok((AttributeValue::B(raw), next));
            }
            let text = String::from_utf8(raw).map_err(|_| at(offset + 1, "UTF-8 string bytes"))?;
            Ok((AttributeValue::S(text), next))
        }
        TAG_N => decode_number(bytes, offset + 1).map(|(n, next)| (AttributeValue::N(n), next)),
        _ => Err(at(offset, "a type tag (S, N or B)")),
    }
}

fn decode_bytes(bytes: &[u8], start: usize) -> Result<(Vec<u8>, usize), KeyDecodeError> {
    let mut out = Vec::new();
    let mut offset = start;
    loop {
        match bytes.get(offset) {
            None => {
                return Err(KeyDecodeError {
                    offset,
                    expected: "a 0x00 terminator",
                });
            }
            Some(&TERMINATOR) => {
                if bytes.get(offset + 1) == Some(&ESCAPE) {
                    out.push(TERMINATOR);
                    offset += 2;
                } else {
                    return Ok((out, offset + 1));
                }
            }
            Some(&b) => {
                out.push(b);
                offset += 1;
            }
        }
    }
}

fn decode_number(bytes: &[u8], start: usize) -> Result<(Number, usize), KeyDecodeError> {
    let at = |offset: usize, expected: &'static str| KeyDecodeError { offset, expected };
    let class = *bytes.get(start).ok_or(at(start, "a number class byte"))?;
    let (sign, flip) = match class {
        NUMBER_ZERO => return Ok((Number::ZERO, start + 1)),
        NUMBER_POSITIVE => (Sign::Positive, 0x00),
        NUMBER_NEGATIVE => (Sign::Negative, 0xFF),
        _ => return Err(at(start, "a number class byte (0x01, 0x02 or 0x03)")),
    };
    let exponent_byte = bytes
        .get(start + 1)
        .ok_or(at(start + 1, "a number exponent byte"))?
        ^ flip;
    let exponent = i16::from(exponent_byte) + EXPONENT_MIN;
    let mut digits = Vec::with_capacity(38);
    let mut offset = start + 2;
    loop {
        let byte = bytes
            .get(offset)
            .ok_or(at(offset, "a digit pair or terminator byte"))?
            ^ flip;
        if byte == TERMINATOR {
            break;
        }
        if byte > 100 {
            return Err(at(offset, "a digit pair byte in 1..=100"));
        }
        let pair = byte - 1;
        let (a, b) = (pair / 10, pair % 10);
        digits.push(a);
        digits.push(b);
        offset += 1;
    }
    // An odd count of digits pads the last pair with a zero; a normalised number has no
    // trailing zero, so one trailing zero is the pad (and two would be malformed).
    if digits.last() == Some(&0) {
        digits.pop();
    }
    let number = Number::from_parts(sign, exponent, &digits).map_err(|_| {
        at(
            start,
            "a normalised number (1–38 digits, no leading or trailing zero, exponent in range)",
        )
    })?;
    Ok((number, offset + 1))
}

// ---------------------------------------------------------------------------------------------
// Schema-aware keys and item validation

impl KeyDef {
    /// Encodes the key of `item` (which must have passed [`TableSchema::validate_item`] or
    /// [`TableSchema::validate_key`]); `None` if a key attribute is missing or has another
    /// type, which for an index means the item is not in it (sparse index).
    pub fn encode_from(&self, item: &Item, out: &mut Vec<u8>) -> Option<()> {
        let value = |attr: &KeyAttribute| {
            item.get(&attr.name)
                .and_then(KeyValue::from_attribute)
                .filter(|v| v.attribute_type() == attr.attribute_type)
        };
        let partition = value(&self.partition)?;
        let sort = match &self.sort {
            Some(sort) => Some(value(sort)?),
            None => None,
        };
        encode_key(out, partition, sort);
        Some(())
    }
}

impl TableSchema {
    /// The encoded table key of `item`, or the error DynamoDB gives for a missing or mistyped key.
    pub fn table_key(&self, item: &Item) -> Result<Vec<u8>> {
        self.check_table_key_attributes(item)?;
        let mut out = Vec::with_capacity(64);
        self.key.encode_from(item, &mut out).ok_or_else(|| {
            DdbError::validation("The provided key element does not match the schema")
        })?;
        Ok(out)
    }

    /// The encoded key of `item` in `index`: the index key components followed by the table
    /// key components (so entries with equal index keys are ordered by table key and every
    /// entry is unique). `None` if the item lacks an index key attribute: it is not in the index.
    pub fn index_key(&self, index: &IndexSchema, item: &Item) -> Option<Vec<u8>> {
        let mut out = Vec::with_capacity(96);
        index.key.encode_from(item, &mut out)?;
        self.key.encode_from(item, &mut out)?;
        Some(out)
    }

    /// Checks an item for a write: every value valid, the table key present with its declared
    /// types, non-empty and within size, each index key attribute present in the item of its
    /// declared type, non-empty and within size, and the item within 400 KB.
    pub fn validate_item(&self, item: &Item) -> Result<()> {
        let size_bytes = item.checked_size()?;
        self.check_table_key_attributes(item)?;
        for index in &self.indexes {
            check_index_key_attributes(index, item)?;
        }
        check_item_size(size_bytes)
    }

    /// Checks the item's attributes for `index`'s key (present ones of the declared type,
    /// non-empty, within size) — what [`Self::validate_item`] checks per index. A backfill uses
    /// it to find (and count) the items it skips.
    pub fn validate_index_key(index: &IndexSchema, item: &Item) -> Result<()> {
        check_index_key_attributes(index, item)
    }

    /// Checks a `Key` argument (GetItem, DeleteItem, ...): exactly the table's key attributes with
    /// their declared types.
    pub fn validate_key(&self, key: &Item) -> Result<()> {
        let mismatch =
            || DdbError::validation("The provided key element does not match the schema");
        if key.len() != self.key.attributes().count() {
            return Err(mismatch());
        }
        for attr in self.key.attributes() {
            let value = key
                .get(&attr.name)
                .and_then(KeyValue::from_attribute)
                .ok_or_else(mismatch)?;
            if value.attribute_type() != attr.attribute_type {
                return Err(mismatch());
            }
        }
        self.check_table_key_attributes(key)
    }

    fn check_table_key_attributes(&self, item: &Item) -> Result<()> {
        for (attr, is_partition) in self.key.attributes().zip([true, false]) {
            let Some(value) = item.get(&attr.name) else {
                return Err(invalid(format!(
                    "Missing the key {} in the item",
                    attr.name
                )));
            };
            let actual = value.type_name();
            let Some(key_value) = KeyValue::from_attribute(value)
                .filter(|v| v.attribute_type() == attr.attribute_type)
            else {
                return Err(invalid(format!(
                    "Type mismatch for key {} expected: {} actual: {actual}",
                    attr.name, attr.attribute_type
                )));
            };
            if key_value_len(key_value) == Some(0) {
                let kind = if actual == "S" { "string" } else { "binary" };
                return Err(DdbError::validation(format!(
                    "One or more parameter values are not valid. The AttributeValue for a key attribute \
                     cannot contain an empty {kind} value. Key: {}",
                    attr.name
                )));
            }
            check_key_size(key_value, is_partition)?;
        }
        Ok(())
    }
}

fn check_index_key_attributes(index: &IndexSchema, item: &Item) -> Result<()> {
    for (attr, is_partition) in index.key.attributes().zip([true, false]) {
        let Some(value) = item.get(&attr.name) else {
            continue; // Sparse: the item is simply not in this index.
        };
        let Some(key_value) =
            KeyValue::from_attribute(value).filter(|v| v.attribute_type() == attr.attribute_type)
        else {
            return Err(invalid(format!(
                "Type mismatch for Index Key {} Expected: {} Actual: {} IndexName: {}",
                attr.name,
                attr.attribute_type,
                value.type_name(),
                index.name
            )));
        };
        if key_value_len(key_value) == Some(0) {
            let kind = if matches!(key_value, KeyValue::S(_)) {
                "string"
            } else {
                "binary"
            };
            return Err(DdbError::validation(format!(
                "One or more parameter values are not valid. A value specified for a secondary index key \
                 is not supported. The AttributeValue for a key attribute cannot contain an empty {kind} \
                 value. IndexName: {}, IndexKey: {}",
                index.name, attr.name
            )));
        }
        check_key_size(key_value, is_partition)?;
    }
    Ok(())
}

fn invalid(what: String) -> DdbError {
    DdbError::validation(format!("One or more parameter values were invalid: {what}"))
}

/// Byte length of a string or binary key value; numbers have no length limit of their own.
fn key_value_len(value: KeyValue<'_>) -> Option<usize> {
    match value {
        KeyValue::S(s) => Some(s.len()),
        KeyValue::B(b) => Some(b.len()),
        KeyValue::N(_) => None,
    }
}

fn check_key_size(value: KeyValue<'_>, is_partition: bool) -> Result<()> {
    let len = key_value_len(value).unwrap_or(0);
    if is_partition && len > PARTITION_KEY_BYTES_MAX {
        // DynamoDB's message, missing space included: scripts match on it.
        return Err(invalid(
            "Size of hashkey has exceeded the maximum size limit of2048 bytes".into(),
        ));
    }
    if !is_partition && len > SORT_KEY_BYTES_MAX {
        return Err(invalid(
            "Aggregated size of all range keys has exceeded the size limit of 1024 bytes".into(),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n(text: &str) -> Number {
        Number::parse(text).unwrap()
    }

    fn enc(value: KeyValue<'_>) -> Vec<u8> {
        let mut out = Vec::new();
        value.encode(&mut out);
        out
    }

    #[test]
    fn golden_encodings() {
        assert_eq!(enc(KeyValue::S("a\0b")), b"Sa\0\xFFb\0");
        assert_eq!(enc(KeyValue::B(&[0xFF, 0x00])), b"B\xFF\0\xFF\0");
        assert_eq!(enc(KeyValue::N(&n("0"))), b"N\x02");
        // 15 = 0.15 × 10^2: exponent byte 2 + 129 = 131, digits "15" → 16.
        assert_eq!(enc(KeyValue::N(&n("15"))), [b'N', 0x03, 131, 16, 0x00]);
        // 0.105 = 0.105 × 10^0: digits "10" → 11, "5" (padded "50") → 51.
        assert_eq!(
            enc(KeyValue::N(&n("0.105"))),
            [b'N', 0x03, 129, 11, 51, 0x00]
        );
        assert_eq!(enc(KeyValue::N(&n("-15"))), [b'N', 0x01, !131, !16, 0xFF]);
    }

    #[test]
    fn numbers_sort_numerically() {
        let ascending = [
            "-1E125", "-100", "-99.5", "-10.5", "-10", "-1", "-0.15", "-0.105", "-0.1", "-1E-130",
            "0", "1E-130", "0.1", "0.105", "0.15", "1", "10", "10.5", "99.5", "100", "9.9E125",
        ];
        for pair in ascending.windows(2) {
            let (a, b) = (n(pair[0]), n(pair[1]));
            assert!(enc(KeyValue::N(&a)) < enc(KeyValue::N(&b)), "{a} < {b}");
        }
    }

    #[test]
    fn strings_with_zero_bytes_keep_their_order() {
        let ascending = ["a", "a\0", "a\0\0", "a\0b", "a\x01", "ab", "b"];
        for pair in ascending.windows(2) {
            assert!(
                enc(KeyValue::S(pair[0])) < enc(KeyValue::S(pair[1])),
                "{:?} < {:?}",
                pair[0],
                pair[1]
            );
        }
        // Composite: partition key order dominates whatever the sort key.
        let mut a = Vec::new();
        encode_key(&mut a, KeyValue::S("a"), Some(KeyValue::S("zzz")));
        let mut b = Vec::new();
        encode_key(&mut b, KeyValue::S("a\0"), Some(KeyValue::S("a")));
        assert!(a < b);
    }

    #[test]
    fn decode_reverses_encode_and_rejects_garbage() {
        let mut key = Vec::new();
        encode_key(
            &mut key,
            KeyValue::B(&[0, 1, 0xFF]),
            Some(KeyValue::N(&n("-12.5"))),
        );
        KeyValue::S("x\0").encode(&mut key);
        assert_eq!(
            decode_key(&key).unwrap(),
            vec![
                AttributeValue::B(vec![0, 1, 0xFF]),
                AttributeValue::N(n("-12.5")),
                AttributeValue::from("x\0")
            ]
        );
        let bad: [(&[u8], usize); 7] = [
            (b"X", 0),                          // unknown tag
            (b"Sabc", 4),                       // no terminator
            (b"S\xFF\0", 1),                    // invalid UTF-8
            (&[b'N', 0x07], 1),                 // bad class
            (&[b'N', 0x03, 130], 3),            // no digits / terminator
            (&[b'N', 0x03, 130, 0x00], 1),      // positive with no digits
            (&[b'N', 0x03, 130, 101, 0x00], 3), // digit byte out of range
        ];
        for (bytes, offset) in bad {
            let err = decode_key(bytes).unwrap_err();
            assert_eq!(err.offset, offset, "{bytes:?}: {err}");
        }
        // A leading-zero digit pair is not normalised.
        assert!(decode_key(&[b'N', 0x03, 130, 2, 0x00]).is_err());
    }
}
