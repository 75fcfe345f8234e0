//! `ddbfmt inspect`, `dump` and `verify` on backups built by `ddb_backup::build`: a directory,
//! its manifest, a lone artifact, a damaged backup; text and JSON output, exit codes, and
//! `verify --level`.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use ddb_backup::{BackupIdentity, BackupManifest, BuildOptions, BuildRequest, build};
use ddb_io::{Io, StdIo};
use ddb_log::{Record, RecordType};
use ddb_merge::{Row, VecSnapshot};
use ddb_model::{KeyAttribute, KeyDef, ScalarAttributeType, TableSchema, parse_item};
use serde_json::{Value, json};

fn run(args: &[&str]) -> (ExitCode, String, String) {
    let mut out = Vec::new();
    let mut err = Vec::new();
    let mut argv = vec!["ddbfmt"];
    argv.extend_from_slice(args);
    let code = ddbfmt::run(argv, &mut out, &mut err);
    (
        code,
        String::from_utf8(out).unwrap(),
        String::from_utf8(err).unwrap(),
    )
}

fn s(path: &Path) -> &str {
    path.to_str().unwrap()
}

fn row(schema: &TableSchema, i: u64) -> (Vec<u8>, Vec<u8>) {
    let extra = if i.is_multiple_of(3) {
        format!(r#","_flag":{{"S":"f{i}"}}"#)
    } else {
        String::new()
    };
    let item = parse_item(&format!(
        r#"{{"pk":{{"S":"p{}"}},"sk":{{"N":"{i}"}},"body":{{"S":"{}"}}{extra}}}"#,
        i % 5,
        "x".repeat(40)
    ))
    .unwrap();
    (
        schema.table_key(&item).unwrap(),
        item.to_canonical_json().into_bytes(),
    )
}

/// 60 items (40 in a snapshot, 20 put and 5 deleted by the log) in 2 partitions.
fn backup(root: &Path) -> (PathBuf, BackupManifest) {
    let schema = TableSchema::new(KeyDef {
        partition: KeyAttribute::new("pk", ScalarAttributeType::S),
        sort: Some(KeyAttribute::new("sk", ScalarAttributeType::N)),
    });
    let snapshot: Vec<Row> = (0..40)
        .map(|i| {
            let (key, item) = row(&schema, i);
            Row {
                key,
                item,
                attrs: None,
            }
        })
        .collect();
    let mut log = Vec::new();
    for i in 0..25u64 {
        let (key, item) = row(&schema, 40 + i % 20);
        let (record_type, value) = if i >= 20 {
            (RecordType::Delete, Vec::new())
        } else {
            (RecordType::Put, item)
        };
        log.push(Ok(Record {
            record_type,
            end_of_batch: true,
            lsn: 101 + i,
            timestamp_us: i,
            key,
            value,
        }));
    }
    let request = BuildRequest {
        identity: BackupIdentity {
            backup_arn: "arn:aws:dynamodb:local:000000000000:table/Tools/backup/1".into(),
            backup_name: "tools".into(),
            backup_type: "USER".into(),
            table_name: "Tools".into(),
            table_arn: "arn:aws:dynamodb:local:000000000000:table/Tools".into(),
            table_id: "00112233445566778899aabbccddeeff".into(),
            request_time_ms: 1_700_000_000_000,
        },
        marker_lsn: 125,
        marker_time_ms: 1_700_000_000_000,
        schema: schema.clone(),
        source_table: json!({"TableName": "Tools", "GlobalSecondaryIndexes": [{"IndexName": "g1"}]}),
        expires_at_ms: None,
    };
    let options = BuildOptions {
        partitions: 2,
        spill_dir: root.join("spill"),
        row_group_bytes: 600,
        artifact_bytes: 2_000,
        ..BuildOptions::default()
    };
    let io: Arc<dyn Io> = Arc::new(StdIo::new());
    let snapshot = VecSnapshot::new(100, snapshot)
        .unwrap()
        .with_rows_per_hint(5);
    let dir = root.join("backup");
    let manifest = build(io, &dir, &request, Some(&snapshot), log, &options).unwrap();
    assert_eq!(manifest.total_rows(), 55);
    assert!(manifest.artifacts.len() >= 2);
    (dir, manifest)
}

#[test]
fn a_sound_backup_verifies_at_every_level_and_inspects() {
    let root = tempfile::tempdir().unwrap();
    let (dir, manifest) = backup(root.path());
    for args in [
        vec!["verify", s(&dir)],
        vec!["verify", "--level", "structure", s(&dir)],
        vec!["verify", "--deep", s(&dir)],
        vec!["verify", "--level", "deep", s(&dir)],
    ] {
        let (code, out, err) = run(&args);
        assert_eq!(code, ExitCode::SUCCESS, "{args:?}: {out}{err}");
        assert!(out.starts_with("OK: ") && out.contains("backup"), "{out}");
    }
    let (_, out, _) = run(&["verify", "--deep", s(&dir)]);
    assert!(out.contains("55 row(s) decoded; level deep"), "{out}");
    let (code, out, _) = run(&["verify", "--json", s(&dir.join("manifest.json"))]);
    assert_eq!(code, ExitCode::SUCCESS);
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["sound"], true);
    assert_eq!(v["level"], "bytes");

    let (code, out, _) = run(&["inspect", s(&dir)]);
    assert_eq!(code, ExitCode::SUCCESS);
    for wanted in [
        "backup v1",
        "tools (USER)",
        "marker        LSN 125",
        "snapshot LSN 100 + 25 log record(s)",
        "pk HASH, sk RANGE",
        "pk S (column pk), sk N (column sk)",
        "GSIs          g1",
        "55 rows",
    ] {
        assert!(out.contains(wanted), "missing {wanted:?} in\n{out}");
    }
    let (code, out, _) = run(&["inspect", "--json", s(&dir)]);
    assert_eq!(code, ExitCode::SUCCESS);
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["kind"], "backup");
    assert_eq!(v["totals"]["rows"], 55);
    assert_eq!(
        v["artifacts"].as_array().unwrap().len(),
        manifest.artifacts.len()
    );
    assert_eq!(
        v["artifacts"][0]["first_key"],
        json!([{"S": "p0"}, {"N": "0"}])
    );
}

