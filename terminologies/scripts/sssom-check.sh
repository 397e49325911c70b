#!/bin/sh
# Checks that the PyPI `sssom` tool accepts kakehashi's SSSOM TSV tables.
# Needs network once (pip install); NOT part of the test suite.
#   terminologies/scripts/sssom-check.sh [TABLE.sssom.tsv ...]
# Default: the shipped sample and every table under tables/.
set -eu
root=$(cd "$(dirname "$0")/../.." && pwd)
venv=${SSSOM_VENV:-/tmp/kakehashi-sssom-venv}
[ -x "$venv/bin/sssom" ] || { python3 -m venv "$venv" && "$venv/bin/pip" install -q sssom; }
"$venv/bin/pip" show sssom sssom-schema | grep -E '^(Name|Version)'
[ $# -gt 0 ] || set -- "$root"/terminologies/testdata/*.sssom.tsv "$root"/tables/*.sssom.tsv
status=0
for f in "$@"; do
  [ -f "$f" ] || continue
  if "$venv/bin/sssom" validate "$f" >/dev/null 2>&1 &&
     "$venv/bin/sssom" parse "$f" -o /tmp/kakehashi-sssom-parsed.tsv >/dev/null 2>&1; then
    echo "ok   $f"
  else
    echo "FAIL $f"; status=1
  fi
done
exit $status
