"""`call_ids` (Gong) and `clari_call_ids` (Clari): the calls that exist now, so that a target honouring
ACTIVATE_VERSION marks (`_sdc_deleted_at`) or removes (`hard_delete`) the rows of calls deleted at the source
(interface.md, "Third release" > "Deleted calls"). Neither API has a delete feed or tombstones.

- `call_ids`: Gong `GET /v2/calls` (the cheapest listing: 100 calls a page, cursor in the query), in windows of
  at most 90 days, several chains at once on Gong's scheduler; `id`, `started`, `workspace_id`, `is_private`.
  Private calls only with `include_private_calls`; one workspace with `workspace_id`. The range is the one the
  tap extracts: from the `start_date` in force on the first run (kept in STATE; an earlier `start_date` set
  later widens it) to now, its start widened by a day because `GET /v2/calls` filters web conferences by their
  *scheduled* time while `calls` uses `started` (gong_api.md §3.1, §5.1). A call started before now but
  scheduled after it is listed by the next read (the doc's view counts a call extracted after the current
  `call_ids` rows as existing).
- `clari_call_ids`: Clari `GET /calls` listing only (no `/call-details`), by modification time from the same
  kind of stored start; a listing matching more than `skip` reaches (10,000) is split in two by time with
  `clari.Listing.halves`, earlier half first; `id`, `time`, `last_modified_time`, `status`.

Both read in full at most once per `call_ids_interval_hours` (default 168; 0 every run). A read is a run of
chunks (Gong windows, Clari listings) in time order; after each chunk STATE keeps the read's table version, how
far it got and how many calls it listed, so a read stopped early (`max_requests_per_run`, a quota stop, a kill)
is continued by the next run with the same version and ends in one ACTIVATE_VERSION covering all its records
(FullTableStream, table_versions). STATE of these streams:

    {"range_start": "<ISO>",                                    # the start in force on the first run
     "last_complete_read": "<ISO>", "last_complete_count": N,   # the last complete read (interval, guard)
     "last_version": V,                                         # its table version
     "read": {"version": V, "done_until": "<ISO>"|null, "listed": N}}   # a read not finished yet

Never a mass delete by mistake: a complete read that lists nothing, or fewer than half of the previous complete
read's count while that one listed 100 or more, writes no ACTIVATE_VERSION, one WARNING with both counts, and
does not count as complete (the interval is not reset; the next run reads again with a new version).

Cost of one `call_ids` read: at most ⌈calls ÷ 100⌉ + one request per 90-day window (an empty window is one 404);
a cursor that expires costs its chain again.
"""

from __future__ import annotations

import collections
import contextlib
import math
import threading
import typing as t
from datetime import datetime, timedelta

from typing_extensions import override

from tap_calls import table_versions
from tap_calls.bookmarks import LAST_COMPLETE_READ
from tap_calls.clari import BOUNDARY_OVERLAP as CLARI_OVERLAP
from tap_calls.clari import ClariStream, Listing
from tap_calls.client import FullTableStream, response_json
from tap_calls.dates import ceil_second, floor_second, iso, parse_datetime, utc_now
from tap_calls.gong import GongStream
from tap_calls.keys import as_id
from tap_calls.paging import MAX_SKIP, SkipPaginator, next_cursor, page_records, restart_on_expiry
from tap_calls.schemas.call_ids import CALL_IDS_SCHEMA, CLARI_CALL_IDS_SCHEMA
from tap_calls.splitting import consecutive, split_evenly
from tap_calls.windows import Window

if t.TYPE_CHECKING:
    from collections.abc import Iterator

    import requests
    from singer_sdk import Tap
    from singer_sdk.helpers.types import Context

Record = dict[str, t.Any]

SETTING = "call_ids_interval_hours"
DEFAULT_INTERVAL_HOURS = 168.0
# Gong GET /v2/calls: windows of at most this span (the contract's cost unit: one request per window at least).
GONG_WINDOW = timedelta(days=90)
# GET /v2/calls filters web conferences by scheduled time, `calls` by start: the range starts a day earlier.
SCHEDULE_SLACK = timedelta(days=1)
DEFAULT_START = timedelta(days=365)
# The guard: a read under half of the previous complete read's count, when that one listed at least this many.
GUARD_MIN_PREVIOUS = 100
PAGE_SIZE = 100  # Gong's fixed page
# With max_requests_per_run, a window or listing too large for the rest of the budget is cut, down to this span.
MIN_PART = timedelta(minutes=1)
CLARI_PAGE_SIZE = 100  # /calls items without details are small: 100 (the maximum) stay far below 6 MB


