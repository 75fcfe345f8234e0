#!/usr/bin/env python3
"""Golden vectors for the database directory's state files (formats/database/SPEC.md),
written from the spec, independently of the Rust code.

To regenerate (needs the PyPI package `xxhash` for XXH3-64, e.g. in a venv):

    bash scripts/pyvenv.sh
    target/pyvenv/bin/python formats/database/tools/gen_vectors.py

Each vector is a state file `<name>.state` and a record `<name>.json` saying what a reader must
do: `expect` is `ok` (with the document's `kind`: catalog or current, and facts to check) or
`corrupt` (with the byte `offset` the error names).
"""

import json
import pathlib

import xxhash

OUT = pathlib.Path(__file__).resolve().parent.parent / "vectors"


def state_file(document: dict) -> bytes:
    body = (json.dumps(document, indent=2) + "\n").encode()
    return body + b"#xxh3-64:" + xxhash.xxh3_64_hexdigest(body).encode() + b"\n"


CATALOG = {
    "format": 1,
    "tables": {
        "Movies": {
            "id": "0123456789abcdef0123456789abcdef",
            "status": "ACTIVE",
            "definition": {
                "TableName": "Movies",
                "AttributeDefinitions": [
                    {"AttributeName": "year", "AttributeType": "N"},
                    {"AttributeName": "title", "AttributeType": "S"},
                    {"AttributeName": "rating", "AttributeType": "N"},
                ],
                "KeySchema": [
                    {"AttributeName": "year", "KeyType": "HASH"},
                    {"AttributeName": "title", "KeyType": "RANGE"},
                ],
                "GlobalSecondaryIndexes": [
                    {
                        "IndexName": "by_rating",
                        "KeySchema": [
                            {"AttributeName": "year", "KeyType": "HASH"},
                            {"AttributeName": "rating", "KeyType": "RANGE"},
                        ],
                        "Projection": {"ProjectionType": "KEYS_ONLY"},
                    }
                ],
                "BillingMode": "PAY_PER_REQUEST",
            },
            "creation_date_time": 1764633600.25,
            "table_arn": "arn:aws:dynamodb:ddblocal:000000000000:table/Movies",
            "gsis": {
                "by_rating": {
                    "status": "CREATING",
                    "backfilling": True,
                    "backfill_violations": 0,
                }
            },
        }
    },
}

CURRENT = {
    "format": 1,
    "lsn": 4609,
    "table_snapshot": True,
    "indexes": ["by_rating"],
    "stats": {"items": 4609, "bytes": 3456789},
    "index_stats": {"by_rating": {"items": 4500, "bytes": 123456}},
}


def write(name: str, data: bytes, record: dict) -> None:
    (OUT / f"{name}.state").write_bytes(data)
    record = {"file": f"{name}.state", **record}
    (OUT / f"{name}.json").write_text(json.dumps(record, indent=1) + "\n")


def main() -> None:
    OUT.mkdir(exist_ok=True)
    for old in OUT.iterdir():
        old.unlink()
    catalog = state_file(CATALOG)
    current = state_file(CURRENT)
    write("good-catalog", catalog, {
        "description": "a catalog with one table whose GSI is being backfilled",
        "expect": "ok", "kind": "catalog", "tables": ["Movies"],
    })
    write("good-current", current, {
        "description": "a checkpoint at LSN 4609 with one index snapshot",
        "expect": "ok", "kind": "current", "lsn": 4609, "items": 4609,
    })
    body_len = len(catalog) - 26
    flipped = bytearray(catalog)
    flipped[40] ^= 0x01
    write("bad-body-byte", bytes(flipped), {
        "description": "one bit of the document flipped: the checksum over bytes 0..n no longer matches",
        "expect": "corrupt", "offset": 0,
    })
    flipped = bytearray(catalog)
    flipped[body_len + 12] ^= 0x01
    write("bad-checksum-digit", bytes(flipped), {
        "description": "a digit of the checksum line changed",
        "expect": "corrupt", "offset": 0,
    })
    write("bad-no-checksum-line", catalog[:body_len], {
        "description": "the document without its checksum line (a file that was never a state file)",
        "expect": "corrupt", "offset": body_len - 26,
    })
    write("bad-truncated", catalog[: len(catalog) - 1], {
        "description": "the final newline missing",
        "expect": "corrupt", "offset": len(catalog) - 1 - 26,
    })
    write("bad-too-short", b"#xxh3-64:0\n", {
        "description": "shorter than a checksum line",
        "expect": "corrupt", "offset": 0,
    })
    upper = catalog[:body_len] + b"#xxh3-64:" + catalog[body_len + 9: body_len + 25].upper() + b"\n"
    write("bad-uppercase-hex", upper, {
        "description": "the checksum in uppercase hex: the spec says lowercase",
        "expect": "corrupt", "offset": body_len,
    })
    not_json = b"not json\n"
    write("bad-not-json", not_json + b"#xxh3-64:" + xxhash.xxh3_64_hexdigest(not_json).encode() + b"\n", {
        "description": "a valid checksum over bytes that are not a JSON document",
        "expect": "corrupt", "offset": 0,
    })
    unknown = state_file({**CURRENT, "format": 2})
    write("bad-unknown-format", unknown, {
        "description": "a CURRENT of a format this version does not know",
        "expect": "unsupported", "kind": "current",
    })


if __name__ == "__main__":
    main()
