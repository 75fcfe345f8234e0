//! From command-line arguments to `(operation, request JSON)`: the clap commands built from
//! [`super::spec`], and [`action_from_matches`], which does no I/O beyond reading `file://`
//! parameters and making a backup directory's path absolute.

use std::time::Duration;

use clap::{Arg, ArgAction, ArgMatches};
use serde_json::{Map, Value};

use super::params::{self, ParamError};
use super::spec::{self, CommandSpec, Kind, Paginator};
use super::wait::{Wait, wait_command, wait_from_matches};

/// What one `aws dynamodb`-shaped command asks for.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    Call(Call),
    Wait(Wait),
    /// A call that starts a job (create-backup, the restores, export, import), then (unless
    /// `--no-wait`) waiting for the job to end.
    StartJob(StartJob),
}

/// A command that starts a job, and how it ends.
#[derive(Debug, Clone, PartialEq)]
pub struct StartJob {
    pub job: Job,
    pub call: Call,
    /// Wait until the job is done (the default; `--no-wait` turns it off).
    pub wait: bool,
    /// Give up waiting after this long (`--timeout-seconds`; default: no limit).
    pub timeout: Option<Duration>,
}

/// The jobs a command can start and wait for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Job {
    /// `create-backup`: done when the backup is AVAILABLE.
    Backup,
    /// `restore-table-from-backup`, `restore-table-to-point-in-time`: done when the target
    /// table is ACTIVE.
    Restore,
    /// `export-table-to-point-in-time`: done when DescribeExport says COMPLETED.
    Export,
    /// `import-table`: done when DescribeImport says COMPLETED.
    Import,
}

impl Job {
    /// The job command `name` starts, if it starts one.
    pub fn of_command(name: &str) -> Option<Self> {
        match name {
            CREATE_BACKUP => Some(Self::Backup),
            RESTORE_FROM_BACKUP | RESTORE_TO_POINT_IN_TIME => Some(Self::Restore),
            EXPORT => Some(Self::Export),
            IMPORT => Some(Self::Import),
            _ => None,
        }
    }
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
    WriteCapacityUnits, MaxReadRequestUnits, MaxWriteRequestUnits, RecoveryPeriodInDays) and
    the boolean ones (StreamEnabled, Enabled, ConsistentRead, PointInTimeRecoveryEnabled, BOOL,
    NULL). Attribute values work as shorthand (pk={S=a}), but JSON is clearer for items.
  - Timestamps (--time-range-lower-bound, ...) take epoch seconds (fractional allowed) or ISO
    8601 (2025-12-02, 2025-12-02T08:30:00Z, 2025-12-02T09:30:00.5+01:00; UTC without an
    offset). Times are printed as ISO 8601 in UTC with milliseconds.
  - --cli-input-json takes the whole API request (inline or file://PATH); flags given as well
    override its top-level members.
Output: the response JSON, indented by 4 spaces; nothing when the response is empty.
Exit codes: 0 ok, 252 bad parameters, 254 the service returned an error, 255 other failures.";

const PAGING_HELP: &str = "\
Pagination: every page is fetched and merged (lists concatenated, counts summed) unless
--no-paginate is given, or --limit / --exclusive-start-key (manual paging, one page). --max-items N
stops after N items and prints a NextToken, which --starting-token resumes from; --page-size sets
the Limit of each request.";

const CREATE_BACKUP_HELP: &str = "\
Waiting: the response is printed as soon as the backup is requested (BackupStatus CREATING: its
cut, BackupMarker, is already fixed and durable). The command then keeps the database open while
its backup worker builds the artifacts, shows a spinner on stderr when stderr is a terminal, and
exits 0 once the backup is AVAILABLE, or 255 if the job fails (the error is printed) or
--timeout-seconds passes. With --no-wait it returns after printing, without starting the build;
the job is durable and runs in the next process that runs the backup worker: a waiting
create-backup, `ddbfmt wait backup-available --backup-arn ARN`, or a program that keeps the
database open through the library (other ddbfmt commands are short-lived and leave it queued).";

