//! Item validation against a table schema: every rule with a passing and a failing example,
//! asserting DynamoDB's error name and message.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use std::collections::BTreeMap;

use common::{map, set};
use ddb_model::{
    AttributeValue as V, IndexKind, IndexSchema, Item, KeyAttribute, KeyDef, Number,
    ResolvedProjection, ScalarAttributeType as T, TableSchema, parse_item,
};

const INVALID: &str = "One or more parameter values were invalid: ";

/// Table pk (S) + sk (N); LSI on `lsk` (B); GSI on `gpk` (S) + `gsk` (N).
fn schema() -> TableSchema {
    let table_key = KeyDef {
        partition: KeyAttribute::new("pk", T::S),
        sort: Some(KeyAttribute::new("sk", T::N)),
    };
    TableSchema {
        key: table_key.clone(),
        indexes: vec![
            IndexSchema {
                name: "lsi".into(),
                kind: IndexKind::Local,
                key: KeyDef {
                    partition: table_key.partition.clone(),
                    sort: Some(KeyAttribute::new("lsk", T::B)),
                },
                projection: ResolvedProjection::KeysOnly,
            },
            IndexSchema {
                name: "gsi".into(),
                kind: IndexKind::Global,
                key: KeyDef {
                    partition: KeyAttribute::new("gpk", T::S),
                    sort: Some(KeyAttribute::new("gsk", T::N)),
                },
                projection: ResolvedProjection::Include(vec!["extra".into()]),
            },
        ],
    }
}

fn item<const N: usize>(entries: [(&str, V); N]) -> Item {
    entries.into_iter().collect()
}

fn n(text: &str) -> V {
    V::N(Number::parse(text).unwrap())
}

fn base() -> Item {
    item([("pk", V::from("p")), ("sk", n("1"))])
}

fn with(mut item: Item, name: &str, value: V) -> Item {
    item.insert(name, value);
    item
}

fn without(mut item: Item, name: &str) -> Item {
    item.remove(name);
    item
}

#[track_caller]
fn assert_rejects(item: &Item, name: &str, message: &str) {
    let err = schema().validate_item(item).unwrap_err();
    assert_eq!((err.name(), err.message()), (name, message));
}

#[track_caller]
fn assert_accepts(item: &Item) {
    schema().validate_item(item).unwrap();
}

#[test]
fn table_key_must_be_present() {
    assert_accepts(&base());
    assert_rejects(
        &without(base(), "pk"),
        "ValidationException",
        &format!("{INVALID}Missing the key pk in the item"),
    );
    assert_rejects(
        &without(base(), "sk"),
        "ValidationException",
        &format!("{INVALID}Missing the key sk in the item"),
    );
}

#[test]
fn table_key_must_have_its_declared_type() {
    assert_rejects(
        &with(base(), "pk", n("1")),
        "ValidationException",
        &format!("{INVALID}Type mismatch for key pk expected: S actual: N"),
    );
    assert_rejects(
        &with(base(), "sk", V::Ss(set(["1".to_owned()]))),
        "ValidationException",
        &format!("{INVALID}Type mismatch for key sk expected: N actual: SS"),
    );
}

#[test]
fn key_strings_and_binary_must_not_be_empty() {
    assert_rejects(
        &with(base(), "pk", V::from("")),
        "ValidationException",
        "One or more parameter values are not valid. The AttributeValue for a key attribute cannot contain an empty string value. Key: pk",
    );
    let binary_key = TableSchema::new(KeyDef {
        partition: KeyAttribute::new("id", T::B),
        sort: None,
    });
    let err = binary_key
        .validate_item(&item([("id", V::B(vec![]))]))
        .unwrap_err();
    assert_eq!(
        err.message(),
        "One or more parameter values are not valid. The AttributeValue for a key attribute cannot contain an empty binary value. Key: id"
    );
    binary_key
        .validate_item(&item([("id", V::B(vec![0]))]))
        .unwrap();
    // Non-key attributes may be empty.
    assert_accepts(&with(base(), "note", V::from("")));
}

#[test]
fn partition_key_is_at_most_2048_bytes() {
    assert_accepts(&with(base(), "pk", V::from("é".repeat(1024))));
    assert_rejects(
        &with(base(), "pk", V::from(format!("{}x", "é".repeat(1024)))),
        "ValidationException",
        &format!("{INVALID}Size of hashkey has exceeded the maximum size limit of2048 bytes"),
    );
}

#[test]
fn sort_key_is_at_most_1024_bytes() {
    let string_sort = TableSchema::new(KeyDef {
        partition: KeyAttribute::new("pk", T::S),
        sort: Some(KeyAttribute::new("sk", T::S)),
    });
    string_sort
        .validate_item(&item([
            ("pk", V::from("p")),
            ("sk", V::from("x".repeat(1024))),
        ]))
        .unwrap();
    let err = string_sort
        .validate_item(&item([
            ("pk", V::from("p")),
            ("sk", V::from("x".repeat(1025))),
        ]))
        .unwrap_err();
    assert_eq!(
        err.message(),
        format!(
            "{INVALID}Aggregated size of all range keys has exceeded the size limit of 1024 bytes"
        )
    );
}

