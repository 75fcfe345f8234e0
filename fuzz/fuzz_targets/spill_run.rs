//! Merge spill runs: reading arbitrary bytes as a run never panics, and what a successful read
//! returns is self-consistent (keys strictly ascending, as many entries as the trailer says,
//! and the entries re-encode to exactly the bytes between header and trailer). The merge's own
//! path (frame check, then a whole-run scan through the writer's record) agrees with the
//! standalone reader, entry for entry or on the offset it names.
#![no_main]

use std::path::PathBuf;
use std::sync::Arc;

use ddb_merge::MergeError;
use ddb_merge::spill::{
    HEADER_BYTES, MIN_RUN_BYTES, Mutation, SpillRun, TRAILER_BYTES, encode_entry, read_run,
};
use libfuzzer_sys::fuzz_target;

#[path = "common/mem_io.rs"]
mod mem_io;
use mem_io::{MemFile, MemIo};

fn offset(result: &Result<Vec<(Vec<u8>, Mutation)>, MergeError>) -> Option<u64> {
    match result {
        Err(MergeError::CorruptSpill { offset, .. }) => Some(*offset),
        Err(other) => panic!("only corruption is possible on an in-memory file: {other}"),
        Ok(_) => None,
    }
}

fuzz_target!(|data: &[u8]| {
    let path = PathBuf::from("/fuzz/run.spill");
    let io = MemIo {
        file: Arc::new(MemFile {
            path: path.clone(),
            bytes: data.to_vec(),
        }),
    };
    let read = read_run(&io, &path);
    if let Some(at) = offset(&read) {
        assert!(at <= data.len() as u64, "the offset named is inside the file");
    }

    // The record a writer would have kept: the trailer where the length puts it, its count.
    let len = data.len() as u64;
    if len >= MIN_RUN_BYTES {
        let data_end = len - TRAILER_BYTES as u64;
        let count_at = data.len() - 16;
        let count = u64::from_le_bytes(data[count_at..count_at + 8].try_into().expect("8 bytes"));
        let run = SpillRun {
            path: path.clone(),
            data_end,
            entries: count,
            index: vec![(Vec::new(), HEADER_BYTES as u64)],
        };
        let merged = run.verify_frame(&io).and_then(|()| {
            let mut scan = run.scan_whole(&io)?;
            let mut entries = Vec::new();
            while let Some(entry) = scan.next_entry()? {
                entries.push(entry);
            }
            Ok(entries)
        });
        assert_eq!(offset(&merged), offset(&read), "both readers name the same byte");
        if let (Ok(a), Ok(b)) = (&merged, &read) {
            assert_eq!(a, b, "both readers return the same entries");
        }
    }

    let Ok(entries) = read else { return };
    let count_at = data.len() - 16;
    let count = u64::from_le_bytes(data[count_at..count_at + 8].try_into().expect("8 bytes"));
    assert_eq!(entries.len() as u64, count, "the trailer's count");
    assert!(
        entries.windows(2).all(|w| w[0].0 < w[1].0),
        "keys strictly ascending"
    );
    let mut encoded = Vec::new();
    let mut scratch = Vec::new();
    for (key, mutation) in &entries {
        encode_entry(&mut scratch, key, mutation).expect("a decoded entry encodes");
        encoded.extend_from_slice(&scratch);
    }
    assert_eq!(
        encoded.as_slice(),
        &data[HEADER_BYTES..data.len() - TRAILER_BYTES],
        "entries re-encode to the same bytes"
    );
});
