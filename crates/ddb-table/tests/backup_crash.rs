//! Crash safety of backups on the simulated disk. A table with a checkpoint and a log tail is
//! backed up (CreateBackup, then the job), and the power is cut after `n` disk operations for
//! `n` over every operation of the request and the job, in clean, torn and torn-with-dir-ops
//! crashes, with a second cut during recovery at every other point. After each crash:
//! - every backup the reopened database lists as AVAILABLE verifies `Deep` and holds exactly
//!   the table at its marker — before any job is resumed as after;
//! - a backup whose CreateBackup was acknowledged exists after the reopen (CREATING or
//!   AVAILABLE); once the resumed job ran it is AVAILABLE, verifies and is exact;
//! - no partial files survive: the backups directory holds only the listed backups, with no
//!   job file, spill directory or manifest temporary left in an AVAILABLE one.
//!
//! Replay a failure with `DDB_SIM_SEED=<seed> DDB_CRASH_POINT=<n> DDB_CRASH_MODE=<mode>`.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

#[path = "crash/fence.rs"]
mod fence;

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use ddb_io::Io;
use ddb_io::sim::{CrashOptions, SimIo, seed_from_env};
use ddb_table::backups::BackupStatus;
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
const T: &str = "crashy";

fn options(io: Arc<dyn Io>) -> DatabaseOptions {
    // Several artifacts and row groups, so a crash can fall between any two of them.
    let backup = ddb_table::backups::BackupOptions {
        row_group_bytes: 1 << 10,
        artifact_bytes: 3 << 10,
        ..ddb_table::backups::BackupOptions::default()
    };
    DatabaseOptions {
        io: Some(io),
        read_only: false,
        table: TableConfig {
            background: false,
            memtable_budget_bytes: 1 << 30,
            snapshot_block_bytes: 4096,
            log_segment_bytes: 8 << 10,
            merge_memory_bytes: 64 << 10,
            ..TableConfig::default()
        },
        backup,
    }
}

fn open(dir: &Path, sim: &SimIo) -> ddb_table::Result<Arc<Database>> {
    Database::open(dir, options(Arc::new(Fenced::new(sim))))
}

/// Creates the table and its data: a checkpoint of 240 items, then 120 logged changes.
/// Returns the table's rows (key → item) as acknowledged.
fn setup(db: &Database) -> BTreeMap<String, Value> {
    db.call(
        "CreateTable",
        &json!({
            "TableName": T,
            "AttributeDefinitions": [
                {"AttributeName": "pk", "AttributeType": "S"},
                {"AttributeName": "sk", "AttributeType": "N"},
                {"AttributeName": "g", "AttributeType": "S"}
            ],
            "KeySchema": [
                {"AttributeName": "pk", "KeyType": "HASH"},
                {"AttributeName": "sk", "KeyType": "RANGE"}
            ],
            "GlobalSecondaryIndexes": [{
                "IndexName": "by_g",
                "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"}],
                "Projection": {"ProjectionType": "ALL"}
            }],
            "BillingMode": "PAY_PER_REQUEST"
        }),
    )
    .unwrap();
    let mut model = BTreeMap::new();
    let mut write = |i: u64, delete: bool| {
        let pk = format!("p{:03}", i % 37);
        let sk = (i % 11).to_string();
        let id = format!("{pk}/{sk}");
        if delete {
            db.call(
                "DeleteItem",
                &json!({"TableName": T, "Key": {"pk": {"S": pk}, "sk": {"N": sk}}}),
            )
            .unwrap();
            model.remove(&id);
        } else {
            let mut item = json!({
                "pk": {"S": pk}, "sk": {"N": sk},
                "body": {"S": format!("{i}:{}", "b".repeat((i % 90) as usize))},
            });
            if !i.is_multiple_of(4) {
                item["g"] = json!({"S": format!("g{}", i % 6)});
            }
            db.call("PutItem", &json!({"TableName": T, "Item": item.clone()}))
                .unwrap();
            model.insert(id, item);
        }
    };
    for i in 0..240 {
        write(i, false);
    }
    db.checkpoint(T).unwrap();
    for i in 240..360 {
        write(i * 3, i % 7 == 0);
    }
    model
}

