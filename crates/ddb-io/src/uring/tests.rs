//! Tests of what the conformance suite cannot see from outside: the linked durable write and
//! its short-write path, the sequential reader's window and resubmission, concurrent use of
//! one file, and errors that name the path.
#![allow(clippy::cast_possible_truncation)]

use std::fs::File;
use std::io::{ErrorKind, Write};
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;

use super::*;
use crate::{ALIGNMENT, AlignedBuf, ChunkReader, ReadAhead};

fn pattern(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
        .collect()
}

/// Reads a whole sequential reader, checking that chunks are contiguous, non-empty and at
/// most `chunk_bytes`; returns the bytes and the chunk lengths.
fn drain(reader: &mut dyn ChunkReader, start: u64, chunk_bytes: usize) -> (Vec<u8>, Vec<usize>) {
    let mut bytes = Vec::new();
    let mut lens = Vec::new();
    let mut expected_offset = start;
    while let Some((offset, chunk)) = reader.next_chunk().unwrap() {
        assert_eq!(offset, expected_offset);
        assert!(!chunk.is_empty() && chunk.len() <= chunk_bytes);
        expected_offset += chunk.len() as u64;
        bytes.extend_from_slice(chunk);
        lens.push(chunk.len());
    }
    // The end is sticky.
    assert!(reader.next_chunk().unwrap().is_none());
    (bytes, lens)
}

fn file_with(io: &UringIo, path: &Path, data: &[u8]) -> Arc<dyn IoFile> {
    let file = io.open(path, OpenOptions::create_new()).unwrap();
    file.write_all_at(data, 0).unwrap();
    file
}

#[test]
fn durable_write_links_write_and_fdatasync() {
    let io = UringIo::new().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("durable");
    let file = io.open(&path, OpenOptions::create_new()).unwrap();
    let data = pattern((1 << 20) + 3, 1);
    file.write_all_at_durable(&data, 5).unwrap();
    file.write_all_at_durable(b"", 0).unwrap();
    let on_disk = std::fs::read(&path).unwrap();
    assert_eq!(on_disk.len(), data.len() + 5);
    assert_eq!(&on_disk[..5], &[0; 5]);
    assert_eq!(&on_disk[5..], &data[..]);
}

#[test]
fn durable_write_finishes_a_short_write_and_syncs_again() {
    let data = pattern(10_000, 2);
    let mut disk = vec![0u8; 10_100];
    let mut submissions = Vec::new();
    let mut plain_syncs = 0;
    write_durable_loop(
        Path::new("/x/short"),
        &data,
        100,
        |rest, at| {
            submissions.push((at, rest.len()));
            // The first write stops after 1000 bytes: the kernel then cancels the linked fsync.
            let n = if submissions.len() == 1 {
                1000
            } else {
                rest.len()
            };
            disk[at as usize..at as usize + n].copy_from_slice(&rest[..n]);
            let synced = if n < rest.len() { -libc::ECANCELED } else { 0 };
            Ok([i32::try_from(n).unwrap(), synced])
        },
        || {
            plain_syncs += 1;
            Ok(())
        },
    )
    .unwrap();
    assert_eq!(submissions, [(100, 10_000), (1100, 9000)]);
    assert_eq!(plain_syncs, 0);
    assert_eq!(&disk[100..], &data[..]);

    // A failed fdatasync after a full write is an error naming the operation and the path,
    // with the errno's kind.
    let err = write_durable_loop(
        Path::new("/x/eio"),
        b"abc",
        0,
        |rest, _| Ok([i32::try_from(rest.len()).unwrap(), -libc::ENOSPC]),
        || Ok(()),
    )
    .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::StorageFull);
    assert!(err.to_string().starts_with("fdatasync /x/eio"), "{err}");

    // A write of nothing is not progress.
    let err = write_durable_loop(
        Path::new("/x/zero"),
        b"abc",
        0,
        |_, _| Ok([0, -libc::ECANCELED]),
        || Ok(()),
    )
    .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::WriteZero);
    assert!(err.to_string().contains("/x/zero"), "{err}");
}

