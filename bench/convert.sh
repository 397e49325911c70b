#!/usr/bin/env bash
# End-to-end benchmark of `kakehashi convert` (parse → map → bundle → validate →
# write) on generated SS-MIX2 storage. Not part of the tests; nothing asserts a time.
#
#   bench/convert.sh [--patients N] [--seed S] [--bin PATH] [--update-baseline]
#
# --bin PATH: time that kakehashi binary instead of building this tree's (to
# compare an older build on the same storage, in the same session).
#
# Needs about 3 GB of free disk per 10 000 patients while a run's outputs exist.
#
# Steps: (1) build the release binary; (2) generate two storages, N and N/4
# patients (`kakehashi synth ssmix2`, no faults), and the lab part of the big one
# (`--only ADT-00,OML-11`: the same patients and lab files, nothing else);
# (3) convert the big one with --jobs 1 (pinned to one CPU) and --jobs 2, the
# small one and the lab-only one with --jobs 1, each under /usr/bin/time for
# wall time and peak RSS; (4) print lab-result (OML-11) messages per second per
# core — over the whole storage (every other message type converted in the same
# time, the conservative figure) and over the lab-only storage (the lab path
# alone) — the 2-thread speed-up, and peak RSS at both sizes (flat memory: the
# ratio stays near 1 as the storage grows); (5) check
# that the outputs of --jobs 1 and --jobs 2 are byte-identical; (6) compare with
# bench/convert-baseline.json (targets and the last recorded figures); (7) print
# the per-thread phase timers of the two big runs (KAKEHASHI_TIMINGS=1: busy
# time per phase for each worker, busy and waiting time of the writer).
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/.." && pwd)"
work="$here/.work/convert"
patients=10000
seed=1
update=0
bin=""
while [ $# -gt 0 ]; do
  case "$1" in
    --patients) patients="$2"; shift 2 ;;
    --seed) seed="$2"; shift 2 ;;
    --bin) bin="$2"; shift 2 ;;
    --update-baseline) update=1; shift ;;
    *) echo "usage: bench/convert.sh [--patients N] [--seed S] [--bin PATH] [--update-baseline]" >&2; exit 2 ;;
  esac
done
small=$(( patients / 4 ))

cd "$repo"
if [ -z "$bin" ]; then
  cargo build --release --locked -q --bin kakehashi
  bin="${CARGO_TARGET_DIR:-$repo/target}/release/kakehashi"
fi
config="$repo/demo/synth.kakehashi.toml"

mkdir -p "$work"
for n in "$patients" "$small"; do
  if [ ! -d "$work/storage-$n-$seed" ]; then
    "$bin" synth ssmix2 --patients "$n" --seed "$seed" --out "$work/storage-$n-$seed" > /dev/null
  fi
done
labs_storage="$work/labs-$patients-$seed"
if [ ! -d "$labs_storage" ]; then
  "$bin" synth ssmix2 --patients "$patients" --seed "$seed" --only ADT-00,OML-11 --out "$labs_storage" > /dev/null
fi

# run NAME STORAGE JOBS [PIN] → prints "wall_s rss_kb cpu_s"
run() {
  local name="$1" storage="$2" jobs="$3" pin="${4:-}"
  rm -rf "$work/out-$name"
  local cmd=("$bin" convert "$storage" --config "$config" --out "$work/out-$name" --as-of 2026-11-23 --no-ledger --jobs "$jobs")
  if [ -n "$pin" ] && command -v taskset > /dev/null; then
    cmd=(taskset -c "$pin" "${cmd[@]}")
  fi
  KAKEHASHI_TIMINGS=1 /usr/bin/time -f "%e %M %U %S" -o "$work/time-$name" "${cmd[@]}" > "$work/stdout-$name" 2> "$work/stderr-$name" || true
  tail -n 1 "$work/time-$name" | awk '{ printf "%s %s %.2f\n", $1, $2, $3 + $4 }'
}

load=$(cut -d' ' -f1 /proc/loadavg 2>/dev/null || echo "?")
read -r w1 rss1 c1 < <(run j1 "$work/storage-$patients-$seed" 1 0)
read -r w2 rss2 c2 < <(run j2 "$work/storage-$patients-$seed" 2)
read -r ws rsss cs < <(run small "$work/storage-$small-$seed" 1 0)
read -r wl rssl cl < <(run labs "$labs_storage" 1 0)

# Same bytes whatever the thread count.
if diff -r "$work/out-j1" "$work/out-j2" > /dev/null; then same=yes; else same=NO; fi

for name in j1 j2 labs; do
  grep '^timings:' "$work/stderr-$name" | sed "s/^/  $name /" || true
done

# Keep the report, drop the outputs (a 10 000-patient run writes gigabytes).
cp "$work/out-j1/report.json" "$work/report-j1.json"
cp "$work/out-labs/report.json" "$work/report-labs.json"
rm -rf "$work/out-j1" "$work/out-j2" "$work/out-small" "$work/out-labs"

