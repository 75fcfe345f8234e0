//! Model test: the merge of a random snapshot and a random log at a random cut equals a
//! `BTreeMap` replay of the history, for 1 to 8 partitions, with spilling forced by tiny memory
//! budgets, on the std and the simulated disk.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::cast_possible_truncation
)]

mod common;

use std::path::Path;
use std::sync::Arc;

use common::{Rng, history, model_fingerprint};
use ddb_io::{Io, SimIo, StdIo};
use ddb_merge::{MergeOptions, SnapshotInput, VecSinkFactory, VecSnapshot, merge};

fn check_case(io: Arc<dyn Io>, spill_dir: &Path, seed: u64) {
    let mut rng = Rng(seed);
    let key_space = 1 + rng.below(300);
    let snapshot_rows = rng.below(200);
    let batches = rng.below(150);
    let h = history(&mut rng, key_space, snapshot_rows, batches);
    let cut = h.cuts[rng.below(h.cuts.len() as u64) as usize];
    let use_snapshot = h.snapshot_lsn > 0 || rng.below(2) == 0;
    let (h, snapshot) = if use_snapshot {
        let rows_per_hint = 1 + rng.below(20) as usize;
        let snap = VecSnapshot::new(h.snapshot_lsn, h.snapshot.clone())
            .unwrap()
            .with_rows_per_hint(rows_per_hint);
        (h, Some(snap))
    } else {
        // A new table: no snapshot, the log starts at LSN 1.
        let mut h = h;
        h.snapshot.clear();
        (h, None)
    };
    let model = h.model(cut);
    let partitions = 1 + rng.below(8) as usize;
    let memory_budget_bytes = [0, 200, 2_000, 1 << 20][rng.below(4) as usize];
    let options = MergeOptions {
        partitions,
        memory_budget_bytes,
        spill_dir: spill_dir.to_owned(),
    };
    let sinks = VecSinkFactory::new();
    let result = merge(
        io.clone(),
        snapshot.as_ref().map(|s| s as &dyn SnapshotInput),
        h.log(cut),
        cut,
        &options,
        &sinks,
    )
    .unwrap_or_else(|e| panic!("seed {seed}: {e}"));

    let rows = sinks.rows();
    let got: Vec<(&[u8], &[u8])> = rows.iter().map(|r| (&r.key[..], &r.item[..])).collect();
    let want: Vec<(&[u8], &[u8])> = model.iter().map(|(k, (v, _))| (&k[..], &v[..])).collect();
    assert_eq!(got, want, "seed {seed}: rows differ from the model");
    // Untouched snapshot rows keep their attrs; rows from the log have none.
    for row in &rows {
        assert_eq!(
            row.attrs, model[&row.key].1,
            "seed {seed}: attrs of {:?}",
            row.key
        );
    }
    assert_eq!(result.fingerprint, model_fingerprint(&model), "seed {seed}");
    assert_eq!(result.records_applied, h.applied(cut), "seed {seed}");
    if memory_budget_bytes == 0 && h.applied(cut) > 0 {
        assert!(
            result.spilled_runs > 0,
            "seed {seed}: a zero budget must spill"
        );
    }
    // Partitions: at most as many as asked, contiguous, each output inside its bounds.
    assert!(result.partitions.len() <= partitions && !result.partitions.is_empty());
    assert_eq!(result.partitions[0].bounds.lower, None);
    assert_eq!(result.partitions.last().unwrap().bounds.upper, None);
    for pair in result.partitions.windows(2) {
        assert_eq!(pair[0].bounds.upper, pair[1].bounds.lower, "seed {seed}");
    }
    let by_partition = sinks.partitions();
    for (index, partition) in result.partitions.iter().enumerate() {
        let rows = by_partition.get(&index).cloned().unwrap_or_default();
        assert_eq!(partition.output.rows, rows.len() as u64);
        assert_eq!(partition.fingerprint.items, rows.len() as u64);
        for row in rows {
            assert!(
                partition
                    .bounds
                    .lower
                    .as_ref()
                    .is_none_or(|l| row.key >= *l)
            );
            assert!(partition.bounds.upper.as_ref().is_none_or(|u| row.key < *u));
        }
    }
    assert_eq!(
        io.read_dir(spill_dir).unwrap(),
        Vec::<std::ffi::OsString>::new(),
        "seed {seed}: spill files left"
    );
}

