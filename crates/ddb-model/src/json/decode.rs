//! The DynamoDB JSON decoder: streams straight from the text into the model (no intermediate
//! JSON tree), validating as it goes.
//!
//! serde's error type can only carry a message, so a rule that DynamoDB reports under a name of
//! its own (a `ValidationException`) is recorded in a side slot before the decoder unwinds with
//! a placeholder serde error; the entry points return the recorded error. Anything else serde
//! rejects (malformed JSON, a JSON type that does not fit the descriptor) is a
//! `SerializationException` carrying serde's message with its line and column.

use std::borrow::Cow;
use std::collections::btree_map::Entry;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

use super::TYPE_DESCRIPTORS;
use crate::error::{DdbError, Result};
use crate::number::Number;
use crate::value::{AttributeValue, Item, NESTING_LEVELS_MAX, empty_set_error, nesting_error};

/// Parses a DynamoDB JSON attribute value such as `{"S":"x"}`.
pub fn parse_value(text: &str) -> Result<AttributeValue> {
    let mut slot = None;
    let result = run(
        text,
        ValueSeed {
            level: 1,
            slot: &mut slot,
        },
    );
    finish(result, slot)
}

/// Parses a bare DynamoDB JSON item: `{"name":{"S":"x"}, ...}`.
pub fn parse_item(text: &str) -> Result<Item> {
    let mut slot = None;
    let what = "an item (a JSON object of attribute values)";
    let result = run(
        text,
        MapSeed {
            level: 1,
            slot: &mut slot,
            what,
        },
    );
    finish(result, slot).map(Item::from)
}

type Slot<'s> = &'s mut Option<DdbError>;

/// Runs a seed over the whole of `text`: trailing characters other than whitespace are an error.
fn run<'de, S: DeserializeSeed<'de>>(
    text: &'de str,
    seed: S,
) -> Result<S::Value, serde_json::Error> {
    let mut deserializer = serde_json::Deserializer::from_str(text);
    let value = seed.deserialize(&mut deserializer)?;
    deserializer.end()?;
    Ok(value)
}

/// A failure is the error recorded in the slot, or else serde's, as a `SerializationException`.
fn finish<T>(result: Result<T, serde_json::Error>, slot: Option<DdbError>) -> Result<T> {
    result.map_err(|e| slot.unwrap_or_else(|| serialization_error(&e)))
}

/// A serde_json error as a `SerializationException`: malformed JSON says so; a JSON value of the
/// wrong shape keeps serde's message ("invalid type: ..., expected ... at line L column C").
pub(crate) fn serialization_error(e: &serde_json::Error) -> DdbError {
    if e.is_data() {
        DdbError::serialization(e.to_string())
    } else {
        DdbError::serialization(format!("Invalid JSON: {e}"))
    }
}

/// Records `err` (the first one wins) and returns the placeholder serde error that unwinds.
fn fail<E: de::Error>(slot: Slot<'_>, err: DdbError) -> E {
    let message = err.message().to_owned();
    slot.get_or_insert(err);
    E::custom(message)
}

/// A JSON object of attribute values: an item, or the body of an `M`.
struct MapSeed<'s> {
    level: usize,
    slot: Slot<'s>,
    what: &'static str,
}

impl<'de> DeserializeSeed<'de> for MapSeed<'_> {
    type Value = BTreeMap<String, AttributeValue>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for MapSeed<'_> {
    type Value = BTreeMap<String, AttributeValue>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.what)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut out = BTreeMap::new();
        while let Some(name) = map.next_key::<String>()? {
            let value = map.next_value_seed(ValueSeed {
                level: self.level,
                slot: &mut *self.slot,
            })?;
            match out.entry(name) {
                Entry::Vacant(entry) => {
                    entry.insert(value);
                }
                // Last-wins would silently drop data; refuse instead.
                Entry::Occupied(entry) => {
                    return Err(de::Error::custom(format_args!(
                        "duplicate attribute name '{}'",
                        entry.key()
                    )));
                }
            }
        }
        Ok(out)
    }
}

