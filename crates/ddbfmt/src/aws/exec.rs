//! Runs an [`Action`] against a database and prints what the AWS CLI would.

use std::io::Write;
use std::time::{Duration, Instant};

use ddb_model::{ErrorKind, Result as DdbResult};
use ddb_table::{Database, WaitFor};
use serde_json::{Value, json};

use super::output::{
    EXIT_GENERAL_ERROR, EXIT_SERVICE_ERROR, print_response, report, service_error_line,
    times_as_iso8601,
};
use super::paginate::{PageError, paginate};
use super::request::{Action, Call, CreateBackup, Wait, Waiter};

/// What the commands need of a database; [`Database`] is the real one, tests use fakes.
pub trait Backend {
    fn call(&self, operation: &str, request: &Value) -> DdbResult<Value>;
    fn wait(&self, what: &WaitFor, timeout: Duration) -> DdbResult<bool>;
    /// The last failure of the build of backup `arn` (the engine retries it), if any;
    /// BackupNotFoundException once the backup is gone.
    fn backup_job_error(&self, arn: &str) -> DdbResult<Option<String>>;
}

impl Backend for Database {
    fn call(&self, operation: &str, request: &Value) -> DdbResult<Value> {
        Database::call(self, operation, request)
    }

    fn wait(&self, what: &WaitFor, timeout: Duration) -> DdbResult<bool> {
        Database::wait(self, what, timeout)
    }

    fn backup_job_error(&self, arn: &str) -> DdbResult<Option<String>> {
        Database::backup(self, arn).map(|entry| entry.last_error)
    }
}

/// How often a backup wait checks for a failed build and moves its spinner.
const BACKUP_POLL: Duration = Duration::from_millis(100);

/// Runs `action` and returns the exit code.
pub fn run_action(
    backend: &dyn Backend,
    action: &Action,
    stdout: &mut dyn Write,
    stderr: &mut dyn Write,
) -> u8 {
    match action {
        Action::Call(call) => run_call(backend, call, stdout, stderr),
        Action::Wait(wait) => run_wait(backend, wait, stderr),
        Action::CreateBackup(create) => run_create_backup(backend, create, stdout, stderr),
    }
}

/// Prints `response` (times as ISO 8601); the exit code of a failed write, if it failed.
fn print(stdout: &mut dyn Write, stderr: &mut dyn Write, mut response: Value) -> Option<u8> {
    times_as_iso8601(&mut response);
    match print_response(stdout, &response).and_then(|()| stdout.flush()) {
        Ok(()) => None,
        Err(e) => Some(report(
            stderr,
            &format!("ddbfmt: cannot write the output: {e}"),
            EXIT_GENERAL_ERROR,
        )),
    }
}

/// `create-backup`: the CREATING response at once, then (by default) the wait for AVAILABLE
/// while this process keeps the database, and so its backup worker, running.
fn run_create_backup(
    backend: &dyn Backend,
    create: &CreateBackup,
    stdout: &mut dyn Write,
    stderr: &mut dyn Write,
) -> u8 {
    let operation = create.call.operation;
    let response = match backend.call(operation, &create.call.request) {
        Ok(response) => response,
        Err(error) => {
            return report(
                stderr,
                &service_error_line(operation, &error),
                EXIT_SERVICE_ERROR,
            );
        }
    };
    let arn = response
        .get("BackupDetails")
        .and_then(|d| d.get("BackupArn"))
        .and_then(Value::as_str)
        .map(str::to_owned);
    if let Some(code) = print(stdout, stderr, response) {
        return code;
    }
    if !create.wait {
        return 0;
    }
    let Some(arn) = arn else {
        return report(
            stderr,
            "ddbfmt: the CreateBackup response has no BackupDetails.BackupArn to wait for",
            EXIT_GENERAL_ERROR,
        );
    };
    let message = match wait_for_backup(backend, &arn, create.timeout) {
        Ok(true) => return 0,
        Ok(false) => format!(
            "ddbfmt: backup {arn} is still CREATING after {} s; its job is durable and goes on \
             the next time the database is opened",
            create.timeout.unwrap_or_default().as_secs()
        ),
        Err(BackupWaitError::Service(e)) => format!(
            "ddbfmt: waiting for backup {arn}: An error occurred ({}): {}",
            e.name(),
            e.message()
        ),
        Err(BackupWaitError::JobFailed(why)) => format!(
            "ddbfmt: the build of backup {arn} failed: {why} (the backup stays CREATING; its \
             job is retried while the database is open and the next time it is opened)"
        ),
    };
    report(stderr, &message, EXIT_GENERAL_ERROR)
}

