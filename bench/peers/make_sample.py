#!/usr/bin/env python3
"""Writes a small, self-consistent input for peers.py: DIR/data/peers/{snapshot,log}.parquet and
DIR/data/workload.json, in the layout that `ddb-bench e2e` writes.

For the tests and for timing sanity checks only; the real input comes from the e2e harness.
The items imitate the harness's `orders` (bench/src/table.rs): about 480 bytes of canonical
DynamoDB JSON with `pk`, `sk`, `status`, `amount` (N), `updated_at` (N), `tags`, `lines`,
`shipping` (some cities are not ASCII, so characters and UTF-8 bytes differ) and, in ~80 % of
them, `merchant_id` (S). Amounts and timestamps repeat often enough that the index sorts meet
ties, and some amounts are negative or whole, so a sort by text would differ from a sort by
number.

The log mixes 70 % updates of live keys, 20 % inserts (a quarter of them re-insert a key that a
DELETE removed) and 10 % deletes of live keys. `rows_at_cut` and `item_bytes_at_cut` are
computed here while generating, by keeping the live table in a dict: independently of any
engine's merge.

    python make_sample.py DIR [--items 5000] [--mutations N/4] [--cut-fraction 0.8] [--seed 7]
"""

from __future__ import annotations

import argparse
import json
import random
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

STATUSES = ("PENDING", "PAID", "SHIPPED", "DELIVERED", "CANCELLED", "REFUNDED")
TAGS = ("gift", "express", "fragile", "bulk", "promo", "repeat", "vip", "intl")
CITIES = ("Porto", "Lisboa", "São Paulo", "Zürich", "Kraków", "Lyon", "Malmö", "Oslo")

Key = tuple[str, str]


