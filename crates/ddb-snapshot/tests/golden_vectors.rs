//! The golden vectors of `formats/snapshot`, written by `formats/snapshot/tools/gen_vectors.py`
//! (an implementation of the spec independent of this crate): one good and one bad vector per
//! rule, as lone files and as snapshot directories for the manifest rules. This test only
//! reads them: every vector is verified plain and deep and its outcome checked against its
//! JSON — for a bad one the damaged structure and the byte the first finding names, for a good
//! one the row count and fingerprint of a full scan. A file this test does not list (or a listed
//! file that is missing) fails it, so vectors cannot silently go unchecked. A second test
//! writes the good vectors' rows with this crate's writer and compares the bytes.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::cast_possible_truncation
)]

use std::collections::BTreeSet;
use std::ops::Bound;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use ddb_io::{Io, StdIo};
use ddb_model::Fingerprint;
use ddb_snapshot::{
    Codec, Columns, MANIFEST_FILE_NAME, Report, Row, SnapshotError, SnapshotFile, SnapshotManifest,
    SnapshotReader, SnapshotWriter, WriterOptions, attrs_from_item, file_name, verify,
};
use serde::Deserialize;

/// Every file vector, by name: each is `NAME.snap` and `NAME.json`.
const FILE_VECTORS: &[&str] = &[
    "bad-absent-item",
    "bad-absent-key",
    "bad-block-first-key",
    "bad-block-key-order",
    "bad-block-last-key",
    "bad-block-padding",
    "bad-block-padding-last",
    "bad-chunk-checksum",
    "bad-chunk-raw-size",
    "bad-chunk-stored-size",
    "bad-chunk-trailing-bytes",
    "bad-chunk-undecodable",
    "bad-chunk-values-short",
    "bad-file-short",
    "bad-footer-block-gap",
    "bad-footer-block-order",
    "bad-footer-block-rows-zero",
    "bad-footer-block-unaligned",
    "bad-footer-checksum",
    "bad-footer-chunk-raw-size-max",
    "bad-footer-chunk-stored-zero",
    "bad-footer-empty-name",
    "bad-footer-first-after-last",
    "bad-footer-not-after-last-block",
    "bad-footer-row-count",
    "bad-footer-trailing-bytes",
    "bad-footer-unknown-codec",
    "bad-footer-unknown-type",
    "bad-footer-zone-flag",
    "bad-footer-zone-min-max",
    "bad-header-checksum",
    "bad-header-magic",
    "bad-header-padding",
    "bad-header-reserved",
    "bad-header-size",
    "bad-header-version-2",
    "bad-trailer-block-count-zero",
    "bad-trailer-checksum",
    "bad-trailer-footer-bytes",
    "bad-trailer-footer-unaligned",
    "bad-trailer-magic",
    "bad-trailer-reserved",
    "bad-truncated-at-footer",
    "bad-zone-map",
    "bad-zone-map-absent",
    "bad-zone-map-present",
    "good-all-codecs-none",
    "good-one-row",
    "good-small",
];

/// Every snapshot-directory vector: `NAME/vector.json`, `NAME/snapshot.manifest`, and its
/// files `t-000000.snap`, ... (how many: the number here).
const DIR_VECTORS: &[(&str, usize)] = &[
    ("manifest-bad-base-lsn", 1),
    ("manifest-bad-checksum", 1),
    ("manifest-bad-file-hash", 1),
    ("manifest-bad-file-size", 1),
    ("manifest-bad-fingerprint", 1),
    ("manifest-bad-fingerprint-items", 1),
    ("manifest-bad-footer-checksum", 1),
    ("manifest-bad-format-version", 1),
    ("manifest-bad-last-key", 1),
    ("manifest-bad-lsn", 1),
    ("manifest-bad-name-dotdot", 1),
    ("manifest-bad-name-slash", 1),
    ("manifest-bad-overlapping-keys", 2),
    ("manifest-bad-table-id", 1),
    ("manifest-bad-totals", 1),
    ("manifest-bad-totals-fingerprint", 1),
    ("manifest-bad-unknown-field", 1),
    ("manifest-bad-uppercase-hex", 1),
    ("manifest-good", 1),
    ("manifest-good-two-files", 2),
];

/// A vector's JSON (`formats/snapshot/SPEC.md`, "Vectors").
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Vector {
    description: String,
    expect: String,
    damage: Option<String>,
    offset: Option<u64>,
    /// Directory vectors: the file the finding names.
    file: Option<String>,
    #[serde(default)]
    deep_only: bool,
    rows: Option<u64>,
    fingerprint: Option<WireFingerprint>,
    writer: Option<Writer>,
}

#[derive(Debug, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
struct WireFingerprint {
    items: u64,
    item_bytes: u64,
    hash: String,
}

