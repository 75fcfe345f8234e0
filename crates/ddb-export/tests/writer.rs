//! The writer's rules: what it refuses, what it clears, determinism.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;

use common::{EXPORT_ID, files_under, identity, io, write_export};
use ddb_export::{
    ExportError, ExportOptions, ExportWriter, MANIFEST_FILES_FILE, MANIFEST_SUMMARY_FILE,
    export_root,
};
use ddb_model::Item;

fn items(count: usize) -> Vec<Item> {
    (0..count)
        .map(|i| {
            let json = format!(
                r#"{{"id":{{"S":"item-{i:05}"}},"payload":{{"S":"{}"}},"n":{{"N":"{i}"}}}}"#,
                "abc".repeat(i % 50)
            );
            ddb_model::parse_item(&json).unwrap()
        })
        .collect()
}

#[test]
fn the_same_export_twice_gives_the_same_bytes() {
    let items = items(500);
    let options = ExportOptions {
        data_file_bytes: 8 << 10,
        gzip_level: 6,
    };
    let a = tempfile::tempdir().unwrap();
    let b = tempfile::tempdir().unwrap();
    let (summary_a, _) = write_export(a.path(), Some("x/y"), &items, options);
    let (summary_b, _) = write_export(b.path(), Some("x/y"), &items, options);
    assert_eq!(summary_a, summary_b);
    assert!(summary_a.data_files.len() > 3);
    let files_a = files_under(a.path());
    assert_eq!(files_a, files_under(b.path()));
    // Only the layout's files: no temporaries left behind.
    let names: Vec<String> = files_a
        .keys()
        .map(|p| p.to_string_lossy().into_owned())
        .filter(|p| !p.contains("/data/"))
        .collect();
    let root = format!("x/y/AWSDynamoDB/{EXPORT_ID}");
    assert_eq!(
        names,
        [
            format!("{root}/_started"),
            format!("{root}/manifest-files.json"),
            format!("{root}/manifest-files.md5"),
            format!("{root}/manifest-summary.json"),
            format!("{root}/manifest-summary.md5"),
        ]
    );
    assert_eq!(files_a.len(), names.len() + summary_a.data_files.len());
}

#[test]
fn a_published_export_is_refused() {
    let bucket = tempfile::tempdir().unwrap();
    let (_, root) = write_export(bucket.path(), None, &items(3), ExportOptions::default());
    let before = files_under(bucket.path());
    let err =
        ExportWriter::create(io(), &root, identity(None), ExportOptions::default()).unwrap_err();
    assert!(matches!(err, ExportError::AlreadyPublished { .. }), "{err}");
    assert_eq!(files_under(bucket.path()), before, "nothing was touched");
}

#[test]
fn an_unpublished_attempt_is_cleared() {
    let bucket = tempfile::tempdir().unwrap();
    let root = export_root(bucket.path(), None, EXPORT_ID);
    // An attempt that wrote data files and manifest-files.json, then died.
    let mut writer = ExportWriter::create(io(), &root, identity(None), small_files()).unwrap();
    for item in items(40) {
        writer.push(item.to_canonical_json().as_bytes()).unwrap();
    }
    drop(writer);
    std::fs::write(root.join(MANIFEST_FILES_FILE), b"stale").unwrap();
    std::fs::write(root.join(".manifest-summary.json.tmp-1-2"), b"stale").unwrap();
    std::fs::write(root.join("data").join("stray.json.gz"), b"stale").unwrap();
    assert!(!root.join(MANIFEST_SUMMARY_FILE).exists());

    let fresh = tempfile::tempdir().unwrap();
    let (expected, _) = write_export(fresh.path(), None, &items(4), small_files());
    let mut writer = ExportWriter::create(io(), &root, identity(None), small_files()).unwrap();
    for item in items(4) {
        writer.push(item.to_canonical_json().as_bytes()).unwrap();
    }
    let summary = writer.finish(1_733_112_299_999).unwrap();
    assert_eq!(summary, expected);
    assert_eq!(files_under(bucket.path()), files_under(fresh.path()));
}

fn small_files() -> ExportOptions {
    ExportOptions {
        data_file_bytes: 100,
        gzip_level: 1,
    }
}