def canonical(item: dict) -> str:
    """Canonical JSON as our engine writes it: sorted keys, no spaces, UTF-8 (not \\u escapes)."""
    return json.dumps(item, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def order_item(rng: random.Random, pk: str, sk: str, merchants: int) -> str:
    """One order as canonical DynamoDB JSON."""
    cents = rng.randrange(5_000)
    if rng.random() < 0.02:
        cents = -cents  # a refund: a negative number
    sign = "-" if cents < 0 else ""
    whole, frac = divmod(abs(cents), 100)
    amount = f"{sign}{whole}" if rng.random() < 0.1 else f"{sign}{whole}.{frac:02d}"
    status = rng.choice(STATUSES)
    item: dict = {
        "pk": {"S": pk},
        "sk": {"S": sk},
        "status": {"S": status},
        "amount": {"N": amount},
        "paid": {"BOOL": status != "PENDING"},
        "updated_at": {"N": str(1_700_000_000_000 + rng.randrange(2_000) * 37)},
        "tags": {"SS": sorted(set(rng.choice(TAGS) for _ in range(1 + rng.randrange(3))))},
        "lines": {
            "L": [
                {
                    "M": {
                        "sku": {"S": f"sku-{rng.randrange(100_000_000):08d}"},
                        "qty": {"N": str(1 + rng.randrange(5))},
                        "price": {"N": f"{rng.randrange(500)}.{rng.randrange(100):02d}"},
                    }
                }
                for _ in range(2)
            ]
        },
        "shipping": {
            "M": {
                "street": {"S": f"{rng.randrange(300)} Rua das Flores"},
                "city": {"S": rng.choice(CITIES)},
                "zip": {"S": f"{rng.randrange(100_000):05d}"},
            }
        },
    }
    if rng.random() < 0.8:
        item["merchant_id"] = {"S": f"merchant#{rng.randrange(merchants):05d}"}
    return canonical(item)


@dataclass
class LiveSet:
    """The live keys, with O(1) insert, remove and uniform random choice."""

    keys: list[Key] = field(default_factory=list)
    index: dict[Key, int] = field(default_factory=dict)

    def add(self, key: Key) -> None:
        if key not in self.index:
            self.index[key] = len(self.keys)
            self.keys.append(key)

    def remove(self, key: Key) -> None:
        at = self.index.pop(key)
        last = self.keys.pop()
        if at < len(self.keys):
            self.keys[at] = last
            self.index[last] = at

    def choice(self, rng: random.Random) -> Key:
        return self.keys[rng.randrange(len(self.keys))]


@dataclass
class Sample:
    snapshot: list[tuple[str, str, str]]  # (pk, sk, item), sorted by (pk, sk)
    log: list[tuple[int, str, str, str, str | None]]  # (seq, pk, sk, op, item)
    workload: dict


def generate(items: int, mutations: int, cut_fraction: float, seed: int) -> Sample:
    rng = random.Random(seed)
    users = max(1, items // 8)
    merchants = max(1, items // 50)
    table: dict[Key, str] = {}
    live = LiveSet()
    for i in range(items):
        key = (f"user#{rng.randrange(users):09d}", f"order#{i:013d}")
        table[key] = order_item(rng, key[0], key[1], merchants)
        live.add(key)
    snapshot = sorted((pk, sk, item) for (pk, sk), item in table.items())

    cut_seq = round(mutations * cut_fraction)
    deleted: list[Key] = []
    next_order = items
    log: list[tuple[int, str, str, str, str | None]] = []
    rows_at_cut, item_bytes_at_cut = len(table), sum(len(v.encode()) for v in table.values())
    for seq in range(1, mutations + 1):
        r = rng.random()
        if live.keys and r < 0.7:
            key = live.choice(rng)
            op = "PUT"
        elif live.keys and r >= 0.9:
            key = live.choice(rng)
            op = "DELETE"
        else:
            if deleted and rng.random() < 0.25:
                key = deleted.pop(rng.randrange(len(deleted)))
            else:
                key = (f"user#{rng.randrange(users):09d}", f"order#{next_order:013d}")
                next_order += 1
            op = "PUT"
        item: str | None = None
        if op == "PUT":
            item = order_item(rng, key[0], key[1], merchants)
            table[key] = item
            live.add(key)
        else:
            del table[key]
            live.remove(key)
            deleted.append(key)
        log.append((seq, key[0], key[1], op, item))
        if seq == cut_seq:
            rows_at_cut = len(table)
            item_bytes_at_cut = sum(len(v.encode()) for v in table.values())

    workload = {
        "items": items,
        "mutations": mutations,
        "cut_seq": cut_seq,
        "cut_lsn": cut_seq,  # a sample has no LSNs of its own; the harness writes the real one
        "rows_at_cut": rows_at_cut,
        "item_bytes_at_cut": item_bytes_at_cut,
        "seed": seed,
        "generator": "bench/peers/make_sample.py",
    }
    return Sample(snapshot, log, workload)


def write(sample: Sample, out: Path) -> None:
    peers = out / "data" / "peers"
    peers.mkdir(parents=True, exist_ok=True)
    pk, sk, item = zip(*sample.snapshot, strict=True) if sample.snapshot else ((), (), ())
    pq.write_table(
        pa.table(
            {"pk": pa.array(pk, pa.utf8()), "sk": pa.array(sk, pa.utf8()), "item": pa.array(item, pa.utf8())}
        ),
        peers / "snapshot.parquet",
        compression="zstd",
    )
    columns = list(zip(*sample.log, strict=True)) if sample.log else [(), (), (), (), ()]
    pq.write_table(
        pa.table(
            {
                "seq": pa.array(columns[0], pa.int64()),
                "pk": pa.array(columns[1], pa.utf8()),
                "sk": pa.array(columns[2], pa.utf8()),
                "op": pa.array(columns[3], pa.utf8()),
                "item": pa.array(columns[4], pa.utf8()),
            }
        ),
        peers / "log.parquet",
        compression="zstd",
    )
    (out / "data" / "workload.json").write_text(json.dumps(sample.workload, indent=2) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("dir", type=Path)
    parser.add_argument("--items", type=int, default=5000, help="snapshot rows (default 5000)")
    parser.add_argument("--mutations", type=int, help="log records (default items / 4)")
    parser.add_argument("--cut-fraction", type=float, default=0.8, help="cut_seq as a fraction of the log")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    mutations = args.mutations if args.mutations is not None else args.items // 4
    sample = generate(args.items, mutations, args.cut_fraction, args.seed)
    write(sample, args.dir)
    w = sample.workload
    print(
        f"make_sample: {args.dir}: {w['items']} snapshot rows, {w['mutations']} log records, "
        f"cut at seq {w['cut_seq']}: {w['rows_at_cut']} rows, {w['item_bytes_at_cut']} item bytes"
    )


if __name__ == "__main__":
    main()
