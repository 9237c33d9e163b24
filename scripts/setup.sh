#!/usr/bin/env bash
# Set up everything the demo and the tests need, idempotently, on a machine with only Python 3.11+:
#   .venv           the tap (editable) with its test extras: pytest, ruff, the SDK's test helpers
#   .venv-meltano   Meltano 4.4.1 (it may not share a venv with the tap: its pins differ)
#   .meltano/       the plugins of meltano.yml, each in its own venv (`meltano install`, no Meltano Hub)
# Usage: bash scripts/setup.sh        (sourced by demo.sh and test.sh; prints one line per step)
#        SETUP_FOR=demo bash scripts/setup.sh   (what scripts/demo.sh runs: only what the demo needs, the tap
#        with its demo extra (DuckDB) and the plugins tap-calls and target-jsonl; a later full setup adds the rest)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
MELTANO_VERSION="${MELTANO_VERSION:-4.4.1}"
export MELTANO_SEND_ANONYMOUS_USAGE_STATS=false
export PIP_DISABLE_PIP_VERSION_CHECK=1

step() { printf '==> %s\n' "$*" >&2; }
die() { printf 'ERROR: %s\n' "$*" >&2; exit 1; }

# A Python >= 3.11: $PYTHON if set, else the first suitable one on PATH.
find_python() {
  local c
  for c in ${PYTHON:-} python3 python3.13 python3.12 python3.11 python; do
    if command -v "$c" >/dev/null 2>&1 &&
       "$c" -c 'import sys, venv; sys.exit(sys.version_info < (3, 11))' >/dev/null 2>&1; then
      command -v "$c"; return 0
    fi
  done
  return 1
}

# make_venv DIR: create DIR with $PY unless it already holds a working Python >= 3.11.
make_venv() {
  local dir="$1"
  if [ -x "$dir/bin/python" ] &&
     "$dir/bin/python" -c 'import sys; sys.exit(sys.version_info < (3, 11))' >/dev/null 2>&1 &&
     "$dir/bin/python" -m pip --version >/dev/null 2>&1; then
    return 0
  fi
  rm -rf "$dir"
  "$PY" -m venv "$dir"
}

PY="$(find_python)" || die "Python 3.11 or newer is needed: install it (Debian: apt-get install python3 python3-venv) or set PYTHON=/path/to/python3.11"

if [ "${SETUP_FOR:-}" = demo ]; then EXTRAS=demo; PLUGINS=(tap-calls target-jsonl); else EXTRAS=test; PLUGINS=(); fi

step "tap venv .venv (pip install -e '.[$EXTRAS]') with $("$PY" --version 2>&1)"
make_venv .venv
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -e ".[$EXTRAS]"

step "meltano venv .venv-meltano (meltano==$MELTANO_VERSION)"
make_venv .venv-meltano
if ! .venv-meltano/bin/meltano --version 2>/dev/null | grep -q "version $MELTANO_VERSION\$"; then
  .venv-meltano/bin/python -m pip install --quiet --upgrade pip
  .venv-meltano/bin/python -m pip install --quiet "meltano==$MELTANO_VERSION"
fi

step "meltano install ${PLUGINS[*]:-(tap-calls editable, target-jsonl, target-postgres, target-duckdb)}"
start=$(date +%s)
mkdir -p .meltano/logs
.venv-meltano/bin/meltano install "${PLUGINS[@]}" >.meltano/logs/install.log 2>&1 || {
  tail -n 40 .meltano/logs/install.log >&2
  die "meltano install failed (full log: $ROOT/.meltano/logs/install.log)"
}
step "meltano install took $(( $(date +%s) - start )) s"
