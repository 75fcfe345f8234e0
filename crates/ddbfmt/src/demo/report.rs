//! The demo's closing summary.

use std::io::Write;
use std::path::{Path, PathBuf};

/// The load stage.
#[derive(Debug, Default, Clone, Copy)]
pub struct Load {
    /// Canonical item JSON bytes loaded.
    pub bytes: u64,
    pub seconds: f64,
}

/// One restore: the table's size when it turned ACTIVE and the times from the request.
#[derive(Debug, Default, Clone, Copy)]
pub struct Restore {
    pub items: u64,
    pub active_s: f64,
    pub gsis_s: f64,
}

/// Everything the summary prints.
#[derive(Debug)]
pub struct Summary {
    dir: PathBuf,
    items: u64,
    pub load: Option<Load>,
    backup_dir: Option<PathBuf>,
    backup_rows: u64,
    backup_item_bytes: u64,
    backup_artifact_bytes: u64,
    backup_s: f64,
    pub restore: Option<Restore>,
    pub pitr: Option<Restore>,
    pub total_s: f64,
    pub peak_rss_mb: Option<f64>,
}

/// `ddbfmt`'s own path, for the commands the summary suggests.
fn ddbfmt() -> String {
    "cargo run --release -p ddbfmt --".to_owned()
}

fn mb(bytes: u64) -> f64 {
    bytes as f64 / 1e6
}

fn mb_per_s(bytes: u64, seconds: f64) -> f64 {
    mb(bytes) / seconds.max(1e-9)
}

impl Summary {
    pub fn new(dir: &Path, items: u64) -> Summary {
        Summary {
            dir: dir.to_owned(),
            items,
            load: None,
            backup_dir: None,
            backup_rows: 0,
            backup_item_bytes: 0,
            backup_artifact_bytes: 0,
            backup_s: 0.0,
            restore: None,
            pitr: None,
            total_s: 0.0,
            peak_rss_mb: None,
        }
    }

    pub fn backup(&mut self, manifest: &ddb_backup::BackupManifest, dir: &Path, seconds: f64) {
        self.backup_dir = Some(dir.to_owned());
        self.backup_rows = manifest.totals.rows;
        self.backup_item_bytes = manifest.totals.item_bytes;
        self.backup_artifact_bytes = manifest.totals.artifact_bytes;
        self.backup_s = seconds;
    }

    /// Prints the table of figures and where the files are (`removed`: the database was in a
    /// temporary directory that is removed now).
    pub fn print(&self, out: &mut dyn Write, removed: bool) -> std::io::Result<()> {
        let rows: Vec<(String, String)> = self.rows();
        let width = rows
            .iter()
            .map(|(k, _)| k.chars().count())
            .max()
            .unwrap_or(0);
        writeln!(out)?;
        writeln!(out, "summary")?;
        for (name, value) in &rows {
            writeln!(out, "  {name:<width$}  {value}")?;
        }
        writeln!(out)?;
        if removed {
            writeln!(
                out,
                "the database was in a temporary directory and is removed; run with --keep (or --data-dir DIR) to keep it and look at it with:"
            )?;
        } else {
            writeln!(
                out,
                "files: the database is in {}; look at it with:",
                self.dir.display()
            )?;
        }
        let backup = self
            .backup_dir
            .as_ref()
            .map_or_else(|| "<backup dir>".to_owned(), |d| d.display().to_string());
        let db = self.dir.display();
        for line in [
            format!("{} verify --deep {backup}", ddbfmt()),
            format!("{} inspect {backup}", ddbfmt()),
            format!("{} verify {db}", ddbfmt()),
            format!("{} --data-dir {db} list-tables", ddbfmt()),
            format!(
                "{} --data-dir {db} describe-table --table-name Orders-restored",
                ddbfmt()
            ),
            format!("{} --data-dir {db} list-backups", ddbfmt()),
        ] {
            writeln!(out, "  {line}")?;
        }
        Ok(())
    }

    fn rows(&self) -> Vec<(String, String)> {
        let mut rows = vec![("orders loaded".to_owned(), self.items.to_string())];
        if let Some(load) = self.load {
            rows.push((
                "item bytes loaded".into(),
                format!("{:.1} MB (canonical DynamoDB JSON)", mb(load.bytes)),
            ));
            rows.push((
                "load".into(),
                format!(
                    "{:.1} s, {:.0} items/s, {:.1} MB/s",
                    load.seconds,
                    self.items as f64 / load.seconds.max(1e-9),
                    mb_per_s(load.bytes, load.seconds)
                ),
            ));
        }
        rows.push((
            "backup".into(),
            format!(
                "{} rows, {:.1} MB of items → {:.1} MB of zstd Parquet, {:.2} s from request to AVAILABLE, {:.1} MB/s",
                self.backup_rows,
                mb(self.backup_item_bytes),
                mb(self.backup_artifact_bytes),
                self.backup_s,
                mb_per_s(self.backup_item_bytes, self.backup_s)
            ),
        ));
        for (name, restore) in [
            ("restore", self.restore),
            ("point-in-time restore", self.pitr),
        ] {
            let Some(restore) = restore else { continue };
            rows.push((
                format!("{name}: time to ACTIVE"),
                format!(
                    "{:.2} s with both LSIs ({} items, {:.1} MB/s of backup item bytes)",
                    restore.active_s,
                    restore.items,
                    mb_per_s(self.backup_item_bytes, restore.active_s)
                ),
            ));
            rows.push((
                format!("{name}: all GSIs ACTIVE"),
                format!("{:.2} s from the request", restore.gsis_s),
            ));
        }
        rows.push(("total".into(), format!("{:.1} s", self.total_s)));
        rows.push((
            "peak RSS".into(),
            self.peak_rss_mb.map_or_else(
                || "unknown".to_owned(),
                |m| format!("{m:.0} MB (the whole demo process: load, writer, backup, restores)"),
            ),
        ));
        rows
    }
}

/// The process's peak resident set (`VmHWM`), in MB.
pub fn peak_rss_mb() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024.0 / 1e6)
}

/// `us` (µs since the epoch) as ISO 8601 UTC with milliseconds, and the µs.
pub fn rfc3339_us(us: u64) -> String {
    format!("{} ({us} µs since the epoch)", crate::time::iso8601_ms(us))
}
