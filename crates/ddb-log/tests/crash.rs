//! Crash safety of the log on the simulated disk: random appends (batches of several records),
//! rotations, I/O failures at random points, crashes that drop unsynced data, tear the last
//! writes and reorder their sectors, then recovery. After every crash:
//! - every acknowledged record is present, byte for byte, at its LSN;
//! - a batch that was not acknowledged is either wholly present (right after the acknowledged
//!   ones) or wholly absent — never partly;
//! - LSNs are dense from 1 and the next append continues them;
//! - the recovered log verifies sound.
//!
//! Each case prints nothing unless it fails; the panic message carries the seed, and
//! `DDB_SIM_SEED=<seed>` replays exactly that case.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::cast_possible_truncation
)]

use std::path::Path;
use std::sync::Arc;

use ddb_io::Io;
use ddb_io::sim::{CrashOptions, SimIo, seed_from_env};
use ddb_log::{Durability, Log, LogError, LogOptions, Mutation, MutationKind};

const TABLE: [u8; 16] = *b"crash-test-table";

/// SplitMix64, for choosing operations; the simulated disk has its own seeded generator.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Expected {
    lsn: u64,
    put: bool,
    key: Vec<u8>,
    value: Vec<u8>,
}

fn batch(rng: &mut Rng, serial: u64) -> Vec<Mutation> {
    (0..rng.below(4) + 1)
        .map(|i| {
            // Real keys and canonical items, so the recovered log also verifies with --deep.
            let mut key = Vec::new();
            ddb_model::encode_key(
                &mut key,
                ddb_model::KeyValue::S(&format!("key-{serial}-{i}")),
                None,
            );
            if rng.below(5) == 0 {
                Mutation {
                    kind: MutationKind::Delete,
                    key,
                }
            } else {
                let filler = "v".repeat(rng.below(120) as usize);
                let item = format!("{{\"s\":{{\"S\":\"{serial}-{i}-{filler}\"}}}}");
                Mutation {
                    kind: MutationKind::Put(item.into_bytes()),
                    key,
                }
            }
        })
        .collect()
}

fn expected(first_lsn: u64, batch: &[Mutation]) -> Vec<Expected> {
    batch
        .iter()
        .enumerate()
        .map(|(i, m)| Expected {
            lsn: first_lsn + i as u64,
            put: matches!(m.kind, MutationKind::Put(_)),
            key: m.key.clone(),
            value: match &m.kind {
                MutationKind::Put(v) => v.clone(),
                MutationKind::Delete => Vec::new(),
            },
        })
        .collect()
}

fn read_back(log: &Log) -> Vec<Expected> {
    log.read_from(1)
        .unwrap()
        .map(|r| {
            let r = r.unwrap();
            Expected {
                lsn: r.lsn,
                put: r.record_type == ddb_log::RecordType::Put,
                key: r.key,
                value: r.value,
            }
        })
        .collect()
}