const RESTORE_HELP: &str = "\
Waiting: the response (TableStatus CREATING, RestoreSummary.RestoreInProgress true) is printed as
soon as the restore is recorded: its source is pinned and its job is durable. The command then
keeps the database open while its restore worker loads the table, shows a spinner on stderr when
stderr is a terminal, and exits 0 once the table is ACTIVE: every item and every LSI is there by
then, but GSIs may still be backfilling (IndexStatus CREATING, Backfilling true; `ddbfmt wait
index-active --table-name T --index-name I` waits for one). If the restore fails (a damaged
backup, say) its table is removed: the command prints `ddbfmt: the restore of table T failed:
<why> (no table was created)` and exits 1. It exits 255 if --timeout-seconds passes. With
--no-wait it returns after printing, without starting the load; the job is durable and runs in
the next process that runs the restore worker: a waiting restore, `ddbfmt wait table-exists
--table-name T` (or any other `ddbfmt wait`), or a program that keeps the database open through
the library.";

const RESTORE_FROM_BACKUP_HELP: &str = "\
--backup-arn takes a backup's ARN (list-backups), or the path of a backup directory (or of its
manifest.json): a backup copied from another database restores by its path. A relative path is
made absolute against the current directory.";

const EXPORT_HELP: &str = "\
Waiting: the response (ExportStatus IN_PROGRESS, with its ExportArn) is printed as soon as the
export is requested. The command then keeps the database open while its worker writes the export,
polls DescribeExport, shows a spinner on stderr when stderr is a terminal, and exits 0 once the
export is COMPLETED (describe-export shows the result). If it FAILED, its FailureMessage is printed
on stderr and the command exits 1; it exits 255 if --timeout-seconds passes. With --no-wait it
returns after printing; the job runs in the next process that runs the worker (a waiting export or
import, `ddbfmt wait ...`, or a program that keeps the database open). --table-name (ours) names
the table instead of --table-arn.";

const IMPORT_HELP: &str = "\
Waiting: the response (ImportStatus IN_PROGRESS, with its ImportArn) is printed as soon as the
import is requested. The command then keeps the database open while its worker reads the files
into the new table, polls DescribeImport, shows a spinner on stderr when stderr is a terminal, and
exits 0 once the import is COMPLETED (describe-import shows ProcessedItemCount, ImportedItemCount,
ErrorCount). If it FAILED (or was CANCELLED), its FailureMessage is printed on stderr and the
command exits 1; it exits 255 if --timeout-seconds passes. With --no-wait it returns after
printing; the job runs in the next process that runs the worker (a waiting import or export,
`ddbfmt wait ...`, or a program that keeps the database open).";

/// The clap command for `spec`.
pub fn command_for(spec: &'static CommandSpec) -> clap::Command {
    let mut after_help = match spec.paginator {
        Some(_) => format!("{SYNTAX_HELP}\n{PAGING_HELP}"),
        None => SYNTAX_HELP.to_owned(),
    };
    let job = Job::of_command(spec.name);
    let job_help = match job {
        Some(Job::Backup) => CREATE_BACKUP_HELP.to_owned(),
        Some(Job::Restore) if spec.name == RESTORE_FROM_BACKUP => {
            format!("{RESTORE_FROM_BACKUP_HELP}\n\n{RESTORE_HELP}")
        }
        Some(Job::Restore) => RESTORE_HELP.to_owned(),
        Some(Job::Export) => EXPORT_HELP.to_owned(),
        Some(Job::Import) => IMPORT_HELP.to_owned(),
        None => String::new(),
    };
    if !job_help.is_empty() {
        after_help = format!("{job_help}\n\n{after_help}");
    }
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
            Kind::Timestamp => cmd.arg(arg.value_name("TIMESTAMP")),
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
    if let Some(job) = job {
        let (no_wait, timeout) = match job {
            Job::Backup => (
                "Return after printing the CREATING response; the build resumes when the database is next opened",
                "Give up waiting for AVAILABLE after this long (default: no limit)",
            ),
            Job::Restore => (
                "Return after printing the CREATING table; the restore resumes when a waiting command next opens the database",
                "Give up waiting for ACTIVE after this long (default: no limit)",
            ),
            Job::Export | Job::Import => (
                "Return after printing the IN_PROGRESS response; the job resumes when a waiting command next opens the database",
                "Give up waiting for COMPLETED after this long (default: no limit)",
            ),
        };
        cmd = cmd
            .arg(
                Arg::new("no-wait")
                    .long("no-wait")
                    .action(ArgAction::SetTrue)
                    .help(no_wait),
            )
            .arg(timeout_arg(timeout).conflicts_with("no-wait"));
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
        Kind::Timestamp => "timestamp: epoch seconds or ISO 8601",
    }
}

