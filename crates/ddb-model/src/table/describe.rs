//! `TableDescription`, the shape `DescribeTable` and `CreateTable` return, and the description
//! of a table that was just created.

use serde::{Deserialize, Serialize};

use super::{
    BillingMode, CreateTableInput, OnDemandThroughput, SseType, StreamSpecification, TableClass,
};
use crate::schema::{
    AttributeDefinition, IndexKind, IndexSchema, KeySchemaElement, Projection, ProjectionType,
    ResolvedProjection, TableSchema,
};

/// A table as `aws dynamodb describe-table` prints it. Optional members are left out when
/// absent, as DynamoDB leaves them out.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct TableDescription {
    pub attribute_definitions: Vec<AttributeDefinition>,
    pub table_name: String,
    pub key_schema: Vec<KeySchemaElement>,
    pub table_status: TableStatus,
    /// Seconds since the Unix epoch; DynamoDB's JSON carries it as a number.
    pub creation_date_time: f64,
    pub provisioned_throughput: ProvisionedThroughputDescription,
    pub table_size_bytes: i64,
    pub item_count: i64,
    pub table_arn: String,
    pub table_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub billing_mode_summary: Option<BillingModeSummary>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub local_secondary_indexes: Option<Vec<LocalSecondaryIndexDescription>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub global_secondary_indexes: Option<Vec<GlobalSecondaryIndexDescription>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stream_specification: Option<StreamSpecification>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latest_stream_label: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latest_stream_arn: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restore_summary: Option<RestoreSummary>,
    #[serde(
        rename = "SSEDescription",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub sse_description: Option<SseDescription>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub table_class_summary: Option<TableClassSummary>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deletion_protection_enabled: Option<bool>,
}

/// The lifecycle state of a table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum TableStatus {
    Creating,
    Updating,
    Deleting,
    Active,
    Archiving,
    Archived,
    InaccessibleEncryptionCredentials,
}

/// The lifecycle state of a global secondary index.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum IndexStatus {
    Creating,
    Updating,
    Deleting,
    Active,
}

/// Provisioned capacity as described; an on-demand table or index reports zeros.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ProvisionedThroughputDescription {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_increase_date_time: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_decrease_date_time: Option<f64>,
    pub number_of_decreases_today: i64,
    pub read_capacity_units: i64,
    pub write_capacity_units: i64,
}

/// The billing mode and when the table last switched to on-demand.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct BillingModeSummary {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub billing_mode: Option<BillingMode>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_update_to_pay_per_request_date_time: Option<f64>,
}

/// A local secondary index as described.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct LocalSecondaryIndexDescription {
    pub index_name: String,
    pub key_schema: Vec<KeySchemaElement>,
    pub projection: Projection,
    pub index_size_bytes: i64,
    pub item_count: i64,
    pub index_arn: String,
}

/// A global secondary index as described.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct GlobalSecondaryIndexDescription {
    pub index_name: String,
    pub key_schema: Vec<KeySchemaElement>,
    pub projection: Projection,
    pub index_status: IndexStatus,
    /// Present only while an index added to an existing table is being filled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backfilling: Option<bool>,
    pub provisioned_throughput: ProvisionedThroughputDescription,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_demand_throughput: Option<OnDemandThroughput>,
    pub index_size_bytes: i64,
    pub item_count: i64,
    pub index_arn: String,
    /// Ours, not DynamoDB's: items the index's last backfill skipped because an index key
    /// attribute had the wrong type, was empty or too large (DynamoDB reports these only
    /// through CloudWatch). Absent when none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backfill_violation_count: Option<u64>,
}

/// Where a restored table came from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct RestoreSummary {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_backup_arn: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_table_arn: Option<String>,
    pub restore_date_time: f64,
    pub restore_in_progress: bool,
}

