#!/usr/bin/env bash
# One command that sets everything up and runs ALL the tests, on a machine with only Python 3.11+:
#   bash scripts/test.sh [pytest args...]
# 1. .venv with `pip install -e ".[test]"`, .venv-meltano with Meltano, `meltano install` (scripts/setup.sh)
# 2. PostgreSQL server binaries for tests/test_postgres.py (installed with apt-get when missing and root)
# 3. `ruff check` on the repo, `mypy` (strict, tap_calls/), then `pytest` (3 workers). Exits non-zero if either fails, or if pytest ran no test.
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
export MELTANO_SEND_ANONYMOUS_USAGE_STATS=false
t0=$(date +%s)
step() { printf '==> %s\n' "$*" >&2; }
die() { printf 'ERROR: %s\n' "$*" >&2; exit 1; }

bash scripts/setup.sh || die "setup failed (see above)"
# setup.sh ran `meltano install`: the tests' meltano fixture (tests/conftest.py) need not run it again.
export TESTS_MELTANO_INSTALLED=1

# PostgreSQL server binaries: Debian keeps them in /usr/lib/postgresql/<version>/bin.
pg_bindir() {
  local d
  for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -t/ -k5 -n -r); do
    if [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ]; then echo "$d"; return 0; fi
  done
  if command -v initdb >/dev/null 2>&1 && command -v pg_ctl >/dev/null 2>&1; then
    dirname "$(command -v initdb)"; return 0
  fi
  return 1
}
if ! PG_BINDIR="$(pg_bindir)"; then
  if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
    step "installing PostgreSQL (apt-get install postgresql)"
    mkdir -p .meltano/logs
    { DEBIAN_FRONTEND=noninteractive apt-get update -q &&
      DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends postgresql; } \
      >.meltano/logs/apt-postgresql.log 2>&1 ||
      { tail -n 30 .meltano/logs/apt-postgresql.log >&2; die "apt-get install postgresql failed"; }
    PG_BINDIR="$(pg_bindir)" || die "postgresql installed, but no initdb/pg_ctl under /usr/lib/postgresql/*/bin"
  else
    die "PostgreSQL server binaries (initdb, pg_ctl) are missing: install them (Debian/Ubuntu: sudo apt-get install postgresql), or set PATH to include them, then re-run"
  fi
fi
export PG_BINDIR
step "PostgreSQL server binaries: $PG_BINDIR ($("$PG_BINDIR/postgres" --version 2>/dev/null))"

step "ruff check"
.venv/bin/ruff check .
ruff_rc=$?

step "mypy --strict (tap_calls)"
.venv/bin/mypy
mypy_rc=$?

step "pytest"
# A generous outer limit, so a hung test cannot eat CI's whole time budget.
# Three workers (pytest-xdist), a test module per worker: the tests mostly wait on the sandbox's latency and
# rate limits, so they overlap well even on two cores.
timeout -k 30 1500 .venv/bin/python -m pytest -n 3 --dist loadfile --durations=15 "$@"
pytest_rc=$?
if [ "$pytest_rc" -eq 5 ]; then
  echo "ERROR: pytest collected no tests" >&2
elif [ "$pytest_rc" -eq 124 ]; then
  echo "ERROR: pytest did not finish within 25 minutes" >&2
fi

step "finished in $(( $(date +%s) - t0 )) s: ruff exit $ruff_rc, mypy exit $mypy_rc, pytest exit $pytest_rc"
if [ "$pytest_rc" -ne 0 ]; then exit "$pytest_rc"; fi
if [ "$ruff_rc" -ne 0 ]; then exit "$ruff_rc"; fi
if [ "$mypy_rc" -ne 0 ]; then exit "$mypy_rc"; fi
exit 0
