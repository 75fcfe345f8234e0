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

fn stepped_options() -> DatabaseOptions {
    let mut options = options();
    options.table.background = false;
    options
}

#[test]
fn reads_of_a_backfilling_gsi_are_refused_and_violations_are_skipped_and_counted() {
    let dir = tempfile::tempdir().unwrap();
    let db = Database::open(dir.path(), stepped_options()).unwrap();
    create(&db);
    let table = db.table("orders").unwrap();
    // `note` becomes the key (N) of a new GSI: a string `note` is a violation, a number is
    // indexed, no `note` at all is simply not in the index.
    for (n, note) in [
        (1u32, r#"{"S":"text"}"#),
        (2, r#"{"N":"7"}"#),
        (3, r#"{"N":"8"}"#),
    ] {
        let it = parse_item(&format!(
            r#"{{"pk":{{"S":"p"}},"sk":{{"N":"{n}"}},"note":{note}}}"#
        ))
        .unwrap();
        let key = table.schema().table_key(&it).unwrap();
        table
            .apply(&key, &mut |_| Ok(Change::Put(it.clone())))
            .unwrap();
    }
    let plain = parse_item(r#"{"pk":{"S":"p"},"sk":{"N":"4"}}"#).unwrap();
    let key = table.schema().table_key(&plain).unwrap();
    table
        .apply(&key, &mut |_| Ok(Change::Put(plain.clone())))
        .unwrap();
    db.call(
        "UpdateTable",
        &json!({
            "TableName": "orders",
            "AttributeDefinitions": [{"AttributeName": "note", "AttributeType": "N"}],
            "GlobalSecondaryIndexUpdates": [{"Create": {
                "IndexName": "by_note",
                "KeySchema": [{"AttributeName": "note", "KeyType": "HASH"}],
                "Projection": {"ProjectionType": "ALL"}
            }}]
        }),
    )
    .unwrap();
    // Nothing runs until the test steps the engine: the index is backfilling.
    let err = db
        .call(
            "Query",
            &json!({
                "TableName": "orders",
                "IndexName": "by_note",
                "KeyConditionExpression": "note = :n",
                "ExpressionAttributeValues": {":n": {"N": "7"}}
            }),
        )
        .unwrap_err();
    assert_eq!(err.name(), "ValidationException");
    assert_eq!(
        err.message(),
        "Cannot read from backfilling global secondary index: by_note"
    );
    // While it backfills, a write with a wrong-typed `note` is accepted (and skipped), through
    // the request layer too.
    db.call(
        "PutItem",
        &json!({"TableName": "orders", "Item": {
            "pk": {"S": "p"}, "sk": {"N": "5"}, "note": {"BOOL": true}
        }}),
    )
    .unwrap();
    db.engine_table("orders")
        .unwrap()
        .run_pending_work()
        .unwrap();
    assert!(
        db.wait(
            &WaitFor::IndexActive {
                table: "orders".into(),
                index: "by_note".into()
            },
            Duration::from_secs(1)
        )
        .unwrap()
    );
    assert_eq!(db.backfill_violations("orders", "by_note").unwrap(), 2);
    let notes: Vec<String> = read_all(&db, Some("by_note"), true)
        .iter()
        .map(|i| i.get("note").unwrap().as_n().unwrap().to_string())
        .collect();
    assert_eq!(notes, ["7", "8"]);
    // Now ACTIVE: a wrong-typed key is refused, naming the index (by the request layer and by
    // the engine).
    let err = db
        .call(
            "PutItem",
            &json!({"TableName": "orders", "Item": {
                "pk": {"S": "p"}, "sk": {"N": "6"}, "note": {"S": "x"}
            }}),
        )
        .unwrap_err();
    assert!(
        err.message().ends_with("IndexName: by_note"),
        "{}",
        err.message()
    );
    let bad = parse_item(r#"{"pk":{"S":"p"},"sk":{"N":"6"},"note":{"S":"x"}}"#).unwrap();
    let table = db.table("orders").unwrap();
    let key = table.schema().table_key(&bad).unwrap();
    let err = table
        .apply(&key, &mut |_| Ok(Change::Put(bad.clone())))
        .unwrap_err();
    assert_eq!(
        err.message(),
        "One or more parameter values were invalid: Type mismatch for Index Key note Expected: N \
         Actual: S IndexName: by_note"
    );
}

#[test]
fn gsi_lag_is_observable_until_the_applier_runs() {
    let dir = tempfile::tempdir().unwrap();
    let db = Database::open(dir.path(), stepped_options()).unwrap();
    create(&db);
    let table = db.table("orders").unwrap();
    for n in 0..3 {
        let it = item("p", n, None, Some("s"));
        let key = table.schema().table_key(&it).unwrap();
        table
            .apply(&key, &mut |_| Ok(Change::Put(it.clone())))
            .unwrap();
    }
    let lag = db.gsi_lag("orders").unwrap();
    assert_eq!(lag.lsns, 3);
    // Not applied yet: the GSI is eventually consistent, the LSI is not.
    assert_eq!(read_all(&db, Some("by_shop"), true).len(), 0);
    assert_eq!(
        read_all(&db, Some("by_at"), true).len(),
        0,
        "no item has `at`"
    );
    db.engine_table("orders")
        .unwrap()
        .run_pending_work()
        .unwrap();
    assert_eq!(db.gsi_lag("orders").unwrap().lsns, 0);
    assert_eq!(read_all(&db, Some("by_shop"), true).len(), 3);
}

#[test]
fn item_collections_of_tables_with_lsis_are_limited() {
    let dir = tempfile::tempdir().unwrap();
    let mut options = stepped_options();
    options.table.item_collection_limit_bytes = 2_000;
    let db = Database::open(dir.path(), options).unwrap();
    create(&db);
    let table = db.table("orders").unwrap();
    let big = |sk: u32| {
        parse_item(&format!(
            r#"{{"pk":{{"S":"p"}},"sk":{{"N":"{sk}"}},"at":{{"N":"1"}},"blob":{{"S":"{}"}}}}"#,
            "x".repeat(400)
        ))
        .unwrap()
    };
    let mut written = 0;
    let mut refused = None;
    for sk in 0..10 {
        let it = big(sk);
        let key = table.schema().table_key(&it).unwrap();
        match table.apply(&key, &mut |_| Ok(Change::Put(it.clone()))) {
            Ok(_) => written += 1,
            Err(e) => {
                refused = Some(e);
                break;
            }
        }
    }
    let err = refused.expect("the collection limit was never hit");
    assert_eq!(err.name(), "ItemCollectionSizeLimitExceededException");
    assert!((3..10).contains(&written), "{written} items fit");
    // Other partitions are not affected, and shrinking the full collection is allowed.
    let other = parse_item(r#"{"pk":{"S":"q"},"sk":{"N":"1"},"at":{"N":"1"}}"#).unwrap();
    let key = table.schema().table_key(&other).unwrap();
    table
        .apply(&key, &mut |_| Ok(Change::Put(other.clone())))
        .unwrap();
    let first = big(0);
    let key = table.schema().table_key(&first).unwrap();
    table.apply(&key, &mut |_| Ok(Change::Delete)).unwrap();
    // After a checkpoint and a reopen the sizes are recomputed from the snapshots.
    db.checkpoint("orders").unwrap();
    drop(db);
    let mut options = stepped_options();
    options.table.item_collection_limit_bytes = 2_000;
    let db = Database::open(dir.path(), options).unwrap();
    let table = db.table("orders").unwrap();
    let again = big(100);
    let key = table.schema().table_key(&again).unwrap();
    table
        .apply(&key, &mut |_| Ok(Change::Put(again.clone())))
        .unwrap();
    let more = big(101);
    let key = table.schema().table_key(&more).unwrap();
    let err = table
        .apply(&key, &mut |_| Ok(Change::Put(more.clone())))
        .unwrap_err();
    assert_eq!(err.name(), "ItemCollectionSizeLimitExceededException");
}

#[test]
fn a_read_only_open_needs_no_lock_and_describes_the_last_checkpoint() {
    let dir = tempfile::tempdir().unwrap();
    let db = Database::open(dir.path(), options()).unwrap();
    create(&db);
    let table = db.table("orders").unwrap();
    for n in 0..5 {
        let it = item("p", n, Some(n), None);
        let key = table.schema().table_key(&it).unwrap();
        table
            .apply(&key, &mut |_| Ok(Change::Put(it.clone())))
            .unwrap();
    }
    db.checkpoint("orders").unwrap();
    let it = item("p", 99, None, None);
    let key = table.schema().table_key(&it).unwrap();
    table
        .apply(&key, &mut |_| Ok(Change::Put(it.clone())))
        .unwrap();
    // The owner is still running: a read-only open works beside it.
    let ro = Database::open(
        dir.path(),
        DatabaseOptions {
            read_only: true,
            ..options()
        },
    )
    .unwrap();
    let listed = ro.call("ListTables", &json!({})).unwrap();
    assert_eq!(listed["TableNames"], json!(["orders"]));
    let described = ro
        .call("DescribeTable", &json!({"TableName": "orders"}))
        .unwrap();
    assert_eq!(described["Table"]["ItemCount"], 5, "as of the checkpoint");
    assert_eq!(
        described["Table"]["LocalSecondaryIndexes"][0]["ItemCount"],
        5
    );
    let err = ro
        .call("PutItem", &json!({"TableName": "orders", "Item": {}}))
        .unwrap_err();
    assert!(err.message().contains("read-only"), "{}", err.message());
}

#[test]
fn concurrent_writers_lose_no_update_and_keep_the_lsi_exact() {
    let dir = tempfile::tempdir().unwrap();
    let db = Database::open(dir.path(), options()).unwrap();
    create(&db);
    const THREADS: u32 = 4;
    const WRITES: u32 = 150;
    std::thread::scope(|scope| {
        for t in 0..THREADS {
            let db = &db;
            scope.spawn(move || {
                for n in 0..WRITES {
                    // A read-modify-write of one shared item: every increment must survive.
                    db.call(
                        "UpdateItem",
                        &json!({
                            "TableName": "orders",
                            "Key": {"pk": {"S": "counter"}, "sk": {"N": "0"}},
                            "UpdateExpression": "ADD hits :one",
                            "ExpressionAttributeValues": {":one": {"N": "1"}}
                        }),
                    )
                    .unwrap();
                    // And an item of its own, moved around the LSI.
                    db.call(
                        "PutItem",
                        &json!({"TableName": "orders", "Item": {
                            "pk": {"S": format!("t{t}")}, "sk": {"N": (n % 10).to_string()},
                            "at": {"N": n.to_string()}
                        }}),
                    )
                    .unwrap();
                }
            });
        }
    });
    let counter = db
        .call(
            "GetItem",
            &json!({"TableName": "orders", "Key": {"pk": {"S": "counter"}, "sk": {"N": "0"}}}),
        )
        .unwrap();
    assert_eq!(counter["Item"]["hits"]["N"], (THREADS * WRITES).to_string());
    let mut items: Vec<Item> = Vec::new();
    for t in 0..THREADS {
        for sk in 0..10 {
            // The last write of each key: n = WRITES - 10 + sk.
            items.push(item(&format!("t{t}"), sk, Some(WRITES - 10 + sk), None));
        }
    }
    let lsi = read_all(&db, Some("by_at"), true);
    let expected_lsi = expected(&items, "by_at");
    assert_eq!(lsi, expected_lsi);
    drop(db);
    let db = Database::open(dir.path(), options()).unwrap();
    assert_eq!(read_all(&db, Some("by_at"), true), expected_lsi);
}

#[test]
fn writers_wait_for_a_gsi_queue_over_its_limit_instead_of_growing_it() {
    let dir = tempfile::tempdir().unwrap();
    let mut options = options();
    options.table.gsi_queue_max_changes = 150;
    let db = Database::open(dir.path(), options).unwrap();
    create(&db);
    let engine = db.engine_table("orders").unwrap();
    engine.pause_gsi_applier(true);
    std::thread::scope(|scope| {
        let writer = scope.spawn(|| {
            let table = db.table("orders").unwrap();
            for b in 0..10u32 {
                let batch = (0..100u32)
                    .map(|n| {
                        let it = item("p", b * 100 + n, None, Some("s"));
                        (table.schema().table_key(&it).unwrap(), Change::Put(it))
                    })
                    .collect();
                table.apply_batch(batch).unwrap();
            }
        });
        // The second batch fills the queue past its limit: the writer waits there.
        assert!(
            engine.wait_gsi_state(Duration::from_secs(60), |_, waits| waits >= 1),
            "no writer ever waited for the GSI queue"
        );
        assert_eq!(
            engine.gsi_queue_len(),
            200,
            "nothing was queued past the full queue"
        );
        assert!(!writer.is_finished());
        engine.pause_gsi_applier(false);
        writer.join().unwrap();
    });
    assert!(
        db.wait(
            &WaitFor::GsiCaughtUp {
                table: "orders".into()
            },
            Duration::from_secs(60)
        )
        .unwrap()
    );
    assert_eq!(read_all(&db, Some("by_shop"), true).len(), 1000);
}

#[test]
fn a_table_without_gsis_is_always_caught_up_and_a_gsi_added_later_is_waited_for_correctly() {
    let dir = tempfile::tempdir().unwrap();
    let db = Database::open(dir.path(), options()).unwrap();
    db.call(
        "CreateTable",
        &json!({
            "TableName": "plain",
            "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}],
            "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
            "BillingMode": "PAY_PER_REQUEST"
        }),
    )
    .unwrap();
    for n in 0..20 {
        db.call(
            "PutItem",
            &json!({"TableName": "plain", "Item": {"pk": {"S": format!("k{n}")}, "v": {"N": "1"}}}),
        )
        .unwrap();
    }
    let caught_up = WaitFor::GsiCaughtUp {
        table: "plain".into(),
    };
    // Nothing to wait for: answered at once (a long timeout would show as a hang).
    assert!(db.wait(&caught_up, Duration::from_secs(600)).unwrap());
    assert_eq!(db.gsi_lag("plain").unwrap().lsns, 0);
    // A GSI added now starts at a checkpoint whose cut had no GSI work.
    db.call(
        "UpdateTable",
        &json!({
            "TableName": "plain",
            "AttributeDefinitions": [{"AttributeName": "v", "AttributeType": "N"}],
            "GlobalSecondaryIndexUpdates": [{"Create": {
                "IndexName": "by_v",
                "KeySchema": [{"AttributeName": "v", "KeyType": "HASH"}],
                "Projection": {"ProjectionType": "KEYS_ONLY"}
            }}]
        }),
    )
    .unwrap();
    let active = WaitFor::IndexActive {
        table: "plain".into(),
        index: "by_v".into(),
    };
    assert!(db.wait(&active, Duration::from_secs(600)).unwrap());
    assert!(db.wait(&caught_up, Duration::from_secs(600)).unwrap());
    db.call(
        "PutItem",
        &json!({"TableName": "plain", "Item": {"pk": {"S": "late"}, "v": {"N": "1"}}}),
    )
    .unwrap();
    assert!(db.wait(&caught_up, Duration::from_secs(600)).unwrap());
    // A checkpoint with GSI work up to its cut, and one right after with none.
    db.checkpoint("plain").unwrap();
    db.call(
        "DeleteItem",
        &json!({"TableName": "plain", "Key": {"pk": {"S": "k0"}}}),
    )
    .unwrap();
    db.checkpoint("plain").unwrap();
    assert!(db.wait(&caught_up, Duration::from_secs(600)).unwrap());
    assert_eq!(read_all_of(&db, "plain", Some("by_v")).len(), 20);
}

fn read_all_of(db: &Database, table: &str, index: Option<&str>) -> Vec<Item> {
    db.table(table)
        .unwrap()
        .range(index, Bound::Unbounded, Bound::Unbounded, true)
        .unwrap()
        .map(|r| r.unwrap().1)
        .collect()
}

/// Regression (found by the crash loop, `ddb-crash`): deleting a GSI removed its snapshot from
/// the current checkpoint while `CURRENT` still named it, so `verify_database` reported a healthy
/// database as damaged (until a later checkpoint of the table, which a table without writes
/// never has). `CURRENT` is republished without the index before its snapshot is let go.
#[test]
fn deleting_a_gsi_leaves_a_database_that_verifies_and_the_gsi_can_be_created_again() {
    let dir = tempfile::tempdir().unwrap();
    let db = Database::open(dir.path(), stepped_options()).unwrap();
    create(&db);
    let table = db.table("orders").unwrap();
    for n in 0..6 {
        let it = item("p", n, Some(n), Some(if n % 2 == 0 { "a" } else { "b" }));
        let key = table.schema().table_key(&it).unwrap();
        table
            .apply(&key, &mut |_| Ok(Change::Put(it.clone())))
            .unwrap();
    }
    db.checkpoint("orders").unwrap();
    let sound = |db: &Database| {
        let report = ddb_table::verify::verify_database(Arc::clone(db.io()), db.root(), true);
        assert!(report.is_sound(), "{:?}", report.findings);
    };
    sound(&db);
    db.call(
        "UpdateTable",
        &json!({"TableName": "orders", "GlobalSecondaryIndexUpdates": [{"Delete": {"IndexName": "by_shop"}}]}),
    )
    .unwrap();
    sound(&db);
    drop(db);
    let db = Database::open(dir.path(), stepped_options()).unwrap();
    sound(&db);
    assert_eq!(read_all_of(&db, "orders", None).len(), 6);
    // The same name again: backfilled from the (unchanged) checkpoint, and still sound.
    db.call(
        "UpdateTable",
        &json!({
            "TableName": "orders",
            "AttributeDefinitions": [{"AttributeName": "shop", "AttributeType": "S"}],
            "GlobalSecondaryIndexUpdates": [{"Create": {
                "IndexName": "by_shop",
                "KeySchema": [{"AttributeName": "shop", "KeyType": "HASH"}],
                "Projection": {"ProjectionType": "KEYS_ONLY"}
            }}]
        }),
    )
    .unwrap();
    db.engine_table("orders")
        .unwrap()
        .run_pending_work()
        .unwrap();
    assert_eq!(read_all_of(&db, "orders", Some("by_shop")).len(), 6);
    sound(&db);
    drop(db);
    let db = Database::open(dir.path(), stepped_options()).unwrap();
    sound(&db);
    assert_eq!(read_all_of(&db, "orders", Some("by_shop")).len(), 6);
}

/// Regression (found by the crash loop, `ddb-crash`): a backfill publishes `CURRENT` naming its
/// GSI and then records the GSI ACTIVE in the catalog. A crash in between left the GSI
/// backfilling in the catalog, so the next open removed the index's snapshot (it is rebuilt)
/// while `CURRENT` still named it, and `verify_database` reported the database as damaged.
/// The open now republishes `CURRENT` without the indexes it does not serve.
#[test]
fn a_backfill_interrupted_after_its_current_was_published_reopens_to_a_sound_database() {
    let dir = tempfile::tempdir().unwrap();
    let db = Database::open(dir.path(), stepped_options()).unwrap();
    create(&db);
    let table = db.table("orders").unwrap();
    for n in 0..5 {
        let it = item("p", n, Some(n), Some("s"));
        let key = table.schema().table_key(&it).unwrap();
        table
            .apply(&key, &mut |_| Ok(Change::Put(it.clone())))
            .unwrap();
    }
    db.checkpoint("orders").unwrap();
    db.call(
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
    db.engine_table("orders")
        .unwrap()
        .run_pending_work()
        .unwrap();
    drop(table);
    drop(db);
    // The crash's state: CURRENT names the index, the catalog still says it is backfilling.
    let io: Arc<dyn ddb_io::Io> = Arc::new(ddb_io::StdIo);
    let mut catalog: ddb_table::catalog::Catalog =
        ddb_table::state_file::load(&*io, dir.path(), ddb_table::files::CATALOG_FILE)
            .unwrap()
            .unwrap();
    let state = catalog
        .tables
        .get_mut("orders")
        .unwrap()
        .gsis
        .get_mut("by_sk")
        .unwrap();
    state.status = ddb_model::table::IndexStatus::Creating;
    state.backfilling = true;
    ddb_table::state_file::publish(&*io, dir.path(), ddb_table::files::CATALOG_FILE, &catalog)
        .unwrap();
    let sound = |db: &Database| {
        let report = ddb_table::verify::verify_database(Arc::clone(db.io()), db.root(), true);
        assert!(report.is_sound(), "{:?}", report.findings);
    };
    let db = Database::open(dir.path(), stepped_options()).unwrap();
    sound(&db);
    // The backfill runs again and the index is served.
    db.engine_table("orders")
        .unwrap()
        .run_pending_work()
        .unwrap();
    assert_eq!(read_all_of(&db, "orders", Some("by_sk")).len(), 5);
    sound(&db);
    drop(db);
    let db = Database::open(dir.path(), stepped_options()).unwrap();
    sound(&db);
    assert_eq!(read_all_of(&db, "orders", Some("by_sk")).len(), 5);
}