class CallIdsRead(FullTableStream):
    """What both streams share: the interval, the read spread over runs, its table version, the guard.

    A subclass implements `chunks(begin, end)`: the records of [begin, end) as `(records, until)` pairs in time
    order, every call before `until` being in that pair or an earlier one.
    """

    prefetchable = False  # many requests, and only when due
    # How far the range reaches before the start and past now (a subclass's).
    slack_before: t.ClassVar[timedelta] = SCHEDULE_SLACK
    slack_after: t.ClassVar[timedelta] = timedelta(0)

    def __init__(self, tap: Tap, **kwargs: t.Any) -> None:
        super().__init__(tap, **kwargs)
        self.run_started_at = utc_now()
        self._due: bool | None = None
        self._verdict: bool | None = None
        self.requests_sent = 0
        self._sent_lock = threading.Lock()

    # Settings and STATE

    @property
    def interval_hours(self) -> float:
        value = self.config.get(SETTING)
        return DEFAULT_INTERVAL_HOURS if value is None else float(value)

    @property
    def open_read(self) -> dict[str, t.Any] | None:
        """The read a previous run started and did not finish (`{"version", "done_until", "listed"}`)."""
        read = self.stream_state.get("read")
        if isinstance(read, dict) and isinstance(read.get("version"), int):
            return read
        return None

    def range_start(self) -> datetime:
        """The start in force on the first run (kept in STATE), or an earlier `start_date` set since."""
        configured = self.config.get("start_date")
        start = parse_datetime(str(configured)) if configured else self.run_started_at - DEFAULT_START
        kept = self.stream_state.get("range_start")
        if kept:
            with contextlib.suppress(ValueError):  # an unreadable value: as if none was kept
                start = min(start, parse_datetime(str(kept))) if configured else parse_datetime(str(kept))
        return floor_second(start)

    @property
    def due(self) -> bool:
        """Decided once per run, before the read: an open read is always continued; otherwise the interval."""
        if self._due is None:
            self._due = self.open_read is not None or LAST_COMPLETE_READ.due(
                self.stream_state, self.run_started_at, self.interval_hours
            )
        return self._due

    @override
    def reads_in_full(self) -> bool:
        return self.due and self.ABORT_AT_RECORD_COUNT is None

    @override
    def table_version(self) -> int:
        read = self.open_read
        if read is not None:
            return int(read["version"])
        version = self.__dict__.get("_table_version")
        if version is None:
            last = self.stream_state.get("last_version")
            version = table_versions.new_version(last if isinstance(last, int) else None)
            self.__dict__["_table_version"] = version
        return int(version)

    @override
    def may_activate(self) -> bool:
        return bool(self._verdict)

    # Requests: counted for the cost lines (every try through the rate gate, as the quota counts them).

    @override
    def _count(self, request: requests.PreparedRequest) -> None:
        with self._sent_lock:
            self.requests_sent += 1
            self.scheduler.requests_listing_ids += 1
        super()._count(request)

    def budget_left(self) -> int | None:
        """Requests `max_requests_per_run` still allows this source in this run (None: no budget)."""
        limiter = self.scheduler.limiter
        return None if limiter.max_requests is None else max(0, limiter.max_requests - limiter.requests)

    # The read

    def chunks(self, begin: datetime, end: datetime) -> Iterator[tuple[list[Record], datetime]]:
        """The records of [begin, end) as `(records, until)` pairs in time order (a subclass's)."""
        raise NotImplementedError

    def dry_run(self, end: datetime) -> Iterator[Record]:
        """`--test`: one page of the newest part of the range (a subclass's)."""
        raise NotImplementedError

    def plan_line(self, begin: datetime, end: datetime) -> str:
        """The plan logged when a read starts or continues: range, and the requests it will take."""
        return f"listing the calls that exist from {iso(begin)} to {iso(end)}"

    @override
    def read_records(self, context: Context | None) -> Iterator[Record]:
        end = ceil_second(self.run_started_at) + self.slack_after
        if self.ABORT_AT_RECORD_COUNT is not None:
            yield from self.dry_run(end)
            return
        if not self.due:
            self.logger.info(
                "%s: last read in full at %s, less than %s=%g hours ago; nothing read this run",
                self.name,
                LAST_COMPLETE_READ.last(self.stream_state),
                SETTING,
                self.interval_hours,
            )
            return
        state = self.stream_state
        state["range_start"] = iso(self.range_start())
        read = self.open_read
        if read is None:
            read = state["read"] = {"version": self.table_version(), "done_until": None, "listed": 0}
        begin = self.range_start() - self.slack_before
        if read.get("done_until"):
            begin = max(begin, parse_datetime(str(read["done_until"])))
            self.logger.info(
                "%s: continuing the read of table version %d (%d calls listed by earlier runs)",
                self.name,
                read["version"],
                read["listed"],
            )
        self.logger.info("%s: %s", self.name, self.plan_line(begin, end))
        batching = bool(self.get_batch_config(self.config))
        for records, until in self.chunks(begin, end):
            yield from records
            # Every record of the chunk was written (the SDK writes each before asking for the next).
            read["done_until"] = iso(until)
            read["listed"] = int(read["listed"]) + len(records)
            self.state_manager.is_flushed = False
            if not batching:  # in BATCH mode records wait in a batch file: no STATE may get ahead of them
                self._write_state_message()  # private SDK API (listed in tests/unit/test_sdk_private_names.py)
        self.finish(read)

    def finish(self, read: dict[str, t.Any]) -> None:
        """The read is complete: the guard, then (unless it refuses) the completion kept in STATE."""
        state = self.stream_state
        listed = int(read["listed"])
        previous = state.get("last_complete_count")
        previous = previous if isinstance(previous, int) else 0
        state.pop("read", None)
        self.state_manager.is_flushed = False
        if listed == 0 or (previous >= GUARD_MIN_PREVIOUS and listed < previous / 2):
            self._verdict = False
            self.logger.warning(
                "%s: this complete read listed %d calls, the previous complete read %d: no ACTIVATE_VERSION "
                "(rows of calls not listed stay unmarked), and the next run reads again. Check the %s "
                "credentials' access to calls if calls were not deleted",
                self.name,
                listed,
                previous,
                self.source,
            )
            return
        self._verdict = True
        LAST_COMPLETE_READ.stamp(self, self.run_started_at)
        state["last_complete_count"] = listed
        state["last_version"] = int(read["version"])
        self.logger.info(
            "%s: complete read of table version %d: %d calls; this run sent %d requests for it; %s: %s",
            self.name,
            read["version"],
            listed,
            self.requests_sent,
            self.source,
            self.scheduler.cost_line(),
        )


