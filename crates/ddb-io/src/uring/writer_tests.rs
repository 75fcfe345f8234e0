//! Tests of the io_uring sequential writer beyond the conformance suite: window shapes, short
//! writes, `O_DIRECT` padding, failures, and dropping a writer with writes in flight.
#![allow(clippy::cast_possible_truncation)]

use std::fs::File;
use std::io::{ErrorKind, Read};
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, mpsc};

use super::writer::UringChunkWriter;
use super::*;
use crate::{ALIGNMENT, ChunkWriter, SimIo, WriteBehind};

fn pattern(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u8).wrapping_mul(29).wrapping_add(seed) ^ (i >> 12) as u8)
        .collect()
}

fn behind(chunk_bytes: usize, depth: usize, direct: bool) -> WriteBehind {
    WriteBehind {
        chunk_bytes,
        depth,
        direct,
    }
}

/// Writes `data` from `start` into a new file through the io_uring writer, in pieces of
/// `piece` bytes, checking `written` as it goes; returns how many slot buffers it allocated.
fn write_new(
    io: &UringIo,
    path: &Path,
    start: u64,
    data: &[u8],
    piece: usize,
    write_behind: WriteBehind,
) -> usize {
    let file = io
        .open(path, OpenOptions::create_new().direct(write_behind.direct))
        .unwrap();
    let mut writer = Box::new(UringChunkWriter::new(file, start, write_behind).unwrap());
    for (index, bytes) in data.chunks(piece.max(1)).enumerate() {
        writer.write(bytes).unwrap();
        let accepted = ((index + 1) * piece).min(data.len());
        assert_eq!(writer.written(), accepted as u64);
    }
    let slots = writer.slot_count();
    let end = writer.finish().unwrap();
    assert_eq!(end, start + data.len() as u64);
    slots
}

/// The file holds zeros up to `start`, then exactly `data`.
fn assert_file(path: &Path, start: u64, data: &[u8]) {
    let on_disk = std::fs::read(path).unwrap();
    let start = start as usize;
    assert_eq!(on_disk.len(), start + data.len(), "{}", path.display());
    assert!(on_disk[..start].iter().all(|&b| b == 0));
    assert!(
        on_disk[start..] == *data,
        "{}: content differs",
        path.display()
    );
}

#[test]
fn window_shapes() {
    let io = UringIo::new().unwrap();
    let dir = tempfile::tempdir().unwrap();
    for (name, start, len, piece, chunk_bytes, depth, slots) in [
        // Many chunks, one write in flight at a time.
        // (The producer fills one more buffer than there are writes in flight.)
        ("depth1", 0, (1 << 20) + 17, 1000, 4096, 1, 2),
        // A deeper window than there are chunks: only the chunks used get a buffer.
        ("deep", 7, 3 * 65_536 + 5, 50_000, 65_536, 64, 4),
        // One slice spanning many chunks, from an unaligned start.
        ("huge", 100, (8 << 20) + 5, usize::MAX, 65_536, 4, 5),
        // Byte by byte; a chunk size that is not a multiple of the alignment is rounded up.
        ("tiny", 0, 3 * 4096 + 7, 1, 1000, 2, 3),
        // Exactly full chunks: nothing is left for finish.
        ("exact", 0, 16 * 8192, 8192, 8192, 3, 4),
        ("empty", 4096, 0, 1, 4096, 4, 0),
    ] {
        let path = dir.path().join(name);
        let data = pattern(len, len as u8);
        let used = write_new(
            &io,
            &path,
            start,
            &data,
            piece.min(len.max(1)),
            behind(chunk_bytes, depth, false),
        );
        assert_eq!(used, slots, "{name}");
        if data.is_empty() {
            // Nothing to write leaves the file alone, as the synchronous writer does.
            assert_eq!(std::fs::metadata(&path).unwrap().len(), 0);
        } else {
            assert_file(&path, start, &data);
        }
    }
}

#[test]
fn direct_writes_pad_the_last_block_and_cut_it_off() {
    let io = UringIo::new().unwrap();
    let dir = tempfile::tempdir().unwrap();
    if let Err(e) = io.open(
        &dir.path().join("probe"),
        OpenOptions::create_new().direct(true),
    ) {
        eprintln!("SKIPPED: O_DIRECT not supported by this file system: {e}");
        return;
    }
    for (start, len, chunk_bytes, depth) in [
        (8192, 5 * ALIGNMENT + 123, 3 * ALIGNMENT, 3),
        (0, 100, ALIGNMENT, 2),
        (0, 40 * ALIGNMENT + 1, ALIGNMENT, 1),
        (4096, 8 * ALIGNMENT, 2 * ALIGNMENT, 16),
        (0, (1 << 20) + 4095, 1 << 20, 4),
    ] {
        let path = dir
            .path()
            .join(format!("direct-{start}-{len}-{chunk_bytes}"));
        let data = pattern(len, 9);
        write_new(
            &io,
            &path,
            start,
            &data,
            7777,
            behind(chunk_bytes, depth, true),
        );
        assert_file(&path, start, &data);
    }
}

