//! `ddbfmt load --table-name T FILE|-`: puts and deletes from DynamoDB JSON lines or a
//! BatchWriteItem document, applied in file order in large atomic batches.
//!
//! Two input forms, told apart by the first non-blank line:
//! - **JSON lines**: the first line is a whole JSON value. Each line is a bare item, an export
//!   line `{"Item":...}` or a one-line BatchWriteItem request; blank lines are skipped.
//! - **One document**: the first line is not a whole JSON value (a pretty-printed
//!   BatchWriteItem request or item). The whole input is read and parsed as one document.
//!
//! A batch never holds a key twice ([`ddb_table::TableStore::apply_batch`] needs distinct
//! keys): a repeated key closes the batch, so later writes still land after earlier ones.

use std::collections::HashSet;
use std::collections::VecDeque;
use std::fmt;
use std::io::BufRead;
use std::path::PathBuf;

use ddb_model::{DdbError, InputDocument, TableSchema, WriteRequest, parse_input_document};
use ddb_table::Change;

/// `ddbfmt load` arguments.
#[derive(Debug, clap::Args)]
pub struct LoadArgs {
    /// The table to write into.
    #[arg(long)]
    pub table_name: String,
    /// DynamoDB JSON lines or a BatchWriteItem document; `-` reads standard input.
    pub input: String,
    /// Writes per atomic batch at most.
    #[arg(long, default_value_t = BATCH_ITEMS_MAX_DEFAULT, value_parser = clap::value_parser!(u64).range(1..))]
    pub batch_items: u64,
}

/// Writes per batch: large enough that a batch's fixed cost (one log frame group, one fsync)
/// is spread thin, small enough that a rejected batch is cheap to report.
pub const BATCH_ITEMS_MAX_DEFAULT: u64 = 4_096;
/// Item bytes (DynamoDB's item size) per batch, so batches of large items stay bounded.
pub const BATCH_BYTES_MAX: usize = 64 << 20;

/// Where a write came from in the input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Position {
    /// A line of a JSON-lines input (1-based).
    Line(u64),
    /// A request of a whole-document BatchWriteItem input.
    Request { table: String, index: usize },
}

impl fmt::Display for Position {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Line(line) => write!(f, "line {line}"),
            Self::Request { table, index } => write!(f, "RequestItems[{table}][{index}]"),
        }
    }
}

/// One write of the input.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    pub position: Position,
    pub write: WriteRequest,
}

/// Why a load stopped.
#[derive(Debug)]
pub enum LoadError {
    /// The input could not be read.
    Read(std::io::Error),
    /// A write of the input is malformed or invalid for the table.
    Invalid { position: Position, error: DdbError },
    /// The engine refused a batch: nothing of it was written.
    Rejected {
        first: Position,
        last: Position,
        error: DdbError,
    },
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Read(e) => write!(f, "cannot read the input: {e}"),
            Self::Invalid { position, error } => write!(f, "{position}: {error}"),
            Self::Rejected { first, last, error } => write!(
                f,
                "the batch from {first} to {last} was refused and not written: {error}"
            ),
        }
    }
}

/// The documents of an input, as [`Entry`]s in file order.
#[derive(Debug)]
pub struct Documents<R> {
    reader: R,
    table: String,
    lines: u64,
    bytes_read: u64,
    pending: VecDeque<Entry>,
    /// `None` until the first non-blank line says which form the input has.
    json_lines: Option<bool>,
    done: bool,
}

impl<R: BufRead> Documents<R> {
    /// Reads `reader` as the input of a load into `table` (BatchWriteItem requests must name
    /// it).
    pub fn new(reader: R, table: &str) -> Self {
        Self {
            reader,
            table: table.to_owned(),
            lines: 0,
            bytes_read: 0,
            pending: VecDeque::new(),
            json_lines: None,
            done: false,
        }
    }

    /// Lines read so far.
    pub fn lines(&self) -> u64 {
        self.lines
    }

    /// Bytes read so far.
    pub fn bytes_read(&self) -> u64 {
        self.bytes_read
    }

    fn read_line(&mut self, line: &mut String) -> Result<bool, LoadError> {
        line.clear();
        let n = self.reader.read_line(line).map_err(LoadError::Read)?;
        self.bytes_read += u64::try_from(n).unwrap_or(u64::MAX);
        if n > 0 {
            self.lines += 1;
        }
        Ok(n > 0)
    }

