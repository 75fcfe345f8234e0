//! The two manifests: `manifest-summary.json` (one JSON object, the commit point) and
//! `manifest-files.json` (JSON lines, one per data file), in DynamoDB's key names and order.
//!
//! The writer's structs carry every key DynamoDB writes; the reader's are lenient about keys
//! it does not need (AWS has added keys over time, e.g. `exportType`), strict about the ones
//! it does.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::{ExportError, Result};

/// The manifest version DynamoDB writes and this crate reads.
pub const MANIFEST_VERSION: &str = "2020-06-30";
/// `outputFormat` of a DynamoDB JSON export (the other, `ION`, is not supported).
pub const OUTPUT_FORMAT: &str = "DYNAMODB_JSON";
/// `exportType` of a full export (the other, `INCREMENTAL_EXPORT`, is not supported).
pub const EXPORT_TYPE: &str = "FULL_EXPORT";
/// `s3SseAlgorithm`: S3's default encryption, what DynamoDB reports when none was asked for.
pub const SSE_ALGORITHM: &str = "AES256";

/// `manifest-summary.json` as written, keys in DynamoDB's order.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct SummaryOut<'a> {
    pub version: &'a str,
    pub export_arn: &'a str,
    pub start_time: String,
    pub end_time: String,
    pub table_arn: &'a str,
    pub table_id: &'a str,
    pub export_time: String,
    pub s3_bucket: &'a str,
    pub s3_prefix: Option<&'a str>,
    pub s3_sse_algorithm: &'a str,
    pub s3_sse_kms_key_id: Option<&'a str>,
    pub manifest_files_s3_key: &'a str,
    pub billed_size_bytes: u64,
    pub item_count: u64,
    pub output_format: &'a str,
    pub export_type: &'a str,
}

/// What the reader needs of `manifest-summary.json`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct SummaryIn {
    pub version: String,
    pub manifest_files_s3_key: String,
    pub item_count: u64,
    /// Absent in no export we know of; absent is read as `DYNAMODB_JSON`.
    #[serde(default)]
    pub output_format: Option<String>,
    /// Absent in exports made before incremental exports existed (always full ones).
    #[serde(default)]
    pub export_type: Option<String>,
}

/// One line of `manifest-files.json` as written, keys in DynamoDB's order.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct FileLineOut<'a> {
    pub item_count: u64,
    pub md5_checksum: &'a str,
    pub etag: &'a str,
    pub data_file_s3_key: &'a str,
}

/// One line of `manifest-files.json` as read. `etag` is not needed: it is not the MD5 of the
/// object for multipart uploads (`<hex>-<parts>`) or SSE-KMS, so only `md5Checksum` is checked.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct FileLineIn {
    pub item_count: u64,
    pub md5_checksum: String,
    pub data_file_s3_key: String,
}

/// Decodes `manifest-summary.json` and applies the reader's rules: version, output format and
/// export type this reader can import.
pub(crate) fn decode_summary(file: &Path, bytes: &[u8]) -> Result<SummaryIn> {
    let summary: SummaryIn = serde_json::from_slice(bytes).map_err(|e| {
        ExportError::corrupt(
            file,
            byte_offset(bytes, &e),
            "a manifest summary (a JSON object with version, manifestFilesS3Key, itemCount)",
            e.to_string(),
        )
    })?;
    if summary.version != MANIFEST_VERSION {
        return Err(ExportError::Unsupported {
            file: file.to_path_buf(),
            what: format!(
                "manifest version {:?} (this reader reads {MANIFEST_VERSION:?})",
                summary.version
            ),
        });
    }
    if let Some(format) = summary.output_format.as_deref()
        && format != OUTPUT_FORMAT
    {
        return Err(ExportError::Unsupported {
            file: file.to_path_buf(),
            what: format!("outputFormat {format:?} (only {OUTPUT_FORMAT:?} is)"),
        });
    }
    if let Some(kind) = summary.export_type.as_deref()
        && kind != EXPORT_TYPE
    {
        return Err(ExportError::Unsupported {
            file: file.to_path_buf(),
            what: format!("exportType {kind:?} (only {EXPORT_TYPE:?} is)"),
        });
    }
    Ok(summary)
}

/// Decodes `manifest-files.json`: JSON lines, blank lines skipped. Errors name the byte
/// offset of the line.
pub(crate) fn decode_files(file: &Path, bytes: &[u8]) -> Result<Vec<FileLineIn>> {
    let mut out = Vec::new();
    let mut offset = 0u64;
    for line in bytes.split(|&b| b == b'\n') {
        let start = offset;
        offset += u64::try_from(line.len())
            .unwrap_or(u64::MAX)
            .saturating_add(1);
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let entry: FileLineIn = serde_json::from_slice(line).map_err(|e| {
            ExportError::corrupt(
                file,
                Some(start),
                "a data file entry {\"itemCount\":N,\"md5Checksum\":…,\"dataFileS3Key\":…}",
                e.to_string(),
            )
        })?;
        out.push(entry);
    }
    Ok(out)
}

/// The byte offset of a serde_json error (it reports line and column).
fn byte_offset(bytes: &[u8], error: &serde_json::Error) -> Option<u64> {
    let line = error.line();
    if line == 0 {
        return None;
    }
    let mut offset = 0usize;
    for (index, text) in bytes.split(|&b| b == b'\n').enumerate() {
        if index + 1 == line {
            let column = error.column().saturating_sub(1).min(text.len());
            return u64::try_from(offset + column).ok();
        }
        offset += text.len() + 1;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summary_rules() {
        let path = Path::new("s.json");
        let ok = br#"{"version":"2020-06-30","manifestFilesS3Key":"k","itemCount":3,"other":1}"#;
        assert_eq!(decode_summary(path, ok).unwrap().item_count, 3);
        let ion = br#"{"version":"2020-06-30","manifestFilesS3Key":"k","itemCount":3,"outputFormat":"ION"}"#;
        assert!(matches!(
            decode_summary(path, ion),
            Err(ExportError::Unsupported { .. })
        ));
        let incremental = br#"{"version":"2020-06-30","manifestFilesS3Key":"k","itemCount":3,"exportType":"INCREMENTAL_EXPORT"}"#;
        assert!(matches!(
            decode_summary(path, incremental),
            Err(ExportError::Unsupported { .. })
        ));
        let version = br#"{"version":"2099-01-01","manifestFilesS3Key":"k","itemCount":3}"#;
        assert!(matches!(
            decode_summary(path, version),
            Err(ExportError::Unsupported { .. })
        ));
        let broken = b"{\"version\":\n  \"2020-06-30\", x}";
        match decode_summary(path, broken) {
            Err(ExportError::Corrupt { offset, .. }) => assert_eq!(offset, Some(28)),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn files_lines_name_their_offset() {
        let path = Path::new("f.json");
        let bytes = b"{\"itemCount\":1,\"md5Checksum\":\"x\",\"etag\":\"y\",\"dataFileS3Key\":\"d\"}\n\n{\"itemCount\":-1}\n";
        match decode_files(path, bytes) {
            Err(ExportError::Corrupt { offset, .. }) => assert_eq!(offset, Some(66)),
            other => panic!("{other:?}"),
        }
        let good = decode_files(path, &bytes[..65]).unwrap();
        assert_eq!(good.len(), 1);
        assert_eq!(good[0].data_file_s3_key, "d");
    }
}
