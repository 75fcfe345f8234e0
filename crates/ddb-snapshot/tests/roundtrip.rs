//! Round trips against a `BTreeMap` model: full scans, point lookups of present and absent
//! keys, range scans and projections, on the std backend and on the simulated disk.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::cast_possible_truncation
)]

mod common;

use std::collections::BTreeMap;
use std::ops::Bound;
use std::path::Path;
use std::sync::Arc;

use common::*;
use ddb_io::{Io, SimIo, StdIo};
use ddb_snapshot::{Columns, Row, SnapshotReader, SnapshotWriter, verify};
use proptest::prelude::*;

fn project(row: &Row, columns: Columns) -> Row {
    Row {
        key: row.key.clone(),
        item: if columns.item {
            row.item.clone()
        } else {
            Vec::new()
        },
        attrs: if columns.attrs {
            row.attrs.clone()
        } else {
            Vec::new()
        },
    }
}

fn check_against_model(io: &Arc<dyn Io>, dir: &Path, rows: &[Row], probes: &[String], code: u8) {
    let mut options = small_options();
    codecs_variant(&mut options, code);
    let entries = write_snapshot(io, dir, rows, options);
    assert_eq!(
        entries.iter().map(|e| e.row_count).sum::<u64>(),
        rows.len() as u64
    );
    let model: BTreeMap<Vec<u8>, Row> = rows.iter().map(|r| (r.key.clone(), r.clone())).collect();
    let reader = SnapshotReader::open(Arc::clone(io), dir).unwrap();

    let all: Vec<Row> = reader
        .scan((Bound::Unbounded, Bound::Unbounded), Columns::ALL)
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(all, rows);

    for columns in [
        Columns::KEYS,
        Columns::KEYS_AND_ATTRS,
        Columns::KEYS_AND_ITEM,
    ] {
        let got: Vec<Row> = reader
            .scan((Bound::Unbounded, Bound::Unbounded), columns)
            .collect::<Result<_, _>>()
            .unwrap();
        let want: Vec<Row> = rows.iter().map(|r| project(r, columns)).collect();
        assert_eq!(got, want, "projection {columns:?}");
    }

    for row in rows {
        assert_eq!(reader.get(&row.key).unwrap().as_ref(), Some(row));
    }
    for probe in probes {
        let key = encode_s(probe);
        assert_eq!(reader.get(&key).unwrap().as_ref(), model.get(&key));
    }

    for pair in probes.windows(2) {
        let (a, b) = (encode_s(&pair[0]), encode_s(&pair[1]));
        let (lo, hi) = if a <= b { (a, b) } else { (b, a) };
        let bounds = [
            (
                Bound::Included(lo.as_slice()),
                Bound::Excluded(hi.as_slice()),
            ),
            (
                Bound::Excluded(lo.as_slice()),
                Bound::Included(hi.as_slice()),
            ),
            (Bound::Unbounded, Bound::Included(lo.as_slice())),
            (Bound::Excluded(hi.as_slice()), Bound::Unbounded),
        ];
        for (start, end) in bounds {
            let want: Vec<Row> = model
                .range::<[u8], _>((start, end))
                .map(|(_, r)| project(r, Columns::KEYS_AND_ATTRS))
                .collect();
            let got: Vec<Row> = reader
                .scan((start, end), Columns::KEYS_AND_ATTRS)
                .collect::<Result<_, _>>()
                .unwrap();
            assert_eq!(got, want, "range {start:?}..{end:?}");
            let full: Vec<Row> = reader
                .scan((start, end), Columns::ALL)
                .collect::<Result<_, _>>()
                .unwrap();
            assert_eq!(full.len(), want.len());
        }
    }

    let report = verify(Arc::clone(io), dir, true);
    assert!(report.is_ok(), "{:?}", report.errors);
    assert_eq!(report.rows, rows.len() as u64);
}

