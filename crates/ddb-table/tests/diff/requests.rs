//! Random requests over a shape: values chosen from small pools full of edge cases, so that
//! keys collide, ties happen and orderings that differ between encodings show up.

use std::collections::{BTreeMap, BTreeSet};

use ddb_model::{AttributeValue, Item, Number};
use serde_json::{Map, Value, json};

use super::shapes::{Index, PLAIN_ATTRIBUTES, Shape, Ty};
use crate::model::{Model, item_to_json, value_to_json};

/// SplitMix64: tiny, seedable, good enough to pick test cases.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (`n > 0`).
    pub fn below(&mut self, n: usize) -> usize {
        usize::try_from(self.next_u64() % u64::try_from(n).unwrap()).unwrap()
    }

    /// True with probability `percent`/100.
    pub fn chance(&mut self, percent: usize) -> bool {
        self.below(100) < percent
    }

    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

/// Strings around the places UTF-8 and UTF-16 order disagree, multi-byte prefixes, ASCII
/// case and DEL.
const STRINGS: [&str; 15] = [
    "a",
    "ab",
    "abc",
    "b",
    "e",
    "é",
    "éa",
    "\u{FFFF}",
    "\u{FFFF}x",
    "\u{1F600}",
    "\u{1F600}a",
    "z",
    "A",
    "\u{7F}",
    "日本",
];
/// Numbers equal in value but not in text (1, 1.0; 10, 1E1), tiny, negative, 38 digits, the
/// ends of the range.
const NUMBERS: [&str; 18] = [
    "1",
    "1.0",
    "10",
    "1E1",
    "0.001",
    "-1",
    "-0.001",
    "-10",
    "0",
    "2",
    "99999999999999999999999999999999999999",
    "-99999999999999999999999999999999999999",
    "1.5",
    "1E-130",
    "100",
    "0.1",
    "-1E125",
    "9.9999999999999999999999999999999999999E125",
];
/// Binary with 0x00 and 0xFF where escaping and unsigned order matter.
const BINARIES: [&[u8]; 11] = [
    &[0],
    &[0, 0],
    &[0, 255],
    &[1],
    &[255],
    &[255, 0],
    &[255, 255],
    &[0x61],
    &[0x61, 0x62],
    &[0x7F],
    &[0x80],
];

pub fn number(text: &str) -> AttributeValue {
    AttributeValue::N(Number::parse(text).unwrap())
}

/// A value of type `ty` from the pools; `narrow` keeps to the first few (partition keys, so
/// that partitions hold several items).
pub fn scalar(rng: &mut Rng, ty: Ty, narrow: bool) -> AttributeValue {
    let n = |len: usize| if narrow { len.min(5) } else { len };
    match ty {
        Ty::S => AttributeValue::S(STRINGS[rng.below(n(STRINGS.len()))].to_owned()),
        Ty::N => number(NUMBERS[rng.below(n(NUMBERS.len()))]),
        Ty::B => AttributeValue::B(BINARIES[rng.below(n(BINARIES.len()))].to_vec()),
    }
}

/// A prefix for `begins_with`: a pool value or its first character or byte.
fn prefix(rng: &mut Rng, ty: Ty) -> AttributeValue {
    match (scalar(rng, ty, false), rng.chance(50)) {
        (AttributeValue::S(s), true) => AttributeValue::S(s.chars().take(1).collect()),
        (AttributeValue::B(b), true) => AttributeValue::B(b[..1].to_vec()),
        (v, _) => v,
    }
}

/// Some other type than `ty`, for writes DynamoDB must refuse.
fn wrong_type(rng: &mut Rng, ty: Ty) -> AttributeValue {
    match ty {
        Ty::S => scalar(rng, Ty::N, false),
        Ty::N | Ty::B => scalar(rng, Ty::S, false),
    }
}

