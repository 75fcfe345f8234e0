//! Inputs of the table benchmarks: the orders of the end-to-end workload (issue 8) and the
//! table definitions they are written to.
//!
//! An order is ~480 bytes of canonical JSON: `pk` = `user#%09d` (about 8 orders a user),
//! `sk` = `order#%013d`, and S, N, BOOL, SS, L of M and M attributes; `merchant_id` is present
//! in ~80 % of orders (the `by_merchant` GSI is sparse), `updated_at` and `amount` are numbers.

use std::io;
use std::sync::Arc;

use ddb_model::{Item, TableSchema};
use ddb_table::{Change, Database, TableStore, Tables};
use serde_json::{Value, json};

pub const TABLE: &str = "orders";

/// The indexes of a benchmark table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Indexes {
    None,
    /// `by_updated` (`pk`, `updated_at`) KEYS_ONLY and `by_amount` (`pk`, `amount`) INCLUDE
    /// [`status`].
    TwoLsis,
    /// `by_merchant` (`merchant_id`, `updated_at`) INCLUDE [`amount`, `status`], sparse, and
    /// `by_status` (`status`, `updated_at`) KEYS_ONLY.
    TwoGsis,
    /// Both LSIs and both GSIs.
    All,
}

impl Indexes {
    /// The variants the write benchmarks compare.
    pub const WRITES: [Indexes; 3] = [Indexes::None, Indexes::TwoLsis, Indexes::TwoGsis];

    pub fn name(self) -> &'static str {
        match self {
            Indexes::None => "no_index",
            Indexes::TwoLsis => "2_lsi",
            Indexes::TwoGsis => "2_gsi",
            Indexes::All => "2_lsi_2_gsi",
        }
    }
}

fn key(hash: &str, range: &str) -> Value {
    json!([
        {"AttributeName": hash, "KeyType": "HASH"},
        {"AttributeName": range, "KeyType": "RANGE"}
    ])
}

/// Sets member `name` of the object `object` (built by this module, so always an object).
fn set(object: &mut Value, name: &str, value: Value) {
    if let Some(map) = object.as_object_mut() {
        map.insert(name.to_owned(), value);
    }
}

fn attribute(name: &str, kind: &str) -> Value {
    json!({"AttributeName": name, "AttributeType": kind})
}

/// The CreateTable request of [`TABLE`] with `indexes`.
pub fn create_table_request(indexes: Indexes) -> Value {
    let mut request = json!({
        "TableName": TABLE,
        "KeySchema": key("pk", "sk"),
        "BillingMode": "PAY_PER_REQUEST"
    });
    let lsis = matches!(indexes, Indexes::TwoLsis | Indexes::All);
    let gsis = matches!(indexes, Indexes::TwoGsis | Indexes::All);
    let mut definitions = vec![attribute("pk", "S"), attribute("sk", "S")];
    if lsis || gsis {
        definitions.push(attribute("updated_at", "N"));
    }
    if lsis {
        definitions.push(attribute("amount", "N"));
        set(
            &mut request,
            "LocalSecondaryIndexes",
            json!([
                {
                    "IndexName": "by_updated",
                    "KeySchema": key("pk", "updated_at"),
                    "Projection": {"ProjectionType": "KEYS_ONLY"}
                },
                {
                    "IndexName": "by_amount",
                    "KeySchema": key("pk", "amount"),
                    "Projection": {"ProjectionType": "INCLUDE", "NonKeyAttributes": ["status"]}
                }
            ]),
        );
    }
    if gsis {
        definitions.push(attribute("merchant_id", "S"));
        definitions.push(attribute("status", "S"));
        set(
            &mut request,
            "GlobalSecondaryIndexes",
            json!([
                {
                    "IndexName": "by_merchant",
                    "KeySchema": key("merchant_id", "updated_at"),
                    "Projection": {
                        "ProjectionType": "INCLUDE", "NonKeyAttributes": ["amount", "status"]
                    }
                },
                {
                    "IndexName": "by_status",
                    "KeySchema": key("status", "updated_at"),
                    "Projection": {"ProjectionType": "KEYS_ONLY"}
                }
            ]),
        );
    }
    set(
        &mut request,
        "AttributeDefinitions",
        Value::Array(definitions),
    );
    request
}

