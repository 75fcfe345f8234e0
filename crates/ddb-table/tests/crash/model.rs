//! What the crash test expects: items as plain attribute maps, and what each index must hold
//! given the items, derived here without the engine's code (sparse, projected, ordered by
//! index key then table key).

use std::cmp::Ordering;
use std::collections::BTreeMap;

use ddb_model::{Item, parse_item};

pub const TABLE: &str = "crash";

/// A scalar attribute value (the workload uses strings and integers only).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Val {
    S(String),
    N(i64),
}

impl Val {
    fn json(&self) -> String {
        match self {
            Val::S(s) => format!(r#"{{"S":"{s}"}}"#),
            Val::N(n) => format!(r#"{{"N":"{n}"}}"#),
        }
    }

    pub fn is_n(&self) -> bool {
        matches!(self, Val::N(_))
    }

    /// DynamoDB's key order: strings by UTF-8 bytes, numbers by value (only values of one
    /// attribute's declared type are compared).
    fn key_cmp(&self, other: &Val) -> Ordering {
        match (self, other) {
            (Val::S(a), Val::S(b)) => a.as_bytes().cmp(b.as_bytes()),
            (Val::N(a), Val::N(b)) => a.cmp(b),
            (Val::S(_), Val::N(_)) => Ordering::Less,
            (Val::N(_), Val::S(_)) => Ordering::Greater,
        }
    }
}

/// An item: attribute name → value. Always holds `pk` (S) and `sk` (N).
pub type Row = BTreeMap<String, Val>;

/// The table key of a row.
pub type Key = (String, i64);

pub fn key_of(row: &Row) -> Key {
    match (row.get("pk"), row.get("sk")) {
        (Some(Val::S(pk)), Some(Val::N(sk))) => (pk.clone(), *sk),
        _ => panic!("a row without its table key: {row:?}"),
    }
}

pub fn key_row(key: &Key) -> Row {
    let mut row = Row::new();
    row.insert("pk".into(), Val::S(key.0.clone()));
    row.insert("sk".into(), Val::N(key.1));
    row
}

/// DynamoDB JSON of a row (or of a key).
pub fn row_json(row: &Row) -> serde_json::Value {
    let text = format!(
        "{{{}}}",
        row.iter()
            .map(|(name, value)| format!(r#""{name}":{}"#, value.json()))
            .collect::<Vec<_>>()
            .join(",")
    );
    serde_json::from_str(&text).unwrap()
}

pub fn row_item(row: &Row) -> Item {
    parse_item(&row_json(row).to_string()).unwrap()
}

/// What the acknowledged writes made of the database.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Model {
    pub table_exists: bool,
    /// Whether UpdateTable added the GSI `by_h`.
    pub by_h: bool,
    pub items: BTreeMap<Key, Row>,
}

#[derive(Debug, Clone, Copy)]
pub enum Projection {
    KeysOnly,
    Include(&'static [&'static str]),
    All,
}

/// An index as the test declares it (the engine is told the same in CreateTable/UpdateTable).
#[derive(Debug, Clone, Copy)]
pub struct IndexDef {
    pub name: &'static str,
    pub local: bool,
    /// Key attributes with their declared type (`true`: N, `false`: S).
    pub hash: (&'static str, bool),
    pub range: Option<(&'static str, bool)>,
    pub projection: Projection,
}

/// The LSI and the GSIs the table is created with.
pub const LSI_BY_LV: IndexDef = IndexDef {
    name: "by_lv",
    local: true,
    hash: ("pk", false),
    range: Some(("lv", true)),
    projection: Projection::Include(&["note"]),
};
pub const GSI_BY_G: IndexDef = IndexDef {
    name: "by_g",
    local: false,
    hash: ("g", false),
    range: Some(("lv", true)),
    projection: Projection::All,
};
pub const GSI_BY_NOTE: IndexDef = IndexDef {
    name: "by_note",
    local: false,
    hash: ("note", false),
    range: None,
    projection: Projection::KeysOnly,
};
/// The GSI UpdateTable adds (backfilled). Rows written before it may hold `h` as a string: a
/// violation, left out of the index.
pub const GSI_BY_H: IndexDef = IndexDef {
    name: "by_h",
    local: false,
    hash: ("h", true),
    range: None,
    projection: Projection::Include(&["g"]),
};

impl IndexDef {
    fn key_attr<'r>(row: &'r Row, (name, numeric): (&str, bool)) -> Option<&'r Val> {
        row.get(name).filter(|v| v.is_n() == numeric)
    }

    /// The index's contents given the table's rows.
    pub fn expected(&self, rows: &BTreeMap<Key, Row>) -> Vec<Item> {
        let mut entries: Vec<(Vec<Val>, Row)> = Vec::new();
        for row in rows.values() {
            let Some(hash) = Self::key_attr(row, self.hash) else {
                continue;
            };
            let mut sort_key = vec![hash.clone()];
            if let Some(range) = self.range {
                let Some(value) = Self::key_attr(row, range) else {
                    continue;
                };
                sort_key.push(value.clone());
            }
            let (pk, sk) = key_of(row);
            sort_key.push(Val::S(pk));
            sort_key.push(Val::N(sk));
            let keep = |name: &str| {
                name == "pk"
                    || name == "sk"
                    || name == self.hash.0
                    || self.range.is_some_and(|r| r.0 == name)
                    || match self.projection {
                        Projection::KeysOnly => false,
                        Projection::Include(names) => names.contains(&name),
                        Projection::All => true,
                    }
            };
            let projected: Row = row
                .iter()
                .filter(|(name, _)| keep(name))
                .map(|(n, v)| (n.clone(), v.clone()))
                .collect();
            entries.push((sort_key, projected));
        }
        entries.sort_by(|(a, _), (b, _)| {
            a.iter()
                .zip(b)
                .map(|(x, y)| x.key_cmp(y))
                .find(|o| o.is_ne())
                .unwrap_or(Ordering::Equal)
        });
        entries.iter().map(|(_, row)| row_item(row)).collect()
    }
}

pub fn create_table_request() -> serde_json::Value {
    serde_json::json!({
        "TableName": TABLE,
        "AttributeDefinitions": [
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "N"},
            {"AttributeName": "lv", "AttributeType": "N"},
            {"AttributeName": "g", "AttributeType": "S"},
            {"AttributeName": "note", "AttributeType": "S"}
        ],
        "KeySchema": [
            {"AttributeName": "pk", "KeyType": "HASH"},
            {"AttributeName": "sk", "KeyType": "RANGE"}
        ],
        "LocalSecondaryIndexes": [{
            "IndexName": "by_lv",
            "KeySchema": [
                {"AttributeName": "pk", "KeyType": "HASH"},
                {"AttributeName": "lv", "KeyType": "RANGE"}
            ],
            "Projection": {"ProjectionType": "INCLUDE", "NonKeyAttributes": ["note"]}
        }],
        "GlobalSecondaryIndexes": [
            {
                "IndexName": "by_g",
                "KeySchema": [
                    {"AttributeName": "g", "KeyType": "HASH"},
                    {"AttributeName": "lv", "KeyType": "RANGE"}
                ],
                "Projection": {"ProjectionType": "ALL"}
            },
            {
                "IndexName": "by_note",
                "KeySchema": [{"AttributeName": "note", "KeyType": "HASH"}],
                "Projection": {"ProjectionType": "KEYS_ONLY"}
            }
        ],
        "BillingMode": "PAY_PER_REQUEST"
    })
}

pub fn create_gsi_request() -> serde_json::Value {
    serde_json::json!({
        "TableName": TABLE,
        "AttributeDefinitions": [{"AttributeName": "h", "AttributeType": "N"}],
        "GlobalSecondaryIndexUpdates": [{"Create": {
            "IndexName": "by_h",
            "KeySchema": [{"AttributeName": "h", "KeyType": "HASH"}],
            "Projection": {"ProjectionType": "INCLUDE", "NonKeyAttributes": ["g"]}
        }}]
    })
}
