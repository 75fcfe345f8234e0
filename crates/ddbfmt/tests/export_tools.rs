//! `ddbfmt inspect`, `dump` and `verify` on export directories in DynamoDB's S3 export layout:
//! the hand-written AWS sample (sound: every item dumped), and the damaged vector (bad lines, a
//! truncated gzip, an MD5 mismatch: exit 1, each problem named by file and line).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::path::PathBuf;
use std::process::ExitCode;

use serde_json::Value;

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

fn vectors() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../formats/export/vectors")
}

fn export_dir(vector: &str) -> PathBuf {
    let base = vectors().join(vector);
    let mut dirs: Vec<PathBuf> = walk(&base)
        .into_iter()
        .filter(|p| p.join("manifest-summary.json").exists())
        .collect();
    assert_eq!(dirs.len(), 1, "{base:?}");
    dirs.remove(0)
}

fn walk(dir: &std::path::Path) -> Vec<PathBuf> {
    let mut out = vec![dir.to_owned()];
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(walk(&path));
        }
    }
    out
}

#[test]
fn the_aws_sample_is_sound_and_dumps_every_item() {
    let dir = export_dir("aws-sample");
    let dir_s = dir.to_str().unwrap();
    let (code, out, err) = run(&["verify", dir_s]);
    assert_eq!(code, ExitCode::SUCCESS, "{out}{err}");
    assert!(out.contains("sound"), "{out}");
    let (code, out, _) = run(&["verify", "--json", dir_s]);
    assert_eq!(code, ExitCode::SUCCESS);
    let report: Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(report["kind"], "export");
    let (code, out, _) = run(&["inspect", dir_s]);
    assert_eq!(code, ExitCode::SUCCESS);
    assert!(out.contains("exportArn"), "{out}");
    let (code, out, err) = run(&["dump", dir_s]);
    assert_eq!(code, ExitCode::SUCCESS, "{err}");
    let expected = std::fs::read_to_string(vectors().join("aws-sample-items.jsonl")).unwrap();
    let canonical = |line: &str| {
        ddb_model::Item::from_dynamodb_json(line)
            .unwrap()
            .to_canonical_json()
    };
    let mut want: Vec<String> = expected
        .lines()
        .filter(|l| !l.is_empty())
        .map(canonical)
        .collect();
    let mut got: Vec<String> = out.lines().map(str::to_owned).collect();
    want.sort();
    got.sort();
    assert_eq!(got, want);
}

#[test]
fn the_damaged_export_is_reported_with_locations() {
    let dir = export_dir("bad-lines");
    let (code, out, _) = run(&["verify", dir.to_str().unwrap()]);
    assert_eq!(code, ExitCode::from(1), "{out}");
    let damaged: Vec<&str> = out.lines().filter(|l| l.starts_with("DAMAGED")).collect();
    // Four bad lines, a truncated gzip, an MD5 and an itemCount mismatch, and the total.
    assert_eq!(damaged.len(), 8, "{out}");
    assert!(damaged.iter().any(|l| l.contains("MD5 mismatch")), "{out}");
    assert!(damaged.iter().any(|l| l.contains("gzip")), "{out}");
    assert!(
        damaged.iter().take(7).all(|l| l.contains(".json.gz:")),
        "{out}"
    );
}
