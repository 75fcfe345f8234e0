//! Table definitions: the `CreateTable` request as DynamoDB's JSON spells it, its validation
//! (DynamoDB's rules, error names and messages) and the `TableDescription` a new table reports.
//!
//! The request types keep DynamoDB's field names so an `aws dynamodb create-table
//! --cli-input-json` document parses unchanged and serialises back to the same shape.

mod constraints;
mod describe;
mod validate;

pub use constraints::{validate_index_name, validate_table_name};
pub use describe::{
    BillingModeSummary, GlobalSecondaryIndexDescription, IndexStatus,
    LocalSecondaryIndexDescription, ProvisionedThroughputDescription, RestoreSummary,
    SseDescription, SseStatus, TableClassSummary, TableDescription, TableStatus,
    describe_new_table,
};

use serde::{Deserialize, Serialize};

use crate::error::DdbError;
use crate::schema::{AttributeDefinition, KeySchemaElement, Projection};

/// The `CreateTable` request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CreateTableInput {
    pub table_name: String,
    pub attribute_definitions: Vec<AttributeDefinition>,
    pub key_schema: Vec<KeySchemaElement>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub local_secondary_indexes: Option<Vec<LocalSecondaryIndex>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub global_secondary_indexes: Option<Vec<GlobalSecondaryIndex>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub billing_mode: Option<BillingMode>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provisioned_throughput: Option<ProvisionedThroughput>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stream_specification: Option<StreamSpecification>,
    #[serde(
        rename = "SSESpecification",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub sse_specification: Option<SseSpecification>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tags: Option<Vec<Tag>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub table_class: Option<TableClass>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deletion_protection_enabled: Option<bool>,
}

impl CreateTableInput {
    /// Parses a `CreateTable` request body (or a `--cli-input-json` document).
    ///
    /// A body that is not JSON, or whose members have the wrong JSON type or an unknown enum
    /// value, is a `SerializationException` carrying serde's message. A missing `TableName`,
    /// `AttributeDefinitions` or `KeySchema` is the `ValidationException` DynamoDB returns for it.
    pub fn from_json(json: &str) -> crate::Result<Self> {
        let value: serde_json::Value =
            serde_json::from_str(json).map_err(|e| DdbError::serialization(e.to_string()))?;
        constraints::check_required_members(&value)?;
        // Parse from the text again (not from `value`) so serde's message keeps line and column.
        serde_json::from_str(json).map_err(|e| DdbError::serialization(e.to_string()))
    }

    /// The billing mode, `PROVISIONED` when the request leaves it out (DynamoDB's default).
    pub fn effective_billing_mode(&self) -> BillingMode {
        self.billing_mode.unwrap_or_default()
    }
}

/// A local secondary index in a `CreateTable` request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct LocalSecondaryIndex {
    pub index_name: String,
    pub key_schema: Vec<KeySchemaElement>,
    pub projection: Projection,
}

/// A global secondary index in a `CreateTable` request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct GlobalSecondaryIndex {
    pub index_name: String,
    pub key_schema: Vec<KeySchemaElement>,
    pub projection: Projection,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provisioned_throughput: Option<ProvisionedThroughput>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_demand_throughput: Option<OnDemandThroughput>,
}

/// Read and write capacity of a provisioned table or index.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ProvisionedThroughput {
    pub read_capacity_units: i64,
    pub write_capacity_units: i64,
}

/// Request-unit caps of an on-demand index (`-1` means no cap).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct OnDemandThroughput {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_read_request_units: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_write_request_units: Option<i64>,
}

/// How a table is billed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum BillingMode {
    #[default]
    Provisioned,
    PayPerRequest,
}

impl BillingMode {
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Provisioned => "PROVISIONED",
            Self::PayPerRequest => "PAY_PER_REQUEST",
        }
    }
}

/// Whether the table has a stream and what its records carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct StreamSpecification {
    pub stream_enabled: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stream_view_type: Option<StreamViewType>,
}

/// What a stream record carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum StreamViewType {
    NewImage,
    OldImage,
    NewAndOldImages,
    KeysOnly,
}

/// Server-side encryption settings of a `CreateTable` request.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub struct SseSpecification {
    #[serde(rename = "Enabled", default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    #[serde(rename = "SSEType", default, skip_serializing_if = "Option::is_none")]
    pub sse_type: Option<SseType>,
    #[serde(
        rename = "KMSMasterKeyId",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub kms_master_key_id: Option<String>,
}

/// The kind of server-side encryption.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum SseType {
    #[serde(rename = "AES256")]
    Aes256,
    #[serde(rename = "KMS")]
    Kms,
}

impl SseType {
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Aes256 => "AES256",
            Self::Kms => "KMS",
        }
    }
}

/// A resource tag.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Tag {
    pub key: String,
    pub value: String,
}

/// The storage class of a table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum TableClass {
    #[default]
    Standard,
    StandardInfrequentAccess,
}
