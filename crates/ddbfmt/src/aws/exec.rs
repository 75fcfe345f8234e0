//! Runs an [`Action`] against a database and prints what the AWS CLI would; the job
//! commands' start-and-wait is in [`super::jobs`].

use std::io::Write;
use std::time::Duration;

use ddb_model::{ErrorKind, Result as DdbResult};
use ddb_table::{Database, WaitFor};
use serde_json::{Value, json};

use super::jobs::{JobWaitError, JobWatch, check_table, run_job, wait_for_job, watch_until};
use super::output::{
    EXIT_GENERAL_ERROR, EXIT_SERVICE_ERROR, print_response, report, service_error_line,
    times_as_iso8601,
};
use super::paginate::{PageError, paginate};
use super::request::{Action, Call, Job};
use super::wait::{Wait, Waiter};

/// What the commands need of a database; [`Database`] is the real one, tests use fakes.
pub trait Backend {
    fn call(&self, operation: &str, request: &Value) -> DdbResult<Value>;
    fn wait(&self, what: &WaitFor, timeout: Duration) -> DdbResult<bool>;
    /// The last failure of the build of backup `arn` (the engine retries it), if any;
    /// BackupNotFoundException once the backup is gone.
    fn backup_job_error(&self, arn: &str) -> DdbResult<Option<String>>;
    /// Why the restore into `table` failed (the engine removed the table), if it did.
    fn restore_failure(&self, table: &str) -> Option<String>;
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

    fn restore_failure(&self, table: &str) -> Option<String> {
        Database::restore_failure(self, table)
    }
}

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
        Action::StartJob(start) => run_job(backend, start, stdout, stderr),
    }
}

