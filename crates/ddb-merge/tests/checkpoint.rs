//! Checkpoints into real snapshot directories from a real log: the result equals a model
//! replay, carries the right typed attributes, verifies deeply, and a power cut at any step
//! leaves either the old snapshot or the complete new one.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::cast_possible_truncation
)]

mod common;

use std::collections::BTreeMap;
use std::ops::Bound;
use std::path::Path;
use std::sync::Arc;

use common::Rng;
use ddb_io::{CrashOptions, Io, SimIo, StdIo};
use ddb_log::{Log, LogOptions, LogReader, Mutation, MutationKind};
use ddb_merge::{
    CheckpointOptions, Fingerprint, MergeOptions, SnapshotDirInput, SnapshotInput, checkpoint,
    remove_unreferenced,
};
use ddb_model::ScalarAttributeType;
use ddb_snapshot::{Columns, SnapshotManifest, SnapshotReader, WriterOptions, attrs_from_item};

const TABLE: [u8; 16] = *b"checkpoint-table";

type Model = BTreeMap<Vec<u8>, Vec<u8>>;

fn attributes() -> Vec<(String, ScalarAttributeType)> {
    vec![
        ("id".to_owned(), ScalarAttributeType::S),
        ("n".to_owned(), ScalarAttributeType::N),
    ]
}

fn key(n: u64) -> Vec<u8> {
    let mut key = Vec::new();
    ddb_model::encode_key(
        &mut key,
        ddb_model::KeyValue::S(&format!("k{}", n * 7919 % 1000)),
        None,
    );
    key
}

/// Items of varying size; `n` is sometimes missing or of the wrong type (typed value `None`).
fn item(rng: &mut Rng, n: u64) -> Vec<u8> {
    let pad = "x".repeat(rng.below(80) as usize);
    let number = match rng.below(5) {
        0 => String::new(),
        1 => format!(",\"n\":{{\"S\":\"{}\"}}", rng.below(100)),
        _ => format!(",\"n\":{{\"N\":\"{}\"}}", rng.below(100_000)),
    };
    format!("{{\"id\":{{\"S\":\"k{n}\"}}{number},\"pad\":{{\"S\":\"{pad}\"}}}}").into_bytes()
}

/// Appends `batches` random batches to `log`, applying them to `model`; returns the LSN of the
/// last one.
fn append(log: &Log, rng: &mut Rng, model: &mut Model, batches: u64) -> u64 {
    let mut last = 0;
    for _ in 0..batches {
        let mut batch = BTreeMap::new();
        for _ in 0..1 + rng.below(4) {
            let n = rng.below(300);
            let kind = if rng.below(5) == 0 {
                MutationKind::Delete
            } else {
                MutationKind::Put(item(rng, n))
            };
            batch.insert(key(n), kind);
        }
        let batch: Vec<Mutation> = batch
            .into_iter()
            .map(|(key, kind)| Mutation { kind, key })
            .collect();
        for m in &batch {
            match &m.kind {
                MutationKind::Put(item) => model.insert(m.key.clone(), item.clone()),
                MutationKind::Delete => model.remove(&m.key),
            };
        }
        last = log.append(batch).unwrap().last_lsn;
    }
    last
}

fn options(partitions: usize, budget: usize, spill_dir: &Path) -> CheckpointOptions {
    let mut writer = WriterOptions::new(TABLE, 0, attributes());
    writer.block_bytes_target = 2 << 10;
    writer.file_bytes_target = 24 << 10;
    CheckpointOptions {
        merge: MergeOptions {
            partitions,
            memory_budget_bytes: budget,
            spill_dir: spill_dir.to_path_buf(),
        },
        writer,
    }
}

/// The log records in `(after, cut]`.
fn log_range(
    io: &Arc<dyn Io>,
    dir: &Path,
    after: u64,
    cut: u64,
) -> impl Iterator<Item = Result<ddb_log::Record, ddb_log::LogError>> {
    let reader = LogReader::open(Arc::clone(io), dir).unwrap();
    reader
        .read_from(after + 1)
        .unwrap()
        .take_while(move |r| r.as_ref().map_or(true, |r| r.lsn <= cut))
}

fn model_fingerprint(model: &Model) -> Fingerprint {
    let mut fingerprint = Fingerprint::default();
    for (key, item) in model {
        fingerprint.add(key, item);
    }
    fingerprint
}