/// One case: several epochs of appends, each ended by a crash at a random point. Returns the
/// number of crashes and how many of them left a torn tail that recovery cut off.
fn run_case(seed: u64, epochs: usize) -> (usize, usize) {
    let sim = SimIo::new(seed);
    let io: Arc<dyn Io> = Arc::new(sim.clone());
    let mut rng = Rng(seed ^ 0x5EED);
    let dir = Path::new("/log");
    let mut options = LogOptions::new(TABLE);
    options.segment_bytes_target = 200 + rng.below(1_500);
    options.durability = if rng.below(3) == 0 {
        Durability::PerCommit
    } else {
        Durability::Group
    };
    let crash_options = match rng.below(3) {
        0 => CrashOptions::clean(),
        1 => CrashOptions::torn(),
        _ => CrashOptions::torn_with_dir_ops(),
    };
    let mut acked: Vec<Expected> = Vec::new();
    let mut serial = 0u64;
    let mut crashes = 0;
    let mut torn_tails = 0;
    for epoch in 0..epochs {
        let context = format!(
            "seed {seed} (replay: DDB_SIM_SEED={seed}), epoch {epoch}, options {options:?}"
        );
        let log = Log::open(io.clone(), dir, options.clone())
            .unwrap_or_else(|e| panic!("{context}: reopen: {e}"));
        // Recovery kept every acknowledged record and at most whole unacknowledged batches.
        let present = read_back(&log);
        assert!(
            present.len() >= acked.len(),
            "{context}: lost acknowledged records"
        );
        assert_eq!(
            &present[..acked.len()],
            &acked[..],
            "{context}: acknowledged records differ"
        );
        assert!(
            present
                .iter()
                .enumerate()
                .all(|(i, r)| r.lsn == i as u64 + 1),
            "{context}: LSNs not dense"
        );
        let report = ddb_log::verify::verify_log(io.as_ref(), dir, true).unwrap();
        assert!(
            report.is_sound(),
            "{context}: recovered log not sound: {:?}",
            report.findings
        );
        // Survivors beyond the acknowledged ones were checked against the in-flight batch
        // below, before the crash; keep them as the new baseline.
        acked = present;

        let appends = rng.below(12) + 1;
        let fail_at = rng.below(appends * 4 + 2);
        let mut in_flight: Option<Vec<Expected>> = None;
        for step in 0..appends {
            if step * 4 == fail_at || (step == appends - 1 && fail_at.is_multiple_of(3)) {
                // Stop this append somewhere in the middle (its frame write, its fsync, a
                // rotation): mostly by cutting the power there, which tears what was written
                // but not synced; sometimes by an I/O error, which poisons the log.
                if rng.below(4) == 0 {
                    sim.fail_after_ops(rng.below(4));
                } else {
                    sim.cut_power_after_ops(rng.below(4), crash_options);
                }
            }
            serial += 1;
            let mutations = batch(&mut rng, serial);
            let first = log.next_lsn();
            let wanted = expected(first, &mutations);
            match log.append(mutations) {
                Ok(committed) => {
                    assert_eq!(
                        (committed.first_lsn, committed.last_lsn),
                        (first, first + wanted.len() as u64 - 1),
                        "{context}"
                    );
                    acked.extend(wanted);
                }
                Err(LogError::Io(_)) | Err(LogError::Poisoned(_)) => {
                    in_flight = Some(wanted);
                    break;
                }
                Err(other) => panic!("{context}: unexpected {other}"),
            }
        }
        sim.crash(crash_options);
        crashes += 1;
        drop(log);
        sim.clear_faults();

        // What may be there after this crash: the acknowledged records, then possibly the
        // whole in-flight batch. Check it now, against a throwaway reopen of the same state.
        let probe = Log::open(io.clone(), dir, options.clone())
            .unwrap_or_else(|e| panic!("{context}: probe reopen: {e}"));
        if matches!(
            probe.repair(),
            ddb_log::layout::TailRepair::Truncated { .. }
        ) {
            torn_tails += 1;
        }
        let present = read_back(&probe);
        assert_eq!(
            &present[..acked.len().min(present.len())],
            &acked[..acked.len().min(present.len())],
            "{context}"
        );
        assert!(
            present.len() >= acked.len(),
            "{context}: lost acknowledged records ({} < {})",
            present.len(),
            acked.len()
        );
        let extra = &present[acked.len()..];
        match &in_flight {
            Some(batch) => assert!(
                extra.is_empty() || extra == &batch[..],
                "{context}: partial batch survived: {extra:?}"
            ),
            None => assert!(
                extra.is_empty(),
                "{context}: records nobody wrote: {extra:?}"
            ),
        }
        drop(probe);
    }
    (crashes, torn_tails)
}

#[test]
fn no_acknowledged_record_is_lost_and_no_batch_is_torn() {
    let base = seed_from_env(0xC0FFEE).unwrap();
    let replay = std::env::var_os("DDB_SIM_SEED").is_some();
    let cases = if replay { 1 } else { 400 };
    let (mut crash_points, mut torn_tails) = (0, 0);
    for case in 0..cases {
        let (crashes, torn) = run_case(base + case, 12);
        crash_points += crashes;
        torn_tails += torn;
    }
    // The test must actually exercise torn final writes, not only clean crashes.
    assert!(
        replay || (crash_points >= 4_000 && torn_tails >= 100),
        "{crash_points} crash points, {torn_tails} torn tails"
    );
    eprintln!("{crash_points} crash points, {torn_tails} torn tails recovered");
}

#[test]
fn a_failed_sync_poisons_the_log_until_it_is_reopened() {
    let sim = SimIo::new(7);
    let io: Arc<dyn Io> = Arc::new(sim.clone());
    let dir = Path::new("/poison");
    let log = Log::open(io.clone(), dir, LogOptions::new(TABLE)).unwrap();
    log.append(vec![Mutation {
        kind: MutationKind::Delete,
        key: b"a".to_vec(),
    }])
    .unwrap();
    sim.fail_next_sync();
    // The append whose fsync failed, and every one after it, is refused with the cause.
    let err = log
        .append(vec![Mutation {
            kind: MutationKind::Delete,
            key: b"b".to_vec(),
        }])
        .unwrap_err();
    assert!(
        matches!(&err, LogError::Poisoned(why) if why.contains("fdatasync") && why.contains("injected")),
        "{err}"
    );
    let err = log
        .append(vec![Mutation {
            kind: MutationKind::Delete,
            key: b"c".to_vec(),
        }])
        .unwrap_err();
    assert!(matches!(err, LogError::Poisoned(_)), "{err}");
    assert!(matches!(log.sync(), Err(LogError::Poisoned(_))));
    drop(log);
    // The failed fsync lost the unsynced write (as Linux does); a reopen finds what is durable.
    sim.crash(CrashOptions::clean());
    let log = Log::open(io, dir, LogOptions::new(TABLE)).unwrap();
    let keys: Vec<Vec<u8>> = log.read_from(1).unwrap().map(|r| r.unwrap().key).collect();
    assert_eq!(keys, [b"a".to_vec()]);
    assert_eq!(
        log.append(vec![Mutation {
            kind: MutationKind::Delete,
            key: b"d".to_vec()
        }])
        .unwrap()
        .first_lsn,
        2
    );
}

