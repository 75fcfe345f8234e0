//! Restore throughput: time to ACTIVE and to every GSI ACTIVE, items/s, MB/s, peak RSS.
//!
//! `cargo run --release -p ddb-bench --example restore -- [N]` (default 1000000) loads N orders
//! (the end-to-end workload: ~480-byte items, 2 LSIs, 2 GSIs) into a table, checkpoints, backs
//! it up (zstd 3, 2 partitions) and then restores that backup three times, each in its own child
//! process so that its peak RSS (`VmHWM`) is the restore's alone:
//! - `base`: GSI and LSI overrides empty (the table alone);
//! - `2_lsi`: GSI override empty (table + both LSIs, built before ACTIVE);
//! - `2_lsi_2_gsi`: everything (ACTIVE after the LSIs, then both GSIs backfilled).
//!
//! MB/s counts the backup's item bytes (its manifest's `item_bytes`): the same measure as the
//! backup benchmark. Files go to `$DDB_BENCH_DIR` or a tempdir.

use std::error::Error;
use std::path::Path;
use std::process::Command;
use std::time::Instant;

use ddb_bench::checkpoint::proc_status_kib;
use ddb_bench::table::{Indexes, TABLE};
use ddb_table::{Database, DatabaseOptions};
use serde_json::{Value, json};

fn options() -> DatabaseOptions {
    let mut options = DatabaseOptions::default();
    // Stepped: the benchmark runs each job itself and times it.
    options.table.background = false;
    options.table.memtable_budget_bytes = 1 << 40;
    options.backup.worker = false;
    options
}

fn prepare(dir: &Path, items: u64) -> Result<(), Box<dyn Error>> {
    let db = Database::open(&dir.join("db"), options())?;
    ddb_bench::table::create_table(&db, Indexes::All)?;
    let started = Instant::now();
    let users = (items / 8).max(1);
    ddb_bench::table::load(&db, 0..items, users)?;
    let table = db.engine_table(TABLE)?;
    while table.gsi_lag().lsns > 0 {
        table.run_pending_work()?;
    }
    db.checkpoint(TABLE)?;
    println!(
        "loaded {items} items in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    let started = Instant::now();
    let response = db.call(
        "CreateBackup",
        &json!({"TableName": TABLE, "BackupName": "bench-restore"}),
    )?;
    db.run_backup_jobs()?;
    let arn = response
        .pointer("/BackupDetails/BackupArn")
        .and_then(Value::as_str)
        .ok_or("no BackupArn")?;
    let backup = db.backup(arn)?;
    let manifest = ddb_backup::BackupManifest::load(&**db.io(), &backup.dir)?;
    println!(
        "backup: {} rows, {:.1} MB of items, {:.1} MB of Parquet in {:.2} s",
        manifest.totals.rows,
        manifest.totals.item_bytes as f64 / 1e6,
        manifest.totals.artifact_bytes as f64 / 1e6,
        started.elapsed().as_secs_f64()
    );
    std::fs::write(dir.join("ARN"), arn)?;
    Ok(())
}

fn restore(dir: &Path, variant: &str) -> Result<(), Box<dyn Error>> {
    let db = Database::open(&dir.join("db"), options())?;
    let arn = std::fs::read_to_string(dir.join("ARN"))?;
    let backup = db.backup(&arn)?;
    let manifest = ddb_backup::BackupManifest::load(&**db.io(), &backup.dir)?;
    let target = format!("restored_{variant}");
    let mut request = json!({"TargetTableName": target, "BackupArn": arn});
    if variant != "2_lsi_2_gsi"
        && let Some(map) = request.as_object_mut()
    {
        map.insert("GlobalSecondaryIndexOverride".to_owned(), json!([]));
        if variant == "base" {
            map.insert("LocalSecondaryIndexOverride".to_owned(), json!([]));
        }
    }
    let rss_before = proc_status_kib("VmRSS")?;
    let started = Instant::now();
    let answered = {
        db.call("RestoreTableFromBackup", &request)?;
        started.elapsed()
    };
    db.run_restore_jobs()?;
    let active = started.elapsed();
    let table = db.engine_table(&target)?;
    let mut rounds = 0;
    loop {
        let description = db.call("DescribeTable", &json!({"TableName": target}))?;
        let pending = description
            .pointer("/Table/GlobalSecondaryIndexes")
            .and_then(Value::as_array)
            .map_or(0, |g| {
                g.iter()
                    .filter(|g| g.get("IndexStatus").and_then(Value::as_str) != Some("ACTIVE"))
                    .count()
            });
        if pending == 0 {
            break;
        }
        table.run_pending_work()?;
        rounds += 1;
        if rounds > 10 {
            return Err("the GSI backfills did not finish".into());
        }
    }
    let all = started.elapsed();
    let rows = manifest.totals.rows as f64;
    let mb = manifest.totals.item_bytes as f64 / 1e6;
    println!(
        "{variant:>12}: answered in {:.0} µs; ACTIVE after {:.2} s ({:.0} items/s, {:.1} MB/s); \
         all indexes ACTIVE after {:.2} s; peak RSS {:.0} MB (open: {:.0} MB)",
        answered.as_secs_f64() * 1e6,
        active.as_secs_f64(),
        rows / active.as_secs_f64(),
        mb / active.as_secs_f64(),
        all.as_secs_f64(),
        proc_status_kib("VmHWM")? as f64 / 1024.0,
        rss_before as f64 / 1024.0,
    );
    Ok(())
}

fn main() -> Result<(), Box<dyn Error>> {
    let args: Vec<String> = std::env::args().collect();
    match args.get(1).map(String::as_str) {
        Some("child-prepare") => prepare(
            Path::new(args.get(2).ok_or("dir")?),
            args.get(3).ok_or("items")?.parse()?,
        ),
        Some("child-restore") => restore(
            Path::new(args.get(2).ok_or("dir")?),
            args.get(3).ok_or("variant")?,
        ),
        _ => {
            let items: u64 = args.get(1).map_or(Ok(1_000_000), |a| a.parse())?;
            let base = match std::env::var_os("DDB_BENCH_DIR") {
                Some(dir) => tempfile::tempdir_in(dir)?,
                None => tempfile::tempdir()?,
            };
            let dir = base.path().display().to_string();
            let exe = std::env::current_exe()?;
            let run = |args: &[&str]| -> Result<(), Box<dyn Error>> {
                if Command::new(&exe).args(args).status()?.success() {
                    Ok(())
                } else {
                    Err(format!("child {args:?} failed").into())
                }
            };
            run(&["child-prepare", &dir, &items.to_string()])?;
            for variant in ["base", "2_lsi", "2_lsi_2_gsi"] {
                run(&["child-restore", &dir, variant])?;
            }
            Ok(())
        }
    }
}
