//! Building twice gives the same bytes, also after an interrupted attempt left junk behind.
#![allow(
    clippy::cast_possible_truncation,
    clippy::cast_possible_wrap,
    clippy::cast_sign_loss,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing
)]

mod common;

use common::*;
use ddb_backup::{MANIFEST_FILE, is_published, remove_backup_files};
use ddb_model::ScalarAttributeType;

#[test]
fn two_builds_are_byte_identical_and_an_interrupted_attempt_changes_nothing() {
    let root = tempfile::tempdir().unwrap();
    let schema = schema(ScalarAttributeType::S);
    let history = history(&schema, 21, 300, 150, 200);
    let cut = history.snapshot_lsn + 180;
    let opts = options(root.path(), 2, 1_500, 5_000);
    let a = root.path().join("a");
    let b = root.path().join("b");
    build_at(&history, &schema, cut, &a, &opts);
    // An interrupted attempt: junk artifacts, a manifest temporary, and the engine's job file.
    std::fs::create_dir_all(b.join("data")).unwrap();
    std::fs::write(b.join("data/part-00000-00000.parquet"), b"torn").unwrap();
    std::fs::write(b.join("data/part-00007-00003.parquet"), b"stray").unwrap();
    std::fs::write(b.join(".manifest.json.tmp-1-2"), b"{").unwrap();
    std::fs::write(b.join("JOB"), b"job state").unwrap();
    build_at(&history, &schema, cut, &b, &opts);
    let mut files_b = snapshot_dir(&b);
    assert_eq!(
        files_b.remove(std::path::Path::new("JOB")).as_deref(),
        Some(&b"job state"[..])
    );
    assert_eq!(snapshot_dir(&a), files_b);
    assert!(files_b.contains_key(std::path::Path::new(MANIFEST_FILE)));

    remove_backup_files(&*io(), &b).unwrap();
    assert!(!is_published(&*io(), &b).unwrap());
    assert_eq!(
        snapshot_dir(&b).into_keys().collect::<Vec<_>>(),
        vec![std::path::PathBuf::from("JOB")]
    );
}

#[test]
fn a_published_backup_is_not_rebuilt_over() {
    let root = tempfile::tempdir().unwrap();
    let (dir, _) = small_backup(root.path());
    let schema = schema(ScalarAttributeType::S);
    let err = ddb_backup::build(
        io(),
        &dir,
        &request(&schema, 0),
        None,
        Vec::new(),
        &options(root.path(), 1, 100, 100),
    )
    .unwrap_err();
    assert!(
        err.to_string().contains("already holds a published backup"),
        "{err}"
    );
}
