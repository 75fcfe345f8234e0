//! From command-line arguments to `(operation, request JSON)`: the clap commands built from
//! [`super::spec`], and [`action_from_matches`], which does no I/O beyond reading `file://`
//! parameters.

use std::time::Duration;

use clap::{Arg, ArgAction, ArgMatches};
use serde_json::{Map, Value};

use super::params::{self, ParamError};
use super::spec::{self, CommandSpec, Kind, Paginator};

/// What one `aws dynamodb`-shaped command asks for.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    Call(Call),
    Wait(Wait),
}

/// One API call (or, when `paging` is set, the calls of an automatic pagination).
#[derive(Debug, Clone, PartialEq)]
pub struct Call {
    /// The API operation, e.g. `PutItem`.
    pub operation: &'static str,
    /// The request JSON (an object).
    pub request: Value,
    pub paging: Option<Paging>,
}

/// Automatic pagination, as the AWS CLI v2 does it by default.
#[derive(Debug, Clone, PartialEq)]
pub struct Paging {
    pub paginator: &'static Paginator,
    pub max_items: Option<u64>,
    pub starting_token: Option<String>,
    pub page_size: Option<u64>,
}

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
}

impl Waiter {
    /// The waiter's name as botocore spells it in `Waiter <name> failed: ...`.
    pub fn name(&self) -> &'static str {
        match self {
            Self::TableExists { .. } => "TableExists",
            Self::TableNotExists { .. } => "TableNotExists",
            Self::IndexActive { .. } => "IndexActive",
        }
    }
}

/// The AWS CLI's default waiter budget for DynamoDB: 25 attempts, 20 seconds apart.
pub const WAIT_TIMEOUT_SECONDS_DEFAULT: u64 = 25 * 20;

const SYNTAX_HELP: &str = "\
Parameter syntax (the AWS CLI's):
  - Every parameter accepts file://PATH: the value is read from that file.
  - JSON-valued parameters (--item, --key, --expression-attribute-values, --request-items, ...)
    take JSON. Structures and maps also take shorthand: Key=Value,Key2=Value2, lists as [a,b]
    or Key=a,b, nested structures as {Key=Value}; quote a value with ' or \" to keep commas.
  - Lists of structures (--attribute-definitions, --key-schema, --global-secondary-indexes,
    --global-secondary-index-updates, ...) take one shorthand structure or JSON object per
    value, or one JSON array:
      --attribute-definitions AttributeName=pk,AttributeType=S AttributeName=sk,AttributeType=N
  - Shorthand scalars are strings, except the numeric members (ReadCapacityUnits,
    WriteCapacityUnits, MaxReadRequestUnits, MaxWriteRequestUnits) and the boolean ones
    (StreamEnabled, Enabled, ConsistentRead, BOOL, NULL). Attribute values work as shorthand
    (pk={S=a}), but JSON is clearer for items.
  - --cli-input-json takes the whole API request (inline or file://PATH); flags given as well
    override its top-level members.
Output: the response JSON, indented by 4 spaces; nothing when the response is empty.
Exit codes: 0 ok, 252 bad parameters, 254 the service returned an error, 255 other failures.";

const PAGING_HELP: &str = "\
Pagination: every page is fetched and merged (lists concatenated, counts summed) unless
--no-paginate is given, or --limit / --exclusive-start-key (manual paging, one page). --max-items N
stops after N items and prints a NextToken, which --starting-token resumes from; --page-size sets
the Limit of each request.";

/// The clap command for `spec`.
pub fn command_for(spec: &'static CommandSpec) -> clap::Command {
    let after_help = match spec.paginator {
        Some(_) => format!("{SYNTAX_HELP}\n{PAGING_HELP}"),
        None => SYNTAX_HELP.to_owned(),
    };
    let mut cmd = clap::Command::new(spec.name)
        .about(spec.about)
        .after_long_help(after_help)
        .args_override_self(true)
        .arg(cli_input_json_arg());
    for flag in spec.flags {
        let help = format!("{} ({})", flag.member, kind_help(flag.kind));
        let arg = Arg::new(flag.name).long(flag.name).help(help);
        cmd = match flag.kind {
            Kind::Str => cmd.arg(arg.value_name("STRING").allow_hyphen_values(true)),
            Kind::Int => cmd.arg(
                arg.value_name("INTEGER")
                    .value_parser(clap::value_parser!(i64))
                    .allow_negative_numbers(true),
            ),
            Kind::Json => cmd.arg(arg.value_name("JSON")),
            Kind::List | Kind::StrList => cmd.arg(arg.value_name("VALUE").num_args(1..)),
            Kind::Bool => {
                let no = format!("no-{}", flag.name);
                cmd.arg(
                    arg.action(ArgAction::SetTrue)
                        .overrides_with(no.clone())
                        .help(format!("{} = true", flag.member)),
                )
                .arg(
                    Arg::new(no.clone())
                        .long(no)
                        .action(ArgAction::SetTrue)
                        .overrides_with(flag.name)
                        .help(format!("{} = false", flag.member)),
                )
            }
        };
    }
    if spec.paginator.is_some() {
        cmd = cmd
            .arg(
                Arg::new("starting-token")
                    .long("starting-token")
                    .value_name("TOKEN")
                    .help("Resume from the NextToken of an earlier --max-items output"),
            )
            .arg(
                Arg::new("max-items")
                    .long("max-items")
                    .value_name("INTEGER")
                    .value_parser(clap::value_parser!(u64).range(1..))
                    .help("Print at most this many items, then a NextToken"),
            )
            .arg(
                Arg::new("page-size")
                    .long("page-size")
                    .value_name("INTEGER")
                    .value_parser(clap::value_parser!(u64).range(1..))
                    .help("The Limit of each request (does not change the output)"),
            )
            .arg(
                Arg::new("no-paginate")
                    .long("no-paginate")
                    .action(ArgAction::SetTrue)
                    .help("Make one request and print its response as it is"),
            );
    }
    cmd
}

fn kind_help(kind: Kind) -> &'static str {
    match kind {
        Kind::Str => "string",
        Kind::Int => "integer",
        Kind::Bool => "boolean",
        Kind::Json => "JSON or shorthand",
        Kind::List => "list: JSON array, or one JSON object or shorthand per value",
        Kind::StrList => "list of strings",
    }
}

