//! The corruption matrix: a real multi-segment log written by the writer, then every byte of
//! its newest segment and of one sealed segment damaged in turn (one bit each, in a fresh copy),
//! and the newest segment cut at every boundary and every byte of its last two frames. Damage
//! is either reported (naming the file and an offset inside the damaged header or frame) or,
//! only in the newest segment's final frame, cut off as a torn tail; a reopened log never
//! returns a record that differs from what was written, and nothing else is lost.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::cast_possible_truncation
)]

use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use ddb_io::{Io, StdIo};
use ddb_log::format::HEADER_BYTES;
use ddb_log::layout::TailRepair;
use ddb_log::segment::{SegmentEnd, scan_segment};
use ddb_log::{
    Clock, Durability, Log, LogError, LogOptions, LogReader, Mutation, MutationKind, Record,
};

const TABLE: [u8; 16] = *b"corruption-table";

fn io() -> Arc<dyn Io> {
    Arc::new(StdIo::new())
}

/// A clock that ticks one microsecond per reading: timestamps are deterministic.
#[derive(Debug)]
struct Ticking(AtomicU64);

impl Clock for Ticking {
    fn now_us(&self) -> u64 {
        self.0.fetch_add(1, Ordering::SeqCst)
    }
}

fn options() -> LogOptions {
    let mut options = LogOptions::new(TABLE);
    options.segment_bytes_target = 600;
    options.durability = Durability::PerCommit;
    options.clock = Arc::new(Ticking(AtomicU64::new(1_700_000_000_000_000)));
    options
}

/// One frame of a segment: where it is and which records it holds.
#[derive(Debug, Clone)]
struct FrameAt {
    range: Range<u64>,
    /// Offsets of its records' starts (for cutting at record boundaries).
    record_starts: Vec<u64>,
    records: Vec<Record>,
}

#[derive(Debug)]
struct Segment {
    name: String,
    first_lsn: u64,
    bytes: Vec<u8>,
    frames: Vec<FrameAt>,
}

impl Segment {
    fn frame_holding(&self, offset: u64) -> usize {
        self.frames
            .iter()
            .position(|f| f.range.contains(&offset))
            .unwrap()
    }

    /// LSNs before frame `index` (all of the segment's records before it, and the older ones).
    fn lsns_before(&self, index: usize) -> u64 {
        self.first_lsn - 1
            + self.frames[..index]
                .iter()
                .map(|f| f.records.len() as u64)
                .sum::<u64>()
    }
}

/// The pristine log: its directory, every record as written, its segments.
struct Pristine {
    dir: tempfile::TempDir,
    written: Vec<Record>,
    segments: Vec<Segment>,
}

fn mutation(batch: usize, index: usize) -> Mutation {
    let key = format!("key-{batch:03}-{index}").into_bytes();
    if (batch + index) % 4 == 3 {
        Mutation {
            kind: MutationKind::Delete,
            key,
        }
    } else {
        let item = format!("{{\"n\":{{\"N\":\"{batch}\"}},\"pk\":{{\"S\":\"k{index}\"}}}}");
        Mutation {
            kind: MutationKind::Put(item.into_bytes()),
            key,
        }
    }
}

fn build() -> Pristine {
    let dir = tempfile::tempdir().unwrap();
    let log = Log::open(io(), dir.path(), options()).unwrap();
    for batch in 0..30 {
        let mutations: Vec<Mutation> = (0..=batch % 3).map(|i| mutation(batch, i)).collect();
        log.append(mutations).unwrap();
    }
    let written: Vec<Record> = log.read_from(1).unwrap().map(Result::unwrap).collect();
    drop(log);
    let mut segments = Vec::new();
    for name in io().read_dir(dir.path()).unwrap() {
        let path = dir.path().join(&name);
        let first_lsn = name.to_str().unwrap()[..20].parse().unwrap();
        let mut frames = Vec::new();
        scan_segment(io().as_ref(), &path, first_lsn, |frame, offset| {
            let mut record_starts = Vec::new();
            let mut at = offset + 32;
            for record in &frame.records {
                record_starts.push(at);
                at += (24 + record.key.len() + record.value.len()) as u64;
            }
            let end = if frame.seal { offset + 32 } else { at };
            frames.push(FrameAt {
                range: offset..end,
                record_starts,
                records: frame.records.clone(),
            });
            Ok(())
        })
        .unwrap();
        segments.push(Segment {
            name: name.to_str().unwrap().to_owned(),
            first_lsn,
            bytes: std::fs::read(&path).unwrap(),
            frames,
        });
    }
    // The shape the matrix relies on: several sealed segments, a newest one of several frames,
    // some of them multi-record batches.
    assert!(segments.len() >= 4, "{} segments", segments.len());
    let newest = segments.last().unwrap();
    assert!(newest.frames.len() >= 3, "{} frames", newest.frames.len());
    assert!(newest.frames.iter().any(|f| f.records.len() > 1));
    assert_eq!(
        newest.frames.last().unwrap().range.end,
        newest.bytes.len() as u64
    );
    assert!(
        segments[..segments.len() - 1]
            .iter()
            .all(|s| s.frames.last().unwrap().records.is_empty())
    );
    let in_segments: Vec<Record> = segments
        .iter()
        .flat_map(|s| s.frames.iter().flat_map(|f| f.records.clone()))
        .collect();
    assert_eq!(in_segments, written);
    Pristine {
        dir,
        written,
        segments,
    }
}

