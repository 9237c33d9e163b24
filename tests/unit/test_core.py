"""Unit tests of the core pieces: scheduler, watermark, read plans, the look-back summary, paging, parsing."""

from __future__ import annotations

import gc
import threading
import time
import weakref
from datetime import UTC, datetime, timedelta

import msgspec
import pytest
import requests

from tap_calls.clari import BOUNDARY_OVERLAP, Listing, summary_token
from tap_calls.client import retry_after_seconds
from tap_calls.errors import RequestBudgetSpent, TapCallsError
from tap_calls.gong import CallsStream, call_record, party_record, transcript_records, user_record
from tap_calls.keys import as_id
from tap_calls.paging import MAX_SKIP, CursorPaginator, SkipPaginator, check_page_json, next_cursor
from tap_calls.progress import Watermark
from tap_calls.scheduler import RateLimiter, Scheduler
from tap_calls.splitting import split_evenly
from tap_calls.windows import SHORT_OVERLAP, EmittedSummary, Window, plan_read

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def hours(n: float) -> datetime:
    return T0 + timedelta(hours=n)


# Scheduler


def test_in_flight_follows_rate_times_latency_within_bounds():
    scheduler = Scheduler("x", RateLimiter(3), max_in_flight=32)
    assert scheduler.in_flight_target() == 5  # nothing observed yet: ceil(3 * 1 * 1.25) + 1
    scheduler.latency = 2.0
    assert scheduler.in_flight_target() == 9  # ceil(3 * 2 * 1.25) + 1
    scheduler.latency = 0.0
    assert scheduler.in_flight_target() == 1
    scheduler.latency = 100.0
    assert scheduler.in_flight_target() == 32
    fast = Scheduler("y", RateLimiter(10))
    fast.observe(1.5)
    assert fast.in_flight_target() == 20  # ceil(10 * 1.5 * 1.25) + 1


def test_imap_returns_results_in_order_although_they_complete_out_of_order():
    scheduler = Scheduler("x", RateLimiter(1000))
    scheduler.latency = 0.05  # several in flight
    release = {i: threading.Event() for i in range(6)}

    def work(i: int) -> int:
        # Later items finish first: each waits for the one after it (the last one goes at once).
        if i < 5:
            release[i + 1].wait(5)
        release[i].set()
        return i * 10

    assert list(scheduler.imap(work, range(6))) == [0, 10, 20, 30, 40, 50]
    scheduler.shutdown()


def test_while_the_gate_is_shut_the_next_send_is_chosen_by_priority_not_by_who_queued_first():
    """One task at a time waits at a shut rate gate: a task submitted later with a lower priority value is
    sent before the tasks submitted earlier that did not reach the gate yet."""
    limiter = RateLimiter(5)  # a send every 210 ms
    scheduler = Scheduler("x", limiter)
    scheduler.latency = 1.0  # room for many in flight: only the gate orders them
    sent: list[str] = []

    def send(name: str) -> str:
        limiter.acquire()
        sent.append(name)
        return name

    limiter.acquire()  # the gate is shut for the next 210 ms, while all five are submitted
    with scheduler.group() as group:
        for name in ("a1", "a2", "a3", "a4"):
            group.submit(name, send, name, priority=5)
        group.submit("b", send, "b", priority=0)
        assert sorted(key for key, _ in group) == ["a1", "a2", "a3", "a4", "b"]
    scheduler.shutdown()
    # a1 was the one waiting at the gate; when it passed, b was the queued task to go first.
    assert sent == ["a1", "b", "a2", "a3", "a4"]


def test_a_task_error_reaches_the_consumer_and_cancels_the_rest():
    scheduler = Scheduler("x", RateLimiter(1000))
    ran: list[int] = []

    def work(i: int) -> int:
        ran.append(i)
        if i == 1:
            raise ValueError("boom")
        return i

    with pytest.raises(ValueError, match="boom"), scheduler.group() as group:
        for i in range(50):
            group.submit(i, work, i)
        for _ in group:
            pass
    assert len(ran) < 50
    scheduler.shutdown()


