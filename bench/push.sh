#!/usr/bin/env bash
# Delivery benchmark: resources per second that `kakehashi push` delivers to a
# Helios FHIR Server (R4, SQLite) on 127.0.0.1, at concurrency 1, 4 and 16, next
# to the same transactions posted by a plain client (curl through xargs -P) in
# the same run. Prints; asserts nothing. Not part of the tests.
#
#   bench/push.sh [--patients 1000] [--seed 1] [--bin PATH] [--hfs PATH] [--levels "1 4 16"]
#
# --bin: the kakehashi binary (default: this tree's, `cargo build --release`).
# --hfs: the server (default: what .ci/install-helios installs or finds).
# The package cache is $KAKEHASHI_PACKAGE_CACHE as for any convert.
#
# Steps: (1) generate and convert a storage (cached in bench/.work/push); (2) write
# each unit's transaction once (`push --write-transactions`, the exact bodies
# push sends); (3) per concurrency level: a fresh server database on one fixed
# port, `kakehashi push` with a fresh copy of the convert run's ledger (every
# unit a create; the ledger records in flight and acknowledged per unit, two
# SQLite commits each), timed; then a fresh database again and the same
# transactions posted by curl with the same number of parallel requests, timed;
# each run ends with the server's Patient and Observation counts.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/.." && pwd)"
work="$here/.work/push"
patients=1000
seed=1
bin=""
hfs=""
levels="1 4 16"
while [ $# -gt 0 ]; do
  case "$1" in
    --patients) patients="$2"; shift 2 ;;
    --seed) seed="$2"; shift 2 ;;
    --bin) bin="$2"; shift 2 ;;
    --hfs) hfs="$2"; shift 2 ;;
    --levels) levels="$2"; shift 2 ;;
    *) echo "usage: bench/push.sh [--patients N] [--seed S] [--bin PATH] [--hfs PATH] [--levels \"1 4 16\"]" >&2; exit 2 ;;
  esac
done
cd "$repo"
if [ -z "$bin" ]; then
  cargo build --release --locked -q --bin kakehashi
  bin="${CARGO_TARGET_DIR:-$repo/target}/release/kakehashi"
fi
[ -n "$hfs" ] || hfs="$("$repo/.ci/install-helios" | tail -n 1)"
command -v curl > /dev/null || { echo "bench/push.sh needs curl" >&2; exit 2; }

mkdir -p "$work"
storage="$work/storage-$patients-$seed"
out="$work/out-$patients-$seed"
[ -d "$storage" ] || "$bin" synth ssmix2 --patients "$patients" --seed "$seed" --out "$storage" > /dev/null
if [ ! -f "$out/report.json" ]; then
  rm -rf "$out"
  # exit 1 (input errors in generated data) still converts; 2 does not
  "$bin" convert "$storage" --config "$repo/demo/synth.kakehashi.toml" --out "$out" --as-of 2026-11-23 > /dev/null || [ $? -eq 1 ]
  cp "$out/ledger.sqlite" "$out/ledger.pristine"
fi

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
url="http://127.0.0.1:$port"
hfs_pid=""
stop_server() { if [ -n "$hfs_pid" ]; then kill "$hfs_pid" 2> /dev/null || true; wait "$hfs_pid" 2> /dev/null || true; hfs_pid=""; fi; }
trap stop_server EXIT
start_server() {
  stop_server
  rm -rf "$work/db"; mkdir -p "$work/db"
  (cd "$work/db" && HFS_BASE_URL="$url" exec "$hfs" --host 127.0.0.1 --port "$port" \
      --database-url "$work/db/fhir.db" --log-level warn > "$work/db/hfs.log" 2>&1) &
  hfs_pid=$!
  for _ in $(seq 1 300); do
    curl -sf -o /dev/null "$url/metadata" && return 0
    sleep 0.1
  done
  echo "hfs did not start: $(cat "$work/db/hfs.log")" >&2; exit 1
}
count() { curl -s "$url/$1?_summary=count" | python3 -c 'import json,sys; print(json.load(sys.stdin).get("total"))'; }

tx="$work/tx-$patients-$seed"
rm -rf "$tx"
cp "$out/ledger.pristine" "$out/ledger.sqlite"
"$bin" push "$out" --server "$url" --write-transactions "$tx" > /dev/null
units=$(ls "$tx" | wc -l)
resources=$(cat "$tx"/*.json | grep -o '"method":"PUT"' | wc -l)
echo "storage: $patients generated patients (seed $seed): $units units, $resources resources"
echo "server: $("$hfs" --version), SQLite, 127.0.0.1; machine: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-12s %-10s %10s %12s %s\n' client concurrency seconds resources/s "server holds (Patient, Observation)"
declare -A kk cc
for n in $levels; do
  start_server
  cp "$out/ledger.pristine" "$out/ledger.sqlite"
  t0=$(date +%s.%N)
  "$bin" push "$out" --server "$url" --concurrency "$n" > "$work/push-$n.log" || { echo "push failed: $(tail -3 "$work/push-$n.log")" >&2; }
  t1=$(date +%s.%N)
  s=$(echo "$t1 - $t0" | bc -l); kk[$n]=$s
  printf '%-12s %-10s %10.2f %12.0f %s\n' kakehashi "$n" "$s" "$(echo "$resources / $s" | bc -l)" "$(count Patient), $(count Observation)"

  start_server
  t0=$(date +%s.%N)
  ls "$tx"/*.json | xargs -P "$n" -I{} curl -s -o /dev/null -w '%{http_code}\n' -X POST \
      -H 'Content-Type: application/fhir+json' -H 'Accept: application/fhir+json' -H 'Prefer: return=minimal' \
      --data-binary @{} "$url" > "$work/curl-$n.codes"
  t1=$(date +%s.%N)
  s=$(echo "$t1 - $t0" | bc -l); cc[$n]=$s
  bad=$(grep -vc '^2' "$work/curl-$n.codes" || true)
  printf '%-12s %-10s %10.2f %12.0f %s\n' "curl" "$n" "$s" "$(echo "$resources / $s" | bc -l)" "$(count Patient), $(count Observation)${bad:+ (non-2xx: $bad)}"
done
echo
for n in $levels; do
  printf 'concurrency %-3s kakehashi / curl throughput: %.2f\n' "$n" "$(echo "${cc[$n]} / ${kk[$n]}" | bc -l)"
done
cp "$out/ledger.pristine" "$out/ledger.sqlite"