impl WireFingerprint {
    fn of(f: &Fingerprint) -> Self {
        Self {
            items: f.items,
            item_bytes: f.item_bytes,
            hash: format!("{:032x}", f.hash),
        }
    }
}

/// The writer settings that produced a good vector's bytes.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Writer {
    block_bytes_target: usize,
    file_bytes_target: u64,
    key_codec: String,
    attribute_codec: String,
    item_codec: String,
    zstd_level: i32,
}

impl Writer {
    fn codec(&self, name: &str) -> Codec {
        match name {
            "none" => Codec::None,
            "lz4" => Codec::Lz4,
            "zstd" => Codec::Zstd(self.zstd_level),
            other => panic!("codec {other}"),
        }
    }

    fn options(&self, file: &SnapshotFile) -> WriterOptions {
        let mut options =
            WriterOptions::new(file.table_id(), file.lsn(), file.attributes().to_vec());
        options.block_bytes_target = self.block_bytes_target;
        options.file_bytes_target = self.file_bytes_target;
        options.key_codec = self.codec(&self.key_codec);
        options.attribute_codec = self.codec(&self.attribute_codec);
        options.item_codec = self.codec(&self.item_codec);
        options
    }
}

fn vectors_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../formats/snapshot/vectors")
}

fn io() -> Arc<dyn Io> {
    Arc::new(StdIo::new())
}

fn load(path: &Path) -> Vector {
    let vector: Vector = serde_json::from_slice(&std::fs::read(path).unwrap())
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert!(!vector.description.is_empty(), "{}", path.display());
    vector
}

/// The first finding of `report`: damage name, offset and the name of the file it names.
fn first_finding(report: &Report) -> Option<(&'static str, u64, String)> {
    let e = report.errors.first()?;
    let file = match e {
        SnapshotError::Corrupt { path, .. } => path.file_name().unwrap().to_str().unwrap().into(),
        other => panic!("{}: not a corruption: {other}", report.path.display()),
    };
    Some((
        e.damage().unwrap().name(),
        e.corrupt_offset().unwrap(),
        file,
    ))
}

/// Rows of a full scan (every column) and their fingerprint.
fn scan_all(rows: impl Iterator<Item = ddb_snapshot::Result<Row>>) -> (Vec<Row>, Fingerprint) {
    let mut fingerprint = Fingerprint::default();
    let rows: Vec<Row> = rows.map(Result::unwrap).collect();
    for row in &rows {
        fingerprint.add(&row.key, &row.item);
    }
    (rows, fingerprint)
}

const ALL: (Bound<&[u8]>, Bound<&[u8]>) = (Bound::Unbounded, Bound::Unbounded);

/// Checks one vector: `path` is the file or snapshot directory, `meta` its JSON.
fn check(path: &Path, meta: &Vector, is_dir: bool) {
    let what = path.display();
    let plain = verify(io(), path, false);
    let deep = verify(io(), path, true);
    match meta.expect.as_str() {
        "ok" => {
            assert!(plain.is_ok(), "{what}: plain: {:?}", plain.errors);
            assert!(deep.is_ok(), "{what}: deep: {:?}", deep.errors);
            assert!(meta.damage.is_none() && meta.offset.is_none() && !meta.deep_only);
            let rows = meta.rows.expect("a good vector has rows");
            assert_eq!(deep.rows, rows, "{what}: rows verified");
            let (scanned, fingerprint) = if is_dir {
                let snapshot = SnapshotReader::open(io(), path).unwrap();
                let totals = snapshot.manifest().totals.fingerprint;
                let scanned = scan_all(snapshot.scan(ALL, Columns::ALL));
                assert_eq!(totals, scanned.1, "{what}: manifest totals");
                scanned
            } else {
                let file = SnapshotFile::open(io(), path).unwrap();
                scan_all(file.scan(ALL, Columns::ALL))
            };
            assert_eq!(scanned.len() as u64, rows, "{what}: rows scanned");
            assert_eq!(
                Some(WireFingerprint::of(&fingerprint)),
                meta.fingerprint,
                "{what}: fingerprint"
            );
        }
        "corrupt" => {
            assert!(meta.rows.is_none() && meta.fingerprint.is_none() && meta.writer.is_none());
            let expected = (
                meta.damage
                    .as_deref()
                    .expect("a bad vector names its damage"),
                meta.offset.expect("a bad vector names its offset"),
            );
            let got = first_finding(&deep).unwrap_or_else(|| panic!("{what}: deep: no finding"));
            assert_eq!((got.0, got.1), expected, "{what}: deep: {:?}", deep.errors);
            assert_eq!(deep.errors.len(), 1, "{what}: one damage, one finding");
            match (is_dir, &meta.file) {
                (true, Some(file)) => assert_eq!(&got.2, file, "{what}: the file named"),
                (false, None) => {}
                _ => panic!("{what}: `file` is for (and required by) directory vectors"),
            }
            if meta.deep_only {
                assert!(plain.is_ok(), "{what}: plain found {:?}", plain.errors);
            } else {
                let plain_got = first_finding(&plain)
                    .unwrap_or_else(|| panic!("{what}: plain verification found nothing"));
                assert_eq!(plain_got, got, "{what}: plain and deep name the same byte");
            }
        }
        other => panic!("{what}: expect {other}"),
    }
}

