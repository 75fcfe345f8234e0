//! The workload: a seeded list of operations, generated together with the model state after
//! each, so that a run cut short anywhere knows what was acknowledged and what was in flight.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::model::{Key, Model, Row, TABLE, Val, key_of, key_row, row_json};

/// SplitMix64, for choosing operations; the simulated disk has its own seeded generator.
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
        self.next() % n
    }

    pub fn below_usize(&mut self, n: usize) -> usize {
        usize::try_from(self.below(u64::try_from(n).unwrap())).unwrap()
    }

    pub fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }

    fn range_i64(&mut self, low: i64, high: i64) -> i64 {
        low + i64::try_from(self.below(u64::try_from(high - low).unwrap())).unwrap()
    }
}

/// One step of the workload.
#[derive(Debug, Clone)]
pub enum Op {
    CreateTable,
    /// A DynamoDB data-plane call (`PutItem`, `UpdateItem`, `DeleteItem`, `BatchWriteItem`).
    Call(&'static str, Value),
    Checkpoint,
    /// `run_pending_work`: GSI catch-up, requested checkpoints, backfills.
    RunPending,
    /// UpdateTable adding `by_h`.
    CreateGsi,
}

/// The operations and the model after each.
#[derive(Debug, Clone)]
pub struct Workload {
    pub steps: Vec<(Op, Model)>,
}

/// Knobs for [`generate`].
#[derive(Debug, Clone, Copy)]
pub struct Shape {
    pub writes: usize,
    /// Whether `by_h` is added part-way.
    pub add_gsi: bool,
}

pub struct Generator {
    rng: Rng,
    /// Set once `by_h` is (being) added: from then on `h` is written as a number only, since a
    /// string `h` is a key-type error once the index is ACTIVE.
    h_numeric_only: bool,
    /// Partition count: few, so that LSI collections hold several items.
    partitions: u64,
    sort_keys: i64,
}

impl Generator {
    pub fn new(seed: u64) -> Generator {
        Generator {
            rng: Rng(seed ^ 0x7AB1_E5EE_D000_0001),
            h_numeric_only: false,
            partitions: 5,
            sort_keys: 40,
        }
    }

    fn key(&mut self) -> Key {
        let pk = format!("p{}", self.rng.below(self.partitions));
        (pk, self.rng.range_i64(0, self.sort_keys))
    }

    /// A key that exists most of the time (updates and deletes should hit items).
    fn existing_key(&mut self, model: &Model) -> Key {
        if !model.items.is_empty() && self.rng.chance(80) {
            let i = self.rng.below_usize(model.items.len());
            model.items.keys().nth(i).unwrap().clone()
        } else {
            self.key()
        }
    }

    fn value_for(&mut self, attr: &str) -> Val {
        match attr {
            "lv" => Val::N(self.rng.range_i64(-60, 60)),
            "g" => Val::S(["a", "b", "c", "d", "aa"][self.rng.below_usize(5)].to_owned()),
            "note" => Val::S(format!("n{}", self.rng.below(6))),
            "h" if !self.h_numeric_only && self.rng.chance(20) => Val::S("x".to_owned()),
            "h" => Val::N(self.rng.range_i64(-5, 10)),
            // Filler, so that the memtable budget asks for checkpoints now and then.
            "pad" => Val::S("z".repeat(self.rng.below_usize(400) + 1)),
            other => panic!("no generator for {other}"),
        }
    }

    fn row(&mut self, key: &Key) -> Row {
        let mut row = key_row(key);
        for (attr, percent) in [("lv", 70), ("g", 60), ("note", 60), ("h", 50), ("pad", 70)] {
            if self.rng.chance(percent) {
                let value = self.value_for(attr);
                row.insert(attr.to_owned(), value);
            }
        }
        row
    }