/// A pipe takes at most what it has room for (64 KiB by default) and a write to a full pipe
/// returns the bytes that fit, so 256 KiB chunks into a pipe force short writes; the bytes all
/// arriving in order proves the rest was resubmitted. io_uring ignores the offset of a pipe.
#[test]
fn short_writes_are_resubmitted() {
    let io = UringIo::new().unwrap();
    let data = pattern((1 << 20) + 1234, 5);
    let mut cat = Command::new("cat")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let stdin = File::from(OwnedFd::from(cat.stdin.take().unwrap()));
    let mut stdout = cat.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut got = Vec::new();
        stdout.read_to_end(&mut got).map(|_| got)
    });
    let pipe: Arc<dyn IoFile> = Arc::new(UringFile {
        std: crate::std_backend::StdFile {
            file: stdin,
            path: PathBuf::from("pipe:cat"),
        },
        pool: Arc::clone(&io.pool),
    });
    // One write in flight at a time: writes to a pipe land in completion order.
    let mut writer =
        Box::new(UringChunkWriter::new(pipe, 0, behind(256 * 1024, 1, false)).unwrap());
    writer.write(&data).unwrap();
    let resubmitted_before_finish = writer.resubmitted();
    let end = writer.finish().unwrap();
    assert_eq!(end, data.len() as u64);
    // The writer held the last reference to the pipe: cat sees end of input and exits.
    let got = reader.join().unwrap().unwrap();
    assert!(cat.wait().unwrap().success());
    assert_eq!(got.len(), data.len());
    assert!(got == data, "content differs");
    // Hard to see from outside, so asked: the writer did meet short writes. A write to a pipe
    // first tries without blocking and stops when the pipe is full, waking the reader only
    // then, so a 256 KiB chunk into an empty 64 KiB pipe is cut short.
    assert!(resubmitted_before_finish > 0);
}

#[test]
fn a_failed_write_fails_the_writer_and_names_the_path() {
    let io = UringIo::new().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("read-only");
    let shown = path.display().to_string();
    std::fs::write(&path, b"before").unwrap();
    let ebadf = io::Error::from_raw_os_error(libc::EBADF).kind();
    for (len, chunk_bytes, depth) in [
        // Less than a chunk: nothing is written before finish, which must report the error.
        (100, 4096, 4),
        // Many chunks, several in flight when the first failure is seen.
        (64 * 4096, 4096, 4),
        (64 * 4096, 8192, 1),
    ] {
        let file = io.open(&path, OpenOptions::read_only()).unwrap();
        let mut writer = io
            .write_sequential(file, 0, behind(chunk_bytes, depth, false))
            .unwrap();
        let data = pattern(len, 1);
        let mut first = None;
        for piece in data.chunks(3000) {
            if let Err(e) = writer.write(piece) {
                first = Some(e);
                break;
            }
        }
        let failed_in_write = first.is_some();
        if let Some(first) = &first {
            // A failed writer stays failed, with the same error.
            let again = writer.write(b"more").unwrap_err();
            assert_eq!(again.kind(), first.kind());
            assert_eq!(again.to_string(), first.to_string());
        }
        let last = writer.finish().unwrap_err();
        let first = first.unwrap_or_else(|| io::Error::new(last.kind(), last.to_string()));
        for err in [&first, &last] {
            assert_eq!(err.kind(), ebadf, "{err}");
            assert!(err.to_string().starts_with("write at byte "), "{err}");
            assert!(err.to_string().contains(&shown), "{err}");
        }
        assert_eq!(last.to_string(), first.to_string());
        if len > chunk_bytes * depth {
            // More than the window: the producer had to reap, and met the failure.
            assert!(failed_in_write, "{len} {chunk_bytes} {depth}");
        }
        assert_eq!(std::fs::read(&path).unwrap(), b"before");
    }
    // Dropped after a failure, without finish: the writes still in flight are waited for.
    let file = io.open(&path, OpenOptions::read_only()).unwrap();
    let mut writer = io
        .write_sequential(file, 0, behind(4096, 8, false))
        .unwrap();
    let err = writer.write(&pattern(64 * 4096, 2)).unwrap_err();
    assert_eq!(err.kind(), ebadf);
    drop(writer);
}

