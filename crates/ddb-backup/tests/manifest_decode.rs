//! Manifest bytes from disk never panic the decoder: truncated and mutated manifests give
//! errors (and only the intact one decodes).
#![allow(
    clippy::cast_possible_truncation,
    clippy::cast_possible_wrap,
    clippy::cast_sign_loss,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing
)]

mod common;

use std::path::Path;

use ddb_backup::{BackupManifest, MANIFEST_FILE};
use proptest::prelude::*;

fn manifest_bytes() -> Vec<u8> {
    let root = tempfile::tempdir().unwrap();
    let (dir, _) = common::small_backup(root.path());
    std::fs::read(dir.join(MANIFEST_FILE)).unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn truncated_or_mutated_manifests_are_errors(cut in 0usize..100_000, at in 0usize..100_000, xor in 1u8..=255) {
        let bytes = manifest_bytes_cached();
        let path = Path::new(MANIFEST_FILE);
        let cut = cut % bytes.len();
        prop_assert!(BackupManifest::decode(path, &bytes[..cut]).is_err());
        let mut mutated = bytes.to_vec();
        mutated[at % bytes.len()] ^= xor;
        prop_assert!(BackupManifest::decode(path, &mutated).is_err());
    }

    #[test]
    fn arbitrary_bytes_are_errors(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        prop_assert!(BackupManifest::decode(Path::new("m"), &bytes).is_err());
    }
}

fn manifest_bytes_cached() -> &'static [u8] {
    static BYTES: std::sync::OnceLock<Vec<u8>> = std::sync::OnceLock::new();
    BYTES.get_or_init(manifest_bytes)
}

#[test]
fn the_intact_manifest_decodes_and_reencodes_to_the_same_bytes() {
    let bytes = manifest_bytes();
    let manifest = BackupManifest::decode(Path::new(MANIFEST_FILE), &bytes).unwrap();
    assert_eq!(manifest.encode().unwrap(), bytes);
    assert!(bytes.ends_with(b"\"\n}\n"));
    serde_json::from_slice::<serde_json::Value>(&bytes).unwrap();
}