    /// Reads until there is something pending or the input ends.
    fn fill(&mut self) -> Result<(), LoadError> {
        let mut line = String::new();
        while self.pending.is_empty() && !self.done {
            if !self.read_line(&mut line)? {
                self.done = true;
                break;
            }
            if line.trim().is_empty() {
                continue;
            }
            let whole_line = self.json_lines.unwrap_or_else(|| is_whole_json(&line));
            self.json_lines = Some(whole_line);
            if whole_line {
                let position = Position::Line(self.lines);
                self.queue(&line, |_| position.clone())?;
            } else {
                let first_line = self.lines;
                let mut rest = String::new();
                let n = self
                    .reader
                    .read_to_string(&mut rest)
                    .map_err(LoadError::Read)?;
                self.bytes_read += u64::try_from(n).unwrap_or(u64::MAX);
                self.lines += u64::try_from(rest.lines().count()).unwrap_or(u64::MAX);
                line.push_str(&rest);
                self.done = true;
                self.queue(&line, |request| match request {
                    Some((table, index)) => Position::Request {
                        table: table.to_owned(),
                        index,
                    },
                    None => Position::Line(first_line),
                })?;
            }
        }
        Ok(())
    }

    /// Parses one document and queues its writes; `position` names the write at
    /// (table, index) of a BatchWriteItem request, or the document itself (`None`).
    fn queue(
        &mut self,
        text: &str,
        position: impl Fn(Option<(&str, usize)>) -> Position,
    ) -> Result<(), LoadError> {
        let document = parse_input_document(text).map_err(|error| LoadError::Invalid {
            position: position(None),
            error,
        })?;
        match document {
            InputDocument::Item(item) => self.pending.push_back(Entry {
                position: position(None),
                write: WriteRequest::Put(item),
            }),
            InputDocument::BatchWrite(tables) => {
                for (table, requests) in tables {
                    if table != self.table {
                        return Err(LoadError::Invalid {
                            position: position(None),
                            error: DdbError::validation(format!(
                                "the BatchWriteItem request writes to table '{table}', but this load is into '{}'",
                                self.table
                            )),
                        });
                    }
                    for (index, write) in requests.into_iter().enumerate() {
                        self.pending.push_back(Entry {
                            position: position(Some((&table, index))),
                            write,
                        });
                    }
                }
            }
        }
        Ok(())
    }
}

impl<R: BufRead> Iterator for Documents<R> {
    type Item = Result<Entry, LoadError>;

    fn next(&mut self) -> Option<Self::Item> {
        if let Err(e) = self.fill() {
            self.done = true;
            self.pending.clear();
            return Some(Err(e));
        }
        self.pending.pop_front().map(Ok)
    }
}

/// Whether `line` holds one whole JSON value, or is the start of a longer one. A line with a
/// syntax error counts as whole, so its error is reported for that line.
fn is_whole_json(line: &str) -> bool {
    match serde_json::from_str::<serde::de::IgnoredAny>(line) {
        Ok(_) => true,
        Err(e) => !e.is_eof(),
    }
}

/// One atomic batch of writes with distinct keys, in input order.
#[derive(Debug)]
pub struct Batch {
    pub changes: Vec<(Vec<u8>, Change)>,
    pub first: Position,
    pub last: Position,
}

/// Bounds of a batch.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub items_max: usize,
    pub bytes_max: usize,
}

/// What a load wrote.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Totals {
    pub items_put: u64,
    pub items_deleted: u64,
    pub batches: u64,
}

/// Turns `entries` into batches for `schema` and hands each to `apply`, in order. Every put
/// is validated against `schema` (the table and its readable indexes) and every delete key
/// against the table key first, so an invalid write is reported at its own position.
pub fn apply_in_batches(
    entries: impl Iterator<Item = Result<Entry, LoadError>>,
    schema: &TableSchema,
    limits: Limits,
    apply: &mut dyn FnMut(Batch) -> Result<(), LoadError>,
) -> Result<Totals, LoadError> {
    let mut totals = Totals::default();
    let mut pending = Pending::default();
    for entry in entries {
        let Entry { position, write } = entry?;
        let invalid = |error| LoadError::Invalid {
            position: position.clone(),
            error,
        };
        let (key, change, size_bytes, is_put) = match write {
            WriteRequest::Put(item) => {
                schema.validate_item(&item).map_err(invalid)?;
                let key = schema.table_key(&item).map_err(invalid)?;
                let size_bytes = item.size_bytes();
                (key, Change::Put(item), size_bytes, true)
            }
            WriteRequest::Delete(key_item) => {
                schema.validate_key(&key_item).map_err(invalid)?;
                let key = schema.table_key(&key_item).map_err(invalid)?;
                (key, Change::Delete, 0, false)
            }
        };
        let full = pending.changes.len() >= limits.items_max
            || (pending.size_bytes + size_bytes > limits.bytes_max && !pending.changes.is_empty());
        if full || pending.keys.contains(&key) {
            pending.flush(&mut totals, apply)?;
        }
        pending.push(key, change, size_bytes, is_put, position);
    }
    pending.flush(&mut totals, apply)?;
    Ok(totals)
}

