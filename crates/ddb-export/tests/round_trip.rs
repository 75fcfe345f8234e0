//! Writer → reader: random items come back exactly, in order, across data file cuts; the
//! manifests say what the files hold.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;

use std::io::Read;

use common::{config, item, open, read_all, write_export};
use ddb_export::{Compression, ExportOptions, MANIFEST_FILES_FILE, MANIFEST_SUMMARY_FILE};
use ddb_model::Item;
use proptest::prelude::*;

proptest! {
    #![proptest_config(config(48))]

    #[test]
    fn items_come_back_in_order(
        items in prop::collection::vec(item(), 0..60),
        data_file_bytes in prop_oneof![Just(1u64), 64u64..4096, Just(64 << 20)],
        gzip_level in 0u32..=9,
        prefix in prop_oneof![Just(None), Just(Some("exports/2024")), Just(Some("p"))],
    ) {
        let bucket = tempfile::tempdir().unwrap();
        let options = ExportOptions { data_file_bytes, gzip_level };
        let (summary, root) = write_export(bucket.path(), prefix, &items, options);
        prop_assert_eq!(summary.item_count, items.len() as u64);
        let billed: usize = items.iter().map(Item::size_bytes).sum();
        prop_assert_eq!(summary.billed_size_bytes, billed as u64);
        prop_assert_eq!(
            summary.data_files.iter().map(|f| f.item_count).sum::<u64>(),
            items.len() as u64
        );
        prop_assert!(!summary.data_files.is_empty());
        if data_file_bytes == 1 {
            prop_assert_eq!(summary.data_files.len(), items.len().max(1));
        }

        // From the bucket with the prefix, and from the export directory itself.
        for source in [open(bucket.path(), prefix, Compression::Gzip), open(&root, None, Compression::Gzip)] {
            prop_assert_eq!(source.files().len(), summary.data_files.len());
            let (read, errors) = read_all(&source);
            prop_assert!(errors.is_empty(), "{errors:?}");
            let got: Vec<Item> = read.iter().map(|i| i.item.clone()).collect();
            prop_assert_eq!(&got, &items);
            // Every line of every file is numbered from 1.
            for pair in read.windows(2) {
                if pair[0].file == pair[1].file {
                    prop_assert_eq!(pair[0].line + 1, pair[1].line);
                } else {
                    prop_assert_eq!(pair[1].line, 1);
                }
            }
        }
    }
}

