//! The operations and their parameters: one table per command, in the DynamoDB API's member
//! names (the flags are their kebab-case, as botocore's `xform_name` makes them) and with the
//! members the API requires. The AWS CLI builds its arguments from the service model the same
//! way; this is the part of that model `ddbfmt` needs.

/// How a member's value is written on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A string.
    Str,
    /// A whole number.
    Int,
    /// `--flag` / `--no-flag`.
    Bool,
    /// A structure or map: JSON, or shorthand `Key=Value,...`.
    Json,
    /// A list of structures: one JSON array, or one JSON object or shorthand structure per
    /// value (`--key-schema AttributeName=pk,KeyType=HASH AttributeName=sk,KeyType=RANGE`).
    List,
    /// A list of strings: the values, or one JSON array.
    StrList,
    /// A point in time: epoch seconds (fractional allowed) or ISO 8601; sent as epoch seconds.
    Timestamp,
}

/// One parameter of an operation.
#[derive(Debug, Clone, Copy)]
pub struct Flag {
    /// The flag without its dashes, e.g. `table-name`.
    pub name: &'static str,
    /// The API member, e.g. `TableName`.
    pub member: &'static str,
    pub kind: Kind,
}

/// The paginator of an operation (botocore's `paginators-1.json` for DynamoDB).
#[derive(Debug, PartialEq, Eq)]
pub struct Paginator {
    pub input_token: &'static str,
    pub output_token: &'static str,
    pub limit_key: &'static str,
    /// Merged across pages: lists concatenated, numbers summed. The first is the one
    /// `--max-items` counts.
    pub result_keys: &'static [&'static str],
    /// Taken from the first page (`ConsumedCapacity`, with its `CapacityUnits` summed).
    pub non_aggregate_keys: &'static [&'static str],
}

/// One `aws dynamodb` command.
#[derive(Debug)]
pub struct CommandSpec {
    /// The command, e.g. `put-item`.
    pub name: &'static str,
    /// The API operation, e.g. `PutItem`.
    pub operation: &'static str,
    pub about: &'static str,
    pub flags: &'static [Flag],
    /// Members the API requires.
    pub required: &'static [&'static str],
    pub paginator: Option<&'static Paginator>,
}

impl CommandSpec {
    pub fn flag_for_member(&self, member: &str) -> Option<&'static Flag> {
        self.flags.iter().find(|f| f.member == member)
    }
}

const fn flag(name: &'static str, member: &'static str, kind: Kind) -> Flag {
    Flag { name, member, kind }
}

use Kind::{Bool, Int, Json, List, Str, StrList, Timestamp};

const TABLE_NAME: Flag = flag("table-name", "TableName", Str);
const BACKUP_ARN: Flag = flag("backup-arn", "BackupArn", Str);
const KEY: Flag = flag("key", "Key", Json);
const RETURN_CONSUMED_CAPACITY: Flag =
    flag("return-consumed-capacity", "ReturnConsumedCapacity", Str);