fn entries() -> impl Strategy<Value = Vec<(String, u8)>> {
    prop::collection::vec(("[a-f]{0,3}[a-z0-9\u{0}]{0,40}", any::<u8>()), 1..300)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    #[test]
    fn round_trip_std(entries in entries(), probes in prop::collection::vec("[a-f]{0,3}[a-z]{0,3}", 2..20), code in 0u8..27) {
        let rows = rows_from(entries);
        let dir = tempfile::tempdir().unwrap();
        let io: Arc<dyn Io> = Arc::new(StdIo::new());
        check_against_model(&io, dir.path(), &rows, &probes, code);
    }

    #[test]
    fn round_trip_sim(entries in entries(), probes in prop::collection::vec("[a-f]{0,3}[a-z]{0,3}", 2..20), code in 0u8..27) {
        let rows = rows_from(entries);
        let sim = SimIo::new(7);
        let io: Arc<dyn Io> = Arc::new(sim);
        let dir = Path::new("/snap");
        io.create_dir_all(dir).unwrap();
        check_against_model(&io, dir, &rows, &probes, code);
    }
}

#[test]
fn out_of_order_and_duplicate_keys_are_errors() {
    let dir = tempfile::tempdir().unwrap();
    let io: Arc<dyn Io> = Arc::new(StdIo::new());
    let rows = rows_from(vec![("a".into(), 1), ("b".into(), 2)]);
    let mut writer = SnapshotWriter::new(io, dir.path(), "t", small_options()).unwrap();
    writer.push(&rows[1]).unwrap();
    assert!(writer.push(&rows[0]).is_err());
    assert!(writer.push(&rows[1]).is_err());
}

#[test]
fn empty_snapshot_has_no_files_and_reads_empty() {
    let dir = tempfile::tempdir().unwrap();
    let io: Arc<dyn Io> = Arc::new(StdIo::new());
    let entries = write_snapshot(&io, dir.path(), &[], small_options());
    assert!(entries.is_empty());
    let reader = SnapshotReader::open(Arc::clone(&io), dir.path()).unwrap();
    assert_eq!(
        reader
            .scan((Bound::Unbounded, Bound::Unbounded), Columns::ALL)
            .count(),
        0
    );
    assert_eq!(reader.get(&encode_s("a")).unwrap(), None);
}

#[test]
fn attrs_from_item_reads_typed_values() {
    let attrs = ddb_snapshot::attrs_from_item(
        br#"{"gsi":{"B":"AAE="},"n":{"N":"5"},"pk":{"S":"x"}}"#,
        &[
            ("pk".to_owned(), ddb_model::ScalarAttributeType::S),
            ("gsi".to_owned(), ddb_model::ScalarAttributeType::B),
            ("n".to_owned(), ddb_model::ScalarAttributeType::S),
            ("missing".to_owned(), ddb_model::ScalarAttributeType::N),
        ],
    )
    .unwrap();
    let mut gsi = Vec::new();
    ddb_model::KeyValue::B(&[0, 1]).encode(&mut gsi);
    assert_eq!(attrs, vec![Some(encode_s("x")), Some(gsi), None, None]);
}

#[test]
fn manifest_and_entries_serialize_as_the_manifest_json() {
    let dir = tempfile::tempdir().unwrap();
    let io: Arc<dyn Io> = Arc::new(ddb_io::StdIo::new());
    let rows = rows_from((0..300u32).map(|i| (format!("s{i:04}"), i as u8)).collect());
    let files = write_snapshot(&io, dir.path(), &rows, small_options());
    let manifest = ddb_snapshot::SnapshotManifest::load(&*io, dir.path()).unwrap();
    let encoded = manifest.encode().unwrap();
    let line = encoded.split(|&b| b == b'\n').next().unwrap();
    assert_eq!(serde_json::to_vec(&manifest).unwrap(), line);
    let entry: serde_json::Value = serde_json::to_value(&files[0]).unwrap();
    assert_eq!(entry["name"], files[0].name.as_str());
    assert_eq!(entry["size_bytes"], files[0].size_bytes);
    let hex: String = files[0]
        .first_key
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(entry["first_key"], hex.as_str());
}
