"""Gong (API v2): `calls`, `parties`, `transcripts` and `users`.

`calls` lists POST /v2/calls/extensive over date windows, several windows at once (each its own cursor
chain) through the source's scheduler. `parties` comes out of the very same responses, and `transcripts`
is fetched for up to 100 call ids per POST /v2/calls/transcript, requested as soon as 100 calls that need
one are in; both are child streams synced batch by batch. A backfill costs about two requests per 100
calls; a look-back re-read asks transcripts only for calls that are new or had none (see `EmittedSummary`).
"""

from __future__ import annotations

import collections
import itertools
import math
import re
import threading
import typing as t
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import cached_property
from itertools import chain

import msgspec
import requests
from singer_sdk.authenticators import BasicAuthenticator, BearerTokenAuthenticator
from typing_extensions import override

from tap_calls.bookmarks import BookmarkedByRun
from tap_calls.client import FullTableStream, Refused, SourceStream, quiet_child_syncs, response_json
from tap_calls.dates import floor_second, iso, parse_datetime
from tap_calls.errors import AuthError, CursorExpired, ScopeMissing, TapCallsError
from tap_calls.keys import as_id, snake, snake_keys
from tap_calls.oauth import GongOAuthAuthenticator, gong_authenticator
from tap_calls.paging import (
    MAX_CURSOR_RESTARTS,
    CursorPaginator,
    check_page_json,
    next_cursor,
    page_records,
    restart_on_expiry,
)
from tap_calls.progress import ProgressMeter
from tap_calls.schemas.gong import (
    CALL_FIELDS,
    CALL_SCHEMA,
    NESTED_PARTY_KEYS,
    PARTY_KEYS,
    PARTY_SCHEMA,
    SENTENCE_SCHEMA,
    TRANSCRIPT_SCHEMA,
    USER_FIELDS,
    USER_SCHEMA,
)
from tap_calls.speakers import add_gong_speakers
from tap_calls.transcript_rows import sentence_count, sentence_records
from tap_calls.windowed import WindowedRun, WindowedStream
from tap_calls.windows import ReadPlan, Window

if t.TYPE_CHECKING:
    from collections.abc import Iterable, Iterator, Mapping

    from singer_sdk import Tap
    from singer_sdk.helpers.types import Context

    from tap_calls.windows import EmittedSummary


# Gong pages are fixed at 100 records; the same number is the safe batch of call ids per request.
PAGE_SIZE = 100
# Bounded memory whatever the rate (see _CallsRun.max_transcript_bodies): transcript requests sent but not
# yet emitted (each holds a body of up to ~6 MB), pages answered but not yet processed, windows paged at once.
MAX_TRANSCRIPT_BODIES = 8
MAX_UNREAD_PAGES = 8
# Batches whose transcripts are not requested yet hold only their calls' ids and parties (about 100 KB): many
# may wait, so the chains never stall behind them while the cap serves pages first.
MAX_WAITING_BATCHES = 24
MAX_ACTIVE_WINDOWS = 16
# With `max_requests_per_run`, a window is opened only when at least this much of the budget is left for it.
MIN_USEFUL_REQUESTS = 6

# Gong's words for an empty result; any other 404 (a wrong api_url, say) stays an error.
_EMPTY_404 = re.compile(r"\bno [\w ]+ found\b|corresponding to the provided filters|for the specified period")
_SCOPE = re.compile(r"api:[A-Za-z0-9:_.-]+[A-Za-z0-9]")


class _CallStarted(msgspec.Struct):
    metaData: t.Any = None  # noqa: N815 (Gong's name)


class _CallsStarted(msgspec.Struct):
    """A /v2/calls/extensive page with only each call's `metaData` decoded."""

    calls: list[_CallStarted] | None = None


class GongStream(SourceStream):
    """Base of the Gong streams: credentials, Gong's empty-result 404, expiring cursors and scopes."""

    source = "Gong"
    url_setting = "api_url"
    credential_settings = "access_key and access_key_secret, or access_token (and api_url for OAuth)"
    # The OAuth scope this stream's endpoint needs (more_endpoints.md §0.2), named when Gong refuses it.
    required_scope: t.ClassVar[str] = ""

    @cached_property
    @override
    def authenticator(self) -> GongOAuthAuthenticator | BasicAuthenticator | BearerTokenAuthenticator:
        # OAuth refresh settings, else access_token, else the key pair; OAuth: one instance for the whole run.
        return gong_authenticator(self)

    @override
    def get_new_paginator(self) -> CursorPaginator:
        return CursorPaginator()

    @override
    def is_empty_result(self, response: requests.Response) -> bool:
        """Gong answers "nothing matched" with a 404 whose `errors` say "No calls found ..." (worded per
        endpoint); a 404 without Gong's error body (a wrong api_url) is no empty result."""
        if response.status_code != 404:
            return False
        try:
            errors = response_json(response).get("errors")
        except (msgspec.DecodeError, AttributeError):
            return False
        return bool(_EMPTY_404.search(" ".join(str(e) for e in errors or ()).lower()))

    @override
    def check_json(self, response: requests.Response) -> None:
        # Only the paging object is decoded on the worker: a page waiting for the stream's thread stays
        # bytes (a page of 100 calls with content is about 0.7 MB as JSON, five times that decoded).
        check_page_json(response)

    @override
    def validate_response(self, response: requests.Response) -> None:
        if response.status_code == 400:
            text = self.api_error_text(response).lower()
            # Gong: "cursor has expired"; an invalid cursor is likewise only cured by starting over.
            if "cursor" in text and ("expire" in text or "invalid" in text):
                raise CursorExpired
        super().validate_response(response)

    @override
    def refusal(self, refused: Refused) -> ScopeMissing | AuthError:
        """A missing scope when Gong names one, or when these credentials are accepted elsewhere right now;
        else the credentials (interface.md, "Scope or credentials").

        Gong answers `401 {"errors":["Access denied"]}` alike to a key without this endpoint's scope and to
        credentials that stopped working during the run (a token that expired, a key revoked): that earlier
        requests succeeded proves nothing, so a cheap endpoint is asked at the moment of the refusal.

        Raises:
            TapCallsError, StopSource: the cheap request itself could not be answered.
        """
        if self.withdrawn is not None:
            return self.withdrawn  # a request of this stream dropped after its refusal (raise_if_withdrawn)
        if match := _SCOPE.search(refused.text):
            return ScopeMissing(match.group(0), refused.endpoint, refused.text)
        if self.required_scope and self.credentials_work():
            return ScopeMissing(self.required_scope, refused.endpoint, refused.text)
        return self.credentials_refused(refused)

    def credentials_refused(self, refused: Refused) -> AuthError:
        """The one line for credentials Gong does not accept: never from the start, or no longer."""
        if not self.scheduler.credentials_ok:
            return t.cast("AuthError", super().refusal(refused))
        if self.config.get("access_token"):
            fix = "the access token expired or was revoked: pass a current access_token"
        else:
            fix = (
                "the access key was revoked or expired: pass a current access_key and access_key_secret "
                "(Gong: Admin center > Settings > Ecosystem > API)"
            )
        msg = (
            f"Gong stopped accepting the credentials during the run ({refused}, after earlier requests "
            f"succeeded); {fix}. The next run resumes from the last STATE"
        )
        return AuthError(msg)

    def credentials_work(self) -> bool:
        """Whether Gong accepts these credentials now: one cheap GET /v2/workspaces (then /v2/users).

        A refusal naming a scope counts as accepted (Gong knows the credentials, they lack that scope).

        Raises:
            TapCallsError, StopSource: the probe could not be answered (retries spent, request budget).
        """
        for path in ("/v2/workspaces", "/v2/users"):
            request = self.build_prepared_request(
                method="GET", url=self.url_base + path, headers=self.http_headers
            )
            try:
                self.sender(request, None)
            except Refused as refused:
                if _SCOPE.search(refused.text):
                    return True
                continue
            return True
        return False

    def fetch_all(self, context: Context | None) -> list[dict[str, t.Any]]:
        """Every record of one paged request; when its cursor expires, all of it again from page 1."""
        return list(
            restart_on_expiry(
                lambda: self.request_records(context), key=repr, what=self.path, logger=self.logger
            )
        )


