"""The request layer shared by the Gong and Clari Copilot streams.

One place for: the client-side rate cap, retries (Retry-After, backoff with jitter), turning HTTP
answers into records or into one-line errors, and the date windows whose completion moves bookmarks.
"""

from __future__ import annotations

import email.utils
import queue
import random
import threading
import time
import typing as t
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from urllib.parse import urlparse

import msgspec
import requests
from singer_sdk import RESTStream
from singer_sdk.exceptions import RetriableAPIError
from singer_sdk.helpers.conform import TypeConformanceLevel
from singer_sdk.pagination import JSONPathPaginator, SinglePagePaginator

if t.TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator

    from singer_sdk import Tap
    from singer_sdk.helpers.types import Context

_json = msgspec.json.Decoder()


class TapCallsError(Exception):
    """An error the user can act on; printed as one line, without a traceback."""


class AuthError(TapCallsError):
    """401/403: credentials wrong, expired, missing a scope, or an IP not allowed."""


class RetryWaitTooLong(TapCallsError):
    """The API asked us to wait longer than `max_retry_wait_seconds` (e.g. Gong's daily quota)."""


class CursorExpired(Exception):
    """Gong's 400 "cursor has expired": the window is read again from its first page."""


class WindowTooLarge(Exception):
    """Raised by read_window before its first record when the window holds too many records."""

    def __init__(self, end: datetime, records: int) -> None:
        super().__init__(end, records)
        self.end = end
        self.records = records


def utc_now() -> datetime:
    return datetime.now(UTC)


