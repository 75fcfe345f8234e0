//! Key decoding: never panics; whatever decodes re-encodes to exactly the same bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(values) = ddb_model::decode_key(data) {
        let mut again = Vec::new();
        for value in &values {
            ddb_model::KeyValue::from_attribute(value).expect("decoded key values are S, N or B").encode(&mut again);
        }
        assert_eq!(again, data);
    }
});
