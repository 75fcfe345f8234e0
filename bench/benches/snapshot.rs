//! Snapshot stage: one snapshot of N rows of ~400-byte canonical-JSON items (N = 1,000,000
//! under `cargo bench`, tiny under `cargo test`), written once per run into `$DDB_BENCH_DIR` or
//! a tempdir with the default writer options. Measured on it:
//! - full scan (every column), MB/s of item JSON, page cache warm and `O_DIRECT`, per backend;
//! - keys-only projected scan, rows/s (the item and typed columns are never read);
//! - point lookups (`get`) of random present and absent keys, per lookup.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::cast_possible_truncation
)]

use std::hint::black_box;
use std::ops::Bound;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use ddb_io::{BackendChoice, Io, select_backend};
use ddb_model::ScalarAttributeType;
use ddb_snapshot::{
    Columns, Row, SnapshotError, SnapshotManifest, SnapshotReader, SnapshotWriter, WriterOptions,
    attrs_from_item,
};

const TABLE_ID: [u8; 16] = *b"bench-snapshot00";
const ITEM_BYTES: usize = 400;
/// Lookups per criterion iteration.
const LOOKUPS: usize = 256;

const WORDS: [&str; 32] = [
    "alpha",
    "bravo",
    "charlie",
    "delta",
    "echo",
    "foxtrot",
    "golf",
    "hotel",
    "india",
    "juliet",
    "kilo",
    "lima",
    "mike",
    "november",
    "oscar",
    "papa",
    "quebec",
    "romeo",
    "sierra",
    "tango",
    "uniform",
    "victor",
    "whiskey",
    "xray",
    "yankee",
    "zulu",
    "order",
    "shipped",
    "pending",
    "customer",
    "warehouse",
    "invoice",
];

struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

fn attributes() -> Vec<(String, ScalarAttributeType)> {
    vec![("id".to_owned(), ScalarAttributeType::S)]
}

fn key(i: u64) -> Vec<u8> {
    let mut key = Vec::with_capacity(16);
    ddb_model::encode_key(&mut key, ddb_model::KeyValue::S(&format!("k{i:012}")), None);
    key
}

/// A canonical item of about `ITEM_BYTES` bytes: a few typed attributes and a note of words
/// drawn at random, so it compresses like text rather than like padding.
fn item(i: u64, rng: &mut XorShift) -> Vec<u8> {
    let mut note = String::new();
    // The note fills what the other attributes leave of ITEM_BYTES.
    while note.len() < ITEM_BYTES - 150 {
        note.push_str(WORDS[(rng.next() % WORDS.len() as u64) as usize]);
        note.push(' ');
    }
    let text = format!(
        "{{\"id\":{{\"S\":\"k{i:012}\"}},\"qty\":{{\"N\":\"{}\"}},\"price\":{{\"N\":\"{}.{:02}\"}},\
         \"status\":{{\"S\":\"{}\"}},\"paid\":{{\"BOOL\":{}}},\"note\":{{\"S\":\"{}\"}}}}",
        rng.next() % 1000,
        rng.next() % 100_000,
        rng.next() % 100,
        WORDS[(rng.next() % 4) as usize + 26],
        rng.next().is_multiple_of(2),
        note.trim_end(),
    );
    ddb_model::parse_item(&text)
        .unwrap()
        .to_canonical_json()
        .into_bytes()
}

struct Input {
    rows: u64,
    item_bytes: u64,
}

/// Writes and publishes a snapshot of `rows` rows (keys `2 i`, so odd keys are absent) in `dir`.
fn write_snapshot(io: &Arc<dyn Io>, dir: &Path, rows: u64) -> Input {
    let options = WriterOptions::new(TABLE_ID, 100, attributes());
    let mut writer = SnapshotWriter::new(Arc::clone(io), dir, "base", options).unwrap();
    let mut rng = XorShift(0x2545_f491_4f6c_dd1d);
    let mut item_bytes = 0u64;
    for i in 0..rows {
        let item = item(2 * i, &mut rng);
        item_bytes += item.len() as u64;
        let attrs = attrs_from_item(&item, &attributes()).unwrap();
        writer
            .push(&Row {
                key: key(2 * i),
                item,
                attrs,
            })
            .unwrap();
    }
    let files = writer.finish().unwrap();
    SnapshotManifest::new(TABLE_ID, 100, files)
        .publish(&**io, dir)
        .unwrap();
    Input { rows, item_bytes }
}