/// Why waiting for a backup ended before it was AVAILABLE.
#[derive(Debug)]
enum BackupWaitError {
    Service(ddb_model::DdbError),
    /// Its build failed (the engine keeps the job and retries it).
    JobFailed(String),
}

/// Waits until backup `arn` is AVAILABLE (`Ok(true)`) or `timeout` passes (`Ok(false)`; no
/// timeout: no limit), with a spinner on stderr when it is a terminal. A failed build ends
/// the wait at once rather than when the time is up.
fn wait_for_backup(
    backend: &dyn Backend,
    arn: &str,
    timeout: Option<Duration>,
) -> Result<bool, BackupWaitError> {
    let progress = super::spinner(format!("backup CREATING: {arn}"));
    let deadline = timeout.map(|t| Instant::now() + t);
    let what = WaitFor::BackupAvailable(arn.to_owned());
    let outcome = loop {
        let slice = deadline.map_or(BACKUP_POLL, |d| {
            d.saturating_duration_since(Instant::now()).min(BACKUP_POLL)
        });
        match backend.wait(&what, slice) {
            Ok(true) => break Ok(true),
            Ok(false) => {}
            Err(e) => break Err(BackupWaitError::Service(e)),
        }
        match backend.backup_job_error(arn) {
            Ok(None) => {}
            Ok(Some(why)) => break Err(BackupWaitError::JobFailed(why)),
            Err(e) => break Err(BackupWaitError::Service(e)),
        }
        progress.tick();
        if deadline.is_some_and(|d| Instant::now() >= d) {
            break Ok(false);
        }
    };
    progress.finish_and_clear();
    outcome
}

fn run_call(
    backend: &dyn Backend,
    call: &Call,
    stdout: &mut dyn Write,
    stderr: &mut dyn Write,
) -> u8 {
    let result = match &call.paging {
        None => backend
            .call(call.operation, &call.request)
            .map_err(PageError::Service),
        Some(paging) => paginate(paging, &call.request, &mut |request| {
            backend.call(call.operation, request)
        }),
    };
    match result {
        Ok(response) => print(stdout, stderr, response).unwrap_or(0),
        Err(PageError::Service(error)) => report(
            stderr,
            &service_error_line(call.operation, &error),
            EXIT_SERVICE_ERROR,
        ),
        Err(PageError::Pagination(message)) => report(stderr, &message, EXIT_GENERAL_ERROR),
    }
}

fn run_wait(backend: &dyn Backend, wait: &Wait, stderr: &mut dyn Write) -> u8 {
    let name = wait.waiter.name();
    if let Waiter::BackupAvailable { arn } = &wait.waiter {
        let reason = match wait_for_backup(backend, arn, Some(wait.timeout)) {
            Ok(true) => return 0,
            Ok(false) => "Max attempts exceeded".to_owned(),
            Err(BackupWaitError::Service(error)) => {
                format!("An error occurred ({}): {}", error.name(), error.message())
            }
            Err(BackupWaitError::JobFailed(why)) => format!("the backup's build failed: {why}"),
        };
        return report(
            stderr,
            &format!("Waiter {name} failed: {reason}"),
            EXIT_GENERAL_ERROR,
        );
    }
    let what = match &wait.waiter {
        Waiter::TableExists { table } => WaitFor::TableExists(table.clone()),
        Waiter::TableNotExists { table } => WaitFor::TableNotExists(table.clone()),
        Waiter::IndexActive { table, index } => WaitFor::IndexActive {
            table: table.clone(),
            index: index.clone(),
        },
        Waiter::BackupAvailable { arn } => WaitFor::BackupAvailable(arn.clone()),
    };
    match backend.wait(&what, wait.timeout) {
        Ok(true) => 0,
        Ok(false) => {
            let reason = match previously_accepted(backend, &wait.waiter) {
                Some(state) => format!("Max attempts exceeded. Previously accepted state: {state}"),
                None => "Max attempts exceeded".to_owned(),
            };
            report(
                stderr,
                &format!("Waiter {name} failed: {reason}"),
                EXIT_GENERAL_ERROR,
            )
        }
        Err(error) => report(
            stderr,
            &format!(
                "Waiter {name} failed: An error occurred ({}): {}",
                error.name(),
                error.message()
            ),
            EXIT_GENERAL_ERROR,
        ),
    }
}

