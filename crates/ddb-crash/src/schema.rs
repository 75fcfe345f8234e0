//! The tables the workload writes, the GSIs it adds online, and its items.
//!
//! `tb1`: partition `pk` (S) and sort `sk` (N), an LSI on `lsk` (INCLUDE `v`) and a GSI on
//! `ga`/`v` (ALL). `tb2`: partition `pk` only, a GSI on `ga` (KEYS_ONLY). Every index key
//! attribute is absent from some items (sparse indexes); `v` is a version number unique over
//! the whole run, so two writes of a key never store the same item.

use ddb_model::Item;
use serde_json::{Value, json};

use crate::rng::Rng;

pub const T1: &str = "tb1";
pub const T2: &str = "tb2";
/// The tables the child writes (restored tables are only read).
pub const BASE_TABLES: [&str; 2] = [T1, T2];

/// Partition keys of `tb1` (`p00`..) and sort keys per partition.
const T1_PARTITIONS: u64 = 20;
const T1_SORT_KEYS: u64 = 15;
/// Keys of `tb2` (`k000`..).
const T2_KEYS: u64 = 150;

/// The key attributes of a base table, partition key first.
pub fn key_attributes(table: &str) -> Vec<String> {
    if table == T1 {
        vec!["pk".to_owned(), "sk".to_owned()]
    } else {
        vec!["pk".to_owned()]
    }
}

/// The CreateTable request of a base table.
pub fn definition(table: &str) -> Value {
    if table == T1 {
        json!({
            "TableName": T1,
            "AttributeDefinitions": [
                {"AttributeName": "pk", "AttributeType": "S"},
                {"AttributeName": "sk", "AttributeType": "N"},
                {"AttributeName": "lsk", "AttributeType": "S"},
                {"AttributeName": "ga", "AttributeType": "S"},
                {"AttributeName": "v", "AttributeType": "N"}
            ],
            "KeySchema": [
                {"AttributeName": "pk", "KeyType": "HASH"},
                {"AttributeName": "sk", "KeyType": "RANGE"}
            ],
            "LocalSecondaryIndexes": [{
                "IndexName": "by_lsk",
                "KeySchema": [
                    {"AttributeName": "pk", "KeyType": "HASH"},
                    {"AttributeName": "lsk", "KeyType": "RANGE"}
                ],
                "Projection": {"ProjectionType": "INCLUDE", "NonKeyAttributes": ["v"]}
            }],
            "GlobalSecondaryIndexes": [{
                "IndexName": "by_ga",
                "KeySchema": [
                    {"AttributeName": "ga", "KeyType": "HASH"},
                    {"AttributeName": "v", "KeyType": "RANGE"}
                ],
                "Projection": {"ProjectionType": "ALL"}
            }],
            "BillingMode": "PAY_PER_REQUEST"
        })
    } else {
        json!({
            "TableName": T2,
            "AttributeDefinitions": [
                {"AttributeName": "pk", "AttributeType": "S"},
                {"AttributeName": "ga", "AttributeType": "S"}
            ],
            "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
            "GlobalSecondaryIndexes": [{
                "IndexName": "tb2_by_ga",
                "KeySchema": [{"AttributeName": "ga", "KeyType": "HASH"}],
                "Projection": {"ProjectionType": "KEYS_ONLY"}
            }],
            "BillingMode": "PAY_PER_REQUEST"
        })
    }
}

/// The GSIs a base table is created with.
pub fn initial_gsis(table: &str) -> Vec<String> {
    if table == T1 {
        vec!["by_ga".to_owned()]
    } else {
        vec!["tb2_by_ga".to_owned()]
    }
}

/// The GSIs the workload creates (and deletes) online: `(name, UpdateTable request)`.
pub fn online_gsis(table: &str) -> Vec<(String, Value)> {
    let create = |name: &str, defs: Value, keys: Value, projection: Value| {
        (
            name.to_owned(),
            json!({
                "TableName": table,
                "AttributeDefinitions": defs,
                "GlobalSecondaryIndexUpdates": [{"Create": {
                    "IndexName": name,
                    "KeySchema": keys,
                    "Projection": projection
                }}]
            }),
        )
    };
    if table == T1 {
        vec![
            create(
                "by_gb",
                json!([{"AttributeName": "gb", "AttributeType": "N"}]),
                json!([{"AttributeName": "gb", "KeyType": "HASH"}]),
                json!({"ProjectionType": "KEYS_ONLY"}),
            ),
            create(
                "by_gc",
                json!([
                    {"AttributeName": "gc", "AttributeType": "S"},
                    {"AttributeName": "sk", "AttributeType": "N"}
                ]),
                json!([
                    {"AttributeName": "gc", "KeyType": "HASH"},
                    {"AttributeName": "sk", "KeyType": "RANGE"}
                ]),
                json!({"ProjectionType": "INCLUDE", "NonKeyAttributes": ["ga", "v"]}),
            ),
        ]
    } else {
        vec![create(
            "tb2_by_gb",
            json!([
                {"AttributeName": "gb", "AttributeType": "N"},
                {"AttributeName": "pk", "AttributeType": "S"}
            ]),
            json!([
                {"AttributeName": "gb", "KeyType": "HASH"},
                {"AttributeName": "pk", "KeyType": "RANGE"}
            ]),
            json!({"ProjectionType": "ALL"}),
        )]
    }
}

