#!/usr/bin/env bash
# Benchmark of `kakehashi document checkup` (特定健診 CDA XML → parse → map →
# validate against the echeckup set → write) on generated documents, one core.
# Not part of the tests; nothing asserts a time.
#
#   bench/checkup.sh [--docs N] [--update-baseline]
#
# Steps: (1) build the release binary; (2) write N fictitious documents derived
# from the golden fixture golden/checkup/data/h1311234567_20240405_0001.xml
# (each with its own 記号・番号, 受診券 number, birth date and measured values,
# deterministically); (3) convert them pinned to CPU 0 under /usr/bin/time;
# (4) print documents per second (wall and per CPU-second) and peak RSS, check
# that every document converted and none was quarantined, and compare with
# bench/checkup-baseline.json.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/.." && pwd)"
work="$here/.work/checkup"
docs=10000
update=0
while [ $# -gt 0 ]; do
  case "$1" in
    --docs) docs="$2"; shift 2 ;;
    --update-baseline) update=1; shift ;;
    *) echo "usage: bench/checkup.sh [--docs N] [--update-baseline]" >&2; exit 2 ;;
  esac
done

cd "$repo"
cargo build --release --locked -q --bin kakehashi
bin="${CARGO_TARGET_DIR:-$repo/target}/release/kakehashi"

input="$work/input-$docs"
if [ ! -d "$input" ]; then
  mkdir -p "$input"
  python3 - "$repo/golden/checkup/data/h1311234567_20240405_0001.xml" "$input" "$docs" <<'PY'
import sys
src, out, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
text = open(src, encoding="utf-8").read()
wide = str.maketrans("0123456789", "０１２３４５６７８９")
for i in range(n):
    t = text.replace('extension="４５６"', 'extension="%s"' % str(100000 + i).translate(wide))
    t = t.replace('extension="24100000123"', 'extension="241%08d"' % i)
    t = t.replace('<birthTime value="19700504"/>', '<birthTime value="19%02d%02d%02d"/>' % (40 + i % 45, 1 + i % 12, 1 + i % 28))
    t = t.replace('value="158.2" unit="cm"', 'value="%.1f" unit="cm"' % (145 + (i * 7) % 400 / 10))
    t = t.replace('value="55.0" unit="kg"', 'value="%.1f" unit="kg"' % (40 + (i * 13) % 500 / 10))
    t = t.replace('value="128" unit="mm[Hg]"', 'value="%d" unit="mm[Hg]"' % (100 + i % 60))
    t = t.replace('value="142" unit="mg/dL"', 'value="%d" unit="mg/dL"' % (60 + (i * 3) % 160))
    with open("%s/h1311234567_20240405_%06d.xml" % (out, i), "w", encoding="utf-8") as f:
        f.write(t)
PY
fi

rm -rf "$work/out"
load=$(cut -d' ' -f1 /proc/loadavg 2>/dev/null || echo "?")
cmd=("$bin" document checkup "$input" --out "$work/out")
if command -v taskset > /dev/null; then cmd=(taskset -c 0 "${cmd[@]}"); fi
/usr/bin/time -f "%e %M %U %S" -o "$work/time" "${cmd[@]}" > "$work/stdout" || true
read -r wall rss user sys < <(tail -n 1 "$work/time")
summary=$(tail -n 1 "$work/stdout")
converted=$(find "$work/out" -maxdepth 1 -name '*.json' | wc -l)
quarantined=0
if [ -d "$work/out/quarantine" ]; then
  quarantined=$(find "$work/out/quarantine" -name '*.outcome.json' | wc -l)
fi
rm -rf "$work/out"

python3 - "$docs" "$wall" "$rss" "$user" "$sys" "$converted" "$quarantined" "$load" "$here/checkup-baseline.json" "$update" "$summary" <<'PY'
import json, sys
docs, wall, rss, user, sys_, conv, quar, load, baseline, update, summary = sys.argv[1:]
docs, wall, cpu = int(docs), float(wall), float(user) + float(sys_)
conv, quar = int(conv), int(quar)
last = {
    "documents": docs,
    "converted": conv,
    "quarantined": quar,
    "wall_s": round(wall, 2),
    "cpu_s": round(cpu, 2),
    "docs_per_s_wall": round(docs / wall, 1) if wall else None,
    "docs_per_cpu_s": round(docs / cpu, 1) if cpu else None,
    "peak_rss_mb": round(int(rss) / 1024, 1),
    "load_before": load,
}
print(summary)
print(f"{docs} documents on one core: {wall:.2f} s wall, {cpu:.2f} s CPU (load before {load})")
print(f"  {last['docs_per_s_wall']} documents/s wall, {last['docs_per_cpu_s']} per CPU-second; peak RSS {last['peak_rss_mb']} MB")
print(f"  converted {conv}, quarantined {quar}")
status = 0
if conv != docs or quar:
    print("  NOT every document converted")
    status = 1
try:
    base = json.load(open(baseline))
except FileNotFoundError:
    base = {"last": None}
if base.get("last"):
    b = base["last"]
    print(f"  baseline: {b['docs_per_cpu_s']} per CPU-second for {b['documents']} documents; ratio now/baseline {last['docs_per_cpu_s'] / b['docs_per_cpu_s']:.2f}")
if update == "1":
    base["last"] = last
    with open(baseline, "w") as f:
        json.dump(base, f, indent=2, sort_keys=True)
        f.write("\n")
    print(f"  baseline updated: {baseline}")
sys.exit(status)
PY
