"""Gong cursor chains paged concurrently: the one state the scheduler's workers share with the stream's thread.

Each window of `calls` is one cursor chain: POST /v2/calls/extensive answers a page and the cursor of the next
(gong_api.md §3.3), so a chain sends one request per answer. For a chain never to wait for the stream's thread
(which may be busy emitting a batch of transcripts), the worker that got a page requests the next one itself
(`PageChains.follow`), unless the stream's thread holds the chains (too much waits to be emitted) or closed the
window (it was split). Everything both sides read or write about the chains is here, behind one lock.
"""

from __future__ import annotations

import collections
import math
import threading
import typing as t
from dataclasses import dataclass

from tap_calls.paging import next_cursor
from tap_calls.splitting import chain_calls, gong_budget_targets, gong_parts

if t.TYPE_CHECKING:
    from collections.abc import Callable

    import requests

    from tap_calls.gong import CallsStream
    from tap_calls.scheduler import TaskGroup
    from tap_calls.splitting import GongSizing
    from tap_calls.windows import Window

# Pages answered but not yet taken by the stream's thread, at most, before a worker stops following chains.
MAX_UNREAD_PAGES = 8
# Windows paged at once, at most (bounded memory and what a stop may lose, whatever the cap).
MAX_CHAINS = 16


@dataclass(frozen=True)
class SplitRule:
    """How a window is split on its first page, decided by the worker that gets that page.

    `threshold`: split when the page counts more calls; `target`: calls per part (None: what a chain reads in
    time at the latency then observed, `splitting.chain_calls`); `requests_per_page`: what 100 calls cost (2
    with transcripts), fixed by the stream's thread when it makes the rule.
    """

    threshold: float
    target: int | None = None
    requests_per_page: int = 2


NEVER_SPLIT = SplitRule(threshold=float("inf"))  # a dry run, a restarted chain


@dataclass(frozen=True)
class PageTask:
    """One page of a window (a scheduler task's key): `cursor` None for its first page.

    `split`: for a first page, how the worker decides a split and, when it does not split, follows the chain;
    None: the stream's thread decides (with `max_requests_per_run`: the budget moves meanwhile).
    """

    window: Window
    cursor: str | None
    split: SplitRule | None = None


@dataclass(frozen=True)
class PageAnswer:
    """A page task's result: `response` None when the cursor expired; `followed` when the worker requested the
    chain's next page; `parts` the split the worker decided on a first page (None: none decided or none)."""

    response: requests.Response | None
    followed: bool = False
    parts: list[Window] | None = None
    decided: bool = False  # whether the worker decided the split (`parts` then says how)


@dataclass
class _Chain:
    pages: int = 0  # the window's pages, from its first page's `records.totalRecords` (0: not known yet)
    requested: int = 0  # pages requested after the first


