//! Helpers of the restore tests (`restore.rs`, `restore_pitr.rs`): options, the source
//! table, a random item generator, the reference model and the query comparisons.
#![allow(dead_code, unused_imports)]

pub use std::collections::BTreeMap;
pub use std::path::Path;
pub use std::sync::Arc;
pub use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

pub use ddb_log::Clock;

pub use ddb_io::Io;
pub use ddb_model::ErrorKind;
pub use ddb_model::table::CreateTableInput;
pub use ddb_table::api::memory::MemoryTables;
pub use ddb_table::{Database, DatabaseOptions};
pub use serde_json::{Value, json};

pub const SRC: &str = "orders";

/// Items by (pk, sk).
pub type State = BTreeMap<(u64, u64), Value>;

pub fn io() -> Arc<dyn Io> {
    ddb_io::select_backend(ddb_io::BackendChoice::from_env().unwrap()).unwrap()
}

pub fn options(io: Arc<dyn Io>) -> DatabaseOptions {
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

pub fn definition(name: &str) -> Value {
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
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// A random item: sparse LSI (`rank`) and GSI (`shop`, `city`) keys, nested values.
pub fn item(rng: &mut Rng, pk: u64, sk: u64) -> Value {
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

pub fn put(db: &Database, table: &str, item: &Value) {
    db.call("PutItem", &json!({"TableName": table, "Item": item}))
        .unwrap();
}

pub fn key(pk: u64, sk: u64) -> Value {
    json!({"pk": {"S": format!("user#{pk:03}")}, "sk": {"N": sk.to_string()}})
}

pub fn kind(result: ddb_model::Result<Value>) -> ErrorKind {
    result.unwrap_err().kind()
}

/// Every item of a table (a full scan through the request layer, paged).
pub fn scan_all(call: &dyn Fn(&Value) -> ddb_model::Result<Value>, table: &str) -> Vec<Value> {
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
pub fn query_all(
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
pub fn model(name: &str, items: &[Value]) -> MemoryTables {
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

pub fn model_call<'a>(
    tables: &'a MemoryTables,
) -> impl Fn(&str, &Value) -> ddb_model::Result<Value> + 'a {
    move |op, request| ddb_table::api::data::dispatch(tables, op, request).unwrap()
}

/// The queries compared between the restored table and the model.
pub fn index_queries(table: &str, index: &str) -> Vec<Value> {
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

pub fn assert_queries_equal(db: &Database, model: &MemoryTables, table: &str, index: &str) {
    let model = model_call(model);
    let engine = |op: &str, request: &Value| db.call(op, request);
    for request in index_queries(table, index) {
        let got = query_all(&engine, &request).unwrap();
        let want = query_all(&model, &request).unwrap();
        assert_eq!(got, want, "{request}");
    }
}

pub fn table_status(db: &Database, table: &str) -> Value {
    db.call("DescribeTable", &json!({"TableName": table}))
        .unwrap()["Table"]
        .clone()
}

/// Steps the restored table's background work until every GSI is ACTIVE.
pub fn finish_backfills(db: &Database, table: &str) {
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
pub fn backup_under_writes(db: &Arc<Database>, rng: &mut Rng) -> (String, Vec<Value>) {
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
