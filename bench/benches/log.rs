//! Log stage: append throughput with group commit (1 KB items; 1, 4 and 16 writers, each
//! appending one-item batches and waiting for durability), and sequential read throughput of
//! a 1 GiB log, page cache warm and `O_DIRECT`, per backend. Real files, real fdatasync: the
//! directory is `$DDB_BENCH_DIR` or a tempdir.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::cast_possible_truncation
)]

use std::hint::black_box;
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use ddb_io::{BackendChoice, Io, select_backend};
use ddb_log::{Log, LogOptions, LogReader, Mutation, MutationKind};

const ITEM_BYTES: usize = 1024;

fn item(i: u64) -> Mutation {
    let mut key = Vec::with_capacity(16);
    ddb_model::encode_key(&mut key, ddb_model::KeyValue::S(&format!("k{i:012}")), None);
    // A canonical-looking item of exactly ITEM_BYTES bytes.
    let filler = "x".repeat(ITEM_BYTES - r#"{"v":{"S":""}}"#.len());
    let value = format!("{{\"v\":{{\"S\":\"{filler}\"}}}}");
    assert_eq!(value.len(), ITEM_BYTES);
    Mutation {
        kind: MutationKind::Put(value.into_bytes()),
        key,
    }
}

/// Appends `per_writer` one-item batches from each of `writers` threads; returns the elapsed time.
fn append_run(io: &Arc<dyn Io>, writers: usize, per_writer: u64) -> Duration {
    let dir = ddb_bench::bench_dir().unwrap();
    let log = Arc::new(
        Log::open(
            io.clone(),
            dir.path(),
            LogOptions::new(*b"bench-log-append"),
        )
        .unwrap(),
    );
    let barrier = Arc::new(Barrier::new(writers + 1));
    let handles: Vec<_> = (0..writers)
        .map(|w| {
            let log = Arc::clone(&log);
            let barrier = Arc::clone(&barrier);
            // Built before the thread starts: a panic here must not strand the barrier.
            let batches: Vec<Mutation> = (0..per_writer)
                .map(|i| item(w as u64 * per_writer + i))
                .collect();
            std::thread::spawn(move || {
                barrier.wait();
                for mutation in batches {
                    log.append(vec![mutation]).unwrap();
                }
            })
        })
        .collect();
    barrier.wait();
    let started = Instant::now();
    for handle in handles {
        handle.join().unwrap();
    }
    started.elapsed()
}

fn append(c: &mut Criterion) {
    let per_writer_total: u64 = if ddb_bench::measuring() { 4_000 } else { 40 };
    let mut group = c.benchmark_group("log/append_1KiB_group_commit");
    group.sample_size(10);
    for io in ddb_bench::backends("benches") {
        for writers in [1usize, 4, 16] {
            let per_writer = per_writer_total / writers as u64;
            let records = per_writer * writers as u64;
            group.throughput(Throughput::Elements(records));
            group.bench_with_input(
                BenchmarkId::new(io.name(), format!("{writers}_writers")),
                &writers,
                |b, &writers| {
                    b.iter_custom(|iterations| {
                        (0..iterations)
                            .map(|_| append_run(&io, writers, per_writer))
                            .sum()
                    })
                },
            );
        }
    }
    group.finish();
}

fn read(c: &mut Criterion) {
    // About 1 GiB of log when measuring (1 KiB items plus 24-byte record headers and keys).
    let records: u64 = if ddb_bench::measuring() {
        1_000_000
    } else {
        200
    };
    let dir = ddb_bench::bench_dir().unwrap();
    {
        let io = select_backend(BackendChoice::Std).unwrap();
        let mut options = LogOptions::new(*b"bench-log-read00");
        options.durability = ddb_log::Durability::Interval(Duration::from_secs(1));
        let log = Log::open(io, dir.path(), options).unwrap();
        for chunk in (0..records).collect::<Vec<_>>().chunks(64) {
            log.append(chunk.iter().map(|&i| item(i)).collect())
                .unwrap();
        }
        log.sync().unwrap();
    }
    let bytes: u64 = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().metadata().unwrap().len())
        .sum();
    let mut group = c.benchmark_group("log/read_sequential");
    group.sample_size(10);
    group.throughput(Throughput::Bytes(bytes));
    for io in ddb_bench::backends("benches") {
        // Warm: the log sits in the page cache (it was just written). Direct: O_DIRECT reads
        // bypass the guest's page cache, as a cold read of an old log would.
        for direct in [false, true] {
            let name = format!("{}/{}", io.name(), if direct { "direct" } else { "warm" });
            group.bench_function(name, |b| {
                b.iter(|| {
                    let reader = LogReader::open(io.clone(), dir.path()).unwrap();
                    let mut count = 0u64;
                    for record in reader.read_from(1).unwrap().with_direct_io(direct) {
                        black_box(record.unwrap());
                        count += 1;
                    }
                    assert_eq!(count, records);
                })
            });
        }
    }
    group.finish();
}

criterion_group!(benches, append, read);
criterion_main!(benches);
