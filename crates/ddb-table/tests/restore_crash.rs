//! Crash safety of restores on the simulated disk. A source table with two LSIs and two GSIs
//! (both sparse, one KEYS_ONLY), PITR on, a checkpoint and a log tail, and an AVAILABLE backup
//! of it are made outside the crash window. Then a restore — RestoreTableFromBackup of that
//! backup, or RestoreTableToPointInTime at the latest restorable time — is requested, its job
//! run and the restored table's GSI backfills stepped to ACTIVE, and the power is cut after `n`
//! disk operations of that, in clean, torn and torn-with-dir-ops crashes, some with a second
//! cut during recovery (which reruns the job). After each crash the reopened database:
//! - has no target table only if the request was not acknowledged; a CREATING target is an
//!   unfinished restore (reads refused); an ACTIVE target holds exactly the source's rows (the
//!   backup's, or the source's at the request), its LSIs equal a reference model at once, and
//!   each GSI is either ACTIVE and equal to the model or still backfilling (reads refused);
//! - holds table directories only for tables the catalog lists;
//! - after the pending restore jobs and backfills ran: the target (if it exists) is ACTIVE,
//!   exact, every index equal to the model; the backup is no longer pinned, the source's hold
//!   is released, and the source still holds its rows.
//!
//! Every operation of the window is a crash point by default (all three modes). A larger
//! stride for a quicker run: `DDB_CRASH_STRIDE=<k>` (every k-th point, plus the last ones).
//! Replay one point with `DDB_SIM_SEED=<seed> DDB_CRASH_KIND=<backup|pitr> DDB_CRASH_POINT=<n>
//! DDB_CRASH_MODE=<mode> [DDB_CRASH_RECOVERY_POINT=<m>]`.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::cast_possible_truncation
)]

#[path = "crash/fence.rs"]
mod fence;

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::Arc;

use ddb_io::Io;
use ddb_io::sim::{CrashOptions, SimIo, seed_from_env};
use ddb_model::ErrorKind;
use ddb_model::table::CreateTableInput;
use ddb_table::api::memory::MemoryTables;
use ddb_table::table::TableConfig;
use ddb_table::{Database, DatabaseOptions};
use fence::Fenced;
use serde_json::{Value, json};

type Mode = (&'static str, fn() -> CrashOptions);
const MODES: [Mode; 3] = [
    ("clean", CrashOptions::clean),
    ("torn", CrashOptions::torn),
    ("dirops", CrashOptions::torn_with_dir_ops),
];
const SRC: &str = "orders";
const TARGET: &str = "copy";
const LSIS: [&str; 2] = ["by_at", "by_rank"];
const GSIS: [&str; 2] = ["by_shop", "by_city"];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Backup,
    Pitr,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Backup => "backup",
            Kind::Pitr => "pitr",
        }
    }
}

fn options(io: Arc<dyn Io>) -> DatabaseOptions {
    let mut options = DatabaseOptions {
        io: Some(io),
        read_only: false,
        table: TableConfig {
            background: false,
            memtable_budget_bytes: 1 << 30,
            snapshot_block_bytes: 4096,
            log_segment_bytes: 8 << 10,
            // Small LSI sort budgets, so the load spills; one decoder, so the run replays.
            merge_memory_bytes: 48 << 10,
            merge_partitions: 1,
            ..TableConfig::default()
        },
        backup: ddb_table::backups::BackupOptions {
            row_group_bytes: 2 << 10,
            artifact_bytes: 8 << 10,
            ..ddb_table::backups::BackupOptions::default()
        },
    };
    options.backup.worker = false;
    options
}

fn open(dir: &Path, sim: &SimIo) -> ddb_table::Result<Arc<Database>> {
    Database::open(dir, options(Arc::new(Fenced::new(sim))))
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
                "Projection": {"ProjectionType": "KEYS_ONLY"}
            },
            {
                "IndexName": "by_city",
                "KeySchema": [
                    {"AttributeName": "city", "KeyType": "HASH"},
                    {"AttributeName": "amount", "KeyType": "RANGE"}
                ],
                "Projection": {"ProjectionType": "ALL"}
            }
        ],
        "BillingMode": "PAY_PER_REQUEST"
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

