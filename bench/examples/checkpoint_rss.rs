//! Peak RSS of a checkpoint of N and of 10·N rows, to check that the merge's memory stays flat
//! as the table grows (it is bounded by the memory budget, not the table).
//!
//! `cargo run --release -p ddb-bench --example checkpoint_rss -- [N] [budget MiB] [partitions]`
//! (defaults 100000, 16, 2). For each size one child process writes the input snapshot and
//! another runs the checkpoint, so the second's peak RSS (`VmHWM`) is the checkpoint's alone,
//! with nothing left over from generating the input. Files go to `$DDB_BENCH_DIR` or a tempdir.

use std::error::Error;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::Instant;

use ddb_bench::checkpoint::{
    TABLE_ID, attributes, log_end, log_records, proc_status_kib, write_snapshot,
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

/// Child 1: writes the input snapshot of `rows` rows into `dir/old`.
fn write_input(dir: &Path, rows: u64) -> Result<(), Box<dyn Error>> {
    let io: Arc<dyn Io> = select_backend(BackendChoice::Std)?;
    let started = Instant::now();
    let files = write_snapshot(&io, &dir.join("old"), rows)?.files.len();
    println!(
        "rows {rows:>9}: input snapshot written in {:.2} s, {files} files",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// Child 2: checkpoints `dir/old` plus the generated log into `dir/new`.
fn run_checkpoint(
    dir: &Path,
    rows: u64,
    budget_mib: u64,
    partitions: u64,
) -> Result<(), Box<dyn Error>> {
    let io: Arc<dyn Io> = select_backend(BackendChoice::Std)?;
    let rss_before = proc_status_kib("VmRSS")?;
    let options = CheckpointOptions {
        merge: MergeOptions {
            partitions: usize::try_from(partitions)?,
            memory_budget_bytes: usize::try_from(budget_mib << 20)?,
            spill_dir: dir.join("spill"),
        },
        writer: WriterOptions::new(TABLE_ID, 0, attributes()),
    };
    let started = Instant::now();
    let done = checkpoint(
        Arc::clone(&io),
        Some(&dir.join("old")),
        log_records(rows).map(Ok::<_, LogError>),
        log_end(rows),
        &dir.join("new"),
        &options,
    )?;
    let secs = started.elapsed().as_secs_f64();
    let peak = proc_status_kib("VmHWM")?;
    let out_rows = done.fingerprint.items;
    println!(
        "rows {rows:>9}  log {:>8}  P {partitions}  budget {budget_mib} MiB  spilled runs {:>3} (merges {}, final {} ≤ {})  \
         out rows {out_rows:>9}  checkpoint {secs:6.2} s ({:>9.0} rows/s)  \
         peak RSS {peak:>7} KiB (at start {rss_before} KiB)",
        rows / 5,
        done.merge.spilled_runs,
        done.merge.run_merges,
        done.merge.final_runs,
        done.merge.fan_in_limit,
        out_rows as f64 / secs,
    );
    Ok(())
}

fn run_child(args: &[&str]) -> Result<(), Box<dyn Error>> {
    let status = Command::new(std::env::current_exe()?).args(args).status()?;
    if !status.success() {
        return Err(format!("{args:?} failed: {status}").into());
    }
    Ok(())
}

fn main() -> Result<(), Box<dyn Error>> {
    let args: Vec<String> = std::env::args().collect();
    let dir_arg = |i: usize| args.get(i).map(PathBuf::from).ok_or("missing directory");
    match args.get(1).map(String::as_str) {
        Some("--write") => return write_input(&dir_arg(2)?, arg(&args, 3, 0)?),
        Some("--checkpoint") => {
            return run_checkpoint(
                &dir_arg(2)?,
                arg(&args, 3, 0)?,
                arg(&args, 4, 16)?,
                arg(&args, 5, 2)?,
            );
        }
        _ => {}
    }
    let rows = arg(&args, 1, 100_000)?;
    let budget = arg(&args, 2, 16)?.to_string();
    let partitions = arg(&args, 3, 2)?.to_string();
    for size in [rows, 10 * rows] {
        let dir = ddb_bench::bench_dir()?;
        let path = dir.path().to_str().ok_or("a UTF-8 directory name")?;
        let size = size.to_string();
        run_child(&["--write", path, &size])?;
        run_child(&["--checkpoint", path, &size, &budget, &partitions])?;
    }
    Ok(())
}