class CallIdsStream(CallIdsRead, GongStream):
    """`call_ids`: Gong GET /v2/calls in windows of at most 90 days, several cursor chains at once."""

    name = "call_ids"
    path = "/v2/calls"
    primary_keys = ("id",)
    schema = CALL_IDS_SCHEMA
    records_key = "calls"
    required_scope = "api:calls:read:basic"

    @override
    def get_url_params(self, context: Context | None, next_page_token: t.Any) -> dict[str, t.Any]:
        assert context is not None
        params: dict[str, t.Any] = {"fromDateTime": context["from"], "toDateTime": context["to"]}
        if self.config.get("workspace_id"):
            params["workspaceId"] = self.config["workspace_id"]
        if next_page_token:
            params["cursor"] = next_page_token  # GET: the cursor goes in the query (gong_api.md §2.2)
        return params

    @staticmethod
    def windows(begin: datetime, end: datetime) -> list[Window]:
        """[begin, end) in consecutive windows of at most 90 days."""
        return [Window(a, b) for a, b in consecutive(begin, end, GONG_WINDOW)]

    def call_record(self, raw: Record) -> Record | None:
        """A `call_ids` record from one item of GET /v2/calls; None for a private call (unless included)."""
        if raw.get("isPrivate") and not self.config.get("include_private_calls"):
            return None
        return {
            "id": as_id(raw.get("id")),
            "started": raw.get("started"),
            "workspace_id": as_id(raw.get("workspaceId")),
            "is_private": raw.get("isPrivate"),
        }

    def fetch_window(self, window: Window, first: requests.Response | None = None) -> list[Record]:
        """Every call of one window: its whole cursor chain, starting from `first` (its first page) when given;
        from page 1 again if the cursor expires."""
        context = {"from": iso(window.start), "to": iso(window.end)}
        firsts = [first] if first is not None else []

        def chain() -> Iterator[Record]:
            response = firsts.pop() if firsts else self.send_page(context)
            while True:
                yield from self.parse_response(response)
                token = next_cursor(response)
                if token is None:
                    return
                response = self.send_page(context, token)

        raws = restart_on_expiry(
            chain, key=lambda raw: repr(raw.get("id")), what=self.path, logger=self.logger
        )
        return [record for raw in raws if (record := self.call_record(raw)) is not None]

    @override
    def chunks(self, begin: datetime, end: datetime) -> Iterator[tuple[list[Record], datetime]]:
        windows = self.windows(begin, end)
        if self.budget_left() is None:
            # Several cursor chains at once; results come in the windows' order: when one is yielded, every
            # earlier window was too.
            for window, records in zip(windows, self.scheduler.imap(self.fetch_window, windows), strict=True):
                yield records, window.end
            return
        yield from self.budget_chunks(windows)

    def budget_chunks(self, windows: list[Window]) -> Iterator[tuple[list[Record], datetime]]:
        """With `max_requests_per_run`: one window at a time, earliest first, each cut (once its first page
        gives `totalRecords`) into parts whose pages fit in what is left of the budget, so every run finishes
        windows (moves the read on) instead of stopping inside one."""
        pending = collections.deque(windows)
        while pending:
            window = pending.popleft()
            first = self.send_page({"from": iso(window.start), "to": iso(window.end)})
            total = (
                0
                if self.is_empty_result(first)
                else int((page_records(first) or {}).get("totalRecords") or 0)
            )
            left = self.budget_left() or 0
            more = math.ceil(total / PAGE_SIZE) - 1  # pages after the first
            if more > left and window.end - window.start > 2 * MIN_PART:
                parts = split_evenly(window, math.ceil(total / (PAGE_SIZE * max(1, left))), MIN_PART)
                if len(parts) > 1:
                    self.logger.info(
                        "%s: %s holds %d calls, more than %d requests left in this run list: reading it in %d "
                        "parts",
                        self.name,
                        window,
                        total,
                        left,
                        len(parts),
                    )
                    pending.extendleft(reversed(parts))
                    continue
            yield self.fetch_window(window, first), window.end

    @override
    def dry_run(self, end: datetime) -> Iterator[Record]:
        window = self.windows(max(self.range_start(), end - GONG_WINDOW), end)[-1]
        response = self.send_page({"from": iso(window.start), "to": iso(window.end)})
        for raw in self.parse_response(response):
            record = self.call_record(raw)
            if record is not None:
                yield record

    @override
    def plan_line(self, begin: datetime, end: datetime) -> str:
        windows = len(self.windows(begin, end))
        previous = self.stream_state.get("last_complete_count")
        known = f"{previous} calls at the last complete read" if isinstance(previous, int) else "size unknown"
        estimate = (
            f"about {math.ceil(previous / 100) + windows} requests"
            if isinstance(previous, int)
            else f"at most one request per 100 calls plus {windows}"
        )
        budget = self.scheduler.limiter.max_requests
        if budget and isinstance(previous, int):
            estimate += (
                f", about {math.ceil((math.ceil(previous / 100) + windows) / budget)} runs of {budget}"
            )
        return (
            f"{super().plan_line(begin, end)} in {windows} windows of at most 90 days ({known}): {estimate}"
        )


