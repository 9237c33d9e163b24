"""Unit tests of the run loop shared by `calls` and `clari_calls` (tap_calls/windowed.py, `WindowedRun`): typed
task results handled as they complete, a commit per finished window, and what a stop keeps. No HTTP: the
tasks are plain functions on the source's real scheduler."""

from __future__ import annotations

import json
import threading
import typing as t
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest

from tap_calls.dates import iso
from tap_calls.errors import RequestBudgetSpent
from tap_calls.tap import TapCalls
from tap_calls.windowed import WindowedRun, WindowedStream
from tap_calls.windows import ReadPlan, Window

if t.TYPE_CHECKING:
    from collections.abc import Iterator

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def day(n: float) -> datetime:
    return T0 + timedelta(days=n)


@dataclass(frozen=True)
class Fetch:
    """A task's key: the records of one window."""

    window: Window


class DaysRun(WindowedRun):
    """A run whose windows each hold one record at their middle; `gate` orders the tasks' completion."""

    def __init__(
        self, stream: WindowedStream, plan: ReadPlan, order: list[int], *, budget: int | None = None
    ):
        super().__init__(stream, plan)
        self.order = order
        self.turn = 0
        self.cond = threading.Condition()
        self.handled: list[Window] = []
        self.budget = budget
        self.opened = 0

    def fetch(self, index: int, window: Window) -> dict[str, t.Any]:
        with self.cond:  # complete in `order`, whatever the workers' timing
            self.cond.wait_for(lambda: self.order[self.turn] == index, timeout=5)
            self.turn += 1
            self.cond.notify_all()
        middle = window.start + (window.end - window.start) / 2
        return {"id": f"call-{index}", "started": iso(middle)}

    def advance(self) -> None:
        while self.opened < len(self.gaps) and (self.budget is None or self.opened < self.budget):
            window = self.gaps[self.opened]
            self.group.submit(Fetch(window), self.fetch, self.opened, window)
            self.opened += 1

    def on_result(self, task: Fetch, result: dict[str, t.Any]) -> Iterator[dict[str, t.Any]]:
        self.handled.append(task.window)
        yield self.emitted(task.window, result)
        self.finish_window(task.window)

    def stop_unfinished(self) -> None:
        if not self.watermark.done:
            raise RequestBudgetSpent(self.budget or 0)


@pytest.fixture
def stream(capsys: pytest.CaptureFixture[str]) -> Iterator[WindowedStream]:
    config = {"access_key": "k", "access_key_secret": "s", "start_date": iso(day(0)), "end_date": iso(day(3))}
    tap = TapCalls(config=config, validate_config=False)
    calls = t.cast("WindowedStream", tap.streams["calls"])
    for child in calls.child_streams:
        child.selected = False
    yield calls
    calls.scheduler.shutdown()


def states(out: str) -> list[dict[str, t.Any]]:
    return [m["value"] for line in out.splitlines() if (m := json.loads(line))["type"] == "STATE"]


def plan(days: int) -> ReadPlan:
    return ReadPlan(day(0), day(days), full_lookback=True, first_run=True)


def test_results_are_handled_as_they_complete_and_the_bookmark_follows_the_watermark(stream, capsys):
    run = DaysRun(stream, plan(1), order=[2, 0, 1])
    run.gaps = [Window(day(0), day(0.25)), Window(day(0.25), day(0.5)), Window(day(0.5), day(1))]
    records = list(run.records())
    assert [r["id"] for r in records] == ["call-2", "call-0", "call-1"]
    assert run.handled == [run.gaps[2], run.gaps[0], run.gaps[1]]
    bookmarks = [s["bookmarks"]["calls"] for s in states(capsys.readouterr().out)]
    # The last window first: no bookmark, the window kept as finished; then the first; then all of them.
    assert "replication_key_value" not in bookmarks[0] and bookmarks[0]["finished_windows"]
    assert bookmarks[1]["replication_key_value"] == iso(day(0.125))
    assert (
        bookmarks[-1]["replication_key_value"] == iso(day(0.75)) and bookmarks[-1]["finished_windows"] == []
    )


def test_a_budget_stop_keeps_the_windows_finished_past_the_watermark(stream, capsys):
    run = DaysRun(stream, plan(1), order=[1, 0], budget=2)
    run.gaps = [Window(day(0), day(0.25)), Window(day(0.25), day(0.5)), Window(day(0.5), day(1))]
    with pytest.raises(RequestBudgetSpent):
        list(run.records())
    last = states(capsys.readouterr().out)[-1]["bookmarks"]["calls"]
    assert last["replication_key_value"] == iso(day(0.375))
    assert last["finished_windows"] == []  # both finished windows are behind the bookmark now
    assert stream.finished_windows(plan(1)).ranges == []
    assert run.watermark.bookmark == (day(0.375), iso(day(0.375)))
