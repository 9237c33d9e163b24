"""Unit tests of tap_calls/page_chains.py (the chains' shared state behind one lock, the worker's page task)
and tap_calls/request_budget.py, without HTTP: a stand-in stream answers pages from memory."""

from __future__ import annotations

import json
import threading
import typing as t
from datetime import UTC, datetime, timedelta

import requests

from tap_calls.page_chains import NEVER_SPLIT, ChainPager, PageChains, PageTask, SplitRule
from tap_calls.request_budget import GongBudget
from tap_calls.scheduler import RateLimiter, Scheduler
from tap_calls.splitting import GongSizing
from tap_calls.transcript_batches import CallBatches, TranscriptBatcher
from tap_calls.windows import Window

T0 = datetime(2026, 1, 1, tzinfo=UTC)
WINDOW = Window(T0, T0 + timedelta(days=10))


def page(total: int, cursor: str | None, started: list[datetime] | None = None) -> requests.Response:
    response = requests.Response()
    response.status_code = 200
    calls = [{"metaData": {"started": s.isoformat()}} for s in started or []]
    records = {"totalRecords": total, **({"cursor": cursor} if cursor else {})}
    response._content = json.dumps({"records": records, "calls": calls}).encode()
    return response


class FakeStream:
    """What ChainPager asks of `CallsStream`: pages by cursor, totals, started times, the scheduler."""

    requests_per_page = 2

    def __init__(self, pages: dict[str | None, requests.Response], scheduler: Scheduler) -> None:
        self.pages = pages
        self.scheduler = scheduler
        self.fetched: list[str | None] = []

    def fetch_page(self, window: Window, cursor: str | None) -> requests.Response | None:
        self.fetched.append(cursor)
        return self.pages[cursor]

    def window_total(self, response: requests.Response) -> int:
        return int(response.json()["records"]["totalRecords"])

    def started_times(self, response: requests.Response) -> list[datetime]:
        return [datetime.fromisoformat(c["metaData"]["started"]) for c in response.json()["calls"]]


def test_follow_counts_a_request_unless_held_or_closed_and_knows_the_pages_left():
    chains = PageChains()
    chains.open(WINDOW)
    chains.sent(WINDOW, None)
    assert chains.pages_left(WINDOW) is None  # the first page is not in
    assert chains.follow(WINDOW, "c1", total=450)  # 5 pages: the first and "c1" requested
    assert chains.pages_left(WINDOW) == 3 and chains.in_flight == 2
    chains.hold(True)
    assert not chains.follow(WINDOW, "c2", total=None)
    chains.hold(False)
    chains.close(WINDOW)
    assert not chains.follow(WINDOW, "c2", total=None) and WINDOW not in chains
    chains.answered()
    assert chains.in_flight == 1


def test_workers_following_at_once_count_every_request_once():
    chains = PageChains()
    windows = [Window(T0 + timedelta(days=n), T0 + timedelta(days=n + 1)) for n in range(8)]
    for window in windows:
        chains.open(window)
        chains.sent(window, None)

    def follow(window: Window) -> None:
        for n in range(500):
            chains.follow(window, f"c{n}", total=100_000)

    threads = [threading.Thread(target=follow, args=(w,)) for w in windows for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # Each window: its first page, then 1,000 follow-ups counted once each (two threads, 500 each).
    assert chains.in_flight == 8 * 1001
    assert {chains.pages_left(w) for w in windows} == {0}  # 1,000 pages of 100,000 calls: all requested


def run_pager(
    pages: dict[str | None, requests.Response], split: SplitRule | None
) -> tuple[FakeStream, list[t.Any]]:
    scheduler = Scheduler("gong", RateLimiter(1000), max_in_flight=4)
    stream = FakeStream(pages, scheduler)
    with scheduler.group() as group:
        pager = ChainPager(t.cast("t.Any", stream), group, GongSizing(), dry_run=False)
        pager.chains.open(WINDOW)
        pager.request(PageTask(WINDOW, None, split), None, hold=False)
        answers = [(task, answer) for task, answer in group]
    scheduler.shutdown()
    return stream, answers


def test_a_worker_follows_the_chain_to_its_last_page_when_the_first_does_not_split():
    pages = {None: page(250, "c1"), "c1": page(250, "c2"), "c2": page(250, None)}
    stream, answers = run_pager(pages, SplitRule(threshold=1500))
    assert stream.fetched == [None, "c1", "c2"]
    assert [(task.cursor, answer.followed) for task, answer in answers] == [
        (None, True),
        ("c1", True),
        ("c2", False),
    ]
    assert answers[0][1].decided and answers[0][1].parts is None


def test_a_first_page_above_the_threshold_is_split_on_the_worker_and_not_followed():
    spread = [T0 + timedelta(hours=4 * n) for n in range(60)]
    stream, answers = run_pager({None: page(3000, "c1", spread)}, SplitRule(threshold=1500, target=1000))
    ((_task, answer),) = answers
    assert stream.fetched == [None] and answer.decided and not answer.followed
    assert answer.parts is not None and len(answer.parts) == 3


def test_with_a_budget_the_worker_leaves_the_first_page_to_the_streams_thread():
    stream, answers = run_pager({None: page(250, "c1")}, None)
    ((_task, answer),) = answers
    assert stream.fetched == [None] and not answer.decided and not answer.followed
    _, answers = run_pager({None: page(250, "c1"), "c1": page(250, None)}, NEVER_SPLIT)
    assert [a.followed for _, a in answers] == [True, False]


def test_the_budget_opens_a_window_only_when_what_is_left_covers_it():
    scheduler = Scheduler("gong", RateLimiter(1000), max_in_flight=4)
    stream = FakeStream({}, scheduler)
    left = {"n": 30}
    with scheduler.group() as group:
        pager = ChainPager(t.cast("t.Any", stream), group, GongSizing(), dry_run=False)
        batcher = TranscriptBatcher(CallBatches(), batch_size=100, in_flight_target=lambda: 4)
        budget = GongBudget(lambda: left["n"], pager, batcher)
        pager.chains.open(WINDOW)
        pager.chains.sent(WINDOW, None)
        pager.chains.follow(
            WINDOW, "c1", total=1000
        )  # 10 pages: 8 not requested yet, 16 requests with batches
        assert budget.reserved() == 16
        part = Window(WINDOW.end, WINDOW.end + timedelta(days=1))
        pager.targets[part] = (700, 1400)  # 7 pages and 7 batches
        assert budget.affordable(part)  # 30 - 16 = 14 spare, the part needs 14
        left["n"] = 29
        assert not budget.affordable(part)
        # 13 spare cover 6 pages with their batches: 600 calls fit in a window (its first page included).
        assert budget.calls_that_fit(part) == 600
        pager.chains.close(WINDOW)
        assert budget.reserved() == 0 and budget.affordable(part)
        left["n"] = 5
        assert not budget.affordable(part)  # nothing paged, and less than a useful part is left
    scheduler.shutdown()
