//! `inspect`, `dump` and `verify`: read any file the toolkit writes, detect its kind from its
//! magic (or a directory from its contents), and report. They never modify anything, and decode
//! as much of a damaged file as they can.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use ddb_io::{Io, OpenOptions};
use ddb_log::format::{Frame, RecordType, SEGMENT_MAGIC};
use ddb_log::segment::{SegmentEnd, scan_segment};
use ddb_log::verify::{Finding, LogReport, SegmentReport, Severity, verify_log, verify_segment};
use serde_json::{Value, json};

use crate::backup_files::{self, BackupKind};
use crate::database_files;
use crate::snapshot_files::{self, MANIFEST_PREFIX, SnapshotKind};
use crate::time::iso8601_ms;

/// Exit status of the format tools: sound, damaged, or the tool could not do its job.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Sound,
    Damaged,
}

/// What a path holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kind {
    /// A database directory (it has a `CATALOG`).
    Database(PathBuf),
    /// A `CATALOG` or `CURRENT` state file.
    StateFile(PathBuf),
    LogSegment(PathBuf),
    LogDirectory(PathBuf),
    Snapshot(SnapshotKind),
    Backup(BackupKind),
    /// An export directory in DynamoDB's S3 export layout (it has `manifest-summary.json`).
    Export(PathBuf),
}

/// Detects the kind of `path` from its magic bytes or, for a directory, its entries.
pub fn detect(io: &dyn Io, path: &Path) -> Result<Kind, String> {
    if path.is_dir() {
        if ddb_table::verify::is_database_dir(io, path) {
            return Ok(Kind::Database(path.to_owned()));
        }
        if crate::export_files::is_export_dir(io, path) {
            return Ok(Kind::Export(path.to_owned()));
        }
        let names = io.read_dir(path).map_err(|e| e.to_string())?;
        if names.iter().any(|n| n == ddb_backup::MANIFEST_FILE) {
            return Ok(Kind::Backup(BackupKind::Directory(path.to_owned())));
        }
        if names.iter().any(|n| n == ddb_snapshot::MANIFEST_FILE_NAME) {
            return Ok(Kind::Snapshot(SnapshotKind::Directory(path.to_owned())));
        }
        if names.iter().any(|n| {
            n.to_str()
                .is_some_and(|n| ddb_log::format::parse_segment_file_name(n).is_some())
        }) {
            return Ok(Kind::LogDirectory(path.to_owned()));
        }
        return Err(format!(
            "{}: not a log directory (no segment files), a snapshot directory (no {}) nor a \
             backup directory (no {})",
            path.display(),
            ddb_snapshot::MANIFEST_FILE_NAME,
            ddb_backup::MANIFEST_FILE
        ));
    }
    let file = io
        .open(path, OpenOptions::read_only())
        .map_err(|e| e.to_string())?;
    let mut magic = [0u8; 32];
    let read = file.read_at(&mut magic, 0).map_err(|e| e.to_string())?;
    let first = magic.get(..read).unwrap_or_default();
    if first.starts_with(&SEGMENT_MAGIC) {
        return Ok(Kind::LogSegment(path.to_owned()));
    }
    if first.starts_with(b"PAR1") {
        return Ok(Kind::Backup(BackupKind::Artifact(path.to_owned())));
    }
    if first.starts_with(b"{") {
        let len = file.len().map_err(|e| e.to_string())?;
        let tail_bytes = backup_files::MANIFEST_TAIL_BYTES.min(len);
        let mut tail = vec![0u8; usize::try_from(tail_bytes).unwrap_or(0)];
        file.read_exact_at(&mut tail, len - tail_bytes)
            .map_err(|e| e.to_string())?;
        // By content, or by name (a damaged manifest is still verified as one).
        if backup_files::looks_like_manifest(&tail)
            || path
                .file_name()
                .is_some_and(|n| n == ddb_backup::MANIFEST_FILE)
        {
            return Ok(Kind::Backup(BackupKind::Manifest(path.to_owned())));
        }
    }
    let state_file_name = path
        .file_name()
        .is_some_and(|n| n == "CATALOG" || n == "CURRENT");
    if state_file_name || first.starts_with(b"{") {
        let len = file.len().map_err(|e| e.to_string())?;
        let mut tail = [0u8; 26];
        if len >= 26 {
            file.read_exact_at(&mut tail, len - 26)
                .map_err(|e| e.to_string())?;
        }
        if state_file_name || database_files::looks_like_state_file(&tail) {
            return Ok(Kind::StateFile(path.to_owned()));
        }
    }
    if first.starts_with(&ddb_snapshot::format::FILE_MAGIC) {
        return Ok(Kind::Snapshot(SnapshotKind::File(path.to_owned())));
    }
    if first.starts_with(MANIFEST_PREFIX)
        || path
            .file_name()
            .is_some_and(|n| n == ddb_snapshot::MANIFEST_FILE_NAME)
    {
        return Ok(Kind::Snapshot(SnapshotKind::Manifest(path.to_owned())));
    }
    Err(format!(
        "{}: unknown file kind: its first bytes {:02x?} match no format of this toolkit",
        path.display(),
        magic.get(..read.min(8)).unwrap_or_default()
    ))
}

