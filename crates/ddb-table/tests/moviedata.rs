//! The shared movie data set (4,609 movies) through the whole request path of a real database:
//! loaded with BatchWriteItem, read with Query on the table, an LSI and two GSIs, checkpointed,
//! reopened, and given a third GSI by UpdateTable with its backfill. Every answer is compared
//! with one computed from the parsed JSON in plain Rust, independently of the engine.
//!
//! Table `Movies`: `year` N (hash), `title` S (range). At load `info.rating` is lifted to a
//! top-level `rating` (N; 204 movies have none, so the rating indexes are sparse),
//! `info.genres[0]` to `genre` and `info.directors[0]` to `director`.
//! - LSI `ByRating` (`year`, `rating`), INCLUDE [`genre`];
//! - GSI `GenreRating` (`genre`, `rating`), INCLUDE [`title`];
//! - GSI `YearRating` (`year`, `rating`), KEYS_ONLY;
//! - GSI `DirectorYear` (`director`, `year`), ALL: added after reopening.
//!
//! Index entries with equal index keys are ordered by the table key (`store.rs`), so the
//! expected orders below sort by (index key, year, title).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::cmp::Ordering;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use ddb_table::{Database, DatabaseOptions, WaitFor};
use serde_json::{Map, Value, json};

const TABLE: &str = "Movies";
const MOVIES: usize = 4_609;
const WAIT: Duration = Duration::from_secs(60);

/// One movie as the test sees it: the keys and the lifted attributes.
#[derive(Debug, Clone)]
struct Movie {
    year: i64,
    title: String,
    rating: Option<f64>,
    genre: Option<String>,
    director: Option<String>,
    running_time_secs: Option<i64>,
}

fn movies_json() -> Vec<Value> {
    let path =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/moviedata.json");
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("the shared data set must be at {}: {e}", path.display()));
    let Value::Array(movies) = serde_json::from_str(&text).unwrap() else {
        panic!("not an array")
    };
    assert_eq!(movies.len(), MOVIES);
    movies
}

fn movie(plain: &Value) -> Movie {
    let info = &plain["info"];
    let first = |list: &str| info[list].get(0).map(|v| v.as_str().unwrap().to_owned());
    Movie {
        year: plain["year"].as_i64().unwrap(),
        title: plain["title"].as_str().unwrap().to_owned(),
        rating: info.get("rating").map(|r| r.as_f64().unwrap()),
        genre: first("genres"),
        director: first("directors"),
        running_time_secs: info.get("running_time_secs").map(|r| r.as_i64().unwrap()),
    }
}

/// Plain JSON → DynamoDB JSON: numbers N, strings S, booleans BOOL, null NULL, arrays L,
/// objects M.
fn ddb(plain: &Value) -> Value {
    match plain {
        Value::Number(n) => json!({"N": n.to_string()}),
        Value::String(s) => json!({"S": s}),
        Value::Bool(b) => json!({"BOOL": b}),
        Value::Null => json!({"NULL": true}),
        Value::Array(list) => json!({"L": list.iter().map(ddb).collect::<Vec<_>>()}),
        Value::Object(map) => json!({"M": ddb_map(map)}),
    }
}

fn ddb_map(map: &Map<String, Value>) -> Value {
    Value::Object(map.iter().map(|(k, v)| (k.clone(), ddb(v))).collect())
}

/// The stored item: the movie as DynamoDB JSON plus the lifted attributes.
fn item(plain: &Value) -> Value {
    let mut item = ddb_map(plain.as_object().unwrap());
    let info = &plain["info"];
    let out = item.as_object_mut().unwrap();
    if let Some(rating) = info.get("rating") {
        out.insert("rating".into(), ddb(rating));
    }
    if let Some(genre) = info["genres"].get(0) {
        out.insert("genre".into(), ddb(genre));
    }
    if let Some(director) = info["directors"].get(0) {
        out.insert("director".into(), ddb(director));
    }
    item
}

fn options() -> DatabaseOptions {
    let mut options = DatabaseOptions {
        io: Some(Arc::new(ddb_io::StdIo)),
        ..DatabaseOptions::default()
    };
    // Small snapshot blocks: the reads after the checkpoint cross many blocks.
    options.table.snapshot_block_bytes = 16 << 10;
    options
}

