//! The audit log's golden vectors (`formats/database/vectors/audit/`, written by an independent
//! Python implementation of the spec, `formats/database/tools/gen_vectors.py`): each is read as
//! its record says, opening repairs only a torn tail, and the Rust writer makes the same bytes
//! as the Python one.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::path::{Path, PathBuf};
use std::sync::Arc;

use ddb_table::Error;
use ddb_table::audit::{self, AUDIT_FILE, AuditLog};
use serde_json::Value;

fn vectors() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../formats/database/vectors/audit")
}

fn head_text((seq, hash): (u64, String)) -> String {
    format!("{seq}:{hash}")
}

fn parse_head(text: &str) -> (u64, String) {
    let (seq, hash) = text.split_once(':').unwrap();
    (seq.parse().unwrap(), hash.to_owned())
}

#[test]
fn every_audit_vector_is_read_as_its_record_says() {
    let dir = vectors();
    let mut names: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    names.sort();
    assert!(names.len() >= 10, "only {} vectors", names.len());
    let io = ddb_io::StdIo::new();
    for record_path in &names {
        let record: Value =
            serde_json::from_str(&std::fs::read_to_string(record_path).unwrap()).unwrap();
        let file = dir.join(record["file"].as_str().unwrap());
        let name = file.display().to_string();
        let bytes = std::fs::read(&file).unwrap();
        let report = audit::read(&io, &file).unwrap();
        // Opening a copy: it refuses damage and repairs only a torn tail.
        let db = tempfile::tempdir().unwrap();
        std::fs::write(db.path().join(AUDIT_FILE), &bytes).unwrap();
        let opened = AuditLog::open(Arc::new(ddb_io::StdIo::new()), db.path());
        match record["expect"].as_str().unwrap() {
            expect @ ("ok" | "torn") => {
                assert!(report.findings.is_empty(), "{name}: {:?}", report.problems);
                assert_eq!(
                    report.records.len() as u64,
                    record["records"].as_u64().unwrap(),
                    "{name}"
                );
                assert_eq!(head_text(report.head()), record["head"].as_str().unwrap());
                let log = opened.unwrap();
                assert_eq!(log.head(), report.head(), "{name}");
                let after = std::fs::read(db.path().join(AUDIT_FILE)).unwrap();
                if expect == "torn" {
                    let torn = record["torn_offset"].as_u64().unwrap();
                    assert_eq!(report.torn_tail, Some(torn), "{name}");
                    assert_eq!(
                        after,
                        bytes[..usize::try_from(torn).unwrap()],
                        "{name}: truncated on open"
                    );
                } else {
                    assert_eq!(report.torn_tail, None, "{name}");
                    assert_eq!(after, bytes, "{name}: untouched");
                }
                if let Some(old) = record["fails_head"].as_str() {
                    let (seq, hash) = parse_head(old);
                    let err = report.check_head(seq, &hash).unwrap_err();
                    assert!(
                        err.contains("rewritten") || err.contains("truncated"),
                        "{name}: {err}"
                    );
                } else {
                    let (seq, hash) = report.head();
                    report.check_head(seq, &hash).unwrap();
                }
            }
            "damaged" => {
                let mut lines: Vec<u64> = report.findings.iter().map(|p| p.line).collect();
                lines.dedup();
                let expected: Vec<u64> = record["problem_lines"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|l| l.as_u64().unwrap())
                    .collect();
                assert_eq!(lines, expected, "{name}: {:?}", report.problems);
                let offset = record["first_problem_offset"].as_u64().unwrap();
                assert_eq!(report.findings[0].offset, offset, "{name}");
                assert!(
                    report.problems[0]
                        .starts_with(&format!("line {}, byte {offset}: expected ", expected[0])),
                    "{name}: {}",
                    report.problems[0]
                );
                match opened {
                    Err(Error::CorruptState {
                        path, offset: at, ..
                    }) => {
                        assert_eq!(path, db.path().join(AUDIT_FILE), "{name}");
                        assert_eq!(at, offset, "{name}");
                    }
                    other => panic!("{name}: expected CorruptState, got {other:?}"),
                }
                assert_eq!(
                    std::fs::read(db.path().join(AUDIT_FILE)).unwrap(),
                    bytes,
                    "{name}: open leaves damage alone"
                );
            }
            other => panic!("{name}: unknown expectation {other}"),
        }
    }
}

#[test]
fn the_rust_writer_makes_the_python_bytes() {
    let good = std::fs::read(vectors().join("good-three-records.audit")).unwrap();
    let report = audit::check_bytes(&good);
    assert!(report.is_sound(), "{:?}", report.problems);
    let dir = tempfile::tempdir().unwrap();
    let log = AuditLog::open(Arc::new(ddb_io::StdIo::new()), dir.path()).unwrap();
    for record in &report.records {
        let written = log
            .append(
                record.time_ms,
                &record.action,
                record.parameters.clone(),
                record.outcome.clone(),
            )
            .unwrap();
        assert_eq!(&written, record);
    }
    assert_eq!(std::fs::read(dir.path().join(AUDIT_FILE)).unwrap(), good);
}
