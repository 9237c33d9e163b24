"""The bookmark rules (tap_calls.bookmarks), without HTTP: reading a bookmark, advancing it never backwards,
the finished windows and days kept in STATE, the periodic full-read stamps, and the one per-record no-op."""

from __future__ import annotations

import inspect
from datetime import UTC, date, datetime, timedelta
from types import SimpleNamespace

import pytest

import tap_calls
from tap_calls import bookmarks as bm
from tap_calls.bookmarks import DayRange, FinishedDays
from tap_calls.tap import TapCalls

NOW = datetime(2026, 3, 20, 15, 0, tzinfo=UTC)


def fake(key: str = "date", **state) -> SimpleNamespace:
    """What the rules use of a stream: its replication key, its STATE and whether that needs writing."""
    return SimpleNamespace(
        replication_key=key, stream_state=dict(state), state_manager=SimpleNamespace(is_flushed=True)
    )


def days(a: int, b: int) -> DayRange:
    return DayRange(date(2026, 3, a), date(2026, 3, b))


# --------------------------------------------------------------------------------------------- bookmark
def test_a_bookmark_is_read_only_for_the_streams_replication_key():
    s = fake("started", replication_key="started", replication_key_value="2026-03-10T08:00:00Z")
    assert bm.bookmark_of(s) == datetime(2026, 3, 10, 8, tzinfo=UTC)
    assert (
        bm.bookmark_of(fake("started", replication_key="other", replication_key_value="2026-03-10")) is None
    )
    assert bm.bookmark_of(fake("started")) is None
    d = fake("date", replication_key="date", replication_key_value="2026-03-10")
    assert bm.bookmark_day(d) == date(2026, 3, 10)
    assert bm.bookmark_day(fake("date", replication_key="date", replication_key_value="yesterday")) is None
    assert (
        bm.bookmark_day(fake("review_time", replication_key="date", replication_key_value="2026-03-10"))
        is None
    )


def test_a_bookmark_advances_never_backwards_and_drops_the_sdks_progress_markers():
    s = fake("started", replication_key="started", replication_key_value="2026-03-10T08:00:00Z")
    assert not bm.advance_bookmark(s, datetime(2026, 3, 9, tzinfo=UTC), "2026-03-09T00:00:00Z")
    assert not bm.advance_bookmark(s, datetime(2026, 3, 10, 8, tzinfo=UTC), "2026-03-10T08:00:00Z")
    assert s.state_manager.is_flushed
    s.stream_state["progress_markers"] = {"x": 1}
    assert bm.advance_bookmark(s, datetime(2026, 3, 11, tzinfo=UTC), "2026-03-11T00:00:00.5Z")
    assert s.stream_state == {"replication_key": "started", "replication_key_value": "2026-03-11T00:00:00.5Z"}
    assert not s.state_manager.is_flushed
    first = fake("date")
    assert bm.advance_bookmark_day(first, date(2026, 3, 5))  # no bookmark yet
    assert not bm.advance_bookmark_day(first, date(2026, 3, 4))
    assert bm.advance_bookmark_day(first, date(2026, 3, 6))
    assert first.stream_state == {"replication_key": "date", "replication_key_value": "2026-03-06"}


def test_kept_keys_mark_the_state_for_writing_only_when_they_change():
    s = fake(lookback_summary={"v": 2})
    assert not bm.keep(s, {"lookback_summary": {"v": 2}})
    assert s.state_manager.is_flushed
    assert bm.keep(s, {"lookback_summary": {"v": 2}, "finished_windows": []})
    assert s.stream_state["finished_windows"] == [] and not s.state_manager.is_flushed


# ------------------------------------------------------------------------------------- finished windows
def test_finished_windows_count_only_for_the_streams_they_were_read_for():
    state = bm.finished_windows_extra([["a", "b", None]], ["transcripts", "calls", "parties"])
    assert state == {
        "finished_windows": [["a", "b", None]],
        "finished_for": ["calls", "parties", "transcripts"],
    }
    assert bm.finished_windows_state(state, {"calls", "parties"}) == [["a", "b", None]]
    # transcript_sentences selected since: the windows are read again for it.
    assert bm.finished_windows_state(state, {"calls", "transcript_sentences"}) is None
    assert bm.finished_windows_state({"finished_windows": [["a", "b", None]]}, {"calls"}) is None
    assert bm.finished_windows_state({"finished_for": "calls", "finished_windows": []}, {"calls"}) is None


def test_finished_days_merge_clip_and_leave_gaps():
    finished = FinishedDays()
    for rng in (days(12, 13), days(5, 7), days(7, 9), days(10, 12), days(6, 8), days(20, 20)):
        finished.add(rng)
    assert finished.ranges == [days(5, 9), days(10, 13)]  # adjacent merge, overlapping merge, empty dropped
    assert finished.within(days(6, 11)).ranges == [days(6, 9), days(10, 11)]
    assert finished.gaps(days(1, 20)) == [days(1, 5), days(9, 10), days(13, 20)]
    assert finished.gaps(days(5, 9)) == []
    assert finished.gaps(days(8, 11)) == [days(9, 10)]
    assert finished.finished_from(date(2026, 3, 6)) == date(2026, 3, 9)
    assert finished.finished_from(date(2026, 3, 9)) is None


