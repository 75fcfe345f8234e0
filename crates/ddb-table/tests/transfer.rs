//! Export to and import from DynamoDB's S3 export layout through the database: an export read
//! back by an import equals the source (with LSIs and GSIs on the imported table); an import of
//! the hand-written AWS-format sample (binary and set types included) holds exactly its items;
//! bad lines, invalid items and duplicates are counted (the last duplicate wins) with their
//! locations, never fatal; the request rules (PITR off, unknown formats, existing tables).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use ddb_io::Io;
use ddb_model::ErrorKind;
use ddb_table::{Database, DatabaseOptions};
use serde_json::{Value, json};

fn io() -> Arc<dyn Io> {
    ddb_io::select_backend(ddb_io::BackendChoice::from_env().unwrap()).unwrap()
}

fn options() -> DatabaseOptions {
    let mut options = DatabaseOptions {
        io: Some(io()),
        ..DatabaseOptions::default()
    };
    options.table.background = false;
    options.table.merge_memory_bytes = 128 << 10;
    options.backup.worker = false;
    options
}

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn orders(name: &str) -> Value {
    json!({
        "TableName": name,
        "AttributeDefinitions": [
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "N"},
            {"AttributeName": "at", "AttributeType": "N"},
            {"AttributeName": "shop", "AttributeType": "S"}
        ],
        "KeySchema": [
            {"AttributeName": "pk", "KeyType": "HASH"},
            {"AttributeName": "sk", "KeyType": "RANGE"}
        ],
        "LocalSecondaryIndexes": [{
            "IndexName": "by_at",
            "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "at", "KeyType": "RANGE"}],
            "Projection": {"ProjectionType": "ALL"}
        }],
        "GlobalSecondaryIndexes": [{
            "IndexName": "by_shop",
            "KeySchema": [{"AttributeName": "shop", "KeyType": "HASH"}],
            "Projection": {"ProjectionType": "KEYS_ONLY"}
        }],
        "BillingMode": "PAY_PER_REQUEST"
    })
}

fn item(n: u64) -> Value {
    let mut item = json!({
        "pk": {"S": format!("user#{}", n % 17)},
        "sk": {"N": n.to_string()},
        "at": {"N": ((n * 37) % 101).to_string()},
        "blob": {"B": "AAECAw=="},
        "tags": {"SS": [format!("t{}", n % 3), "x"]},
        "scores": {"NS": ["1", format!("{}.5", n % 7)]},
        "nested": {"M": {"l": {"L": [{"BOOL": true}, {"NULL": true}, {"BS": ["AA=="]}]}}},
    });
    if !n.is_multiple_of(4) {
        item["shop"] = json!({"S": format!("shop{}", n % 5)});
    }
    item
}

fn scan_all(db: &Database, table: &str) -> Vec<Value> {
    let mut out = Vec::new();
    let mut request = json!({"TableName": table});
    loop {
        let page = db.call("Scan", &request).unwrap();
        out.extend(page["Items"].as_array().unwrap().iter().cloned());
        match page.get("LastEvaluatedKey") {
            Some(k) => request["ExclusiveStartKey"] = k.clone(),
            None => break,
        }
    }
    out.sort_by_key(|i| i.to_string());
    out
}

fn kind(result: ddb_model::Result<Value>) -> ErrorKind {
    result.unwrap_err().kind()
}

fn finish_backfills(db: &Database, table: &str) {
    for _ in 0..10 {
        let d = db
            .call("DescribeTable", &json!({"TableName": table}))
            .unwrap();
        if d["Table"]["GlobalSecondaryIndexes"]
            .as_array()
            .is_none_or(|g| g.iter().all(|g| g["IndexStatus"] == "ACTIVE"))
        {
            return;
        }
        db.engine_table(table).unwrap().run_pending_work().unwrap();
    }
    panic!("backfills did not finish");
}

