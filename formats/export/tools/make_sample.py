#!/usr/bin/env python3
"""Writes the export vectors of formats/export/vectors/ with nothing but the standard library
(gzip, hashlib, base64, json), independently of the Rust writer:

- aws-sample/: an export laid out as DynamoDB documents it (S3DataExport.Output), with a prefix
  (exports/2024), two data files and an empty one (DynamoDB writes one for an empty partition),
  AWS-style random-looking names and multipart-style etags; aws-sample-items.jsonl holds the
  items it contains, one bare item per line, in reading order (manifest order, then line order);
- bad-lines/: an export whose data files hold bad lines, a truncated gzip stream, an MD5 that
  does not match and an itemCount that does not match; bad-lines-expected.json says what a
  reader must report.

Deterministic: the same script writes the same bytes (gzip mtime 0, fixed names). Run it from
anywhere: python3 formats/export/tools/make_sample.py
"""

import base64
import gzip
import hashlib
import json
import os
import shutil

HERE = os.path.dirname(os.path.abspath(__file__))
VECTORS = os.path.join(os.path.dirname(HERE), "vectors")

ACCOUNT = "123456789012"
REGION = "us-east-1"


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def md5_b64(data: bytes) -> str:
    return b64(hashlib.md5(data).digest())


def multipart_etag(data: bytes) -> str:
    """S3's ETag of an object uploaded as one part of a multipart upload."""
    return hashlib.md5(hashlib.md5(data).digest()).hexdigest() + "-1"


def random_looking_name(seed: str) -> str:
    """26 lowercase base32 characters, the shape of DynamoDB's data file names."""
    digest = hashlib.sha256(seed.encode()).digest()[:16]
    return base64.b32encode(digest).decode().lower().rstrip("=")


def line(item: dict) -> bytes:
    """One export line, compact, attributes in the order given (DynamoDB does not sort them)."""
    return json.dumps({"Item": item}, ensure_ascii=False, separators=(",", ":")).encode() + b"\n"


def gz(data: bytes) -> bytes:
    return gzip.compress(data, compresslevel=6, mtime=0)


def write(path: str, data: bytes) -> None:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)


def iso(ms: int) -> str:
    import datetime

    t = datetime.datetime.fromtimestamp(ms / 1000, datetime.timezone.utc)
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"


def write_export(bucket: str, prefix, export_id: str, table: str, files: list) -> None:
    """files: [(name, object bytes, itemCount, md5Checksum or None for the true one)]."""
    key_prefix = (prefix + "/" if prefix else "") + f"AWSDynamoDB/{export_id}/"
    root = os.path.join(bucket, *key_prefix.strip("/").split("/"))
    write(os.path.join(root, "_started"), b"")
    manifest_lines = []
    for name, data, count, md5 in files:
        write(os.path.join(root, "data", name), data)
        entry = {
            "itemCount": count,
            "md5Checksum": md5 if md5 is not None else md5_b64(data),
            "etag": multipart_etag(data),
            "dataFileS3Key": key_prefix + "data/" + name,
        }
        manifest_lines.append(json.dumps(entry, separators=(",", ":")))
    files_bytes = ("\n".join(manifest_lines) + "\n").encode()
    write(os.path.join(root, "manifest-files.json"), files_bytes)
    write(os.path.join(root, "manifest-files.md5"), md5_b64(files_bytes).encode())
    table_arn = f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{table}"
    # DynamoDB's export ids start with the export's start time in ms.
    start = int(export_id[:14])
    summary = {
        "version": "2020-06-30",
        "exportArn": f"{table_arn}/export/{export_id}",
        "startTime": iso(start),
        "endTime": iso(start + 312_411),
        "tableArn": table_arn,
        "tableId": "3b1c7a52-9d4e-4f1a-8c2b-5e6f7a8b9c0d",
        "exportTime": iso(start - 60_000),
        "s3Bucket": "ddb-" + table.lower() + "-export",
        "s3Prefix": prefix,
        "s3SseAlgorithm": "AES256",
        "s3SseKmsKeyId": None,
        "manifestFilesS3Key": key_prefix + "manifest-files.json",
        "billedSizeBytes": 0,
        "itemCount": sum(count for _, _, count, _ in files),
        "outputFormat": "DYNAMODB_JSON",
        "exportType": "FULL_EXPORT",
    }
    summary_bytes = json.dumps(summary, separators=(",", ":")).encode()
    write(os.path.join(root, "manifest-summary.json"), summary_bytes)
    write(os.path.join(root, "manifest-summary.md5"), md5_b64(summary_bytes).encode())