const RETURN_ITEM_COLLECTION_METRICS: Flag = flag(
    "return-item-collection-metrics",
    "ReturnItemCollectionMetrics",
    Str,
);
const RETURN_VALUES: Flag = flag("return-values", "ReturnValues", Str);
const RETURN_VALUES_ON_CONDITION_CHECK_FAILURE: Flag = flag(
    "return-values-on-condition-check-failure",
    "ReturnValuesOnConditionCheckFailure",
    Str,
);
const EXPECTED: Flag = flag("expected", "Expected", Json);
const CONDITIONAL_OPERATOR: Flag = flag("conditional-operator", "ConditionalOperator", Str);
const CONDITION_EXPRESSION: Flag = flag("condition-expression", "ConditionExpression", Str);
const EXPRESSION_ATTRIBUTE_NAMES: Flag = flag(
    "expression-attribute-names",
    "ExpressionAttributeNames",
    Json,
);
const EXPRESSION_ATTRIBUTE_VALUES: Flag = flag(
    "expression-attribute-values",
    "ExpressionAttributeValues",
    Json,
);
const PROJECTION_EXPRESSION: Flag = flag("projection-expression", "ProjectionExpression", Str);
const FILTER_EXPRESSION: Flag = flag("filter-expression", "FilterExpression", Str);
const CONSISTENT_READ: Flag = flag("consistent-read", "ConsistentRead", Bool);
const ATTRIBUTES_TO_GET: Flag = flag("attributes-to-get", "AttributesToGet", StrList);
const INDEX_NAME: Flag = flag("index-name", "IndexName", Str);
const SELECT: Flag = flag("select", "Select", Str);
const LIMIT: Flag = flag("limit", "Limit", Int);
const EXCLUSIVE_START_KEY: Flag = flag("exclusive-start-key", "ExclusiveStartKey", Json);
const ATTRIBUTE_DEFINITIONS: Flag = flag("attribute-definitions", "AttributeDefinitions", List);
const BILLING_MODE: Flag = flag("billing-mode", "BillingMode", Str);
const PROVISIONED_THROUGHPUT: Flag = flag("provisioned-throughput", "ProvisionedThroughput", Json);
const ON_DEMAND_THROUGHPUT: Flag = flag("on-demand-throughput", "OnDemandThroughput", Json);
const WARM_THROUGHPUT: Flag = flag("warm-throughput", "WarmThroughput", Json);
const STREAM_SPECIFICATION: Flag = flag("stream-specification", "StreamSpecification", Json);
const SSE_SPECIFICATION: Flag = flag("sse-specification", "SSESpecification", Json);
const TABLE_CLASS: Flag = flag("table-class", "TableClass", Str);
const DELETION_PROTECTION_ENABLED: Flag = flag(
    "deletion-protection-enabled",
    "DeletionProtectionEnabled",
    Bool,
);
const TABLE_ARN: Flag = flag("table-arn", "TableArn", Str);
const TARGET_TABLE_NAME: Flag = flag("target-table-name", "TargetTableName", Str);
const CLIENT_TOKEN: Flag = flag("client-token", "ClientToken", Str);
const NEXT_TOKEN: Flag = flag("next-token", "NextToken", Str);
const EXPORT_ARN: Flag = flag("export-arn", "ExportArn", Str);
const IMPORT_ARN: Flag = flag("import-arn", "ImportArn", Str);
/// The overrides both restores take (DynamoDB's), then our two opt-ins to carry over settings
/// a restore drops by default.
const RESTORE_OVERRIDES: [Flag; 7] = [
    flag("billing-mode-override", "BillingModeOverride", Str),
    flag(
        "provisioned-throughput-override",
        "ProvisionedThroughputOverride",
        Json,
    ),
    flag(
        "global-secondary-index-override",
        "GlobalSecondaryIndexOverride",
        List,
    ),
    flag(
        "local-secondary-index-override",
        "LocalSecondaryIndexOverride",
        List,
    ),
    flag(
        "sse-specification-override",
        "SSESpecificationOverride",
        Json,
    ),
    flag("reapply-tags", "ReapplyTags", Bool),
    flag(
        "reapply-stream-specification",
        "ReapplyStreamSpecification",
        Bool,
    ),
];

pub static QUERY_SCAN_PAGINATOR: Paginator = Paginator {
    input_token: "ExclusiveStartKey",
    output_token: "LastEvaluatedKey",
    limit_key: "Limit",
    result_keys: &["Items", "Count", "ScannedCount"],
    non_aggregate_keys: &["ConsumedCapacity"],
};

pub static LIST_TABLES_PAGINATOR: Paginator = Paginator {
    input_token: "ExclusiveStartTableName",
    output_token: "LastEvaluatedTableName",
    limit_key: "Limit",
    result_keys: &["TableNames"],
    non_aggregate_keys: &[],
};

pub static LIST_BACKUPS_PAGINATOR: Paginator = Paginator {
    input_token: "ExclusiveStartBackupArn",
    output_token: "LastEvaluatedBackupArn",
    limit_key: "Limit",
    result_keys: &["BackupSummaries"],
    non_aggregate_keys: &[],
};

pub static LIST_EXPORTS_PAGINATOR: Paginator = Paginator {
    input_token: "NextToken",
    output_token: "NextToken",
    limit_key: "MaxResults",
    result_keys: &["ExportSummaries"],
    non_aggregate_keys: &[],
};

/// `ListImports` pages by `PageSize`, which is also the AWS CLI's own `--page-size`: the
/// command has no flag of its own for it (`--page-size` sets it on every request).
pub static LIST_IMPORTS_PAGINATOR: Paginator = Paginator {
    input_token: "NextToken",
    output_token: "NextToken",
    limit_key: "PageSize",
    result_keys: &["ImportSummaryList"],
    non_aggregate_keys: &[],
};

