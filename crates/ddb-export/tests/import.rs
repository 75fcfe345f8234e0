//! The reader on sources other than a clean export: plain directories (gzip, zstd,
//! uncompressed), bad lines, long lines, damaged files and manifests.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;

use std::path::Path;

use common::{gzip, io, open, read_all, write_export};
use ddb_export::{
    Compression, ExportError, ExportOptions, ImportSource, LINE_BYTES_MAX, MANIFEST_FILES_FILE,
    MANIFEST_SUMMARY_FILE,
};
use ddb_model::Item;

fn item(id: &str) -> Item {
    ddb_model::parse_item(&format!(r#"{{"id":{{"S":"{id}"}}}}"#)).unwrap()
}

fn write(path: &Path, bytes: &[u8]) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, bytes).unwrap();
}

const LINES: &str = concat!(
    r#"{"Item":{"id":{"S":"a"}}}"#,
    "\n",
    r#"{"id":{"S":"b"}}"#,
    "\r\n",
    "   \n",
    r#"{"Item":{"id":{"S":"c"}}}"#,
);

/// A plain directory of files: nested directories in sorted path order, the layout's own
/// files skipped.
fn plain_dir(dir: &Path, encode: impl Fn(&[u8]) -> Vec<u8>) {
    write(&dir.join("in/b.json"), &encode(LINES.as_bytes()));
    write(
        &dir.join("in/a/z.json"),
        &encode(br#"{"id":{"S":"first"}}"#),
    );
    write(
        &dir.join("in/a-c.json"),
        &encode(br#"{"id":{"S":"after a/"}}"#),
    );
    for skipped in [
        "in/_started",
        "in/_temporary/x.json",
        "in/.hidden.json",
        "in/manifest-anything.json",
        "in/x.md5",
        "in/x.checksum",
    ] {
        write(&dir.join(skipped), b"not an item");
    }
}

fn check_plain(dir: &Path, compression: Compression) {
    let source = open(dir, Some("in"), compression);
    let names: Vec<String> = source
        .files()
        .iter()
        .map(|p| p.strip_prefix(dir).unwrap().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, ["in/a/z.json", "in/a-c.json", "in/b.json"]);
    let (items, errors) = read_all(&source);
    assert!(errors.is_empty(), "{errors:?}");
    let got: Vec<(String, u64, Item)> = items
        .into_iter()
        .map(|i| (i.file, i.line, i.item))
        .collect();
    assert_eq!(
        got,
        [
            ("in/a/z.json".to_owned(), 1, item("first")),
            ("in/a-c.json".to_owned(), 1, item("after a/")),
            ("in/b.json".to_owned(), 1, item("a")),
            ("in/b.json".to_owned(), 2, item("b")),
            ("in/b.json".to_owned(), 4, item("c")),
        ]
    );
}

#[test]
fn uncompressed_sources() {
    let dir = tempfile::tempdir().unwrap();
    plain_dir(dir.path(), <[u8]>::to_vec);
    check_plain(dir.path(), Compression::None);
}

#[test]
fn gzip_sources() {
    let dir = tempfile::tempdir().unwrap();
    plain_dir(dir.path(), gzip);
    check_plain(dir.path(), Compression::Gzip);
}

#[test]
fn zstd_sources() {
    let dir = tempfile::tempdir().unwrap();
    plain_dir(dir.path(), |b| zstd::encode_all(b, 3).unwrap());
    check_plain(dir.path(), Compression::Zstd);
}

#[test]
fn concatenated_gzip_members_and_zstd_frames_are_one_stream() {
    let dir = tempfile::tempdir().unwrap();
    let mut gz = gzip(b"{\"id\":{\"S\":\"a\"}}\n{\"id\":");
    gz.extend(gzip(b"{\"S\":\"b\"}}\n"));
    write(&dir.path().join("g/x.gz"), &gz);
    let mut zst = zstd::encode_all(&b"{\"id\":{\"S\":\"a\"}}\n{\"id\":"[..], 1).unwrap();
    zst.extend(zstd::encode_all(&b"{\"S\":\"b\"}}\n"[..], 1).unwrap());
    write(&dir.path().join("z/x.zst"), &zst);
    for (prefix, compression) in [("g", Compression::Gzip), ("z", Compression::Zstd)] {
        let (items, errors) = read_all(&open(dir.path(), Some(prefix), compression));
        assert!(errors.is_empty(), "{errors:?}");
        let got: Vec<Item> = items.into_iter().map(|i| i.item).collect();
        assert_eq!(got, [item("a"), item("b")]);
    }
}

#[test]
fn a_single_file_is_a_source() {
    let dir = tempfile::tempdir().unwrap();
    write(&dir.path().join("one.json"), LINES.as_bytes());
    let (items, errors) = read_all(&open(dir.path(), Some("one.json"), Compression::None));
    assert!(errors.is_empty());
    assert_eq!(items.len(), 3);
    assert_eq!(items[0].file, "one.json");
}

#[test]
fn bad_lines_are_reported_and_the_others_read() {
    let dir = tempfile::tempdir().unwrap();
    let text = [
        r#"{"id":{"S":"1"}}"#,
        r#"{"id":{"S":"broken""#,
        r#"{"id":{"X":"1"}}"#,
        r#"{"Item":{"id":{"S":"4"}}}"#,
        r#"{"RequestItems":{"T":[{"PutRequest":{"Item":{"id":{"S":"x"}}}}]}}"#,
        "\u{feff}nonsense",
        r#"{"id":{"S":"7"}}"#,
    ]
    .join("\n");
    write(&dir.path().join("f.json"), text.as_bytes());
    // A BOM before the first line is allowed.
    write(
        &dir.path().join("g.json"),
        "\u{feff}{\"id\":{\"S\":\"g\"}}\n".as_bytes(),
    );
    let (items, errors) = read_all(&open(dir.path(), None, Compression::None));
    let lines: Vec<(&str, u64)> = items.iter().map(|i| (i.file.as_str(), i.line)).collect();
    assert_eq!(
        lines,
        [("f.json", 1), ("f.json", 4), ("f.json", 7), ("g.json", 1)]
    );
    let errors: Vec<String> = errors.iter().map(ToString::to_string).collect();
    assert_eq!(errors.len(), 4, "{errors:?}");
    for (error, line) in errors.iter().zip([2, 3, 5, 6]) {
        assert!(error.starts_with(&format!("f.json:{line}: ")), "{error}");
    }
    assert!(
        errors[0].contains("SerializationException"),
        "{}",
        errors[0]
    );
}

#[test]
fn long_lines_are_skipped_to_their_newline() {
    let dir = tempfile::tempdir().unwrap();
    let long = format!(r#"{{"id":{{"S":"{}"}}}}"#, "x".repeat(LINE_BYTES_MAX));
    let exactly = {
        // A line of exactly the cap is read (and then too large as an item).
        let pad = LINE_BYTES_MAX - r#"{"id":{"S":""}}"#.len();
        format!(r#"{{"id":{{"S":"{}"}}}}"#, "y".repeat(pad))
    };
    assert_eq!(exactly.len(), LINE_BYTES_MAX);
    let text = format!("{long}\n{{\"id\":{{\"S\":\"after\"}}}}\n{exactly}\n{long}");
    for (name, bytes, compression) in [
        ("plain", text.clone().into_bytes(), Compression::None),
        ("gz", gzip(text.as_bytes()), Compression::Gzip),
    ] {
        write(&dir.path().join(name).join("f"), &bytes);
        let (items, errors) = read_all(&open(dir.path(), Some(name), compression));
        assert_eq!(items.len(), 1);
        assert_eq!((items[0].line, &items[0].item), (2, &item("after")));
        let got: Vec<(u64, bool)> = errors
            .iter()
            .map(|e| (e.line, e.message.contains("longer than")))
            .collect();
        assert_eq!(got, [(1, true), (3, false), (4, true)], "{errors:?}");
        assert!(
            errors[1].message.contains("400 KB") || errors[1].message.contains("size"),
            "{}",
            errors[1]
        );
    }
}

#[test]
fn damaged_gzip_is_reported_once_then_the_next_file() {
    let dir = tempfile::tempdir().unwrap();
    let lines: String = (0..2000)
        .map(|i| format!("{{\"id\":{{\"S\":\"{i:06}\"}}}}\n"))
        .collect();
    let full = gzip(lines.as_bytes());
    write(&dir.path().join("a.gz"), &full[..full.len() / 2]);
    write(&dir.path().join("b.gz"), b"this is not gzip");
    write(&dir.path().join("c.gz"), &gzip(b"{\"id\":{\"S\":\"c\"}}\n"));
    write(&dir.path().join("d.gz"), b"");
    let (items, errors) = read_all(&open(dir.path(), None, Compression::Gzip));
    let a: Vec<&Item> = items
        .iter()
        .filter(|i| i.file == "a.gz")
        .map(|i| &i.item)
        .collect();
    assert!(!a.is_empty() && a.len() < 2000);
    for (i, got) in a.iter().enumerate() {
        assert_eq!(**got, item(&format!("{i:06}")));
    }
    assert_eq!(items.last().unwrap().item, item("c"));
    assert_eq!(errors.len(), 2, "{errors:?}");
    assert_eq!(errors[0].file, "a.gz");
    assert_eq!(errors[0].line, a.len() as u64 + 1);
    assert!(errors[0].message.contains("gzip"), "{}", errors[0]);
    assert_eq!((errors[1].file.as_str(), errors[1].line), ("b.gz", 1));
}

#[test]
fn mismatches_against_the_manifest_are_reported_per_file() {
    let bucket = tempfile::tempdir().unwrap();
    let items: Vec<Item> = (0..20).map(|i| item(&format!("{i:02}"))).collect();
    let options = ExportOptions {
        data_file_bytes: 100,
        gzip_level: 6,
    };
    let (summary, root) = write_export(bucket.path(), None, &items, options);
    assert!(summary.data_files.len() >= 3);
    let path_of = |i: usize| bucket.path().join(&summary.data_files[i].data_file_key);
    // File 0: other bytes with the same lines (MD5 differs, count right).
    let first = &summary.data_files[0];
    let mut text = String::new();
    for i in 0..first.item_count {
        text.push_str(&format!("{{\"Item\":{{\"id\":{{\"S\":\"{i:02}\"}}}}}}\n"));
    }
    std::fs::write(path_of(0), gzip(format!("{text}\n").as_bytes())).unwrap();
    // File 1: missing.
    std::fs::remove_file(path_of(1)).unwrap();

    let source = open(bucket.path(), None, Compression::Gzip);
    assert_eq!(source.export_root(), Some(root.as_path()));
    let (read, errors) = read_all(&source);
    let expected_count = items.len() as u64 - summary.data_files[1].item_count;
    assert_eq!(read.len() as u64, expected_count);
    let got: Vec<(String, u64, bool)> = errors
        .iter()
        .map(|e| (e.file.clone(), e.line, e.message.contains("MD5 mismatch")))
        .collect();
    let key = |i: usize| summary.data_files[i].data_file_key.clone();
    assert_eq!(got, [(key(0), 0, true), (key(1), 0, false)], "{errors:?}");
    assert!(errors[1].message.contains("cannot read"), "{}", errors[1]);
}

#[test]
fn damaged_manifests_are_refused_at_open() {
    let bucket = tempfile::tempdir().unwrap();
    let items: Vec<Item> = (0..5).map(|i| item(&i.to_string())).collect();
    let (_, root) = write_export(bucket.path(), None, &items, ExportOptions::default());
    let summary_path = root.join(MANIFEST_SUMMARY_FILE);
    let files_path = root.join(MANIFEST_FILES_FILE);
    let summary = std::fs::read_to_string(&summary_path).unwrap();
    let files = std::fs::read_to_string(&files_path).unwrap();
    let refused =
        |what: &str| match ImportSource::open(io(), bucket.path(), None, Compression::Gzip) {
            Err(ExportError::Corrupt { .. }) => {}
            other => panic!("{what}: {other:?}"),
        };

    // manifest-files.json edited: its .md5 no longer matches.
    std::fs::write(
        &files_path,
        files.replace("\"itemCount\":5", "\"itemCount\":6"),
    )
    .unwrap();
    refused("manifest-files.json against its .md5");
    // Without the .md5, the summary's itemCount no longer matches the files'.
    std::fs::remove_file(root.join("manifest-files.md5")).unwrap();
    refused("itemCount of the summary against manifest-files.json");
    std::fs::write(&files_path, &files).unwrap();
    // A data file key that leaves data/.
    std::fs::write(&files_path, files.replace("/data/", "/../")).unwrap();
    refused("dataFileS3Key outside data/");
    std::fs::write(&files_path, &files).unwrap();
    // The summary edited: its .md5 no longer matches.
    std::fs::write(&summary_path, summary.replace("2020-06-30", "2020-06-31")).unwrap();
    refused("manifest-summary.json against its .md5");
    // Without the .md5, the version is checked.
    std::fs::remove_file(root.join("manifest-summary.md5")).unwrap();
    assert!(matches!(
        ImportSource::open(io(), bucket.path(), None, Compression::Gzip),
        Err(ExportError::Unsupported { .. })
    ));
    std::fs::write(&summary_path, &summary).unwrap();
    assert_eq!(
        read_all(&open(bucket.path(), None, Compression::Gzip))
            .0
            .len(),
        5
    );
}

#[test]
fn two_exports_under_one_prefix_are_ambiguous() {
    let bucket = tempfile::tempdir().unwrap();
    write_export(
        bucket.path(),
        Some("p"),
        &[item("1")],
        ExportOptions::default(),
    );
    let other = bucket.path().join("p/AWSDynamoDB/01733112233446-ffffffff");
    std::fs::create_dir_all(&other).unwrap();
    std::fs::write(other.join(MANIFEST_SUMMARY_FILE), b"{}").unwrap();
    match ImportSource::open(io(), bucket.path(), Some("p"), Compression::Gzip) {
        Err(ExportError::AmbiguousExports { exports, .. }) => assert_eq!(exports.len(), 2),
        other => panic!("{other:?}"),
    }
    // Naming one of them is not.
    let one = "p/AWSDynamoDB/01733112233445-1a2b3c4d";
    assert_eq!(
        read_all(&open(bucket.path(), Some(one), Compression::Gzip))
            .0
            .len(),
        1
    );
}

#[test]
fn a_missing_location_or_a_bad_prefix_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    for prefix in ["nope", "../x"] {
        assert!(matches!(
            ImportSource::open(io(), dir.path(), Some(prefix), Compression::None),
            Err(ExportError::InvalidRequest(_))
        ));
    }
}

mod arbitrary_bytes {
    use super::*;
    use proptest::prelude::*;

    fn compressions() -> impl Strategy<Value = Compression> {
        prop_oneof![
            Just(Compression::Gzip),
            Just(Compression::Zstd),
            Just(Compression::None)
        ]
    }

    proptest! {
        #![proptest_config(common::config(64))]

        /// Any bytes in a data file or a manifest: errors, never a panic, and the stream ends.
        #[test]
        fn never_panic(
            bytes in prop::collection::vec(any::<u8>(), 0..512),
            flips in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 0..4),
            compression in compressions(),
        ) {
            let dir = tempfile::tempdir().unwrap();
            // Raw bytes, and a valid stream with some bytes changed.
            write(&dir.path().join("plain/raw"), &bytes);
            let mut damaged = match compression {
                Compression::Gzip => gzip(LINES.as_bytes()),
                Compression::Zstd => zstd::encode_all(LINES.as_bytes(), 3).unwrap(),
                Compression::None => LINES.as_bytes().to_vec(),
            };
            for (index, byte) in &flips {
                let at = index.index(damaged.len());
                damaged[at] ^= byte;
            }
            write(&dir.path().join("plain/damaged"), &damaged);
            let source = open(dir.path(), Some("plain"), compression);
            for result in source.items() {
                let file = match result {
                    Ok(item) => item.file,
                    Err(error) => error.file,
                };
                prop_assert!(file == "plain/raw" || file == "plain/damaged", "{file}");
            }

            // The same bytes as manifests of an export.
            let root = dir.path().join("export");
            write(&root.join(MANIFEST_SUMMARY_FILE), &bytes);
            write(&root.join(MANIFEST_FILES_FILE), &bytes);
            if let Ok(source) = ImportSource::open(io(), &root, None, compression) {
                let _ = source.items().count();
            }
        }
    }
}
