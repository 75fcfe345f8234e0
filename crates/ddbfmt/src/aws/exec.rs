//! Runs an [`Action`] against a database and prints what the AWS CLI would.

use std::io::Write;
use std::time::Duration;

use ddb_model::{ErrorKind, Result as DdbResult};
use ddb_table::{Database, WaitFor};
use serde_json::{Value, json};

use super::output::{
    EXIT_GENERAL_ERROR, EXIT_SERVICE_ERROR, print_response, report, service_error_line,
};
use super::paginate::{PageError, paginate};
use super::request::{Action, Call, Wait, Waiter};

/// What the commands need of a database; [`Database`] is the real one, tests use fakes.
pub trait Backend {
    fn call(&self, operation: &str, request: &Value) -> DdbResult<Value>;
    fn wait(&self, what: &WaitFor, timeout: Duration) -> DdbResult<bool>;
}

impl Backend for Database {
    fn call(&self, operation: &str, request: &Value) -> DdbResult<Value> {
        Database::call(self, operation, request)
    }

    fn wait(&self, what: &WaitFor, timeout: Duration) -> DdbResult<bool> {
        Database::wait(self, what, timeout)
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
        Ok(response) => match print_response(stdout, &response) {
            Ok(()) => 0,
            Err(e) => report(
                stderr,
                &format!("ddbfmt: cannot write the output: {e}"),
                EXIT_GENERAL_ERROR,
            ),
        },
        Err(PageError::Service(error)) => report(
            stderr,
            &service_error_line(call.operation, &error),
            EXIT_SERVICE_ERROR,
        ),
        Err(PageError::Pagination(message)) => report(stderr, &message, EXIT_GENERAL_ERROR),
    }
}

fn run_wait(backend: &dyn Backend, wait: &Wait, stderr: &mut dyn Write) -> u8 {
    let what = match &wait.waiter {
        Waiter::TableExists { table } => WaitFor::TableExists(table.clone()),
        Waiter::TableNotExists { table } => WaitFor::TableNotExists(table.clone()),
        Waiter::IndexActive { table, index } => WaitFor::IndexActive {
            table: table.clone(),
            index: index.clone(),
        },
    };
    let name = wait.waiter.name();
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
        calls: RefCell<Vec<(String, Value)>>,
    }

    impl Fake {
        fn answering(response: DdbResult<Value>) -> Self {
            Self {
                response,
                wait: Ok(true),
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
}
