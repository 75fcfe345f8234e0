//! DynamoDB JSON: the decoder (full validation, DynamoDB's error names), the canonical encoder,
//! and the input documents loaders accept.
//!
//! # Canonical DynamoDB JSON
//! The one encoding every stored item uses (log, snapshot, backup): equal items always give
//! identical bytes, and the bytes are exactly the `Item` object of a DynamoDB export line.
//! Normative text: `formats/item-json/SPEC.md`.
//! - no whitespace anywhere;
//! - map keys (item attributes and `M` entries) in ascending UTF-8 byte order;
//! - numbers in [`crate::Number`]'s canonical plain-decimal form;
//! - set members in ascending order (`SS` by UTF-8 bytes, `NS` numerically, `BS` by unsigned
//!   bytes);
//! - binary as standard base64 with `=` padding;
//! - strings escape `"` and `\` with a backslash, control characters U+0000–U+001F as `\b`,
//!   `\t`, `\n`, `\f`, `\r` or `\u00xx` (lowercase hex), and nothing else (non-ASCII stays raw
//!   UTF-8). This is also what `serde_json` writes.

mod decode;
mod document;
mod encode;

pub use decode::{parse_item, parse_value};
pub use document::{InputDocument, WriteRequest, parse_input_document};

/// The type descriptors of DynamoDB JSON, in the order DynamoDB documents them.
pub const TYPE_DESCRIPTORS: [&str; 10] =
    ["S", "N", "B", "BOOL", "NULL", "M", "L", "SS", "NS", "BS"];

#[cfg(test)]
mod tests {
    use super::encode::write_string;
    use super::*;
    use crate::value::AttributeValue;

    fn err_of(text: &str) -> (String, String) {
        let err = parse_value(text).unwrap_err();
        (err.name().to_owned(), err.message().to_owned())
    }

