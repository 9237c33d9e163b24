"""Progress that survives every stop (interface.md, "Third release"), over real HTTP against the sandbox:
a backfill spread over runs by `max_requests_per_run` always finishes at about the cost of one backfill, and
a run stopped by Gong's quota or by SIGTERM keeps what it read: the next run reads only the unfinished part.
"""

from __future__ import annotations

import json
import logging
import math
import re
import signal
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from calls_sandbox import Sandbox
from tap_calls.dates import parse_datetime
from tap_calls.progress import FinishedWindows
from tap_calls.windows import Window
from tests.harness import parse, requests_to, run_tap, selecting, tap_config

GONG_STREAMS = ("calls", "parties", "transcripts")
EXTENSIVE = "/v2/calls/extensive"
SMALL_WINDOWS = (sys.executable, str(Path(__file__).resolve().parent / "tap_with_small_windows.py"))


@pytest.fixture(scope="module")
def gong():
    with Sandbox(seed=5, gong_calls=3000, gong_span_days=400, gong_users=8, clari_calls=0) as sb:
        yield sb
        assert not sb.errors, sb.errors[:3]


@pytest.fixture(scope="module")
def clari():
    with Sandbox(seed=5, gong_calls=0, clari_calls=400, clari_span_days=200) as sb:
        yield sb
        assert not sb.errors, sb.errors[:3]


def gong_truth(sb: Sandbox, config: dict) -> tuple[set, set, set]:
    calls = sb.gong.expected_calls(parse_datetime(config["start_date"]), datetime.now(UTC))
    parties = {(c.id, p["id"]) for c in calls for p in sb.gong.parties(c.id) or ()}
    return {c.id for c in calls}, parties, {c.id for c in calls if c.has_transcript}


def progress_of(state: dict, stream: str) -> tuple:
    """What a STATE says a stream finished: its bookmark and the finished windows past it."""
    bookmark = state["bookmarks"].get(stream, {})
    return bookmark.get("replication_key_value"), bookmark.get("finished_windows") or []


def spread(sb: Sandbox, config: dict, catalog: dict, *, source: str, budget: int, caplog) -> list:
    """Runs in a row with `max_requests_per_run: budget`, each from the last STATE of the one before, until
    one is not stopped early (at most 30): [(requests, run)]."""
    runs, state = [], None
    for _ in range(30):
        sb.clear_log()
        caplog.clear()
        with caplog.at_level(logging.WARNING):
            run = run_tap({**config, "max_requests_per_run": budget}, state=state, catalog=catalog)
        runs.append((len(requests_to(sb, source)), run))
        assert runs[-1][0] <= budget
        state = run.state
        if not any("stopped early" in r.getMessage() for r in caplog.records):
            break
    return runs


def test_a_gong_backfill_spread_over_runs_finishes_at_the_cost_of_one(gong, caplog):
    config = tap_config(gong, "gong", days=401, lookback_days=0)
    catalog = selecting(config, GONG_STREAMS)
    gong.clear_log()
    full = run_tap(config, catalog=catalog)
    full_requests = len(requests_to(gong, "gong"))
    calls, parties, transcripts = gong_truth(gong, config)
    assert set(full.ids("calls")) == calls and len(calls) > 2500

    budget = 32  # about half a full run, as 100 is of 12,000 calls' 240
    runs = spread(gong, config, catalog, source="gong", budget=budget, caplog=caplog)
    assert len(runs) <= math.ceil(full_requests / budget) + 2, [n for n, _ in runs]
    assert sum(n for n, _ in runs) <= 1.25 * full_requests, ([n for n, _ in runs], full_requests)
    # Every run but the last moved the bookmark or added finished windows.
    before: tuple = (None, [])
    for _, run in runs[:-1]:
        after = progress_of(run.state, "calls")
        assert after != before
        before = after
    assert set().union(*(r.ids("calls") for _, r in runs)) == calls
    assert set().union(*(r.ids("parties", "call_id", "id") for _, r in runs)) == parties
    assert set().union(*(r.ids("transcripts", "call_id") for _, r in runs)) == transcripts
    # Each run's records were committed: its last STATE has bookmarks for all three streams at the end.
    final = runs[-1][1].state["bookmarks"]
    assert {s: bool(final[s].get("replication_key_value")) for s in GONG_STREAMS} == dict.fromkeys(
        GONG_STREAMS, True
    )
    assert not final["calls"].get("finished_windows")


