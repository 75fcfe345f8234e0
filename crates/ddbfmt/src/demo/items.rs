//! The demo's table and its generated orders.
//!
//! An order is a pure function of `(seed, index, version)`: the demo never keeps items in
//! memory, and any check can regenerate what a key held at any moment from the key's version.
//! Customers own eight consecutive orders (`customer = index / 8`), so a load writes keys in
//! ascending order; the store of an order depends only on its customer, so the orders of a
//! store are known without scanning anything.

use std::collections::{BTreeMap, BTreeSet};

use ddb_model::{AttributeValue, DdbError, Item, Number};

/// The source table.
pub const TABLE_NAME: &str = "Orders";
/// Orders per customer (one item collection).
pub const ORDERS_PER_CUSTOMER: u64 = 8;
/// Stores; store `s` serves customers `c` with `c % STORES == s`.
pub const STORES: u64 = 1_000;

/// CreateTable: two LSIs (by total, keys only; by placing time, every attribute) and two GSIs
/// (a sparse one by status, one by store), on-demand.
pub fn create_table_request() -> serde_json::Value {
    serde_json::json!({
        "TableName": TABLE_NAME,
        "AttributeDefinitions": [
            {"AttributeName": "customer", "AttributeType": "S"},
            {"AttributeName": "order", "AttributeType": "N"},
            {"AttributeName": "total", "AttributeType": "N"},
            {"AttributeName": "placed_at", "AttributeType": "S"},
            {"AttributeName": "status", "AttributeType": "S"},
            {"AttributeName": "store", "AttributeType": "S"}
        ],
        "KeySchema": [
            {"AttributeName": "customer", "KeyType": "HASH"},
            {"AttributeName": "order", "KeyType": "RANGE"}
        ],
        "LocalSecondaryIndexes": [
            {
                "IndexName": "by_total",
                "KeySchema": [
                    {"AttributeName": "customer", "KeyType": "HASH"},
                    {"AttributeName": "total", "KeyType": "RANGE"}
                ],
                "Projection": {"ProjectionType": "KEYS_ONLY"}
            },
            {
                "IndexName": "by_placed",
                "KeySchema": [
                    {"AttributeName": "customer", "KeyType": "HASH"},
                    {"AttributeName": "placed_at", "KeyType": "RANGE"}
                ],
                "Projection": {"ProjectionType": "ALL"}
            }
        ],
        "GlobalSecondaryIndexes": [
            {
                "IndexName": "by_status",
                "KeySchema": [
                    {"AttributeName": "status", "KeyType": "HASH"},
                    {"AttributeName": "placed_at", "KeyType": "RANGE"}
                ],
                "Projection": {"ProjectionType": "INCLUDE", "NonKeyAttributes": ["total"]}
            },
            {
                "IndexName": "by_store",
                "KeySchema": [
                    {"AttributeName": "store", "KeyType": "HASH"},
                    {"AttributeName": "total", "KeyType": "RANGE"}
                ],
                "Projection": {"ProjectionType": "INCLUDE", "NonKeyAttributes": ["status", "placed_at"]}
            }
        ],
        "BillingMode": "PAY_PER_REQUEST"
    })
}

pub const GSIS: [&str; 2] = ["by_status", "by_store"];

/// SplitMix64: a tiny, well-known generator; the demo needs reproducible variety, not crypto.
#[derive(Debug, Clone)]
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }

    fn pick<'a>(&mut self, choices: &[&'a str]) -> &'a str {
        let n = u64::try_from(choices.len()).unwrap_or(1);
        choices
            .get(usize::try_from(self.below(n)).unwrap_or(0))
            .copied()
            .unwrap_or("")
    }
}

pub fn customer_of(index: u64) -> String {
    format!("cust-{:07}", index / ORDERS_PER_CUSTOMER)
}

pub fn store_of_customer(customer: u64) -> String {
    format!("store-{:03}", customer % STORES)
}

fn number(text: &str) -> Result<AttributeValue, DdbError> {
    Ok(AttributeValue::N(Number::parse(text)?))
}

