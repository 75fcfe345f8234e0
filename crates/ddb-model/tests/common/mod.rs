//! Generators shared by the property tests.
#![allow(dead_code)]

use std::collections::{BTreeMap, BTreeSet};

use ddb_model::{AttributeValue, Item, Number};
use proptest::prelude::*;

pub fn config(cases: u32) -> ProptestConfig {
    ProptestConfig {
        cases,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

/// Any valid number: 1–38 significant digits, exponent anywhere in range, or zero.
pub fn number() -> impl Strategy<Value = Number> {
    prop_oneof![
        1 => Just(Number::ZERO),
        8 => (any::<bool>(), "[1-9]([0-9]{0,36}[1-9])?", -129i16..=126).prop_map(|(neg, digits, exp)| {
            let digits: Vec<u8> = digits.bytes().map(|b| b - b'0').collect();
            let sign = if neg { ddb_model::Sign::Negative } else { ddb_model::Sign::Positive };
            Number::from_parts(sign, exp, &digits).unwrap()
        }),
        // Small integers and near-equal values, so that ties and near-ties are common.
        4 => (-30i64..30).prop_map(Number::from),
    ]
}

/// Strings that stress escaping and ordering: embedded zero bytes, control characters,
/// quotes, backslashes, non-ASCII.
pub fn string() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => "[a-c\\x00\\x01\\xff]{0,6}".prop_map(|s| s),
        2 => "\\PC{0,12}",
        1 => "[\"\\\\\\x00-\\x1f\u{7f}\u{2028}é日]{0,8}",
    ]
}

pub fn bytes() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        3 => prop::collection::vec(prop::sample::select(vec![0u8, 1, 0x7f, 0xfe, 0xff]), 0..6),
        1 => prop::collection::vec(any::<u8>(), 0..24),
    ]
}

/// Any valid attribute value, nested a few levels.
pub fn attribute_value() -> impl Strategy<Value = AttributeValue> {
    let leaf = prop_oneof![
        string().prop_map(AttributeValue::S),
        number().prop_map(AttributeValue::N),
        bytes().prop_map(AttributeValue::B),
        any::<bool>().prop_map(AttributeValue::Bool),
        Just(AttributeValue::Null),
        prop::collection::btree_set(string(), 1..5).prop_map(AttributeValue::Ss),
        prop::collection::btree_set(number(), 1..5).prop_map(AttributeValue::Ns),
        prop::collection::btree_set(bytes(), 1..5).prop_map(AttributeValue::Bs),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(AttributeValue::L),
            prop::collection::btree_map(string(), inner, 0..6).prop_map(AttributeValue::M),
        ]
    })
}

pub fn item() -> impl Strategy<Value = Item> {
    prop::collection::btree_map(string(), attribute_value(), 0..8).prop_map(Item::from)
}

/// Converts an item to plain serde_json DynamoDB JSON, independently of the crate's encoder:
/// the reference the canonical encoder is checked against.
pub fn reference_json(value: &AttributeValue) -> serde_json::Value {
    use base64::Engine as _;
    let b64 = |b: &Vec<u8>| {
        serde_json::Value::String(base64::engine::general_purpose::STANDARD.encode(b))
    };
    let (tag, body) = match value {
        AttributeValue::S(s) => ("S", serde_json::Value::String(s.clone())),
        AttributeValue::N(n) => ("N", serde_json::Value::String(n.to_string())),
        AttributeValue::B(b) => ("B", b64(b)),
        AttributeValue::Bool(b) => ("BOOL", serde_json::Value::Bool(*b)),
        AttributeValue::Null => ("NULL", serde_json::Value::Bool(true)),
        AttributeValue::M(m) => (
            "M",
            serde_json::Value::Object(
                m.iter()
                    .map(|(k, v)| (k.clone(), reference_json(v)))
                    .collect(),
            ),
        ),
        AttributeValue::L(l) => (
            "L",
            serde_json::Value::Array(l.iter().map(reference_json).collect()),
        ),
        AttributeValue::Ss(s) => (
            "SS",
            s.iter()
                .map(|x| serde_json::Value::String(x.clone()))
                .collect(),
        ),
        AttributeValue::Ns(s) => (
            "NS",
            s.iter()
                .map(|x| serde_json::Value::String(x.to_string()))
                .collect(),
        ),
        AttributeValue::Bs(s) => ("BS", s.iter().map(b64).collect()),
    };
    serde_json::Value::Object(serde_json::Map::from_iter([(tag.to_owned(), body)]))
}

pub fn reference_item_json(item: &Item) -> serde_json::Value {
    serde_json::Value::Object(
        item.iter()
            .map(|(k, v)| (k.clone(), reference_json(v)))
            .collect(),
    )
}

/// A map literal helper for tests.
pub fn map<const N: usize>(
    entries: [(&str, AttributeValue); N],
) -> BTreeMap<String, AttributeValue> {
    entries
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect()
}

pub fn set<T: Ord, const N: usize>(members: [T; N]) -> BTreeSet<T> {
    members.into_iter().collect()
}
