//! `CreateTable` validation with DynamoDB's rules, in DynamoDB's order, with its messages.
//!
//! DynamoDB validates in two phases and so does this module:
//!
//! 1. Shape constraints from the API model, all reported together (see [`super::constraints`]).
//! 2. Semantic rules, checked one at a time; the first failure is the error. Their order follows
//!    the responses real DynamoDB was recorded giving (dynalite's test suite, moto, and public
//!    conformance probes). Where the order could not be established the comment says so.
//!
//! Messages were taken from DynamoDB's responses. The few without a recorded real wording are
//! marked `Wording not confirmed against DynamoDB`.

use std::collections::HashSet;
use std::fmt::Display;

use super::constraints::{check_constraints, list};
use super::{
    BillingMode, CreateTableInput, GlobalSecondaryIndex, LocalSecondaryIndex, OnDemandThroughput,
    SseSpecification, SseType, StreamSpecification, Tag,
};
use crate::error::{DdbError, ErrorKind};
use crate::schema::{
    AttributeDefinition, IndexKind, IndexSchema, KeyAttribute, KeyDef, KeySchemaElement, KeyType,
    Projection, ProjectionType, ResolvedProjection, ScalarAttributeType, TableSchema,
};

/// The prefix DynamoDB puts on most semantic validation messages.
const INVALID: &str = "One or more parameter values were invalid: ";
const NON_KEY_ATTRIBUTES_PER_TABLE: usize = 100;
const MAX_LOCAL_INDEXES: usize = 5;
const MAX_GLOBAL_INDEXES: usize = 20;
const MAX_TAGS: usize = 50;
const TAG_KEY_MAX_LEN: usize = 128;
const TAG_VALUE_MAX_LEN: usize = 256;
/// Above this DynamoDB answers "Given value .. is out of bounds" instead of checking quotas.
const MAX_CAPACITY_UNITS: i64 = 1_000_000_000_000;

fn invalid(detail: impl Display) -> DdbError {
    DdbError::validation(format!("{INVALID}{detail}"))
}

/// Phase-one violations, formatted the way DynamoDB's model validator reports them.
/// `AttributeDefinitions`, known to hold each name once.
struct Definitions<'a>(&'a [AttributeDefinition]);

impl<'a> Definitions<'a> {
    fn new(definitions: &'a [AttributeDefinition]) -> crate::Result<Self> {
        let mut seen = HashSet::new();
        for definition in definitions {
            if !seen.insert(definition.attribute_name.as_str()) {
                return Err(DdbError::validation(format!(
                    "Attribute Name is duplicated: {}",
                    definition.attribute_name
                )));
            }
        }
        Ok(Self(definitions))
    }

    fn len(&self) -> usize {
        self.0.len()
    }

    fn type_of(&self, name: &str) -> Option<ScalarAttributeType> {
        self.0
            .iter()
            .find(|d| d.attribute_name == name)
            .map(|d| d.attribute_type)
    }

    fn all_defined(&self, key_schema: &[KeySchemaElement]) -> bool {
        key_schema
            .iter()
            .all(|e| self.type_of(&e.attribute_name).is_some())
    }

    /// Request order; DynamoDB prints these in an unspecified (hash) order.
    fn names(&self) -> impl Iterator<Item = &'a str> + use<'a> {
        self.0.iter().map(|d| d.attribute_name.as_str())
    }

    fn not_defined_error(&self, key_schema: &[KeySchemaElement]) -> DdbError {
        invalid(format_args!(
            "Some index key attributes are not defined in AttributeDefinitions. Keys: {}, \
             AttributeDefinitions: {}",
            list(key_schema.iter().map(|e| e.attribute_name.as_str())),
            list(self.names())
        ))
    }

    /// The key a validated (1 or 2 element, all defined) key schema describes.
    fn key_def(&self, key_schema: &[KeySchemaElement]) -> crate::Result<KeyDef> {
        let attribute = |e: &KeySchemaElement| {
            self.type_of(&e.attribute_name)
                .map(|t| KeyAttribute::new(e.attribute_name.clone(), t))
        };
        let key = match key_schema {
            [hash] => attribute(hash).map(|partition| KeyDef {
                partition,
                sort: None,
            }),
            [hash, range] => attribute(hash)
                .zip(attribute(range))
                .map(|(partition, sort)| KeyDef {
                    partition,
                    sort: Some(sort),
                }),
            _ => None,
        };
        // Earlier checks make this unreachable; report a bug rather than panic.
        key.ok_or_else(|| {
            DdbError::new(
                ErrorKind::InternalServerError,
                "key schema reached resolution unchecked",
            )
        })
    }
}

