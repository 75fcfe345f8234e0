//! `inspect`, `dump` and `verify` of backups: a backup directory (`manifest.json` + `data/`),
//! its `manifest.json` alone, or one Parquet artifact. The checks live in `ddb_backup`; this
//! module prints them.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use ddb_backup::{
    BackupManifest, BackupReader, MANIFEST_FILE, Problem, VerifyLevel, VerifyReport,
    inspect_artifact, verify_artifact,
};
use ddb_io::Io;
use serde_json::{Value, json};

use crate::files::{Outcome, hex};
use crate::snapshot_files::key_json;

/// What a backup path is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BackupKind {
    Directory(PathBuf),
    Manifest(PathBuf),
    Artifact(PathBuf),
}

/// The last line of a backup manifest starts with this (the tail is checked, not the name:
/// a snapshot manifest ends with another checksum line).
const CHECKSUM_LINE: &[u8] = b"  \"manifest_checksum\": \"xxh3-128:";

/// Whether the last bytes of a file are those of a backup manifest.
pub fn looks_like_manifest(tail: &[u8]) -> bool {
    tail.len() > CHECKSUM_LINE.len()
        && tail
            .windows(CHECKSUM_LINE.len())
            .any(|w| w == CHECKSUM_LINE)
        && tail.ends_with(b"\"\n}\n")
}

/// Bytes of the tail [`looks_like_manifest`] needs.
pub const MANIFEST_TAIL_BYTES: u64 = 80;

fn io_err(e: std::io::Error) -> String {
    e.to_string()
}

fn dir_of(kind: &BackupKind) -> Result<PathBuf, String> {
    match kind {
        BackupKind::Directory(dir) => Ok(dir.clone()),
        BackupKind::Manifest(path) => match path.parent() {
            Some(p) if path.file_name().is_some_and(|n| n == MANIFEST_FILE) => {
                Ok(if p.as_os_str().is_empty() {
                    PathBuf::from(".")
                } else {
                    p.to_path_buf()
                })
            }
            _ => Err(format!(
                "{}: a backup manifest not named {MANIFEST_FILE}: its artifacts cannot be located",
                path.display()
            )),
        },
        BackupKind::Artifact(path) => Err(format!("{}: a lone artifact", path.display())),
    }
}

fn problem_json(p: &Problem) -> Value {
    json!({
        "file": p.file.display().to_string(),
        "row_group": p.row_group,
        "row": p.row,
        "offset": p.offset,
        "expected": p.expected,
        "found": p.found,
    })
}

/// `ddbfmt verify` of a backup: one line per problem, then a verdict.
pub fn verify(
    io: &Arc<dyn Io>,
    kind: &BackupKind,
    level: VerifyLevel,
    as_json: bool,
    out: &mut dyn Write,
) -> Result<Outcome, String> {
    let (path, report): (PathBuf, VerifyReport) = match kind {
        BackupKind::Artifact(path) => (
            path.clone(),
            verify_artifact(io.as_ref(), path, level).map_err(|e| e.to_string())?,
        ),
        _ => {
            let dir = dir_of(kind)?;
            let report =
                ddb_backup::verify(Arc::clone(io), &dir, level).map_err(|e| e.to_string())?;
            (dir, report)
        }
    };
    let written = if as_json {
        writeln!(
            out,
            "{}",
            json!({
                "path": path.display().to_string(),
                "kind": if matches!(kind, BackupKind::Artifact(_)) { "backup-artifact" } else { "backup" },
                "level": level.as_str(),
                "sound": report.is_sound(),
                "artifacts": report.artifacts,
                "row_groups": report.row_groups,
                "rows_checked": report.rows_checked,
                "problems": report.problems.iter().map(problem_json).collect::<Vec<_>>(),
            })
        )
    } else {
        (|| {
            for problem in &report.problems {
                writeln!(out, "{problem}")?;
            }
            if report.is_sound() {
                writeln!(
                    out,
                    "OK: {}: backup, {} artifact(s), {} row group(s), {} row(s) decoded; level {}",
                    path.display(),
                    report.artifacts,
                    report.row_groups,
                    report.rows_checked,
                    level.as_str()
                )
            } else {
                writeln!(
                    out,
                    "DAMAGED: {}: {} problem(s); level {}",
                    path.display(),
                    report.problems.len(),
                    level.as_str()
                )
            }
        })()
    };
    written.map_err(io_err)?;
    Ok(if report.is_sound() {
        Outcome::Sound
    } else {
        Outcome::Damaged
    })
}

fn key_text(key: &[u8]) -> String {
    match key_json(key) {
        Value::Null => format!("0x{}", hex(key)),
        value => value.to_string(),
    }
}

