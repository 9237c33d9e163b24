"""Deleted calls (interface.md, "Third release" > "Deleted calls"; issue 28) and table versions (issue 27): the tap
over real HTTP against the sandbox, with its ground truth.

- `call_ids` / `clari_call_ids` list exactly the calls that exist; after calls are deleted at the source, the next
  complete version lacks exactly them; one read costs at most ⌈calls ÷ 100⌉ + one request per 90-day window + 2.
- A read spread over runs (`max_requests_per_run`) keeps one table version and ends in one ACTIVATE_VERSION.
- The guard: a complete read listing nothing, or under half of the previous one's 100+, activates nothing.
- Any full-table stream: RECORDs carry the version; ACTIVATE_VERSION after a complete read only, never for a
  stream skipped for scope or stopped early.
"""

from __future__ import annotations

import itertools
import logging
import math
from datetime import timedelta

import pytest

from calls_sandbox import Sandbox
from tap_calls.dates import parse_datetime
from tests.harness import Run, requests_to, run_tap, run_tap_until_stopped, selecting, tap_config

IDS = ("call_ids", "clari_call_ids")
WEEK = 168


def activations(run: Run, stream: str) -> list[dict]:
    return [m for m in run.messages if m["type"] == "ACTIVATE_VERSION" and m["stream"] == stream]


def record_versions(run: Run, stream: str) -> set:
    return {m.get("version") for m in run.messages if m["type"] == "RECORD" and m["stream"] == stream}


def assert_activated_after_records(run: Run, stream: str) -> int:
    """One ACTIVATE_VERSION for `stream`, after every one of its RECORDs, all of which carry its version."""
    [activation] = activations(run, stream)
    at = run.messages.index(activation)
    records = [i for i, m in enumerate(run.messages) if m["type"] == "RECORD" and m["stream"] == stream]
    assert records and max(records) < at
    assert record_versions(run, stream) == {activation["version"]}
    return int(activation["version"])


def gong_existing(sb: Sandbox, *, include_private: bool = False, workspace_id: str | None = None) -> set[str]:
    return {
        c.id
        for c in sb.gong.calls
        if (include_private or not c.is_private) and workspace_id in (None, c.workspace_id)
    }


def clari_existing(sb: Sandbox) -> set[str]:
    return {
        c.id for c in sb.clari.index() if not c.is_private
    }  # /calls lists calls /call-details may not know


@pytest.fixture
def sb():
    with Sandbox(
        seed=11, gong_calls=900, gong_span_days=300, clari_calls=450, clari_span_days=300, gong_workspaces=2
    ) as sandbox:
        yield sandbox
        assert not sandbox.errors, sandbox.errors[:3]


