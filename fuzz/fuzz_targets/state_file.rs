//! Database state files (`CATALOG`, `CURRENT`): decoding arbitrary bytes never panics, an
//! error names an offset inside the file, and what decodes re-encodes to a file that decodes
//! to the same document.
#![no_main]

use std::path::Path;

use ddb_table::Error;
use ddb_table::catalog::Catalog;
use ddb_table::state_file::{decode, encode};
use ddb_table::table::Current;
use libfuzzer_sys::fuzz_target;

fn check<T>(data: &[u8])
where
    T: serde::de::DeserializeOwned + serde::Serialize + PartialEq + std::fmt::Debug,
{
    let path = Path::new("/fuzz/STATE");
    match decode::<T>(path, data) {
        Ok(document) => {
            let bytes = encode(&document).expect("a decoded document encodes");
            let again: T = decode(path, &bytes).expect("what the writer makes decodes");
            assert_eq!(again, document);
        }
        Err(Error::CorruptState { offset, .. }) => {
            assert!(offset <= data.len() as u64, "the offset named is inside the file");
        }
        Err(other) => panic!("only corruption is possible for bytes in memory: {other}"),
    }
}

fuzz_target!(|data: &[u8]| {
    check::<Catalog>(data);
    check::<Current>(data);
});
