//! The order-preserving key encoding: memcmp order of encoded keys equals DynamoDB's order of
//! the key values, decoding reverses encoding, and arbitrary bytes never panic the decoder.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use std::cmp::Ordering;

use ddb_model::{AttributeValue, KeyValue, Number, decode_key, encode_key};
use proptest::prelude::*;

#[derive(Debug, Clone)]
enum Owned {
    S(String),
    N(Number),
    B(Vec<u8>),
}

impl Owned {
    fn as_key(&self) -> KeyValue<'_> {
        match self {
            Owned::S(s) => KeyValue::S(s),
            Owned::N(n) => KeyValue::N(n),
            Owned::B(b) => KeyValue::B(b),
        }
    }

    fn attribute(&self) -> AttributeValue {
        match self {
            Owned::S(s) => AttributeValue::S(s.clone()),
            Owned::N(n) => AttributeValue::N(*n),
            Owned::B(b) => AttributeValue::B(b.clone()),
        }
    }
}

/// DynamoDB's order, written independently of the encoding: strings by UTF-8 bytes, binary by
/// unsigned bytes, numbers by numeric value.
fn dynamo_cmp(a: &Owned, b: &Owned) -> Ordering {
    match (a, b) {
        (Owned::S(a), Owned::S(b)) => a.as_bytes().cmp(b.as_bytes()),
        (Owned::B(a), Owned::B(b)) => a.cmp(b),
        (Owned::N(a), Owned::N(b)) => a.cmp(b),
        _ => unreachable!("a schema never mixes types"),
    }
}

fn key_string() -> impl Strategy<Value = String> {
    common::string().prop_filter("key values are never empty", |s| !s.is_empty())
}

fn key_bytes() -> impl Strategy<Value = Vec<u8>> {
    common::bytes().prop_filter("key values are never empty", |b| !b.is_empty())
}

/// A pair of key values of one type (keys of one attribute always share a type).
fn same_type_pair() -> impl Strategy<Value = (Owned, Owned)> {
    prop_oneof![
        (key_string(), key_string()).prop_map(|(a, b)| (Owned::S(a), Owned::S(b))),
        (key_bytes(), key_bytes()).prop_map(|(a, b)| (Owned::B(a), Owned::B(b))),
        (common::number(), common::number()).prop_map(|(a, b)| (Owned::N(a), Owned::N(b))),
        // Numbers that differ only in exponent or only in sign.
        (common::number(), -3i16..3).prop_map(|(a, shift)| {
            let b = Number::from_parts(
                a.sign(),
                (a.exponent() + shift).clamp(-129, 126),
                a.digits(),
            )
            .unwrap_or(a);
            (Owned::N(a), Owned::N(b))
        }),
        common::number().prop_map(|a| (Owned::N(a), Owned::N(a.negated()))),
    ]
}

fn encode(partition: &Owned, sort: Option<&Owned>) -> Vec<u8> {
    let mut out = Vec::new();
    encode_key(&mut out, partition.as_key(), sort.map(Owned::as_key));
    out
}

proptest! {
    #![proptest_config(common::config(5000))]

    #[test]
    fn single_component_order_matches((a, b) in same_type_pair()) {
        prop_assert_eq!(encode(&a, None).cmp(&encode(&b, None)), dynamo_cmp(&a, &b), "{:?} vs {:?}", a, b);
    }

    #[test]
    fn composite_order_is_partition_then_sort((pa, pb) in same_type_pair(), (sa, sb) in same_type_pair()) {
        let want = dynamo_cmp(&pa, &pb).then_with(|| dynamo_cmp(&sa, &sb));
        prop_assert_eq!(encode(&pa, Some(&sa)).cmp(&encode(&pb, Some(&sb))), want);
        // Equal partition keys: the sort key decides.
        prop_assert_eq!(encode(&pa, Some(&sa)).cmp(&encode(&pa, Some(&sb))), dynamo_cmp(&sa, &sb));
    }

    #[test]
    fn decode_reverses_encode((a, b) in same_type_pair()) {
        let key = encode(&a, Some(&b));
        prop_assert_eq!(decode_key(&key).unwrap(), vec![a.attribute(), b.attribute()]);
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..40)) {
        if let Ok(values) = decode_key(&bytes) {
            // Whatever decodes re-encodes to exactly the same bytes: one encoding per key.
            let mut again = Vec::new();
            for value in &values {
                KeyValue::from_attribute(value).unwrap().encode(&mut again);
            }
            prop_assert_eq!(again, bytes);
        }
    }
}
