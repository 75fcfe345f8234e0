//! `ddb-bench`: the end-to-end throughput harness.
//!
//! `ddb-bench e2e [--items N] [--log-fraction F] [--cut-fraction C] [--out DIR]
//! [--backends both|std|io_uring] [--partitions P] [--zstd-level L] [--seed S]`
//! (defaults 2000000, 0.25, 0.9, `target/e2e`, both, 2, 3):
//! 1. **generate** (timed, not scored) in `DIR/data`: a last full snapshot of N orders
//!    (~480-byte DynamoDB JSON items, `pk` = `user#%09d`, `sk` = `order#%013d`) written with the
//!    snapshot writer, and a change log of M = round(N·F) mutations since it (70 % updates, 20 %
//!    inserts, 10 % deletes; seeded) written with the log writer; the same logical data for peer
//!    tools as `peers/snapshot.parquet` (`pk`, `sk`, `item`) and `peers/log.parquet` (`seq`,
//!    `pk`, `sk`, `op`, `item`); and `workload.json` with the cut (log record floor(M·C)) and
//!    what the table holds there, computed without the engine;
//! 2. **backup**, once per backend, in a child process: snapshot ⊕ log up to the cut → zstd-L
//!    Parquet artifacts + manifest (`ddb_backup::build`, P partitions) in `DIR/backup-<backend>`,
//!    whose row count and item bytes must equal the workload's;
//! 3. **restore**, once per backend, in a child process: RestoreTableFromBackup of that backup
//!    directory into a fresh database `DIR/restore-<backend>`: seconds to ACTIVE (the LSI
//!    `by_updated` is built before) and to the GSI `by_merchant` ACTIVE; the restored counts must
//!    equal the workload's;
//! 4. **report**: `DIR/report.json` (shape in `ddb_bench::e2e::report`), a summary on stdout,
//!    and the chart `DIR/throughput.svg`.
//!
//! The io_uring runs are skipped, with a `SKIPPED` line on stderr, when the kernel refuses
//! io_uring. Each child's peak RSS (`VmHWM`) is its stage's alone. MB are 10^6 bytes; MB/s
//! counts the canonical item JSON bytes at the cut.
//!
//! `ddb-bench plot --report DIR/report.json [--peers DIR/peers.json] --out DIR/throughput.svg`:
//! the SVG bar chart of MB/s (and peak RSS) per stage, one bar per engine/backend, with the
//! peers' runs (`"engine": "duckdb" | "polars"`, stages `backup` and `restore_lsi_gsi_sort`) when
//! a peers file is given.
//!
//! `ddb-bench e2e-child …` (hidden) is one stage's child process.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};
use ddb_bench::e2e::{self, Backend, stages};

#[derive(Debug, Parser)]
#[command(name = "ddb-bench", about = "The end-to-end throughput harness")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Backends {
    Both,
    Std,
    #[value(name = "io_uring", alias = "uring")]
    IoUring,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Generate the workload, back it up and restore it per backend, report and plot.
    E2e {
        /// Rows of the last full snapshot.
        #[arg(long, default_value_t = 2_000_000)]
        items: u64,
        /// Log records since the snapshot, as a fraction of the items.
        #[arg(long, default_value_t = 0.25)]
        log_fraction: f64,
        /// Where the backup's cut falls in the log (the last record at or before it).
        #[arg(long, default_value_t = 0.9)]
        cut_fraction: f64,
        /// Output directory (its `data/`, backups and restores are replaced).
        #[arg(long, default_value = "target/e2e")]
        out: PathBuf,
        #[arg(long, value_enum, default_value_t = Backends::Both)]
        backends: Backends,
        /// Key-range partitions of the backup's merge.
        #[arg(long, default_value_t = 2)]
        partitions: usize,
        /// zstd level of the backup's Parquet artifacts.
        #[arg(long, default_value_t = 3)]
        zstd_level: i32,
        /// Seed of the mutation generator.
        #[arg(long, default_value_t = e2e::generate::DEFAULT_SEED)]
        seed: u64,
    },
    /// Draw a report's runs (and a peers file's) as an SVG bar chart.
    Plot {
        #[arg(long)]
        report: PathBuf,
        /// `peers.json`: runs of peer tools, in the report's `runs` shape.
        #[arg(long)]
        peers: Option<PathBuf>,
        #[arg(long)]
        out: PathBuf,
    },
    /// One scored stage in its own process (run by `e2e`).
    #[command(name = "e2e-child", hide = true)]
    E2eChild {
        #[arg(long)]
        stage: String,
        #[arg(long)]
        backend: String,
        #[arg(long)]
        out: PathBuf,
        #[arg(long)]
        partitions: usize,
        #[arg(long)]
        zstd_level: i32,
        #[arg(long)]
        result: PathBuf,
    },
}

fn run(cli: Cli) -> e2e::Result<()> {
    match cli.command {
        Command::E2e {
            items,
            log_fraction,
            cut_fraction,
            out,
            backends,
            partitions,
            zstd_level,
            seed,
        } => {
            let backends = match backends {
                Backends::Both => vec![Backend::Std, Backend::IoUring],
                Backends::Std => vec![Backend::Std],
                Backends::IoUring => vec![Backend::IoUring],
            };
            let config = e2e::Config {
                items,
                log_fraction,
                cut_fraction,
                out,
                backends,
                partitions,
                zstd_level,
                seed,
                command: std::env::args().collect::<Vec<_>>().join(" "),
            };
            e2e::run(&config, &std::env::current_exe()?)?;
            Ok(())
        }
        Command::Plot { report, peers, out } => {
            e2e::plot::plot_files(&report, peers.as_deref(), &out)?;
            println!("chart: {}", out.display());
            Ok(())
        }
        Command::E2eChild {
            stage,
            backend,
            out,
            partitions,
            zstd_level,
            result,
        } => stages::run_child(&stages::ChildArgs {
            stage: stages::Stage::parse(&stage)?,
            backend: Backend::parse(&backend)?,
            out,
            partitions,
            zstd_level,
            result,
        }),
    }
}

/// mimalloc, as `ddbfmt` uses: see the workspace Cargo.toml for why the binaries choose it.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("ddb-bench: {e}");
            ExitCode::FAILURE
        }
    }
}
