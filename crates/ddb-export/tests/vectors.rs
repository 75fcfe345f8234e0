//! The vectors of `formats/export/vectors/`, written by `formats/export/tools/make_sample.py`
//! (Python's standard library, not this crate): an export in AWS's documented layout reads back
//! exactly the items the script wrote, and a damaged one is reported line by line and file by
//! file. Every entry of `vectors/` must be known here.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;

use std::collections::BTreeSet;
use std::path::PathBuf;

use common::{open, read_all};
use ddb_export::Compression;
use ddb_model::Item;
use serde_json::Value;

fn vectors() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../formats/export/vectors")
}

fn bare(value: &Value) -> Item {
    ddb_model::parse_item(&value.to_string()).unwrap()
}

#[test]
fn every_vector_is_known() {
    let names: BTreeSet<String> = std::fs::read_dir(vectors())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    let known: BTreeSet<String> = [
        "README.md",
        "aws-sample",
        "aws-sample-items.jsonl",
        "bad-lines",
        "bad-lines-expected.json",
    ]
    .map(str::to_owned)
    .into();
    assert_eq!(names, known);
}

#[test]
fn the_aws_sample_reads_back_the_scripts_items() {
    let expected: Vec<Item> = std::fs::read_to_string(vectors().join("aws-sample-items.jsonl"))
        .unwrap()
        .lines()
        .map(|line| ddb_model::parse_item(line).unwrap())
        .collect();
    assert_eq!(expected.len(), 10);
    let bucket = vectors().join("aws-sample");
    let root = "exports/2024/AWSDynamoDB/01700000123456-5d3c9a1f";
    // From the bucket with the prefix, with the export's own prefix, and from its directory.
    for (dir, prefix) in [
        (bucket.clone(), Some("exports/2024")),
        (bucket.clone(), Some(root)),
        (bucket.join(root), None),
    ] {
        let source = open(&dir, prefix, Compression::Gzip);
        assert_eq!(source.files().len(), 3, "two data files and an empty one");
        let (items, errors) = read_all(&source);
        assert!(errors.is_empty(), "{errors:?}");
        let got: Vec<Item> = items.iter().map(|i| i.item.clone()).collect();
        assert_eq!(got, expected);
        let lines: Vec<u64> = items.iter().map(|i| i.line).collect();
        assert_eq!(lines, [1, 2, 3, 4, 5, 6, 1, 2, 3, 4]);
    }
}

#[test]
fn the_bad_vector_is_reported_line_by_line() {
    let spec: Value = serde_json::from_str(
        &std::fs::read_to_string(vectors().join("bad-lines-expected.json")).unwrap(),
    )
    .unwrap();
    let source = open(&vectors().join("bad-lines"), None, Compression::Gzip);
    let files = spec["files"].as_array().unwrap();
    assert_eq!(source.files().len(), files.len());
    let (items, errors) = read_all(&source);
    for file in files {
        let name = file["file"].as_str().unwrap();
        let got: Vec<(u64, Item)> = items
            .iter()
            .filter(|i| i.file == name)
            .map(|i| (i.line, i.item.clone()))
            .collect();
        let got_errors: Vec<_> = errors.iter().filter(|e| e.file == name).collect();
        if let Some(all) = file.get("truncated_prefix_of") {
            // A gzip stream cut short: the lines before the cut, then one error.
            let all: Vec<Item> = all.as_array().unwrap().iter().map(bare).collect();
            assert!(
                !got.is_empty() && got.len() < all.len(),
                "{name}: {}",
                got.len()
            );
            for (index, (line, item)) in got.iter().enumerate() {
                assert_eq!((*line, item), (index as u64 + 1, &all[index]), "{name}");
            }
            assert_eq!(got_errors.len(), 1, "{name}: {got_errors:?}");
            assert_eq!(got_errors[0].line, got.len() as u64 + 1);
            let needle = file["errors"][0][1].as_str().unwrap();
            assert!(got_errors[0].message.contains(needle), "{}", got_errors[0]);
            continue;
        }
        let want: Vec<(u64, Item)> = file["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|pair| (pair[0].as_u64().unwrap(), bare(&pair[1])))
            .collect();
        assert_eq!(got, want, "{name}");
        let want_errors = file["errors"].as_array().unwrap();
        assert_eq!(
            got_errors.len(),
            want_errors.len(),
            "{name}: {got_errors:?}"
        );
        for (error, want) in got_errors.iter().zip(want_errors) {
            assert_eq!(error.line, want[0].as_u64().unwrap(), "{error}");
            let needle = want[1].as_str().unwrap();
            assert!(error.message.contains(needle), "{error} lacks {needle:?}");
            assert!(
                error
                    .to_string()
                    .starts_with(&format!("{name}:{}: ", error.line))
            );
        }
    }
    assert_eq!(errors.len(), 7, "{errors:#?}");
}
