//! `ddbfmt audit [--verify] [--json] [--expect-head SEQ:HASH]`: lists or verifies the audit log
//! `<data-dir>/AUDIT`. Reads only: no lock, no repair (the checks live in `ddb_table::audit`).

use std::io::Write;
use std::path::Path;
use std::sync::Arc;

use ddb_io::Io;
use ddb_table::audit::{self, AUDIT_FILE, AuditRecord, AuditReport};
use serde_json::{Value, json};

use crate::files::Outcome;

#[derive(Debug, clap::Args)]
pub struct AuditArgs {
    /// Check the hash chain instead of listing: exit 0 if sound, 1 if damaged (or torn), and
    /// print the head `SEQ:HASH` to record elsewhere.
    #[arg(long)]
    verify: bool,
    /// Machine-readable output: the records as JSON lines (with --verify, one JSON report).
    #[arg(long)]
    json: bool,
    /// Also require a head recorded earlier: record SEQ must still have hash HASH (catches a
    /// truncated log or a recomputed chain, which the chain alone cannot). Implies --verify.
    #[arg(long, value_name = "SEQ:HASH")]
    expect_head: Option<String>,
}

/// Parameters worth showing in a one-line summary, in this order.
const SUMMARY_KEYS: &[&str] = &[
    "TableName",
    "SourceTableName",
    "TargetTableName",
    "BackupName",
    "BackupArn",
    "SourceBackupArn",
    "TableArn",
    "ExportArn",
    "S3Bucket",
];
const SUMMARY_CHARS: usize = 60;

fn io_err(e: std::io::Error) -> String {
    e.to_string()
}

fn parse_head(text: &str) -> Result<(u64, String), String> {
    let (seq, hash) = text
        .split_once(':')
        .ok_or_else(|| format!("--expect-head {text}: expected SEQ:HASH"))?;
    let seq = seq
        .parse()
        .map_err(|_| format!("--expect-head {text}: SEQ must be a number"))?;
    if hash.len() != 64 || !hash.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
        return Err(format!(
            "--expect-head {text}: HASH must be 64 lowercase hex digits"
        ));
    }
    Ok((seq, hash.to_owned()))
}

