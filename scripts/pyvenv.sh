#!/usr/bin/env bash
# Creates (idempotently) target/pyvenv with the pinned packages of scripts/requirements.txt.
# Reinstalls only when the requirements changed since the last successful install.
set -euo pipefail
cd "$(dirname "$0")/.."
venv=target/pyvenv
stamp="$venv/.requirements.txt"
if [ -x "$venv/bin/python" ] && cmp -s scripts/requirements.txt "$stamp"; then
    echo "pyvenv: $venv is up to date"
    exit 0
fi
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r scripts/requirements.txt
cp scripts/requirements.txt "$stamp"
echo "pyvenv: $venv ready"