/// The published snapshot in `dir` loads, verifies deeply, and holds exactly `model` at `lsn`
/// with typed attributes derived from each item.
fn check_snapshot(io: &Arc<dyn Io>, dir: &Path, lsn: u64, model: &Model) {
    let manifest = SnapshotManifest::load(&**io, dir).unwrap();
    assert_eq!(manifest.lsn, lsn);
    assert_eq!(manifest.totals.rows, model.len() as u64);
    let report = ddb_snapshot::verify(Arc::clone(io), dir, true);
    assert!(report.is_ok(), "{:?}", report.errors);
    let reader = SnapshotReader::open(Arc::clone(io), dir).unwrap();
    let mut rows = BTreeMap::new();
    for row in reader.scan((Bound::Unbounded, Bound::Unbounded), Columns::ALL) {
        let row = row.unwrap();
        assert_eq!(
            row.attrs,
            attrs_from_item(&row.item, &attributes()).unwrap()
        );
        assert!(rows.insert(row.key, row.item).is_none());
    }
    assert!(rows == *model, "snapshot at {lsn} differs from the model");
}

#[test]
fn two_checkpoints_equal_the_model_replay() {
    for partitions in [1, 2, 4] {
        for budget in [2 << 10, 16 << 20] {
            let temp = tempfile::tempdir().unwrap();
            let io: Arc<dyn Io> = Arc::new(StdIo::new());
            let mut rng = Rng(0xC0FF_EE00 + partitions as u64);
            let log_dir = temp.path().join("log");
            let log = Log::open(Arc::clone(&io), &log_dir, LogOptions::new(TABLE)).unwrap();
            let mut model = Model::new();
            let c1 = append(&log, &mut rng, &mut model, 200);
            let model_c1 = model.clone();
            let c2 = append(&log, &mut rng, &mut model, 150);
            append(&log, &mut rng, &mut Model::new(), 20); // beyond the cut
            let options = options(partitions, budget, &temp.path().join("spill"));

            let snap1 = temp.path().join("snap1");
            let first = checkpoint(
                Arc::clone(&io),
                None,
                log_range(&io, &log_dir, 0, c1),
                c1,
                &snap1,
                &options,
            )
            .unwrap();
            check_snapshot(&io, &snap1, c1, &model_c1);
            assert_eq!(first.fingerprint, model_fingerprint(&model_c1));
            assert_eq!(
                first.manifest,
                SnapshotManifest::load(&*io, &snap1).unwrap()
            );

            let snap2 = temp.path().join("snap2");
            let second = checkpoint(
                Arc::clone(&io),
                Some(&snap1),
                log_range(&io, &log_dir, c1, c2),
                c2,
                &snap2,
                &options,
            )
            .unwrap();
            check_snapshot(&io, &snap2, c2, &model);
            assert_eq!(second.fingerprint, model_fingerprint(&model));
            assert!(second.merge.partitions.len() <= partitions);
            if partitions > 1 {
                assert!(
                    second.merge.partitions.len() > 1,
                    "the key space was not split"
                );
            }
            if budget < 4 << 10 {
                assert!(second.merge.spilled_runs > 0, "a tiny budget must spill");
            }
            // The split hints are every block's first key, ascending.
            let input = SnapshotDirInput::open(Arc::clone(&io), &snap2).unwrap();
            let hints = input.split_hints();
            assert!(hints.len() > second.manifest.files.len());
            assert!(hints.windows(2).all(|w| w[0] < w[1]));
            // A range scan of the adapter matches the model's range.
            let (lower, upper) = (&hints[1], &hints[hints.len() - 1]);
            let scanned: Vec<_> = input
                .scan(Some(lower), Some(upper))
                .unwrap()
                .map(|r| r.unwrap())
                .collect();
            let expected: Vec<_> = model.range(lower.clone()..upper.clone()).collect();
            assert_eq!(scanned.len(), expected.len());
            for (row, (key, item)) in scanned.iter().zip(expected) {
                assert_eq!((&row.key, &row.item), (key, item));
                assert!(row.attrs.is_some());
            }
            // Nothing unreferenced is left, and a checkpoint never overwrites a snapshot.
            assert_eq!(remove_unreferenced(&*io, &snap2).unwrap(), 0);
            assert!(
                checkpoint(
                    Arc::clone(&io),
                    Some(&snap1),
                    log_range(&io, &log_dir, c1, c2),
                    c2,
                    &snap2,
                    &options,
                )
                .is_err()
            );
        }
    }
}

