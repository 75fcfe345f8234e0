//! Log segments: scanning arbitrary bytes as a segment file never panics, and what the scan
//! reports is self-consistent (frames tile the valid prefix; a clean or sealed end means every
//! byte is valid; LSNs are dense). Raw bytes also go to the frame and header decoders.
#![no_main]

use std::path::PathBuf;
use std::sync::Arc;

use ddb_log::format::{FrameDecode, HEADER_BYTES, SegmentHeader, decode_frame};
use ddb_log::segment::{SegmentEnd, scan_segment};
use libfuzzer_sys::fuzz_target;

#[path = "common/mem_io.rs"]
mod mem_io;
use mem_io::{MemFile, MemIo};

fuzz_target!(|data: &[u8]| {
    let _ = SegmentHeader::decode(data);
    let _ = decode_frame(data);
    if let Some(frames) = data.get(HEADER_BYTES..) {
        if let FrameDecode::Frame(frame, n) = decode_frame(frames) {
            assert!(n <= frames.len());
            assert_eq!(frame.seal, frame.records.is_empty());
        }
    }

    // Check the header's LSN against itself, so the scan gets past the file-name check.
    let first_lsn = data
        .get(32..40)
        .map_or(1, |b| u64::from_le_bytes(b.try_into().expect("8 bytes")));
    let path = PathBuf::from("/fuzz/segment.log");
    let io = MemIo {
        file: Arc::new(MemFile {
            path: path.clone(),
            bytes: data.to_vec(),
        }),
    };
    let mut next_lsn = first_lsn;
    let mut offsets: Vec<u64> = Vec::new();
    let scanned = scan_segment(&io, &path, first_lsn, |frame, offset| {
        for record in &frame.records {
            assert_eq!(record.lsn, next_lsn, "dense LSNs");
            next_lsn += 1;
        }
        offsets.push(offset);
        Ok(())
    });
    let Ok(scan) = scanned else { return };
    assert_eq!(scan.file_bytes, data.len() as u64);
    assert_eq!(scan.frames.len(), offsets.len());
    let mut at = HEADER_BYTES as u64;
    for (frame, offset) in scan.frames.iter().zip(&offsets) {
        assert_eq!(frame.offset, at, "frames tile the valid prefix");
        assert_eq!(frame.offset, *offset);
        at += frame.bytes;
    }
    assert_eq!(scan.valid_end, at);
    assert_eq!(scan.next_lsn(), next_lsn);
    match &scan.end {
        SegmentEnd::Clean | SegmentEnd::Sealed => assert_eq!(scan.valid_end, scan.file_bytes),
        SegmentEnd::TornTail { offset, .. } | SegmentEnd::Corrupt { offset, .. } => {
            assert!(*offset >= scan.valid_end && *offset < scan.file_bytes);
            assert!(scan.damage(true).is_some());
        }
    }
    let sealed = scan.frames.last().is_some_and(|f| f.seal);
    assert_eq!(
        scan.is_sealed(),
        sealed && scan.valid_end == scan.file_bytes
    );
});
