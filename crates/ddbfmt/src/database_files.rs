//! `inspect`, `dump` and `verify` of a database directory and of its state files (`CATALOG`,
//! `CURRENT`). The checks live in `ddb_table::verify`; this module prints them.

use std::io::Write;
use std::path::Path;
use std::sync::Arc;

use ddb_io::Io;
use ddb_table::verify::{DatabaseReport, verify_database};
use serde_json::{Value, json};

use crate::files::Outcome;

fn io_err(e: std::io::Error) -> String {
    e.to_string()
}

fn outcome(sound: bool) -> Outcome {
    if sound {
        Outcome::Sound
    } else {
        Outcome::Damaged
    }
}

/// Whether `bytes` end like a state file (a checksum line).
pub fn looks_like_state_file(bytes: &[u8]) -> bool {
    let Some(start) = bytes.len().checked_sub(26) else {
        return false;
    };
    bytes
        .get(start..)
        .is_some_and(|tail| tail.starts_with(b"#xxh3-64:"))
}

fn report_json(report: &DatabaseReport) -> Value {
    json!({
        "database": report.root.display().to_string(),
        "sound": report.is_sound(),
        "tables": report.tables.iter().map(|t| json!({
            "name": t.name,
            "id": t.id,
            "status": t.status,
            "dir": t.dir.display().to_string(),
            "checkpoint_lsn": t.current.as_ref().map(|c| c.lsn),
            "items": t.current.as_ref().map(|c| c.stats.items),
            "indexes": t.current.as_ref().map(|c| c.indexes.iter().collect::<Vec<_>>()),
            "log_segments": t.log_segments,
            "log_first_lsn": t.log_first_lsn,
            "log_last_lsn": t.log_last_lsn,
            "snapshots": t.snapshots.iter().map(|s| json!({
                "name": s.name, "dir": s.dir.display().to_string(),
                "files": s.files, "rows": s.rows,
            })).collect::<Vec<_>>(),
        })).collect::<Vec<_>>(),
        "backups": report.backups.iter().map(|b| json!({
            "dir": b.dir.display().to_string(),
            "status": b.status,
            "name": b.name,
            "table": b.table,
            "marker_lsn": b.marker_lsn,
            "artifacts": b.artifacts,
            "rows": b.rows,
        })).collect::<Vec<_>>(),
        "audit": report.audit.as_ref().map(|a| json!({
            "path": a.path.display().to_string(),
            "records": a.records,
            "head": format!("{}:{}", a.head.0, a.head.1),
        })),
        "findings": report.findings.iter().map(|f| json!({
            "path": f.path.display().to_string(),
            "message": f.message,
            "recoverable": f.recoverable,
        })).collect::<Vec<_>>(),
    })
}

fn write_report(out: &mut dyn Write, report: &DatabaseReport, deep: bool) -> std::io::Result<()> {
    for table in &report.tables {
        let lsn = table.current.as_ref().map_or(0, |c| c.lsn);
        writeln!(
            out,
            "table {} ({}) {}: checkpoint at LSN {lsn}, log {} segment(s) LSN {}..{}, dir {}",
            table.name,
            table.id,
            table.status,
            table.log_segments,
            table
                .log_first_lsn
                .map_or("-".to_owned(), |l| l.to_string()),
            table.log_last_lsn.map_or("-".to_owned(), |l| l.to_string()),
            table.dir.display()
        )?;
        for snapshot in &table.snapshots {
            writeln!(
                out,
                "  snapshot {}: {} file(s), {} row(s) in {}",
                snapshot.name,
                snapshot.files,
                snapshot.rows,
                snapshot.dir.display()
            )?;
        }
    }
    for backup in &report.backups {
        writeln!(
            out,
            "backup {} {} of {} at LSN {}: {} artifact(s), {} row(s) checked, dir {}",
            backup.name.as_deref().unwrap_or("-"),
            backup.status,
            backup.table.as_deref().unwrap_or("-"),
            backup.marker_lsn.map_or("-".to_owned(), |l| l.to_string()),
            backup.artifacts,
            backup.rows,
            backup.dir.display()
        )?;
    }
    if let Some(audit) = &report.audit {
        writeln!(
            out,
            "audit log {}: {} record(s), head {}:{}",
            audit.path.display(),
            audit.records,
            audit.head.0,
            audit.head.1
        )?;
    }
    for finding in &report.findings {
        let what = if finding.recoverable {
            "recoverable"
        } else {
            "damage"
        };
        writeln!(out, "{what}: {finding}")?;
    }
    let checked = if deep {
        "catalog, CURRENT files, every log frame, every snapshot block and the audit log checked"
    } else {
        "catalog, CURRENT files, log segments, snapshot manifests, file hashes and the audit log checked"
    };
    if report.is_sound() {
        writeln!(
            out,
            "OK: {}: {} table(s); {checked}",
            report.root.display(),
            report.tables.len()
        )
    } else {
        writeln!(
            out,
            "DAMAGED: {}: {} finding(s)",
            report.root.display(),
            report.findings.len()
        )
    }
}

/// `verify` (and `inspect`, which is a shallow verify that prints the layout) of a database.
pub fn verify(
    io: &Arc<dyn Io>,
    root: &Path,
    deep: bool,
    as_json: bool,
    out: &mut dyn Write,
) -> Result<Outcome, String> {
    let report = verify_database(Arc::clone(io), root, deep);
    if as_json {
        writeln!(out, "{}", report_json(&report)).map_err(io_err)?;
    } else {
        write_report(out, &report, deep).map_err(io_err)?;
    }
    Ok(outcome(report.is_sound()))
}

/// Reads a state file and checks it; the JSON document on success.
fn load_state_file(io: &dyn Io, path: &Path) -> Result<Result<Value, String>, String> {
    let file = io
        .open(path, ddb_io::OpenOptions::read_only())
        .map_err(io_err)?;
    let len = usize::try_from(file.len().map_err(io_err)?).map_err(|e| e.to_string())?;
    let mut bytes = vec![0; len];
    file.read_exact_at(&mut bytes, 0).map_err(io_err)?;
    Ok(ddb_table::state_file::decode::<Value>(path, &bytes).map_err(|e| e.to_string()))
}

/// `inspect`, `dump` or `verify` of one state file: the document, or the damage.
pub fn state_file(
    io: &Arc<dyn Io>,
    path: &Path,
    as_json: bool,
    print_document: bool,
    out: &mut dyn Write,
) -> Result<Outcome, String> {
    let loaded = load_state_file(io.as_ref(), path)?;
    let written = match &loaded {
        Ok(document) if print_document => {
            let text = if as_json {
                document.to_string()
            } else {
                serde_json::to_string_pretty(document).map_err(|e| e.to_string())?
            };
            writeln!(out, "{text}")
        }
        Ok(_) if as_json => writeln!(
            out,
            "{}",
            json!({"path": path.display().to_string(), "sound": true, "findings": []})
        ),
        Ok(_) => writeln!(out, "OK: {}: checksum and JSON checked", path.display()),
        Err(message) if as_json => writeln!(
            out,
            "{}",
            json!({"path": path.display().to_string(), "sound": false, "findings": [message]})
        ),
        Err(message) => writeln!(out, "damage: {message}\nDAMAGED: {}", path.display()),
    };
    written.map_err(io_err)?;
    Ok(outcome(loaded.is_ok()))
}
