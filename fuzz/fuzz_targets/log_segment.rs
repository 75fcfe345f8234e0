//! Log segments: scanning arbitrary bytes as a segment file never panics, and what the scan
//! reports is self-consistent (frames tile the valid prefix; a clean or sealed end means every
//! byte is valid; LSNs are dense). Raw bytes also go to the frame and header decoders.
#![no_main]

use std::ffi::OsString;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use ddb_io::{Io, IoFile, OpenOptions};
use ddb_log::format::{FrameDecode, HEADER_BYTES, SegmentHeader, decode_frame};
use ddb_log::segment::{SegmentEnd, scan_segment};
use libfuzzer_sys::fuzz_target;

/// A read-only file system holding one file, so the scan reads the input without disk I/O.
#[derive(Debug)]
struct MemIo {
    file: Arc<MemFile>,
}

#[derive(Debug)]
struct MemFile {
    path: PathBuf,
    bytes: Vec<u8>,
}

fn read_only() -> io::Error {
    io::Error::new(
        io::ErrorKind::PermissionDenied,
        "the fuzz file system is read-only",
    )
}

impl IoFile for MemFile {
    fn path(&self) -> &Path {
        &self.path
    }

    fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<usize> {
        let start = usize::try_from(offset)
            .unwrap_or(usize::MAX)
            .min(self.bytes.len());
        let n = buf.len().min(self.bytes.len() - start);
        buf[..n].copy_from_slice(&self.bytes[start..start + n]);
        Ok(n)
    }

    fn write_at(&self, _: &[u8], _: u64) -> io::Result<usize> {
        Err(read_only())
    }

    fn sync_data(&self) -> io::Result<()> {
        Ok(())
    }

    fn sync_all(&self) -> io::Result<()> {
        Ok(())
    }

    fn len(&self) -> io::Result<u64> {
        Ok(self.bytes.len() as u64)
    }

    fn set_len(&self, _: u64) -> io::Result<()> {
        Err(read_only())
    }
}

impl Io for MemIo {
    fn name(&self) -> &'static str {
        "fuzz-mem"
    }

    fn open(&self, path: &Path, _: OpenOptions) -> io::Result<Arc<dyn IoFile>> {
        if path == self.file.path {
            Ok(self.file.clone())
        } else {
            Err(io::Error::new(
                io::ErrorKind::NotFound,
                path.display().to_string(),
            ))
        }
    }

    fn create_dir_all(&self, _: &Path) -> io::Result<()> {
        Err(read_only())
    }

    fn read_dir(&self, _: &Path) -> io::Result<Vec<OsString>> {
        Ok(vec![
            self.file.path.file_name().unwrap_or_default().to_owned(),
        ])
    }

    fn rename(&self, _: &Path, _: &Path) -> io::Result<()> {
        Err(read_only())
    }

    fn remove_file(&self, _: &Path) -> io::Result<()> {
        Err(read_only())
    }

    fn sync_dir(&self, _: &Path) -> io::Result<()> {
        Ok(())
    }

    fn exists(&self, path: &Path) -> io::Result<bool> {
        Ok(path == self.file.path)
    }
}

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
