//! The `aws dynamodb`-shaped commands: the same command and flag names as the AWS CLI, the
//! same request and response JSON, the same error lines and exit codes; plus `load` and
//! `checkpoint`, which the AWS CLI does not have.
//!
//! The flow: clap parses the flags of a command built from [`spec`]; [`build_request`] (and
//! [`request::action_from_matches`], its core) turns them into an [`Action`]: an operation
//! name and its request JSON, or a waiter. Only then is the database opened, and
//! [`run_action`] calls it and prints the response.
//!
//! Architecture invariant: nothing here interprets a request or a response beyond what the
//! AWS CLI itself does (parameter syntax, pagination, waiters); the engine answers every
//! operation.

mod exec;
mod jobs;
mod load;
mod output;
mod paginate;
mod params;
mod request;
mod shorthand;
mod spec;
mod wait;

use std::io::{IsTerminal, Write};
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use clap::{ArgMatches, FromArgMatches, Subcommand};
use ddb_table::{Database, DatabaseOptions, Tables};
use serde_json::{Value, json};

pub use exec::{Backend, run_action};
pub use load::{Batch, Documents, Entry, LoadArgs, LoadError, Position, Totals, apply_in_batches};
pub use output::{
    EXIT_GENERAL_ERROR, EXIT_PARAM_ERROR, EXIT_SERVICE_ERROR, print_response, service_error_line,
};
pub use params::ParamError;
pub use request::{Action, Call, Job, Paging, StartJob, build_request};
pub use wait::{WAIT_TIMEOUT_SECONDS_DEFAULT, Wait, Waiter};

use output::report;

/// One of the AWS-shaped commands with its parsed arguments; flattened into `ddbfmt`'s
/// commands (the subcommands are built from [`spec`] at run time, so this implements clap's
/// traits by hand).
#[derive(Debug, Clone)]
pub struct AwsCommand {
    name: String,
    matches: ArgMatches,
}

impl FromArgMatches for AwsCommand {
    fn from_arg_matches(matches: &ArgMatches) -> Result<Self, clap::Error> {
        match matches.subcommand() {
            Some((name, sub)) if is_aws_command(name) => Ok(Self {
                name: name.to_owned(),
                matches: sub.clone(),
            }),
            _ => Err(clap::Error::new(clap::error::ErrorKind::MissingSubcommand)),
        }
    }

    fn update_from_arg_matches(&mut self, matches: &ArgMatches) -> Result<(), clap::Error> {
        *self = Self::from_arg_matches(matches)?;
        Ok(())
    }
}

impl Subcommand for AwsCommand {
    fn augment_subcommands(mut cmd: clap::Command) -> clap::Command {
        for spec in spec::COMMANDS {
            cmd = cmd.subcommand(request::command_for(spec));
        }
        cmd.subcommand(wait::wait_command())
            .subcommand(request::backup_schedule_command())
    }

    fn augment_subcommands_for_update(cmd: clap::Command) -> clap::Command {
        Self::augment_subcommands(cmd)
    }

    fn has_subcommand(name: &str) -> bool {
        is_aws_command(name)
    }
}

/// Whether `name` is one of the AWS-shaped commands (their usage errors exit 252).
pub fn is_aws_command(name: &str) -> bool {
    request::command_names().any(|n| n == name)
}

/// `ddbfmt checkpoint` arguments.
#[derive(Debug, clap::Args)]
pub struct CheckpointArgs {
    /// The table to checkpoint: its logged changes are merged into a new snapshot now.
    #[arg(long)]
    pub table_name: String,
}

fn open_database(data_dir: &Path) -> Result<Arc<Database>, String> {
    open_database_with(data_dir, DatabaseOptions::default())
}

fn open_database_with(data_dir: &Path, options: DatabaseOptions) -> Result<Arc<Database>, String> {
    Database::open(data_dir, options).map_err(|e| {
        format!(
            "ddbfmt: cannot open the database {}: {e}",
            data_dir.display()
        )
    })
}

/// Runs an AWS-shaped command against the database in `data_dir`; returns the exit code.
pub fn run(
    data_dir: &Path,
    command: &AwsCommand,
    stdout: &mut dyn Write,
    stderr: &mut dyn Write,
) -> u8 {
    // Parameters are checked before the database is opened, as the AWS CLI checks them
    // before it sends anything.
    let action = match request::action_from_matches(&command.name, &command.matches) {
        Ok(action) => action,
        Err(e) => return report(stderr, &e.0, EXIT_PARAM_ERROR),
    };
    let mut options = DatabaseOptions::default();
    // Jobs (backups, restores, exports, imports) run only in a call that waits: any other call
    // is short-lived, and would start a job only to cancel it at exit. A `--no-wait` job's
    // durable state is picked up by the next call that waits (a job command without
    // `--no-wait`, any `wait`: a restored table's `wait table-exists` needs its restore run, a
    // deleted table's `wait table-not-exists` its SYSTEM backup) or by a process that keeps the
    // database open.
    options.backup.worker = matches!(
        &action,
        Action::StartJob(StartJob { wait: true, .. }) | Action::Wait(_)
    );
    match open_database_with(data_dir, options) {
        Ok(db) => run_action(db.as_ref(), &action, stdout, stderr),
        Err(why) => report(stderr, &why, EXIT_GENERAL_ERROR),
    }
}