/// Prints `response` (times as ISO 8601); the exit code of a failed write, if it failed.
pub(super) fn print(
    stdout: &mut dyn Write,
    stderr: &mut dyn Write,
    mut response: Value,
) -> Option<u8> {
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
    let mut failed = |reason: String| -> u8 {
        report(
            stderr,
            &format!("Waiter {name} failed: {reason}"),
            EXIT_GENERAL_ERROR,
        )
    };
    let (what, restored_table) = match &wait.waiter {
        Waiter::BackupAvailable { arn } => {
            let watch = JobWatch {
                job: Job::Backup,
                target: arn.clone(),
            };
            let reason = match wait_for_job(backend, &watch, Some(wait.timeout)) {
                Ok(true) => return 0,
                Ok(false) => "Max attempts exceeded".to_owned(),
                Err(JobWaitError::Service(error)) => {
                    format!("An error occurred ({}): {}", error.name(), error.message())
                }
                Err(JobWaitError::Failed(why)) => format!("the backup's build failed: {why}"),
            };
            return failed(reason);
        }
        Waiter::TableExists { table } => (WaitFor::TableExists(table.clone()), Some(table)),
        Waiter::TableNotExists { table } => (WaitFor::TableNotExists(table.clone()), None),
        Waiter::IndexActive { table, index } => (
            WaitFor::IndexActive {
                table: table.clone(),
                index: index.clone(),
            },
            Some(table),
        ),
    };
    let outcome = match restored_table {
        // A table being restored: its restore's failure ends the wait.
        Some(table) => watch_until(
            Some(wait.timeout),
            &indicatif::ProgressBar::hidden(),
            &mut |slice| check_table(backend, &what, table, slice),
        ),
        None => backend
            .wait(&what, wait.timeout)
            .map_err(JobWaitError::Service),
    };
    match outcome {
        Ok(true) => 0,
        Ok(false) => {
            let reason = match previously_accepted(backend, &wait.waiter) {
                Some(state) => format!("Max attempts exceeded. Previously accepted state: {state}"),
                None => "Max attempts exceeded".to_owned(),
            };
            failed(reason)
        }
        Err(JobWaitError::Failed(why)) => {
            let table = restored_table.map_or("", String::as_str);
            failed(format!(
                "the restore of table {table} failed: {why} (no table was created)"
            ))
        }
        Err(JobWaitError::Service(error)) => failed(format!(
            "An error occurred ({}): {}",
            error.name(),
            error.message()
        )),
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
        restore_failure: Option<String>,
        /// Answers the calls before `response` does, first first.
        script: RefCell<std::collections::VecDeque<DdbResult<Value>>>,
        calls: RefCell<Vec<(String, Value)>>,
    }

    impl Fake {
        fn answering(response: DdbResult<Value>) -> Self {
            Self {
                response,
                wait: Ok(true),
                job_error: None,
                restore_failure: None,
                script: RefCell::new(std::collections::VecDeque::new()),
                calls: RefCell::new(Vec::new()),
            }
        }

        /// Answers with `first`, then each of `then`, then the last of them forever.
        fn scripted(first: Value, then: &[Value]) -> Self {
            let mut fake = Self::answering(Ok(then.last().cloned().unwrap_or(Value::Null)));
            fake.script = RefCell::new(
                std::iter::once(first)
                    .chain(then.iter().cloned())
                    .map(Ok)
                    .collect(),
            );
            fake
        }

        fn operations(&self) -> Vec<String> {
            self.calls.borrow().iter().map(|(o, _)| o.clone()).collect()
        }
    }

    impl Backend for Fake {
        fn call(&self, operation: &str, request: &Value) -> DdbResult<Value> {
            self.calls
                .borrow_mut()
                .push((operation.to_owned(), request.clone()));
            self.script
                .borrow_mut()
                .pop_front()
                .unwrap_or_else(|| self.response.clone())
        }
        fn wait(&self, _: &WaitFor, _: Duration) -> DdbResult<bool> {
            self.wait.clone()
        }
        fn backup_job_error(&self, _: &str) -> DdbResult<Option<String>> {
            Ok(self.job_error.clone())
        }
        fn restore_failure(&self, _: &str) -> Option<String> {
            self.restore_failure.clone()
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
        let (code, _, err) = run(
            &fake,
            &[
                "wait",
                "table-exists",
                "--table-name",
                "T",
                "--timeout-seconds",
                "0",
            ],
        );
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
                "--timeout-seconds",
                "0",
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

    #[test]
    fn restores_print_at_once_then_wait_for_active() {
        let response = json!({"TableDescription": {"TableName": "copy",
            "TableStatus": "CREATING", "RestoreSummary": {"RestoreInProgress": true}}});
        let args = [
            "restore-table-from-backup",
            "--target-table-name",
            "copy",
            "--backup-arn",
            "arn:b",
        ];
        let fake = Fake::answering(Ok(response.clone()));
        let (code, out, err) = run(&fake, &args);
        assert_eq!((code, err.as_str()), (0, ""));
        assert_eq!(serde_json::from_str::<Value>(&out).unwrap(), response);
        assert_eq!(fake.operations(), ["RestoreTableFromBackup"]);

        // A failed restore ends the wait at once, exit 1.
        let mut fake = Fake::answering(Ok(response.clone()));
        fake.wait = Ok(false);
        fake.restore_failure = Some("artifact damaged".to_owned());
        let (code, out, err) = run(&fake, &args);
        assert_eq!(code, 1);
        assert!(out.contains("CREATING"), "{out}");
        assert_eq!(
            err,
            "\nddbfmt: the restore of table copy failed: artifact damaged (no table was created)\n"
        );
        // --no-wait does not wait at all.
        let (code, _, err) = run(&fake, &[&args[..], &["--no-wait"]].concat());
        assert_eq!((code, err.as_str()), (0, ""));
        // A timeout ends the wait.
        fake.restore_failure = None;
        let (code, _, err) = run(&fake, &[&args[..], &["--timeout-seconds", "0"]].concat());
        assert_eq!(code, 255);
        assert!(
            err.contains("table copy is still CREATING after 0 s"),
            "{err}"
        );
        // The table-exists waiter names the failure too.
        fake.restore_failure = Some("artifact damaged".to_owned());
        let (code, _, err) = run(&fake, &["wait", "table-exists", "--table-name", "copy"]);
        assert_eq!(code, 255);
        assert_eq!(
            err,
            "\nWaiter TableExists failed: the restore of table copy failed: artifact damaged (no table was created)\n"
        );
        // So does index-active, whose table is gone (ResourceNotFoundException).
        fake.wait = Err(DdbError::new(ErrorKind::ResourceNotFound, "gone"));
        let (code, _, err) = run(
            &fake,
            &[
                "wait",
                "index-active",
                "--table-name",
                "copy",
                "--index-name",
                "g",
            ],
        );
        assert_eq!(code, 255);
        assert!(err.contains("the restore of table copy failed"), "{err}");
        // A refused restore prints the service's error line.
        let fake = Fake::answering(Err(DdbError::new(
            ErrorKind::TableAlreadyExists,
            "Table already exists: copy",
        )));
        let (code, out, err) = run(&fake, &args);
        assert_eq!((code, out.as_str()), (254, ""));
        assert!(
            err.contains("(TableAlreadyExistsException) when calling the RestoreTableFromBackup"),
            "{err}"
        );
    }

    #[test]
    fn exports_and_imports_poll_their_describe_operation() {
        let arn = "arn:aws:dynamodb:ddblocal:000000000000:table/T/export/01";
        let started =
            json!({"ExportDescription": {"ExportArn": arn, "ExportStatus": "IN_PROGRESS"}});
        let done = json!({"ExportDescription": {"ExportArn": arn, "ExportStatus": "COMPLETED"}});
        let args = [
            "export-table-to-point-in-time",
            "--table-name",
            "T",
            "--s3-bucket",
            "/exports",
        ];
        let fake = Fake::scripted(started.clone(), &[started.clone(), done]);
        let (code, out, err) = run(&fake, &args);
        assert_eq!((code, err.as_str()), (0, ""));
        // Only the first response is printed.
        assert_eq!(serde_json::from_str::<Value>(&out).unwrap(), started);
        assert_eq!(
            fake.operations(),
            [
                "ExportTableToPointInTime",
                "DescribeExport",
                "DescribeExport"
            ]
        );
        assert_eq!(fake.calls.borrow()[1].1, json!({"ExportArn": arn}));

        let failed = json!({"ExportDescription": {"ExportArn": arn, "ExportStatus": "FAILED",
            "FailureCode": "IOError", "FailureMessage": "disk full"}});
        let fake = Fake::scripted(started.clone(), &[failed]);
        let (code, _, err) = run(&fake, &args);
        assert_eq!(code, 1);
        assert_eq!(
            err,
            format!("\nddbfmt: export {arn} FAILED: IOError: disk full\n")
        );

        let fake = Fake::scripted(started.clone(), &[]);
        let (code, _, _) = run(&fake, &[&args[..], &["--no-wait"]].concat());
        assert_eq!((code, fake.operations().len()), (0, 1));
        let fake = Fake::scripted(started.clone(), &[started]);
        let (code, _, err) = run(&fake, &[&args[..], &["--timeout-seconds", "0"]].concat());
        assert_eq!(code, 255);
        assert!(err.contains("is still IN_PROGRESS after 0 s"), "{err}");

        let import_arn = "arn:aws:dynamodb:ddblocal:000000000000:table/N/import/01";
        let started = json!({"ImportTableDescription": {"ImportArn": import_arn,
            "ImportStatus": "IN_PROGRESS"}});
        let done = json!({"ImportTableDescription": {"ImportArn": import_arn,
            "ImportStatus": "COMPLETED", "ImportedItemCount": 3}});
        let args = [
            "import-table",
            "--s3-bucket-source",
            "S3Bucket=/exports,S3KeyPrefix=p",
            "--input-format",
            "DYNAMODB_JSON",
            "--table-creation-parameters",
            r#"{"TableName":"N"}"#,
        ];
        let fake = Fake::scripted(started.clone(), &[done]);
        let (code, out, err) = run(&fake, &args);
        assert_eq!((code, err.as_str()), (0, ""));
        assert!(out.contains("IN_PROGRESS"), "{out}");
        assert_eq!(fake.operations(), ["ImportTable", "DescribeImport"]);
        assert_eq!(fake.calls.borrow()[1].1, json!({"ImportArn": import_arn}));
        let failed = json!({"ImportTableDescription": {"ImportArn": import_arn,
            "ImportStatus": "FAILED", "FailureMessage": "bad line 3"}});
        let fake = Fake::scripted(started, &[failed]);
        let (code, _, err) = run(&fake, &args);
        assert_eq!(code, 1);
        assert_eq!(
            err,
            format!("\nddbfmt: import {import_arn} FAILED: bad line 3\n")
        );
        // A describe error during the wait is reported, exit 255.
        let mut fake = Fake::answering(Err(DdbError::new(ErrorKind::ResourceNotFound, "no")));
        fake.script = RefCell::new(
            [Ok(json!({"ImportTableDescription": {"ImportArn": "a", "ImportStatus": "IN_PROGRESS"}}))]
                .into_iter()
                .collect(),
        );
        let (code, _, err) = run(&fake, &args);
        assert_eq!(code, 255);
        assert!(
            err.contains("waiting for import a: An error occurred (ResourceNotFoundException)"),
            "{err}"
        );
    }
}
