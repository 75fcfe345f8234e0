//! The job commands (create-backup, the restores, export, import): the first response at
//! once, then the wait for the job's end (a spinner on stderr, polling, the failure and
//! timeout lines); and the table waits that a failed restore ends early.

use std::io::Write;
use std::time::{Duration, Instant};

use ddb_model::Result as DdbResult;
use ddb_table::WaitFor;
use serde_json::{Value, json};

use super::exec::{Backend, print};
use super::output::{EXIT_GENERAL_ERROR, EXIT_SERVICE_ERROR, report, service_error_line};
use super::request::{Job, StartJob};

/// How often a job wait checks for a failure (or polls a describe operation) and moves its
/// spinner.
const JOB_POLL: Duration = Duration::from_millis(100);

/// The exit code of a job that ended in failure (a failed restore, a FAILED export or
/// import). A backup whose build fails keeps its older 255: its job is retried, not ended.
const EXIT_JOB_FAILED: u8 = 1;

/// What a job command waits on, read from its first response.
pub(super) struct JobWatch {
    pub(super) job: Job,
    /// The backup, export or import ARN; the restored table's name.
    pub(super) target: String,
}

impl Job {
    /// Where the first response names what to wait for: (path, what it is).
    fn target_path(self) -> (&'static [&'static str], &'static str) {
        match self {
            Job::Backup => (&["BackupDetails", "BackupArn"], "BackupDetails.BackupArn"),
            Job::Restore => (
                &["TableDescription", "TableName"],
                "TableDescription.TableName",
            ),
            Job::Export => (
                &["ExportDescription", "ExportArn"],
                "ExportDescription.ExportArn",
            ),
            Job::Import => (
                &["ImportTableDescription", "ImportArn"],
                "ImportTableDescription.ImportArn",
            ),
        }
    }

    /// The describe operation polled for an export or import: (operation, request member,
    /// response member, status member).
    fn describe(self) -> Option<(&'static str, &'static str, &'static str, &'static str)> {
        match self {
            Job::Export => Some((
                "DescribeExport",
                "ExportArn",
                "ExportDescription",
                "ExportStatus",
            )),
            Job::Import => Some((
                "DescribeImport",
                "ImportArn",
                "ImportTableDescription",
                "ImportStatus",
            )),
            Job::Backup | Job::Restore => None,
        }
    }

    fn noun(self) -> &'static str {
        match self {
            Job::Backup => "backup",
            Job::Restore => "table",
            Job::Export => "export",
            Job::Import => "import",
        }
    }

    /// The spinner's state while waiting.
    fn pending_state(self) -> &'static str {
        match self {
            Job::Backup => "backup CREATING",
            Job::Restore => "restore CREATING: table",
            Job::Export => "export IN_PROGRESS",
            Job::Import => "import IN_PROGRESS",
        }
    }
}

/// A job command: the first response (CREATING, IN_PROGRESS) at once, then (by default) the
/// wait for the job's end while this process keeps the database, and so its workers, running.
pub(super) fn run_job(
    backend: &dyn Backend,
    start: &StartJob,
    stdout: &mut dyn Write,
    stderr: &mut dyn Write,
) -> u8 {
    let operation = start.call.operation;
    let response = match backend.call(operation, &start.call.request) {
        Ok(response) => response,
        Err(error) => {
            return report(
                stderr,
                &service_error_line(operation, &error),
                EXIT_SERVICE_ERROR,
            );
        }
    };
    let (path, path_text) = start.job.target_path();
    let target = path
        .iter()
        .try_fold(&response, |value, key| value.get(*key))
        .and_then(Value::as_str)
        .map(str::to_owned);
    if let Some(code) = print(stdout, stderr, response) {
        return code;
    }
    if !start.wait {
        return 0;
    }
    let Some(target) = target else {
        return report(
            stderr,
            &format!("ddbfmt: the {operation} response has no {path_text} to wait for"),
            EXIT_GENERAL_ERROR,
        );
    };
    let watch = JobWatch {
        job: start.job,
        target,
    };
    let outcome = wait_for_job(backend, &watch, start.timeout);
    let target = &watch.target;
    let (message, code) = match (watch.job, outcome) {
        (_, Ok(true)) => return 0,
        (Job::Backup, Ok(false)) => (
            format!(
                "ddbfmt: backup {target} is still CREATING after {} s; its job is durable and \
                 goes on the next time the database is opened",
                start.timeout.unwrap_or_default().as_secs()
            ),
            EXIT_GENERAL_ERROR,
        ),
        (Job::Restore, Ok(false)) => (
            format!(
                "ddbfmt: table {target} is still CREATING after {} s; its restore is durable \
                 and goes on the next time a waiting command opens the database (`ddbfmt wait \
                 table-exists --table-name {target}`)",
                start.timeout.unwrap_or_default().as_secs()
            ),
            EXIT_GENERAL_ERROR,
        ),
        (job @ (Job::Export | Job::Import), Ok(false)) => (
            format!(
                "ddbfmt: {} {target} is still IN_PROGRESS after {} s",
                job.noun(),
                start.timeout.unwrap_or_default().as_secs()
            ),
            EXIT_GENERAL_ERROR,
        ),
        (job, Err(JobWaitError::Service(e))) => (
            format!(
                "ddbfmt: waiting for {} {target}: An error occurred ({}): {}",
                job.noun(),
                e.name(),
                e.message()
            ),
            EXIT_GENERAL_ERROR,
        ),
        (Job::Backup, Err(JobWaitError::Failed(why))) => (
            format!(
                "ddbfmt: the build of backup {target} failed: {why} (the backup stays \
                 CREATING; its job is retried while the database is open and the next time it \
                 is opened)"
            ),
            EXIT_GENERAL_ERROR,
        ),
        (Job::Restore, Err(JobWaitError::Failed(why))) => {
            (restore_failed_line(target, &why), EXIT_JOB_FAILED)
        }
        (job @ (Job::Export | Job::Import), Err(JobWaitError::Failed(why))) => (
            format!("ddbfmt: {} {target} FAILED: {why}", job.noun()),
            EXIT_JOB_FAILED,
        ),
    };
    report(stderr, &message, code)
}

