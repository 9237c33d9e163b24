"""Progress that survives every stop: the bookmark watermark and the finished windows kept in STATE.

A windowed stream (`calls` with its children, `clari_calls`) reads its range as disjoint windows that
finish in any order. Its bookmark may only move over windows finished contiguously from the start (the
watermark), so a run stopped at any moment restarts before every record it did not emit. The windows that
finished past the watermark are progress too (interface.md, "Third release", "Progress that survives every
stop"): they are kept in STATE as merged ranges, and a later run reads only what none of them covers.

- `Watermark`: the windows of one run, open or finished, and the bookmark their finished prefix allows.
- `FinishedWindows`: finished ranges with the newest replication value each emitted, as kept in STATE.
- `gaps`: a range less the finished ranges: what a run still has to read.
"""

from __future__ import annotations

import logging
import time
import typing as t
from dataclasses import dataclass, field

from tap_calls.bookmarks import MAX_FINISHED_RANGES, uncovered
from tap_calls.dates import iso, parse_datetime
from tap_calls.windows import Window

if t.TYPE_CHECKING:
    from collections.abc import Iterable
    from datetime import datetime

    from tap_calls.scheduler import RateLimiter

# (instant, the replication value as the API wrote it) of the newest record a window emitted.
Newest = tuple["datetime", str]


def _later(a: Newest | None, b: Newest | None) -> Newest | None:
    if a is None:
        return b
    if b is None:
        return a
    return a if a[0] >= b[0] else b


@dataclass
class FinishedWindows:
    """Finished, disjoint ranges [start, end) and the newest replication value each emitted (or None).

    In STATE as `[[start, end, newest value or null], ...]` (RFC 3339 strings), earliest first, adjacent
    ranges merged.
    """

    ranges: list[tuple[Window, Newest | None]] = field(default_factory=list)

    def add(self, window: Window, newest: Newest | None) -> None:
        """`window` finished, its newest value `newest`; merged with the ranges it touches."""
        self.ranges.append((window, newest))
        self.ranges.sort(key=lambda r: r[0])
        merged: list[tuple[Window, Newest | None]] = []
        for rng, value in self.ranges:
            if merged and rng.start <= merged[-1][0].end:
                last, last_value = merged[-1]
                merged[-1] = (Window(last.start, max(last.end, rng.end)), _later(last_value, value))
            else:
                merged.append((rng, value))
        self.ranges = merged

    def to_state(self) -> list[list[str | None]]:
        """The ranges for STATE, at most `MAX_FINISHED_RANGES` (the earliest)."""
        return [
            [iso(w.start), iso(w.end), newest[1] if newest else None]
            for w, newest in self.ranges[:MAX_FINISHED_RANGES]
        ]

    @classmethod
    def from_state(cls, value: t.Any) -> FinishedWindows:
        """The ranges a STATE holds; entries that are not `[start, end, newest|null]` are ignored (they are
        then read again: never a record lost)."""
        finished = cls()
        for entry in value if isinstance(value, list) else ():
            try:
                start, end, newest = entry
                window = Window(parse_datetime(start), parse_datetime(end))
                value_at = (parse_datetime(newest), str(newest)) if newest else None
            except (TypeError, ValueError):
                continue
            if window.start < window.end:
                finished.add(window, value_at)
        return finished

    def within(self, window: Window) -> list[tuple[Window, Newest | None]]:
        """The ranges clipped to `window` (a newest value outside the clipped range is dropped)."""
        clipped = []
        for rng, newest in self.ranges:
            part = Window(max(rng.start, window.start), min(rng.end, window.end))
            if part.start < part.end:
                inside = newest is not None and part.start <= newest[0] < part.end
                clipped.append((part, newest if inside else None))
        return clipped


def gaps(window: Window, finished: Iterable[Window]) -> list[Window]:
    """`window` less the `finished` ranges: the parts still to read, earliest first."""
    return [Window(a, b) for a, b in uncovered(window.start, window.end, finished)]