    /// An UpdateItem: SET of one to three attributes, REMOVE of up to two others.
    fn update(&mut self, model: &mut Model) -> Op {
        let key = self.existing_key(model);
        let attrs = ["lv", "g", "note", "h", "pad"];
        let mut set: BTreeMap<&str, Val> = BTreeMap::new();
        let mut remove: Vec<&str> = Vec::new();
        for _ in 0..=self.rng.below(2) {
            let attr = attrs[self.rng.below_usize(attrs.len())];
            let value = self.value_for(attr);
            set.insert(attr, value);
        }
        for _ in 0..self.rng.below(3) {
            let attr = attrs[self.rng.below_usize(attrs.len())];
            if !set.contains_key(attr) && !remove.contains(&attr) {
                remove.push(attr);
            }
        }
        // A string `h` already stored would fail validation against an ACTIVE `by_h`.
        let stored_string_h = model
            .items
            .get(&key)
            .and_then(|r| r.get("h"))
            .is_some_and(|h| !h.is_n());
        if self.h_numeric_only
            && stored_string_h
            && !set.contains_key("h")
            && !remove.contains(&"h")
        {
            remove.push("h");
        }
        let mut names = serde_json::Map::new();
        let mut values = serde_json::Map::new();
        let mut sets = Vec::new();
        for (i, (attr, value)) in set.iter().enumerate() {
            names.insert(format!("#s{i}"), json!(attr));
            let mut one = Row::new();
            one.insert("v".into(), value.clone());
            values.insert(format!(":s{i}"), row_json(&one)["v"].clone());
            sets.push(format!("#s{i} = :s{i}"));
        }
        let mut removes = Vec::new();
        for (i, attr) in remove.iter().enumerate() {
            names.insert(format!("#r{i}"), json!(attr));
            removes.push(format!("#r{i}"));
        }
        let mut expression = format!("SET {}", sets.join(", "));
        if !removes.is_empty() {
            expression.push_str(&format!(" REMOVE {}", removes.join(", ")));
        }
        let row = model
            .items
            .entry(key.clone())
            .or_insert_with(|| key_row(&key));
        for (attr, value) in set {
            row.insert(attr.to_owned(), value);
        }
        for attr in remove {
            row.remove(attr);
        }
        Op::Call(
            "UpdateItem",
            json!({
                "TableName": TABLE,
                "Key": row_json(&key_row(&key)),
                "UpdateExpression": expression,
                "ExpressionAttributeNames": names,
                "ExpressionAttributeValues": values,
            }),
        )
    }

    fn batch(&mut self, model: &mut Model) -> Op {
        let mut requests = Vec::new();
        let mut seen = std::collections::BTreeSet::new();
        for _ in 0..=self.rng.below(8) {
            let key = self.existing_key(model);
            if !seen.insert(key.clone()) {
                continue;
            }
            if self.rng.chance(30) {
                model.items.remove(&key);
                requests.push(json!({"DeleteRequest": {"Key": row_json(&key_row(&key))}}));
            } else {
                let row = self.row(&key);
                requests.push(json!({"PutRequest": {"Item": row_json(&row)}}));
                model.items.insert(key, row);
            }
        }
        Op::Call("BatchWriteItem", json!({"RequestItems": {TABLE: requests}}))
    }

    fn write(&mut self, model: &mut Model) -> Op {
        match self.rng.below(100) {
            0..40 => {
                let key = self.key();
                let row = self.row(&key);
                model.items.insert(key_of(&row), row.clone());
                Op::Call(
                    "PutItem",
                    json!({"TableName": TABLE, "Item": row_json(&row)}),
                )
            }
            40..65 => self.update(model),
            65..80 => {
                let key = self.existing_key(model);
                model.items.remove(&key);
                Op::Call(
                    "DeleteItem",
                    json!({"TableName": TABLE, "Key": row_json(&key_row(&key))}),
                )
            }
            _ => self.batch(model),
        }
    }

    pub fn set_h_numeric_only(&mut self, numeric_only: bool) {
        self.h_numeric_only = numeric_only;
    }

    /// Writes only.
    pub fn extend_writes(
        &mut self,
        model: &mut Model,
        writes: usize,
        steps: &mut Vec<(Op, Model)>,
    ) {
        for _ in 0..writes {
            let op = self.write(model);
            steps.push((op, model.clone()));
        }
    }

    /// Writes (and checkpoints, GSI catch-up, background jobs) on a model, appending each
    /// step to `steps`.
    pub fn extend(&mut self, model: &mut Model, writes: usize, steps: &mut Vec<(Op, Model)>) {
        for _ in 0..writes {
            let op = match self.rng.below(100) {
                0..5 => Op::Checkpoint,
                5..15 => Op::RunPending,
                _ => self.write(model),
            };
            steps.push((op, model.clone()));
        }
    }

    /// The whole workload of a case: create the table, write, maybe add `by_h` part-way (and
    /// keep writing while it backfills), write more.
    pub fn generate(&mut self, shape: Shape) -> Workload {
        let mut model = Model::default();
        let mut steps = Vec::new();
        model.table_exists = true;
        steps.push((Op::CreateTable, model.clone()));
        let gsi_at = if shape.add_gsi {
            shape.writes / 4 + self.rng.below_usize(shape.writes / 2)
        } else {
            usize::MAX
        };
        let first = gsi_at.min(shape.writes);
        self.extend(&mut model, first, &mut steps);
        if shape.add_gsi {
            self.h_numeric_only = true;
            model.by_h = true;
            steps.push((Op::CreateGsi, model.clone()));
            // A few writes while the backfill is queued, then the backfill (and more writes).
            let before = self.rng.below_usize(4);
            self.extend(&mut model, before, &mut steps);
            steps.push((Op::RunPending, model.clone()));
            self.extend(&mut model, shape.writes - first, &mut steps);
        }
        Workload { steps }
    }
}