/// One attribute value, `{"<descriptor>": <body>}`, at nesting level `level`.
struct ValueSeed<'s> {
    level: usize,
    slot: Slot<'s>,
}

impl<'de> DeserializeSeed<'de> for ValueSeed<'_> {
    type Value = AttributeValue;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        if self.level > NESTING_LEVELS_MAX {
            return Err(fail(self.slot, nesting_error()));
        }
        deserializer.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for ValueSeed<'_> {
    type Value = AttributeValue;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an attribute value such as {\"S\":\"text\"}")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let slot = self.slot;
        let Some(descriptor) = map.next_key::<Descriptor>()? else {
            return Err(fail(
                slot,
                DdbError::validation(
                    "Supplied AttributeValue is empty, must contain exactly one of the supported datatypes",
                ),
            ));
        };
        let value = match descriptor {
            Descriptor::S => AttributeValue::S(map.next_value_seed(Text("S"))?.into_owned()),
            Descriptor::N => {
                let text = map.next_value_seed(Text("N"))?;
                AttributeValue::N(Number::parse(&text).map_err(|e| fail(slot, e.into()))?)
            }
            Descriptor::B => AttributeValue::B(
                base64(&map.next_value_seed(Text("B"))?).map_err(|e| fail(slot, e))?,
            ),
            Descriptor::Bool => AttributeValue::Bool(map.next_value_seed(Flag("BOOL"))?),
            Descriptor::Null => {
                if !map.next_value_seed(Flag("NULL"))? {
                    return Err(fail(
                        slot,
                        DdbError::validation(
                            "One or more parameter values were invalid: Null attribute value types must \
                             have the value of true",
                        ),
                    ));
                }
                AttributeValue::Null
            }
            Descriptor::M => AttributeValue::M(map.next_value_seed(MapSeed {
                level: self.level + 1,
                slot: &mut *slot,
                what: "a JSON object of attribute values for M",
            })?),
            Descriptor::L => AttributeValue::L(map.next_value_seed(ListSeed {
                level: self.level + 1,
                slot: &mut *slot,
            })?),
            Descriptor::Ss => {
                let members = map.next_value_seed(TextList("SS"))?;
                let set: BTreeSet<String> =
                    members.iter().map(|m| m.clone().into_owned()).collect();
                check_set("SS", &members, set.len()).map_err(|e| fail(slot, e))?;
                AttributeValue::Ss(set)
            }
            Descriptor::Ns => {
                let members = map.next_value_seed(TextList("NS"))?;
                let set = members
                    .iter()
                    .map(|m| Number::parse(m))
                    .collect::<Result<BTreeSet<_>, _>>()
                    .map_err(|e| fail(slot, e.into()))?;
                check_set("NS", &members, set.len()).map_err(|e| fail(slot, e))?;
                AttributeValue::Ns(set)
            }
            Descriptor::Bs => {
                let members = map.next_value_seed(TextList("BS"))?;
                let set = members
                    .iter()
                    .map(|m| base64(m))
                    .collect::<Result<BTreeSet<_>>>()
                    .map_err(|e| fail(slot, e))?;
                check_set("BS", &members, set.len()).map_err(|e| fail(slot, e))?;
                AttributeValue::Bs(set)
            }
        };
        if map.next_key::<IgnoredAny>()?.is_some() {
            return Err(fail(
                slot,
                DdbError::validation(
                    "Supplied AttributeValue has more than one datatypes set, must contain exactly one of \
                     the supported datatypes",
                ),
            ));
        }
        Ok(value)
    }
}

/// The elements of an `L`.
struct ListSeed<'s> {
    level: usize,
    slot: Slot<'s>,
}

