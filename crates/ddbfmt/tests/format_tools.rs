//! `ddbfmt inspect`, `dump` and `verify` on real log segments and directories: sound, torn,
//! damaged and unknown inputs, text and JSON output, exit codes.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::cast_possible_truncation
)]

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use ddb_io::{Io, OpenOptions, StdIo};
use ddb_log::{Log, LogOptions, Mutation, MutationKind};
use ddb_model::{KeyValue, encode_key, parse_item};

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

/// A log of real items: 30 puts and 5 deletes over several segments.
fn make_log(dir: &Path) -> Vec<PathBuf> {
    let io: Arc<dyn Io> = Arc::new(StdIo::new());
    let mut options = LogOptions::new(*b"format-tools-tbl");
    options.segment_bytes_target = 1_000;
    let log = Log::open(io.clone(), dir, options).unwrap();
    for i in 0..30 {
        let item = parse_item(&format!(
            r#"{{"pk":{{"S":"user-{i}"}},"n":{{"N":"{i}.50"}}}}"#
        ))
        .unwrap();
        let mut key = Vec::new();
        encode_key(&mut key, KeyValue::S(&format!("user-{i}")), None);
        let mut batch = vec![Mutation {
            kind: MutationKind::Put(item.to_canonical_json().into_bytes()),
            key,
        }];
        if i % 6 == 5 {
            let mut gone = Vec::new();
            encode_key(&mut gone, KeyValue::S(&format!("user-{}", i - 1)), None);
            batch.push(Mutation {
                kind: MutationKind::Delete,
                key: gone,
            });
        }
        log.append(batch).unwrap();
    }
    io.read_dir(dir)
        .unwrap()
        .into_iter()
        .map(|n| dir.join(n))
        .collect()
}

fn flip(path: &Path, offset: u64) {
    let file = StdIo::new().open(path, OpenOptions::read_write()).unwrap();
    let mut byte = [0u8];
    file.read_exact_at(&mut byte, offset).unwrap();
    file.write_all_at(&[byte[0] ^ 1], offset).unwrap();
}

#[test]
fn a_sound_log_verifies_inspects_and_dumps() {
    let dir = tempfile::tempdir().unwrap();
    let segments = make_log(dir.path());
    assert!(segments.len() >= 3);
    let dir_arg = dir.path().to_str().unwrap();

    let (code, out, _) = run(&["verify", "--deep", dir_arg]);
    assert_eq!(code, ExitCode::SUCCESS, "{out}");
    assert!(out.starts_with("OK: "), "{out}");
    assert!(out.contains("35 record(s)"), "{out}");

    let (code, out, _) = run(&["verify", "--json", segments[0].to_str().unwrap()]);
    assert_eq!(code, ExitCode::SUCCESS);
    let report: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(report["sound"], true);

    let (code, out, _) = run(&["inspect", "--json", dir_arg]);
    assert_eq!(code, ExitCode::SUCCESS);
    let inspect: serde_json::Value = serde_json::from_str(&out).unwrap();
    let listed = inspect["segments"].as_array().unwrap();
    assert_eq!(listed.len(), segments.len());
    assert_eq!(listed[0]["first_lsn"], 1);
    assert_eq!(listed[0]["end"], "sealed");
    assert!(
        listed.last().unwrap()["end"]
            .as_str()
            .unwrap()
            .starts_with("open")
    );
    let (code, text, _) = run(&["inspect", segments[0].to_str().unwrap()]);
    assert_eq!(code, ExitCode::SUCCESS);
    assert!(text.contains("first LSN     1"), "{text}");
    assert!(text.contains("end           sealed"), "{text}");

    let (code, out, _) = run(&["dump", dir_arg]);
    assert_eq!(code, ExitCode::SUCCESS);
    let lines: Vec<serde_json::Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 35);
    assert!(
        lines
            .iter()
            .enumerate()
            .all(|(i, l)| l["lsn"] == i as u64 + 1)
    );
    assert_eq!(lines[0]["type"], "put");
    assert_eq!(lines[0]["key"], serde_json::json!([{"S": "user-0"}]));
    assert_eq!(lines[0]["item"]["n"], serde_json::json!({"N": "0.5"}));
    assert!(
        lines
            .iter()
            .any(|l| l["type"] == "delete" && l.get("item").is_none())
    );
}

#[test]
fn damage_is_reported_with_file_and_offset_and_exit_1() {
    let dir = tempfile::tempdir().unwrap();
    let segments = make_log(dir.path());
    // Inside the first frame of a sealed segment.
    flip(&segments[0], 64 + 32 + 5);
    let (code, out, _) = run(&["verify", dir.path().to_str().unwrap()]);
    assert_eq!(code, ExitCode::from(1), "{out}");
    let first = out.lines().next().unwrap();
    assert!(
        first.starts_with(&format!(
            "{}: byte 88: damage: expected frame checksum",
            segments[0].display()
        )),
        "{first}"
    );
    assert!(out.contains("DAMAGED"), "{out}");
    // dump prints what it can and says where it stopped.
    let (code, out, err) = run(&["dump", segments[0].to_str().unwrap()]);
    assert_eq!(code, ExitCode::from(1));
    assert!(out.is_empty());
    assert!(err.contains("stopped at byte 88"), "{err}");
}

#[test]
fn a_torn_tail_is_damage_but_recoverable() {
    let dir = tempfile::tempdir().unwrap();
    let segments = make_log(dir.path());
    let newest = segments.last().unwrap();
    let file = StdIo::new()
        .open(newest, OpenOptions::read_write())
        .unwrap();
    let len = file.len().unwrap();
    file.write_all_at(b"DDBF\x00\x01", len).unwrap();
    let (code, out, _) = run(&["verify", dir.path().to_str().unwrap()]);
    assert_eq!(code, ExitCode::from(1));
    assert!(
        out.contains(&format!("byte {len}: torn tail (recoverable")),
        "{out}"
    );
    assert!(out.contains("torn tail only; recoverable"), "{out}");
}

#[test]
fn unknown_and_missing_inputs_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let other = dir.path().join("notes.txt");
    std::fs::write(&other, "hello").unwrap();
    let (code, _, err) = run(&["verify", other.to_str().unwrap()]);
    assert_eq!(code, ExitCode::from(2));
    assert!(err.contains("unknown file kind"), "{err}");
    let (code, _, err) = run(&["inspect", dir.path().join("missing").to_str().unwrap()]);
    assert_eq!(code, ExitCode::from(2));
    assert!(err.contains("missing"), "{err}");
}

#[test]
fn any_single_byte_change_anywhere_in_a_log_is_reported_by_verify() {
    let dir = tempfile::tempdir().unwrap();
    let segments = make_log(dir.path());
    // A sealed segment and the open one: header, frames, records, seal.
    for segment in [&segments[0], segments.last().unwrap()] {
        let pristine = std::fs::read(segment).unwrap();
        for offset in 0..pristine.len() {
            let mut damaged = pristine.clone();
            damaged[offset] ^= 0x10;
            std::fs::write(segment, &damaged).unwrap();
            let (code, out, err) = run(&["verify", dir.path().to_str().unwrap()]);
            assert_eq!(
                code,
                ExitCode::from(1),
                "byte {offset} of {}: {out}{err}",
                segment.display()
            );
            assert!(
                out.contains(&segment.display().to_string()),
                "byte {offset}: {out}"
            );
        }
        std::fs::write(segment, &pristine).unwrap();
    }
    let (code, _, _) = run(&["verify", dir.path().to_str().unwrap()]);
    assert_eq!(code, ExitCode::SUCCESS);
}
