//! `report.json` (read by other tools: keep its shape) and the summary printed to stdout.
//!
//! ```text
//! {"harness":"ddb-bench e2e","version":1,"command":"…","started_at":"<RFC 3339 UTC>",
//!  "machine":{"cpus":2,"cpu_model":"…","mem_total_gib":23.4,"kernel":"<uname -r>","filesystem":"ext4"},
//!  "workload":{…workload.json…},
//!  "runs":[{"engine":"ddb","stage":"backup","backend":"io_uring","seconds":1.9,"rows_per_s":…,
//!           "mb_per_s":…,"peak_rss_mb":…,"output_bytes":…}, …]}
//! ```
//! Stages: `backup`, `restore_active` (RestoreTableFromBackup → table ACTIVE, LSI built),
//! `restore_gsi_active` (→ the GSI ACTIVE). MB are 10^6 bytes; `mb_per_s` counts the canonical
//! item JSON bytes at the cut over the stage's seconds; `peak_rss_mb` is the child's `VmHWM`.

use std::fmt::Write as _;
use std::path::Path;
use std::time::SystemTime;

use serde::{Deserialize, Serialize};

use super::generate::Workload;
use super::{Result, f64_of};

pub const HARNESS: &str = "ddb-bench e2e";
pub const VERSION: u32 = 1;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    pub harness: String,
    pub version: u32,
    pub command: String,
    pub started_at: String,
    pub machine: Machine,
    pub workload: Workload,
    pub runs: Vec<Run>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Machine {
    pub cpus: usize,
    pub cpu_model: String,
    pub mem_total_gib: f64,
    pub kernel: String,
    /// The type of the filesystem holding the output directory.
    pub filesystem: String,
}

/// One measured stage of one engine on one backend.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Run {
    pub engine: String,
    pub stage: String,
    #[serde(default)]
    pub backend: String,
    pub seconds: f64,
    #[serde(default)]
    pub rows_per_s: f64,
    pub mb_per_s: f64,
    #[serde(default)]
    pub peak_rss_mb: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output_bytes: Option<u64>,
}

/// Only `runs` of a `peers.json` (the same shape as ours; other members are ignored).
#[derive(Debug, Clone, Deserialize)]
pub struct Peers {
    pub runs: Vec<Run>,
}

fn round(x: f64, decimals: i32) -> f64 {
    let scale = 10f64.powi(decimals);
    (x * scale).round() / scale
}

/// A run of `stage` that took `seconds` over the workload's rows and item bytes at the cut.
pub fn run(
    workload: &Workload,
    stage: &str,
    backend: &str,
    seconds: f64,
    peak_rss_kib: u64,
    output_bytes: Option<u64>,
) -> Run {
    let seconds = seconds.max(1e-9);
    Run {
        engine: "ddb".to_owned(),
        stage: stage.to_owned(),
        backend: backend.to_owned(),
        seconds: round(seconds, 3),
        rows_per_s: round(f64_of(workload.rows_at_cut) / seconds, 0),
        mb_per_s: round(f64_of(workload.item_bytes_at_cut) / 1e6 / seconds, 1),
        peak_rss_mb: round(f64_of(peak_rss_kib) * 1024.0 / 1e6, 1),
        output_bytes,
    }
}

/// The machine, from `/proc` (and the mount table for the output directory's filesystem).
pub fn machine(out: &Path) -> Machine {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let cpu_model = cpuinfo
        .lines()
        .find_map(|l| {
            let (name, value) = l.split_once(':')?;
            (name.trim() == "model name").then(|| value.trim().to_owned())
        })
        .unwrap_or_else(|| "unknown".to_owned());
    let mem_kib = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| {
            m.lines().find_map(|l| {
                l.strip_prefix("MemTotal:")?
                    .trim()
                    .trim_end_matches("kB")
                    .trim()
                    .parse::<u64>()
                    .ok()
            })
        })
        .unwrap_or(0);
    Machine {
        cpus: std::thread::available_parallelism().map_or(1, std::num::NonZero::get),
        cpu_model,
        mem_total_gib: round(f64_of(mem_kib) / f64_of(1 << 20), 1),
        kernel: std::fs::read_to_string("/proc/sys/kernel/osrelease")
            .map_or_else(|_| "unknown".to_owned(), |k| k.trim().to_owned()),
        filesystem: filesystem(out).unwrap_or_else(|| "unknown".to_owned()),
    }
}

/// The type of the filesystem `path` is on: the longest mount point of `/proc/self/mountinfo`
/// that contains it.
fn filesystem(path: &Path) -> Option<String> {
    let path = std::fs::canonicalize(path).ok()?;
    let mountinfo = std::fs::read_to_string("/proc/self/mountinfo").ok()?;
    mountinfo
        .lines()
        .filter_map(|line| {
            // `id parent dev root MOUNT_POINT options… - FSTYPE source options`
            let mount_point = line.split(' ').nth(4)?.replace("\\040", " ");
            let fstype = line.split_once(" - ")?.1.split(' ').next()?;
            path.starts_with(&mount_point)
                .then(|| (mount_point.len(), fstype.to_owned()))
        })
        .max_by_key(|(len, _)| *len)
        .map(|(_, fstype)| fstype)
}

/// `time` as RFC 3339 UTC with seconds (`2026-12-02T08:30:00Z`).
pub fn rfc3339(time: SystemTime) -> String {
    let secs = time
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let days = i64::try_from(secs / 86_400).unwrap_or(0);
    let rest = secs % 86_400;
    // Civil date from days since 1970-01-01 (H. Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rest / 3600,
        rest / 60 % 60,
        rest % 60
    )
}

/// Writes `report.json` (pretty, one member a line).
pub fn write(report: &Report, path: &Path) -> Result<()> {
    std::fs::write(path, serde_json::to_string_pretty(report)? + "\n")
        .map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(())
}

pub fn read(path: &Path) -> Result<Report> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?)
}

/// The human summary: the workload, then one line per run.
pub fn summary(report: &Report) -> String {
    let w = &report.workload;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{} — {} items + {} mutations ({} updates, {} inserts, {} deletes); cut at log record {} \
         (LSN {}): {} rows, {:.1} MB of item JSON",
        report.harness,
        w.items,
        w.mutations,
        w.updates,
        w.inserts,
        w.deletes,
        w.cut_seq,
        w.cut_lsn,
        w.rows_at_cut,
        f64_of(w.item_bytes_at_cut) / 1e6
    );
    let m = &report.machine;
    let _ = writeln!(
        out,
        "machine: {} cpus ({}), {} GiB, kernel {}, {}",
        m.cpus, m.cpu_model, m.mem_total_gib, m.kernel, m.filesystem
    );
    let _ = writeln!(
        out,
        "{:<20} {:<9} {:>9} {:>11} {:>9} {:>12} {:>10}",
        "stage", "backend", "seconds", "rows/s", "MB/s", "peak RSS MB", "output MB"
    );
    for r in &report.runs {
        let output = r
            .output_bytes
            .map_or_else(|| "-".to_owned(), |b| format!("{:.1}", f64_of(b) / 1e6));
        let _ = writeln!(
            out,
            "{:<20} {:<9} {:>9.3} {:>11.0} {:>9.1} {:>12.1} {:>10}",
            r.stage, r.backend, r.seconds, r.rows_per_s, r.mb_per_s, r.peak_rss_mb, output
        );
    }
    out
}
