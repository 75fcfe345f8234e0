//! `ddbfmt audit`: lists the records an `AuditLog` wrote, verifies the chain (printing the
//! head), checks a recorded head, names damage by line and byte, and never modifies the file.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;

use ddb_table::audit::{AUDIT_FILE, AuditLog};
use ddb_table::{Database, DatabaseOptions};
use serde_json::{Value, json};

fn run(args: &[&str]) -> (ExitCode, String, String) {
    let mut argv = vec!["ddbfmt"];
    argv.extend_from_slice(args);
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let code = ddbfmt::run(argv, &mut out, &mut err);
    (
        code,
        String::from_utf8(out).unwrap(),
        String::from_utf8(err).unwrap(),
    )
}

/// Three records; returns the head as `seq:hash`.
fn write_three(dir: &Path) -> String {
    let log = AuditLog::open(Arc::new(ddb_io::StdIo::new()), dir).unwrap();
    log.append(
        1_764_633_600_123,
        "CreateTable",
        json!({"TableName": "Movies", "BillingMode": "PAY_PER_REQUEST"}),
        json!({"status": "ok"}),
    )
    .unwrap();
    log.append(
        1_764_633_601_000,
        "CreateBackup",
        json!({"TableName": "Movies", "BackupName": "nightly"}),
        json!({"status": "ok", "BackupArn": "arn:x"}),
    )
    .unwrap();
    log.append(
        1_764_633_602_000,
        "DeleteTable",
        json!({"TableName": "Nope"}),
        json!({"status": "error", "error": "ResourceNotFoundException", "message": "no"}),
    )
    .unwrap();
    let (seq, hash) = log.head();
    format!("{seq}:{hash}")
}

#[test]
fn lists_records_as_a_table_and_as_json_lines() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().to_str().unwrap();
    write_three(dir.path());
    let (code, out, err) = run(&["--data-dir", data, "audit"]);
    assert_eq!(code, ExitCode::SUCCESS, "{err}");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 4, "{out}");
    assert!(
        lines[0].contains("SEQ") && lines[0].contains("ACTION"),
        "{out}"
    );
    assert!(lines[1].contains("2025-12-02T00:00:00.123Z"), "{out}");
    assert!(
        lines[1].contains("CreateTable") && lines[1].contains("TableName=Movies"),
        "{out}"
    );
    assert!(lines[2].contains("BackupName=nightly"), "{out}");
    assert!(
        lines[3].contains("error: ResourceNotFoundException"),
        "{out}"
    );

    let (code, out, _) = run(&["--data-dir", data, "audit", "--json"]);
    assert_eq!(code, ExitCode::SUCCESS);
    let records: Vec<Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(records.len(), 3);
    assert_eq!(records[1]["action"], "CreateBackup");
    assert_eq!(records[2]["seq"], 3);
    // The JSON lines are the file's lines.
    assert_eq!(
        out,
        std::fs::read_to_string(dir.path().join(AUDIT_FILE)).unwrap()
    );
}

#[test]
fn verify_prints_the_head_and_checks_an_expected_one() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().to_str().unwrap();
    let head = write_three(dir.path());
    let (code, out, err) = run(&["--data-dir", data, "audit", "--verify"]);
    assert_eq!(code, ExitCode::SUCCESS, "{out}{err}");
    assert!(out.contains("OK: ") && out.contains("3 record(s)"), "{out}");
    assert!(out.ends_with(&format!("head: {head}\n")), "{out}");

    let (code, out, _) = run(&["--data-dir", data, "audit", "--expect-head", &head]);
    assert_eq!(code, ExitCode::SUCCESS, "{out}");
    assert!(out.contains("expected head checked"), "{out}");

    // A later append keeps an older head valid.
    let log = AuditLog::open(Arc::new(ddb_io::StdIo::new()), dir.path()).unwrap();
    log.append(
        5,
        "DeleteBackup",
        json!({"BackupArn": "arn:x"}),
        json!({"status": "ok"}),
    )
    .unwrap();
    drop(log);
    let (code, out, _) = run(&[
        "--data-dir",
        data,
        "audit",
        "--verify",
        "--expect-head",
        &head,
    ]);
    assert_eq!(code, ExitCode::SUCCESS, "{out}");

    // A head of a log that was since cut back (or rewritten) fails.
    let path = dir.path().join(AUDIT_FILE);
    let text = std::fs::read_to_string(&path).unwrap();
    let kept: String = text.split_inclusive('\n').take(2).collect();
    std::fs::write(&path, &kept).unwrap();
    let (code, out, _) = run(&["--data-dir", data, "audit", "--verify"]);
    assert_eq!(
        code,
        ExitCode::SUCCESS,
        "a truncated chain verifies on its own: {out}"
    );
    let (code, out, _) = run(&["--data-dir", data, "audit", "--expect-head", &head]);
    assert_eq!(code, ExitCode::from(1), "{out}");
    assert!(
        out.contains("truncated") && out.contains("DAMAGED"),
        "{out}"
    );

    let (code, out, _) = run(&[
        "--data-dir",
        data,
        "audit",
        "--verify",
        "--json",
        "--expect-head",
        &head,
    ]);
    assert_eq!(code, ExitCode::from(1));
    let report: Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(report["sound"], false);
    assert_eq!(report["records"], 2);
    assert!(
        report["expected_head_problem"]
            .as_str()
            .unwrap()
            .contains("truncated")
    );

    let (code, _, err) = run(&["--data-dir", data, "audit", "--expect-head", "3:xyz"]);
    assert_eq!(
        code,
        ExitCode::from(2),
        "a malformed head is a usage problem"
    );
    assert!(err.contains("64 lowercase hex"), "{err}");
}

