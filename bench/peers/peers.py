#!/usr/bin/env python3
"""The peer comparison: DuckDB and Polars do our backup's merge and our restore's sorts on the
data that `ddb-bench e2e` wrote, and their numbers are set beside ours (DIR/report.json).

    python peers.py [DIR] [--engines duckdb,polars] [--no-plot]

DIR (default target/e2e) holds data/peers/{snapshot,log}.parquet and data/workload.json from
`cargo run --release -p ddb-bench -- e2e --items N --out DIR`. Each engine runs each stage in a
child process of its own (engines.py) with 2 threads, so that the peak RSS read for the child
(wait4's ru_maxrss) is that engine's alone. Every output is checked here, with pyarrow, against
the workload's rows_at_cut and item_bytes_at_cut. Writes DIR/peers.json and prints the
side-by-side table; then, if cargo is on PATH, asks `ddb-bench plot` for the SVG.
See README.md beside this file.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow.compute as pc
import pyarrow.parquet as pq

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
sys.path.insert(0, str(HERE))
import engines  # noqa: E402  (beside this file; imports no engine itself)

E2E_COMMAND = "cargo run --release -p ddb-bench -- e2e --items N --out {dir}"
WORKLOAD_KEYS = ("items", "mutations", "cut_seq", "rows_at_cut", "item_bytes_at_cut")


class CheckFailed(Exception):
    """An output does not match the workload: a bug in someone's merge."""


class RunFailed(Exception):
    """A child did not finish (a crash, an engine error, out of memory)."""


# ---------------------------------------------------------------------------------- inputs


def load_workload(root: Path) -> dict[str, Any]:
    path = root / "data" / "workload.json"
    try:
        workload = json.loads(path.read_text())
    except json.JSONDecodeError as error:
        raise CheckFailed(f"{path}: not JSON ({error})") from None
    missing = [k for k in WORKLOAD_KEYS if k not in workload]
    if missing:
        raise CheckFailed(f"{root}/data/workload.json lacks {', '.join(missing)}")
    return workload


def check_inputs(root: Path) -> None:
    """The inputs' columns, and the log's seq order (the Polars merge's keep="last" relies on it)."""
    paths = engines.Paths(root, "-")
    for path, want in (
        (paths.snapshot, ["pk", "sk", "item"]),
        (paths.log, ["seq", "pk", "sk", "op", "item"]),
    ):
        names = pq.read_schema(path).names
        if any(c not in names for c in want):
            raise CheckFailed(f"{path}: columns {names}, expected {want}")
    previous: int | None = None
    for batch in pq.ParquetFile(paths.log).iter_batches(columns=["seq"], batch_size=1 << 20):
        seq = batch.column(0)
        if len(seq) == 0:
            continue
        if previous is not None and seq[0].as_py() <= previous:
            raise CheckFailed(f"{paths.log}: seq is not increasing ({previous} then {seq[0].as_py()})")
        if len(seq) > 1 and not pc.all(pc.greater(seq.slice(1), seq.slice(0, len(seq) - 1))).as_py():
            raise CheckFailed(f"{paths.log}: seq is not increasing")
        previous = seq[-1].as_py()


# ---------------------------------------------------------------------------------- checks


@dataclass
class Counted:
    rows: int
    item_bytes: int
    columns: list[str]


def count(path: Path) -> Counted:
    """Rows, and the sum of len(item) in UTF-8 bytes, read a batch at a time."""
    file = pq.ParquetFile(path)
    item_bytes = 0
    for batch in file.iter_batches(columns=["item"], batch_size=1 << 16):
        total = pc.sum(pc.binary_length(batch.column(0))).as_py()
        item_bytes += total or 0
    return Counted(file.metadata.num_rows, item_bytes, file.schema_arrow.names)


def expect(label: str, got: object, want: object) -> None:
    if got != want:
        raise CheckFailed(f"{label}: {got!r}, expected {want!r}")