fn restore_failed_line(table: &str, why: &str) -> String {
    format!("ddbfmt: the restore of table {table} failed: {why} (no table was created)")
}

/// Why waiting for a job ended before it was done.
#[derive(Debug)]
pub(super) enum JobWaitError {
    Service(ddb_model::DdbError),
    /// The job failed: a backup's build (the engine keeps the job and retries it), a restore
    /// (its table was removed), a FAILED export or import.
    Failed(String),
}

/// One look at a job.
pub(super) enum Check {
    Done,
    Pending,
    Failed(String),
}

/// Waits until the job of `watch` is done (`Ok(true)`) or `timeout` passes (`Ok(false)`; no
/// timeout: no limit), with a spinner on stderr when it is a terminal. A failure ends the
/// wait at once rather than when the time is up.
pub(super) fn wait_for_job(
    backend: &dyn Backend,
    watch: &JobWatch,
    timeout: Option<Duration>,
) -> Result<bool, JobWaitError> {
    let progress = super::spinner(format!("{}: {}", watch.job.pending_state(), watch.target));
    let outcome = watch_until(timeout, &progress, &mut |slice| {
        check_job(backend, watch, slice)
    });
    progress.finish_and_clear();
    outcome
}

/// Calls `step` (which may block for up to the slice it is given) every [`JOB_POLL`] until it
/// says done or failed, or `timeout` passes.
pub(super) fn watch_until(
    timeout: Option<Duration>,
    progress: &indicatif::ProgressBar,
    step: &mut dyn FnMut(Duration) -> DdbResult<Check>,
) -> Result<bool, JobWaitError> {
    let deadline = timeout.map(|t| Instant::now() + t);
    loop {
        let slice = deadline.map_or(JOB_POLL, |d| {
            d.saturating_duration_since(Instant::now()).min(JOB_POLL)
        });
        match step(slice) {
            Ok(Check::Done) => return Ok(true),
            Ok(Check::Failed(why)) => return Err(JobWaitError::Failed(why)),
            Ok(Check::Pending) => {}
            Err(e) => return Err(JobWaitError::Service(e)),
        }
        progress.tick();
        if deadline.is_some_and(|d| Instant::now() >= d) {
            return Ok(false);
        }
    }
}

/// One look at the job of `watch`, blocking for up to `slice` while it is pending.
fn check_job(backend: &dyn Backend, watch: &JobWatch, slice: Duration) -> DdbResult<Check> {
    let target = &watch.target;
    match watch.job {
        Job::Backup => {
            if backend.wait(&WaitFor::BackupAvailable(target.clone()), slice)? {
                return Ok(Check::Done);
            }
            Ok(backend
                .backup_job_error(target)?
                .map_or(Check::Pending, Check::Failed))
        }
        Job::Restore => check_table(
            backend,
            &WaitFor::TableExists(target.clone()),
            target,
            slice,
        ),
        Job::Export | Job::Import => {
            let Some((operation, member, description, status)) = watch.job.describe() else {
                return Ok(Check::Pending);
            };
            let response = backend.call(operation, &json!({ member: target }))?;
            let description = response.get(description).unwrap_or(&Value::Null);
            match description.get(status).and_then(Value::as_str) {
                Some("COMPLETED") => Ok(Check::Done),
                Some(state @ ("FAILED" | "CANCELLED")) => {
                    Ok(Check::Failed(failure_message(description, state)))
                }
                _ => {
                    std::thread::sleep(slice);
                    Ok(Check::Pending)
                }
            }
        }
    }
}

/// An export's or import's FailureMessage (with its FailureCode when there is one).
fn failure_message(description: &Value, state: &str) -> String {
    let code = description.get("FailureCode").and_then(Value::as_str);
    let message = description.get("FailureMessage").and_then(Value::as_str);
    match (code, message) {
        (Some(code), Some(message)) => format!("{code}: {message}"),
        (None, Some(message)) => message.to_owned(),
        (Some(code), None) => code.to_owned(),
        (None, None) => format!("{state} with no FailureMessage"),
    }
}

/// One slice of a wait for a table condition (`what`: ACTIVE, an index ACTIVE) on `table`,
/// ended early when a restore into `table` failed (the engine removed its table).
pub(super) fn check_table(
    backend: &dyn Backend,
    what: &WaitFor,
    table: &str,
    slice: Duration,
) -> DdbResult<Check> {
    match backend.wait(what, slice) {
        Ok(true) => Ok(Check::Done),
        Ok(false) => Ok(backend
            .restore_failure(table)
            .map_or(Check::Pending, Check::Failed)),
        Err(e) => backend.restore_failure(table).map(Check::Failed).ok_or(e),
    }
}
