//! The workload: a last full snapshot of N orders and a change log of M = round(N·F) mutations
//! since it (70 % updates of existing keys, 20 % inserts of new keys, 10 % deletes of existing
//! keys, drawn from a seeded generator), written straight with the snapshot and log writers in
//! the layout `ddb_merge` reads, and the same logical data as Parquet for peer tools.
//!
//! Order `i` is [`order_json`]`(i, users)` (`sk` = `order#%013d`); the snapshot holds orders
//! `0..N`, inserts take `N, N+1, …`. An update of key `i` at log position `seq` is order `i`
//! with a new `amount`, `status`/`paid` and `updated_at` (same `pk` and `sk`).
//!
//! Nothing holds the items: the snapshot is written in key order from a sorted list of
//! (user, order) pairs, each order generated when it is written; what is live at the cut
//! (rows, canonical JSON bytes, DynamoDB item size, rows with a `merchant_id`) is tracked per key
//! in a few bytes ([`Book`]), independently of the engine, so the harness can check the
//! engine's manifests and tables against it.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use ddb_io::{Io, StdIo};
use ddb_log::{Durability, Log, LogOptions, Mutation, MutationKind};
use ddb_model::{Item, KeyValue, ScalarAttributeType, TableSchema, encode_key, parse_item};
use ddb_snapshot::{SnapshotManifest, SnapshotWriter, WriterOptions};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::mix::{Book, Entry, Op, Planner, Rng};
use super::peers::{LogParquet, LogRow, SnapshotParquet};
use super::source::TABLE_ID;
use super::{Result, f64_of};
use crate::table::{order_json, order_user};

/// The LSN of the generated snapshot; the log starts right after it.
pub const SNAPSHOT_LSN: u64 = 1000;
pub const DEFAULT_SEED: u64 = 0x00e2_e5ee_d000_0001;
/// Mutations per log batch (one frame and one fdatasync each); a batch also ends at the cut.
const LOG_BATCH: usize = 1024;
/// The log's clock: a fixed start, 1 ms per frame, so the files do not depend on the clock.
const CLOCK_START_US: u64 = 1_800_000_000_000_000;
/// `updated_at` of an update at log position `seq` is this + `seq` (later than every
/// snapshot order's).
const UPDATED_AT_BASE: u64 = 1_800_000_000_000;
const STATUSES: [&str; 5] = ["PENDING", "PAID", "SHIPPED", "DELIVERED", "CANCELLED"];

/// What the generator wrote (`workload.json`): the sizes, the cut, and what the table holds at
/// the cut, computed by the generator alone.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Workload {
    /// Rows of the snapshot.
    pub items: u64,
    /// Records of the log.
    pub mutations: u64,
    pub updates: u64,
    pub inserts: u64,
    pub deletes: u64,
    /// Distinct partition keys orders are drawn from (`items / 8`).
    pub users: u64,
    pub log_fraction: f64,
    pub cut_fraction: f64,
    pub snapshot_lsn: u64,
    /// Log record `seq` has LSN `snapshot_lsn + seq`.
    pub first_log_lsn: u64,
    /// The last log record at or before the cut: `floor(mutations · cut_fraction)`.
    pub cut_seq: u64,
    pub cut_lsn: u64,
    /// The commit time of the cut's log record (µs since the epoch).
    pub cut_time_us: u64,
    /// Rows of the table after log records `1..=cut_seq`.
    pub rows_at_cut: u64,
    /// Canonical item JSON bytes of those rows.
    pub item_bytes_at_cut: u64,
    /// Their DynamoDB item size (what `TableSizeBytes` counts).
    pub table_size_bytes_at_cut: u64,
    /// Those of them with a `merchant_id`: the rows of the GSI `by_merchant`.
    pub merchant_rows_at_cut: u64,
    /// Canonical item JSON bytes of the snapshot.
    pub snapshot_item_bytes: u64,
    pub seed: u64,
}

/// What to generate.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Params {
    pub items: u64,
    pub log_fraction: f64,
    pub cut_fraction: f64,
    pub seed: u64,
}

impl Params {
    /// M = round(items · log_fraction).
    pub fn mutations(&self) -> Result<u64> {
        whole(
            f64_of(self.items) * self.log_fraction,
            "items × log fraction",
        )
    }