#[test]
fn remove_unreferenced_deletes_only_files_no_manifest_names() {
    let temp = tempfile::tempdir().unwrap();
    let io: Arc<dyn Io> = Arc::new(StdIo::new());
    let mut rng = Rng(7);
    let log_dir = temp.path().join("log");
    let log = Log::open(Arc::clone(&io), &log_dir, LogOptions::new(TABLE)).unwrap();
    let mut model = Model::new();
    let c1 = append(&log, &mut rng, &mut model, 100);
    let snap = temp.path().join("snap");
    let options = options(2, 1 << 20, &temp.path().join("spill"));
    checkpoint(
        Arc::clone(&io),
        None,
        log_range(&io, &log_dir, 0, c1),
        c1,
        &snap,
        &options,
    )
    .unwrap();
    std::fs::write(snap.join("p000009-000000.snap"), b"orphan").unwrap();
    std::fs::write(snap.join("notes.txt"), b"kept").unwrap();
    assert_eq!(remove_unreferenced(&*io, &snap).unwrap(), 1);
    assert!(snap.join("notes.txt").exists());
    check_snapshot(&io, &snap, c1, &model);
    // Without a manifest, every .snap file goes.
    std::fs::remove_file(snap.join(ddb_snapshot::MANIFEST_FILE_NAME)).unwrap();
    assert!(remove_unreferenced(&*io, &snap).unwrap() > 0);
    assert!(
        std::fs::read_dir(&snap).unwrap().all(|e| !e
            .unwrap()
            .file_name()
            .to_string_lossy()
            .ends_with(".snap"))
    );
}

#[test]
fn a_power_cut_at_any_step_leaves_the_old_or_the_whole_new_snapshot() {
    let seed = ddb_io::sim::seed_from_env(0x5EED_C4C7).unwrap();
    let sim = SimIo::new(seed);
    let io: Arc<dyn Io> = Arc::new(sim.clone());
    let mut rng = Rng(seed);
    let root = Path::new("/db");
    let log_dir = root.join("log");
    let mut model = Model::new();
    let (c1, model_c1, c2) = {
        let log = Log::open(Arc::clone(&io), &log_dir, LogOptions::new(TABLE)).unwrap();
        let c1 = append(&log, &mut rng, &mut model, 80);
        let model_c1 = model.clone();
        let c2 = append(&log, &mut rng, &mut model, 60);
        log.sync().unwrap();
        (c1, model_c1, c2)
    };
    let snap1 = root.join("snap1");
    let options = options(2, 2 << 10, &root.join("spill"));
    checkpoint(
        Arc::clone(&io),
        None,
        log_range(&io, &log_dir, 0, c1),
        c1,
        &snap1,
        &options,
    )
    .unwrap();
    // Make every directory entry so far durable, as a restart would find them.
    io.sync_dir(root).unwrap();

    let mut crashes = 0;
    for k in 0.. {
        assert!(
            k < 10_000,
            "the checkpoint never completed (seed {seed:#x})"
        );
        let snap2 = root.join(format!("snap2-{k}"));
        let before = sim.crashes();
        sim.cut_power_after_ops(k, CrashOptions::torn());
        let result = checkpoint(
            Arc::clone(&io),
            Some(&snap1),
            log_range(&io, &log_dir, c1, c2),
            c2,
            &snap2,
            &options,
        );
        sim.clear_faults();
        if sim.crashes() == before {
            let done = result.unwrap();
            assert_eq!(done.fingerprint, model_fingerprint(&model));
            check_snapshot(&io, &snap2, c2, &model);
            break;
        }
        crashes += 1;
        // The simulated machine reboots in place and handles opened after the crash work, so
        // a crash while removing spill runs (already gone with the crash) lets the checkpoint
        // go on and commit: a success must then be a whole snapshot.
        if result.is_ok() {
            check_snapshot(&io, &snap2, c2, &model);
            continue;
        }
        // The old snapshot is intact whatever happened.
        check_snapshot(&io, &snap1, c1, &model_c1);
        if SnapshotManifest::load(&*io, &snap2).is_ok() {
            // Committed before the crash: then it is whole.
            check_snapshot(&io, &snap2, c2, &model);
        } else if io.exists(&snap2).unwrap() {
            // Not committed: the leftovers are removable, and a retry completes.
            remove_unreferenced(&*io, &snap2).unwrap();
            let names = io.read_dir(&snap2).unwrap();
            assert!(
                names
                    .iter()
                    .all(|n| !n.to_string_lossy().ends_with(".snap")),
                "k {k}: {names:?}"
            );
            if k % 16 == 0 {
                checkpoint(
                    Arc::clone(&io),
                    Some(&snap1),
                    log_range(&io, &log_dir, c1, c2),
                    c2,
                    &snap2,
                    &options,
                )
                .unwrap();
                check_snapshot(&io, &snap2, c2, &model);
            }
        }
    }
    assert!(crashes > 10, "only {crashes} crash points");
}
