//! Backup throughput and CreateBackup latency.
//!
//! `cargo run --release -p ddb-bench --example backup -- throughput [N] [zstd level] [partitions]`
//! builds a backup (snapshot ⊕ a log of 0.2·N records → zstd Parquet + manifest) of a generated
//! table of N rows of ~400-byte items (defaults 1000000, 3, 2). One child process writes the
//! input snapshot, another runs the backup, so the second's peak RSS (`VmHWM`) is the backup's
//! alone. It prints rows/s and MB/s of item bytes at the cut (the table the backup holds).
//!
//! `cargo run --release -p ddb-bench --example backup -- latency [N]` loads N items into a
//! database table (the orders workload), checkpoints, writes 1000 more, then times CreateBackup
//! 20 times (answer only: the job runs afterwards) and reports the median and maximum.
//! Files go to `$DDB_BENCH_DIR` or a tempdir.

use std::error::Error;
use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use ddb_bench::checkpoint::{
    TABLE_ID, attributes, log_end, log_records, proc_status_kib, write_snapshot,
};
use ddb_io::{BackendChoice, Io, select_backend};
use ddb_log::LogError;
use ddb_merge::{SnapshotDirInput, SnapshotInput};
use ddb_model::{KeyAttribute, KeyDef, ScalarAttributeType, TableSchema};

fn arg(args: &[String], index: usize, default: u64) -> Result<u64, Box<dyn Error>> {
    Ok(match args.get(index) {
        Some(text) => text.parse()?,
        None => default,
    })
}

/// The generated table's schema (its one key attribute is the snapshot's typed column).
fn schema() -> TableSchema {
    debug_assert_eq!(attributes().len(), 1);
    TableSchema::new(KeyDef {
        partition: KeyAttribute::new("id", ScalarAttributeType::S),
        sort: None,
    })
}

fn request(rows: u64) -> ddb_backup::BuildRequest {
    ddb_backup::BuildRequest {
        identity: ddb_backup::BackupIdentity {
            backup_arn:
                "arn:aws:dynamodb:ddblocal:000000000000:table/bench/backup/00000000000000-00000000"
                    .to_owned(),
            backup_name: "bench".to_owned(),
            backup_type: "USER".to_owned(),
            table_name: "bench".to_owned(),
            table_arn: "arn:aws:dynamodb:ddblocal:000000000000:table/bench".to_owned(),
            table_id: TABLE_ID.iter().map(|b| format!("{b:02x}")).collect(),
            request_time_ms: 0,
        },
        marker_lsn: log_end(rows),
        marker_time_ms: 0,
        schema: schema(),
        source_table: serde_json::json!({}),
        expires_at_ms: None,
    }
}

fn run_backup(dir: &Path, rows: u64, level: u64, partitions: u64) -> Result<(), Box<dyn Error>> {
    let io: Arc<dyn Io> = select_backend(BackendChoice::from_env()?)?;
    let out = dir.join(format!("backup-z{level}-p{partitions}"));
    let _ = std::fs::remove_dir_all(&out);
    let snapshot = SnapshotDirInput::open(Arc::clone(&io), &dir.join("old"))?;
    let options = ddb_backup::BuildOptions {
        zstd_level: i32::try_from(level)?,
        partitions: usize::try_from(partitions)?,
        memory_budget_bytes: 64 << 20,
        spill_dir: dir.join("spill"),
        ..ddb_backup::BuildOptions::default()
    };
    let started = Instant::now();
    let manifest = ddb_backup::build(
        Arc::clone(&io),
        &out,
        &request(rows),
        Some(&snapshot as &dyn SnapshotInput),
        log_records(rows).map(Ok::<_, LogError>),
        &options,
    )?;
    let secs = started.elapsed().as_secs_f64();
    let item_bytes = manifest.totals.item_bytes;
    #[allow(clippy::cast_precision_loss)]
    let (rows_out, mb) = (manifest.total_rows() as f64, item_bytes as f64 / 1e6);
    println!(
        "rows {rows:>9} zstd {level} partitions {partitions} ({}): {:.2} s, {:.0} rows/s, \
         {:.0} MB/s of items ({:.0} MB at the cut, {:.0} MB of Parquet), peak RSS {} MB",
        io.name(),
        secs,
        rows_out / secs,
        mb / secs,
        mb,
        manifest.total_bytes() as f64 / 1e6,
        proc_status_kib("VmHWM")? / 1024
    );
    Ok(())
}

