"""Batches of Gong calls whose children (`parties`, `transcripts`, `transcript_sentences`) are synced together.

Listed calls that need a transcript gather, across pages and windows, into batches of up to 100 (one
POST /v2/calls/transcript each, gong_api.md §3.4); re-read calls whose transcript was emitted before go out at
once in a batch of their own, with no request. `TranscriptBatcher` owns these batches and the memory they may
take: a transcript request holds its answer's bodies (a batch of 45-minute transcripts is about 6 MB of JSON)
until its batch is synced, so only so many are requested at once; batches that wait for their request hold
only ids, `started` and parties as JSON bytes (about 100 KB), and more of them may wait.

It sends nothing itself: the calls run asks `to_request()` for the batches to request now, and reports each
answered or settled batch with `done()`. Used on the stream's thread only.
"""

from __future__ import annotations

import collections
import itertools
import typing as t
from dataclasses import dataclass, field

if t.TYPE_CHECKING:
    from collections.abc import Callable, Iterable

    from tap_calls.windows import Window

# Transcript requests sent and not yet emitted, at most (each holds up to ~6 MB of bodies).
MAX_TRANSCRIPT_BODIES = 8
# Batches whose transcripts are not requested yet, besides those: the chains never stall behind them while
# the cap serves pages first.
MAX_WAITING_BATCHES = 24


class ChildCall(t.TypedDict):
    """What a batch keeps of a listed call: its id, `started` (as Gong wrote it) and parties as JSON bytes
    (Python objects for 100 calls' parties are about 10x their JSON: benchmark row 5, peak RSS)."""

    id: str | None
    started: str | None
    parties: bytes


@dataclass
class CallBatch:
    """Calls whose children are synced together, and the window each belongs to.

    `wanted`: the calls whose transcripts are requested (all of `calls`, or none for a settled batch);
    `bodies`: the transcript answers' raw bodies, parsed only when the children emit them, one batch at a time;
    `emitted`: the ids whose transcripts were emitted (filled by the children).
    """

    number: int
    calls: list[ChildCall]
    origins: list[Window]
    wanted: list[ChildCall] = field(default_factory=list)
    bodies: list[bytes] = field(default_factory=list)
    emitted: set[str] = field(default_factory=set)

    @property
    def windows(self) -> collections.Counter[Window]:
        """How many of the batch's calls each window holds."""
        return collections.Counter(self.origins)


class CallBatches(dict[int, CallBatch]):
    """The open batches by number: the child streams read theirs from the context `{"call_batch": n}`."""


class TranscriptBatcher:
    """Gathers calls into batches and decides which batches' transcripts are requested now.

    Memory bounds: at most `max_bodies()` transcript requests are requested and not yet `done`; `busy` once
    `max_bodies() + MAX_WAITING_BATCHES` batches are open, so the calls run stops requesting pages until some
    are synced. `in_flight_target` is the scheduler's (requests it keeps in flight at the observed latency).
    """

    def __init__(self, batches: CallBatches, *, batch_size: int, in_flight_target: Callable[[], int]) -> None:
        self.batches = batches
        self.batch_size = batch_size
        self.in_flight_target = in_flight_target
        self.buffer: list[tuple[ChildCall, Window]] = []
        self.waiting: list[CallBatch] = []  # full batches whose transcripts are not requested yet
        self.alive = 0  # transcript requests made and not yet done
        self.requested = 0  # transcript requests made in this run
        self.pending: collections.Counter[Window] = collections.Counter()  # calls per window not synced yet
        self._numbers = itertools.count(1)

    def max_bodies(self) -> int:
        """Transcript requests not yet done, at most: as many as could fill the requests in flight (the end
        of a backfill is transcripts only), at least 4, within MAX_TRANSCRIPT_BODIES."""
        return min(MAX_TRANSCRIPT_BODIES, max(4, self.in_flight_target() + 1))

    @property
    def busy(self) -> bool:
        """Whether so many batches are open that no more pages should be requested for now."""
        return len(self.batches) >= self.max_bodies() + MAX_WAITING_BATCHES

    @property
    def owed(self) -> int:
        """Transcript requests still to make for calls already listed: the waiting batches and a partial one."""
        return len(self.waiting) + (1 if self.buffer else 0)

    def holds(self, window: Window) -> bool:
        """Whether some call of `window` waits in the buffer or in an open batch."""
        return self.pending[window] > 0

    def add(self, call: ChildCall, window: Window) -> None:
        """A listed call that needs its transcript: buffered, and a batch is formed once `batch_size` wait."""
        self.buffer.append((call, window))
        self.pending[window] += 1
        if len(self.buffer) >= self.batch_size:
            self.flush()

    def flush(self) -> None:
        """The buffered calls (up to `batch_size`) become a batch waiting for its transcript request (the last
        calls of a listing: a partial batch)."""
        if self.buffer:
            taken, self.buffer = self.buffer[: self.batch_size], self.buffer[self.batch_size :]
            batch = self._open(taken)
            batch.wanted = batch.calls
            self.waiting.append(batch)

    def settled(self, calls: list[tuple[ChildCall, Window]]) -> CallBatch:
        """A batch of re-read calls whose transcripts were emitted before: synced at once, no request."""
        self.pending.update(w for _, w in calls)
        return self._open(calls)

    def to_request(self) -> list[CallBatch]:
        """The waiting batches to request now, the earliest window's first, while fewer than `max_bodies()`
        requested ones are not done."""
        out = []
        while self.waiting and self.alive < self.max_bodies():
            batch = min(self.waiting, key=lambda b: (min(b.origins), b.number))
            self.waiting.remove(batch)
            self.alive += 1
            self.requested += 1
            out.append(batch)
        return out

    def done(self, batch: CallBatch) -> list[Window]:
        """`batch` was synced: it is closed; the windows it held calls of (each may now be finished)."""
        del self.batches[batch.number]
        if batch.wanted:
            self.alive -= 1
        windows = list(batch.windows)
        self.pending.subtract(batch.origins)
        return windows

    def rehome(self, window: Window, part_of: Callable[[ChildCall], Window]) -> None:
        """`window` is read as parts now: its calls, buffered or in open batches, belong to `part_of(call)`."""
        if not self.pending.pop(window, 0):
            return

        def home(call: ChildCall, origin: Window) -> Window:
            if origin != window:
                return origin
            part = part_of(call)
            self.pending[part] += 1
            return part

        self.buffer = [(c, home(c, w)) for c, w in self.buffer]
        for batch in self.batches.values():
            batch.origins = [home(c, w) for c, w in zip(batch.calls, batch.origins, strict=True)]

    def _open(self, calls: Iterable[tuple[ChildCall, Window]]) -> CallBatch:
        pairs = list(calls)
        batch = CallBatch(next(self._numbers), [c for c, _ in pairs], [w for _, w in pairs])
        self.batches[batch.number] = batch
        return batch