#[test]
fn tampering_exits_1_naming_the_line_and_byte_and_nothing_is_modified() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().to_str().unwrap();
    // A database directory (for `ddbfmt verify`); its own audit records, once the engine
    // writes them, are replaced by the three below.
    let db = Database::open(
        dir.path(),
        DatabaseOptions {
            io: Some(Arc::new(ddb_io::StdIo)),
            ..DatabaseOptions::default()
        },
    )
    .unwrap();
    // (A database directory is one with a catalog: the first table makes it.)
    db.call(
        "CreateTable",
        &json!({
            "TableName": "Movies",
            "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}],
            "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
            "BillingMode": "PAY_PER_REQUEST"
        }),
    )
    .unwrap();
    drop(db);
    let _ = std::fs::remove_file(dir.path().join(AUDIT_FILE));
    write_three(dir.path());
    let path = dir.path().join(AUDIT_FILE);
    let good = std::fs::read_to_string(&path).unwrap();
    let line_2 = good.find('\n').unwrap() + 1;
    let tampered = good.replace("nightly", "nightlx");
    std::fs::write(&path, &tampered).unwrap();
    let (code, out, _) = run(&["--data-dir", data, "audit", "--verify"]);
    assert_eq!(code, ExitCode::from(1), "{out}");
    assert!(
        out.contains(&format!("damage: line 2, byte {line_2}: expected hash ")),
        "{out}"
    );
    assert!(out.contains("DAMAGED"), "{out}");
    assert!(out.contains("head: 3:"), "{out}");
    // Listing still shows what decodes, and says on stderr that it is damaged.
    let (code, out, err) = run(&["--data-dir", data, "audit"]);
    assert_eq!(code, ExitCode::from(1));
    assert_eq!(out.lines().count(), 4, "{out}");
    assert!(err.contains("damage: line 2"), "{err}");
    // `ddbfmt verify` of the database directory includes the audit log.
    let (code, out, _) = run(&["verify", data]);
    assert_eq!(code, ExitCode::from(1), "{out}");
    assert!(out.contains("AUDIT: line 2, byte"), "{out}");
    std::fs::write(&path, &good).unwrap();
    let (code, out, _) = run(&["verify", data]);
    assert_eq!(code, ExitCode::SUCCESS, "{out}");
    assert!(
        out.contains("audit log") && out.contains("3 record(s), head 3:"),
        "{out}"
    );
    // A torn tail: recoverable, reported, left in place.
    let torn = format!("{good}{{\"seq\":4,\"ti");
    std::fs::write(&path, &torn).unwrap();
    let (code, out, _) = run(&["--data-dir", data, "audit", "--verify"]);
    assert_eq!(code, ExitCode::from(1), "{out}");
    assert!(
        out.contains(&format!("torn tail at byte {}", good.len())),
        "{out}"
    );
    assert!(out.contains("torn tail only; recoverable"), "{out}");
    assert_eq!(std::fs::read_to_string(&path).unwrap(), torn, "read-only");
}

#[test]
fn a_missing_audit_file_has_no_records() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().to_str().unwrap();
    let (code, out, _) = run(&["--data-dir", data, "audit"]);
    assert_eq!(code, ExitCode::SUCCESS);
    assert!(out.contains("no audit records"), "{out}");
    let (code, out, _) = run(&["--data-dir", data, "audit", "--verify"]);
    assert_eq!(code, ExitCode::SUCCESS);
    assert!(
        out.contains(&format!("head: 0:{}", "0".repeat(64))),
        "{out}"
    );
    let (code, out, _) = run(&["--data-dir", data, "audit", "--json"]);
    assert_eq!(code, ExitCode::SUCCESS);
    assert_eq!(out, "");
    assert!(!dir.path().join(AUDIT_FILE).exists(), "nothing created");
}
