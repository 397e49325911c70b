"""python-hl7 (`hl7.parse`) over the shared corpus: one message per line.

Usage: python_hl7_bench.py CORPUS [RUNS]. Prints one JSON object like
kakehashi-bench. hl7.parse splits eagerly into Message > Segment > Field >
Repetition > Component lists (sub-components too); escapes are not resolved.
"""
import json
import sys
import time

import hl7


def count(msg, c):
    c["messages"] += 1
    for seg in msg:
        c["segments"] += 1
        # seg[0] is the segment name; for MSH python-hl7 inserts MSH-1 itself, so
        # len(seg) - 1 is the HL7 field number of the last field either way.
        n = len(seg) - 1
        c["fields"] += n
        for k in range(1, n + 1):
            f = seg[k]
            if seg[0][0] == "MSH" and k <= 2:
                c["components"] += 1
                continue
            if isinstance(f, str):
                c["components"] += 1
                continue
            for rep in f:
                c["components"] += 1 if isinstance(rep, str) else len(rep)


def main():
    path = sys.argv[1]
    runs = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    # newline="" keeps the CRs: universal-newline mode would turn them into LF.
    with open(path, encoding="utf-8", newline="") as fh:
        lines = [l for l in fh.read().split("\n") if l]
    nbytes = sum(len(l.encode("utf-8")) for l in lines)
    # Pass 0 parses and counts (untimed, warms up); then RUNS timed passes only
    # parse; the best counts.
    counts = dict(messages=0, segments=0, fields=0, components=0)
    for line in lines:
        count(hl7.parse(line), counts)
    best = float("inf")
    for _ in range(max(runs, 1)):
        t0 = time.perf_counter()
        for line in lines:
            hl7.parse(line)
        best = min(best, time.perf_counter() - t0)
    print(json.dumps(dict(parser="python-hl7", bytes=nbytes, seconds=best,
                          mb_s=nbytes / 1e6 / best, msg_s=len(lines) / best, **counts)))


main()