#[test]
fn dump_prints_every_row_in_key_order() {
    let root = tempfile::tempdir().unwrap();
    let (dir, manifest) = backup(root.path());
    let (code, out, err) = run(&["dump", s(&dir)]);
    assert_eq!(code, ExitCode::SUCCESS, "{err}");
    let lines: Vec<Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 55);
    let keys: Vec<&str> = lines
        .iter()
        .map(|l| l["key_hex"].as_str().unwrap())
        .collect();
    assert!(keys.windows(2).all(|w| w[0] < w[1]));
    assert!(lines[0]["item"]["pk"]["S"].is_string());
    // A lone artifact dumps its own rows.
    let first = dir.join(&manifest.artifacts[0].path);
    let (code, out, _) = run(&["dump", s(&first)]);
    assert_eq!(code, ExitCode::SUCCESS);
    assert_eq!(out.lines().count() as u64, manifest.artifacts[0].rows);
}

#[test]
fn a_lone_artifact_inspects_and_verifies() {
    let root = tempfile::tempdir().unwrap();
    let (dir, manifest) = backup(root.path());
    let path = dir.join(&manifest.artifacts[1].path);
    let (code, out, _) = run(&["inspect", s(&path)]);
    assert_eq!(code, ExitCode::SUCCESS);
    assert!(
        out.contains("backup artifact")
            && out.contains("ddb.table_name")
            && out.contains("Tools")
            && out.contains("row group 0"),
        "{out}"
    );
    let (code, out, _) = run(&["verify", "--deep", s(&path)]);
    assert_eq!(code, ExitCode::SUCCESS, "{out}");
    let mut bytes = std::fs::read(&path).unwrap();
    let at = bytes.len() - 3;
    bytes[at] ^= 0xff;
    std::fs::write(&path, bytes).unwrap();
    let (code, out, _) = run(&["verify", s(&path)]);
    assert_eq!(code, ExitCode::from(1), "{out}");
    assert!(out.contains("trailing magic"), "{out}");
}

#[test]
fn a_damaged_backup_exits_1_naming_the_artifact() {
    let root = tempfile::tempdir().unwrap();
    let (dir, manifest) = backup(root.path());
    let artifact = &manifest.artifacts[1];
    let path = dir.join(&artifact.path);
    let mut bytes = std::fs::read(&path).unwrap();
    let at = usize::try_from(artifact.row_groups[0].start + 2).unwrap();
    bytes[at] ^= 0x01;
    std::fs::write(&path, bytes).unwrap();
    let (code, out, _) = run(&["verify", s(&dir)]);
    assert_eq!(code, ExitCode::from(1), "{out}");
    assert!(
        out.contains(&artifact.path) && out.contains("row group 0") && out.contains("DAMAGED"),
        "{out}"
    );
    // Structure does not hash page bytes: the damage is invisible to it.
    let (code, _, _) = run(&["verify", "--level", "structure", s(&dir)]);
    assert_eq!(code, ExitCode::SUCCESS);
    let (code, out, _) = run(&["verify", "--json", "--level", "deep", s(&dir)]);
    assert_eq!(code, ExitCode::from(1));
    let v: Value = serde_json::from_str(&out).unwrap();
    assert!(
        v["problems"].as_array().unwrap().iter().any(|p| p["file"]
            .as_str()
            .unwrap()
            .ends_with(&artifact.path)
            && p["row_group"] == 0)
    );
    // dump stops at the damage with exit 1.
    let (code, _, err) = run(&["dump", s(&dir)]);
    assert_eq!(code, ExitCode::from(1));
    assert!(err.contains(&artifact.path), "{err}");
}

#[test]
fn a_directory_without_a_manifest_is_not_a_backup() {
    let root = tempfile::tempdir().unwrap();
    let (dir, _) = backup(root.path());
    std::fs::remove_file(dir.join("manifest.json")).unwrap();
    let (code, _, err) = run(&["verify", s(&dir)]);
    assert_eq!(code, ExitCode::from(2), "{err}");
}

#[test]
fn a_damaged_manifest_is_still_verified_as_a_backup_manifest() {
    let root = tempfile::tempdir().unwrap();
    let (dir, _) = backup(root.path());
    let path = dir.join("manifest.json");
    let mut bytes = std::fs::read(&path).unwrap();
    let at = bytes.len() - 2;
    bytes[at] = b']';
    std::fs::write(&path, bytes).unwrap();
    for target in [&path, &dir] {
        let (code, out, err) = run(&["verify", s(target)]);
        assert_eq!(code, ExitCode::from(1), "{out}{err}");
        assert!(
            out.contains("manifest.json") && out.contains("DAMAGED"),
            "{out}"
        );
    }
}
