//! DynamoDB's request and response shapes over the engine: each operation takes the request
//! JSON (as the wire and `--cli-input-json` carry it) and returns the response JSON.

pub mod data;
