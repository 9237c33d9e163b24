"""One request scheduler per source: the only place in tap-calls that starts threads.

Streams say *what* to fetch (a task: a function that sends one or a few requests through the stream's
request layer); the scheduler decides *when*:

- `RateLimiter` spaces the sends of the whole source evenly under its cap, pauses every thread after a 429,
  and counts requests against the vendor's quota and `max_requests_per_run`.
- `Scheduler` keeps as many tasks in flight as the cap and the observed latency call for (Little's law:
  in flight ≈ rate x latency, bounded), so the cap stays busy however slowly the API answers, and never
  more, so memory and a 429 pause stay small.
- `TaskGroup` is how a stream uses it: submit tasks (more as results come in: the next page of a cursor
  chain, a batch's transcripts), and take results in completion order on the stream's own thread, which
  alone emits records and STATE.
"""

from __future__ import annotations

import ctypes
import heapq
import itertools
import math
import os
import queue
import sys
import threading
import time
import typing as t

from tap_calls.errors import RequestBudgetSpent

if t.TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator

T = t.TypeVar("T")
R = t.TypeVar("R")
K = t.TypeVar("K")


class RateLimiter:
    """Spaces one source's requests evenly, so no 1-second span holds more than the cap.

    Callers pass the gate one at a time, each at least `interval` after the previous one actually went,
    so a thread that woke late cannot bunch up with the next one.
    """

    # Arrival times at the server jitter by a few ms; a 5 % margin keeps every 1-second window under the cap.
    SAFETY = 1.05

    def __init__(
        self,
        per_second: float,
        *,
        quota: int | None = None,
        quota_period: str = "",
        max_requests: int | None = None,
    ) -> None:
        """`per_second`: the cap; `quota`/`quota_period`: the vendor's (10,000/day for Gong), for progress
        lines; `max_requests`: the most requests this run may send (`max_requests_per_run`)."""
        self.per_second = per_second
        self.interval = self.SAFETY / per_second
        self.quota, self.quota_period = quota, quota_period
        self.max_requests = max_requests
        self.requests = 0
        self._last_sent = -math.inf
        self._not_before = 0.0
        self._gate = threading.Lock()
        self.on_pass: Callable[[], None] | None = None  # called in the sending thread once it passed the gate

    def usage(self) -> str:
        """Requests so far and the share of the vendor's quota they took, e.g. `120 requests (1.2 % of …)`."""
        if not self.quota:
            return f"{self.requests} requests"
        share = 100 * self.requests / self.quota
        return f"{self.requests} requests ({share:.1f} % of the {self.quota:,}/{self.quota_period} quota)"

    def acquire(self, check: Callable[[], None] | None = None) -> None:
        """Block until this source may send one more request.

        `check` is called once the wait is over, just before the request counts as sent: a request whose
        stream was refused meanwhile (client.SourceStream.raise_if_withdrawn) is dropped there, unsent and
        uncounted.

        Raises:
            RequestBudgetSpent: `max_requests` requests were already sent.
            Exception: whatever `check` raises.
        """
        with self._gate:
            if self.max_requests is not None and self.requests >= self.max_requests:
                raise RequestBudgetSpent(self.max_requests)
            while (wait := max(self._last_sent + self.interval, self._not_before) - time.monotonic()) > 0:
                time.sleep(wait)
            if check is not None:
                check()
            self._last_sent = time.monotonic()
            self.requests += 1
        if self.on_pass is not None:
            self.on_pass()

    def opens_at(self) -> float:
        """When (`time.monotonic()` seconds) the next request may be sent, as things stand."""
        return max(self._last_sent + self.interval, self._not_before)

    def hold_until(self, monotonic_deadline: float) -> None:
        """After a 429 every thread of the source waits, not only the one that was told."""
        self._not_before = max(self._not_before, monotonic_deadline)


def tune_malloc() -> None:
    """Let glibc's malloc use at most two arenas, unless `MALLOC_ARENA_MAX` says otherwise, and give
    blocks of 128 KiB and more back to the system as soon as they are freed.

    Each worker thread that downloads multi-MB bodies (in requests' 10 KB chunks) otherwise gets an arena
    of its own, and what it frees stays there: with 32 workers the tap's peak RSS doubled (benchmark row
    3: 242 MiB, 129 MiB with two arenas; glibc mallopt(3), M_ARENA_MAX). The workers mostly wait on
    sockets, so two arenas cost no speed. Page and transcript bodies (hundreds of KB each) are otherwise
    kept in the heap once glibc's dynamic mmap threshold has risen, so the RSS kept their high-water mark
    (benchmark row 5, peak RSS at 100,000 calls: 87 -> 82 MiB; M_MMAP_THRESHOLD). Must run before the first
    worker starts; a no-op off Linux or where the C library has no `mallopt`.
    """
    if os.environ.get("MALLOC_ARENA_MAX") or not sys.platform.startswith("linux"):
        return
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt(_M_ARENA_MAX, 2)
    mallopt(_M_MMAP_THRESHOLD, 128 * 1024)


