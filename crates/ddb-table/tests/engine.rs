//! The engine through the store contract: writes, reads of the table, an LSI and a GSI,
//! checkpoints, reopen, and a GSI added by UpdateTable with its backfill.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::ops::Bound;
use std::sync::Arc;
use std::time::Duration;

use ddb_model::{Item, parse_item};
use ddb_table::{Change, Database, DatabaseOptions, Tables, WaitFor};
use serde_json::json;

fn options() -> DatabaseOptions {
    let mut options = DatabaseOptions {
        io: Some(Arc::new(ddb_io::StdIo)),
        ..DatabaseOptions::default()
    };
    options.table.snapshot_block_bytes = 4096;
    options
}

fn create(db: &Database) {
    db.call(
        "CreateTable",
        &json!({
            "TableName": "orders",
            "AttributeDefinitions": [
                {"AttributeName": "pk", "AttributeType": "S"},
                {"AttributeName": "sk", "AttributeType": "N"},
                {"AttributeName": "at", "AttributeType": "N"},
                {"AttributeName": "shop", "AttributeType": "S"}
            ],
            "KeySchema": [
                {"AttributeName": "pk", "KeyType": "HASH"},
                {"AttributeName": "sk", "KeyType": "RANGE"}
            ],
            "LocalSecondaryIndexes": [{
                "IndexName": "by_at",
                "KeySchema": [
                    {"AttributeName": "pk", "KeyType": "HASH"},
                    {"AttributeName": "at", "KeyType": "RANGE"}
                ],
                "Projection": {"ProjectionType": "KEYS_ONLY"}
            }],
            "GlobalSecondaryIndexes": [{
                "IndexName": "by_shop",
                "KeySchema": [{"AttributeName": "shop", "KeyType": "HASH"}],
                "Projection": {"ProjectionType": "INCLUDE", "NonKeyAttributes": ["note"]}
            }],
            "BillingMode": "PAY_PER_REQUEST"
        }),
    )
    .unwrap();
}

