"""What every end-to-end test module shares: one sandbox fixture factory, one config builder, one catalog
selector, and the in-process tap run (as `tap-calls --config ... --state ...` would) with its messages.

    sandbox = sandbox_fixture(seed=7, gong_calls=1250, clari_calls=0)   # a module-scoped pytest fixture

    def test_x(sandbox):
        config = tap_config(sandbox, "gong", days=60)
        run = run_tap(config, catalog=selecting(config, {"calls"}))
"""

from __future__ import annotations

import io
import json
import typing as t
from collections import defaultdict
from contextlib import redirect_stdout
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest

from calls_sandbox import Sandbox
from tap_calls.errors import TapCallsError
from tap_calls.tap import TapCalls

if t.TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator

# The sandbox enforces no rate unless told to (gong_rate_limit=...): tests need not crawl at 3/s or 10/s.
FAST_GONG = 500
FAST_CLARI = 500


def sandbox_fixture(*, scope: str = "module", **params: t.Any) -> Callable[[], Iterator[Sandbox]]:
    """A pytest fixture serving `Sandbox(**params)` for the `scope`, stopped afterwards; it fails the test
    that used it when a handler of the sandbox crashed (a sandbox bug must not pass for a tap bug)."""

    @pytest.fixture(scope=scope)  # type: ignore[call-overload]
    def fixture() -> Iterator[Sandbox]:
        with Sandbox(**params) as sb:
            yield sb
            assert not sb.errors, f"the sandbox's handlers failed: {sb.errors[:3]}"

    return fixture


def tap_config(sb: Sandbox, *sources: str, days: float | None = None, **settings: t.Any) -> dict:
    """The tap's settings against `sb`: credentials and URLs of `sources` ("gong", "clari"; both when none
    are named) with their rate caps raised, `start_date` `days` before the sandbox's now when given, then
    `settings` as given."""
    sources = sources or ("gong", "clari")
    config: dict[str, t.Any] = {}
    if "gong" in sources:
        config.update(sb.gong_config(), requests_per_second=FAST_GONG)
    if "clari" in sources:
        config.update(sb.clari_config(), clari_requests_per_second=FAST_CLARI)
    if days is not None:
        config["start_date"] = (sb.now - timedelta(days=days)).isoformat()
    config.update(settings)
    return config


def selecting(config: dict, streams: Iterable[str]) -> dict:
    """The tap's discovered catalog with exactly `streams` selected."""
    wanted = set(streams)
    catalog = TapCalls(config=config, parse_env_config=False).catalog_dict
    for entry in catalog["streams"]:
        for meta in entry["metadata"]:
            if meta["breadcrumb"] == []:
                meta["metadata"]["selected"] = entry["tap_stream_id"] in wanted
    return catalog


def requests_to(log: Sandbox | Iterable[t.Any], source: str, path: str | None = None) -> list:
    """The requests the sandbox served to `source` ("gong" or "clari"), only those to `path` when given;
    `log` is the sandbox (its whole log) or a copy of a log taken earlier."""
    served = log.log if isinstance(log, Sandbox) else log
    return [r for r in served if r.source == source and (path is None or r.path == path)]


@dataclass
class Run:
    messages: list[dict]
    records: dict[str, list[dict]] = field(default_factory=lambda: defaultdict(list))
    schemas: dict[str, dict] = field(default_factory=dict)
    states: list[dict] = field(default_factory=list)

    @property
    def state(self) -> dict:
        return self.states[-1]

    def ids(self, stream: str, *keys: str) -> list:
        keys = keys or ("id",)
        rows = self.records[stream]
        return [row[keys[0]] if len(keys) == 1 else tuple(row[k] for k in keys) for row in rows]


def parse(output: str) -> Run:
    run = Run(messages=[json.loads(line) for line in output.splitlines() if line.strip()])
    for message in run.messages:
        if message["type"] == "RECORD":
            run.records[message["stream"]].append(message["record"])
        elif message["type"] == "SCHEMA":
            run.schemas[message["stream"]] = message["schema"]
        elif message["type"] == "STATE":
            run.states.append(message["value"])
    return run


# The lists of existing calls share their endpoints with `calls` and `clari_calls` (GET /v2/calls is also
# the cheapest Gong listing; Clari's /calls is both streams' listing): tests that count a path's requests run
# without them unless they select them (tests/test_call_ids.py does).
CALL_ID_LISTS = ("call_ids", "clari_call_ids")


def run_tap(config: dict, state: dict | None = None, catalog: dict | None = None) -> Run:
    """The tap run in-process; without a `catalog`, every stream of the configured sources except the lists
    of existing calls (CALL_ID_LISTS)."""
    if catalog is None:
        every = {
            entry["tap_stream_id"]
            for entry in TapCalls(config=config, parse_env_config=False).catalog_dict["streams"]
        }
        catalog = selecting(config, every - set(CALL_ID_LISTS))
    buffer = io.TextIOWrapper(io.BytesIO(), encoding="utf-8")
    tap = TapCalls(config=config, state=state, catalog=catalog, parse_env_config=False)
    with redirect_stdout(buffer):
        tap.sync_all()
    buffer.seek(0)
    return parse(buffer.read())


def run_tap_until_stopped(
    config: dict, state: dict | None, catalog: dict
) -> tuple[Run, TapCallsError | None]:
    """The tap run in-process as `tap-calls` runs it, also when it ends with an error (a Retry-After beyond
    max_retry_wait_seconds, a spent max_requests_per_run): its messages, the last STATE written again last,
    and the error."""
    buffer = io.TextIOWrapper(io.BytesIO(), encoding="utf-8")
    error = None
    tap = TapCalls(config=config, state=state, catalog=catalog, parse_env_config=False)
    with redirect_stdout(buffer):
        try:
            tap.sync_all()
        except TapCallsError as exc:
            error = exc
        finally:
            tap.write_final_state()
    buffer.seek(0)
    return parse(buffer.read()), error


def gong_requests(sb: Sandbox, path: str | None = None) -> list:
    return requests_to(sb, "gong", path)


def first_backfill_floor(sb: Sandbox, start: datetime) -> int:
    """The fewest /v2/calls requests a first backfill from `start` could cost: one listing page per 100
    calls (private ones are listed too) and one transcript request per 100 public calls (interface.md,
    "Third release": a backfill may cost at most 6 more below 3,000 calls, and 21 per 1,000 from there up)."""
    calls = sb.gong.expected_calls(start, datetime.now(UTC), include_private=True)
    public = len(sb.gong.expected_calls(start, datetime.now(UTC)))
    return max(1, -(-len(calls) // 100)) + -(-public // 100)
