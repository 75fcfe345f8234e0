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

/// splitmix64: small, seeded, deterministic.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut x = self.0;
        x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        x ^ (x >> 31)
    }

    /// Uniform enough in `0..n` (`n` ≥ 1).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }
}

/// A log mutation's kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Update,
    Insert,
    Delete,
}

/// Draws the log's mutations: which kind, on which key, knowing which keys exist.
#[derive(Debug, Clone)]
pub struct Planner {
    exists: Vec<bool>,
    live: u64,
    rng: Rng,
}

impl Planner {
    /// Keys `0..items` exist (the snapshot).
    pub fn new(items: u64, seed: u64) -> Result<Self> {
        Ok(Self {
            exists: vec![true; usize::try_from(items)?],
            live: items,
            rng: Rng::new(seed),
        })
    }

    /// The next mutation: 70 % update, 20 % insert, 10 % delete (an insert when no key is
    /// left to update or delete).
    pub fn next_mutation(&mut self) -> (Op, u64) {
        let roll = self.rng.below(100);
        let op = match roll {
            _ if self.live == 0 => Op::Insert,
            0..70 => Op::Update,
            70..90 => Op::Insert,
            _ => Op::Delete,
        };
        let key = match op {
            Op::Insert => {
                self.exists.push(true);
                self.live += 1;
                self.exists.len() as u64 - 1
            }
            Op::Update | Op::Delete => self.pick_existing(),
        };
        if op == Op::Delete
            && let Some(slot) = usize::try_from(key)
                .ok()
                .and_then(|k| self.exists.get_mut(k))
        {
            *slot = false;
            self.live -= 1;
        }
        (op, key)
    }

    /// A uniformly drawn existing key (`live` ≥ 1): a few random tries, then the first existing
    /// key after a random start.
    fn pick_existing(&mut self) -> u64 {
        let keys = self.exists.len() as u64;
        for _ in 0..64 {
            let key = self.rng.below(keys);
            if self.exists(key) {
                return key;
            }
        }
        let start = self.rng.below(keys);
        (0..keys)
            .map(|step| (start + step) % keys)
            .find(|&key| self.exists(key))
            .unwrap_or(start)
    }

    pub fn exists(&self, key: u64) -> bool {
        usize::try_from(key)
            .ok()
            .and_then(|k| self.exists.get(k))
            .copied()
            .unwrap_or(false)
    }
}

/// What one live key contributes to the table.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Entry {
    /// Canonical JSON bytes; 0: the key does not exist.
    pub json_bytes: u32,
    pub size_bytes: u32,
    pub merchant: bool,
}

/// The table's contents as counts, per key and in total.
#[derive(Debug, Clone, Default)]
pub struct Book {
    entries: Vec<Entry>,
    pub totals: Totals,
}

/// Totals of the live keys.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Totals {
    pub rows: u64,
    pub item_bytes: u64,
    pub size_bytes: u64,
    pub merchants: u64,
}

impl Book {
    fn slot(&mut self, key: u64) -> Result<&mut Entry> {
        let index = usize::try_from(key)?;
        if index >= self.entries.len() {
            self.entries.resize(index + 1, Entry::default());
        }
        self.entries
            .get_mut(index)
            .ok_or_else(|| format!("key {key}: no slot").into())
    }

    /// Key `key` now holds an item described by `entry` (a put: insert or replace).
    pub fn put(&mut self, key: u64, entry: Entry) -> Result<()> {
        let slot = self.slot(key)?;
        let old = std::mem::replace(slot, entry);
        let t = &mut self.totals;
        if old.json_bytes == 0 {
            t.rows += 1;
        }
        t.item_bytes = t.item_bytes + u64::from(entry.json_bytes) - u64::from(old.json_bytes);
        t.size_bytes = t.size_bytes + u64::from(entry.size_bytes) - u64::from(old.size_bytes);
        t.merchants = t.merchants + u64::from(entry.merchant) - u64::from(old.merchant);
        Ok(())
    }

    /// Key `key` is deleted (it must exist).
    pub fn delete(&mut self, key: u64) -> Result<()> {
        let old = std::mem::take(self.slot(key)?);
        if old.json_bytes == 0 {
            return Err(format!("the log deletes key {key}, which does not exist").into());
        }
        let t = &mut self.totals;
        t.rows -= 1;
        t.item_bytes -= u64::from(old.json_bytes);
        t.size_bytes -= u64::from(old.size_bytes);
        t.merchants -= u64::from(old.merchant);
        Ok(())
    }
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