fn item(pk: &str, sk: u32, at: Option<u32>, shop: Option<&str>) -> Item {
    let mut text = format!(
        r#"{{"pk":{{"S":"{pk}"}},"sk":{{"N":"{sk}"}},"note":{{"S":"n{sk}"}},"extra":{{"BOOL":true}}"#
    );
    if let Some(at) = at {
        text.push_str(&format!(r#","at":{{"N":"{at}"}}"#));
    }
    if let Some(shop) = shop {
        text.push_str(&format!(r#","shop":{{"S":"{shop}"}}"#));
    }
    text.push('}');
    parse_item(&text).unwrap()
}

/// The model: what every index must hold given the items.
fn expected(items: &[Item], index: &str) -> Vec<Item> {
    let db_schema = |i: &Item| i.clone();
    let mut out: Vec<Item> = items.iter().map(db_schema).collect();
    match index {
        "by_at" => {
            out.retain(|i| i.get("at").is_some());
            out.sort_by_key(|i| {
                (
                    i.get("pk").unwrap().as_s().unwrap().to_owned(),
                    i.get("at")
                        .unwrap()
                        .as_n()
                        .unwrap()
                        .to_string()
                        .parse::<u64>()
                        .unwrap(),
                    i.get("sk")
                        .unwrap()
                        .as_n()
                        .unwrap()
                        .to_string()
                        .parse::<u64>()
                        .unwrap(),
                )
            });
            out.iter()
                .map(|i| {
                    let mut p = Item::new();
                    for name in ["pk", "sk", "at"] {
                        p.insert(name.to_owned(), i.get(name).unwrap().clone());
                    }
                    p
                })
                .collect()
        }
        "by_shop" => {
            out.retain(|i| i.get("shop").is_some());
            out.sort_by_key(|i| {
                (
                    i.get("shop").unwrap().as_s().unwrap().to_owned(),
                    i.get("pk").unwrap().as_s().unwrap().to_owned(),
                    i.get("sk")
                        .unwrap()
                        .as_n()
                        .unwrap()
                        .to_string()
                        .parse::<u64>()
                        .unwrap(),
                )
            });
            out.iter()
                .map(|i| {
                    let mut p = Item::new();
                    for name in ["pk", "sk", "shop", "note"] {
                        if let Some(v) = i.get(name) {
                            p.insert(name.to_owned(), v.clone());
                        }
                    }
                    p
                })
                .collect()
        }
        _ => unreachable!(),
    }
}

fn read_all(db: &Database, index: Option<&str>, forward: bool) -> Vec<Item> {
    let table = db.table("orders").unwrap();
    let out: Vec<Item> = table
        .range(index, Bound::Unbounded, Bound::Unbounded, forward)
        .unwrap()
        .map(|r| r.unwrap().1)
        .collect();
    out
}

fn check(db: &Database, items: &[Item]) {
    assert!(
        db.wait(
            &WaitFor::GsiCaughtUp {
                table: "orders".into()
            },
            Duration::from_secs(30)
        )
        .unwrap()
    );
    let mut table_items = items.to_vec();
    table_items.sort_by_key(|i| {
        (
            i.get("pk").unwrap().as_s().unwrap().to_owned(),
            i.get("sk")
                .unwrap()
                .as_n()
                .unwrap()
                .to_string()
                .parse::<u64>()
                .unwrap(),
        )
    });
    assert_eq!(read_all(db, None, true), table_items);
    let mut backward = read_all(db, None, false);
    backward.reverse();
    assert_eq!(backward, table_items);
    for index in ["by_at", "by_shop"] {
        assert_eq!(
            read_all(db, Some(index), true),
            expected(items, index),
            "{index}"
        );
        let mut backward = read_all(db, Some(index), false);
        backward.reverse();
        assert_eq!(backward, expected(items, index), "{index} backward");
    }
    let described = db
        .call("DescribeTable", &json!({"TableName": "orders"}))
        .unwrap();
    assert_eq!(described["Table"]["ItemCount"], json!(items.len()));
}

#[test]
fn writes_checkpoints_and_reopen_keep_table_and_indexes_consistent() {
    let dir = tempfile::tempdir().unwrap();
    let mut live: Vec<Item> = Vec::new();
    {
        let db = Database::open(dir.path(), options()).unwrap();
        create(&db);
        let table = db.table("orders").unwrap();
        for n in 0..300u32 {
            let it = item(
                &format!("p{}", n % 7),
                n,
                (n % 3 != 0).then_some(1000 - n),
                (n % 4 != 0).then_some(["a", "b", "c"][(n % 3) as usize]),
            );
            let key = table.schema().table_key(&it).unwrap();
            table
                .apply(&key, &mut |_| Ok(Change::Put(it.clone())))
                .unwrap();
            live.push(it);
        }
        check(&db, &live);
        db.checkpoint("orders").unwrap();
        check(&db, &live);
        // Changes after the checkpoint: updates that move index keys, deletes, a batch.
        for n in (0..300u32).step_by(5) {
            let it = item(&format!("p{}", n % 7), n, Some(n), None);
            let key = table.schema().table_key(&it).unwrap();
            table
                .apply(&key, &mut |_| Ok(Change::Put(it.clone())))
                .unwrap();
            live.retain(|l| table.schema().table_key(l).unwrap() != key);
            live.push(it);
        }
        let mut batch = Vec::new();
        for n in (1..300u32).step_by(11) {
            let it = item(&format!("p{}", n % 7), n, None, Some("z"));
            let key = table.schema().table_key(&it).unwrap();
            if n % 2 == 0 {
                batch.push((key.clone(), Change::Delete));
                live.retain(|l| table.schema().table_key(l).unwrap() != key);
            } else {
                batch.push((key.clone(), Change::Put(it.clone())));
                live.retain(|l| table.schema().table_key(l).unwrap() != key);
                live.push(it);
            }
        }
        table.apply_batch(batch).unwrap();
        check(&db, &live);
    }
    // Reopen: the log after the checkpoint is replayed.
    let db = Database::open(dir.path(), options()).unwrap();
    check(&db, &live);
    db.checkpoint("orders").unwrap();
    drop(db);
    let db = Database::open(dir.path(), options()).unwrap();
    check(&db, &live);
}

#[test]
fn a_second_opener_is_refused_with_the_holders_pid() {
    let dir = tempfile::tempdir().unwrap();
    let _db = Database::open(dir.path(), options()).unwrap();
    let err = Database::open(dir.path(), options()).unwrap_err();
    assert!(
        err.to_string().contains(&std::process::id().to_string()),
        "{err}"
    );
}

#[test]
fn a_gsi_added_by_update_table_is_backfilled_and_then_maintained() {
    let dir = tempfile::tempdir().unwrap();
    let db = Database::open(dir.path(), options()).unwrap();
    create(&db);
    let table = db.table("orders").unwrap();
    let mut live = Vec::new();
    for n in 0..200u32 {
        let it = item(&format!("p{}", n % 5), n, Some(n), Some("s"));
        let key = table.schema().table_key(&it).unwrap();
        table
            .apply(&key, &mut |_| Ok(Change::Put(it.clone())))
            .unwrap();
        live.push(it);
    }
    // One item whose `note` (the new index's key, N) is a string: skipped and counted.
    let response = db
        .call(
            "UpdateTable",
            &json!({
                "TableName": "orders",
                "AttributeDefinitions": [{"AttributeName": "sk", "AttributeType": "N"}],
                "GlobalSecondaryIndexUpdates": [{"Create": {
                    "IndexName": "by_sk",
                    "KeySchema": [{"AttributeName": "sk", "KeyType": "HASH"}],
                    "Projection": {"ProjectionType": "KEYS_ONLY"}
                }}]
            }),
        )
        .unwrap();
    let gsis = response["TableDescription"]["GlobalSecondaryIndexes"]
        .as_array()
        .unwrap();
    let new = gsis.iter().find(|g| g["IndexName"] == "by_sk").unwrap();
    assert_eq!(new["IndexStatus"], "CREATING");
    assert_eq!(new["Backfilling"], true);
    assert!(
        db.wait(
            &WaitFor::IndexActive {
                table: "orders".into(),
                index: "by_sk".into()
            },
            Duration::from_secs(60)
        )
        .unwrap()
    );
    // Writes after the backfill are maintained.
    let it = item("p9", 1000, None, None);
    let key = table.schema().table_key(&it).unwrap();
    let table = db.table("orders").unwrap();
    table
        .apply(&key, &mut |_| Ok(Change::Put(it.clone())))
        .unwrap();
    live.push(it);
    assert!(
        db.wait(
            &WaitFor::GsiCaughtUp {
                table: "orders".into()
            },
            Duration::from_secs(30)
        )
        .unwrap()
    );
    let got: Vec<u64> = read_all(&db, Some("by_sk"), true)
        .iter()
        .map(|i| {
            i.get("sk")
                .unwrap()
                .as_n()
                .unwrap()
                .to_string()
                .parse()
                .unwrap()
        })
        .collect();
    let mut want: Vec<u64> = live
        .iter()
        .map(|i| {
            i.get("sk")
                .unwrap()
                .as_n()
                .unwrap()
                .to_string()
                .parse()
                .unwrap()
        })
        .collect();
    want.sort_unstable();
    assert_eq!(got, want);
    let described = db
        .call("DescribeTable", &json!({"TableName": "orders"}))
        .unwrap();
    let gsis = described["Table"]["GlobalSecondaryIndexes"]
        .as_array()
        .unwrap();
    let new = gsis.iter().find(|g| g["IndexName"] == "by_sk").unwrap();
    assert_eq!(new["IndexStatus"], "ACTIVE");
    assert_eq!(new["ItemCount"], json!(live.len()));
    drop(db);
    let db = Database::open(dir.path(), options()).unwrap();
    check(&db, &live);
}