impl Pristine {
    /// A fresh copy of the log with segment `index` replaced by `bytes`; returns the copy and
    /// the path of that segment in it.
    fn copy_with(&self, index: usize, bytes: &[u8]) -> (tempfile::TempDir, PathBuf) {
        let copy = tempfile::tempdir().unwrap();
        for (i, segment) in self.segments.iter().enumerate() {
            let to = copy.path().join(&segment.name);
            if i == index {
                std::fs::write(&to, bytes).unwrap();
            } else {
                std::fs::copy(self.dir.path().join(&segment.name), &to).unwrap();
            }
        }
        let path = copy.path().join(&self.segments[index].name);
        (copy, path)
    }
}

fn corrupt_at(error: &LogError, path: &Path, context: &str) -> u64 {
    match error {
        LogError::Corrupt {
            path: p, offset, ..
        } => {
            assert_eq!(p, path, "{context}: the error names the damaged file");
            *offset
        }
        other => panic!("{context}: expected corruption, got {other}"),
    }
}

/// Every record a reopened log returns, which must be exactly the first `count` written.
fn assert_reads_exactly(log: &Log, written: &[Record], count: u64, context: &str) {
    assert_eq!(log.last_lsn(), count, "{context}");
    let read: Vec<Record> = log
        .read_from(1)
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap_or_else(|e| panic!("{context}: {e}"));
    assert_eq!(read.len() as u64, count, "{context}");
    assert!(
        read.iter().eq(&written[..count as usize]),
        "{context}: records differ"
    );
}

/// Scans the damaged segment: damage in the header is an error inside it; damage in frame `k`
/// stops the scan at frame `k`'s start, as corruption (or a torn tail if `k` is the last
/// frame), after exactly the records of the frames before it.
fn check_scan(segment: &Segment, path: &Path, byte: u64, context: &str) {
    let mut seen = Vec::new();
    let scan = scan_segment(io().as_ref(), path, segment.first_lsn, |frame, _| {
        seen.extend(frame.records.iter().cloned());
        Ok(())
    });
    if byte < HEADER_BYTES as u64 {
        let offset = corrupt_at(&scan.unwrap_err(), path, context);
        assert!(offset < HEADER_BYTES as u64, "{context}: named at {offset}");
        return;
    }
    let scan = scan.unwrap_or_else(|e| panic!("{context}: {e}"));
    let k = segment.frame_holding(byte);
    let frame = &segment.frames[k];
    assert_eq!(scan.valid_end, frame.range.start, "{context}");
    let expected: Vec<Record> = segment.frames[..k]
        .iter()
        .flat_map(|f| f.records.clone())
        .collect();
    assert_eq!(
        seen, expected,
        "{context}: the records before the damage, unchanged"
    );
    let last = k + 1 == segment.frames.len();
    match &scan.end {
        SegmentEnd::Corrupt { offset, error } if !last => {
            assert_eq!(*offset, frame.range.start, "{context}");
            assert!(frame.range.contains(&error.offset), "{context}: {error:?}");
        }
        SegmentEnd::TornTail { offset, .. } if last => {
            assert_eq!(*offset, frame.range.start, "{context}");
        }
        other => panic!(
            "{context}: frame {k} of {}: {other:?}",
            segment.frames.len()
        ),
    }
}

fn flipped(bytes: &[u8], byte: u64) -> Vec<u8> {
    let mut out = bytes.to_vec();
    out[byte as usize] ^= 1 << (byte % 8);
    out
}

#[test]
fn every_flipped_bit_of_the_newest_segment_is_reported_or_cut_as_its_torn_final_frame() {
    let pristine = build();
    let index = pristine.segments.len() - 1;
    let segment = &pristine.segments[index];
    for byte in 0..segment.bytes.len() as u64 {
        let context = format!("newest segment, bit {} of byte {byte}", byte % 8);
        let (copy, path) = pristine.copy_with(index, &flipped(&segment.bytes, byte));
        check_scan(segment, &path, byte, &context);
        let final_frame = byte >= segment.frames.last().unwrap().range.start;
        let reader = LogReader::open(io(), copy.path());
        match Log::open(io(), copy.path(), options()) {
            Ok(log) => {
                assert!(final_frame, "{context}: opened");
                let start = segment.frames.last().unwrap().range.start;
                assert_eq!(
                    log.repair(),
                    &TailRepair::Truncated {
                        path: path.clone(),
                        offset: start,
                        bytes_dropped: segment.bytes.len() as u64 - start
                    },
                    "{context}"
                );
                assert_eq!(
                    reader.unwrap().torn_tail(),
                    Some(&(path.clone(), start)),
                    "{context}"
                );
                let kept = segment.lsns_before(segment.frames.len() - 1);
                assert_reads_exactly(&log, &pristine.written, kept, &context);
                // The log goes on from there.
                let next = log.append(vec![mutation(99, 0)]).unwrap();
                assert_eq!(next.first_lsn, kept + 1, "{context}");
            }
            Err(error) => {
                assert!(!final_frame, "{context}: {error}");
                let offset = corrupt_at(&error, &path, &context);
                let damaged = if byte < HEADER_BYTES as u64 {
                    0..HEADER_BYTES as u64
                } else {
                    segment.frames[segment.frame_holding(byte)].range.clone()
                };
                assert!(damaged.contains(&offset), "{context}: named at {offset}");
                let reader_offset = corrupt_at(&reader.unwrap_err(), &path, &context);
                assert_eq!(
                    reader_offset, offset,
                    "{context}: the read-only open agrees"
                );
            }
        }
    }
}