def test_a_clari_backfill_spread_over_runs_finishes_at_the_cost_of_one(clari, caplog):
    config = tap_config(clari, "clari", days=201, lookback_days=0)
    catalog = selecting(config, ("clari_calls",))
    clari.clear_log()
    full = run_tap(config, catalog=catalog)
    full_requests = len(requests_to(clari, "clari"))
    truth = {c["id"] for c in clari.clari.expected_calls(parse_datetime(config["start_date"]))}
    assert set(full.ids("clari_calls")) == truth

    budget = 60  # a window of 500 calls costs 510 requests: windows are cut to what is left of it
    runs = spread(clari, config, catalog, source="clari", budget=budget, caplog=caplog)
    assert len(runs) <= math.ceil(full_requests / budget) + 2, [n for n, _ in runs]
    assert sum(n for n, _ in runs) <= 1.25 * full_requests, ([n for n, _ in runs], full_requests)
    before: tuple = (None, [])
    for _, run in runs[:-1]:
        after = progress_of(run.state, "clari_calls")
        assert after != before
        before = after
    assert set().union(*(r.ids("clari_calls") for _, r in runs)) == truth


def cli(
    tmp_path: Path, config: dict, catalog: dict, state: dict | None = None, *, command: tuple[str, ...] = ()
) -> list[str]:
    (tmp_path / "config.json").write_text(json.dumps(config))
    (tmp_path / "catalog.json").write_text(json.dumps(catalog))
    args = [*(command or (sys.executable, "-m", "tap_calls")), "--config", str(tmp_path / "config.json")]
    args += ["--catalog", str(tmp_path / "catalog.json")]
    if state is not None:
        (tmp_path / "state.json").write_text(json.dumps(state))
        args += ["--state", str(tmp_path / "state.json")]
    return args


def unread(state: dict, start: datetime, end: datetime) -> list[Window]:
    """What a STATE leaves to read of [start, end): after the bookmark, less the finished windows."""
    value, finished = progress_of(state, "calls")
    since = max(start, parse_datetime(value)) if value else start
    ranges = [w for w, _ in FinishedWindows.from_state(finished).ranges]
    out, cursor = [], since
    for rng in sorted(ranges):
        if rng.start > cursor:
            out.append(Window(cursor, rng.start))
        cursor = max(cursor, rng.end)
    return [*out, Window(cursor, end)]


def assert_reads_only(log: list, gaps: list[Window]) -> None:
    for request in log:
        window = request.body["filter"]
        a, b = parse_datetime(window["fromDateTime"]), parse_datetime(window["toDateTime"])
        assert any(g.start <= a and b <= g.end + timedelta(seconds=1) for g in gaps), (a, b, gaps)


