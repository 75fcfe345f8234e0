#!/usr/bin/env python3
"""Tests of the peer comparison on a small sample (make_sample.py): both engines' outputs equal
a pure-Python merge and sort, row for row and in order; the outputs are zstd Parquet; peers.json
has the shape the plot reads; a mismatch with the workload fails the run.

    target/peers-venv/bin/python bench/peers/test_peers.py     (plain unittest)
    target/peers-venv/bin/python -m pytest bench/peers         (if pytest is installed)

Run with another Python, it re-runs itself with target/peers-venv's (bench/peers/run.sh makes it).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import unittest
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
VENV_PYTHON = HERE.parent.parent / "target" / "peers-venv" / "bin" / "python"

try:
    import pyarrow.parquet as pq
except ImportError:
    if __name__ == "__main__" and VENV_PYTHON.exists() and Path(sys.executable) != VENV_PYTHON:
        os.execv(VENV_PYTHON, [str(VENV_PYTHON), __file__, *sys.argv[1:]])
    raise unittest.SkipTest(
        "pyarrow is not installed: bench/peers/run.sh --test makes target/peers-venv"
    ) from None

sys.path.insert(0, str(HERE))
import engines  # noqa: E402
import make_sample  # noqa: E402

ITEMS, MUTATIONS, SEED = 5000, 1250, 11
Row = tuple[Any, ...]


def rows(path: Path) -> list[Row]:
    table = pq.read_table(path)
    return list(zip(*(table.column(name).to_pylist() for name in table.column_names), strict=True))


def reference(root: Path, cut_seq: int) -> list[tuple[str, str, str]]:
    """The backup, merged in plain Python from the Parquet inputs."""
    table = {(pk, sk): item for pk, sk, item in rows(root / "data" / "peers" / "snapshot.parquet")}
    for seq, pk, sk, op, item in rows(root / "data" / "peers" / "log.parquet"):
        if seq > cut_seq:
            continue
        if op == "PUT":
            table[(pk, sk)] = item
        else:
            table.pop((pk, sk), None)
    return sorted((pk, sk, item) for (pk, sk), item in table.items())


def run_peers(root: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(HERE / "peers.py"), str(root), "--no-plot", *extra],
        capture_output=True,
        text=True,
        check=False,
    )


FAKE_REPORT = {
    "harness": "ddb-bench e2e",
    "version": 1,
    "runs": [
        {
            "engine": "ddb",
            "stage": "backup",
            "backend": "io_uring",
            "seconds": 0.05,
            "mb_per_s": 50.0,
            "rows_per_s": 100000.0,
            "peak_rss_mb": 80.0,
            "output_bytes": 300000,
        },
        {
            "engine": "ddb",
            "stage": "restore_active",
            "backend": "std",
            "seconds": 0.1,
            "mb_per_s": 25.0,
            "rows_per_s": 50000.0,
            "peak_rss_mb": 90.0,
        },
        {"engine": "ddb", "stage": "restore_gsi_active", "backend": "std", "seconds": 0.3, "mb_per_s": 8.0},
    ],
}


class PeersOnASample(unittest.TestCase):
    tmp: tempfile.TemporaryDirectory[str]
    root: Path
    log: list[tuple[int, str, str, str, str | None]]
    workload: dict[str, Any]
    peers_run: subprocess.CompletedProcess[str]
    expected: list[tuple[str, str, str]]

    @classmethod
    def setUpClass(cls) -> None:
        cls.tmp = tempfile.TemporaryDirectory(prefix="peers-test-")
        cls.root = Path(cls.tmp.name)
        sample = make_sample.generate(ITEMS, MUTATIONS, 0.8, SEED)
        make_sample.write(sample, cls.root)
        cls.workload = sample.workload
        cls.log = sample.log
        report = dict(FAKE_REPORT, workload=sample.workload)
        (cls.root / "report.json").write_text(json.dumps(report))
        cls.peers_run = run_peers(cls.root)
        if cls.peers_run.returncode != 0:
            raise AssertionError(f"peers.py failed:\n{cls.peers_run.stdout}\n{cls.peers_run.stderr}")
        cls.expected = reference(cls.root, sample.workload["cut_seq"])

    @classmethod
    def tearDownClass(cls) -> None:
        cls.tmp.cleanup()

    def output(self, engine: str, name: str) -> list[Row]:
        return rows(self.root / "peers" / engine / name)

    def test_the_sample_exercises_the_merge(self) -> None:
        cut = self.workload["cut_seq"]
        before = [(pk, sk, op) for seq, pk, sk, op, _ in self.log if seq <= cut]
        after = {(pk, sk) for seq, pk, sk, _, _ in self.log if seq > cut}
        keys = [(pk, sk) for pk, sk, _ in before]
        self.assertLess(len(set(keys)), len(keys), "no key is mutated twice before the cut")
        deleted_then_put = {
            k
            for i, (pk, sk, op) in enumerate(before)
            if op == "DELETE"
            for k in [(pk, sk)]
            if any((p, s, o) == (pk, sk, "PUT") for p, s, o in before[i + 1 :])
        }
        self.assertTrue(deleted_then_put, "no key is deleted and put again before the cut")
        self.assertTrue(after & set(keys), "no key mutated before the cut is mutated after it")
        self.assertTrue(any(op == "DELETE" for _, _, op in before))

    def test_workload_agrees_with_the_reference_merge(self) -> None:
        self.assertEqual(len(self.expected), self.workload["rows_at_cut"])
        self.assertEqual(
            sum(len(item.encode()) for _, _, item in self.expected), self.workload["item_bytes_at_cut"]
        )
        self.assertTrue(any(len(item.encode()) != len(item) for _, _, item in self.expected), "all ASCII")

    def test_backups_equal_the_reference(self) -> None:
        for engine in engines.ENGINES:
            with self.subTest(engine=engine):
                self.assertEqual(self.output(engine, engines.BACKUP), self.expected)

    def test_restores_equal_the_reference(self) -> None:
        def n(item: str, path: tuple[str, str]) -> Any:
            value = json.loads(item).get(path[0])
            return None if value is None else value[path[1]]

        lsi = sorted(
            ((pk, float(n(item, ("updated_at", "N"))), sk, item) for pk, sk, item in self.expected),
            key=lambda r: (r[0], r[1], r[2]),
        )
        gsi = sorted(
            (
                (n(item, ("merchant_id", "S")), float(n(item, ("amount", "N"))), pk, sk, item)
                for pk, sk, item in self.expected
                if n(item, ("merchant_id", "S")) is not None
            ),
            key=lambda r: (r[0], r[1], r[2], r[3]),
        )
        self.assertLess(len(gsi), len(self.expected), "the GSI should be sparse")
        self.assertNotEqual(gsi, sorted(gsi, key=lambda r: (r[0], str(r[1]))), "amounts sort as text too")
        for engine in engines.ENGINES:
            with self.subTest(engine=engine):
                self.assertEqual(self.output(engine, engines.RESTORE_TABLE), self.expected)
                self.assertEqual(self.output(engine, engines.RESTORE_LSI), lsi)
                self.assertEqual(self.output(engine, engines.RESTORE_GSI), gsi)

    def test_engines_agree_file_for_file(self) -> None:
        for name in (engines.BACKUP, *engines.RESTORE_OUTPUTS):
            with self.subTest(name=name):
                self.assertEqual(self.output("duckdb", name), self.output("polars", name))

    def test_outputs_are_zstd(self) -> None:
        for engine in engines.ENGINES:
            for name in (engines.BACKUP, *engines.RESTORE_OUTPUTS):
                meta = pq.ParquetFile(self.root / "peers" / engine / name).metadata
                codecs = {
                    meta.row_group(g).column(c).compression
                    for g in range(meta.num_row_groups)
                    for c in range(meta.num_columns)
                }
                self.assertEqual(codecs, {"ZSTD"}, f"{engine} {name}")

    def test_peers_json_shape(self) -> None:
        peers = json.loads((self.root / "peers.json").read_text())
        self.assertEqual(peers["harness"], "bench/peers")
        self.assertEqual(peers["version"], 1)
        self.assertEqual(peers["workload"], self.workload)
        for key in ("cpu_model", "cpus", "mem_mb"):
            self.assertIn(key, peers["machine"])
        runs = peers["runs"]
        self.assertEqual(
            [(r["engine"], r["stage"]) for r in runs],
            [(e, s) for e in engines.ENGINES for s in engines.STAGES],
        )
        import duckdb
        import polars

        versions = {"duckdb": duckdb.__version__, "polars": polars.__version__}
        for run in runs:
            with self.subTest(engine=run["engine"], stage=run["stage"]):
                self.assertEqual(run["engine_version"], versions[run["engine"]])
                self.assertEqual(run["threads"], engines.THREADS)
                for key in ("seconds", "mb_per_s", "rows_per_s", "peak_rss_mb"):
                    self.assertIsInstance(run[key], float)
                    self.assertGreater(run[key], 0)
                self.assertAlmostEqual(
                    run["mb_per_s"], self.workload["item_bytes_at_cut"] / run["seconds"] / 1e6
                )
                self.assertIsInstance(run["output_bytes"], int)
                self.assertEqual(run["output_bytes"], sum(run["outputs"].values()))
                self.assertGreater(run["peak_rss_mb"], 20, "a Python with its engine loaded")

    def test_the_table_compares_with_ddb(self) -> None:
        out = self.peers_run.stdout
        self.assertIn("stage backup", out)
        self.assertIn("ddb backup [io_uring] / duckdb", out)
        self.assertIn("ddb restore_gsi_active [std] / polars", out)
        # ddb backup 50 MB/s against the peer's measured MB/s
        peers = json.loads((self.root / "peers.json").read_text())
        duck = next(r for r in peers["runs"] if r["engine"] == "duckdb" and r["stage"] == "backup")
        self.assertIn(f"{50.0 / duck['mb_per_s']:.2f}x", out)

    def test_a_wrong_workload_fails_the_run(self) -> None:
        with tempfile.TemporaryDirectory(prefix="peers-test-bad-") as bad:
            shutil.copytree(self.root / "data", Path(bad) / "data")
            workload = dict(self.workload, item_bytes_at_cut=self.workload["item_bytes_at_cut"] + 1)
            (Path(bad) / "data" / "workload.json").write_text(json.dumps(workload))
            run = run_peers(Path(bad), "--engines", "duckdb")
            self.assertEqual(run.returncode, 1, run.stderr)
            self.assertIn("CHECK FAILED: duckdb backup: item bytes (item_bytes_at_cut)", run.stderr)
            self.assertFalse((Path(bad) / "peers.json").exists())

    def test_missing_input_says_what_to_run(self) -> None:
        with tempfile.TemporaryDirectory(prefix="peers-test-empty-") as empty:
            run = run_peers(Path(empty))
            self.assertEqual(run.returncode, 2)
            self.assertIn("cargo run --release -p ddb-bench -- e2e --items N --out", run.stderr)


if __name__ == "__main__":
    unittest.main()