/// The commands that start a job and wait for it after the call.
const CREATE_BACKUP: &str = "create-backup";
const RESTORE_FROM_BACKUP: &str = "restore-table-from-backup";
const RESTORE_TO_POINT_IN_TIME: &str = "restore-table-to-point-in-time";
const EXPORT: &str = "export-table-to-point-in-time";
const IMPORT: &str = "import-table";
/// Our own command group (not the AWS CLI's): a table's backup schedule.
const BACKUP_SCHEDULE: &str = "backup-schedule";

pub(super) fn timeout_arg(
    help: impl clap::builder::IntoResettable<clap::builder::StyledStr>,
) -> Arg {
    Arg::new("timeout-seconds")
        .long("timeout-seconds")
        .value_name("SECONDS")
        .value_parser(clap::value_parser!(u64))
        .help(help)
}

pub(super) fn cli_input_json_arg() -> Arg {
    Arg::new("cli-input-json")
        .long("cli-input-json")
        .value_name("JSON")
        .help("The API request as JSON, inline or file://PATH; flags override its members")
}

/// The clap command for `backup-schedule put|get|delete` (ours, not the AWS CLI's).
pub fn backup_schedule_command() -> clap::Command {
    let table = || {
        Arg::new("table-name")
            .long("table-name")
            .value_name("STRING")
            .help("TableName (string)")
    };
    let sub = |name: &'static str, about: &'static str| {
        clap::Command::new(name)
            .about(about)
            .args_override_self(true)
            .arg(table())
            .arg(cli_input_json_arg())
            .after_help(
                "Exit codes: 0 ok, 252 bad parameters, 254 the service returned an error, 255 other failures.",
            )
    };
    let number = |name: &'static str, member: &str, help: &str| {
        Arg::new(name)
            .long(name)
            .value_name("INTEGER")
            .value_parser(clap::value_parser!(u64))
            .help(format!("Schedule.{member}: {help}"))
    };
    clap::Command::new(BACKUP_SCHEDULE)
        .about(
            "A table's backup schedule, run by the database's backup worker while the database \
             is open (ours: not an AWS CLI command).",
        )
        .subcommand_required(true)
        .subcommand(
            sub(
                "put",
                "Set the table's schedule (PutBackupSchedule): a USER backup named \
                 <prefix>-<YYYYMMDDTHHMMSSZ> every --interval-seconds or daily at --daily-at \
                 (UTC), with retention by count and age over the schedule's own backups.",
            )
            .arg(number(
                "interval-seconds",
                "IntervalSeconds",
                "back up every this many seconds (at least 60)",
            ))
            .arg(
                Arg::new("daily-at")
                    .long("daily-at")
                    .value_name("HH:MM")
                    .conflicts_with("interval-seconds")
                    .help("Schedule.DailyAt: back up once a day at this UTC time"),
            )
            .arg(
                Arg::new("name-prefix")
                    .long("name-prefix")
                    .value_name("STRING")
                    .help("Schedule.NamePrefix: the backups' names start with it"),
            )
            .arg(number(
                "keep-last",
                "KeepLast",
                "keep only the newest this many of the schedule's backups",
            ))
            .arg(number(
                "max-age-days",
                "MaxAgeDays",
                "delete the schedule's backups older than this many days",
            )),
        )
        .subcommand(sub(
            "get",
            "Show the table's schedule and its next run (DescribeBackupSchedule; nothing when there is none).",
        ))
        .subcommand(sub(
            "delete",
            "Remove the table's schedule; its backups stay (DeleteBackupSchedule).",
        ))
}