/// `ddbfmt checkpoint --table-name T`.
pub fn run_checkpoint(
    data_dir: &Path,
    args: &CheckpointArgs,
    stdout: &mut dyn Write,
    stderr: &mut dyn Write,
) -> u8 {
    let db = match open_database(data_dir) {
        Ok(db) => db,
        Err(why) => return report(stderr, &why, EXIT_GENERAL_ERROR),
    };
    let started = Instant::now();
    match db.checkpoint(&args.table_name) {
        Ok(report) => print_summary(
            stdout,
            stderr,
            &json!({
                "TableName": args.table_name,
                "CheckpointLsn": report.lsn,
                "Published": report.published,
                "Rows": report.rows,
                "LogSegmentsDeleted": report.log_segments_deleted,
                "Seconds": seconds(started),
            }),
        ),
        Err(e) => report(
            stderr,
            &service_error_line("Checkpoint", &e),
            EXIT_SERVICE_ERROR,
        ),
    }
}

/// `ddbfmt load --table-name T FILE|-`.
pub fn run_load(
    data_dir: &Path,
    args: &LoadArgs,
    stdout: &mut dyn Write,
    stderr: &mut dyn Write,
) -> u8 {
    let (reader, length_bytes) = match load::open_input(&args.input) {
        Ok(input) => input,
        Err(why) => {
            return report(
                stderr,
                &format!("ddbfmt load: cannot read {why}"),
                EXIT_PARAM_ERROR,
            );
        }
    };
    let db = match open_database(data_dir) {
        Ok(db) => db,
        Err(why) => return report(stderr, &why, EXIT_GENERAL_ERROR),
    };
    let store = match db.table(&args.table_name) {
        Ok(store) => store,
        Err(e) => {
            return report(
                stderr,
                &format!("ddbfmt load: {}: {e}", args.table_name),
                EXIT_SERVICE_ERROR,
            );
        }
    };
    let schema = store.write_schema().into_owned();
    let limits = load::Limits {
        items_max: usize::try_from(args.batch_items).unwrap_or(usize::MAX),
        bytes_max: load::BATCH_BYTES_MAX,
    };
    let progress = progress_bar(length_bytes);
    let started = Instant::now();
    let mut documents = Documents::new(reader, &args.table_name);
    let mut applied_writes: u64 = 0;
    let result = {
        let entries = std::iter::from_fn(|| {
            let next = documents.next();
            progress.set_position(documents.bytes_read());
            next
        });
        apply_in_batches(entries, &schema, limits, &mut |batch| {
            let count = u64::try_from(batch.changes.len()).unwrap_or(u64::MAX);
            let (first, last) = (batch.first, batch.last);
            store
                .apply_batch(batch.changes)
                .map_err(|error| LoadError::Rejected { first, last, error })?;
            applied_writes += count;
            progress.set_message(format!("{applied_writes} writes"));
            Ok(())
        })
    };
    progress.finish_and_clear();
    match result {
        Ok(totals) => print_summary(
            stdout,
            stderr,
            &json!({
                "TableName": args.table_name,
                "ItemsPut": totals.items_put,
                "ItemsDeleted": totals.items_deleted,
                "Lines": documents.lines(),
                "Batches": totals.batches,
                "Seconds": seconds(started),
            }),
        ),
        Err(e) => {
            let code = match e {
                LoadError::Read(_) => EXIT_PARAM_ERROR,
                LoadError::Invalid { .. } | LoadError::Rejected { .. } => EXIT_SERVICE_ERROR,
            };
            report(
                stderr,
                &format!(
                    "ddbfmt load: {}: {e} ({applied_writes} writes before it were applied)",
                    args.input
                ),
                code,
            )
        }
    }
}

/// A bar over the input's bytes (a spinner for standard input), drawn only when stderr is a
/// terminal: progress never goes to stdout, and pipes and logs get none.
pub(crate) fn progress_bar(length_bytes: Option<u64>) -> indicatif::ProgressBar {
    if !std::io::stderr().is_terminal() {
        return indicatif::ProgressBar::hidden();
    }
    let (bar, template) = match length_bytes {
        Some(length) => (
            indicatif::ProgressBar::new(length),
            "{bar:40} {bytes}/{total_bytes} {elapsed} (eta {eta}) {msg}",
        ),
        None => (
            indicatif::ProgressBar::new_spinner(),
            "{spinner} {bytes} read {elapsed} {msg}",
        ),
    };
    match indicatif::ProgressStyle::with_template(template) {
        Ok(style) => bar.with_style(style),
        Err(_) => bar,
    }
}

/// A spinner with the elapsed time and `message`, drawn only when stderr is a terminal.
pub(crate) fn spinner(message: String) -> indicatif::ProgressBar {
    if !std::io::stderr().is_terminal() {
        return indicatif::ProgressBar::hidden();
    }
    let bar = indicatif::ProgressBar::new_spinner();
    let bar = match indicatif::ProgressStyle::with_template("{spinner} {elapsed} {msg}") {
        Ok(style) => bar.with_style(style),
        Err(_) => bar,
    };
    bar.set_message(message);
    bar
}

fn seconds(started: Instant) -> f64 {
    (started.elapsed().as_secs_f64() * 1_000.0).round() / 1_000.0
}

fn print_summary(stdout: &mut dyn Write, stderr: &mut dyn Write, summary: &Value) -> u8 {
    match print_response(stdout, summary) {
        Ok(()) => 0,
        Err(e) => report(
            stderr,
            &format!("ddbfmt: cannot write the output: {e}"),
            EXIT_GENERAL_ERROR,
        ),
    }
}