#[test]
fn export_then_import_equals_the_source() {
    let dir = tempfile::tempdir().unwrap();
    let bucket = tempfile::tempdir().unwrap();
    let db = Database::open(dir.path(), options()).unwrap();
    db.call("CreateTable", &orders("src")).unwrap();
    let export = |db: &Database| {
        db.call(
            "ExportTableToPointInTime",
            &json!({"TableName": "src", "S3Bucket": bucket.path().to_str().unwrap(), "S3Prefix": "nightly/x"}),
        )
    };
    assert_eq!(kind(export(&db)), ErrorKind::PointInTimeRecoveryUnavailable);
    db.call(
        "UpdateContinuousBackups",
        &json!({"TableName": "src", "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": true}}),
    )
    .unwrap();
    for n in 0..300 {
        db.call("PutItem", &json!({"TableName": "src", "Item": item(n)}))
            .unwrap();
        if n == 150 {
            db.checkpoint("src").unwrap();
        }
    }
    for n in (0..300).step_by(7) {
        db.call(
            "DeleteItem",
            &json!({"TableName": "src", "Key": {"pk": {"S": format!("user#{}", n % 17)}, "sk": {"N": n.to_string()}}}),
        )
        .unwrap();
    }
    let source = scan_all(&db, "src");
    let started = export(&db).unwrap();
    let arn = started["ExportDescription"]["ExportArn"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(started["ExportDescription"]["ExportStatus"], "IN_PROGRESS");
    // Writes after the export's time are not in it.
    db.call("PutItem", &json!({"TableName": "src", "Item": item(1000)}))
        .unwrap();
    db.run_restore_jobs().unwrap();
    let described = db
        .call("DescribeExport", &json!({"ExportArn": arn}))
        .unwrap();
    let description = &described["ExportDescription"];
    assert_eq!(description["ExportStatus"], "COMPLETED", "{description}");
    assert_eq!(description["ItemCount"], source.len());
    let manifest_key = description["ExportManifest"].as_str().unwrap();
    assert!(bucket.path().join(manifest_key).exists(), "{manifest_key}");
    let listed = db.call("ListExports", &json!({})).unwrap();
    assert_eq!(listed["ExportSummaries"][0]["ExportArn"], arn.as_str());
    // A second export (elsewhere: one prefix holding two exports is ambiguous to an import),
    // then paging one at a time.
    let second = db
        .call(
            "ExportTableToPointInTime",
            &json!({"TableName": "src", "S3Bucket": bucket.path().to_str().unwrap(), "S3Prefix": "other"}),
        )
        .unwrap()["ExportDescription"]["ExportArn"]
        .as_str()
        .unwrap()
        .to_owned();
    db.run_restore_jobs().unwrap();
    let first_page = db.call("ListExports", &json!({"MaxResults": 1})).unwrap();
    assert_eq!(first_page["ExportSummaries"].as_array().unwrap().len(), 1);
    assert_eq!(first_page["ExportSummaries"][0]["ExportArn"], arn.as_str());
    let token = first_page["NextToken"].as_str().unwrap();
    let second_page = db
        .call("ListExports", &json!({"MaxResults": 1, "NextToken": token}))
        .unwrap();
    assert_eq!(
        second_page["ExportSummaries"][0]["ExportArn"],
        second.as_str()
    );
    assert!(second_page.get("NextToken").is_none(), "{second_page}");
    let other_table = db
        .call(
            "ListExports",
            &json!({"TableArn": "arn:aws:dynamodb:ddblocal:000000000000:table/nope"}),
        )
        .unwrap();
    assert_eq!(other_table["ExportSummaries"], json!([]));

    // Import it, with the LSI and GSI, into a new table.
    let mut parameters = orders("copy");
    parameters.as_object_mut().unwrap().remove("BillingMode");
    parameters["BillingMode"] = json!("PAY_PER_REQUEST");
    let request = json!({
        "S3BucketSource": {"S3Bucket": bucket.path().to_str().unwrap(), "S3KeyPrefix": "nightly/x"},
        "InputFormat": "DYNAMODB_JSON",
        "InputCompressionType": "GZIP",
        "TableCreationParameters": parameters
    });
    let started = db.call("ImportTable", &request).unwrap();
    let import_arn = started["ImportTableDescription"]["ImportArn"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        kind(db.call("ImportTable", &request)),
        ErrorKind::ResourceInUse
    );
    assert_eq!(
        kind(db.call("Scan", &json!({"TableName": "copy"}))),
        ErrorKind::ResourceNotFound
    );
    db.run_restore_jobs().unwrap();
    let described = db
        .call("DescribeImport", &json!({"ImportArn": import_arn}))
        .unwrap();
    let d = &described["ImportTableDescription"];
    assert_eq!(d["ImportStatus"], "COMPLETED", "{d}");
    assert_eq!(d["ImportedItemCount"], source.len());
    assert_eq!(d["ProcessedItemCount"], source.len());
    assert_eq!(d["ErrorCount"], 0);
    assert_eq!(scan_all(&db, "copy"), source);
    finish_backfills(&db, "copy");
    // The source's GSI applier is stepped too.
    db.engine_table("src").unwrap().run_pending_work().unwrap();
    for shop in 0..5 {
        let q = |table: &str| {
            let mut items = db
                .call(
                    "Query",
                    &json!({"TableName": table, "IndexName": "by_shop",
                            "KeyConditionExpression": "shop = :s",
                            "ExpressionAttributeValues": {":s": {"S": format!("shop{shop}")}}}),
                )
                .unwrap()["Items"]
                .as_array()
                .unwrap()
                .clone();
            items.sort_by_key(|i| i.to_string());
            items
        };
        let mut want = q("src");
        // src got one more item after the export.
        want.retain(|i| i["sk"]["N"] != "1000");
        assert_eq!(q("copy"), want);
    }
    let description = db
        .call("DescribeTable", &json!({"TableName": "copy"}))
        .unwrap();
    assert!(description["Table"].get("RestoreSummary").is_none());
}

