//! Table stage: the engine behind the request layer, on the orders of the end-to-end workload
//! (~480-byte items, `ddb_bench::table`). Real files and fsyncs in `$DDB_BENCH_DIR` or a tempdir.
//! - `put_item`: PutItem through `Database::call` (the whole request path), one writer, on tables
//!   with no index, 2 LSIs and 2 GSIs; one item per call (the default group durability: one
//!   fsync per acknowledged write) and BatchWriteItem of 25; items/s, per backend. GSI runs
//!   include waiting for the applier to catch up, so the figure is sustained throughput.
//! - `query`: point Query on the table, an LSI and a GSI, and GetItem, on a checkpointed table
//!   of 100,000 orders plus 5,000 in the memtable (reads merge snapshot and memtable).
//! - `load`: `TableStore::apply_batch` in batches of 4,096 (what `ddbfmt load` does) into a new
//!   table; items/s (the item bytes are printed, for MB/s).
//! - `checkpoint`: the first checkpoint of a table of `$DDB_BENCH_CHECKPOINT_ITEMS` orders
//!   (default 200,000) loaded into the memtable; rows/s.
//!
//! GSI backfill is too slow for a criterion loop: `examples/backfill.rs`.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::cast_possible_truncation
)]

use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{
    BenchmarkId, Criterion, SamplingMode, Throughput, criterion_group, criterion_main,
};
use ddb_bench::table::{self, Indexes, TABLE};
use ddb_io::Io;
use ddb_table::{Database, DatabaseOptions, WaitFor};
use serde_json::{Value, json};

/// Users the orders are spread over: about 8 orders a user at 1 M orders.
const USERS: u64 = 125_000;
const WAIT: Duration = Duration::from_secs(600);

/// A database in a new directory with one [`TABLE`]. A memtable budget of `None` keeps the
/// engine's default; a large one keeps background checkpoints out of a measurement.
fn database(
    io: &Arc<dyn Io>,
    indexes: Indexes,
    memtable_budget_bytes: Option<usize>,
) -> (tempfile::TempDir, Arc<Database>) {
    let dir = ddb_bench::bench_dir().unwrap();
    let mut options = DatabaseOptions {
        io: Some(Arc::clone(io)),
        ..DatabaseOptions::default()
    };
    if let Some(budget) = memtable_budget_bytes {
        options.table.memtable_budget_bytes = budget;
    }
    let db = Database::open(dir.path(), options).unwrap();
    table::create_table(&db, indexes).unwrap();
    (dir, db)
}

fn caught_up(db: &Database) {
    assert!(
        db.wait(
            &WaitFor::GsiCaughtUp {
                table: TABLE.into()
            },
            WAIT
        )
        .unwrap()
    );
}

fn put_item(c: &mut Criterion) {
    let measuring = ddb_bench::measuring();
    // Items per iteration: one fsync each for PutItem, one per 25 for BatchWriteItem.
    let (single, batched) = if measuring {
        (200u64, 2_500u64)
    } else {
        (5, 50)
    };
    let mut group = c.benchmark_group("table/put_item");
    group.sample_size(10);
    group.warm_up_time(Duration::from_secs(1));
    for io in ddb_bench::backends("table benches") {
        for indexes in Indexes::WRITES {
            for batch in [1usize, 25] {
                let (_dir, db) = database(&io, indexes, None);
                let items = if batch == 1 { single } else { batched };
                let mut next = 0u64;
                group.throughput(Throughput::Elements(items));
                let name = if batch == 1 {
                    "PutItem"
                } else {
                    "BatchWriteItem_25"
                };
                group.bench_function(
                    BenchmarkId::new(format!("{}/{}", io.name(), indexes.name()), name),
                    |b| {
                        b.iter_custom(|iterations| {
                            let mut total = Duration::ZERO;
                            for _ in 0..iterations {
                                let orders: Vec<Value> = (next..next + items)
                                    .map(|i| table::order_json(i, USERS))
                                    .collect();
                                next += items;
                                let requests: Vec<Value> = if batch == 1 {
                                    orders
                                        .into_iter()
                                        .map(|item| json!({"TableName": TABLE, "Item": item}))
                                        .collect()
                                } else {
                                    orders
                                        .chunks(batch)
                                        .map(|chunk| {
                                            let puts: Vec<Value> = chunk
                                                .iter()
                                                .map(|item| json!({"PutRequest": {"Item": item}}))
                                                .collect();
                                            json!({"RequestItems": {TABLE: puts}})
                                        })
                                        .collect()
                                };
                                let operation = if batch == 1 {
                                    "PutItem"
                                } else {
                                    "BatchWriteItem"
                                };
                                let started = Instant::now();
                                for request in &requests {
                                    black_box(db.call(operation, request).unwrap());
                                }
                                if indexes == Indexes::TwoGsis {
                                    caught_up(&db);
                                }
                                total += started.elapsed();
                            }
                            total
                        })
                    },
                );
            }
        }
    }
    group.finish();
}

