//! Shared set-up of the request-layer tests: tables in memory and calls by operation name.
#![allow(dead_code, reason = "each test file uses a different part")]

use ddb_model::table::CreateTableInput;
use ddb_table::api::data::dispatch;
use ddb_table::api::memory::MemoryTables;
use serde_json::{Value, json};

/// `Hash` (pk S), and `Music` (pk S, sk N) with an LSI `ByLsk` (lsk S, KEYS_ONLY), a GSI
/// `ByGenre` (genre S, year N, INCLUDE [title]) and a GSI `ByArtist` (artist S, ALL).
pub fn tables() -> MemoryTables {
    let tables = MemoryTables::new();
    let hash = json!({
        "TableName": "Hash",
        "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}],
        "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
        "BillingMode": "PAY_PER_REQUEST"
    });
    let music = json!({
        "TableName": "Music",
        "AttributeDefinitions": [
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "N"},
            {"AttributeName": "lsk", "AttributeType": "S"},
            {"AttributeName": "genre", "AttributeType": "S"},
            {"AttributeName": "year", "AttributeType": "N"},
            {"AttributeName": "artist", "AttributeType": "S"}
        ],
        "KeySchema": [
            {"AttributeName": "pk", "KeyType": "HASH"},
            {"AttributeName": "sk", "KeyType": "RANGE"}
        ],
        "LocalSecondaryIndexes": [{
            "IndexName": "ByLsk",
            "KeySchema": [
                {"AttributeName": "pk", "KeyType": "HASH"},
                {"AttributeName": "lsk", "KeyType": "RANGE"}
            ],
            "Projection": {"ProjectionType": "KEYS_ONLY"}
        }],
        "GlobalSecondaryIndexes": [
            {
                "IndexName": "ByGenre",
                "KeySchema": [
                    {"AttributeName": "genre", "KeyType": "HASH"},
                    {"AttributeName": "year", "KeyType": "RANGE"}
                ],
                "Projection": {"ProjectionType": "INCLUDE", "NonKeyAttributes": ["title"]}
            },
            {
                "IndexName": "ByArtist",
                "KeySchema": [{"AttributeName": "artist", "KeyType": "HASH"}],
                "Projection": {"ProjectionType": "ALL"}
            }
        ],
        "BillingMode": "PAY_PER_REQUEST"
    });
    for definition in [hash, music] {
        let input = CreateTableInput::from_json(&definition.to_string()).unwrap();
        let schema = input.validate().unwrap();
        tables.create(&input.table_name, schema);
    }
    tables
}

pub fn call(tables: &MemoryTables, operation: &str, request: Value) -> ddb_model::Result<Value> {
    dispatch(tables, operation, &request).expect("a data-plane operation")
}

pub fn ok(tables: &MemoryTables, operation: &str, request: Value) -> Value {
    match call(tables, operation, request.clone()) {
        Ok(v) => v,
        Err(e) => panic!("{operation} {request} failed: {e}"),
    }
}

/// The error's name and message.
pub fn err(tables: &MemoryTables, operation: &str, request: Value) -> (String, String) {
    match call(tables, operation, request.clone()) {
        Ok(v) => panic!("{operation} {request} succeeded: {v}"),
        Err(e) => (e.name().to_owned(), e.message().to_owned()),
    }
}

/// Asserts a ValidationException with exactly `message`.
pub fn assert_validation(tables: &MemoryTables, operation: &str, request: Value, message: &str) {
    let (name, got) = err(tables, operation, request);
    assert_eq!(name, "ValidationException", "message: {got}");
    assert_eq!(got, message);
}

pub fn put(tables: &MemoryTables, table: &str, item: Value) {
    ok(tables, "PutItem", json!({"TableName": table, "Item": item}));
}

/// A Music item: partition `pk`, sort `sk`, and the given extra attributes.
pub fn song(pk: &str, sk: i64, extra: Value) -> Value {
    let mut item = json!({"pk": {"S": pk}, "sk": {"N": sk.to_string()}});
    if let (Value::Object(item), Value::Object(extra)) = (&mut item, extra) {
        item.extend(extra);
    }
    item
}
