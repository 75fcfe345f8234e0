//! The golden vectors of `formats/snapshot`: one good file and one bad file per rule, plus
//! snapshot directories for the manifest rules. Every vector is verified deeply and its
//! outcome and damage offset checked; a file this test does not list (or a listed file that is
//! missing) fails the test, so vectors cannot silently go unchecked.
//!
//! `DDB_REGEN_SNAPSHOT_VECTORS=1` rewrites them (from the writer and the damage below); the
//! committed files are frozen once released, so regenerating must leave `git diff` empty.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::cast_possible_truncation
)]

mod common;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use common::*;
use ddb_io::{Io, StdIo};
use ddb_snapshot::format::{TRAILER_BYTES, Trailer};
use ddb_snapshot::{
    Codec, Footer, SnapshotError, SnapshotFile, SnapshotManifest, file_name, verify,
};
use serde_json::{Value, json};

/// Every file vector, by name: each is `NAME.snap` and `NAME.json`.
const FILE_VECTORS: &[&str] = &[
    "bad-absent-item",
    "bad-absent-key",
    "bad-block-padding",
    "bad-chunk-checksum",
    "bad-chunk-raw-size",
    "bad-chunk-trailing-bytes",
    "bad-footer-unknown-codec",
    "bad-footer-block-order",
    "bad-footer-checksum",
    "bad-header-checksum",
    "bad-header-magic",
    "bad-header-padding",
    "bad-header-version-2",
    "bad-trailer-checksum",
    "bad-trailer-magic",
    "bad-truncated-at-footer",
    "bad-zone-map",
    "good-all-codecs-none",
    "good-small",
];

/// Every snapshot-directory vector: `NAME/vector.json`, `NAME/snapshot.manifest`, and its
/// files `t-000000.snap`, ... (how many: the number here).
const DIR_VECTORS: &[(&str, usize)] = &[
    ("manifest-bad-checksum", 1),
    ("manifest-bad-file-hash", 1),
    ("manifest-bad-format-version", 1),
    ("manifest-bad-lsn", 1),
    ("manifest-bad-name-dotdot", 1),
    ("manifest-bad-name-slash", 1),
    ("manifest-bad-overlapping-keys", 2),
    ("manifest-bad-totals", 1),
    ("manifest-bad-unknown-field", 1),
    ("manifest-bad-uppercase-hex", 1),
    ("manifest-good", 1),
];

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn vectors_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../formats/snapshot/vectors")
}

fn io() -> Arc<dyn Io> {
    Arc::new(StdIo::new())
}

/// The one corruption a report holds: its file and offset.
fn outcome(report: &ddb_snapshot::Report) -> Value {
    match report.errors.as_slice() {
        [] => json!({"expect": "ok", "rows": report.rows}),
        [SnapshotError::Corrupt { offset, .. }] => json!({"expect": "corrupt", "offset": offset}),
        other => panic!("expected at most one corruption, got {other:?}"),
    }
}

fn good_bytes(codecs_none: bool) -> Vec<u8> {
    let dir = tempfile::tempdir().unwrap();
    let rows = rows_from((0..30u8).map(|i| (format!("key{i:02}"), i)).collect());
    let mut options = small_options();
    options.block_bytes_target = 700;
    options.file_bytes_target = 1 << 30;
    if codecs_none {
        (
            options.key_codec,
            options.attribute_codec,
            options.item_codec,
        ) = (Codec::None, Codec::None, Codec::None);
    }
    let files = write_snapshot(&io(), dir.path(), &rows, options);
    std::fs::read(dir.path().join(&files[0].name)).unwrap()
}

/// Re-encodes the footer after `edit`, with a trailer that matches it, so only the rule the
/// edit breaks is broken.
fn edit_footer(bytes: &[u8], edit: impl Fn(&mut Footer)) -> Vec<u8> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("x.snap");
    std::fs::write(&path, bytes).unwrap();
    let file = SnapshotFile::open(io(), &path).unwrap();
    let mut footer = Footer {
        attributes: file.attributes().to_vec(),
        blocks: file.blocks().to_vec(),
    };
    edit(&mut footer);
    let encoded = footer.encode();
    let trailer = Trailer {
        footer_offset: file.footer_offset(),
        footer_bytes: encoded.len() as u64,
        footer_checksum: xxhash_rust::xxh3::xxh3_64(&encoded),
        row_count: file.row_count(),
        block_count: footer.blocks.len() as u32,
        attribute_count: footer.attributes.len() as u32,
    };
    let mut out = bytes[..file.footer_offset() as usize].to_vec();
    out.extend_from_slice(&encoded);
    out.extend_from_slice(&trailer.encode());
    out
}

