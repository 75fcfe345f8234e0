//! Restores through the database: a backup taken under live writes restored into a new table
//! equals the backup's cut item for item; LSI queries equal a reference model at once when the
//! table is ACTIVE; GSI reads are refused while they backfill and equal the model (writes made
//! during the backfill included) once ACTIVE; the request rules (existing target, unknown or
//! CREATING backup, overrides that add indexes); point-in-time restores at chosen times;
//! restores of a backup directory by path; damaged backups refused leaving no table; the
//! restored table outlives a reopen.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss
)]

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use ddb_log::Clock;

use ddb_io::Io;
use ddb_model::ErrorKind;
use ddb_model::table::CreateTableInput;
use ddb_table::api::memory::MemoryTables;
use ddb_table::{Database, DatabaseOptions};
use serde_json::{Value, json};

const SRC: &str = "orders";

fn io() -> Arc<dyn Io> {
    ddb_io::select_backend(ddb_io::BackendChoice::from_env().unwrap()).unwrap()
}

fn options(io: Arc<dyn Io>) -> DatabaseOptions {
    let mut options = DatabaseOptions {
        io: Some(io),
        ..DatabaseOptions::default()
    };
    // Stepped: nothing runs until the test asks, so every intermediate state can be seen.
    options.table.background = false;
    options.table.snapshot_block_bytes = 4096;
    // Small sort buffers, so LSI builds and backfills spill.
    options.table.merge_memory_bytes = 256 << 10;
    options.backup.row_group_bytes = 16 << 10;
    options.backup.worker = false;
    options
}

fn definition(name: &str) -> Value {
    json!({
        "TableName": name,
        "AttributeDefinitions": [
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "N"},
            {"AttributeName": "at", "AttributeType": "N"},
            {"AttributeName": "rank", "AttributeType": "S"},
            {"AttributeName": "shop", "AttributeType": "S"},
            {"AttributeName": "city", "AttributeType": "S"},
            {"AttributeName": "amount", "AttributeType": "N"}
        ],
        "KeySchema": [
            {"AttributeName": "pk", "KeyType": "HASH"},
            {"AttributeName": "sk", "KeyType": "RANGE"}
        ],
        "LocalSecondaryIndexes": [
            {
                "IndexName": "by_at",
                "KeySchema": [
                    {"AttributeName": "pk", "KeyType": "HASH"},
                    {"AttributeName": "at", "KeyType": "RANGE"}
                ],
                "Projection": {"ProjectionType": "INCLUDE", "NonKeyAttributes": ["note"]}
            },
            {
                "IndexName": "by_rank",
                "KeySchema": [
                    {"AttributeName": "pk", "KeyType": "HASH"},
                    {"AttributeName": "rank", "KeyType": "RANGE"}
                ],
                "Projection": {"ProjectionType": "ALL"}
            }
        ],
        "GlobalSecondaryIndexes": [
            {
                "IndexName": "by_shop",
                "KeySchema": [{"AttributeName": "shop", "KeyType": "HASH"}],
                "Projection": {"ProjectionType": "KEYS_ONLY"},
                "ProvisionedThroughput": {"ReadCapacityUnits": 7, "WriteCapacityUnits": 3}
            },
            {
                "IndexName": "by_city",
                "KeySchema": [
                    {"AttributeName": "city", "KeyType": "HASH"},
                    {"AttributeName": "amount", "KeyType": "RANGE"}
                ],
                "Projection": {"ProjectionType": "ALL"},
                "ProvisionedThroughput": {"ReadCapacityUnits": 2, "WriteCapacityUnits": 2}
            }
        ],
        "ProvisionedThroughput": {"ReadCapacityUnits": 5, "WriteCapacityUnits": 4},
        "Tags": [{"Key": "team", "Value": "orders"}]
    })
}