def test_a_task_submitted_after_its_group_was_cancelled_is_dropped_not_waited_for():
    """A task fails on its worker, which cancels the group at once; the consumer, not having read the failure
    yet, submits more: those must not count as outstanding, or the consumer would wait for them forever (a
    day stream hung so in CI)."""
    scheduler = Scheduler("x", RateLimiter(1000))
    failed = threading.Event()

    def fail() -> None:
        failed.set()
        raise ValueError("boom")

    group = scheduler.group()
    group.submit("fail", fail)
    assert failed.wait(5)
    while not group.cancelled:  # the worker cancels right after handing over the failure
        time.sleep(0.001)
    group.submit("late", lambda: 1)
    with pytest.raises(ValueError, match="boom"):
        group.next_result()
    assert group.outstanding == 0
    assert group.next_result(default="none left") == "none left"
    scheduler.shutdown()


def test_queued_tasks_go_lowest_priority_first():
    scheduler = Scheduler("x", RateLimiter(1000), max_in_flight=1)
    scheduler.latency = 0.0  # one at a time
    gate = threading.Event()
    order: list[str] = []
    with scheduler.group() as group:
        group.submit("first", gate.wait, 5)  # occupies the only slot while the others queue
        for name, priority in (("late", 3.0), ("early", 1.0), ("middle", 2.0)):
            group.submit(name, order.append, name, priority=priority)
        gate.set()
        assert sorted(key for key, _ in group) == ["early", "first", "late", "middle"]
    assert order == ["early", "middle", "late"]
    scheduler.shutdown()


def test_the_limiter_spaces_sends_and_stops_at_the_budget():
    limiter = RateLimiter(100, max_requests=5)
    started = time.monotonic()
    for _ in range(5):
        limiter.acquire()
    assert time.monotonic() - started >= 4 * limiter.interval * 0.99
    with pytest.raises(RequestBudgetSpent):
        limiter.acquire()
    assert limiter.requests == 5


# Windows and bookmarks


def test_the_watermark_moves_only_over_contiguous_finished_windows():
    parts = split_evenly(Window(hours(0), hours(3)), 3)
    assert parts == [Window(hours(0), hours(1)), Window(hours(1), hours(2)), Window(hours(2), hours(3))]
    mark = Watermark(hours(0))
    for part in parts:
        mark.add(part)
    mark.finish(parts[2], (hours(2.5), "v3"))
    mark.finish(parts[1], (hours(1.5), "v2"))
    assert mark.bookmark is None  # the first window is still open
    assert mark.mark == hours(0)
    mark.finish(parts[0], (hours(0.5), "v1"))
    assert mark.bookmark == (hours(2.5), "v3")
    assert mark.done


def test_a_value_later_than_its_window_is_capped_at_the_window_end():
    mark = Watermark(hours(0))
    window = Window(hours(0), hours(1))
    mark.add(window)
    mark.finish(window, (hours(5), "late"))
    assert mark.bookmark is not None and mark.bookmark[0] == hours(1)


def test_the_connection_pool_holds_every_request_in_flight():
    from tap_calls.tap import TapCalls

    tap = TapCalls(config={"access_key": "k", "access_key_secret": "s"}, validate_config=False)
    stream = tap.streams["calls"]
    adapter = stream.requests_session.get_adapter("https://api.gong.io")
    assert adapter._pool_maxsize >= stream.scheduler.max_in_flight + stream.scheduler.BACKGROUND_SLOTS


def plan(**changes):
    settings = {
        "start_date": hours(-24 * 365),
        "end": hours(0),
        "bookmarks": [hours(-1)],
        "lookback": timedelta(days=7),
        "interval_hours": 24,
        "last_full_lookback": hours(-2),
        "now": hours(0),
    }
    return plan_read(**{**settings, **changes})


def test_read_plans():
    first = plan(bookmarks=[None])
    assert first.first_run and first.full_lookback and first.start == hours(-24 * 365)
    short = plan()
    assert not short.full_lookback and short.start == hours(-1) - SHORT_OVERLAP
    due = plan(last_full_lookback=hours(-23.5))  # older than 24 h - 1 h: a daily pipeline gets it every run
    assert due.full_lookback and due.start == hours(-1) - timedelta(days=7)
    assert plan(interval_hours=0).full_lookback
    assert plan(last_full_lookback=None).full_lookback
    assert plan(bookmarks=[hours(-1), hours(-30)]).start == hours(-30) - SHORT_OVERLAP  # the oldest bookmark
    assert plan(start_date=hours(-2)).start == hours(-2)  # never before start_date
    fractional = plan(end=hours(0) + timedelta(milliseconds=1))
    assert fractional.end == hours(0) + timedelta(seconds=1)