/// The UpdateTable request that adds the GSI `by_merchant` (for the backfill example).
pub fn add_merchant_gsi_request() -> Value {
    json!({
        "TableName": TABLE,
        "AttributeDefinitions": [attribute("merchant_id", "S"), attribute("updated_at", "N")],
        "GlobalSecondaryIndexUpdates": [{"Create": {
            "IndexName": "by_merchant",
            "KeySchema": key("merchant_id", "updated_at"),
            "Projection": {"ProjectionType": "INCLUDE", "NonKeyAttributes": ["amount", "status"]}
        }}]
    })
}

/// Creates [`TABLE`] with `indexes` in `db` and waits until it is ACTIVE.
pub fn create_table(db: &Database, indexes: Indexes) -> io::Result<()> {
    db.call("CreateTable", &create_table_request(indexes))
        .map_err(|e| io::Error::other(format!("CreateTable: {e}")))?;
    let active = db
        .wait(
            &ddb_table::WaitFor::TableExists(TABLE.to_owned()),
            std::time::Duration::from_secs(60),
        )
        .map_err(|e| io::Error::other(e.to_string()))?;
    if !active {
        return Err(io::Error::other("the table did not become ACTIVE"));
    }
    Ok(())
}

/// The table as the request layer sees it (for `apply_batch`).
pub fn store(db: &Database) -> io::Result<Arc<dyn TableStore>> {
    db.table(TABLE).map_err(|e| io::Error::other(e.to_string()))
}

fn splitmix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

const STATUSES: [&str; 5] = ["PENDING", "PAID", "SHIPPED", "DELIVERED", "CANCELLED"];
const TAGS: [&str; 8] = [
    "gift", "express", "fragile", "bulk", "repeat", "promo", "b2b", "intl",
];
const CITIES: [&str; 6] = ["Lisboa", "Porto", "Madrid", "Lyon", "Gent", "Bremen"];

/// Order `i` as DynamoDB JSON (the same `i` always gives the same order; the user is drawn from
/// `users` users).
pub fn order_json(i: u64, users: u64) -> Value {
    let mut state = splitmix(i);
    let mut next = move || {
        state = splitmix(state);
        state
    };
    let pick = |r: u64, n: usize| usize::try_from(r % n as u64).unwrap_or(0);
    let user = next() % users.max(1);
    let status = STATUSES
        .get(pick(next(), STATUSES.len()))
        .copied()
        .unwrap_or("PAID");
    let cents = next() % 100_000;
    let mut tags: Vec<&str> = (0..1 + next() % 3)
        .filter_map(|_| TAGS.get(pick(next(), TAGS.len())).copied())
        .collect();
    tags.sort_unstable();
    tags.dedup();
    let lines: Vec<Value> = (0..2)
        .map(|_| {
            json!({"M": {
                "sku": {"S": format!("sku-{:08}", next() % 100_000_000)},
                "qty": {"N": (1 + next() % 5).to_string()},
                "price": {"N": format!("{}.{:02}", next() % 500, next() % 100)}
            }})
        })
        .collect();
    let city = CITIES
        .get(pick(next(), CITIES.len()))
        .copied()
        .unwrap_or("Porto");
    let mut item = json!({
        "pk": {"S": format!("user#{user:09}")},
        "sk": {"S": format!("order#{i:013}")},
        "status": {"S": status},
        "amount": {"N": format!("{}.{:02}", cents / 100, cents % 100)},
        "paid": {"BOOL": status != "PENDING"},
        "updated_at": {"N": (1_700_000_000_000 + i * 37).to_string()},
        "tags": {"SS": tags},
        "lines": {"L": lines},
        "shipping": {"M": {
            "street": {"S": format!("{} Rua das Flores", next() % 300)},
            "city": {"S": city},
            "zip": {"S": format!("{:05}", next() % 100_000)}
        }}
    });
    if next() % 10 < 8 {
        set(
            &mut item,
            "merchant_id",
            json!({"S": format!("merchant#{:05}", next() % 2_000)}),
        );
    }
    item
}