const PARTITIONS: u64 = 8;

/// A random item: sparse LSI (`rank`) and GSI (`shop`, `city`) keys.
fn item(rng: &mut Rng, pk: u64, sk: u64) -> Value {
    let mut item = json!({
        "pk": {"S": format!("user#{pk:03}")},
        "sk": {"N": sk.to_string()},
        "at": {"N": rng.below(500).to_string()},
        "note": {"S": "n".repeat(rng.below(60) as usize)},
        "extra": {"L": [{"N": rng.below(9).to_string()}, {"BOOL": true}]},
    });
    if rng.below(3) != 0 {
        item["rank"] = json!({"S": format!("r{}", rng.below(20))});
    }
    if rng.below(3) == 0 {
        item["shop"] = json!({"S": format!("shop{}", rng.below(5))});
    }
    if rng.below(2) == 0 {
        item["city"] = json!({"S": format!("c{}", rng.below(4))});
        item["amount"] = json!({"N": rng.below(1000).to_string()});
    }
    item
}

fn key(pk: u64, sk: u64) -> Value {
    json!({"pk": {"S": format!("user#{pk:03}")}, "sk": {"N": sk.to_string()}})
}

/// What the crash window restores, made outside it.
struct Source {
    backup_arn: String,
    /// The source's rows at the request (the backup's, which is the same: no write after it).
    items: Vec<Value>,
}

/// The source table (PITR on before its first write), 180 items, a checkpoint, 90 more
/// changes, and a backup run to AVAILABLE.
fn setup(db: &Database) -> Source {
    db.call("CreateTable", &definition(SRC)).unwrap();
    db.call(
        "UpdateContinuousBackups",
        &json!({"TableName": SRC,
                "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": true}}),
    )
    .unwrap();
    let mut rng = Rng(0x5eed);
    let put = |item: Value| {
        db.call("PutItem", &json!({"TableName": SRC, "Item": item}))
            .unwrap();
    };
    for n in 0..180 {
        let pk = n % PARTITIONS;
        put(item(&mut rng, pk, n / PARTITIONS));
    }
    db.checkpoint(SRC).unwrap();
    for _ in 0..90 {
        let (pk, sk) = (rng.below(PARTITIONS), rng.below(30));
        if rng.below(4) == 0 {
            db.call("DeleteItem", &json!({"TableName": SRC, "Key": key(pk, sk)}))
                .unwrap();
        } else {
            put(item(&mut rng, pk, sk));
        }
    }
    let response = db
        .call(
            "CreateBackup",
            &json!({"TableName": SRC, "BackupName": "before-restore"}),
        )
        .unwrap();
    let backup_arn = response["BackupDetails"]["BackupArn"]
        .as_str()
        .unwrap()
        .to_owned();
    db.run_backup_jobs().unwrap();
    let entry = db.backup(&backup_arn).unwrap();
    let reader = ddb_backup::BackupReader::open(Arc::clone(db.io()), &entry.dir).unwrap();
    let mut items: Vec<Value> = reader
        .rows()
        .map(|row| serde_json::from_slice(&row.unwrap().item).unwrap())
        .collect();
    sort_items(&mut items);
    // The source at the request time, for the point-in-time restore: the same rows.
    assert_eq!(scan_all(db, SRC).unwrap(), items);
    assert!(items.len() > 150, "{} items", items.len());
    Source { backup_arn, items }
}

fn sort_items(items: &mut [Value]) {
    items.sort_by_key(|i| {
        (
            i["pk"]["S"].as_str().unwrap().to_owned(),
            i["sk"]["N"].as_str().unwrap().parse::<u64>().unwrap(),
        )
    });
}

fn request(db: &Database, kind: Kind, source: &Source) -> ddb_model::Result<Value> {
    match kind {
        Kind::Backup => db.call(
            "RestoreTableFromBackup",
            &json!({"TargetTableName": TARGET, "BackupArn": source.backup_arn}),
        ),
        Kind::Pitr => db.call(
            "RestoreTableToPointInTime",
            &json!({"SourceTableName": SRC, "TargetTableName": TARGET,
                    "UseLatestRestorableTime": true}),
        ),
    }
}