_M_ARENA_MAX = -8  # glibc malloc.h
_M_MMAP_THRESHOLD = -3


class _DaemonPool:
    """Worker threads that never keep the process alive: after a fatal error (one line, exit 1) a task still
    backing off before a retry must not hold the exit for minutes, as ThreadPoolExecutor's joined threads would.
    The scheduler bounds how many tasks run at once; the pool only needs that many threads."""

    def __init__(self, name: str, size: int) -> None:
        tune_malloc()
        self._name, self._size = name, size
        self._tasks: queue.SimpleQueue[tuple[Callable[..., t.Any], tuple[t.Any, ...]] | None] = (
            queue.SimpleQueue()
        )
        self._threads: list[threading.Thread] = []
        self._idle = 0
        self._lock = threading.Lock()

    def submit(self, fn: Callable[..., t.Any], *args: t.Any) -> None:
        with self._lock:
            if self._idle == 0 and len(self._threads) < self._size:
                thread = threading.Thread(
                    target=self._work, name=f"{self._name}_{len(self._threads)}", daemon=True
                )
                self._threads.append(thread)
                thread.start()
            else:
                self._idle -= 1
        self._tasks.put((fn, args))

    def _work(self) -> None:
        while True:
            item = self._tasks.get()
            if item is None:
                return
            fn, args = item
            fn(*args)
            # An idle worker must not keep its last task's arguments (a batch of transcript bodies) alive.
            del item, fn, args
            with self._lock:
                self._idle += 1

    def shutdown(self) -> None:
        for _ in self._threads:
            self._tasks.put(None)


