//! DynamoDB's "export to S3" layout in a local directory, the "bucket"
//! (`formats/export/SPEC.md`), with `DYNAMODB_JSON` output:
//!
//! ```text
//! <bucket>/[<prefix>/]AWSDynamoDB/<ExportId>/_started
//!                                            data/<26 base32 chars>.json.gz   gzip JSON lines {"Item":…}
//!                                            manifest-files.json  + .md5      one line per data file
//!                                            manifest-summary.json + .md5     the commit point
//! ```
//!
//! - [`ExportWriter`]: streams items into gzip data files (MD5 hashed as the bytes pass), then
//!   publishes `manifest-files.json` and, last, `manifest-summary.json`;
//! - [`ImportSource`]: the files of an import — the data files an export's manifest lists
//!   (checked against their MD5 and item counts), or every file under a directory — and their
//!   items, line by line, each line's problem reported with its file and line.
//!
//! Invariants:
//! - all file access goes through `ddb_io::Io`, so crash tests can tear every byte;
//! - an export exists iff `manifest-summary.json` exists: it is published after the data files,
//!   `data/` and `manifest-files.json` are durable;
//! - the same items, identity and options give byte-identical files: data file names derive
//!   from the export id and the file's position, cuts from the items alone, gzip headers carry
//!   no time or name;
//! - memory is bounded by the options, not by the table: data files stream through a fixed
//!   buffer, and the reader holds one line (at most [`LINE_BYTES_MAX`]) and one chunk per file;
//! - bytes read from disk never cause a panic: a bad line, a bad file, a mismatch are errors.
//!
//! This crate knows nothing of tables: the caller hands it canonical item JSON and takes
//! `ddb_model::Item`s back.
#![forbid(unsafe_code)]

mod digest;
mod error;
mod manifest;
mod reader;
mod source;
mod time;
mod writer;

use std::path::{Path, PathBuf};

pub use error::{ExportError, Result};
pub use manifest::{EXPORT_TYPE, MANIFEST_VERSION, OUTPUT_FORMAT, SSE_ALGORITHM};
pub use reader::{ImportItem, ImportLineError};
pub use source::{Compression, ImportSource};
pub use writer::{DataFileEntry, ExportIdentity, ExportOptions, ExportSummary, ExportWriter};

/// The directory of exports under the bucket (and prefix).
pub const EXPORTS_DIR: &str = "AWSDynamoDB";
/// The commit point, in the export directory.
pub const MANIFEST_SUMMARY_FILE: &str = "manifest-summary.json";
/// The list of data files, in the export directory.
pub const MANIFEST_FILES_FILE: &str = "manifest-files.json";
/// Base64 MD5 of `manifest-summary.json` (24 bytes, no newline).
pub const MANIFEST_SUMMARY_MD5_FILE: &str = "manifest-summary.md5";
/// Base64 MD5 of `manifest-files.json` (24 bytes, no newline).
pub const MANIFEST_FILES_MD5_FILE: &str = "manifest-files.md5";
/// Empty; written first, to show the export began (and the bucket is writable).
pub const STARTED_FILE: &str = "_started";
/// The data files' directory, in the export directory.
pub const DATA_DIR: &str = "data";

/// The longest line the reader accepts, in bytes (without its newline): ten times DynamoDB's
/// item size limit. A line is JSON text, not item size: a valid 400 KB item is longer in
/// DynamoDB JSON (binary in base64 is 4/3 of its size; a list of empty strings, `{"S":""},`,
/// is 9 bytes per byte of size), so a cap at 400 KB would refuse valid items. Items that fit
/// are then held to the 400 KB rule exactly (`Item::validate`).
pub const LINE_BYTES_MAX: usize = 10 * ddb_model::ITEM_SIZE_BYTES_MAX;

/// The export directory of `export_id`: `<bucket_dir>[/<prefix>]/AWSDynamoDB/<export_id>`.
/// The prefix is taken as S3 keys are: `/`-separated, leading and trailing `/` ignored.
pub fn export_root(bucket_dir: &Path, prefix: Option<&str>, export_id: &str) -> PathBuf {
    let mut root = bucket_dir.to_path_buf();
    for segment in prefix_segments(prefix) {
        root.push(segment);
    }
    root.push(EXPORTS_DIR);
    root.push(export_id);
    root
}

/// The S3 key of the export directory, relative to the bucket, with its trailing `/`:
/// `[<prefix>/]AWSDynamoDB/<export_id>/`. Every key in the manifests starts with it.
pub fn export_key_prefix(prefix: Option<&str>, export_id: &str) -> String {
    let mut key = String::new();
    for segment in prefix_segments(prefix) {
        key.push_str(segment);
        key.push('/');
    }
    key.push_str(EXPORTS_DIR);
    key.push('/');
    key.push_str(export_id);
    key.push('/');
    key
}

/// The non-empty `/`-separated segments of a prefix.
fn prefix_segments(prefix: Option<&str>) -> impl Iterator<Item = &str> {
    prefix
        .unwrap_or_default()
        .split('/')
        .filter(|segment| !segment.is_empty())
}

/// Whether `segment` can be one path component: not empty, not `.` or `..`, no separator.
fn is_plain_segment(segment: &str) -> bool {
    !segment.is_empty() && segment != "." && segment != ".." && !segment.contains(['/', '\\', '\0'])
}

/// Checks a user's prefix: its segments must be plain (no `.`/`..`), so that it names a
/// directory under the bucket and keys map onto paths below it.
fn check_prefix(prefix: Option<&str>) -> Result<()> {
    match prefix_segments(prefix).find(|segment| !is_plain_segment(segment)) {
        Some(bad) => Err(ExportError::InvalidRequest(format!(
            "prefix {:?}: segment {bad:?} is not a plain name",
            prefix.unwrap_or_default()
        ))),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roots_and_keys() {
        let id = "01700000000000-0a1b2c3d";
        assert_eq!(
            export_root(Path::new("/b"), None, id),
            Path::new("/b/AWSDynamoDB/01700000000000-0a1b2c3d")
        );
        assert_eq!(
            export_root(Path::new("/b"), Some("/x/y/"), id),
            Path::new("/b/x/y/AWSDynamoDB/01700000000000-0a1b2c3d")
        );
        assert_eq!(
            export_key_prefix(None, id),
            "AWSDynamoDB/01700000000000-0a1b2c3d/"
        );
        assert_eq!(
            export_key_prefix(Some("2020-Nov/"), id),
            "2020-Nov/AWSDynamoDB/01700000000000-0a1b2c3d/"
        );
        assert!(check_prefix(Some("a/b")).is_ok());
        assert!(check_prefix(Some("a/../b")).is_err());
        assert!(check_prefix(Some("./b")).is_err());
    }
}