    /// floor(M · cut_fraction).
    pub fn cut_seq(&self) -> Result<u64> {
        if !(0.0..=1.0).contains(&self.cut_fraction) {
            return Err(format!("cut fraction {} is not in [0, 1]", self.cut_fraction).into());
        }
        whole(
            (f64_of(self.mutations()?) * self.cut_fraction).floor(),
            "mutations × cut fraction",
        )
    }
}

/// `x` rounded to a count, refused when negative, not finite or beyond 2^53.
fn whole(x: f64, what: &str) -> Result<u64> {
    let x = x.round();
    if !(0.0..=9_007_199_254_740_992.0).contains(&x) {
        return Err(format!("{what} = {x} is not a count").into());
    }
    // In range (checked above) and integral: the cast is exact.
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    Ok(x as u64)
}

/// `pk` of order `key`.
pub fn pk(key: u64, users: u64) -> String {
    format!("user#{:09}", order_user(key, users))
}

/// `sk` of order `key`.
pub fn sk(key: u64) -> String {
    format!("order#{key:013}")
}

/// The table key of order `key` in the order-preserving encoding (what
/// `TableSchema::table_key` gives for its item), for deletes, which have no item.
pub fn encoded_key(pk: &str, sk: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(pk.len() + sk.len() + 4);
    encode_key(&mut out, KeyValue::S(pk), Some(KeyValue::S(sk)));
    out
}

/// Order `key` updated at log position `seq`: new amount, status/paid and updated_at.
pub fn updated_order(key: u64, users: u64, seq: u64, rng: &mut Rng) -> Value {
    let mut order = order_json(key, users);
    let cents = rng.below(100_000);
    let status = usize::try_from(rng.below(STATUSES.len() as u64))
        .ok()
        .and_then(|s| STATUSES.get(s))
        .copied()
        .unwrap_or("PAID");
    if let Some(map) = order.as_object_mut() {
        map.insert(
            "amount".to_owned(),
            json!({"N": format!("{}.{:02}", cents / 100, cents % 100)}),
        );
        map.insert("status".to_owned(), json!({"S": status}));
        map.insert("paid".to_owned(), json!({"BOOL": status != "PENDING"}));
        map.insert(
            "updated_at".to_owned(),
            json!({"N": (UPDATED_AT_BASE + seq).to_string()}),
        );
    }
    order
}

/// An order as the table stores it.
#[derive(Debug)]
pub struct Prepared {
    pub item: Item,
    /// The canonical item JSON.
    pub json: String,
    pub key: Vec<u8>,
    pub entry: Entry,
}

pub fn prepare(order: &Value, schema: &TableSchema) -> Result<Prepared> {
    let item = parse_item(&order.to_string())?;
    let json = item.to_canonical_json();
    let key = schema.table_key(&item)?;
    let entry = Entry {
        json_bytes: u32::try_from(json.len())?,
        size_bytes: u32::try_from(item.size_bytes())?,
        merchant: item.get("merchant_id").is_some(),
    };
    Ok(Prepared {
        item,
        json,
        key,
        entry,
    })
}

/// The snapshot's typed columns of `item` (as `ddb_snapshot::attrs_from_item` derives them).
fn typed_values(item: &Item, attributes: &[(String, ScalarAttributeType)]) -> Vec<Option<Vec<u8>>> {
    attributes
        .iter()
        .map(|(name, wanted)| {
            let value = KeyValue::from_attribute(item.get(name)?)?;
            (value.attribute_type() == *wanted).then(|| {
                let mut out = Vec::new();
                value.encode(&mut out);
                out
            })
        })
        .collect()
}

/// The log's clock: [`CLOCK_START_US`] plus 1 ms per call.
#[derive(Debug)]
struct StepClock(AtomicU64);

impl ddb_log::Clock for StepClock {
    fn now_us(&self) -> u64 {
        self.0.fetch_add(1000, Ordering::Relaxed)
    }
}

/// Where the generator writes, under the `data` directory.
pub const SNAPSHOT_DIR: &str = "snapshot";
pub const LOG_DIR: &str = "log";
pub const PEERS_DIR: &str = "peers";
pub const WORKLOAD_FILE: &str = "workload.json";