/// A random key of a base table (DynamoDB JSON).
pub fn random_key(rng: &mut Rng, table: &str) -> Value {
    if table == T1 {
        json!({
            "pk": {"S": format!("p{:02}", rng.below(T1_PARTITIONS))},
            "sk": {"N": rng.below(T1_SORT_KEYS).to_string()}
        })
    } else {
        json!({"pk": {"S": format!("k{:03}", rng.below(T2_KEYS))}})
    }
}

/// A random value of a non-key attribute the workload writes (`None`: leave it absent).
pub fn random_attribute(rng: &mut Rng, name: &str) -> Option<Value> {
    let present = match name {
        "lsk" => 80,
        "ga" => 75,
        "gb" => 60,
        "gc" => 50,
        _ => 100,
    };
    if !rng.percent(present) {
        return None;
    }
    Some(match name {
        "lsk" => json!({"S": format!("l{}", rng.below(10))}),
        "ga" => json!({"S": format!("a{}", rng.below(6))}),
        "gb" => json!({"N": rng.below(10).to_string()}),
        "gc" => json!({"S": format!("c{}", rng.below(4))}),
        _ => payload(rng),
    })
}

/// The optional attributes of items of `table` (besides the key and `v`).
pub fn optional_attributes(table: &str) -> &'static [&'static str] {
    if table == T1 {
        &["lsk", "ga", "gb", "gc", "pay"]
    } else {
        &["ga", "gb", "pay"]
    }
}

/// A payload: mostly short strings, sometimes a few KiB, sometimes a nested map.
fn payload(rng: &mut Rng) -> Value {
    let len = match rng.below(10) {
        0 => rng.range(2_000, 6_000),
        1..=3 => rng.range(200, 1_500),
        _ => rng.range(1, 120),
    };
    let text: String = (0..len)
        .map(|i| char::from(b'a' + u8::try_from((i * 7 + len) % 26).unwrap_or(0)))
        .collect();
    if rng.percent(20) {
        json!({"M": {
            "text": {"S": text},
            "n": {"N": rng.below(1_000_000).to_string()},
            "l": {"L": [{"BOOL": rng.percent(50)}, {"NULL": true}, {"N": "-1.5"}]}
        }})
    } else {
        json!({"S": text})
    }
}

/// A new item of `table` at `key` with version `v`.
pub fn random_item(rng: &mut Rng, table: &str, key: &Value, v: u64) -> Value {
    let mut item = key.clone();
    if let Some(map) = item.as_object_mut() {
        map.insert("v".to_owned(), json!({"N": v.to_string()}));
        for name in optional_attributes(table) {
            if let Some(value) = random_attribute(rng, name) {
                map.insert((*name).to_owned(), value);
            }
        }
    }
    item
}

/// Parses DynamoDB JSON into an item.
pub fn item_of(value: &Value) -> Result<Item, String> {
    ddb_model::parse_item(&value.to_string())
        .map_err(|e| format!("not an item: {}: {value}", e.message()))
}

/// The model's key of an item: the canonical JSON of its key attributes.
pub fn key_string(item: &Item, keys: &[String]) -> Result<String, String> {
    let mut key = Item::new();
    for name in keys {
        let value = item
            .get(name)
            .ok_or_else(|| format!("item without key attribute {name}: {}", short(item)))?;
        key.insert(name.clone(), value.clone());
    }
    Ok(key.to_canonical_json())
}

/// An item for messages: its key attributes and `v`, or the first 200 characters.
pub fn short(item: &Item) -> String {
    let mut out = Item::new();
    for name in ["pk", "sk", "v"] {
        if let Some(value) = item.get(name) {
            out.insert(name, value.clone());
        }
    }
    if out.is_empty() {
        item.to_canonical_json().chars().take(200).collect()
    } else {
        out.to_canonical_json()
    }
}