/// Every `aws dynamodb`-shaped command name.
pub fn command_names() -> impl Iterator<Item = &'static str> {
    spec::COMMANDS
        .iter()
        .map(|c| c.name)
        .chain(["wait", BACKUP_SCHEDULE])
}

/// The action of command `name` whose arguments clap parsed into `matches`.
pub fn action_from_matches(name: &str, matches: &ArgMatches) -> Result<Action, ParamError> {
    if name == "wait" {
        return wait_from_matches(matches).map(Action::Wait);
    }
    if name == BACKUP_SCHEDULE {
        return schedule_from_matches(matches).map(Action::Call);
    }
    let spec = spec::command(name).ok_or_else(|| ParamError(format!("unknown command {name}")))?;
    let mut call = call_from_matches(spec, matches)?;
    if name == RESTORE_FROM_BACKUP {
        absolute_backup_path(&mut call.request);
    }
    if name == EXPORT
        && matches.get_one::<String>("cli-input-json").is_none()
        && !(call.request.get("TableArn").is_some() || call.request.get("TableName").is_some())
    {
        return Err(usage_error(
            "the following arguments are required: --table-arn | --table-name",
        ));
    }
    if let Some(job) = Job::of_command(name) {
        return Ok(Action::StartJob(StartJob {
            job,
            call,
            wait: !matches.get_flag("no-wait"),
            timeout: matches
                .get_one::<u64>("timeout-seconds")
                .map(|s| Duration::from_secs(*s)),
        }));
    }
    Ok(Action::Call(call))
}