def test_the_summary_round_trips_and_stays_within_its_budget():
    summary = EmittedSummary()
    for day in range(10):
        for n in range(800):
            summary.add(hours(24 * day + 1), f"call-{day}-{n}", flag=n % 10 != 0)
    state = summary.to_state(budget_chars=20_000)
    assert sum(len(v) + 20 for v in state["days"].values()) <= 20_000
    back = EmittedSummary.from_state(state)
    kept = sorted(back.days)
    assert kept == sorted(summary.days)[-len(kept) :]  # the newest days are kept
    assert 3 <= len(kept) < 10
    newest = 9
    assert back.lookup(hours(24 * newest + 1), f"call-{newest}-1") == 1
    assert back.lookup(hours(24 * newest + 1), f"call-{newest}-10") == 0
    assert back.lookup(hours(24 * newest + 1), "never-emitted") is None
    assert back.lookup(hours(1), "call-0-1") is None  # a dropped day is unknown: fetched again
    summary.prune(hours(24 * 8))
    assert sorted(summary.days) == sorted(summary.days)[-2:]


def test_a_capped_summary_writes_the_same_state_and_stays_bounded():
    budget = 20_000
    capped, full = EmittedSummary(max_entries=budget // 2), EmittedSummary()
    sizes = []
    # Days arrive out of order, as a backfill's windows finish; two days hold more than the cap alone.
    for day in (5, 1, 9, 3, 0, 7, 2, 8, 4, 6, 12, 10, 11):
        for n in range(14_000 if day in (3, 9) else 300 + 40 * day):
            for summary in (capped, full):
                summary.add(hours(24 * day + 5), f"call-{day}-{n}", flag=n % 7 != 0)
            sizes.append(capped.entries)
    assert max(sizes) <= budget // 2
    assert capped.entries == sum(len(d) for d in capped.days.values())
    assert full.entries == sum(len(d) for d in full.days.values()) > 3 * budget // 2
    written = capped.to_state(budget)
    assert written == full.to_state(budget) and len(written["days"]) >= 3
    restored = EmittedSummary.from_state(full.to_state(10**7), max_entries=budget // 2)
    assert restored.entries <= budget // 2 and restored.to_state(budget) == written
    restored.prune(hours(24 * 12))
    assert restored.entries == sum(len(d) for d in restored.days.values())


@pytest.mark.parametrize(
    "value", [None, {}, {"v": 1, "days": {"2026-01-01": "x"}}, "junk", {"v": 2, "days": []}]
)
def test_a_summary_from_another_release_or_garbage_is_empty(value):
    assert EmittedSummary.from_state(value).days == {}


def test_a_corrupt_day_is_dropped_not_trusted():
    summary = EmittedSummary()
    summary.add(hours(1), "a")
    state = summary.to_state(1000)
    day = next(iter(state["days"]))
    state["days"][day] = state["days"][day][:-3]
    assert EmittedSummary.from_state(state).lookup(hours(1), "a") is None


# Paging and parsing


def response(
    body: bytes, url: str = "https://x/calls?limit=50", headers: dict | None = None
) -> requests.Response:
    resp = requests.Response()
    resp._content = body
    resp.status_code = 200
    resp.headers.update(headers or {})
    resp.request = requests.Request("GET", url).prepare()
    return resp


def test_gong_cursor_paging():
    paginator = CursorPaginator()
    assert paginator.get_next(response(b'{"records": {"cursor": "abc"}, "calls": []}')) == "abc"
    assert paginator.continue_if_empty(response(b'{"records": {"cursor": "abc"}, "calls": []}'))
    assert paginator.get_next(response(b'{"records": {"totalRecords": 3}}')) is None
    assert paginator.get_next(response(b'{"errors": ["No calls found"]}')) is None


def test_clari_skip_paging_stops_at_the_cap():
    paginator = SkipPaginator("calls", 0)
    more = b'{"calls": [{}, {}], "pagination": {"hasMore": true, "nextPageSkip": 2}}'
    assert paginator.get_next(response(more)) == 2
    assert paginator.get_next(response(b'{"calls": [{}], "pagination": {"hasMore": false}}')) is None
    # Without a pagination object, a full page means more.
    assert SkipPaginator("calls", 50).get_next(response(b'{"calls": [' + b"{}," * 49 + b"{}]}")) == 100
    assert SkipPaginator("calls", 0).get_next(response(b'{"calls": [{}]}')) is None
    beyond = b'{"calls": [{}], "pagination": {"hasMore": true, "nextPageSkip": %d}}' % (MAX_SKIP + 50)
    assert paginator.get_next(response(beyond)) is None


def test_retry_after_in_both_forms():
    assert retry_after_seconds(response(b"", headers={"Retry-After": "7"})) == 7.0
    soon = (datetime.now(UTC) + timedelta(seconds=30)).strftime("%a, %d %b %Y %H:%M:%S GMT")
    assert 25 <= (retry_after_seconds(response(b"", headers={"Retry-After": soon})) or 0) <= 31
    assert retry_after_seconds(response(b"", headers={"Retry-After": "soon"})) is None
    assert retry_after_seconds(response(b"")) is None


def test_clari_listing_halves_overlap_by_a_second_and_fall_back_to_call_time():
    listing = Listing(hours(0), hours(10))
    first, second = listing.halves(hours(10)) or ()
    assert first.modified_gt == hours(0) and second.modified_lt == hours(10)
    assert second.modified_gt == first.modified_lt - BOUNDARY_OVERLAP
    bulk = Listing(hours(0), hours(0) + timedelta(seconds=2))
    low, high = bulk.halves(hours(1)) or ()
    assert low.time_gt is not None and high.time_lt is not None and low.modified_gt == bulk.modified_gt
    assert (
        Listing(hours(0), hours(0) + timedelta(seconds=2), hours(0), hours(0) + timedelta(seconds=3)).halves(
            hours(1)
        )
        is None
    )


def test_summary_token_ignores_signed_media_urls_only():
    item = {"id": "1", "status": "DONE", "audio_url": "https://a?t=1", "video_url": None}
    same = {**item, "audio_url": "https://a?t=2", "video_url": "https://v?t=2"}
    assert summary_token("1", item) == summary_token("1", same)
    assert summary_token("1", item) != summary_token("1", {**item, "status": "POST_PROCESSING_DONE"})


# Record builders


def test_call_record_flattens_metadata_and_fills_nested_party_keys():
    call = {
        "metaData": {"id": 123, "started": "2026-01-01T00:00:00Z", "duration": 61.0, "brandNew": 1},
        "parties": [{"id": "p1", "speakerId": "s1"}],
        "media": {"audioUrl": "u"},
    }
    record = call_record(call, include_media_urls=False)
    assert record["id"] == "123" and record["duration"] == 61 and record["brand_new"] == 1
    assert record["media_urls"] is None and record["title"] is None
    assert record["parties"][0]["speaker_id"] == "s1" and record["parties"][0]["email_address"] is None
    assert call_record(call, include_media_urls=True)["media_urls"] == {"audio_url": "u"}
    party = party_record(record, record["parties"][0])
    assert (party["call_id"], party["id"], party["call_started"]) == ("123", "p1", "2026-01-01T00:00:00Z")


def test_missing_ids_stay_missing_never_the_string_none():
    assert user_record({"emailAddress": "a@b"})["id"] is None
    assert user_record({"id": None})["id"] is None
    assert as_id(7.0) == "7" and as_id(7) == "7" and as_id("7") == "7" and as_id(None) is None


@pytest.mark.parametrize("error", [KeyError("missing"), LookupError("lookup"), RuntimeError("boom")])
def test_any_task_error_reaches_the_consumer_even_a_lookup_error(error):
    scheduler = Scheduler("x", RateLimiter(1000))

    def fail() -> None:
        raise error

    with pytest.raises(type(error)), scheduler.group() as group:
        group.submit("k", fail)
        list(group)
    scheduler.shutdown()


def test_a_task_that_maps_more_tasks_runs_them_inline_instead_of_deadlocking():
    scheduler = Scheduler("x", RateLimiter(1000), max_in_flight=1)

    def outer(i: int) -> list[int]:
        return list(scheduler.imap(lambda j: i * 10 + j, range(3)))

    assert list(scheduler.imap(outer, range(2))) == [[0, 1, 2], [10, 11, 12]]
    scheduler.shutdown()


# Transcripts kept as bodies: joined per call, decoded one call at a time


def test_transcript_records_join_parts_drop_repeats_and_unasked_calls():
    calls = [
        {
            "id": "1",
            "started": "2026-01-01T10:00:00Z",
            "parties": [{"id": "p", "speaker_id": "s1", "name": "Ann"}],
        },
        {"id": "2", "started": "2026-01-01T11:00:00Z", "parties": None},
    ]
    late = b'{"speakerId": "s1", "topic": null, "sentences": [{"start": 9000, "end": 9500, "text": "bye"}]}'
    early = b'{"speakerId": 7, "topic": "Intro", "sentences": [{"start": 10, "end": 500, "text": "hi"}]}'
    page1 = b'{"records": {"cursor": "c"}, "callTranscripts": [{"callId": 1, "transcript": [' + late + b"]}]}"
    page2 = (
        b'{"records": {}, "callTranscripts": [{"callId": "1", "transcript": [' + early + b"]},"
        b'{"callId": "1", "transcript": [' + late + b']}, {"callId": "2", "transcript": null},'
        b'{"callId": "3", "transcript": []}]}'
    )
    records = {r["call_id"]: r for r in transcript_records(calls, [page1, page2])}
    assert set(records) == {"1", "2"}  # call 3 was not asked for
    first = records["1"]
    assert first["call_started"] == "2026-01-01T10:00:00Z"
    assert [m["sentences"][0]["text"] for m in first["transcript"]] == ["hi", "bye"]  # time order, once each
    assert [m["speaker_id"] for m in first["transcript"]] == ["7", "s1"]
    assert first["transcript"][1]["speaker_name"] == "Ann"
    assert first["transcript"][0]["speaker_name"] is None
    assert records["2"]["transcript"] == []


def test_transcript_records_name_a_body_that_is_not_gongs_json():
    with pytest.raises(TapCallsError, match="/v2/calls/transcript"):
        list(transcript_records([{"id": "1", "started": None, "parties": None}], [b'{"callTranscripts": 5}']))


def test_a_gong_page_is_checked_whole_but_only_its_paging_object_decoded():
    page = response(
        b'{"records": {"totalRecords": 250, "cursor": "n"}, "calls": [{"metaData": {"started": '
        b'"2026-01-01T10:00:00Z"}, "parties": [1, 2]}, {"metaData": {"started": null}}]}'
    )
    check_page_json(page)
    assert next_cursor(page) == "n"
    assert not hasattr(page, "_tap_calls_json")  # nothing else was built
    assert CallsStream.started_times(page) == [datetime(2026, 1, 1, 10, tzinfo=UTC)]
    for garbled in (b'{"records": {"cursor": "n"}, "calls": [1,, 2]}', b'[{"records": {}}]', b'{"records": '):
        with pytest.raises(msgspec.DecodeError):
            check_page_json(response(garbled))


class _Bodies(list[bytes]):
    """A list that can be weakly referenced."""


def test_an_idle_worker_keeps_nothing_of_its_last_task():
    scheduler = Scheduler("test", RateLimiter(1000.0))
    payload = _Bodies([b"x" * 10])  # stands for a batch of transcript bodies
    alive = weakref.ref(payload)
    with scheduler.group() as group:
        group.submit("k", len, payload)
        assert [result for _, result in group] == [1]
    del payload
    gc.collect()
    assert alive() is None
    scheduler.shutdown()


def test_background_tasks_never_take_the_slots_of_the_streams_being_synced():
    scheduler = Scheduler("test", RateLimiter(1000.0))  # no latency known yet: 2 slots in flight
    release = threading.Event()
    background = scheduler.group(background=True)
    for key in ("users", "trackers"):
        background.submit(key, release.wait, 10)
    with scheduler.group() as foreground:
        for n in range(4):
            foreground.submit(n, lambda n: n * n, n)
        assert sorted(result for _, result in foreground) == [0, 1, 4, 9]  # while both background reads wait
    assert len(background.queued) == 1  # one background slot: the second read has not started
    assert background.withdraw() is False  # one of its tasks runs already
    release.set()
    assert sorted(key for key, _ in background) == ["trackers", "users"]
    waiting = scheduler.group(background=True)
    blocker = threading.Event()
    waiting.submit("a", blocker.wait, 10)
    queued = scheduler.group(background=True)
    queued.submit("b", len, "x")
    assert queued.withdraw() is True and queued.cancelled  # never started: the caller reads it itself
    blocker.set()
    assert [key for key, _ in waiting] == ["a"]
    scheduler.shutdown()
