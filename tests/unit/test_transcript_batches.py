"""Unit tests of tap_calls/transcript_batches.py: batches, their windows, and the memory bounds (no HTTP)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tap_calls.transcript_batches import (
    MAX_TRANSCRIPT_BODIES,
    MAX_WAITING_BATCHES,
    CallBatches,
    ChildCall,
    TranscriptBatcher,
)
from tap_calls.windows import Window

T0 = datetime(2026, 1, 1, tzinfo=UTC)
EARLY = Window(T0, T0 + timedelta(days=1))
LATE = Window(T0 + timedelta(days=1), T0 + timedelta(days=2))


def call(n: int, day: float = 0.5) -> ChildCall:
    started = (T0 + timedelta(days=day)).isoformat()
    return ChildCall(id=str(n), started=started, parties=b"[]")


def batcher(size: int = 3, in_flight: int = 3) -> TranscriptBatcher:
    return TranscriptBatcher(CallBatches(), batch_size=size, in_flight_target=lambda: in_flight)


def test_calls_gather_across_windows_into_full_batches_and_a_partial_one_on_flush():
    b = batcher(size=3)
    for n in range(4):
        b.add(call(n), EARLY if n < 2 else LATE)
    assert [batch.calls for batch in b.waiting] == [[call(0), call(1), call(2, 0.5)]]
    assert b.owed == 2  # the full batch, and the partial one still in the buffer
    b.flush()
    assert [len(batch.wanted) for batch in b.waiting] == [3, 1]
    assert b.waiting[0].windows == {EARLY: 2, LATE: 1}
    assert b.holds(EARLY) and b.holds(LATE)


def test_requests_go_earliest_window_first_within_the_body_bound():
    b = batcher(size=1, in_flight=1)  # max_bodies: at least 4
    assert b.max_bodies() == 4
    for n in range(6):
        b.add(call(n), LATE if n % 2 else EARLY)
    sent = b.to_request()
    assert [s.origins for s in sent] == [[EARLY], [EARLY], [EARLY], [LATE]]
    assert b.to_request() == []  # 4 requested and not done: no body slot left
    b.done(sent[0])
    assert [s.origins for s in b.to_request()] == [[LATE]]
    assert b.requested == 5 and b.alive == 4


def test_the_body_bound_follows_the_in_flight_target_within_its_ceiling():
    assert batcher(in_flight=6).max_bodies() == 7
    assert batcher(in_flight=100).max_bodies() == MAX_TRANSCRIPT_BODIES


def test_busy_once_the_open_batches_reach_the_bound_and_free_again_when_done():
    b = batcher(size=1, in_flight=1)
    for n in range(b.max_bodies() + MAX_WAITING_BATCHES - 1):
        b.add(call(n), EARLY)
    assert not b.busy
    b.add(call(999), EARLY)
    assert b.busy
    (first, *_) = b.to_request()
    b.done(first)
    assert not b.busy


def test_a_window_is_held_until_every_batch_with_its_calls_is_done():
    b = batcher(size=2)
    b.add(call(1), EARLY)
    b.add(call(2, 1.5), LATE)
    settled = b.settled([(call(3), EARLY)])
    assert settled.wanted == [] and settled.number in b.batches
    assert b.done(settled) == [EARLY]
    assert b.holds(EARLY)  # call 1 still waits for its transcript
    (batch,) = b.to_request()
    assert sorted(b.done(batch)) == [EARLY, LATE]
    assert not b.holds(EARLY) and not b.holds(LATE) and not b.batches and b.alive == 0


def test_rehome_moves_a_split_windows_calls_to_their_parts():
    whole = Window(T0, T0 + timedelta(days=2))
    b = batcher(size=2)
    b.add(call(1, 0.2), whole)
    b.add(call(2, 1.2), whole)  # a batch
    b.add(call(3, 1.7), whole)  # buffered
    b.rehome(whole, lambda c: EARLY if c["started"] and c["started"] < LATE.start.isoformat() else LATE)
    assert not b.holds(whole)
    assert b.waiting[0].origins == [EARLY, LATE] and b.buffer == [(call(3, 1.7), LATE)]
    assert b.pending[EARLY] == 1 and b.pending[LATE] == 2