impl<'de> DeserializeSeed<'de> for ListSeed<'_> {
    type Value = Vec<AttributeValue>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for ListSeed<'_> {
    type Value = Vec<AttributeValue>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON array of attribute values for L")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(1024));
        while let Some(value) = seq.next_element_seed(ValueSeed {
            level: self.level,
            slot: &mut *self.slot,
        })? {
            out.push(value);
        }
        Ok(out)
    }
}

/// The type descriptor: the one key of an attribute value object.
enum Descriptor {
    S,
    N,
    B,
    Bool,
    Null,
    M,
    L,
    Ss,
    Ns,
    Bs,
}

impl<'de> de::Deserialize<'de> for Descriptor {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_str(DescriptorVisitor)
    }
}

struct DescriptorVisitor;

impl Visitor<'_> for DescriptorVisitor {
    type Value = Descriptor;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "one of {}", TYPE_DESCRIPTORS.join(", "))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Descriptor, E> {
        Ok(match v {
            "S" => Descriptor::S,
            "N" => Descriptor::N,
            "B" => Descriptor::B,
            "BOOL" => Descriptor::Bool,
            "NULL" => Descriptor::Null,
            "M" => Descriptor::M,
            "L" => Descriptor::L,
            "SS" => Descriptor::Ss,
            "NS" => Descriptor::Ns,
            "BS" => Descriptor::Bs,
            other => {
                return Err(E::custom(format_args!(
                    "unknown attribute value type '{other}'; expected one of {}",
                    TYPE_DESCRIPTORS.join(", ")
                )));
            }
        })
    }
}

/// A JSON string body (of `S`, `N`, `B` or a set member), borrowed from the input when it has
/// no escapes.
struct Text(&'static str);

impl<'de> DeserializeSeed<'de> for Text {
    type Value = Cow<'de, str>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for Text {
    type Value = Cow<'de, str>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "a JSON string for {}", self.0)
    }

    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Cow::Borrowed(v))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Cow::Owned(v.to_owned()))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
        Ok(Cow::Owned(v))
    }
}

/// The JSON array of strings that is the body of a set.
struct TextList(&'static str);

impl<'de> DeserializeSeed<'de> for TextList {
    type Value = Vec<Cow<'de, str>>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for TextList {
    type Value = Vec<Cow<'de, str>>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "a JSON array of strings for {}", self.0)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(1024));
        while let Some(member) = seq.next_element_seed(Text(self.0))? {
            out.push(member);
        }
        Ok(out)
    }
}

/// A JSON boolean body (of `BOOL` or `NULL`).
struct Flag(&'static str);

impl<'de> DeserializeSeed<'de> for Flag {
    type Value = bool;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<bool, D::Error> {
        deserializer.deserialize_bool(self)
    }
}

impl Visitor<'_> for Flag {
    type Value = bool;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "true or false for {}", self.0)
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<bool, E> {
        Ok(v)
    }
}

/// Rejects an empty set and a set whose members collapsed (duplicates, numerically for `NS`).
fn check_set(descriptor: &str, members: &[Cow<'_, str>], distinct: usize) -> Result<()> {
    if members.is_empty() {
        return Err(empty_set_error(descriptor));
    }
    if distinct != members.len() {
        let listed = format!("[{}]", members.join(", "));
        let message = if descriptor == "BS" {
            format!("Input collection {listed}of type BS contains duplicates.")
        } else {
            format!("Input collection {listed} contains duplicates.")
        };
        return Err(DdbError::validation(format!(
            "One or more parameter values were invalid: {message}"
        )));
    }
    Ok(())
}

fn base64(text: &str) -> Result<Vec<u8>> {
    BASE64.decode(text).map_err(|e| {
        DdbError::serialization(format!(
            "'{}' can not be converted to a Blob: {e}",
            abbreviate(text, 60)
        ))
    })
}

/// At most `max` bytes of `text`, cut at a character boundary.
pub(crate) fn abbreviate(text: &str, max: usize) -> &str {
    let mut end = text.len().min(max);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text.get(..end).unwrap_or_default()
}