def test_a_quota_stop_keeps_what_it_read(gong, tmp_path):
    # Gong's own cap: as many windows open as 3/s needs. Windows of about 120 calls (the test tap), so that
    # what a stop may lose (the open windows) is small against what this short run reads, as 1,000-call
    # windows are against a real backfill's (benchmark row 17: 12,000 calls).
    config = tap_config(gong, "gong", days=401, lookback_days=0, requests_per_second=3)
    catalog = selecting(config, GONG_STREAMS)
    gong.clear_log()
    whole = subprocess.run(
        cli(tmp_path, {**config, "requests_per_second": 500}, catalog, command=SMALL_WINDOWS),
        check=False,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert whole.returncode == 0, whole.stderr[-2000:]
    full = len(requests_to(gong, "gong", EXTENSIVE))
    gong.clear_log()
    gong.gong_daily_quota = 40
    try:
        first = subprocess.run(
            cli(tmp_path, config, catalog, command=SMALL_WINDOWS),
            check=False,
            capture_output=True,
            text=True,
            timeout=300,
        )
    finally:
        gong.gong_daily_quota = None
    assert first.returncode != 0 and "max_retry_wait_seconds" in first.stderr
    read = len([r for r in requests_to(gong, "gong", EXTENSIVE) if r.status == 200])
    stopped = parse(first.stdout)
    assert stopped.messages[-1]["type"] == "STATE"

    gong.clear_log()
    second = subprocess.run(
        cli(tmp_path, {**config, "requests_per_second": 500}, catalog, stopped.state, command=SMALL_WINDOWS),
        check=False,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert second.returncode == 0, second.stderr[-2000:]
    resumed = parse(second.stdout)
    again = requests_to(gong, "gong", EXTENSIVE)
    assert len(again) <= full - read / 2, (len(again), full, read)
    start = parse_datetime(config["start_date"])
    assert_reads_only(again, unread(stopped.state, start, datetime.now(UTC) + timedelta(minutes=5)))
    calls, parties, transcripts = gong_truth(gong, config)
    assert set(stopped.ids("calls")) | set(resumed.ids("calls")) == calls
    assert (
        set(stopped.ids("parties", "call_id", "id")) | set(resumed.ids("parties", "call_id", "id")) == parties
    )
    assert (
        set(stopped.ids("transcripts", "call_id")) | set(resumed.ids("transcripts", "call_id")) == transcripts
    )


def test_sigterm_after_a_state_keeps_its_finished_windows(gong, tmp_path):
    config = tap_config(gong, "gong", days=401, lookback_days=0, requests_per_second=20)
    catalog = selecting(config, GONG_STREAMS)
    gong.clear_log()
    with subprocess.Popen(
        cli(tmp_path, config, catalog), stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
    ) as process:
        assert process.stdout is not None
        lines, states = [], 0
        for line in process.stdout:
            lines.append(line)
            message = json.loads(line)
            if message["type"] == "STATE" and any(progress_of(message["value"], "calls")):
                states += 1
                if states == 4:
                    process.send_signal(signal.SIGTERM)
                    break
        lines += process.stdout.read().splitlines(keepends=True)
        process.wait(timeout=60)
    stopped = parse("".join(lines))
    assert any(progress_of(stopped.state, "calls")), "the last STATE holds progress"
    gong.clear_log()
    resumed = run_tap(config, state=stopped.state, catalog=catalog)
    start = parse_datetime(config["start_date"])
    assert_reads_only(
        requests_to(gong, "gong", EXTENSIVE),
        unread(stopped.state, start, datetime.now(UTC) + timedelta(minutes=5)),
    )
    calls, parties, transcripts = gong_truth(gong, config)
    assert set(stopped.ids("calls")) | set(resumed.ids("calls")) == calls
    assert (
        set(stopped.ids("parties", "call_id", "id")) | set(resumed.ids("parties", "call_id", "id")) == parties
    )
    assert (
        set(stopped.ids("transcripts", "call_id")) | set(resumed.ids("transcripts", "call_id")) == transcripts
    )


def test_the_cost_line_counts_every_listing_page_and_adds_up(gong, caplog):
    config = tap_config(gong, "gong", days=401, lookback_days=0)
    catalog = selecting(config, GONG_STREAMS)
    gong.clear_log()
    with caplog.at_level(logging.INFO):
        run_tap(config, catalog=catalog)
    sent = len(requests_to(gong, "gong"))
    line = next(r.getMessage() for r in caplog.records if "Gong so far" in r.getMessage())
    numbers = re.search(
        r"(\d+) requests .*: (\d+) for new data, (\d+) re-reading what earlier runs emitted, (\d+) for the rest",
        line,
    )
    assert numbers, line
    total, new, reread, rest = map(int, numbers.groups())
    # A first backfill: every listing page and transcript request is new data, nothing else ran before.
    assert (total, new, reread, rest) == (sent, sent, 0, 0), line