/// A small deterministic generator (SplitMix64).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// A random item: sparse LSI (`rank`) and GSI (`shop`, `city`) keys, nested values.
fn item(rng: &mut Rng, pk: u64, sk: u64) -> Value {
    let mut item = json!({
        "pk": {"S": format!("user#{pk:03}")},
        "sk": {"N": sk.to_string()},
        "at": {"N": rng.below(500).to_string()},
        "note": {"S": "n".repeat(rng.below(40) as usize)},
        "extra": {"M": {"l": {"L": [{"N": rng.below(9).to_string()}, {"BOOL": true}]}}},
    });
    if rng.below(3) != 0 {
        item["rank"] = json!({"S": format!("r{}", rng.below(20))});
    }
    if rng.below(4) != 0 {
        item["shop"] = json!({"S": format!("shop{}", rng.below(6))});
    }
    if rng.below(2) == 0 {
        item["city"] = json!({"S": format!("c{}", rng.below(4))});
        item["amount"] = json!({"N": rng.below(1000).to_string()});
    }
    item
}

fn put(db: &Database, table: &str, item: &Value) {
    db.call("PutItem", &json!({"TableName": table, "Item": item}))
        .unwrap();
}

fn key(pk: u64, sk: u64) -> Value {
    json!({"pk": {"S": format!("user#{pk:03}")}, "sk": {"N": sk.to_string()}})
}

fn kind(result: ddb_model::Result<Value>) -> ErrorKind {
    result.unwrap_err().kind()
}

/// Every item of a table (a full scan through the request layer, paged).
fn scan_all(call: &dyn Fn(&Value) -> ddb_model::Result<Value>, table: &str) -> Vec<Value> {
    let mut out = Vec::new();
    let mut start: Option<Value> = None;
    loop {
        let mut request = json!({"TableName": table});
        if let Some(s) = &start {
            request["ExclusiveStartKey"] = s.clone();
        }
        let page = call(&request).unwrap();
        out.extend(page["Items"].as_array().unwrap().iter().cloned());
        match page.get("LastEvaluatedKey") {
            Some(k) => start = Some(k.clone()),
            None => break,
        }
    }
    out.sort_by_key(|i| {
        (
            i["pk"]["S"].as_str().unwrap().to_owned(),
            i["sk"]["N"].as_str().unwrap().parse::<u64>().unwrap(),
        )
    });
    out
}

/// Every page of a query, items concatenated.
fn query_all(
    call: &dyn Fn(&str, &Value) -> ddb_model::Result<Value>,
    request: &Value,
) -> ddb_model::Result<Vec<Value>> {
    let mut out = Vec::new();
    let mut request = request.clone();
    loop {
        let page = call("Query", &request)?;
        out.extend(page["Items"].as_array().unwrap().iter().cloned());
        match page.get("LastEvaluatedKey") {
            Some(k) => request["ExclusiveStartKey"] = k.clone(),
            None => return Ok(out),
        }
    }
}

/// A reference model of table `name` holding `items`.
fn model(name: &str, items: &[Value]) -> MemoryTables {
    let tables = MemoryTables::new();
    let mut def = definition(name);
    def.as_object_mut().unwrap().remove("Tags");
    let schema = CreateTableInput::from_json(&def.to_string())
        .unwrap()
        .validate()
        .unwrap();
    tables.create(name, schema);
    for item in items {
        ddb_table::api::data::dispatch(
            &tables,
            "PutItem",
            &json!({"TableName": name, "Item": item}),
        )
        .unwrap()
        .unwrap();
    }
    tables
}

fn model_call<'a>(
    tables: &'a MemoryTables,
) -> impl Fn(&str, &Value) -> ddb_model::Result<Value> + 'a {
    move |op, request| ddb_table::api::data::dispatch(tables, op, request).unwrap()
}

/// The queries compared between the restored table and the model.
fn index_queries(table: &str, index: &str) -> Vec<Value> {
    let mut out = Vec::new();
    match index {
        "by_at" | "by_rank" => {
            for pk in 0..12u64 {
                out.push(json!({
                    "TableName": table, "IndexName": index,
                    "KeyConditionExpression": "pk = :p",
                    "ExpressionAttributeValues": {":p": {"S": format!("user#{pk:03}")}},
                    "Limit": 7
                }));
                out.push(json!({
                    "TableName": table, "IndexName": index,
                    "KeyConditionExpression": "pk = :p",
                    "ExpressionAttributeValues": {":p": {"S": format!("user#{pk:03}")}},
                    "ScanIndexForward": false
                }));
            }
        }
        "by_shop" => {
            for shop in 0..6 {
                out.push(json!({
                    "TableName": table, "IndexName": index,
                    "KeyConditionExpression": "shop = :s",
                    "ExpressionAttributeValues": {":s": {"S": format!("shop{shop}")}}
                }));
            }
        }
        _ => {
            for city in 0..4 {
                out.push(json!({
                    "TableName": table, "IndexName": index,
                    "KeyConditionExpression": "city = :c AND amount BETWEEN :lo AND :hi",
                    "ExpressionAttributeValues": {":c": {"S": format!("c{city}")}, ":lo": {"N": "100"}, ":hi": {"N": "800"}}
                }));
            }
        }
    }
    out
}

