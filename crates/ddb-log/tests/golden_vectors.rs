//! The golden vectors of `formats/log`: segment files written by an independent generator
//! (`formats/log/tools/gen_vectors.py`, from the spec text). Every vector is scanned and its
//! outcome, damage offset and records checked; a file this test does not list (or a listed file
//! that is missing) fails the test, so vectors cannot silently go unchecked.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::cast_possible_truncation
)]

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use ddb_io::{Io, StdIo};
use ddb_log::format::segment_file_name;
use ddb_log::segment::{SegmentEnd, SegmentScan, scan_segment};
use ddb_log::{LogError, LogReader, Record, RecordType};
use serde_json::Value;

/// Every vector, by name: each is `NAME.log` and `NAME.json`.
const VECTORS: &[&str] = &[
    "bad-after-seal",
    "bad-batch-not-ended",
    "bad-frame-checksum",
    "bad-frame-count-mismatch",
    "bad-frame-count-zero",
    "bad-frame-flags",
    "bad-frame-magic",
    "bad-frame-size-large",
    "bad-frame-size-small",
    "bad-frame-trailing-bytes",
    "bad-header-checksum",
    "bad-header-first-lsn-name",
    "bad-header-first-lsn-zero",
    "bad-header-magic",
    "bad-header-reserved",
    "bad-header-short",
    "bad-header-size",
    "bad-header-version-2",
    "bad-lsn-first-frame",
    "bad-lsn-gap",
    "bad-lsn-overflow",
    "bad-record-delete-value",
    "bad-record-flags",
    "bad-record-key-empty",
    "bad-record-lsn",
    "bad-record-overruns-frame",
    "bad-record-put-value-short",
    "bad-record-timestamp-back",
    "bad-record-type-0",
    "bad-record-type-3",
    "bad-seal-count",
    "bad-seal-lsn",
    "bad-seal-size",
    "bad-timestamp-back",
    "good-clean",
    "good-empty",
    "good-lsn-max",
    "good-min-frame",
    "good-sealed",
    "good-skippable",
    "good-timestamps-equal",
    "torn-bad-checksum-last",
    "torn-frame-header",
    "torn-half-frame",
];

fn vectors_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../formats/log/vectors")
}

struct Vector {
    name: String,
    path: PathBuf,
    json: Value,
}

impl Vector {
    fn first_lsn(&self) -> u64 {
        self.json["first_lsn"].as_u64().unwrap()
    }

    fn expect(&self) -> &str {
        self.json["expect"].as_str().unwrap()
    }

    fn offset(&self) -> u64 {
        self.json["offset"]
            .as_u64()
            .unwrap_or_else(|| panic!("{}: no offset", self.name))
    }

    /// The records the JSON lists (`None` when it lists none: the header is damaged).
    fn records(&self) -> Option<Vec<Record>> {
        let records = self.json.get("records")?.as_array().unwrap();
        Some(records.iter().map(record).collect())
    }
}

fn record(json: &Value) -> Record {
    let record_type = match json["type"].as_str().unwrap() {
        "put" => RecordType::Put,
        "delete" => RecordType::Delete,
        other => {
            let code = other.strip_prefix("skippable:0x").unwrap();
            RecordType::Skippable(u8::from_str_radix(code, 16).unwrap())
        }
    };
    Record {
        record_type,
        end_of_batch: json["end_of_batch"].as_bool().unwrap(),
        lsn: json["lsn"].as_u64().unwrap(),
        timestamp_us: json["timestamp_us"].as_u64().unwrap(),
        key: unhex(json["key_hex"].as_str().unwrap()),
        value: json["value"].as_str().unwrap().as_bytes().to_vec(),
    }
}

fn unhex(text: &str) -> Vec<u8> {
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap())
        .collect()
}

/// Every vector, failing on files on disk that are not listed and listed files not on disk.
fn load() -> Vec<Vector> {
    let dir = vectors_dir();
    let on_disk: BTreeSet<String> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| entry.unwrap().file_name().into_string().unwrap())
        .collect();
    let listed: BTreeSet<String> = VECTORS
        .iter()
        .flat_map(|name| [format!("{name}.log"), format!("{name}.json")])
        .collect();
    let unknown: Vec<_> = on_disk.difference(&listed).collect();
    let missing: Vec<_> = listed.difference(&on_disk).collect();
    assert!(unknown.is_empty(), "vectors with no test: {unknown:?}");
    assert!(missing.is_empty(), "listed vectors missing: {missing:?}");
    VECTORS
        .iter()
        .map(|name| {
            let json: Value = serde_json::from_str(
                &std::fs::read_to_string(dir.join(format!("{name}.json"))).unwrap(),
            )
            .unwrap();
            assert_eq!(json["file"], format!("{name}.log"), "{name}");
            assert!(json["description"].is_string(), "{name}");
            Vector {
                name: (*name).to_owned(),
                path: dir.join(format!("{name}.log")),
                json,
            }
        })
        .collect()
}