fn latency(dir: &Path, items: u64) -> Result<(), Box<dyn Error>> {
    use ddb_table::{Database, DatabaseOptions};
    let mut options = DatabaseOptions::default();
    // Jobs run only when asked, so the timings are of the answer alone.
    options.table.background = false;
    options.table.memtable_budget_bytes = 1 << 40;
    let db = Database::open(&dir.join("db"), options)?;
    ddb_bench::table::create_table(&db, ddb_bench::table::Indexes::None)?;
    let users = (items / 10).max(1);
    let started = Instant::now();
    ddb_bench::table::load(&db, 0..items, users)?;
    db.checkpoint(ddb_bench::table::TABLE)?;
    // A small log tail: writes after a checkpoint of a large table are slow today (each reads
    // the old item through the snapshot; docs/PERFORMANCE.md, "Engine problems"), and the
    // answer does not read the log anyway.
    let tail = 1000;
    ddb_bench::table::load(&db, items..items + tail, users)?;
    println!(
        "{items} items (+{tail} logged) loaded in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    let mut times: Vec<Duration> = Vec::new();
    for n in 0..20 {
        let started = Instant::now();
        db.call(
            "CreateBackup",
            &serde_json::json!({"TableName": ddb_bench::table::TABLE, "BackupName": format!("lat-{n}")}),
        )?;
        times.push(started.elapsed());
    }
    times.sort();
    println!(
        "CreateBackup at {items} items: median {:.0} µs, max {:.0} µs (20 requests; job not run)",
        times.get(10).map_or(0.0, Duration::as_secs_f64) * 1e6,
        times.last().map_or(0.0, Duration::as_secs_f64) * 1e6
    );
    Ok(())
}

fn main() -> Result<(), Box<dyn Error>> {
    let args: Vec<String> = std::env::args().collect();
    let base = match std::env::var_os("DDB_BENCH_DIR") {
        Some(dir) => tempfile::tempdir_in(dir)?,
        None => tempfile::tempdir()?,
    };
    let dir_arg = || -> Result<&Path, Box<dyn Error>> {
        Ok(Path::new(args.get(2).ok_or("a child needs its directory")?))
    };
    match args.get(1).map(String::as_str) {
        Some("child-input") => {
            let io: Arc<dyn Io> = select_backend(BackendChoice::Std)?;
            write_snapshot(&io, &dir_arg()?.join("old"), arg(&args, 3, 0)?)?;
            Ok(())
        }
        Some("child-backup") => run_backup(
            dir_arg()?,
            arg(&args, 3, 0)?,
            arg(&args, 4, 3)?,
            arg(&args, 5, 2)?,
        ),
        Some("latency") => latency(base.path(), arg(&args, 2, 10_000)?),
        Some("throughput") | None => {
            let rows = arg(&args, 2, 1_000_000)?;
            // Without a level and partition count: zstd 1 and 3, one and two partitions.
            let runs: Vec<(u64, u64)> = if args.len() > 4 {
                vec![(arg(&args, 3, 3)?, arg(&args, 4, 2)?)]
            } else {
                vec![(1, 1), (1, 2), (3, 1), (3, 2)]
            };
            let exe = std::env::current_exe()?;
            let dir = base.path().to_owned();
            let status = Command::new(&exe)
                .args(["child-input", &dir.display().to_string(), &rows.to_string()])
                .status()?;
            if !status.success() {
                return Err("writing the input failed".into());
            }
            for (level, partitions) in runs {
                let status = Command::new(&exe)
                    .args([
                        "child-backup",
                        &dir.display().to_string(),
                        &rows.to_string(),
                        &level.to_string(),
                        &partitions.to_string(),
                    ])
                    .status()?;
                if !status.success() {
                    return Err("the backup failed".into());
                }
            }
            Ok(())
        }
        Some(other) => Err(format!("unknown mode {other}: throughput | latency").into()),
    }
}
