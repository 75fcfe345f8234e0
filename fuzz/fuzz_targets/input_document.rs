//! Input document recognition (bare item, export line, BatchWriteItem): never panics.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = ddb_model::parse_input_document(text);
    }
});
