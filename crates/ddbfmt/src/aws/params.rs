//! Parameter values as the AWS CLI reads them: `file://` indirection, JSON, shorthand, and the
//! errors it reports for them (all exit 252).

use std::path::PathBuf;

use serde_json::{Map, Value};

use super::shorthand;
use super::spec::Kind;

/// A parameter the CLI itself rejects, before any request is made (AWS CLI exit code 252).
/// `Display` is the message the AWS CLI prints for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParamError(pub String);

impl std::fmt::Display for ParamError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl ParamError {
    /// `Error parsing parameter '--flag': <why>`, the AWS CLI's `ParamError`.
    pub fn parsing(flag: &str, why: impl std::fmt::Display) -> Self {
        Self(format!("Error parsing parameter '--{flag}': {why}"))
    }
}

/// The text of a value, read from the file it names if it is `file://PATH` (as the AWS CLI
/// does for every parameter). `~` at the start of the path is the home directory.
pub fn resolve_file(flag: &str, value: &str) -> Result<String, ParamError> {
    let Some(path) = value.strip_prefix("file://") else {
        return Ok(value.to_owned());
    };
    let expanded = match (path.strip_prefix("~/"), std::env::var_os("HOME")) {
        (Some(rest), Some(home)) => PathBuf::from(home).join(rest),
        _ => PathBuf::from(path),
    };
    std::fs::read_to_string(&expanded)
        .map_err(|e| ParamError::parsing(flag, format!("Unable to load paramfile {value}: {e}")))
}

/// Parses JSON text as the AWS CLI does for a JSON-valued parameter.
pub fn parse_json(flag: &str, text: &str) -> Result<Value, ParamError> {
    serde_json::from_str(text)
        .map_err(|e| ParamError::parsing(flag, format!("Invalid JSON: {e}\nJSON received: {text}")))
}

fn looks_like_json(text: &str) -> bool {
    let trimmed = text.trim_start();
    trimmed.starts_with('{') || trimmed.starts_with('[')
}

/// One structure: JSON if it looks like JSON, else shorthand.
fn structure(flag: &str, text: &str) -> Result<Value, ParamError> {
    if looks_like_json(text) {
        parse_json(flag, text)
    } else {
        shorthand::parse_structure(text)
            .map(Value::Object)
            .map_err(|e| ParamError::parsing(flag, e))
    }
}

/// The request value of a `Json`, `List` or `StrList` parameter from its command-line values
/// (each already a single argument; `file://` is resolved here).
pub fn complex_value(flag: &str, kind: Kind, values: &[String]) -> Result<Value, ParamError> {
    let texts = values
        .iter()
        .map(|v| resolve_file(flag, v))
        .collect::<Result<Vec<_>, _>>()?;
    match (kind, texts.as_slice()) {
        (Kind::Json, [text]) => structure(flag, text),
        (Kind::List | Kind::StrList, [text]) if text.trim_start().starts_with('[') => {
            parse_json(flag, text)
        }
        (Kind::List, texts) => texts
            .iter()
            .map(|t| structure(flag, t))
            .collect::<Result<Vec<_>, _>>()
            .map(Value::Array),
        (Kind::StrList, texts) => Ok(Value::Array(
            texts.iter().map(|t| Value::String(t.clone())).collect(),
        )),
        _ => Err(ParamError::parsing(flag, "expected one value")),
    }
}

/// Loads `--cli-input-json` (inline or `file://`): it must be a JSON object.
pub fn cli_input_json(value: &str) -> Result<Map<String, Value>, ParamError> {
    let text = resolve_file("cli-input-json", value)?;
    match serde_json::from_str::<Value>(&text) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(other) => Err(ParamError::parsing(
            "cli-input-json",
            format!(
                "Invalid type: expecting map, received {}",
                json_type_name(&other)
            ),
        )),
        Err(_) => Err(ParamError::parsing(
            "cli-input-json",
            "Invalid JSON received.",
        )),
    }
}

fn json_type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn strings(values: &[&str]) -> Vec<String> {
        values.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn lists_of_structures_in_every_spelling() {
        let shorthand = complex_value(
            "key-schema",
            Kind::List,
            &strings(&[
                "AttributeName=pk,KeyType=HASH",
                "AttributeName=sk,KeyType=RANGE",
            ]),
        )
        .unwrap();
        let expected = json!([
            {"AttributeName": "pk", "KeyType": "HASH"},
            {"AttributeName": "sk", "KeyType": "RANGE"}
        ]);
        assert_eq!(shorthand, expected);
        let array = complex_value(
            "key-schema",
            Kind::List,
            &strings(&[
                r#"[{"AttributeName":"pk","KeyType":"HASH"},{"AttributeName":"sk","KeyType":"RANGE"}]"#,
            ]),
        )
        .unwrap();
        assert_eq!(array, expected);
        let objects = complex_value(
            "key-schema",
            Kind::List,
            &strings(&[
                r#"{"AttributeName":"pk","KeyType":"HASH"}"#,
                "AttributeName=sk,KeyType=RANGE",
            ]),
        )
        .unwrap();
        assert_eq!(objects, expected);
        assert_eq!(
            complex_value("attributes-to-get", Kind::StrList, &strings(&["a", "b"])).unwrap(),
            json!(["a", "b"])
        );
    }

    #[test]
    fn file_urls_are_read() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("item.json");
        std::fs::write(&path, r#"{"pk": {"S": "a"}}"#).unwrap();
        let url = format!("file://{}", path.display());
        assert_eq!(
            complex_value("item", Kind::Json, &[url]).unwrap(),
            json!({"pk": {"S": "a"}})
        );
        let missing = format!("file://{}", dir.path().join("nope.json").display());
        let err = complex_value("item", Kind::Json, std::slice::from_ref(&missing)).unwrap_err();
        assert!(
            err.0.starts_with(&format!(
                "Error parsing parameter '--item': Unable to load paramfile {missing}: "
            )),
            "{err}"
        );
        assert_eq!(resolve_file("table-name", "plain").unwrap(), "plain");
    }

    #[test]
    fn json_and_shorthand_errors_name_the_parameter() {
        let err = complex_value("item", Kind::Json, &strings(&["{bad"])).unwrap_err();
        assert!(
            err.0
                .starts_with("Error parsing parameter '--item': Invalid JSON: "),
            "{err}"
        );
        assert!(err.0.ends_with("\nJSON received: {bad"), "{err}");
        let err =
            complex_value("provisioned-throughput", Kind::Json, &strings(&["Read"])).unwrap_err();
        assert_eq!(
            err.0,
            "Error parsing parameter '--provisioned-throughput': Expected: '=', received: 'EOF' for input:\nRead\n    ^"
        );
        assert_eq!(
            cli_input_json("[1]").unwrap_err().0,
            "Error parsing parameter '--cli-input-json': Invalid type: expecting map, received array"
        );
        assert_eq!(
            cli_input_json("{").unwrap_err().0,
            "Error parsing parameter '--cli-input-json': Invalid JSON received."
        );
    }
}
