//! `scan_where`: a range scan with a predicate on a typed attribute returns exactly the rows a
//! model (filtering every row) returns, and reads fewer blocks when the zone maps exclude some.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::cast_possible_truncation
)]

mod common;

use std::ops::Bound;
use std::sync::Arc;

use common::*;
use ddb_io::{Io, StdIo};
use ddb_model::KeyValue;
use ddb_snapshot::{Columns, Row, SnapshotError, SnapshotFile};

type Bounds<'a> = (Bound<&'a [u8]>, Bound<&'a [u8]>);

fn encode_b(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    KeyValue::B(bytes).encode(&mut out);
    out
}

fn within(v: &[u8], lower: Bound<&[u8]>, upper: Bound<&[u8]>) -> bool {
    (match lower {
        Bound::Included(l) => v >= l,
        Bound::Excluded(l) => v > l,
        Bound::Unbounded => true,
    }) && (match upper {
        Bound::Included(u) => v <= u,
        Bound::Excluded(u) => v < u,
        Bound::Unbounded => true,
    })
}

#[test]
fn scan_where_matches_the_model_and_skips_blocks() {
    let dir = tempfile::tempdir().unwrap();
    let io: Arc<dyn Io> = Arc::new(StdIo::new());
    // The `gsi` attribute (index 1) follows key order in runs of 40 rows, so blocks have
    // narrow zone maps; every third run has no value at all.
    let rows = rows_from(
        (0..2400u32)
            .map(|i| (format!("k{i:05}"), (i / 40) as u8))
            .collect(),
    );
    let mut options = small_options();
    options.block_bytes_target = 4 << 10;
    options.file_bytes_target = 1 << 30;
    let files = write_snapshot(&io, dir.path(), &rows, options);
    let file = SnapshotFile::open(Arc::clone(&io), &dir.path().join(&files[0].name)).unwrap();
    let blocks = file.blocks().len() as u64;
    assert!(blocks > 20, "{blocks} blocks");

    let b10 = encode_b(&[10, 5]);
    let b20 = encode_b(&[20, 10]);
    let b50 = encode_b(&[50, 25]);
    let k300 = rows[300].key.clone();
    let k2000 = rows[2000].key.clone();
    let predicates: Vec<(usize, Bounds<'_>)> = vec![
        (1, (Bound::Included(&b10), Bound::Included(&b20))),
        (1, (Bound::Excluded(&b10), Bound::Excluded(&b50))),
        (1, (Bound::Unbounded, Bound::Included(&b10))),
        (1, (Bound::Included(&b50), Bound::Unbounded)),
        (1, (Bound::Unbounded, Bound::Unbounded)),
        (0, (Bound::Included(&k300), Bound::Excluded(&k2000))),
        (1, (Bound::Included(&b20), Bound::Included(&b10))),
    ];
    let ranges: Vec<Bounds<'_>> = vec![
        (Bound::Unbounded, Bound::Unbounded),
        (
            Bound::Included(&rows[250].key),
            Bound::Excluded(&rows[1000].key),
        ),
    ];
    for &(attribute, (lower, upper)) in &predicates {
        for &range in &ranges {
            for columns in [Columns::ALL, Columns::KEYS, Columns::KEYS_AND_ITEM] {
                let mut scan = file
                    .scan_where(range, columns, attribute, lower, upper)
                    .unwrap();
                let got: Vec<Row> = scan.by_ref().map(Result::unwrap).collect();
                let want: Vec<Row> = rows
                    .iter()
                    .filter(|r| {
                        within(&r.key, range.0, range.1)
                            && r.attrs[attribute]
                                .as_deref()
                                .is_some_and(|v| within(v, lower, upper))
                    })
                    .map(|r| Row {
                        key: r.key.clone(),
                        item: if columns.item {
                            r.item.clone()
                        } else {
                            Vec::new()
                        },
                        attrs: if columns.attrs {
                            r.attrs.clone()
                        } else {
                            Vec::new()
                        },
                    })
                    .collect();
                assert_eq!(got, want, "{attribute} {lower:?} {upper:?} {range:?}");
                // Never more blocks than the plain scan of the range reads.
                let mut plain = file.scan(range, Columns::KEYS);
                plain.by_ref().for_each(drop);
                assert!(scan.blocks_read() <= plain.blocks_read());
            }
        }
    }

    // A narrow predicate reads only the few blocks its zone maps allow.
    let mut scan = file
        .scan_where(
            (Bound::Unbounded, Bound::Unbounded),
            Columns::ALL,
            1,
            Bound::Included(&b10),
            Bound::Included(&b10),
        )
        .unwrap();
    assert_eq!(scan.by_ref().count(), 40);
    assert!(
        scan.blocks_read() * 5 < blocks,
        "{} of {blocks}",
        scan.blocks_read()
    );
    // An empty interval reads nothing.
    let mut scan = file
        .scan_where(
            (Bound::Unbounded, Bound::Unbounded),
            Columns::ALL,
            1,
            Bound::Included(&b20),
            Bound::Included(&b10),
        )
        .unwrap();
    assert_eq!(scan.by_ref().count(), 0);
    assert_eq!(scan.blocks_read(), 0);

    assert!(matches!(
        file.scan_where(
            (Bound::Unbounded, Bound::Unbounded),
            Columns::ALL,
            2,
            Bound::Unbounded,
            Bound::Unbounded
        ),
        Err(SnapshotError::InvalidInput(_))
    ));
}
