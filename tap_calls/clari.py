"""Clari Copilot: `clari_calls`, each call of GET /calls merged with its GET /call-details.

Calls are listed by `last_modified_time` (filterModifiedGt/Lt, the upper bound frozen at the run's start)
through `ClariListing`, which owns the page size, the 10,000 `skip` cap, splitting and the 502 page-halving.
Details cost one request per call: the source's scheduler keeps as many in flight as Clari's latency and
the 10/s cap call for. A look-back re-read fetches details only for calls that are new or changed.
"""

from __future__ import annotations

import collections
import hashlib
import threading
import typing as t
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from functools import cached_property

import msgspec
import requests
from singer_sdk.authenticators import APIAuthenticatorBase
from singer_sdk.pagination import BaseAPIPaginator
from typing_extensions import override

from tap_calls.bookmarks import BookmarkedByRun
from tap_calls.client import SourceStream, quiet_child_syncs, response_json
from tap_calls.dates import iso, parse_datetime
from tap_calls.errors import RetryWaitTooLong, TapCallsError
from tap_calls.keys import as_id, snake_keys
from tap_calls.paging import MAX_SKIP, SkipPaginator
from tap_calls.schemas.clari import CLARI_CALL_SCHEMA, CLARI_FIELDS, CLARI_LINE_SCHEMA
from tap_calls.speakers import add_clari_speakers, clari_user_names
from tap_calls.splitting import clari_parts, middle_second
from tap_calls.transcript_rows import line_count, line_records
from tap_calls.windowed import WindowedRun, WindowedStream
from tap_calls.windows import ReadPlan, Window

if t.TYPE_CHECKING:
    from collections.abc import Iterator

    from singer_sdk import Tap
    from singer_sdk.helpers.types import Context

    from tap_calls.windows import EmittedSummary


# Clari answers with at most 6 MB and gives 502s on large pages (its staff advised 25 to a user listing
# 100). List items carry no transcript or summary, so 50 stays far below 6 MB (at 10 KB a call, 0.5 MB),
# within the 25-50 the reference recommends, and halves what listing takes of the 10/s budget vs 25.
# Clari's advice for a 502 on a page: retry with a smaller `limit`. Halved on each, down to this.
MIN_PAGE_SIZE = 5
# Bounds for splitting on call time (filterTimeGt/Lt) once a second of modification times matches too much.
CALL_TIME_FLOOR = datetime(1970, 1, 1, tzinfo=UTC)
CALL_TIME_CEILING_AHEAD = timedelta(days=3650)
# Gt/Lt may be strict: listings overlap by a second (the filters' precision) so a call modified exactly on a
# boundary is not lost; the repeat is skipped.
BOUNDARY_OVERLAP = timedelta(seconds=1)
# A range whose first page matches more calls than this is read as several windows (each a watermark step,
# and what a stop may lose: 500 details are 50 s at Clari's cap).
WINDOW_RECORDS = 500
# Windows listed at once: details are the bulk (one request a call); one window's listing ahead keeps the
# details queue full while the earliest window's details finish.
MAX_ACTIVE_WINDOWS = 2
# With `max_requests_per_run`, a window is opened only when at least this much of the budget is left for it.
MIN_USEFUL_REQUESTS = 12
# Signed media URLs change on every listing: they do not make a call "changed".
UNHASHED_FIELDS = ("audioUrl", "videoUrl", "audio_url", "video_url")


class ClariAuthenticator(APIAuthenticatorBase):
    """Clari wants both headers on every request (clari_api.md §1)."""

    def __init__(self, api_key: str, api_password: str) -> None:
        super().__init__()
        self.auth_headers = {"X-Api-Key": api_key, "X-Api-Password": api_password}


class PageTooLarge(Exception):
    """Clari's 502 on a page of a listing: its answer would pass the 6 MB cap."""


