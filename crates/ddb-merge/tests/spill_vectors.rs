//! The golden vectors of `formats/spill`: runs written by an independent generator
//! (`formats/spill/tools/gen_vectors.py`, from the spec text). Every vector is read through the
//! real reader and its outcome, damage offset and entries checked; a file this test does not list
//! (or a listed file that is missing) fails the test, so vectors cannot silently go unchecked.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::cast_possible_truncation
)]

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use ddb_io::StdIo;
use ddb_merge::MergeError;
use ddb_merge::spill::{HEADER_BYTES, MIN_RUN_BYTES, Mutation, SpillRun, TRAILER_BYTES, read_run};
use serde_json::Value;

/// Every vector, by name: each is `NAME.spill` and `NAME.json`.
const KNOWN: &[&str] = &[
    "bad-entry-checksum",
    "bad-entry-checksum-size",
    "bad-entry-delete-value",
    "bad-entry-header-cut",
    "bad-entry-key-size-huge",
    "bad-entry-kind-0",
    "bad-entry-kind-3",
    "bad-entry-reserved",
    "bad-entry-value-size-past",
    "bad-file-short",
    "bad-header-checksum",
    "bad-header-magic",
    "bad-header-reserved",
    "bad-header-version-2",
    "bad-key-descending",
    "bad-key-equal",
    "bad-trailer-checksum",
    "bad-trailer-count-empty",
    "bad-trailer-count-high",
    "bad-trailer-count-low",
    "bad-trailer-magic",
    "bad-trailing-bytes",
    "bad-trailing-trailer",
    "bad-truncated-mid-entry",
    "bad-truncated-no-trailer",
    "good-delete",
    "good-empty",
    "good-key-prefix",
    "good-large-value",
    "good-put-empty-value",
    "good-puts",
];

type Entry = (Vec<u8>, Mutation);

struct Vector {
    name: String,
    path: PathBuf,
    json: Value,
}

impl Vector {
    fn expect(&self) -> &str {
        self.json["expect"].as_str().unwrap()
    }

    fn offset(&self) -> u64 {
        self.json["offset"]
            .as_u64()
            .unwrap_or_else(|| panic!("{}: no offset", self.name))
    }

    fn entries(&self) -> Vec<Entry> {
        let entries = self.json["entries"]
            .as_array()
            .unwrap_or_else(|| panic!("{}: no entries", self.name));
        entries.iter().map(|e| entry(&self.name, e)).collect()
    }
}

fn entry(name: &str, json: &Value) -> Entry {
    let [kind, key, value] = json.as_array().unwrap().as_slice() else {
        panic!("{name}: an entry is [kind, key hex, value hex]: {json}")
    };
    let key = unhex(key.as_str().unwrap());
    let value = unhex(value.as_str().unwrap());
    match kind.as_str().unwrap() {
        "put" => (key, Some(value)),
        "delete" => {
            assert!(value.is_empty(), "{name}: a delete has no value");
            (key, None)
        }
        other => panic!("{name}: unknown kind {other}"),
    }
}

fn unhex(text: &str) -> Vec<u8> {
    assert_eq!(text.len() % 2, 0, "hex of odd length: {text}");
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap())
        .collect()
}

fn vectors_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../formats/spill/vectors")
}

/// Every vector, failing on files on disk that are not listed and listed files not on disk.
fn load() -> Vec<Vector> {
    let dir = vectors_dir();
    let on_disk: BTreeSet<String> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| entry.unwrap().file_name().into_string().unwrap())
        .collect();
    let listed: BTreeSet<String> = KNOWN
        .iter()
        .flat_map(|name| [format!("{name}.spill"), format!("{name}.json")])
        .collect();
    let unknown: Vec<_> = on_disk.difference(&listed).collect();
    let missing: Vec<_> = listed.difference(&on_disk).collect();
    assert!(unknown.is_empty(), "vectors with no test: {unknown:?}");
    assert!(missing.is_empty(), "listed vectors missing: {missing:?}");
    KNOWN
        .iter()
        .map(|name| {
            let json: Value = serde_json::from_str(
                &std::fs::read_to_string(dir.join(format!("{name}.json"))).unwrap(),
            )
            .unwrap();
            assert_eq!(json["file"], format!("{name}.spill"), "{name}");
            assert!(json["description"].is_string(), "{name}");
            Vector {
                name: (*name).to_owned(),
                path: dir.join(format!("{name}.spill")),
                json,
            }
        })
        .collect()
}