fn plain_value(rng: &mut Rng, name: &str, big_items: bool) -> AttributeValue {
    match name {
        "a" => AttributeValue::S(rng.pick(&["", "x", "é", "abc", "\u{1F600}"]).to_string()),
        "n" => scalar(rng, Ty::N, false),
        "tags" => string_set(rng),
        "m" => AttributeValue::M(BTreeMap::from([(
            "k".to_owned(),
            scalar(rng, Ty::S, false),
        )])),
        "fill" if big_items => {
            let kib = 150 + rng.below(240);
            AttributeValue::S("f".repeat(kib * 1024))
        }
        other => panic!("no generator for {other}"),
    }
}

fn string_set(rng: &mut Rng) -> AttributeValue {
    let mut set = BTreeSet::new();
    while set.is_empty() || rng.chance(40) {
        set.insert(rng.pick(&["t1", "t2", "t3"]).to_string());
    }
    AttributeValue::Ss(set)
}

/// A value for attribute `name`: its declared type if it is a key attribute of the shape
/// (sometimes, when `mistype`, another type or an empty string), else its fixed type.
fn value_for(rng: &mut Rng, shape: &Shape, name: &str, mistype: bool) -> AttributeValue {
    match shape.key_type(name) {
        Some(ty) if mistype && rng.chance(70) => wrong_type(rng, ty),
        Some(Ty::S) if mistype => AttributeValue::S(String::new()),
        Some(ty) => scalar(rng, ty, false),
        None => plain_value(rng, name, shape.big_items),
    }
}

/// The non-table-key attributes items of this shape can have.
pub fn attribute_names(shape: &Shape) -> Vec<&'static str> {
    let mut names: Vec<&'static str> = shape
        .key_attributes()
        .into_iter()
        .map(|(n, _)| n)
        .filter(|n| !shape.is_table_key(n))
        .collect();
    for name in PLAIN_ATTRIBUTES {
        if !names.contains(&name) {
            names.push(name);
        }
    }
    names
}

/// A table key: a new one or, often, one of an existing item.
pub fn key(rng: &mut Rng, shape: &Shape, model: &Model) -> Item {
    let items = &model.tables[shape.table].items;
    if !items.is_empty() && rng.chance(60) {
        let item = rng.pick(items);
        return key_of(shape, item);
    }
    let mut key = Item::new();
    key.insert(shape.pk.0, scalar(rng, shape.pk.1, true));
    if let Some((name, ty)) = shape.sk {
        key.insert(name, scalar(rng, ty, false));
    }
    key
}

pub fn key_of(shape: &Shape, item: &Item) -> Item {
    let mut key = Item::new();
    for name in std::iter::once(shape.pk.0).chain(shape.sk.map(|(n, _)| n)) {
        key.insert(name, item.get(name).unwrap().clone());
    }
    key
}

/// An item to put: a key and a random subset of the other attributes; `invalid` percent of
/// the time one index key attribute is mistyped.
pub fn item(rng: &mut Rng, shape: &Shape, model: &Model, invalid: usize) -> Item {
    let mut item = key(rng, shape, model);
    let mistyped = rng.chance(invalid);
    let names = attribute_names(shape);
    let bad = mistyped.then(|| {
        let keys: Vec<&str> = names
            .iter()
            .copied()
            .filter(|n| shape.key_type(n).is_some())
            .collect();
        *rng.pick(&keys)
    });
    for name in names {
        if Some(name) == bad || rng.chance(65) {
            item.insert(name, value_for(rng, shape, name, Some(name) == bad));
        }
    }
    if shape.big_items && rng.chance(35) {
        item.insert("fill", plain_value(rng, "fill", true));
    }
    item
}

/// Collects `:v0`, `:v1`, ... placeholders for a request.
#[derive(Default)]
pub struct Values(Map<String, Value>);

impl Values {
    pub fn add(&mut self, value: &AttributeValue) -> String {
        let name = format!(":v{}", self.0.len());
        self.0.insert(name.clone(), value_to_json(value));
        name
    }

    /// Puts the map into `request` if any placeholder was used.
    pub fn into_request(self, request: &mut Value) {
        if !self.0.is_empty() {
            request["ExpressionAttributeValues"] = Value::Object(self.0);
        }
    }
}

