//! Number parsing: never panics; the canonical form parses back to the same number.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(n) = ddb_model::Number::parse(text) {
        let canonical = n.to_string();
        assert_eq!(ddb_model::Number::parse(&canonical), Ok(n));
    }
});