class Scheduler:
    """The tasks in flight for one source: as many as `rate x latency` calls for, between 1 and `max_in_flight`.

    Latency is a moving average of the request durations the request layer reports (`observe`). Tasks
    beyond the target wait in their group's queue, not in a thread, so a burst of submissions costs no
    memory beyond the task itself.
    """

    # Headroom over Little's law: latencies vary from request to request.
    HEADROOM = 1.25
    # Slots for background groups (streams read ahead), beyond the in-flight target.
    BACKGROUND_SLOTS = 1
    # Tasks handed to a thread that have not passed the rate gate yet, while the gate is shut: one, so what is
    # sent next is chosen by priority when the gate opens, not by the order threads queued at it (a chain's
    # next page would wait behind transcript batches that were dispatched earlier). An open gate takes any.
    GATE_WAITERS = 1
    # The latency assumed until the first answer, in seconds.
    ASSUMED_LATENCY = 1.0
    # Moving-average weight of the newest latency sample.
    ALPHA = 0.3

    def __init__(self, source: str, limiter: RateLimiter, *, max_in_flight: int = 32) -> None:
        self.source = source
        self.limiter = limiter
        self.max_in_flight = max_in_flight
        self.latency: float | None = None
        # What the streams of this source learned in this run (read and written on the main thread).
        self.credentials_ok = False
        self.stopped: str | None = None
        self.skipped_for_scope: dict[str, str] = {}
        self.prefetch_started = False
        self._worker = threading.local()  # set in the scheduler's own threads
        self.streams: list[object] = []  # the source's streams (SourceStream), for prefetching
        # Requests by purpose (issue 12's visible cost): new data vs re-reading the look-back.
        self.requests_new = 0
        self.requests_reread = 0
        # call_ids / clari_call_ids: listing the calls that exist (deleted calls, interface.md "Third release").
        self.requests_listing_ids = 0
        self._running = 0
        self._before_gate = 0
        self._background_running = 0
        limiter.on_pass = self._passed_gate
        self._lock = threading.RLock()
        self._groups: list[TaskGroup[t.Any]] = []
        self._pool: _DaemonPool | None = None

    def observe(self, seconds: float) -> None:
        """Record one request's duration (send to full response), in seconds."""
        with self._lock:
            self.latency = (
                seconds if self.latency is None else self.latency + self.ALPHA * (seconds - self.latency)
            )
        self._dispatch()

    def in_flight_target(self) -> int:
        """How many tasks may run at once now: ⌈rate x latency x headroom⌉ + 1, within [1, max_in_flight].

        Before any latency is known, as if answers took `ASSUMED_LATENCY`: the first requests of a run
        (a backfill's first windows) go out together rather than one answer time apart.
        """
        latency = self.ASSUMED_LATENCY if self.latency is None else self.latency
        wanted = math.ceil(self.limiter.per_second * latency * self.HEADROOM) + 1
        return max(1, min(self.max_in_flight, wanted))

    def cost_line(self) -> str:
        """Requests so far by purpose and quota share, e.g. `84 requests (0.8 % of …): 10 for new data, 70
        re-reading what earlier runs emitted, 4 for the rest (other streams, retries)`: the parts always add
        up to the requests sent."""
        listing = self.requests_listing_ids
        ids = f", {listing} listing the calls that exist" if listing else ""
        rest = max(0, self.limiter.requests - self.requests_new - self.requests_reread - listing)
        return (
            f"{self.limiter.usage()}: {self.requests_new} for new data, "
            f"{self.requests_reread} re-reading what earlier runs emitted{ids}, "
            f"{rest} for the rest (other streams, retries)"
        )

    def group(self, *, background: bool = False) -> TaskGroup[t.Any]:
        """A new group of tasks whose results come back to the calling thread.

        A `background` group's tasks run only in `BACKGROUND_SLOTS` slots of their own, beyond the in-flight
        target: a long background task (a whole stream read ahead, backing off after a 5xx) never holds a slot
        the streams being synced need. Its requests still go through the same rate cap.
        """
        group: TaskGroup[t.Any] = TaskGroup(self, background=background)
        with self._lock:
            self._groups.append(group)
        return group

    def imap(self, fn: Callable[[T], R], items: Iterable[T]) -> Iterator[R]:
        """`fn(item)` for every item, run concurrently, results in the items' order.

        At most `in_flight_target() * 2` results wait for an earlier one, so memory stays bounded. Called from
        one of the scheduler's own tasks, it runs `fn` in that task, one item after another: a task waiting
        for tasks that wait for a free slot would never finish.
        """
        if self.in_task():
            yield from map(fn, items)
            return
        with self.group() as group:
            pending = iter(items)
            waiting: dict[int, R] = {}
            submitted = emitted = 0
            exhausted = False
            while True:
                while not exhausted and submitted - emitted < 2 * self.in_flight_target():
                    item = next(pending, _END)
                    if item is _END:
                        exhausted = True
                        break
                    group.submit(submitted, fn, item)
                    submitted += 1
                if emitted == submitted:
                    return
                while emitted not in waiting:
                    index, result = group.next_result()
                    waiting[index] = result
                yield waiting.pop(emitted)
                emitted += 1

    def imap_unordered(self, fn: Callable[[T], R], items: Iterable[T]) -> Iterator[R]:
        """`fn(item)` for every item, run concurrently, results as they complete (inline in a task, as `imap`)."""
        if self.in_task():
            yield from map(fn, items)
            return
        with self.group() as group:
            for item in items:
                group.submit(None, fn, item)
            for _, result in group:
                yield result

    # Dispatch: called on submit, on completion and when latency changes, from any thread.

    def _dispatch(self) -> None:
        with self._lock:
            while True:
                free = self._running < self.in_flight_target() and (
                    self._before_gate < self.GATE_WAITERS or self.limiter.opens_at() <= time.monotonic()
                )
                task = self._next_task(background=False) if free else None
                if task is not None:
                    self._running += 1
                    self._before_gate += 1
                elif self._background_running < self.BACKGROUND_SLOTS:
                    task = self._next_task(background=True)
                    if task is None:
                        return
                    self._background_running += 1
                else:
                    return
                if self._pool is None:
                    self._pool = _DaemonPool(
                        f"{self.source}-request", self.max_in_flight + self.BACKGROUND_SLOTS
                    )
                self._pool.submit(self._run, task)

    def _next_task(self, *, background: bool) -> _Task | None:
        # Round-robin over the groups, so one stream's long queue cannot starve another's.
        for _ in range(len(self._groups)):
            group = self._groups.pop(0)
            self._groups.append(group)
            if group.queued and group.background == background:
                return heapq.heappop(group.queued).task
        return None

    def in_task(self) -> bool:
        """Whether the calling thread is running one of this scheduler's tasks."""
        return bool(getattr(self._worker, "active", False))

    def _passed_gate(self) -> None:
        """A request of this source passed the rate gate: when it was a task's first, the next may go."""
        if getattr(self._worker, "before_gate", False):
            self._worker.before_gate = False
            with self._lock:
                self._before_gate -= 1
            self._dispatch()

    def _run(self, task: _Task) -> None:
        self._worker.active = True
        self._worker.before_gate = not task.group.background
        try:
            if task.group.cancelled:
                task.group.results.put((task.key, _CANCELLED, None))
                return
            try:
                result = task.fn(*task.args)
            except BaseException as exc:  # handed to the consumer thread, which re-raises it
                task.group.results.put((task.key, _FAILED, exc))
                # At once, not when the consumer reads it: the group's next tasks would start meanwhile.
                task.group.cancel()
            else:
                task.group.results.put((task.key, result, None))
        finally:
            with self._lock:
                if self._worker.before_gate:  # it sent nothing
                    self._worker.before_gate = False
                    self._before_gate -= 1
                if task.group.background:
                    self._background_running -= 1
                else:
                    self._running -= 1
            self._dispatch()

    def _forget(self, group: TaskGroup[t.Any]) -> None:
        with self._lock:
            if group in self._groups:
                self._groups.remove(group)

    def shutdown(self) -> None:
        """Stop the worker threads (tasks still queued are dropped). Safe to call more than once."""
        with self._lock:
            for group in self._groups:
                group.cancel()
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown()