/// `ddbfmt verify PATH [--level structure|bytes|deep] [--deep] [--json]`. `level` is used by
/// backups; every other kind is verified plainly, or in depth when `level` is `Deep`.
pub fn verify(
    io: &Arc<dyn Io>,
    path: &Path,
    level: ddb_backup::VerifyLevel,
    as_json: bool,
    out: &mut dyn Write,
) -> Result<Outcome, String> {
    let deep = level == ddb_backup::VerifyLevel::Deep;
    let findings = match detect(io.as_ref(), path)? {
        Kind::Backup(kind) => return backup_files::verify(io, &kind, level, as_json, out),
        Kind::Export(dir) => return crate::export_files::verify(io, &dir, as_json, out),
        Kind::Database(root) => return database_files::verify(io, &root, deep, as_json, out),
        Kind::StateFile(path) => return database_files::state_file(io, &path, as_json, false, out),
        Kind::Snapshot(kind) => return snapshot_files::verify(io, &kind, deep, as_json, out),
        Kind::LogSegment(path) => {
            let report =
                verify_segment(io.as_ref(), &path, deep, true).map_err(|e| e.to_string())?;
            write_verify(
                out,
                as_json,
                std::slice::from_ref(&report),
                &report.findings,
                &path,
            )?;
            report.findings
        }
        Kind::LogDirectory(dir) => {
            let report: LogReport =
                verify_log(io.as_ref(), &dir, deep).map_err(|e| e.to_string())?;
            write_verify(out, as_json, &report.segments, &report.findings, &dir)?;
            report.findings
        }
    };
    Ok(if findings.is_empty() {
        Outcome::Sound
    } else {
        Outcome::Damaged
    })
}

fn write_verify(
    out: &mut dyn Write,
    as_json: bool,
    segments: &[SegmentReport],
    findings: &[Finding],
    path: &Path,
) -> Result<(), String> {
    let records: u64 = segments.iter().map(|s| s.records).sum();
    let bytes: u64 = segments
        .iter()
        .filter_map(|s| s.scan.as_ref())
        .map(|s| s.file_bytes)
        .sum();
    let result = if as_json {
        let value = json!({
            "path": path.display().to_string(),
            "sound": findings.is_empty(),
            "segments": segments.len(),
            "records": records,
            "bytes": bytes,
            "findings": findings.iter().map(finding_json).collect::<Vec<_>>(),
        });
        writeln!(out, "{value}")
    } else {
        (|| {
            for finding in findings {
                writeln!(out, "{finding}")?;
            }
            if findings.is_empty() {
                writeln!(
                    out,
                    "OK: {}: {} segment(s), {records} record(s), {bytes} bytes, every byte checked",
                    path.display(),
                    segments.len()
                )
            } else {
                let recoverable = findings.iter().all(|f| f.severity == Severity::Recoverable);
                let verdict = if recoverable {
                    "torn tail only; recoverable"
                } else {
                    "DAMAGED"
                };
                writeln!(
                    out,
                    "{verdict}: {}: {} finding(s)",
                    path.display(),
                    findings.len()
                )
            }
        })()
    };
    result.map_err(|e| e.to_string())
}

fn finding_json(finding: &Finding) -> Value {
    json!({
        "path": finding.path.display().to_string(),
        "offset": finding.offset,
        "severity": match finding.severity { Severity::Recoverable => "recoverable", Severity::Damage => "damage" },
        "expected": finding.expected,
        "found": finding.found,
    })
}