#[derive(Default)]
struct Pending {
    changes: Vec<(Vec<u8>, Change)>,
    keys: HashSet<Vec<u8>>,
    size_bytes: usize,
    puts: u64,
    deletes: u64,
    first: Option<Position>,
    last: Option<Position>,
}

impl Pending {
    fn push(&mut self, key: Vec<u8>, change: Change, size: usize, is_put: bool, at: Position) {
        self.keys.insert(key.clone());
        self.changes.push((key, change));
        self.size_bytes += size;
        if is_put {
            self.puts += 1;
        } else {
            self.deletes += 1;
        }
        if self.first.is_none() {
            self.first = Some(at.clone());
        }
        self.last = Some(at);
    }

    fn flush(
        &mut self,
        totals: &mut Totals,
        apply: &mut dyn FnMut(Batch) -> Result<(), LoadError>,
    ) -> Result<(), LoadError> {
        let (Some(first), Some(last)) = (self.first.take(), self.last.take()) else {
            return Ok(());
        };
        let batch = Batch {
            changes: std::mem::take(&mut self.changes),
            first,
            last,
        };
        apply(batch)?;
        totals.items_put += self.puts;
        totals.items_deleted += self.deletes;
        totals.batches += 1;
        *self = Self::default();
        Ok(())
    }
}