/// Applies `edit` to the stored bytes of chunk `column` of block `block` in place (same size)
/// and records the new checksum in the footer, so only the rule the edit breaks is broken.
fn edit_chunk(bytes: &[u8], block: usize, column: usize, edit: impl Fn(&mut [u8])) -> Vec<u8> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("x.snap");
    std::fs::write(&path, bytes).unwrap();
    let meta = SnapshotFile::open(io(), &path).unwrap().blocks()[block].clone();
    let range = meta.chunk_offset(column) as usize..meta.chunk_offset(column + 1) as usize;
    let mut out = bytes.to_vec();
    edit(&mut out[range.clone()]);
    let checksum = xxhash_rust::xxh3::xxh3_64(&out[range]);
    edit_footer(&out, |f| f.blocks[block].chunks[column].checksum = checksum)
}

/// Byte offsets of the length prefixes of a raw chunk's values (none absent).
fn value_prefixes(raw: &[u8]) -> Vec<usize> {
    let mut out = Vec::new();
    let mut at = 0usize;
    while at < raw.len() {
        out.push(at);
        at += 4 + u32::from_le_bytes(raw[at..at + 4].try_into().unwrap()) as usize;
    }
    assert_eq!(at, raw.len());
    out
}

/// Rewrites the JSON line of `manifest` with `edit` and a matching checksum line.
fn edit_manifest_line(manifest: &Path, edit: impl Fn(&str) -> String) {
    let text = std::fs::read_to_string(manifest).unwrap();
    let json_line = edit(text.lines().next().unwrap());
    assert_ne!(
        json_line,
        text.lines().next().unwrap(),
        "the edit changed nothing"
    );
    let sum = xxhash_rust::xxh3::xxh3_128(json_line.as_bytes());
    std::fs::write(manifest, format!("{json_line}\nxxh3-128 {sum:032x}\n")).unwrap();
}