/// A condition for a write on an item of this shape, or none.
pub fn write_condition(rng: &mut Rng, shape: &Shape, values: &mut Values) -> Option<String> {
    let pk = shape.pk.0;
    Some(match rng.below(14) {
        0 => format!("attribute_not_exists({pk})"),
        1 => format!("attribute_exists({pk})"),
        2 => format!("n > {}", values.add(&scalar(rng, Ty::N, false))),
        3 => format!(
            "attribute_not_exists(a) OR a = {}",
            values.add(&plain_value(rng, "a", false))
        ),
        4 => format!(
            "contains(tags, {})",
            values.add(&AttributeValue::S("t1".into()))
        ),
        _ => return None,
    })
}

pub fn put_request(rng: &mut Rng, shape: &Shape, model: &Model) -> Value {
    let item = item(rng, shape, model, 8);
    let mut request = json!({"TableName": shape.table, "Item": item_to_json(&item)});
    let mut values = Values::default();
    if let Some(condition) = write_condition(rng, shape, &mut values) {
        request["ConditionExpression"] = json!(condition);
    }
    values.into_request(&mut request);
    match rng.below(3) {
        0 => request["ReturnValues"] = json!("ALL_OLD"),
        1 => request["ReturnValues"] = json!("NONE"),
        _ => {}
    }
    request
}

pub fn delete_request(rng: &mut Rng, shape: &Shape, model: &Model) -> Value {
    let key = key(rng, shape, model);
    let mut request = json!({"TableName": shape.table, "Key": item_to_json(&key)});
    let mut values = Values::default();
    if let Some(condition) = write_condition(rng, shape, &mut values) {
        request["ConditionExpression"] = json!(condition);
    }
    values.into_request(&mut request);
    if rng.chance(50) {
        request["ReturnValues"] = json!("ALL_OLD");
    }
    request
}

pub fn update_request(rng: &mut Rng, shape: &Shape, model: &Model) -> Value {
    let key = key(rng, shape, model);
    let mut values = Values::default();
    let (mut sets, mut removes, mut adds, mut deletes) = (vec![], vec![], vec![], vec![]);
    for name in attribute_names(shape) {
        if !rng.chance(35) {
            continue;
        }
        let is_index_key = shape.key_type(name).is_some();
        match (name, rng.below(4)) {
            (_, 0) => removes.push(name.to_owned()),
            ("n", 1) => {
                let zero = values.add(&number("0"));
                let d = values.add(&scalar(rng, Ty::N, false));
                sets.push(format!("n = if_not_exists(n, {zero}) + {d}"));
            }
            ("n", 2) if !is_index_key || rng.chance(30) => {
                let step = *rng.pick(&["1", "-2.5", "0.001"]);
                adds.push(format!("n {}", values.add(&number(step))));
            }
            ("tags", 1) => adds.push(format!("tags {}", values.add(&string_set(rng)))),
            ("tags", 2) => deletes.push(format!("tags {}", values.add(&string_set(rng)))),
            _ => {
                let mistype = is_index_key && rng.chance(8);
                let value = value_for(rng, shape, name, mistype);
                sets.push(format!("{name} = {}", values.add(&value)));
            }
        }
    }
    if sets.is_empty() && removes.is_empty() && adds.is_empty() && deletes.is_empty() {
        sets.push(format!("a = {}", values.add(&plain_value(rng, "a", false))));
    }
    let mut clauses = Vec::new();
    for (keyword, actions) in [
        ("SET", sets),
        ("REMOVE", removes),
        ("ADD", adds),
        ("DELETE", deletes),
    ] {
        if !actions.is_empty() {
            clauses.push(format!("{keyword} {}", actions.join(", ")));
        }
    }
    let mut request = json!({
        "TableName": shape.table,
        "Key": item_to_json(&key),
        "UpdateExpression": clauses.join(" "),
    });
    if let Some(condition) = write_condition(rng, shape, &mut values) {
        request["ConditionExpression"] = json!(condition);
    }
    values.into_request(&mut request);
    let returns = ["NONE", "ALL_OLD", "UPDATED_OLD", "ALL_NEW", "UPDATED_NEW"];
    if rng.chance(80) {
        request["ReturnValues"] = json!(rng.pick(&returns));
    }
    request
}

