//! Spot checks of a restored table against the source at the restore's cut.
//!
//! The model is the load (order `i`, version 0, for every `i < loaded`) plus the background
//! writer's acknowledged writes. A write is inside the cut when it was acknowledged before the
//! cut and outside when it started after; a write in flight across the cut could be either, so
//! keys with such a write are left out of the checks (there is at most one).

use std::collections::HashMap;
use std::time::Instant;

use ddb_model::{AttributeValue, Item, parse_item};
use ddb_table::Database;
use serde_json::{Value, json};

use super::DemoError;
use super::items::{ORDERS_PER_CUSTOMER, Rng, STORES, key_json, order, store_of_customer};
use super::writer::Write;

/// The attributes the `by_store` GSI projects (INCLUDE status, placed_at; and the keys).
const BY_STORE: &[&str] = &["customer", "order", "store", "total", "status", "placed_at"];

/// Where a restore's content stops.
#[derive(Debug, Clone, Copy)]
pub enum Cut {
    /// A backup: CreateBackup was called at `requested` and answered at `answered`.
    Backup {
        requested: Instant,
        answered: Instant,
    },
    /// A point-in-time restore to this wall-clock time (µs since the epoch).
    Time { us: u64 },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Present(u64),
    Absent,
    Ambiguous,
}

/// The source table's history.
#[derive(Debug)]
pub struct Model<'a> {
    seed: u64,
    loaded: u64,
    writes: &'a [Write],
    by_index: HashMap<u64, Vec<usize>>,
    /// One past the largest order index ever written.
    end: u64,
}

/// What the checks compared.
#[derive(Debug, Default, Clone, Copy)]
pub struct Checked {
    pub items: u64,
    pub queries: u64,
    pub entries: u64,
}

