//! Shared by the export tests: the I/O backend, identities, item generators, readers.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use ddb_export::{
    Compression, ExportIdentity, ExportOptions, ExportSummary, ExportWriter, ImportItem,
    ImportLineError, ImportSource, export_root,
};
use ddb_io::{Io, StdIo};
use ddb_model::{AttributeValue, Item, Number};
use proptest::prelude::*;

pub fn io() -> Arc<dyn Io> {
    Arc::new(StdIo::new())
}

pub fn config(cases: u32) -> ProptestConfig {
    ProptestConfig {
        cases,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

pub const EXPORT_ID: &str = "01733112233445-1a2b3c4d";

pub fn identity(prefix: Option<&str>) -> ExportIdentity {
    let table_arn = "arn:aws:dynamodb:us-east-1:123456789012:table/Music".to_owned();
    ExportIdentity {
        export_arn: format!("{table_arn}/export/{EXPORT_ID}"),
        export_id: EXPORT_ID.to_owned(),
        table_arn,
        table_id: "0d9c8b7a-6f5e-4d3c-2b1a-0f9e8d7c6b5a".to_owned(),
        export_time_ms: 1_733_112_230_000,
        start_time_ms: 1_733_112_233_445,
        s3_bucket: "/tmp/bucket".to_owned(),
        s3_prefix: prefix.map(str::to_owned),
    }
}

/// Writes `items` as an export under `bucket`; the summary and the export directory.
pub fn write_export(
    bucket: &Path,
    prefix: Option<&str>,
    items: &[Item],
    options: ExportOptions,
) -> (ExportSummary, PathBuf) {
    let root = export_root(bucket, prefix, EXPORT_ID);
    let mut writer = ExportWriter::create(io(), &root, identity(prefix), options).unwrap();
    for item in items {
        writer.push(item.to_canonical_json().as_bytes()).unwrap();
    }
    (writer.finish(1_733_112_299_999).unwrap(), root)
}

/// Every line of the source: items and errors, in order.
pub fn read_all(source: &ImportSource) -> (Vec<ImportItem>, Vec<ImportLineError>) {
    let mut items = Vec::new();
    let mut errors = Vec::new();
    for result in source.items() {
        match result {
            Ok(item) => items.push(item),
            Err(error) => errors.push(error),
        }
    }
    (items, errors)
}

pub fn open(dir: &Path, prefix: Option<&str>, compression: Compression) -> ImportSource {
    ImportSource::open(io(), dir, prefix, compression).unwrap()
}

/// Every file under `dir`: relative path → bytes.
pub fn files_under(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    fn walk(base: &Path, dir: &Path, out: &mut BTreeMap<PathBuf, Vec<u8>>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(base, &path, out);
            } else {
                let bytes = std::fs::read(&path).unwrap();
                out.insert(path.strip_prefix(base).unwrap().to_path_buf(), bytes);
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(dir, dir, &mut out);
    out
}

pub fn gzip(bytes: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut encoder = flate2_encoder();
    encoder.write_all(bytes).unwrap();
    encoder.finish().unwrap()
}

fn flate2_encoder() -> flate2::write::GzEncoder<Vec<u8>> {
    flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default())
}

// Generators: valid items with every attribute type, a few levels deep.

fn name() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => "[A-Za-z_][A-Za-z0-9_.-]{0,8}",
        1 => "\\PC{1,6}",
        1 => "(S|N|B|M|L|SS|NS|BS|NULL|BOOL|Item)",
    ]
}

fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => "[a-z ]{0,12}",
        1 => "\\PC{0,10}",
        1 => "[\"\\\\\\x00-\\x1f\\n\\r\u{7f}\u{2028}é😀]{0,8}",
    ]
}

fn number() -> impl Strategy<Value = Number> {
    prop_oneof![
        3 => (-1_000_000i64..1_000_000).prop_map(Number::from),
        1 => ("-?[1-9][0-9]{0,20}(\\.[0-9]{1,15})?", -20i32..20).prop_map(|(digits, exp)| {
            format!("{digits}E{exp}").parse::<Number>().unwrap()
        }),
    ]
}

fn bytes() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(any::<u8>(), 0..20)
}

fn value() -> impl Strategy<Value = AttributeValue> {
    let leaf = prop_oneof![
        text().prop_map(AttributeValue::S),
        number().prop_map(AttributeValue::N),
        bytes().prop_map(AttributeValue::B),
        any::<bool>().prop_map(AttributeValue::Bool),
        Just(AttributeValue::Null),
        prop::collection::btree_set(text(), 1..4).prop_map(AttributeValue::Ss),
        prop::collection::btree_set(number(), 1..4).prop_map(AttributeValue::Ns),
        prop::collection::btree_set(bytes(), 1..4).prop_map(AttributeValue::Bs),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(AttributeValue::L),
            prop::collection::btree_map(name(), inner, 0..4).prop_map(AttributeValue::M),
        ]
    })
}

pub fn item() -> impl Strategy<Value = Item> {
    (
        "[a-z0-9]{1,10}",
        prop::collection::btree_map(name(), value(), 0..6),
    )
        .prop_map(|(id, mut attributes)| {
            attributes.insert("id".to_owned(), AttributeValue::S(id));
            Item::from(attributes)
        })
}