class ClariCallIdsStream(CallIdsRead, ClariStream):
    """`clari_call_ids`: Clari GET /calls (no details), by modification time, split past `skip`'s reach."""

    name = "clari_call_ids"
    path = "/calls"
    primary_keys = ("id",)
    schema = CLARI_CALL_IDS_SCHEMA
    records_key = "calls"
    default_page_size = CLARI_PAGE_SIZE
    # Modification times only grow: a call modified since the start is all `clari_calls` can hold.
    slack_before = slack_after = CLARI_OVERLAP

    def __init__(self, tap: Tap, **kwargs: t.Any) -> None:
        super().__init__(tap, **kwargs)
        self.listings = 0
        self.unlisted = 0

    @override
    def get_url_params(self, context: Context | None, next_page_token: t.Any) -> dict[str, t.Any]:
        assert context is not None
        listing: Listing = context["listing"]
        return {**listing.params(), "sortTime": "asc", "limit": self.page_size, "skip": next_page_token or 0}

    def too_large(self, matched: int) -> bool:
        """Whether a listing matching this many calls is read as two halves: beyond what `skip` reaches, or
        (with `max_requests_per_run`) more pages than the rest of the run's budget, so every run finishes
        listings (moves the read on) instead of stopping inside one."""
        pages_after_first = math.ceil(matched / self.page_size) - 1
        left = self.budget_left()
        return matched > MAX_SKIP + self.page_size or (left is not None and pages_after_first > left)

    @staticmethod
    def call_record(raw: Record) -> Record:
        return {
            "id": as_id(raw.get("id")),
            "time": raw.get("time"),
            "last_modified_time": raw.get("last_modified_time") or raw.get("lastModifiedTime"),
            "status": raw.get("status"),
        }

    @override
    def chunks(self, begin: datetime, end: datetime) -> Iterator[tuple[list[Record], datetime]]:
        seen: set[str] = set()
        yield from self.listing_chunks(Listing(begin - CLARI_OVERLAP, end), seen)
        if self.unlisted:
            # A call the listing counted but never returned would be taken for deleted: not a complete read.
            msg = (
                f"{self.name}: /calls counted {self.unlisted} more calls than it returned (changed while paged); "
                "this read does not count as complete"
            )
            self.logger.warning("%s", msg)
            raise _Incomplete(msg)

    def listing_chunks(self, listing: Listing, seen: set[str]) -> Iterator[tuple[list[Record], datetime]]:
        """One listing's calls not in `seen` as one chunk ending at its upper bound; a listing `skip` cannot
        page through, or one that returned fewer calls than it matched, is read as its two halves instead."""
        self.listings += 1
        records: list[Record] = []
        returned: set[str] = set()
        matched = None
        skip: int | None = 0
        while skip is not None:
            response = self.send_page({"listing": listing}, skip)
            body = response_json(response)
            if matched is None:
                matched = int((body.get("pagination") or {}).get("matched") or 0)
                if self.too_large(matched) and (halves := listing.halves(self.run_started_at)):
                    for half in halves:
                        yield from self.listing_chunks(half, seen)
                    return
            for raw in self.parse_response(response):
                record = self.call_record(raw)
                if record["id"] is None:
                    continue
                returned.add(record["id"])
                if record["id"] not in seen:
                    seen.add(record["id"])
                    records.append(record)
            skip = SkipPaginator(self.records_key, skip).get_next(response)
        if matched is not None and len(returned) < matched:
            halves = listing.halves(self.run_started_at) if matched > self.page_size else None
            if halves is not None:
                self.logger.info(
                    "%s: %s matched %d calls, returned %d; listing it in two parts",
                    self.name,
                    listing.params(),
                    matched,
                    len(returned),
                )
                if records:
                    yield records, listing.modified_gt + CLARI_OVERLAP
                for half in halves:
                    yield from self.listing_chunks(half, seen)
                return
            self.unlisted += matched - len(returned)
        yield records, listing.modified_lt

    @override
    def read_records(self, context: Context | None) -> Iterator[Record]:
        try:
            yield from super().read_records(context)
        except _Incomplete:
            self._verdict = False
            self.stream_state.pop("read", None)

    @override
    def dry_run(self, end: datetime) -> Iterator[Record]:
        listing = Listing(end - timedelta(days=30), end)
        for raw in self.parse_response(self.send_page({"listing": listing}, 0)):
            yield self.call_record(raw)


class _Incomplete(Exception):
    """A read that reached its end without listing every call it counted."""


def call_ids_streams(tap: Tap, *, gong: t.Any = None, clari: t.Any = None) -> list[CallIdsRead]:
    """The streams of this module on the given sources' schedulers (None: that source is not configured)."""
    streams: list[CallIdsRead] = []
    if gong is not None:
        streams.append(CallIdsStream(tap, scheduler=gong))
    if clari is not None:
        streams.append(ClariCallIdsStream(tap, scheduler=clari))
    return streams