/// Every item of a table (paged Scan), in key order.
fn scan_all(db: &Database, table: &str) -> ddb_model::Result<Vec<Value>> {
    let mut out = Vec::new();
    let mut start: Option<Value> = None;
    loop {
        let mut request = json!({"TableName": table});
        if let Some(s) = &start {
            request["ExclusiveStartKey"] = s.clone();
        }
        let page = db.call("Scan", &request)?;
        out.extend(page["Items"].as_array().unwrap().iter().cloned());
        match page.get("LastEvaluatedKey") {
            Some(k) => start = Some(k.clone()),
            None => break,
        }
    }
    sort_items(&mut out);
    Ok(out)
}

/// Every page of a query, items concatenated.
fn query_all(
    call: &dyn Fn(&Value) -> ddb_model::Result<Value>,
    request: &Value,
) -> ddb_model::Result<Vec<Value>> {
    let mut out = Vec::new();
    let mut request = request.clone();
    loop {
        let page = call(&request)?;
        out.extend(page["Items"].as_array().unwrap().iter().cloned());
        match page.get("LastEvaluatedKey") {
            Some(k) => request["ExclusiveStartKey"] = k.clone(),
            None => return Ok(out),
        }
    }
}

/// The reference model: table `name` holding `items`.
fn model(name: &str, items: &[Value]) -> MemoryTables {
    let tables = MemoryTables::new();
    let schema = CreateTableInput::from_json(&definition(name).to_string())
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

/// Queries covering every entry of `index`: each partition (LSIs, both directions, paged
/// small) or each GSI partition key value (sparse: items without it are absent).
fn index_queries(table: &str, index: &str) -> Vec<Value> {
    let mut out = Vec::new();
    match index {
        "by_at" | "by_rank" => {
            for pk in 0..PARTITIONS {
                let p = json!({":p": {"S": format!("user#{pk:03}")}});
                out.push(json!({
                    "TableName": table, "IndexName": index,
                    "KeyConditionExpression": "pk = :p",
                    "ExpressionAttributeValues": p, "Limit": 9
                }));
                out.push(json!({
                    "TableName": table, "IndexName": index,
                    "KeyConditionExpression": "pk = :p",
                    "ExpressionAttributeValues": p, "ScanIndexForward": false
                }));
            }
        }
        "by_shop" => {
            for shop in 0..5 {
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
                    "KeyConditionExpression": "city = :c",
                    "ExpressionAttributeValues": {":c": {"S": format!("c{city}")}}
                }));
            }
        }
    }
    out
}

fn assert_index_equals(db: &Database, reference: &MemoryTables, index: &str, ctx: &str) {
    let engine = |r: &Value| db.call("Query", r);
    let want = |r: &Value| ddb_table::api::data::dispatch(reference, "Query", r).unwrap();
    let mut entries = 0;
    for request in index_queries(TARGET, index) {
        let got = query_all(&engine, &request)
            .unwrap_or_else(|e| panic!("{ctx}: {index}: {request}: {e}"));
        let expected = query_all(&want, &request).unwrap();
        assert_eq!(got, expected, "{ctx}: index {index} differs: {request}");
        entries += got.len();
    }
    assert!(entries > 0, "{ctx}: index {index} is empty in the model");
}

/// The GSIs of a description that are not ACTIVE.
fn pending_gsis(description: &Value) -> usize {
    description["GlobalSecondaryIndexes"]
        .as_array()
        .map_or(0, |g| {
            g.iter().filter(|g| g["IndexStatus"] != "ACTIVE").count()
        })
}

fn describe(db: &Database, table: &str) -> ddb_model::Result<Value> {
    db.call("DescribeTable", &json!({"TableName": table}))
        .map(|d| d["Table"].clone())
}

/// Steps the target's backfills until every GSI is ACTIVE (if it exists and is ACTIVE).
fn finish_backfills(db: &Database) -> Result<(), String> {
    for _ in 0..10 {
        let Ok(description) = describe(db, TARGET) else {
            return Ok(());
        };
        if description["TableStatus"] != "ACTIVE" || pending_gsis(&description) == 0 {
            return Ok(());
        }
        db.engine_table(TARGET)
            .map_err(|e| e.to_string())?
            .run_pending_work()
            .map_err(|e| e.to_string())?;
    }
    Err(format!(
        "backfills did not finish: {}",
        describe(db, TARGET).unwrap()
    ))
}

