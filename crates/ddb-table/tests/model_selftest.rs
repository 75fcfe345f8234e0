//! The reference model checked on cases whose DynamoDB answers are known.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod model;

use model::Model;
use serde_json::{Value, json};

#[test]
fn compiles() {
    let mut m = Model::new();
    let _ = m.call("CreateTable", &json!({}));
    let _: Value = json!({});
}