/// Writes into a pipe that nobody reads yet stay in the kernel's hands; dropping the writer
/// then must wait for them (they complete as the pipe drains) rather than free their buffers.
#[test]
fn dropping_a_writer_waits_for_writes_in_flight() {
    let io = UringIo::new().unwrap();
    let mut cat = Command::new("cat")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let stdin = File::from(OwnedFd::from(cat.stdin.take().unwrap()));
    let mut stdout = cat.stdout.take().unwrap();
    let (go, wait_for_go) = mpsc::channel::<()>();
    let reader = std::thread::spawn(move || {
        wait_for_go.recv().unwrap();
        let mut got = Vec::new();
        stdout.read_to_end(&mut got).map(|_| got)
    });
    let pipe: Arc<dyn IoFile> = Arc::new(UringFile {
        std: crate::std_backend::StdFile {
            file: stdin,
            path: PathBuf::from("pipe:cat"),
        },
        pool: Arc::clone(&io.pool),
    });
    let chunk_bytes = 1 << 20;
    let depth = 4;
    let mut writer = UringChunkWriter::new(pipe, 0, behind(chunk_bytes, depth, false)).unwrap();
    // Chunk k is all byte k + 1: bytes from anywhere else (a freed buffer) would show.
    for k in 0..depth {
        writer.write(&vec![k as u8 + 1; chunk_bytes]).unwrap();
    }
    // The next chunk fills its own buffer while the window is full.
    writer.write(&[depth as u8 + 1; 1000]).unwrap();
    // No 1 MiB write can complete while nobody reads: the two pipes and cat's buffer hold
    // 256 KiB. So the kernel holds all `depth` writes, and no more.
    assert_eq!(writer.in_flight(), depth);
    go.send(()).unwrap();
    drop(writer);
    let got = reader.join().unwrap().unwrap();
    assert!(cat.wait().unwrap().success());
    // Every write was issued and, waited for, wrote something: a write abandoned with the
    // ring would have been cancelled, delivering nothing. Short writes are not continued by
    // drop, so a chunk may arrive in part, but only its own bytes and none twice; the chunk
    // still being filled is never written.
    let mut counts = [0usize; 256];
    for &b in &got {
        counts[b as usize] += 1;
    }
    let (chunks, others) = counts.split_at(depth + 1);
    assert!(
        chunks[1..].iter().all(|&n| n > 0 && n <= chunk_bytes),
        "bytes per chunk {:?}",
        &chunks[1..]
    );
    assert_eq!(chunks[0], 0);
    assert!(others.iter().all(|&n| n == 0));
}

#[test]
fn dropping_a_writer_keeps_the_chunks_it_issued() {
    let io = UringIo::new().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("dropped");
    let file = io.open(&path, OpenOptions::create_new()).unwrap();
    let data = pattern(32 * 4096 + 10, 3);
    let mut writer = io
        .write_sequential(file, 0, behind(4096, 32, false))
        .unwrap();
    writer.write(&data).unwrap();
    drop(writer);
    // The 32 full chunks were issued and waited for; the 10 buffered bytes were never written.
    assert_file(&path, 0, &data[..32 * 4096]);
}

#[test]
fn a_file_without_a_descriptor_gets_the_synchronous_writer() {
    let io = UringIo::new().unwrap();
    let sim = SimIo::new(7);
    sim.create_dir_all(Path::new("/d")).unwrap();
    let file = sim
        .open(Path::new("/d/f"), OpenOptions::create_new())
        .unwrap();
    assert!(file.fd().is_none());
    let mut writer = io
        .write_sequential(Arc::clone(&file), 3, behind(4096, 4, false))
        .unwrap();
    let data = pattern(10_000, 4);
    writer.write(&data).unwrap();
    assert_eq!(writer.finish().unwrap(), 10_003);
    let mut back = vec![0u8; data.len()];
    file.read_exact_at(&mut back, 3).unwrap();
    assert_eq!(back, data);
}

#[test]
fn completions_become_progress_retries_or_errors() {
    use super::writer::{Outcome, outcome};
    let path = Path::new("/x/out");
    assert!(matches!(outcome(4096, 0, path), Outcome::Wrote(4096)));
    assert!(matches!(outcome(-libc::EINTR, 0, path), Outcome::Retry));
    assert!(matches!(outcome(-libc::EAGAIN, 0, path), Outcome::Retry));
    let Outcome::Failed(e) = outcome(0, 8192, path) else {
        panic!("a write of nothing is a failure");
    };
    assert_eq!(e.kind(), ErrorKind::WriteZero);
    assert!(
        e.to_string().starts_with("write at byte 8192 of /x/out"),
        "{e}"
    );
    let Outcome::Failed(e) = outcome(-libc::ENOSPC, 5, path) else {
        panic!("ENOSPC is a failure");
    };
    assert_eq!(e.kind(), ErrorKind::StorageFull);
    assert!(e.to_string().contains("/x/out"), "{e}");
}