    #[test]
    fn every_type_round_trips_canonically() {
        let cases = [
            (r#"{"S":"hé\"\\\n\u0001"}"#, r#"{"S":"hé\"\\\n\u0001"}"#),
            (r#"{"N":"001.500"}"#, r#"{"N":"1.5"}"#),
            (r#"{"B":"AAEC/w=="}"#, r#"{"B":"AAEC/w=="}"#),
            (r#"{"BOOL":false}"#, r#"{"BOOL":false}"#),
            (r#"{"NULL":true}"#, r#"{"NULL":true}"#),
            (
                r#"{"M":{"b":{"N":"2"},"a":{"S":"x"}}}"#,
                r#"{"M":{"a":{"S":"x"},"b":{"N":"2"}}}"#,
            ),
            (
                r#"{"L":[{"N":"1E1"},{"NULL":true}]}"#,
                r#"{"L":[{"N":"10"},{"NULL":true}]}"#,
            ),
            (r#"{"SS":["b","a",""]}"#, r#"{"SS":["","a","b"]}"#),
            (
                r#"{"NS":["10","-1","2.50"]}"#,
                r#"{"NS":["-1","2.5","10"]}"#,
            ),
            (r#"{"BS":["Yg==","YQ=="]}"#, r#"{"BS":["YQ==","Yg=="]}"#),
        ];
        for (input, canonical) in cases {
            let value = parse_value(input).unwrap();
            assert_eq!(value.to_canonical_json(), canonical, "input {input}");
            assert_eq!(parse_value(canonical).unwrap(), value);
        }
    }

    #[test]
    fn malformed_attribute_values_get_dynamodbs_errors() {
        let validation = "ValidationException";
        let serialization = "SerializationException";
        let invalid = "One or more parameter values were invalid: ";
        let cases: Vec<(&str, &str, String)> = vec![
            ("{}", validation, "Supplied AttributeValue is empty, must contain exactly one of the supported datatypes".into()),
            (r#"{"S":"a","N":"1"}"#, validation, "Supplied AttributeValue has more than one datatypes set, must contain exactly one of the supported datatypes".into()),
            (r#"{"NULL":false}"#, validation, format!("{invalid}Null attribute value types must have the value of true")),
            (r#"{"SS":[]}"#, validation, format!("{invalid}An string set  may not be empty")),
            (r#"{"NS":[]}"#, validation, format!("{invalid}An number set  may not be empty")),
            (r#"{"BS":[]}"#, validation, format!("{invalid}Binary sets should not be empty")),
            (r#"{"SS":["a","a"]}"#, validation, format!("{invalid}Input collection [a, a] contains duplicates.")),
            (r#"{"NS":["1","1.0"]}"#, validation, format!("{invalid}Input collection [1, 1.0] contains duplicates.")),
            (r#"{"BS":["Yg==","Yg=="]}"#, validation, format!("{invalid}Input collection [Yg==, Yg==]of type BS contains duplicates.")),
            (r#"{"N":"x1"}"#, validation, "The parameter cannot be converted to a numeric value: x1".into()),
            (r#"{"N":"1E126"}"#, validation, "Number overflow. Attempting to store a number with magnitude larger than supported range".into()),
            (r#"{"N":1}"#, serialization, "invalid type: integer `1`, expected a JSON string for N at line 1 column 6".into()),
            (r#"{"BOOL":"true"}"#, serialization, "invalid type: string \"true\", expected true or false for BOOL at line 1 column 14".into()),
            (r#"{"X":"1"}"#, serialization, "unknown attribute value type 'X'; expected one of S, N, B, BOOL, NULL, M, L, SS, NS, BS at line 1 column 4".into()),
            (r#"["S"]"#, serialization, "invalid type: sequence, expected an attribute value such as {\"S\":\"text\"} at line 1 column 0".into()),
            (r#"{"L":{}}"#, serialization, "invalid type: map, expected a JSON array of attribute values for L at line 1 column 5".into()),
            (r#"{"SS":["a",1]}"#, serialization, "invalid type: integer `1`, expected a JSON string for SS at line 1 column 12".into()),
            (r#"{"S":"a"} x"#, serialization, "Invalid JSON: trailing characters at line 1 column 11".into()),
        ];
        for (input, name, message) in cases {
            assert_eq!(err_of(input), (name.to_owned(), message), "input {input}");
        }
        let (name, message) = err_of(r#"{"B":"abc"}"#);
        assert_eq!(name, serialization);
        assert!(
            message.starts_with("'abc' can not be converted to a Blob"),
            "{message}"
        );
        let (name, message) = err_of(r#"{"S":"#);
        assert_eq!(name, serialization);
        assert!(
            message.starts_with("Invalid JSON: EOF while parsing"),
            "{message}"
        );
    }

    #[test]
    fn nesting_is_checked_while_decoding() {
        let deep = |levels: usize| {
            format!(
                "{}{{\"S\":\"x\"}}{}",
                "{\"L\":[".repeat(levels - 1),
                "]}".repeat(levels - 1)
            )
        };
        assert!(parse_value(&deep(32)).is_ok());
        let err = parse_value(&deep(33)).unwrap_err();
        assert!(
            err.message()
                .starts_with("Nesting Levels have exceeded supported limits")
        );
    }

    #[test]
    fn recognises_the_three_input_shapes() {
        let bare = parse_input_document(r#"{"pk":{"S":"a"},"n":{"N":"1"}}"#).unwrap();
        let export = parse_input_document(r#"{"Item":{"pk":{"S":"a"},"n":{"N":"1"}}}"#).unwrap();
        assert_eq!(bare, export);
        // A bare item whose only attribute is called `Item`.
        let InputDocument::Item(item) =
            parse_input_document(r#"{"Item":{"M":{"a":{"S":"b"}}}}"#).unwrap()
        else {
            panic!("not an item")
        };
        assert_eq!(item.get("Item").map(AttributeValue::type_name), Some("M"));
        let InputDocument::Item(item) = parse_input_document(r#"{"Item":{"S":"x"}}"#).unwrap()
        else {
            panic!("not an item")
        };
        assert_eq!(item.get("Item"), Some(&AttributeValue::from("x")));

        let batch = r#"{"T1":[{"PutRequest":{"Item":{"pk":{"S":"a"}}}},{"DeleteRequest":{"Key":{"pk":{"S":"b"}}}}],
                       "T2":[{"PutRequest":{"Item":{"pk":{"N":"1"}}}}]}"#;
        let InputDocument::BatchWrite(tables) = parse_input_document(batch).unwrap() else {
            panic!("not a batch")
        };
        assert_eq!(tables.len(), 2);
        assert_eq!(tables[0].0, "T1");
        assert!(matches!(
            &tables[0].1[..],
            [WriteRequest::Put(_), WriteRequest::Delete(_)]
        ));
        let wrapped = format!(r#"{{"RequestItems":{batch}}}"#);
        assert_eq!(
            parse_input_document(&wrapped).unwrap(),
            InputDocument::BatchWrite(tables)
        );

        let err = parse_input_document(r#"{"T":[{"PutRequest":{"Key":{}}}]}"#).unwrap_err();
        assert_eq!(err.name(), "SerializationException");
        assert!(
            err.message()
                .starts_with("RequestItems[T][0]: Expected {\"PutRequest\""),
            "{}",
            err.message()
        );
        let err = parse_input_document("[1]").unwrap_err();
        assert_eq!(err.name(), "SerializationException");
    }

    #[test]
    fn string_escapes_match_serde_json() {
        let all_controls: String = (0u8..0x20).map(char::from).collect();
        for s in [
            "",
            "plain",
            "q\"b\\",
            "日本語 ✓ \u{2028}",
            "\u{7f}",
            all_controls.as_str(),
        ] {
            let mut ours = String::new();
            write_string(&mut ours, s);
            assert_eq!(ours, serde_json::to_string(s).unwrap(), "string {s:?}");
        }
    }
}
