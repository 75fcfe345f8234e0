#!/usr/bin/env python3
"""Golden vectors for the database directory's state files and audit log
(formats/database/SPEC.md), written from the spec, independently of the Rust code.

To regenerate (the state files need the PyPI package `xxhash` for XXH3-64, e.g. in a venv):

    bash scripts/pyvenv.sh
    target/pyvenv/bin/python formats/database/tools/gen_vectors.py

`gen_vectors.py audit` regenerates only the audit log vectors (standard library only).

Each state file vector is a state file `<name>.state` and a record `<name>.json` saying what a
reader must do: `expect` is `ok` (with the document's `kind`: catalog or current, and facts to
check) or `corrupt` (with the byte `offset` the error names).

Each audit vector (in `vectors/audit/`) is an audit file `<name>.audit` and a record
`<name>.json`: `expect` is `ok` (the chain verifies; `records` and `head` say what it holds, and
`fails_head` names a head recorded earlier that it no longer matches), `damaged` (the lines
`problem_lines` are reported, the first at byte `first_problem_offset`) or `torn` (a torn tail
at byte `torn_offset` that opening truncates, the `records` before it verifying).
"""

import datetime
import hashlib
import json
import pathlib
import sys

OUT = pathlib.Path(__file__).resolve().parent.parent / "vectors"
AUDIT_OUT = OUT / "audit"


def state_file(document: dict) -> bytes:
    import xxhash

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
    if sys.argv[1:] == ["audit"]:
        audit_vectors()
        return
    state_vectors()
    audit_vectors()


def state_vectors() -> None:
    import xxhash

    OUT.mkdir(exist_ok=True)
    for old in OUT.iterdir():
        if old.is_file():
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



# --- The audit log ---------------------------------------------------------------------------

GENESIS = "0" * 64
# The record's fields in the order the spec gives, `hash` last and left out of what is hashed.
FIELDS = ["seq", "time", "time_ms", "action", "parameters", "outcome", "prev"]


def iso8601_ms(time_ms: int) -> str:
    t = datetime.datetime(1970, 1, 1) + datetime.timedelta(milliseconds=time_ms)
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + f"{time_ms % 1000:03d}Z"


def canonical(value) -> str:
    """Compact JSON, object keys sorted, non-ASCII as UTF-8, the minimal escapes."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, sort_keys=True)


def audit_line(seq: int, prev: str, time_ms: int, action: str, parameters, outcome):
    """One record's line and hash."""
    record = {"seq": seq, "time": iso8601_ms(time_ms), "time_ms": time_ms, "action": action,
              "parameters": parameters, "outcome": outcome, "prev": prev}
    unhashed = ("{" + ",".join(f"{json.dumps(k)}:{canonical(record[k])}" for k in FIELDS) + "}").encode()
    digest = hashlib.sha256(prev.encode() + b"\n" + unhashed).hexdigest()
    return unhashed[:-1] + b',"hash":"' + digest.encode() + b'"}\n', digest


def audit_chain(actions):
    """The lines of a chain of `(time_ms, action, parameters, outcome)` and its head."""
    lines, prev = [], GENESIS
    for seq, (time_ms, action, parameters, outcome) in enumerate(actions, start=1):
        line, prev = audit_line(seq, prev, time_ms, action, parameters, outcome)
        lines.append(line)
    return lines, f"{len(lines)}:{prev}"


AUDIT_ACTIONS = [
    (1764633600123, "CreateTable",
     {"TableName": "Movies", "BillingMode": "PAY_PER_REQUEST",
      "AttributeDefinitions": [{"AttributeName": "year", "AttributeType": "N"}],
      "KeySchema": [{"AttributeName": "year", "KeyType": "HASH"}],
      "Tags": [{"Key": "owner", "Value": "Zoë \"ops\"\t\u0001/\\"}]},
     {"status": "ok", "TableArn": "arn:aws:dynamodb:ddblocal:000000000000:table/Movies"}),
    (1764633601000, "CreateBackup",
     {"TableName": "Movies", "BackupName": "nightly"},
     {"status": "ok",
      "BackupArn": "arn:aws:dynamodb:ddblocal:000000000000:table/Movies/backup/01764633601000-0001"}),
    (1764633602500, "RestoreTableToPointInTime",
     {"SourceTableName": "Movies", "TargetTableName": "Movies-restored",
      "RestoreDateTime": 1764633600.5},
     {"status": "error", "error": "ValidationException",
      "message": "RestoreDateTime is before the earliest restorable time"}),
]