fn regenerate() {
    let dir = vectors_dir();
    let good = good_bytes(false);
    let g = {
        let tmp = tempfile::tempdir().unwrap();
        let p = tmp.path().join("g.snap");
        std::fs::write(&p, &good).unwrap();
        SnapshotFile::open(io(), &p).unwrap().blocks().to_vec()
    };
    let len = good.len();
    let footer_offset = g.last().unwrap().end().next_multiple_of(4096) as usize;
    let flip = |at: usize, mask: u8| {
        let mut b = good.clone();
        b[at] ^= mask;
        b
    };
    let mut version_2 = good.clone();
    version_2[8] = 2;
    let checksum = xxhash_rust::xxh3::xxh3_64(&version_2[..56]);
    version_2[56..64].copy_from_slice(&checksum.to_le_bytes());
    // Raw edits are made in the uncompressed file, where stored bytes are the raw bytes.
    let none = good_bytes(true);
    let absent = |c: &mut [u8]| c[..4].copy_from_slice(&u32::MAX.to_le_bytes());
    let file_vectors: Vec<(&str, &str, Vec<u8>)> = vec![
        (
            "good-small",
            "30 rows, 2 typed columns, several blocks, default codecs",
            good.clone(),
        ),
        (
            "good-all-codecs-none",
            "the same rows with every chunk stored uncompressed",
            good_bytes(true),
        ),
        (
            "bad-header-magic",
            "first magic byte flipped; named at 0",
            flip(0, 0x01),
        ),
        (
            "bad-header-checksum",
            "an LSN byte flipped; named at the header checksum (56)",
            flip(32, 0x04),
        ),
        (
            "bad-header-version-2",
            "version 2 with a matching checksum; named at 8",
            version_2,
        ),
        (
            "bad-header-padding",
            "a header padding byte set; named at that byte (100)",
            flip(100, 0x01),
        ),
        (
            "bad-chunk-checksum",
            "a byte of block 1's key chunk flipped; named at the chunk's first byte",
            flip(g[1].offset as usize + 3, 0x20),
        ),
        (
            "bad-block-padding",
            "block 0's first padding byte set; named at that byte",
            flip(g[0].end() as usize, 0x80),
        ),
        (
            "bad-footer-checksum",
            "a footer byte flipped; named at the footer's first byte",
            flip(footer_offset + 5, 0x02),
        ),
        (
            "bad-trailer-checksum",
            "a row-count byte flipped; named at the trailer checksum",
            flip(len - TRAILER_BYTES + 24, 0x01),
        ),
        (
            "bad-trailer-magic",
            "last magic byte flipped; named at the trailer magic",
            flip(len - 1, 0x01),
        ),
        (
            "bad-truncated-at-footer",
            "cut where the footer starts; the trailer is then block bytes",
            good[..footer_offset].to_vec(),
        ),
        (
            "bad-footer-block-order",
            "block 1's first key set to block 0's, footer checksums valid; named in the footer",
            edit_footer(&good, |f| {
                f.blocks[1].first_key = f.blocks[0].first_key.clone()
            }),
        ),
        (
            "bad-zone-map",
            "block 0's zone map max of attribute 0 raised, footer checksums valid; named at block 0's attribute-0 chunk",
            edit_footer(&good, |f| {
                if let Some((_, max)) = f.blocks[0].zones[0].as_mut() {
                    max.push(0xFF);
                }
            }),
        ),
        (
            "bad-absent-key",
            "uncompressed; block 1's first key marked absent (0xFFFFFFFF), chunk checksum valid; named at block 1's key chunk",
            edit_chunk(&none, 1, 0, absent),
        ),
        (
            "bad-absent-item",
            "uncompressed; block 1's first item marked absent (0xFFFFFFFF), chunk checksum valid; named at block 1's item chunk",
            edit_chunk(&none, 1, 3, absent),
        ),
        (
            "bad-chunk-trailing-bytes",
            "uncompressed; block 1's last item length lowered by 1 so a byte trails the values, chunk checksum valid; named at block 1's item chunk",
            edit_chunk(&none, 1, 3, |c| {
                let at = *value_prefixes(c).last().unwrap();
                c[at] -= 1;
            }),
        ),
        (
            "bad-footer-unknown-codec",
            "block 1's key chunk codec set to 3, footer checksums valid; named in the footer",
            edit_footer(&good, |f| f.blocks[1].chunks[0].codec = 3),
        ),
        (
            "bad-chunk-raw-size",
            "block 1's LZ4 key chunk raw size raised by 1 in the footer, footer checksums valid; named at block 1's key chunk",
            edit_footer(&good, |f| f.blocks[1].chunks[0].raw_bytes += 1),
        ),
    ];
    for (name, description, bytes) in file_vectors {
        let path = dir.join(format!("{name}.snap"));
        std::fs::write(&path, &bytes).unwrap();
        let mut meta = outcome(&verify(io(), &path, true));
        assert_eq!(meta["expect"] == "ok", name.starts_with("good-"), "{name}");
        meta["description"] = json!(description);
        std::fs::write(
            dir.join(format!("{name}.json")),
            serde_json::to_string_pretty(&meta).unwrap() + "\n",
        )
        .unwrap();
    }
    for &(name, files) in DIR_VECTORS {
        let d = dir.join(name);
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        let mut options = small_options();
        options.file_bytes_target = 1 << 30;
        let rows = if files == 1 {
            rows_from((0..5u8).map(|i| (format!("m{i}"), i)).collect())
        } else {
            // One row per block, one block per file.
            options.block_bytes_target = 1;
            options.file_bytes_target = 1;
            rows_from((0..files as u8).map(|i| (format!("m{i}"), i)).collect())
        };
        assert_eq!(write_snapshot(&io(), &d, &rows, options).len(), files);
        let manifest = d.join("snapshot.manifest");
        let file = d.join("t-000000.snap");
        let description = match name {
            "manifest-good" => "one file of 5 rows and its manifest",
            "manifest-bad-checksum" => {
                let mut m = std::fs::read(&manifest).unwrap();
                let at = m.len() - 2;
                m[at] = if m[at] == b'0' { b'1' } else { b'0' };
                std::fs::write(&manifest, m).unwrap();
                "last checksum digit changed; named at the checksum's first digit"
            }
            "manifest-bad-file-hash" => {
                let mut f = std::fs::read(&file).unwrap();
                f[200] = 1;
                std::fs::write(&file, f).unwrap();
                "a header padding byte of the listed file set; the whole-file hash differs; named at 0 of the file"
            }
            "manifest-bad-totals" => {
                edit_manifest_line(&manifest, |l| l.replace("\"rows\":5", "\"rows\":6"));
                "totals.rows 6 for 5 rows, checksum valid; named at 0"
            }
            "manifest-bad-format-version" => {
                edit_manifest_line(&manifest, |l| {
                    l.replace("\"format_version\":1,", "\"format_version\":2,")
                });
                "format_version 2, checksum valid; named at 0"
            }
            "manifest-bad-lsn" => {
                edit_manifest_line(&manifest, |l| l.replace("\"lsn\":42,", "\"lsn\":43,"));
                "lsn 43 while the file's header says 42, checksum valid; named at 0 of the file"
            }
            "manifest-bad-name-dotdot" => {
                edit_manifest_line(&manifest, |l| {
                    l.replace("\"t-000000.snap\"", "\"../t-000000.snap\"")
                });
                "file name ../t-000000.snap (parent directory), checksum valid; named at 0"
            }
            "manifest-bad-name-slash" => {
                edit_manifest_line(&manifest, |l| {
                    l.replace("\"t-000000.snap\"", "\"sub/t-000000.snap\"")
                });
                "file name sub/t-000000.snap (path separator), checksum valid; named at 0"
            }
            "manifest-bad-overlapping-keys" => {
                let m = SnapshotManifest::load(&*io(), &d).unwrap();
                let (first0, first1) = (hex(&m.files[0].first_key), hex(&m.files[1].first_key));
                edit_manifest_line(&manifest, |l| {
                    l.replace(
                        &format!("\"first_key\":\"{first1}\""),
                        &format!("\"first_key\":\"{first0}\""),
                    )
                });
                "two files; the second's first_key set to the first's, so the key ranges overlap, checksum valid; named at 0"
            }
            "manifest-bad-unknown-field" => {
                edit_manifest_line(&manifest, |l| l.replacen('{', "{\"extra\":1,", 1));
                "an unknown field \"extra\" first in the JSON object, checksum valid; named at the field"
            }
            "manifest-bad-uppercase-hex" => {
                let id = hex(&TABLE_ID);
                assert_ne!(id, id.to_uppercase());
                edit_manifest_line(&manifest, |l| l.replace(&id, &id.to_uppercase()));
                "table_id in uppercase hex, checksum valid; named at 0"
            }
            other => panic!("no recipe for vector {other}"),
        };
        let mut meta = outcome(&verify(io(), &d, true));
        assert_eq!(meta["expect"] == "ok", name == "manifest-good", "{name}");
        meta["description"] = json!(description);
        std::fs::write(
            d.join("vector.json"),
            serde_json::to_string_pretty(&meta).unwrap() + "\n",
        )
        .unwrap();
    }
}

