//! The AWS CLI's shorthand syntax for structure-valued parameters, the subset `ddbfmt` reads:
//!
//! ```text
//! structure  = keyval *("," keyval)
//! keyval     = key "=" value *("," bare)     ; trailing bare values make a list: Names=a,b,c
//! value      = "[" [value *("," value)] "]"  ; a list
//!            / "{" structure "}"             ; a nested structure
//!            / quoted / bare
//! quoted     = "'" ... "'" / '"' ... '"'     ; backslash escapes the quote and itself
//! bare       = characters up to "," "]" "}" (trimmed); "=" is allowed inside
//! ```
//!
//! Scalars are strings, except under the member names in [`INTEGER_MEMBERS`] (whole numbers)
//! and [`BOOLEAN_MEMBERS`] (`true`/`false`): the AWS CLI converts by the service model, and
//! these are the numeric and boolean members the DynamoDB operations here take.

use serde_json::{Map, Value};

/// Members whose shorthand scalars are integers.
pub const INTEGER_MEMBERS: [&str; 7] = [
    "ReadCapacityUnits",
    "WriteCapacityUnits",
    "MaxReadRequestUnits",
    "MaxWriteRequestUnits",
    "ReadUnitsPerSecond",
    "WriteUnitsPerSecond",
    "RecoveryPeriodInDays",
];

/// Members whose shorthand scalars are booleans (`BOOL`/`NULL` of an attribute value included).
pub const BOOLEAN_MEMBERS: [&str; 7] = [
    "StreamEnabled",
    "PointInTimeRecoveryEnabled",
    "Enabled",
    "ConsistentRead",
    "DeletionProtectionEnabled",
    "BOOL",
    "NULL",
];

/// Where and why shorthand did not parse, in the AWS CLI's words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShorthandError {
    pub expected: String,
    pub received: String,
    pub input: String,
    /// Character offset of the problem in `input`.
    pub index: usize,
}

impl std::fmt::Display for ShorthandError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Expected: '{}', received: '{}' for input:\n{}\n{}^",
            self.expected,
            self.received,
            self.input,
            " ".repeat(self.index)
        )
    }
}

/// Parses one shorthand structure (`Key=Value,Key2=Value2`).
pub fn parse_structure(input: &str) -> Result<Map<String, Value>, ShorthandError> {
    let mut parser = Parser {
        chars: input.chars().collect(),
        index: 0,
        input,
    };
    let map = parser.keyvals(None)?;
    parser.skip_whitespace();
    if let Some(c) = parser.peek() {
        return Err(parser.error("EOF", &c.to_string()));
    }
    Ok(map)
}

struct Parser<'a> {
    chars: Vec<char>,
    index: usize,
    input: &'a str,
}

