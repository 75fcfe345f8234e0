//! DynamoDB JSON item decoding: never panics; whatever decodes is valid, and its canonical form
//! is a fixed point that decodes to the same item.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(item) = ddb_model::parse_item(text) {
        assert!(item.validate().is_ok() || item.size_bytes() > ddb_model::ITEM_SIZE_BYTES_MAX);
        let canonical = item.to_canonical_json();
        let again = ddb_model::parse_item(&canonical).expect("canonical JSON decodes");
        assert_eq!(again, item);
        assert_eq!(again.to_canonical_json(), canonical);
    }
});