/// Order `index` as written the `version`-th time (0: the load). Every attribute type, nested
/// lists and maps; one order in five has no status (the sparse GSI).
pub fn order(seed: u64, index: u64, version: u64) -> Result<Item, DdbError> {
    const STATUSES: [&str; 4] = ["PENDING", "SHIPPED", "DELIVERED", "RETURNED"];
    const NAMES: [&str; 5] = ["Ada", "Brühl", "Chloé", "Dmitri", "日本"];
    let mut stable = Rng(seed ^ index.wrapping_mul(0xA24B_AED4_963E_E407));
    let mut rng = Rng(stable.next() ^ version.wrapping_mul(0x9FB2_1C65_1E98_DF25));
    let mut item = Item::new();
    item.insert("customer", AttributeValue::S(customer_of(index)));
    item.insert("order", AttributeValue::N(Number::from(index)));
    item.insert(
        "store",
        AttributeValue::S(store_of_customer(index / ORDERS_PER_CUSTOMER)),
    );
    item.insert("version", AttributeValue::N(Number::from(version)));
    let cents = rng.below(1_000_000);
    item.insert(
        "total",
        number(&format!("{}.{:02}", cents / 100, cents % 100))?,
    );
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
    if rng.below(5) != 0 {
        item.insert("status", AttributeValue::from(rng.pick(&STATUSES)));
    }
    let mut lines = Vec::new();
    for line in 0..stable.below(4) + 1 {
        let mut entry = BTreeMap::new();
        entry.insert(
            "sku".to_owned(),
            AttributeValue::S(format!("SKU-{:05}", stable.below(100_000))),
        );
        entry.insert(
            "qty".to_owned(),
            AttributeValue::N(Number::from(rng.below(9) + 1)),
        );
        entry.insert(
            "price".to_owned(),
            number(&format!("{}.{}E-1", stable.below(100_000), line))?,
        );
        lines.push(AttributeValue::M(entry));
    }
    item.insert("lines", AttributeValue::L(lines));
    let mut shipping = BTreeMap::new();
    shipping.insert("name".to_owned(), AttributeValue::from(stable.pick(&NAMES)));
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
        AttributeValue::B(stable.next().to_le_bytes().to_vec()),
    );
    Ok(item)
}

/// The key of order `index` as DynamoDB JSON (for GetItem).
pub fn key_json(index: u64) -> serde_json::Value {
    serde_json::json!({
        "customer": {"S": customer_of(index)},
        "order": {"N": index.to_string()}
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use ddb_model::table::CreateTableInput;

    #[test]
    fn orders_are_valid_deterministic_and_sparse_where_they_should_be() {
        let input = CreateTableInput::from_json(&create_table_request().to_string()).unwrap();
        let schema = input.validate().unwrap();
        let orders: Vec<Item> = (0..1000).map(|i| order(5, i, 0).unwrap()).collect();
        assert!(orders.iter().all(|o| schema.validate_item(o).is_ok()));
        assert_eq!(orders[17], order(5, 17, 0).unwrap());
        assert_ne!(orders[17], order(5, 17, 1).unwrap());
        assert_ne!(orders[17], order(6, 17, 0).unwrap());
        // A new version keeps the key and the store (the demo's checks rely on it).
        let v1 = order(5, 17, 1).unwrap();
        for name in ["customer", "order", "store"] {
            assert_eq!(orders[17].get(name), v1.get(name), "{name}");
        }
        let with_status = orders.iter().filter(|o| o.get("status").is_some()).count();
        assert!((700..900).contains(&with_status), "{with_status}");
        let bytes: usize = orders.iter().map(|o| o.to_canonical_json().len()).sum();
        assert!(
            (350..600).contains(&(bytes / 1000)),
            "{} bytes",
            bytes / 1000
        );
        // Keys ascend with the index: a load appends.
        let keys: Vec<Vec<u8>> = orders
            .iter()
            .map(|o| schema.table_key(o).unwrap())
            .collect();
        assert!(keys.windows(2).all(|w| w[0] < w[1]));
    }
}