fn cli_input_json_arg() -> Arg {
    Arg::new("cli-input-json")
        .long("cli-input-json")
        .value_name("JSON")
        .help("The API request as JSON, inline or file://PATH; flags override its members")
}

/// The clap command for `wait` and its conditions.
pub fn wait_command() -> clap::Command {
    let table = || {
        Arg::new("table-name")
            .long("table-name")
            .value_name("STRING")
            .help("TableName (string)")
    };
    let timeout = || {
        Arg::new("timeout-seconds")
            .long("timeout-seconds")
            .value_name("SECONDS")
            .value_parser(clap::value_parser!(u64))
            .help(format!(
                "Give up after this long (default {WAIT_TIMEOUT_SECONDS_DEFAULT}: the AWS CLI's 25 attempts x 20 s)"
            ))
    };
    let condition = |name: &'static str, about: &'static str| {
        clap::Command::new(name)
            .about(about)
            .args_override_self(true)
            .arg(table())
            .arg(cli_input_json_arg())
            .arg(timeout())
            .after_help("Exit codes: 0 the condition holds, 255 it did not in time (\"Waiter <name> failed: Max attempts exceeded\").")
    };
    clap::Command::new("wait")
        .about("Wait until a table exists, is gone, or an index is ACTIVE.")
        .subcommand_required(true)
        .subcommand(condition(
            "table-exists",
            "Wait until DescribeTable reports the table ACTIVE.",
        ))
        .subcommand(condition(
            "table-not-exists",
            "Wait until the table is gone (ResourceNotFoundException).",
        ))
        .subcommand(
            condition(
                "index-active",
                "Wait until the index of the table is ACTIVE (a new GSI has been backfilled).",
            )
            .arg(
                Arg::new("index-name")
                    .long("index-name")
                    .value_name("STRING")
                    .help("IndexName (string)"),
            ),
        )
}

/// Every `aws dynamodb`-shaped command name.
pub fn command_names() -> impl Iterator<Item = &'static str> {
    spec::COMMANDS
        .iter()
        .map(|c| c.name)
        .chain(std::iter::once("wait"))
}

/// The action of command `name` whose arguments clap parsed into `matches`.
pub fn action_from_matches(name: &str, matches: &ArgMatches) -> Result<Action, ParamError> {
    if name == "wait" {
        return wait_from_matches(matches).map(Action::Wait);
    }
    let spec = spec::command(name).ok_or_else(|| ParamError(format!("unknown command {name}")))?;
    call_from_matches(spec, matches).map(Action::Call)
}

/// Parses `args` (the command name first, e.g. `["put-item", "--table-name", "T", ...]`) and
/// builds its action: the pure core of the AWS-shaped commands.
pub fn build_request<I, T>(args: I) -> Result<Action, ParamError>
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    let mut root = clap::Command::new("ddbfmt").subcommand_required(true);
    for spec in spec::COMMANDS {
        root = root.subcommand(command_for(spec));
    }
    root = root.subcommand(wait_command());
    let argv =
        std::iter::once(std::ffi::OsString::from("ddbfmt")).chain(args.into_iter().map(Into::into));
    let matches = root
        .try_get_matches_from(argv)
        .map_err(|e| ParamError(e.render().to_string()))?;
    let (name, sub) = matches
        .subcommand()
        .ok_or_else(|| ParamError("no command".to_owned()))?;
    action_from_matches(name, sub)
}

