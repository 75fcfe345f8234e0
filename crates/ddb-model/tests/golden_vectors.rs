//! The golden vectors of `formats/key` and `formats/item-json`: every file is checked, and a
//! file this test does not list (or a listed file that is missing) fails the test, so vectors
//! cannot silently go unchecked.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use ddb_model::{KeyValue, decode_key, parse_item, parse_value};
use serde_json::Value;

const KEY_VECTORS: &[&str] = &[
    "bad-b-empty.json",
    "bad-b-unterminated.json",
    "bad-n-class.json",
    "bad-n-digit-range.json",
    "bad-n-leading-zero.json",
    "bad-n-negative-unterminated.json",
    "bad-n-no-digits.json",
    "bad-n-no-exponent.json",
    "bad-n-too-many-digits.json",
    "bad-n-trailing-zeros.json",
    "bad-n-unterminated.json",
    "bad-s-empty.json",
    "bad-s-invalid-utf8.json",
    "bad-s-unterminated.json",
    "bad-unknown-tag.json",
    "good-b-bytes.json",
    "good-composite-s-n.json",
    "good-index-entry.json",
    "good-n-max.json",
    "good-n-min-magnitude.json",
    "good-n-most-negative.json",
    "good-n-negative.json",
    "good-n-positive-even.json",
    "good-n-positive-odd.json",
    "good-n-zero.json",
    "good-s-ascii.json",
    "good-s-utf8.json",
    "good-s-zero-bytes.json",
];

const ITEM_JSON_VECTORS: &[&str] = &[
    "bad-base64.json",
    "bad-bs-duplicates.json",
    "bad-empty-bs.json",
    "bad-empty-ns.json",
    "bad-empty-ss.json",
    "bad-duplicate-attribute.json",
    "bad-empty-value.json",
    "bad-nesting-33.json",
    "bad-not-an-item.json",
    "bad-not-numeric.json",
    "bad-ns-duplicates.json",
    "bad-null-false.json",
    "bad-number-digits.json",
    "bad-number-overflow.json",
    "bad-number-type.json",
    "bad-number-underflow.json",
    "bad-ss-duplicates.json",
    "bad-two-types.json",
    "bad-unknown-type.json",
    "good-attribute-order.json",
    "good-binary.json",
    "good-empty-values.json",
    "good-nested.json",
    "good-nesting-32.json",
    "good-number-normalised.json",
    "good-sets-ordered.json",
    "good-string-escapes.json",
];

fn vectors_dir(format: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../formats")
        .join(format)
        .join("vectors")
}

/// Reads every vector of a format, failing on unknown or missing files.
fn load(format: &str, known: &[&str]) -> Vec<(String, Value)> {
    let dir = vectors_dir(format);
    let on_disk: BTreeSet<String> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| entry.unwrap().file_name().into_string().unwrap())
        .collect();
    let listed: BTreeSet<String> = known.iter().map(|s| (*s).to_owned()).collect();
    let unknown: Vec<_> = on_disk.difference(&listed).collect();
    let missing: Vec<_> = listed.difference(&on_disk).collect();
    assert!(
        unknown.is_empty(),
        "vectors in {} with no test: {unknown:?}",
        dir.display()
    );
    assert!(
        missing.is_empty(),
        "listed vectors missing from {}: {missing:?}",
        dir.display()
    );
    known
        .iter()
        .map(|name| ((*name).to_owned(), read_json(&dir.join(name))))
        .collect()
}

fn read_json(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn unhex(text: &str) -> Vec<u8> {
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap())
        .collect()
}

#[test]
fn key_vectors() {
    for (name, vector) in load("key", KEY_VECTORS) {
        let bytes = unhex(vector["hex"].as_str().unwrap());
        if name.starts_with("good-") {
            let values: Vec<_> = vector["values"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| parse_value(&v.to_string()).unwrap())
                .collect();
            let mut encoded = Vec::new();
            for value in &values {
                KeyValue::from_attribute(value)
                    .unwrap()
                    .encode(&mut encoded);
            }
            assert_eq!(encoded, bytes, "{name}: encoding");
            assert_eq!(decode_key(&bytes).unwrap(), values, "{name}: decoding");
        } else {
            let err = decode_key(&bytes).expect_err(&name);
            assert_eq!(
                Some(err.offset as u64),
                vector["error_offset"].as_u64(),
                "{name}: {err}"
            );
        }
    }
}

#[test]
fn item_json_vectors() {
    for (name, vector) in load("item-json", ITEM_JSON_VECTORS) {
        let input = vector["input"].as_str().unwrap();
        if name.starts_with("good-") {
            let canonical = vector["canonical"].as_str().unwrap();
            let item = parse_item(input).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(item.to_canonical_json(), canonical, "{name}");
            assert_eq!(
                parse_item(canonical).unwrap().to_canonical_json(),
                canonical,
                "{name}: fixed point"
            );
        } else {
            let err = parse_item(input).expect_err(&name);
            assert_eq!(err.name(), vector["error_name"].as_str().unwrap(), "{name}");
            assert_eq!(
                err.message(),
                vector["error_message"].as_str().unwrap(),
                "{name}"
            );
        }
    }
}