/// The window: the request, the job, the backfills. Stops at the first error (the cut).
fn restore_window(db: &Database, kind: Kind, source: &Source) -> (bool, Result<(), String>) {
    match request(db, kind, source) {
        Err(e) => (false, Err(e.to_string())),
        Ok(_) => {
            let rest = db
                .run_restore_jobs()
                .map_err(|e| e.to_string())
                .and_then(|()| finish_backfills(db));
            (true, rest)
        }
    }
}

/// The table ids the catalog lists (DescribeTable's TableId without its dashes), by status.
fn catalog_ids(db: &Database) -> Vec<(String, String)> {
    let names = db.call("ListTables", &json!({})).unwrap()["TableNames"].clone();
    names
        .as_array()
        .unwrap()
        .iter()
        .map(|name| {
            let d = describe(db, name.as_str().unwrap()).unwrap();
            (
                d["TableId"].as_str().unwrap().replace('-', ""),
                d["TableStatus"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

/// `tables/` holds only directories of listed tables, and every ACTIVE one has its directory.
fn check_dirs(db: &Database, ctx: &str) {
    let listed = catalog_ids(db);
    let known: BTreeSet<String> = listed.iter().map(|(id, _)| id.clone()).collect();
    let on_disk: BTreeSet<String> = db
        .io()
        .read_dir(&db.root().join("tables"))
        .unwrap()
        .into_iter()
        .map(|n| n.into_string().unwrap())
        .collect();
    let stray: Vec<&String> = on_disk.difference(&known).collect();
    assert!(
        stray.is_empty(),
        "{ctx}: table directories the catalog does not list: {stray:?}"
    );
    for (id, status) in &listed {
        if status != "CREATING" {
            assert!(
                on_disk.contains(id),
                "{ctx}: the {status} table {id} has no directory"
            );
        }
    }
}

/// What the reopened database shows of the target.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Seen {
    Absent,
    Creating,
    /// ACTIVE, with this many GSIs still backfilling.
    Active(usize),
}

/// Checks the target as found: absent, an unfinished restore, or ACTIVE and exact.
fn check_target(db: &Database, source: &Source, reference: &MemoryTables, ctx: &str) -> Seen {
    let description = match describe(db, TARGET) {
        Err(e) => {
            assert_eq!(e.kind(), ErrorKind::ResourceNotFound, "{ctx}: {e}");
            return Seen::Absent;
        }
        Ok(d) => d,
    };
    let status = description["TableStatus"].as_str().unwrap();
    let in_progress = &description["RestoreSummary"]["RestoreInProgress"];
    match status {
        "CREATING" => {
            assert_eq!(in_progress, true, "{ctx}: {description}");
            assert!(db.restore_in_progress(TARGET), "{ctx}");
            let read = scan_all(db, TARGET).unwrap_err();
            assert_eq!(read.kind(), ErrorKind::ResourceNotFound, "{ctx}: {read}");
            Seen::Creating
        }
        "ACTIVE" => {
            assert_eq!(in_progress, false, "{ctx}: {description}");
            let items = scan_all(db, TARGET).unwrap();
            assert!(
                items == source.items,
                "{ctx}: an ACTIVE restored table differs from its source: {} items, {} expected",
                items.len(),
                source.items.len()
            );
            assert_eq!(description["ItemCount"], source.items.len(), "{ctx}");
            for index in LSIS {
                assert_index_equals(db, reference, index, ctx);
            }
            let gsis = description["GlobalSecondaryIndexes"].as_array().unwrap();
            assert_eq!(gsis.len(), GSIS.len(), "{ctx}");
            let mut pending = 0;
            for gsi in gsis {
                let index = gsi["IndexName"].as_str().unwrap();
                if gsi["IndexStatus"] == "ACTIVE" {
                    assert_index_equals(db, reference, index, ctx);
                } else {
                    pending += 1;
                    assert_eq!(gsi["IndexStatus"], "CREATING", "{ctx}: {gsi}");
                    assert_eq!(gsi["Backfilling"], true, "{ctx}: {gsi}");
                    let refused = db.call("Query", &index_queries(TARGET, index)[0]);
                    assert_eq!(
                        refused.unwrap_err().kind(),
                        ErrorKind::Validation,
                        "{ctx}: a backfilling GSI answered a read"
                    );
                }
            }
            Seen::Active(pending)
        }
        other => panic!("{ctx}: the target is {other}"),
    }
}

#[derive(Debug, Default)]
struct Coverage {
    cases: u64,
    cut_in_request: u64,
    cut_in_job: u64,
    recovery_cut: u64,
    absent_at_reopen: u64,
    creating_at_reopen: u64,
    backfilling_at_reopen: u64,
    active_at_reopen: u64,
    absent_after: u64,
}

struct Point {
    kind: Kind,
    n: u64,
    mode: usize,
    second: Option<u64>,
}

fn case(dir: &Path, seed: u64, point: &Point, cov: &mut Coverage) {
    let (mode_name, crash) = MODES[point.mode];
    let ctx = format!(
        "DDB_SIM_SEED={seed} DDB_CRASH_KIND={} DDB_CRASH_POINT={} DDB_CRASH_MODE={mode_name}{}",
        point.kind.name(),
        point.n,
        point
            .second
            .map(|m| format!(" DDB_CRASH_RECOVERY_POINT={m}"))
            .unwrap_or_default()
    );
    let _ = std::fs::remove_dir_all(dir);
    std::fs::create_dir_all(dir).unwrap();
    let sim = SimIo::new(seed);
    let source;
    let acknowledged;
    {
        let db = open(dir, &sim).unwrap();
        source = setup(&db);
        let before = sim.crashes();
        sim.cut_power_after_ops(point.n, crash());
        let (acked, ran) = restore_window(&db, point.kind, &source);
        acknowledged = acked;
        if sim.crashes() == before {
            ran.unwrap_or_else(|e| panic!("{ctx}: the restore failed without a crash: {e}"));
            // Past the end: crash with nothing in flight.
            sim.crash(crash());
        } else if acknowledged {
            cov.cut_in_job += 1;
        } else {
            cov.cut_in_request += 1;
        }
        drop(db);
        sim.clear_faults();
    }
    if let Some(m) = point.second {
        let before = sim.crashes();
        sim.cut_power_after_ops(m, crash());
        if let Ok(db) = open(dir, &sim) {
            let _ = db.run_restore_jobs().is_ok() && finish_backfills(&db).is_ok();
        }
        if sim.crashes() == before {
            sim.crash(crash());
        } else {
            cov.recovery_cut += 1;
        }
        sim.clear_faults();
    }
    cov.cases += 1;
    let reference = model(TARGET, &source.items);
    let db = open(dir, &sim).unwrap_or_else(|e| panic!("{ctx}: reopen after the crash: {e}"));
    let seen = check_target(&db, &source, &reference, &ctx);
    check_dirs(&db, &ctx);
    match seen {
        Seen::Absent => {
            assert!(!acknowledged, "{ctx}: an acknowledged restore was lost");
            cov.absent_at_reopen += 1;
        }
        Seen::Creating => cov.creating_at_reopen += 1,
        Seen::Active(0) => cov.active_at_reopen += 1,
        Seen::Active(_) => cov.backfilling_at_reopen += 1,
    }

    // Finish what is pending: the target is then complete.
    db.run_restore_jobs()
        .unwrap_or_else(|e| panic!("{ctx}: the resumed restore failed: {e}"));
    assert!(db.restore_failure(TARGET).is_none(), "{ctx}");
    finish_backfills(&db).unwrap_or_else(|e| panic!("{ctx}: {e}"));
    match check_target(&db, &source, &reference, &ctx) {
        Seen::Absent => {
            assert_eq!(seen, Seen::Absent, "{ctx}: the restored table went away");
            cov.absent_after += 1;
        }
        Seen::Active(0) => {
            for index in LSIS.iter().chain(&GSIS) {
                assert_index_equals(&db, &reference, index, &ctx);
            }
        }
        other => panic!("{ctx}: after the pending work the target is {other:?}"),
    }
    check_dirs(&db, &ctx);
    // The source is let go of and unharmed.
    assert_eq!(
        db.backup(&source.backup_arn).unwrap().readers,
        0,
        "{ctx}: the backup is still pinned"
    );
    let src = db.engine_table(SRC).unwrap();
    if let Ok(d) = describe(&db, TARGET) {
        let hold = format!(
            "restore-{}",
            d["TableId"].as_str().unwrap().replace('-', "")
        );
        assert!(
            src.hold(&hold).is_none(),
            "{ctx}: the source still holds files for the restore"
        );
    }
    assert_eq!(
        scan_all(&db, SRC).unwrap(),
        source.items,
        "{ctx}: the source"
    );
}

fn env_u64(name: &str) -> Option<u64> {
    std::env::var(name).ok().map(|v| v.parse().unwrap())
}

/// The disk operations of the window without a crash.
fn measure(dir: &Path, seed: u64, kind: Kind) -> u64 {
    let _ = std::fs::remove_dir_all(dir);
    std::fs::create_dir_all(dir).unwrap();
    let sim = SimIo::new(seed);
    let db = open(dir, &sim).unwrap();
    let source = setup(&db);
    let start = sim.mutations();
    let (acked, ran) = restore_window(&db, kind, &source);
    assert!(acked);
    ran.unwrap();
    let total = sim.mutations() - start;
    let reference = model(TARGET, &source.items);
    assert_eq!(
        check_target(&db, &source, &reference, "no crash"),
        Seen::Active(0)
    );
    total
}

fn run(kind: Kind) {
    let seed = seed_from_env(0x2e57_u64).unwrap();
    let dir = tempfile::tempdir_in(if Path::new("/dev/shm").is_dir() {
        "/dev/shm"
    } else {
        "/tmp"
    })
    .unwrap();
    let dir = dir.path().join("db");
    if let Some(n) = env_u64("DDB_CRASH_POINT") {
        if std::env::var("DDB_CRASH_KIND").is_ok_and(|k| k != kind.name()) {
            return;
        }
        let mode = std::env::var("DDB_CRASH_MODE")
            .ok()
            .and_then(|m| MODES.iter().position(|(name, _)| *name == m))
            .unwrap_or(0);
        let point = Point {
            kind,
            n,
            mode,
            second: env_u64("DDB_CRASH_RECOVERY_POINT"),
        };
        case(&dir, seed, &point, &mut Coverage::default());
        return;
    }
    let total = measure(&dir, seed, kind);
    assert!(total > 20, "the restore took only {total} disk operations");
    let stride = env_u64("DDB_CRASH_STRIDE").unwrap_or(1).max(1);
    let mut cov = Coverage::default();
    let points: BTreeSet<u64> = (0..=total)
        .step_by(stride as usize)
        .chain(total.saturating_sub(2)..=total)
        .collect();
    for &n in &points {
        for mode in 0..MODES.len() {
            // A second cut in the recovery (which reruns the job) at every fifth point.
            let second = ((n + mode as u64) % 5 == 1).then_some((n * 7 + mode as u64) % total);
            case(
                &dir,
                seed,
                &Point {
                    kind,
                    n,
                    mode,
                    second,
                },
                &mut cov,
            );
        }
    }
    eprintln!(
        "{} restore crash coverage over {total} operations (stride {stride}): {cov:?}",
        kind.name()
    );
    assert!(cov.cut_in_request > 0 && cov.cut_in_job > 0, "{cov:?}");
    assert!(
        cov.creating_at_reopen > 0,
        "no crash left a job to resume: {cov:?}"
    );
    assert!(cov.backfilling_at_reopen > 0, "{cov:?}");
    assert!(cov.recovery_cut > 0, "{cov:?}");
}

#[test]
fn a_restore_from_backup_cut_by_power_failure_resumes_or_never_existed_and_is_exact() {
    run(Kind::Backup);
}

#[test]
fn a_point_in_time_restore_cut_by_power_failure_resumes_or_never_existed_and_is_exact() {
    run(Kind::Pitr);
}