def write_audit(name: str, data: bytes, record: dict) -> None:
    (AUDIT_OUT / f"{name}.audit").write_bytes(data)
    record = {"file": f"{name}.audit", **record}
    (AUDIT_OUT / f"{name}.json").write_text(json.dumps(record, indent=1, ensure_ascii=False) + "\n")


def audit_vectors() -> None:
    AUDIT_OUT.mkdir(parents=True, exist_ok=True)
    for old in AUDIT_OUT.iterdir():
        old.unlink()
    lines, head = audit_chain(AUDIT_ACTIONS)
    l1, l2, l3 = lines
    good = b"".join(lines)
    write_audit("good-three-records", good, {
        "description": "three records: a CreateTable (a tag value with a quote, a tab, a control "
                       "character and non-ASCII text), a CreateBackup and a failed "
                       "RestoreTableToPointInTime (a float parameter)",
        "expect": "ok", "records": 3, "head": head,
    })
    edited = l2.replace(b'"nightly"', b'"nightlx"')
    assert edited != l2
    write_audit("bad-edited-parameter", l1 + edited + l3, {
        "description": "a parameter of record 2 edited: its hash no longer matches",
        "expect": "damaged", "problem_lines": [2], "first_problem_offset": len(l1),
    })
    write_audit("bad-deleted-line", l1 + l3, {
        "description": "record 2 deleted: record 3 follows record 1 (seq and prev do not link)",
        "expect": "damaged", "problem_lines": [2], "first_problem_offset": len(l1),
    })
    write_audit("bad-reordered-lines", l1 + l3 + l2, {
        "description": "records 2 and 3 swapped",
        "expect": "damaged", "problem_lines": [2, 3], "first_problem_offset": len(l1),
    })
    write_audit("bad-duplicated-line", l1 + l2 + l2 + l3, {
        "description": "record 2 twice (the copy does not link; record 3 links to the copy)",
        "expect": "damaged", "problem_lines": [3], "first_problem_offset": len(l1) + len(l2),
    })
    write_audit("bad-broken-json", l1 + l2[1:] + l3, {
        "description": "record 2's opening brace removed: a line in the middle that is not JSON "
                       "(the chain across it cannot be checked; record 3 is checked on its own)",
        "expect": "damaged", "problem_lines": [2], "first_problem_offset": len(l1),
    })
    fourth = (1764633603000, "DeleteBackup", {"BackupArn": "x"}, {"status": "ok"})
    l4 = audit_chain(AUDIT_ACTIONS + [fourth])[0][3]
    write_audit("torn-partial-line", good + l4[:40], {
        "description": "an interrupted fourth append: part of a line without its newline",
        "expect": "torn", "records": 3, "torn_offset": len(good), "head": head,
    })
    write_audit("torn-undecodable-last-line", good + b'{"seq":4,"ti\n', {
        "description": "a final line that ends in a newline but does not decode (treated as an "
                       "interrupted append)",
        "expect": "torn", "records": 3, "torn_offset": len(good), "head": head,
    })
    rewritten = [AUDIT_ACTIONS[0], (AUDIT_ACTIONS[1][0], AUDIT_ACTIONS[1][1],
                                    {"TableName": "Movies", "BackupName": "nightlx"},
                                    AUDIT_ACTIONS[1][3]), AUDIT_ACTIONS[2]]
    rewritten_lines, rewritten_head = audit_chain(rewritten)
    write_audit("rewritten-chain", b"".join(rewritten_lines), {
        "description": "record 2 edited and every hash from it on recomputed: the chain verifies "
                       "(the limit of a hash chain), only the head recorded earlier tells",
        "expect": "ok", "records": 3, "head": rewritten_head, "fails_head": head,
    })
    write_audit("truncated-last-record", l1 + l2, {
        "description": "the last record removed: the chain verifies (the limit of a hash chain), "
                       "only the head recorded earlier tells",
        "expect": "ok", "records": 2, "head": audit_chain(AUDIT_ACTIONS[:2])[1], "fails_head": head,
    })


if __name__ == "__main__":
    main()
