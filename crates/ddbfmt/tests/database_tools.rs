//! `inspect`, `dump` and `verify` of a database directory and its state files: sound after
//! writes and a checkpoint, and damage to the catalog, a `CURRENT` or a snapshot named.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

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

/// A database with one table with an LSI and a GSI, 50 items, checkpointed, and 5 more items in
/// the log after the checkpoint. Returns the table directory.
fn build(root: &Path) -> PathBuf {
    let db = Database::open(
        root,
        DatabaseOptions {
            io: Some(Arc::new(ddb_io::StdIo)),
            ..DatabaseOptions::default()
        },
    )
    .unwrap();
    db.call(
        "CreateTable",
        &json!({
            "TableName": "Orders",
            "AttributeDefinitions": [
                {"AttributeName": "pk", "AttributeType": "S"},
                {"AttributeName": "sk", "AttributeType": "N"},
                {"AttributeName": "at", "AttributeType": "N"},
                {"AttributeName": "shop", "AttributeType": "S"}
            ],
            "KeySchema": [
                {"AttributeName": "pk", "KeyType": "HASH"},
                {"AttributeName": "sk", "KeyType": "RANGE"}
            ],
            "LocalSecondaryIndexes": [{
                "IndexName": "by_at",
                "KeySchema": [
                    {"AttributeName": "pk", "KeyType": "HASH"},
                    {"AttributeName": "at", "KeyType": "RANGE"}
                ],
                "Projection": {"ProjectionType": "ALL"}
            }],
            "GlobalSecondaryIndexes": [{
                "IndexName": "by_shop",
                "KeySchema": [{"AttributeName": "shop", "KeyType": "HASH"}],
                "Projection": {"ProjectionType": "KEYS_ONLY"}
            }],
            "BillingMode": "PAY_PER_REQUEST"
        }),
    )
    .unwrap();
    let put = |n: u32| {
        db.call(
            "PutItem",
            &json!({"TableName": "Orders", "Item": {
                "pk": {"S": format!("p{}", n % 4)}, "sk": {"N": n.to_string()},
                "at": {"N": (100 - n).to_string()}, "shop": {"S": "s"}
            }}),
        )
        .unwrap();
    };
    (0..50).for_each(put);
    db.checkpoint("Orders").unwrap();
    (50..55).for_each(put);
    let described = db
        .call("DescribeTable", &json!({"TableName": "Orders"}))
        .unwrap();
    let id = described["Table"]["TableId"]
        .as_str()
        .unwrap()
        .replace('-', "");
    root.join("tables").join(id)
}

fn flip(path: &Path, offset: usize) {
    let mut bytes = std::fs::read(path).unwrap();
    bytes[offset] ^= 0x20;
    std::fs::write(path, bytes).unwrap();
}

#[test]
fn a_sound_database_verifies_and_inspects() {
    let dir = tempfile::tempdir().unwrap();
    let table_dir = build(dir.path());
    let root = dir.path().to_str().unwrap();
    let (code, out, err) = run(&["verify", "--deep", root]);
    assert_eq!(code, ExitCode::SUCCESS, "{out}{err}");
    assert!(out.contains("OK:") && out.contains("1 table(s)"), "{out}");
    let (code, out, _) = run(&["inspect", "--json", root]);
    assert_eq!(code, ExitCode::SUCCESS);
    let report: Value = serde_json::from_str(out.trim()).unwrap();
    let table = &report["tables"][0];
    assert_eq!(table["name"], "Orders");
    assert_eq!(table["items"], 50, "as of the checkpoint");
    assert_eq!(table["log_last_lsn"], 55);
    let names: Vec<&str> = table["snapshots"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["table", "by_at", "by_shop"]);
    // A state file alone: its document.
    let current = table_dir.join("CURRENT");
    let (code, out, _) = run(&["inspect", current.to_str().unwrap()]);
    assert_eq!(code, ExitCode::SUCCESS);
    let document: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(document["lsn"], 50);
    let (code, out, _) = run(&["dump", &format!("{root}/CATALOG")]);
    assert_eq!(code, ExitCode::SUCCESS);
    let catalog: Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(catalog["tables"]["Orders"]["status"], "ACTIVE");
}

#[test]
fn damage_to_the_catalog_a_current_file_or_a_snapshot_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let table_dir = build(dir.path());
    let root = dir.path().to_str().unwrap();

    let current = table_dir.join("CURRENT");
    let saved = std::fs::read(&current).unwrap();
    flip(&current, 10);
    let (code, out, _) = run(&["verify", root]);
    assert_eq!(code, ExitCode::from(1), "{out}");
    assert!(
        out.contains("CURRENT") && out.contains("to hash to"),
        "{out}"
    );
    let (code, _, _) = run(&["verify", current.to_str().unwrap()]);
    assert_eq!(code, ExitCode::from(1));
    std::fs::write(&current, saved).unwrap();

    let checkpoint = std::fs::read_dir(&table_dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| {
            p.file_name()
                .unwrap()
                .to_str()
                .unwrap()
                .starts_with("ckpt-")
        })
        .unwrap();
    let snapshot_file = std::fs::read_dir(checkpoint.join("index-by_shop"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|x| x == "snap"))
        .unwrap();
    let len = std::fs::read(&snapshot_file).unwrap().len();
    flip(&snapshot_file, len / 2);
    let (code, out, _) = run(&["verify", root]);
    assert_eq!(code, ExitCode::from(1), "{out}");
    assert!(out.contains("index-by_shop"), "{out}");

    let catalog = dir.path().join("CATALOG");
    flip(&catalog, 3);
    let (code, out, _) = run(&["verify", root]);
    assert_eq!(code, ExitCode::from(1), "{out}");
    assert!(out.contains("CATALOG"), "{out}");
}