def check_outputs(out: Path, engine: str, stage: str, workload: dict[str, Any]) -> dict[str, int]:
    """Checks one stage's outputs; returns the GSI's row count (restore) or {}."""
    rows, item_bytes = workload["rows_at_cut"], workload["item_bytes_at_cut"]
    what = f"{engine} {stage}"
    if stage == "backup":
        c = count(out / engines.BACKUP)
        expect(f"{what}: {engines.BACKUP} columns", c.columns, ["pk", "sk", "item"])
        expect(f"{what}: rows (rows_at_cut)", c.rows, rows)
        expect(f"{what}: item bytes (item_bytes_at_cut)", c.item_bytes, item_bytes)
        return {}
    table = count(out / engines.RESTORE_TABLE)
    lsi = count(out / engines.RESTORE_LSI)
    gsi = count(out / engines.RESTORE_GSI)
    expect(f"{what}: table columns", table.columns, ["pk", "sk", "item"])
    expect(f"{what}: LSI columns", lsi.columns, ["pk", "updated_at", "sk", "item"])
    expect(f"{what}: GSI columns", gsi.columns, ["merchant_id", "amount", "pk", "sk", "item"])
    for label, c in (("table", table), ("LSI", lsi)):
        expect(f"{what}: {label} rows (rows_at_cut)", c.rows, rows)
        expect(f"{what}: {label} item bytes (item_bytes_at_cut)", c.item_bytes, item_bytes)
    if gsi.rows > rows:
        raise CheckFailed(f"{what}: the GSI has {gsi.rows} rows, more than the table's {rows}")
    return {"gsi_rows": gsi.rows}


# ---------------------------------------------------------------------------------- runs


def run_child(engine: str, stage: str, root: Path, cut_seq: int) -> tuple[dict[str, Any], float]:
    """Runs engines.py ENGINE STAGE in its own process; returns its result and its peak RSS (MiB)."""
    env = dict(os.environ, POLARS_MAX_THREADS=str(engines.THREADS))  # engines.py sets it too
    with tempfile.TemporaryDirectory(prefix="peers-") as tmp:
        result = Path(tmp) / "result.json"
        argv = [sys.executable, str(HERE / "engines.py"), engine, stage, str(root), str(cut_seq), str(result)]
        child = subprocess.Popen(argv, env=env)
        # wait4, not child.wait(): it returns this child's own rusage (ru_maxrss in KiB on Linux).
        _, status, usage = os.wait4(child.pid, 0)
        child.returncode = os.waitstatus_to_exitcode(status)
        if child.returncode != 0:
            raise RunFailed(f"{engine} {stage}: the child exited with {child.returncode}")
        return json.loads(result.read_text()), usage.ru_maxrss / 1024


def run_engine(engine: str, root: Path, workload: dict[str, Any]) -> list[dict[str, Any]]:
    out = root / "peers" / engine
    if out.exists():
        shutil.rmtree(out)  # no stale outputs from an earlier run
    runs = []
    for stage in engines.STAGES:
        print(f"peers: {engine} {stage} ...", flush=True)
        result, peak_rss_mb = run_child(engine, stage, root, workload["cut_seq"])
        extra = check_outputs(out, engine, stage, workload)
        seconds = float(result["seconds"])
        outputs = {name: (out / name).stat().st_size for name in result["outputs"]}
        run = {
            "engine": engine,
            "engine_version": result["engine_version"],
            "stage": stage,
            "threads": result["threads"],
            "seconds": seconds,
            "mb_per_s": workload["item_bytes_at_cut"] / seconds / 1e6,
            "rows_per_s": workload["rows_at_cut"] / seconds,
            "peak_rss_mb": peak_rss_mb,
            "output_bytes": sum(outputs.values()),
            "outputs": outputs,
            **extra,
        }
        print(
            f"peers: {engine} {stage}: {seconds:.2f} s, {run['mb_per_s']:.1f} MB/s, "
            f"peak RSS {peak_rss_mb:.0f} MB, checked",
            flush=True,
        )
        runs.append(run)
    shutil.rmtree(out / "duckdb.tmp", ignore_errors=True)
    return runs