def test_deleted_calls_are_exactly_the_ids_missing_from_the_next_complete_version(sb):
    config = tap_config(sb, days=320)
    catalog = selecting(config, IDS)
    first = run_tap(config, catalog=catalog)
    assert sorted(first.ids("call_ids")) == sorted(gong_existing(sb))  # each once
    assert sorted(first.ids("clari_call_ids")) == sorted(clari_existing(sb))
    versions = {stream: assert_activated_after_records(first, stream) for stream in IDS}
    assert set(first.records["call_ids"][0]) == {"id", "started", "workspace_id", "is_private"}
    assert set(first.records["clari_call_ids"][0]) == {"id", "time", "last_modified_time", "status"}

    # Cost: at most one request per 100 calls listed plus one per 90-day window (+2), windows tiling the range.
    listing = requests_to(sb, "gong", "/v2/calls")
    firsts = sorted(
        (parse_datetime(r.query["fromDateTime"][0]), parse_datetime(r.query["toDateTime"][0]))
        for r in listing
        if "cursor" not in r.query
    )
    assert all(b - a <= timedelta(days=90) for a, b in firsts)
    assert all(a2 == b1 for (_, b1), (a2, _) in itertools.pairwise(firsts))
    assert any("cursor" in r.query for r in listing)  # a GET's cursor goes in the query
    assert firsts[0][0] <= sb.now - timedelta(days=320) and firsts[-1][1] >= sb.now
    in_range = [c for c in sb.gong.calls if firsts[0][0] <= c.effective_date < firsts[-1][1]]
    assert len(listing) <= math.ceil(len(in_range) / 100) + len(firsts) + 2
    assert len(in_range) == len(sb.gong.calls)  # private ones are listed too, then left out

    gone_gong = sorted(gong_existing(sb))[::97][:8]
    gone_clari = sorted(clari_existing(sb))[::61][:5]
    assert sb.gong.delete_calls(gone_gong) == gone_gong and sb.clari.delete_calls(gone_clari) == gone_clari
    sb.clear_log()
    second = run_tap({**config, "call_ids_interval_hours": 0}, state=first.state, catalog=catalog)
    assert sorted(second.ids("call_ids")) == sorted(gong_existing(sb))
    assert set(first.ids("call_ids")) - set(second.ids("call_ids")) == set(gone_gong)
    assert set(first.ids("clari_call_ids")) - set(second.ids("clari_call_ids")) == set(gone_clari)
    assert set(second.ids("clari_call_ids")) == clari_existing(sb)
    for stream in IDS:
        assert assert_activated_after_records(second, stream) > versions[stream]
        kept = second.state["bookmarks"][stream]
        assert kept["last_complete_count"] == len(second.records[stream]) and "read" not in kept


def test_private_calls_and_one_workspace(sb):
    workspace = sb.gong.workspaces[1]["id"]
    config = tap_config(sb, "gong", days=320, include_private_calls=True, workspace_id=workspace)
    run = run_tap(config, catalog=selecting(config, {"call_ids"}))
    assert sorted(run.ids("call_ids")) == sorted(
        gong_existing(sb, include_private=True, workspace_id=workspace)
    )
    assert any(r["is_private"] for r in run.records["call_ids"])
    assert {r.query.get("workspaceId", [None])[0] for r in requests_to(sb, "gong", "/v2/calls")} == {
        workspace
    }


def test_read_in_full_at_most_once_per_interval(sb, caplog):
    config = tap_config(sb, days=320)
    catalog = selecting(config, IDS)
    first = run_tap(config, catalog=catalog)
    sb.clear_log()
    with caplog.at_level(logging.INFO):
        second = run_tap(config, state=first.state, catalog=catalog)
    assert requests_to(sb, "gong", "/v2/calls") == [] and requests_to(sb, "clari", "/calls") == []
    assert not second.records["call_ids"] and not second.records["clari_call_ids"]
    assert [m for m in second.messages if m["type"] == "ACTIVATE_VERSION"] == []
    assert second.state["bookmarks"] == first.state["bookmarks"]
    assert "less than call_ids_interval_hours=168 hours ago; nothing read" in caplog.text

    # Due again once the last complete read is a week old (minus the hour of slack).
    state = first.state
    for stream in IDS:
        stamp = parse_datetime(state["bookmarks"][stream]["last_complete_read"])
        state["bookmarks"][stream]["last_complete_read"] = (stamp - timedelta(hours=WEEK - 1)).isoformat()
    third = run_tap(config, state=state, catalog=catalog)
    for stream in IDS:
        assert_activated_after_records(third, stream)