/// The offset a corruption error names, checking that it names the file and says what was
/// expected and found.
fn corrupt_offset(error: &MergeError, path: &Path, name: &str) -> u64 {
    match error {
        MergeError::CorruptSpill {
            path: p,
            offset,
            expected,
            found,
        } => {
            assert_eq!(p, path, "{name}: the error names the file");
            assert!(!expected.is_empty() && !found.is_empty(), "{name}: {error}");
            let message = error.to_string();
            assert!(
                message.contains(&path.display().to_string())
                    && message.contains(&format!("at byte {offset}")),
                "{name}: {message}"
            );
            *offset
        }
        other => panic!("{name}: expected a spill corruption, got {other}"),
    }
}

#[test]
fn every_vector_reads_as_described() {
    let vectors = load();
    let expects: BTreeSet<&str> = vectors.iter().map(Vector::expect).collect();
    assert_eq!(expects, BTreeSet::from(["corrupt", "ok"]));
    for vector in &vectors {
        let name = vector.name.as_str();
        let result = read_run(&StdIo::new(), &vector.path);
        match vector.expect() {
            "ok" => {
                let read = result.unwrap_or_else(|e| panic!("{name}: {e}"));
                assert_eq!(read, vector.entries(), "{name}: entries");
            }
            "corrupt" => {
                let error = result.err().unwrap_or_else(|| panic!("{name}: read clean"));
                let offset = corrupt_offset(&error, &vector.path, name);
                assert_eq!(
                    offset,
                    vector.offset(),
                    "{name}: the offset named ({error})"
                );
            }
            other => panic!("{name}: unknown expectation {other}"),
        }
    }
}

/// The record the writer would have kept for this file: the trailer where the file's length puts
/// it, the count it stores, and an index point at the first entry. `None` for a file too short
/// to have been written.
fn record_of(vector: &Vector) -> Option<SpillRun> {
    let bytes = std::fs::read(&vector.path).unwrap();
    let len = bytes.len() as u64;
    if len < MIN_RUN_BYTES {
        return None;
    }
    let data_end = len - TRAILER_BYTES as u64;
    let count_at = data_end as usize + 8;
    let entries = u64::from_le_bytes(bytes[count_at..count_at + 8].try_into().unwrap());
    let index = if data_end > HEADER_BYTES as u64 {
        vec![(Vec::new(), HEADER_BYTES as u64)]
    } else {
        Vec::new()
    };
    Some(SpillRun {
        path: vector.path.clone(),
        data_end,
        entries,
        index,
    })
}

/// The merge's own reading (frame check, then a whole-run scan, as a run merge reads its
/// inputs) agrees with `read_run` on every vector: same entries, same offset.
#[test]
fn the_merge_reader_agrees_through_the_writers_record() {
    let io = StdIo::new();
    for vector in load() {
        let name = vector.name.as_str();
        let Some(run) = record_of(&vector) else {
            assert_eq!(vector.expect(), "corrupt", "{name}");
            continue;
        };
        let read = run.verify_frame(&io).and_then(|()| {
            let mut scan = run.scan_whole(&io)?;
            let mut entries = Vec::new();
            while let Some(entry) = scan.next_entry()? {
                entries.push(entry);
            }
            Ok(entries)
        });
        match vector.expect() {
            "ok" => {
                let read = read.unwrap_or_else(|e| panic!("{name}: {e}"));
                assert_eq!(read, vector.entries(), "{name}");
            }
            _ => {
                let error = read.err().unwrap_or_else(|| panic!("{name}: read clean"));
                let offset = corrupt_offset(&error, &vector.path, name);
                assert_eq!(
                    offset,
                    vector.offset(),
                    "{name}: the offset named ({error})"
                );
            }
        }
    }
}

/// Key range scans of the good vectors return exactly the entries in range, for every pair
/// of bounds taken from the vector's keys (and unbounded).
#[test]
fn range_scans_of_good_vectors_return_the_entries_in_range() {
    let io = StdIo::new();
    for vector in load().iter().filter(|v| v.expect() == "ok") {
        let name = vector.name.as_str();
        let run = record_of(vector).unwrap();
        let expected = vector.entries();
        let mut bounds: Vec<Option<Vec<u8>>> = vec![None];
        bounds.extend(expected.iter().map(|(k, _)| Some(k.clone())));
        for lower in &bounds {
            for upper in &bounds {
                let mut scan = run.scan(&io, lower.as_deref(), upper.as_deref()).unwrap();
                let mut read = Vec::new();
                while let Some(entry) = scan.next_entry().unwrap() {
                    read.push(entry);
                }
                let want: Vec<Entry> = expected
                    .iter()
                    .filter(|(k, _)| lower.as_ref().is_none_or(|l| k >= l))
                    .filter(|(k, _)| upper.as_ref().is_none_or(|u| k < u))
                    .cloned()
                    .collect();
                assert_eq!(read, want, "{name}: [{lower:?}, {upper:?})");
            }
        }
    }
}
