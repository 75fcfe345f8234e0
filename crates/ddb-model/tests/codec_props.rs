//! DynamoDB JSON codec properties: decode(encode(x)) == x, the canonical form is a fixed point
//! and matches an independent serde_json rendering, non-canonical spellings decode to the same
//! value, and arbitrary input never panics.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use ddb_model::{AttributeValue, Item, parse_input_document, parse_item, parse_value};
use proptest::prelude::*;
use serde_json::Value;

/// Re-spells DynamoDB JSON without changing its meaning: numbers gain leading zeros, a trailing
/// fractional zero and an exponent; set members and map entries are reversed.
fn respell(json: &Value) -> Value {
    match json {
        Value::Object(map) => {
            let (tag, body) = map.iter().next().unwrap();
            let body = match (tag.as_str(), body) {
                ("N", Value::String(n)) => Value::String(respell_number(n)),
                ("NS", Value::Array(ns)) => ns
                    .iter()
                    .rev()
                    .map(|n| Value::String(respell_number(n.as_str().unwrap())))
                    .collect(),
                ("SS" | "BS", Value::Array(members)) => members.iter().rev().cloned().collect(),
                ("M", Value::Object(entries)) => Value::Object(
                    entries
                        .iter()
                        .map(|(k, v)| (k.clone(), respell(v)))
                        .collect(),
                ),
                ("L", Value::Array(elements)) => elements.iter().map(respell).collect(),
                _ => body.clone(),
            };
            Value::Object(serde_json::Map::from_iter([(tag.clone(), body)]))
        }
        other => other.clone(),
    }
}

fn respell_number(canonical: &str) -> String {
    let (sign, unsigned) = canonical
        .strip_prefix('-')
        .map_or(("", canonical), |u| ("-", u));
    let fraction_zero = if unsigned.contains('.') { "0" } else { ".0" };
    // Leading zeros, a trailing fractional zero and a (zero) exponent: same value, new spelling.
    format!("{sign}00{unsigned}{fraction_zero}e-0")
}

proptest! {
    #![proptest_config(common::config(2000))]

    #[test]
    fn value_round_trips(value in common::attribute_value()) {
        let canonical = value.to_canonical_json();
        let decoded = parse_value(&canonical).unwrap();
        prop_assert_eq!(&decoded, &value);
        prop_assert_eq!(decoded.to_canonical_json(), canonical);
    }

    #[test]
    fn item_canonical_matches_independent_rendering(item in common::item()) {
        let canonical = item.to_canonical_json();
        let reference = serde_json::to_string(&common::reference_item_json(&item)).unwrap();
        prop_assert_eq!(&canonical, &reference);
        prop_assert_eq!(parse_item(&canonical).unwrap(), item);
    }

    #[test]
    fn respelled_input_decodes_to_the_same_item(item in common::item()) {
        let respelled: Value = Value::Object(
            item.iter().map(|(k, v)| (k.clone(), respell(&common::reference_json(v)))).collect(),
        );
        // Pretty-printing adds whitespace the decoder must ignore.
        let text = serde_json::to_string_pretty(&respelled).unwrap();
        let decoded = parse_item(&text).unwrap();
        prop_assert_eq!(decoded.to_canonical_json(), item.to_canonical_json());
        prop_assert_eq!(decoded, item);
    }

    #[test]
    fn item_size_is_independent_of_spelling(item in common::item()) {
        let decoded = parse_item(&item.to_canonical_json()).unwrap();
        prop_assert_eq!(decoded.size_bytes(), item.size_bytes());
    }

    #[test]
    fn arbitrary_text_never_panics(text in "\\PC{0,80}") {
        let _ = parse_item(&text);
        let _ = parse_value(&text);
        let _ = parse_input_document(&text);
    }

    #[test]
    fn mutated_canonical_json_never_panics(item in common::item(), at in any::<prop::sample::Index>(), byte in any::<u8>()) {
        let mut bytes = item.to_canonical_json().into_bytes();
        if !bytes.is_empty() {
            let i = at.index(bytes.len());
            bytes[i] = byte;
        }
        if let Ok(text) = String::from_utf8(bytes)
            && let Ok(decoded) = parse_item(&text) {
                // Whatever decodes is valid and re-encodes canonically.
                prop_assert!(decoded.validate().is_ok());
                let again = parse_item(&decoded.to_canonical_json()).unwrap();
                prop_assert_eq!(again, decoded);
            }
    }
}

#[test]
fn equal_items_give_identical_bytes() {
    let a =
        parse_item(r#"{"b":{"NS":["2","1.0"]},"a":{"M":{"y":{"N":"1E1"},"x":{"SS":["q","p"]}}}}"#)
            .unwrap();
    let b =
        parse_item(r#"{"a":{"M":{"x":{"SS":["p","q"]},"y":{"N":"10"}}},"b":{"NS":["1","2.000"]}}"#)
            .unwrap();
    assert_eq!(a, b);
    assert_eq!(a.to_canonical_json(), b.to_canonical_json());
    assert_eq!(
        a.to_canonical_json(),
        r#"{"a":{"M":{"x":{"SS":["p","q"]},"y":{"N":"10"}}},"b":{"NS":["1","2"]}}"#
    );
    let empty: Item = Item::new();
    assert_eq!(empty.to_canonical_json(), "{}");
    assert_eq!(AttributeValue::L(vec![]).to_canonical_json(), r#"{"L":[]}"#);
}