/// Writes the workload into `data` (removed first): `snapshot/`, `log/`, `peers/*.parquet` and
/// `workload.json`.
pub fn generate(data: &Path, params: &Params) -> Result<Workload> {
    let mutations = params.mutations()?;
    let cut_seq = params.cut_seq()?;
    if data.exists() {
        std::fs::remove_dir_all(data).map_err(|e| format!("{}: {e}", data.display()))?;
    }
    std::fs::create_dir_all(data.join(PEERS_DIR))?;
    let io: Arc<dyn Io> = Arc::new(StdIo::new());
    let schema = super::source::schema()?;
    let users = (params.items / 8).max(1);
    let mut book = Book::default();

    // The snapshot, in key order: (user, order) pairs sort as (pk, sk) do (fixed widths).
    let mut order: Vec<(u64, u64)> = (0..params.items)
        .map(|i| (order_user(i, users), i))
        .collect();
    order.sort_unstable();
    let attributes = ddb_table::checkpoint::snapshot_attributes(&schema);
    let snapshot_dir = data.join(SNAPSHOT_DIR);
    io.create_dir_all(&snapshot_dir)?;
    let options = WriterOptions::new(TABLE_ID, SNAPSHOT_LSN, attributes.clone());
    let mut writer = SnapshotWriter::new(Arc::clone(&io), &snapshot_dir, "base", options)?;
    let mut peers =
        SnapshotParquet::create(&data.join(PEERS_DIR).join(super::peers::SNAPSHOT_FILE))?;
    for (user, i) in order {
        let row = prepare(&order_json(i, users), &schema)?;
        writer.push_parts(
            &row.key,
            row.json.as_bytes(),
            &typed_values(&row.item, &attributes),
        )?;
        peers.push(&format!("user#{user:09}"), &sk(i), &row.json)?;
        book.put(i, row.entry)?;
    }
    let files = writer.finish()?;
    SnapshotManifest::new(TABLE_ID, SNAPSHOT_LSN, files).publish(&*io, &snapshot_dir)?;
    peers.finish()?;
    let snapshot_item_bytes = book.totals.item_bytes;

    // The log, in batches that end at the cut.
    let log = Log::open(
        Arc::clone(&io),
        &data.join(LOG_DIR),
        LogOptions {
            durability: Durability::Group,
            first_lsn: SNAPSHOT_LSN + 1,
            clock: Arc::new(StepClock(AtomicU64::new(CLOCK_START_US))),
            ..LogOptions::new(TABLE_ID)
        },
    )?;
    let mut peers = LogParquet::create(&data.join(PEERS_DIR).join(super::peers::LOG_FILE))?;
    let mut planner = Planner::new(params.items, params.seed)?;
    let mut values = Rng::new(params.seed ^ 0x7a11_0e55_0000_0000);
    let mut counts = [0u64; 3];
    let mut cut = (book.totals, CLOCK_START_US);
    let mut batch: Vec<Mutation> = Vec::with_capacity(LOG_BATCH);
    for seq in 1..=mutations {
        let (op, key) = planner.next_mutation();
        let (pk, sk) = (pk(key, users), sk(key));
        let order = match op {
            Op::Update => Some(updated_order(key, users, seq, &mut values)),
            Op::Insert => Some(order_json(key, users)),
            Op::Delete => None,
        };
        if let Some(order) = order {
            let row = prepare(&order, &schema)?;
            peers.push(LogRow {
                seq,
                pk: &pk,
                sk: &sk,
                item: Some(&row.json),
            })?;
            book.put(key, row.entry)?;
            batch.push(Mutation {
                kind: MutationKind::Put(row.json.into_bytes()),
                key: row.key,
            });
        } else {
            peers.push(LogRow {
                seq,
                pk: &pk,
                sk: &sk,
                item: None,
            })?;
            book.delete(key)?;
            batch.push(Mutation {
                kind: MutationKind::Delete,
                key: encoded_key(&pk, &sk),
            });
        }
        if let Some(count) = counts.get_mut(op as usize) {
            *count += 1;
        }
        if batch.len() == LOG_BATCH || seq == cut_seq || seq == mutations {
            let committed = log.append(std::mem::take(&mut batch))?;
            if committed.last_lsn != SNAPSHOT_LSN + seq {
                return Err(format!(
                    "log record {seq} got LSN {}, not {}",
                    committed.last_lsn,
                    SNAPSHOT_LSN + seq
                )
                .into());
            }
            if seq == cut_seq {
                cut = (book.totals, committed.timestamp_us);
            }
        }
    }
    drop(log);
    peers.finish()?;

    let [updates, inserts, deletes] = counts;
    let (at_cut, cut_time_us) = cut;
    let workload = Workload {
        items: params.items,
        mutations,
        updates,
        inserts,
        deletes,
        users,
        log_fraction: params.log_fraction,
        cut_fraction: params.cut_fraction,
        snapshot_lsn: SNAPSHOT_LSN,
        first_log_lsn: SNAPSHOT_LSN + 1,
        cut_seq,
        cut_lsn: SNAPSHOT_LSN + cut_seq,
        cut_time_us,
        rows_at_cut: at_cut.rows,
        item_bytes_at_cut: at_cut.item_bytes,
        table_size_bytes_at_cut: at_cut.size_bytes,
        merchant_rows_at_cut: at_cut.merchants,
        snapshot_item_bytes,
        seed: params.seed,
    };
    let path = data.join(WORKLOAD_FILE);
    std::fs::write(&path, serde_json::to_string_pretty(&workload)? + "\n")
        .map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(workload)
}