/// Runs `check` for every vector and reports every one that fails, not only the first.
fn each_vector(check: impl Fn(&str, bool) + std::panic::RefUnwindSafe) {
    let names = FILE_VECTORS
        .iter()
        .map(|n| (*n, false))
        .chain(DIR_VECTORS.iter().map(|(n, _)| (*n, true)));
    let failed: Vec<&str> = names
        .filter(|&(name, is_dir)| std::panic::catch_unwind(|| check(name, is_dir)).is_err())
        .map(|(name, _)| name)
        .collect();
    assert!(failed.is_empty(), "vectors failing: {failed:?}");
}

/// A vector's path and JSON.
fn vector(name: &str, is_dir: bool) -> (PathBuf, Vector) {
    let dir = vectors_dir();
    let (path, meta) = if is_dir {
        (dir.join(name), dir.join(name).join("vector.json"))
    } else {
        (
            dir.join(format!("{name}.snap")),
            dir.join(format!("{name}.json")),
        )
    };
    let meta = load(&meta);
    let good = name.starts_with(if is_dir { "manifest-good" } else { "good-" });
    assert_eq!(
        good,
        meta.expect == "ok",
        "{name}: good vectors are named so"
    );
    (path, meta)
}

#[test]
fn golden_vectors() {
    each_vector(|name, is_dir| {
        let (path, meta) = vector(name, is_dir);
        check(&path, &meta, is_dir);
    });
}