pub static COMMANDS: &[CommandSpec] = &[
    CommandSpec {
        name: "create-table",
        operation: "CreateTable",
        about: "Create a table with its key schema, LSIs and GSIs (CreateTable).",
        flags: &[
            ATTRIBUTE_DEFINITIONS,
            TABLE_NAME,
            flag("key-schema", "KeySchema", List),
            flag("local-secondary-indexes", "LocalSecondaryIndexes", List),
            flag("global-secondary-indexes", "GlobalSecondaryIndexes", List),
            BILLING_MODE,
            PROVISIONED_THROUGHPUT,
            STREAM_SPECIFICATION,
            SSE_SPECIFICATION,
            flag("tags", "Tags", List),
            TABLE_CLASS,
            DELETION_PROTECTION_ENABLED,
            WARM_THROUGHPUT,
            flag("resource-policy", "ResourcePolicy", Str),
            ON_DEMAND_THROUGHPUT,
        ],
        required: &["AttributeDefinitions", "TableName", "KeySchema"],
        paginator: None,
    },
    CommandSpec {
        name: "describe-table",
        operation: "DescribeTable",
        about: "Describe a table: status, key schema, indexes, item count (DescribeTable).",
        flags: &[TABLE_NAME],
        required: &["TableName"],
        paginator: None,
    },
    CommandSpec {
        name: "list-tables",
        operation: "ListTables",
        about: "List the table names (ListTables; paginated).",
        flags: &[
            flag("exclusive-start-table-name", "ExclusiveStartTableName", Str),
            LIMIT,
        ],
        required: &[],
        paginator: Some(&LIST_TABLES_PAGINATOR),
    },
    CommandSpec {
        name: "delete-table",
        operation: "DeleteTable",
        about: "Delete a table and its items (DeleteTable).",
        flags: &[TABLE_NAME],
        required: &["TableName"],
        paginator: None,
    },
    CommandSpec {
        name: "update-table",
        operation: "UpdateTable",
        about: "Change a table: create or delete GSIs, billing mode, throughput (UpdateTable).",
        flags: &[
            ATTRIBUTE_DEFINITIONS,
            TABLE_NAME,
            BILLING_MODE,
            PROVISIONED_THROUGHPUT,
            flag(
                "global-secondary-index-updates",
                "GlobalSecondaryIndexUpdates",
                List,
            ),
            STREAM_SPECIFICATION,
            SSE_SPECIFICATION,
            flag("replica-updates", "ReplicaUpdates", List),
            TABLE_CLASS,
            DELETION_PROTECTION_ENABLED,
            flag("multi-region-consistency", "MultiRegionConsistency", Str),
            flag(
                "global-table-witness-updates",
                "GlobalTableWitnessUpdates",
                List,
            ),
            ON_DEMAND_THROUGHPUT,
            WARM_THROUGHPUT,
        ],
        required: &["TableName"],
        paginator: None,
    },
    CommandSpec {
        name: "put-item",
        operation: "PutItem",
        about: "Create or replace an item (PutItem).",
        flags: &[
            TABLE_NAME,
            flag("item", "Item", Json),
            EXPECTED,
            RETURN_VALUES,
            RETURN_CONSUMED_CAPACITY,
            RETURN_ITEM_COLLECTION_METRICS,
            CONDITIONAL_OPERATOR,
            CONDITION_EXPRESSION,
            EXPRESSION_ATTRIBUTE_NAMES,
            EXPRESSION_ATTRIBUTE_VALUES,
            RETURN_VALUES_ON_CONDITION_CHECK_FAILURE,
        ],
        required: &["TableName", "Item"],
        paginator: None,
    },
    CommandSpec {
        name: "get-item",
        operation: "GetItem",
        about: "Read one item by its key (GetItem).",
        flags: &[
            TABLE_NAME,
            KEY,
            ATTRIBUTES_TO_GET,
            CONSISTENT_READ,
            RETURN_CONSUMED_CAPACITY,
            PROJECTION_EXPRESSION,
            EXPRESSION_ATTRIBUTE_NAMES,
        ],
        required: &["TableName", "Key"],
        paginator: None,
    },
    CommandSpec {
        name: "update-item",
        operation: "UpdateItem",
        about: "Change the attributes of an item, creating it if needed (UpdateItem).",
        flags: &[
            TABLE_NAME,
            KEY,
            flag("attribute-updates", "AttributeUpdates", Json),
            EXPECTED,
            CONDITIONAL_OPERATOR,
            RETURN_VALUES,
            RETURN_CONSUMED_CAPACITY,
            RETURN_ITEM_COLLECTION_METRICS,
            flag("update-expression", "UpdateExpression", Str),
            CONDITION_EXPRESSION,
            EXPRESSION_ATTRIBUTE_NAMES,
            EXPRESSION_ATTRIBUTE_VALUES,
            RETURN_VALUES_ON_CONDITION_CHECK_FAILURE,
        ],
        required: &["TableName", "Key"],
        paginator: None,
    },
    CommandSpec {
        name: "delete-item",
        operation: "DeleteItem",
        about: "Delete one item by its key (DeleteItem).",
        flags: &[
            TABLE_NAME,
            KEY,
            EXPECTED,
            CONDITIONAL_OPERATOR,
            RETURN_VALUES,
            RETURN_CONSUMED_CAPACITY,
            RETURN_ITEM_COLLECTION_METRICS,
            CONDITION_EXPRESSION,
            EXPRESSION_ATTRIBUTE_NAMES,
            EXPRESSION_ATTRIBUTE_VALUES,
            RETURN_VALUES_ON_CONDITION_CHECK_FAILURE,
        ],
        required: &["TableName", "Key"],
        paginator: None,
    },
    CommandSpec {
        name: "batch-write-item",
        operation: "BatchWriteItem",
        about: "Put or delete up to 25 items in one or more tables (BatchWriteItem).",
        flags: &[
            flag("request-items", "RequestItems", Json),
            RETURN_CONSUMED_CAPACITY,
            RETURN_ITEM_COLLECTION_METRICS,
        ],
        required: &["RequestItems"],
        paginator: None,
    },
    CommandSpec {
        name: "batch-get-item",
        operation: "BatchGetItem",
        about: "Read up to 100 items by key from one or more tables (BatchGetItem).",
        flags: &[
            flag("request-items", "RequestItems", Json),
            RETURN_CONSUMED_CAPACITY,
        ],
        required: &["RequestItems"],
        paginator: None,
    },
    CommandSpec {
        name: "query",
        operation: "Query",
        about: "Read the items of one partition of a table or index (Query; paginated).",
        flags: &[
            TABLE_NAME,
            INDEX_NAME,
            SELECT,
            ATTRIBUTES_TO_GET,
            LIMIT,
            CONSISTENT_READ,
            flag("key-conditions", "KeyConditions", Json),
            flag("query-filter", "QueryFilter", Json),
            CONDITIONAL_OPERATOR,
            flag("scan-index-forward", "ScanIndexForward", Bool),
            EXCLUSIVE_START_KEY,
            RETURN_CONSUMED_CAPACITY,
            PROJECTION_EXPRESSION,
            FILTER_EXPRESSION,
            flag("key-condition-expression", "KeyConditionExpression", Str),
            EXPRESSION_ATTRIBUTE_NAMES,
            EXPRESSION_ATTRIBUTE_VALUES,
        ],
        required: &["TableName"],
        paginator: Some(&QUERY_SCAN_PAGINATOR),
    },
    CommandSpec {
        name: "scan",
        operation: "Scan",
        about: "Read every item of a table or index (Scan; paginated).",
        flags: &[
            TABLE_NAME,
            INDEX_NAME,
            ATTRIBUTES_TO_GET,
            LIMIT,
            SELECT,
            flag("scan-filter", "ScanFilter", Json),
            CONDITIONAL_OPERATOR,
            EXCLUSIVE_START_KEY,
            RETURN_CONSUMED_CAPACITY,
            flag("total-segments", "TotalSegments", Int),
            flag("segment", "Segment", Int),
            PROJECTION_EXPRESSION,
            FILTER_EXPRESSION,
            EXPRESSION_ATTRIBUTE_NAMES,
            EXPRESSION_ATTRIBUTE_VALUES,
            CONSISTENT_READ,
        ],
        required: &["TableName"],
        paginator: Some(&QUERY_SCAN_PAGINATOR),
    },
    CommandSpec {
        name: "create-backup",
        operation: "CreateBackup",
        about: "Back up a table at this instant: prints the CREATING response, then waits \
                for AVAILABLE unless --no-wait (CreateBackup).",
        flags: &[TABLE_NAME, flag("backup-name", "BackupName", Str)],
        required: &["TableName", "BackupName"],
        paginator: None,
    },
    CommandSpec {
        name: "describe-backup",
        operation: "DescribeBackup",
        about: "Describe a backup: status, source table at the backup's cut, its directory \
                (DescribeBackup).",
        flags: &[BACKUP_ARN],
        required: &["BackupArn"],
        paginator: None,
    },
    CommandSpec {
        name: "list-backups",
        operation: "ListBackups",
        about: "List backups, filtered by table, request time and type (ListBackups; \
                paginated).",
        flags: &[
            TABLE_NAME,
            LIMIT,
            flag("time-range-lower-bound", "TimeRangeLowerBound", Timestamp),
            flag("time-range-upper-bound", "TimeRangeUpperBound", Timestamp),
            flag("exclusive-start-backup-arn", "ExclusiveStartBackupArn", Str),
            flag("backup-type", "BackupType", Str),
        ],
        required: &[],
        paginator: Some(&LIST_BACKUPS_PAGINATOR),
    },
    CommandSpec {
        name: "delete-backup",
        operation: "DeleteBackup",
        about: "Delete an AVAILABLE backup and its files (DeleteBackup).",
        flags: &[BACKUP_ARN],
        required: &["BackupArn"],
        paginator: None,
    },
    CommandSpec {
        name: "update-continuous-backups",
        operation: "UpdateContinuousBackups",
        about: "Turn point-in-time recovery on or off for a table, with its window of 1-35 \
                days (UpdateContinuousBackups).",
        flags: &[
            TABLE_NAME,
            flag(
                "point-in-time-recovery-specification",
                "PointInTimeRecoverySpecification",
                Json,
            ),
        ],
        required: &["TableName", "PointInTimeRecoverySpecification"],
        paginator: None,
    },
    CommandSpec {
        name: "describe-continuous-backups",
        operation: "DescribeContinuousBackups",
        about: "Show a table's point-in-time recovery status and restorable window \
                (DescribeContinuousBackups).",
        flags: &[TABLE_NAME],
        required: &["TableName"],
        paginator: None,
    },
    CommandSpec {
        name: "restore-table-from-backup",
        operation: "RestoreTableFromBackup",
        about: "Restore a backup (its ARN, or the path of a backup directory) into a new \
                table: prints the CREATING table, then waits for ACTIVE unless --no-wait \
                (RestoreTableFromBackup).",
        flags: &[
            TARGET_TABLE_NAME,
            BACKUP_ARN,
            RESTORE_OVERRIDES[0],
            RESTORE_OVERRIDES[1],
            RESTORE_OVERRIDES[2],
            RESTORE_OVERRIDES[3],
            RESTORE_OVERRIDES[4],
            RESTORE_OVERRIDES[5],
            RESTORE_OVERRIDES[6],
        ],
        required: &["TargetTableName", "BackupArn"],
        paginator: None,
    },
    CommandSpec {
        name: "restore-table-to-point-in-time",
        operation: "RestoreTableToPointInTime",
        about: "Restore a table with point-in-time recovery on, as it was at a time of its \
                window, into a new table: prints the CREATING table, then waits for ACTIVE \
                unless --no-wait (RestoreTableToPointInTime).",
        flags: &[
            flag("source-table-arn", "SourceTableArn", Str),
            flag("source-table-name", "SourceTableName", Str),
            TARGET_TABLE_NAME,
            flag(
                "use-latest-restorable-time",
                "UseLatestRestorableTime",
                Bool,
            ),
            flag("restore-date-time", "RestoreDateTime", Timestamp),
            RESTORE_OVERRIDES[0],
            RESTORE_OVERRIDES[1],
            RESTORE_OVERRIDES[2],
            RESTORE_OVERRIDES[3],
            RESTORE_OVERRIDES[4],
            RESTORE_OVERRIDES[5],
            RESTORE_OVERRIDES[6],
        ],
        required: &["TargetTableName"],
        paginator: None,
    },
    CommandSpec {
        name: "export-table-to-point-in-time",
        operation: "ExportTableToPointInTime",
        about: "Export a table as it was at a time of its point-in-time recovery window: \
                prints the IN_PROGRESS export, then waits for COMPLETED unless --no-wait \
                (ExportTableToPointInTime).",
        flags: &[
            TABLE_ARN,
            flag("export-time", "ExportTime", Timestamp),
            CLIENT_TOKEN,
            flag("s3-bucket", "S3Bucket", Str),
            flag("s3-bucket-owner", "S3BucketOwner", Str),
            flag("s3-prefix", "S3Prefix", Str),
            flag("s3-sse-algorithm", "S3SseAlgorithm", Str),
            flag("s3-sse-kms-key-id", "S3SseKmsKeyId", Str),
            flag("export-format", "ExportFormat", Str),
            flag("export-type", "ExportType", Str),
            flag(
                "incremental-export-specification",
                "IncrementalExportSpecification",
                Json,
            ),
            // Ours: the table by name, instead of --table-arn.
            TABLE_NAME,
        ],
        required: &["S3Bucket"],
        paginator: None,
    },
    CommandSpec {
        name: "describe-export",
        operation: "DescribeExport",
        about: "Describe an export: status, time, destination, counts (DescribeExport).",
        flags: &[EXPORT_ARN],
        required: &["ExportArn"],
        paginator: None,
    },
    CommandSpec {
        name: "list-exports",
        operation: "ListExports",
        about: "List exports, of one table or all (ListExports; paginated).",
        flags: &[
            TABLE_ARN,
            flag("max-results", "MaxResults", Int),
            NEXT_TOKEN,
        ],
        required: &[],
        paginator: Some(&LIST_EXPORTS_PAGINATOR),
    },
    CommandSpec {
        name: "import-table",
        operation: "ImportTable",
        about: "Create a table from exported files: prints the IN_PROGRESS import, then waits \
                for COMPLETED unless --no-wait (ImportTable).",
        flags: &[
            CLIENT_TOKEN,
            flag("s3-bucket-source", "S3BucketSource", Json),
            flag("input-format", "InputFormat", Str),
            flag("input-format-options", "InputFormatOptions", Json),
            flag("input-compression-type", "InputCompressionType", Str),
            flag("table-creation-parameters", "TableCreationParameters", Json),
        ],
        required: &["S3BucketSource", "InputFormat", "TableCreationParameters"],
        paginator: None,
    },
    CommandSpec {
        name: "describe-import",
        operation: "DescribeImport",
        about: "Describe an import: status, source, counts of items processed, imported and \
                in error (DescribeImport).",
        flags: &[IMPORT_ARN],
        required: &["ImportArn"],
        paginator: None,
    },
    CommandSpec {
        name: "list-imports",
        operation: "ListImports",
        about: "List imports, into one table or all (ListImports; paginated; --page-size sets \
                PageSize).",
        flags: &[TABLE_ARN, NEXT_TOKEN],
        required: &[],
        paginator: Some(&LIST_IMPORTS_PAGINATOR),
    },
];