@pytest.mark.parametrize("source", ["gong", "clari"])
def test_a_read_spread_over_runs_keeps_one_version_and_ends_in_one_activate_version(sb, source):
    stream = "call_ids" if source == "gong" else "clari_call_ids"
    config = tap_config(sb, source, days=320, max_requests_per_run=3)
    catalog = selecting(config, {stream})
    expected = gong_existing(sb) if source == "gong" else clari_existing(sb)
    state, listed, runs, version = None, set(), [], None
    while not runs or not activations(runs[-1], stream):
        assert len(runs) < 40, "the spread read never ends"
        run = run_tap(config, state=state, catalog=catalog)
        runs.append(run)
        if run.records[stream]:
            versions = record_versions(run, stream)
            assert len(versions) == 1 and None not in versions
            version = version or next(iter(versions))
            assert versions == {version}  # the same version in every run of the read
        listed |= set(run.ids(stream))
        if not activations(run, stream):
            kept = run.state["bookmarks"][stream]["read"]
            assert kept["version"] == version and kept["listed"] >= len(listed & expected) - 200
        state = run.state
    assert len(runs) >= 2
    assert all(not activations(run, stream) for run in runs[:-1])
    [activation] = activations(runs[-1], stream)
    assert activation["version"] == version
    assert listed == expected
    assert runs[-1].state["bookmarks"][stream]["last_complete_count"] >= len(expected)
    # Every run but the last moved the read on.
    progress = [r.state["bookmarks"][stream].get("read", {}).get("done_until") for r in runs[:-1]]
    assert all(p is not None for p in progress) and progress == sorted(progress)


