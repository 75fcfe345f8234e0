//! The table shapes the differential test runs: key types, LSIs and GSIs of every projection.

use serde_json::{Value, json};

/// An attribute's scalar type, as the shape declares it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ty {
    S,
    N,
    B,
}

impl Ty {
    fn name(self) -> &'static str {
        match self {
            Ty::S => "S",
            Ty::N => "N",
            Ty::B => "B",
        }
    }
}

#[derive(Debug, Clone)]
pub struct Index {
    pub name: &'static str,
    pub local: bool,
    pub pk: (&'static str, Ty),
    pub sk: Option<(&'static str, Ty)>,
    /// Projected non-key attributes; `None`: ALL.
    pub projected: Option<Vec<&'static str>>,
}

#[derive(Debug, Clone)]
pub struct Shape {
    pub name: &'static str,
    pub table: &'static str,
    pub pk: (&'static str, Ty),
    pub sk: Option<(&'static str, Ty)>,
    pub indexes: Vec<Index>,
    /// Whether puts sometimes carry a 150–390 KiB filler, so pages stop at 1 MB.
    pub big_items: bool,
}

/// Non-key attributes every shape uses, with their fixed types (unless a shape makes one an
/// index key): `a` S, `n` N, `tags` SS, `m` M; `fill` S (large) on shapes with big items.
pub const PLAIN_ATTRIBUTES: [&str; 4] = ["a", "n", "tags", "m"];

impl Shape {
    /// The declared key attributes of the table and its indexes, once each.
    pub fn key_attributes(&self) -> Vec<(&'static str, Ty)> {
        let mut out = vec![self.pk];
        out.extend(self.sk);
        for index in &self.indexes {
            out.push(index.pk);
            out.extend(index.sk);
        }
        let mut seen = Vec::new();
        out.retain(|(name, _)| {
            let new = !seen.contains(name);
            seen.push(name);
            new
        });
        out
    }

    /// The declared type of a key attribute.
    pub fn key_type(&self, name: &str) -> Option<Ty> {
        self.key_attributes()
            .into_iter()
            .find(|(n, _)| *n == name)
            .map(|(_, t)| t)
    }

    pub fn is_table_key(&self, name: &str) -> bool {
        self.pk.0 == name || self.sk.is_some_and(|(n, _)| n == name)
    }

    pub fn index(&self, name: &str) -> &Index {
        self.indexes
            .iter()
            .find(|i| i.name == name)
            .expect("an index of the shape")
    }

    pub fn create_table(&self) -> Value {
        let defs: Vec<Value> = self
            .key_attributes()
            .into_iter()
            .map(|(name, ty)| json!({"AttributeName": name, "AttributeType": ty.name()}))
            .collect();
        let key_schema = |pk: (&str, Ty), sk: Option<(&str, Ty)>| {
            let mut out = vec![json!({"AttributeName": pk.0, "KeyType": "HASH"})];
            if let Some((name, _)) = sk {
                out.push(json!({"AttributeName": name, "KeyType": "RANGE"}));
            }
            out
        };
        let index_json = |index: &Index| {
            let projection = match &index.projected {
                None => json!({"ProjectionType": "ALL"}),
                Some(names) if names.is_empty() => json!({"ProjectionType": "KEYS_ONLY"}),
                Some(names) => json!({"ProjectionType": "INCLUDE", "NonKeyAttributes": names}),
            };
            json!({
                "IndexName": index.name,
                "KeySchema": key_schema(index.pk, index.sk),
                "Projection": projection,
            })
        };
        let mut request = json!({
            "TableName": self.table,
            "AttributeDefinitions": defs,
            "KeySchema": key_schema(self.pk, self.sk),
            "BillingMode": "PAY_PER_REQUEST",
        });
        let lsis: Vec<Value> = self
            .indexes
            .iter()
            .filter(|i| i.local)
            .map(index_json)
            .collect();
        let gsis: Vec<Value> = self
            .indexes
            .iter()
            .filter(|i| !i.local)
            .map(index_json)
            .collect();
        if !lsis.is_empty() {
            request["LocalSecondaryIndexes"] = Value::Array(lsis);
        }
        if !gsis.is_empty() {
            request["GlobalSecondaryIndexes"] = Value::Array(gsis);
        }
        request
    }
}

pub fn all() -> Vec<Shape> {
    vec![
        Shape {
            name: "hash_s",
            table: "hash_s",
            pk: ("pk", Ty::S),
            sk: None,
            indexes: vec![
                Index {
                    name: "g_keys",
                    local: false,
                    pk: ("g", Ty::S),
                    sk: None,
                    projected: Some(vec![]),
                },
                Index {
                    name: "x_all",
                    local: false,
                    pk: ("x", Ty::N),
                    sk: Some(("g", Ty::S)),
                    projected: None,
                },
            ],
            big_items: false,
        },
        Shape {
            name: "range_s",
            table: "range_s",
            pk: ("pk", Ty::S),
            sk: Some(("sk", Ty::S)),
            indexes: vec![
                Index {
                    name: "lsi_n",
                    local: true,
                    pk: ("pk", Ty::S),
                    sk: Some(("n", Ty::N)),
                    projected: Some(vec!["a"]),
                },
                Index {
                    name: "g_include",
                    local: false,
                    pk: ("g", Ty::S),
                    sk: Some(("x", Ty::N)),
                    projected: Some(vec!["tags", "fill"]),
                },
            ],
            big_items: true,
        },
        Shape {
            name: "range_n",
            table: "range_n",
            pk: ("pk", Ty::N),
            sk: Some(("sk", Ty::N)),
            indexes: vec![
                Index {
                    name: "lsi_g",
                    local: true,
                    pk: ("pk", Ty::N),
                    sk: Some(("g", Ty::S)),
                    projected: Some(vec![]),
                },
                Index {
                    name: "lsi_y",
                    local: true,
                    pk: ("pk", Ty::N),
                    sk: Some(("y", Ty::B)),
                    projected: None,
                },
                Index {
                    name: "y_keys",
                    local: false,
                    pk: ("y", Ty::B),
                    sk: None,
                    projected: Some(vec![]),
                },
            ],
            big_items: false,
        },
        Shape {
            name: "range_b",
            table: "range_b",
            pk: ("pk", Ty::B),
            sk: Some(("sk", Ty::B)),
            indexes: vec![
                Index {
                    name: "g_all",
                    local: false,
                    pk: ("g", Ty::S),
                    sk: None,
                    projected: None,
                },
                Index {
                    name: "n_keys",
                    local: false,
                    pk: ("n", Ty::N),
                    sk: Some(("sk", Ty::B)),
                    projected: Some(vec![]),
                },
            ],
            big_items: true,
        },
    ]
}