/// Server-side encryption state (absent for the AWS-owned default key).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SseDescription {
    #[serde(rename = "Status", default, skip_serializing_if = "Option::is_none")]
    pub status: Option<SseStatus>,
    #[serde(rename = "SSEType", default, skip_serializing_if = "Option::is_none")]
    pub sse_type: Option<SseType>,
    #[serde(
        rename = "KMSMasterKeyArn",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub kms_master_key_arn: Option<String>,
    #[serde(
        rename = "InaccessibleEncryptionDateTime",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub inaccessible_encryption_date_time: Option<f64>,
}

/// The state of server-side encryption.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum SseStatus {
    Enabling,
    Enabled,
    Disabling,
    Disabled,
    Updating,
}

/// The table class and when it last changed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct TableClassSummary {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub table_class: Option<TableClass>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_update_date_time: Option<f64>,
}

/// The description of a table `CreateTable` just accepted: status `CREATING`, empty, every GSI
/// `CREATING`.
///
/// `schema` must be what `input.validate()` returned. `AttributeDefinitions` and INCLUDE
/// projections come back sorted by name, as DynamoDB returns them; index lists keep request order.
pub fn describe_new_table(
    input: &CreateTableInput,
    schema: &TableSchema,
    table_arn: String,
    table_id: String,
    creation_date_time: f64,
) -> TableDescription {
    let billing = input.effective_billing_mode();
    let locals: Vec<LocalSecondaryIndexDescription> = schema
        .indexes
        .iter()
        .filter(|i| i.kind == IndexKind::Local)
        .map(|index| LocalSecondaryIndexDescription {
            index_name: index.name.clone(),
            key_schema: index.key.key_schema(),
            projection: projection_of(&index.projection),
            index_size_bytes: 0,
            item_count: 0,
            index_arn: index_arn(&table_arn, index),
        })
        .collect();
    let globals: Vec<GlobalSecondaryIndexDescription> = schema
        .indexes
        .iter()
        .filter(|i| i.kind == IndexKind::Global)
        .map(|index| {
            let request = input
                .global_secondary_indexes
                .iter()
                .flatten()
                .find(|g| g.index_name == index.name);
            GlobalSecondaryIndexDescription {
                index_name: index.name.clone(),
                key_schema: index.key.key_schema(),
                projection: projection_of(&index.projection),
                index_status: IndexStatus::Creating,
                backfilling: None,
                provisioned_throughput: throughput_of(
                    billing,
                    request.and_then(|g| g.provisioned_throughput.as_ref()),
                ),
                on_demand_throughput: request.and_then(|g| g.on_demand_throughput),
                backfill_violation_count: None,
                index_size_bytes: 0,
                item_count: 0,
                index_arn: index_arn(&table_arn, index),
            }
        })
        .collect();

    let stream = input.stream_specification.filter(|s| s.stream_enabled);
    let stream_label = stream.map(|_| stream_label(creation_date_time));
    let latest_stream_arn = stream_label
        .as_ref()
        .map(|label| format!("{table_arn}/stream/{label}"));
    let sse_description = input.sse_specification.as_ref().and_then(|sse| {
        // Enabled: false, or an empty specification, means the AWS-owned key: no description.
        let enabled = sse.enabled.unwrap_or(sse.sse_type.is_some());
        enabled.then(|| SseDescription {
            status: Some(SseStatus::Enabled),
            sse_type: Some(SseType::Kms),
            // DynamoDB resolves aliases and key ids to the key's ARN; without KMS the request's
            // value is the best available, and the AWS-managed key's ARN is unknown here.
            kms_master_key_arn: sse.kms_master_key_id.clone(),
            inaccessible_encryption_date_time: None,
        })
    });

    TableDescription {
        attribute_definitions: schema.attribute_definitions(),
        table_name: input.table_name.clone(),
        key_schema: schema.key.key_schema(),
        table_status: TableStatus::Creating,
        creation_date_time,
        provisioned_throughput: throughput_of(billing, input.provisioned_throughput.as_ref()),
        table_size_bytes: 0,
        item_count: 0,
        table_arn,
        table_id,
        billing_mode_summary: (billing == BillingMode::PayPerRequest).then_some(
            BillingModeSummary {
                billing_mode: Some(BillingMode::PayPerRequest),
                last_update_to_pay_per_request_date_time: Some(creation_date_time),
            },
        ),
        local_secondary_indexes: (!locals.is_empty()).then_some(locals),
        global_secondary_indexes: (!globals.is_empty()).then_some(globals),
        stream_specification: stream,
        latest_stream_label: stream_label,
        latest_stream_arn,
        restore_summary: None,
        sse_description,
        table_class_summary: input.table_class.map(|class| TableClassSummary {
            table_class: Some(class),
            last_update_date_time: None,
        }),
        // DynamoDB always reports the flag, false unless requested.
        deletion_protection_enabled: Some(input.deletion_protection_enabled.unwrap_or(false)),
    }
}

