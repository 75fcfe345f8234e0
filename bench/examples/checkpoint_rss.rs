//! Peak RSS of a checkpoint of N and of 10·N rows, to check that the merge's memory stays flat
//! as the table grows (it is bounded by the memory budget, not the table).
//!
//! `cargo run --release -p ddb-bench --example checkpoint_rss -- [N] [budget MiB] [partitions]`
//! (defaults 100000, 16, 2). Each size runs in a child process of its own, because the peak
//! RSS (`VmHWM`) is per process; it is reset after the input snapshot is written, so the
//! number is the checkpoint's alone. Files go to `$DDB_BENCH_DIR` or a tempdir.

use std::error::Error;
use std::process::Command;
use std::sync::Arc;
use std::time::Instant;

use ddb_bench::checkpoint::{
    TABLE_ID, attributes, log_end, log_records, proc_status_kib, reset_peak_rss, write_snapshot,
};
use ddb_io::{BackendChoice, Io, select_backend};
use ddb_log::LogError;
use ddb_merge::{CheckpointOptions, MergeOptions, checkpoint};
use ddb_snapshot::WriterOptions;

fn arg(args: &[String], index: usize, default: u64) -> Result<u64, Box<dyn Error>> {
    Ok(match args.get(index) {
        Some(text) => text.parse()?,
        None => default,
    })
}

fn child(rows: u64, budget_mib: u64, partitions: u64) -> Result<(), Box<dyn Error>> {
    let io: Arc<dyn Io> = select_backend(BackendChoice::Std)?;
    let dir = ddb_bench::bench_dir()?;
    let old = dir.path().join("old");
    let new = dir.path().join("new");
    let written = Instant::now();
    write_snapshot(&io, &old, rows)?;
    let write_secs = written.elapsed().as_secs_f64();
    reset_peak_rss()?;
    let rss_before = proc_status_kib("VmRSS")?;
    let options = CheckpointOptions {
        merge: MergeOptions {
            partitions: usize::try_from(partitions)?,
            memory_budget_bytes: usize::try_from(budget_mib << 20)?,
            spill_dir: dir.path().join("spill"),
        },
        writer: WriterOptions::new(TABLE_ID, 0, attributes()),
    };
    let started = Instant::now();
    let done = checkpoint(
        Arc::clone(&io),
        Some(&old),
        log_records(rows).map(Ok::<_, LogError>),
        log_end(rows),
        &new,
        &options,
    )?;
    let secs = started.elapsed().as_secs_f64();
    let peak = proc_status_kib("VmHWM")?;
    let out_rows = done.fingerprint.items;
    println!(
        "rows {rows:>9}  log {:>8}  P {partitions}  budget {budget_mib} MiB  spilled runs {:>3} (merges {}, final {} ≤ {})  \
         out rows {out_rows:>9}  checkpoint {secs:6.2} s ({:>9.0} rows/s)  \
         peak RSS {:>7} KiB (RSS before {rss_before} KiB)  [snapshot write {write_secs:.2} s]",
        rows / 5,
        done.merge.spilled_runs,
        done.merge.run_merges,
        done.merge.final_runs,
        done.merge.fan_in_limit,
        out_rows as f64 / secs,
        peak,
    );
    Ok(())
}

fn main() -> Result<(), Box<dyn Error>> {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("--child") {
        return child(arg(&args, 2, 0)?, arg(&args, 3, 16)?, arg(&args, 4, 2)?);
    }
    let rows = arg(&args, 1, 100_000)?;
    let budget = arg(&args, 2, 16)?;
    let partitions = arg(&args, 3, 2)?;
    for size in [rows, 10 * rows] {
        let status = Command::new(std::env::current_exe()?)
            .args(["--child", &size.to_string(), &budget.to_string()])
            .arg(partitions.to_string())
            .status()?;
        if !status.success() {
            return Err(format!("the run of {size} rows failed: {status}").into());
        }
    }
    Ok(())
}