def machine() -> dict[str, Any]:
    info: dict[str, Any] = {
        "cpu_model": platform.processor() or platform.machine(),
        "cpus": os.cpu_count(),
        "cpus_usable": len(os.sched_getaffinity(0)),
        "threads_per_peer": engines.THREADS,
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
    }
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                info["cpu_model"] = line.split(":", 1)[1].strip()
                break
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                info["mem_mb"] = int(line.split()[1]) // 1024
                break
    except OSError:
        pass  # not Linux: the platform module's answer stands
    return info


# ---------------------------------------------------------------------------------- table


def num(value: object, spec: str) -> str:
    """value formatted by spec (which starts with its width), or a dash as wide."""
    if isinstance(value, (int, float)):
        return format(value, spec)
    width = int("".join(c for c in spec.split(".")[0] if c.isdigit()) or 0)
    return "-".rjust(width)


def ratio(ours: object, theirs: object) -> str:
    if isinstance(ours, (int, float)) and isinstance(theirs, (int, float)) and theirs > 0:
        return f"{ours / theirs:.2f}x"
    return "-"


def label(run: dict[str, Any]) -> str:
    if run.get("engine") == "ddb":
        return f"ddb {run.get('stage', '?')} [{run.get('backend', '?')}]"
    return f"{run['engine']} {run['engine_version']}"


def print_stage(title: str, ours: list[dict[str, Any]], peers: list[dict[str, Any]]) -> None:
    print(f"\n{title}")
    header = (
        f"  {'engine':<36} {'seconds':>8} {'MB/s':>8} {'rows/s':>10} {'peak RSS MB':>12} {'output MB':>10}"
    )
    print(header)
    for run in ours + peers:
        output = run.get("output_bytes")
        print(
            f"  {label(run):<36} {num(run.get('seconds'), '8.2f')} {num(run.get('mb_per_s'), '8.1f')} "
            f"{num(run.get('rows_per_s'), '10,.0f')} {num(run.get('peak_rss_mb'), '12.0f')} "
            f"{num(output / 1e6 if isinstance(output, (int, float)) else None, '10.1f')}"
        )
    if not ours or not peers:
        return
    print(f"  {'ddb / peer':<36} {'MB/s (>1: ddb faster)':>24} {'RSS (<1: ddb smaller)':>24}")
    for o in ours:
        for p in peers:
            pair = f"{label(o)} / {p['engine']}"
            print(
                f"  {pair:<36} {ratio(o.get('mb_per_s'), p['mb_per_s']):>24} "
                f"{ratio(o.get('peak_rss_mb'), p['peak_rss_mb']):>24}"
            )


def print_tables(report: dict[str, Any] | None, runs: list[dict[str, Any]], workload: dict[str, Any]) -> None:
    ddb = [r for r in (report or {}).get("runs", []) if r.get("engine") == "ddb"]
    print(
        f"\n{workload['rows_at_cut']:,} rows, {workload['item_bytes_at_cut'] / 1e6:.1f} MB of items "
        f"at the cut; MB/s = item_bytes_at_cut / seconds / 1e6; peers on {engines.THREADS} threads "
        f"(the machine has {os.cpu_count()} cores); peak RSS in MiB"
    )
    if report is None:
        print("(no report.json: peers only)")
    print_stage(
        "stage backup: snapshot + log up to the cut -> zstd-3 Parquet sorted by key",
        [r for r in ddb if r.get("stage") == "backup"],
        [r for r in runs if r["stage"] == "backup"],
    )
    print_stage(
        "stage restore: ddb restore_active / restore_gsi_active vs peers' restore_lsi_gsi_sort "
        "(table + LSI + GSI sorted copies)",
        [r for r in ddb if r.get("stage") in ("restore_active", "restore_gsi_active")],
        [r for r in runs if r["stage"] == "restore_lsi_gsi_sort"],
    )


