//! Decoders take arbitrary bytes: they return errors, never panic.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::cast_possible_truncation
)]

use std::path::Path;

use ddb_snapshot::format::{FileHeader, Trailer};
use ddb_snapshot::{Footer, SnapshotManifest};
use proptest::prelude::*;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn arbitrary_bytes_never_panic(
        bytes in prop::collection::vec(any::<u8>(), 0..600),
        blocks in 0u32..4,
        attributes in 0u32..3,
        rows in 0u64..10,
    ) {
        let _ = FileHeader::decode(&bytes);
        let _ = Trailer::decode(&bytes, 8192);
        let trailer = Trailer {
            footer_offset: 8192,
            footer_bytes: bytes.len() as u64,
            footer_checksum: 0,
            row_count: rows,
            block_count: blocks,
            attribute_count: attributes,
        };
        let _ = Footer::decode(&bytes, &trailer);
        let _ = SnapshotManifest::decode(Path::new("m"), &bytes);
    }

    #[test]
    fn header_and_trailer_round_trip(table_id in any::<[u8; 16]>(), lsn in any::<u64>(), rows in any::<u64>()) {
        let header = FileHeader { table_id, lsn };
        prop_assert_eq!(FileHeader::decode(&header.encode()).unwrap(), header);
        let trailer = Trailer {
            footer_offset: 8192,
            footer_bytes: 100,
            footer_checksum: lsn,
            row_count: rows,
            block_count: 1,
            attribute_count: 2,
        };
        prop_assert_eq!(Trailer::decode(&trailer.encode(), 8292).unwrap(), trailer);
    }
}
