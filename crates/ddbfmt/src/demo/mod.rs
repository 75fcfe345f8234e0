//! `ddbfmt demo`: the product's story on generated data, stage by stage as the stages land.
//!
//! Today it runs the data-model stage: define a table with an LSI and a GSI (validated as
//! CreateTable validates), generate items with every attribute type, and push each through
//! canonical DynamoDB JSON, decoding, validation and key encoding, checking that nothing is lost
//! and that key order is DynamoDB's order. It reports what it checked and how fast it went.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::time::Instant;

use ddb_model::table::CreateTableInput;
use ddb_model::{AttributeValue, DdbError, Item, Number, decode_key, parse_item};

/// Arguments of `ddbfmt demo`.
#[derive(Debug, clap::Args)]
pub struct DemoArgs {
    /// How many items to generate.
    #[arg(long, default_value_t = 200_000)]
    items: u64,
    /// Seed of the generator; the same seed gives the same items.
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Where the demo writes its log (default: a fresh directory under the system's temporary
    /// directory, removed at the end unless --keep).
    #[arg(long)]
    dir: Option<std::path::PathBuf>,
    /// Keep the demo's files (and print where they are) instead of removing them.
    #[arg(long)]
    keep: bool,
    /// Concurrent writers appending to the log.
    #[arg(long, default_value_t = 4)]
    writers: usize,
}

mod log_stage;

const TABLE: &str = r#"{
  "TableName": "Orders",
  "AttributeDefinitions": [
    {"AttributeName": "customer", "AttributeType": "S"},
    {"AttributeName": "order", "AttributeType": "N"},
    {"AttributeName": "total", "AttributeType": "N"},
    {"AttributeName": "status", "AttributeType": "S"},
    {"AttributeName": "placed_at", "AttributeType": "S"}
  ],
  "KeySchema": [
    {"AttributeName": "customer", "KeyType": "HASH"},
    {"AttributeName": "order", "KeyType": "RANGE"}
  ],
  "LocalSecondaryIndexes": [{
    "IndexName": "by_total",
    "KeySchema": [{"AttributeName": "customer", "KeyType": "HASH"}, {"AttributeName": "total", "KeyType": "RANGE"}],
    "Projection": {"ProjectionType": "KEYS_ONLY"}
  }],
  "GlobalSecondaryIndexes": [{
    "IndexName": "by_status",
    "KeySchema": [{"AttributeName": "status", "KeyType": "HASH"}, {"AttributeName": "placed_at", "KeyType": "RANGE"}],
    "Projection": {"ProjectionType": "INCLUDE", "NonKeyAttributes": ["total"]}
  }],
  "BillingMode": "PAY_PER_REQUEST"
}"#;

/// A demo failure: a model error, or a check that found the pipeline lost or reordered data.
#[derive(Debug)]
pub enum DemoError {
    Log(ddb_log::LogError),
    Model(DdbError),
    Check(String),
    Output(std::io::Error),
}

impl std::fmt::Display for DemoError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DemoError::Model(e) => write!(f, "{e}"),
            DemoError::Log(e) => write!(f, "{e}"),
            DemoError::Check(what) => write!(f, "check failed: {what}"),
            DemoError::Output(e) => write!(f, "I/O: {e}"),
        }
    }
}

impl From<DdbError> for DemoError {
    fn from(e: DdbError) -> Self {
        DemoError::Model(e)
    }
}

impl From<ddb_log::LogError> for DemoError {
    fn from(e: ddb_log::LogError) -> Self {
        DemoError::Log(e)
    }
}

impl From<std::io::Error> for DemoError {
    fn from(e: std::io::Error) -> Self {
        DemoError::Output(e)
    }
}

/// SplitMix64: a tiny, well-known generator; the demo needs reproducible variety, not crypto.
pub(super) struct Rng(pub(super) u64);