/// The state botocore's TableExists waiter reports when it ran out of attempts while the
/// table was missing (its `retry` acceptor on ResourceNotFoundException matched).
fn previously_accepted(backend: &dyn Backend, waiter: &Waiter) -> Option<&'static str> {
    let Waiter::TableExists { table } = waiter else {
        return None;
    };
    match backend.call("DescribeTable", &json!({ "TableName": table })) {
        Err(e) if e.kind() == ErrorKind::ResourceNotFound => {
            Some("Matched expected service error code: ResourceNotFoundException")
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aws::request::build_request;
    use ddb_model::DdbError;
    use std::cell::RefCell;

    /// Answers every call with `response` (or `error`) and records the requests.
    struct Fake {
        response: DdbResult<Value>,
        wait: DdbResult<bool>,
        job_error: Option<String>,
        calls: RefCell<Vec<(String, Value)>>,
    }

    impl Fake {
        fn answering(response: DdbResult<Value>) -> Self {
            Self {
                response,
                wait: Ok(true),
                job_error: None,
                calls: RefCell::new(Vec::new()),
            }
        }
    }

    impl Backend for Fake {
        fn call(&self, operation: &str, request: &Value) -> DdbResult<Value> {
            self.calls
                .borrow_mut()
                .push((operation.to_owned(), request.clone()));
            self.response.clone()
        }
        fn wait(&self, _: &WaitFor, _: Duration) -> DdbResult<bool> {
            self.wait.clone()
        }
        fn backup_job_error(&self, _: &str) -> DdbResult<Option<String>> {
            Ok(self.job_error.clone())
        }
    }

    fn run(backend: &Fake, args: &[&str]) -> (u8, String, String) {
        let action = build_request(args).unwrap();
        let (mut out, mut err) = (Vec::new(), Vec::new());
        let code = run_action(backend, &action, &mut out, &mut err);
        (
            code,
            String::from_utf8(out).unwrap(),
            String::from_utf8(err).unwrap(),
        )
    }

    #[test]
    fn responses_are_printed_and_empty_ones_are_not() {
        let fake = Fake::answering(Ok(json!({"Item": {"pk": {"S": "a"}}})));
        let (code, out, err) = run(
            &fake,
            &[
                "get-item",
                "--table-name",
                "T",
                "--key",
                r#"{"pk":{"S":"a"}}"#,
            ],
        );
        assert_eq!((code, err.as_str()), (0, ""));
        assert_eq!(
            out,
            "{\n    \"Item\": {\n        \"pk\": {\n            \"S\": \"a\"\n        }\n    }\n}\n"
        );
        assert_eq!(fake.calls.borrow()[0].0, "GetItem");

        let fake = Fake::answering(Ok(json!({})));
        let (code, out, _) = run(
            &fake,
            &[
                "put-item",
                "--table-name",
                "T",
                "--item",
                r#"{"pk":{"S":"a"}}"#,
            ],
        );
        assert_eq!((code, out.as_str()), (0, ""));
    }

    #[test]
    fn service_errors_exit_254() {
        let fake = Fake::answering(Err(DdbError::new(
            ErrorKind::ResourceNotFound,
            "Requested resource not found: Table: T not found",
        )));
        let (code, out, err) = run(&fake, &["describe-table", "--table-name", "T"]);
        assert_eq!(code, 254);
        assert_eq!(out, "");
        assert_eq!(
            err,
            "\nAn error occurred (ResourceNotFoundException) when calling the DescribeTable operation: Requested resource not found: Table: T not found\n"
        );
        // Paginated commands report the same way.
        let (code, _, err) = run(&fake, &["scan", "--table-name", "T"]);
        assert_eq!(code, 254);
        assert!(err.contains("when calling the Scan operation"), "{err}");
    }

    #[test]
    fn scan_paginates_by_default_and_not_with_limit() {
        let page = json!({"Items": [{"pk": {"S": "a"}}], "Count": 1, "ScannedCount": 1});
        let fake = Fake::answering(Ok(page.clone()));
        let (code, out, _) = run(&fake, &["scan", "--table-name", "T"]);
        assert_eq!(code, 0);
        let printed: Value = serde_json::from_str(&out).unwrap();
        assert_eq!(printed["ConsumedCapacity"], Value::Null);
        assert_eq!(printed["Count"], 1);

        let mut with_key = page;
        with_key["LastEvaluatedKey"] = json!({"pk": {"S": "a"}});
        let fake = Fake::answering(Ok(with_key.clone()));
        let (code, out, _) = run(&fake, &["scan", "--table-name", "T", "--limit", "1"]);
        assert_eq!(code, 0);
        assert_eq!(serde_json::from_str::<Value>(&out).unwrap(), with_key);
        assert_eq!(fake.calls.borrow().len(), 1);
    }

    #[test]
    fn waiters_report_like_botocore() {
        let mut fake = Fake::answering(Err(DdbError::new(ErrorKind::ResourceNotFound, "gone")));
        fake.wait = Ok(false);
        let (code, _, err) = run(&fake, &["wait", "table-exists", "--table-name", "T"]);
        assert_eq!(code, 255);
        assert_eq!(
            err,
            "\nWaiter TableExists failed: Max attempts exceeded. Previously accepted state: Matched expected service error code: ResourceNotFoundException\n"
        );
        let (code, _, err) = run(
            &fake,
            &[
                "wait",
                "index-active",
                "--table-name",
                "T",
                "--index-name",
                "I",
            ],
        );
        assert_eq!(code, 255);
        assert_eq!(err, "\nWaiter IndexActive failed: Max attempts exceeded\n");

        fake.wait = Ok(true);
        let (code, out, err) = run(&fake, &["wait", "table-not-exists", "--table-name", "T"]);
        assert_eq!((code, out.as_str(), err.as_str()), (0, "", ""));

        fake.wait = Err(DdbError::validation("bad"));
        let (code, _, err) = run(&fake, &["wait", "table-exists", "--table-name", "T"]);
        assert_eq!(code, 255);
        assert_eq!(
            err,
            "\nWaiter TableExists failed: An error occurred (ValidationException): bad\n"
        );
    }

    #[test]
    fn create_backup_prints_at_once_then_waits() {
        let arn = "arn:aws:dynamodb:ddblocal:000000000000:table/T/backup/01764633600123-0a1b2c3d";
        let response = json!({"BackupDetails": {"BackupArn": arn, "BackupStatus": "CREATING",
            "BackupCreationDateTime": 1_764_633_600.123}, "BackupDirectory": "/d"});
        let args = ["create-backup", "--table-name", "T", "--backup-name", "b1"];
        let fake = Fake::answering(Ok(response.clone()));
        let (code, out, err) = run(&fake, &args);
        assert_eq!((code, err.as_str()), (0, ""));
        let printed: Value = serde_json::from_str(&out).unwrap();
        assert_eq!(
            printed["BackupDetails"]["BackupCreationDateTime"],
            "2025-12-02T00:00:00.123Z"
        );
        assert_eq!(
            fake.calls.borrow()[0],
            (
                "CreateBackup".to_owned(),
                json!({"TableName": "T", "BackupName": "b1"})
            )
        );

        let mut fake = Fake::answering(Ok(response.clone()));
        fake.wait = Ok(false);
        fake.job_error = Some("disk full".to_owned());
        let (code, out, err) = run(&fake, &args);
        assert_eq!(code, 255);
        assert!(out.contains("CREATING"), "{out}");
        assert!(
            err.contains(&format!(
                "ddbfmt: the build of backup {arn} failed: disk full"
            )),
            "{err}"
        );
        // --no-wait does not wait at all.
        let (code, out, err) = run(&fake, &[&args[..], &["--no-wait"]].concat());
        assert_eq!((code, err.as_str()), (0, ""));
        assert!(out.contains("CREATING"), "{out}");
        // A timeout ends the wait.
        fake.job_error = None;
        let (code, _, err) = run(&fake, &[&args[..], &["--timeout-seconds", "0"]].concat());
        assert_eq!(code, 255);
        assert!(err.contains("is still CREATING after 0 s"), "{err}");
        // A refused request prints nothing on stdout.
        let fake = Fake::answering(Err(DdbError::new(
            ErrorKind::TableNotFound,
            "Table not found: T",
        )));
        let (code, out, err) = run(&fake, &args);
        assert_eq!((code, out.as_str()), (254, ""));
        assert_eq!(
            err,
            "\nAn error occurred (TableNotFoundException) when calling the CreateBackup operation: Table not found: T\n"
        );
    }

    #[test]
    fn backup_available_waiter() {
        let args = [
            "wait",
            "backup-available",
            "--backup-arn",
            "arn:x",
            "--timeout-seconds",
            "0",
        ];
        let mut fake = Fake::answering(Ok(json!({})));
        let (code, out, err) = run(&fake, &args);
        assert_eq!((code, out.as_str(), err.as_str()), (0, "", ""));
        fake.wait = Ok(false);
        let (code, _, err) = run(&fake, &args);
        assert_eq!(code, 255);
        assert_eq!(
            err,
            "\nWaiter BackupAvailable failed: Max attempts exceeded\n"
        );
        fake.job_error = Some("stub".to_owned());
        let (_, _, err) = run(&fake, &args);
        assert_eq!(
            err,
            "\nWaiter BackupAvailable failed: the backup's build failed: stub\n"
        );
        fake.wait = Err(DdbError::new(ErrorKind::BackupNotFound, "Backup not found"));
        let (code, _, err) = run(&fake, &args);
        assert_eq!(code, 255);
        assert_eq!(
            err,
            "\nWaiter BackupAvailable failed: An error occurred (BackupNotFoundException): Backup not found\n"
        );
    }
}
