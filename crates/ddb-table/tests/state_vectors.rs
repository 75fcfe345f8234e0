//! The golden vectors of `formats/database/vectors/` (written by an independent Python
//! implementation of the spec, `formats/database/tools/gen_vectors.py`): every good state file
//! decodes to what its record says, every bad one is refused at the byte its record names, and
//! the Rust writer makes the same bytes for the checkpoint document.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::path::{Path, PathBuf};

use ddb_table::Error;
use ddb_table::catalog::Catalog;
use ddb_table::state_file;
use ddb_table::table::Current;
use serde_json::Value;

fn vectors() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../formats/database/vectors")
}

#[test]
fn every_vector_is_read_as_its_record_says() {
    let dir = vectors();
    let mut records = 0;
    let mut names: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    names.sort();
    for path in &names {
        if path.is_dir() {
            // `audit/`: the audit log's vectors (tests/audit_vectors.rs).
            continue;
        }
        match path.extension().and_then(|e| e.to_str()) {
            Some("json") => {}
            Some("state") => {
                assert!(
                    path.with_extension("json").exists(),
                    "{}: a vector without a record",
                    path.display()
                );
                continue;
            }
            _ => panic!("{}: unknown file in the vectors", path.display()),
        }
        records += 1;
        let record: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        let file = dir.join(record["file"].as_str().unwrap());
        let bytes = std::fs::read(&file).unwrap();
        let name = file.display().to_string();
        match record["expect"].as_str().unwrap() {
            "ok" => match record["kind"].as_str().unwrap() {
                "catalog" => {
                    let catalog: Catalog = state_file::decode(&file, &bytes).unwrap();
                    assert_eq!(catalog.format, 1, "{name}");
                    let tables: Vec<&String> = catalog.tables.keys().collect();
                    let expected: Vec<&str> = record["tables"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|t| t.as_str().unwrap())
                        .collect();
                    assert_eq!(tables, expected, "{name}");
                    // The definitions validate as CreateTable requests.
                    for entry in catalog.tables.values() {
                        entry.definition.validate().unwrap();
                    }
                }
                "current" => {
                    let current: Current = state_file::decode(&file, &bytes).unwrap();
                    assert_eq!(current.lsn, record["lsn"].as_u64().unwrap(), "{name}");
                    assert_eq!(
                        current.stats.items,
                        record["items"].as_i64().unwrap(),
                        "{name}"
                    );
                    assert_eq!(
                        state_file::encode(&current).unwrap(),
                        bytes,
                        "{name}: the Rust writer makes the same bytes"
                    );
                }
                other => panic!("{name}: unknown kind {other}"),
            },
            "corrupt" => match state_file::decode::<Value>(&file, &bytes) {
                Err(Error::CorruptState { offset, path, .. }) => {
                    assert_eq!(offset, record["offset"].as_u64().unwrap(), "{name}");
                    assert_eq!(path, file, "the error names the file");
                }
                other => panic!("{name}: expected CorruptState, got {other:?}"),
            },
            "unsupported" => {
                let current: Current = state_file::decode(&file, &bytes).unwrap();
                assert_ne!(current.format, ddb_table::table::CURRENT_FORMAT, "{name}");
            }
            other => panic!("{name}: unknown expectation {other}"),
        }
    }
    assert!(records >= 10, "only {records} vectors");
}

#[test]
fn a_table_whose_current_is_of_an_unknown_format_is_refused_on_open() {
    let dir = tempfile::tempdir().unwrap();
    let options = || ddb_table::DatabaseOptions {
        io: Some(std::sync::Arc::new(ddb_io::StdIo)),
        ..ddb_table::DatabaseOptions::default()
    };
    let db = ddb_table::Database::open(dir.path(), options()).unwrap();
    db.call(
        "CreateTable",
        &serde_json::json!({
            "TableName": "Tbl",
            "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}],
            "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
            "BillingMode": "PAY_PER_REQUEST"
        }),
    )
    .unwrap();
    let id = db
        .call("DescribeTable", &serde_json::json!({"TableName": "Tbl"}))
        .unwrap()["Table"]["TableId"]
        .as_str()
        .unwrap()
        .replace('-', "");
    drop(db);
    let table_dir = dir.path().join("tables").join(id);
    std::fs::copy(
        vectors().join("bad-unknown-format.state"),
        table_dir.join("CURRENT"),
    )
    .unwrap();
    let err = ddb_table::Database::open(dir.path(), options()).unwrap_err();
    assert!(err.to_string().contains("format 2"), "{err}");
}