impl Parser<'_> {
    fn peek(&self) -> Option<char> {
        self.chars.get(self.index).copied()
    }

    fn error(&self, expected: &str, received: &str) -> ShorthandError {
        ShorthandError {
            expected: expected.to_owned(),
            received: received.to_owned(),
            input: self.input.to_owned(),
            index: self.index,
        }
    }

    fn received(&self) -> String {
        self.peek()
            .map_or_else(|| "EOF".to_owned(), |c| c.to_string())
    }

    fn skip_whitespace(&mut self) {
        while self.peek().is_some_and(char::is_whitespace) {
            self.index += 1;
        }
    }

    fn expect(&mut self, c: char) -> Result<(), ShorthandError> {
        self.skip_whitespace();
        if self.peek() == Some(c) {
            self.index += 1;
            Ok(())
        } else {
            Err(self.error(&c.to_string(), &self.received()))
        }
    }

    /// `keyval *("," keyval)` up to `close` (or the end of the input).
    fn keyvals(&mut self, close: Option<char>) -> Result<Map<String, Value>, ShorthandError> {
        let mut map = Map::new();
        loop {
            self.skip_whitespace();
            if close.is_some() && self.peek() == close {
                return Ok(map);
            }
            let key = self.key()?;
            self.expect('=')?;
            let value = self.keyval_value(close)?;
            map.insert(key.clone(), typed(&key, value));
            self.skip_whitespace();
            match self.peek() {
                Some(',') => self.index += 1,
                next if next == close => return Ok(map),
                _ => {
                    let expected = close.map_or_else(|| ",".to_owned(), |c| format!(", or {c}"));
                    return Err(self.error(&expected, &self.received()));
                }
            }
        }
    }

    fn key(&mut self) -> Result<String, ShorthandError> {
        self.skip_whitespace();
        let start = self.index;
        while self
            .peek()
            .is_some_and(|c| !matches!(c, '=' | ',' | '[' | ']' | '{' | '}') && !c.is_whitespace())
        {
            self.index += 1;
        }
        if self.index == start {
            return Err(self.error("key", &self.received()));
        }
        Ok(self.text(start, self.index))
    }

    /// A value after `key=`, with the csv-list form: `key=a,b,c` is a list when the pieces
    /// after the commas are not themselves `key=...`.
    fn keyval_value(&mut self, close: Option<char>) -> Result<Value, ShorthandError> {
        let first = self.value(close)?;
        if !matches!(first, Value::String(_)) {
            return Ok(first);
        }
        let mut items = vec![first];
        loop {
            self.skip_whitespace();
            if self.peek() != Some(',') || self.next_is_keyval() {
                break;
            }
            self.index += 1;
            items.push(self.value(close)?);
        }
        if items.len() == 1 {
            Ok(items.pop().unwrap_or(Value::Null))
        } else {
            Ok(Value::Array(items))
        }
    }

    /// Whether the text after the comma at `self.index` starts a new `key=` (or is missing,
    /// which [`Parser::keyvals`] reports).
    fn next_is_keyval(&self) -> bool {
        let mut i = self.index + 1;
        while self.chars.get(i).is_some_and(|c| c.is_whitespace()) {
            i += 1;
        }
        if self.chars.get(i).is_none() {
            return true;
        }
        let start = i;
        while let Some(&c) = self.chars.get(i) {
            if c == '=' {
                return i > start;
            }
            if matches!(c, ',' | '[' | ']' | '{' | '}') || c.is_whitespace() {
                return false;
            }
            i += 1;
        }
        false
    }

    fn value(&mut self, close: Option<char>) -> Result<Value, ShorthandError> {
        self.skip_whitespace();
        match self.peek() {
            Some('[') => {
                self.index += 1;
                self.list()
            }
            Some('{') => {
                self.index += 1;
                let map = self.keyvals(Some('}'))?;
                self.expect('}')?;
                Ok(Value::Object(map))
            }
            Some(quote @ ('\'' | '"')) => {
                self.index += 1;
                self.quoted(quote).map(Value::String)
            }
            _ => Ok(Value::String(self.bare(close))),
        }
    }

    fn list(&mut self) -> Result<Value, ShorthandError> {
        let mut items = Vec::new();
        self.skip_whitespace();
        if self.peek() == Some(']') {
            self.index += 1;
            return Ok(Value::Array(items));
        }
        loop {
            items.push(self.value(Some(']'))?);
            self.skip_whitespace();
            match self.peek() {
                Some(',') => self.index += 1,
                Some(']') => {
                    self.index += 1;
                    return Ok(Value::Array(items));
                }
                _ => return Err(self.error(", or ]", &self.received())),
            }
        }
    }

    fn quoted(&mut self, quote: char) -> Result<String, ShorthandError> {
        let mut out = String::new();
        loop {
            match self.peek() {
                None => return Err(self.error(&quote.to_string(), "EOF")),
                Some('\\') => {
                    self.index += 1;
                    match self.peek() {
                        Some(c) if c == quote || c == '\\' => out.push(c),
                        Some(c) => {
                            out.push('\\');
                            out.push(c);
                        }
                        None => return Err(self.error(&quote.to_string(), "EOF")),
                    }
                }
                Some(c) if c == quote => {
                    self.index += 1;
                    return Ok(out);
                }
                Some(c) => out.push(c),
            }
            self.index += 1;
        }
    }

    fn bare(&mut self, close: Option<char>) -> String {
        let start = self.index;
        while let Some(c) = self.peek() {
            if c == ',' || (close.is_some() && matches!(c, ']' | '}')) {
                break;
            }
            self.index += 1;
        }
        self.text(start, self.index).trim().to_owned()
    }

    fn text(&self, start: usize, end: usize) -> String {
        self.chars
            .get(start..end)
            .map(|chars| chars.iter().collect())
            .unwrap_or_default()
    }
}

