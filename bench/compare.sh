#!/usr/bin/env bash
# Two kakehashi builds side by side on the same generated storage, in one run:
# `convert` with each, alternated (old, new, old, new, …) so that both see the same
# machine load, each under /usr/bin/time. Prints the median CPU time (user + sys),
# wall time and peak RSS of each and their ratios (new / old), and checks that the
# two builds wrote byte-identical outputs. Not part of the tests; asserts nothing.
#
#   bench/compare.sh --old PATH --new PATH [--patients N] [--seed S] [--rounds R] [--jobs J]
#
# Both binaries must know `synth ssmix2` and `convert --no-ledger --as-of`; the
# storage is generated with the new one. Defaults: 2 000 patients, seed 1, 3 rounds,
# --jobs 1 (one worker, so the figure is per core).
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/.." && pwd)"
work="$here/.work/compare"
old="" new="" patients=2000 seed=1 rounds=3 jobs=1
while [ $# -gt 0 ]; do
  case "$1" in
    --old) old="$2"; shift 2 ;;
    --new) new="$2"; shift 2 ;;
    --patients) patients="$2"; shift 2 ;;
    --seed) seed="$2"; shift 2 ;;
    --rounds) rounds="$2"; shift 2 ;;
    --jobs) jobs="$2"; shift 2 ;;
    *) echo "usage: bench/compare.sh --old PATH --new PATH [--patients N] [--seed S] [--rounds R] [--jobs J]" >&2; exit 2 ;;
  esac
done
if [ -z "$old" ] || [ -z "$new" ]; then
  echo "bench/compare.sh: --old and --new are required" >&2
  exit 2
fi
config="$repo/demo/synth.kakehashi.toml"
mkdir -p "$work"
storage="$work/storage-$patients-$seed"
if [ ! -d "$storage" ]; then
  "$new" synth ssmix2 --patients "$patients" --seed "$seed" --out "$storage" > /dev/null
fi

# run WHO ROUND → appends "cpu_s wall_s rss_kb" to $work/WHO.times
run() {
  local who="$1" bin="$2" round="$3"
  rm -rf "$work/out-$who"
  /usr/bin/time -f "%U %S %e %M" -o "$work/time" \
    "$bin" convert "$storage" --config "$config" --out "$work/out-$who" \
    --as-of 2026-11-23 --no-ledger --jobs "$jobs" > "$work/stdout-$who" 2>&1 || true
  # the last line: a failing exit adds a "Command exited with …" line before it
  tail -n 1 "$work/time" | awk '{ printf "%.2f %.2f %d\n", $1 + $2, $3, $4 }' >> "$work/$who.times"
  echo "  round $round $who: $(tail -n 1 "$work/$who.times")"
}
rm -f "$work/old.times" "$work/new.times"
load=$(cut -d' ' -f1 /proc/loadavg 2>/dev/null || echo "?")
echo "convert, $patients patients (seed $seed), --jobs $jobs, $rounds rounds alternated (load $load at start):"
echo "  (cpu s, wall s, peak RSS kB)"
for r in $(seq 1 "$rounds"); do
  run old "$old" "$r"
  run new "$new" "$r"
done

# median of column C of a times file
median() { sort -n -k"$2" "$1" | awk -v c="$2" '{ v[NR] = $c } END { print v[int((NR + 1) / 2)] }'; }
co=$(median "$work/old.times" 1); cn=$(median "$work/new.times" 1)
wo=$(median "$work/old.times" 2); wn=$(median "$work/new.times" 2)
mo=$(median "$work/old.times" 3); mn=$(median "$work/new.times" 3)
awk -v co="$co" -v cn="$cn" -v wo="$wo" -v wn="$wn" -v mo="$mo" -v mn="$mn" 'BEGIN {
  printf "median CPU:  old %.2f s, new %.2f s: new/old %.3f\n", co, cn, cn / co
  printf "median wall: old %.2f s, new %.2f s: new/old %.3f\n", wo, wn, wn / wo
  printf "peak RSS:    old %.1f MB, new %.1f MB: new/old %.3f\n", mo / 1024, mn / 1024, mn / mo
}'
# The outputs that name no run-specific paths must be the same bytes.
same=identical
for d in bundles ndjson; do
  if ! diff -rq "$work/out-old/$d" "$work/out-new/$d" > /dev/null 2>&1; then
    same=DIFFERENT
  fi
done
echo "bundles/ and ndjson/ of the two builds: $same"