class _Task(t.NamedTuple):
    group: TaskGroup[t.Any]
    key: t.Any
    fn: Callable[..., t.Any]
    args: tuple[t.Any, ...]


class _Queued(t.NamedTuple):
    priority: float
    sequence: int
    task: _Task


_END = object()
_FAILED = object()
_CANCELLED = object()


class TaskGroup(t.Generic[K]):
    """Tasks of one stream, whose results are taken on the stream's thread in completion order.

    Use as a context manager: leaving it (normally, on an error, or when the consumer stops early)
    cancels what is still queued, so no request is sent for a result nobody will read.
    """

    def __init__(self, scheduler: Scheduler, *, background: bool = False) -> None:
        self.scheduler = scheduler
        self.background = background
        self.queued: list[_Queued] = []  # a heap: lowest priority value first, then first submitted
        self._sequence = itertools.count()
        self.results: queue.SimpleQueue[tuple[t.Any, t.Any, BaseException | None]] = queue.SimpleQueue()
        self.outstanding = 0
        self.cancelled = False

    def __enter__(self) -> TaskGroup[K]:
        return self

    def __exit__(self, *exc: object) -> None:
        self.cancel()

    def submit(self, key: K, fn: Callable[..., t.Any], *args: t.Any, priority: float = 0.0) -> None:
        """Run `fn(*args)` when the scheduler has room; its result comes back with `key`.

        Among this group's queued tasks the lowest `priority` goes first (then the first submitted): a
        stream puts what moves its watermark (the earliest window) ahead of what does not. Nothing is queued
        once the group is cancelled.
        """
        with self.scheduler._lock:
            if self.cancelled:
                # A group cancelled meanwhile (a task failed, on its worker) is forgotten by the scheduler:
                # the task would never run, and a consumer waiting for its result would wait forever.
                return
            heapq.heappush(self.queued, _Queued(priority, next(self._sequence), _Task(self, key, fn, args)))
            self.outstanding += 1
        self.scheduler._dispatch()

    def next_result(self, default: t.Any = None) -> t.Any:
        """Block until a task of this group finishes; return `(key, result)`, or `default` when no task is
        outstanding (all cancelled).

        Raises:
            Exception: whatever the task raised (the rest of the group is cancelled first).
        """
        while self.outstanding:
            key, result, error = self.results.get()
            with self.scheduler._lock:  # a failing task's thread cancels the group (and counts) meanwhile
                self.outstanding -= 1
            if error is not None:
                self.cancel()
                raise error
            if result is _CANCELLED:
                continue
            return key, result
        return default

    def __iter__(self) -> Iterator[tuple[K, t.Any]]:
        """Results until no task is queued or running (tasks submitted meanwhile are waited for too)."""
        while self.outstanding:
            result = self.next_result(default=_END)
            if result is _END:
                return
            yield result

    @property
    def unread(self) -> int:
        """Results finished but not yet taken by the consumer (a producer backs off when this grows)."""
        return self.results.qsize()

    def withdraw(self) -> bool:
        """Cancel the group when none of its tasks has started yet; True when it was withdrawn."""
        with self.scheduler._lock:
            if len(self.queued) != self.outstanding:
                return False
            self.cancel()
            return True

    def cancel(self) -> None:
        """Drop the queued tasks; running ones finish but their results are ignored."""
        if self.cancelled:
            return
        self.cancelled = True
        with self.scheduler._lock:
            dropped = len(self.queued)
            self.queued.clear()
            self.outstanding -= dropped
        self.scheduler._forget(self)
