//! Merge stage: an in-memory snapshot of N rows of ~400-byte items plus a log of 0.2 N records
//! (overwrites, inserts, deletes), merged at the log's end into counting sinks on 1 and 2
//! partitions; rows/s of output. N = 1,000,000 under `cargo bench`, tiny under `cargo test`.
//! Spill runs go to `$DDB_BENCH_DIR` or a tempdir (budget 64 MiB, so the full run spills).
//!
//! Checkpoint: a real snapshot directory of N rows (written once) plus a 0.2 N log, merged into
//! a new snapshot directory (`ddb_merge::checkpoint`) on 1 and 2 partitions; rows/s of output.
//! Peak RSS at N and 10 N: `cargo run --release -p ddb-bench --example checkpoint_rss`.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::cast_possible_truncation
)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use ddb_bench::checkpoint::{TABLE_ID, attributes, log_end, log_records, write_snapshot};
use ddb_io::{BackendChoice, Io, select_backend};
use ddb_log::{LogError, Record, RecordType};
use ddb_merge::{
    CheckpointOptions, MergeOptions, Result as MergeResult, Row, RowSink, SinkFactory, SinkOutput,
    VecSnapshot, checkpoint, merge,
};
use ddb_snapshot::WriterOptions;

const ITEM_BYTES: usize = 400;

fn key(i: u64) -> Vec<u8> {
    let mut key = Vec::with_capacity(16);
    ddb_model::encode_key(&mut key, ddb_model::KeyValue::S(&format!("k{i:012}")), None);
    key
}

fn item(i: u64, version: u64) -> Vec<u8> {
    let head =
        format!("{{\"id\":{{\"S\":\"{i}\"}},\"v\":{{\"N\":\"{version}\"}},\"pad\":{{\"S\":\"");
    let mut item = head.into_bytes();
    item.resize(ITEM_BYTES - 3, b'x');
    item.extend_from_slice(b"\"}}");
    item
}

/// Even keys are in the snapshot; the log overwrites some, deletes some and inserts odd keys.
fn inputs(rows: u64) -> (VecSnapshot, Vec<Record>) {
    let snapshot_rows: Vec<Row> = (0..rows)
        .map(|i| Row {
            key: key(2 * i),
            item: item(2 * i, 0),
            attrs: Some(vec![None]),
        })
        .collect();
    let snapshot = VecSnapshot::new(100, snapshot_rows)
        .unwrap()
        .with_rows_per_hint(64);
    let mut state = 0x2545_f491_4f6c_dd1d_u64;
    let records = (0..rows / 5)
        .map(|n| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let target = state % (2 * rows);
            let (record_type, value) = if n % 10 == 0 {
                (RecordType::Delete, Vec::new())
            } else {
                (RecordType::Put, item(target, n + 1))
            };
            Record {
                record_type,
                end_of_batch: true,
                lsn: 101 + n,
                timestamp_us: n,
                key: key(target),
                value,
            }
        })
        .collect();
    (snapshot, records)
}

/// A CPU sink: counts rows and bytes, keeps nothing.
#[derive(Debug)]
struct Counting;

#[derive(Debug, Default)]
struct CountingSink(SinkOutput);

impl SinkFactory for Counting {
    fn sink(&self, _: usize, _: Option<&[u8]>, _: Option<&[u8]>) -> MergeResult<Box<dyn RowSink>> {
        Ok(Box::new(CountingSink::default()))
    }
}

impl RowSink for CountingSink {
    fn push(&mut self, row: &Row) -> MergeResult<()> {
        self.0.rows += 1;
        self.0.bytes += (row.key.len() + row.item.len()) as u64;
        Ok(())
    }
    fn finish(self: Box<Self>) -> MergeResult<SinkOutput> {
        Ok(self.0)
    }
}

fn bench_merge(c: &mut Criterion) {
    let rows = if ddb_bench::measuring() {
        1_000_000
    } else {
        2_000
    };
    let (snapshot, records) = inputs(rows);
    let io: Arc<dyn Io> = select_backend(BackendChoice::Std).unwrap();
    let dir = ddb_bench::bench_dir().unwrap();
    let mut group = c.benchmark_group("merge");
    group.sample_size(10);
    group.throughput(Throughput::Elements(rows));
    for partitions in [1, 2] {
        let options = MergeOptions {
            partitions,
            memory_budget_bytes: if ddb_bench::measuring() {
                64 << 20
            } else {
                64 << 10
            },
            spill_dir: dir.path().join("spill"),
        };
        group.bench_with_input(
            BenchmarkId::new("snapshot+20%log", partitions),
            &options,
            |b, options| {
                b.iter(|| {
                    let log = records.iter().cloned().map(Ok::<_, LogError>);
                    let result = merge(
                        io.clone(),
                        Some(&snapshot),
                        log,
                        100 + rows / 5,
                        options,
                        &Counting,
                    )
                    .unwrap();
                    assert!(result.fingerprint.items > rows * 9 / 10);
                    result
                });
            },
        );
    }
    group.finish();
}

fn bench_checkpoint(c: &mut Criterion) {
    let rows = if ddb_bench::measuring() {
        1_000_000
    } else {
        2_000
    };
    let io: Arc<dyn Io> = select_backend(BackendChoice::Std).unwrap();
    let dir = ddb_bench::bench_dir().unwrap();
    let old = dir.path().join("old");
    write_snapshot(&io, &old, rows).unwrap();
    let records: Vec<Record> = log_records(rows).collect();
    let mut group = c.benchmark_group("checkpoint");
    group.sample_size(10);
    group.throughput(Throughput::Elements(rows));
    let mut run = 0u64;
    for partitions in [1, 2] {
        let options = CheckpointOptions {
            merge: MergeOptions {
                partitions,
                memory_budget_bytes: if ddb_bench::measuring() {
                    64 << 20
                } else {
                    64 << 10
                },
                spill_dir: dir.path().join("spill"),
            },
            writer: WriterOptions::new(TABLE_ID, 0, attributes()),
        };
        group.bench_with_input(
            BenchmarkId::new("snapshot_dir+20%log", partitions),
            &options,
            |b, options| {
                b.iter_custom(|iters| {
                    let mut total = Duration::ZERO;
                    for _ in 0..iters {
                        run += 1;
                        let new = dir.path().join(format!("new-{run}"));
                        let log = records.iter().cloned().map(Ok::<_, LogError>);
                        let started = Instant::now();
                        let done =
                            checkpoint(io.clone(), Some(&old), log, log_end(rows), &new, options)
                                .unwrap();
                        total += started.elapsed();
                        assert!(done.fingerprint.items > rows * 9 / 10);
                        std::fs::remove_dir_all(&new).unwrap();
                    }
                    total
                });
            },
        );
    }
    group.finish();
}

criterion_group!(benches, bench_merge, bench_checkpoint);
criterion_main!(benches);
