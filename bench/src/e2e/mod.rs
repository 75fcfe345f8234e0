//! The end-to-end throughput harness (`ddb-bench e2e`): generate a workload (a last snapshot
//! and a change log since it, plus the same data as Parquet for peer tools), back it up at an
//! exact cut and restore the backup, once per I/O backend, each scored stage in a child process;
//! then `report.json`, a summary on stdout and `throughput.svg`.
//!
//! - [`generate`]: the workload and `workload.json` (what the table holds at the cut, computed
//!   without the engine);
//! - [`mix`]: the mutation mix and the per-key bookkeeping behind those counts;
//! - [`peers`]: `snapshot.parquet` and `log.parquet` for DuckDB/Polars;
//! - [`source`]: the table (LSI `by_updated`, GSI `by_merchant`) and the backup request;
//! - [`stages`]: the backup and restore children and the checks of their outputs;
//! - [`report`]: `report.json` and the summary; [`plot`]: the SVG chart.
//!
//! Layout of the output directory: `data/{snapshot,log,peers,workload.json}`,
//! `backup-<backend>/` (a backup directory), `restore-<backend>/` (a database with the table
//! `restored`), `runs/<stage>-<backend>.json` (what each child measured), `report.json`,
//! `throughput.svg`.

pub mod generate;
pub mod mix;
pub mod peers;
pub mod plot;
pub mod report;
pub mod source;
pub mod stages;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Instant, SystemTime};

use ddb_io::{BackendChoice, Io, select_backend};

use generate::Params;
use stages::{BackupResult, ChildArgs, RestoreResult, Stage};

/// Errors of the harness: any error, with a message that says where.
pub type Error = Box<dyn std::error::Error + Send + Sync>;
pub type Result<T> = std::result::Result<T, Error>;

/// `x` as a float, for rates and sizes in reports (exact below 2^53, close enough beyond).
#[allow(clippy::cast_precision_loss)]
pub fn f64_of(x: u64) -> f64 {
    x as f64
}

/// An I/O backend of the engine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Std,
    IoUring,
}

impl Backend {
    pub fn name(self) -> &'static str {
        match self {
            Backend::Std => "std",
            Backend::IoUring => "io_uring",
        }
    }

    pub fn parse(name: &str) -> Result<Self> {
        match name {
            "std" => Ok(Backend::Std),
            "io_uring" | "uring" => Ok(Backend::IoUring),
            other => Err(format!("unknown backend {other}: std | io_uring").into()),
        }
    }

    /// The backend, or why the kernel refuses it.
    pub fn io(self) -> Result<Arc<dyn Io>> {
        let choice = match self {
            Backend::Std => BackendChoice::Std,
            Backend::IoUring => BackendChoice::IoUring,
        };
        Ok(select_backend(choice)?)
    }
}

/// What `ddb-bench e2e` runs.
#[derive(Debug, Clone)]
pub struct Config {
    pub items: u64,
    pub log_fraction: f64,
    pub cut_fraction: f64,
    pub out: PathBuf,
    pub backends: Vec<Backend>,
    pub partitions: usize,
    pub zstd_level: i32,
    pub seed: u64,
    /// The command line, recorded in the report.
    pub command: String,
}

/// Runs the whole harness; `exe` is the `ddb-bench` binary the children run.
pub fn run(config: &Config, exe: &Path) -> Result<report::Report> {
    let started_at = report::rfc3339(SystemTime::now());
    if config.partitions == 0 {
        return Err("--partitions must be at least 1".into());
    }
    std::fs::create_dir_all(&config.out).map_err(|e| format!("{}: {e}", config.out.display()))?;
    let out = std::fs::canonicalize(&config.out)?;

    let params = Params {
        items: config.items,
        log_fraction: config.log_fraction,
        cut_fraction: config.cut_fraction,
        seed: config.seed,
    };
    let generated = Instant::now();
    let workload = generate::generate(&out.join("data"), &params)?;
    eprintln!(
        "generated {} items and {} mutations (cut at record {}: {} rows, {:.1} MB of items) in \
         {:.1} s",
        workload.items,
        workload.mutations,
        workload.cut_seq,
        workload.rows_at_cut,
        f64_of(workload.item_bytes_at_cut) / 1e6,
        generated.elapsed().as_secs_f64()
    );

    let mut backends = Vec::new();
    for &backend in &config.backends {
        match backend.io() {
            Ok(_) => backends.push(backend),
            Err(why) => eprintln!(
                "SKIPPED: the {} backend's backup and restore: the kernel refuses it: {why}",
                backend.name()
            ),
        }
    }
    let child = |stage: Stage, backend: Backend| ChildArgs {
        stage,
        backend,
        out: out.clone(),
        partitions: config.partitions,
        zstd_level: config.zstd_level,
        result: out
            .join("runs")
            .join(format!("{}-{}.json", stage.name(), backend.name())),
    };
    let mut runs = Vec::new();
    for &backend in &backends {
        let result: BackupResult = stages::spawn(exe, &child(Stage::Backup, backend))?;
        // The child checked its manifest; check what it reports too.
        stages::check_backup(&workload, result.rows, result.item_bytes)?;
        runs.push(report::run(
            &workload,
            "backup",
            backend.name(),
            result.seconds,
            result.peak_rss_kib,
            Some(result.output_bytes),
        ));
    }
    let mut restores = Vec::new();
    for &backend in &backends {
        let result: RestoreResult = stages::spawn(exe, &child(Stage::Restore, backend))?;
        if result.item_count != workload.rows_at_cut {
            return Err(format!(
                "MISMATCH: the restored table holds {} items, the workload {} at the cut",
                result.item_count, workload.rows_at_cut
            )
            .into());
        }
        restores.push(report::run(
            &workload,
            "restore_active",
            backend.name(),
            result.active_seconds,
            result.active_peak_rss_kib,
            None,
        ));
        restores.push(report::run(
            &workload,
            "restore_gsi_active",
            backend.name(),
            result.gsi_active_seconds,
            result.gsi_peak_rss_kib,
            Some(result.output_bytes),
        ));
    }
    // Grouped by stage: every backend's restore_active, then every restore_gsi_active.
    restores.sort_by_key(|r| r.stage != "restore_active");
    runs.extend(restores);

    let report = report::Report {
        harness: report::HARNESS.to_owned(),
        version: report::VERSION,
        command: config.command.clone(),
        started_at,
        machine: report::machine(&out),
        workload,
        runs,
    };
    report::write(&report, &out.join("report.json"))?;
    print!("{}", report::summary(&report));
    let svg = out.join("throughput.svg");
    plot::plot(&report, None, &svg)?;
    println!("report: {}", out.join("report.json").display());
    println!("chart:  {}", svg.display());
    Ok(report)
}
