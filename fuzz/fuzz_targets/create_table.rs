//! CreateTable request parsing and validation: never panics.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(input) = ddb_model::table::CreateTableInput::from_json(text) {
        let _ = input.validate();
    }
});