/// The items of a backup, by `pk/sk`, after a deep verification.
fn backup_items(io: &Arc<dyn Io>, dir: &Path, ctx: &str) -> BTreeMap<String, Value> {
    let report = ddb_backup::verify(Arc::clone(io), dir, ddb_backup::VerifyLevel::Deep)
        .unwrap_or_else(|e| {
            panic!("{ctx}: an AVAILABLE backup does not open for verification: {e}")
        });
    assert!(
        report.is_sound(),
        "{ctx}: an AVAILABLE backup fails verification: {:?}",
        report.problems
    );
    let reader = ddb_backup::BackupReader::open(Arc::clone(io), dir).unwrap();
    reader
        .rows()
        .map(|row| {
            let item: Value = serde_json::from_slice(&row.unwrap().item).unwrap();
            let id = format!(
                "{}/{}",
                item["pk"]["S"].as_str().unwrap(),
                item["sk"]["N"].as_str().unwrap()
            );
            (id, item)
        })
        .collect()
}

/// Checks every backup the database lists; returns (AVAILABLE, CREATING) counts.
fn check_backups(
    db: &Database,
    io: &Arc<dyn Io>,
    expected: &BTreeMap<String, Value>,
    ctx: &str,
) -> (usize, usize) {
    let listed = db
        .call("ListBackups", &json!({"BackupType": "ALL"}))
        .unwrap();
    let mut counts = (0, 0);
    let mut dirs = Vec::new();
    for summary in listed["BackupSummaries"].as_array().unwrap() {
        let arn = summary["BackupArn"].as_str().unwrap();
        let entry = db.backup(arn).unwrap();
        dirs.push(entry.dir.file_name().unwrap().to_owned());
        match entry.status {
            BackupStatus::Available => {
                counts.0 += 1;
                assert_eq!(&backup_items(io, &entry.dir, ctx), expected, "{ctx}: {arn}");
                let mut names = io.read_dir(&entry.dir).unwrap();
                names.sort();
                assert_eq!(
                    names,
                    vec!["data", "manifest.json"],
                    "{ctx}: leftovers in an AVAILABLE backup"
                );
            }
            BackupStatus::Creating => counts.1 += 1,
            BackupStatus::Deleted => panic!("{ctx}: a DELETED backup is listed"),
        }
    }
    let root = db.root().join("backups");
    let mut on_disk = io.read_dir(&root).unwrap();
    on_disk.sort();
    dirs.sort();
    assert_eq!(
        on_disk, dirs,
        "{ctx}: backup directories the catalog does not list"
    );
    counts
}

#[derive(Debug, Default)]
struct Coverage {
    cut_in_request: u64,
    cut_in_job: u64,
    absent_after: u64,
    resumed: u64,
    available_at_reopen: u64,
    recovery_cut: u64,
}

