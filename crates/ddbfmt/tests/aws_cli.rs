//! The `aws dynamodb`-shaped commands end to end through `ddbfmt::run`, against a database
//! directory: tables, items, queries and scans with pagination, a GSI added online and waited
//! for, `load`, `checkpoint`, and the exit codes of every kind of failure.
//!
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::path::Path;
use std::process::ExitCode;

use serde_json::{Value, json};

struct Db {
    dir: tempfile::TempDir,
}

struct Output {
    code: ExitCode,
    stdout: String,
    stderr: String,
}

impl Output {
    fn json(&self) -> Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}): {:?}", self.stdout))
    }

    fn assert_ok(&self) -> &Self {
        assert_eq!(self.code, ExitCode::SUCCESS, "stderr: {}", self.stderr);
        self
    }
}

impl Db {
    fn new() -> Self {
        Self {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn run(&self, args: &[&str]) -> Output {
        let data_dir = self.path().to_str().unwrap().to_owned();
        let mut argv = vec!["ddbfmt", "--data-dir", &data_dir];
        argv.extend_from_slice(args);
        let (mut stdout, mut stderr) = (Vec::new(), Vec::new());
        let code = ddbfmt::run(argv, &mut stdout, &mut stderr);
        Output {
            code,
            stdout: String::from_utf8(stdout).unwrap(),
            stderr: String::from_utf8(stderr).unwrap(),
        }
    }

    /// A table `Tbl` with key (pk S, sk N), ACTIVE.
    fn with_table() -> Self {
        let db = Self::new();
        let out = db.run(&[
            "create-table",
            "--table-name",
            "Tbl",
            "--attribute-definitions",
            "AttributeName=pk,AttributeType=S",
            "AttributeName=sk,AttributeType=N",
            "--key-schema",
            "AttributeName=pk,KeyType=HASH",
            "AttributeName=sk,KeyType=RANGE",
            "--billing-mode",
            "PAY_PER_REQUEST",
        ]);
        out.assert_ok();
        let description = &out.json()["TableDescription"];
        assert_eq!(description["TableName"], "Tbl");
        assert!(
            ["CREATING", "ACTIVE"].contains(&description["TableStatus"].as_str().unwrap()),
            "{description}"
        );
        db.run(&[
            "wait",
            "table-exists",
            "--table-name",
            "Tbl",
            "--timeout-seconds",
            "60",
        ])
        .assert_ok();
        db
    }

    fn put(&self, pk: &str, sk: u32, extra: Value) {
        let mut item = json!({"pk": {"S": pk}, "sk": {"N": sk.to_string()}});
        for (k, v) in extra.as_object().unwrap() {
            item[k] = v.clone();
        }
        let out = self.run(&[
            "put-item",
            "--table-name",
            "Tbl",
            "--item",
            &item.to_string(),
        ]);
        out.assert_ok();
        assert_eq!(out.stdout, "", "PutItem prints nothing");
    }
}

#[test]
fn tables_are_created_described_listed_and_deleted() {
    let db = Db::with_table();
    let described = db.run(&["describe-table", "--table-name", "Tbl"]);
    described.assert_ok();
    assert_eq!(described.json()["Table"]["TableStatus"], "ACTIVE");
    assert!(
        described
            .stdout
            .starts_with("{\n    \"Table\": {\n        \"")
    );
    let listed = db.run(&["list-tables"]);
    listed.assert_ok();
    assert_eq!(listed.json(), json!({"TableNames": ["Tbl"]}));
    db.run(&["delete-table", "--table-name", "Tbl"]).assert_ok();
    db.run(&[
        "wait",
        "table-not-exists",
        "--table-name",
        "Tbl",
        "--timeout-seconds",
        "60",
    ])
    .assert_ok();
    let missing = db.run(&["describe-table", "--table-name", "Tbl"]);
    assert_eq!(missing.code, ExitCode::from(254));
    assert!(
        missing.stderr.contains(
            "An error occurred (ResourceNotFoundException) when calling the DescribeTable operation: "
        ),
        "{}",
        missing.stderr
    );
}

#[test]
fn items_are_put_read_updated_and_deleted() {
    let db = Db::with_table();
    db.put("a", 1, json!({"v": {"S": "one"}}));
    let key = r#"{"pk":{"S":"a"},"sk":{"N":"1"}}"#;
    let got = db.run(&[
        "get-item",
        "--table-name",
        "Tbl",
        "--key",
        key,
        "--consistent-read",
    ]);
    got.assert_ok();
    assert_eq!(
        got.json(),
        json!({"Item": {"pk": {"S": "a"}, "sk": {"N": "1"}, "v": {"S": "one"}}})
    );
    let updated = db.run(&[
        "update-item",
        "--table-name",
        "Tbl",
        "--key",
        "pk={S=a},sk={N=1}",
        "--update-expression",
        "SET v = :v",
        "--expression-attribute-values",
        r#"{":v":{"S":"uno"}}"#,
        "--return-values",
        "UPDATED_NEW",
    ]);
    updated.assert_ok();
    assert_eq!(updated.json(), json!({"Attributes": {"v": {"S": "uno"}}}));
    db.run(&["delete-item", "--table-name", "Tbl", "--key", key])
        .assert_ok();
    let gone = db.run(&["get-item", "--table-name", "Tbl", "--key", key]);
    gone.assert_ok();
    assert_eq!(gone.stdout, "", "an empty GetItem response prints nothing");

    let conditional = db.run(&[
        "put-item",
        "--table-name",
        "Tbl",
        "--item",
        r#"{"pk":{"S":"b"},"sk":{"N":"2"}}"#,
        "--condition-expression",
        "attribute_exists(pk)",
    ]);
    assert_eq!(conditional.code, ExitCode::from(254));
    assert!(
        conditional.stderr.contains(
            "An error occurred (ConditionalCheckFailedException) when calling the PutItem operation"
        ),
        "{}",
        conditional.stderr
    );
    let invalid = db.run(&[
        "put-item",
        "--table-name",
        "Tbl",
        "--item",
        r#"{"pk":{"S":"b"}}"#,
    ]);
    assert_eq!(invalid.code, ExitCode::from(254));
    assert!(
        invalid.stderr.contains("(ValidationException)"),
        "{}",
        invalid.stderr
    );
}

#[test]
fn batch_writes_and_gets() {
    let db = Db::with_table();
    let writes = json!({"Tbl": [
        {"PutRequest": {"Item": {"pk": {"S": "a"}, "sk": {"N": "1"}}}},
        {"PutRequest": {"Item": {"pk": {"S": "a"}, "sk": {"N": "2"}}}}
    ]});
    let out = db.run(&["batch-write-item", "--request-items", &writes.to_string()]);
    out.assert_ok();
    assert_eq!(out.json()["UnprocessedItems"], json!({}));
    let keys = json!({"Tbl": {"Keys": [{"pk": {"S": "a"}, "sk": {"N": "2"}}]}});
    let out = db.run(&["batch-get-item", "--request-items", &keys.to_string()]);
    out.assert_ok();
    assert_eq!(
        out.json()["Responses"]["Tbl"],
        json!([{"pk": {"S": "a"}, "sk": {"N": "2"}}])
    );
}

#[test]
fn queries_and_scans_paginate_like_the_aws_cli() {
    let db = Db::with_table();
    for sk in 0..7 {
        db.put("p", sk, json!({}));
    }
    db.put("q", 0, json!({}));
    let query = db.run(&[
        "query",
        "--table-name",
        "Tbl",
        "--key-condition-expression",
        "pk = :p AND sk >= :s",
        "--expression-attribute-values",
        r#"{":p":{"S":"p"},":s":{"N":"2"}}"#,
        "--no-scan-index-forward",
        "--page-size",
        "2",
    ]);
    query.assert_ok();
    let result = query.json();
    let sks: Vec<&str> = result["Items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["sk"]["N"].as_str().unwrap())
        .collect();
    assert_eq!(sks, ["6", "5", "4", "3", "2"]);
    assert_eq!(result["Count"], 5);
    assert_eq!(result["ConsumedCapacity"], Value::Null);
    assert!(result.get("LastEvaluatedKey").is_none());

    // --max-items and --starting-token walk the table exactly once.
    let mut seen = 0;
    let mut token: Option<String> = None;
    loop {
        let mut args = vec![
            "scan",
            "--table-name",
            "Tbl",
            "--max-items",
            "3",
            "--page-size",
            "2",
        ];
        if let Some(t) = &token {
            args.extend(["--starting-token", t.as_str()]);
        }
        let out = db.run(&args);
        out.assert_ok();
        let page = out.json();
        seen += page["Items"].as_array().unwrap().len();
        match page.get("NextToken") {
            Some(t) => token = Some(t.as_str().unwrap().to_owned()),
            None => break,
        }
    }
    assert_eq!(seen, 8);

    // --limit is manual paging: one page, with its LastEvaluatedKey.
    let one = db.run(&["scan", "--table-name", "Tbl", "--limit", "3"]);
    one.assert_ok();
    let page = one.json();
    assert_eq!(page["Count"], 3);
    assert!(page.get("LastEvaluatedKey").is_some());
}

#[test]
fn a_gsi_added_online_is_waited_for_and_queried() {
    let db = Db::with_table();
    db.put("a", 1, json!({"g": {"S": "x"}}));
    db.put("b", 2, json!({"g": {"S": "x"}}));
    db.put("c", 3, json!({}));
    let out = db.run(&[
        "update-table",
        "--table-name",
        "Tbl",
        "--attribute-definitions",
        "AttributeName=g,AttributeType=S",
        "--global-secondary-index-updates",
        r#"[{"Create":{"IndexName":"byG","KeySchema":[{"AttributeName":"g","KeyType":"HASH"}],"Projection":{"ProjectionType":"ALL"}}}]"#,
    ]);
    out.assert_ok();
    db.run(&[
        "wait",
        "index-active",
        "--table-name",
        "Tbl",
        "--index-name",
        "byG",
        "--timeout-seconds",
        "60",
    ])
    .assert_ok();
    let out = db.run(&[
        "query",
        "--table-name",
        "Tbl",
        "--index-name",
        "byG",
        "--key-condition-expression",
        "g = :g",
        "--expression-attribute-values",
        r#"{":g":{"S":"x"}}"#,
    ]);
    out.assert_ok();
    assert_eq!(out.json()["Count"], 2);
}

#[test]
fn load_applies_puts_and_deletes_in_file_order() {
    let db = Db::with_table();
    let file = db.path().join("items.jsonl");
    let mut lines = Vec::new();
    for sk in 0..10 {
        lines.push(
            json!({"pk": {"S": "a"}, "sk": {"N": sk.to_string()}, "v": {"N": "1"}}).to_string(),
        );
    }
    // The same key again (a new batch), an export line, and a delete.
    lines.push(json!({"Item": {"pk": {"S": "a"}, "sk": {"N": "0"}, "v": {"N": "2"}}}).to_string());
    lines.push(
        json!({"Tbl": [{"DeleteRequest": {"Key": {"pk": {"S": "a"}, "sk": {"N": "9"}}}}]})
            .to_string(),
    );
    std::fs::write(&file, lines.join("\n") + "\n").unwrap();
    let out = db.run(&[
        "load",
        "--table-name",
        "Tbl",
        "--batch-items",
        "4",
        file.to_str().unwrap(),
    ]);
    out.assert_ok();
    let summary = out.json();
    assert_eq!(summary["ItemsPut"], 11);
    assert_eq!(summary["ItemsDeleted"], 1);
    assert_eq!(summary["Lines"], 12);
    assert!(
        out.stderr.is_empty(),
        "no progress when stderr is not a terminal"
    );

    let scan = db.run(&["scan", "--table-name", "Tbl"]);
    scan.assert_ok();
    assert_eq!(scan.json()["Count"], 9);
    let got = db.run(&[
        "get-item",
        "--table-name",
        "Tbl",
        "--key",
        r#"{"pk":{"S":"a"},"sk":{"N":"0"}}"#,
    ]);
    assert_eq!(got.json()["Item"]["v"], json!({"N": "2"}));

    // A bad line is named, and the writes before its batch stay.
    let bad = db.path().join("bad.jsonl");
    std::fs::write(
        &bad,
        "{\"pk\":{\"S\":\"z\"},\"sk\":{\"N\":\"1\"}}\n{\"pk\":{\"S\":\"z\"}}\n",
    )
    .unwrap();
    let out = db.run(&["load", "--table-name", "Tbl", bad.to_str().unwrap()]);
    assert_eq!(out.code, ExitCode::from(254));
    assert!(
        out.stderr.contains("line 2: ValidationException"),
        "{}",
        out.stderr
    );

    db.run(&["checkpoint", "--table-name", "Tbl"]).assert_ok();
    let scan = db.run(&["scan", "--table-name", "Tbl", "--select", "COUNT"]);
    assert_eq!(scan.json()["Count"], 9);
}

#[test]
fn exit_codes() {
    let db = Db::with_table();
    // 252: the CLI refuses before any request.
    let out = db.run(&["put-item", "--table-name", "Tbl"]);
    assert_eq!(out.code, ExitCode::from(252));
    let out = db.run(&["put-item", "--table-name", "Tbl", "--item", "{bad"]);
    assert_eq!(out.code, ExitCode::from(252));
    assert!(
        out.stderr
            .contains("Error parsing parameter '--item': Invalid JSON")
    );
    let out = db.run(&["scan", "--table-name", "Tbl", "--bogus"]);
    assert_eq!(out.code, ExitCode::from(252));
    // 254: the service refused.
    let out = db.run(&[
        "query",
        "--table-name",
        "Nope",
        "--key-condition-expression",
        "pk = :p",
        "--expression-attribute-values",
        r#"{":p":{"S":"a"}}"#,
    ]);
    assert_eq!(out.code, ExitCode::from(254));
    assert!(
        out.stderr.contains("when calling the Query operation"),
        "{}",
        out.stderr
    );
    // 255: a waiter that runs out of time.
    let out = db.run(&[
        "wait",
        "table-exists",
        "--table-name",
        "Nope",
        "--timeout-seconds",
        "0",
    ]);
    assert_eq!(out.code, ExitCode::from(255));
    assert!(
        out.stderr
            .contains("Waiter TableExists failed: Max attempts exceeded"),
        "{}",
        out.stderr
    );
}

#[test]
fn a_locked_database_is_reported() {
    let db = Db::with_table();
    let _owner = ddb_table::Database::open(db.path(), ddb_table::DatabaseOptions::default())
        .expect("open the database in this process");
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_ddbfmt"))
        .args(["--data-dir", db.path().to_str().unwrap()])
        .args(["describe-table", "--table-name", "Tbl"])
        .output()
        .unwrap();
    assert!(!child.status.success());
    let stderr = String::from_utf8(child.stderr).unwrap();
    assert!(stderr.contains("locked"), "{stderr}");
    assert!(child.stdout.is_empty());
}