#[test]
fn concurrent_appenders_lose_nothing_acknowledged_across_crashes() {
    for seed in 0..20u64 {
        let sim = SimIo::new(1_000 + seed);
        let io: Arc<dyn Io> = Arc::new(sim.clone());
        let dir = Path::new("/concurrent");
        let mut options = LogOptions::new(TABLE);
        options.segment_bytes_target = 2_000;
        let log = Arc::new(Log::open(io.clone(), dir, options.clone()).unwrap());
        sim.fail_after_ops(20 + seed * 7);
        let handles: Vec<_> = (0..4u64)
            .map(|t| {
                let log = Arc::clone(&log);
                std::thread::spawn(move || {
                    let mut acked = Vec::new();
                    for i in 0..50u64 {
                        let batch: Vec<Mutation> = (0..2)
                            .map(|j| Mutation {
                                kind: MutationKind::Put(b"{}".to_vec()),
                                key: format!("t{t}-{i}-{j}").into_bytes(),
                            })
                            .collect();
                        match log.append(batch) {
                            Ok(c) => acked.push((c.first_lsn, format!("t{t}-{i}"))),
                            Err(_) => break,
                        }
                    }
                    acked
                })
            })
            .collect();
        let acked: Vec<(u64, String)> = handles
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect();
        sim.crash(CrashOptions::torn());
        drop(log);
        sim.clear_faults();
        let log = Log::open(io, dir, options).unwrap();
        let records: Vec<_> = log.read_from(1).unwrap().map(|r| r.unwrap()).collect();
        let context = format!("seed {}", 1_000 + seed);
        for (first_lsn, prefix) in &acked {
            let record = records
                .get(*first_lsn as usize - 1)
                .unwrap_or_else(|| panic!("{context}: lost LSN {first_lsn}"));
            assert_eq!(record.key, format!("{prefix}-0").into_bytes(), "{context}");
        }
        // Batches are whole: records come in pairs -0, -1 of the same batch.
        assert_eq!(records.len() % 2, 0, "{context}");
        for pair in records.chunks(2) {
            let (a, b) = (
                String::from_utf8_lossy(&pair[0].key),
                String::from_utf8_lossy(&pair[1].key),
            );
            assert_eq!(a.strip_suffix("-0"), b.strip_suffix("-1"), "{context}");
            assert!(a.strip_suffix("-0").is_some(), "{context}: {a}");
            assert!(!pair[0].end_of_batch && pair[1].end_of_batch, "{context}");
        }
    }
}

/// A crash can make a new segment's length durable before its header bytes: a newest segment
/// that is exactly header-sized and does not decode is an interrupted creation (no frame can
/// follow it), while one byte more is corruption.
#[test]
fn a_header_sized_newest_segment_of_zeros_is_an_interrupted_creation() {
    use ddb_io::{OpenOptions, StdIo};
    use ddb_log::format::{HEADER_BYTES, segment_file_name};
    use ddb_log::layout::TailRepair;

    let io: Arc<dyn Io> = Arc::new(StdIo);
    let table_id = [7u8; 16];
    let with_zeros = |len: usize| {
        let dir = tempfile::tempdir().unwrap();
        let file = io
            .open(
                &dir.path().join(segment_file_name(1)),
                OpenOptions::create_new(),
            )
            .unwrap();
        file.write_all_at(&vec![0u8; len], 0).unwrap();
        dir
    };
    let dir = with_zeros(HEADER_BYTES);
    let log = Log::open(Arc::clone(&io), dir.path(), LogOptions::new(table_id)).unwrap();
    assert!(
        matches!(log.repair(), TailRepair::Recreated { .. }),
        "{:?}",
        log.repair()
    );
    let committed = log
        .append(vec![Mutation {
            kind: MutationKind::Delete,
            key: b"k".to_vec(),
        }])
        .unwrap();
    assert_eq!(committed.first_lsn, 1);

    let dir = with_zeros(HEADER_BYTES + 1);
    let err = Log::open(Arc::clone(&io), dir.path(), LogOptions::new(table_id)).unwrap_err();
    assert!(matches!(err, LogError::Corrupt { .. }), "{err}");
}