fn call(db: &Database, operation: &str, request: Value) -> Value {
    match db.call(operation, &request) {
        Ok(response) => response,
        Err(e) => panic!("{operation} {request} failed: {e}"),
    }
}

fn create(db: &Database) {
    let key = |hash: &str, range: &str| {
        json!([
            {"AttributeName": hash, "KeyType": "HASH"},
            {"AttributeName": range, "KeyType": "RANGE"}
        ])
    };
    call(
        db,
        "CreateTable",
        json!({
            "TableName": TABLE,
            "AttributeDefinitions": [
                {"AttributeName": "year", "AttributeType": "N"},
                {"AttributeName": "title", "AttributeType": "S"},
                {"AttributeName": "rating", "AttributeType": "N"},
                {"AttributeName": "genre", "AttributeType": "S"}
            ],
            "KeySchema": key("year", "title"),
            "LocalSecondaryIndexes": [{
                "IndexName": "ByRating",
                "KeySchema": key("year", "rating"),
                "Projection": {"ProjectionType": "INCLUDE", "NonKeyAttributes": ["genre"]}
            }],
            "GlobalSecondaryIndexes": [
                {
                    "IndexName": "GenreRating",
                    "KeySchema": key("genre", "rating"),
                    "Projection": {"ProjectionType": "INCLUDE", "NonKeyAttributes": ["title"]}
                },
                {
                    "IndexName": "YearRating",
                    "KeySchema": key("year", "rating"),
                    "Projection": {"ProjectionType": "KEYS_ONLY"}
                }
            ],
            "BillingMode": "PAY_PER_REQUEST"
        }),
    );
    assert!(
        db.wait(&WaitFor::TableExists(TABLE.into()), WAIT).unwrap(),
        "table ACTIVE"
    );
}

fn load(db: &Database, plain: &[Value]) {
    for chunk in plain.chunks(25) {
        let requests: Vec<Value> = chunk
            .iter()
            .map(|m| json!({"PutRequest": {"Item": item(m)}}))
            .collect();
        let response = call(
            db,
            "BatchWriteItem",
            json!({"RequestItems": {TABLE: requests}}),
        );
        assert_eq!(response["UnprocessedItems"], json!({}), "{response}");
    }
}

/// Every page of a Query with `Limit` `page`: the items in order and the number of pages.
fn query_pages(db: &Database, mut request: Value, page: usize) -> (Vec<Value>, usize) {
    request["TableName"] = json!(TABLE);
    request["Limit"] = json!(page);
    let mut items = Vec::new();
    let mut pages = 0;
    loop {
        let response = call(db, "Query", request.clone());
        pages += 1;
        let got = response["Items"].as_array().unwrap();
        assert!(got.len() <= page, "a page holds at most Limit items");
        assert_eq!(response["Count"], json!(got.len()));
        items.extend(got.iter().cloned());
        match response.get("LastEvaluatedKey") {
            Some(last) => request["ExclusiveStartKey"] = last.clone(),
            None => return (items, pages),
        }
        assert!(pages < 10_000, "paging does not end");
    }
}

fn query(db: &Database, mut request: Value) -> Vec<Value> {
    request["TableName"] = json!(TABLE);
    let response = call(db, "Query", request);
    assert!(response.get("LastEvaluatedKey").is_none(), "{response}");
    response["Items"].as_array().unwrap().clone()
}

fn s(item: &Value, name: &str) -> String {
    item[name]["S"]
        .as_str()
        .unwrap_or_else(|| panic!("{name} S in {item}"))
        .to_owned()
}

fn n(item: &Value, name: &str) -> f64 {
    item[name]["N"]
        .as_str()
        .unwrap_or_else(|| panic!("{name} N in {item}"))
        .parse()
        .unwrap()
}

/// The table key of a result item.
fn key_of(item: &Value) -> (i64, String) {
    let year = n(item, "year");
    assert_eq!(year.fract(), 0.0);
    #[allow(clippy::cast_possible_truncation, reason = "years are small integers")]
    (year as i64, s(item, "title"))
}

