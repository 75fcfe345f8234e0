#!/usr/bin/env python3
"""Checks a backup directory with tools that share no code with the Rust crate.

    target/pyvenv/bin/python formats/backup/tools/interop.py DIR

pyarrow: every artifact's schema (column names, types, order), key-value metadata, row counts
(file and row groups) against the manifest, and key order within and across artifacts.
xxhash: the manifest checksum (formats/backup/SPEC.md, "Manifest checksum") and every
artifact's and row group's xxh3-128. DuckDB: count(*) over data/*.parquet equals the manifest
total, and the movies of 2013 counted through the typed `year` column equal those counted
through json_extract on `_item`. Exits non-zero on any mismatch.
"""
import json
import pathlib
import sys

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import xxhash

failures = []


def check(ok, what):
    if not ok:
        failures.append(what)
        print("MISMATCH:", what)


def manifest_of(dir):
    data = (dir / "manifest.json").read_bytes()
    prefix = b'  "manifest_checksum": "xxh3-128:'
    at = data.rindex(prefix)
    body, tail = data[:at], data[at:]
    digits = tail[len(prefix):len(prefix) + 32].decode()
    check(tail == prefix + digits.encode() + b'"\n}\n', "manifest checksum line")
    check(xxhash.xxh3_128_hexdigest(body) == digits, "manifest checksum")
    return json.loads(data)


def column_of(attribute):
    return "_" + attribute if attribute.startswith("_") else attribute


def main(dir):
    dir = pathlib.Path(dir)
    m = manifest_of(dir)
    check(m["format_version"] == 1, "format_version")
    want_names = ["_key"] + [c["column"] for c in m["attribute_columns"]] + ["_item"]
    for c in m["attribute_columns"]:
        check(c["column"] == column_of(c["attribute"]), f"column name of {c['attribute']}")
    previous_key = None
    total = 0
    for a in m["artifacts"]:
        path = dir / a["path"]
        raw = path.read_bytes()
        check(len(raw) == a["size"], f"{a['path']}: size")
        check(xxhash.xxh3_128_hexdigest(raw) == a["xxh3_128"], f"{a['path']}: xxh3-128")
        for rg in a["row_groups"]:
            check(xxhash.xxh3_128_hexdigest(raw[rg["start"]:rg["end"]]) == rg["xxh3_128"],
                  f"{a['path']}: row group {rg['index']} xxh3-128")
        f = pq.ParquetFile(path)
        schema = f.schema_arrow
        check(schema.names == want_names, f"{a['path']}: columns {schema.names}")
        check(schema.field("_key").type == pa.binary() and not schema.field("_key").nullable,
              f"{a['path']}: _key type")
        for c in m["attribute_columns"]:
            want = pa.binary() if c["type"] == "B" else pa.string()
            check(schema.field(c["column"]).type == want and schema.field(c["column"]).nullable,
                  f"{a['path']}: {c['column']} type")
        item_type = f.schema.column(len(want_names) - 1).logical_type
        check(str(item_type) == "JSON", f"{a['path']}: _item logical type {item_type}")
        kv = {k.decode(): v.decode() for k, v in (f.metadata.metadata or {}).items()}
        want_kv = {
            "ddb.format_version": "1",
            "ddb.backup_arn": m["backup"]["backup_arn"],
            "ddb.table_name": m["backup"]["table_name"],
            "ddb.table_id": m["backup"]["table_id"],
            "ddb.marker_lsn": str(m["marker"]["lsn"]),
            "ddb.marker_time_ms": str(m["marker"]["time_ms"]),
            "ddb.partition": str(a["partition"]),
            "ddb.file_index": str(a["file_index"]),
        }
        check(kv == want_kv, f"{a['path']}: key-value metadata {kv}")
        check(f.metadata.num_rows == a["rows"], f"{a['path']}: rows")
        check(f.metadata.num_row_groups == len(a["row_groups"]), f"{a['path']}: row groups")
        for i, rg in enumerate(a["row_groups"]):
            check(f.metadata.row_group(i).num_rows == rg["rows"], f"{a['path']}: row group {i} rows")
        keys = f.read(columns=["_key"]).column("_key").to_pylist()
        check(keys[0].hex() == a["first_key"] and keys[-1].hex() == a["last_key"], f"{a['path']}: key range")
        for k in keys:
            check(previous_key is None or k > previous_key, f"{a['path']}: key order at {k.hex()}")
            previous_key = k
        total += len(keys)
    check(total == m["totals"]["rows"], "total rows (pyarrow)")

    glob = str(dir / "data" / "*.parquet")
    con = duckdb.connect()
    (count,) = con.execute(f"SELECT count(*) FROM read_parquet('{glob}')").fetchone()
    check(count == m["totals"]["rows"], f"duckdb count {count}")
    (typed,) = con.execute(f"SELECT count(*) FROM read_parquet('{glob}') WHERE year = '2013'").fetchone()
    (via_json,) = con.execute(
        f"SELECT count(*) FROM read_parquet('{glob}') WHERE json_extract_string(_item, '$.year.N') = '2013'"
    ).fetchone()
    check(typed == via_json and typed > 0, f"2013 movies: typed column {typed}, JSON {via_json}")
    (titles,) = con.execute(
        f"SELECT count(*) FROM read_parquet('{glob}') WHERE title = json_extract_string(_item, '$.title.S')"
    ).fetchone()
    check(titles == count, f"title column equals the item's title: {titles} of {count}")
    print(f"interop: {len(m['artifacts'])} artifacts, {count} rows, {typed} movies of 2013; "
          f"{'OK' if not failures else str(len(failures)) + ' mismatches'}")
    return 1 if failures else 0


if __name__ == "__main__":
    if len(sys.argv) != 2:
        print(__doc__)
        sys.exit(2)
    sys.exit(main(sys.argv[1]))
