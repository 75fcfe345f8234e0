//! Reading the lines of import files: decompression, line splitting with a capped buffer, the
//! two line shapes, and the per-file MD5 and item count checks.

use std::collections::VecDeque;
use std::fmt;
use std::io::{self, BufReader, Read};
use std::path::Path;

use ddb_io::{ChunkReader, Io, OpenOptions, ReadAhead};
use ddb_model::Item;
use flate2::read::MultiGzDecoder;
use md5::{Digest, Md5};
use serde::Deserialize;
use serde_json::value::RawValue;

use crate::LINE_BYTES_MAX;
use crate::digest::base64;
use crate::source::{Compression, Expected, SourceFile};

/// One item of an import.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportItem {
    pub item: Item,
    /// The file's path relative to the import's `dir`, `/`-separated.
    pub file: String,
    /// 1-based.
    pub line: u64,
}

/// A line (or, with line 0, a whole file) that did not give an item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportLineError {
    /// The file's path relative to the import's `dir`, `/`-separated.
    pub file: String,
    /// 1-based; 0 for the file as a whole (it cannot be opened, its MD5 or item count does not
    /// match the manifest).
    pub line: u64,
    pub message: String,
}

impl fmt::Display for ImportLineError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: {}", self.file, self.line, self.message)
    }
}

impl std::error::Error for ImportLineError {}

type LineResult = Result<ImportItem, ImportLineError>;

/// Decompressed bytes read at a time.
const READ_BYTES: usize = 64 << 10;

/// The lines of a list of files, one file open at a time.
pub(crate) struct Items<'a> {
    io: &'a dyn Io,
    compression: Compression,
    files: &'a [SourceFile],
    next_file: usize,
    current: Option<FileLines<'a>>,
}

impl<'a> Items<'a> {
    pub(crate) fn new(io: &'a dyn Io, compression: Compression, files: &'a [SourceFile]) -> Self {
        Self {
            io,
            compression,
            files,
            next_file: 0,
            current: None,
        }
    }
}

impl Iterator for Items<'_> {
    type Item = LineResult;

    fn next(&mut self) -> Option<LineResult> {
        loop {
            if let Some(current) = self.current.as_mut() {
                if let Some(result) = current.next_line() {
                    return Some(result);
                }
                self.current = None;
            }
            let file = self.files.get(self.next_file)?;
            self.next_file += 1;
            self.current = Some(FileLines::open(self.io, self.compression, file));
        }
    }
}

/// The lines of one file.
struct FileLines<'a> {
    source: &'a SourceFile,
    decoder: Option<Decoder>,
    /// Errors to report before anything else (opening, end-of-file checks).
    pending: VecDeque<ImportLineError>,
    /// Decompressed bytes not yet split into lines: `chunk[start..end]`.
    chunk: Vec<u8>,
    start: usize,
    end: usize,
    /// The line being gathered; never longer than [`LINE_BYTES_MAX`].
    line: Vec<u8>,
    /// The line being gathered went past the cap: its bytes are dropped up to its newline.
    oversized: bool,
    /// Lines seen so far (the number of the current one once it is complete).
    line_no: u64,
    /// Non-blank lines: the writer's item count.
    item_lines: u64,
}

impl<'a> FileLines<'a> {
    fn open(io: &dyn Io, compression: Compression, source: &'a SourceFile) -> Self {
        let mut lines = Self {
            source,
            decoder: None,
            pending: VecDeque::new(),
            chunk: Vec::new(),
            start: 0,
            end: 0,
            line: Vec::new(),
            oversized: false,
            line_no: 0,
            item_lines: 0,
        };
        match Decoder::open(io, &source.path, compression) {
            Ok(decoder) => {
                lines.decoder = Some(decoder);
                lines.chunk = vec![0u8; READ_BYTES];
            }
            Err(e) => lines
                .pending
                .push_back(lines.error(0, format!("cannot read: {e}"))),
        }
        lines
    }

    fn error(&self, line: u64, message: String) -> ImportLineError {
        ImportLineError {
            file: self.source.name.clone(),
            line,
            message,
        }
    }

    fn next_line(&mut self) -> Option<LineResult> {
        loop {
            if let Some(error) = self.pending.pop_front() {
                return Some(Err(error));
            }
            // No decoder: the file is done (or could not be opened).
            self.decoder.as_ref()?;
            match self.gather_line() {
                Ok(true) => {
                    self.line_no += 1;
                    if let Some(result) = self.take_line() {
                        return Some(result);
                    }
                }
                Ok(false) => self.end_of_file(),
                Err(e) => {
                    let what = self.decoder.as_ref().map_or("read", Decoder::what);
                    let message = format!(
                        "{what} failed after line {}: {e}; the rest of the file is skipped",
                        self.line_no
                    );
                    self.pending
                        .push_back(self.error(self.line_no + 1, message));
                    self.decoder = None;
                }
            }
        }
    }