fn index_arn(table_arn: &str, index: &IndexSchema) -> String {
    format!("{table_arn}/index/{}", index.name)
}

fn projection_of(projection: &ResolvedProjection) -> Projection {
    match projection {
        ResolvedProjection::KeysOnly => Projection {
            projection_type: Some(ProjectionType::KeysOnly),
            non_key_attributes: None,
        },
        ResolvedProjection::Include(names) => Projection {
            projection_type: Some(ProjectionType::Include),
            non_key_attributes: Some(names.clone()),
        },
        ResolvedProjection::All => Projection {
            projection_type: Some(ProjectionType::All),
            non_key_attributes: None,
        },
    }
}

/// On-demand tables and indexes describe their provisioned throughput as zeros.
fn throughput_of(
    billing: BillingMode,
    requested: Option<&super::ProvisionedThroughput>,
) -> ProvisionedThroughputDescription {
    let (read, write) = match (billing, requested) {
        (BillingMode::Provisioned, Some(t)) => (t.read_capacity_units, t.write_capacity_units),
        _ => (0, 0),
    };
    ProvisionedThroughputDescription {
        last_increase_date_time: None,
        last_decrease_date_time: None,
        number_of_decreases_today: 0,
        read_capacity_units: read,
        write_capacity_units: write,
    }
}

/// A stream label: the stream's creation time as `YYYY-MM-DDTHH:MM:SS.mmm` (UTC).
fn stream_label(epoch_seconds: f64) -> String {
    let millis = (epoch_seconds * 1000.0).round();
    // Go through the decimal text rather than an `as` cast: out-of-range times become the epoch.
    let millis: i64 = if millis.is_finite() {
        format!("{millis:.0}").parse().unwrap_or(0)
    } else {
        0
    };
    let days = millis.div_euclid(86_400_000);
    let in_day = millis.rem_euclid(86_400_000);
    let (year, month, day) = civil_from_days(days);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:03}",
        in_day / 3_600_000,
        in_day / 60_000 % 60,
        in_day / 1000 % 60,
        in_day % 1000
    )
}

/// Proleptic Gregorian date of a day count since 1970-01-01 (Howard Hinnant's algorithm).
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let shifted_month = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * shifted_month + 2) / 5 + 1;
    let month = if shifted_month < 10 {
        shifted_month + 3
    } else {
        shifted_month - 9
    };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stream_label_formats_utc_milliseconds() {
        assert_eq!(stream_label(0.0), "1970-01-01T00:00:00.000");
        assert_eq!(stream_label(1_700_000_000.123), "2023-11-14T22:13:20.123");
        // 2024 is a leap year.
        assert_eq!(stream_label(1_709_210_096.5), "2024-02-29T12:34:56.500");
        assert_eq!(stream_label(f64::NAN), "1970-01-01T00:00:00.000");
    }

    #[test]
    fn civil_dates_around_era_boundaries() {
        assert_eq!(civil_from_days(-1), (1969, 12, 31));
        assert_eq!(civil_from_days(11_016), (2000, 2, 29));
        assert_eq!(civil_from_days(10_957), (2000, 1, 1));
    }
}