#[test]
fn sequential_reader_window_and_end_of_file() {
    let io = UringIo::new().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let data = pattern(100_000, 3);
    let file = file_with(&io, &dir.path().join("seq"), &data);
    let len = data.len() as u64;
    for (range, chunk_bytes, depth) in [
        // More reads allowed in flight than there are chunks.
        (0..len, 40_960, 64),
        // One read at a time over many chunks.
        (0..len, 4096, 1),
        // Neither end on a chunk boundary.
        (100..len - 77, 8192, 3),
        // Past the end of the file: stops at the end.
        (0..len + 50_000, 16_384, 4),
        (0..u64::MAX, 65_536, 2),
        // Entirely past the end, and empty.
        (len + 1..len + 9000, 4096, 2),
        (7..7, 4096, 2),
    ] {
        let mut reader = io
            .read_sequential(
                Arc::clone(&file),
                range.clone(),
                ReadAhead { chunk_bytes, depth },
            )
            .unwrap();
        let (got, lens) = drain(reader.as_mut(), range.start, chunk_bytes);
        let end = range.end.min(len) as usize;
        let start = (range.start as usize).min(end);
        assert_eq!(got, &data[start..end], "{range:?} {chunk_bytes} {depth}");
        // Every chunk but the last is full.
        if let Some((_, full)) = lens.split_last() {
            assert!(full.iter().all(|&l| l == chunk_bytes), "{lens:?}");
        }
    }
}

#[test]
fn sequential_reader_can_be_dropped_with_reads_in_flight() {
    let io = UringIo::new().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let data = pattern(1 << 20, 4);
    let file = file_with(&io, &dir.path().join("early"), &data);
    let read_ahead = ReadAhead {
        chunk_bytes: 4096,
        depth: 32,
    };
    let mut reader = io
        .read_sequential(file, 0..data.len() as u64, read_ahead)
        .unwrap();
    let (offset, chunk) = reader.next_chunk().unwrap().unwrap();
    assert_eq!((offset, chunk), (0, &data[..4096]));
    // 31 reads are still in flight: dropping must wait for them before freeing buffers.
    drop(reader);
}

/// A read from a pipe never returns more than the pipe holds (64 KiB by default), so reading
/// 256 KiB chunks from one forces short reads; full chunks prove they were resubmitted rather
/// than taken for end of file. io_uring ignores the offset of a read from a pipe.
#[test]
fn sequential_reader_resubmits_short_reads() {
    let io = UringIo::new().unwrap();
    let data = pattern((1 << 20) + 1234, 5);
    let mut cat = Command::new("cat")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = cat.stdin.take().unwrap();
    let stdout = File::from(OwnedFd::from(cat.stdout.take().unwrap()));
    let writer = {
        let data = data.clone();
        std::thread::spawn(move || stdin.write_all(&data))
    };
    let pipe: Arc<dyn IoFile> = Arc::new(UringFile {
        std: crate::std_backend::StdFile {
            file: stdout,
            path: PathBuf::from("pipe:cat"),
        },
        pool: Arc::clone(&io.pool),
    });
    let chunk_bytes = 256 * 1024;
    let mut reader = io
        .read_sequential(
            pipe,
            0..u64::MAX,
            ReadAhead {
                chunk_bytes,
                depth: 1,
            },
        )
        .unwrap();
    let (got, lens) = drain(reader.as_mut(), 0, chunk_bytes);
    writer.join().unwrap().unwrap();
    assert!(cat.wait().unwrap().success());
    assert_eq!(
        lens,
        [chunk_bytes, chunk_bytes, chunk_bytes, chunk_bytes, 1234]
    );
    assert_eq!(got, data);
}

#[test]
fn direct_sequential_read_ends_inside_the_last_block() {
    let io = UringIo::new().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("direct");
    let data = pattern(3 * ALIGNMENT + 1000, 6);
    file_with(&io, &path, &data).sync_all().unwrap();
    let direct = match io.open(&path, OpenOptions::read_only().direct(true)) {
        Ok(file) => file,
        Err(e) if e.kind() == ErrorKind::InvalidInput => {
            eprintln!("SKIPPED: O_DIRECT not supported by this file system: {e}");
            return;
        }
        Err(e) => panic!("{e}"),
    };
    let len = data.len() as u64;
    for (end, chunk_bytes, depth) in [
        (len, 2 * ALIGNMENT, 2),
        (len + 50_000, 2 * ALIGNMENT, 4),
        (len + 1, ALIGNMENT, 1),
        (u64::MAX, 16 * ALIGNMENT, 3),
    ] {
        let mut reader = io
            .read_sequential(
                Arc::clone(&direct),
                0..end,
                ReadAhead { chunk_bytes, depth },
            )
            .unwrap();
        let (got, _) = drain(reader.as_mut(), 0, chunk_bytes);
        assert_eq!(got, data, "end {end} chunk {chunk_bytes} depth {depth}");
    }
}

