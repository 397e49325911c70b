#!/usr/bin/env bash
# Validator benchmark: the throughput part of the `fhir_stats` example
# (cold start of the clins set as the CLI loads it, CLINS lab bundle resources/s
# with invariants executed, 10k vs 100k-entry bundles with cross references, and
# fhir-oracle on the same files), pinned to one CPU. Not a test; nothing asserts
# a time.
#
#   bench/validator.sh [--runs N] [--reps R] [--baseline BIN] [--new BIN] [--oracle]
#
# --new BIN: measure this `fhir_stats` binary instead of building the worktree's.
# --baseline BIN: a `fhir_stats` binary built from another commit
#   (`cargo build --release -p fhir --example fhir_stats`, copied aside); the two
#   are run alternately, N times each, so machine load hits both alike, and the
#   median ratios new/baseline are printed.
# --oracle: also time fhir-oracle (../shared/tools/fhir-oracle) on the lab bundle
#   and the 10k-entry bundle, once, in the same run (the 10k run takes minutes).
#
# Figures: wall clock and CPU time of the validating thread; on a shared machine
# the CPU figure is the one-core figure, the wall figure shows the load.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/.." && pwd)"
runs=3
reps=1000
baseline=""
new=""
oracle=0
while [ $# -gt 0 ]; do
  case "$1" in
    --runs) runs="$2"; shift 2 ;;
    --reps) reps="$2"; shift 2 ;;
    --baseline) baseline="$2"; shift 2 ;;
    --new) new="$2"; shift 2 ;;
    --oracle) oracle=1; shift ;;
    *) echo "usage: bench/validator.sh [--runs N] [--reps R] [--baseline BIN] [--new BIN] [--oracle]" >&2; exit 2 ;;
  esac
done

cd "$repo"
if [ -z "$new" ]; then
  cargo build --release --locked -q -p fhir --example fhir_stats
  new="${CARGO_TARGET_DIR:-$repo/target}/release/examples/fhir_stats"
fi
pin=()
if command -v taskset > /dev/null; then pin=(taskset -c 0); fi
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT

echo "== load: $(cut -d' ' -f1-3 /proc/loadavg) (1/5/15 min), $(nproc) CPUs"
run() { # label binary index
  FHIR_STATS_ONLY_THROUGHPUT=1 FHIR_STATS_NO_ORACLE=1 FHIR_STATS_REPS="$reps" \
    "${pin[@]}" "$2" > "$out/$1.$3"
}
for i in $(seq 1 "$runs"); do
  run new "$new" "$i"
  if [ -n "$baseline" ]; then run old "$baseline" "$i"; fi
done
echo "== load after: $(cut -d' ' -f1-3 /proc/loadavg)"

python3 - "$out" "$runs" "${baseline:+1}" <<'EOF'
import re, statistics, sys
out, runs, has_old = sys.argv[1], int(sys.argv[2]), bool(sys.argv[3])
PATTERNS = {
    "cold start wall ms": (r"cold start .*?: ([\d.]+) ms wall", False),
    "cold start CPU ms": (r"cold start .*? ms wall / ([\d.]+) ms CPU", False),
    "lab bundle resources/s wall": (r"CLINS lab bundle x\d+: .*?= (\d+) resources/s wall", True),
    "lab bundle resources/s CPU": (r"CLINS lab bundle x\d+: .*? (\d+) resources/s CPU", True),
    "lab bundle from bytes resources/s CPU": (r"from bytes .*? (\d+) resources/s CPU", True),
    "10k bundle resources/s CPU": (r"bundle with 10000 entries: .*? (\d+) resources/s CPU", True),
    "100k bundle resources/s CPU": (r"bundle with 100000 entries: .*? (\d+) resources/s CPU", True),
}
def figures(label):
    vals = {k: [] for k in PATTERNS}
    for i in range(1, runs + 1):
        text = open(f"{out}/{label}.{i}").read()
        for k, (p, _) in PATTERNS.items():
            m = re.search(p, text)
            if m:
                vals[k].append(float(m.group(1)))
    return {k: statistics.median(v) for k, v in vals.items() if v}
new = figures("new")
old = figures("old") if has_old else {}
print(f"{'median of %d runs' % runs:<40} {'new':>12} {'baseline':>12} {'new/base':>9}")
for k in PATTERNS:
    if k not in new:
        continue
    line = f"{k:<40} {new[k]:>12.1f}"
    if k in old:
        line += f" {old[k]:>12.1f} {new[k] / old[k]:>9.2f}"
    print(line)
if "10k bundle resources/s CPU" in new and "100k bundle resources/s CPU" in new:
    r = new["100k bundle resources/s CPU"] / new["10k bundle resources/s CPU"]
    print(f"linearity (100k rate / 10k rate, 1.00 = linear): {r:.2f}")
EOF

if [ "$oracle" = 1 ]; then
  echo "== fhir-oracle on the same files (lab bundle, 10k-entry bundle), this run"
  FHIR_STATS_ONLY_THROUGHPUT=1 FHIR_STATS_REPS="$reps" "${pin[@]}" "$new" | grep -E "fhir-oracle|CLINS lab bundle x|entries"
fi