def test_finished_days_round_trip_through_state_and_ignore_what_they_cannot_read():
    finished = FinishedDays([days(5, 9), days(10, 13)])
    assert finished.to_state() == [["2026-03-05", "2026-03-09"], ["2026-03-10", "2026-03-13"]]
    assert FinishedDays.from_state(finished.to_state()) == finished
    odd = [["2026-03-05", "2026-03-09"], ["2026-03-01"], "x", [1, 2], ["2026-03-09", "2026-03-10", "extra"]]
    assert FinishedDays.from_state(odd).ranges == [days(5, 9)]
    assert FinishedDays.from_state(None) == FinishedDays() == FinishedDays.from_state({"a": 1})
    many = FinishedDays()
    for n in range(bm.MAX_FINISHED_RANGES + 5):
        start = date(2025, 1, 1) + timedelta(days=2 * n)
        many.add(DayRange(start, start + timedelta(days=1)))
    kept = many.to_state()
    assert len(kept) == bm.MAX_FINISHED_RANGES and kept[0] == ["2025-01-01", "2025-01-02"]  # the earliest


@pytest.mark.parametrize(
    ("finished", "first", "bookmark", "today", "expected"),
    [
        # Contiguous from the first day: the bookmark moves to the last finished day; nothing else kept.
        ([days(3, 10)], 3, 4, 20, (9, [])),
        # ... never past yesterday (today's records are still coming), and today is not kept.
        ([days(3, 25)], 3, 4, 20, (19, [])),
        # ... never back (a look-back re-read).
        ([days(3, 6)], 3, 9, 20, (9, [])),
        # The first day unfinished: the bookmark stays, the days past it are kept.
        ([days(4, 6), days(11, 13)], 3, 8, 20, (8, [days(11, 13)])),
        # No bookmark yet (a first run stopped): every finished day before today is kept.
        ([days(5, 7), days(18, 22)], 3, None, 20, (None, [days(5, 7), days(18, 20)])),
        # The run past the bookmark swallows finished days behind it.
        ([days(3, 12), days(13, 15)], 3, 4, 20, (11, [days(13, 15)])),
    ],
)
def test_finished_days_settle_into_a_bookmark_and_what_is_kept_past_it(
    finished, first, bookmark, today, expected
):
    day = lambda n: None if n is None else date(2026, 3, n)  # noqa: E731
    moved, kept = FinishedDays(list(finished)).settle(day(first), day(bookmark), day(today))
    assert (moved, kept.ranges) == (day(expected[0]), expected[1])


# ---------------------------------------------------------------------------------- periodic full read
@pytest.mark.parametrize(
    ("last", "interval", "due"),
    [
        (None, 24, True),
        ("not a time", 24, True),
        ((NOW - timedelta(minutes=1)).isoformat(), 0, True),  # 0: every run
        ((NOW - timedelta(hours=22)).isoformat(), 24, False),
        ((NOW - timedelta(hours=23)).isoformat(), 24, True),  # an hour of slack for a daily pipeline's drift
        ("2026-03-19T16:00:00Z", 24, True),
    ],
)
def test_a_full_read_is_due_once_per_interval(last, interval, due):
    assert bm.full_read_due(last, NOW, interval) is due


def test_each_stamp_keeps_the_key_and_format_its_stream_always_wrote():
    expected = {
        bm.FULL_LOOKBACK_AT: ("full_lookback_at", "2026-03-20T15:00:00Z"),
        bm.DAY_FULL_LOOKBACK_AT: ("full_lookback_at", "2026-03-20T15:00:00.250000+00:00"),
        bm.FOLDER_CALLS_LAST_FULL_READ: ("last_full_read", "2026-03-20T15:00:00.250000+00:00"),
        bm.SCORECARDS_LAST_FULL_READ: ("last_full_read", "2026-03-20T15:00:00Z"),
        bm.LAST_COMPLETE_READ: ("last_complete_read", "2026-03-20T15:00:00Z"),
    }
    started = NOW.replace(microsecond=250000)
    for stamp, (key, value) in expected.items():
        s = fake()
        assert stamp.due(s.stream_state, NOW, 24)
        stamp.stamp(s, started)
        assert s.stream_state == {key: value} and not s.state_manager.is_flushed
        assert stamp.last(s.stream_state) == value
        assert not stamp.due(s.stream_state, NOW + timedelta(hours=1), 24)


# ------------------------------------------------------------------------------ the per-record no-op
def test_the_sdks_per_record_bookmark_is_overridden_once_for_every_stream_a_run_bookmarks():
    tap = TapCalls(
        config={
            "access_key": "k",
            "access_key_secret": "s",
            "api_url": "http://127.0.0.1:9",
            "clari_api_key": "k",
            "clari_api_password": "p",
        },
        parse_env_config=False,
    )
    run_bookmarked = {
        "calls",
        "parties",
        "transcripts",
        "transcript_sentences",
        "clari_calls",
        "clari_transcript_lines",
        "answered_scorecards",
        "user_daily_activity",
        "interaction_stats",
    }
    for name in run_bookmarked:
        stream = tap.streams[name]
        assert isinstance(stream, bm.BookmarkedByRun), name
        before = dict(stream.stream_state)
        stream._increment_stream_state({stream.replication_key: "2030-01-01T00:00:00Z"}, context=None)
        assert stream.stream_state == before, name
    # Every other incremental stream keeps the SDK's own rule.
    others = [s for n, s in tap.streams.items() if n not in run_bookmarked and s.replication_key]
    assert not any(isinstance(s, bm.BookmarkedByRun) for s in others)
    # One override in the whole package: BookmarkedByRun's.
    overriding = [
        cls.__qualname__
        for module in _modules()
        for _, cls in inspect.getmembers(module, inspect.isclass)
        if cls.__module__ == module.__name__ and "_increment_stream_state" in cls.__dict__
    ]
    assert overriding == ["BookmarkedByRun"]


def _modules() -> list:
    import importlib
    import pkgutil

    return [
        importlib.import_module(f"tap_calls.{info.name}")
        for info in pkgutil.iter_modules(tap_calls.__path__)
        if not info.ispkg and info.name != "__main__"
    ]