fn manifest_json(dir: &Path, m: &BackupManifest) -> Value {
    let table = &m.source_table;
    json!({
        "path": dir.display().to_string(),
        "kind": "backup",
        "format_version": m.format_version,
        "backup": m.backup,
        "expires_at_ms": m.expires_at_ms,
        "marker": {"lsn": m.marker.lsn, "time_ms": m.marker.time_ms},
        "snapshot_lsn": m.snapshot_lsn,
        "log_records_applied": m.log_records_applied,
        "key_schema": m.key_schema,
        "attribute_columns": m.attribute_columns,
        "global_secondary_indexes": index_names(table, "GlobalSecondaryIndexes"),
        "local_secondary_indexes": index_names(table, "LocalSecondaryIndexes"),
        "artifacts": m.artifacts.iter().map(|a| json!({
            "path": a.path,
            "partition": a.partition,
            "size": a.size,
            "rows": a.rows,
            "row_groups": a.row_groups.len(),
            "first_key": key_json(&a.first_key),
            "last_key": key_json(&a.last_key),
        })).collect::<Vec<_>>(),
        "totals": {
            "rows": m.totals.rows,
            "item_bytes": m.totals.item_bytes,
            "artifact_bytes": m.totals.artifact_bytes,
        },
    })
}

fn index_names(table: &Value, field: &str) -> Vec<String> {
    table
        .get(field)
        .and_then(Value::as_array)
        .map(|list| {
            list.iter()
                .filter_map(|i| {
                    i.get("IndexName")
                        .and_then(Value::as_str)
                        .map(str::to_owned)
                })
                .collect()
        })
        .unwrap_or_default()
}

/// `ddbfmt inspect` of a backup: identity, marker, schema, artifacts, totals; of a lone
/// artifact: its Parquet and key-value metadata.
pub fn inspect(
    io: &Arc<dyn Io>,
    kind: &BackupKind,
    as_json: bool,
    out: &mut dyn Write,
) -> Result<Outcome, String> {
    if let BackupKind::Artifact(path) = kind {
        return inspect_lone(io.as_ref(), path, as_json, out);
    }
    let dir = dir_of(kind)?;
    let m = BackupManifest::load(io.as_ref(), &dir).map_err(|e| e.to_string())?;
    if as_json {
        writeln!(out, "{}", manifest_json(&dir, &m)).map_err(io_err)?;
        return Ok(Outcome::Sound);
    }
    let b = &m.backup;
    let text = (|| -> std::io::Result<()> {
        writeln!(out, "backup {}", dir.display())?;
        writeln!(out, "  format        backup v{}", m.format_version)?;
        writeln!(out, "  name          {} ({})", b.backup_name, b.backup_type)?;
        writeln!(out, "  arn           {}", b.backup_arn)?;
        writeln!(
            out,
            "  table         {} ({}, id {})",
            b.table_name, b.table_arn, b.table_id
        )?;
        writeln!(
            out,
            "  requested     {}",
            crate::time::iso8601_ms(b.request_time_ms.saturating_mul(1000))
        )?;
        if let Some(expires) = m.expires_at_ms {
            writeln!(
                out,
                "  expires       {}",
                crate::time::iso8601_ms(expires.saturating_mul(1000))
            )?;
        }
        writeln!(
            out,
            "  marker        LSN {} at {}",
            m.marker.lsn,
            crate::time::iso8601_ms(m.marker.time_ms.saturating_mul(1000))
        )?;
        writeln!(
            out,
            "  built from    snapshot LSN {} + {} log record(s)",
            m.snapshot_lsn, m.log_records_applied
        )?;
        let keys: Vec<String> = m
            .key_schema
            .iter()
            .map(|k| format!("{} {}", k.attribute_name, k.key_type.as_str()))
            .collect();
        writeln!(out, "  key schema    {}", keys.join(", "))?;
        let columns: Vec<String> = m
            .attribute_columns
            .iter()
            .map(|c| format!("{} {} (column {})", c.attribute, c.attribute_type, c.column))
            .collect();
        writeln!(out, "  attributes    {}", columns.join(", "))?;
        for (label, field) in [
            ("GSIs", "GlobalSecondaryIndexes"),
            ("LSIs", "LocalSecondaryIndexes"),
        ] {
            let names = index_names(&m.source_table, field);
            if !names.is_empty() {
                writeln!(out, "  {label:<13} {}", names.join(", "))?;
            }
        }
        for a in &m.artifacts {
            writeln!(
                out,
                "  artifact      {}: {} bytes, {} rows, {} row groups, keys {} .. {}",
                a.path,
                a.size,
                a.rows,
                a.row_groups.len(),
                key_text(&a.first_key),
                key_text(&a.last_key)
            )?;
        }
        writeln!(
            out,
            "  totals        {} artifact(s), {} rows, {} item bytes, {} bytes",
            m.artifacts.len(),
            m.totals.rows,
            m.totals.item_bytes,
            m.totals.artifact_bytes
        )
    })();
    text.map_err(io_err)?;
    Ok(Outcome::Sound)
}

