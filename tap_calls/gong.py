"""Gong (API v2): `calls`, `parties`, `transcripts` and `users`.

`calls` lists POST /v2/calls/extensive over date windows, several windows at once (each its own cursor
chain) through the source's scheduler. `parties` comes out of the very same responses, and `transcripts`
is fetched for up to 100 call ids per POST /v2/calls/transcript, requested as soon as 100 calls that need
one are in; both are child streams synced batch by batch. A backfill costs about two requests per 100
calls; a look-back re-read asks transcripts only for calls that are new or had none (see `EmittedSummary`).
"""

from __future__ import annotations

import re
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
from tap_calls.dates import iso, parse_datetime
from tap_calls.errors import AuthError, CursorExpired, ScopeMissing, TapCallsError
from tap_calls.keys import as_id, snake, snake_keys
from tap_calls.oauth import GongOAuthAuthenticator, gong_authenticator
from tap_calls.page_chains import NEVER_SPLIT, ChainPager, PageAnswer, PageTask, SplitRule
from tap_calls.paging import (
    MAX_CURSOR_RESTARTS,
    CursorPaginator,
    check_page_json,
    next_cursor,
    page_records,
    restart_on_expiry,
)
from tap_calls.request_budget import GongBudget
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
from tap_calls.splitting import (
    GONG_PAGE_SIZE,
    GongSizing,
    gong_cost,
)
from tap_calls.transcript_batches import (
    CallBatch,
    CallBatches,
    ChildCall,
    TranscriptBatcher,
)
from tap_calls.transcript_rows import sentence_count, sentence_records
from tap_calls.windowed import WindowedRun, WindowedStream
from tap_calls.windows import ReadPlan, Window

if t.TYPE_CHECKING:
    from collections.abc import Iterable, Iterator, Mapping, Sequence

    from singer_sdk import Tap
    from singer_sdk.helpers.types import Context

    from tap_calls.windows import EmittedSummary


PAGE_SIZE = GONG_PAGE_SIZE

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

    @property
    def requests_per_page(self) -> int:
        """Requests 100 listed calls cost: their page, and with transcripts their share of a batch."""
        return 2 if self.transcript_consumers else 1

    def page_calls(
        self, response: requests.Response, seen: set[str]
    ) -> Iterator[tuple[dict[str, t.Any], ChildCall]]:
        """A page's `calls` records (private ones only with `include_private_calls`; ids in `seen` skipped, and
        the others added to it) with what their children need, taken before the SDK sees the record (it may
        drop deselected properties in place)."""
        include_private = bool(self.config.get("include_private_calls"))
        include_media = bool(self.config.get("include_media_urls"))
        for call in self.parse_response(response):
            record = call_record(call, include_media_urls=include_media)
            if record["is_private"] and not include_private:
                continue
            if record["id"] is not None:  # calls without an id are each skipped with a WARNING
                if record["id"] in seen:
                    continue
                seen.add(record["id"])
            parties = msgspec.json.encode(record["parties"])
            yield record, ChildCall(id=record["id"], started=record["started"], parties=parties)

    def count_page(self, response: requests.Response, old_bookmark: datetime | None) -> None:
        """Count a page in the cost line: it re-reads when every call on it started before `old_bookmark`
        (the bookmark the run began with)."""
        started = [] if self.is_empty_result(response) else self.started_times(response)
        if old_bookmark is not None and (not started or max(started) < old_bookmark):
            self.scheduler.requests_reread += 1
        else:
            self.scheduler.requests_new += 1

    def transcripts_or_refusal(self, batch: CallBatch) -> list[bytes] | Refused:
        """`fetch_transcripts` as a scheduler task: a refusal is returned, so only the consumers stop."""
        try:
            return self.fetch_transcripts(batch)
        except Refused as refused:
            return refused

    def sync_batch(self, batch: CallBatch, result: list[bytes] | Refused) -> None:
        """Emit a batch's children (`parties`, and the transcript consumers from `result`, its answers)."""
        if batch.wanted:
            self.scheduler.requests_new += 1  # only new calls, or calls that had no transcript yet
        if isinstance(result, Refused):
            self.transcripts_refused(result)
            result = []
        batch.bodies = result
        self._sync_children({"call_batch": batch.number})  # private SDK API: Stream._sync_children

    @property
    def sizing(self) -> GongSizing:
        """The window sizes of this stream (its class settings, which tests shrink)."""
        return GongSizing(
            target=self.window_target_records,
            minimum=self.window_min_records,
            wanted=self.windows_wanted,
            split_above=self.window_split_records,
            min_span=self.min_window,
        )


@dataclass
class _WindowProgress:
    """What the stream's thread knows of a window while it is read."""

    restarts: int = 0  # cursor expiries in a row
    listing_done: bool = False
    seen: set[str] = field(default_factory=set)  # ids emitted (a restarted or split window skips them)