fn check(path: &Path, meta_path: &Path) {
    let meta: Value = serde_json::from_slice(&std::fs::read(meta_path).unwrap()).unwrap();
    let got = outcome(&verify(io(), path, true));
    assert_eq!(got["expect"], meta["expect"], "{}", path.display());
    match meta["expect"].as_str().unwrap() {
        "ok" => assert_eq!(got["rows"], meta["rows"], "{}", path.display()),
        _ => assert_eq!(got["offset"], meta["offset"], "{}", path.display()),
    }
}

#[test]
fn golden_vectors() {
    if std::env::var_os("DDB_REGEN_SNAPSHOT_VECTORS").is_some() {
        regenerate();
    }
    let dir = vectors_dir();
    let mut known = BTreeSet::new();
    for name in FILE_VECTORS {
        known.insert(format!("{name}.snap"));
        known.insert(format!("{name}.json"));
        check(
            &dir.join(format!("{name}.snap")),
            &dir.join(format!("{name}.json")),
        );
    }
    for &(name, files) in DIR_VECTORS {
        for inner in ["vector.json", "snapshot.manifest"] {
            known.insert(format!("{name}/{inner}"));
        }
        for i in 0..files {
            known.insert(format!("{name}/{}", file_name("t", i)));
        }
        check(&dir.join(name), &dir.join(name).join("vector.json"));
    }
    let mut present = BTreeSet::new();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name().into_string().unwrap();
        if entry.file_type().unwrap().is_dir() {
            for inner in std::fs::read_dir(entry.path()).unwrap() {
                present.insert(format!(
                    "{name}/{}",
                    inner.unwrap().file_name().into_string().unwrap()
                ));
            }
        } else {
            present.insert(name);
        }
    }
    assert_eq!(
        present, known,
        "vector files without a test, or listed vectors missing"
    );
    // Every bad vector is named somewhere other than the good ones: the rules are distinct.
    assert!(
        FILE_VECTORS
            .iter()
            .filter(|n| n.starts_with("good-"))
            .count()
            >= 1
    );
}