fn inspect_lone(
    io: &dyn Io,
    path: &Path,
    as_json: bool,
    out: &mut dyn Write,
) -> Result<Outcome, String> {
    let artifact = inspect_artifact(io, path).map_err(|e| e.to_string())?;
    let meta = artifact.metadata.file_metadata();
    let columns: Vec<String> = meta
        .schema_descr()
        .columns()
        .iter()
        .map(|c| c.name().to_owned())
        .collect();
    let groups = artifact.row_groups();
    if as_json {
        let value = json!({
            "path": path.display().to_string(),
            "kind": "backup-artifact",
            "size": artifact.size,
            "created_by": meta.created_by(),
            "rows": meta.num_rows(),
            "columns": columns,
            "key_value": artifact.key_value().into_iter().map(|(k, v)| (k, Value::String(v))).collect::<serde_json::Map<String, Value>>(),
            "row_groups": groups.iter().map(|(rows, span)| json!({"rows": rows, "start": span.map(|s| s.0), "end": span.map(|s| s.1)})).collect::<Vec<_>>(),
        });
        writeln!(out, "{value}").map_err(io_err)?;
        return Ok(Outcome::Sound);
    }
    let text = (|| -> std::io::Result<()> {
        writeln!(out, "backup artifact {}", path.display())?;
        writeln!(out, "  size          {} bytes", artifact.size)?;
        writeln!(out, "  created by    {}", meta.created_by().unwrap_or("-"))?;
        writeln!(out, "  rows          {}", meta.num_rows())?;
        writeln!(out, "  columns       {}", columns.join(", "))?;
        for (k, v) in artifact.key_value() {
            writeln!(out, "  {k:<20} {v}")?;
        }
        for (i, (rows, span)) in groups.iter().enumerate() {
            let range = span.map_or_else(
                || "impossible offsets".to_owned(),
                |(s, e)| format!("bytes [{s}, {e})"),
            );
            writeln!(out, "  row group {i:<4} {rows} rows, {range}")?;
        }
        Ok(())
    })();
    text.map_err(io_err)?;
    Ok(Outcome::Sound)
}

fn row_line(out: &mut dyn Write, key: &[u8], item: &[u8]) -> std::io::Result<()> {
    let item = std::str::from_utf8(item)
        .ok()
        .and_then(|text| serde_json::from_str::<Value>(text).ok())
        .unwrap_or_else(|| Value::String(String::from_utf8_lossy(item).into_owned()));
    writeln!(
        out,
        "{}",
        json!({"key": key_json(key), "key_hex": hex(key), "item": item})
    )
}

/// `ddbfmt dump` of a backup or artifact: one JSON line per row (`key`, `key_hex`, `item`, as
/// the snapshot dump prints them), in key order; stops at the first damage.
pub fn dump(
    io: &Arc<dyn Io>,
    kind: &BackupKind,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<Outcome, String> {
    let damage = |err: &mut dyn Write, e: ddb_backup::BackupError| -> Result<Outcome, String> {
        writeln!(err, "ddbfmt dump: {e} (every row before it was printed)").map_err(io_err)?;
        Ok(Outcome::Damaged)
    };
    if let BackupKind::Artifact(path) = kind {
        let artifact = match inspect_artifact(io.as_ref(), path) {
            Ok(a) => a,
            Err(e) => return damage(err, e),
        };
        for index in 0..artifact.row_groups().len() {
            match artifact.read_row_group(index) {
                Ok(rows) => {
                    for row in rows {
                        row_line(out, &row.key, &row.item).map_err(io_err)?;
                    }
                }
                Err(e) => return damage(err, e),
            }
        }
        return Ok(Outcome::Sound);
    }
    let dir = dir_of(kind)?;
    let reader = match BackupReader::open(Arc::clone(io), &dir) {
        Ok(r) => r,
        Err(e) => return damage(err, e),
    };
    for row in reader.rows() {
        match row {
            Ok(row) => row_line(out, &row.key, &row.item).map_err(io_err)?,
            Err(e) => return damage(err, e),
        }
    }
    Ok(Outcome::Sound)
}
