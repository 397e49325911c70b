#!/usr/bin/env bash
# Parse benchmark: kakehashi's HL7 v2.5 parser vs python-hl7 and @medplum/core on
# the same pre-decoded UTF-8 corpus, one core, same run. Not part of the tests.
#
#   bench/parse.sh [--patients N] [--seed S] [--runs R] [--py-runs R] [--update-baseline]
#
# Steps: (1) build release binaries, (2) generate a synthetic SS-MIX2 storage
# (default 6000 patients ≈ 54 000 messages), (3) decode every file once with our
# ISO-2022-JP decoder into bench/.work/parse/corpus.txt (one message per line),
# (4) install the pinned peers (bench/peers/requirements.txt, package-lock.json)
# into bench/.peers (pip --target, npm ci --prefix; when missing or re-pinned),
# (5) time each parser pinned to CPU 0 with taskset, (6) print a table of MB/s,
# messages/s and ratios, and compare with bench/baseline.json.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/.." && pwd)"
work="$here/.work/parse"
peers="$here/.peers"
patients=6000
seed=1
runs=5
py_runs=1
update=0
while [ $# -gt 0 ]; do
  case "$1" in
    --patients) patients="$2"; shift 2 ;;
    --seed) seed="$2"; shift 2 ;;
    --runs) runs="$2"; shift 2 ;;
    --py-runs) py_runs="$2"; shift 2 ;;
    --update-baseline) update=1; shift ;;
    *) echo "usage: $0 [--patients N] [--seed S] [--runs R] [--py-runs R] [--update-baseline]" >&2; exit 2 ;;
  esac
done

pin=()
if command -v taskset >/dev/null 2>&1; then pin=(taskset -c 0); else echo "note: taskset not found, not pinning" >&2; fi

echo "== build (release)" >&2
(cd "$repo" && cargo build --release --locked -p cli -p bench >&2)
kakehashi="${CARGO_TARGET_DIR:-$repo/target}/release/kakehashi"
bench="${CARGO_TARGET_DIR:-$repo/target}/release/kakehashi-bench"

echo "== generate $patients patients (seed $seed)" >&2
rm -rf "$work"
mkdir -p "$work"
"$kakehashi" synth ssmix2 --patients "$patients" --seed "$seed" --out "$work/storage" >&2

echo "== decode once into the shared UTF-8 corpus" >&2
"$bench" corpus "$work/storage" "$work/corpus.txt"

echo "== peers (pinned: bench/peers/requirements.txt, bench/peers/package-lock.json)" >&2
# Installed from PyPI and npm into the gitignored bench/.peers when missing or when
# the pins changed since the last install (the installed copy of each manifest is
# kept beside it and compared).
if ! cmp -s "$here/peers/requirements.txt" "$peers/py/requirements.txt"; then
  rm -rf "$peers/py"
  python3 -m pip install --quiet --disable-pip-version-check --no-deps --require-hashes \
    --target "$peers/py" -r "$here/peers/requirements.txt" >&2
  cp "$here/peers/requirements.txt" "$peers/py/requirements.txt"
fi
if ! cmp -s "$here/peers/package-lock.json" "$peers/npm/package-lock.json" \
   || [ ! -d "$peers/npm/node_modules/@medplum/core" ]; then
  rm -rf "$peers/npm"
  mkdir -p "$peers/npm"
  cp "$here/peers/package.json" "$here/peers/package-lock.json" "$peers/npm/"
  npm ci --silent --no-audit --no-fund --prefix "$peers/npm" >&2
fi
py_version="$(PYTHONPATH="$peers/py" python3 -c 'import importlib.metadata as m; print(m.version("hl7"))')"
medplum_version="$(node -p "require('$peers/npm/node_modules/@medplum/core/package.json').version")"

echo "== time (CPU 0): kakehashi, kakehashi+iso2022jp, @medplum/core $medplum_version, python-hl7 $py_version" >&2
results="$work/results.jsonl"
: > "$results"
"${pin[@]}" "$bench" utf8 "$work/corpus.txt" "$runs" | tee -a "$results" >&2
"${pin[@]}" "$bench" iso "$work/storage" "$runs" | tee -a "$results" >&2
NODE_PATH="$peers/npm/node_modules" "${pin[@]}" node "$here/peers/medplum_bench.js" "$work/corpus.txt" "$runs" | tee -a "$results" >&2
PYTHONPATH="$peers/py" "${pin[@]}" python3 "$here/peers/python_hl7_bench.py" "$work/corpus.txt" "$py_runs" | tee -a "$results" >&2

args=("$results" "$here/baseline.json" --patients "$patients" --seed "$seed"
      --versions "@medplum/core=$medplum_version" "python-hl7=$py_version")
if [ "$update" = 1 ]; then args+=(--update); fi
python3 "$here/report.py" "${args[@]}"