impl<'a> Model<'a> {
    pub fn new(seed: u64, loaded: u64, writes: &'a [Write]) -> Model<'a> {
        let mut by_index: HashMap<u64, Vec<usize>> = HashMap::new();
        for (position, write) in writes.iter().enumerate() {
            by_index.entry(write.index).or_default().push(position);
        }
        let end = writes.iter().map(|w| w.index + 1).fold(loaded, u64::max);
        Model {
            seed,
            loaded,
            writes,
            by_index,
            end,
        }
    }

    fn state(&self, index: u64, cut: Cut) -> State {
        let mut state = if index < self.loaded {
            State::Present(0)
        } else {
            State::Absent
        };
        for &position in self.by_index.get(&index).map_or(&[][..], Vec::as_slice) {
            let Some(write) = self.writes.get(position) else {
                break;
            };
            let (inside, outside) = match cut {
                Cut::Backup {
                    requested,
                    answered,
                } => (write.acked < requested, write.started > answered),
                Cut::Time { us } => (write.acked_us <= us, write.started_us > us),
            };
            if outside {
                break;
            }
            if !inside {
                return State::Ambiguous;
            }
            state = write.version.map_or(State::Absent, State::Present);
        }
        state
    }

    /// The orders a customer had at the cut, by order index; `None` if one is ambiguous.
    fn customer(&self, customer: u64, cut: Cut) -> Result<Option<Vec<Item>>, DemoError> {
        let mut orders = Vec::new();
        let first = customer * ORDERS_PER_CUSTOMER;
        for index in first..(first + ORDERS_PER_CUSTOMER).min(self.end) {
            match self.state(index, cut) {
                State::Ambiguous => return Ok(None),
                State::Absent => {}
                State::Present(version) => orders.push(order(self.seed, index, version)?),
            }
        }
        Ok(Some(orders))
    }

    /// Customers that exist or existed (loaded, or given orders by the writer).
    fn customers(&self) -> u64 {
        self.end.div_ceil(ORDERS_PER_CUSTOMER)
    }

    /// Checks `table` against the source at `cut`: GetItem on sampled orders (half of them
    /// rewritten or deleted by the writer), Query on the table and on both LSIs for sampled
    /// customers, every entry of a few stores in the `by_store` GSI, and a page of the sparse
    /// `by_status` GSI.
    pub fn check(&self, db: &Database, table: &str, cut: Cut) -> Result<Checked, DemoError> {
        let mut checked = Checked::default();
        let mut rng = Rng(self.seed ^ 0x4348_4543_4b53);
        let mut indexes: Vec<u64> = (0..100).map(|_| rng.below(self.loaded)).collect();
        // Sorted: the sample depends on the seed only, not on the map's iteration order.
        let mut written: Vec<u64> = self.by_index.keys().copied().collect();
        written.sort_unstable();
        for _ in 0..100.min(written.len()) {
            let pick = usize::try_from(rng.below(written.len() as u64)).unwrap_or(0);
            indexes.extend(written.get(pick));
        }
        for &index in &indexes {
            let expected = match self.state(index, cut) {
                State::Ambiguous => continue,
                State::Absent => None,
                State::Present(version) => Some(order(self.seed, index, version)?),
            };
            let answer = db.call(
                "GetItem",
                &json!({"TableName": table, "Key": key_json(index), "ConsistentRead": true}),
            )?;
            let found = answer.get("Item").map(item_of).transpose()?;
            if found != expected {
                return Err(mismatch(
                    table,
                    &format!("GetItem of order {index}"),
                    &found,
                    &expected,
                ));
            }
            checked.items += 1;
        }

        let customers: Vec<u64> = (0..10)
            .map(|_| rng.below(self.loaded.div_ceil(ORDERS_PER_CUSTOMER)))
            .chain(
                indexes
                    .iter()
                    .rev()
                    .take(10)
                    .map(|i| i / ORDERS_PER_CUSTOMER),
            )
            .collect();
        for customer in customers {
            let Some(orders) = self.customer(customer, cut)? else {
                continue;
            };
            let name = format!("cust-{customer:07}");
            let condition = json!({"#c": "customer"});
            let values = json!({":c": {"S": name}});
            let queries: [(Option<&str>, &str, &[&str]); 3] = [
                (None, "", &[]),
                (Some("by_total"), "total", &["customer", "order", "total"]),
                (Some("by_placed"), "placed_at", &[]),
            ];
            for (index, sort, projected) in queries {
                let mut expected: Vec<Item> =
                    orders.iter().map(|o| project(o, projected)).collect();
                if !sort.is_empty() {
                    expected.sort_by(|a, b| {
                        attr_order(a, sort)
                            .cmp(&attr_order(b, sort))
                            .then(attr_order(a, "order").cmp(&attr_order(b, "order")))
                    });
                }
                let mut request = json!({
                    "TableName": table,
                    "KeyConditionExpression": "#c = :c",
                    "ExpressionAttributeNames": condition,
                    "ExpressionAttributeValues": values,
                    "ConsistentRead": true,
                });
                if let (Some(index), Some(object)) = (index, request.as_object_mut()) {
                    object.insert("IndexName".into(), json!(index));
                }
                let found = query_all(db, request)?;
                let what = format!("Query {} for {name}", index.unwrap_or("(table)"));
                if found != expected {
                    return Err(mismatch(table, &what, &found, &expected));
                }
                checked.queries += 1;
                checked.entries += found.len() as u64;
            }
        }

        for _ in 0..3 {
            let store = rng.below(STORES);
            let mut expected: Vec<Item> = Vec::new();
            let mut ambiguous = false;
            let mut customer = store;
            while customer < self.customers() && !ambiguous {
                match self.customer(customer, cut)? {
                    Some(orders) => expected.extend(orders),
                    None => ambiguous = true,
                }
                customer += STORES;
            }
            if ambiguous {
                continue;
            }
            let name = store_of_customer(store);
            let mut found = query_all(
                db,
                json!({
                    "TableName": table,
                    "IndexName": "by_store",
                    "KeyConditionExpression": "#s = :s",
                    "ExpressionAttributeNames": {"#s": "store"},
                    "ExpressionAttributeValues": {":s": {"S": name}},
                }),
            )?;
            let ascending = found.windows(2).all(|w| {
                w.first().map(|a| attr_order(a, "total"))
                    <= w.get(1).map(|b| attr_order(b, "total"))
            });
            if !ascending {
                return Err(DemoError::Check(format!(
                    "{table}: by_store entries of {name} are not in total order"
                )));
            }
            let mut expected: Vec<Item> = expected.iter().map(|o| project(o, BY_STORE)).collect();
            let by_key = |item: &Item| (attr_order(item, "customer"), attr_order(item, "order"));
            found.sort_by_key(by_key);
            expected.sort_by_key(by_key);
            if found != expected {
                return Err(mismatch(
                    table,
                    &format!("Query by_store for {name}"),
                    &found,
                    &expected,
                ));
            }
            checked.queries += 1;
            checked.entries += found.len() as u64;
        }

        let page = db.call(
            "Query",
            &json!({
                "TableName": table,
                "IndexName": "by_status",
                "KeyConditionExpression": "#s = :s",
                "ExpressionAttributeNames": {"#s": "status"},
                "ExpressionAttributeValues": {":s": {"S": "SHIPPED"}},
                "Limit": 50,
            }),
        )?;
        for entry in page
            .get("Items")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let entry = item_of(entry)?;
            let index = match entry.get("order") {
                Some(AttributeValue::N(n)) => n.to_string().parse::<u64>().ok(),
                _ => None,
            };
            let Some(index) = index else {
                return Err(DemoError::Check(format!(
                    "{table}: by_status entry without an order"
                )));
            };
            let expected = match self.state(index, cut) {
                State::Ambiguous => continue,
                State::Absent => None,
                State::Present(version) => Some(project(
                    &order(self.seed, index, version)?,
                    &["customer", "order", "status", "placed_at", "total"],
                )),
            };
            if expected.as_ref() != Some(&entry) {
                return Err(mismatch(
                    table,
                    "a by_status entry",
                    &Some(entry),
                    &expected,
                ));
            }
            checked.entries += 1;
        }
        checked.queries += 1;
        Ok(checked)
    }
}

