//! The golden vectors of `formats/backup/vectors/`: a small published backup (`good/`) and
//! damaged copies, described by `index.json`. Checks that the good vector's rows equal
//! `good-items.json`, that rebuilding it from the same input reproduces it byte for byte (the
//! bytes pin the `parquet` and `zstd` versions of `Cargo.lock`), and that verification reports
//! each bad vector's recorded file, location and expectation. Every directory of `vectors/`
//! must be listed and every listed one present.
//!
//! `DDB_REGENERATE_VECTORS=1 cargo test -p ddb-backup --test golden_vectors` rewrites them
//! (only before a release: vectors are frozen once released).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    clippy::cast_possible_truncation
)]

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use common::{io, snapshot_dir};
use ddb_backup::{
    BackupIdentity, BackupManifest, BackupReader, BuildOptions, BuildRequest, MANIFEST_FILE,
    VerifyLevel, build, verify,
};
use ddb_log::{Record, RecordType};
use ddb_merge::{Row, VecSnapshot};
use ddb_model::{
    IndexKind, IndexSchema, KeyAttribute, KeyDef, ResolvedProjection, ScalarAttributeType,
    TableSchema, parse_item,
};
use serde_json::{Value, json};

/// A backup directory's files: relative path → bytes.
type Files = BTreeMap<PathBuf, Vec<u8>>;
/// A bad vector: name, description, files, expected first problem.
type BadVector = (String, String, Files, Value);

fn vectors() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../formats/backup/vectors")
}

fn schema() -> TableSchema {
    let mut schema = TableSchema::new(KeyDef {
        partition: KeyAttribute::new("id", ScalarAttributeType::S),
        sort: Some(KeyAttribute::new("_n", ScalarAttributeType::N)),
    });
    schema.indexes.push(IndexSchema {
        name: "by_tag".into(),
        kind: IndexKind::Global,
        key: KeyDef {
            partition: KeyAttribute::new("tag", ScalarAttributeType::S),
            sort: None,
        },
        projection: ResolvedProjection::All,
    });
    schema.indexes.push(IndexSchema {
        name: "by_blob".into(),
        kind: IndexKind::Global,
        key: KeyDef {
            partition: KeyAttribute::new("blob", ScalarAttributeType::B),
            sort: None,
        },
        projection: ResolvedProjection::KeysOnly,
    });
    schema
}