/// Requests for point reads of order `i`: a Query on the table, on the LSI `by_updated`, on the
/// GSI `by_merchant` (orders without a merchant are skipped there), and GetItem.
fn point_reads(i: u64) -> [(&'static str, Option<Value>); 4] {
    let order = table::order_json(i, USERS);
    let (pk, sk, at) = (&order["pk"], &order["sk"], &order["updated_at"]);
    let gsi = order.get("merchant_id").map(|merchant| {
        json!({
            "TableName": TABLE, "IndexName": "by_merchant",
            "KeyConditionExpression": "merchant_id = :m AND updated_at = :t",
            "ExpressionAttributeValues": {":m": merchant, ":t": at}
        })
    });
    [
        (
            "table",
            Some(json!({
                "TableName": TABLE,
                "KeyConditionExpression": "pk = :p AND sk = :s",
                "ExpressionAttributeValues": {":p": pk, ":s": sk}
            })),
        ),
        (
            "lsi",
            Some(json!({
                "TableName": TABLE, "IndexName": "by_updated",
                "KeyConditionExpression": "pk = :p AND updated_at = :t",
                "ExpressionAttributeValues": {":p": pk, ":t": at}
            })),
        ),
        ("gsi", gsi),
        (
            "get_item",
            Some(json!({"TableName": TABLE, "Key": {"pk": pk, "sk": sk}})),
        ),
    ]
}

fn query(c: &mut Criterion) {
    let (snapshot_items, memtable_items) = if ddb_bench::measuring() {
        (100_000u64, 5_000u64)
    } else {
        (400, 20)
    };
    let io: Arc<dyn Io> = Arc::new(ddb_io::StdIo::new());
    let (_dir, db) = database(&io, Indexes::All, Some(usize::MAX / 2));
    table::load(&db, 0..snapshot_items, USERS).unwrap();
    caught_up(&db);
    db.checkpoint(TABLE).unwrap();
    table::load(&db, snapshot_items..snapshot_items + memtable_items, USERS).unwrap();
    caught_up(&db);
    // 512 orders spread over the table, 1 in 21 from the memtable.
    let total = snapshot_items + memtable_items;
    let targets: Vec<u64> = (0..512u64).map(|n| n * 7_919 % total).collect();
    let mut group = c.benchmark_group("table/query_point");
    group.warm_up_time(Duration::from_secs(1));
    for (slot, name) in ["table", "lsi", "gsi", "get_item"].into_iter().enumerate() {
        let requests: Vec<Value> = targets
            .iter()
            .filter_map(|&i| point_reads(i)[slot].1.clone())
            .collect();
        let operation = if name == "get_item" {
            "GetItem"
        } else {
            "Query"
        };
        let mut next = 0usize;
        group.bench_function(name, |b| {
            b.iter(|| {
                let request = &requests[next % requests.len()];
                next += 1;
                let response = db.call(operation, request).unwrap();
                let found = if operation == "GetItem" {
                    usize::from(response.get("Item").is_some())
                } else {
                    response["Count"].as_u64().unwrap() as usize
                };
                assert_eq!(found, 1, "{request}");
                black_box(response)
            })
        });
    }
    group.finish();
}

fn load(c: &mut Criterion) {
    let items = ddb_bench::count_from_env("DDB_BENCH_LOAD_ITEMS", 100_000, 500).unwrap();
    let mut group = c.benchmark_group("table/load_apply_batch_4096");
    group.sample_size(10);
    group.sampling_mode(SamplingMode::Flat);
    group.warm_up_time(Duration::from_secs(1));
    group.throughput(Throughput::Elements(items));
    let mut printed = false;
    for io in ddb_bench::backends("table benches") {
        for indexes in Indexes::WRITES {
            group.bench_function(BenchmarkId::new(io.name(), indexes.name()), |b| {
                b.iter_custom(|iterations| {
                    let mut total = Duration::ZERO;
                    for _ in 0..iterations {
                        let (dir, db) = database(&io, indexes, Some(usize::MAX / 2));
                        let loaded = table::load(&db, 0..items, USERS).unwrap();
                        let started = Instant::now();
                        if indexes == Indexes::TwoGsis {
                            caught_up(&db);
                        }
                        total += loaded.apply + started.elapsed();
                        if !printed {
                            eprintln!(
                                "load: {} items, {} bytes of canonical item JSON ({} a item)",
                                loaded.items,
                                loaded.bytes,
                                loaded.bytes / loaded.items.max(1)
                            );
                            printed = true;
                        }
                        drop(db);
                        drop(dir);
                    }
                    total
                })
            });
        }
    }
    group.finish();
}

fn checkpoint(c: &mut Criterion) {
    let items = ddb_bench::count_from_env("DDB_BENCH_CHECKPOINT_ITEMS", 200_000, 500).unwrap();
    let io: Arc<dyn Io> = Arc::new(ddb_io::StdIo::new());
    let mut group = c.benchmark_group("table/checkpoint_first");
    group.sample_size(10);
    group.sampling_mode(SamplingMode::Flat);
    group.warm_up_time(Duration::from_secs(1));
    group.throughput(Throughput::Elements(items));
    for indexes in [Indexes::None, Indexes::All] {
        group.bench_function(indexes.name(), |b| {
            b.iter_custom(|iterations| {
                let mut total = Duration::ZERO;
                for _ in 0..iterations {
                    let (dir, db) = database(&io, indexes, Some(usize::MAX / 2));
                    table::load(&db, 0..items, USERS).unwrap();
                    if indexes == Indexes::All {
                        caught_up(&db);
                    }
                    let started = Instant::now();
                    let report = db.checkpoint(TABLE).unwrap();
                    total += started.elapsed();
                    assert_eq!(report.rows, items);
                    drop(db);
                    drop(dir);
                }
                total
            })
        });
    }
    group.finish();
}

criterion_group!(benches, put_item, query, load, checkpoint);
criterion_main!(benches);
