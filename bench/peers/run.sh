#!/usr/bin/env bash
# The peer comparison: DuckDB and Polars on the data of `ddb-bench e2e`, beside our numbers.
#   bench/peers/run.sh [DIR] [peers.py options...]
#   bench/peers/run.sh --test          (the venv, then bench/peers/test_peers.py)
# DIR defaults to target/e2e under the repo root; a DIR given is taken relative to where you
# are. Creates (idempotently) target/peers-venv with bench/peers/requirements.txt, reinstalling
# only when the requirements changed since the last successful install (as scripts/pyvenv.sh
# does), then runs peers.py DIR. See bench/peers/README.md.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
venv="$repo/target/peers-venv"

make_venv() {
    local stamp="$venv/.requirements.txt"
    if [ -x "$venv/bin/python" ] && cmp -s "$here/requirements.txt" "$stamp"; then
        echo "peers-venv: $venv is up to date"
        return
    fi
    [ -x "$venv/bin/python" ] || python3 -m venv "$venv"
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$here/requirements.txt"
    cp "$here/requirements.txt" "$stamp"
    echo "peers-venv: $venv ready"
}

if [ "${1:-}" = "--test" ]; then
    make_venv
    exec "$venv/bin/python" "$here/test_peers.py" "${@:2}"
fi

dir="$repo/target/e2e"
if [ $# -gt 0 ] && [ "${1#-}" = "$1" ]; then
    dir="$1"
    shift
fi
case "$dir" in
    /*) ;;
    *) dir="$PWD/$dir" ;;
esac

if [ ! -d "$dir/data/peers" ] || [ ! -f "$dir/data/workload.json" ]; then
    echo "peers: $dir/data/peers (or data/workload.json) is missing; write it first with" >&2
    echo "  cargo run --release -p ddb-bench -- e2e --items N --out $dir" >&2
    exit 2
fi

make_venv
exec "$venv/bin/python" "$here/peers.py" "$dir" "$@"
