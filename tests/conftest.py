"""Shared fixtures for the end-to-end tests that drive the real `meltano` CLI (test_meltano, test_postgres).

`meltano` is the one in .venv-meltano (scripts/setup.sh creates it), or $MELTANO_BIN, or `meltano` on PATH.
The repo's own meltano.yml is the project; `meltano install` runs once (whatever the number of pytest-xdist
workers), again only when meltano.yml or a plugin's pyproject.toml changed, and never under scripts/test.sh,
which has just run it (TESTS_MELTANO_INSTALLED=1).
Each run gets its own system database, state backend, output folder and `.meltano` system directory
(`isolated_sys_dir`: the installed plugins linked in, its own `run/`), so runs in parallel workers never see
each other's state, nor each other's catalog file.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import pytest
from filelock import FileLock

REPO = Path(__file__).resolve().parents[1]
_OWN_PREFIXES = ("TAP_CALLS_", "TARGET_JSONL_", "TARGET_POSTGRES_", "MELTANO_")


def _find_meltano() -> str | None:
    candidates = [os.environ.get("MELTANO_BIN"), str(REPO / ".venv-meltano" / "bin" / "meltano")]
    for c in candidates:
        if c and Path(c).is_file() and os.access(c, os.X_OK):
            return c
    return shutil.which("meltano")


def isolated_sys_dir(workdir: Path) -> str:
    """A Meltano system directory (`MELTANO_SYS_DIR_ROOT`) for runs in `workdir`: the plugins installed in the
    repo's `.meltano/` linked in, and a `run/` of its own (Meltano writes each plugin's config and catalog
    there, at a fixed path: two runs at once in the repo's directory would overwrite each other's)."""
    sys_dir = workdir / "meltano-sys"
    sys_dir.mkdir(parents=True, exist_ok=True)
    for kind in ("extractors", "loaders"):
        link = sys_dir / kind
        if not link.exists():
            link.symlink_to(REPO / ".meltano" / kind, target_is_directory=True)
    return str(sys_dir)


def iso(dt: datetime) -> str:
    return dt.strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class Meltano:
    """The meltano CLI on the repo's project, with per-run isolation."""

    exe: str
    install_seconds: float = 0.0
    runs: list[float] = field(default_factory=list)

    def env(self, workdir: Path, sandbox: object, start_date: datetime, **settings: str) -> dict[str, str]:
        """Environment for `meltano --environment=sandbox ...` against `sandbox`, isolated in `workdir`.

        `settings` are extra env vars (e.g. TARGET_JSONL_DESTINATION_PATH=...). Credentials come from the
        `sandbox` environment of meltano.yml, on purpose: that is what the file promises to work with.
        """
        workdir.mkdir(parents=True, exist_ok=True)
        env = {k: v for k, v in os.environ.items() if not k.startswith(_OWN_PREFIXES)}
        env.update(
            MELTANO_PROJECT_ROOT=str(REPO),
            MELTANO_SYS_DIR_ROOT=isolated_sys_dir(workdir),
            MELTANO_DATABASE_URI=f"sqlite:///{workdir}/meltano.db",
            MELTANO_STATE_BACKEND_URI=f"file://{workdir}/state",
            MELTANO_SEND_ANONYMOUS_USAGE_STATS="false",
            TAP_CALLS_API_URL=sandbox.gong_url,
            TAP_CALLS_CLARI_API_URL=sandbox.clari_url,
            TAP_CALLS_START_DATE=iso(start_date),
        )
        env.update(settings)
        return env

    def __call__(self, *args: str, env: dict[str, str], timeout: float = 300) -> subprocess.CompletedProcess:
        """Run `meltano ARGS` in the repo; fail the test with the log's tail if it exits non-zero."""
        started = time.monotonic()
        proc = subprocess.run(
            [self.exe, *args],
            cwd=REPO,
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        self.runs.append(time.monotonic() - started)
        if proc.returncode != 0:
            pytest.fail(
                f"`meltano {' '.join(args)}` exited {proc.returncode}:\n{_excerpt(proc)}", pytrace=False
            )
        return proc


def _excerpt(proc: subprocess.CompletedProcess) -> str:
    """The first traceback (if any) and the last lines of a failed command's output."""
    lines = (proc.stdout + proc.stderr).splitlines()
    first = next((i for i, line in enumerate(lines) if "Traceback (most recent call last)" in line), None)
    head = [*lines[first : first + 60], "..."] if first is not None and first < len(lines) - 40 else []
    return "\n".join(head + lines[-40:])


def _install_inputs() -> str:
    """A digest of what `meltano install` installs from: meltano.yml and the pyproject.toml of each plugin
    installed from this repository (the tap and the loaders, all editable: their code needs no install)."""
    digest = hashlib.sha256()
    for path in [
        REPO / "meltano.yml",
        REPO / "pyproject.toml",
        *sorted(REPO.glob("loaders/*/pyproject.toml")),
    ]:
        digest.update(path.read_bytes())
    return digest.hexdigest()


@pytest.fixture(scope="session")
def meltano() -> Meltano:
    """The meltano CLI with the project's plugins installed (see the module docstring for when it installs)."""
    exe = _find_meltano()
    if exe is None:
        pytest.fail(
            "meltano not found: run `bash scripts/test.sh` (it creates .venv-meltano), or set MELTANO_BIN",
            pytrace=False,
        )
    env = {k: v for k, v in os.environ.items() if not k.startswith(_OWN_PREFIXES)}
    env.update(MELTANO_PROJECT_ROOT=str(REPO), MELTANO_SEND_ANONYMOUS_USAGE_STATS="false")
    started = time.monotonic()
    (REPO / ".meltano").mkdir(exist_ok=True)
    # scripts/test.sh runs `meltano install` (scripts/setup.sh) just before pytest and says so in
    # TESTS_MELTANO_INSTALLED=1: a second install would only hold up the first Meltano test of every worker.
    if os.environ.get("TESTS_MELTANO_INSTALLED") == "1":
        return Meltano(exe=exe)
    # pytest-xdist workers each open this session: the first installs, the others wait for it and then reuse
    # it (a second `meltano install` would rewrite the plugins' venvs under a run of another worker). A later
    # test run installs again only when what the install reads changed (or a plugin folder is gone).
    inputs = _install_inputs()
    with FileLock(REPO / ".meltano" / "tests-install.lock"):
        stamp = REPO / ".meltano" / "tests-installed"
        installed = all((REPO / ".meltano" / kind).is_dir() for kind in ("extractors", "loaders"))
        if not installed or not stamp.exists() or stamp.read_text() != inputs:
            proc = subprocess.run(
                [exe, "install"], cwd=REPO, env=env, capture_output=True, text=True, timeout=1200, check=False
            )
            if proc.returncode != 0:
                pytest.fail(f"`meltano install` exited {proc.returncode}:\n{_excerpt(proc)}", pytrace=False)
            stamp.write_text(inputs)
    return Meltano(exe=exe, install_seconds=time.monotonic() - started)


# The modules that take longest (measured: `pytest --durations=0`, per-module totals), longest first. pytest-xdist
# (`--dist loadfile`, with `--no-loadscope-reorder` in pyproject.toml) hands modules to workers in collection
# order, so these start first and no long module starts near the end, when the other workers are idle. A module
# missing here only runs later; the list is about wall time, never about what runs.
SLOW_MODULES = (
    "tests/test_postgres.py",
    "tests/test_first_hour.py",
    "tests/test_reliability.py",
    "tests/test_clari_bulk.py",
    "tests/test_lookback_cost.py",
    "tests/test_benchmark_smoke.py",
    "tests/test_gong.py",
    "tests/test_progress.py",
    "tests/test_oauth.py",
    "tests/test_readme_commands.py",
    "tests/test_duckdb.py",
    "tests/test_meltano.py",
    "tests/test_speakers.py",
    "tests/test_plugin_definition.py",
    "tests/test_errors.py",
    "tests/test_clari.py",
    "tests/test_call_ids.py",
    "tests/test_transcript_rows.py",
    "tests/test_clari_more.py",
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The slow modules first, in SLOW_MODULES order; every other test keeps its place after them."""
    rank = {module: i for i, module in enumerate(SLOW_MODULES)}
    items.sort(key=lambda item: rank.get(item.nodeid.split("::", 1)[0], len(rank)))
