"""Incremental streams read as date windows that finish in any order: `calls` and `clari_calls`.

`WindowedStream` is what such a stream shares: this run's plan (backfill, full look-back or short overlap,
`windows.plan_read`), the "nothing to read" warning, and `commit`, which applies the bookmark rules
(bookmarks.py: bookmarks that never move per record nor back, the finished windows, the full look-back
stamp) and writes STATE. `WindowedRun` is one run's bookkeeping: the watermark,
the newest replication value each window emitted (taken from the records themselves, so a new windowed stream
cannot forget it), the look-back summary and the `full_lookback_at` stamp.

A stream subclass says how to read (its run's `records()`); the bookmark rules live in bookmarks.py.
"""

from __future__ import annotations

import typing as t
from datetime import datetime, timedelta

from typing_extensions import override

from tap_calls.bookmarks import (
    FULL_LOOKBACK_AT,
    BookmarkedByRun,
    advance_bookmark,
    bookmark_of,
    finished_windows_extra,
    finished_windows_state,
    keep,
)
from tap_calls.client import SourceStream
from tap_calls.dates import iso, parse_datetime, utc_now
from tap_calls.errors import RequestBudgetSpent
from tap_calls.progress import FinishedWindows, ProgressMeter, Watermark, gaps
from tap_calls.windows import EmittedSummary, ReadPlan, Window, plan_read

if t.TYPE_CHECKING:
    from collections.abc import Iterator

    from singer_sdk import Tap
    from singer_sdk.helpers.types import Context

    from tap_calls.scheduler import TaskGroup


class WindowedStream(BookmarkedByRun, SourceStream):
    """A stream whose bookmark follows a watermark over windows, committed by its run (`start_run`).

    Subclasses set `replication_key` and implement `start_run(plan) -> WindowedRun`; `bookmark_streams`
    names the streams whose bookmarks the run moves (this one, plus children for Gong's `calls`).
    """

    # STATE characters the look-back summary may take (interface.md: STATE stays small).
    summary_budget: t.ClassVar[int] = 40_000

    def __init__(self, tap: Tap, **kwargs: t.Any) -> None:
        super().__init__(tap, **kwargs)
        self.run_started_at = utc_now()
        # BATCH mode: the newest commit, applied once the run emitted its last record (see `commit`).
        self._held_commit: tuple[tuple[datetime, str] | None, dict[str, t.Any]] | None = None

    @property
    def bookmark_streams(self) -> list[SourceStream]:
        """The streams whose bookmarks this stream's windows move."""
        return [self]

    # `stream`'s bookmark as an instant (bookmarks.bookmark_of).
    bookmark_of = staticmethod(bookmark_of)

    def plan(self) -> ReadPlan:
        """This run's range: a backfill, a full look-back or a short overlap (windows.plan_read)."""
        config = self.config
        start_date = parse_datetime(config["start_date"]) if config.get("start_date") else None
        end = parse_datetime(config["end_date"]) if config.get("end_date") else self.run_started_at
        selected = [s for s in self.bookmark_streams if s.selected] or [self]
        return plan_read(
            start_date=start_date or self.run_started_at - timedelta(days=365),
            end=end,
            bookmarks=[self.bookmark_of(s) for s in selected],
            lookback=timedelta(days=float(config["lookback_days"])),
            interval_hours=float(config.get("lookback_interval_hours", 24)),
            last_full_lookback=FULL_LOOKBACK_AT.last(self.stream_state),
            now=self.run_started_at,
        )

    def start_run(self, plan: ReadPlan) -> WindowedRun:
        """The run that reads `plan` (a subclass's)."""
        raise NotImplementedError

    def finished_windows(self, plan: ReadPlan) -> FinishedWindows:
        """The windows earlier runs finished within `plan`'s range (kept in STATE by `WindowedRun.commit`).

        They count only for the streams they were finished for: a stream selected since then (a new child)
        needs them read again.
        """
        wanted = {s.name for s in self.bookmark_streams if s.selected} or {self.name}
        finished = FinishedWindows.from_state(finished_windows_state(self.stream_state, wanted))
        return FinishedWindows(finished.within(plan.window))

    @override
    def read_records(self, context: Context | None) -> Iterator[dict[str, t.Any]]:
        plan = self.plan()
        if plan.start >= plan.end:
            self.logger.warning(
                "%s: nothing to read: the range starts at %s, not before its end %s",
                self.name,
                iso(plan.start),
                iso(plan.end),
            )
            return
        kind = "backfill" if plan.first_run else "full look-back" if plan.full_lookback else "short overlap"
        run = self.start_run(plan)
        if run.finished_before:
            self.logger.info(
                "%s: reading %s (%s); %d windows finished by earlier runs are not read again",
                self.name,
                plan.window,
                kind,
                len(run.finished_before),
            )
        else:
            self.logger.info("%s: reading %s (%s)", self.name, plan.window, kind)
        try:
            yield from run.records()
        finally:
            run.close()
        if self._held_commit is not None:
            # Every record is in the SDK's batcher now; its BATCH message, then its STATE, follow.
            self._apply_commit(*self._held_commit)
            self._held_commit = None
        for stream in self.bookmark_streams:
            if stream.selected:
                stream.log_summary()

    def commit(self, bookmark: tuple[datetime, str] | None, extra: dict[str, t.Any]) -> None:
        """Move the bookmarks of the selected `bookmark_streams` to `bookmark` (never back), keep `extra`
        in this stream's state, and write a STATE message.

        `bookmark` is (instant, the replication value as the API wrote it).
        """
        if self.get_batch_config(self.config):
            # In BATCH mode records wait in an open batch file until the SDK flushes it, and every STATE
            # (the child streams write one after each of their syncs) carries the whole tap's state: a
            # bookmark set now would run ahead of records not yet in a BATCH message. It is held until the
            # run emitted its last record (read_records), and the SDK's own STATE then carries it.
            self._held_commit = (bookmark, extra)
            return
        self._apply_commit(bookmark, extra)
        # private SDK API, guarded by tests/unit/test_sdk_private_names.py.
        self._write_state_message()

    def _apply_commit(self, bookmark: tuple[datetime, str] | None, extra: dict[str, t.Any]) -> None:
        """Set `bookmark` (never back) and `extra` in the streams' state, without writing it."""
        if bookmark is not None:
            for stream in self.bookmark_streams:
                if stream.selected:
                    advance_bookmark(stream, *bookmark)
        keep(self, extra)