#[test]
fn the_hand_written_aws_sample_imports_exactly() {
    let dir = tempfile::tempdir().unwrap();
    let db = Database::open(dir.path(), options()).unwrap();
    let vectors = repo().join("formats/export/vectors");
    let request = json!({
        "S3BucketSource": {"S3Bucket": vectors.join("aws-sample").to_str().unwrap(), "S3KeyPrefix": "exports/2024"},
        "InputFormat": "DYNAMODB_JSON",
        "InputCompressionType": "GZIP",
        "TableCreationParameters": {
            "TableName": "Music",
            "AttributeDefinitions": [
                {"AttributeName": "Artist", "AttributeType": "S"},
                {"AttributeName": "SongTitle", "AttributeType": "S"}
            ],
            "KeySchema": [
                {"AttributeName": "Artist", "KeyType": "HASH"},
                {"AttributeName": "SongTitle", "KeyType": "RANGE"}
            ],
            "BillingMode": "PAY_PER_REQUEST"
        }
    });
    let arn = db.call("ImportTable", &request).unwrap()["ImportTableDescription"]["ImportArn"]
        .as_str()
        .unwrap()
        .to_owned();
    db.run_restore_jobs().unwrap();
    let d = db
        .call("DescribeImport", &json!({"ImportArn": arn}))
        .unwrap();
    assert_eq!(
        d["ImportTableDescription"]["ImportStatus"], "COMPLETED",
        "{d}"
    );
    let expected: Vec<Value> = std::fs::read_to_string(vectors.join("aws-sample-items.jsonl"))
        .unwrap()
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let item: Value = serde_json::from_str(l).unwrap();
            // Canonical form: what the table returns.
            let parsed = ddb_model::Item::from_dynamodb_json(&item.to_string()).unwrap();
            serde_json::from_str(&parsed.to_canonical_json()).unwrap()
        })
        .collect();
    let mut expected = expected;
    expected.sort_by_key(|i: &Value| i.to_string());
    let got: Vec<Value> = scan_all(&db, "Music")
        .into_iter()
        .map(|i| {
            let parsed = ddb_model::Item::from_dynamodb_json(&i.to_string()).unwrap();
            serde_json::from_str(&parsed.to_canonical_json()).unwrap()
        })
        .collect();
    let mut got = got;
    got.sort_by_key(|i: &Value| i.to_string());
    assert_eq!(got, expected);
}

fn gzip_lines(path: &Path, lines: &[String]) {
    let file = std::fs::File::create(path).unwrap();
    let mut encoder = flate2::write::GzEncoder::new(file, flate2::Compression::default());
    for line in lines {
        writeln!(encoder, "{line}").unwrap();
    }
    encoder.finish().unwrap();
}