/// `ddbfmt inspect PATH [--json]`: header, counts, LSN and time ranges, sizes, how each segment
/// ends (snapshots: header, rows, blocks, key range, sizes and codecs per column, manifest).
pub fn inspect(
    io: &Arc<dyn Io>,
    path: &Path,
    as_json: bool,
    out: &mut dyn Write,
) -> Result<Outcome, String> {
    let (reports, findings) = match detect(io.as_ref(), path)? {
        Kind::Database(root) => return database_files::verify(io, &root, false, as_json, out),
        Kind::StateFile(path) => return database_files::state_file(io, &path, as_json, true, out),
        Kind::Snapshot(kind) => return snapshot_files::inspect(io, &kind, as_json, out),
        Kind::Backup(kind) => return backup_files::inspect(io, &kind, as_json, out),
        Kind::Export(dir) => return crate::export_files::inspect(io, &dir, as_json, out),
        Kind::LogSegment(path) => {
            let report =
                verify_segment(io.as_ref(), &path, false, true).map_err(|e| e.to_string())?;
            let findings = report.findings.clone();
            (vec![report], findings)
        }
        Kind::LogDirectory(dir) => {
            let report = verify_log(io.as_ref(), &dir, false).map_err(|e| e.to_string())?;
            (report.segments, report.findings)
        }
    };
    let values: Vec<Value> = reports.iter().map(segment_json).collect();
    let write = |out: &mut dyn Write| -> std::io::Result<()> {
        if as_json {
            let value = if values.len() == 1 && path.is_file() {
                values.first().cloned().unwrap_or(Value::Null)
            } else {
                json!({ "log_directory": path.display().to_string(), "segments": values })
            };
            return writeln!(out, "{value}");
        }
        for report in &reports {
            write_segment_text(out, report)?;
        }
        if reports.len() > 1 {
            let records: u64 = reports.iter().map(|r| r.records).sum();
            writeln!(
                out,
                "log {}: {} segments, {records} records",
                path.display(),
                reports.len()
            )?;
        }
        Ok(())
    };
    write(out).map_err(|e| e.to_string())?;
    Ok(if findings.is_empty() {
        Outcome::Sound
    } else {
        Outcome::Damaged
    })
}

fn end_text(report: &SegmentReport) -> String {
    match report.scan.as_ref().map(|s| &s.end) {
        None => "unreadable header".into(),
        Some(SegmentEnd::Clean) => "open (the newest segment; appends continue here)".into(),
        Some(SegmentEnd::Sealed) => "sealed".into(),
        Some(SegmentEnd::TornTail { offset, .. }) => {
            format!("torn tail at byte {offset} (recoverable)")
        }
        Some(SegmentEnd::Corrupt { error, .. }) => format!("damaged at byte {}", error.offset),
    }
}

fn segment_json(report: &SegmentReport) -> Value {
    let scan = report.scan.as_ref();
    json!({
        "path": report.path.display().to_string(),
        "kind": "log-segment",
        "format_version": ddb_log::format::FORMAT_VERSION,
        "table_id": scan.map(|s| hex(&s.header.table_id)),
        "first_lsn": scan.map(|s| s.header.first_lsn),
        "created": scan.map(|s| iso8601_ms(s.header.created_at_us)),
        "file_bytes": scan.map(|s| s.file_bytes),
        "valid_bytes": scan.map(|s| s.valid_end),
        "frames": scan.map(|s| s.frames.len()),
        "records": report.records,
        "puts": report.puts,
        "deletes": report.deletes,
        "skipped_records": report.skipped,
        "lsn_range": report.first_lsn.zip(report.last_lsn).map(|(a, b)| [a, b]),
        "time_range": report.first_timestamp_us.zip(report.last_timestamp_us).map(|(a, b)| [iso8601_ms(a), iso8601_ms(b)]),
        "end": end_text(report),
        "findings": report.findings.iter().map(finding_json).collect::<Vec<_>>(),
    })
}

fn write_segment_text(out: &mut dyn Write, report: &SegmentReport) -> std::io::Result<()> {
    writeln!(out, "log segment {}", report.path.display())?;
    if let Some(scan) = &report.scan {
        writeln!(
            out,
            "  format        log v{}",
            ddb_log::format::FORMAT_VERSION
        )?;
        writeln!(out, "  table id      {}", hex(&scan.header.table_id))?;
        writeln!(out, "  first LSN     {}", scan.header.first_lsn)?;
        writeln!(
            out,
            "  created       {}",
            iso8601_ms(scan.header.created_at_us)
        )?;
        writeln!(
            out,
            "  size          {} bytes ({} valid, {} frames)",
            scan.file_bytes,
            scan.valid_end,
            scan.frames.len()
        )?;
    }
    writeln!(
        out,
        "  records       {} ({} puts, {} deletes, {} skipped)",
        report.records, report.puts, report.deletes, report.skipped
    )?;
    if let (Some(first), Some(last)) = (report.first_lsn, report.last_lsn) {
        writeln!(out, "  LSNs          {first}..={last}")?;
    }
    if let (Some(first), Some(last)) = (report.first_timestamp_us, report.last_timestamp_us) {
        writeln!(
            out,
            "  time range    {} .. {}",
            iso8601_ms(first),
            iso8601_ms(last)
        )?;
    }
    writeln!(out, "  end           {}", end_text(report))?;
    for finding in &report.findings {
        writeln!(out, "  finding       {finding}")?;
    }
    Ok(())
}

