#!/usr/bin/env bash
# Coverage benchmark: `kakehashi tables coverage` over a generated SS-MIX2 storage,
# with the time of each phase (reading, SS-MIX2 parsing, key extraction through the
# mappers, classification, polars analytics, writing CSV/Parquet). Not part of the
# tests; it prints figures and asserts nothing.
#
#   bench/coverage.sh [--patients N] [--seed S] [--release]
#
# By default it builds the `dev` profile with our own crates at opt-level 2 (the
# level the dev profile already gives every dependency), which reuses the test
# build's dependencies; `--release` builds the release profile instead (a fresh
# machine then compiles fhirbolt and polars once more, ~20 minutes on 2 cores).
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/.." && pwd)"
work="$here/.work/coverage"
patients=10000
seed=1
release=0
while [ $# -gt 0 ]; do
  case "$1" in
    --patients) patients="$2"; shift 2 ;;
    --seed) seed="$2"; shift 2 ;;
    --release) release=1; shift ;;
    *) echo "usage: $0 [--patients N] [--seed S] [--release]" >&2; exit 2 ;;
  esac
done

echo "== build" >&2
if [ "$release" = 1 ]; then
  (cd "$repo" && cargo build --release --locked -p cli >&2)
  kakehashi="${CARGO_TARGET_DIR:-$repo/target}/release/kakehashi"
else
  (cd "$repo" && CARGO_PROFILE_DEV_OPT_LEVEL=2 cargo build --locked -p cli >&2)
  kakehashi="${CARGO_TARGET_DIR:-$repo/target}/debug/kakehashi"
fi

storage="$work/storage-$patients-$seed"
if [ ! -d "$storage" ]; then
  echo "== synth ssmix2 --patients $patients --seed $seed" >&2
  mkdir -p "$work"
  "$kakehashi" synth ssmix2 --patients "$patients" --seed "$seed" --out "$storage" >/dev/null
fi
files=$(find "$storage" -type f | wc -l)
bytes=$(du -sb "$storage" | cut -f1)
echo "== storage: $files files, $bytes bytes" >&2

echo "== coverage (warm page cache: one untimed run first)" >&2
"$kakehashi" tables coverage "$storage" --config "$repo/kakehashi.toml" --out "$work/out" >/dev/null 2>&1 || true
/usr/bin/env time -f "wall %e s, user %U s, sys %S s, peak RSS %M KB" \
  "$kakehashi" tables coverage "$storage" --config "$repo/kakehashi.toml" --out "$work/out" --timings --top 5 \
  | sed -n '1,3p'