#[test]
fn bad_items_are_refused_and_nothing_is_published() {
    let bucket = tempfile::tempdir().unwrap();
    let root = export_root(bucket.path(), None, EXPORT_ID);
    let mut writer =
        ExportWriter::create(io(), &root, identity(None), ExportOptions::default()).unwrap();
    writer.push(br#"{"id":{"S":"ok"}}"#).unwrap();
    for (bad, why) in [
        (&b"{\"id\":\n{\"S\":\"x\"}}"[..], "line break"),
        (&b"{\"id\":{\"S\":\"\xff\"}}"[..], "UTF-8"),
        (&br#"{"id":{"Q":"x"}}"#[..], ""),
        (&br#"{"id":{"SS":[]}}"#[..], "empty"),
        (&br#"[]"#[..], ""),
    ] {
        match writer.push(bad) {
            Err(ExportError::InvalidItem { index, message }) => {
                assert_eq!(index, 1);
                assert!(message.contains(why), "{message}");
            }
            other => panic!("{other:?}"),
        }
    }
    drop(writer);
    assert!(!root.join(MANIFEST_SUMMARY_FILE).exists());
}

#[test]
fn bad_requests_are_refused() {
    let bucket = tempfile::tempdir().unwrap();
    let root = export_root(bucket.path(), None, EXPORT_ID);
    let refused = |root: &std::path::Path, identity, options| {
        matches!(
            ExportWriter::create(io(), root, identity, options),
            Err(ExportError::InvalidRequest(_))
        )
    };
    // The root must end in AWSDynamoDB/<ExportId>.
    assert!(refused(
        bucket.path(),
        identity(None),
        ExportOptions::default()
    ));
    assert!(refused(
        &bucket.path().join("AWSDynamoDB").join("other-id"),
        identity(None),
        ExportOptions::default()
    ));
    let mut bad_id = identity(None);
    bad_id.export_id = "..".to_owned();
    assert!(refused(&root, bad_id, ExportOptions::default()));
    assert!(refused(
        &root,
        identity(Some("a/../b")),
        ExportOptions::default()
    ));
    let level = ExportOptions {
        gzip_level: 10,
        ..ExportOptions::default()
    };
    assert!(refused(&root, identity(None), level));
    let size = ExportOptions {
        data_file_bytes: 0,
        ..ExportOptions::default()
    };
    assert!(refused(&root, identity(None), size));
    assert!(!root.exists(), "nothing was created");
}

#[test]
fn files_are_cut_after_the_line_that_reaches_the_size() {
    let bucket = tempfile::tempdir().unwrap();
    let items = items(30);
    let options = ExportOptions {
        data_file_bytes: 500,
        gzip_level: 6,
    };
    let (summary, _) = write_export(bucket.path(), None, &items, options);
    // Replay the rule on the line lengths.
    let mut expected = Vec::new();
    let (mut bytes, mut count) = (0u64, 0u64);
    for item in &items {
        bytes += (item.to_canonical_json().len() + br#"{"Item":}"#.len() + 1) as u64;
        count += 1;
        if bytes >= 500 {
            expected.push(count);
            (bytes, count) = (0, 0);
        }
    }
    if count > 0 {
        expected.push(count);
    }
    let got: Vec<u64> = summary.data_files.iter().map(|f| f.item_count).collect();
    assert_eq!(got, expected);
}

#[test]
fn after_a_failed_write_nothing_more_is_written_or_published() {
    let sim = ddb_io::SimIo::new(7);
    let io: std::sync::Arc<dyn ddb_io::Io> = std::sync::Arc::new(sim.clone());
    let root = export_root(std::path::Path::new("/bucket"), None, EXPORT_ID);
    let options = ExportOptions {
        data_file_bytes: 1,
        gzip_level: 6,
    };
    let mut writer = ExportWriter::create(io.clone(), &root, identity(None), options).unwrap();
    let items = items(3);
    writer
        .push(items[0].to_canonical_json().as_bytes())
        .unwrap();
    // Every item finishes its file (1 byte per file): the fsync of this one fails.
    sim.fail_next_sync();
    assert!(
        writer
            .push(items[1].to_canonical_json().as_bytes())
            .is_err()
    );
    let refused = writer.push(items[2].to_canonical_json().as_bytes());
    assert!(
        matches!(refused, Err(ExportError::InvalidRequest(_))),
        "{refused:?}"
    );
    let finished = writer.finish(0);
    assert!(
        matches!(finished, Err(ExportError::InvalidRequest(_))),
        "{finished:?}"
    );
    assert!(!io.exists(&root.join(MANIFEST_SUMMARY_FILE)).unwrap());
    assert!(!io.exists(&root.join(MANIFEST_FILES_FILE)).unwrap());
}
