//! Property tests of the log's byte layout: frames and headers round-trip, arbitrary bytes
//! (also behind a valid checksum) never panic the decoders, and one flipped bit in a frame or a
//! header is always detected.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::cast_possible_truncation
)]

use ddb_log::format::{
    FRAME_HEADER_BYTES, FRAME_MAGIC, Frame, FrameDecode, HEADER_BYTES, SegmentHeader, decode_frame,
    encode_frame, encode_seal,
};
use ddb_log::{Mutation, MutationKind, Record, RecordType};
use proptest::prelude::*;
use xxhash_rust::xxh3::xxh3_64;

fn mutation() -> impl Strategy<Value = Mutation> {
    (
        prop::collection::vec(any::<u8>(), 1..24),
        prop::option::of(prop::collection::vec(any::<u8>(), 2..48)),
    )
        .prop_map(|(key, value)| Mutation {
            kind: value.map_or(MutationKind::Delete, MutationKind::Put),
            key,
        })
}

fn batches() -> impl Strategy<Value = Vec<Vec<Mutation>>> {
    prop::collection::vec(prop::collection::vec(mutation(), 1..5), 1..5)
}

fn encode(first_lsn: u64, timestamp_us: u64, batches: &[Vec<Mutation>]) -> Vec<u8> {
    let slices: Vec<&[Mutation]> = batches.iter().map(Vec::as_slice).collect();
    let mut out = Vec::new();
    let frame_bytes = encode_frame(&mut out, first_lsn, timestamp_us, &slices);
    assert_eq!(frame_bytes, out.len());
    out
}

/// The frame the spec says `batches` make: consecutive LSNs, one timestamp, the last record of
/// each batch flagged.
fn model(first_lsn: u64, timestamp_us: u64, batches: &[Vec<Mutation>]) -> Frame {
    let mut records = Vec::new();
    for batch in batches {
        for (i, m) in batch.iter().enumerate() {
            let (record_type, value) = match &m.kind {
                MutationKind::Put(item) => (RecordType::Put, item.clone()),
                MutationKind::Delete => (RecordType::Delete, Vec::new()),
            };
            records.push(Record {
                record_type,
                end_of_batch: i + 1 == batch.len(),
                lsn: first_lsn + records.len() as u64,
                timestamp_us,
                key: m.key.clone(),
                value,
            });
        }
    }
    Frame {
        first_lsn,
        seal: false,
        records,
    }
}

/// Frame bytes from raw header fields and body, with a matching checksum, so the decoder's
/// checks behind the checksum see arbitrary data.
fn with_checksum(frame_bytes: u32, first_lsn: u64, count: u32, flags: u32, body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(FRAME_HEADER_BYTES + body.len());
    out.extend_from_slice(&FRAME_MAGIC);
    out.extend_from_slice(&frame_bytes.to_le_bytes());
    out.extend_from_slice(&first_lsn.to_le_bytes());
    out.extend_from_slice(&count.to_le_bytes());
    out.extend_from_slice(&flags.to_le_bytes());
    let mut covered = out.clone();
    covered.extend_from_slice(body);
    out.extend_from_slice(&xxh3_64(&covered).to_le_bytes());
    out.extend_from_slice(body);
    out
}