fn call_from_matches(spec: &'static CommandSpec, m: &ArgMatches) -> Result<Call, ParamError> {
    let mut request = Map::new();
    for flag in spec.flags {
        let value = match flag.kind {
            Kind::Str => m
                .get_one::<String>(flag.name)
                .map(|s| params::resolve_file(flag.name, s).map(Value::String))
                .transpose()?,
            Kind::Int => m.get_one::<i64>(flag.name).map(|n| Value::from(*n)),
            Kind::Bool => {
                if m.get_flag(flag.name) {
                    Some(Value::Bool(true))
                } else if m.get_flag(&format!("no-{}", flag.name)) {
                    Some(Value::Bool(false))
                } else {
                    None
                }
            }
            Kind::Json | Kind::List | Kind::StrList => m
                .get_many::<String>(flag.name)
                .map(|values| {
                    let values: Vec<String> = values.cloned().collect();
                    params::complex_value(flag.name, flag.kind, &values)
                })
                .transpose()?,
        };
        if let Some(value) = value {
            request.insert(flag.member.to_owned(), value);
        }
    }
    let cli_input = m.get_one::<String>("cli-input-json");
    if let Some(text) = cli_input {
        // The AWS CLI adds each member of the document the command line did not set.
        for (member, value) in params::cli_input_json(text)? {
            request.entry(member).or_insert(value);
        }
    }
    validate_members(spec, &request, cli_input.is_some())?;
    let paging = match spec.paginator {
        Some(paginator) => paging(paginator, &request, m)?,
        None => None,
    };
    Ok(Call {
        operation: spec.operation,
        request: Value::Object(request),
        paging,
    })
}

/// The checks the AWS CLI makes before a request: required flags (argparse, when there is no
/// `--cli-input-json`), else botocore's parameter validation (missing and unknown members).
fn validate_members(
    spec: &CommandSpec,
    request: &Map<String, Value>,
    has_cli_input: bool,
) -> Result<(), ParamError> {
    let missing: Vec<&str> = spec
        .required
        .iter()
        .copied()
        .filter(|member| !request.contains_key(*member))
        .collect();
    if !has_cli_input {
        if missing.is_empty() {
            return Ok(());
        }
        let flags: Vec<String> = missing
            .iter()
            .filter_map(|m| spec.flag_for_member(m))
            .map(|f| format!("--{}", f.name))
            .collect();
        return Err(usage_error(&format!(
            "the following arguments are required: {}",
            flags.join(", ")
        )));
    }
    let mut problems: Vec<String> = missing
        .iter()
        .map(|m| format!("Missing required parameter in input: \"{m}\""))
        .collect();
    let known: Vec<&str> = spec.flags.iter().map(|f| f.member).collect();
    for member in request.keys() {
        if !known.contains(&member.as_str()) {
            problems.push(format!(
                "Unknown parameter in input: \"{member}\", must be one of: {}",
                known.join(", ")
            ));
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(ParamError(format!(
            "Parameter validation failed:\n{}",
            problems.join("\n")
        )))
    }
}

/// An argument error in the form the AWS CLI's argparse prints.
pub fn usage_error(message: &str) -> ParamError {
    ParamError(format!(
        "usage: ddbfmt [--data-dir DIR] <command> [parameters]\n\
         To see help text, you can run:\n\n  ddbfmt --help\n  ddbfmt <command> --help\n\n\
         ddbfmt: error: {message}"
    ))
}

fn paging(
    paginator: &'static Paginator,
    request: &Map<String, Value>,
    m: &ArgMatches,
) -> Result<Option<Paging>, ParamError> {
    let starting_token = m.get_one::<String>("starting-token").cloned();
    let max_items = m.get_one::<u64>("max-items").copied();
    let page_size = m.get_one::<u64>("page-size").copied();
    // Setting the service's own paging members is manual paging: one request, as given.
    let manual =
        request.contains_key(paginator.input_token) || request.contains_key(paginator.limit_key);
    if !(m.get_flag("no-paginate") || manual) {
        return Ok(Some(Paging {
            paginator,
            max_items,
            starting_token,
            page_size,
        }));
    }
    let used: Vec<&str> = [
        ("--starting-token", starting_token.is_some()),
        ("--page-size", page_size.is_some()),
        ("--max-items", max_items.is_some()),
    ]
    .into_iter()
    .filter_map(|(name, set)| set.then_some(name))
    .collect();
    if used.is_empty() {
        Ok(None)
    } else {
        Err(ParamError(format!(
            "Cannot specify --no-paginate along with pagination arguments: {}",
            used.join(", ")
        )))
    }
}

fn wait_from_matches(m: &ArgMatches) -> Result<Wait, ParamError> {
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
    let table = required("table-name", "TableName")?;
    let waiter = match condition {
        "table-exists" => Waiter::TableExists { table },
        "table-not-exists" => Waiter::TableNotExists { table },
        _ => Waiter::IndexActive {
            table,
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

#[cfg(test)]
#[path = "request_tests.rs"]
mod tests;