/// A `BackupArn` that names an existing backup directory (or its `manifest.json`) rather than
/// an ARN becomes that path made absolute, so the request means the same in the engine
/// whatever its working directory. Anything else is left for the service to judge.
fn absolute_backup_path(request: &mut Value) {
    let Some(Value::String(value)) = request.get_mut("BackupArn") else {
        return;
    };
    if value.starts_with("arn:") {
        return;
    }
    let path = std::path::Path::new(value.as_str());
    let names_backup =
        path.is_dir() || (path.is_file() && path.file_name().is_some_and(|n| n == "manifest.json"));
    if !names_backup {
        return;
    }
    if let Some(absolute) = std::fs::canonicalize(path)
        .ok()
        .and_then(|p| p.to_str().map(str::to_owned))
    {
        *value = absolute;
    }
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
    root = root
        .subcommand(wait_command())
        .subcommand(backup_schedule_command());
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
            Kind::Timestamp => m
                .get_one::<String>(flag.name)
                .map(|s| {
                    let text = params::resolve_file(flag.name, s)?;
                    crate::time::parse_timestamp(&text)
                        .map_err(|e| ParamError::parsing(flag.name, e))
                })
                .transpose()?,
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
        // Timestamps in the document may be ISO 8601 text, as botocore accepts them.
        for flag in spec.flags.iter().filter(|f| f.kind == Kind::Timestamp) {
            if let Some(Value::String(text)) = request.get(flag.member) {
                let seconds = crate::time::parse_timestamp(text).map_err(|e| {
                    ParamError::parsing("cli-input-json", format!("{}: {e}", flag.member))
                })?;
                request.insert(flag.member.to_owned(), seconds);
            }
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
    // The paging members are the request's too, flag or not (ListImports' PageSize).
    let paging_members = spec
        .paginator
        .map(|p| [p.input_token, p.limit_key])
        .unwrap_or_default();
    let mut known: Vec<&str> = spec.flags.iter().map(|f| f.member).collect();
    for member in paging_members {
        if !member.is_empty() && !known.contains(&member) {
            known.push(member);
        }
    }
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

/// `backup-schedule put|get|delete`: `{"TableName", "Schedule": {...}}` for put (flags override
/// the members of `--cli-input-json`'s `Schedule`), `{"TableName"}` for get and delete.
fn schedule_from_matches(m: &ArgMatches) -> Result<Call, ParamError> {
    let (sub, sm) = m
        .subcommand()
        .ok_or_else(|| usage_error("the following arguments are required: <put|get|delete>"))?;
    let operation = match sub {
        "put" => "PutBackupSchedule",
        "get" => "DescribeBackupSchedule",
        _ => "DeleteBackupSchedule",
    };
    let has_cli_input = sm.get_one::<String>("cli-input-json").is_some();
    let mut request = sm
        .get_one::<String>("cli-input-json")
        .map(|text| params::cli_input_json(text))
        .transpose()?
        .unwrap_or_default();
    if let Some(table) = sm.get_one::<String>("table-name") {
        let table = params::resolve_file("table-name", table)?;
        request.insert("TableName".to_owned(), Value::String(table));
    }
    let mut allowed = vec!["TableName"];
    if sub == "put" {
        allowed.push("Schedule");
        let mut schedule = match request.remove("Schedule") {
            Some(Value::Object(map)) => map,
            Some(other) => {
                // Not an object: left for the service to reject.
                request.insert("Schedule".to_owned(), other);
                Map::new()
            }
            None => Map::new(),
        };
        for (flag, member) in [
            ("interval-seconds", "IntervalSeconds"),
            ("keep-last", "KeepLast"),
            ("max-age-days", "MaxAgeDays"),
        ] {
            if let Some(n) = sm.get_one::<u64>(flag) {
                schedule.insert(member.to_owned(), Value::from(*n));
            }
        }
        for (flag, member) in [("daily-at", "DailyAt"), ("name-prefix", "NamePrefix")] {
            if let Some(text) = sm.get_one::<String>(flag) {
                let text = params::resolve_file(flag, text)?;
                schedule.insert(member.to_owned(), Value::String(text));
            }
        }
        if sm.get_one::<u64>("interval-seconds").is_some() {
            schedule.remove("DailyAt");
        } else if sm.get_one::<String>("daily-at").is_some() {
            schedule.remove("IntervalSeconds");
        }
        if !has_cli_input {
            let mut missing = Vec::new();
            if !request.contains_key("TableName") {
                missing.push("--table-name");
            }
            if !(schedule.contains_key("IntervalSeconds") || schedule.contains_key("DailyAt")) {
                missing.push("--interval-seconds | --daily-at");
            }
            if !schedule.contains_key("NamePrefix") {
                missing.push("--name-prefix");
            }
            if !missing.is_empty() {
                return Err(usage_error(&format!(
                    "the following arguments are required: {}",
                    missing.join(", ")
                )));
            }
        }
        if !schedule.is_empty() || !request.contains_key("Schedule") {
            request.insert("Schedule".to_owned(), Value::Object(schedule));
        }
    } else if !has_cli_input && !request.contains_key("TableName") {
        return Err(usage_error(
            "the following arguments are required: --table-name",
        ));
    }
    if has_cli_input {
        let mut problems: Vec<String> = allowed
            .iter()
            .filter(|member| !request.contains_key(**member))
            .map(|member| format!("Missing required parameter in input: \"{member}\""))
            .collect();
        for member in request.keys() {
            if !allowed.contains(&member.as_str()) {
                problems.push(format!(
                    "Unknown parameter in input: \"{member}\", must be one of: {}",
                    allowed.join(", ")
                ));
            }
        }
        if !problems.is_empty() {
            return Err(ParamError(format!(
                "Parameter validation failed:\n{}",
                problems.join("\n")
            )));
        }
    }
    Ok(Call {
        operation,
        request: Value::Object(request),
        paging: None,
    })
}

#[cfg(test)]
#[path = "request_tests.rs"]
mod tests;