fn scan(vector: &Vector) -> (Result<SegmentScan, LogError>, Vec<Record>) {
    let mut records = Vec::new();
    let scan = scan_segment(
        &StdIo::new(),
        &vector.path,
        vector.first_lsn(),
        |frame, _| {
            records.extend(frame.records.iter().cloned());
            Ok(())
        },
    );
    (scan, records)
}

/// The offset a corruption error names, checking that it names the file.
fn corrupt_offset(error: &LogError, path: &Path, name: &str) -> u64 {
    match error {
        LogError::Corrupt {
            path: p, offset, ..
        } => {
            assert_eq!(p, path, "{name}: the error names the file");
            *offset
        }
        other => panic!("{name}: expected corruption, got {other}"),
    }
}

#[test]
fn every_vector_scans_as_described() {
    let vectors = load();
    let expects: BTreeSet<&str> = vectors.iter().map(Vector::expect).collect();
    assert_eq!(
        expects,
        BTreeSet::from(["clean", "corrupt", "sealed", "torn_tail"])
    );
    for vector in &vectors {
        let name = vector.name.as_str();
        let (result, records) = scan(vector);
        let header_damaged = result.is_err();
        let file_bytes = std::fs::metadata(&vector.path).unwrap().len();
        match vector.expect() {
            "clean" | "sealed" => {
                let scan = result.as_ref().unwrap_or_else(|e| panic!("{name}: {e}"));
                let end = if vector.expect() == "clean" {
                    SegmentEnd::Clean
                } else {
                    SegmentEnd::Sealed
                };
                assert_eq!(scan.end, end, "{name}");
                assert_eq!(scan.valid_end, file_bytes, "{name}: every byte is valid");
                assert!(scan.damage(true).is_none(), "{name}");
                let expected = vector.records().unwrap();
                assert_eq!(scan.record_count(), expected.len() as u64, "{name}");
                assert_eq!(
                    scan.next_lsn(),
                    vector.first_lsn() + expected.len() as u64,
                    "{name}"
                );
            }
            "torn_tail" => {
                let scan = result.as_ref().unwrap_or_else(|e| panic!("{name}: {e}"));
                let SegmentEnd::TornTail { offset, .. } = scan.end else {
                    panic!("{name}: expected a torn tail, got {:?}", scan.end)
                };
                assert_eq!(offset, vector.offset(), "{name}");
                assert_eq!(
                    scan.valid_end, offset,
                    "{name}: the frames before it are kept"
                );
                assert!(
                    scan.damage(false).is_none(),
                    "{name}: not damage when newest"
                );
                assert!(scan.damage(true).is_some(), "{name}: damage when sealed");
            }
            "corrupt" => {
                let offset = match &result {
                    Err(error) => corrupt_offset(error, &vector.path, name),
                    Ok(scan) => {
                        assert!(
                            matches!(scan.end, SegmentEnd::Corrupt { .. }),
                            "{name}: expected corruption, got {:?}",
                            scan.end
                        );
                        let error = scan.damage(false).unwrap();
                        corrupt_offset(&error, &vector.path, name)
                    }
                };
                assert_eq!(offset, vector.offset(), "{name}: the offset named");
            }
            other => panic!("{name}: unknown expectation {other}"),
        }
        match vector.records() {
            Some(expected) => assert_eq!(records, expected, "{name}: records"),
            None => assert!(header_damaged, "{name}: only a bad header lists no records"),
        }
    }
}

/// Each vector as the only segment of a log directory (named by its first LSN), opened
/// read-only: the layout check and the streaming reader agree with the scan.
#[test]
fn every_vector_reads_the_same_through_a_read_only_open() {
    let io: Arc<dyn Io> = Arc::new(StdIo::new());
    for vector in load() {
        let name = vector.name.as_str();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(segment_file_name(vector.first_lsn()));
        std::fs::copy(&vector.path, &path).unwrap();
        let opened = LogReader::open(Arc::clone(&io), dir.path());
        if std::fs::metadata(&path).unwrap().len() < ddb_log::format::HEADER_BYTES as u64 {
            // As the newest segment of a log, a file shorter than its header is a creation a
            // crash interrupted (SPEC "Recovery rules" 3): it holds no record.
            let reader = opened.unwrap_or_else(|e| panic!("{name}: {e}"));
            assert!(reader.segments().is_empty(), "{name}");
            assert_eq!(reader.last_lsn(), vector.first_lsn() - 1, "{name}");
            continue;
        }
        if vector.expect() == "corrupt" {
            let error = opened.expect_err(name);
            assert_eq!(
                corrupt_offset(&error, &path, name),
                vector.offset(),
                "{name}"
            );
            continue;
        }
        let reader = opened.unwrap_or_else(|e| panic!("{name}: {e}"));
        let expected = vector.records().unwrap();
        assert_eq!(
            reader.torn_tail(),
            (vector.expect() == "torn_tail")
                .then(|| (path.clone(), vector.offset()))
                .as_ref(),
            "{name}"
        );
        assert_eq!(
            reader.last_lsn(),
            vector.first_lsn() + expected.len() as u64 - 1,
            "{name}"
        );
        let read: Vec<Record> = reader
            .read_from(vector.first_lsn())
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(read, expected, "{name}");
    }
}