/// Reads `data/workload.json`.
pub fn load(data: &Path) -> Result<Workload> {
    let path = data.join(WORKLOAD_FILE);
    let text = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]

    use std::collections::BTreeMap;

    use arrow_array::{Array, Int64Array, StringArray};
    use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

    use super::*;

    #[test]
    fn counts_round_and_floor_as_specified() {
        let params = |items, log_fraction, cut_fraction| Params {
            items,
            log_fraction,
            cut_fraction,
            seed: 1,
        };
        assert_eq!(params(2000, 0.25, 0.9).mutations().unwrap(), 500);
        assert_eq!(params(2000, 0.25, 0.9).cut_seq().unwrap(), 450);
        assert_eq!(params(3, 0.5, 1.0).mutations().unwrap(), 2, "round(1.5)");
        assert_eq!(params(3, 0.5, 1.0).cut_seq().unwrap(), 2);
        assert_eq!(params(7, 1.0, 0.5).cut_seq().unwrap(), 3, "floor(3.5)");
        assert!(params(10, -1.0, 0.5).mutations().is_err());
        assert!(params(10, 0.5, 1.5).cut_seq().is_err());
    }

    #[test]
    fn the_delete_key_encoding_is_the_table_key() {
        let schema = crate::e2e::source::schema().unwrap();
        for i in [0u64, 7, 123_456] {
            let row = prepare(&order_json(i, 10), &schema).unwrap();
            assert_eq!(encoded_key(&pk(i, 10), &sk(i)), row.key);
        }
    }

    fn strings(batch: &arrow_array::RecordBatch, name: &str) -> Vec<Option<String>> {
        let column = batch.column_by_name(name).unwrap();
        let strings = column.as_any().downcast_ref::<StringArray>().unwrap();
        (0..strings.len())
            .map(|i| strings.is_valid(i).then(|| strings.value(i).to_owned()))
            .collect()
    }

    fn batches(path: &Path) -> Vec<arrow_array::RecordBatch> {
        let file = std::fs::File::open(path).unwrap();
        ParquetRecordBatchReaderBuilder::try_new(file)
            .unwrap()
            .build()
            .unwrap()
            .map(std::result::Result::unwrap)
            .collect()
    }

    /// The workload's counts at the cut, recomputed from the peers' Parquet files by replaying
    /// the log onto the snapshot in a map: the generator's bookkeeping and the files agree.
    #[test]
    fn rows_and_bytes_at_the_cut_match_a_replay_of_the_written_files() {
        let dir = tempfile::tempdir().unwrap();
        let params = Params {
            items: 400,
            log_fraction: 0.75,
            cut_fraction: 0.6,
            seed: 9,
        };
        let workload = generate(dir.path(), &params).unwrap();
        assert_eq!(workload.mutations, 300);
        assert_eq!(workload.cut_seq, 180);
        assert_eq!(workload.cut_lsn, SNAPSHOT_LSN + 180);
        assert_eq!(
            workload.updates + workload.inserts + workload.deletes,
            workload.mutations
        );
        assert_eq!(load(dir.path()).unwrap(), workload);

        let peers = dir.path().join(PEERS_DIR);
        let mut table: BTreeMap<(String, String), String> = BTreeMap::new();
        let mut previous: Option<(String, String)> = None;
        for batch in batches(&peers.join(crate::e2e::peers::SNAPSHOT_FILE)) {
            let (pks, sks, items) = (
                strings(&batch, "pk"),
                strings(&batch, "sk"),
                strings(&batch, "item"),
            );
            for ((pk, sk), item) in pks.into_iter().zip(sks).zip(items) {
                let key = (pk.unwrap(), sk.unwrap());
                assert!(
                    previous.as_ref().is_none_or(|p| *p < key),
                    "sorted by (pk, sk)"
                );
                previous = Some(key.clone());
                assert!(table.insert(key, item.unwrap()).is_none());
            }
        }
        assert_eq!(table.len() as u64, workload.items);
        let snapshot_bytes: usize = table.values().map(String::len).sum();
        assert_eq!(snapshot_bytes as u64, workload.snapshot_item_bytes);

        let mut seen = 0u64;
        let (mut puts, mut deletes) = (0u64, 0u64);
        for batch in batches(&peers.join(crate::e2e::peers::LOG_FILE)) {
            let seqs = batch.column_by_name("seq").unwrap();
            let seqs = seqs.as_any().downcast_ref::<Int64Array>().unwrap();
            let (pks, sks, ops, items) = (
                strings(&batch, "pk"),
                strings(&batch, "sk"),
                strings(&batch, "op"),
                strings(&batch, "item"),
            );
            for (i, (((pk, sk), op), item)) in
                pks.into_iter().zip(sks).zip(ops).zip(items).enumerate()
            {
                seen += 1;
                assert_eq!(seqs.value(i), i64::try_from(seen).unwrap(), "log order");
                let key = (pk.unwrap(), sk.unwrap());
                let applies = seen <= workload.cut_seq;
                match op.as_deref() {
                    Some("PUT") => {
                        puts += 1;
                        let item = item.unwrap();
                        assert!(item.contains(&format!("\"sk\":{{\"S\":\"{}\"}}", key.1)));
                        if applies {
                            table.insert(key, item);
                        }
                    }
                    Some("DELETE") => {
                        deletes += 1;
                        assert!(item.is_none());
                        if applies {
                            assert!(table.remove(&key).is_some(), "deleted keys exist");
                        }
                    }
                    other => panic!("op {other:?}"),
                }
            }
        }
        assert_eq!(seen, workload.mutations);
        assert_eq!(puts, workload.updates + workload.inserts);
        assert_eq!(deletes, workload.deletes);
        assert_eq!(table.len() as u64, workload.rows_at_cut);
        let bytes: usize = table.values().map(String::len).sum();
        assert_eq!(bytes as u64, workload.item_bytes_at_cut);
        let merchants = table
            .values()
            .filter(|i| i.contains("\"merchant_id\""))
            .count();
        assert_eq!(merchants as u64, workload.merchant_rows_at_cut);
        let size: usize = table
            .values()
            .map(|i| parse_item(i).unwrap().size_bytes())
            .sum();
        assert_eq!(size as u64, workload.table_size_bytes_at_cut);

        // The snapshot and the log the engine reads hold the same counts.
        let snapshot = ddb_merge::SnapshotDirInput::open(
            Arc::new(StdIo::new()),
            &dir.path().join(SNAPSHOT_DIR),
        )
        .unwrap();
        assert_eq!(snapshot.manifest().lsn, SNAPSHOT_LSN);
        assert_eq!(snapshot.manifest().totals.rows, workload.items);
        let log =
            ddb_log::LogReader::open(Arc::new(StdIo::new()), &dir.path().join(LOG_DIR)).unwrap();
        assert_eq!(log.first_lsn(), SNAPSHOT_LSN + 1);
        assert_eq!(log.last_lsn(), SNAPSHOT_LSN + workload.mutations);
    }
}