/// The user (`pk` = `user#%09d`) of order `i` among `users`: what [`order_json`] draws first,
/// without building the order (the end-to-end generator sorts the orders by key before it
/// builds them).
pub fn order_user(i: u64, users: u64) -> u64 {
    splitmix(splitmix(i)) % users.max(1)
}

/// Order `i` as a model item.
pub fn order_item(i: u64, users: u64) -> io::Result<Item> {
    ddb_model::parse_item(&order_json(i, users).to_string())
        .map_err(|e| io::Error::other(format!("order {i}: {e}")))
}

/// Changes for one `apply_batch`.
pub type Batch = Vec<(Vec<u8>, Change)>;

/// Orders `range` as one `apply_batch` batch, and the orders' canonical JSON bytes.
pub fn order_batch(
    schema: &TableSchema,
    range: std::ops::Range<u64>,
    users: u64,
) -> io::Result<(Batch, u64)> {
    let mut batch = Vec::with_capacity(usize::try_from(range.end - range.start).unwrap_or(0));
    let mut bytes = 0u64;
    for i in range {
        let item = order_item(i, users)?;
        bytes += item.to_canonical_json().len() as u64;
        let key = schema
            .table_key(&item)
            .map_err(|e| io::Error::other(format!("order {i}: {e}")))?;
        batch.push((key, Change::Put(item)));
    }
    Ok((batch, bytes))
}

/// Items per `apply_batch` of a load (`ddbfmt load`'s default).
pub const LOAD_BATCH_ITEMS: u64 = 4096;

/// What [`load`] did.
#[derive(Debug, Clone, Copy, Default)]
pub struct Loaded {
    pub items: u64,
    /// Canonical JSON bytes of the items.
    pub bytes: u64,
    /// Time spent in `apply_batch` (generating the orders is not counted).
    pub apply: std::time::Duration,
}

/// Loads orders `range` into [`TABLE`] with `apply_batch` in batches of [`LOAD_BATCH_ITEMS`]
/// (what `ddbfmt load` does), generating each batch just before it is applied.
pub fn load(db: &Database, range: std::ops::Range<u64>, users: u64) -> io::Result<Loaded> {
    let table = store(db)?;
    let mut loaded = Loaded::default();
    let mut first = range.start;
    while first < range.end {
        let end = (first + LOAD_BATCH_ITEMS).min(range.end);
        let (batch, bytes) = order_batch(table.schema(), first..end, users)?;
        let started = std::time::Instant::now();
        table
            .apply_batch(batch)
            .map_err(|e| io::Error::other(format!("apply_batch: {e}")))?;
        loaded.apply += started.elapsed();
        loaded.items += end - first;
        loaded.bytes += bytes;
        first = end;
    }
    Ok(loaded)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn orders_are_about_480_bytes_and_80_percent_have_a_merchant() {
        let orders: Vec<Item> = (0..1000).map(|i| order_item(i, 125).unwrap()).collect();
        let bytes: usize = orders.iter().map(|o| o.to_canonical_json().len()).sum();
        let merchants = orders
            .iter()
            .filter(|o| o.get("merchant_id").is_some())
            .count();
        eprintln!(
            "mean {} bytes, {merchants} of 1000 with a merchant",
            bytes / 1000
        );
        assert!((440..=520).contains(&(bytes / 1000)), "{}", bytes / 1000);
        assert!((750..=850).contains(&merchants));
    }

    #[test]
    fn order_user_is_the_user_order_json_draws() {
        for i in 0..1000 {
            let order = order_json(i, 125);
            let pk = format!("user#{:09}", order_user(i, 125));
            assert_eq!(order["pk"]["S"].as_str(), Some(pk.as_str()), "order {i}");
        }
    }
}