    /// Gathers the next line into `self.line` (capped; `self.oversized` if it was longer).
    /// `Ok(false)` at the end of the file with no line left.
    fn gather_line(&mut self) -> io::Result<bool> {
        self.line.clear();
        self.oversized = false;
        let mut any = false;
        loop {
            if self.start == self.end {
                let Some(decoder) = self.decoder.as_mut() else {
                    return Ok(any);
                };
                let n = read_retrying(decoder, &mut self.chunk)?;
                if n == 0 {
                    return Ok(any);
                }
                self.start = 0;
                self.end = n;
            }
            let pending = self.chunk.get(self.start..self.end).unwrap_or_default();
            any = true;
            let (part, done, complete) = match pending.iter().position(|&b| b == b'\n') {
                Some(at) => (pending.get(..at).unwrap_or_default(), at + 1, true),
                None => (pending, pending.len(), false),
            };
            if !self.oversized {
                if self.line.len() + part.len() > LINE_BYTES_MAX {
                    self.oversized = true;
                    self.line.clear();
                } else {
                    self.line.extend_from_slice(part);
                }
            }
            self.start += done;
            if complete {
                return Ok(true);
            }
        }
    }

    /// The item (or error) of the gathered line; `None` for a blank line.
    fn take_line(&mut self) -> Option<LineResult> {
        let line_no = self.line_no;
        if self.oversized {
            self.item_lines += 1;
            return Some(Err(self.error(
                line_no,
                format!("the line is longer than {LINE_BYTES_MAX} bytes"),
            )));
        }
        let mut bytes = self.line.as_slice();
        if line_no == 1 {
            bytes = bytes.strip_prefix(b"\xef\xbb\xbf").unwrap_or(bytes);
        }
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return None;
        }
        self.item_lines += 1;
        let result = match std::str::from_utf8(bytes) {
            Err(e) => Err(format!("the line is not UTF-8: {e}")),
            Ok(text) => parse_line(text),
        };
        Some(match result {
            Ok(item) => Ok(ImportItem {
                item,
                file: self.source.name.clone(),
                line: line_no,
            }),
            Err(message) => Err(self.error(line_no, message)),
        })
    }

    /// The end of the decompressed stream: the rest of the raw bytes into the MD5, then the
    /// checks against the manifest.
    fn end_of_file(&mut self) {
        let Some(mut decoder) = self.decoder.take() else {
            return;
        };
        let raw = decoder.raw_mut();
        if let Err(e) = io::copy(raw, &mut io::sink()) {
            self.pending
                .push_back(self.error(0, format!("cannot read to the end: {e}")));
            return;
        }
        let Some(Expected {
            md5_base64,
            item_count,
        }) = self.source.expected.as_ref()
        else {
            return;
        };
        let found = base64(&raw.md5.clone().finalize().into());
        if &found != md5_base64 {
            let message = format!(
                "MD5 mismatch: manifest-files.json has md5Checksum {md5_base64}, the file's \
                 {} bytes hash to {found}",
                raw.bytes
            );
            self.pending.push_back(self.error(0, message));
        }
        if self.item_lines != *item_count {
            let message = format!(
                "itemCount mismatch: manifest-files.json has {item_count}, the file has {} \
                 lines",
                self.item_lines
            );
            self.pending.push_back(self.error(0, message));
        }
    }
}

fn read_retrying(reader: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    loop {
        match reader.read(buf) {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            other => return other,
        }
    }
}

/// An export line: exactly one member, `Item`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ExportLine<'a> {
    #[serde(rename = "Item", borrow)]
    item: &'a RawValue,
}

/// One line as an item. `{"Item":{…}}` is an export line and its `Item` the item; if that
/// object is not an item, the line is read as a bare item with one attribute named `Item`
/// (which it can be: `{"Item":{"S":"x"}}`). Anything else is a bare item. Then the rules
/// every item obeys (`Item::validate`: sets, nesting, 400 KB). Text that is not JSON is
/// reported as such, whatever its shape.
fn parse_line(text: &str) -> Result<Item, String> {
    if !text.trim_start().starts_with('{') {
        // Not an object (serde would read `[x]` as the struct below): not an item either.
        return ddb_model::parse_item(text).map_err(|e| e.to_string());
    }
    let parsed = match serde_json::from_str::<ExportLine<'_>>(text) {
        Ok(line) if line.item.get().trim_start().starts_with('{') => {
            ddb_model::parse_item(line.item.get()).or_else(|export_error| {
                ddb_model::parse_item(text).map_err(|_| export_error.to_string())
            })
        }
        Err(e) if e.is_syntax() || e.is_eof() => {
            Err(ddb_model::DdbError::serialization(e.to_string()).to_string())
        }
        _ => ddb_model::parse_item(text).map_err(|e| e.to_string()),
    };
    let item = parsed?;
    item.validate().map_err(|e| e.to_string())?;
    Ok(item)
}

