//! Attribute values and items.
//!
//! Sets are `BTreeSet`s, so a set can hold no duplicate (numeric equality for `NS`, since
//! [`Number`] is normalised) and always iterates in its canonical order: strings by UTF-8 bytes,
//! numbers numerically, binary by unsigned bytes. An [`Item`] keeps its attributes sorted by
//! name (UTF-8 bytes). Both orders are the ones the canonical DynamoDB JSON is written in.

use std::collections::{BTreeMap, BTreeSet};

use crate::error::{DdbError, Result};
use crate::number::Number;

/// Item size limit: 400 KB as DynamoDB counts it.
pub const ITEM_SIZE_BYTES_MAX: usize = 400 * 1024;
/// Deepest level a value may sit at: a top-level attribute value is level 1, the elements of a
/// top-level list or map are level 2, and so on. DynamoDB accepts 32 levels.
pub const NESTING_LEVELS_MAX: usize = 32;

/// One attribute value of any of DynamoDB's ten types.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum AttributeValue {
    S(String),
    N(Number),
    B(Vec<u8>),
    Bool(bool),
    Null,
    M(BTreeMap<String, AttributeValue>),
    L(Vec<AttributeValue>),
    Ss(BTreeSet<String>),
    Ns(BTreeSet<Number>),
    Bs(BTreeSet<Vec<u8>>),
}