const SAME_NAME_HASH_RANGE: &str =
    "Both the Hash Key and the Range Key element in the KeySchema have the same name";
/// GSI keys go through DynamoDB's multi-attribute key validation, which words this differently.
const SAME_NAME_MULTI_ATTRIBUTE: &str =
    "The KeySchema contains multiple key attributes with the same name";

/// Name uniqueness, then HASH first and RANGE second.
fn check_key_order(key_schema: &[KeySchemaElement], same_name: &str) -> crate::Result<()> {
    if let [hash, range] = key_schema
        && hash.attribute_name == range.attribute_name
    {
        return Err(DdbError::validation(same_name));
    }
    if key_schema.first().map(|e| e.key_type) != Some(KeyType::Hash) {
        return Err(DdbError::validation(
            "Invalid KeySchema: The first KeySchemaElement is not a HASH key type",
        ));
    }
    // DynamoDB now accepts up to four HASH and four RANGE attributes in a GSI key; KeyDef models
    // one of each, so a second HASH is rejected with DynamoDB's former message.
    if key_schema
        .get(1)
        .is_some_and(|e| e.key_type != KeyType::Range)
    {
        return Err(DdbError::validation(
            "Invalid KeySchema: The second KeySchemaElement is not a RANGE key type",
        ));
    }
    Ok(())
}

impl CreateTableInput {
    /// Validates the request with DynamoDB's rules and returns the table's resolved schema:
    /// the table key, then LSIs in request order, then GSIs in request order.
    ///
    /// Errors are DynamoDB's `ValidationException`s with DynamoDB's messages.
    pub fn validate(&self) -> crate::Result<TableSchema> {
        check_constraints(self)?;
        check_billing(self)?;
        let definitions = Definitions::new(&self.attribute_definitions)?;
        let table_key = check_table_key(&self.key_schema, &definitions)?;
        check_index_lists(self, &table_key, &definitions)?;

        let mut names = HashSet::new();
        let mut indexes = Vec::new();
        if let Some(lsis) = &self.local_secondary_indexes {
            for lsi in lsis {
                indexes.push(check_local_index(
                    lsi,
                    &table_key,
                    &definitions,
                    &mut names,
                )?);
            }
            // DynamoDB checks the count after the indexes themselves.
            if lsis.len() > MAX_LOCAL_INDEXES {
                return Err(invalid(format_args!(
                    "Number of LocalSecondaryIndexes exceeds per-table limit of {MAX_LOCAL_INDEXES}"
                )));
            }
        }
        if let Some(gsis) = &self.global_secondary_indexes {
            let billing = self.effective_billing_mode();
            for gsi in gsis {
                indexes.push(check_global_index(gsi, billing, &definitions, &mut names)?);
            }
            if gsis.len() > MAX_GLOBAL_INDEXES {
                return Err(invalid(format_args!(
                    "GlobalSecondaryIndex count exceeds the per-table limit of {MAX_GLOBAL_INDEXES}"
                )));
            }
        }
        check_projected_total(&indexes)?;
        // The relative order of the remaining independent checks is not known.
        check_stream(self.stream_specification.as_ref())?;
        if let Some(sse) = &self.sse_specification {
            check_sse(sse)?;
        }
        check_tags(self.tags.as_deref().unwrap_or_default())?;
        Ok(TableSchema {
            key: table_key,
            indexes,
        })
    }
}

/// BillingMode against the table's throughput; DynamoDB checks this before any key rule.
fn check_billing(input: &CreateTableInput) -> crate::Result<()> {
    match (
        input.effective_billing_mode(),
        &input.provisioned_throughput,
    ) {
        (BillingMode::PayPerRequest, Some(_)) => Err(invalid(
            "Neither ReadCapacityUnits nor WriteCapacityUnits can be specified when BillingMode \
             is PAY_PER_REQUEST",
        )),
        (BillingMode::Provisioned, None) => Err(invalid(
            "ReadCapacityUnits and WriteCapacityUnits must both be specified when BillingMode is \
             PROVISIONED",
        )),
        (BillingMode::Provisioned, Some(throughput)) => {
            let fields = [
                ("ReadCapacityUnits", throughput.read_capacity_units),
                ("WriteCapacityUnits", throughput.write_capacity_units),
            ];
            for (field, units) in fields {
                if units > MAX_CAPACITY_UNITS {
                    return Err(DdbError::validation(format!(
                        "Given value {units} for {field} is out of bounds"
                    )));
                }
            }
            Ok(())
        }
        (BillingMode::PayPerRequest, None) => Ok(()),
    }
}