fn assert_queries_equal(db: &Database, model: &MemoryTables, table: &str, index: &str) {
    let model = model_call(model);
    let engine = |op: &str, request: &Value| db.call(op, request);
    for request in index_queries(table, index) {
        let got = query_all(&engine, &request).unwrap();
        let want = query_all(&model, &request).unwrap();
        assert_eq!(got, want, "{request}");
    }
}

fn table_status(db: &Database, table: &str) -> Value {
    db.call("DescribeTable", &json!({"TableName": table}))
        .unwrap()["Table"]
        .clone()
}

/// Steps the restored table's background work until every GSI is ACTIVE.
fn finish_backfills(db: &Database, table: &str) {
    for _ in 0..10 {
        let description = table_status(db, table);
        let pending = description["GlobalSecondaryIndexes"]
            .as_array()
            .map_or(0, |g| {
                g.iter().filter(|g| g["IndexStatus"] != "ACTIVE").count()
            });
        if pending == 0 {
            return;
        }
        db.engine_table(table).unwrap().run_pending_work().unwrap();
    }
    panic!("backfills did not finish: {}", table_status(db, table));
}

/// The source loaded, checkpointed and written again; then a backup requested while a writer
/// thread keeps writing. Returns (backup ARN, the backup's items as the model sees them).
fn backup_under_writes(db: &Arc<Database>, rng: &mut Rng) -> (String, Vec<Value>) {
    db.call("CreateTable", &definition(SRC)).unwrap();
    for pk in 0..12 {
        for sk in 0..(rng.below(40) + 1) {
            put(db, SRC, &item(rng, pk, sk));
        }
    }
    db.checkpoint(SRC).unwrap();
    for _ in 0..150 {
        let (pk, sk) = (rng.below(12), rng.below(50));
        if rng.below(5) == 0 {
            db.call("DeleteItem", &json!({"TableName": SRC, "Key": key(pk, sk)}))
                .unwrap();
        } else {
            put(db, SRC, &item(rng, pk, sk));
        }
    }
    let stop = Arc::new(AtomicBool::new(false));
    let writer = {
        let (db, stop) = (Arc::clone(db), Arc::clone(&stop));
        let mut rng = Rng(rng.next());
        std::thread::spawn(move || {
            let mut n = 0;
            while !stop.load(Ordering::Relaxed) || n < 50 {
                let pk = rng.below(12);
                put(&db, SRC, &item(&mut rng, pk, 100 + n));
                n += 1;
            }
        })
    };
    let response = db
        .call(
            "CreateBackup",
            &json!({"TableName": SRC, "BackupName": "first"}),
        )
        .unwrap();
    stop.store(true, Ordering::Relaxed);
    writer.join().unwrap();
    let arn = response["BackupDetails"]["BackupArn"]
        .as_str()
        .unwrap()
        .to_owned();
    db.run_backup_jobs().unwrap();
    let entry = db.backup(&arn).unwrap();
    let reader = ddb_backup::BackupReader::open(Arc::clone(db.io()), &entry.dir).unwrap();
    let items: Vec<Value> = reader
        .rows()
        .map(|row| {
            let row = row.unwrap();
            let item: Value = serde_json::from_slice(&row.item).unwrap();
            item
        })
        .collect();
    assert!(!items.is_empty());
    (arn, items)
}