/// A record from raw fields (any type, flags, sizes, LSN), as bytes.
fn raw_record() -> impl Strategy<Value = Vec<u8>> {
    (
        prop_oneof![
            4 => prop::sample::select(vec![1u8, 2, 0x80, 0xFF]),
            1 => any::<u8>(),
        ],
        prop_oneof![4 => 0u8..2, 1 => any::<u8>()],
        prop::collection::vec(any::<u8>(), 0..8),
        prop_oneof![
            1 => Just(Vec::new()),
            3 => prop::collection::vec(any::<u8>(), 0..8),
        ],
        prop::option::weighted(0.1, (any::<u16>(), any::<u32>())),
        prop::option::weighted(0.1, any::<u64>()),
        prop_oneof![Just(0u64), Just(u64::MAX), 0u64..10],
    )
        .prop_map(|(code, flags, key, value, sizes, lsn, timestamp)| {
            let (key_bytes, value_bytes) = sizes.unwrap_or((key.len() as u16, value.len() as u32));
            let mut out = vec![code, flags];
            out.extend_from_slice(&key_bytes.to_le_bytes());
            out.extend_from_slice(&value_bytes.to_le_bytes());
            // `None`: patched to the expected LSN by the caller, so later checks are reached.
            out.extend_from_slice(&lsn.unwrap_or(u64::MAX).to_le_bytes());
            out.extend_from_slice(&timestamp.to_le_bytes());
            out.extend_from_slice(&key);
            out.extend_from_slice(&value);
            out
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1024))]

    #[test]
    fn frames_round_trip(
        first_lsn in 1u64..u64::MAX / 2,
        timestamp_us in any::<u64>(),
        batches in batches(),
    ) {
        let bytes = encode(first_lsn, timestamp_us, &batches);
        let FrameDecode::Frame(frame, frame_bytes) = decode_frame(&bytes) else {
            panic!("an encoded frame decodes: {:?}", decode_frame(&bytes));
        };
        prop_assert_eq!(frame_bytes, bytes.len());
        prop_assert_eq!(frame, model(first_lsn, timestamp_us, &batches));
        // Bytes after the frame (the next frame) do not change what decodes.
        let mut followed = bytes.clone();
        followed.extend_from_slice(&bytes);
        let FrameDecode::Frame(_, n) = decode_frame(&followed) else { panic!("followed") };
        prop_assert_eq!(n, bytes.len());
    }

    #[test]
    fn seals_and_headers_round_trip(
        next_lsn in 1u64..,
        table_id in any::<[u8; 16]>(),
        first_lsn in 1u64..,
        created_at_us in any::<u64>(),
    ) {
        let mut seal = Vec::new();
        prop_assert_eq!(encode_seal(&mut seal, next_lsn), FRAME_HEADER_BYTES);
        let FrameDecode::Frame(frame, n) = decode_frame(&seal) else { panic!("seal") };
        prop_assert_eq!(n, FRAME_HEADER_BYTES);
        prop_assert_eq!(frame, Frame { first_lsn: next_lsn, seal: true, records: vec![] });
        let header = SegmentHeader { table_id, first_lsn, created_at_us };
        prop_assert_eq!(SegmentHeader::decode(&header.encode()), Ok(header));
    }

    #[test]
    fn every_proper_prefix_of_a_frame_needs_more_bytes(
        batches in batches(),
        cut in any::<prop::sample::Index>(),
    ) {
        let bytes = encode(1, 7, &batches);
        let cut = cut.index(bytes.len());
        let decoded = decode_frame(&bytes[..cut]);
        prop_assert!(
            matches!(decoded, FrameDecode::NeedMore { .. }),
            "a torn frame cut at {} of {} must read as incomplete: {:?}", cut, bytes.len(), decoded
        );
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..160)) {
        let _ = decode_frame(&bytes);
        let _ = SegmentHeader::decode(&bytes);
        // Past the magic checks too.
        let mut framed = FRAME_MAGIC.to_vec();
        framed.extend_from_slice(&bytes);
        let _ = decode_frame(&framed);
        let mut headed = b"\x89DDBLOG\n".to_vec();
        headed.extend_from_slice(&bytes);
        let _ = SegmentHeader::decode(&headed);
    }

    /// Arbitrary header fields and records behind a valid checksum: every check past the
    /// checksum sees hostile data, and must answer rather than panic or overflow.
    #[test]
    fn arbitrary_frames_with_valid_checksums_never_panic(
        first_lsn in prop_oneof![
            1 => Just(u64::MAX),
            1 => Just(u64::MAX - 1),
            1 => Just(0u64),
            6 => 1u64..100,
        ],
        // `None`: the number of records in the body.
        count in prop::option::weighted(0.2, prop_oneof![Just(u32::MAX), 0u32..6]),
        flags in prop_oneof![8 => Just(0u32), 1 => Just(1), 1 => any::<u32>()],
        size in prop::option::weighted(0.1, any::<u32>()),
        records in prop::collection::vec(raw_record(), 0..5),
        trailing in prop::collection::vec(any::<u8>(), 0..3),
    ) {
        let count = count.unwrap_or(records.len() as u32);
        let mut body = Vec::new();
        for (index, mut record) in (0u64..).zip(records) {
            if record[8..16] == u64::MAX.to_le_bytes() {
                record[8..16].copy_from_slice(&first_lsn.wrapping_add(index).to_le_bytes());
            }
            body.extend_from_slice(&record);
        }
        body.extend_from_slice(&trailing);
        let frame_bytes = size.unwrap_or((FRAME_HEADER_BYTES + body.len()) as u32);
        let bytes = with_checksum(frame_bytes, first_lsn, count, flags, &body);
        if let FrameDecode::Frame(frame, n) = decode_frame(&bytes) {
            // Whatever decodes obeys the frame rules.
            prop_assert_eq!(n, bytes.len());
            prop_assert_eq!(frame.records.len() as u64, u64::from(count));
            prop_assert!(first_lsn.checked_add(u64::from(count)).is_some());
            prop_assert_eq!(frame.seal, count == 0);
            for (index, record) in (0u64..).zip(&frame.records) {
                prop_assert_eq!(record.lsn, first_lsn + index);
                prop_assert!(!record.key.is_empty());
            }
            prop_assert!(frame.records.last().is_none_or(|r| r.end_of_batch));
        }
    }

    /// One flipped bit anywhere in a frame never yields a valid frame: not alone (where a
    /// larger size reads as incomplete) and not followed by the next frame.
    #[test]
    fn a_flipped_bit_in_a_frame_is_detected(
        first_lsn in 1u64..u64::MAX / 2,
        timestamp_us in any::<u64>(),
        batches in batches(),
        bit in any::<prop::sample::Index>(),
    ) {
        let bytes = encode(first_lsn, timestamp_us, &batches);
        let bit = bit.index(bytes.len() * 8);
        let mut flipped = bytes.clone();
        flipped[bit / 8] ^= 1 << (bit % 8);
        let alone = decode_frame(&flipped);
        prop_assert!(
            !matches!(alone, FrameDecode::Frame(..)),
            "bit {} (byte {}) flipped still decodes", bit, bit / 8
        );
        flipped.extend_from_slice(&encode(first_lsn + 100, timestamp_us, &batches));
        let followed = decode_frame(&flipped);
        prop_assert!(!matches!(followed, FrameDecode::Frame(..)), "followed: {:?}", followed);
        // Only a flip in the size field can make the frame look longer than it is.
        if let FrameDecode::NeedMore { .. } = alone {
            prop_assert!((4..8).contains(&(bit / 8)), "bit {}: {:?}", bit, alone);
        }
        // Damage is named inside the frame.
        if let FrameDecode::Invalid(error) = alone {
            prop_assert!(error.offset < bytes.len() as u64, "{:?}", error);
        }
    }

    #[test]
    fn a_flipped_bit_in_a_seal_or_header_is_detected(
        next_lsn in 1u64..,
        header_bit in 0..HEADER_BYTES * 8,
        seal_bit in 0..FRAME_HEADER_BYTES * 8,
        table_id in any::<[u8; 16]>(),
    ) {
        let mut seal = Vec::new();
        encode_seal(&mut seal, next_lsn);
        seal[seal_bit / 8] ^= 1 << (seal_bit % 8);
        prop_assert!(!matches!(decode_frame(&seal), FrameDecode::Frame(..)));
        let mut header = SegmentHeader { table_id, first_lsn: next_lsn, created_at_us: 5 }.encode();
        header[header_bit / 8] ^= 1 << (header_bit % 8);
        let error = SegmentHeader::decode(&header).unwrap_err();
        prop_assert!(error.offset < HEADER_BYTES as u64);
    }
}
