//! Data-model stage: DynamoDB JSON decoding, canonical encoding and key encoding, on the real
//! movie data set. CPU only; no I/O.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use ddb_model::{Item, KeyAttribute, KeyDef, ScalarAttributeType, TableSchema, parse_item};
use std::hint::black_box;

fn model(c: &mut Criterion) {
    let lines = ddb_bench::movie_items().expect("shared movie data");
    let bytes: usize = lines.iter().map(String::len).sum();
    let items: Vec<Item> = lines.iter().map(|l| parse_item(l).unwrap()).collect();
    let canonical_bytes: usize = items.iter().map(|i| i.to_canonical_json().len()).sum();
    let schema = TableSchema::new(KeyDef {
        partition: KeyAttribute::new("year", ScalarAttributeType::N),
        sort: Some(KeyAttribute::new("title", ScalarAttributeType::S)),
    });

    let mut group = c.benchmark_group("model/movies");
    group.throughput(Throughput::Bytes(bytes as u64));
    group.bench_function("decode_dynamodb_json", |b| {
        b.iter(|| {
            for line in &lines {
                black_box(parse_item(black_box(line)).unwrap());
            }
        })
    });
    group.throughput(Throughput::Bytes(canonical_bytes as u64));
    group.bench_function("encode_canonical_json", |b| {
        let mut out = String::with_capacity(4096);
        b.iter(|| {
            for item in &items {
                out.clear();
                item.write_canonical_json(&mut out);
                black_box(&out);
            }
        })
    });
    group.throughput(Throughput::Elements(items.len() as u64));
    group.bench_function("validate_and_encode_key", |b| {
        b.iter(|| {
            for item in &items {
                schema.validate_item(item).unwrap();
                black_box(schema.table_key(item).unwrap());
            }
        })
    });
    group.finish();
}

criterion_group!(benches, model);
criterion_main!(benches);