#[test]
fn every_flipped_bit_of_a_sealed_segment_is_reported_on_open_or_on_read() {
    let pristine = build();
    // A sealed segment in the middle: segments before and after it.
    let index = 1;
    let segment = &pristine.segments[index];
    let seal = segment.frames.last().unwrap().range.clone();
    for byte in 0..segment.bytes.len() as u64 {
        let context = format!(
            "sealed segment {}, bit {} of byte {byte}",
            segment.name,
            byte % 8
        );
        let (copy, path) = pristine.copy_with(index, &flipped(&segment.bytes, byte));
        check_scan(segment, &path, byte, &context);
        let opened = Log::open(io(), copy.path(), options());
        if byte < HEADER_BYTES as u64 || seal.contains(&byte) {
            // Open checks every sealed segment's header and seal.
            let error = opened.expect_err(&context);
            let offset = corrupt_at(&error, &path, &context);
            let damaged = if byte < HEADER_BYTES as u64 {
                0..HEADER_BYTES as u64
            } else {
                seal.clone()
            };
            assert!(damaged.contains(&offset), "{context}: named at {offset}");
            continue;
        }
        // Its body is read only when records are: then the damage is an error naming the file,
        // after exactly the records before the damaged frame.
        let log = opened.unwrap_or_else(|e| panic!("{context}: {e}"));
        let k = segment.frame_holding(byte);
        let before = segment.lsns_before(k);
        let mut read = log.read_from(1).unwrap();
        for expected in &pristine.written[..before as usize] {
            let record = read
                .next()
                .unwrap()
                .unwrap_or_else(|e| panic!("{context}: {e}"));
            assert_eq!(&record, expected, "{context}");
        }
        let error = read.next().expect(&context).expect_err(&context);
        let offset = corrupt_at(&error, &path, &context);
        assert!(
            segment.frames[k].range.contains(&offset),
            "{context}: named at {offset}"
        );
        assert!(read.next().is_none(), "{context}: nothing after the error");
    }
}

#[test]
fn cutting_the_newest_segment_keeps_exactly_the_whole_frames_before_the_cut() {
    let pristine = build();
    let index = pristine.segments.len() - 1;
    let segment = &pristine.segments[index];
    let frames = &segment.frames;
    let mut cuts: Vec<u64> = (0..=HEADER_BYTES as u64).collect();
    for frame in frames {
        cuts.push(frame.range.start);
        cuts.extend(&frame.record_starts);
        cuts.push(frame.range.end);
    }
    cuts.extend(frames[frames.len() - 2].range.start..segment.bytes.len() as u64);
    cuts.sort_unstable();
    cuts.dedup();
    for cut in cuts {
        let context = format!("newest segment cut at {cut}");
        let (copy, path) = pristine.copy_with(index, &segment.bytes[..cut as usize]);
        let whole = frames.iter().filter(|f| f.range.end <= cut).count();
        let kept = segment.lsns_before(whole);
        let at_boundary = cut == HEADER_BYTES as u64 || frames.iter().any(|f| f.range.end == cut);
        let repair = if cut < HEADER_BYTES as u64 {
            // A creation the crash interrupted: the segment held no record and is removed.
            TailRepair::Recreated { path: path.clone() }
        } else if at_boundary {
            TailRepair::None
        } else {
            let start = frames[whole].range.start;
            TailRepair::Truncated {
                path: path.clone(),
                offset: start,
                bytes_dropped: cut - start,
            }
        };
        if cut >= HEADER_BYTES as u64 {
            // The read-only open, before any repair, sees the same tail.
            let reader =
                LogReader::open(io(), copy.path()).unwrap_or_else(|e| panic!("{context}: {e}"));
            let torn = match &repair {
                TailRepair::Truncated { offset, .. } => Some((path.clone(), *offset)),
                _ => None,
            };
            assert_eq!(reader.torn_tail(), torn.as_ref(), "{context}");
            assert_eq!(reader.last_lsn(), kept, "{context}");
        }
        let log =
            Log::open(io(), copy.path(), options()).unwrap_or_else(|e| panic!("{context}: {e}"));
        assert_eq!(log.repair(), &repair, "{context}");
        assert_reads_exactly(&log, &pristine.written, kept, &context);
        assert_eq!(
            log.append(vec![mutation(99, 0)]).unwrap().first_lsn,
            kept + 1,
            "{context}"
        );
    }
}
