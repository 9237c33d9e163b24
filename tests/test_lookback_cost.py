"""Issue 12: a re-read costs what it finds. Request counts come from the sandbox's own log."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from calls_sandbox import Sandbox
from tap_calls.dates import parse_datetime
from tests.harness import parse, requests_to, run_tap, sandbox_fixture, tap_config

ROOT = Path(__file__).resolve().parent.parent


def gong_count(sb: Sandbox, path: str | None = None) -> int:
    """Requests of the call streams (the quota goals are about calls, parties, transcripts and users)."""
    return sum(1 for r in requests_to(sb, "gong", path) if r.path.startswith(("/v2/calls", "/v2/users")))


def clari_count(sb: Sandbox, path: str | None = None) -> int:
    return len(requests_to(sb, "clari", path))


gong_sandbox = sandbox_fixture(seed=31, gong_calls=8000, gong_span_days=8, gong_users=130, clari_calls=0)


@pytest.fixture(scope="module")
def busy_gong(gong_sandbox):
    """1,000 calls a day for 8 days, after a full backfill."""
    sb = gong_sandbox
    config = tap_config(sb, "gong", start_date=(sb.now - timedelta(days=8, hours=1)).isoformat())
    first = run_tap(config)
    return sb, config, first


def test_gong_a_run_right_after_a_full_run_costs_at_most_10_requests(busy_gong):
    sb, config, first = busy_gong
    sb.clear_log()
    second = run_tap(config, state=first.state)
    assert gong_count(sb) <= 10, [(r.path, r.body) for r in sb.log]
    # It re-read 3 hours before the bookmark, no more: those calls, and no transcript already emitted.
    bookmark = parse_datetime(first.state["bookmarks"]["calls"]["replication_key_value"])
    froms = [
        parse_datetime(r.body["filter"]["fromDateTime"]) for r in sb.log if r.path == "/v2/calls/extensive"
    ]
    assert min(froms) >= bookmark - timedelta(hours=3, seconds=1)
    overlap = {c.id for c in sb.gong.expected_calls(bookmark - timedelta(hours=3), datetime.now(UTC))}
    assert set(second.ids("calls")) == overlap
    emitted_before = set(first.ids("transcripts", "call_id"))
    assert not emitted_before & set(second.ids("transcripts", "call_id"))


def test_gong_a_full_look_back_fetches_transcripts_only_for_new_calls_and_calls_without_one(busy_gong):
    sb, config, first = busy_gong
    state = first.state
    bookmark = parse_datetime(state["bookmarks"]["calls"]["replication_key_value"])
    assert len(json.dumps(state)) <= 64 * 1024
    late = sb.gong.add_calls(5, bookmark - timedelta(days=5), bookmark - timedelta(days=1), is_private=False)
    without = [
        c
        for c in sb.gong.expected_calls(bookmark - timedelta(days=6), bookmark - timedelta(days=1))
        if not c.has_transcript
    ][:4]
    assert len(without) == 4
    for call in without:  # Gong publishes these transcripts late
        sb.gong.update_call(call.id, has_transcript=True)
    sb.clear_log()

    again = run_tap({**config, "lookback_interval_hours": 0}, state=state)

    transcript_requests = gong_count(sb, "/v2/calls/transcript")
    assert transcript_requests <= 12
    assert gong_count(sb) <= 95
    ids = set(again.ids("calls"))
    assert {c.id for c in late} <= ids
    assert ids == {c.id for c in sb.gong.expected_calls(bookmark - timedelta(days=7), datetime.now(UTC))}
    got = set(again.ids("transcripts", "call_id"))
    assert {c.id for c in late if c.has_transcript} | {c.id for c in without} <= got
    # Only calls that are new or had no transcript were asked for.
    asked = {i for r in sb.log if r.path == "/v2/calls/transcript" for i in r.body["filter"]["callIds"]}
    assert not asked & set(first.ids("transcripts", "call_id"))
    for call in without:
        sb.gong.update_call(call.id, has_transcript=False)


def test_a_first_release_state_is_read_without_complaint(busy_gong, caplog):
    """A STATE without the look-back summary: every transcript of the look-back is asked for again."""
    sb, config, first = busy_gong
    old = json.loads(json.dumps(first.state))
    for stream in old["bookmarks"].values():
        stream.pop("lookback_summary", None)
        stream.pop("full_lookback_at", None)
    sb.clear_log()
    again = run_tap(config, state=old)
    bookmark = parse_datetime(old["bookmarks"]["calls"]["replication_key_value"])
    expected = {c.id for c in sb.gong.expected_calls(bookmark - timedelta(days=7), datetime.now(UTC))}
    assert set(again.ids("calls")) == expected
    assert set(again.ids("transcripts", "call_id")) == {
        c.id
        for c in sb.gong.expected_calls(bookmark - timedelta(days=7), datetime.now(UTC))
        if c.has_transcript
    }
    assert not [
        r for r in caplog.records if r.levelname in {"WARNING", "ERROR"} and "state" in r.getMessage()
    ]


clari_sandbox = sandbox_fixture(seed=32, gong_calls=0, clari_calls=2000, clari_span_days=14)


@pytest.fixture(scope="module")
def busy_clari(clari_sandbox):
    config = tap_config(clari_sandbox, "clari", days=15)
    first = run_tap(config)
    return clari_sandbox, config, first


def test_clari_a_run_right_after_a_full_run_costs_at_most_40_requests(busy_clari):
    sb, config, first = busy_clari
    assert len(first.ids("clari_calls")) == len(sb.clari.expected_calls(sb.now - timedelta(days=15)))
    sb.clear_log()
    run_tap(config, state=first.state)
    assert clari_count(sb) <= 40


def test_clari_a_full_look_back_fetches_details_for_changed_calls_only(busy_clari):
    sb, config, first = busy_clari
    state = first.state
    bookmark = parse_datetime(state["bookmarks"]["clari_calls"]["replication_key_value"])
    inside = [
        c["id"] for c in sb.clari.expected_calls(bookmark - timedelta(days=6), bookmark - timedelta(days=1))
    ]
    changed = inside[:10]
    sb.clari.modify(changed, at=datetime.now(UTC) - timedelta(seconds=2))
    sb.clear_log()

    again = run_tap({**config, "lookback_interval_hours": 0}, state=state)

    details = [r.query["id"][0] for r in sb.log if r.path == "/call-details"]
    assert sorted(details) == sorted(changed)
    assert sorted(again.ids("clari_calls")) == sorted(changed)
    now = {c["id"]: c for c in sb.clari.expected_calls(bookmark - timedelta(days=8))}
    for record in again.records["clari_calls"]:
        assert parse_datetime(record["last_modified_time"]) == parse_datetime(
            now[record["id"]]["last_modified_time"]
        )


def test_max_requests_per_run_stops_one_source_with_one_line_and_resumes(tmp_path):
    """The Gong budget runs out: one WARNING, Clari still completes, exit 0, and the next run resumes."""
    # Clari needs at most 10 requests here (a listing, 3 details, GET /users for the speakers and for clari_users,
    # clari_topics, clari_scorecard_templates, 2 pages of clari_scorecards): within the same per-source budget.
    with Sandbox(
        seed=33, gong_calls=900, gong_span_days=60, gong_users=5, clari_calls=3, clari_span_days=60
    ) as sb:
        config = tap_config(sb, days=61, requests_per_second=3, max_requests_per_run=12, lookback_days=0)
        (tmp_path / "config.json").write_text(json.dumps(config))
        first = subprocess.run(
            [sys.executable, "-m", "tap_calls", "--config", str(tmp_path / "config.json")],
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
            cwd=ROOT,
        )
        assert first.returncode == 0, first.stderr[-3000:]
        warnings = [
            line for line in first.stderr.splitlines() if "stopped early" in line and "WARNING" in line
        ]
        assert len(warnings) == 1, warnings and "max_requests_per_run=12" in warnings[0]
        assert "Traceback" not in first.stderr
        assert len(requests_to(sb, "gong")) == 12  # every Gong stream's requests
        partial = parse(first.stdout)
        assert partial.messages[-1]["type"] == "STATE"
        assert sorted(partial.ids("clari_calls")) == sorted(
            c["id"] for c in sb.clari.expected_calls(sb.now - timedelta(days=61))
        )

        config.pop("max_requests_per_run")
        config["requests_per_second"] = 500  # the rest of the backfill need not crawl at 3/s
        (tmp_path / "config.json").write_text(json.dumps(config))
        (tmp_path / "state.json").write_text(json.dumps(partial.state))
        second = subprocess.run(
            [
                sys.executable,
                "-m",
                "tap_calls",
                "--config",
                str(tmp_path / "config.json"),
                "--state",
                str(tmp_path / "state.json"),
            ],
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
            cwd=ROOT,
        )
        assert second.returncode == 0, second.stderr[-3000:]
        resumed = parse(second.stdout)
        everything = {c.id for c in sb.gong.expected_calls(sb.now - timedelta(days=61), datetime.now(UTC))}
        assert set(partial.ids("calls")) | set(resumed.ids("calls")) == everything