fn check_table_key(
    key_schema: &[KeySchemaElement],
    definitions: &Definitions<'_>,
) -> crate::Result<KeyDef> {
    if key_schema.len() > definitions.len() {
        return Err(DdbError::validation(
            "Invalid KeySchema: Some index key attribute have no definition",
        ));
    }
    if !definitions.all_defined(key_schema) {
        return Err(definitions.not_defined_error(key_schema));
    }
    check_key_order(key_schema, SAME_NAME_HASH_RANGE)?;
    definitions.key_def(key_schema)
}

/// Rules about the index lists as a whole, and the exact-match rule for AttributeDefinitions.
fn check_index_lists(
    input: &CreateTableInput,
    table_key: &KeyDef,
    definitions: &Definitions<'_>,
) -> crate::Result<()> {
    let lsis = input.local_secondary_indexes.as_deref();
    let gsis = input.global_secondary_indexes.as_deref();
    if lsis.is_none() && gsis.is_none() {
        if input.key_schema.len() != definitions.len() {
            return Err(invalid(
                "Number of attributes in KeySchema does not exactly match number of attributes \
                 defined in AttributeDefinitions",
            ));
        }
        return Ok(());
    }
    if let Some(lsis) = lsis {
        if lsis.is_empty() {
            return Err(invalid("List of LocalSecondaryIndexes is empty"));
        }
        if table_key.sort.is_none() {
            return Err(invalid(
                "Table KeySchema does not have a range key, which is required when specifying a \
                 LocalSecondaryIndex",
            ));
        }
    }
    if gsis.is_some_and(<[_]>::is_empty) {
        return Err(invalid("List of GlobalSecondaryIndexes is empty"));
    }
    // DynamoDB checks for unused definitions before any per-index rule.
    let mut used: Vec<&str> = Vec::new();
    let index_keys = lsis
        .into_iter()
        .flatten()
        .map(|i| &i.key_schema)
        .chain(gsis.into_iter().flatten().map(|i| &i.key_schema));
    for element in input.key_schema.iter().chain(index_keys.flatten()) {
        if !used.contains(&element.attribute_name.as_str()) {
            used.push(&element.attribute_name);
        }
    }
    if definitions.names().any(|name| !used.contains(&name)) {
        return Err(invalid(format_args!(
            "Some AttributeDefinitions are not used. AttributeDefinitions: {}, keys used: {}",
            list(definitions.names()),
            list(used)
        )));
    }
    Ok(())
}

fn check_local_index(
    lsi: &LocalSecondaryIndex,
    table_key: &KeyDef,
    definitions: &Definitions<'_>,
    names: &mut HashSet<String>,
) -> crate::Result<IndexSchema> {
    let key_schema = &lsi.key_schema;
    if !definitions.all_defined(key_schema) {
        return Err(definitions.not_defined_error(key_schema));
    }
    check_key_order(key_schema, SAME_NAME_HASH_RANGE)?;
    if key_schema.len() != 2 {
        return Err(invalid(format_args!(
            "Index KeySchema does not have a range key for index: {}",
            lsi.index_name
        )));
    }
    let key = definitions.key_def(key_schema)?;
    if key.partition.name != table_key.partition.name {
        return Err(invalid(format_args!(
            "Index KeySchema does not have the same leading hash key as table KeySchema for \
             index: {}. index hash key: {}, table hash key: {}",
            lsi.index_name, key.partition.name, table_key.partition.name
        )));
    }
    let projection = resolve_projection(&lsi.projection)?;
    claim_index_name(&lsi.index_name, names)?;
    Ok(IndexSchema {
        name: lsi.index_name.clone(),
        kind: IndexKind::Local,
        key,
        projection,
    })
}