pub fn get_request(rng: &mut Rng, shape: &Shape, model: &Model) -> Value {
    let key = key(rng, shape, model);
    let mut request = json!({"TableName": shape.table, "Key": item_to_json(&key)});
    if rng.chance(30) {
        let mut names = vec![shape.pk.0];
        names.extend(attribute_names(shape));
        request["ProjectionExpression"] = json!(projection(rng, &names));
    }
    if rng.chance(50) {
        request["ConsistentRead"] = json!(true);
    }
    request
}

pub fn batch_request(rng: &mut Rng, shape: &Shape, model: &Model) -> Value {
    let mut keys: Vec<Item> = Vec::new();
    let mut requests = Vec::new();
    for _ in 0..1 + rng.below(5) {
        let (key, request) = if rng.chance(70) {
            let item = item(rng, shape, model, 3);
            (
                key_of(shape, &item),
                json!({"PutRequest": {"Item": item_to_json(&item)}}),
            )
        } else {
            let key = key(rng, shape, model);
            let request = json!({"DeleteRequest": {"Key": item_to_json(&key)}});
            (key, request)
        };
        // Distinct keys, except for an occasional duplicate DynamoDB must refuse.
        if keys.contains(&key) && !rng.chance(10) {
            continue;
        }
        keys.push(key);
        requests.push(request);
    }
    json!({"RequestItems": {shape.table: requests}})
}

fn projection(rng: &mut Rng, names: &[&str]) -> String {
    let mut chosen: Vec<&str> = Vec::new();
    while chosen.is_empty() || (chosen.len() < 3 && rng.chance(50)) {
        let name = *rng.pick(names);
        if !chosen.contains(&name) {
            chosen.push(name);
        }
    }
    chosen.join(", ")
}

/// What a read targets: the table or one of its indexes.
pub fn target<'a>(rng: &mut Rng, shape: &'a Shape) -> Option<&'a Index> {
    if shape.indexes.is_empty() || rng.chance(35) {
        None
    } else {
        Some(rng.pick(&shape.indexes))
    }
}

/// Attributes a read of `target` can see: for a GSI only what it projects.
fn readable(shape: &Shape, target: Option<&Index>) -> Vec<&'static str> {
    let mut names = vec![shape.pk.0];
    names.extend(shape.sk.map(|(n, _)| n));
    let mut rest = attribute_names(shape);
    if shape.big_items {
        rest.push("fill");
    }
    for name in rest {
        let visible = match target {
            Some(index) if !index.local => {
                index.pk.0 == name
                    || index.sk.is_some_and(|(n, _)| n == name)
                    || index.projected.as_ref().is_none_or(|p| p.contains(&name))
            }
            _ => true,
        };
        if visible {
            names.push(name);
        }
    }
    names
}

/// Attributes a filter on `target` may use: visible, projected into an index (so LSI fetches
/// are not needed to evaluate it), and not a key of the table or of the target.
fn filterable(shape: &Shape, target: Option<&Index>) -> Vec<&'static str> {
    readable(shape, target)
        .into_iter()
        .filter(|name| ["a", "n", "tags"].contains(name))
        .filter(|name| !shape.is_table_key(name))
        .filter(|name| {
            target.is_none_or(|index| {
                index.pk.0 != *name
                    && index.sk.is_none_or(|(n, _)| n != *name)
                    && index.projected.as_ref().is_none_or(|p| p.contains(name))
            })
        })
        .collect()
}

fn filter(rng: &mut Rng, names: &[&str], values: &mut Values) -> Option<String> {
    if names.is_empty() || !rng.chance(35) {
        return None;
    }
    Some(match *rng.pick(names) {
        "a" => match rng.below(3) {
            0 => "attribute_exists(a)".to_owned(),
            1 => format!(
                "begins_with(a, {})",
                values.add(&AttributeValue::S("a".into()))
            ),
            _ => format!("a <> {}", values.add(&AttributeValue::S(String::new()))),
        },
        "n" => match rng.below(2) {
            0 => format!("n >= {}", values.add(&scalar(rng, Ty::N, false))),
            _ => format!(
                "attribute_not_exists(n) OR n BETWEEN {} AND {}",
                values.add(&number("-1")),
                values.add(&number("10"))
            ),
        },
        _ => format!(
            "contains(tags, {})",
            values.add(&AttributeValue::S("t2".into()))
        ),
    })
}

