//! Key schemas: the wire shapes DynamoDB uses to declare keys (`KeySchemaElement`,
//! `AttributeDefinition`, `Projection`) and the resolved [`TableSchema`] that item validation and
//! the key encoding work from.
//!
//! A [`TableSchema`] is only built from a validated table definition (see [`crate::table`]), so
//! code holding one may rely on its invariants: every key attribute has exactly one declared type,
//! index names are unique, LSIs share the table's partition key.

use serde::{Deserialize, Serialize};

/// The type of a key attribute: only strings, numbers and binary can be keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum ScalarAttributeType {
    S,
    N,
    B,
}

impl ScalarAttributeType {
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::S => "S",
            Self::N => "N",
            Self::B => "B",
        }
    }
}

impl std::fmt::Display for ScalarAttributeType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `HASH` (partition key) or `RANGE` (sort key).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum KeyType {
    Hash,
    Range,
}

impl KeyType {
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Hash => "HASH",
            Self::Range => "RANGE",
        }
    }
}

/// One element of a `KeySchema` list.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct KeySchemaElement {
    pub attribute_name: String,
    pub key_type: KeyType,
}

/// One element of `AttributeDefinitions`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct AttributeDefinition {
    pub attribute_name: String,
    pub attribute_type: ScalarAttributeType,
}

/// Which attributes an index copies from the table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ProjectionType {
    KeysOnly,
    Include,
    All,
}

impl ProjectionType {
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::KeysOnly => "KEYS_ONLY",
            Self::Include => "INCLUDE",
            Self::All => "ALL",
        }
    }
}

/// The `Projection` of an index as it appears in requests and descriptions.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Projection {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub projection_type: Option<ProjectionType>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub non_key_attributes: Option<Vec<String>>,
}

/// A key attribute with its declared type.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct KeyAttribute {
    pub name: String,
    pub attribute_type: ScalarAttributeType,
}

impl KeyAttribute {
    pub fn new(name: impl Into<String>, attribute_type: ScalarAttributeType) -> Self {
        Self {
            name: name.into(),
            attribute_type,
        }
    }
}

/// The primary key of a table or of an index: a partition key and an optional sort key.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct KeyDef {
    pub partition: KeyAttribute,
    pub sort: Option<KeyAttribute>,
}

impl KeyDef {
    /// The key attributes, partition key first.
    pub fn attributes(&self) -> impl Iterator<Item = &KeyAttribute> {
        std::iter::once(&self.partition).chain(self.sort.as_ref())
    }

    /// Whether `name` is one of this key's attributes.
    pub fn contains(&self, name: &str) -> bool {
        self.attributes().any(|a| a.name == name)
    }

    /// The `KeySchema` list for this key, in DynamoDB's order (HASH first).
    pub fn key_schema(&self) -> Vec<KeySchemaElement> {
        let mut out = vec![KeySchemaElement {
            attribute_name: self.partition.name.clone(),
            key_type: KeyType::Hash,
        }];
        if let Some(sort) = &self.sort {
            out.push(KeySchemaElement {
                attribute_name: sort.name.clone(),
                key_type: KeyType::Range,
            });
        }
        out
    }
}

/// Local (same partition key, maintained with the write) or global (any key, maintained
/// asynchronously).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IndexKind {
    Local,
    Global,
}

/// The attributes an index holds besides the table and index keys, resolved from a
/// [`Projection`].
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ResolvedProjection {
    KeysOnly,
    /// The listed non-key attributes (sorted, no duplicates).
    Include(Vec<String>),
    All,
}

impl ResolvedProjection {
    /// Whether a non-key attribute called `name` is copied into the index.
    pub fn includes(&self, name: &str) -> bool {
        match self {
            Self::KeysOnly => false,
            Self::Include(names) => names.binary_search_by(|n| n.as_str().cmp(name)).is_ok(),
            Self::All => true,
        }
    }
}

/// A secondary index of a table.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct IndexSchema {
    pub name: String,
    pub kind: IndexKind,
    pub key: KeyDef,
    pub projection: ResolvedProjection,
}

/// The resolved key schema of a table and its indexes.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TableSchema {
    pub key: KeyDef,
    pub indexes: Vec<IndexSchema>,
}

impl TableSchema {
    /// A table with no secondary indexes.
    pub fn new(key: KeyDef) -> Self {
        Self {
            key,
            indexes: Vec::new(),
        }
    }

    pub fn index(&self, name: &str) -> Option<&IndexSchema> {
        self.indexes.iter().find(|i| i.name == name)
    }

    /// The declared type of a key attribute of the table or of any index.
    pub fn attribute_type(&self, name: &str) -> Option<ScalarAttributeType> {
        self.key
            .attributes()
            .chain(self.indexes.iter().flat_map(|i| i.key.attributes()))
            .find(|a| a.name == name)
            .map(|a| a.attribute_type)
    }

    /// `AttributeDefinitions` for this schema: every key attribute once, sorted by name.
    pub fn attribute_definitions(&self) -> Vec<AttributeDefinition> {
        let mut defs: Vec<AttributeDefinition> = self
            .key
            .attributes()
            .chain(self.indexes.iter().flat_map(|i| i.key.attributes()))
            .map(|a| AttributeDefinition {
                attribute_name: a.name.clone(),
                attribute_type: a.attribute_type,
            })
            .collect();
        defs.sort_by(|a, b| a.attribute_name.cmp(&b.attribute_name));
        defs.dedup_by(|a, b| a.attribute_name == b.attribute_name);
        defs
    }
}
