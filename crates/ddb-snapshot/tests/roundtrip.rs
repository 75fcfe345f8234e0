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

/// The reference: decode the whole item, then take the attributes.
fn attrs_by_whole_item(
    json: &str,
    names: &[(String, ddb_model::ScalarAttributeType)],
) -> Vec<Option<Vec<u8>>> {
    let item = ddb_model::parse_item(json).unwrap();
    names
        .iter()
        .map(|(name, wanted)| {
            let value = ddb_model::KeyValue::from_attribute(item.get(name)?)?;
            (value.attribute_type() == *wanted).then(|| {
                let mut out = Vec::new();
                value.encode(&mut out);
                out
            })
        })
        .collect()
}

#[test]
fn attrs_from_item_decodes_only_the_named_attributes_and_agrees_with_whole_item_decoding() {
    use ddb_model::ScalarAttributeType::{B, N, S};
    let names: Vec<(String, ddb_model::ScalarAttributeType)> = [
        ("pk", S),
        ("n", N),
        ("a\"b", S),
        ("ü", B),
        ("nested", S),
        ("late", N),
    ]
    .iter()
    .map(|(n, t)| ((*n).to_owned(), *t))
    .collect();
    let items = [
        r#"{"pk":{"S":"x"}}"#,
        // Escaped names, a name that appears only inside a nested map, a number to normalise.
        r#"{"a\"b":{"S":"q\u00e9"},"m":{"M":{"pk":{"S":"inner"},"n":{"N":"1"}}},"n":{"N":"-0012.500"},"pk":{"S":"top"}}"#,
        // Wrong types: the attribute is then in no index keyed on it.
        r#"{"n":{"S":"5"},"nested":{"L":[{"S":"x"}]},"pk":{"N":"5"},"ü":{"B":"AAE="}}"#,
        r#"{"late":{"N":"1E+3"},"lists":{"L":[{"M":{"late":{"N":"2"}}},{"NULL":true}]},"pk":{"S":""},"ss":{"SS":["a","b"]}}"#,
    ];
    for json in items {
        assert_eq!(
            ddb_snapshot::attrs_from_item(json.as_bytes(), &names).unwrap(),
            attrs_by_whole_item(json, &names),
            "{json}"
        );
    }
    // The movie data set: real nesting, escapes and numbers.
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/data/moviedata.json");
    if let Ok(text) = std::fs::read_to_string(&path) {
        let movies: serde_json::Value = serde_json::from_str(&text).unwrap();
        let movie_names: Vec<(String, ddb_model::ScalarAttributeType)> =
            vec![("year".into(), N), ("title".into(), S), ("info".into(), S)];
        let mut checked = 0;
        for movie in movies.as_array().unwrap() {
            let Some(item) = plain_to_item(movie) else {
                continue;
            };
            let json = item.to_canonical_json();
            assert_eq!(
                ddb_snapshot::attrs_from_item(json.as_bytes(), &movie_names).unwrap(),
                attrs_by_whole_item(&json, &movie_names)
            );
            checked += 1;
        }
        assert!(checked > 4000, "{checked}");
    } else {
        eprintln!("SKIPPED the movie half: {} is not there", path.display());
    }
    // Bad input is an error, not a guess.
    for bad in [
        &b"{\"pk\":{\"S\":\"x\"}"[..],
        b"[1]",
        b"{\"pk\":{\"Q\":\"x\"}}",
        b"\xff",
    ] {
        assert!(
            ddb_snapshot::attrs_from_item(bad, &names).is_err(),
            "{bad:?}"
        );
    }
}

/// A movie (plain JSON) as an item: strings, numbers, lists and maps.
fn plain_to_item(movie: &serde_json::Value) -> Option<ddb_model::Item> {
    fn value(v: &serde_json::Value) -> Option<serde_json::Value> {
        Some(match v {
            serde_json::Value::String(s) => serde_json::json!({ "S": s }),
            serde_json::Value::Number(n) => serde_json::json!({ "N": n.to_string() }),
            serde_json::Value::Bool(b) => serde_json::json!({ "BOOL": b }),
            serde_json::Value::Array(a) => {
                serde_json::json!({ "L": a.iter().map(value).collect::<Option<Vec<_>>>()? })
            }
            serde_json::Value::Object(m) => {
                let mut out = serde_json::Map::new();
                for (k, v) in m {
                    out.insert(k.clone(), value(v)?);
                }
                serde_json::json!({ "M": out })
            }
            serde_json::Value::Null => serde_json::json!({ "NULL": true }),
        })
    }
    let serde_json::Value::Object(fields) = movie else {
        return None;
    };
    let mut item = serde_json::Map::new();
    for (k, v) in fields {
        item.insert(k.clone(), value(v)?);
    }
    ddb_model::parse_item(&serde_json::Value::Object(item).to_string()).ok()
}