@dataclass(frozen=True)
class _TranscriptsTask:
    """The transcript request of one batch (a scheduler task's key)."""

    batch: CallBatch


class _CallsRun(WindowedRun):
    """One run of `calls`: windows paged concurrently, their calls' transcripts in batches, the watermark.

    The parts: `page_chains.ChainPager` (the windows being paged, their sizes), `transcript_batches`
    (batches and their memory bounds), `request_budget`, `splitting`, `WindowedRun` (the loop over typed
    results, the watermark, commits). A window is finished once listed in full and every batch holding its calls was synced (parties
    and transcripts emitted): the bookmark then moves, or the window is kept in STATE as finished (progress.py).

    Read for progress: the gaps earlier runs left, earliest first (task priorities: the earliest window's
    transcripts, then its pages); only as many windows paged at once as the cap needs at the observed latency
    (`ChainPager.max_chains`); each window sized by its first page (parts a chain reads in time, and with
    `max_requests_per_run` parts that fit in what is left), none opened that the budget cannot finish.

    Threads: the scheduler's workers run `ChainPager.page_task` and touch nothing of the run but the pager's
    `chains` (behind their one lock) and the task group; everything else belongs to the stream's thread.
    """

    stream: CallsStream

    def __init__(self, stream: CallsStream, plan: ReadPlan) -> None:
        super().__init__(stream, plan)
        self.children_selected = any(c.selected for c in stream.child_streams)
        self.sizing = stream.sizing
        self.progress: dict[Window, _WindowProgress] = {}
        self.pending: list[Window] = []  # windows not paged yet, earliest last
        self.dry_run = bool(stream.ABORT_AT_RECORD_COUNT)
        self.pager = ChainPager(stream, self.group, self.sizing, dry_run=self.dry_run)
        size = min(PAGE_SIZE, stream.ABORT_AT_RECORD_COUNT or PAGE_SIZE)
        target = stream.scheduler.in_flight_target
        self.batcher = TranscriptBatcher(stream.batches, batch_size=size, in_flight_target=target)
        self.budget = GongBudget(self.budget_left, self.pager, self.batcher)

    @override
    def open_window(self, window: Window) -> None:
        super().open_window(window)
        self.progress[window] = _WindowProgress()
        self.pending.append(window)
        self.pending.sort(reverse=True)

    @override
    def advance(self) -> None:
        self.pager.release(hold=self.batcher.busy and not self.dry_run)
        while (
            self.pending
            and len(self.pager.chains) < self.pager.max_chains()
            and self.budget.affordable(self.pending[-1])
        ):
            window = self.pending.pop()
            self.pager.chains.open(window)
            rule = self.pager.split_rule(window)
            self.request_page(window, None, split=None if self.budget_left() is not None else rule)
        self.pager.chains.tail(not self.pending and self.budget_left() is None)
        if self.pager.idle and self.batcher.buffer:
            self.batcher.flush()  # the last calls of the listing: a partial batch
        self.send_transcripts()

    def request_page(
        self, window: Window, cursor: str | None, *, split: SplitRule | None = None, total: int | None = None
    ) -> None:
        self.pager.request(
            PageTask(window, cursor, split), total, hold=self.batcher.busy and not self.dry_run
        )

    @override
    def on_result(self, task: PageTask | _TranscriptsTask, result: t.Any) -> Iterator[dict[str, t.Any]]:
        if isinstance(task, _TranscriptsTask):
            self.on_transcripts(task.batch, result)
            return
        self.pager.answered()
        answer: PageAnswer = result
        window, progress = task.window, self.progress.get(task.window)
        if progress is None:
            return  # the page of a window split while its chain ran: its parts read it again
        if answer.response is None:
            self.restart(window, progress)
            return
        self.stream.count_page(answer.response, self.old_bookmark)
        total = self.stream.window_total(answer.response) if task.cursor is None else None
        if total is not None and progress.restarts == 0:
            if window in self.gaps:
                cost, budget = (
                    gong_cost(total, self.stream.requests_per_page),
                    self.stream.scheduler.limiter.max_requests,
                )
                self.meter.plan(window, total, cost, budget)
            parts = answer.parts
            if not answer.decided:
                rule, fit = self.pager.split_rule(window), self.budget.calls_that_fit(window)
                parts = self.pager.parts(window, answer.response, total, rule, fit)
            if parts is not None:
                self.split(window, parts, total)
                return
        token = next_cursor(answer.response)
        if token is not None and not answer.followed:
            self.request_page(window, token, total=total)
        yield from self.take_page(window, progress, answer.response)
        if token is None:
            progress.listing_done = True
            self.pager.chains.close(window)
            self.maybe_finish(window)

    def take_page(
        self, window: Window, progress: _WindowProgress, response: requests.Response
    ) -> Iterator[dict[str, t.Any]]:
        """Emit a page's calls, and hand their children to the batcher: calls that need a transcript wait
        for a batch; re-read calls whose transcript was emitted before go out with this page."""
        settled: list[tuple[ChildCall, Window]] = []
        for record, child in self.stream.page_calls(response, progress.seen):
            yield self.emitted(window, record)
            if not self.children_selected:
                continue
            if self.stream.needs_transcript(child, self.summary):
                self.batcher.add(child, window)
                self.send_transcripts()
            else:
                settled.append((child, window))
        if settled:
            self.on_transcripts(self.batcher.settled(settled), [])

    def restart(self, window: Window, progress: _WindowProgress) -> None:
        """The cursor expired: the chain again from page 1, skipping the calls already emitted."""
        progress.restarts += 1
        if progress.restarts > MAX_CURSOR_RESTARTS:
            msg = (
                f"Gong {self.stream.path}: the cursor expired {progress.restarts} times in a row on {window}"
            )
            raise TapCallsError(msg)
        self.stream.logger.warning(
            "Gong %s: cursor expired, reading %s again from its first page", self.stream.path, window
        )
        self.request_page(window, None, split=NEVER_SPLIT)

    def split(self, window: Window, parts: list[Window], total: int) -> None:
        """Read `window` (whose first page counted `total` calls) as `parts`; its chain is dropped. What it
        emitted already goes to the parts: every part skips those calls, and its calls waiting for transcripts
        (a restarted part's) belong to the part holding each."""
        self.stream.logger.info(
            "calls: %s holds %d calls; reading it as %d windows", window, total, len(parts)
        )
        seen = self.progress.pop(window).seen
        self.pager.chains.close(window)
        whole = self.pager.targets.pop(window, None) is None  # a window of the plan, not a part
        target = -(-total // len(parts))
        self.replace_window(window, parts)
        for part in parts:  # a re-split costs a page and partial pages: only when clearly off
            self.pager.targets[part] = (target, 1.3 * target)
            self.progress[part].seen = set(seen)
        if whole and len(parts) > 4 and self.budget_left() is None:
            # The last part is read last, its chain alone at the end: in halves, it ends sooner.
            self.pager.targets[parts[-1]] = (-(-target // 2), 0.65 * target)

        def part_of(call: ChildCall) -> Window:
            instant = parse_datetime(call["started"]) if call["started"] else window.end
            return next((p for p in parts if instant < p.end), parts[-1])

        self.batcher.rehome(window, part_of)

    # Transcripts: one request per batch, the earliest window's batch first, before its pages.

    def send_transcripts(self) -> None:
        for batch in self.batcher.to_request():
            if self.dry_run:
                self.on_transcripts(batch, self.stream.transcripts_or_refusal(batch))
            else:
                priority = min(batch.origins).start.timestamp() - 0.5
                task = _TranscriptsTask(batch)
                self.group.submit(task, self.stream.transcripts_or_refusal, batch, priority=priority)

    def on_transcripts(self, batch: CallBatch, result: list[bytes] | Refused) -> None:
        """Sync the batch's children; note in the look-back summary whose transcripts were emitted."""
        try:
            self.stream.sync_batch(batch, result)
        finally:
            windows = self.batcher.done(batch)
        if self.stream.transcript_consumers:
            for call in batch.wanted:
                if call["started"] and call["id"] is not None:
                    instant = parse_datetime(call["started"])
                    self.summary.add(instant, call["id"], int(call["id"] in batch.emitted))
        for window in windows:
            self.maybe_finish(window)

    def maybe_finish(self, window: Window) -> None:
        """Commit `window` once listed in full and none of its calls waits for a batch (a partial batch
        costs a request: a window's last calls wait for other windows' pages to fill it)."""
        progress = self.progress.get(window)
        if progress is None or not progress.listing_done or self.batcher.holds(window):
            return
        del self.progress[window]
        self.finish_window(window)

    @override
    def run_summary(self) -> str:
        return f"{self.batcher.requested} transcript requests for {self.stream.records_emitted} calls; "

    @override
    def keeps_summary(self) -> bool:
        return bool(self.stream.transcript_consumers)


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


def party_record(call: Mapping[str, t.Any], party: dict[str, t.Any]) -> dict[str, t.Any]:
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


def transcript_records(
    calls: Sequence[Mapping[str, t.Any]], bodies: list[bytes]
) -> Iterator[dict[str, t.Any]]:
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


def transcript_record(call: Mapping[str, t.Any], entries: list[list[dict[str, t.Any]]]) -> dict[str, t.Any]:
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