# ---------------------------------------------------------------------------------- main


def plot(root: Path) -> None:
    if shutil.which("cargo") is None:
        print("\nplot: cargo is not on PATH; skipped")
        return
    if not (root / "report.json").exists():
        print("\nplot: no report.json to plot against; skipped")
        return
    svg = root / "throughput-vs-peers.svg"
    argv = [
        "cargo",
        "run",
        "--release",
        "-q",
        "-p",
        "ddb-bench",
        "--",
        "plot",
        "--report",
        str(root / "report.json"),
        "--peers",
        str(root / "peers.json"),
        "--out",
        str(svg),
    ]
    print(f"\nplot: {' '.join(argv)}", flush=True)
    try:
        done = subprocess.run(argv, cwd=REPO, check=False)
    except OSError as error:
        print(f"plot: could not run cargo ({error}); the numbers above stand")
        return
    if done.returncode == 0 and svg.exists():
        print(f"plot: wrote {svg}")
    else:
        print(
            f"plot: failed (exit {done.returncode}; does this branch's ddb-bench have `plot`?); "
            "peers.json and the table above stand"
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("dir", nargs="?", type=Path, default=REPO / "target" / "e2e")
    parser.add_argument("--engines", default=",".join(engines.ENGINES), help="comma-separated (default: all)")
    parser.add_argument("--no-plot", action="store_true", help="do not run `ddb-bench plot`")
    args = parser.parse_args(argv)
    root: Path = args.dir.resolve()
    chosen = [e for e in args.engines.split(",") if e]
    unknown = [e for e in chosen if e not in engines.ENGINES]
    if unknown:
        parser.error(f"unknown engine(s) {', '.join(unknown)}; known: {', '.join(engines.ENGINES)}")

    inputs = engines.Paths(root, "-")
    missing = [p for p in (inputs.snapshot, inputs.log, root / "data" / "workload.json") if not p.is_file()]
    if missing:
        print(
            f"peers: {', '.join(map(str, missing))} missing; write the inputs first with\n"
            f"  {E2E_COMMAND.format(dir=args.dir)}",
            file=sys.stderr,
        )
        return 2
    try:
        workload = load_workload(root)
        check_inputs(root)
        runs = [run for engine in chosen for run in run_engine(engine, root, workload)]
        gsi = {r["engine"]: r["gsi_rows"] for r in runs if "gsi_rows" in r}
        if len(set(gsi.values())) > 1:
            raise CheckFailed(f"the GSI row counts differ between engines: {gsi}")
    except CheckFailed as error:
        print(f"peers: CHECK FAILED: {error}", file=sys.stderr)
        return 1
    except RunFailed as error:
        print(f"peers: FAILED: {error}", file=sys.stderr)
        return 1

    report_path = root / "report.json"
    report = json.loads(report_path.read_text()) if report_path.exists() else None
    if report is not None:
        theirs = report.get("workload", {})
        differ = [k for k in WORKLOAD_KEYS if k in theirs and theirs[k] != workload[k]]
        if differ:
            print(
                f"peers: WARNING: report.json's workload differs from data/workload.json in "
                f"{', '.join(differ)}: the two were not measured on the same data",
                file=sys.stderr,
            )

    peers = {
        "harness": "bench/peers",
        "version": 1,
        "command": " ".join([Path(sys.argv[0]).name, *(argv if argv is not None else sys.argv[1:])]),
        "machine": machine(),
        "workload": workload,
        "runs": runs,
    }
    (root / "peers.json").write_text(json.dumps(peers, indent=2) + "\n")
    print(f"\npeers: wrote {root / 'peers.json'}")
    print_tables(report, runs, workload)
    if not args.no_plot:
        plot(root)
    return 0


if __name__ == "__main__":
    sys.exit(main())
