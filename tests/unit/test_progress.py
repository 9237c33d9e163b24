"""Unit tests of tap_calls/progress.py: finished windows in STATE, gaps, the watermark, the progress lines."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

from tap_calls.dates import iso
from tap_calls.progress import MAX_FINISHED_RANGES, FinishedWindows, ProgressMeter, Watermark, _duration, gaps
from tap_calls.scheduler import RateLimiter
from tap_calls.windows import Window

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def day(n: float) -> datetime:
    return T0 + timedelta(days=n)


def w(a: float, b: float) -> Window:
    return Window(day(a), day(b))


def newest(n: float) -> tuple[datetime, str]:
    return (day(n), iso(day(n)))


def test_finished_windows_merge_adjacent_and_overlapping_ranges_keeping_the_newest_value():
    finished = FinishedWindows()
    finished.add(w(5, 6), newest(5.5))
    finished.add(w(1, 2), None)
    finished.add(w(2, 3), newest(2.5))
    finished.add(w(5.5, 7), newest(6.5))
    assert finished.ranges == [(w(1, 3), newest(2.5)), (w(5, 7), newest(6.5))]


def test_finished_windows_round_trip_through_state_and_ignore_what_they_cannot_read():
    finished = FinishedWindows()
    finished.add(w(1, 3), newest(2))
    finished.add(w(4, 5), None)
    state = finished.to_state()
    assert state == [[iso(day(1)), iso(day(3)), iso(day(2))], [iso(day(4)), iso(day(5)), None]]
    assert FinishedWindows.from_state(state).ranges == finished.ranges
    junk = [*state, ["not a date", iso(day(9)), None], [iso(day(9))], "x", [iso(day(9)), iso(day(8)), None]]
    assert FinishedWindows.from_state(junk).ranges == finished.ranges
    assert FinishedWindows.from_state(None).ranges == []
    assert FinishedWindows.from_state({"a": 1}).ranges == []


def test_state_keeps_at_most_the_earliest_ranges():
    finished = FinishedWindows()
    for n in range(MAX_FINISHED_RANGES + 5):
        finished.add(w(2 * n, 2 * n + 1), None)
    state = finished.to_state()
    assert len(state) == MAX_FINISHED_RANGES
    assert state[0][0] == iso(day(0))


def test_finished_windows_clipped_to_a_range_drop_a_newest_value_outside_it():
    finished = FinishedWindows()
    finished.add(w(1, 3), newest(1.5))
    finished.add(w(4, 6), newest(5.5))
    assert finished.within(w(2, 5)) == [(w(2, 3), None), (w(4, 5), None)]
    assert finished.within(w(0, 10)) == finished.ranges
    assert finished.within(w(7, 8)) == []


def test_gaps_are_the_range_less_the_finished_windows():
    assert gaps(w(0, 10), []) == [w(0, 10)]
    assert gaps(w(0, 10), [w(2, 3), w(5, 7)]) == [w(0, 2), w(3, 5), w(7, 10)]
    assert gaps(w(0, 10), [w(-1, 2), w(9, 12)]) == [w(2, 9)]
    assert gaps(w(0, 10), [w(0, 10)]) == []
    assert gaps(w(0, 10), [w(3, 5), w(4, 6)]) == [w(0, 3), w(6, 10)]


def test_the_watermark_folds_windows_finished_by_an_earlier_run_once_the_gap_before_them_finishes():
    mark = Watermark(day(0))
    mark.finished_before(w(2, 4), newest(3.5))
    mark.add(w(0, 2))
    mark.add(w(4, 6))
    assert mark.bookmark is None
    assert mark.beyond().ranges == [(w(2, 4), newest(3.5))]
    assert not mark.finish(w(4, 6), newest(5))  # past the watermark: kept as finished, no bookmark yet
    assert mark.bookmark is None
    assert mark.beyond().ranges == [(w(2, 6), newest(5))]
    assert mark.finish(w(0, 2), newest(1))
    assert mark.bookmark == newest(5)
    assert mark.done
    assert mark.beyond().ranges == []


def test_the_watermark_never_moves_a_bookmark_past_its_window_or_back():
    mark = Watermark(day(0))
    mark.add(w(0, 1))
    mark.add(w(1, 2))
    mark.finish(w(0, 1), newest(3))  # filed under an earlier time than it carries
    assert mark.bookmark == (day(1), iso(day(1)))
    assert not mark.finish(w(1, 2), None)  # an empty window: the bookmark stays
    assert mark.bookmark == (day(1), iso(day(1)))


def test_with_every_window_finished_before_the_run_only_settles():
    mark = Watermark(day(0))
    mark.finished_before(w(0, 3), newest(2))
    assert mark.settle()
    assert mark.bookmark == newest(2)
    assert mark.done


def test_progress_lines_name_the_plan_and_the_pace(caplog):
    limiter = RateLimiter(3, quota=10_000, quota_period="day", max_requests=100)
    meter = ProgressMeter(logging.getLogger("test"), "calls", limiter, every=0)
    with caplog.at_level(logging.INFO, logger="test"):
        meter.plan(w(0, 30), 3000, 60, 100)
        meter.plan(w(40, 50), 1000, 20, None)
        meter.tick(1000)
    lines = [r.getMessage() for r in caplog.records]
    assert "3000 calls, about 60 requests; at max_requests_per_run=100: about 1 runs" in lines[0]
    assert lines[1].endswith("holds 1000 calls, about 20 requests")
    assert "1000 of 4000 calls, 0 requests (0.0 % of the 10,000/day quota)" in lines[2]
    assert "left at the current pace" in lines[2]


def test_durations_read_as_a_person_would():
    assert _duration(45) == "45 s"
    assert _duration(720) == "12 min"
    assert _duration(3.5 * 3600) == "3.5 h"