impl Rng {
    pub(super) fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    pub(super) fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

fn number(text: &str) -> Result<AttributeValue, DemoError> {
    Number::parse(text)
        .map(AttributeValue::N)
        .map_err(|e| DemoError::Model(e.into()))
}

/// One generated order: every attribute type, nested lists and maps, sparse GSI keys.
pub(super) fn generate_item(rng: &mut Rng, index: u64) -> Result<Item, DemoError> {
    const STATUSES: [&str; 4] = ["PENDING", "SHIPPED", "DELIVERED", "RETURNED"];
    const NAMES: [&str; 5] = ["Ada", "Brühl", "Chloé", "Dmitri", "日本"];
    let customer = format!("cust-{:05}", rng.below(5_000));
    let mut item = Item::new();
    item.insert("customer", AttributeValue::S(customer));
    item.insert("order", AttributeValue::N(Number::from(index)));
    let cents = rng.below(1_000_000);
    item.insert(
        "total",
        number(&format!("{}.{:02}", cents / 100, cents % 100))?,
    );
    // One order in five has no status: it is not in the GSI (sparse index).
    if rng.below(5) != 0 {
        let status = STATUSES
            .get(usize::try_from(rng.below(4)).unwrap_or(0))
            .copied()
            .unwrap_or("PENDING");
        item.insert("status", AttributeValue::from(status));
        let (day, second) = (rng.below(28) + 1, rng.below(86_400));
        item.insert(
            "placed_at",
            AttributeValue::S(format!(
                "2026-11-{day:02}T{:02}:{:02}:{:02}Z",
                second / 3600,
                second / 60 % 60,
                second % 60
            )),
        );
    }
    let name = NAMES
        .get(usize::try_from(rng.below(5)).unwrap_or(0))
        .copied()
        .unwrap_or("Ada");
    let mut lines = Vec::new();
    for line in 0..rng.below(4) + 1 {
        let mut entry = BTreeMap::new();
        entry.insert(
            "sku".to_owned(),
            AttributeValue::S(format!("SKU-{}", rng.below(100_000))),
        );
        entry.insert(
            "qty".to_owned(),
            AttributeValue::N(Number::from(rng.below(9) + 1)),
        );
        entry.insert(
            "price".to_owned(),
            number(&format!("{}.{}E-1", rng.below(100_000), line))?,
        );
        lines.push(AttributeValue::M(entry));
    }
    item.insert("lines", AttributeValue::L(lines));
    let mut shipping = BTreeMap::new();
    shipping.insert("name".to_owned(), AttributeValue::from(name));
    shipping.insert(
        "note".to_owned(),
        if rng.below(3) == 0 {
            AttributeValue::Null
        } else {
            AttributeValue::from("leave at door \"back\"\n")
        },
    );
    item.insert("shipping", AttributeValue::M(shipping));
    let tags: BTreeSet<String> = (0..rng.below(3) + 1)
        .map(|t| format!("tag{}", rng.below(10) + t))
        .collect();
    item.insert("tags", AttributeValue::Ss(tags));
    let scores: BTreeSet<Number> = (0..rng.below(3) + 1)
        .map(|_| Number::from(rng.below(1000)))
        .collect();
    item.insert("scores", AttributeValue::Ns(scores));
    item.insert("gift", AttributeValue::Bool(rng.below(2) == 0));
    item.insert(
        "receipt",
        AttributeValue::B(rng.next().to_le_bytes().to_vec()),
    );
    Ok(item)
}

fn mb_per_s(bytes: usize, seconds: f64) -> f64 {
    bytes as f64 / 1e6 / seconds.max(1e-9)
}

/// Items per batch: the demo streams, so memory stays bounded whatever `--items` is.
const BATCH_ITEMS: u64 = 4096;

/// Seconds spent per stage and bytes seen, summed over batches.
#[derive(Default)]
struct Totals {
    generate_s: f64,
    encode_s: f64,
    decode_s: f64,
    validate_s: f64,
    json_bytes: usize,
    item_size_bytes: usize,
}

fn timed<T>(seconds: &mut f64, work: impl FnOnce() -> T) -> T {
    let started = Instant::now();
    let result = work();
    *seconds += started.elapsed().as_secs_f64();
    result
}

/// Runs the demo, writing its report to `out`.
pub fn run(args: &DemoArgs, out: &mut dyn Write) -> Result<(), DemoError> {
    let input = CreateTableInput::from_json(TABLE)?;
    let schema = input.validate()?;
    writeln!(
        out,
        "ddbfmt demo: table {} with {} index(es), {} generated items (seed {})",
        input.table_name,
        schema.indexes.len(),
        args.items,
        args.seed
    )?;
    writeln!(
        out,
        "stage 1 of the story: the data model (snapshot, backup and restore stages land with later issues)"
    )?;

    let mut rng = Rng(args.seed);
    let mut totals = Totals::default();
    let mut keys = Vec::with_capacity(usize::try_from(args.items).unwrap_or(0));
    let mut index_entries = vec![0u64; schema.indexes.len()];
    let mut next = 0u64;
    while next < args.items {
        let count = BATCH_ITEMS.min(args.items - next);
        let items = timed(&mut totals.generate_s, || {
            (next..next + count)
                .map(|i| generate_item(&mut rng, i))
                .collect::<Result<Vec<_>, _>>()
        })?;
        next += count;
        let encoded: Vec<String> = timed(&mut totals.encode_s, || {
            items.iter().map(Item::to_canonical_json).collect()
        });
        totals.json_bytes += encoded.iter().map(String::len).sum::<usize>();
        let decoded = timed(&mut totals.decode_s, || {
            encoded
                .iter()
                .map(|text| parse_item(text))
                .collect::<Result<Vec<_>, _>>()
        })?;
        // Nothing lost: the decoded items are the generated ones, attribute for attribute.
        if decoded != items {
            return Err(DemoError::Check(
                "decoded items differ from the generated ones".into(),
            ));
        }
        timed(&mut totals.validate_s, || -> Result<(), DemoError> {
            for item in &decoded {
                schema.validate_item(item)?;
                for (count, index) in index_entries.iter_mut().zip(&schema.indexes) {
                    if schema.index_key(index, item).is_some() {
                        *count += 1;
                    }
                }
                keys.push(schema.table_key(item)?);
            }
            Ok(())
        })?;
        totals.item_size_bytes += decoded.iter().map(Item::size_bytes).sum::<usize>();
    }

    let mut sort_s = 0.0;
    timed(&mut sort_s, || keys.sort_unstable());
    check_key_order(&keys)?;

    let n = keys.len() as f64;
    let per_s = |seconds: f64| n / seconds.max(1e-9);
    writeln!(
        out,
        "  generated       {:>10} items in {:.3} s",
        keys.len(),
        totals.generate_s
    )?;
    writeln!(
        out,
        "  canonical JSON  {:>10.1} MB/s  ({:.0} items/s; {} bytes of JSON, {} bytes of DynamoDB item size)",
        mb_per_s(totals.json_bytes, totals.encode_s),
        per_s(totals.encode_s),
        totals.json_bytes,
        totals.item_size_bytes
    )?;
    writeln!(
        out,
        "  decode          {:>10.1} MB/s  ({:.0} items/s)",
        mb_per_s(totals.json_bytes, totals.decode_s),
        per_s(totals.decode_s)
    )?;
    writeln!(
        out,
        "  item rules+keys {:>10.0} items/s",
        per_s(totals.validate_s)
    )?;
    writeln!(out, "  key sort        {:>10.0} keys/s", per_s(sort_s))?;
    for (index, count) in schema.indexes.iter().zip(&index_entries) {
        writeln!(
            out,
            "  index {:<12} {count} entries ({:?})",
            index.name, index.kind
        )?;
    }
    writeln!(
        out,
        "checks passed: every item round-trips losslessly through canonical JSON; {} table keys unique and in DynamoDB order",
        keys.len()
    )?;
    log_stage::run(args, &schema, out)
}

/// Sorted keys must be unique, and their byte order must be DynamoDB's order of the decoded
/// values (customer by UTF-8 bytes, then order numerically).
fn check_key_order(keys: &[Vec<u8>]) -> Result<(), DemoError> {
    for pair in keys.windows(2) {
        let [a, b] = pair else { continue };
        let decode = |key: &[u8]| decode_key(key).map_err(|e| DemoError::Check(e.to_string()));
        let (a, b) = (decode(a)?, decode(b)?);
        let ordered = match (a.as_slice(), b.as_slice()) {
            (
                [AttributeValue::S(pa), AttributeValue::N(sa)],
                [AttributeValue::S(pb), AttributeValue::N(sb)],
            ) => pa.as_bytes() < pb.as_bytes() || (pa == pb && sa < sb),
            _ => false,
        };
        if !ordered {
            return Err(DemoError::Check(format!(
                "keys not unique or out of DynamoDB order: {a:?} then {b:?}"
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn demo_runs_and_reports_its_checks() {
        let mut out = Vec::new();
        run(
            &DemoArgs {
                items: 2_000,
                seed: 7,
                dir: None,
                keep: false,
                writers: 3,
            },
            &mut out,
        )
        .unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(text.contains("checks passed"), "{text}");
        assert!(text.contains("2000 table keys unique"), "{text}");
        assert!(text.contains("log checks passed: 2000 items"), "{text}");
    }

    #[test]
    fn demo_keeps_a_verifiable_log_when_asked() {
        let dir = tempfile::tempdir().unwrap();
        let args = DemoArgs {
            items: 500,
            seed: 3,
            dir: Some(dir.path().to_owned()),
            keep: true,
            writers: 2,
        };
        let mut out = Vec::new();
        run(&args, &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(text.contains("kept: "), "{text}");
        let io = ddb_io::StdIo::new();
        let report = ddb_log::verify::verify_log(&io, &dir.path().join("log"), true).unwrap();
        assert!(report.is_sound());
        assert_eq!(report.segments.iter().map(|s| s.records).sum::<u64>(), 500);
        // A second run into the same directory refuses to mix logs.
        let err = run(&args, &mut Vec::new()).unwrap_err();
        assert!(err.to_string().contains("already holds a log"), "{err}");
    }

    #[test]
    fn generated_items_are_valid_and_sparse_indexes_are_sparse() {
        let schema = CreateTableInput::from_json(TABLE)
            .unwrap()
            .validate()
            .unwrap();
        let mut rng = Rng(1);
        let items: Vec<Item> = (0..500)
            .map(|i| generate_item(&mut rng, i).unwrap())
            .collect();
        let gsi = schema.index("by_status").unwrap();
        let in_gsi = items
            .iter()
            .filter(|item| schema.index_key(gsi, item).is_some())
            .count();
        assert!(items.iter().all(|item| schema.validate_item(item).is_ok()));
        assert!(in_gsi > 300 && in_gsi < 500, "{in_gsi} of 500 in the GSI");
    }
}
