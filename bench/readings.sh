#!/usr/bin/env bash
# Reading-aware `tables suggest`: precision and speed of this build next to a
# previous build, in the same run, on the same inputs.
#
#   bench/readings.sh [--previous REF] [--profile P]   (defaults: main, release)
#   bench/readings.sh --previous-bin PATH --this-bin PATH   (two builds at hand)
#   bench/readings.sh --without-readings [--this-bin PATH]   (one build: "previous" is
#                                        this build with --no-readings, i.e. kana and
#                                        Latin matching only, as before readings)
#
# Builds `kakehashi` (release) from the work tree into $CARGO_TARGET_DIR (default
# target/) and from REF (`git archive`, into bench/.work/previous/) into
# $PREVIOUS_TARGET_DIR (default bench/.work/target-previous), then runs
# `tables suggest --top 5 --min-score 0` of both on the labelled sets of
# bench/readings/ (allergens against J-FAGY, diseases and drugs against the small
# fictitious masters) and on the older hand-written J-FAGY house variants, and
# prints P@1 / P@5 per set and split (dev: may be looked at while tuning; test: held
# out). Then times both on 10 000 source codes against a 30 000-name master, pinned
# to one core (taskset -c 0), dictionary load included. Needs Python 3, J-FAGY in
# ../shared and IPADIC's lexicon (apt-get install mecab-ipadic, or
# KAKEHASHI_DICTIONARY). A benchmark, not a test: asserts nothing.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
PREV=""
NOW=""
PREVIOUS=main
PROFILE=release
PREV_ARGS=()
WITHOUT=""
while [ $# -gt 0 ]; do
    case "$1" in
        --previous) PREVIOUS=$2; shift 2 ;;
        --profile) PROFILE=$2; shift 2 ;;
        --previous-bin) PREV=$2; PREVIOUS="(given build)"; shift 2 ;;
        --this-bin) NOW=$2; PROFILE="(given build)"; shift 2 ;;
        --without-readings) WITHOUT=1; PREVIOUS="this build, --no-readings"; shift ;;
        *) echo "usage: bench/readings.sh [--previous REF] [--profile P] | --previous-bin PATH --this-bin PATH | --without-readings [--this-bin PATH]" >&2; exit 2 ;;
    esac
done
# cargo's folder for a profile: dev builds into debug/.
DIR=$PROFILE; [ "$PROFILE" = dev ] && DIR=debug
WORK=$ROOT/bench/.work/readings
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
PREV_TARGET=${PREVIOUS_TARGET_DIR:-$ROOT/bench/.work/target-previous}
PREV_SRC=$ROOT/bench/.work/previous
mkdir -p "$WORK"

if [ -z "$NOW" ]; then
    echo "== build (this work tree, $PROFILE)"
    cargo build --profile "$PROFILE" --locked -q -p cli --bin kakehashi
    NOW=$TARGET/$DIR/kakehashi
fi
if [ -n "$WITHOUT" ]; then
    PREV=$NOW
    PREV_ARGS=(--no-readings)
elif [ -z "$PREV" ]; then
    echo "== build ($PREVIOUS = $(git rev-parse --short "$PREVIOUS"), $PROFILE)"
    rm -rf "$PREV_SRC" && mkdir -p "$PREV_SRC"
    git archive "$PREVIOUS" | tar -x -C "$PREV_SRC"
    # A first previous build starts from a copy of this build's target folder, so the
    # dependencies both share are not compiled twice.
    [ -d "$PREV_TARGET" ] || cp -a --reflink=auto "$TARGET" "$PREV_TARGET"
    (cd "$PREV_SRC" && CARGO_TARGET_DIR=$PREV_TARGET cargo build --profile "$PROFILE" --locked -q -p cli --bin kakehashi)
    PREV=$PREV_TARGET/$DIR/kakehashi
fi

python3 bench/readings.py prepare "$WORK"
JFAGY=$ROOT/../shared/data/jfagy/utf8/JFAGY_J9FN_20250401_R01.csv
MASTER_PROFILE=$ROOT/tables/profiles/medis-byomei-excode.toml
master_args() {
    case "$1" in
        allergens-jfagy|jfagy-house-variants) echo "--master $JFAGY" ;;
        diseases) echo "--master-profile $MASTER_PROFILE=$WORK/diseases-master.txt" ;;
        drugs) echo "--master $WORK/drugs-master.json" ;;
    esac
}
for who in previous this; do
    bin=$PREV; [ "$who" = this ] && bin=$NOW
    outs=()
    for set in allergens-jfagy diseases drugs jfagy-house-variants; do
        args=(); [ "$who" = previous ] && args=("${PREV_ARGS[@]}")
        # shellcheck disable=SC2046
        "$bin" tables suggest "${args[@]}" --table "$WORK/$set.sssom.tsv" $(master_args "$set") \
            --top 5 --min-score 0 --date 2026-01-01 --stdout > "$WORK/$set.$who.tsv" 2> /dev/null
        outs+=("$WORK/$set.$who.tsv")
    done
    python3 bench/readings.py score "$WORK" "$who" "${outs[@]}"
done
echo "== precision (previous = $PREVIOUS, this = work tree; $PROFILE profile)"
python3 bench/readings.py report "$WORK" previous this

echo "== speed: 10 000 source codes against a 30 000-name master, one core (taskset -c 0; $PROFILE profile)"
for who in previous this; do
    bin=$PREV; [ "$who" = this ] && bin=$NOW
    args=(); [ "$who" = previous ] && args=("${PREV_ARGS[@]}")
    start=$EPOCHREALTIME
    taskset -c 0 "$bin" tables suggest "${args[@]}" --table "$WORK/big.sssom.tsv" --master "$WORK/big-master.json" \
        --top 5 --date 2026-01-01 --stdout > "$WORK/big.$who.tsv" 2> "$WORK/big.$who.err"
    end=$EPOCHREALTIME
    printf '%-9s %6.2f s   %s\n' "$who" "$(python3 -c "print($end - $start)")" "$(tail -1 "$WORK/big.$who.err")"
done