#[test]
fn bad_lines_invalid_items_and_duplicates_are_counted_not_fatal() {
    let dir = tempfile::tempdir().unwrap();
    let db = Database::open(dir.path(), options()).unwrap();
    let source = tempfile::tempdir().unwrap();
    let line = |pk: &str, sk: u64, v: &str| {
        json!({"Item": {"pk": {"S": pk}, "sk": {"N": sk.to_string()}, "v": {"S": v}}}).to_string()
    };
    gzip_lines(
        &source.path().join("a.json.gz"),
        &[
            line("p", 1, "first"),
            "{not json".to_owned(),
            line("p", 2, "only"),
            json!({"Item": {"pk": {"S": "p"}}}).to_string(), // no sort key
            json!({"Item": {"pk": {"N": "1"}, "sk": {"N": "1"}}}).to_string(), // wrong key type
            String::new(),
        ],
    );
    gzip_lines(
        &source.path().join("b.json.gz"),
        &[line("p", 1, "last"), line("q", 9, "q")],
    );
    let mut parameters = orders("dups");
    parameters
        .as_object_mut()
        .unwrap()
        .remove("GlobalSecondaryIndexes");
    let obj = parameters.as_object_mut().unwrap();
    obj.insert(
        "AttributeDefinitions".to_owned(),
        json!([
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "N"},
            {"AttributeName": "at", "AttributeType": "N"}
        ]),
    );
    let request = json!({
        "S3BucketSource": {"S3Bucket": source.path().to_str().unwrap()},
        "InputFormat": "DYNAMODB_JSON",
        "InputCompressionType": "GZIP",
        "TableCreationParameters": parameters
    });
    let arn = db.call("ImportTable", &request).unwrap()["ImportTableDescription"]["ImportArn"]
        .as_str()
        .unwrap()
        .to_owned();
    db.run_restore_jobs().unwrap();
    let d = db
        .call("DescribeImport", &json!({"ImportArn": arn}))
        .unwrap();
    let d = &d["ImportTableDescription"];
    assert_eq!(d["ImportStatus"], "COMPLETED", "{d}");
    assert_eq!(d["ProcessedItemCount"], 7, "{d}");
    assert_eq!(d["ErrorCount"], 3, "{d}");
    assert_eq!(d["ImportedItemCount"], 3, "{d}");
    assert_eq!(d["DuplicateItemCount"], 1, "{d}");
    let samples: Vec<&str> = d["ErrorSamples"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap())
        .collect();
    assert!(samples[0].starts_with("a.json.gz:2:"), "{samples:?}");
    assert!(samples[1].starts_with("a.json.gz:4:"), "{samples:?}");
    assert!(samples[2].starts_with("a.json.gz:5:"), "{samples:?}");
    let items = scan_all(&db, "dups");
    assert_eq!(items.len(), 3);
    let p1 = items.iter().find(|i| i["sk"]["N"] == "1").unwrap();
    assert_eq!(p1["v"]["S"], "last");

    // Unknown formats, and a source with no files: the import fails and leaves no table.
    let mut csv = request.clone();
    csv["InputFormat"] = json!("CSV");
    assert_eq!(kind(db.call("ImportTable", &csv)), ErrorKind::Validation);
    let empty = tempfile::tempdir().unwrap();
    let mut nothing = request.clone();
    nothing["S3BucketSource"]["S3Bucket"] = json!(empty.path().to_str().unwrap());
    nothing["TableCreationParameters"]["TableName"] = json!("nothing");
    let arn = db.call("ImportTable", &nothing).unwrap()["ImportTableDescription"]["ImportArn"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(db.run_restore_jobs().is_err());
    let d = db
        .call("DescribeImport", &json!({"ImportArn": arn}))
        .unwrap();
    assert_eq!(d["ImportTableDescription"]["ImportStatus"], "FAILED", "{d}");
    assert_eq!(
        kind(db.call("DescribeTable", &json!({"TableName": "nothing"}))),
        ErrorKind::ResourceNotFound
    );
}
