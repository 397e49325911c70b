#!/usr/bin/env bash
# Latency of `kakehashi document referral` (read the patient's folder → map →
# assemble the 診療情報提供書 → validate against the clins set → write) for one
# patient with a long SS-MIX2 history. Not part of the tests; nothing asserts a time.
#
#   bench/document.sh [--donors N] [--runs R] [--seed S]
#
# The history: `kakehashi synth ssmix2` gives each patient 1–8 visits in 2023–2025,
# so the script folds the files of N generated patients (default 60) into the
# folder of the first one (the patient id in the path, the file name and PID-3 is
# rewritten; order numbers stay unique), which gives one patient with hundreds of
# messages across the generator's whole period. Then it runs the command R times
# (default 30) pinned to CPU 0 and prints p50 / p90 / p99 / max, plus the fixed
# cost (the same command for a patient who is not in the storage: configuration,
# tables and the clins packages only).
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/.." && pwd)"
work="$here/.work/document"
donors=60
runs=30
seed=3
while [ $# -gt 0 ]; do
  case "$1" in
    --donors) donors="$2"; shift 2 ;;
    --runs) runs="$2"; shift 2 ;;
    --seed) seed="$2"; shift 2 ;;
    *) echo "usage: bench/document.sh [--donors N] [--runs R] [--seed S]" >&2; exit 2 ;;
  esac
done

cd "$repo"
cargo build --release --locked -q --bin kakehashi
bin="${CARGO_TARGET_DIR:-$repo/target}/release/kakehashi"
config="$repo/demo/synth.kakehashi.toml"

src="$work/synth-$donors-$seed"
storage="$work/storage-$donors-$seed"
if [ ! -d "$storage" ]; then
  rm -rf "$src"
  "$bin" synth ssmix2 --patients "$donors" --seed "$seed" --out "$src" > /dev/null
  python3 - "$src" "$storage" <<'PY'
import os, sys
src, dst = sys.argv[1], sys.argv[2]
ids = sorted(d for a in os.listdir(src) if os.path.isdir(os.path.join(src, a))
             for b in os.listdir(os.path.join(src, a))
             for d in os.listdir(os.path.join(src, a, b)))
target = ids[0]
t_path = os.path.join(dst, target[:3], target[3:6], target)
n = 0
for pid in ids:
    folder = os.path.join(src, pid[:3], pid[3:6], pid)
    for root, _, files in os.walk(folder):
        rel = os.path.relpath(root, folder)
        for f in files:
            data = open(os.path.join(root, f), "rb").read()
            data = data.replace(b"|" + pid.encode() + b"^", b"|" + target.encode() + b"^")
            parts = f.split("_")
            if parts[0] == pid:
                parts[0] = target
            out_dir = os.path.join(t_path, rel)
            os.makedirs(out_dir, exist_ok=True)
            name = "_".join(parts)
            if os.path.exists(os.path.join(out_dir, name)):
                continue  # ADT-00/ADT-61/PPR-01 are one file per patient: the first patient's stays
            open(os.path.join(out_dir, name), "wb").write(data)
            n += 1
open(os.path.join(dst, "PATIENT"), "w").write(target + "\n")
print(f"patient {target}: {n} files from {len(ids)} generated patients", file=sys.stderr)
PY
fi
patient=$(cat "$storage/PATIENT")
files=$(find "$storage" -type f ! -name PATIENT | wc -l)
first=$(find "$storage" -mindepth 4 -maxdepth 4 -type d -name '20*' | sort | head -1 | xargs basename)
last=$(find "$storage" -mindepth 4 -maxdepth 4 -type d -name '20*' | sort | tail -1 | xargs basename)

request() { # request PATIENT → TOML on stdout
  sed -e "s/^patient = .*/patient = \"$1\"/" \
      -e 's/^issued = .*/issued = "2026-01-10T10:00:00"/' \
      -e 's/^from = .*/from = "2021-01-01"/' \
      -e 's/^to = .*/to = "2026-01-10"/' \
      -e 's/^start = .*/start = "2026-01-10"/' \
      -e '/^\[\[attachments\]\]/,$d' \
      "$repo/golden/document/referral-nho/request.toml"
}
request "$patient" > "$work/request.toml"
request "9999999999" > "$work/request-absent.toml"

pin=()
if command -v taskset > /dev/null; then pin=(taskset -c 0); fi
load=$(cut -d' ' -f1 /proc/loadavg 2>/dev/null || echo "?")
times=()
for _ in $(seq "$runs"); do
  s=$(date +%s%N)
  "${pin[@]}" "$bin" document referral --storage "$storage" --request "$work/request.toml" \
    --config "$config" --out "$work/referral.json" > "$work/stdout" || true
  e=$(date +%s%N)
  times+=($(( (e - s) / 1000000 )))
done
fixed=()
for _ in $(seq 5); do
  s=$(date +%s%N)
  "${pin[@]}" "$bin" document referral --storage "$storage" --request "$work/request-absent.toml" \
    --config "$config" --out "$work/absent.json" > /dev/null 2>&1 || true
  e=$(date +%s%N)
  fixed+=($(( (e - s) / 1000000 )))
done
result=$(grep -E '^referral ' "$work/stdout" | tail -1)
python3 - "$patient" "$files" "$first" "$last" "$load" "$result" "${times[*]}" "${fixed[*]}" <<'PY'
import sys
patient, files, first, last, load, result, times, fixed = sys.argv[1:]
t = sorted(int(x) for x in times.split())
f = sorted(int(x) for x in fixed.split())
def q(p):
    return t[min(len(t) - 1, int(round(p * (len(t) - 1))))]
print(f"patient {patient}: {files} files, care dates {first}–{last}")
print(f"  {result}")
print(f"  {len(t)} runs on one core (load before {load}): p50 {q(0.5)} ms, p90 {q(0.9)} ms, p99 {q(0.99)} ms, max {t[-1]} ms")
print(f"  fixed cost (patient absent; config, tables, packages): median {f[len(f)//2]} ms")
PY
