//! Random tables through `build` and back through `BackupReader`, against a model.
#![allow(
    clippy::cast_possible_truncation,
    clippy::cast_possible_wrap,
    clippy::cast_sign_loss,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;

use common::*;
use ddb_backup::{BackupReader, VerifyLevel, verify};
use ddb_model::ScalarAttributeType;

fn round_trip(
    pk: ScalarAttributeType,
    seed: u64,
    partitions: usize,
    row_group_bytes: usize,
    artifact_bytes: u64,
) {
    let root = tempfile::tempdir().unwrap();
    let schema = schema(pk);
    let history = history(&schema, seed, 400, 250, 300);
    // A cut inside the log: the records after it must not be in the backup.
    let cut = history.snapshot_lsn + 200;
    let dir = root.path().join("b");
    let manifest = build_at(
        &history,
        &schema,
        cut,
        &dir,
        &options(root.path(), partitions, row_group_bytes, artifact_bytes),
    );
    let expected = model(&history, cut);
    let reader = BackupReader::open(io(), &dir).unwrap();
    let rows: Vec<_> = reader.rows().map(Result::unwrap).collect();
    let got: Vec<(Vec<u8>, Vec<u8>)> = rows.into_iter().map(|r| (r.key, r.item)).collect();
    let want: Vec<(Vec<u8>, Vec<u8>)> = expected.into_iter().collect();
    assert_eq!(got.len(), want.len(), "{pk:?} seed {seed} P={partitions}");
    assert_eq!(got, want, "{pk:?} seed {seed} P={partitions}");
    assert_ne!(
        model(&history, cut),
        model(&history, cut + 100),
        "the records after the cut change the table"
    );
    assert_eq!(manifest.total_rows(), want.len() as u64);
    assert_eq!(manifest.marker.lsn, cut);
    assert_eq!(manifest.snapshot_lsn, history.snapshot_lsn);
    assert_eq!(manifest.log_records_applied, 200);
    let row_groups = reader.row_groups();
    assert_eq!(
        row_groups.iter().map(|rg| rg.rows).sum::<u64>(),
        want.len() as u64
    );
    for level in [
        VerifyLevel::Structure,
        VerifyLevel::Bytes,
        VerifyLevel::Deep,
    ] {
        let report = verify(io(), &dir, level).unwrap();
        assert!(report.is_sound(), "{level:?}: {:?}", report.problems);
    }
    let deep = verify(io(), &dir, VerifyLevel::Deep).unwrap();
    assert_eq!(deep.rows_checked, want.len() as u64);
}

#[test]
fn random_tables_round_trip_with_one_two_and_four_partitions() {
    for (i, pk) in [
        ScalarAttributeType::S,
        ScalarAttributeType::N,
        ScalarAttributeType::B,
    ]
    .into_iter()
    .enumerate()
    {
        for partitions in [1, 2, 4] {
            round_trip(pk, 100 + i as u64, partitions, 64 << 20, 1 << 30);
        }
    }
}

#[test]
fn tiny_row_groups_and_artifacts_force_many_of_each() {
    let root = tempfile::tempdir().unwrap();
    let schema = schema(ScalarAttributeType::N);
    let history = history(&schema, 9, 400, 250, 300);
    let cut = history.snapshot_lsn + 300;
    let dir = root.path().join("b");
    let manifest = build_at(
        &history,
        &schema,
        cut,
        &dir,
        &options(root.path(), 2, 500, 3_000),
    );
    assert!(
        manifest.artifacts.len() >= 4,
        "{} artifacts",
        manifest.artifacts.len()
    );
    assert!(
        manifest
            .artifacts
            .iter()
            .all(|a| a.row_groups.len() >= 2 || a.rows <= 5),
        "row groups per artifact"
    );
    for partitions in [1, 4] {
        round_trip(ScalarAttributeType::S, 11, partitions, 300, 2_500);
    }
    let report = verify(io(), &dir, VerifyLevel::Deep).unwrap();
    assert!(report.is_sound(), "{:?}", report.problems);
}

#[test]
fn an_empty_table_has_no_artifacts() {
    let root = tempfile::tempdir().unwrap();
    let schema = schema(ScalarAttributeType::S);
    let dir = root.path().join("b");
    let manifest = ddb_backup::build(
        io(),
        &dir,
        &request(&schema, 0),
        None,
        Vec::new(),
        &options(root.path(), 2, 1000, 1000),
    )
    .unwrap();
    assert_eq!(manifest.total_rows(), 0);
    assert!(manifest.artifacts.is_empty());
    assert!(verify(io(), &dir, VerifyLevel::Deep).unwrap().is_sound());
    assert_eq!(BackupReader::open(io(), &dir).unwrap().rows().count(), 0);
}

#[test]
fn typed_columns_hold_the_items_key_attributes() {
    let root = tempfile::tempdir().unwrap();
    let (dir, manifest) = small_backup(root.path());
    let columns: Vec<_> = manifest
        .attribute_columns
        .iter()
        .map(|c| (c.attribute.as_str(), c.column.as_str()))
        .collect();
    assert_eq!(
        columns,
        vec![
            ("__lsi", "___lsi"),
            ("_sk", "__sk"),
            ("gsi", "gsi"),
            ("pk", "pk")
        ]
    );
    let _ = dir;
}