fn item(i: u64, version: u64) -> (Vec<u8>, Vec<u8>) {
    let mut text = format!(
        r#"{{"id":{{"S":"item-{:02}"}},"_n":{{"N":"{}.5"}},"v":{{"N":"{version}"}},"name":{{"S":"n\"{i}\u00e9"}}"#,
        i % 12,
        i / 12
    );
    if !i.is_multiple_of(3) {
        text.push_str(&format!(r#","tag":{{"S":"t{}"}}"#, i % 4));
    }
    if i.is_multiple_of(5) {
        text.push_str(r#","blob":{"B":"AAEC/w=="}"#);
    }
    if i.is_multiple_of(7) {
        text.push_str(r#","_private":{"M":{"tag":{"S":"not a key"}}},"list":{"L":[{"NULL":true},{"BOOL":false}]}"#);
    }
    text.push('}');
    let parsed = parse_item(&text).unwrap();
    (
        schema().table_key(&parsed).unwrap(),
        parsed.to_canonical_json().into_bytes(),
    )
}

/// 30 items in a snapshot at LSN 40; the log puts 10 more, updates 5 and deletes 4, up to the
/// marker at LSN 59; records 60..=62 are after the marker and not part of the backup.
fn build_good(dir: &Path, work: &Path) -> BackupManifest {
    let snapshot: Vec<Row> = (0..30)
        .map(|i| {
            let (key, item) = item(i, 0);
            Row {
                key,
                item,
                attrs: None,
            }
        })
        .collect();
    let mut log = Vec::new();
    let mut lsn = 40;
    let mut push = |record_type, (key, value): (Vec<u8>, Vec<u8>)| {
        lsn += 1;
        log.push(Record {
            record_type,
            end_of_batch: true,
            lsn,
            timestamp_us: lsn * 10,
            key,
            value,
        });
    };
    for i in 30..40 {
        push(RecordType::Put, item(i, 1));
    }
    for i in [2, 9, 17, 25, 33] {
        push(RecordType::Put, item(i, 2));
    }
    for i in [4, 11, 29, 35] {
        push(RecordType::Delete, (item(i, 0).0, Vec::new()));
    }
    for i in [0, 1] {
        push(RecordType::Delete, (item(i, 0).0, Vec::new()));
    }
    push(RecordType::Put, item(3, 9));
    let marker = 59;
    let request = BuildRequest {
        identity: BackupIdentity {
            backup_arn:
                "arn:aws:dynamodb:local:000000000000:table/Vectors/backup/01700000000000-0000000a"
                    .into(),
            backup_name: "vector".into(),
            backup_type: "USER".into(),
            table_name: "Vectors".into(),
            table_arn: "arn:aws:dynamodb:local:000000000000:table/Vectors".into(),
            table_id: "766563746f72766563746f7276656374".into(),
            request_time_ms: 1_700_000_000_000,
        },
        marker_lsn: marker,
        marker_time_ms: 1_700_000_000_000,
        schema: schema(),
        source_table: json!({"TableName": "Vectors", "KeySchema": schema().key.key_schema(), "GlobalSecondaryIndexes": [{"IndexName": "by_tag"}, {"IndexName": "by_blob"}]}),
        expires_at_ms: Some(1_700_086_400_000),
    };
    let options = BuildOptions {
        partitions: 2,
        spill_dir: work.join("spill"),
        row_group_bytes: 1_500,
        artifact_bytes: 1 << 20,
        memory_budget_bytes: 1 << 20,
        zstd_level: 3,
    };
    let snapshot = VecSnapshot::new(40, snapshot)
        .unwrap()
        .with_rows_per_hint(4);
    let log: Vec<_> = log
        .into_iter()
        .filter(|r| r.lsn <= marker)
        .map(Ok)
        .collect();
    build(io(), dir, &request, Some(&snapshot), log, &options).unwrap()
}

fn write_tree(dir: &Path, files: &BTreeMap<PathBuf, Vec<u8>>) {
    for (rel, bytes) in files {
        let path = dir.join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, bytes).unwrap();
    }
}

/// The bad vectors: name, description, how to damage a copy of `good/`, and the first
/// problem's file, row group, offset, expectation (a substring) and the lowest level that sees it.
fn bad_vectors(manifest: &BackupManifest, good: &BTreeMap<PathBuf, Vec<u8>>) -> Vec<BadVector> {
    let a0 = &manifest.artifacts[0];
    let a1 = &manifest.artifacts[1];
    let mut out = Vec::new();
    let mut add = |name: &str, description: &str, edit: &dyn Fn(&mut Files), expect: Value| {
        let mut files = good.clone();
        edit(&mut files);
        out.push((name.to_owned(), description.to_owned(), files, expect));
    };
    let manifest_len = good[Path::new(MANIFEST_FILE)].len() as u64;
    let hex_at = manifest_len - 4 - 32;
    add(
        "bad-manifest-checksum",
        "one hex digit of manifest_checksum changed",
        &|f| {
            let m = f.get_mut(Path::new(MANIFEST_FILE)).unwrap();
            let at = hex_at as usize;
            m[at] = if m[at] == b'0' { b'1' } else { b'0' };
        },
        json!({"file": MANIFEST_FILE, "offset": hex_at, "expected": "manifest checksum", "level": "structure"}),
    );
    add(
        "bad-manifest-version",
        "format_version 2, re-checksummed",
        &|f| {
            let mut m =
                BackupManifest::decode(Path::new(MANIFEST_FILE), &f[Path::new(MANIFEST_FILE)])
                    .unwrap();
            m.format_version = 2;
            f.insert(MANIFEST_FILE.into(), m.encode().unwrap());
        },
        json!({"file": MANIFEST_FILE, "expected": "format_version 1", "level": "structure"}),
    );
    let p0 = PathBuf::from(&a0.path);
    let start = a0.row_groups[0].start;
    add(
        "bad-row-group-bytes",
        "a byte in the first row group of the first artifact flipped",
        &|f| {
            f.get_mut(&p0).unwrap()[(start + 5) as usize] ^= 0x10;
        },
        json!({"file": a0.path, "row_group": 0, "offset": start, "expected": "row group xxh3-128", "level": "bytes"}),
    );
    let p1 = PathBuf::from(&a1.path);
    let bytes1 = &good[&p1];
    let footer_len = u64::from(u32::from_le_bytes(
        bytes1[bytes1.len() - 8..bytes1.len() - 4]
            .try_into()
            .unwrap(),
    ));
    let footer_start = bytes1.len() as u64 - 8 - footer_len;
    add(
        "bad-footer",
        "a byte in the second artifact's Thrift footer flipped",
        &|f| {
            f.get_mut(&p1).unwrap()[(footer_start + footer_len / 2) as usize] ^= 0x01;
        },
        json!({"file": a1.path, "offset": footer_start, "expected": "footer xxh3-128", "level": "structure"}),
    );
    add(
        "bad-truncated-artifact",
        "the first artifact without its last byte",
        &|f| {
            f.get_mut(&p0).unwrap().pop();
        },
        json!({"file": a0.path, "offset": a0.size - 1, "expected": format!("a file of {} bytes", a0.size), "level": "structure"}),
    );
    add(
        "bad-missing-artifact",
        "the second artifact deleted",
        &|f| {
            f.remove(&p1);
        },
        json!({"file": a1.path, "expected": "the artifact the manifest names", "level": "structure"}),
    );
    add(
        "bad-fingerprint-deep-only",
        "the second artifact's fingerprint hash (and the total) changed, re-checksummed: only decoding the rows shows it",
        &|f| {
            let mut m =
                BackupManifest::decode(Path::new(MANIFEST_FILE), &f[Path::new(MANIFEST_FILE)])
                    .unwrap();
            m.artifacts[1].fingerprint.hash ^= 1;
            m.totals.fingerprint.hash ^= 1;
            f.insert(MANIFEST_FILE.into(), m.encode().unwrap());
        },
        json!({"file": a1.path, "expected": "rows with fingerprint", "level": "deep"}),
    );
    out
}

fn level_of(name: &str) -> VerifyLevel {
    match name {
        "structure" => VerifyLevel::Structure,
        "bytes" => VerifyLevel::Bytes,
        _ => VerifyLevel::Deep,
    }
}

#[test]
fn golden_vectors() {
    let work = tempfile::tempdir().unwrap();
    let rebuilt = work.path().join("good");
    let manifest = build_good(&rebuilt, work.path());
    let fresh = snapshot_dir(&rebuilt);
    let root = vectors();
    if std::env::var_os("DDB_REGENERATE_VECTORS").is_some() {
        let _ = std::fs::remove_dir_all(&root);
        write_tree(&root.join("good"), &fresh);
        let items: Vec<Value> = BackupReader::open(io(), &rebuilt)
            .unwrap()
            .rows()
            .map(|r| serde_json::from_slice(&r.unwrap().item).unwrap())
            .collect();
        std::fs::write(
            root.join("good-items.json"),
            serde_json::to_string_pretty(&items).unwrap() + "\n",
        )
        .unwrap();
        let mut index = vec![
            json!({"name": "good", "description": "a published backup: 2 partitions, several row groups, a sparse typed attribute (tag), a B attribute (blob), an escaped key attribute (_n -> __n), a cut inside the log", "expect": "ok", "rows": manifest.total_rows()}),
        ];
        for (name, description, files, expect) in bad_vectors(&manifest, &fresh) {
            write_tree(&root.join(&name), &files);
            let mut entry = json!({"name": name, "description": description, "expect": "corrupt"});
            entry
                .as_object_mut()
                .unwrap()
                .extend(expect.as_object().unwrap().clone());
            index.push(entry);
        }
        std::fs::write(
            root.join("index.json"),
            serde_json::to_string_pretty(&json!({"vectors": index})).unwrap() + "\n",
        )
        .unwrap();
    }

    let index: Value =
        serde_json::from_slice(&std::fs::read(root.join("index.json")).unwrap()).unwrap();
    let listed: BTreeSet<String> = index["vectors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["name"].as_str().unwrap().to_owned())
        .collect();
    let present: BTreeSet<String> = std::fs::read_dir(&root)
        .unwrap()
        .map(|e| e.unwrap())
        .filter(|e| e.path().is_dir())
        .map(|e| e.file_name().into_string().unwrap())
        .collect();
    assert_eq!(
        listed, present,
        "every vector directory is listed in index.json and vice versa"
    );

    // The good vector: rows, soundness, and the same bytes from the same input.
    let good = root.join("good");
    assert_eq!(
        snapshot_dir(&good),
        fresh,
        "rebuilding the good vector gives other bytes (a parquet/zstd version change?)"
    );
    let expected: Vec<Value> =
        serde_json::from_slice(&std::fs::read(root.join("good-items.json")).unwrap()).unwrap();
    let rows: Vec<Value> = BackupReader::open(io(), &good)
        .unwrap()
        .rows()
        .map(|r| serde_json::from_slice(&r.unwrap().item).unwrap())
        .collect();
    assert_eq!(rows, expected);
    assert!(
        rows.iter().any(|r| r.get("tag").is_none())
            && rows.iter().any(|r| r.get("_private").is_some())
    );
    assert!(verify(io(), &good, VerifyLevel::Deep).unwrap().is_sound());

    for v in index["vectors"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|v| v["expect"] == "corrupt")
    {
        let name = v["name"].as_str().unwrap();
        let dir = root.join(name);
        let lowest = level_of(v["level"].as_str().unwrap());
        for level in [
            VerifyLevel::Structure,
            VerifyLevel::Bytes,
            VerifyLevel::Deep,
        ] {
            let report = verify(Arc::clone(&io()), &dir, level).unwrap();
            if level < lowest {
                assert!(
                    report.is_sound(),
                    "{name}: {level:?} should not see it: {:?}",
                    report.problems
                );
                continue;
            }
            let first = report
                .problems
                .first()
                .unwrap_or_else(|| panic!("{name}: {level:?} found nothing"));
            assert_eq!(
                first.file,
                dir.join(v["file"].as_str().unwrap()),
                "{name}: file"
            );
            assert_eq!(
                first.row_group,
                v["row_group"].as_u64().map(|r| r as usize),
                "{name}: row group"
            );
            assert_eq!(first.offset, v["offset"].as_u64(), "{name}: offset");
            assert!(
                first.expected.contains(v["expected"].as_str().unwrap()),
                "{name}: {first}"
            );
        }
    }
}