/// The command called `name`.
pub fn command(name: &str) -> Option<&'static CommandSpec> {
    COMMANDS.iter().find(|c| c.name == name)
}

/// botocore's `xform_name(name, '-')`: `TableName` → `table-name`, `SSESpecification` →
/// `sse-specification`. The flags are spelled out above; this checks them.
#[cfg(test)]
fn kebab_case(member: &str) -> String {
    let chars: Vec<char> = member.chars().collect();
    let mut out = String::with_capacity(member.len() + 4);
    for (i, &c) in chars.iter().enumerate() {
        let previous = i.checked_sub(1).and_then(|p| chars.get(p));
        let next = chars.get(i + 1);
        let boundary = c.is_ascii_uppercase()
            && previous.is_some_and(|p| {
                p.is_ascii_lowercase()
                    || p.is_ascii_digit()
                    || (p.is_ascii_uppercase() && next.is_some_and(char::is_ascii_lowercase))
            });
        if boundary {
            out.push('-');
        }
        out.push(c.to_ascii_lowercase());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flag_names_are_the_kebab_case_of_the_members() {
        for command in COMMANDS {
            for flag in command.flags {
                assert_eq!(flag.name, kebab_case(flag.member), "{}", command.name);
            }
            for member in command.required {
                assert!(command.flag_for_member(member).is_some(), "{member}");
            }
            assert_eq!(command.name, kebab_case(command.operation));
        }
        assert_eq!(kebab_case("SSESpecification"), "sse-specification");
        assert_eq!(kebab_case("TableName"), "table-name");
    }

    #[test]
    fn command_names_are_unique() {
        let mut names: Vec<_> = COMMANDS.iter().map(|c| c.name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), COMMANDS.len());
    }
}