@pytest.mark.parametrize("source", ["gong", "clari"])
def test_the_guard_refuses_a_mass_delete(sb, source, caplog):
    stream = "call_ids" if source == "gong" else "clari_call_ids"
    config = tap_config(sb, source, days=320)
    catalog = selecting(config, {stream})
    first = run_tap(config, catalog=catalog)
    before = len(first.records[stream])
    assert before >= 100
    week_ago = first.state
    stamp = parse_datetime(week_ago["bookmarks"][stream]["last_complete_read"]) - timedelta(hours=WEEK)
    week_ago["bookmarks"][stream]["last_complete_read"] = stamp.isoformat()

    existing = sorted(gong_existing(sb, include_private=True) if source == "gong" else sb.clari._by_id)
    deleting = existing[: len(existing) * 6 // 10]
    (sb.gong if source == "gong" else sb.clari).delete_calls(deleting)
    left = len(gong_existing(sb) if source == "gong" else clari_existing(sb))
    assert left < before / 2
    with caplog.at_level(logging.WARNING):
        guarded = run_tap(config, state=week_ago, catalog=catalog)
    assert len(guarded.records[stream]) == left
    assert activations(guarded, stream) == []
    warnings = [
        r.getMessage() for r in caplog.records if r.levelno == logging.WARNING and stream in r.getMessage()
    ]
    assert (
        len(warnings) == 1
        and f"listed {left} calls" in warnings[0]
        and f"previous complete read {before}" in (warnings[0])
    )
    kept = guarded.state["bookmarks"][stream]
    assert kept["last_complete_read"] == stamp.isoformat() and kept["last_complete_count"] == before
    assert "read" not in kept

    # Not a complete read: the next run reads again (with a new version), and is guarded again.
    again = run_tap(config, state=guarded.state, catalog=catalog)
    assert len(again.records[stream]) == left and activations(again, stream) == []
    assert record_versions(again, stream) != record_versions(guarded, stream)

    # A read that lists nothing (a key that lost call visibility gets the same 404 as an empty account).
    (sb.gong if source == "gong" else sb.clari).delete_calls(existing)
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        empty = run_tap(config, state=again.state, catalog=catalog)
    assert not empty.records[stream] and activations(empty, stream) == []
    assert any(
        f"listed 0 calls, the previous complete read {before}" in r.getMessage() for r in caplog.records
    )


def test_no_activate_version_for_a_stream_skipped_for_scope_one_after_a_complete_read():
    with Sandbox(
        seed=12, gong_calls=150, clari_calls=0, gong_missing_scopes={"api:settings:trackers:read"}
    ) as sb:
        config = tap_config(sb, "gong", days=400)
        run = run_tap(config, catalog=selecting(config, {"trackers", "call_outcomes", "users", "call_ids"}))
        assert not run.records["trackers"] and activations(run, "trackers") == []
        for stream in ("call_outcomes", "users", "call_ids"):
            assert_activated_after_records(run, stream)
        sb.gong_missing_scopes.add("api:calls:read:basic")
        sb.gong_missing_scopes.discard("api:settings:trackers:read")
        again = run_tap(
            {**config, "call_ids_interval_hours": 0}, state=run.state, catalog=selecting(config, {"call_ids"})
        )
        assert activations(again, "call_ids") == [] and "read" in again.state["bookmarks"]["call_ids"]


def test_no_activate_version_for_a_stream_stopped_early():
    with Sandbox(seed=13, gong_calls=150, gong_users=230, clari_calls=0) as sb:
        config = tap_config(sb, "gong", days=400)
        catalog = selecting(config, {"users", "call_ids"})
        # The request budget stops Gong before `users` (three pages) was read in full.
        cut = run_tap({**config, "max_requests_per_run": 2}, catalog=catalog)
        assert activations(cut, "users") == [] and activations(cut, "call_ids") == []
        assert len(cut.records["users"]) < 230
        # A Retry-After beyond max_retry_wait_seconds ends the run (non-zero) before the read completes.
        sb.inject("gong", "429", path="/v2/users", count=1, retry_after=5000)
        stopped, error = run_tap_until_stopped({**config, "max_retry_wait_seconds": 60}, None, catalog)
        assert error is not None and activations(stopped, "users") == []
        # A complete read still sends one.
        full = run_tap(config, catalog=catalog)
        assert len(full.records["users"]) == 230
        assert_activated_after_records(full, "users")


def test_batch_mode_writes_no_activate_version(sb, tmp_path, caplog):
    config = tap_config(
        sb,
        "gong",
        days=320,
        batch_config={
            "encoding": {"format": "jsonl", "compression": "none"},
            "storage": {"root": f"file://{tmp_path}"},
        },
    )
    with caplog.at_level(logging.WARNING):
        run = run_tap(config, catalog=selecting(config, {"users", "call_ids"}))
    assert [m for m in run.messages if m["type"] == "ACTIVATE_VERSION"] == []
    assert [m["stream"] for m in run.messages if m["type"] == "BATCH"]
    assert "call_ids: no ACTIVATE_VERSION in BATCH mode" in caplog.text


def test_emit_activate_version_messages_false_turns_versions_off(sb):
    config = tap_config(sb, "gong", days=320, emit_activate_version_messages=False)
    run = run_tap(config, catalog=selecting(config, {"users", "call_ids"}))
    assert [m for m in run.messages if m["type"] == "ACTIVATE_VERSION"] == []
    assert record_versions(run, "users") == {None} and record_versions(run, "call_ids") == {None}
    assert run.state["bookmarks"]["call_ids"]["last_complete_count"] == len(gong_existing(sb))


def test_clari_call_ids_split_listings_past_skips_reach():
    """Clari's skip stops at 10,000: a listing matching more is read as two halves by modification time
    (clari.Listing.halves), every call once."""
    with Sandbox(seed=8, gong_calls=0, clari_calls=10_800, clari_span_days=200) as sb:
        config = tap_config(sb, "clari", days=220)
        run = run_tap(config, catalog=selecting(config, {"clari_call_ids"}))
        expected = clari_existing(sb)
        assert len(expected) > 10_100
        assert sorted(run.ids("clari_call_ids")) == sorted(expected)
        listing = requests_to(sb, "clari", "/calls")
        assert all(int(r.query["skip"][0]) <= 10_000 and r.status == 200 for r in listing)
        assert len({r.query["filterModifiedGt"][0] for r in listing}) >= 2  # split
        # The unavoidable pages, the too-large listing's first page, a partial last page per half.
        assert len(listing) <= math.ceil(len(expected) / 100) + 3
        assert_activated_after_records(run, "clari_call_ids")