/// One crash point. Returns whether the cut fell inside the request, the job, or neither.
fn case(dir: &Path, seed: u64, n: u64, mode: usize, second: Option<u64>, cov: &mut Coverage) {
    let (mode_name, crash) = MODES[mode];
    let ctx = format!("DDB_SIM_SEED={seed} DDB_CRASH_POINT={n} DDB_CRASH_MODE={mode_name}");
    let _ = std::fs::remove_dir_all(dir);
    std::fs::create_dir_all(dir).unwrap();
    let sim = SimIo::new(seed);
    let io: Arc<dyn Io> = Arc::new(sim.clone());
    let expected;
    let mut acknowledged = false;
    {
        let db = open(dir, &sim).unwrap();
        expected = setup(&db);
        let before = sim.crashes();
        sim.cut_power_after_ops(n, crash());
        let created = db.call(
            "CreateBackup",
            &json!({"TableName": T, "BackupName": "crash-test"}),
        );
        if created.is_ok() {
            acknowledged = true;
            let ran = db.run_backup_jobs();
            if sim.crashes() == before {
                ran.unwrap_or_else(|e| panic!("{ctx}: the job failed without a crash: {e}"));
            }
        }
        if sim.crashes() == before {
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
    if let Some(m) = second {
        let before = sim.crashes();
        sim.cut_power_after_ops(m, crash());
        if let Ok(db) = open(dir, &sim) {
            let _ = db.run_backup_jobs();
        }
        if sim.crashes() == before {
            sim.crash(crash());
        } else {
            cov.recovery_cut += 1;
        }
        sim.clear_faults();
    }
    let db = open(dir, &sim).unwrap_or_else(|e| panic!("{ctx}: reopen after the crash: {e}"));
    let (available, creating) = check_backups(&db, &io, &expected, &ctx);
    assert!(
        available + creating <= 1,
        "{ctx}: one request, {available} + {creating} backups"
    );
    if acknowledged {
        assert_eq!(
            available + creating,
            1,
            "{ctx}: an acknowledged backup was lost"
        );
    }
    cov.available_at_reopen += available as u64;
    db.run_backup_jobs()
        .unwrap_or_else(|e| panic!("{ctx}: the resumed job failed: {e}"));
    let (available_after, creating_after) = check_backups(&db, &io, &expected, &ctx);
    assert_eq!(
        creating_after, 0,
        "{ctx}: a job is still CREATING after running"
    );
    if creating == 1 {
        cov.resumed += 1;
        assert_eq!(available_after, 1);
    }
    if available_after == 0 {
        cov.absent_after += 1;
    }
    // The table is unharmed, and backs up again.
    db.call(
        "CreateBackup",
        &json!({"TableName": T, "BackupName": "after-crash"}),
    )
    .unwrap();
    db.run_backup_jobs().unwrap();
    let (again, _) = check_backups(&db, &io, &expected, &ctx);
    assert_eq!(again, available_after + 1, "{ctx}");
}

fn env_u64(name: &str) -> Option<u64> {
    std::env::var(name).ok().map(|v| v.parse().unwrap())
}

#[test]
fn a_backup_cut_by_power_failure_resumes_or_never_existed_and_is_never_damaged() {
    let seed = seed_from_env(0xb0c0_u64).unwrap();
    let dir = tempfile::tempdir_in(if Path::new("/dev/shm").is_dir() {
        "/dev/shm"
    } else {
        "/tmp"
    })
    .unwrap();
    let dir = dir.path().join("db");
    // Measure the request and the job without a crash.
    let total = {
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let sim = SimIo::new(seed);
        let db = open(&dir, &sim).unwrap();
        setup(&db);
        let start = sim.mutations();
        db.call(
            "CreateBackup",
            &json!({"TableName": T, "BackupName": "crash-test"}),
        )
        .unwrap();
        db.run_backup_jobs().unwrap();
        sim.mutations() - start
    };
    assert!(total > 20, "the backup took only {total} disk operations");
    let mut cov = Coverage::default();
    if let Some(n) = env_u64("DDB_CRASH_POINT") {
        let mode = std::env::var("DDB_CRASH_MODE")
            .ok()
            .and_then(|m| MODES.iter().position(|(name, _)| *name == m))
            .unwrap_or(0);
        case(&dir, seed, n, mode, None, &mut cov);
        return;
    }
    // Every operation in every mode, with a second cut in recovery at every other point; and
    // one step past the end.
    for n in 0..=total {
        for mode in 0..MODES.len() {
            let second = ((n + mode as u64) % 2 == 1).then_some((n * 7 + mode as u64) % 40);
            case(&dir, seed, n, mode, second, &mut cov);
        }
    }
    eprintln!("backup crash coverage over {total} operations: {cov:?}");
    assert!(cov.cut_in_request > 0 && cov.cut_in_job > 0, "{cov:?}");
    assert!(cov.resumed > 0, "no crash left a job to resume: {cov:?}");
    assert!(cov.recovery_cut > 0, "{cov:?}");
}
