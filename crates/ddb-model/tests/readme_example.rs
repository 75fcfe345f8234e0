//! The README's library example, kept compiling and true.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

#[test]
fn readme_library_example() -> Result<(), ddb_model::DdbError> {
    use ddb_model::{parse_item, table::CreateTableInput};

    let table = CreateTableInput::from_json(
        r#"{
        "TableName": "Movies",
        "AttributeDefinitions": [{"AttributeName": "year", "AttributeType": "N"},
                                 {"AttributeName": "title", "AttributeType": "S"}],
        "KeySchema": [{"AttributeName": "year", "KeyType": "HASH"},
                      {"AttributeName": "title", "KeyType": "RANGE"}],
        "BillingMode": "PAY_PER_REQUEST"
    }"#,
    )?;
    let schema = table.validate()?;
    let item = parse_item(r#"{"year":{"N":"2013.0"},"title":{"S":"Rush"}}"#)?;
    schema.validate_item(&item)?;
    assert_eq!(
        item.to_canonical_json(),
        r#"{"title":{"S":"Rush"},"year":{"N":"2013"}}"#
    );
    let key: Vec<u8> = schema.table_key(&item)?;
    assert_eq!(ddb_model::decode_key(&key).unwrap().len(), 2);

    let missing = parse_item(r#"{"title":{"S":"Rush"}}"#)?;
    let err = schema.validate_item(&missing).unwrap_err();
    assert_eq!(err.name(), "ValidationException");
    assert_eq!(
        err.message(),
        "One or more parameter values were invalid: Missing the key year in the item"
    );
    Ok(())
}