# The calls run: windows paged concurrently, transcript batches, and the watermark.


@dataclass
class _WindowProgress:
    """What is known of one window while it is read."""

    restarts: int = 0
    listing_done: bool = False
    open_batches: int = 0
    buffered: int = 0
    seen: set[str] = field(default_factory=set)
    pages: int = 0  # the window's pages, from its first page's totalRecords (0: not known yet)
    requested: int = 0  # pages requested so far


@dataclass
class CallBatch:
    """Calls whose children (parties, transcripts) are synced together, and the windows they belong to."""

    calls: list[dict[str, t.Any]]
    origins: list[Window]  # each call's window
    windows: collections.Counter[Window]
    wanted: list[dict[str, t.Any]] = field(default_factory=list)  # the calls whose transcripts are requested
    # The transcript responses' raw bodies: parsed only when `transcripts` emits them, one batch at a time
    # (a batch of 45-minute transcripts is about 6 MB as JSON and four times that as Python objects).
    bodies: list[bytes] = field(default_factory=list)
    emitted: set[str] = field(default_factory=set)  # the calls whose transcripts were emitted


class CallBatches(dict[int, CallBatch]):
    """Batches emitted by `calls`, keyed by number, for the child streams to read."""


class CallsStream(WindowedStream, GongStream):
    """Gong calls, read as disjoint date windows paged concurrently (see the module docstring)."""

    name = "calls"
    path = "/v2/calls/extensive"
    http_method = "POST"
    primary_keys = ("id",)
    replication_key = "started"
    schema = CALL_SCHEMA
    records_key = "calls"
    required_scope = "api:calls:read:extensive"

    # A window whose first page counts more than this is split (costing that one page).
    window_split_records: t.ClassVar[int] = 1500
    # Windows are sized to hold about range-total / `windows_wanted` calls, within these bounds: enough
    # windows to keep the cap busy when Gong is slow, few enough that partial last pages cost little.
    window_target_records: t.ClassVar[int] = 1000
    window_min_records: t.ClassVar[int] = 500
    windows_wanted: t.ClassVar[int] = 10
    min_window: t.ClassVar[timedelta] = timedelta(minutes=1)
    # STATE characters for the look-back summary of `calls`; Clari gets the rest of 64 KB.
    summary_budget: t.ClassVar[int] = 40_000

    def __init__(self, tap: Tap, *, batches: CallBatches, **kwargs: t.Any) -> None:
        super().__init__(tap, **kwargs)
        self.batches = batches
        self.new_consumers: set[str] = set()

    @property
    def transcript_consumers(self) -> list[TranscriptConsumer]:
        """The selected children made from POST /v2/calls/transcript answers (`transcripts`,
        `transcript_sentences`) that were not skipped for scope, in sync order; empty: no transcript is
        requested. They share every answer: one request per batch of calls, whichever are selected."""
        return [
            child
            for child in self.child_streams
            if isinstance(child, TranscriptConsumer) and child.selected and not child.skipped
        ]

    def note_new_consumers(self) -> None:
        """At the start of a run: which transcript consumers have no bookmark of their own (selected for the
        first time, or never committed). Their run is a backfill from start_date (`plan`), and for them the
        look-back summary, which says what the *other* consumers emitted, does not count (needs_transcript)."""
        self.new_consumers = {c.name for c in self.transcript_consumers if self.bookmark_of(c) is None}

    def needs_transcript(self, call: Mapping[str, t.Any], summary: EmittedSummary) -> bool:
        """Whether a listed call (`{id, started, ...}`) needs its transcript requested: some consumer is
        selected, and the look-back did not emit the call's transcript already (`summary`, flag 1) or a
        consumer new in this run must have it anyway (note_new_consumers)."""
        if not self.transcript_consumers:
            return False
        if not call["started"] or self.new_consumers:
            return True
        return summary.lookup(parse_datetime(call["started"]), call["id"]) != 1

    def fetch_transcripts(self, batch: CallBatch) -> list[bytes]:
        """The raw transcript pages of a batch's wanted calls (a scheduler task), requested once for every
        consumer, through the first one's request layer."""
        consumers = self.transcript_consumers
        if not consumers:
            return []
        return consumers[0].fetch(batch)

    def transcripts_refused(self, refused: Refused) -> None:
        """Gong refused POST /v2/calls/transcript: wrong credentials end the run; a missing scope skips
        every transcript consumer (one WARNING each), and the calls go on."""
        consumers = self.transcript_consumers
        if not consumers:
            return
        verdict = consumers[0].refusal(refused)
        if not isinstance(verdict, ScopeMissing):
            raise verdict
        for consumer in consumers:
            consumer.skip_for_scope(verdict)

    @property
    @override
    def bookmark_streams(self) -> list[SourceStream]:
        """This stream and the children whose bookmarks its windows move."""
        return [self, *t.cast("list[SourceStream]", self.child_streams)]

    def content_selector(self) -> dict[str, t.Any]:
        """Everything `calls` carries (gong_api.md §3.3), media URLs only with `include_media_urls`."""
        flags = [
            "structure",
            "topics",
            "trackers",
            "trackerOccurrences",
            "pointsOfInterest",
            "brief",
            "outline",
            "highlights",
            "callOutcome",
            "keyPoints",
        ]
        return {
            "context": "Extended",
            "exposedFields": {
                "parties": True,
                "content": dict.fromkeys(flags, True),
                "interaction": {
                    "speakers": True,
                    "video": True,
                    "personInteractionStats": True,
                    "questions": True,
                },
                "collaboration": {"publicComments": True},
                "media": bool(self.config.get("include_media_urls")),
            },
        }

    @override
    def prepare_request_payload(
        self, context: Context | None, next_page_token: str | None
    ) -> dict[str, t.Any]:
        assert context is not None
        window = {"fromDateTime": context["from"], "toDateTime": context["to"]}
        if self.config.get("workspace_id"):
            window["workspaceId"] = self.config["workspace_id"]
        body: dict[str, t.Any] = {"filter": window, "contentSelector": self.content_selector()}
        if next_page_token:
            body["cursor"] = next_page_token  # the body, never the query string: Gong ignores it there
        return body

    @override
    def generate_child_contexts(
        self, record: dict[str, t.Any], context: Context | None
    ) -> Iterable[Context | None]:
        return ()  # children are synced per batch, by read_records

    @override
    def start_run(self, plan: ReadPlan) -> _CallsRun:
        self.note_new_consumers()
        return _CallsRun(self, plan)

    @override
    def skip_for_scope(self, missing: ScopeMissing) -> None:
        """Without the listing, parties and transcripts are skipped too: one WARNING each."""
        super().skip_for_scope(missing)
        for child in self.child_streams:
            if child.selected:
                t.cast("SourceStream", child).skip_for_scope(missing)

    def fetch_page(self, window: Window, cursor: str | None) -> requests.Response | None:
        """One page of a window (a task); None when its cursor expired."""
        try:
            return self.send({"from": iso(window.start), "to": iso(window.end)}, cursor)
        except CursorExpired:
            return None

    def window_total(self, response: requests.Response) -> int:
        """How many calls the whole window holds, as its first page says (`records.totalRecords`)."""
        if self.is_empty_result(response):
            return 0
        records = page_records(response)
        return int((records if isinstance(records, dict) else {}).get("totalRecords") or 0)

    @staticmethod
    def started_times(response: requests.Response) -> list[datetime]:
        """The `metaData.started` of every call on a page, decoding nothing else of it (unless the whole
        body was decoded already): what a worker needs to split a window or count a re-read."""
        body = getattr(response, "_tap_calls_json", None)
        if isinstance(body, dict):
            calls = [m for c in body.get("calls") or () if isinstance(m := c.get("metaData"), dict)]
        else:
            page = msgspec.json.decode(response.content, type=_CallsStarted) if response.content else None
            calls = [c.metaData for c in (page.calls if page else None) or () if isinstance(c.metaData, dict)]
        return [parse_datetime(m["started"]) for m in calls if isinstance(m.get("started"), str)]

    @classmethod
    def chain_calls(cls, total: int, *, latency: float, per_second: float, requests_per_page: int) -> int:
        """The most calls one window should hold when the windows of a range hold `total` calls in all.

        A window is one cursor chain (one page per answer, `latency` seconds), so it must end within the time
        the range's requests take at the cap (`total` / 100 pages x `requests_per_page`, at `per_second`),
        less one answer to start and one for its last transcripts; and within `window_target_records`, so
        the bookmark moves during a long backfill. At least `window_min_records` and the range's share of
        `windows_wanted` windows: a split costs a page and an answer time, which a short chain does not win
        back, and a cap far above Gong's must not cut the range into many partial last pages.
        """
        if latency <= 0:
            return cls.window_target_records
        wall = total / PAGE_SIZE * requests_per_page / per_second
        pages = int((wall - 2 * latency) / latency)
        floor = max(cls.window_min_records, total // cls.windows_wanted)
        return min(cls.window_target_records, max(floor, pages * PAGE_SIZE))

    def parts_for(
        self, total: int, window: Window, sample: t.Sequence[datetime], *, threshold: int, target: int
    ) -> list[Window] | None:
        """The windows to read `window` as (about `target` calls each) when its first page counts `total`
        calls and it holds more than `threshold`; None: read it whole (a split costs that first page).

        Parts hold about equal numbers of calls, cut at the quantiles of `started` in the first page when
        that page is a fair sample of the window (nothing promises an order: when the page covers only part
        of the window, as a chronological order would, the window is cut in equal spans instead). Equal
        parts make equal cursor chains, so no long last chain leaves the cap idle at the end.
        """
        if total <= threshold or window.end - window.start < 2 * self.min_window:
            return None
        count = -(-total // max(1, target))
        parts = quantile_split(window, sample, count, self.min_window) or window.split(count, self.min_window)
        return parts if len(parts) > 1 else None


class _CallsRun(WindowedRun):
    """One run of `calls`: windows paged concurrently, batches of calls that need transcripts, the watermark.

    Runs on the stream's thread; only the scheduler's workers send requests. A window is finished once its
    listing is done and every batch holding its calls was synced (parties and transcripts emitted); the
    bookmark then moves to the watermark, and windows finished past it are kept in STATE (progress.py).

    Read for progress: the gaps earlier runs left are read earliest first, each sized by its own first page
    (`split_for`: parts a chain reads in time, and with `max_requests_per_run` parts that fit in what is left
    of the budget), and only as many windows are paged at once as the cap needs at the observed latency
    (`max_active_windows`), so windows finish nearly in order and a stop loses at most the open ones.
    """

    stream: CallsStream

    def __init__(self, stream: CallsStream, plan: ReadPlan) -> None:
        super().__init__(stream, plan)
        self.include_private = bool(stream.config.get("include_private_calls"))
        self.include_media = bool(stream.config.get("include_media_urls"))
        self.children_selected = any(c.selected for c in stream.child_streams)
        self.progress: dict[Window, _WindowProgress] = {}
        self.buffer: list[tuple[dict[str, t.Any], Window]] = []  # calls waiting for a transcript batch
        self.pages_in_flight = 0
        self.pages_lock = threading.Lock()  # workers request follow-up pages too
        # Windows not yet paged (earliest last, for pop) and those being paged.
        self.pending_windows: list[Window] = []
        # A part of a split window is split again when it holds clearly more than its target.
        self.split_threshold: dict[Window, int] = {}
        self.split_target: dict[Window, int] = {}
        self.resume_at: dict[Window, str] = {}  # pending windows whose first page was read: their next cursor
        self.active_windows: set[Window] = set()
        self.deferred: collections.deque[tuple[Window, str | None]] = collections.deque()
        self.batch_number = 0
        self.open_batches = 0
        self.transcripts_requested = 0
        self.transcripts_waiting: list[int] = []  # batches whose transcripts wait for a free body slot
        self.transcripts_alive = 0  # transcript requests sent whose bodies are not emitted yet
        self.dry_run = bool(stream.ABORT_AT_RECORD_COUNT)
        self.batch_size = min(PAGE_SIZE, stream.ABORT_AT_RECORD_COUNT or PAGE_SIZE)
        self.meter = ProgressMeter(stream.logger, "calls", stream.scheduler.limiter)

    # Bounded memory, whatever the rate: transcript requests not yet emitted hold bodies (a batch of
    # 45-minute transcripts is about 6 MB of JSON), so only as many are sent as could fill the requests in
    # flight (the end of a backfill is transcripts only), within MAX_TRANSCRIPT_BODIES; pages are requested
    # only while MAX_WAITING_BATCHES batches at most wait for transcripts and few pages wait for the stream's
    # thread.
    @property
    def max_transcript_bodies(self) -> int:
        return min(MAX_TRANSCRIPT_BODIES, max(4, self.stream.scheduler.in_flight_target() + 1))

    @property
    def max_open_batches(self) -> int:
        return self.max_transcript_bodies + MAX_WAITING_BATCHES

    @property
    def max_unread_pages(self) -> int:
        return min(MAX_UNREAD_PAGES, max(2, self.stream.scheduler.in_flight_target()))

    @property
    def with_transcripts(self) -> bool:
        return bool(self.stream.transcript_consumers)

    @property
    def requests_per_page(self) -> int:
        """Requests 100 listed calls cost: their page, and with transcripts their share of a batch."""
        return 2 if self.with_transcripts else 1

    @override
    def records(self) -> Iterator[dict[str, t.Any]]:
        for gap in self.gaps:
            self.open_window(gap)
        self.activate()
        for key, result in self.group:
            if key[0] == "page":
                yield from self.on_page(key[1], key[2], result)
            else:
                self.on_transcripts(key[1], result)
            self.release_deferred()
            self.activate()
            if self.pages_in_flight == 0 and not self.deferred and self.buffer:
                self.flush_batch()  # the last calls of the listing: a partial batch
            self.meter.tick(self.stream.records_emitted)
        self.commit()
        self.stop_unfinished()
        self.stream.logger.info(
            "calls: %d transcript requests for %d calls; Gong so far: %s",
            self.transcripts_requested,
            self.stream.records_emitted,
            self.stream.scheduler.cost_line(),
        )

    @override
    def open_window(self, window: Window) -> None:
        super().open_window(window)
        self.progress[window] = _WindowProgress()
        self.pending_windows.append(window)
        self.pending_windows.sort(reverse=True)

    def activate(self) -> None:
        """Start paging the earliest pending windows while fewer run than `max_active_windows` and, with
        `max_requests_per_run`, while what is left of the budget covers them (`affordable`)."""
        while self.pending_windows and len(self.active_windows) < self.max_active_windows:
            window = self.pending_windows[-1]
            if not self.affordable(window):
                return
            self.pending_windows.pop()
            self.active_windows.add(window)
            self.request_page(window, self.resume_at.pop(window, None))

    @property
    def max_active_windows(self) -> int:
        """How many windows are paged at once: as many cursor chains as the cap needs at the observed latency
        (a chain sends one page per answer, and with transcripts about one transcript request per page), one
        more so a chain ending leaves no gap. More would buy no speed, only widen what a stop loses."""
        scheduler = self.stream.scheduler
        wanted = math.ceil(scheduler.in_flight_target() / self.requests_per_page) + 1
        return min(MAX_ACTIVE_WINDOWS, wanted)

    # The request budget (max_requests_per_run): windows are opened only when they can finish.

    def cost(self, calls: int) -> int:
        """Requests `calls` listed calls of one window cost: pages, and their transcript batches."""
        return -(-calls // PAGE_SIZE) * self.requests_per_page

    def reserved(self, but: Window | None = None) -> int:
        """Requests the open windows (except `but`) still need: pages not requested yet (a window whose first
        page is not answered yet: as many as its split target, else one), and transcript batches waiting or
        still to fill."""
        pages = 0
        for window in self.active_windows:
            progress = self.progress.get(window)
            if window == but or progress is None:
                continue
            if progress.pages:
                pages += max(0, progress.pages - progress.requested - 1)
            else:
                pages += -(-self.split_target.get(window, 1) // PAGE_SIZE)
        waiting = len(self.transcripts_waiting) + (1 if self.buffer else 0)
        return pages * self.requests_per_page + waiting

    def affordable(self, window: Window) -> bool:
        """Whether what is left of the budget covers `window` besides the open windows' needs (its size known
        from its split, else its first page and one more request). When no window is open, a larger one is
        opened still if a useful part of it fits: its first page cuts it to fit (split_for)."""
        left = self.budget_left()
        if left is None:
            return True
        spare = left - self.reserved()
        need = self.cost(self.split_target[window]) if window in self.split_target else 2
        return spare >= need or (not self.active_windows and spare >= MIN_USEFUL_REQUESTS)

    def calls_that_fit(self, window: Window) -> int | None:
        """The most calls a window may hold to be read within what is left of the budget besides the other
        open windows' needs, its own first page included; None without a budget."""
        left = self.budget_left()
        if left is None:
            return None
        return max(0, left - self.reserved(but=window)) // self.requests_per_page * PAGE_SIZE

    def request_page(self, window: Window, cursor: str | None) -> None:
        if self.open_batches >= self.max_open_batches and not self.dry_run:
            self.deferred.append((window, cursor))
            return
        self.submit_page(window, cursor)

    def submit_page(
        self, window: Window, cursor: str | None, first_page: requests.Response | None = None
    ) -> None:
        with self.pages_lock:
            self.pages_in_flight += 1
            progress = self.progress.get(window)
            if progress is not None:
                if first_page is not None and not progress.pages:
                    progress.pages = -(-self.stream.window_total(first_page) // PAGE_SIZE)
                progress.requested = 0 if cursor is None else progress.requested + 1
        self.group.submit(
            ("page", window, cursor), self.page_task, window, cursor, priority=page_priority(window, cursor)
        )

    def page_task(self, window: Window, cursor: str | None) -> tuple[requests.Response | None, bool]:
        """One page (a scheduler task). Unless the page splits its window, it requests the next one itself,
        at once: a chain then never waits for the stream's thread to process a page. No follow-up is sent
        while many batches wait for transcripts or many pages wait to be processed (bounded memory)."""
        response = self.stream.fetch_page(window, cursor)
        busy = self.open_batches >= self.max_open_batches or self.group.unread >= self.max_unread_pages
        if response is None or self.group.cancelled or busy or window not in self.progress:
            return response, False  # (a window split while its chain ran is not followed)
        if cursor is None and (
            self.budget_left() is not None or self.split_for(window, response) is not None
        ):
            return response, False  # (with a budget the stream's thread decides: the budget moves meanwhile)
        token = next_cursor(response)
        if token is None:
            return response, False
        self.submit_page(window, token, first_page=response if cursor is None else None)
        return response, True

    def split_for(self, window: Window, first_page: requests.Response) -> list[Window] | None:
        """How a window whose first page this is will be read instead (CallsStream.parts_for); None: whole.

        A window from the plan (not a part) holding more than a chain reads in time is cut into parts of
        about `chain_calls`; a part is cut again when it holds clearly more than its target; with
        `max_requests_per_run`, a window whose calls would not fit in what is left of the budget is cut
        into parts that do. Called on the worker that got the page and again on the stream's thread, so it
        depends only on the page, the window's targets and the budget (which the page itself already used).
        """
        if self.dry_run or self.stream.is_empty_result(first_page):
            return None
        total = self.stream.window_total(first_page)
        target = self.split_target.get(window) or self.window_calls(total)
        threshold = self.split_threshold.get(window, self.stream.window_split_records)
        fit = self.calls_that_fit(window)
        # This first page is paid for: the rest of the window needs one request fewer than a new part.
        if fit is not None and self.cost(total) - 1 > fit // PAGE_SIZE * self.requests_per_page:
            if fit < PAGE_SIZE:
                return None  # nothing more fits: the window is read as far as the budget goes
            target, threshold = min(target, fit), min(threshold, fit)
        return self.stream.parts_for(
            total, window, self.stream.started_times(first_page), threshold=threshold, target=target
        )

    def window_calls(self, total: int) -> int:
        """The calls a window should hold when a range holds `total` (CallsStream.chain_calls)."""
        scheduler = self.stream.scheduler
        return self.stream.chain_calls(
            total,
            latency=scheduler.latency or 0.0,
            per_second=scheduler.limiter.per_second,
            requests_per_page=self.requests_per_page,
        )

    def split(self, window: Window, parts: list[Window], total: int) -> None:
        """Read `window` (whose first page counted `total` calls) as `parts`; its chain is dropped. What it
        emitted already (a part's carried calls) goes to the parts: calls waiting for transcripts, open
        batches and the newest value move to the part holding each call, and every part skips the calls
        already emitted."""
        self.stream.logger.info(
            "calls: %s holds %d calls; reading it as %d windows", window, total, len(parts)
        )
        progress = self.progress.pop(window)
        self.active_windows.discard(window)
        target = -(-total // len(parts))
        for part in parts:
            self.split_threshold[part] = (
                2 * target
            )  # a re-split costs a page and partial pages: only when clearly off
            self.split_target[part] = target
        self.replace_window(window, parts)

        def part_of(call: dict[str, t.Any]) -> Window:
            instant = parse_datetime(call["started"]) if call["started"] else window.end
            return next((p for p in parts if instant < p.end), parts[-1])

        for part in parts:
            self.progress[part].seen = set(progress.seen)
        buffer = []
        for call, origin in self.buffer:
            home = part_of(call) if origin == window else origin
            if origin == window:
                self.progress[home].buffered += 1
            buffer.append((call, home))
        self.buffer = buffer
        for batch in self.stream.batches.values():
            if window not in batch.windows:
                continue
            batch.origins = [
                part_of(c) if o == window else o for c, o in zip(batch.calls, batch.origins, strict=True)
            ]
            batch.windows = collections.Counter(batch.origins)
            for part in parts:
                if part in batch.windows:
                    self.progress[part].open_batches += 1

    def release_deferred(self) -> None:
        while self.deferred and self.open_batches < self.max_open_batches:
            window, cursor = self.deferred.popleft()
            if window in self.progress:
                self.request_page(window, cursor)

    def on_page(
        self, window: Window, cursor: str | None, result: tuple[requests.Response | None, bool]
    ) -> Iterator[dict[str, t.Any]]:
        response, followed = result
        with self.pages_lock:
            self.pages_in_flight -= 1
        progress = self.progress.get(window)
        if progress is None:
            return  # the page of a window split while its chain ran: its parts read it again
        if (
            response is None
        ):  # the cursor expired: the chain again from page 1, skipping calls already emitted
            progress.restarts += 1
            if progress.restarts > MAX_CURSOR_RESTARTS:
                msg = f"Gong {self.stream.path}: the cursor expired {progress.restarts} times in a row on {window}"
                raise TapCallsError(msg)
            self.stream.logger.warning(
                "Gong %s: cursor expired, reading %s again from its first page", self.stream.path, window
            )
            self.request_page(window, None)
            return
        self.count_page(response)
        if cursor is None and progress.restarts == 0:
            total = self.stream.window_total(response)
            if window in self.gaps:
                self.meter.plan(window, total, self.cost(total), self.stream.scheduler.limiter.max_requests)
            parts = self.split_for(window, response)
            if parts is not None:
                self.split(window, parts, total)
                return
        yield from self.take_page(window, cursor, response, followed=followed)

    def take_page(
        self,
        window: Window,
        cursor: str | None,
        response: requests.Response,
        *,
        followed: bool,
    ) -> Iterator[dict[str, t.Any]]:
        """Emit a page's calls (and queue their transcripts), after requesting the chain's next page (unless
        the worker did, `followed`)."""
        progress = self.progress[window]
        if cursor is None and not progress.pages:
            with self.pages_lock:
                progress.pages = -(-self.stream.window_total(response) // PAGE_SIZE)
        # The next page first: processing this one must not leave the chain idle.
        token = next_cursor(response)
        if token is not None and not followed:
            self.request_page(window, token)
        settled: list[tuple[dict[str, t.Any], Window]] = []
        for call in self.stream.parse_response(response):
            record = call_record(call, include_media_urls=self.include_media)
            if record["is_private"] and not self.include_private:
                continue
            if record["id"] is not None:  # calls without an id are each skipped with a WARNING
                if record["id"] in progress.seen:
                    continue
                progress.seen.add(record["id"])
            # Taken before the SDK sees the record: it may drop deselected properties in place.
            # Parties kept as JSON bytes: dozens of batches may wait for their transcripts (MAX_WAITING_BATCHES)
            # and Python objects for 100 calls' parties are ~10x their JSON (benchmark row 5, peak RSS).
            child = {
                "id": record["id"],
                "started": record["started"],
                "parties": msgspec.json.encode(record["parties"]),
            }
            yield self.emitted(window, record)
            if not self.children_selected:
                continue
            if self.needs_transcript(child):
                self.buffer.append((child, window))
                progress.buffered += 1
                if len(self.buffer) >= self.batch_size:
                    self.flush_batch()
            else:  # a re-read call whose transcript was emitted before: its parties go out with this page
                settled.append((child, window))
        if settled:
            self.start_batch(settled, wanted=False)
        if token is None:
            progress.listing_done = True
            self.active_windows.discard(window)
            self.activate()
            self.maybe_finish(window)

    def count_page(self, response: requests.Response | None) -> None:
        """A page re-reads when every call on it started before the bookmark the run began with."""
        empty = response is None or self.stream.is_empty_result(response)
        started = [] if response is None or empty else self.stream.started_times(response)
        if self.old_bookmark is not None and (not started or max(started) < self.old_bookmark):
            self.stream.scheduler.requests_reread += 1
        else:
            self.stream.scheduler.requests_new += 1

    def needs_transcript(self, call: dict[str, t.Any]) -> bool:
        """A call needs its transcript requested unless the look-back already emitted one for it."""
        return self.stream.needs_transcript(call, self.summary)

    def flush_batch(self) -> None:
        """Up to 100 buffered calls that need a transcript: one transcript request, gathered across pages."""
        calls, self.buffer = self.buffer[: self.batch_size], self.buffer[self.batch_size :]
        for _, window in calls:
            self.progress[window].buffered -= 1
        self.start_batch(calls, wanted=True)

    def start_batch(self, calls: list[tuple[dict[str, t.Any], Window]], *, wanted: bool) -> None:
        """Sync these calls' children: at once, or once their transcripts are in (`wanted`)."""
        self.batch_number += 1
        batch = CallBatch(
            [c for c, _ in calls], [w for _, w in calls], collections.Counter(w for _, w in calls)
        )
        batch.wanted = batch.calls if wanted else []
        for window in batch.windows:
            self.progress[window].open_batches += 1
        self.stream.batches[self.batch_number] = batch
        self.open_batches += 1
        if not batch.wanted:
            self.on_transcripts(self.batch_number, [])
        elif self.dry_run:
            self.on_transcripts(self.batch_number, self.fetch_transcripts(batch))
        else:
            self.transcripts_waiting.append(self.batch_number)
            self.send_transcripts()

    def send_transcripts(self) -> None:
        """Request the waiting batches' transcripts (the earliest window's first) while fewer than
        `max_transcript_bodies` requested ones are not emitted yet: only those hold transcript bodies."""
        while self.transcripts_waiting and self.transcripts_alive < self.max_transcript_bodies:
            number = min(self.transcripts_waiting, key=lambda n: (min(self.stream.batches[n].windows), n))
            self.transcripts_waiting.remove(number)
            batch = self.stream.batches[number]
            self.transcripts_alive += 1
            self.transcripts_requested += 1
            self.group.submit(
                ("transcripts", number),
                self.fetch_transcripts,
                batch,
                priority=transcripts_priority(min(batch.windows)),
            )

    def fetch_transcripts(self, batch: CallBatch) -> list[bytes] | Refused:
        """The transcript bodies of a batch (a task); a refusal is returned, so only `transcripts` stops."""
        try:
            return self.stream.fetch_transcripts(batch)
        except Refused as refused:
            return refused

    def on_transcripts(self, number: int, result: list[bytes] | Refused) -> None:
        batch = self.stream.batches[number]
        if batch.wanted:
            self.stream.scheduler.requests_new += 1  # only new calls, or calls that had no transcript yet
        if isinstance(result, Refused):
            self.stream.transcripts_refused(result)
            result = []
        batch.bodies = result
        try:
            self.stream._sync_children({"call_batch": number})
        finally:
            del self.stream.batches[number]
        self.open_batches -= 1
        if batch.wanted and not self.dry_run:
            self.transcripts_alive -= 1
            self.send_transcripts()
        if self.stream.transcript_consumers:
            for call in batch.wanted:
                if call["started"]:
                    self.summary.add(
                        parse_datetime(call["started"]), call["id"], int(call["id"] in batch.emitted)
                    )
        for window in batch.windows:
            self.progress[window].open_batches -= 1
            self.maybe_finish(window)

    def maybe_finish(self, window: Window) -> None:
        # A window whose calls still gather into a batch waits for the next pages of other windows to fill
        # it (a partial batch costs a request; records.flush_batch sends the last one).
        progress = self.progress[window]
        if not progress.listing_done or progress.open_batches or progress.buffered:
            return
        del self.progress[window]
        self.finish_window(window)
        self.stream.logger.info(
            "calls: window %s done; records so far: %s; Gong: %s",
            window,
            ", ".join(f"{s.name} {s.records_emitted}" for s in self.stream.bookmark_streams if s.selected)
            or "none",
            self.stream.scheduler.limiter.usage(),
        )

    @override
    def keeps_summary(self) -> bool:
        return bool(self.stream.transcript_consumers)


def page_priority(window: Window, cursor: str | None) -> float:
    """What goes first when more is ready than the cap allows (lowest first): the work of the earliest
    window, its transcript batches (`transcripts_priority`), then its pages. Windows then finish in order, so
    a stop keeps nearly all it read (the bookmark and the finished windows), and the listing never runs far
    ahead of the transcripts. Later windows' chains still fill the cap while the earliest waits on Gong's
    answers: only as many are open as the cap needs (`_CallsRun.max_active_windows`)."""
    return window.start.timestamp()


def transcripts_priority(earliest: Window) -> float:
    """A batch goes with the earliest window it holds calls of, before that window's pages: it finishes
    windows. See page_priority."""
    return earliest.start.timestamp() - 0.5


def quantile_split(
    window: Window, sample: t.Sequence[datetime], parts: int, min_span: timedelta
) -> list[Window] | None:
    """`window` cut into `parts` at the quantiles of `sample`, on whole seconds; None when the sample is too
    small or covers less than half of the window (then it says little about the rest)."""
    inside = sorted(s for s in sample if window.start <= s < window.end)
    if len(inside) < 20 or inside[-1] - inside[0] < (window.end - window.start) / 2:
        return None
    bounds = [window.start]
    for index in range(1, parts):
        cut = floor_second(inside[len(inside) * index // parts])
        if cut - bounds[-1] >= min_span and window.end - cut >= min_span:
            bounds.append(cut)
    bounds.append(window.end)
    return [Window(a, b) for a, b in itertools.pairwise(bounds)]


# Records


def call_record(call: dict[str, t.Any], *, include_media_urls: bool) -> dict[str, t.Any]:
    """A `calls` record from one item of POST /v2/calls/extensive: `metaData` flattened, the rest in snake_case.

    Parties nested in the call carry every key of the `parties` stream (null where Gong omits one).
    """
    record = dict.fromkeys(CALL_FIELDS)
    for key, value in (call.get("metaData") or {}).items():
        record[snake(key)] = value
    if isinstance(record["duration"], float):
        record["duration"] = int(record["duration"])
    for key, value in call.items():
        if key == "metaData":
            continue
        if key == "media":
            if include_media_urls:
                record["media_urls"] = snake_keys(value)
            continue
        record[snake(key)] = snake_keys(value)
    record["id"] = as_id(record["id"])
    if isinstance(record["parties"], list):
        record["parties"] = [{**dict.fromkeys(NESTED_PARTY_KEYS), **p} for p in record["parties"]]
    return record


def party_record(call: dict[str, t.Any], party: dict[str, t.Any]) -> dict[str, t.Any]:
    """A `parties` record: the party of a call, with the call's id and `started`."""
    record = dict.fromkeys(PARTY_KEYS)
    record.update(party)
    record["id"] = as_id(record["id"])
    record["call_id"] = call["id"]
    record["call_started"] = call["started"]
    return record


def call_parties(call: Mapping[str, t.Any]) -> list[dict[str, t.Any]]:
    """The parties of a batched call (`{id, started, parties}`, parties as the calls record's list or its
    msgspec JSON bytes), as a list of dicts; `[]` when Gong gave none (imported calls)."""
    parties = call.get("parties")
    if isinstance(parties, bytes):
        parties = msgspec.json.decode(parties)
    return parties if isinstance(parties, list) else []


class _TranscriptItem(msgspec.Struct):
    callId: t.Any = None  # noqa: N815 (Gong's name)
    transcript: msgspec.Raw = msgspec.Raw(b"null")  # decoded only when its record is built


class _TranscriptsPage(msgspec.Struct):
    callTranscripts: list[_TranscriptItem] | None = None  # noqa: N815 (Gong's name)


def transcript_records(calls: list[dict[str, t.Any]], bodies: list[bytes]) -> Iterator[dict[str, t.Any]]:
    """The `transcripts` records of `calls` (`{id, started, parties}`) from the bodies of POST
    /v2/calls/transcript pages (`callTranscripts: [{callId, transcript}]`, gong_api.md §3.4).

    Nothing promises one entry per call: a long transcript may come in parts, and a page may repeat an
    entry. Parts are joined in time order; a repeated entry counts once; an entry for a call not asked for
    is never emitted. One call's transcript is decoded at a time (a batch decoded at once is ~20 MB).

    Raises:
        TapCallsError: a body is not Gong's JSON (its syntax was checked when it arrived: never expected).
    """
    wanted = {call["id"]: call for call in calls}
    parts: dict[str, list[msgspec.Raw]] = {}
    try:
        for body in bodies:
            for item in msgspec.json.decode(body, type=_TranscriptsPage).callTranscripts or ():
                call_id = as_id(item.callId)
                if call_id is None or call_id not in wanted:
                    continue
                entries = parts.setdefault(call_id, [])
                if item.transcript not in entries:
                    entries.append(item.transcript)
        for call_id, raws in parts.items():
            yield transcript_record(wanted[call_id], [msgspec.json.decode(raw) or [] for raw in raws])
    except msgspec.DecodeError as exc:
        msg = f"Gong POST /v2/calls/transcript: a response body is not what Gong documents ({exc})"
        raise TapCallsError(msg) from None


def transcript_record(call: dict[str, t.Any], entries: list[list[dict[str, t.Any]]]) -> dict[str, t.Any]:
    """A `transcripts` record from the entries Gong returned for one call (joined in time order); each
    monologue also says who spoke, from the call's own parties (speakers.add_gong_speakers)."""
    monologues = entries[0] if len(entries) == 1 else sorted(chain(*entries), key=_monologue_start)
    transcript = [
        {"speaker_id": as_id(m.get("speakerId")), "topic": m.get("topic"), "sentences": m.get("sentences")}
        for m in monologues
    ]
    joined = add_gong_speakers(transcript, call_parties(call))
    return {
        "call_id": call["id"],
        "call_started": call["started"],
        "transcript": joined,
        "sentence_count": sentence_count(joined),
    }


def _monologue_start(monologue: dict[str, t.Any]) -> float:
    sentences = monologue.get("sentences") or ()
    first = sentences[0].get("start") if sentences else None
    return first if isinstance(first, int | float) else 0


def user_record(user: dict[str, t.Any]) -> dict[str, t.Any]:
    """A `users` record from one item of GET /v2/users."""
    record = dict.fromkeys(USER_FIELDS)
    record.update(snake_keys(user))
    record["id"] = as_id(record["id"])
    record["manager_id"] = as_id(record["manager_id"])
    return record


# Child streams


class CallChildStream(BookmarkedByRun, GongStream):
    """A stream fed from the batches of calls that `calls` emitted."""

    parent_stream_type = CallsStream
    state_partitioning_keys: t.ClassVar[list[str]] = []
    replication_key = "call_started"

    def __init__(self, tap: Tap, *, batches: CallBatches, **kwargs: t.Any) -> None:
        super().__init__(tap, **kwargs)
        self.batches = batches
        self.skipped = False
        self.logger.addFilter(quiet_child_syncs)

    def batch(self, context: Context | None) -> CallBatch:
        assert context is not None
        return self.batches[context["call_batch"]]

    @override
    def log_summary(self) -> None:
        if not self.skipped:
            super().log_summary()


class PartiesStream(CallChildStream):
    name = "parties"
    path = "/v2/calls/extensive"
    primary_keys = ("call_id", "id")
    schema = PARTY_SCHEMA
    required_scope = "api:calls:read:extensive"

    @override
    def read_records(self, context: Context | None) -> Iterator[dict[str, t.Any]]:
        for call in self.batch(context).calls:
            for party in call_parties(call):
                yield party_record(call, party)


class TranscriptConsumer(CallChildStream):
    """A child made from the answers of POST /v2/calls/transcript (gong_api.md §3.4): `transcripts` and
    `transcript_sentences`. Whichever are selected, a batch of calls costs one request (CallsStream asks
    the first selected one to send it, `fetch`); each builds its records from the batch's raw bodies."""

    path = "/v2/calls/transcript"
    http_method = "POST"
    records_key = "callTranscripts"
    required_scope = "api:calls:read:transcript"

    @override
    def prepare_request_payload(
        self, context: Context | None, next_page_token: str | None
    ) -> dict[str, t.Any]:
        assert context is not None
        # Gong returns the transcripts of these ids "that took place during the time period": the windows
        # the calls were listed in, widened to their `started` in case Gong filed any by another time.
        calls, windows = context["calls"], context["windows"]
        started = [parse_datetime(call["started"]) for call in calls if call["started"]]
        since = min([*(w.start for w in windows), *started])
        until = max([*(w.end for w in windows), *(s + timedelta(seconds=1) for s in started)])
        body: dict[str, t.Any] = {
            "filter": {
                "fromDateTime": iso(since),
                "toDateTime": iso(until),
                "callIds": [c["id"] for c in calls],
            }
        }
        if next_page_token:
            body["cursor"] = next_page_token
        return body

    def fetch(self, batch: CallBatch) -> list[bytes]:
        """The raw bodies of the transcript pages for a batch's wanted calls (a scheduler task).

        Kept unparsed until `read_records` emits them: only the page's cursor is decoded here. When the
        cursor expires, the pages are read again from the first; a page met twice counts once (and a
        repeated transcript entry once, see `transcript_records`).
        """
        context = {"calls": batch.wanted, "windows": list(batch.windows)}
        return list(
            restart_on_expiry(lambda: self.bodies(context), key=bytes, what=self.path, logger=self.logger)
        )

    def bodies(self, context: Context) -> Iterator[bytes]:
        """Each page's body, following `records.cursor` (an empty result, Gong's 404, has none)."""
        token = None
        while True:
            response = self.send_page(context, token)
            if not self.is_empty_result(response):
                yield response.content
            token = next_cursor(response)
            if token is None:
                return

    def transcripts(self, context: Context | None) -> Iterator[dict[str, t.Any]]:
        """The batch's `transcripts` records (speakers joined), one call at a time; each call counts as
        having had its transcript emitted (the look-back summary's flag)."""
        batch = self.batch(context)
        for record in transcript_records(batch.wanted, batch.bodies):
            batch.emitted.add(record["call_id"])
            yield record


class TranscriptsStream(TranscriptConsumer):
    name = "transcripts"
    primary_keys = ("call_id",)
    schema = TRANSCRIPT_SCHEMA

    @override
    def read_records(self, context: Context | None) -> Iterator[dict[str, t.Any]]:
        if self.selected:
            yield from self.transcripts(context)


class TranscriptSentencesStream(TranscriptConsumer):
    """One record per sentence, from the same answers as `transcripts` (never a request of its own).

    Synced after `transcripts` for each batch (discovery order: tap.discover_streams), so a call's rows come
    after its transcript record. The rows are built from the transcript record itself (its joined speakers),
    decoded again from the batch's bodies rather than kept from `transcripts`: a batch's records held at
    once would be ~20 MB, and the SDK trims a record's deselected properties in place once yielded.
    """

    name = "transcript_sentences"
    primary_keys = ("call_id", "sentence_index")
    schema = SENTENCE_SCHEMA

    @override
    def read_records(self, context: Context | None) -> Iterator[dict[str, t.Any]]:
        for record in self.transcripts(context):
            yield from sentence_records(record)


# Full table


class UsersStream(GongStream, FullTableStream):
    name = "users"
    path = "/v2/users"
    primary_keys = ("id",)
    schema = USER_SCHEMA
    records_key = "users"
    required_scope = "api:users:read"

    @override
    def get_url_params(self, context: Context | None, next_page_token: str | None) -> dict[str, t.Any]:
        return {"cursor": next_page_token} if next_page_token else {}

    @override
    def read_records(self, context: Context | None) -> Iterator[dict[str, t.Any]]:
        users = restart_on_expiry(
            lambda: self.request_records(context),
            key=lambda u: as_id(u.get("id")),  # None: never a repeat of another user without an id
            what=self.path,
            logger=self.logger,
        )
        for user in users:
            yield user_record(user)
