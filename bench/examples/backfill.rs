//! A table of N orders (the end-to-end workload's ~480-byte items, `ddb_bench::table`) through
//! three phases, each timed and with its own peak RSS:
//! 1. load: `apply_batch` in batches of 4,096 into a table without indexes (the engine's
//!    background checkpoints run as the memtable fills, as in `ddbfmt load`);
//! 2. checkpoint: an explicit checkpoint of everything still in the log;
//! 3. backfill: UpdateTable creates the GSI `by_merchant` (~80 % of orders have a merchant),
//!    timed until `wait(IndexActive)` returns.
//!
//! `cargo run --release -p ddb-bench --example backfill -- [--items N] [--io std|io_uring]
//! [--memtable-mib M]` (defaults 1000000, std, the engine's default budget). Files go to
//! `$DDB_BENCH_DIR` or a tempdir. Peak RSS is `VmHWM`, reset before each phase through
//! `/proc/self/clear_refs` (the output says if the kernel refused).

use std::error::Error;
use std::sync::Arc;
use std::time::{Duration, Instant};

use ddb_bench::checkpoint::proc_status_kib;
use ddb_bench::table::{self, Indexes, TABLE};
use ddb_io::{BackendChoice, Io, select_backend};
use ddb_table::{Database, DatabaseOptions, WaitFor};

/// About 8 orders a user.
const USERS_PER_ITEM: u64 = 8;

struct Args {
    items: u64,
    io: BackendChoice,
    memtable_mib: Option<usize>,
}

fn parse_args() -> Result<Args, Box<dyn Error>> {
    let mut args = Args {
        items: 1_000_000,
        io: BackendChoice::Std,
        memtable_mib: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or_else(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--items" => args.items = value()?.parse()?,
            "--memtable-mib" => args.memtable_mib = Some(value()?.parse()?),
            "--io" => {
                args.io = match value()?.as_str() {
                    "std" => BackendChoice::Std,
                    "io_uring" => BackendChoice::IoUring,
                    other => return Err(format!("--io {other}: std or io_uring").into()),
                }
            }
            other => return Err(format!("unknown argument {other}").into()),
        }
    }
    Ok(args)
}

/// Resets `VmHWM` to the current RSS; false if the kernel does not allow it.
fn reset_peak_rss() -> bool {
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}

fn peak_mb() -> String {
    proc_status_kib("VmHWM").map_or_else(
        |e| format!("unknown ({e})"),
        |kib| format!("{:.1} MB", kib as f64 * 1024.0 / 1e6),
    )
}

fn per_second(count: u64, elapsed: Duration) -> f64 {
    count as f64 / elapsed.as_secs_f64()
}

fn dir_bytes(dir: &std::path::Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .filter_map(Result::ok)
        .map(|e| match e.metadata() {
            Ok(m) if m.is_dir() => dir_bytes(&e.path()),
            Ok(m) => m.len(),
            Err(_) => 0,
        })
        .sum()
}

fn main() -> Result<(), Box<dyn Error>> {
    let args = parse_args()?;
    let io: Arc<dyn Io> = select_backend(args.io)?;
    let dir = ddb_bench::bench_dir()?;
    let mut options = DatabaseOptions {
        io: Some(Arc::clone(&io)),
        ..DatabaseOptions::default()
    };
    if let Some(mib) = args.memtable_mib {
        options.table.memtable_budget_bytes = mib << 20;
    }
    println!(
        "items {}  io {}  memtable budget {} MiB  merge partitions {}  merge memory {} MiB  dir {}",
        args.items,
        io.name(),
        options.table.memtable_budget_bytes >> 20,
        options.table.merge_partitions,
        options.table.merge_memory_bytes >> 20,
        dir.path().display()
    );
    let db = Database::open(dir.path(), options)?;
    table::create_table(&db, Indexes::None)?;
    if !reset_peak_rss() {
        println!("note: /proc/self/clear_refs refused; peaks below are cumulative");
    }

    // 1. Load.
    let started = Instant::now();
    let loaded = table::load(&db, 0..args.items, (args.items / USERS_PER_ITEM).max(1))?;
    let wall = started.elapsed();
    println!(
        "load        {:>9} items  {:6.2} s in apply_batch ({:>8.0} items/s, {:6.1} MB/s of item JSON; \
         {:.0} bytes an item)  {:6.2} s with generation  peak RSS {}",
        loaded.items,
        loaded.apply.as_secs_f64(),
        per_second(loaded.items, loaded.apply),
        loaded.bytes as f64 / 1e6 / loaded.apply.as_secs_f64(),
        loaded.bytes as f64 / loaded.items.max(1) as f64,
        wall.as_secs_f64(),
        peak_mb(),
    );

    // 2. Checkpoint (waits for a background checkpoint in progress first; counted).
    reset_peak_rss();
    let started = Instant::now();
    let report = db.checkpoint(TABLE)?;
    let elapsed = started.elapsed();
    println!(
        "checkpoint  {:>9} rows   {:6.2} s ({:>8.0} rows/s)  published {}  log segments deleted {}  \
         peak RSS {}  database {:.1} MB on disk",
        report.rows,
        elapsed.as_secs_f64(),
        per_second(report.rows, elapsed),
        report.published,
        report.log_segments_deleted,
        peak_mb(),
        dir_bytes(dir.path()) as f64 / 1e6,
    );

    // 3. GSI backfill.
    reset_peak_rss();
    let started = Instant::now();
    db.call("UpdateTable", &table::add_merchant_gsi_request())?;
    let active = db.wait(
        &WaitFor::IndexActive {
            table: TABLE.into(),
            index: "by_merchant".into(),
        },
        Duration::from_secs(3_600),
    )?;
    let elapsed = started.elapsed();
    if !active {
        return Err("the GSI did not become ACTIVE within an hour".into());
    }
    let description = db.call("DescribeTable", &serde_json::json!({"TableName": TABLE}))?;
    let entries = description
        .pointer("/Table/GlobalSecondaryIndexes/0/ItemCount")
        .and_then(serde_json::Value::as_u64)
        .unwrap_or(0);
    println!(
        "backfill    {:>9} items  {:6.2} s ({:>8.0} table items/s, {entries} index entries)  peak RSS {}",
        loaded.items,
        elapsed.as_secs_f64(),
        per_second(loaded.items, elapsed),
        peak_mb(),
    );
    Ok(())
}