/// The optional parts every read shares: Limit, filter, projection or Select.
fn read_options(
    rng: &mut Rng,
    shape: &Shape,
    target: Option<&Index>,
    request: &mut Value,
    values: &mut Values,
) {
    if let Some(index) = target {
        request["IndexName"] = json!(index.name);
    }
    if rng.chance(60) {
        request["Limit"] = json!(*rng.pick(&[1, 2, 3, 7]));
    }
    if let Some(filter) = filter(rng, &filterable(shape, target), values) {
        request["FilterExpression"] = json!(filter);
    }
    match rng.below(10) {
        0 => request["Select"] = json!("COUNT"),
        1 if target.is_none_or(|i| i.local || i.projected.is_none()) => {
            request["Select"] = json!("ALL_ATTRIBUTES");
        }
        2 if target.is_some() => request["Select"] = json!("ALL_PROJECTED_ATTRIBUTES"),
        3 | 4 => {
            // An LSI read may name attributes the index does not hold (they are fetched).
            let names = match target {
                Some(index) if index.local => {
                    let mut names = readable(shape, None);
                    names.retain(|n| *n != "fill");
                    names
                }
                _ => readable(shape, target),
            };
            request["ProjectionExpression"] = json!(projection(rng, &names));
        }
        _ => {}
    }
}

pub fn query_request(rng: &mut Rng, shape: &Shape, model: &Model) -> Value {
    let target = target(rng, shape);
    let (pk, sk) = match target {
        Some(index) => (index.pk, index.sk),
        None => (shape.pk, shape.sk),
    };
    // Usually a partition that exists in the target.
    let holders: Vec<&Item> = model.tables[shape.table]
        .items
        .iter()
        .filter(|item| item.get(pk.0).is_some_and(|v| has_type(v, pk.1)))
        .collect();
    let partition = if !holders.is_empty() && rng.chance(85) {
        rng.pick(&holders).get(pk.0).unwrap().clone()
    } else {
        scalar(rng, pk.1, true)
    };
    let mut values = Values::default();
    let mut condition = format!("{} = {}", pk.0, values.add(&partition));
    if let Some((name, ty)) = sk {
        let ops = ["=", "<", "<=", ">", ">=", "between", "begins_with"];
        match *rng.pick(&ops[..]) {
            _ if rng.chance(25) => {}
            "between" => {
                let (mut low, mut high) = (scalar(rng, ty, false), scalar(rng, ty, false));
                if crate::model::compare(&low, &high).is_gt() {
                    std::mem::swap(&mut low, &mut high);
                }
                let (low, high) = (values.add(&low), values.add(&high));
                condition.push_str(&format!(" AND {name} BETWEEN {low} AND {high}"));
            }
            "begins_with" if ty != Ty::N => {
                let p = values.add(&prefix(rng, ty));
                condition.push_str(&format!(" AND begins_with({name}, {p})"));
            }
            "begins_with" => {}
            op => {
                let v = values.add(&scalar(rng, ty, false));
                condition.push_str(&format!(" AND {name} {op} {v}"));
            }
        }
    }
    let mut request = json!({"TableName": shape.table, "KeyConditionExpression": condition});
    if rng.chance(40) {
        request["ScanIndexForward"] = json!(false);
    }
    read_options(rng, shape, target, &mut request, &mut values);
    values.into_request(&mut request);
    request
}

pub fn scan_request(rng: &mut Rng, shape: &Shape) -> Value {
    let target = target(rng, shape);
    let mut request = json!({"TableName": shape.table});
    let mut values = Values::default();
    read_options(rng, shape, target, &mut request, &mut values);
    values.into_request(&mut request);
    request
}

fn has_type(value: &AttributeValue, ty: Ty) -> bool {
    matches!(
        (value, ty),
        (AttributeValue::S(_), Ty::S)
            | (AttributeValue::N(_), Ty::N)
            | (AttributeValue::B(_), Ty::B)
    )
}
