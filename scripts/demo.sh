#!/usr/bin/env bash
# One command demo: sets everything up, starts the local Gong + Clari API sandbox, runs
#   meltano --environment=sandbox run tap-calls-jsonl target-jsonl
# against it, prints the records of every stream next to the sandbox's expected counts, stops the sandbox,
# and ends with answers computed by DuckDB over the JSONL files (scripts/demo_answers.py): calls per week and
# source as a bar chart, each rep's talk share, the trackers heard most, the customer side of one call.
# (tap-calls-jsonl is tap-calls without ACTIVATE_VERSION messages, which target-jsonl does not know and
# warns about: see meltano.yml.)
#
#   bash scripts/demo.sh
#
# Needs only Python 3.11+ (and the network to PyPI on the first run). Re-running is fine: output/demo/ and the
# sandbox environment's saved state are cleared first, since every run starts a freshly generated sandbox.
# The records go to output/demo/<stream>.jsonl, a folder of its own: your own `meltano run tap-calls
# target-jsonl` writes (appends) to output/<stream>.jsonl and never mixes with the demo's.
# Size of the data set: DEMO_GONG_CALLS (1250), DEMO_GONG_SPAN_DAYS (400), DEMO_CLARI_CALLS (300), DEMO_SEED (1).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
GONG_CALLS="${DEMO_GONG_CALLS:-1250}"
GONG_SPAN_DAYS="${DEMO_GONG_SPAN_DAYS:-400}"
CLARI_CALLS="${DEMO_CLARI_CALLS:-300}"
SEED="${DEMO_SEED:-1}"
export MELTANO_SEND_ANONYMOUS_USAGE_STATS=false
demo_start=$(date +%s)

SETUP_FOR=demo bash scripts/setup.sh   # the tap, DuckDB, Meltano, tap-calls and target-jsonl

MELTANO=(.venv-meltano/bin/meltano --environment=sandbox)
WORK="$(mktemp -d)"
SANDBOX_PID=""
cleanup() {
  if [ -n "$SANDBOX_PID" ] && kill -0 "$SANDBOX_PID" 2>/dev/null; then
    kill -TERM "$SANDBOX_PID" 2>/dev/null || true
    wait "$SANDBOX_PID" 2>/dev/null || true
  fi
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

echo "==> starting the API sandbox: $GONG_CALLS Gong calls over $GONG_SPAN_DAYS days, $CLARI_CALLS Clari calls" >&2
.venv/bin/python -m calls_sandbox --port 0 --seed "$SEED" --gong-calls "$GONG_CALLS" \
  --gong-span-days "$GONG_SPAN_DAYS" --clari-calls "$CLARI_CALLS" --clari-span-days "$GONG_SPAN_DAYS" \
  --ready-file "$WORK/ready" >"$WORK/sandbox.out" 2>"$WORK/sandbox.err" &
SANDBOX_PID=$!

# Wait (at most 60 s) for the sandbox to write its ready file.
deadline=$(( $(date +%s) + 60 ))
until [ -s "$WORK/ready" ]; do
  if ! kill -0 "$SANDBOX_PID" 2>/dev/null; then
    cat "$WORK/sandbox.err" >&2
    echo "ERROR: the sandbox exited before it was ready" >&2
    exit 1
  fi
  if [ "$(date +%s)" -ge "$deadline" ]; then
    echo "ERROR: the sandbox was not ready within 60 s" >&2
    exit 1
  fi
  sleep 0.1
done
SANDBOX_URL="$(.venv/bin/python -c 'import json,sys; print(json.load(open(sys.argv[1]))["url"])' "$WORK/ready")"
SANDBOX_NOW="$(.venv/bin/python -c '
import json, sys, urllib.request
print(json.load(urllib.request.urlopen(sys.argv[1] + "/_sandbox/truth"))["now"])' "$SANDBOX_URL")"
echo "==> sandbox at $SANDBOX_URL (data up to $SANDBOX_NOW)" >&2

# Point the `sandbox` environment of meltano.yml at it, from one day before its oldest call.
export TAP_CALLS_API_URL="$SANDBOX_URL/gong"
export TAP_CALLS_CLARI_API_URL="$SANDBOX_URL/clari"
TAP_CALLS_START_DATE="$(.venv/bin/python -c '
import sys
from datetime import datetime, timedelta
now = datetime.fromisoformat(sys.argv[1].replace("Z", "+00:00"))
print((now - timedelta(days=float(sys.argv[2]) + 1)).strftime("%Y-%m-%dT%H:%M:%SZ"))' "$SANDBOX_NOW" "$GONG_SPAN_DAYS")"
export TAP_CALLS_START_DATE

# A fresh sandbox each time: forget the state of earlier demo runs, and their output files
# (target-jsonl appends to <stream>.jsonl).
OUTPUT=output/demo
export TARGET_JSONL_DESTINATION_PATH="$OUTPUT"
rm -rf "$OUTPUT"
"${MELTANO[@]}" state clear --force sandbox:tap-calls-jsonl-to-target-jsonl >/dev/null 2>&1 || true

LOG=.meltano/logs/demo-run.log
echo "==> meltano --environment=sandbox run tap-calls-jsonl target-jsonl   (full log: $LOG)" >&2
start=$(date +%s)
set +e
# The terminal gets each stream's closing line (records and requests) and any warning; the log gets it all.
"${MELTANO[@]}" run tap-calls-jsonl target-jsonl 2>&1 | tee "$LOG" |
  grep --line-buffered -E 'tap-calls(-jsonl)? +[a-z_]+: done|WARNING|ERROR|Traceback' |
  sed -u -E 's/^[0-9T:.Z-]+ +\[[a-z ]+\] +//'
rc=${PIPESTATUS[0]}
set -e
echo "==> meltano run finished in $(( $(date +%s) - start )) s with exit code $rc" >&2
if [ "$rc" -ne 0 ]; then
  tail -n 30 "$LOG" >&2
  echo "ERROR: meltano run failed; see $LOG" >&2
  exit "$rc"
fi

# The counts need the running sandbox (its ground truth); the answers only the files.
set +e
.venv/bin/python scripts/demo_counts.py --url "$SANDBOX_URL" --output "$OUTPUT" --seed "$SEED" \
  --gong-calls "$GONG_CALLS" --gong-span-days "$GONG_SPAN_DAYS" --clari-calls "$CLARI_CALLS" \
  --clari-span-days "$GONG_SPAN_DAYS"
counts_rc=$?
set -e
.venv/bin/python scripts/demo_answers.py "$OUTPUT"
echo "==> demo finished in $(( $(date +%s) - demo_start )) s; the files: $OUTPUT/<stream>.jsonl" >&2
exit "$counts_rc"