class PageChains:
    """The windows being paged and how far each chain got, plus whether chains may go on.

    Thread-safe: every method takes `lock`. The stream's thread opens and closes chains and holds them all
    (`hold`) while too many batches wait for their transcripts; workers `follow` a chain to its next page.
    """

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self._chains: dict[Window, _Chain] = {}
        self._in_flight = 0
        self._held = False
        self._tail = False

    def open(self, window: Window) -> None:
        """`window` is paged from now on (its first page is about to be requested)."""
        with self.lock:
            self._chains[window] = _Chain()

    def close(self, window: Window) -> None:
        """`window` is paged no more (listed in full, or split): a worker does not follow it any more."""
        with self.lock:
            self._chains.pop(window, None)

    def __contains__(self, window: object) -> bool:
        with self.lock:
            return window in self._chains

    def __len__(self) -> int:
        with self.lock:
            return len(self._chains)

    def windows(self) -> list[Window]:
        """The windows being paged."""
        with self.lock:
            return list(self._chains)

    def hold(self, held: bool) -> None:
        """While held, workers request no next page (the stream's thread requests it later)."""
        with self.lock:
            self._held = held

    def tail(self, tail: bool) -> None:
        """At the end of the read (every window open): pages go by the longest chain first (`priority`)."""
        with self.lock:
            self._tail = tail

    def priority(self, window: Window) -> float:
        """A page's task priority (lowest first). Windows earliest first, so they finish in order and a stop
        keeps nearly all it read; at the end of the read, when every window is open, the chain with the most
        pages left first, before any transcript batch: the chains then end together and the last answer
        times are not spent with the cap idle (benchmark row 8)."""
        with self.lock:
            if not self._tail:
                return window.start.timestamp()
            chain = self._chains.get(window)
            left = chain.pages - chain.requested if chain is not None and chain.pages else 1_000
            return -1e12 - left

    def sent(self, window: Window, cursor: str | None, total: int | None = None) -> None:
        """A page of `window` was requested (`cursor` None: its first page); `total`: the window's calls, when
        its first page is in."""
        with self.lock:
            self._sent(window, cursor, total)

    def follow(self, window: Window, cursor: str, total: int | None) -> bool:
        """On a worker: whether it may request `window`'s next page now (then counted as requested)."""
        with self.lock:
            if self._held or window not in self._chains:
                return False
            self._sent(window, cursor, total)
            return True

    def answered(self) -> None:
        """A page request came back (whatever its fate)."""
        with self.lock:
            self._in_flight -= 1

    @property
    def in_flight(self) -> int:
        """Page requests sent and not yet taken by the stream's thread."""
        with self.lock:
            return self._in_flight

    def pages_left(self, window: Window) -> int | None:
        """Pages of `window` not requested yet; None before its first page is in (or when not paged)."""
        with self.lock:
            chain = self._chains.get(window)
            if chain is None or not chain.pages:
                return None
            return max(0, chain.pages - chain.requested - 1)

    def _sent(self, window: Window, cursor: str | None, total: int | None) -> None:
        self._in_flight += 1
        chain = self._chains.get(window)
        if chain is None:
            return
        if total is not None and not chain.pages:
            chain.pages = -(-total // 100)
        chain.requested = 0 if cursor is None else chain.requested + 1


class ChainPager:
    """Pages windows of `calls` as cursor chains on the scheduler (one task per page, key `PageTask`, result
    `PageAnswer`), the earliest window's pages first (priority: the window's start).

    `request` and `release` run on the stream's thread: a page asked for while `hold` (too many batches wait
    for transcripts) is deferred until `release` is called without it. `page_task` runs on a worker: it gets
    the page, decides a first page's split when the task says how (`SplitRule`), and otherwise requests the
    chain's next page at once, through `chains` (behind its lock) unless held or closed.
    """

    def __init__(
        self, stream: CallsStream, group: TaskGroup[t.Any], sizing: GongSizing, *, dry_run: bool
    ) -> None:
        self.stream = stream
        self.group = group
        self.sizing = sizing
        self.dry_run = dry_run
        self.chains = PageChains()
        self.deferred: collections.deque[tuple[PageTask, int | None]] = collections.deque()
        self.targets: dict[Window, tuple[int, float]] = {}  # a split's part: (calls target, split threshold)

    def max_chains(self) -> int:
        """As many chains as the cap needs at the observed latency (a chain sends one page per answer, and with
        transcripts about one transcript request per page), one more so a chain ending leaves no gap; at most
        MAX_CHAINS. More would buy no speed, only widen what a stop loses."""
        in_flight = self.stream.scheduler.in_flight_target()
        return min(MAX_CHAINS, math.ceil(in_flight / self.stream.requests_per_page) + 1)

    def split_rule(self, window: Window) -> SplitRule:
        """When `window`'s first page splits it: above its part's threshold (a plan's window: above
        `split_above`), into parts of its part's target (a plan's window: what a chain reads in time); never
        in a dry run."""
        if self.dry_run:
            return NEVER_SPLIT
        target, threshold = self.targets.get(window, (None, self.sizing.split_above))
        return SplitRule(threshold, target, self.stream.requests_per_page)

    @property
    def idle(self) -> bool:
        """No page requested and not yet taken, none deferred: the listing has paused or ended."""
        return self.chains.in_flight == 0 and not self.deferred

    def request(self, task: PageTask, total: int | None, *, hold: bool) -> None:
        """Request a page (`total`: its window's calls, when known), or defer it while `hold`."""
        if hold:
            self.deferred.append((task, total))
        else:
            self._submit(task, total)

    def release(self, *, hold: bool) -> None:
        """Workers may follow chains unless `hold`; without it, the deferred pages are requested."""
        self.chains.hold(hold)
        while self.deferred and not hold:
            self._submit(*self.deferred.popleft())

    def answered(self) -> None:
        """The stream's thread took a page's answer."""
        self.chains.answered()

    def pages_owed(self, but: Window | None, unknown: Callable[[Window], int]) -> int:
        """Pages the paged windows (except `but`) have not requested yet; `unknown(window)` for a window whose
        first page is not in (its size unknown)."""
        owed = 0
        for window in self.chains.windows():
            if window != but:
                left = self.chains.pages_left(window)
                owed += unknown(window) if left is None else left
        return owed

    def _submit(self, task: PageTask, total: int | None) -> None:
        self.chains.sent(task.window, task.cursor, total)
        self.group.submit(task, self.page_task, task, priority=self.chains.priority(task.window))

    def page_task(self, task: PageTask) -> PageAnswer:
        """One page (on a worker). Unless the page splits its window, the next page is requested at once,
        here: a chain then never waits for the stream's thread (unless held, or many answers wait for it)."""
        response = self.stream.fetch_page(task.window, task.cursor)
        if response is None or (task.cursor is None and task.split is None):
            return PageAnswer(response)
        total = None
        if task.cursor is None:
            total = self.stream.window_total(response)
            parts = self.parts(task.window, response, total, task.split, fit=None)
            if parts is not None:
                return PageAnswer(response, parts=parts, decided=True)
        token = next_cursor(response)
        unread_cap = min(MAX_UNREAD_PAGES, max(2, self.stream.scheduler.in_flight_target()))
        followed = (
            token is not None
            and self.group.unread < unread_cap
            and self.chains.follow(task.window, token, total)
        )
        if followed:
            assert token is not None
            following = PageTask(task.window, token)
            self.group.submit(
                following, self.page_task, following, priority=self.chains.priority(task.window)
            )
        return PageAnswer(response, followed=followed, decided=task.cursor is None)

    def parts(
        self,
        window: Window,
        response: requests.Response,
        total: int,
        rule: SplitRule | None,
        fit: int | None,
    ) -> list[Window] | None:
        """How a window whose first page (`response`) counted `total` calls is read instead (None: whole):
        parts of what a chain reads in time at the latency now observed, or of the part's target; with a
        budget, parts that fit in `fit` calls (splitting.gong_budget_targets)."""
        if rule is None:
            return None
        scheduler = self.stream.scheduler
        target = rule.target or chain_calls(
            total,
            latency=scheduler.latency or 0.0,
            per_second=scheduler.limiter.per_second,
            requests_per_page=rule.requests_per_page,
            sizing=self.sizing,
        )
        cut = gong_budget_targets(
            total,
            fit,
            target=target,
            threshold=rule.threshold,
            requests_per_page=rule.requests_per_page,
        )
        if cut is None:
            return None
        started = self.stream.started_times(response)
        return gong_parts(
            window, total, started, threshold=cut[1], target=cut[0], min_span=self.sizing.min_span
        )