/// The raw bytes of a file, read through `Io` in chunks and hashed as they pass.
struct RawReader {
    chunks: Box<dyn ChunkReader>,
    chunk: Vec<u8>,
    at: usize,
    md5: Md5,
    bytes: u64,
}

impl Read for RawReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.at == self.chunk.len() {
            match self.chunks.next_chunk()? {
                None => return Ok(0),
                Some((_, data)) => {
                    self.md5.update(data);
                    self.bytes += u64::try_from(data.len()).unwrap_or(u64::MAX);
                    self.chunk.clear();
                    self.chunk.extend_from_slice(data);
                    self.at = 0;
                }
            }
        }
        let rest = self.chunk.get(self.at..).unwrap_or_default();
        let n = rest.len().min(buf.len());
        if let (Some(to), Some(from)) = (buf.get_mut(..n), rest.get(..n)) {
            to.copy_from_slice(from);
        }
        self.at += n;
        Ok(n)
    }
}

/// A file's decompressed bytes.
enum Decoder {
    Gzip(MultiGzDecoder<RawReader>),
    Zstd(zstd::stream::read::Decoder<'static, BufReader<RawReader>>),
    Plain(RawReader),
}

impl Decoder {
    fn open(io: &dyn Io, path: &Path, compression: Compression) -> io::Result<Self> {
        let file = io.open(path, OpenOptions::read_only())?;
        let len = file.len()?;
        let chunks = io.read_sequential(file, 0..len, ReadAhead::default())?;
        let raw = RawReader {
            chunks,
            chunk: Vec::new(),
            at: 0,
            md5: Md5::new(),
            bytes: 0,
        };
        // An empty object is an empty file whatever the compression (DynamoDB writes one for
        // an empty partition; some tools write zero bytes rather than an empty gzip stream).
        Ok(match compression {
            _ if len == 0 => Self::Plain(raw),
            Compression::Gzip => Self::Gzip(MultiGzDecoder::new(raw)),
            // The zstd decoder's window is capped at its default (2^27 bytes), so a frame
            // cannot make it allocate more.
            Compression::Zstd => Self::Zstd(zstd::stream::read::Decoder::new(raw)?),
            Compression::None => Self::Plain(raw),
        })
    }

    fn what(&self) -> &'static str {
        match self {
            Self::Gzip(_) => "gzip decompression",
            Self::Zstd(_) => "zstd decompression",
            Self::Plain(_) => "read",
        }
    }

    fn raw_mut(&mut self) -> &mut RawReader {
        match self {
            Self::Gzip(d) => d.get_mut(),
            Self::Zstd(d) => d.get_mut().get_mut(),
            Self::Plain(r) => r,
        }
    }
}

impl Read for Decoder {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Self::Gzip(d) => d.read(buf),
            Self::Zstd(d) => d.read(buf),
            Self::Plain(r) => r.read(buf),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::parse_line;

    #[test]
    fn line_shapes() {
        let bare = parse_line(r#"{"id":{"S":"a"}}"#).unwrap();
        let export = parse_line(r#"{"Item":{"id":{"S":"a"}}}"#).unwrap();
        assert_eq!(bare, export);
        // An item whose only attribute is named like a type descriptor, exported.
        let s = parse_line(r#"{"Item":{"S":{"S":"x"}}}"#).unwrap();
        assert_eq!(s.to_canonical_json(), r#"{"S":{"S":"x"}}"#);
        // A bare item with one attribute named Item.
        let item = parse_line(r#"{"Item":{"M":{"a":{"N":"1"}}}}"#).unwrap();
        assert_eq!(
            item.to_canonical_json(),
            r#"{"Item":{"M":{"a":{"N":"1"}}}}"#
        );
        assert!(parse_line(r#"{"Item":{"x":{"Q":"1"}}}"#).is_err());
        assert!(parse_line(r#"{"Item":{"x":{"S":"1"}}, "More": 1}"#).is_err());
        assert!(parse_line("[1]").is_err());
        assert!(parse_line(r#"{"s":{"SS":[]}}"#).is_err());
    }
}