#[test]
fn merge_equals_model_on_std_io() {
    let dir = tempfile::tempdir().unwrap();
    let io: Arc<dyn Io> = Arc::new(StdIo::new());
    for seed in 0..150 {
        check_case(io.clone(), &dir.path().join("spill"), seed);
    }
}

#[test]
fn merge_equals_model_on_sim_io() {
    for seed in 1_000..1_200 {
        let io: Arc<dyn Io> = Arc::new(SimIo::new(seed));
        check_case(io, Path::new("/spill"), seed);
    }
}

#[test]
fn every_partition_count_and_budget_on_one_history() {
    let mut rng = Rng(7);
    let h = history(&mut rng, 120, 100, 200);
    let cut = *h.cuts.last().unwrap();
    let snapshot = VecSnapshot::new(h.snapshot_lsn, h.snapshot.clone())
        .unwrap()
        .with_rows_per_hint(3);
    let model = h.model(cut);
    for partitions in 1..=8 {
        for budget in [0, 500, 5_000, usize::MAX] {
            let io: Arc<dyn Io> = Arc::new(SimIo::new(partitions as u64));
            let options = MergeOptions {
                partitions,
                memory_budget_bytes: budget,
                spill_dir: "/s".into(),
            };
            let sinks = VecSinkFactory::new();
            let result = merge(
                io.clone(),
                Some(&snapshot),
                h.log(cut),
                cut,
                &options,
                &sinks,
            )
            .unwrap();
            let got: Vec<_> = sinks.rows().into_iter().map(|r| (r.key, r.item)).collect();
            let want: Vec<_> = model
                .iter()
                .map(|(k, (v, _))| (k.clone(), v.clone()))
                .collect();
            assert_eq!(got, want, "P={partitions} budget={budget}");
            assert_eq!(
                result.partitions.len(),
                partitions,
                "enough keys for every split"
            );
            assert_eq!(result.fingerprint, model_fingerprint(&model));
            assert!(io.read_dir(Path::new("/s")).unwrap().is_empty());
        }
    }
}

/// A tiny budget and a long log make hundreds of runs: they are merged so that no merge opens
/// more than the fan-in limit, the output still equals the model, and deletes that went through
/// run merges (as tombstones) still remove snapshot rows.
#[test]
fn many_runs_are_merged_down_to_the_fan_in_limit() {
    let mut rng = Rng(42);
    let h = history(&mut rng, 400, 300, 400);
    let cut = *h.cuts.last().unwrap();
    let snapshot = VecSnapshot::new(h.snapshot_lsn, h.snapshot.clone())
        .unwrap()
        .with_rows_per_hint(7);
    let model = h.model(cut);
    let deleted: Vec<&Vec<u8>> = h
        .snapshot
        .iter()
        .map(|row| &row.key)
        .filter(|key| !model.contains_key(*key))
        .collect();
    assert!(
        deleted.len() > 10,
        "the log must delete snapshot rows: {}",
        deleted.len()
    );
    for partitions in [1, 2, 5] {
        // Budget 0 spills every record: one run each, all newer than the in-memory map.
        for budget in [0, 500, 3_000] {
            let io: Arc<dyn Io> = Arc::new(SimIo::new(partitions as u64));
            let options = MergeOptions {
                partitions,
                memory_budget_bytes: budget,
                spill_dir: "/s".into(),
            };
            let sinks = VecSinkFactory::new();
            let result = merge(
                io.clone(),
                Some(&snapshot),
                h.log(cut),
                cut,
                &options,
                &sinks,
            )
            .unwrap();
            let what = format!("P={partitions} budget={budget}: {result:?}");
            let got: Vec<_> = sinks.rows().into_iter().map(|r| (r.key, r.item)).collect();
            let want: Vec<_> = model
                .iter()
                .map(|(k, (v, _))| (k.clone(), v.clone()))
                .collect();
            assert_eq!(got, want, "{what}");
            assert_eq!(result.fingerprint, model_fingerprint(&model), "{what}");
            assert!(result.spilled_runs > 3 * result.fan_in_limit, "{what}");
            assert!(result.run_merges > 0, "{what}");
            assert!(result.final_runs <= result.fan_in_limit, "{what}");
            assert!(result.max_runs_merged >= 2, "{what}");
            assert!(result.max_runs_merged <= result.fan_in_limit, "{what}");
            for key in &deleted {
                assert!(
                    sinks.rows().iter().all(|row| row.key != **key),
                    "{what}: deleted snapshot key {key:?} is back"
                );
            }
            assert!(io.read_dir(Path::new("/s")).unwrap().is_empty(), "{what}");
        }
    }
}
