//! `wait <condition>`: the waiters (table exists or is gone, index ACTIVE, backup
//! AVAILABLE), their clap command, and the [`Wait`] its arguments parse into.

use std::time::Duration;

use clap::{Arg, ArgMatches};
use serde_json::Value;

use super::params::{self, ParamError};
use super::request::{cli_input_json_arg, timeout_arg, usage_error};

/// `wait <condition>`.
#[derive(Debug, Clone, PartialEq)]
pub struct Wait {
    pub waiter: Waiter,
    pub timeout: Duration,
}

/// The conditions `wait` knows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Waiter {
    TableExists { table: String },
    TableNotExists { table: String },
    IndexActive { table: String, index: String },
    BackupAvailable { arn: String },
}

impl Waiter {
    /// The waiter's name as botocore spells it in `Waiter <name> failed: ...`.
    pub fn name(&self) -> &'static str {
        match self {
            Self::TableExists { .. } => "TableExists",
            Self::TableNotExists { .. } => "TableNotExists",
            Self::IndexActive { .. } => "IndexActive",
            Self::BackupAvailable { .. } => "BackupAvailable",
        }
    }
}

/// The AWS CLI's default waiter budget for DynamoDB: 25 attempts, 20 seconds apart.
pub const WAIT_TIMEOUT_SECONDS_DEFAULT: u64 = 25 * 20;

/// The clap command for `wait` and its conditions.
pub fn wait_command() -> clap::Command {
    let table = || {
        Arg::new("table-name")
            .long("table-name")
            .value_name("STRING")
            .help("TableName (string)")
    };
    let timeout = || {
        timeout_arg(format!(
            "Give up after this long (default {WAIT_TIMEOUT_SECONDS_DEFAULT}: the AWS CLI's 25 attempts x 20 s)"
        ))
    };
    let bare_condition = |name: &'static str, about: &'static str| {
        clap::Command::new(name)
            .about(about)
            .args_override_self(true)
            .arg(cli_input_json_arg())
            .arg(timeout())
            .after_help("While it waits, the database's background work runs: table work (GSI backfills) and the backup and restore workers, so a --no-wait job's durable work goes on meanwhile.\nExit codes: 0 the condition holds, 255 it did not in time (\"Waiter <name> failed: Max attempts exceeded\") or a restore into the table failed.")
    };
    let condition =
        |name: &'static str, about: &'static str| bare_condition(name, about).arg(table());
    clap::Command::new("wait")
        .about("Wait until a table exists, is gone, an index is ACTIVE or a backup AVAILABLE.")
        .subcommand_required(true)
        .subcommand(condition(
            "table-exists",
            "Wait until DescribeTable reports the table ACTIVE (a restored table: its restore \
             is done; a failed restore ends the wait).",
        ))
        .subcommand(condition(
            "table-not-exists",
            "Wait until the table is gone (ResourceNotFoundException).",
        ))
        .subcommand(
            condition(
                "index-active",
                "Wait until the index of the table is ACTIVE (a new GSI, or a restored \
                 table's, has been backfilled).",
            )
            .arg(
                Arg::new("index-name")
                    .long("index-name")
                    .value_name("STRING")
                    .help("IndexName (string)"),
            ),
        )
        .subcommand(
            bare_condition(
                "backup-available",
                "Wait until the backup is AVAILABLE (the database's backup worker builds it \
                 meanwhile; a failed build ends the wait with its error).",
            )
            .arg(
                Arg::new("backup-arn")
                    .long("backup-arn")
                    .value_name("STRING")
                    .help("BackupArn (string)"),
            ),
        )
}

pub(super) fn wait_from_matches(m: &ArgMatches) -> Result<Wait, ParamError> {
    let (condition, sub) = m
        .subcommand()
        .ok_or_else(|| usage_error("the following arguments are required: <condition>"))?;
    let has_cli_input = sub.get_one::<String>("cli-input-json").is_some();
    let input = sub
        .get_one::<String>("cli-input-json")
        .map(|text| params::cli_input_json(text))
        .transpose()?
        .unwrap_or_default();
    let lookup = |flag: &str, member: &str| -> Result<Option<String>, ParamError> {
        if let Some(value) = sub.get_one::<String>(flag) {
            return params::resolve_file(flag, value).map(Some);
        }
        Ok(input.get(member).and_then(Value::as_str).map(str::to_owned))
    };
    let required = |flag: &str, member: &str| -> Result<String, ParamError> {
        member_or_missing(lookup(flag, member)?, flag, member, has_cli_input)
    };
    let waiter = match condition {
        "backup-available" => Waiter::BackupAvailable {
            arn: required("backup-arn", "BackupArn")?,
        },
        "table-exists" => Waiter::TableExists {
            table: required("table-name", "TableName")?,
        },
        "table-not-exists" => Waiter::TableNotExists {
            table: required("table-name", "TableName")?,
        },
        _ => Waiter::IndexActive {
            table: required("table-name", "TableName")?,
            index: required("index-name", "IndexName")?,
        },
    };
    let timeout_seconds = sub
        .get_one::<u64>("timeout-seconds")
        .copied()
        .unwrap_or(WAIT_TIMEOUT_SECONDS_DEFAULT);
    Ok(Wait {
        waiter,
        timeout: Duration::from_secs(timeout_seconds),
    })
}

fn member_or_missing(
    value: Option<String>,
    flag: &str,
    member: &str,
    has_cli_input: bool,
) -> Result<String, ParamError> {
    match value {
        Some(value) => Ok(value),
        None if has_cli_input => Err(ParamError(format!(
            "Parameter validation failed:\nMissing required parameter in input: \"{member}\""
        ))),
        None => Err(usage_error(&format!(
            "the following arguments are required: --{flag}"
        ))),
    }
}