/// `ddbfmt audit`.
pub fn run(
    io: &Arc<dyn Io>,
    data_dir: &Path,
    args: &AuditArgs,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<Outcome, String> {
    let expect_head = args.expect_head.as_deref().map(parse_head).transpose()?;
    let path = data_dir.join(AUDIT_FILE);
    let exists = io.exists(&path).map_err(io_err)?;
    let report = if exists {
        audit::read(io.as_ref(), &path).map_err(|e| e.to_string())?
    } else {
        AuditReport::default()
    };
    if args.verify || expect_head.is_some() {
        if !exists && !args.json {
            writeln!(out, "{}: no such file: no audit records", path.display()).map_err(io_err)?;
        }
        verify(&path, &report, expect_head, args.json, out)
    } else if !exists {
        if args.json {
            writeln!(
                err,
                "ddbfmt audit: {}: no such file: no audit records",
                path.display()
            )
        } else {
            writeln!(out, "{}: no such file: no audit records", path.display())
        }
        .map_err(io_err)?;
        Ok(Outcome::Sound)
    } else {
        list(&path, &report, args.json, out, err)
    }
    .map_err(io_err)
}

fn list(
    path: &Path,
    report: &AuditReport,
    as_json: bool,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> std::io::Result<Outcome> {
    if as_json {
        for record in &report.records {
            writeln!(out, "{}", serde_json::to_string(record)?)?;
        }
    } else if !report.records.is_empty() {
        writeln!(
            out,
            "{:>6}  {:<24}  {:<28}  {:<30}  PARAMETERS",
            "SEQ", "TIME", "ACTION", "OUTCOME"
        )?;
        for record in &report.records {
            writeln!(
                out,
                "{:>6}  {:<24}  {:<28}  {:<30}  {}",
                record.seq,
                record.time,
                record.action,
                outcome_summary(record),
                parameters_summary(&record.parameters)
            )?;
        }
    } else if report.is_sound() {
        writeln!(out, "{}: no audit records", path.display())?;
    }
    for problem in &report.problems {
        writeln!(err, "ddbfmt audit: {}: damage: {problem}", path.display())?;
    }
    if let Some(offset) = report.torn_tail {
        writeln!(
            err,
            "ddbfmt audit: {}: {}",
            path.display(),
            torn_text(offset)
        )?;
    }
    Ok(outcome(report.is_sound()))
}

fn outcome(sound: bool) -> Outcome {
    if sound {
        Outcome::Sound
    } else {
        Outcome::Damaged
    }
}

fn torn_text(offset: u64) -> String {
    format!(
        "torn tail at byte {offset} (an interrupted append; recoverable: opening the database truncates it)"
    )
}

fn verify(
    path: &Path,
    report: &AuditReport,
    expect_head: Option<(u64, String)>,
    as_json: bool,
    out: &mut dyn Write,
) -> std::io::Result<Outcome> {
    let head_problem = expect_head
        .as_ref()
        .and_then(|(seq, hash)| report.check_head(*seq, hash).err());
    let sound = report.is_sound() && head_problem.is_none();
    let (seq, hash) = report.head();
    if as_json {
        let value = json!({
            "path": path.display().to_string(),
            "sound": sound,
            "records": report.records.len(),
            "head": format!("{seq}:{hash}"),
            "torn_tail": report.torn_tail,
            "problems": report.problems,
            "expected_head": expect_head.as_ref().map(|(s, h)| format!("{s}:{h}")),
            "expected_head_problem": head_problem,
        });
        writeln!(out, "{value}")?;
        return Ok(outcome(sound));
    }
    for problem in &report.problems {
        writeln!(out, "damage: {problem}")?;
    }
    if let Some(offset) = report.torn_tail {
        writeln!(out, "recoverable: {}", torn_text(offset))?;
    }
    if let Some(problem) = &head_problem {
        writeln!(out, "damage: {problem}")?;
    }
    let records = report.records.len();
    if sound {
        let checked = if expect_head.is_some() {
            "hash chain and the expected head checked"
        } else {
            "hash chain checked"
        };
        writeln!(
            out,
            "OK: {}: {records} record(s); {checked}",
            path.display()
        )?;
    } else if report.findings.is_empty() && head_problem.is_none() {
        writeln!(
            out,
            "torn tail only; recoverable: {}: {records} record(s) before it checked",
            path.display()
        )?;
    } else {
        let count = report.findings.len() + usize::from(head_problem.is_some());
        writeln!(out, "DAMAGED: {}: {count} problem(s)", path.display())?;
    }
    writeln!(out, "head: {seq}:{hash}")?;
    Ok(outcome(sound))
}

fn outcome_summary(record: &AuditRecord) -> String {
    let status = record
        .outcome
        .get("status")
        .and_then(Value::as_str)
        .unwrap_or("?");
    match record.outcome.get("error").and_then(Value::as_str) {
        Some(error) => format!("{status}: {error}"),
        None => status.to_owned(),
    }
}

fn parameters_summary(parameters: &Value) -> String {
    let named: Vec<String> = SUMMARY_KEYS
        .iter()
        .filter_map(|key| {
            parameters
                .get(*key)
                .and_then(Value::as_str)
                .map(|value| format!("{key}={value}"))
        })
        .collect();
    let text = if named.is_empty() {
        parameters.to_string()
    } else {
        named.join(" ")
    };
    if text.chars().count() > SUMMARY_CHARS {
        let mut short: String = text.chars().take(SUMMARY_CHARS - 1).collect();
        short.push('…');
        short
    } else {
        text
    }
}