fn check_global_index(
    gsi: &GlobalSecondaryIndex,
    billing: BillingMode,
    definitions: &Definitions<'_>,
    names: &mut HashSet<String>,
) -> crate::Result<IndexSchema> {
    let key_schema = &gsi.key_schema;
    if !definitions.all_defined(key_schema) {
        return Err(definitions.not_defined_error(key_schema));
    }
    check_key_order(key_schema, SAME_NAME_MULTI_ATTRIBUTE)?;
    let key = definitions.key_def(key_schema)?;
    let projection = resolve_projection(&gsi.projection)?;
    match (billing, &gsi.provisioned_throughput) {
        (BillingMode::PayPerRequest, Some(_)) => {
            return Err(invalid(format_args!(
                "ProvisionedThroughput should not be specified for index: {} when BillingMode is \
                 PAY_PER_REQUEST",
                gsi.index_name
            )));
        }
        (BillingMode::Provisioned, None) => {
            return Err(invalid(format_args!(
                "ProvisionedThroughput is not specified for index: {}",
                gsi.index_name
            )));
        }
        _ => {}
    }
    if let Some(on_demand) = &gsi.on_demand_throughput {
        check_on_demand(on_demand, billing, &gsi.index_name)?;
    }
    claim_index_name(&gsi.index_name, names)?;
    Ok(IndexSchema {
        name: gsi.index_name.clone(),
        kind: IndexKind::Global,
        key,
        projection,
    })
}

/// A GSI's OnDemandThroughput: only on PAY_PER_REQUEST tables, each cap -1 (none) or >= 1.
fn check_on_demand(
    on_demand: &OnDemandThroughput,
    billing: BillingMode,
    index_name: &str,
) -> crate::Result<()> {
    let caps = [
        ("MaxReadRequestUnits", on_demand.max_read_request_units),
        ("MaxWriteRequestUnits", on_demand.max_write_request_units),
    ];
    for (field, units) in caps {
        let Some(units) = units else { continue };
        if billing == BillingMode::Provisioned {
            return Err(invalid(format_args!(
                "{field} for OnDemandThroughput for index: {index_name} cannot be specified when \
                 table BillingMode is PROVISIONED."
            )));
        }
        if units != -1 && units < 1 {
            return Err(invalid(format_args!(
                "Requested {field} for OnDemandThroughput for index : {index_name} is outside of \
                 valid range"
            )));
        }
    }
    Ok(())
}

fn resolve_projection(projection: &Projection) -> crate::Result<ResolvedProjection> {
    let Some(projection_type) = projection.projection_type else {
        return Err(invalid("Unknown ProjectionType: null"));
    };
    match (projection_type, &projection.non_key_attributes) {
        (ProjectionType::KeysOnly | ProjectionType::All, Some(_)) => Err(invalid(format_args!(
            "ProjectionType is {}, but NonKeyAttributes is specified",
            projection_type.as_str()
        ))),
        (ProjectionType::Include, None) => Err(invalid(
            "ProjectionType is INCLUDE, but NonKeyAttributes is not specified",
        )),
        (ProjectionType::Include, Some(names)) => {
            let mut seen = HashSet::new();
            if let Some(duplicate) = names.iter().find(|n| !seen.insert(n.as_str())) {
                return Err(invalid(format_args!(
                    "Duplicate element in NonKeyAttributes: {duplicate}"
                )));
            }
            let mut sorted = names.clone();
            sorted.sort();
            Ok(ResolvedProjection::Include(sorted))
        }
        (ProjectionType::KeysOnly, None) => Ok(ResolvedProjection::KeysOnly),
        (ProjectionType::All, None) => Ok(ResolvedProjection::All),
    }
}

/// Index names are unique across LSIs and GSIs together.
fn claim_index_name(name: &str, names: &mut HashSet<String>) -> crate::Result<()> {
    if names.insert(name.to_owned()) {
        Ok(())
    } else {
        Err(invalid(format_args!("Duplicate index name: {name}")))
    }
}

/// At most 100 INCLUDE attributes summed over all indexes; an attribute projected into two
/// indexes counts twice (DynamoDB's documented quota).
fn check_projected_total(indexes: &[IndexSchema]) -> crate::Result<()> {
    let total: usize = indexes
        .iter()
        .map(|index| match &index.projection {
            ResolvedProjection::Include(names) => names.len(),
            ResolvedProjection::KeysOnly | ResolvedProjection::All => 0,
        })
        .sum();
    if total > NON_KEY_ATTRIBUTES_PER_TABLE {
        // Wording not confirmed against DynamoDB.
        return Err(invalid(format_args!(
            "The number of NonKeyAttributes summed across all secondary indexes ({total}) exceeds \
             the per-table limit of {NON_KEY_ATTRIBUTES_PER_TABLE}"
        )));
    }
    Ok(())
}

