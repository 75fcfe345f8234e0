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

/// The members that carry a point in time, which the engine answers in epoch seconds and the
/// CLI prints as ISO 8601 with milliseconds (the AWS CLI's `cli_timestamp_format = iso8601`).
/// Item attributes are never touched (their values are objects, not numbers).
pub const TIME_MEMBERS: [&str; 14] = [
    "CreationDateTime",
    "LastIncreaseDateTime",
    "LastDecreaseDateTime",
    "LastUpdateToPayPerRequestDateTime",
    "RestoreDateTime",
    "BackupCreationDateTime",
    "BackupExpiryDateTime",
    "EarliestRestorableDateTime",
    "LatestRestorableDateTime",
    "DateTime",
    "CreatedDateTime",
    "LastRunDateTime",
    "NextRunDateTime",
    "TableCreationDateTime",
];

/// Rewrites every [`TIME_MEMBERS`] number in `response`, at any depth, as ISO 8601 text.
pub fn times_as_iso8601(response: &mut Value) {
    match response {
        Value::Object(map) => {
            for (key, value) in map.iter_mut() {
                if let Value::Number(seconds) = value
                    && TIME_MEMBERS.contains(&key.as_str())
                {
                    if let Some(text) = crate::time::iso8601_from_seconds(seconds) {
                        *value = Value::String(text);
                    }
                } else {
                    times_as_iso8601(value);
                }
            }
        }
        Value::Array(values) => values.iter_mut().for_each(times_as_iso8601),
        _ => {}
    }
}

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
    fn times_print_as_iso8601() {
        let mut response = json!({
            "BackupDescription": {"BackupDetails": {"BackupCreationDateTime": 1_764_633_600.123},
                                  "SourceTableDetails": {"TableCreationDateTime": 1_764_633_600}},
            "BackupMarker": {"DateTime": 0, "Lsn": 7},
            "BackupSummaries": [{"BackupCreationDateTime": 1.5}],
            "TableDescription": {"CreationDateTime": 1_764_633_600},
            "Item": {"DateTime": {"N": "5"}},
        });
        times_as_iso8601(&mut response);
        assert_eq!(
            response,
            json!({
                "BackupDescription": {"BackupDetails": {"BackupCreationDateTime": "2025-12-02T00:00:00.123Z"},
                                      "SourceTableDetails": {"TableCreationDateTime": "2025-12-02T00:00:00.000Z"}},
                "BackupMarker": {"DateTime": "1970-01-01T00:00:00.000Z", "Lsn": 7},
                "BackupSummaries": [{"BackupCreationDateTime": "1970-01-01T00:00:01.500Z"}],
                "TableDescription": {"CreationDateTime": "2025-12-02T00:00:00.000Z"},
                "Item": {"DateTime": {"N": "5"}},
            })
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