#[test]
fn manifests_are_dynamodbs_shape() {
    let bucket = tempfile::tempdir().unwrap();
    let items: Vec<Item> = (0..5)
        .map(|i| {
            ddb_model::parse_item(&format!(r#"{{"id":{{"S":"k{i}"}},"n":{{"N":"{i}"}}}}"#)).unwrap()
        })
        .collect();
    let options = ExportOptions {
        data_file_bytes: 60,
        gzip_level: 6,
    };
    let (summary, root) = write_export(bucket.path(), Some("2020-Nov"), &items, options);
    let key_prefix = "2020-Nov/AWSDynamoDB/01733112233445-1a2b3c4d/";
    assert_eq!(
        summary.manifest_files_key,
        format!("{key_prefix}manifest-files.json")
    );

    let text = std::fs::read_to_string(root.join(MANIFEST_SUMMARY_FILE)).unwrap();
    let expected = format!(
        concat!(
            r#"{{"version":"2020-06-30","#,
            r#""exportArn":"arn:aws:dynamodb:us-east-1:123456789012:table/Music/export/01733112233445-1a2b3c4d","#,
            r#""startTime":"2024-12-02T04:03:53.445Z","endTime":"2024-12-02T04:04:59.999Z","#,
            r#""tableArn":"arn:aws:dynamodb:us-east-1:123456789012:table/Music","#,
            r#""tableId":"0d9c8b7a-6f5e-4d3c-2b1a-0f9e8d7c6b5a","exportTime":"2024-12-02T04:03:50.000Z","#,
            r#""s3Bucket":"/tmp/bucket","s3Prefix":"2020-Nov","s3SseAlgorithm":"AES256","s3SseKmsKeyId":null,"#,
            r#""manifestFilesS3Key":"{}manifest-files.json","billedSizeBytes":{},"itemCount":5,"#,
            r#""outputFormat":"DYNAMODB_JSON","exportType":"FULL_EXPORT"}}"#
        ),
        key_prefix, summary.billed_size_bytes
    );
    assert_eq!(text, expected);
    // Each item: "id" (2) + "k<i>" (2) + "n" (1) + the number: 1 byte for 0, 2 for 1..=4.
    assert_eq!(summary.billed_size_bytes, 5 * 5 + 1 + 4 * 2);

    let files = std::fs::read_to_string(root.join(MANIFEST_FILES_FILE)).unwrap();
    let lines: Vec<&str> = files.lines().collect();
    assert_eq!(lines.len(), summary.data_files.len());
    assert!(
        summary.data_files.len() > 1,
        "60 bytes per file cuts 5 lines"
    );
    assert!(files.ends_with('\n'));
    for (line, entry) in lines.iter().zip(&summary.data_files) {
        assert_eq!(
            *line,
            format!(
                r#"{{"itemCount":{},"md5Checksum":"{}","etag":"{}","dataFileS3Key":"{}"}}"#,
                entry.item_count, entry.md5_base64, entry.etag, entry.data_file_key
            )
        );
        let name = entry
            .data_file_key
            .strip_prefix(&format!("{key_prefix}data/"))
            .unwrap();
        let stem = name.strip_suffix(".json.gz").unwrap();
        assert_eq!(stem.len(), 26);
        assert!(
            stem.bytes()
                .all(|b| b.is_ascii_lowercase() || (b'2'..=b'7').contains(&b))
        );
        // The MD5 is of the object's bytes; the etag its hex; the content gzip JSON lines.
        let bytes = std::fs::read(root.join("data").join(name)).unwrap();
        let digest = md5_hex(&bytes);
        assert_eq!(entry.etag, digest);
        let mut text = String::new();
        flate2::read::GzDecoder::new(&bytes[..])
            .read_to_string(&mut text)
            .unwrap();
        assert_eq!(text.lines().count() as u64, entry.item_count);
        for line in text.lines() {
            assert!(line.starts_with(r#"{"Item":{"id":{"S":"k"#), "{line}");
        }
    }
    // The .md5 files: base64 MD5 of their manifest, no newline.
    for (json, md5) in [
        ("manifest-summary.json", "manifest-summary.md5"),
        ("manifest-files.json", "manifest-files.md5"),
    ] {
        let bytes = std::fs::read(root.join(json)).unwrap();
        let written = std::fs::read_to_string(root.join(md5)).unwrap();
        assert_eq!(written.len(), 24);
        assert_eq!(base64_decode(&written), md5_raw(&bytes));
    }
    assert_eq!(std::fs::read(root.join("_started")).unwrap(), b"");
}

#[test]
fn an_empty_export_has_one_empty_data_file() {
    let bucket = tempfile::tempdir().unwrap();
    let (summary, root) = write_export(bucket.path(), None, &[], ExportOptions::default());
    assert_eq!(summary.item_count, 0);
    assert_eq!(summary.data_files.len(), 1);
    assert_eq!(summary.data_files[0].item_count, 0);
    let source = open(&root, None, Compression::Gzip);
    let (items, errors) = read_all(&source);
    assert!(items.is_empty() && errors.is_empty(), "{errors:?}");
}

fn md5_hex(bytes: &[u8]) -> String {
    use md5::Digest as _;
    md5::Md5::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn md5_raw(bytes: &[u8]) -> Vec<u8> {
    use md5::Digest as _;
    md5::Md5::digest(bytes).to_vec()
}

fn base64_decode(text: &str) -> Vec<u8> {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD
        .decode(text)
        .unwrap()
}
