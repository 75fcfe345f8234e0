//! What the AWS CLI prints: responses as JSON indented by 4 spaces (nothing for an empty
//! response), errors on stderr after a blank line, and its exit codes.

use std::io::Write;

use ddb_model::DdbError;
use serde::Serialize as _;
use serde_json::Value;

/// The command's request could not be made: bad syntax or parameter values.
pub const EXIT_PARAM_ERROR: u8 = 252;
/// The service returned an error.
pub const EXIT_SERVICE_ERROR: u8 = 254;
/// Anything else: a waiter that gave up, a database that would not open, a pagination error.
pub const EXIT_GENERAL_ERROR: u8 = 255;

/// Prints `response` as the AWS CLI's JSON output does: `json.dump(indent=4,
/// ensure_ascii=False)` and a newline, and nothing at all for `{}` (PutItem, DeleteItem, ...).
pub fn print_response(out: &mut dyn Write, response: &Value) -> std::io::Result<()> {
    if response.as_object().is_some_and(serde_json::Map::is_empty) {
        return Ok(());
    }
    let mut buffer = Vec::new();
    let formatter = serde_json::ser::PrettyFormatter::with_indent(b"    ");
    let mut serializer = serde_json::Serializer::with_formatter(&mut buffer, formatter);
    response
        .serialize(&mut serializer)
        .map_err(std::io::Error::other)?;
    buffer.push(b'\n');
    out.write_all(&buffer)
}

/// `An error occurred (<Name>) when calling the <Operation> operation: <message>`, botocore's
/// `ClientError` text.
pub fn service_error_line(operation: &str, error: &DdbError) -> String {
    format!(
        "An error occurred ({}) when calling the {operation} operation: {}",
        error.name(),
        error.message()
    )
}

/// Writes an error the way the AWS CLI's error handlers do (a blank line, the message, a
/// newline) and returns `code`.
pub fn report(err: &mut dyn Write, message: &str, code: u8) -> u8 {
    let _ = write!(err, "\n{message}\n");
    code
}

#[cfg(test)]
mod tests {
    use super::*;
    use ddb_model::ErrorKind;
    use serde_json::json;

    fn printed(value: &Value) -> String {
        let mut out = Vec::new();
        print_response(&mut out, value).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn four_space_indent_and_nothing_for_empty() {
        assert_eq!(
            printed(&json!({"Item": {"pk": {"S": "é"}}, "L": [], "M": {}})),
            "{\n    \"Item\": {\n        \"pk\": {\n            \"S\": \"é\"\n        }\n    },\n    \"L\": [],\n    \"M\": {}\n}\n"
        );
        assert_eq!(printed(&json!({})), "");
        assert_eq!(
            printed(&json!({"Items": [1]})),
            "{\n    \"Items\": [\n        1\n    ]\n}\n"
        );
    }

    #[test]
    fn error_lines() {
        let error = DdbError::new(ErrorKind::ResourceNotFound, "Requested resource not found");
        assert_eq!(
            service_error_line("DescribeTable", &error),
            "An error occurred (ResourceNotFoundException) when calling the DescribeTable operation: Requested resource not found"
        );
        let mut err = Vec::new();
        assert_eq!(report(&mut err, "boom", EXIT_SERVICE_ERROR), 254);
        assert_eq!(String::from_utf8(err).unwrap(), "\nboom\n");
    }
}