fn keys(movies: &[&Movie]) -> Vec<(i64, String)> {
    movies.iter().map(|m| (m.year, m.title.clone())).collect()
}

/// Ratings order as numbers; ties by the table key (year, then title bytes).
fn by_rating(a: &&Movie, b: &&Movie) -> Ordering {
    a.rating
        .partial_cmp(&b.rating)
        .unwrap()
        .then(a.year.cmp(&b.year))
        .then(a.title.cmp(&b.title))
}

/// The queries of the test, each checked against the answer computed from `movies`.
fn check_queries(db: &Database, movies: &[Movie]) {
    // The table: 2013's titles beginning with "The", backward, 7 to a page.
    let (items, pages) = query_pages(
        db,
        json!({
            "KeyConditionExpression": "#y = :y AND begins_with(title, :p)",
            "ExpressionAttributeNames": {"#y": "year"},
            "ExpressionAttributeValues": {":y": {"N": "2013"}, ":p": {"S": "The"}},
            "ScanIndexForward": false
        }),
        7,
    );
    let mut expected: Vec<&Movie> = movies
        .iter()
        .filter(|m| m.year == 2013 && m.title.starts_with("The"))
        .collect();
    expected.sort_by(|a, b| b.title.cmp(&a.title));
    assert_eq!(expected.len(), 86);
    assert_eq!(
        items.iter().map(key_of).collect::<Vec<_>>(),
        keys(&expected)
    );
    // 86 items fill 12 full pages and a last one of 2; the last page has no LastEvaluatedKey.
    assert_eq!(pages, 13);
    // Whole items: every attribute of the stored item comes back.
    assert!(items.iter().all(|i| i["info"]["M"].is_object()));

    // The LSI: 2012's movies rated at least 7 whose genre is Drama, by rating, with a projection
    // of projected attributes only.
    let items = query(
        db,
        json!({
            "IndexName": "ByRating",
            "KeyConditionExpression": "#y = :y AND rating >= :r",
            "FilterExpression": "genre = :g",
            "ProjectionExpression": "title, rating, genre",
            "ExpressionAttributeNames": {"#y": "year"},
            "ExpressionAttributeValues": {
                ":y": {"N": "2012"}, ":r": {"N": "7"}, ":g": {"S": "Drama"}
            }
        }),
    );
    let mut expected: Vec<&Movie> = movies
        .iter()
        .filter(|m| {
            m.year == 2012
                && m.rating.is_some_and(|r| r >= 7.0)
                && m.genre.as_deref() == Some("Drama")
        })
        .collect();
    expected.sort_by(by_rating);
    assert!(expected.len() > 3, "the query selects something");
    let got: Vec<(String, f64)> = items
        .iter()
        .map(|i| {
            let mut names: Vec<&String> = i.as_object().unwrap().keys().collect();
            names.sort();
            assert_eq!(names, ["genre", "rating", "title"], "projected: {i}");
            (s(i, "title"), n(i, "rating"))
        })
        .collect();
    let want: Vec<(String, f64)> = expected
        .iter()
        .map(|m| (m.title.clone(), m.rating.unwrap()))
        .collect();
    assert_eq!(got, want);

    // The LSI again, projecting an attribute it does not hold: the table item is fetched.
    // 2011's five lowest-rated movies, paged two at a time.
    let (items, _) = query_pages(
        db,
        json!({
            "IndexName": "ByRating",
            "KeyConditionExpression": "#y = :y",
            "FilterExpression": "attribute_exists(info.running_time_secs)",
            "ProjectionExpression": "title, info.running_time_secs",
            "ExpressionAttributeNames": {"#y": "year"},
            "ExpressionAttributeValues": {":y": {"N": "2011"}}
        }),
        50,
    );
    let mut expected: Vec<&Movie> = movies
        .iter()
        .filter(|m| m.year == 2011 && m.rating.is_some() && m.running_time_secs.is_some())
        .collect();
    expected.sort_by(by_rating);
    let got: Vec<(String, f64)> = items
        .iter()
        .map(|i| (s(i, "title"), n(&i["info"]["M"], "running_time_secs")))
        .collect();
    #[allow(clippy::cast_precision_loss, reason = "running times are small")]
    let want: Vec<(String, f64)> = expected
        .iter()
        .map(|m| (m.title.clone(), m.running_time_secs.unwrap() as f64))
        .collect();
    assert_eq!(got, want);

    // GSI GenreRating: the ten top-rated comedies (one page of a longer answer).
    let response = call(
        db,
        "Query",
        json!({
            "TableName": TABLE,
            "IndexName": "GenreRating",
            "KeyConditionExpression": "genre = :g",
            "ExpressionAttributeValues": {":g": {"S": "Comedy"}},
            "ScanIndexForward": false,
            "Limit": 10
        }),
    );
    assert!(response.get("LastEvaluatedKey").is_some());
    let items = response["Items"].as_array().unwrap();
    let mut expected: Vec<&Movie> = movies
        .iter()
        .filter(|m| m.genre.as_deref() == Some("Comedy") && m.rating.is_some())
        .collect();
    expected.sort_by(|a, b| by_rating(b, a));
    expected.truncate(10);
    assert_eq!(
        items.iter().map(key_of).collect::<Vec<_>>(),
        keys(&expected)
    );
    for (got, want) in items.iter().zip(&expected) {
        assert_eq!(n(got, "rating"), want.rating.unwrap());
        assert_eq!(s(got, "genre"), "Comedy");
        assert!(got.get("info").is_none(), "info is not projected: {got}");
    }

    // GSI GenreRating, BETWEEN on the rating, counted and paged.
    let (items, _) = query_pages(
        db,
        json!({
            "IndexName": "GenreRating",
            "KeyConditionExpression": "genre = :g AND rating BETWEEN :lo AND :hi",
            "ExpressionAttributeValues": {
                ":g": {"S": "Horror"}, ":lo": {"N": "5.5"}, ":hi": {"N": "6.5"}
            }
        }),
        40,
    );
    let mut expected: Vec<&Movie> = movies
        .iter()
        .filter(|m| {
            m.genre.as_deref() == Some("Horror")
                && m.rating.is_some_and(|r| (5.5..=6.5).contains(&r))
        })
        .collect();
    expected.sort_by(by_rating);
    assert!(expected.len() > 40, "more than one page");
    assert_eq!(
        items.iter().map(key_of).collect::<Vec<_>>(),
        keys(&expected)
    );

    // GSI YearRating (KEYS_ONLY): 2013's movies rated 6 to 8, keys only.
    let items = query(
        db,
        json!({
            "IndexName": "YearRating",
            "KeyConditionExpression": "#y = :y AND rating BETWEEN :lo AND :hi",
            "ExpressionAttributeNames": {"#y": "year"},
            "ExpressionAttributeValues": {":y": {"N": "2013"}, ":lo": {"N": "6"}, ":hi": {"N": "8"}}
        }),
    );
    let mut expected: Vec<&Movie> = movies
        .iter()
        .filter(|m| m.year == 2013 && m.rating.is_some_and(|r| (6.0..=8.0).contains(&r)))
        .collect();
    expected.sort_by(by_rating);
    assert_eq!(
        items.iter().map(key_of).collect::<Vec<_>>(),
        keys(&expected)
    );
    for got in &items {
        let mut names: Vec<&String> = got.as_object().unwrap().keys().collect();
        names.sort();
        assert_eq!(names, ["rating", "title", "year"], "keys only: {got}");
    }

    // Select COUNT over a whole GSI partition: sparse (movies without a rating are absent).
    let response = call(
        db,
        "Query",
        json!({
            "TableName": TABLE,
            "IndexName": "YearRating",
            "KeyConditionExpression": "#y = :y",
            "ExpressionAttributeNames": {"#y": "year"},
            "ExpressionAttributeValues": {":y": {"N": "2013"}},
            "Select": "COUNT"
        }),
    );
    let rated_2013 = movies
        .iter()
        .filter(|m| m.year == 2013 && m.rating.is_some())
        .count();
    assert!(rated_2013 < 432, "some 2013 movies have no rating");
    assert_eq!(response["Count"], json!(rated_2013));
}