class WindowedRun:
    """One run of a `WindowedStream`: its task group, watermark, look-back summary and commits.

    A subclass reads windows (`open_window`), passes every record it yields through `emitted` and calls
    `finish_window` once a window and everything it feeds were emitted: the bookmark then moves to the
    watermark and a STATE is written.
    """

    def __init__(self, stream: WindowedStream, plan: ReadPlan) -> None:
        self.stream = stream
        self.plan = plan
        self.group: TaskGroup[t.Any] = stream.scheduler.group()
        self.watermark = Watermark(plan.start)
        # What earlier runs finished needs no reading; `gaps` is the rest, earliest first.
        self.finished_before = stream.finished_windows(plan).ranges
        for window, newest in self.finished_before:
            self.watermark.finished_before(window, newest)
        self.gaps = gaps(plan.window, [w for w, _ in self.finished_before])
        self.summary = EmittedSummary.from_state(
            stream.stream_state.get("lookback_summary"), max_entries=stream.summary_budget // 2
        )
        # The bookmark the run began with (the earliest of the selected streams'): what is older re-reads.
        self.old_bookmark = min(
            (b for s in stream.bookmark_streams if s.selected and (b := stream.bookmark_of(s)) is not None),
            default=None,
        )
        self.full_lookback_done = not plan.full_lookback
        self._newest: dict[Window, tuple[datetime, str]] = {}
        self.meter = ProgressMeter(stream.logger, stream.name, stream.scheduler.limiter)

    def records(self) -> Iterator[dict[str, t.Any]]:
        """Every record of the run: the gaps opened earliest first, then each task's result handled as it
        completes (`on_result`, on this thread), and after each whatever may start now (`advance`). Ends with
        a commit, the budget's stop when windows were left unread, and the run's cost line."""
        for gap in self.gaps:
            self.open_window(gap)
        self.advance()
        for task, result in self.group:
            yield from self.on_result(task, result)
            self.advance()
            self.meter.tick(self.stream.records_emitted)
        self.commit()
        self.stop_unfinished()
        self.stream.logger.info(
            "%s: %s%s so far: %s",
            self.stream.name,
            self.run_summary(),
            self.stream.source,
            self.stream.scheduler.cost_line(),
        )

    def on_result(self, task: t.Any, result: t.Any) -> Iterator[dict[str, t.Any]]:
        """Handle one finished task (its key, typed by the subclass, and its result): the records it yields."""
        raise NotImplementedError

    def advance(self) -> None:
        """Start what may start now: windows waiting their turn, requests held back (a subclass's)."""
        raise NotImplementedError

    def run_summary(self) -> str:
        """What the run's last line says before the cost line ("" or text ending in "; ")."""
        return ""

    def close(self) -> None:
        """Cancel what is still queued (an early stop or an error)."""
        self.group.cancel()

    def open_window(self, window: Window) -> None:
        """`window` will be read: the watermark waits for it."""
        self.watermark.add(window)

    def replace_window(self, window: Window, parts: list[Window]) -> None:
        """`window` is read as `parts` instead (they tile it, earliest first): what it emitted is theirs now,
        its newest value the part's that holds it."""
        newest = self._newest.pop(window, None)
        self.watermark.remove(window)
        for part in parts:
            self.open_window(part)
        if newest is not None:
            self._newest[next((p for p in parts if newest[0] < p.end), parts[-1])] = newest

    def emitted(self, window: Window, record: dict[str, t.Any]) -> dict[str, t.Any]:
        """Note `record` (about to be yielded) as `window`'s: its replication value may move the bookmark."""
        value = record.get(self.stream.replication_key or "")
        if isinstance(value, str) and value:
            instant = parse_datetime(value)
            newest = self._newest.get(window)
            if newest is None or instant > newest[0]:
                self._newest[window] = (instant, value)
        return record

    def finish_window(self, window: Window) -> None:
        """`window` and everything it feeds were emitted: commit (the bookmark, or the finished windows past
        it, moved), so that a stop at any moment keeps it."""
        self.watermark.finish(window, self._newest.pop(window, None))
        self.commit()
        emitted = ", ".join(
            f"{s.name} {s.records_emitted}" for s in self.stream.bookmark_streams if s.selected
        )
        self.stream.logger.info(
            "%s: window %s done; records so far: %s; %s: %s",
            self.stream.name,
            window,
            emitted,
            self.stream.source,
            self.stream.scheduler.limiter.usage(),
        )

    def budget_left(self) -> int | None:
        """Requests this source may still send in this run; None without `max_requests_per_run`."""
        limiter = self.stream.scheduler.limiter
        return None if limiter.max_requests is None else limiter.max_requests - limiter.requests

    def stop_unfinished(self) -> None:
        """After the last task: windows left unread are those the budget could not cover (read next run).

        Raises:
            RequestBudgetSpent: some window was not read (after the commit of everything finished).
        """
        if not self.watermark.done:
            budget = self.stream.scheduler.limiter.max_requests
            assert budget is not None, "without a budget every window finishes"
            raise RequestBudgetSpent(budget)

    def keeps_summary(self) -> bool:
        """Whether this run's STATE carries the look-back summary."""
        return True

    def commit(self) -> None:
        """Write the bookmark (the watermark's), `full_lookback_at` once the look-back passed the old
        bookmark, and the pruned look-back summary."""
        mark = self.watermark.mark
        if not self.full_lookback_done and (
            mark is None or (self.old_bookmark is not None and mark >= self.old_bookmark)
        ):
            self.full_lookback_done = True
        extra: dict[str, t.Any] = {}
        if self.full_lookback_done and self.plan.full_lookback:
            extra[FULL_LOOKBACK_AT.key] = FULL_LOOKBACK_AT.value(self.stream.run_started_at)
        if self.keeps_summary():
            newest = self.watermark.bookmark[0] if self.watermark.bookmark else self.old_bookmark
            if newest is not None:
                self.summary.prune(newest - timedelta(days=float(self.stream.config["lookback_days"]) + 1))
            extra["lookback_summary"] = self.summary.to_state(self.stream.summary_budget)
        extra.update(
            finished_windows_extra(
                self.watermark.beyond().to_state(),
                (s.name for s in self.stream.bookmark_streams if s.selected),
            )
        )
        self.stream.commit(self.watermark.bookmark, extra)