#[test]
fn four_threads_share_one_file() {
    let io = UringIo::new().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let file = io
        .open(&dir.path().join("shared"), OpenOptions::create_new())
        .unwrap();
    let block = 4096;
    let blocks_per_thread = 64;
    let threads = 4;
    std::thread::scope(|scope| {
        for t in 0..threads {
            let file = Arc::clone(&file);
            scope.spawn(move || {
                // Interleaved blocks: thread t owns blocks t, t + 4, t + 8, ...
                for i in 0..blocks_per_thread {
                    let index = i * threads + t;
                    let bytes = pattern(block, index as u8);
                    let at = (index * block) as u64;
                    if i % 8 == 0 {
                        file.write_all_at_durable(&bytes, at).unwrap();
                    } else {
                        file.write_all_at(&bytes, at).unwrap();
                    }
                }
            });
        }
    });
    file.sync_all().unwrap();
    assert_eq!(
        file.len().unwrap(),
        (threads * blocks_per_thread * block) as u64
    );
    std::thread::scope(|scope| {
        for t in 0..threads {
            let file = Arc::clone(&file);
            scope.spawn(move || {
                let mut buf = vec![0u8; block];
                for index in (t..threads * blocks_per_thread).step_by(threads) {
                    file.read_exact_at(&mut buf, (index * block) as u64)
                        .unwrap();
                    assert_eq!(buf, pattern(block, index as u8), "block {index}");
                }
            });
        }
    });
}

#[test]
fn errors_name_the_operation_and_path_and_keep_the_kind() {
    let io = UringIo::new().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("write-only");
    let shown = path.display().to_string();
    let write_only = OpenOptions {
        write: true,
        create: true,
        ..OpenOptions::default()
    };
    let file = io.open(&path, write_only).unwrap();
    file.write_all_at(b"some bytes", 0).unwrap();
    let ebadf = io::Error::from_raw_os_error(libc::EBADF).kind();

    let err = file.read_at(&mut [0u8; 4], 0).unwrap_err();
    assert_eq!(err.kind(), ebadf);
    assert!(
        err.to_string().starts_with(&format!("read {shown}")),
        "{err}"
    );

    let mut reader = io
        .read_sequential(Arc::clone(&file), 0..10, ReadAhead::default())
        .unwrap();
    let err = reader.next_chunk().unwrap_err();
    assert_eq!(err.kind(), ebadf);
    assert!(err.to_string().starts_with("read at byte 0 of"), "{err}");
    assert!(err.to_string().contains(&shown), "{err}");
    // A failed reader stays failed.
    let err = reader.next_chunk().unwrap_err();
    assert!(err.to_string().contains(&shown), "{err}");

    let read_only = io.open(&path, OpenOptions::read_only()).unwrap();
    let err = read_only.write_at(b"x", 0).unwrap_err();
    assert_eq!(err.kind(), ebadf);
    assert!(
        err.to_string().starts_with(&format!("write {shown}")),
        "{err}"
    );
    let err = read_only.write_all_at_durable(b"x", 0).unwrap_err();
    assert_eq!(err.kind(), ebadf);
    assert!(
        err.to_string().starts_with(&format!("write {shown}")),
        "{err}"
    );

    // O_DIRECT refuses a misaligned buffer length: EINVAL stays InvalidInput.
    if let Ok(direct) = io.open(&path, OpenOptions::read_only().direct(true)) {
        let mut buf = AlignedBuf::zeroed(ALIGNMENT).unwrap();
        let err = direct
            .read_at(&mut buf.as_mut_slice()[..100], 1)
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput);
        assert!(err.to_string().contains(&shown), "{err}");
    }
}