/// DescribeTable's item counts: the table's and each index's.
fn check_counts(db: &Database, movies: &[Movie]) {
    let table = &call(db, "DescribeTable", json!({"TableName": TABLE}))["Table"];
    assert_eq!(table["ItemCount"], json!(MOVIES));
    let rated = movies.iter().filter(|m| m.rating.is_some()).count();
    let rated_with_genre = movies
        .iter()
        .filter(|m| m.rating.is_some() && m.genre.is_some())
        .count();
    assert_eq!(table["LocalSecondaryIndexes"][0]["ItemCount"], json!(rated));
    for gsi in table["GlobalSecondaryIndexes"].as_array().unwrap() {
        let want = match gsi["IndexName"].as_str().unwrap() {
            "GenreRating" => rated_with_genre,
            "YearRating" => rated,
            "DirectorYear" => movies.iter().filter(|m| m.director.is_some()).count(),
            other => panic!("unexpected index {other}"),
        };
        assert_eq!(gsi["ItemCount"], json!(want), "{gsi}");
    }
}

#[test]
fn movies_load_query_checkpoint_reopen_and_backfill() {
    let plain = movies_json();
    let movies: Vec<Movie> = plain.iter().map(movie).collect();
    let dir = tempfile::tempdir().unwrap();

    let db = Database::open(dir.path(), options()).unwrap();
    create(&db);
    load(&db, &plain);
    assert!(
        db.wait(
            &WaitFor::GsiCaughtUp {
                table: TABLE.into()
            },
            WAIT
        )
        .unwrap()
    );
    check_queries(&db, &movies);
    check_counts(&db, &movies);

    let report = db.checkpoint(TABLE).unwrap();
    assert!(report.published);
    assert_eq!(report.rows, MOVIES as u64);
    drop(db);

    // Reopened: everything is read from the checkpoint's snapshots (the log is empty).
    let db = Database::open(dir.path(), options()).unwrap();
    check_queries(&db, &movies);
    check_counts(&db, &movies);

    // A third GSI, built by a backfill from the snapshot.
    call(
        &db,
        "UpdateTable",
        json!({
            "TableName": TABLE,
            "AttributeDefinitions": [
                {"AttributeName": "director", "AttributeType": "S"},
                {"AttributeName": "year", "AttributeType": "N"}
            ],
            "GlobalSecondaryIndexUpdates": [{"Create": {
                "IndexName": "DirectorYear",
                "KeySchema": [
                    {"AttributeName": "director", "KeyType": "HASH"},
                    {"AttributeName": "year", "KeyType": "RANGE"}
                ],
                "Projection": {"ProjectionType": "ALL"}
            }}]
        }),
    );
    assert!(
        db.wait(
            &WaitFor::IndexActive {
                table: TABLE.into(),
                index: "DirectorYear".into()
            },
            WAIT
        )
        .unwrap()
    );
    let items = query(
        &db,
        json!({
            "IndexName": "DirectorYear",
            "KeyConditionExpression": "director = :d AND #y < :y",
            "ExpressionAttributeNames": {"#y": "year"},
            "ExpressionAttributeValues": {":d": {"S": "Steven Spielberg"}, ":y": {"N": "2000"}}
        }),
    );
    let mut expected: Vec<&Movie> = movies
        .iter()
        .filter(|m| m.director.as_deref() == Some("Steven Spielberg") && m.year < 2000)
        .collect();
    expected.sort_by(|a, b| a.year.cmp(&b.year).then(a.title.cmp(&b.title)));
    assert!(expected.len() > 5);
    assert_eq!(
        items.iter().map(key_of).collect::<Vec<_>>(),
        keys(&expected)
    );
    // ALL projection: the whole item, nested maps included.
    assert!(
        items
            .iter()
            .all(|i| i["info"]["M"]["directors"]["L"].is_array())
    );
    check_counts(&db, &movies);
    // The earlier indexes are untouched by the backfill.
    check_queries(&db, &movies);
}