#[test]
fn index_keys_are_sparse_but_typed() {
    let s = schema();
    let gsi = s.index("gsi").unwrap();
    // Lacking an index key attribute: valid, and simply not in the index.
    let partial = with(base(), "gpk", V::from("g"));
    assert_accepts(&partial);
    assert_eq!(s.index_key(gsi, &partial), None);
    let full = with(partial, "gsk", n("7"));
    assert_accepts(&full);
    assert!(s.index_key(gsi, &full).is_some());

    assert_rejects(
        &with(base(), "gsk", V::from("7")),
        "ValidationException",
        &format!("{INVALID}Type mismatch for Index Key gsk Expected: N Actual: S IndexName: gsi"),
    );
    assert_rejects(
        &with(base(), "lsk", V::from("x")),
        "ValidationException",
        &format!("{INVALID}Type mismatch for Index Key lsk Expected: B Actual: S IndexName: lsi"),
    );
    assert_rejects(
        &with(base(), "gpk", V::from("")),
        "ValidationException",
        "One or more parameter values are not valid. A value specified for a secondary index key is not supported. The AttributeValue for a key attribute cannot contain an empty string value. IndexName: gsi, IndexKey: gpk",
    );
    assert_rejects(
        &with(base(), "lsk", V::B(vec![])),
        "ValidationException",
        "One or more parameter values are not valid. A value specified for a secondary index key is not supported. The AttributeValue for a key attribute cannot contain an empty binary value. IndexName: lsi, IndexKey: lsk",
    );
    assert_rejects(
        &with(base(), "gpk", V::from("g".repeat(2049))),
        "ValidationException",
        &format!("{INVALID}Size of hashkey has exceeded the maximum size limit of2048 bytes"),
    );
}

#[test]
fn index_keys_order_by_index_key_then_table_key() {
    let s = schema();
    let gsi = s.index("gsi").unwrap();
    let row = |pk: &str, gsk: &str| {
        item([
            ("pk", V::from(pk)),
            ("sk", n("1")),
            ("gpk", V::from("g")),
            ("gsk", n(gsk)),
        ])
    };
    let a = s.index_key(gsi, &row("z", "-5")).unwrap();
    let b = s.index_key(gsi, &row("a", "10")).unwrap();
    let c = s.index_key(gsi, &row("b", "10")).unwrap();
    assert!(a < b && b < c);
}

#[test]
fn values_must_be_valid_anywhere_in_the_item() {
    assert_rejects(
        &with(base(), "tags", V::Ss(Default::default())),
        "ValidationException",
        &format!("{INVALID}An string set  may not be empty"),
    );
    let deep = (1..33).fold(V::Null, |v, _| V::L(vec![v]));
    let err = schema()
        .validate_item(&with(base(), "deep", deep))
        .unwrap_err();
    assert!(
        err.message()
            .starts_with("Nesting Levels have exceeded supported limits")
    );
    let ok_deep = (1..32).fold(V::Null, |v, _| V::L(vec![v]));
    assert_accepts(&with(base(), "deep", ok_deep));
    assert_accepts(&with(
        base(),
        "m",
        V::M(map([("a", V::Ns(set([Number::from(1)])))])),
    ));
}

#[test]
fn item_is_at_most_400_kib() {
    // pk(2+1) + sk(2+2) + "blob"(4) = 11 bytes besides the blob's value.
    let room = ddb_model::ITEM_SIZE_BYTES_MAX - 11;
    assert_accepts(&with(base(), "blob", V::B(vec![7; room])));
    assert_rejects(
        &with(base(), "blob", V::B(vec![7; room + 1])),
        "ValidationException",
        "Item size has exceeded the maximum allowed size",
    );
}

#[test]
fn keys_for_reads_must_match_the_schema_exactly() {
    let s = schema();
    s.validate_key(&base()).unwrap();
    let mismatch = "The provided key element does not match the schema";
    for bad in [
        without(base(), "sk"),
        with(base(), "extra", V::from("x")),
        with(base(), "sk", V::from("1")),
    ] {
        let err = s.validate_key(&bad).unwrap_err();
        assert_eq!(
            (err.name(), err.message()),
            ("ValidationException", mismatch),
            "{bad:?}"
        );
    }
}

#[test]
fn parsed_items_validate_the_same_as_built_ones() {
    let parsed = parse_item(r#"{"pk":{"S":"p"},"sk":{"N":"1.0"},"lsk":{"B":"AA=="}}"#).unwrap();
    assert_accepts(&parsed);
    let built: BTreeMap<String, V> =
        map([("pk", V::from("p")), ("sk", n("1")), ("lsk", V::B(vec![0]))]);
    assert_eq!(parsed, Item::from(built));
}