fn item_of(value: &Value) -> Result<Item, DemoError> {
    Ok(parse_item(&value.to_string())?)
}

/// `item` with only `names` (all of it when `names` is empty).
fn project(item: &Item, names: &[&str]) -> Item {
    if names.is_empty() {
        return item.clone();
    }
    let mut projected = Item::new();
    for name in names {
        if let Some(value) = item.get(name) {
            projected.insert(*name, value.clone());
        }
    }
    projected
}

/// A sort key for attribute `name`: numbers by value, strings by bytes.
fn attr_order(item: &Item, name: &str) -> (Option<ddb_model::Number>, Option<String>) {
    match item.get(name) {
        Some(AttributeValue::N(n)) => (Some(*n), None),
        Some(AttributeValue::S(s)) => (None, Some(s.clone())),
        _ => (None, None),
    }
}

fn query_all(db: &Database, mut request: Value) -> Result<Vec<Item>, DemoError> {
    let mut items = Vec::new();
    loop {
        let page = db.call("Query", &request)?;
        for item in page
            .get("Items")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            items.push(item_of(item)?);
        }
        match (page.get("LastEvaluatedKey"), request.as_object_mut()) {
            (Some(last), Some(object)) => {
                object.insert("ExclusiveStartKey".into(), last.clone());
            }
            _ => return Ok(items),
        }
    }
}

fn mismatch<T: std::fmt::Debug>(table: &str, what: &str, found: &T, expected: &T) -> DemoError {
    DemoError::Check(format!(
        "{table}: {what} differs from the source at the cut\n  found:    {found:?}\n  expected: {expected:?}"
    ))
}