#[test]
fn restore_equals_the_cut_with_lsis_at_active_and_gsis_after_backfill() {
    let dir = tempfile::tempdir().unwrap();
    let db = Database::open(dir.path(), options(io())).unwrap();
    let mut rng = Rng(7);
    let (arn, items) = backup_under_writes(&db, &mut rng);

    let response = db
        .call(
            "RestoreTableFromBackup",
            &json!({"TargetTableName": "copy", "BackupArn": arn}),
        )
        .unwrap();
    let description = &response["TableDescription"];
    assert_eq!(description["TableStatus"], "CREATING");
    assert_eq!(description["RestoreSummary"]["RestoreInProgress"], true);
    assert_eq!(
        description["RestoreSummary"]["SourceBackupArn"],
        arn.as_str()
    );
    let backup = db.backup(&arn).unwrap();
    assert_eq!(
        description["RestoreSummary"]["RestoreDateTime"]
            .as_f64()
            .unwrap(),
        backup.marker_time_ms as f64 / 1000.0
    );
    assert!(description.get("Tags").is_none());
    // Not readable, not writable until ACTIVE; the backup cannot be deleted meanwhile.
    assert_eq!(
        kind(db.call("GetItem", &json!({"TableName": "copy", "Key": key(0, 0)}))),
        ErrorKind::ResourceNotFound
    );
    assert_eq!(
        kind(db.call("PutItem", &json!({"TableName": "copy", "Item": key(0, 0)}))),
        ErrorKind::ResourceNotFound
    );
    assert_eq!(
        kind(db.call("DeleteBackup", &json!({"BackupArn": arn}))),
        ErrorKind::BackupInUse
    );
    assert_eq!(
        kind(db.call(
            "RestoreTableFromBackup",
            &json!({"TargetTableName": "copy", "BackupArn": arn})
        )),
        ErrorKind::TableAlreadyExists
    );

    db.run_restore_jobs().unwrap();
    let description = table_status(&db, "copy");
    assert_eq!(description["TableStatus"], "ACTIVE");
    assert_eq!(description["RestoreSummary"]["RestoreInProgress"], false);
    assert_eq!(description["ItemCount"], items.len());
    assert_eq!(description["ProvisionedThroughput"]["ReadCapacityUnits"], 5);
    for gsi in description["GlobalSecondaryIndexes"].as_array().unwrap() {
        assert_eq!(gsi["IndexStatus"], "CREATING", "{gsi}");
        assert_eq!(gsi["Backfilling"], true, "{gsi}");
    }

    // Every item equals the cut.
    let engine_scan = |request: &Value| db.call("Scan", request);
    let mut want = items.clone();
    want.sort_by_key(|i| {
        (
            i["pk"]["S"].as_str().unwrap().to_owned(),
            i["sk"]["N"].as_str().unwrap().parse::<u64>().unwrap(),
        )
    });
    assert_eq!(scan_all(&engine_scan, "copy"), want);

    // LSIs are consistent at ACTIVE.
    let mut reference = model("copy", &items);
    for index in ["by_at", "by_rank"] {
        assert_queries_equal(&db, &reference, "copy", index);
    }
    // GSIs refuse reads while they backfill.
    let refused = db
        .call(
            "Query",
            &json!({"TableName": "copy", "IndexName": "by_shop",
                    "KeyConditionExpression": "shop = :s",
                    "ExpressionAttributeValues": {":s": {"S": "shop1"}}}),
        )
        .unwrap_err();
    assert_eq!(refused.kind(), ErrorKind::Validation);
    assert_eq!(
        refused.message(),
        "Cannot read from backfilling global secondary index: by_shop"
    );

    // Writes during the backfill are accepted and end up in the indexes.
    let mut extra = Vec::new();
    for n in 0..40 {
        let pk = rng.below(12);
        let it = item(&mut rng, pk, 500 + n);
        put(&db, "copy", &it);
        extra.push(it);
    }
    for (pk, sk) in [(0, 0), (1, 1), (2, 2), (3, 3)] {
        db.call(
            "DeleteItem",
            &json!({"TableName": "copy", "Key": key(pk, sk)}),
        )
        .unwrap();
        ddb_table::api::data::dispatch(
            &reference,
            "DeleteItem",
            &json!({"TableName": "copy", "Key": key(pk, sk)}),
        )
        .unwrap()
        .unwrap();
    }
    for it in &extra {
        ddb_table::api::data::dispatch(
            &reference,
            "PutItem",
            &json!({"TableName": "copy", "Item": it}),
        )
        .unwrap()
        .unwrap();
    }
    finish_backfills(&db, "copy");
    for index in ["by_at", "by_rank", "by_shop", "by_city"] {
        assert_queries_equal(&db, &reference, "copy", index);
    }
    // The backup can go now; the restored table stays, and survives a reopen.
    db.call("DeleteBackup", &json!({"BackupArn": arn})).unwrap();
    drop(db);
    let db = Database::open(dir.path(), options(io())).unwrap();
    for index in ["by_at", "by_rank", "by_shop", "by_city"] {
        assert_queries_equal(&db, &reference, "copy", index);
    }
    reference = model("copy", &scan_all(&|r: &Value| db.call("Scan", r), "copy"));
    assert_eq!(reference.get("copy").unwrap().len(), items.len() + 40 - 4);
}

