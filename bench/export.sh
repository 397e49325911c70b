#!/usr/bin/env bash
# Benchmark of `kakehashi export tables` (SQL on FHIR views → Parquet) on the
# output of `convert` over generated SS-MIX2 storage. Not part of the tests;
# nothing asserts a time.
#
#   bench/export.sh [--patients N] [--seed S] [--bin PATH] [--previous-bin PATH [--rounds R]]
#
# --bin PATH: time that kakehashi binary instead of building this tree's release
# binary (the tree's is built with `cargo build --release`, in $CARGO_TARGET_DIR
# when set).
# --previous-bin PATH: also export the big output with that (earlier) build,
# alternated with this one R times (default 3), and print both median CPU times,
# their ratio and whether the two builds wrote the same tables.
#
# Steps: (1) generate two storages, N and 10×N patients (`synth ssmix2`, no
# faults), and convert each (`--jobs 2`, no ledger); (2) export both to Parquet
# with the shipped views on one core (`taskset -c 0`) under /usr/bin/time; (3)
# print rows written per second (and resources read per second) for the big
# one, and the peak RSS of both with their ratio: the export streams (one NDJSON
# line, one bundle file at a time; rows buffered up to one Parquet row group per
# table), so memory should stay flat — the target is a ratio within 1.5 for 10×
# the input; (4) check that a second export of the small output is
# byte-identical.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/.." && pwd)"
work="$here/.work/export"
patients=1000
seed=1
bin=""
previous=""
rounds=3
while [ $# -gt 0 ]; do
  case "$1" in
    --patients) patients="$2"; shift 2 ;;
    --seed) seed="$2"; shift 2 ;;
    --bin) bin="$2"; shift 2 ;;
    --previous-bin) previous="$2"; shift 2 ;;
    --rounds) rounds="$2"; shift 2 ;;
    *) echo "usage: bench/export.sh [--patients N] [--seed S] [--bin PATH] [--previous-bin PATH [--rounds R]]" >&2; exit 2 ;;
  esac
done
big=$(( patients * 10 ))

cd "$repo"
if [ -z "$bin" ]; then
  cargo build --release --locked -q --bin kakehashi
  bin="${CARGO_TARGET_DIR:-$repo/target}/release/kakehashi"
fi
config="$repo/demo/synth.kakehashi.toml"

mkdir -p "$work"
for n in "$patients" "$big"; do
  if [ ! -d "$work/converted-$n-$seed" ]; then
    rm -rf "$work/storage-$n-$seed"
    "$bin" synth ssmix2 --patients "$n" --seed "$seed" --out "$work/storage-$n-$seed" > /dev/null
    "$bin" convert "$work/storage-$n-$seed" --config "$config" --out "$work/converted-$n-$seed" \
      --as-of 2026-11-23 --no-ledger --jobs 2 > /dev/null || true
    rm -rf "$work/storage-$n-$seed"
  fi
done

# export NAME N [BIN] → prints "wall_s rss_kb cpu_s rows resources"
export_run() {
  local name="$1" n="$2" with="${3:-$bin}"
  rm -rf "$work/tables-$name"
  local cmd=("$with" export tables --from "$work/converted-$n-$seed" --out "$work/tables-$name")
  if command -v taskset > /dev/null; then
    cmd=(taskset -c 0 "${cmd[@]}")
  fi
  /usr/bin/time -f "%e %M %U %S" -o "$work/time-$name" "${cmd[@]}" > "$work/stdout-$name" 2> "$work/stderr-$name" || true
  local rows resources
  rows=$(grep -E '^[a-z_]+\.parquet: [0-9]+ rows' "$work/stdout-$name" | awk '{ s += $2 } END { print s + 0 }')
  resources=$(grep -oE '[0-9]+ resources used' "$work/stdout-$name" | awk '{ print $1 }')
  tail -n 1 "$work/time-$name" | awk -v r="$rows" -v x="$resources" '{ printf "%s %s %.2f %s %s\n", $1, $2, $3 + $4, r, x }'
}

load=$(cut -d' ' -f1 /proc/loadavg 2>/dev/null || echo "?")
read -r ws rsss cs rows_s res_s < <(export_run small "$patients")
read -r wb rssb cb rows_b res_b < <(export_run big "$big")
export_run again "$patients" > /dev/null
same=identical
for f in "$work/tables-small"/*; do
  cmp -s "$f" "$work/tables-again/$(basename "$f")" || same=DIFFERENT
done

echo "export tables → Parquet, shipped views, one core (load ${load}):"
cat "$work/stdout-big" | sed 's/^/  /'
awk -v w="$wb" -v c="$cb" -v r="$rows_b" -v x="$res_b" -v n="$big" 'BEGIN {
  printf "%d patients: %d resources → %d rows in %.2f s wall, %.2f s CPU: %.0f rows/s, %.0f resources/s (CPU)\n", n, x, r, w, c, r / c, x / c }'
awk -v a="$rsss" -v b="$rssb" -v n="$patients" -v m="$big" 'BEGIN {
  printf "peak RSS: %.1f MB (%d patients), %.1f MB (%d patients): %.2f× for 10× the input (target ≤ 1.5×)\n", a / 1024, n, b / 1024, m, b / a }'
echo "second export of the small output: $same"

if [ -n "$previous" ]; then
  # alternated: previous, this, previous, this, … on the big output
  : > "$work/cpu-previous"
  : > "$work/cpu-this"
  for _ in $(seq "$rounds"); do
    export_run previous "$big" "$previous" | awk '{ print $3 }' >> "$work/cpu-previous"
    export_run this "$big" | awk '{ print $3 }' >> "$work/cpu-this"
  done
  tables=same
  for f in "$work/tables-this"/*; do
    cmp -s "$f" "$work/tables-previous/$(basename "$f")" || tables=DIFFERENT
  done
  median() { sort -g "$1" | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
  mp=$(median "$work/cpu-previous")
  mt=$(median "$work/cpu-this")
  awk -v p="$mp" -v t="$mt" -v n="$big" -v r="$rounds" -v same="$tables" 'BEGIN {
    printf "previous build vs this one, %d patients, %d alternated rounds: median CPU %.2f s → %.2f s (this / previous %.3f×); tables %s\n", n, r, p, t, t / p, same }'
fi
