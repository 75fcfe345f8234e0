//! Shared helpers of the merge tests: a seeded generator of histories and the model replay.
#![allow(dead_code)]

use std::collections::{BTreeMap, BTreeSet};

use ddb_log::{LogError, Record, RecordType};
use ddb_merge::{Fingerprint, Row};

/// splitmix64: small, seedable, good enough for test data.
#[derive(Debug, Clone)]
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    pub fn below(&mut self, n: u64) -> u64 {
        if n == 0 { 0 } else { self.next() % n }
    }

    pub fn bytes(&mut self, max_len: u64) -> Vec<u8> {
        let len = self.below(max_len + 1);
        (0..len).map(|_| self.next() as u8).collect()
    }
}

/// Keys of varying length that share prefixes, so byte order matters.
pub fn key(n: u64) -> Vec<u8> {
    let mut key = format!("k{}", n % 37).into_bytes();
    if n >= 37 {
        key.extend_from_slice(&(n / 37).to_be_bytes()[6..]);
    }
    key
}

/// Attribute values as a snapshot carries them.
pub type Attrs = Option<Vec<Option<Vec<u8>>>>;
/// The replayed table: key → (item, attrs).
pub type Model = BTreeMap<Vec<u8>, (Vec<u8>, Attrs)>;

/// A random table history: snapshot rows at `snapshot_lsn`, then batches of log records.
#[derive(Debug, Clone)]
pub struct History {
    pub snapshot_lsn: u64,
    pub snapshot: Vec<Row>,
    pub records: Vec<Record>,
    /// LSNs that end a batch (plus `snapshot_lsn`): the valid cuts.
    pub cuts: Vec<u64>,
}

pub fn history(rng: &mut Rng, key_space: u64, snapshot_rows: u64, batches: u64) -> History {
    let snapshot_lsn = rng.below(100);
    let mut keys = BTreeSet::new();
    for _ in 0..snapshot_rows {
        keys.insert(key(rng.below(key_space)));
    }
    let snapshot = keys
        .into_iter()
        .map(|key| Row {
            item: rng.bytes(40),
            attrs: Some(vec![Some(rng.bytes(8)), None]),
            key,
        })
        .collect();
    let mut records = Vec::new();
    let mut cuts = vec![snapshot_lsn];
    let mut lsn = snapshot_lsn;
    for _ in 0..batches {
        let size = 1 + rng.below(4);
        for i in 0..size {
            lsn += 1;
            let roll = rng.below(10);
            let (record_type, value) = match roll {
                0..=5 => (RecordType::Put, rng.bytes(60)),
                6..=8 => (RecordType::Delete, Vec::new()),
                _ => (RecordType::Skippable(0x80), rng.bytes(5)),
            };
            records.push(Record {
                record_type,
                end_of_batch: i + 1 == size,
                lsn,
                timestamp_us: lsn * 10,
                key: key(rng.below(key_space)),
                value,
            });
        }
        cuts.push(lsn);
    }
    History {
        snapshot_lsn,
        snapshot,
        records,
        cuts,
    }
}

impl History {
    /// The model: replay the history up to `cut` into a map key → (item, attrs).
    pub fn model(&self, cut: u64) -> Model {
        let mut map: BTreeMap<_, _> = self
            .snapshot
            .iter()
            .map(|row| (row.key.clone(), (row.item.clone(), row.attrs.clone())))
            .collect();
        for record in self.records.iter().filter(|r| r.lsn <= cut) {
            match record.record_type {
                RecordType::Put => {
                    map.insert(record.key.clone(), (record.value.clone(), None));
                }
                RecordType::Delete => {
                    map.remove(&record.key);
                }
                RecordType::Skippable(_) => {}
            }
        }
        map
    }

    pub fn log(&self, cut: u64) -> Vec<Result<Record, LogError>> {
        self.records
            .iter()
            .filter(|r| r.lsn <= cut)
            .cloned()
            .map(Ok)
            .collect()
    }

    pub fn applied(&self, cut: u64) -> u64 {
        self.records
            .iter()
            .filter(|r| r.lsn <= cut && !matches!(r.record_type, RecordType::Skippable(_)))
            .count() as u64
    }
}

/// The fingerprint computed straight from the model, without the merge's code paths.
pub fn model_fingerprint<V>(model: &BTreeMap<Vec<u8>, (Vec<u8>, V)>) -> Fingerprint {
    let mut hash = 0u128;
    let mut item_bytes = 0u64;
    for (key, (item, _)) in model {
        let mut bytes = (key.len() as u64).to_le_bytes().to_vec();
        bytes.extend_from_slice(key);
        bytes.extend_from_slice(item);
        hash = hash.wrapping_add(xxhash_rust::xxh3::xxh3_128(&bytes));
        item_bytes += item.len() as u64;
    }
    Fingerprint {
        items: model.len() as u64,
        item_bytes,
        hash,
    }
}
