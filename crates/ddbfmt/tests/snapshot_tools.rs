//! `ddbfmt inspect`, `dump` and `verify` on real snapshots (files, manifest, directory) written
//! by `ddb_snapshot::SnapshotWriter`: sound, damaged and unknown inputs, text and JSON output,
//! exit codes.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::cast_possible_truncation
)]

use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;

use ddb_io::{Io, StdIo};
use ddb_model::{KeyValue, ScalarAttributeType, encode_key};
use ddb_snapshot::{
    FileEntry, MANIFEST_FILE_NAME, Row, SnapshotManifest, SnapshotWriter, WriterOptions,
};
use serde_json::{Value, json};

const TABLE_ID: [u8; 16] = *b"snapshot-tools-t";
const LSN: u64 = 77;
const ROWS: usize = 60;

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

/// The rows written: key `user-NN`, item with `pk` and `n`, typed column `n` (absent on every
/// fifth row, whose `n` is a string).
fn rows() -> Vec<Row> {
    (0..ROWS)
        .map(|i| {
            let pk = format!("user-{i:02}");
            let mut key = Vec::new();
            encode_key(&mut key, KeyValue::S(&pk), None);
            let (n_json, n_attr) = if i % 5 == 4 {
                (format!(r#"{{"S":"x{i}"}}"#), None)
            } else {
                let number = ddb_model::Number::parse(&format!("{i}.5")).unwrap();
                let mut out = Vec::new();
                KeyValue::N(&number).encode(&mut out);
                (format!(r#"{{"N":"{i}.5"}}"#), Some(out))
            };
            let item = format!(r#"{{"n":{n_json},"pk":{{"S":"{pk}"}}}}"#).into_bytes();
            Row {
                key,
                item,
                attrs: vec![n_attr],
            }
        })
        .collect()
}

/// Writes a snapshot of several files, several blocks each, and publishes its manifest.
fn make_snapshot(dir: &Path) -> Vec<FileEntry> {
    let io: Arc<dyn Io> = Arc::new(StdIo::new());
    let mut options = WriterOptions::new(
        TABLE_ID,
        LSN,
        vec![("n".to_owned(), ScalarAttributeType::N)],
    );
    options.block_bytes_target = 600;
    options.file_bytes_target = 12 << 10;
    let mut writer = SnapshotWriter::new(Arc::clone(&io), dir, "t", options).unwrap();
    for row in rows() {
        writer.push(&row).unwrap();
    }
    let entries = writer.finish().unwrap();
    assert!(entries.len() >= 2, "{} files", entries.len());
    SnapshotManifest::new(TABLE_ID, LSN, entries.clone())
        .publish(io.as_ref(), dir)
        .unwrap();
    entries
}

fn flip(path: &Path, offset: usize) {
    let mut bytes = std::fs::read(path).unwrap();
    bytes[offset] ^= 0x10;
    std::fs::write(path, bytes).unwrap();
}

fn json_of(out: &str) -> Value {
    serde_json::from_str(out.trim()).unwrap()
}

#[test]
fn verify_accepts_a_sound_file_manifest_and_directory() {
    let dir = tempfile::tempdir().unwrap();
    let entries = make_snapshot(dir.path());
    let file = dir.path().join(&entries[0].name);
    let manifest = dir.path().join(MANIFEST_FILE_NAME);
    for target in [&file, &manifest, &dir.path().to_path_buf()] {
        for deep in [false, true] {
            let mut args = vec!["verify", s(target)];
            if deep {
                args.push("--deep");
            }
            let (code, out, err) = run(&args);
            assert_eq!(code, ExitCode::SUCCESS, "{args:?}: {out}{err}");
            assert!(out.starts_with("OK: "), "{out}");
        }
    }
    let (code, out, _) = run(&["verify", "--deep", "--json", s(dir.path())]);
    assert_eq!(code, ExitCode::SUCCESS);
    let v = json_of(&out);
    assert_eq!(v["sound"], json!(true));
    assert_eq!(v["kind"], json!("snapshot-directory"));
    assert_eq!(v["rows"], json!(ROWS));
    assert_eq!(v["files"], json!(entries.len()));
    assert_eq!(v["findings"], json!([]));
    let (code, out, _) = run(&["verify", "--json", s(&file)]);
    assert_eq!(code, ExitCode::SUCCESS);
    assert_eq!(json_of(&out)["rows"], json!(entries[0].row_count));
}

#[test]
fn inspect_shows_header_rows_blocks_keys_and_columns() {
    let dir = tempfile::tempdir().unwrap();
    let entries = make_snapshot(dir.path());
    let file = dir.path().join(&entries[0].name);

    let (code, out, _) = run(&["inspect", "--json", s(&file)]);
    assert_eq!(code, ExitCode::SUCCESS, "{out}");
    let v = json_of(&out);
    assert_eq!(v["kind"], json!("snapshot-file"));
    assert_eq!(v["table_id"], json!(hex(&TABLE_ID)));
    assert_eq!(v["lsn"], json!(LSN));
    assert_eq!(v["rows"], json!(entries[0].row_count));
    assert_eq!(v["size_bytes"], json!(entries[0].size_bytes));
    assert!(v["blocks"].as_u64().unwrap() >= 2, "{v}");
    assert_eq!(v["first_key"], json!([{"S": "user-00"}]));
    assert_eq!(v["first_key_hex"], json!(hex(&entries[0].first_key)));
    let names: Vec<&str> = v["columns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["key", "n", "item"]);
    assert_eq!(v["columns"][0]["codecs"], json!(["lz4"]));
    assert_eq!(v["columns"][1]["type"], json!("N"));
    assert_eq!(v["columns"][2]["codecs"], json!(["zstd"]));

    let (code, text, _) = run(&["inspect", s(&file)]);
    assert_eq!(code, ExitCode::SUCCESS);
    assert!(text.starts_with("snapshot file "), "{text}");
    assert!(
        text.contains(&format!("table id      {}", hex(&TABLE_ID))),
        "{text}"
    );
    assert!(text.contains(&format!("LSN           {LSN}")), "{text}");
    assert!(
        text.contains(&format!("rows          {}", entries[0].row_count)),
        "{text}"
    );
    assert!(
        text.contains(r#"key range     [{"S":"user-00"}] ..= "#),
        "{text}"
    );
    assert!(text.contains("column item"), "{text}");

    let (code, out, _) = run(&["inspect", "--json", s(dir.path())]);
    assert_eq!(code, ExitCode::SUCCESS);
    let v = json_of(&out);
    assert_eq!(v["kind"], json!("snapshot-directory"));
    assert_eq!(v["totals"]["rows"], json!(ROWS));
    assert_eq!(v["totals"]["files"], json!(entries.len()));
    assert_eq!(v["files"].as_array().unwrap().len(), entries.len());
    assert_eq!(v["files"][0]["name"], json!(entries[0].name));
    assert_eq!(v["files"][0]["file"]["rows"], json!(entries[0].row_count));
    let last = format!("user-{:02}", ROWS - 1);
    assert_eq!(
        v["files"][entries.len() - 1]["last_key"],
        json!([{ "S": last }])
    );

    let manifest = dir.path().join(MANIFEST_FILE_NAME);
    let (code, text, _) = run(&["inspect", s(&manifest)]);
    assert_eq!(code, ExitCode::SUCCESS);
    assert!(text.starts_with("snapshot manifest "), "{text}");
    assert!(
        text.contains(&format!(
            "totals        {} file(s), {ROWS} row(s)",
            entries.len()
        )),
        "{text}"
    );
}

#[test]
fn dump_prints_every_row_in_key_order() {
    let dir = tempfile::tempdir().unwrap();
    let entries = make_snapshot(dir.path());
    let written = rows();
    let (code, out, err) = run(&["dump", s(dir.path())]);
    assert_eq!(code, ExitCode::SUCCESS, "{err}");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), ROWS);
    for (i, (line, row)) in lines.iter().zip(&written).enumerate() {
        let v: Value = serde_json::from_str(line).unwrap();
        assert_eq!(v["key"], json!([{ "S": format!("user-{i:02}") }]));
        assert_eq!(v["key_hex"], json!(hex(&row.key)));
        let item: Value = serde_json::from_slice(&row.item).unwrap();
        assert_eq!(v["item"], item);
        let n = if i % 5 == 4 {
            Value::Null
        } else {
            json!({ "N": format!("{i}.5") })
        };
        assert_eq!(v["attrs"], json!({ "n": n }), "{line}");
    }
    let (code, out, _) = run(&["dump", s(&dir.path().join(&entries[1].name))]);
    assert_eq!(code, ExitCode::SUCCESS);
    assert_eq!(out.lines().count() as u64, entries[1].row_count);
    let first: Value = serde_json::from_str(out.lines().next().unwrap()).unwrap();
    assert_eq!(first["key_hex"], json!(hex(&entries[1].first_key)));
}

#[test]
fn a_flipped_byte_in_a_file_is_reported_with_file_and_offset() {
    let dir = tempfile::tempdir().unwrap();
    let entries = make_snapshot(dir.path());
    let file = dir.path().join(&entries[1].name);
    // A byte of the first block's first chunk (blocks start at 4096).
    flip(&file, 4096 + 3);

    let (code, out, _) = run(&["verify", s(dir.path())]);
    assert_eq!(code, ExitCode::from(1), "{out}");
    assert!(out.contains(&format!("{}: byte ", file.display())), "{out}");
    assert!(out.starts_with(&file.display().to_string()), "{out}");

    let (code, out, _) = run(&["verify", "--deep", "--json", s(&file)]);
    assert_eq!(code, ExitCode::from(1), "{out}");
    let v = json_of(&out);
    assert_eq!(v["sound"], json!(false));
    let finding = &v["findings"][0];
    assert_eq!(finding["path"], json!(file.display().to_string()));
    let offset = finding["offset"].as_u64().unwrap();
    assert!((4096..8192).contains(&offset), "{finding}");
    assert_eq!(finding["damage"], json!("chunk"), "{finding}");
    assert!(
        finding["expected"].as_str().unwrap().contains("checksum"),
        "{finding}"
    );

    // Dump prints the rows of the sound first file, then stops at the damage.
    let (code, out, err) = run(&["dump", s(dir.path())]);
    assert_eq!(code, ExitCode::from(1));
    assert_eq!(out.lines().count() as u64, entries[0].row_count);
    assert!(
        err.contains(&format!("{}: byte {offset}", file.display())),
        "{err}"
    );

    // A damaged header: plain verify (no --deep) names it, and inspect still shows the trailer.
    let other = dir.path().join(&entries[0].name);
    flip(&other, 20);
    let (code, out, _) = run(&["verify", "--json", s(&other)]);
    assert_eq!(code, ExitCode::from(1), "{out}");
    assert!(json_of(&out)["findings"][0]["offset"].as_u64().unwrap() < 64);
    let (code, out, _) = run(&["inspect", "--json", s(&other)]);
    assert_eq!(code, ExitCode::from(1));
    let v = json_of(&out);
    assert_eq!(v["rows"], json!(entries[0].row_count), "{v}");
    assert_eq!(v["findings"].as_array().unwrap().len(), 1, "{v}");
}

#[test]
fn a_flipped_byte_in_the_manifest_is_damage() {
    let dir = tempfile::tempdir().unwrap();
    make_snapshot(dir.path());
    let manifest = dir.path().join(MANIFEST_FILE_NAME);
    flip(&manifest, 30);
    for target in [dir.path(), manifest.as_path()] {
        let (code, out, _) = run(&["verify", s(target)]);
        assert_eq!(code, ExitCode::from(1), "{out}");
        assert!(
            out.contains(&format!("{}: byte ", manifest.display())),
            "{out}"
        );
    }
    let (code, out, _) = run(&["verify", "--json", s(dir.path())]);
    assert_eq!(code, ExitCode::from(1));
    assert_eq!(
        json_of(&out)["findings"][0]["path"],
        json!(manifest.display().to_string())
    );
    let (code, _, _) = run(&["inspect", s(dir.path())]);
    assert_eq!(code, ExitCode::from(1));
}

#[test]
fn unknown_inputs_are_unusable() {
    let dir = tempfile::tempdir().unwrap();
    let junk = dir.path().join("junk.snap");
    std::fs::write(&junk, b"not a snapshot at all").unwrap();
    for verb in ["verify", "inspect", "dump"] {
        let (code, _, err) = run(&[verb, s(&junk)]);
        assert_eq!(code, ExitCode::from(2), "{verb}");
        assert!(err.contains("unknown file kind"), "{err}");
    }
    let empty = dir.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    let (code, _, err) = run(&["verify", s(&empty)]);
    assert_eq!(code, ExitCode::from(2));
    assert!(err.contains("snapshot directory"), "{err}");
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