@dataclass
class Watermark:
    """The windows of one run, tiling [start, end), that finish in any order.

    `bookmark` is the newest replication value among the windows finished contiguously from the start, never
    later than the end of that run; `beyond` are the windows finished past it (kept in STATE). Windows
    finished in an earlier run enter through `finished_before`.
    """

    start: datetime
    _open: list[Window] = field(default_factory=list)
    _done: dict[Window, Newest | None] = field(default_factory=dict)
    bookmark: Newest | None = None

    def add(self, window: Window) -> None:
        """A window that will be read (windows may be added in any order, but must not overlap)."""
        self._open.append(window)
        self._open.sort()

    def replace(self, window: Window, parts: list[Window]) -> None:
        """`window` will be read as `parts` instead (they tile it)."""
        self.remove(window)
        for part in parts:
            self.add(part)

    def remove(self, window: Window) -> None:
        """`window` will not be read as such: its parts are added instead (before any of them finishes)."""
        self._open.remove(window)

    def finished_before(self, window: Window, newest: Newest | None) -> None:
        """`window` was finished by an earlier run (FinishedWindows): it needs no reading."""
        self._done[window] = newest

    def finish(self, window: Window, newest: Newest | None) -> bool:
        """`window` and everything it feeds were emitted; True when the watermark moved."""
        self._open.remove(window)
        self._done[window] = newest
        return self.settle()

    def settle(self) -> bool:
        """Fold the finished windows below the mark into the bookmark; True when the bookmark moved."""
        before = self.bookmark
        mark = self.mark
        for done in sorted(w for w in self._done if mark is None or w.end <= mark):
            value = self._done.pop(done)
            if value is not None and value[0] > done.end:  # filed under an earlier time than it carries
                value = (done.end, iso(done.end))
            self.bookmark = _later(self.bookmark, value)
        return self.bookmark != before

    @property
    def mark(self) -> datetime | None:
        """Everything before this instant is finished (None: everything added is finished)."""
        return self._open[0].start if self._open else None

    @property
    def done(self) -> bool:
        """Every window added has finished."""
        return not self._open

    def beyond(self) -> FinishedWindows:
        """The windows finished past the watermark, merged (what STATE keeps besides the bookmark)."""
        finished = FinishedWindows()
        for window, newest in self._done.items():
            finished.add(window, newest)
        return finished


class ProgressMeter:
    """The plan and progress lines of one windowed stream's run (INFO), for a data engineer watching a long
    `meltano run`: once a range's size is known, the calls it holds, the requests they take and, with
    `max_requests_per_run`, the runs; then at most every `every` seconds, calls done of total, requests sent,
    the quota share and the time left at the current pace."""

    def __init__(self, logger: logging.Logger, name: str, limiter: RateLimiter, every: float = 30.0) -> None:
        self.logger, self.name, self.limiter, self.every = logger, name, limiter, every
        self.total = 0
        self.started = time.monotonic()
        self.last = self.started

    def plan(self, window: Window, calls: int, requests: int, budget: int | None) -> None:
        """`window` (a range this run reads) holds `calls` calls, about `requests` requests to read."""
        self.total += calls
        runs = f"; at max_requests_per_run={budget}: about {-(-requests // budget)} runs" if budget else ""
        self.logger.info(
            "%s: plan: %s holds %d calls, about %d requests%s", self.name, window, calls, requests, runs
        )

    def tick(self, done: int) -> None:
        """`done` calls emitted so far: a progress line when the last one is `every` seconds old."""
        now = time.monotonic()
        if now - self.last < self.every or not self.total:
            return
        self.last = now
        pace = done / (now - self.started)
        left = f"about {_duration((self.total - done) / pace)} left" if pace > 0 else "time left unknown"
        self.logger.info(
            "%s: progress: %d of %d calls, %s; %s at the current pace",
            self.name,
            min(done, self.total),
            self.total,
            self.limiter.usage(),
            left,
        )


def _duration(seconds: float) -> str:
    """`seconds` for a log line: `45 s`, `12 min`, `3.5 h`."""
    if seconds < 120:
        return f"{max(0, seconds):.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"