#[test]
fn request_rules_and_overrides() {
    let dir = tempfile::tempdir().unwrap();
    let db = Database::open(dir.path(), options(io())).unwrap();
    let mut rng = Rng(11);
    let (arn, items) = backup_under_writes(&db, &mut rng);
    let restore = |request: Value| db.call("RestoreTableFromBackup", &request);
    assert_eq!(
        kind(restore(json!({"TargetTableName": SRC, "BackupArn": arn}))),
        ErrorKind::TableAlreadyExists
    );
    let unknown = format!("{}0", &arn[..arn.len() - 1]);
    assert_eq!(
        kind(restore(
            json!({"TargetTableName": "xone", "BackupArn": unknown})
        )),
        ErrorKind::BackupNotFound
    );
    // An override may drop indexes, never add or change them.
    let added = restore(json!({"TargetTableName": "xone", "BackupArn": arn,
    "GlobalSecondaryIndexOverride": [{
        "IndexName": "new_one",
        "KeySchema": [{"AttributeName": "shop", "KeyType": "HASH"}],
        "Projection": {"ProjectionType": "ALL"},
        "ProvisionedThroughput": {"ReadCapacityUnits": 1, "WriteCapacityUnits": 1}
    }]}));
    assert_eq!(kind(added), ErrorKind::Validation);
    let changed = restore(json!({"TargetTableName": "xone", "BackupArn": arn,
    "LocalSecondaryIndexOverride": [{
        "IndexName": "by_at",
        "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "at", "KeyType": "RANGE"}],
        "Projection": {"ProjectionType": "ALL"}
    }]}));
    assert_eq!(kind(changed), ErrorKind::Validation);
    assert!(
        db.call("DescribeTable", &json!({"TableName": "xone"}))
            .is_err()
    );

    // A backup still CREATING cannot be restored.
    let pending = db
        .call(
            "CreateBackup",
            &json!({"TableName": SRC, "BackupName": "second"}),
        )
        .unwrap();
    let pending_arn = pending["BackupDetails"]["BackupArn"].as_str().unwrap();
    assert_eq!(
        kind(restore(
            json!({"TargetTableName": "xone", "BackupArn": pending_arn})
        )),
        ErrorKind::BackupInUse
    );

    // Drop every GSI and one LSI, on-demand billing, tags re-applied.
    let response = restore(json!({"TargetTableName": "slim", "BackupArn": arn,
        "GlobalSecondaryIndexOverride": [],
        "LocalSecondaryIndexOverride": [{
            "IndexName": "by_rank",
            "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "rank", "KeyType": "RANGE"}],
            "Projection": {"ProjectionType": "ALL"}
        }],
        "BillingModeOverride": "PAY_PER_REQUEST",
        "ReapplyTags": true}))
    .unwrap();
    assert!(
        response["TableDescription"]
            .get("GlobalSecondaryIndexes")
            .is_none()
    );
    db.run_restore_jobs().unwrap();
    let description = table_status(&db, "slim");
    assert_eq!(description["TableStatus"], "ACTIVE");
    assert_eq!(
        description["BillingModeSummary"]["BillingMode"],
        "PAY_PER_REQUEST"
    );
    assert_eq!(
        description["LocalSecondaryIndexes"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    let mut names: Vec<&str> = description["AttributeDefinitions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["AttributeName"].as_str().unwrap())
        .collect();
    names.sort_unstable();
    assert_eq!(names, ["pk", "rank", "sk"]);
    assert_eq!(description["ItemCount"], items.len());
    let reference = model("slim", &items);
    assert_queries_equal(&db, &reference, "slim", "by_rank");
    // The re-applied tags are the table's: a backup of it records them (the full restore
    // above dropped them).
    let tags_of = |table: &str| {
        let response = db
            .call(
                "CreateBackup",
                &json!({"TableName": table, "BackupName": format!("{table}-tags")}),
            )
            .unwrap();
        let arn = response["BackupDetails"]["BackupArn"]
            .as_str()
            .unwrap()
            .to_owned();
        db.backup(&arn).unwrap().source_table["Tags"].clone()
    };
    assert_eq!(tags_of("slim"), json!([{"Key": "team", "Value": "orders"}]));
    db.call(
        "RestoreTableFromBackup",
        &json!({"TargetTableName": "plain", "BackupArn": arn}),
    )
    .unwrap();
    db.run_restore_jobs().unwrap();
    assert_eq!(tags_of("plain"), json!([]));
}

#[test]
fn a_copied_backup_directory_restores_by_path_and_damage_leaves_no_table() {
    let dir = tempfile::tempdir().unwrap();
    let db = Database::open(dir.path(), options(io())).unwrap();
    let mut rng = Rng(5);
    let (arn, items) = backup_under_writes(&db, &mut rng);
    let source = db.backup(&arn).unwrap().dir;
    let copy = tempfile::tempdir().unwrap();
    copy_dir(&source, copy.path());

    // By path, in another database.
    let other_dir = tempfile::tempdir().unwrap();
    let other = Database::open(other_dir.path(), options(io())).unwrap();
    let path = copy.path().to_str().unwrap();
    other
        .call(
            "RestoreTableFromBackup",
            &json!({"TargetTableName": "moved", "BackupArn": path}),
        )
        .unwrap();
    other.run_restore_jobs().unwrap();
    assert_eq!(table_status(&other, "moved")["ItemCount"], items.len());
    let reference = model("moved", &items);
    assert_queries_equal(&other, &reference, "moved", "by_at");

    // One flipped byte in an artifact: the restore fails and leaves no table behind.
    let artifact = std::fs::read_dir(copy.path().join("data"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|e| e == "parquet"))
        .unwrap();
    let mut bytes = std::fs::read(&artifact).unwrap();
    let at = bytes.len() / 2;
    bytes[at] ^= 0x40;
    std::fs::write(&artifact, &bytes).unwrap();
    other
        .call(
            "RestoreTableFromBackup",
            &json!({"TargetTableName": "broken", "BackupArn": path}),
        )
        .unwrap();
    assert!(other.run_restore_jobs().is_err());
    assert_eq!(
        kind(other.call("DescribeTable", &json!({"TableName": "broken"}))),
        ErrorKind::ResourceNotFound
    );
    let failure = other.restore_failure("broken").unwrap();
    assert!(failure.contains("damaged"), "{failure}");
    // Only the good table's directory is left.
    assert_eq!(
        std::fs::read_dir(other_dir.path().join("tables"))
            .unwrap()
            .count(),
        1
    );
}

/// A table's items by (pk, sk).
type Items = BTreeMap<(u64, u64), Value>;

#[derive(Debug)]
struct TestClock(AtomicU64);

impl ddb_log::Clock for TestClock {
    fn now_us(&self) -> u64 {
        self.0.load(Ordering::SeqCst)
    }
}

impl TestClock {
    fn advance_us(&self, us: u64) {
        self.0.fetch_add(us, Ordering::SeqCst);
    }
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

#[test]
fn point_in_time_restores_equal_the_model_at_each_time() {
    let dir = tempfile::tempdir().unwrap();
    // Commit times from a stepped clock that starts after PITR is enabled (the window starts at
    // the real time of enabling).
    let now_us = ddb_log::SystemClock.now_us();
    let clock = Arc::new(TestClock(AtomicU64::new(now_us + 5_000_000)));
    let mut opts = options(io());
    opts.table.clock = Arc::clone(&clock) as Arc<dyn ddb_log::Clock>;
    let db = Database::open(dir.path(), opts).unwrap();
    db.call("CreateTable", &definition(SRC)).unwrap();
    assert_eq!(
        kind(db.call(
            "RestoreTableToPointInTime",
            &json!({"SourceTableName": SRC, "TargetTableName": "pitr0", "UseLatestRestorableTime": true})
        )),
        ErrorKind::PointInTimeRecoveryUnavailable
    );
    db.call(
        "UpdateContinuousBackups",
        &json!({"TableName": SRC, "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": true}}),
    )
    .unwrap();
    let mut rng = Rng(3);
    // (commit time µs, the items at that time), after each write.
    let mut history: Vec<(u64, Items)> = Vec::new();
    let mut state = BTreeMap::new();
    for step in 0..120u64 {
        // Several writes share a second; some share a millisecond.
        clock.advance_us(if step % 10 == 0 { 1_000_000 } else { 1_700 });
        let (pk, sk) = (rng.below(6), rng.below(15));
        if rng.below(5) == 0 {
            db.call("DeleteItem", &json!({"TableName": SRC, "Key": key(pk, sk)}))
                .unwrap();
            state.remove(&(pk, sk));
        } else {
            let it = item(&mut rng, pk, sk);
            put(&db, SRC, &it);
            state.insert((pk, sk), it);
        }
        if step == 60 {
            db.checkpoint(SRC).unwrap();
        }
        history.push((clock.now_us(), state.clone()));
    }
    let window = db
        .call("DescribeContinuousBackups", &json!({"TableName": SRC}))
        .unwrap();
    let pitr = &window["ContinuousBackupsDescription"]["PointInTimeRecoveryDescription"];
    let earliest = pitr["EarliestRestorableDateTime"].as_f64().unwrap();
    let latest = pitr["LatestRestorableDateTime"].as_f64().unwrap();
    // Outside the window.
    for outside in [earliest - 10.0, latest + 10.0] {
        assert_eq!(
            kind(db.call(
                "RestoreTableToPointInTime",
                &json!({"SourceTableName": SRC, "TargetTableName": "pitrx", "RestoreDateTime": outside})
            )),
            ErrorKind::InvalidRestoreTime
        );
    }
    // Times after chosen writes, between two writes 1.7 ms apart in the same second, and the
    // window's edges.
    let mut cases: Vec<(f64, Items)> = Vec::new();
    for i in [0usize, 5, 33, 59, 60, 61, 90, 118] {
        let (t, s) = &history[i];
        cases.push(((*t + 800) as f64 / 1e6, s.clone()));
    }
    let (t, s) = history.last().unwrap();
    cases.push((*t as f64 / 1e6, s.clone()));
    cases.push((earliest, BTreeMap::new()));
    cases.push((latest, history.last().unwrap().1.clone()));
    for (n, (time, expected)) in cases.iter().enumerate() {
        let target = format!("pitr{n}");
        let response = db
            .call(
                "RestoreTableToPointInTime",
                &json!({"SourceTableName": SRC, "TargetTableName": target, "RestoreDateTime": time}),
            )
            .unwrap();
        assert_eq!(response["TableDescription"]["TableStatus"], "CREATING");
        db.run_restore_jobs().unwrap();
        let got = scan_all(&|r: &Value| db.call("Scan", r), &target);
        let want: Vec<Value> = expected.values().cloned().collect();
        assert_eq!(got.len(), want.len(), "case {n} at {time}");
        let want_model = model(&target, &want);
        assert_eq!(
            got,
            scan_all(&|r: &Value| model_call(&want_model)("Scan", r), &target),
            "case {n}"
        );
        assert_queries_equal(&db, &want_model, &target, "by_at");
    }
    let latest_restore = db
        .call(
            "RestoreTableToPointInTime",
            &json!({"SourceTableName": SRC, "TargetTableName": "plast", "UseLatestRestorableTime": true}),
        )
        .unwrap();
    assert_eq!(
        latest_restore["TableDescription"]["RestoreSummary"]["SourceTableArn"],
        table_status(&db, SRC)["TableArn"]
    );
    db.run_restore_jobs().unwrap();
    assert_eq!(
        table_status(&db, "plast")["ItemCount"],
        history.last().unwrap().1.len()
    );
}