python3 - "$work" "$patients" "$small" "$w1" "$w2" "$ws" "$rss1" "$rss2" "$rsss" "$same" "$here/convert-baseline.json" "$update" "$c1" "$c2" "$load" "$wl" "$cl" "$rssl" "$labs_storage" <<'EOF'
import json, sys, os
work, n, small, w1, w2, ws, rss1, rss2, rsss, same, baseline, update, c1, c2, load, wl, cl, rssl, labs_storage = sys.argv[1:]
c1, c2, wl, cl, rssl = float(c1), float(c2), float(wl), float(cl), int(rssl)
n, small = int(n), int(small)
w1, w2, ws = float(w1), float(w2), float(ws)
rss1, rss2, rsss = int(rss1), int(rss2), int(rsss)
rep = json.load(open(os.path.join(work, "report-j1.json")))
def labs(storage):
    c = 0
    for root, _, files in os.walk(storage):
        c += sum(1 for f in files if "_OML-11_" in f)
    return c
seed_dirs = [d for d in os.listdir(work) if d.startswith(f"storage-{n}-")]
lab = labs(os.path.join(work, seed_dirs[0]))
lab_only = labs(labs_storage)
rep_labs = json.load(open(os.path.join(work, "report-labs.json")))
msgs = rep["inputs"]["messages"]
fig = {
    "patients": n,
    "messages": msgs,
    "lab_messages": lab,
    "bundles": rep["units"]["written"],
    "quarantined": rep["units"]["quarantined"],
    "lab_msg_s_1core": round(lab / w1, 1),
    "lab_msg_per_cpu_s": round(lab / c1, 1),
    "all_msg_s_1core": round(msgs / w1, 1),
    "cpu_s_1_thread": c1,
    "cpu_s_2_threads": c2,
    "load_before": load,
    "speedup_2_threads": round(w1 / w2, 3),
    "peak_rss_mb": round(rss1 / 1024, 1),
    "peak_rss_mb_quarter_size": round(rsss / 1024, 1),
    "rss_growth_4x_input": round(rss1 / rsss, 3),
    "identical_output_1_vs_2_threads": same == "yes",
    "lab_only_lab_messages": lab_only,
    "lab_only_bundles": rep_labs["units"]["written"],
    "lab_only_quarantined": rep_labs["units"]["quarantined"],
    "lab_only_msg_s_1core": round(lab_only / wl, 1),
    "lab_only_msg_per_cpu_s": round(lab_only / cl, 1),
    "lab_only_peak_rss_mb": round(rssl / 1024, 1),
}
print(f"convert: {n} patients, {msgs} messages ({lab} OML-11), {fig['bundles']} bundles, {fig['quarantined']} quarantined")
print(f"  load average before the runs: {load} (wall-clock figures need a quiet machine)")
print(f"  1 thread : {w1:8.2f} s wall, {c1:.2f} s CPU  {fig['lab_msg_s_1core']:10.1f} lab msg/s wall, {fig['lab_msg_per_cpu_s']:.1f} per CPU-second  ({fig['all_msg_s_1core']:.1f} msg/s all types)   peak RSS {fig['peak_rss_mb']} MB")
print(f"  2 threads: {w2:8.2f} s wall, {c2:.2f} s CPU  speed-up {fig['speedup_2_threads']}x   peak RSS {round(rss2/1024,1)} MB")
print(f"  {small} patients, 1 thread: {ws:.2f} s, peak RSS {fig['peak_rss_mb_quarter_size']} MB  (RSS ratio for 4x input: {fig['rss_growth_4x_input']})")
print(f"  lab-only storage (ADT-00 + OML-11 of the same patients), 1 thread: {wl:.2f} s wall, {cl:.2f} s CPU  {fig['lab_only_msg_s_1core']:.1f} lab msg/s wall, {fig['lab_only_msg_per_cpu_s']:.1f} per CPU-second  ({lab_only} OML-11, {fig['lab_only_bundles']} bundles, {fig['lab_only_quarantined']} quarantined)   peak RSS {fig['lab_only_peak_rss_mb']} MB")
print(f"  outputs of 1 and 2 threads byte-identical: {same}")
status = 0
try:
    base = json.load(open(baseline))
except FileNotFoundError:
    base = {"targets": {}}
t = base.get("targets", {})
checks = [
    ("lab_msg_s_1core", ">=", t.get("lab_msg_s_1core")),
    ("lab_only_msg_s_1core", ">=", t.get("lab_msg_s_1core")),
    ("speedup_2_threads", ">=", t.get("speedup_2_threads")),
    ("rss_growth_4x_input", "<=", t.get("rss_growth_4x_input")),
]
for key, op, target in checks:
    if target is None:
        continue
    ok = fig[key] >= target if op == ">=" else fig[key] <= target
    print(f"  target {key} {op} {target}: {'met' if ok else 'NOT met'} ({fig[key]})")
if not fig["identical_output_1_vs_2_threads"] or fig["quarantined"] or fig["lab_only_quarantined"]:
    status = 1
if update == "1":
    base["last"] = fig
    with open(baseline, "w") as f:
        json.dump(base, f, indent=2, sort_keys=True)
        f.write("\n")
    print(f"  wrote {baseline}")
elif "last" in base:
    prev = base["last"]
    print(f"  vs recorded run: lab msg/s {fig['lab_msg_s_1core'] / prev['lab_msg_s_1core']:.2f}x, speed-up {prev['speedup_2_threads']} → {fig['speedup_2_threads']}")
sys.exit(status)
EOF