/// `ddbfmt dump PATH`: every record as a JSON line, in LSN order. Stops at the first damage
/// (reported on stderr by the caller via the error) after printing everything before it.
pub fn dump(
    io: &Arc<dyn Io>,
    path: &Path,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<Outcome, String> {
    let segments: Vec<(u64, PathBuf)> = match detect(io.as_ref(), path)? {
        Kind::Database(root) => {
            return database_files::state_file(io, &root.join("CATALOG"), true, true, out);
        }
        Kind::StateFile(path) => return database_files::state_file(io, &path, true, true, out),
        Kind::Snapshot(kind) => return snapshot_files::dump(io, &kind, out, err),
        Kind::Backup(kind) => return backup_files::dump(io, &kind, out, err),
        Kind::Export(dir) => return crate::export_files::dump(io, &dir, out, err),
        Kind::LogSegment(path) => {
            let first = path
                .file_name()
                .and_then(|n| n.to_str())
                .and_then(ddb_log::format::parse_segment_file_name)
                .map_or_else(|| header_first_lsn(io.as_ref(), &path), Ok)?;
            vec![(first, path)]
        }
        Kind::LogDirectory(dir) => {
            ddb_log::layout::list_segments(io.as_ref(), &dir).map_err(|e| e.to_string())?
        }
    };
    for (first_lsn, segment) in segments {
        let mut write_error = None;
        let scan = scan_segment(io.as_ref(), &segment, first_lsn, |frame, _| {
            if let Err(e) = write_frame_records(out, frame) {
                write_error = Some(e);
            }
            Ok(())
        })
        .map_err(|e| e.to_string())?;
        if let Some(e) = write_error {
            return Err(e.to_string());
        }
        match &scan.end {
            SegmentEnd::Clean | SegmentEnd::Sealed => {}
            SegmentEnd::TornTail { error, .. } | SegmentEnd::Corrupt { error, .. } => {
                writeln!(
                    err,
                    "ddbfmt dump: {}: stopped at byte {}: expected {}, found {} (every record before it was printed)",
                    segment.display(),
                    error.offset,
                    error.expected,
                    error.found
                )
                .map_err(|e| e.to_string())?;
                return Ok(Outcome::Damaged);
            }
        }
    }
    Ok(Outcome::Sound)
}

fn header_first_lsn(io: &dyn Io, path: &Path) -> Result<u64, String> {
    let file = io
        .open(path, OpenOptions::read_only())
        .map_err(|e| e.to_string())?;
    let mut bytes = [0u8; ddb_log::format::HEADER_BYTES];
    file.read_exact_at(&mut bytes, 0)
        .map_err(|e| e.to_string())?;
    ddb_log::format::SegmentHeader::decode(&bytes)
        .map(|h| h.first_lsn)
        .map_err(|e| {
            format!(
                "{}: byte {}: expected {}, found {}",
                path.display(),
                e.offset,
                e.expected,
                e.found
            )
        })
}

fn write_frame_records(out: &mut dyn Write, frame: &Frame) -> std::io::Result<()> {
    for record in &frame.records {
        let key = match ddb_model::decode_key(&record.key) {
            Ok(values) => Value::Array(
                values
                    .iter()
                    .map(|v| serde_json::from_str(&v.to_canonical_json()).unwrap_or(Value::Null))
                    .collect(),
            ),
            Err(_) => Value::Null,
        };
        let mut line = json!({
            "lsn": record.lsn,
            "timestamp": iso8601_ms(record.timestamp_us),
            "timestamp_us": record.timestamp_us,
            "type": match record.record_type {
                RecordType::Put => "put".to_owned(),
                RecordType::Delete => "delete".to_owned(),
                RecordType::Skippable(code) => format!("skippable-{code:#04x}"),
            },
            "end_of_batch": record.end_of_batch,
            "key": key,
            "key_hex": hex(&record.key),
        });
        if record.record_type == RecordType::Put
            && let Some(map) = line.as_object_mut()
        {
            let item = std::str::from_utf8(&record.value)
                .ok()
                .and_then(|text| serde_json::from_str::<Value>(text).ok())
                .unwrap_or_else(|| {
                    Value::String(String::from_utf8_lossy(&record.value).into_owned())
                });
            map.insert("item".into(), item);
        }
        writeln!(out, "{line}")?;
    }
    Ok(())
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