class ClariStream(SourceStream):
    """Base of the Clari Copilot streams: one key pair, no scopes."""

    source = "Clari Copilot"
    url_setting = "clari_api_url"
    credential_settings = "clari_api_key and clari_api_password"

    @cached_property
    @override
    def authenticator(self) -> ClariAuthenticator:
        return ClariAuthenticator(self.config["clari_api_key"], self.config["clari_api_password"])

    # Listings ask for pages of this many items, halved on each 502 (Clari's 6 MB cap) down to MIN_PAGE_SIZE.
    default_page_size: t.ClassVar[int] = 50

    def __init__(self, tap: Tap, **kwargs: t.Any) -> None:
        super().__init__(tap, **kwargs)
        self.page_size = self.default_page_size

    @override
    def get_new_paginator(self) -> BaseAPIPaginator[t.Any]:
        return SkipPaginator(self.records_key)

    @override
    def send_page(self, context: Context | None, token: t.Any = None) -> requests.Response:
        """One page of a listing; a 502 is asked for again with half the page size, as Clari advises
        (clari_api.md: answers are capped at 6 MB). The size only shrinks, for the rest of the run."""
        while True:
            size = self.page_size
            try:
                return self.send(context, token)
            except PageTooLarge:
                if self.page_size == size:
                    self.page_size = max(MIN_PAGE_SIZE, size // 2)
                    self.logger.warning(
                        "%s: HTTP 502 on %s; asking for %d per page", self.name, self.path, self.page_size
                    )

    @override
    def validate_response(self, response: requests.Response) -> None:
        if (
            response.status_code == 502
            and self.endpoint_of(response.request) == self.path
            and self.page_size > MIN_PAGE_SIZE
        ):
            raise PageTooLarge
        super().validate_response(response)


class ClariDirectory:
    """Clari Copilot's `GET /users`, read once per run and shared by `clari_users` and `clari_calls`.

    `clari_users` emits the users; `clari_calls` resolves internal speakers' names from them (the contract:
    "GET /users is read once per run and shared with clari_users"). The tap makes one directory per run in
    `discover_streams` and hands it to both streams.

    The first stream to ask fetches it through its own request layer (the Clari rate cap, retries, one-line
    errors); a caller on another thread meanwhile waits for that one request. A failure is kept and raised
    again to later callers, so the endpoint is asked once per run: `clari_users` fails with it, the speaker
    join (`names_or_none`) gets None and logs one WARNING.
    """

    path = "/users"

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._users: list[dict[str, t.Any]] | None = None
        self._error: Exception | None = None
        self._warned = False

    def users(self, stream: SourceStream) -> list[dict[str, t.Any]]:
        """The users as the API sent them (`{id, email, name, role, is_recording, manager_id?}`); shared, so
        callers must not change them."""
        with self._lock:
            if self._users is None and self._error is None:
                try:
                    self._users = self._fetch(stream)
                except Exception as exc:
                    self._error = exc
            if self._error is not None:
                raise self._error
            assert self._users is not None
            return self._users

    def names(self, stream: SourceStream) -> dict[str, str]:
        """User id (as text) to name, for the speaker join (`speakers.clari_user_names`)."""
        return clari_user_names(self.users(stream))

    def names_or_none(self, stream: SourceStream) -> dict[str, str] | None:
        """`names`, or None when `GET /users` failed: the contract's "a failed GET /users leaves internal names
        null with one WARNING" (one per run, whichever stream asks). A Retry-After beyond
        `max_retry_wait_seconds` still ends the run, as it does for any request."""
        try:
            return self.names(stream)
        except RetryWaitTooLong:
            raise
        except (TapCallsError, requests.RequestException, ValueError) as exc:
            with self._lock:
                warn, self._warned = not self._warned, True
            if warn:
                stream.logger.warning(
                    "%s: GET /users failed (%s); transcript speakers who are Copilot users keep a null "
                    "speaker_name in this run",
                    stream.name,
                    exc,
                )
            return None

    def _fetch(self, stream: SourceStream) -> list[dict[str, t.Any]]:
        request = stream.build_prepared_request(
            method="GET", url=stream.url_base + self.path, headers=stream.http_headers
        )
        body = response_json(stream.sender(request, None))
        users = body.get("users") if isinstance(body, dict) else None
        return [u for u in users or () if isinstance(u, dict)]


@dataclass(frozen=True)
class Listing:
    """One /calls filter: a range of modification times, optionally narrowed to a range of call times.

    Bounds are whole seconds and the filters may be strict, so each half of a split starts a second
    before the other ends: a call exactly on the boundary is listed (twice at worst, and kept once).
    """

    modified_gt: datetime
    modified_lt: datetime
    time_gt: datetime | None = None
    time_lt: datetime | None = None

    def params(self) -> dict[str, str]:
        """The query filters of this listing."""
        params = {"filterModifiedGt": iso(self.modified_gt), "filterModifiedLt": iso(self.modified_lt)}
        if self.time_gt is not None and self.time_lt is not None:
            params |= {"filterTimeGt": iso(self.time_gt), "filterTimeLt": iso(self.time_lt)}
        return params

    def halves(self, now: datetime) -> tuple[Listing, Listing] | None:
        """Two listings that together hold this one's calls and each fewer; None when it cannot shrink."""
        gt, lt = self.modified_gt, self.modified_lt
        if middle := middle_second(gt, lt, BOUNDARY_OVERLAP):
            return replace(self, modified_lt=middle), replace(self, modified_gt=middle - BOUNDARY_OVERLAP)
        # Calls modified within the same few seconds (a bulk update): split on call time instead.
        low = self.time_gt or CALL_TIME_FLOOR
        high = self.time_lt or now + CALL_TIME_CEILING_AHEAD
        if middle := middle_second(low, high, BOUNDARY_OVERLAP):
            return replace(self, time_gt=low, time_lt=middle), replace(
                self, time_gt=middle - BOUNDARY_OVERLAP, time_lt=high
            )
        return None


class ClariListing:
    """Pages of GET /calls for one stream: page size (halved on a 502, as Clari advises), the `skip` cap.

    Thread-safe enough for the scheduler: the page size only ever shrinks.
    """

    def __init__(self, stream: ClariCallsStream) -> None:
        self.stream = stream

    @property
    def page_size(self) -> int:
        return self.stream.page_size

    def fetch_page(self, listing: Listing, skip: int) -> requests.Response:
        """One page (a scheduler task); a 502 is asked for again smaller (ClariStream.send_page)."""
        return self.stream.send_page({"listing": listing}, skip)

    def next_skip(self, response: requests.Response, skip: int) -> int | None:
        """The next page's `skip`, None after the last page or at the 10,000 cap."""
        paginator = SkipPaginator("calls", skip)
        return paginator.get_next(response)

    @staticmethod
    def matched(response: requests.Response) -> int:
        """How many calls the whole listing matches (`pagination.matched`)."""
        return int((response_json(response).get("pagination") or {}).get("matched") or 0)

    def too_large(self, matched: int) -> bool:
        """Whether a listing matching this many calls cannot be paged within `skip` <= 10,000."""
        return matched > MAX_SKIP + self.page_size


@dataclass(frozen=True)
class _ListingPage:
    """A page of a listing (a scheduler task's key): `skip` calls in."""

    listing: Listing
    skip: int


@dataclass(frozen=True)
class _Details:
    """The /call-details of a listed call (a scheduler task's key): its window, the list item, and what the
    look-back summary knows it by (`instant`, `token`)."""

    window: Window
    call_id: str
    call: dict[str, t.Any]
    instant: datetime | None
    token: str


@dataclass
class _ListingProgress:
    window: Window
    first: bool  # the listing that opens its window (it may still split the window)
    returned: set[str] = field(default_factory=set)
    matched: int = 0


@dataclass
class _WindowProgress:
    listings: int = 0
    details: int = 0


class ClariCallsStream(WindowedStream, ClariStream):
    """Clari calls: listings by modification time, details fetched concurrently (see the module docstring)."""

    name = "clari_calls"
    path = "/calls"
    primary_keys = ("id",)
    replication_key = "last_modified_time"
    schema = CLARI_CALL_SCHEMA
    records_key = "calls"
    # STATE characters for the look-back summary (the rest of 64 KB after Gong's `calls`).
    summary_budget = 20_000

    def __init__(self, tap: Tap, *, directory: ClariDirectory, **kwargs: t.Any) -> None:
        super().__init__(tap, **kwargs)
        self.directory = directory
        self.listing = ClariListing(self)
        self.calls_not_found = 0
        self.calls_unlisted = 0
        self.calls_unchanged = 0
        self.lines_new = False

    @property
    @override
    def bookmark_streams(self) -> list[SourceStream]:
        """This stream and `clari_transcript_lines`, whose bookmark its windows move too."""
        return [self, *t.cast("list[SourceStream]", self.child_streams)]

    @override
    def generate_child_contexts(
        self, record: dict[str, t.Any], context: Context | None
    ) -> t.Iterable[Context | None]:
        return ()  # the SDK would sync children before writing the record: emit_lines does it after

    @property
    def lines(self) -> ClariTranscriptLinesStream | None:
        """The `clari_transcript_lines` child, when selected."""
        return next(
            (c for c in self.child_streams if isinstance(c, ClariTranscriptLinesStream) and c.selected), None
        )

    def already_emitted(self, instant: datetime | None, token: str, summary: EmittedSummary) -> bool:
        """Whether the look-back summary says this very list item was handled before (emitted, or unknown
        to /call-details), so its details are not fetched again. Never while `clari_transcript_lines` is new
        in this run (no bookmark of its own): the summary speaks of what was emitted without it."""
        return instant is not None and not self.lines_new and summary.lookup(instant, token) is not None

    def details_record(self, listed: dict[str, t.Any], details: dict[str, t.Any]) -> dict[str, t.Any]:
        """The `clari_calls` record of a listed call and its /call-details `call`: merged, speakers joined
        (internal names need the run's one GET /users), `transcript_line_count` set."""
        record = clari_call_record(listed, details)
        if record.get("transcript"):
            names = self.user_names() if record.get("users") else None
            record["transcript"] = add_clari_speakers(record, names)
        record["transcript_line_count"] = line_count(record.get("transcript"))
        return record

    def take_lines(self, record: dict[str, t.Any]) -> tuple[str, list[dict[str, t.Any]]] | None:
        """The call's `clari_transcript_lines` rows when that stream is selected, built before the record is
        yielded (the SDK drops a record's deselected properties in place once it has it)."""
        if self.lines is None:
            return None
        return record["id"], line_records(record)

    def emit_lines(self, taken: tuple[str, list[dict[str, t.Any]]] | None) -> None:
        """Sync `clari_transcript_lines` for one call, after its `clari_calls` record was written."""
        lines = self.lines
        if taken is None or lines is None:
            return
        call_id, rows = taken
        lines.pending[call_id] = rows
        try:
            self._sync_children({"call_id": call_id})  # private SDK API: Stream._sync_children
        finally:
            lines.pending.pop(call_id, None)

    @override
    def get_url_params(self, context: Context | None, next_page_token: int | None) -> dict[str, t.Any]:
        assert context is not None
        listing: Listing = context["listing"]
        return {
            **listing.params(),
            "sortTime": "asc",
            "limit": self.page_size,
            "skip": next_page_token or 0,
        }

    @override
    def is_empty_result(self, response: requests.Response) -> bool:
        # An id /call-details does not know (deleted since it was listed): skipped, as Clari advises.
        return response.status_code == 404 and self.endpoint_of(response.request) == "/call-details"

    def fetch_details(self, call_id: str) -> dict[str, t.Any] | None:
        """The `call` of GET /call-details (a scheduler task); None when Clari does not know the id."""
        request = self.build_prepared_request(
            method="GET",
            url=self.url_base + "/call-details",
            params={"id": call_id},
            headers=self.http_headers,
        )
        response = self.sender(request, None)
        if self.is_empty_result(response):
            return None
        return response_json(response).get("call") or {}

    def user_names(self) -> dict[str, str] | None:
        """Copilot user names by user id for the speaker join: the run's one GET /users (ClariDirectory)."""
        return self.directory.names_or_none(self)

    @override
    def start_run(self, plan: ReadPlan) -> _ClariRun:
        lines = self.lines
        self.lines_new = lines is not None and self.bookmark_of(lines) is None
        return _ClariRun(self, plan)

    @override
    def log_summary(self) -> None:
        super().log_summary()
        if self.calls_unchanged:
            self.logger.info(
                "clari_calls: %d re-listed calls were unchanged (no details requested)", self.calls_unchanged
            )
        if self.calls_unlisted:
            self.logger.warning(
                "clari_calls: /calls counted %d more calls than it returned, even one page at a time",
                self.calls_unlisted,
            )
        if self.calls_not_found:
            self.logger.warning(
                "clari_calls: %d listed calls were unknown to /call-details (404) and skipped",
                self.calls_not_found,
            )


class _ClariRun(WindowedRun):
    """One run of `clari_calls`: listings paged one page at a time, details many at once, the watermark.

    Read for progress: the gaps earlier runs left, earliest first, at most `MAX_ACTIVE_WINDOWS` windows
    listed at once and the earliest window's details first, so windows finish in order; a window whose first
    page matches more than `WINDOW_RECORDS` calls, or more than what is left of `max_requests_per_run` covers
    (a listing page per 50 calls and a details request per call), is read as parts that fit.
    """

    stream: ClariCallsStream

    def __init__(self, stream: ClariCallsStream, plan: ReadPlan) -> None:
        super().__init__(stream, plan)
        self.listing = stream.listing
        self.windows: dict[Window, _WindowProgress] = {}
        self.listings: dict[Listing, _ListingProgress] = {}
        self.waiting: collections.deque[tuple[Listing, int]] = collections.deque()
        self.listed: set[str] = set()
        self.details_in_flight = 0
        self.pending: list[Window] = []  # windows not listed yet, earliest last
        self.active: set[Window] = set()
        self.targets: dict[Window, int] = {}  # calls a part of a split window is expected to hold

    @property
    def max_details_waiting(self) -> int:
        # Listing runs ahead of details by this much at most: bounded memory, never an idle cap.
        return 4 * self.stream.scheduler.max_in_flight

    @override
    def on_result(self, task: _ListingPage | _Details, result: t.Any) -> Iterator[dict[str, t.Any]]:
        if isinstance(task, _ListingPage):
            self.on_page(task.listing, task.skip, result)
        else:
            self.details_in_flight -= 1
            yield from self.on_details(task, result)

    @override
    def advance(self) -> None:
        while self.waiting and self.details_in_flight < self.max_details_waiting:
            self.request_page(*self.waiting.popleft())
        self.activate()

    @override
    def open_window(self, window: Window) -> None:
        super().open_window(window)
        self.windows[window] = _WindowProgress()
        self.pending.append(window)
        self.pending.sort(reverse=True)

    def activate(self) -> None:
        """List the earliest pending windows while fewer than `MAX_ACTIVE_WINDOWS` are listed and what is
        left of the budget covers them."""
        while self.pending and len(self.active) < MAX_ACTIVE_WINDOWS:
            window = self.pending[-1]
            left = self.budget_left()
            # When no window is listed, a larger one is opened still if a useful part of it fits: its first
            # page then cuts it to fit (parts_for).
            if left is not None:
                spare, need = left - self.reserved(), self.cost(self.targets.get(window, 0)) + 1
                if spare < need and (self.active or spare < MIN_USEFUL_REQUESTS):
                    return
            self.pending.pop()
            self.active.add(window)
            self.start_listing(window, Listing(window.start - BOUNDARY_OVERLAP, window.end), first=True)

    def cost(self, calls: int) -> int:
        """Requests `calls` calls of one window cost at most: listing pages and one details request each."""
        return -(-calls // self.listing.page_size) + calls

    def reserved(self, but: Window | None = None) -> int:
        """Requests the listed windows (except `but`) may still need: their calls not listed yet, and the
        details asked for and not answered (some of them already sent: an overestimate, never an overrun)."""
        need = self.details_in_flight
        for progress in self.listings.values():
            if progress.window == but:
                continue
            if progress.matched:
                need += self.cost(max(0, progress.matched - len(progress.returned)))
            else:  # its first page is not in: as many as its part of a split holds, and that page
                need += self.cost(self.targets.get(progress.window, 0)) + 1
        return need

    def start_listing(self, window: Window, listing: Listing, *, first: bool = False) -> None:
        self.windows[window].listings += 1
        self.listings[listing] = _ListingProgress(window, first)
        self.request_page(listing, 0)

    def request_page(self, listing: Listing, skip: int) -> None:
        if self.details_in_flight >= self.max_details_waiting:
            self.waiting.append((listing, skip))
            return
        self.group.submit(
            _ListingPage(listing, skip),
            self.listing.fetch_page,
            listing,
            skip,
            # Listing before details: the next page must not wait behind the last page's details.
            priority=self.listings[listing].window.start.timestamp() - 1e11,
        )

    def on_page(self, listing: Listing, skip: int, response: requests.Response) -> None:
        progress = self.listings[listing]
        window = progress.window
        modified = [
            m
            for c in self.stream.parse_response(response)
            if isinstance(m := c.get("last_modified_time"), str)
        ]
        if self.old_bookmark is not None and (
            not modified or max(map(parse_datetime, modified)) < self.old_bookmark
        ):
            self.stream.scheduler.requests_reread += 1  # every call on the page is older than the bookmark
        else:
            self.stream.scheduler.requests_new += 1
        if skip == 0:
            progress.matched = self.listing.matched(response)
            if progress.first and window in self.gaps:
                budget = self.stream.scheduler.limiter.max_requests
                self.meter.plan(window, progress.matched, self.cost(progress.matched), budget)
            if progress.first and (parts := self.parts_for(window, progress.matched)) is not None:
                if len(parts) > 1:
                    self.split_window(window, listing, parts)
                else:  # not even a part fits in what is left of the budget: the next run reads it
                    self.put_back(window, listing)
                return
            if self.listing.too_large(progress.matched):
                self.finish_listing(listing, split=True)
                return
        for call in self.stream.parse_response(response):
            call_id = as_id(call.get("id"))
            if call_id is None:
                self.stream.logger.warning("clari_calls: skipped a listed call without an id")
                continue
            progress.returned.add(call_id)
            if call_id in self.listed:
                continue
            self.listed.add(call_id)
            self.consider(window, call_id, call)
        next_skip = self.listing.next_skip(response, skip)
        if next_skip is not None:
            self.request_page(listing, next_skip)
        else:
            self.finish_listing(listing, split=len(progress.returned) < progress.matched)

    def parts_for(self, window: Window, matched: int) -> list[Window] | None:
        """How a window whose first page matched `matched` calls is read instead (splitting.clari_parts): None
        whole; parts of about `WINDOW_RECORDS` calls or what is left of the budget covers; `[window]`: nothing
        fits any more."""
        left = self.budget_left()
        spare = None if left is None else left - self.reserved(but=window) - 1  # a part's own first page
        return clari_parts(
            window,
            matched,
            target=WINDOW_RECORDS,
            spare=spare,
            page_size=self.listing.page_size,
            min_span=timedelta(minutes=1),
        )

    def split_window(self, window: Window, listing: Listing, parts: list[Window]) -> None:
        matched = self.listings.pop(listing).matched
        del self.windows[window]
        self.active.discard(window)
        self.targets.pop(window, None)
        self.replace_window(window, parts)  # open_window: each part waits its turn (activate)
        for part in parts:
            self.targets[part] = -(-matched // len(parts))
        self.stream.logger.info("clari_calls: %s: reading it as %d windows", window, len(parts))

    def put_back(self, window: Window, listing: Listing) -> None:
        """`window` is not read in this run after all: it waits, and the run ends without it."""
        self.targets[window] = self.listings.pop(listing).matched
        self.windows[window].listings -= 1
        self.active.discard(window)
        self.pending.append(window)
        self.pending.sort(reverse=True)

    def consider(self, window: Window, call_id: str, call: dict[str, t.Any]) -> None:
        """Fetch details for a listed call unless the look-back already emitted it unchanged."""
        modified = call.get("last_modified_time") or call.get("lastModifiedTime")
        instant = parse_datetime(modified) if isinstance(modified, str) else None
        if instant is not None and not self.plan.start <= instant < self.plan.end:
            return  # the first listing reaches a second before the range (strict, whole-second filters)
        token = summary_token(call_id, call)
        # Known, with this very list item: emitted before (flag 1), or unknown to /call-details (flag 0).
        if self.stream.already_emitted(instant, token, self.summary):
            self.stream.calls_unchanged += 1
            return
        self.windows[window].details += 1
        self.details_in_flight += 1
        self.group.submit(
            _Details(window, call_id, call, instant, token),
            self.stream.fetch_details,
            call_id,
            priority=window.start.timestamp(),  # the earliest window's first: windows finish in order
        )

    def on_details(self, task: _Details, found: dict[str, t.Any] | None) -> Iterator[dict[str, t.Any]]:
        window, call_id, call, instant, token = task.window, task.call_id, task.call, task.instant, task.token
        self.stream.scheduler.requests_new += 1  # only new or changed calls get details
        progress = self.windows[window]
        progress.details -= 1
        if found is None:
            self.stream.calls_not_found += 1
            self.stream.logger.warning(
                "clari_calls: /call-details does not know call %s (404); skipped", call_id
            )
            if instant is not None:  # asked again only once its list item changes
                self.summary.add(instant, token, 0)
        else:
            record = self.stream.details_record(call, found)
            lines = self.stream.take_lines(record)
            yield self.emitted(window, record)
            self.stream.emit_lines(lines)  # after the record: the SDK wrote it before resuming this generator
            if instant is not None:
                self.summary.add(instant, token)
        self.maybe_finish(window)

    def finish_listing(self, listing: Listing, *, split: bool) -> None:
        progress = self.listings.pop(listing)
        window = progress.window
        self.windows[window].listings -= 1
        if split:
            halves = (
                listing.halves(self.stream.run_started_at)
                if progress.matched > self.listing.page_size
                else None
            )
            if halves is None:
                self.stream.calls_unlisted += progress.matched - len(progress.returned)
            else:
                self.stream.logger.info(
                    "clari_calls: %s matched %d calls, listed %d; listing it in two parts",
                    listing.params(),
                    progress.matched,
                    len(progress.returned),
                )
                for half in halves:
                    self.start_listing(window, half)
        if not self.windows[window].listings:
            self.active.discard(window)  # listed: the next window's listing may start
        self.maybe_finish(window)

    def maybe_finish(self, window: Window) -> None:
        progress = self.windows[window]
        if progress.listings or progress.details:
            return
        del self.windows[window]
        self.finish_window(window)


class ClariTranscriptLinesStream(BookmarkedByRun, ClariStream):
    """One record per line of a call's /call-details transcript, from the same answers as `clari_calls`
    (never a request of its own); synced call by call right after the call's record (emit_lines)."""

    name = "clari_transcript_lines"
    path = "/call-details"
    parent_stream_type = ClariCallsStream
    state_partitioning_keys: t.ClassVar[list[str]] = []
    primary_keys = ("call_id", "line_index")
    replication_key = "last_modified_time"
    schema = CLARI_LINE_SCHEMA

    def __init__(self, tap: Tap, **kwargs: t.Any) -> None:
        super().__init__(tap, **kwargs)
        self.pending: dict[str, list[dict[str, t.Any]]] = {}
        self.logger.addFilter(quiet_child_syncs)

    @override
    def read_records(self, context: Context | None) -> t.Iterable[dict[str, t.Any]]:
        assert context is not None
        return self.pending.get(context["call_id"], [])


def summary_token(call_id: str, call: dict[str, t.Any]) -> str:
    """What identifies a listed call *as it is now*: its id and a hash of its /calls item (media URLs aside)."""
    kept = {k: v for k, v in call.items() if k not in UNHASHED_FIELDS}
    digest = hashlib.blake2b(msgspec.json.encode(kept, order="sorted"), digest_size=8).hexdigest()
    return f"{call_id}|{digest}"


def clari_call_record(listed: dict[str, t.Any], details: dict[str, t.Any]) -> dict[str, t.Any]:
    """A `clari_calls` record: the /calls item merged with its /call-details `call`, in snake_case."""
    record = dict.fromkeys(CLARI_FIELDS)
    record.update(snake_keys({**listed, **details}))
    record["id"] = as_id(record["id"])
    _ids_as_strings(record)
    return record


def _ids_as_strings(record: dict[str, t.Any]) -> None:
    """Ids and `deal_value` are strings in Clari's spec; a number sent in their place becomes its text."""
    for key in ("source_id", "deal_value"):
        if isinstance(record.get(key), int | float) and not isinstance(record[key], bool):
            record[key] = str(record[key])
    crm = record.get("crm_info")
    if isinstance(crm, dict):
        for key in ("deal_id", "account_id"):
            if isinstance(crm.get(key), int | float) and not isinstance(crm[key], bool):
                crm[key] = str(crm[key])
        if isinstance(crm.get("contact_ids"), list):
            crm["contact_ids"] = [
                str(v) if isinstance(v, int | float) and not isinstance(v, bool) else v
                for v in crm["contact_ids"]
            ]


__all__ = ["ClariAuthenticator", "ClariCallsStream", "ClariStream", "TapCallsError"]