def sample_items() -> list:
    """A small Music table: every attribute type, nesting, escapes, non-ASCII, empty values."""
    return [
        {
            "Artist": {"S": "No One You Know"},
            "SongTitle": {"S": "Call Me Today"},
            "Year": {"N": "2019"},
            "Price": {"N": "1.99"},
            "Explicit": {"BOOL": False},
            "Remix": {"NULL": True},
            "Genres": {"SS": ["Country", "Pop"]},
            "Ratings": {"NS": ["4.5", "5", "-1", "0.001"]},
        },
        {
            "SongTitle": {"S": "Happy Day"},
            "Artist": {"S": "Acme Band"},
            "Cover": {"B": b64(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")},
            "Stems": {"BS": [b64(b"\x00"), b64(b"\xff\xfe"), b64(b"stem-3")]},
            "Plays": {"N": "12345678901234567890123456789012345678"},
            "Tiny": {"N": "0.000000000000000000000000000000000001"},
        },
        {
            "Artist": {"S": "Beyoncé"},
            "SongTitle": {"S": "日本語のタイトル 🎵"},
            "Lyrics": {"S": "line one\nline \"two\"\ttabbed \\ backslash \u0001"},
            "Credits": {
                "L": [
                    {"S": "writer"},
                    {"N": "-17"},
                    {"BOOL": True},
                    {"NULL": True},
                    {"L": []},
                    {"M": {}},
                    {"B": ""},
                    {"S": ""},
                ]
            },
        },
        {
            "Artist": {"S": "Acme Band"},
            "SongTitle": {"S": "PartiQL Rocks"},
            "Album": {
                "M": {
                    "Title": {"S": "Hey Now"},
                    "Tracks": {"L": [{"M": {"n": {"N": "1"}, "len": {"N": "3.5"}}}, {"M": {"n": {"N": "2"}}}]},
                    "Tags": {"SS": ["a", "b", "c"]},
                    "Deep": {"M": {"Deeper": {"M": {"Deepest": {"NS": ["1", "2"]}}}}},
                }
            },
            "Awards": {"N": "0"},
        },
        {
            "Artist": {"S": "The Zeros"},
            "SongTitle": {"S": "Nothing"},
            "Empty": {"S": ""},
            "EmptyBin": {"B": ""},
            "Weird name with spaces & symbols!": {"S": "ok"},
            "_underscore": {"N": "-0.5"},
        },
        {
            "Artist": {"S": "Solo"},
            "SongTitle": {"S": "Only Keys"},
        },
        {
            "Artist": {"S": "No One You Know"},
            "SongTitle": {"S": "My Dog Spot"},
            "Year": {"N": "2001"},
            "Price": {"N": "100"},
            "Explicit": {"BOOL": True},
            "Genres": {"SS": ["Country"]},
        },
        {
            "Artist": {"S": "Acme Band"},
            "SongTitle": {"S": "Still in Love"},
            "Streams": {"NS": ["1E+3", "250", "99999999999999999999999999999999999999"]},
            "Notes": {"L": [{"SS": ["x"]}, {"NS": ["7"]}, {"BS": [b64(b"bin")]}]},
        },
        {
            "Artist": {"S": "Beyoncé"},
            "SongTitle": {"S": "Ünïcödé"},
            "Map": {"M": {"k": {"NULL": True}, "nested": {"S": "member"}}},
        },
        {
            "Artist": {"S": "Z"},
            "SongTitle": {"S": "Last"},
            "Big": {"S": "x" * 3000},
        },
    ]


def make_aws_sample() -> None:
    bucket = os.path.join(VECTORS, "aws-sample")
    shutil.rmtree(bucket, ignore_errors=True)
    items = sample_items()
    first, second = items[:6], items[6:]
    export_id = "01700000123456-5d3c9a1f"
    files = [
        (random_looking_name("sample-0") + ".json.gz", gz(b"".join(map(line, first))), len(first), None),
        (random_looking_name("sample-1") + ".json.gz", gz(b"".join(map(line, second))), len(second), None),
        # An empty partition: an empty gzip stream, itemCount 0.
        (random_looking_name("sample-2") + ".json.gz", gz(b""), 0, None),
    ]
    write_export(bucket, "exports/2024", export_id, "Music", files)
    expected = "".join(json.dumps(item, ensure_ascii=False, sort_keys=True) + "\n" for item in items)
    write(os.path.join(VECTORS, "aws-sample-items.jsonl"), expected.encode())


def make_bad_lines() -> None:
    bucket = os.path.join(VECTORS, "bad-lines")
    shutil.rmtree(bucket, ignore_errors=True)
    export_id = "01700000654321-0badf11e"
    data_prefix = f"AWSDynamoDB/{export_id}/data/"

    def item(i: int) -> dict:
        return {"pk": {"S": f"item-{i:04d}"}, "n": {"N": str(i)}, "pad": {"S": "p" * (i % 17)}}

    files, expected = [], []

    # 1. Bad lines among good ones; md5 and itemCount right (blank lines are not items).
    raw_lines = [
        line(item(1)),
        b'{"Item":{"pk":{"S":"broken"}\n',  # bad JSON
        b"\n",  # blank: skipped
        b'{"Item":{"pk":{"Q":"1"}}}\n',  # not a DynamoDB attribute value
        line(item(2)),
        b'{"Item":{"pk":{"S":"e"},"s":{"SS":[]}}}\n',  # an empty set
        line(item(3)),
        b"[1,2,3]\n",  # not an object
        b'{"pk":{"S":"bare item"}}',  # a bare item, no final newline
    ]
    name = random_looking_name("bad-0") + ".json.gz"
    data = gz(b"".join(raw_lines))
    files.append((name, data, 8, None))
    expected.append(
        {
            "file": data_prefix + name,
            "items": [[1, item(1)], [5, item(2)], [7, item(3)], [9, {"pk": {"S": "bare item"}}]],
            "errors": [[2, "Serialization"], [4, "Q"], [6, "empty"], [8, "an item"]],
        }
    )

    # 2. A gzip stream cut short: the lines before the cut are read, then one error.
    many = [item(i) for i in range(100, 400)]
    full = gz(b"".join(map(line, many)))
    cut = full[: len(full) * 2 // 3]
    name = random_looking_name("bad-1") + ".json.gz"
    files.append((name, cut, len(many), None))
    expected.append({"file": data_prefix + name, "truncated_prefix_of": many, "errors": [["after-items", "gzip"]]})

    # 3. Good gzip, wrong md5Checksum: items read, then an error for the file (line 0).
    three = [item(i) for i in range(500, 503)]
    name = random_looking_name("bad-2") + ".json.gz"
    files.append((name, gz(b"".join(map(line, three))), 3, md5_b64(b"some other object")))
    expected.append(
        {
            "file": data_prefix + name,
            "items": [[i + 1, it] for i, it in enumerate(three)],
            "errors": [[0, "MD5 mismatch"]],
        }
    )

    # 4. Good gzip, itemCount one more than its lines.
    two = [item(i) for i in range(600, 602)]
    name = random_looking_name("bad-3") + ".json.gz"
    files.append((name, gz(b"".join(map(line, two))), 3, None))
    expected.append(
        {
            "file": data_prefix + name,
            "items": [[i + 1, it] for i, it in enumerate(two)],
            "errors": [[0, "itemCount mismatch"]],
        }
    )

    write_export(bucket, None, export_id, "Broken", files)
    text = json.dumps({"export_root": f"AWSDynamoDB/{export_id}", "files": expected}, indent=1, sort_keys=True)
    write(os.path.join(VECTORS, "bad-lines-expected.json"), text.encode() + b"\n")


if __name__ == "__main__":
    make_aws_sample()
    make_bad_lines()
