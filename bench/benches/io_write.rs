//! I/O stage: sequential write throughput of one large file through `Io::write_sequential`,
//! io_uring write-behind against std, through the page cache and with `O_DIRECT`. Every pass
//! writes a fresh file and ends with one `sync_data`, so the figure is bytes made durable per
//! second, as a snapshot or backup writer needs them.
//!
//! `DDB_BENCH_WRITE_BYTES` sets the file size (default 1 GiB under `cargo bench`, 4 MiB under
//! `cargo test`, which runs every benchmark once so it cannot rot); `DDB_BENCH_DIR` sets where
//! the file is written (default a temporary directory, which must not be tmpfs for `O_DIRECT`).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::cast_possible_truncation
)]

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use criterion::{BatchSize, Criterion, SamplingMode, Throughput, criterion_group, criterion_main};
use ddb_io::{Io, IoFile, OpenOptions, StdIo, WriteBehind};

/// File size when benchmarking for real and when run once under `cargo test`.
const BENCH_BYTES: u64 = 1 << 30;
const TEST_BYTES: u64 = 4 << 20;

/// Write-behind of every case: the library default chunk (1 MiB), with the depths compared.
const CHUNK_BYTES: usize = 1 << 20;

/// The producer hands the writer slices of this size, as a snapshot writer hands it encoded
/// blocks: smaller than a chunk, so chunks fill across calls.
const PIECE_BYTES: usize = 256 << 10;

fn file_bytes() -> u64 {
    ddb_bench::bytes_from_env("DDB_BENCH_WRITE_BYTES", BENCH_BYTES, TEST_BYTES)
        .unwrap()
        .max(1)
}

/// 16 MiB of non-repeating data, cycled through to make the file.
fn source() -> Vec<u8> {
    let mut block = vec![0u8; 16 << 20];
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    for word in block.chunks_exact_mut(8) {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        word.copy_from_slice(&state.to_le_bytes());
    }
    block
}

/// A fresh, empty file at `path` (the previous pass's file is removed first, untimed).
fn fresh_file(io: &dyn Io, path: &Path, direct: bool) -> Arc<dyn IoFile> {
    if path.exists() {
        std::fs::remove_file(path).unwrap();
    }
    io.open(path, OpenOptions::create_new().direct(direct))
        .unwrap()
}

/// Writes `bytes` of `source` to `file` through `io`, then makes them durable.
fn write_all(
    io: &dyn Io,
    file: Arc<dyn IoFile>,
    source: &[u8],
    bytes: u64,
    depth: usize,
    direct: bool,
) -> u64 {
    let write_behind = WriteBehind {
        chunk_bytes: CHUNK_BYTES,
        depth,
        direct,
    };
    let mut writer = io
        .write_sequential(Arc::clone(&file), 0, write_behind)
        .unwrap();
    let mut left = bytes;
    for piece in source.chunks(PIECE_BYTES).cycle() {
        if left == 0 {
            break;
        }
        let take = piece.len().min(usize::try_from(left).unwrap_or(usize::MAX));
        writer.write(&piece[..take]).unwrap();
        left -= take as u64;
    }
    let end = writer.finish().unwrap();
    assert_eq!(end, bytes, "{}", file.path().display());
    file.sync_data().unwrap();
    end
}

fn io_write(c: &mut Criterion) {
    let bytes = file_bytes();
    let source = source();
    let dir = ddb_bench::bench_dir().unwrap();
    let path = dir.path().join("io_write.dat");

    // std reads one chunk at a time; io_uring is compared at several depths.
    let mut backends: Vec<(&str, Arc<dyn Io>, usize)> = Vec::new();
    for io in ddb_bench::backends("write benchmarks") {
        let depths: &[usize] = if io.name() == "std" {
            &[1]
        } else {
            &[1, 4, 16]
        };
        for &depth in depths {
            backends.push((io.name(), Arc::clone(&io), depth));
        }
    }
    let direct_works = match StdIo::new().open(
        &dir.path().join("probe"),
        OpenOptions::create_new().direct(true),
    ) {
        Ok(_) => true,
        Err(e) => {
            eprintln!("SKIPPED: O_DIRECT write benchmarks: {e}");
            false
        }
    };

    let mut group = c.benchmark_group("io_write");
    group.throughput(Throughput::Bytes(bytes));
    // Each iteration writes and syncs the whole file (a second or more at 1 GiB): few, equal
    // samples.
    group.sampling_mode(SamplingMode::Flat);
    group.sample_size(10);
    group.warm_up_time(Duration::from_secs(2));
    group.measurement_time(Duration::from_secs(15));
    for (name, io, depth) in &backends {
        // std writes one chunk at a time whatever the depth; io_uring keeps `depth` in flight.
        let id = format!("{name}_depth{depth}");
        for (mode, direct) in [("buffered", false), ("direct", true)] {
            if direct && !direct_works {
                continue;
            }
            group.bench_function(format!("{mode}/{id}"), |b| {
                b.iter_batched(
                    || fresh_file(io.as_ref(), &path, direct),
                    |file| write_all(io.as_ref(), file, &source, bytes, *depth, direct),
                    BatchSize::PerIteration,
                );
            });
        }
    }
    group.finish();
}

criterion_group!(benches, io_write);
criterion_main!(benches);