#[test]
fn every_vector_file_is_listed() {
    let dir = vectors_dir();
    let mut known = BTreeSet::new();
    for name in FILE_VECTORS {
        known.insert(format!("{name}.snap"));
        known.insert(format!("{name}.json"));
    }
    for &(name, files) in DIR_VECTORS {
        for inner in ["vector.json", MANIFEST_FILE_NAME] {
            known.insert(format!("{name}/{inner}"));
        }
        for i in 0..files {
            known.insert(format!("{name}/{}", file_name("t", i)));
        }
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
    let unlisted: Vec<_> = present.difference(&known).collect();
    let missing: Vec<_> = known.difference(&present).collect();
    assert!(
        unlisted.is_empty() && missing.is_empty(),
        "vector files without a test: {unlisted:?}; listed vector files missing: {missing:?}"
    );
}

/// Writes `rows` with `options` into `dir` (prefix `t`), returning the manifest's bytes.
fn write(dir: &Path, rows: &[Row], options: WriterOptions, base_lsn: u64) -> Vec<u8> {
    let mut writer = SnapshotWriter::new(io(), dir, "t", options.clone()).unwrap();
    for row in rows {
        writer.push(row).unwrap();
    }
    let entries = writer.finish().unwrap();
    SnapshotManifest::new(options.table_id, options.lsn, entries)
        .with_base_lsn(base_lsn)
        .encode()
        .unwrap()
}

/// The rows of a good vector, read back, with the typed values this crate derives from each
/// item checked against those the other implementation stored.
fn rows_of(scan: impl Iterator<Item = ddb_snapshot::Result<Row>>, file: &SnapshotFile) -> Vec<Row> {
    let rows = scan_all(scan).0;
    for row in &rows {
        let derived = attrs_from_item(&row.item, file.attributes()).unwrap();
        assert_eq!(derived, row.attrs, "typed values of {:02x?}", row.key);
    }
    rows
}

/// Asserts `written` (by this crate) equals `vector`, naming the first byte that differs.
fn assert_same_bytes(written: &[u8], vector: &[u8], what: &str) {
    let differs = written.iter().zip(vector).position(|(a, b)| a != b);
    assert!(
        written == vector,
        "{what}: the writer's bytes differ from the vector's: {} and {} bytes, first difference at {differs:?}",
        written.len(),
        vector.len()
    );
}

/// Compares a file this crate wrote with a vector's file and returns whether they are
/// byte-identical. An LZ4 block has many valid encodings (this crate's lz4_flex and the
/// generator's liblz4 choose different matches), so an LZ4 chunk's stored bytes (and with its
/// size the positions after it) may differ; everything else must not: the same blocks, keys,
/// zone maps, codecs and raw sizes, the same stored bytes of every other chunk, the same rows —
/// and the whole file when no LZ4 chunk differs.
fn compare_files(written: &Path, vector: &Path, what: &str) -> bool {
    let (a, b) = (
        SnapshotFile::open(io(), written).unwrap(),
        SnapshotFile::open(io(), vector).unwrap(),
    );
    let (a_bytes, b_bytes) = (
        std::fs::read(written).unwrap(),
        std::fs::read(vector).unwrap(),
    );
    assert_eq!(a.attributes(), b.attributes(), "{what}: attributes");
    assert_eq!(
        (a.table_id(), a.lsn()),
        (b.table_id(), b.lsn()),
        "{what}: header"
    );
    assert_eq!(a.blocks().len(), b.blocks().len(), "{what}: blocks");
    let mut lz4_differs = false;
    for (i, (x, y)) in a.blocks().iter().zip(b.blocks()).enumerate() {
        let block = (x.row_count, &x.first_key, &x.last_key, &x.zones);
        assert_eq!(
            block,
            (y.row_count, &y.first_key, &y.last_key, &y.zones),
            "{what}: block {i}"
        );
        for (c, (p, q)) in x.chunks.iter().zip(&y.chunks).enumerate() {
            assert_eq!(
                (p.codec, p.raw_bytes),
                (q.codec, q.raw_bytes),
                "{what}: chunk {i}.{c}"
            );
            let stored = |bytes: &[u8], meta: &ddb_snapshot::BlockMeta| {
                bytes[meta.chunk_offset(c) as usize..meta.chunk_offset(c + 1) as usize].to_vec()
            };
            if stored(&a_bytes, x) != stored(&b_bytes, y) {
                assert_eq!(p.codec, Codec::LZ4, "{what}: chunk {i}.{c} differs");
                lz4_differs = true;
            }
        }
    }
    let rows = |f: &SnapshotFile| scan_all(f.scan(ALL, Columns::ALL)).0;
    assert_eq!(rows(&a), rows(&b), "{what}: rows");
    if !lz4_differs {
        assert_same_bytes(&a_bytes, &b_bytes, what);
    }
    !lz4_differs
}

/// The other half of the independence: this crate's writer, given the rows and settings of a
/// good vector, writes the same files (see [`compare_files`] for LZ4) and the same manifest.
/// Vectors written without LZ4 (uncompressed and zstd chunks: both sides use libzstd 1.5.7,
/// whose output for one level is deterministic) must be byte-identical.
#[test]
fn writer_reproduces_good_vectors() {
    each_vector(|name, is_dir| {
        let (path, meta) = vector(name, is_dir);
        let Some(writer) = meta.writer else {
            assert_ne!(
                meta.expect, "ok",
                "{name}: a good vector names its writer settings"
            );
            return;
        };
        let uses_lz4 = [
            &writer.key_codec,
            &writer.attribute_codec,
            &writer.item_codec,
        ]
        .iter()
        .any(|c| c.as_str() == "lz4");
        let out = tempfile::tempdir().unwrap();
        let (files, manifest) = if is_dir {
            let snapshot = SnapshotReader::open(io(), &path).unwrap();
            let first = snapshot.open_file(0).unwrap();
            let rows = rows_of(snapshot.scan(ALL, Columns::ALL), &first);
            let base_lsn = snapshot.manifest().base_lsn;
            let manifest = write(out.path(), &rows, writer.options(&first), base_lsn);
            (snapshot.manifest().files.len(), Some(manifest))
        } else {
            let file = SnapshotFile::open(io(), &path).unwrap();
            let rows = rows_of(file.scan(ALL, Columns::ALL), &file);
            write(out.path(), &rows, writer.options(&file), file.lsn());
            (1, None)
        };
        let mut identical = true;
        for i in 0..files {
            let file = file_name("t", i);
            let vector_file = if is_dir {
                path.join(&file)
            } else {
                path.clone()
            };
            let what = format!("{name}: {file}");
            identical &= compare_files(&out.path().join(&file), &vector_file, &what);
        }
        let extra = out.path().join(file_name("t", files));
        assert!(!extra.exists(), "{name}: the writer wrote more files");
        assert!(
            identical || uses_lz4,
            "{name}: not byte-identical without LZ4"
        );
        if let Some(manifest) = manifest {
            assert!(
                identical,
                "{name}: snapshot vectors are written without LZ4"
            );
            let vector_bytes = std::fs::read(path.join(MANIFEST_FILE_NAME)).unwrap();
            assert_same_bytes(&manifest, &vector_bytes, &format!("{name}: manifest"));
        }
    });
}