def iso(value: datetime) -> str:
    """RFC 3339 in UTC with a Z and whole seconds, the form both APIs show in their date filters.

    Flooring keeps consecutive windows contiguous: both sides of a boundary use the same instant.
    """
    return value.astimezone(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def ceil_second(value: datetime) -> datetime:
    """The first whole second at or after `value`: an exclusive upper bound that keeps all of [.., value)."""
    floor = value.replace(microsecond=0)
    return floor if floor == value else floor + timedelta(seconds=1)


def parse_datetime(value: str) -> datetime:
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


class RateLimiter:
    """Spaces the requests of one source evenly, so no 1-second span holds more than the cap.

    Shared by every stream and thread of a source. Callers pass the gate one at a time, each at least
    `interval` after the previous one actually went, so a thread that woke late cannot bunch up with
    the next one; a queue of callers keeps the cap fully used.
    """

    # Arrival times at the server jitter by a few ms; a 3 % margin keeps every 1-second window under the cap.
    SAFETY = 1.03

    def __init__(self, per_second: float, quota: int | None = None, quota_period: str = "") -> None:
        self.interval = self.SAFETY / per_second
        self.quota, self.quota_period = quota, quota_period
        self.requests = 0
        self._last_sent = -float("inf")
        self._not_before = 0.0
        self._gate = threading.Lock()

    def usage(self) -> str:
        """Requests so far, and the share of the vendor's quota they took, for progress lines."""
        if not self.quota:
            return f"{self.requests} requests"
        return f"{self.requests} requests ({100 * self.requests / self.quota:.1f} % of the {self.quota:,}/{self.quota_period} quota)"

    def acquire(self) -> None:
        with self._gate:
            while (wait := max(self._last_sent + self.interval, self._not_before) - time.monotonic()) > 0:
                time.sleep(wait)
            self._last_sent = time.monotonic()
            self.requests += 1

    def hold_until(self, monotonic_deadline: float) -> None:
        """After a 429 every thread of the source waits, not only the one that was told."""
        self._not_before = max(self._not_before, monotonic_deadline)


class CursorPaginator(JSONPathPaginator):
    """Cursor paging that carries on past an empty page while the API still hands out a cursor."""

    def get_next(self, response: requests.Response) -> str | None:
        return response_json(response).get("records", {}).get("cursor")

    def continue_if_empty(self, response: requests.Response) -> bool:
        return self.get_next(response) is not None


def response_json(response: requests.Response) -> dict:
    """The decoded body, decoded once per response (validate_response already did)."""
    cached = getattr(response, "_tap_calls_json", None)
    if cached is None:
        cached = _json.decode(response.content) if response.content else {}
        response._tap_calls_json = cached  # type: ignore[attr-defined]
    return cached


def retry_after_seconds(response: requests.Response | None) -> float | None:
    """Retry-After as seconds, from either of its two forms (delta-seconds or HTTP-date)."""
    if response is None:
        return None
    value = response.headers.get("Retry-After")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        return max(0.0, (when - utc_now()).total_seconds())


class SourceStream(RESTStream[t.Any]):
    """Base of every stream: one source's URL, credentials, rate cap, retries and error lines.

    Subclasses set `source` (the name users know) and `url_setting`; the tap hands in the limiter.
    """

    source: t.ClassVar[str]
    url_setting: t.ClassVar[str]
    credential_settings: t.ClassVar[str]
    # Records are JSON-native already; conforming types record by record costs CPU and drops the
    # fields Gong or Clari add later, which the contract says pass through.
    TYPE_CONFORMANCE_LEVEL = TypeConformanceLevel.NONE
    # Custom credential headers (Clari) would follow a redirect to any host; no redirect is followed.
    allow_redirects = False
    extra_retry_statuses: t.ClassVar[list[int]] = [429]
    # (connect, read) seconds. A page of 100 long transcripts can take a while to produce.
    request_timeout: t.ClassVar[tuple[float, float]] = (15.0, 120.0)
    max_tries: t.ClassVar[int] = 8
    backoff_base_seconds: t.ClassVar[float] = 1.0
    backoff_cap_seconds: t.ClassVar[float] = 60.0

    def __init__(self, tap: Tap, *, limiter: RateLimiter, **kwargs: t.Any) -> None:
        super().__init__(tap, **kwargs)
        self.limiter = limiter

    @property
    def url_base(self) -> str:
        return str(self.config[self.url_setting]).rstrip("/")

    @property
    def timeout(self) -> t.Any:
        return self.request_timeout

    # Retries: a 429 waits exactly what Retry-After says; everything else backs off with jitter.

    def backoff_wait_generator(self) -> t.Generator[float, t.Any, None]:
        attempt = 0
        exc = yield  # type: ignore[misc]
        while True:
            response = getattr(exc, "response", None)
            wait = retry_after_seconds(response) if response is not None else None
            if wait is None:
                ceiling = min(self.backoff_cap_seconds, self.backoff_base_seconds * 2**attempt)
                wait = random.uniform(ceiling / 2, ceiling)
            self.limiter.hold_until(time.monotonic() + wait)
            attempt += 1
            exc = yield wait

    def backoff_jitter(self, value: float) -> float:
        return value

    def backoff_max_tries(self) -> int:
        return self.max_tries

    def backoff_handler(self, details: t.Any) -> None:
        exc = details.get("exception")
        response = getattr(exc, "response", None)
        what = f"HTTP {response.status_code}" if response is not None else type(exc).__name__
        self.logger.warning(
            "%s %s: %s, retrying in %.1f s (attempt %d of %d)",
            self.source,
            urlparse(response.url).path if response is not None else self.path,
            what,
            details.get("wait", 0.0),
            details.get("tries", 0),
            self.max_tries,
        )

    def request_decorator(self, func: Callable) -> Callable:
        def limited(*args: t.Any, **kwargs: t.Any) -> requests.Response:
            self.limiter.acquire()
            return func(*args, **kwargs)

        retrying = super().request_decorator(limited)

        def call(prepared_request: requests.PreparedRequest, context: Context | None) -> requests.Response:
            endpoint = f"{prepared_request.method} {urlparse(prepared_request.url).path}"
            try:
                return retrying(prepared_request, context)
            except RetriableAPIError as exc:
                status = exc.response.status_code if exc.response is not None else "?"
                msg = (
                    f"{self.source} {endpoint} still failing with HTTP {status} after {self.max_tries} tries"
                )
                raise TapCallsError(msg) from None
            except (requests.RequestException, ConnectionResetError) as exc:
                msg = f"{self.source} {endpoint} still failing ({type(exc).__name__}) after {self.max_tries} tries"
                raise TapCallsError(msg) from None

        return call

    def request_records(self, context: Context | None) -> Iterator[dict]:
        """The SDK's paging loop, except that the next page is requested while this one is processed.

        Paging is a chain (each cursor comes from the previous page), so this overlap is what keeps the
        rate cap used when the API is slow to answer; the limiter still spaces every request.
        """
        paginator = self.get_new_paginator() or SinglePagePaginator()
        send = self.request_decorator(self._request)
        with ThreadPoolExecutor(1, thread_name_prefix=f"{self.name}-next-page") as pool:
            pending = pool.submit(send, self._prepare_request(context=context, page=paginator), context)
            try:
                while True:
                    response = pending.result()
                    records = list(self.parse_response(response))
                    if not records and not paginator.continue_if_empty(response):
                        return
                    paginator.advance(response)
                    if not paginator.finished:
                        next_request = self._prepare_request(context=context, page=paginator)
                        pending = pool.submit(send, next_request, context)
                    yield from records
                    if paginator.finished:
                        return
            finally:
                pending.cancel()

    # Responses

    def api_error_text(self, response: requests.Response) -> str:
        """The API's own words (Gong `errors[]`, Clari `errorMessage`), never headers or the URL query."""
        try:
            body = response_json(response)
        except msgspec.DecodeError:
            return response.reason or ""
        if isinstance(body, dict):
            if errors := body.get("errors"):
                return "; ".join(str(e) for e in errors)
            if message := body.get("errorMessage"):
                return str(message)
        return response.reason or ""

    def validate_response(self, response: requests.Response) -> None:
        status = response.status_code
        endpoint = f"{response.request.method} {urlparse(response.url).path}"
        if status == 429:
            wait = retry_after_seconds(response)
            limit = float(self.config["max_retry_wait_seconds"])
            if wait is not None and wait > limit:
                msg = (
                    f"{self.source} asks to wait {wait:.0f} s before the next request (quota spent?), "
                    f"longer than max_retry_wait_seconds={limit:.0f}; the next run resumes from the last STATE"
                )
                raise RetryWaitTooLong(msg)
            raise RetriableAPIError(f"{self.source} {endpoint}: HTTP 429", response)
        if status >= 500:
            raise RetriableAPIError(f"{self.source} {endpoint}: HTTP {status}", response)
        if status in {401, 403}:
            msg = (
                f"{self.source} refused the credentials (HTTP {status} on {endpoint}: "
                f"{self.api_error_text(response)}); check {self.credential_settings}"
            )
            raise AuthError(msg)
        if 300 <= status < 400:
            msg = (
                f"{self.source} {endpoint} redirected to {response.headers.get('Location', '?')}; "
                f"redirects are not followed, check {self.url_setting}"
            )
            raise TapCallsError(msg)
        if self.is_empty_result(response):
            return
        if status >= 400:
            # The API's own words usually name the culprit (a wrong workspace_id, say): one line, no traceback.
            raise TapCallsError(f"{self.source} {endpoint}: HTTP {status}: {self.api_error_text(response)}")
        try:
            if not response.content:
                raise msgspec.DecodeError("empty body")
            response_json(response)
        except msgspec.DecodeError:
            # A truncated or garbled body is a transport fault, as good as a 502.
            raise RetriableAPIError(f"{self.source} {endpoint}: malformed JSON body", response) from None

    def is_empty_result(self, response: requests.Response) -> bool:
        """Whether an error status really means "no records" (Gong's 404 on an empty window)."""
        return False

    def parse_response(self, response: requests.Response) -> Iterable[dict]:
        if self.is_empty_result(response):
            return []
        return response_json(response).get(self.records_key) or []

    records_key: t.ClassVar[str] = ""

    records_emitted = 0

    def post_process(self, row: dict, context: Context | None = None) -> dict | None:
        self.records_emitted += 1
        return row

    def log_summary(self) -> None:
        self.logger.info(
            "%s: done, %d records; %s: %s", self.name, self.records_emitted, self.source, self.limiter.usage()
        )

    # Bookmarks are moved only by WindowedStream, at the end of a complete window.
    def _increment_stream_state(self, latest_record: dict, *, context: Context | None = None) -> None:
        return


class Window(t.NamedTuple):
    start: datetime
    end: datetime


class WindowedStream(SourceStream):
    """Reads [start, end) in consecutive windows. Once a window's records (and those of its child
    streams) are all emitted, the bookmark becomes the newest replication value emitted so far.

    The bookmark is a value some record has (never later than the finished windows), so a run killed
    anywhere restarts at or before its last completed window and loses nothing. Each run starts at
    max(start_date, bookmark - lookback_days) to catch data the vendor publishes late, and stops at
    end_date or the run's start (frozen, so pages do not shift while paging).
    """

    # Windows are sized to hold about this many records: large enough that partial pages cost
    # little, small enough that a quota stop or crash loses little progress.
    window_target_records: t.ClassVar[int] = 4000
    # A window whose first page reports more records than this is narrowed before it is paged.
    window_split_records: t.ClassVar[int] = 8000
    min_window: t.ClassVar[timedelta] = timedelta(minutes=1)

    def __init__(self, tap: Tap, **kwargs: t.Any) -> None:
        super().__init__(tap, **kwargs)
        self.run_started_at = utc_now()
        # A window's first-page sizing belongs to the thread paging it (windows may be read ahead).
        self._paging = threading.local()
        # The newest replication value emitted (instant, value as the API wrote it).
        self.newest: tuple[datetime, str] | None = None
        self.exact_bounds: Window | None = None
        self.range_end: datetime | None = None

    def saw(self, value: str | None) -> None:
        """Note the replication value of an emitted record (children share their call's)."""
        if value:
            instant = parse_datetime(value)
            if self.newest is None or instant > self.newest[0]:
                self.newest = (instant, value)

    def records_in_window(self, response: requests.Response) -> int | None:
        """How many records the whole window holds, as the API's first page reports it."""
        return None

    @property
    def window_total(self) -> int | None:
        """The record count the first page of the window being paged in this thread reported."""
        return getattr(self._paging, "total", None)

    @window_total.setter
    def window_total(self, value: int | None) -> None:
        self._paging.total = value

    @property
    def _unsized(self) -> Window | None:
        return getattr(self._paging, "unsized", None)

    @_unsized.setter
    def _unsized(self, value: Window | None) -> None:
        self._paging.unsized = value

    def parse_response(self, response: requests.Response) -> Iterable[dict]:
        # Decided on the first page, before the next page is requested: a window too crowded for
        # its target is narrowed, at the cost of this one request.
        if (window := self._unsized) is not None:
            self._unsized = None
            self.window_total = self.records_in_window(response)
            total = self.window_total or 0
            if total > self.window_split_records and window.end - window.start > self.min_window * 2:
                share = max(0.05, self.window_target_records / total)
                raise WindowTooLarge(window.start + (window.end - window.start) * share, total)
        return super().parse_response(response)

    def size_window(self, window: Window) -> None:
        """The next response is the first page of this window."""
        self._unsized = window
        self.window_total = None

    @property
    def bookmark_streams(self) -> list[SourceStream]:
        """This stream and the child streams whose bookmarks this stream's windows move."""
        return [self, *self.child_streams]

    def _bookmark(self, stream: SourceStream) -> datetime | None:
        state = stream.stream_state
        if state.get("replication_key") == stream.replication_key and state.get("replication_key_value"):
            return parse_datetime(state["replication_key_value"])
        return None

    def sync_range(self) -> Window:
        start_date = parse_datetime(self.config["start_date"]) if self.config.get("start_date") else None
        start_date = start_date or self.run_started_at - timedelta(days=365)
        end = parse_datetime(self.config["end_date"]) if self.config.get("end_date") else self.run_started_at
        lookback = timedelta(days=float(self.config["lookback_days"]))
        selected = [s for s in self.bookmark_streams if s.selected] or [self]
        bookmarks = [self._bookmark(s) for s in selected]
        if all(b is not None for b in bookmarks):
            start = max(start_date, min(t.cast("list[datetime]", bookmarks)) - lookback)
        else:
            start = start_date  # a stream never synced before needs the full history
        # The exact range, for a source that can trim its records to it. The API filters take whole
        # seconds: the end is rounded up, since flooring it would drop the last fraction of a second.
        self.exact_bounds = Window(start, end)
        self.range_end = ceil_second(end)
        return Window(start, self.range_end)

    def commit(self, window: Window, *, write: bool = True) -> None:
        """Move the bookmarks of this stream and its selected children to the newest value emitted."""
        if self.newest is not None:
            instant, value = self.newest
            if instant > window.end:  # a call filed under an earlier (scheduled) time: windows come first
                instant, value = window.end, iso(window.end)
            for stream in self.bookmark_streams:
                if not stream.selected:
                    continue
                current = self._bookmark(stream)
                if current is not None and current >= instant:
                    continue  # a look-back re-read never moves a bookmark back
                state = stream.stream_state
                state["replication_key"] = stream.replication_key
                state["replication_key_value"] = value
                state.pop("progress_markers", None)
                stream.state_manager.is_flushed = False
        if write:
            self._write_state_message()

    def log_window(self, window: Window) -> None:
        counts = ", ".join(f"{s.name} {s.records_emitted}" for s in self.bookmark_streams if s.selected)
        self.logger.info(
            "%s: window %s to %s done; records so far: %s; %s: %s",
            self.name,
            iso(window.start),
            iso(window.end),
            counts or "none selected",
            self.source,
            self.limiter.usage(),
        )

    def get_records(self, context: Context | None) -> Iterator[dict]:
        full = self.sync_range()
        if full.start >= full.end:
            self.logger.info("%s: nothing to read, %s is not before %s", self.name, full.start, full.end)
            return
        self.logger.info("%s: reading %s to %s", self.name, iso(full.start), iso(full.end))
        window = Window(full.start, full.end)
        # In BATCH mode records sit in an open batch file until the SDK flushes it, and child syncs write
        # STATE in between: bookmarks may only move once the stream is done (the SDK's final flush comes
        # before its next STATE).
        batching = bool(self.get_batch_config(self.config))
        while True:
            try:
                count = yield from self.read_window(window)
            except WindowTooLarge as narrower:
                self.logger.info(
                    "%s: %s to %s holds %d records, narrowing it to end at %s",
                    self.name,
                    iso(window.start),
                    iso(window.end),
                    narrower.records,
                    iso(narrower.end),
                )
                window = Window(window.start, narrower.end)
                continue
            self.finish_window(window)
            if not batching:
                self.commit(window)
            self.log_window(window)
            if window.end >= full.end:
                if batching:
                    self.commit(window, write=False)
                for stream in self.bookmark_streams:
                    if stream.selected:
                        stream.log_summary()
                return
            window = self.next_window(window, count, full.end)

    def next_window(self, done: Window, records: int, end: datetime) -> Window:
        span = done.end - done.start
        # Grow or shrink towards the target density, at most 8x at a time.
        growth = min(8.0, max(0.125, self.window_target_records / records)) if records else 8.0
        return Window(done.end, min(end, done.end + max(span * growth, self.min_window)))

    def read_window(self, window: Window) -> t.Generator[dict, None, int]:
        """Yield the window's records; return how many there were."""
        raise NotImplementedError

    def finish_window(self, window: Window) -> None:
        """Flush whatever the children still hold for the window (before the bookmark moves)."""


class WindowReadAhead:
    """One window's records, paged by a background thread into a bounded queue.

    Gong's pages form a cursor chain, so one window is one request at a time however slow the API
    is; reading the next window meanwhile is what keeps the rate cap used. Records still reach the
    consumer window by window, in order, so bookmarks move exactly as without it. The first page
    settles the window's bounds (it may be narrowed) and its size; errors surface in the consumer.
    """

    _END = object()

    def __init__(
        self,
        stream: WindowedStream,
        window: Window,
        fetch: Callable[[Window], Iterator[dict]],
        ahead: int,
    ) -> None:
        self.requested = window
        self.window = window
        self.total = 0
        self._stream = stream
        self._fetch = fetch
        self._queue: queue.Queue[t.Any] = queue.Queue(maxsize=ahead)
        self._sized = threading.Event()
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"{stream.name}-window", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            while True:
                self._stream.size_window(self.window)
                try:
                    for record in self._fetch(self.window):
                        self._settle()
                        if not self._put(record):
                            return
                    break
                except WindowTooLarge as narrower:
                    self.window = Window(self.window.start, narrower.end)
            self._settle()
            self._put(self._END)
        except BaseException as exc:
            self._sized.set()
            self._put(exc)

    def _settle(self) -> None:
        if not self._sized.is_set():
            self.total = self._stream.window_total or 0
            self._sized.set()

    def _put(self, item: t.Any) -> bool:
        while not self._stopped.is_set():
            try:
                self._queue.put(item, timeout=0.2)
            except queue.Full:
                continue
            return True
        return False

    def settled(self) -> Window:
        """The window's final bounds, once its first page is in."""
        self._sized.wait()
        return self.window

    def records(self) -> Iterator[dict]:
        while True:
            item = self._queue.get()
            if item is self._END:
                return
            if isinstance(item, BaseException):
                raise item
            yield item

    def stop(self) -> None:
        self._stopped.set()