/// Opens the snapshot, `None` (with a loud line) if the file system refuses `O_DIRECT`.
fn open(io: &Arc<dyn Io>, dir: &Path, direct: bool) -> Option<SnapshotReader> {
    let opened = if direct {
        SnapshotReader::open_direct(Arc::clone(io), dir)
    } else {
        SnapshotReader::open(Arc::clone(io), dir)
    };
    match opened {
        Ok(reader) => Some(reader),
        Err(SnapshotError::Io(e)) if direct && e.kind() == std::io::ErrorKind::InvalidInput => {
            eprintln!("SKIPPED: O_DIRECT snapshot scan on {}: {e}", io.name());
            None
        }
        Err(e) => panic!("open snapshot: {e}"),
    }
}

fn scan_all(reader: &SnapshotReader, columns: Columns) -> u64 {
    let mut count = 0u64;
    for row in reader.scan((Bound::Unbounded, Bound::Unbounded), columns) {
        black_box(row.unwrap());
        count += 1;
    }
    count
}

fn snapshot(c: &mut Criterion) {
    let rows: u64 = if ddb_bench::measuring() {
        1_000_000
    } else {
        2_000
    };
    let dir = ddb_bench::bench_dir().unwrap();
    let input = write_snapshot(
        &select_backend(BackendChoice::Std).unwrap(),
        dir.path(),
        rows,
    );
    let manifest =
        SnapshotManifest::load(&*select_backend(BackendChoice::Std).unwrap(), dir.path()).unwrap();
    let blocks: usize = {
        let reader =
            SnapshotReader::open(select_backend(BackendChoice::Std).unwrap(), dir.path()).unwrap();
        (0..manifest.files.len())
            .map(|i| reader.open_file(i).unwrap().blocks().len())
            .sum()
    };
    eprintln!(
        "snapshot: {} rows, {} bytes of item JSON ({:.1} bytes/item), {} files, {} blocks, \
         {} bytes on disk, item JSON / file bytes = {:.2}",
        input.rows,
        input.item_bytes,
        input.item_bytes as f64 / input.rows as f64,
        manifest.totals.files,
        blocks,
        manifest.totals.bytes,
        input.item_bytes as f64 / manifest.totals.bytes as f64,
    );

    let mut group = c.benchmark_group("snapshot/scan_full");
    group.sample_size(10);
    group.warm_up_time(Duration::from_secs(1));
    group.throughput(Throughput::Bytes(input.item_bytes));
    for io in ddb_bench::backends("snapshot benches") {
        // Warm: the files were just written and sit in the page cache. Direct: every block
        // read bypasses the guest's page cache, as a cold read of an old snapshot would.
        for direct in [false, true] {
            let Some(reader) = open(&io, dir.path(), direct) else {
                continue;
            };
            let name = format!("{}/{}", io.name(), if direct { "direct" } else { "warm" });
            group.bench_function(name, |b| {
                b.iter(|| assert_eq!(scan_all(&reader, Columns::ALL), input.rows));
            });
        }
    }
    group.finish();

    let mut group = c.benchmark_group("snapshot/scan_keys_only");
    group.sample_size(10);
    group.warm_up_time(Duration::from_secs(1));
    group.throughput(Throughput::Elements(input.rows));
    for io in ddb_bench::backends("snapshot benches") {
        let reader = open(&io, dir.path(), false).unwrap();
        group.bench_function(format!("{}/warm", io.name()), |b| {
            b.iter(|| assert_eq!(scan_all(&reader, Columns::KEYS), input.rows));
        });
    }
    group.finish();

    // Random keys: present ones are even, absent ones odd (so they fall inside a block's key
    // range and cost the same block read as a hit).
    let mut rng = XorShift(0x9e37_79b9_7f4a_7c15);
    let present: Vec<Vec<u8>> = (0..LOOKUPS).map(|_| key(2 * (rng.next() % rows))).collect();
    let absent: Vec<Vec<u8>> = (0..LOOKUPS)
        .map(|_| key(2 * (rng.next() % rows) + 1))
        .collect();
    let mut group = c.benchmark_group("snapshot/get");
    group.sample_size(10);
    group.warm_up_time(Duration::from_secs(1));
    group.throughput(Throughput::Elements(LOOKUPS as u64));
    for io in ddb_bench::backends("snapshot benches") {
        let reader = open(&io, dir.path(), false).unwrap();
        group.bench_function(format!("{}/warm/present", io.name()), |b| {
            b.iter(|| {
                for key in &present {
                    assert!(black_box(reader.get(key).unwrap()).is_some());
                }
            });
        });
        group.bench_function(format!("{}/warm/absent", io.name()), |b| {
            b.iter(|| {
                for key in &absent {
                    assert!(black_box(reader.get(key).unwrap()).is_none());
                }
            });
        });
    }
    group.finish();
}

criterion_group!(benches, snapshot);
criterion_main!(benches);