/// Converts the scalars of member `key` the way the service model types them.
fn typed(key: &str, value: Value) -> Value {
    let convert = |v: Value| match v {
        Value::String(s) if INTEGER_MEMBERS.contains(&key) => s
            .parse::<i64>()
            .map_or(Value::String(s), |n| Value::Number(n.into())),
        Value::String(s) if BOOLEAN_MEMBERS.contains(&key) => {
            match s.to_ascii_lowercase().as_str() {
                "true" => Value::Bool(true),
                "false" => Value::Bool(false),
                _ => Value::String(s),
            }
        }
        other => other,
    };
    match value {
        Value::Array(items) => Value::Array(items.into_iter().map(convert).collect()),
        other => convert(other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse(s: &str) -> Value {
        Value::Object(parse_structure(s).unwrap())
    }

    #[test]
    fn flat_structures() {
        assert_eq!(
            parse("AttributeName=pk,AttributeType=S"),
            json!({"AttributeName": "pk", "AttributeType": "S"})
        );
        assert_eq!(
            parse("ReadCapacityUnits=5,WriteCapacityUnits=10"),
            json!({"ReadCapacityUnits": 5, "WriteCapacityUnits": 10})
        );
        assert_eq!(
            parse(" StreamEnabled = true , StreamViewType=NEW_IMAGE "),
            json!({"StreamEnabled": true, "StreamViewType": "NEW_IMAGE"})
        );
        // An unconvertible number stays a string for the service to reject.
        assert_eq!(
            parse("ReadCapacityUnits=x"),
            json!({"ReadCapacityUnits": "x"})
        );
    }

    #[test]
    fn lists_nesting_and_quotes() {
        assert_eq!(
            parse("ProjectionType=INCLUDE,NonKeyAttributes=[a,b]"),
            json!({"ProjectionType": "INCLUDE", "NonKeyAttributes": ["a", "b"]})
        );
        assert_eq!(
            parse("ProjectionType=INCLUDE,NonKeyAttributes=a,b"),
            json!({"ProjectionType": "INCLUDE", "NonKeyAttributes": ["a", "b"]})
        );
        assert_eq!(
            parse("pk={S=a},n={N=1},ok={BOOL=true},tags={SS=[x,y]}"),
            json!({"pk": {"S": "a"}, "n": {"N": "1"}, "ok": {"BOOL": true},
                   "tags": {"SS": ["x", "y"]}})
        );
        assert_eq!(
            parse(r#"a='x,y=z',b="q\"uote",c=1=2"#),
            json!({"a": "x,y=z", "b": "q\"uote", "c": "1=2"})
        );
        assert_eq!(
            parse(":v={S=hello},#n=Name"),
            json!({":v": {"S": "hello"}, "#n": "Name"})
        );
        assert_eq!(parse("L=[]"), json!({"L": []}));
    }

    #[test]
    fn errors_point_at_the_problem() {
        let err = parse_structure("AttributeName").unwrap_err();
        assert_eq!(
            err.to_string(),
            "Expected: '=', received: 'EOF' for input:\nAttributeName\n             ^"
        );
        let err = parse_structure("a=[x,y").unwrap_err();
        assert_eq!(
            (err.expected.as_str(), err.received.as_str()),
            (", or ]", "EOF")
        );
        let err = parse_structure("a={S=x").unwrap_err();
        assert_eq!(err.received, "EOF");
        let err = parse_structure("=x").unwrap_err();
        assert_eq!((err.expected.as_str(), err.index), ("key", 0));
        let err = parse_structure("a='x").unwrap_err();
        assert_eq!(err.expected, "'");
    }
}
