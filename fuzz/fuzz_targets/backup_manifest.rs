//! Backup manifests (`formats/backup`): decoding arbitrary bytes never panics, a corruption
//! error names an offset inside the file, and what decodes re-encodes to the same bytes (the
//! manifest has one spelling) and decodes again to the same manifest.
#![no_main]

use std::path::Path;

use ddb_backup::{BackupError, BackupManifest};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let path = Path::new("/fuzz/manifest.json");
    match BackupManifest::decode(path, data) {
        Ok(manifest) => {
            let bytes = manifest.encode().expect("a decoded manifest encodes");
            let again = BackupManifest::decode(path, &bytes).expect("what the writer makes decodes");
            assert_eq!(again, manifest);
        }
        Err(BackupError::Corrupt { location, .. }) => {
            assert!(
                location.offset.is_none_or(|offset| offset <= data.len() as u64),
                "the offset named is inside the file"
            );
        }
        Err(BackupError::UnsupportedVersion { .. }) => {}
        Err(other) => panic!("only corruption is possible for bytes in memory: {other}"),
    }
});
