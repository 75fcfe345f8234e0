//! I/O stage: sequential read throughput of one large file through `Io::read_sequential`,
//! io_uring against std, with the page cache warm and cold (`O_DIRECT`).
//!
//! `DDB_BENCH_READ_BYTES` sets the file size (default 1 GiB under `cargo bench`, 4 MiB under
//! `cargo test`, which runs every benchmark once so it cannot rot); `DDB_BENCH_DIR` sets where
//! the file is written (default a temporary directory, which must not be tmpfs for `O_DIRECT`).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::cast_possible_truncation
)]

use std::hint::black_box;
use std::io::Write;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use criterion::{Criterion, SamplingMode, Throughput, criterion_group, criterion_main};
use ddb_io::{ALIGNMENT, Io, OpenOptions, ReadAhead, StdIo};

/// File size when benchmarking for real and when run once under `cargo test`.
const BENCH_BYTES: u64 = 1 << 30;
const TEST_BYTES: u64 = 4 << 20;

/// Read-ahead of every case: the library default chunk (1 MiB), with the depths compared.
const CHUNK_BYTES: usize = 1 << 20;

fn file_bytes() -> u64 {
    let bytes = ddb_bench::bytes_from_env("DDB_BENCH_READ_BYTES", BENCH_BYTES, TEST_BYTES).unwrap();
    // O_DIRECT reads whole blocks: keep the file a multiple of the alignment.
    bytes
        .next_multiple_of(ALIGNMENT as u64)
        .max(ALIGNMENT as u64)
}

/// Writes `bytes` of non-zero, non-repeating-per-block data and makes it durable, so reads
/// cannot be served from holes or deduplicated blocks.
fn write_file(path: &Path, bytes: u64) {
    let mut block = vec![0u8; 8 << 20];
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    let mut file = std::fs::File::create(path).unwrap();
    let mut written = 0u64;
    while written < bytes {
        for word in block.chunks_exact_mut(8) {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            word.copy_from_slice(&state.to_le_bytes());
        }
        let n = (bytes - written).min(block.len() as u64) as usize;
        file.write_all(&block[..n]).unwrap();
        written += n as u64;
    }
    file.sync_all().unwrap();
}

/// Reads the whole file once through `io`, returning the bytes read.
fn read_all(io: &dyn Io, path: &Path, direct: bool, depth: usize, bytes: u64) -> u64 {
    let file = io
        .open(path, OpenOptions::read_only().direct(direct))
        .unwrap();
    let read_ahead = ReadAhead {
        chunk_bytes: CHUNK_BYTES,
        depth,
    };
    let mut reader = io.read_sequential(file, 0..bytes, read_ahead).unwrap();
    let mut total = 0u64;
    while let Some((_, chunk)) = reader.next_chunk().unwrap() {
        total += black_box(chunk).len() as u64;
    }
    assert_eq!(total, bytes, "short read of {}", path.display());
    total
}

fn io_read(c: &mut Criterion) {
    let bytes = file_bytes();
    let dir = ddb_bench::bench_dir().unwrap();
    let path = dir.path().join("io_read.dat");
    write_file(&path, bytes);

    // std reads one chunk at a time; io_uring is compared at several depths.
    let mut backends: Vec<(&str, Arc<dyn Io>, usize)> = Vec::new();
    for io in ddb_bench::backends("read benchmarks") {
        let depths: &[usize] = if io.name() == "std" {
            &[1]
        } else {
            &[1, 4, 16]
        };
        for &depth in depths {
            backends.push((io.name(), Arc::clone(&io), depth));
        }
    }
    let direct_works = match StdIo::new().open(&path, OpenOptions::read_only().direct(true)) {
        Ok(_) => true,
        Err(e) => {
            eprintln!("SKIPPED: O_DIRECT read benchmarks: {e}");
            false
        }
    };

    let mut group = c.benchmark_group("io_read");
    group.throughput(Throughput::Bytes(bytes));
    // Each iteration reads the whole file (a second or so at 1 GiB): few, equal samples.
    group.sampling_mode(SamplingMode::Flat);
    group.sample_size(10);
    group.warm_up_time(Duration::from_secs(2));
    group.measurement_time(Duration::from_secs(10));
    for (name, io, depth) in &backends {
        // std reads one chunk at a time whatever the depth; io_uring keeps `depth` in flight.
        let id = format!("{name}_depth{depth}");
        // Warm: the page cache holds the file (read once before measuring).
        read_all(io.as_ref(), &path, false, *depth, bytes);
        group.bench_function(format!("warm/{id}"), |b| {
            b.iter(|| read_all(io.as_ref(), &path, false, *depth, bytes));
        });
        // Cold: O_DIRECT bypasses the page cache, so every read reaches the device.
        if direct_works {
            group.bench_function(format!("direct/{id}"), |b| {
                b.iter(|| read_all(io.as_ref(), &path, true, *depth, bytes));
            });
        }
    }
    group.finish();
}

criterion_group!(benches, io_read);
criterion_main!(benches);