fn check_stream(spec: Option<&StreamSpecification>) -> crate::Result<()> {
    match spec {
        Some(spec) if spec.stream_enabled && spec.stream_view_type.is_none() => Err(invalid(
            "Table is being created with a stream enabled, UpdateViewType is required",
        )),
        Some(spec) if !spec.stream_enabled && spec.stream_view_type.is_some() => Err(invalid(
            "Table is being created with a stream disabled, UpdateViewType should not be specified",
        )),
        _ => Ok(()),
    }
}

fn check_sse(sse: &SseSpecification) -> crate::Result<()> {
    if sse.enabled == Some(false) {
        if sse.sse_type.is_some() {
            return Err(invalid("SSEType can not be specified if Enabled is false"));
        }
        if sse.kms_master_key_id.is_some() {
            return Err(invalid(
                "KMSMasterKeyId can not be specified if Enabled is false",
            ));
        }
    }
    if sse.sse_type == Some(SseType::Aes256) {
        return Err(invalid("SSEType AES256 is not supported"));
    }
    if sse.kms_master_key_id.is_some() && sse.sse_type != Some(SseType::Kms) {
        return Err(invalid(
            "SSEType KMS is required if KMSMasterKeyId is specified",
        ));
    }
    Ok(())
}

/// AWS tag text: letters, digits and spaces of any script, and `_ . : / = + - @`.
fn is_tag_text(text: &str) -> bool {
    text.chars().all(|c| {
        c.is_alphanumeric()
            || (c.is_whitespace() && !c.is_control())
            || matches!(c, '_' | '.' | ':' | '/' | '=' | '+' | '-' | '@')
    })
}

/// Tag rules; each tag is checked in order, the count last (as TagResource does).
fn check_tags(tags: &[Tag]) -> crate::Result<()> {
    let mut keys = HashSet::new();
    for tag in tags {
        let key_len = tag.key.chars().count();
        if key_len == 0 || key_len > TAG_KEY_MAX_LEN || !is_tag_text(&tag.key) {
            return Err(DdbError::validation(format!(
                "The Tag Key provided is invalid, Key: {}",
                tag.key
            )));
        }
        if tag.key.starts_with("aws:") {
            return Err(DdbError::validation(format!(
                "Tag Key cannot be prefixed with aws:, Key: {}",
                tag.key
            )));
        }
        if tag.value.chars().count() > TAG_VALUE_MAX_LEN || !is_tag_text(&tag.value) {
            return Err(DdbError::validation(format!(
                "The Tag Value provided is invalid, Value: {}",
                tag.value
            )));
        }
        if !keys.insert(tag.key.as_str()) {
            return Err(DdbError::validation(format!(
                "Duplicate Tag Keys provided as input: Duplicate Tag Key found {}",
                tag.key
            )));
        }
    }
    if tags.len() > MAX_TAGS {
        return Err(DdbError::validation(
            "Number of Tags exceed the current limit for the provided ResourceArn",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tag_text_follows_the_aws_tag_pattern() {
        assert!(is_tag_text("café ключ 表 a+b-c=d.e_f:g/h@i"));
        assert!(is_tag_text(""));
        for bad in ["#", "100%", "a,b", "a*b", "\u{1F511}", "a\tb"] {
            assert!(!is_tag_text(bad), "{bad:?}");
        }
    }

    #[test]
    fn projection_resolution() {
        let include = |names: &[&str]| Projection {
            projection_type: Some(ProjectionType::Include),
            non_key_attributes: Some(names.iter().map(|n| (*n).to_owned()).collect()),
        };
        assert_eq!(
            resolve_projection(&include(&["b", "a"])).unwrap(),
            ResolvedProjection::Include(vec!["a".into(), "b".into()])
        );
        assert_eq!(
            resolve_projection(&include(&["a", "b", "a"]))
                .unwrap_err()
                .message(),
            "One or more parameter values were invalid: Duplicate element in NonKeyAttributes: a"
        );
        assert_eq!(
            resolve_projection(&Projection::default())
                .unwrap_err()
                .message(),
            "One or more parameter values were invalid: Unknown ProjectionType: null"
        );
    }
}
