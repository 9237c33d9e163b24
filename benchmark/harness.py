"""Processes for the benchmark: the sandbox, the tap (or the bare tap), and what they cost.

The tap runs as its own process; its CPU time and peak RSS come from ``os.wait4`` (the rusage of that one
child), its wall time from the parent's monotonic clock around the process.
"""

from __future__ import annotations

import json
import os
import re
import select
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Callable

REPO = Path(__file__).resolve().parents[1]
PYTHON = sys.executable

SANDBOX_CREDENTIALS = {
    "access_key": "sandbox-access-key",
    "access_key_secret": "sandbox-access-key-secret",
}
CLARI_CREDENTIALS = {
    "clari_api_key": "sandbox-clari-key",
    "clari_api_password": "sandbox-clari-password",
}


def log(message: str) -> None:
    """Progress on stderr, so stdout holds only the machine line and the table."""
    print(f"[benchmark {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def tap_executable() -> str:
    """The ``tap-calls`` console script next to this Python (the repo venv), else the one on PATH."""
    here = Path(PYTHON).parent / "tap-calls"
    if here.is_file():
        return str(here)
    found = shutil.which("tap-calls")
    if found is None:
        raise RuntimeError("tap-calls is not installed: run scripts/setup.sh (or pip install -e .)")
    return found


def iso(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def clean_env() -> dict[str, str]:
    """The environment without tap or Meltano settings that could change what the tap does."""
    return {k: v for k, v in os.environ.items() if not k.startswith(("TAP_CALLS_", "MELTANO_"))}


class Sandbox:
    """``python -m calls_sandbox ARGS`` as a process, anchored at a fixed ``now``; a context manager."""

    def __init__(self, workdir: Path, *, now: datetime | None = None, **options: Any) -> None:
        self.workdir = workdir
        self.now = now or datetime.now(UTC).replace(microsecond=0)
        self.options = options
        self.proc: subprocess.Popen | None = None
        self.url = self.gong_url = self.clari_url = ""

    def __enter__(self) -> Sandbox:
        args = [PYTHON, "-m", "calls_sandbox", "--now", iso(self.now)]
        for name, value in self.options.items():
            if value is not None:
                args += [f"--{name.replace('_', '-')}", str(value)]
        self.workdir.mkdir(parents=True, exist_ok=True)
        self._stderr = open(self.workdir / "sandbox.err", "wb")
        self.proc = subprocess.Popen(  # noqa: S603 (our own interpreter and module)
            args, cwd=REPO, stdout=subprocess.PIPE, stderr=self._stderr, env=clean_env()
        )
        assert self.proc.stdout is not None
        ready, _, _ = select.select([self.proc.stdout], [], [], 120)
        line = self.proc.stdout.readline() if ready else b""
        if not line:
            self.__exit__(None, None, None)
            raise RuntimeError(f"the sandbox did not start: {args}; see {self.workdir / 'sandbox.err'}")
        info = json.loads(line)
        self.url, self.gong_url, self.clari_url = info["url"], info["gong_url"], info["clari_url"]
        return self

    def __exit__(self, *exc: object) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc is not None and self.proc.stdout is not None:
            self.proc.stdout.close()
        self._stderr.close()

    def get(self, path: str) -> Any:
        with urllib.request.urlopen(self.url + path, timeout=120) as response:  # noqa: S310 (loopback)
            return json.loads(response.read())

    def post(self, path: str, body: dict | None = None) -> Any:
        request = urllib.request.Request(  # noqa: S310 (loopback)
            self.url + path,
            data=json.dumps(body or {}).encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=120) as response:  # noqa: S310 (loopback)
            return json.loads(response.read())

    def clear(self) -> None:
        """Forget the requests served so far (``count``, ``stats`` and ``requests_log`` start again)."""
        self.post("/_sandbox/clear")

    def truth(self) -> dict:
        return self.get("/_sandbox/truth")

    def stats(self) -> list[dict]:
        """``[{source, path, status, count}]`` for every request served so far."""
        return self.get("/_sandbox/stats")["counts"]

    def requests_log(self, bodies: bool = False) -> list[dict]:
        return self.get("/_sandbox/log?bodies=1" if bodies else "/_sandbox/log")

    def count(self, source: str, paths: tuple[str, ...] = (), status: int | None = None) -> int:
        return sum(
            row["count"]
            for row in self.stats()
            if row["source"] == source
            and (not paths or row["path"] in paths)
            and (status is None or row["status"] == status)
        )

    def gong_config(self, **settings: Any) -> dict:
        """Settings for a full backfill of everything the sandbox holds (calls start after now - span)."""
        span = float(self.options.get("gong_span_days") or 400)
        return {
            **SANDBOX_CREDENTIALS,
            "api_url": self.gong_url,
            "start_date": iso(self.now - timedelta(days=span + 2)),
            "end_date": iso(self.now),
            **settings,
        }

    def clari_config(self, **settings: Any) -> dict:
        span = float(self.options.get("clari_span_days") or 400)
        return {
            **CLARI_CREDENTIALS,
            "clari_api_url": self.clari_url,
            "start_date": iso(self.now - timedelta(days=span + 2)),
            "end_date": iso(self.now),
            **settings,
        }


@dataclass
class Run:
    """One finished process: its exit code, wall time, CPU time and peak RSS, and its log."""

    args: list[str]
    returncode: int
    wall: float
    user: float
    sys: float
    maxrss_kb: int
    stderr_path: Path
    stdout_path: Path | None = None
    extra: dict = field(default_factory=dict)

    @property
    def cpu(self) -> float:
        return self.user + self.sys

    def stderr_tail(self, lines: int = 15) -> str:
        text = self.stderr_path.read_text(encoding="utf-8", errors="replace")
        return "\n".join(text.splitlines()[-lines:])

    def records_done(self, stream: str) -> int | None:
        """Records the tap says it emitted for ``stream`` (its "STREAM: done, N records" line)."""
        text = self.stderr_path.read_text(encoding="utf-8", errors="replace")
        found = re.findall(rf"\b{re.escape(stream)}: done, (\d+) records", text)
        return int(found[-1]) if found else None

    def check(self) -> Run:
        if self.returncode != 0:
            raise RuntimeError(
                f"{Path(self.args[0]).name} exited {self.returncode}; last lines of {self.stderr_path}:\n"
                + self.stderr_tail()
            )
        return self


def run_process(
    args: list[str],
    *,
    name: str,
    workdir: Path,
    stdout: Path | None = None,
    timeout: float = 900,
    cwd: Path | None = None,
) -> Run:
    """Run ``args`` to its end; stdout to ``stdout`` (or /dev/null), stderr to ``workdir/NAME.err``."""
    stderr_path = workdir / f"{name}.err"
    out = open(stdout, "wb") if stdout is not None else open(os.devnull, "wb")  # noqa: SIM115
    with out, open(stderr_path, "wb") as err:
        started = time.monotonic()
        proc = subprocess.Popen(args, cwd=cwd or workdir, stdout=out, stderr=err, env=clean_env())  # noqa: S603
        timer = threading.Timer(timeout, proc.kill)
        timer.start()
        try:
            _, status, usage = os.wait4(proc.pid, 0)
        finally:
            timer.cancel()
        wall = time.monotonic() - started
        proc.returncode = os.waitstatus_to_exitcode(status)
    return Run(
        args=args,
        returncode=proc.returncode,
        wall=wall,
        user=usage.ru_utime,
        sys=usage.ru_stime,
        maxrss_kb=usage.ru_maxrss,
        stderr_path=stderr_path,
        stdout_path=stdout,
    )


CALL_STREAMS = ("calls", "parties", "transcripts", "users", "clari_calls")


class TapRunner:
    """Runs ``tap-calls --config FILE [--catalog FILE]``; with ``profile_dir``, under cProfile instead."""

    def __init__(self, workdir: Path, profile_dir: Path | None = None) -> None:
        self.workdir = workdir
        self.profile_dir = profile_dir
        workdir.mkdir(parents=True, exist_ok=True)

    def write_json(self, name: str, value: Any) -> Path:
        path = self.workdir / name
        path.write_text(json.dumps(value, indent=1), encoding="utf-8")
        return path

    def command(self, name: str) -> list[str]:
        if self.profile_dir is None:
            return [tap_executable()]
        self.profile_dir.mkdir(parents=True, exist_ok=True)
        return [PYTHON, "-m", "cProfile", "-o", str(self.profile_dir / f"{name}.prof"), "-m", "tap_calls"]

    def run(
        self,
        name: str,
        config: dict,
        *,
        catalog: dict | None = None,
        state: dict | None = None,
        stdout: Path | None = None,
        timeout: float = 900,
    ) -> Run:
        if catalog is None:  # the call streams: what the benchmark measures (the others cost requests at 3/s)
            catalog = select_streams(self.discover(config), CALL_STREAMS)
        args = [*self.command(name), "--config", str(self.write_json(f"{name}.config.json", config))]
        if catalog is not None:
            args += ["--catalog", str(self.write_json(f"{name}.catalog.json", catalog))]
        if state is not None:
            args += ["--state", str(self.write_json(f"{name}.state.json", state))]
        log(f"{name}: {' '.join(Path(a).name if a.startswith('/') else a for a in args)}")
        run = run_process(args, name=name, workdir=self.workdir, stdout=stdout, timeout=timeout)
        log(
            f"{name}: exit {run.returncode}, wall {run.wall:.2f} s, cpu {run.cpu:.2f} s, "
            f"max RSS {run.maxrss_kb / 1024:.1f} MiB"
        )
        return run

    def discover(self, config: dict) -> dict:
        path = self.workdir / "discover.json"
        args = [
            tap_executable(),
            "--config",
            str(self.write_json("discover.config.json", config)),
            "--discover",
        ]
        run_process(args, name="discover", workdir=self.workdir, stdout=path, timeout=300).check()
        return json.loads(path.read_text(encoding="utf-8"))


@dataclass
class Output:
    """What a tap wrote to stdout: a few fields of each record (``keep``: per stream), and its last STATE."""

    records: dict[str, list[dict]] = field(default_factory=dict)
    state: dict | None = None

    def ids(self, stream: str, key: str = "id") -> list:
        return [record[key] for record in self.records.get(stream, [])]


def read_output(path: Path, keep: dict[str, tuple[str, ...] | Callable[[dict], dict]]) -> Output:
    """The records of the streams in ``keep`` and the last STATE of a tap's output.

    Per stream, ``keep`` names the fields to keep or is a function that returns what to keep of a record. Keep
    little: a child's ``ru_maxrss`` (``wait4``) counts this process's peak RSS too (it carries over ``exec``).
    """
    out = Output()
    with open(path, encoding="utf-8") as lines:
        for line in lines:
            message = json.loads(line)
            kind = message.get("type")
            if kind == "RECORD" and message["stream"] in keep:
                record = message["record"]
                project = keep[message["stream"]]
                out.records.setdefault(message["stream"], []).append(
                    project(record) if callable(project) else {name: record.get(name) for name in project}
                )
            elif kind == "STATE":
                out.state = message["value"]
    return out


def select_only(catalog: dict, stream: str) -> dict:
    """The catalog with ``stream`` selected and every other stream deselected."""
    return select_streams(catalog, (stream,))


def select_streams(catalog: dict, streams: tuple[str, ...]) -> dict:
    """The catalog with ``streams`` selected and every other stream deselected."""
    for entry in catalog["streams"]:
        for meta in entry.get("metadata", []):
            if meta.get("breadcrumb") == []:
                meta["metadata"]["selected"] = entry["tap_stream_id"] in streams
    return catalog


def machine_line() -> str:
    model = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    cores = os.cpu_count() or 0
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:
        usable = cores
    cores_text = f"{cores} cores" if usable == cores else f"{cores} cores ({usable} usable)"
    return (
        f"Machine: {model}, {cores_text}, Python {sys.version.split()[0]} "
        f"({sys.implementation.name}), {os.uname().sysname} {os.uname().release}"
    )
