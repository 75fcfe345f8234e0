#!/usr/bin/env bash
# Runs every fuzz target for a while (default 60 s each), seeded from the golden vectors.
#   scripts/fuzz.sh [seconds] [target...]
# Needs cargo-fuzz (installed here if missing). cargo-fuzz needs nightly-only rustc flags; this
# machine has only the stable toolchain, so RUSTC_BOOTSTRAP=1 unlocks them for this build alone.
set -euo pipefail
cd "$(dirname "$0")/../fuzz"
seconds="${1:-60}"
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(item_json input_document key number create_table log_segment snapshot spill_run state_file backup_manifest export_data_file)
command -v cargo-fuzz >/dev/null || cargo install --locked cargo-fuzz
export RUSTC_BOOTSTRAP=1

# Seed corpora: vector inputs for the JSON decoders, vector bytes for the key decoder, vector
# segment files for the log, vector snapshot files and manifests for the snapshot target, vector
# runs for the spill target.
python3 - <<'PY'
import json, pathlib
root = pathlib.Path('..') / 'formats'
def seed(target, name, data):
    d = pathlib.Path('corpus') / target
    d.mkdir(parents=True, exist_ok=True)
    (d / name).write_bytes(data)
for f in sorted((root / 'item-json' / 'vectors').glob('*.json')):
    v = json.loads(f.read_text())
    seed('item_json', f.stem, v['input'].encode())
    seed('input_document', f.stem, v['input'].encode())
    seed('input_document', f.stem + '-export', ('{"Item":' + v['input'] + '}').encode())
for f in sorted((root / 'key' / 'vectors').glob('*.json')):
    v = json.loads(f.read_text())
    seed('key', f.stem, bytes.fromhex(v['hex']))
    for value in v.get('values', []):
        if 'N' in value:
            seed('number', f.stem, value['N'].encode())
for f in sorted((root / 'log' / 'vectors').glob('*.log')):
    seed('log_segment', f.stem, f.read_bytes())
for f in sorted((root / 'snapshot' / 'vectors').glob('*.snap')):
    seed('snapshot', f.stem, f.read_bytes())
for f in sorted((root / 'database' / 'vectors').glob('*.state')):
    seed('state_file', f.stem, f.read_bytes())
for d in sorted((root / 'snapshot' / 'vectors').glob('manifest-*')):
    seed('snapshot', d.name, (d / 'snapshot.manifest').read_bytes())
    for f in sorted(d.glob('*.snap')):
        seed('snapshot', d.name + '-' + f.stem, f.read_bytes())
for f in sorted((root / 'spill' / 'vectors').glob('*.spill')):
    seed('spill_run', f.stem, f.read_bytes())
for d in sorted((root / 'backup' / 'vectors').iterdir()):
    if (d / 'manifest.json').exists():
        seed('backup_manifest', d.name, (d / 'manifest.json').read_bytes())
for i, f in enumerate(sorted((root / 'export' / 'vectors').rglob('*.json.gz'))):
    seed('export_data_file', f'gz-{i}', b'\x00' + f.read_bytes())
PY

status=0
for target in "${targets[@]}"; do
    echo "== fuzzing $target for ${seconds}s"
    cargo fuzz run "$target" -- -max_total_time="$seconds" || status=1
done
exit $status