/// The input of a load.
pub fn open_input(input: &str) -> Result<(Box<dyn BufRead>, Option<u64>), String> {
    if input == "-" {
        return Ok((Box::new(std::io::stdin().lock()), None));
    }
    let path = PathBuf::from(input);
    let file = std::fs::File::open(&path).map_err(|e| format!("{input}: {e}"))?;
    let length = file.metadata().ok().map(|m| m.len());
    Ok((
        Box::new(std::io::BufReader::with_capacity(1 << 20, file)),
        length,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use ddb_model::{KeyAttribute, KeyDef, ScalarAttributeType};

    fn schema() -> TableSchema {
        TableSchema::new(KeyDef {
            partition: KeyAttribute::new("pk", ScalarAttributeType::S),
            sort: None,
        })
    }

    fn entries(text: &str) -> Vec<Result<Entry, LoadError>> {
        Documents::new(text.as_bytes(), "T").collect()
    }

    /// Runs a load of `text` with batches of at most `items_max`, returning per batch the
    /// (key, is put) pairs.
    fn batches(text: &str, items_max: usize) -> Result<Vec<Vec<(String, bool)>>, LoadError> {
        let mut out = Vec::new();
        let limits = Limits {
            items_max,
            bytes_max: BATCH_BYTES_MAX,
        };
        apply_in_batches(
            Documents::new(text.as_bytes(), "T"),
            &schema(),
            limits,
            &mut |batch| {
                out.push(
                    batch
                        .changes
                        .iter()
                        .map(|(key, change)| {
                            let decoded = ddb_model::decode_key(key).unwrap();
                            let pk = decoded[0].as_s().unwrap().to_owned();
                            (pk, matches!(change, Change::Put(_)))
                        })
                        .collect(),
                );
                Ok(())
            },
        )?;
        Ok(out)
    }

    fn put(pk: &str) -> (String, bool) {
        (pk.to_owned(), true)
    }

    #[test]
    fn json_lines_in_every_shape() {
        let text = "{\"pk\":{\"S\":\"a\"}}\n\n{\"Item\":{\"pk\":{\"S\":\"b\"}}}\n{\"T\":[{\"DeleteRequest\":{\"Key\":{\"pk\":{\"S\":\"a\"}}}}]}\n";
        let all: Vec<Entry> = entries(text).into_iter().map(Result::unwrap).collect();
        let positions: Vec<String> = all.iter().map(|e| e.position.to_string()).collect();
        assert_eq!(positions, ["line 1", "line 3", "line 4"]);
        assert!(matches!(all[2].write, WriteRequest::Delete(_)));
    }

    #[test]
    fn a_multi_line_batch_write_document() {
        let text = "{\n  \"RequestItems\": {\n    \"T\": [\n      {\"PutRequest\": {\"Item\": {\"pk\": {\"S\": \"a\"}}}},\n      {\"DeleteRequest\": {\"Key\": {\"pk\": {\"S\": \"b\"}}}}\n    ]\n  }\n}\n";
        let mut documents = Documents::new(text.as_bytes(), "T");
        let all: Vec<Entry> = documents.by_ref().map(Result::unwrap).collect();
        assert_eq!(all.len(), 2);
        assert_eq!(all[1].position.to_string(), "RequestItems[T][1]");
        assert_eq!(documents.lines(), 8);
        assert_eq!(documents.bytes_read(), u64::try_from(text.len()).unwrap());
        // A pretty-printed bare item is one put.
        let all = entries("{\n \"pk\": {\"S\": \"a\"}\n}\n");
        assert_eq!(all.len(), 1);
        assert!(matches!(
            &all[0],
            Ok(Entry {
                position: Position::Line(1),
                ..
            })
        ));
    }

    #[test]
    fn errors_name_the_line() {
        let text = "{\"pk\":{\"S\":\"a\"}}\n{\"pk\":{\"S\":\"b\"}\n";
        let all = entries(text);
        assert!(all[0].is_ok());
        let Err(LoadError::Invalid { position, error }) = &all[1] else {
            panic!("{:?}", all[1])
        };
        assert_eq!(*position, Position::Line(2));
        assert_eq!(error.name(), "SerializationException");
        assert_eq!(all.len(), 2);

        let err = batches("{\"pk\":{\"S\":\"a\"}}\n{\"sk\":{\"S\":\"b\"}}\n", 10).unwrap_err();
        let LoadError::Invalid { position, error } = err else {
            panic!("{err}")
        };
        assert_eq!(position, Position::Line(2));
        assert_eq!(error.name(), "ValidationException");

        let err = batches(
            "{\"Other\":[{\"PutRequest\":{\"Item\":{\"pk\":{\"S\":\"a\"}}}}]}\n",
            10,
        )
        .unwrap_err();
        assert!(
            err.to_string().starts_with(
                "line 1: ValidationException: the BatchWriteItem request writes to table 'Other'"
            ),
            "{err}"
        );
    }

    #[test]
    fn batches_keep_file_order_and_never_repeat_a_key() {
        let text = [
            r#"{"pk":{"S":"a"}}"#,
            r#"{"pk":{"S":"b"}}"#,
            r#"{"T":[{"DeleteRequest":{"Key":{"pk":{"S":"a"}}}}]}"#,
            r#"{"pk":{"S":"c"}}"#,
            r#"{"pk":{"S":"d"}}"#,
            r#"{"pk":{"S":"e"}}"#,
        ]
        .join("\n");
        let got = batches(&text, 3).unwrap();
        assert_eq!(
            got,
            vec![
                vec![put("a"), put("b")],
                vec![("a".to_owned(), false), put("c"), put("d")],
                vec![put("e")],
            ]
        );
        // Bytes bound a batch too.
        let mut out = Vec::new();
        let totals = apply_in_batches(
            Documents::new(text.as_bytes(), "T"),
            &schema(),
            Limits {
                items_max: 100,
                bytes_max: 1,
            },
            &mut |batch| {
                out.push(batch.changes.len());
                Ok(())
            },
        )
        .unwrap();
        assert_eq!(out, vec![1; 6]);
        assert_eq!(
            totals,
            Totals {
                items_put: 5,
                items_deleted: 1,
                batches: 6
            }
        );
    }

    #[test]
    fn a_refused_batch_stops_the_load() {
        let text = "{\"pk\":{\"S\":\"a\"}}\n{\"pk\":{\"S\":\"b\"}}\n{\"pk\":{\"S\":\"c\"}}\n";
        let mut applied = 0;
        let err = apply_in_batches(
            Documents::new(text.as_bytes(), "T"),
            &schema(),
            Limits {
                items_max: 2,
                bytes_max: BATCH_BYTES_MAX,
            },
            &mut |batch| {
                applied += 1;
                if applied == 2 {
                    return Err(LoadError::Rejected {
                        first: batch.first,
                        last: batch.last,
                        error: DdbError::validation("no"),
                    });
                }
                Ok(())
            },
        )
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "the batch from line 3 to line 3 was refused and not written: ValidationException: no"
        );
        assert!(batches("", 3).unwrap().is_empty());
    }
}