impl AttributeValue {
    /// The DynamoDB type descriptor: `S`, `N`, `B`, `BOOL`, `NULL`, `M`, `L`, `SS`, `NS` or `BS`.
    pub fn type_name(&self) -> &'static str {
        match self {
            Self::S(_) => "S",
            Self::N(_) => "N",
            Self::B(_) => "B",
            Self::Bool(_) => "BOOL",
            Self::Null => "NULL",
            Self::M(_) => "M",
            Self::L(_) => "L",
            Self::Ss(_) => "SS",
            Self::Ns(_) => "NS",
            Self::Bs(_) => "BS",
        }
    }

    pub fn as_s(&self) -> Option<&str> {
        match self {
            Self::S(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_n(&self) -> Option<&Number> {
        match self {
            Self::N(n) => Some(n),
            _ => None,
        }
    }

    pub fn as_b(&self) -> Option<&[u8]> {
        match self {
            Self::B(b) => Some(b),
            _ => None,
        }
    }

    /// Bytes this value counts for in DynamoDB's item size (without the attribute name):
    /// strings and binary by length, numbers by significant digits, `BOOL`/`NULL` one byte,
    /// sets the sum of their members, lists and maps 3 bytes plus, per element, one byte and
    /// the element's size (and, for maps, the key's length).
    pub fn size_bytes(&self) -> usize {
        match self {
            Self::S(s) => s.len(),
            Self::N(n) => n.size_bytes(),
            Self::B(b) => b.len(),
            Self::Bool(_) | Self::Null => 1,
            Self::M(map) => {
                3 + map
                    .iter()
                    .map(|(k, v)| 1 + k.len() + v.size_bytes())
                    .sum::<usize>()
            }
            Self::L(list) => 3 + list.iter().map(|v| 1 + v.size_bytes()).sum::<usize>(),
            Self::Ss(set) => set.iter().map(String::len).sum(),
            Self::Ns(set) => set.iter().map(Number::size_bytes).sum(),
            Self::Bs(set) => set.iter().map(Vec::len).sum(),
        }
    }

    /// Checks the rules every stored value obeys whatever the table: sets are not empty and no
    /// value is nested deeper than [`NESTING_LEVELS_MAX`]. (Duplicate set members and `NULL`
    /// values other than `true` cannot be represented; the JSON decoder rejects them.)
    pub fn validate(&self) -> Result<()> {
        self.checked_size_at(1).map(|_| ())
    }

    /// [`Self::size_bytes`] and [`Self::validate`] in one walk of the value at nesting `level`.
    fn checked_size_at(&self, level: usize) -> Result<usize> {
        if level > NESTING_LEVELS_MAX {
            return Err(nesting_error());
        }
        match self {
            Self::Ss(set) if set.is_empty() => Err(empty_set_error("SS")),
            Self::Ns(set) if set.is_empty() => Err(empty_set_error("NS")),
            Self::Bs(set) if set.is_empty() => Err(empty_set_error("BS")),
            Self::M(map) => map.iter().try_fold(3, |size, (k, v)| {
                Ok(size + 1 + k.len() + v.checked_size_at(level + 1)?)
            }),
            Self::L(list) => list
                .iter()
                .try_fold(3, |size, v| Ok(size + 1 + v.checked_size_at(level + 1)?)),
            other => Ok(other.size_bytes()),
        }
    }
}

pub(crate) fn nesting_error() -> DdbError {
    DdbError::validation(
        "Nesting Levels have exceeded supported limits: Attributes in the item have nested levels \
         beyond supported limit",
    )
}

/// DynamoDB's message for an empty set of type `SS`, `NS` or `BS` (its odd wording included).
pub(crate) fn empty_set_error(set_type: &str) -> DdbError {
    let what = match set_type {
        "SS" => "An string set  may not be empty",
        "NS" => "An number set  may not be empty",
        _ => "Binary sets should not be empty",
    };
    DdbError::validation(format!("One or more parameter values were invalid: {what}"))
}

impl From<&str> for AttributeValue {
    fn from(value: &str) -> Self {
        Self::S(value.to_owned())
    }
}

impl From<String> for AttributeValue {
    fn from(value: String) -> Self {
        Self::S(value)
    }
}

impl From<Number> for AttributeValue {
    fn from(value: Number) -> Self {
        Self::N(value)
    }
}

impl From<bool> for AttributeValue {
    fn from(value: bool) -> Self {
        Self::Bool(value)
    }
}

/// An item: attribute names (sorted by UTF-8 bytes) to values.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct Item(BTreeMap<String, AttributeValue>);

impl Item {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn get(&self, name: &str) -> Option<&AttributeValue> {
        self.0.get(name)
    }

    pub fn get_mut(&mut self, name: &str) -> Option<&mut AttributeValue> {
        self.0.get_mut(name)
    }

    /// Sets an attribute, returning the value it replaces.
    pub fn insert(
        &mut self,
        name: impl Into<String>,
        value: AttributeValue,
    ) -> Option<AttributeValue> {
        self.0.insert(name.into(), value)
    }

    pub fn remove(&mut self, name: &str) -> Option<AttributeValue> {
        self.0.remove(name)
    }

    /// Attributes in name order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = (&String, &AttributeValue)> {
        self.0.iter()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn as_map(&self) -> &BTreeMap<String, AttributeValue> {
        &self.0
    }

    pub fn into_map(self) -> BTreeMap<String, AttributeValue> {
        self.0
    }

    /// DynamoDB's item size: for every attribute, its name's UTF-8 length plus its value's size.
    pub fn size_bytes(&self) -> usize {
        self.0
            .iter()
            .map(|(name, value)| name.len() + value.size_bytes())
            .sum()
    }

    /// Checks the rules every stored item obeys whatever the table: each value valid (see
    /// [`AttributeValue::validate`]) and the item no larger than [`ITEM_SIZE_BYTES_MAX`].
    /// Key rules need the table's schema: see [`crate::TableSchema::validate_item`].
    pub fn validate(&self) -> Result<()> {
        let size = self.checked_size()?;
        check_item_size(size)
    }

    /// The item's size, checking every value's rules on the way (one walk for both).
    pub(crate) fn checked_size(&self) -> Result<usize> {
        self.0.iter().try_fold(0, |size, (name, value)| {
            Ok(size + name.len() + value.checked_size_at(1)?)
        })
    }
}

/// The 400 KB rule.
pub(crate) fn check_item_size(size_bytes: usize) -> Result<()> {
    if size_bytes > ITEM_SIZE_BYTES_MAX {
        return Err(DdbError::validation(
            "Item size has exceeded the maximum allowed size",
        ));
    }
    Ok(())
}

impl From<BTreeMap<String, AttributeValue>> for Item {
    fn from(map: BTreeMap<String, AttributeValue>) -> Self {
        Self(map)
    }
}

impl<K: Into<String>> FromIterator<(K, AttributeValue)> for Item {
    fn from_iter<T: IntoIterator<Item = (K, AttributeValue)>>(iter: T) -> Self {
        Self(iter.into_iter().map(|(k, v)| (k.into(), v)).collect())
    }
}

impl IntoIterator for Item {
    type Item = (String, AttributeValue);
    type IntoIter = std::collections::btree_map::IntoIter<String, AttributeValue>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter()
    }
}

impl<'a> IntoIterator for &'a Item {
    type Item = (&'a String, &'a AttributeValue);
    type IntoIter = std::collections::btree_map::Iter<'a, String, AttributeValue>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n(text: &str) -> AttributeValue {
        AttributeValue::N(Number::parse(text).unwrap())
    }

    fn nest(levels: usize) -> AttributeValue {
        // `levels` levels in all: levels-1 maps around a string leaf.
        let mut v = AttributeValue::from("leaf");
        for _ in 1..levels {
            v = AttributeValue::M(BTreeMap::from([("n".to_owned(), v)]));
        }
        v
    }

    #[test]
    fn size_follows_the_developer_guide() {
        let item: Item = [
            ("id", AttributeValue::from("abc")),  // 2 + 3
            ("n", n("12345")),                    // 1 + 4
            ("flag", AttributeValue::Bool(true)), // 4 + 1
            ("nul", AttributeValue::Null),        // 3 + 1
            ("l", AttributeValue::L(vec![AttributeValue::from("xy")])), // 1 + 3 + 1 + 2
            (
                "m",
                AttributeValue::M(BTreeMap::from([("k".to_owned(), n("1"))])),
            ), // 1 + 3 + 1 + 1 + 2
            (
                "ss",
                AttributeValue::Ss(BTreeSet::from(["a".to_owned(), "bc".to_owned()])),
            ), // 2 + 3
            ("bs", AttributeValue::Bs(BTreeSet::from([vec![1u8, 2, 3]]))), // 2 + 3
            (
                "ns",
                AttributeValue::Ns(BTreeSet::from([Number::from(1), Number::from(100)])),
            ), // 2 + 4
            ("b", AttributeValue::B(vec![0; 10])), // 1 + 10
            ("e", AttributeValue::L(vec![])),     // 1 + 3
        ]
        .into_iter()
        .collect();
        assert_eq!(
            item.size_bytes(),
            5 + 5 + 5 + 4 + 7 + 8 + 5 + 5 + 6 + 11 + 4
        );
        // The validating walk computes the same size.
        assert_eq!(item.checked_size().unwrap(), item.size_bytes());
    }

    #[test]
    fn item_size_limit_is_400_kib() {
        let name = "a";
        let fits: Item = [(
            name,
            AttributeValue::from("x".repeat(ITEM_SIZE_BYTES_MAX - 1)),
        )]
        .into_iter()
        .collect();
        assert_eq!(fits.size_bytes(), ITEM_SIZE_BYTES_MAX);
        assert!(fits.validate().is_ok());
        let over: Item = [(name, AttributeValue::from("x".repeat(ITEM_SIZE_BYTES_MAX)))]
            .into_iter()
            .collect();
        let err = over.validate().unwrap_err();
        assert_eq!(err.name(), "ValidationException");
        assert_eq!(
            err.message(),
            "Item size has exceeded the maximum allowed size"
        );
    }

    #[test]
    fn nesting_limit_is_32_levels() {
        assert!(nest(32).validate().is_ok());
        let err = nest(33).validate().unwrap_err();
        assert_eq!(err.name(), "ValidationException");
        assert!(
            err.message()
                .starts_with("Nesting Levels have exceeded supported limits")
        );
        let list_nest = (1..33).fold(AttributeValue::Null, |v, _| AttributeValue::L(vec![v]));
        assert!(list_nest.validate().is_err());
    }

    #[test]
    fn empty_sets_are_rejected_with_dynamodbs_words() {
        let cases = [
            (
                AttributeValue::Ss(BTreeSet::new()),
                "An string set  may not be empty",
            ),
            (
                AttributeValue::Ns(BTreeSet::new()),
                "An number set  may not be empty",
            ),
            (
                AttributeValue::Bs(BTreeSet::new()),
                "Binary sets should not be empty",
            ),
        ];
        for (value, what) in cases {
            let err = value.validate().unwrap_err();
            assert_eq!(err.name(), "ValidationException");
            assert_eq!(
                err.message(),
                format!("One or more parameter values were invalid: {what}")
            );
        }
        // Empty strings and binary are fine inside sets and as non-key values.
        assert!(
            AttributeValue::Ss(BTreeSet::from([String::new()]))
                .validate()
                .is_ok()
        );
        assert!(
            AttributeValue::Bs(BTreeSet::from([Vec::new()]))
                .validate()
                .is_ok()
        );
        assert!(AttributeValue::from("").validate().is_ok());
    }
}
