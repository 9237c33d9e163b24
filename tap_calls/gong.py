"""Gong (API v2): calls, parties, transcripts and users.

`calls` reads POST /v2/calls/extensive over date windows. `parties` comes out of the very same
responses and `transcripts` is fetched for up to 100 call ids per POST /v2/calls/transcript, both as
child streams fed batch by batch, so a backfill costs about two requests per 100 calls.
"""

from __future__ import annotations

import collections
import logging
import typing as t
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import datetime, timedelta
from functools import cached_property
from itertools import chain

import msgspec
import requests
from singer_sdk import typing as th
from singer_sdk.authenticators import BasicAuthenticator, BearerTokenAuthenticator

from tap_calls.client import (
    CursorExpired,
    CursorPaginator,
    SourceStream,
    TapCallsError,
    Window,
    WindowedStream,
    WindowReadAhead,
    WindowTooLarge,
    iso,
    parse_datetime,
    response_json,
)
from tap_calls.keys import snake, snake_keys
from tap_calls.speakers import GONG_SPEAKER_FIELDS, add_gong_speakers

if t.TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from singer_sdk import Tap
    from singer_sdk.helpers.types import Context

# Gong pages are fixed at 100 records; the same number is the safe batch of call ids per request.
PAGE_SIZE = 100
MAX_CURSOR_RESTARTS = 3
# Calls of the next window paged ahead while the current one is emitted (three pages; bounded memory).
READ_AHEAD_CALLS = 3 * PAGE_SIZE
# Batches whose transcripts are being fetched while later calls are emitted: with a slow API, one at a
# time would leave the cap idle once the calls pages are done.
TRANSCRIPT_BATCHES_IN_FLIGHT = 3

_any = th.AnyType
_str = th.StringType
_num = th.NumberType
_int = th.IntegerType
_bool = th.BooleanType
_dt = th.DateTimeType

CRM_CONTEXT = th.ArrayType(
    th.ObjectType(
        th.Property("system", _str),
        th.Property(
            "objects",
            th.ArrayType(
                th.ObjectType(
                    th.Property("object_type", _str),
                    th.Property("object_id", _str),
                    # CRM values are strings, numbers, booleans or objects depending on the field.
                    th.Property(
                        "fields",
                        th.ArrayType(th.ObjectType(th.Property("name", _str), th.Property("value", _any))),
                    ),
                    th.Property("timing", _str),
                )
            ),
        ),
    )
)

PARTY_FIELDS = th.PropertiesList(
    th.Property("id", _str),
    th.Property("email_address", _str),
    th.Property("name", _str),
    th.Property("title", _str),
    th.Property("user_id", _str),
    th.Property("speaker_id", _str),
    th.Property("affiliation", _str),
    th.Property("methods", th.ArrayType(_str)),
    th.Property("phone_number", _str),
    th.Property("context", CRM_CONTEXT),
)

_named_duration = th.ArrayType(th.ObjectType(th.Property("name", _str), th.Property("duration", _num)))
_occurrences = th.ArrayType(th.ObjectType(th.Property("start_time", _num), th.Property("speaker_id", _str)))

CONTENT = th.ObjectType(
    th.Property("structure", _named_duration),
    th.Property("topics", _named_duration),
    th.Property(
        "trackers",
        th.ArrayType(
            th.ObjectType(
                th.Property("id", _str),
                th.Property("name", _str),
                th.Property("count", _num),
                th.Property("type", _str),
                th.Property("occurrences", _occurrences),
                th.Property(
                    "phrases",
                    th.ArrayType(
                        th.ObjectType(
                            th.Property("count", _num),
                            th.Property("occurrences", _occurrences),
                            th.Property("phrase", _str),
                        )
                    ),
                ),
            )
        ),
    ),
    th.Property(
        "points_of_interest",
        th.ObjectType(
            th.Property(
                "action_items",
                th.ArrayType(
                    th.ObjectType(
                        th.Property("snippet_start_time", _num),
                        th.Property("snippet_end_time", _num),
                        th.Property("speaker_id", _str),
                        th.Property("snippet", _str),
                    )
                ),
            )
        ),
    ),
    th.Property("brief", _str),
    th.Property("outline", th.ArrayType(th.ObjectType())),
    th.Property("highlights", th.ArrayType(th.ObjectType())),
    th.Property(
        "call_outcome",
        th.ObjectType(th.Property("id", _str), th.Property("category", _str), th.Property("name", _str)),
    ),
    th.Property("key_points", th.ArrayType(th.ObjectType(th.Property("text", _str)))),
)

INTERACTION = th.ObjectType(
    th.Property(
        "speakers",
        th.ArrayType(
            th.ObjectType(
                th.Property("id", _str), th.Property("user_id", _str), th.Property("talk_time", _num)
            )
        ),
    ),
    th.Property(
        "interaction_stats",
        th.ArrayType(th.ObjectType(th.Property("name", _str), th.Property("value", _num))),
    ),
    th.Property("video", _named_duration),
    th.Property(
        "questions", th.ObjectType(th.Property("company_count", _num), th.Property("non_company_count", _num))
    ),
)

COLLABORATION = th.ObjectType(
    th.Property(
        "public_comments",
        th.ArrayType(
            th.ObjectType(
                th.Property("id", _str),
                th.Property("audio_start_time", _num),
                th.Property("audio_end_time", _num),
                th.Property("commenter_user_id", _str),
                th.Property("comment", _str),
                th.Property("posted", _dt),
                th.Property("during_call", _bool),
                th.Property("in_reply_to", _str),
            )
        ),
    )
)

CALL_SCHEMA = th.PropertiesList(
    th.Property("id", _str, required=True),
    th.Property("url", _str),
    th.Property("title", _str),
    th.Property("scheduled", _dt),
    th.Property("started", _dt),
    th.Property("duration", _int),
    th.Property("primary_user_id", _str),
    th.Property("direction", _str),
    th.Property("system", _str),
    th.Property("scope", _str),
    th.Property("media", _str),
    th.Property("language", _str),
    th.Property("workspace_id", _str),
    th.Property("sdr_disposition", _str),
    th.Property("client_unique_id", _str),
    th.Property("custom_data", _str),
    th.Property("purpose", _str),
    th.Property("meeting_url", _str),
    th.Property("is_private", _bool),
    th.Property("calendar_event_id", _str),
    th.Property("context", CRM_CONTEXT),
    th.Property("parties", th.ArrayType(th.ObjectType(*PARTY_FIELDS.wrapped.values()))),
    th.Property("content", CONTENT),
    th.Property("interaction", INTERACTION),
    th.Property("collaboration", COLLABORATION),
    th.Property("media_urls", th.ObjectType(th.Property("audio_url", _str), th.Property("video_url", _str))),
).to_dict()

PARTY_SCHEMA = th.PropertiesList(
    th.Property("call_id", _str, required=True),
    th.Property("call_started", _dt),
    *PARTY_FIELDS.wrapped.values(),
).to_dict()
PARTY_SCHEMA["required"] = ["call_id", "id"]
PARTY_SCHEMA["properties"]["id"]["type"] = ["string"]

TRANSCRIPT_SCHEMA = th.PropertiesList(
    th.Property("call_id", _str, required=True),
    th.Property("call_started", _dt),
    th.Property(
        "transcript",
        th.ArrayType(
            th.ObjectType(
                th.Property("speaker_id", _str),
                th.Property("topic", _str),
                # Who said what (issue 13): from the call's party with this speaker_id (tap_calls/speakers.py).
                *(th.Property(name, _str) for name in GONG_SPEAKER_FIELDS),
                th.Property(
                    "sentences",
                    th.ArrayType(
                        th.ObjectType(
                            th.Property("start", _int), th.Property("end", _int), th.Property("text", _str)
                        )
                    ),
                ),
            )
        ),
    ),
).to_dict()

USER_SCHEMA = th.PropertiesList(
    th.Property("id", _str, required=True),
    th.Property("email_address", _str),
    th.Property("created", _dt),
    th.Property("active", _bool),
    th.Property("email_aliases", th.ArrayType(_str)),
    th.Property("trusted_email_address", _str),
    th.Property("first_name", _str),
    th.Property("last_name", _str),
    th.Property("title", _str),
    th.Property("phone_number", _str),
    th.Property("extension", _str),
    th.Property("personal_meeting_urls", th.ArrayType(_str)),
    th.Property("settings", th.ObjectType()),
    th.Property("manager_id", _str),
    th.Property("meeting_consent_page_url", _str),
    # Returned by Gong although its spec leaves it out.
    th.Property("conferencing_providers", th.ArrayType(th.ObjectType())),
    th.Property(
        "spoken_languages",
        th.ArrayType(th.ObjectType(th.Property("language", _str), th.Property("primary", _bool))),
    ),
).to_dict()

CALL_FIELDS = tuple(CALL_SCHEMA["properties"])
USER_FIELDS = tuple(USER_SCHEMA["properties"])
PARTY_KEYS = tuple(PARTY_SCHEMA["properties"])

# Gong's words for an empty result; any other 404 (a wrong api_url, say) stays an error.
_EMPTY_404 = (
    "corresponding to the provided filters",
    "for the specified period",
    "no calls",
    "no users",
    "no transcripts",
)


class GongStream(SourceStream):
    source = "Gong"
    url_setting = "api_url"
    credential_settings = "access_key and access_key_secret, or access_token (and api_url for OAuth)"

    @cached_property
    def authenticator(self) -> BasicAuthenticator | BearerTokenAuthenticator:
        if self.config.get("access_token"):
            return BearerTokenAuthenticator(token=self.config["access_token"])
        return BasicAuthenticator(
            username=self.config["access_key"], password=self.config["access_key_secret"]
        )

    def get_new_paginator(self) -> CursorPaginator:
        return CursorPaginator("$.records.cursor")

    def is_empty_result(self, response: requests.Response) -> bool:
        """Gong answers "nothing matched" with a 404 whose `errors` say "No calls found ..." (worded
        a little differently per endpoint); a 404 without Gong's error body (a wrong api_url) is no
        empty result."""
        if response.status_code != 404:
            return False
        try:
            errors = response_json(response).get("errors")
        except (msgspec.DecodeError, AttributeError):
            return False
        text = " ".join(str(e) for e in errors or ()).lower()
        return "found" in text and any(marker in text for marker in _EMPTY_404)

    def validate_response(self, response: requests.Response) -> None:
        if response.status_code == 400:
            text = self.api_error_text(response).lower()
            # Gong: "cursor has expired"; an invalid cursor is likewise only cured by starting over.
            if "cursor" in text and ("expire" in text or "invalid" in text):
                raise CursorExpired
        super().validate_response(response)

    def read_all_resuming(self, context: Context) -> list[dict]:
        """Every record of one request (a batch); when the cursor expires, all of them again from page 1."""
        for attempt in range(MAX_CURSOR_RESTARTS + 1):
            try:
                return list(self.request_records(context))
            except CursorExpired:
                self._restart_after_expiry(attempt, context)
        return []

    def request_records_resuming(self, context: Context, key: Callable[[dict], str]) -> Iterator[dict]:
        """Page through one request; when the cursor expires, start again from page 1, skipping
        records already yielded (Gong cursors are short-lived JWTs)."""
        seen: set[str] = set()
        for attempt in range(MAX_CURSOR_RESTARTS + 1):
            try:
                for record in self.request_records(context):
                    record_key = key(record)
                    if record_key not in seen:
                        seen.add(record_key)
                        yield record
                return
            except CursorExpired:
                self._restart_after_expiry(attempt, context)

    def _restart_after_expiry(self, attempt: int, context: Context) -> None:
        if attempt == MAX_CURSOR_RESTARTS:
            msg = f"Gong {self.path}: the cursor expired {attempt + 1} times in a row on {context}"
            raise TapCallsError(msg) from None
        self.logger.warning(
            "Gong %s: cursor expired, reading %s again from the first page", self.path, context
        )


class CallBatch(t.NamedTuple):
    calls: list[dict]
    window: Window  # the date filter the calls were listed with (a batch never spans windows)


class CallBatches(dict[int, CallBatch]):
    """Calls emitted by `calls`, keyed by batch number, for the child streams to read."""


class CallsStream(GongStream, WindowedStream):
    name = "calls"
    path = "/v2/calls/extensive"
    http_method = "POST"
    primary_keys = ("id",)
    replication_key = "started"
    schema = CALL_SCHEMA
    records_key = "calls"

    def __init__(self, tap: Tap, *, batches: CallBatches, **kwargs: t.Any) -> None:
        super().__init__(tap, **kwargs)
        self.batches = batches
        self._pending: list[dict] = []
        self._unsynced: collections.deque[int] = collections.deque()
        self._batch_number = 0
        self._window: Window | None = None
        self._read_ahead: dict[datetime, WindowReadAhead] = {}

    def content_selector(self) -> dict:
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

    def prepare_request_payload(self, context: Context | None, next_page_token: str | None) -> dict:
        assert context is not None
        window = {"fromDateTime": context["from"], "toDateTime": context["to"]}
        if self.config.get("workspace_id"):
            window["workspaceId"] = self.config["workspace_id"]
        body: dict[str, t.Any] = {"filter": window, "contentSelector": self.content_selector()}
        if next_page_token:
            body["cursor"] = next_page_token  # the body, never the query string: Gong ignores it there
        return body

    def records_in_window(self, response: requests.Response) -> int | None:
        if self.is_empty_result(response):
            return 0
        return int(response_json(response).get("records", {}).get("totalRecords") or 0)

    def fetch_window(self, window: Window) -> t.Iterator[dict]:
        context = {"from": iso(window.start), "to": iso(window.end)}
        return self.request_records_resuming(context, key=lambda call: call["metaData"]["id"])

    def read_window(self, window: Window) -> t.Generator[dict, None, int]:
        ahead = self._read_ahead.pop(window.start, None)
        if ahead is not None and window not in (ahead.requested, ahead.window):
            ahead.stop()
            ahead = None
        if ahead is None:
            ahead = WindowReadAhead(self, window, self.fetch_window, READ_AHEAD_CALLS)
        settled = ahead.settled()
        if settled != window:  # its first page narrowed it: the window loop takes the narrower one
            self._read_ahead[window.start] = ahead
            raise WindowTooLarge(settled.end, ahead.total)
        self._window = window
        if self.range_end is not None and window.end < self.range_end and not self.ABORT_AT_RECORD_COUNT:
            following = self.next_window(window, ahead.total, self.range_end)
            self._read_ahead[following.start] = WindowReadAhead(
                self, following, self.fetch_window, READ_AHEAD_CALLS
            )
        for call in ahead.records():
            record = self.to_record(call)
            if record["is_private"] and not self.config.get("include_private_calls"):
                continue
            self.saw(record["started"])
            # Taken before the SDK sees the record: it may drop deselected properties in place.
            self._pending.append(
                {"id": record["id"], "started": record["started"], "parties": record["parties"]}
            )
            yield record
            if len(self._pending) >= self._batch_size:
                self._flush_children(keep=0 if self.ABORT_AT_RECORD_COUNT else TRANSCRIPT_BATCHES_IN_FLIGHT)
        # The window loop sizes the next window from this; the read-ahead used the same figure.
        return ahead.total

    def finish_window(self, window: Window) -> None:
        self._flush_children(keep=0)

    def _flush_children(self, keep: int = 1) -> None:
        """Make the pending calls a batch and sync the child streams of all but `keep` batches.

        The SDK syncs children per record; one sync per batch of 100 calls is what keeps transcripts at
        one request per 100 calls. A new batch's transcripts are requested at once, in the background,
        and its children synced `keep` batches later, so those requests overlap the next pages of calls.
        """
        if self._pending:
            self._batch_number += 1
            assert self._window is not None
            self.batches[self._batch_number] = CallBatch(self._pending, self._window)
            self._pending = []
            self._unsynced.append(self._batch_number)
            if (transcripts := self._transcripts) is not None:
                transcripts.prefetch(self._batch_number)
        while len(self._unsynced) > keep:
            number = self._unsynced.popleft()
            try:
                self._sync_children({"call_batch": number})
            finally:
                del self.batches[number]

    @property
    def _batch_size(self) -> int:
        # A dry run (`--test`, the SDK's tap tests) stops after a few calls: their children come first.
        return min(PAGE_SIZE, self.ABORT_AT_RECORD_COUNT or PAGE_SIZE)

    @cached_property
    def _transcripts(self) -> TranscriptsStream | None:
        return next((s for s in self.child_streams if isinstance(s, TranscriptsStream) and s.selected), None)

    def get_records(self, context: Context | None) -> t.Iterator[dict]:
        try:
            yield from super().get_records(context)
        finally:
            for ahead in self._read_ahead.values():
                ahead.stop()
            self._read_ahead.clear()
            if self._transcripts is not None:
                self._transcripts.stop_prefetching()

    def generate_child_contexts(self, record: dict, context: Context | None) -> t.Iterable[Context | None]:
        return ()

    def to_record(self, call: dict) -> dict:
        record = dict.fromkeys(CALL_FIELDS)
        for key, value in call["metaData"].items():
            record[snake(key)] = value
        if isinstance(record["duration"], float):
            record["duration"] = int(record["duration"])
        for key, value in call.items():
            if key == "metaData":
                continue
            if key == "media":
                if self.config.get("include_media_urls"):
                    record["media_urls"] = snake_keys(value)
                continue
            record[snake(key)] = snake_keys(value)
        record["id"] = str(record["id"])
        return record


def _once_per_run(record: logging.LogRecord) -> bool:
    """The SDK announces every child sync; with one per batch of calls, that is noise at INFO."""
    return not str(record.msg).startswith(("Beginning sync of", "Starting incremental sync of"))


class CallChildStream(GongStream):
    """A stream fed from the batches of calls that `calls` emitted."""

    parent_stream_type = CallsStream
    state_partitioning_keys: t.ClassVar[list[str]] = []
    replication_key = "call_started"

    def __init__(self, tap: Tap, *, batches: CallBatches, **kwargs: t.Any) -> None:
        super().__init__(tap, **kwargs)
        self.batches = batches
        self.logger.addFilter(_once_per_run)

    def batch(self, context: Context | None) -> list[dict]:
        assert context is not None
        return self.batches[context["call_batch"]].calls


class PartiesStream(CallChildStream):
    name = "parties"
    path = "/v2/calls/extensive"
    primary_keys = ("call_id", "id")
    schema = PARTY_SCHEMA

    def get_records(self, context: Context | None) -> t.Iterator[dict]:
        for call in self.batch(context):
            for party in call.get("parties") or ():
                record = dict.fromkeys(PARTY_KEYS)
                record.update(party)
                record["call_id"] = call["id"]
                record["call_started"] = call["started"]
                yield record


class TranscriptsStream(CallChildStream):
    name = "transcripts"
    path = "/v2/calls/transcript"
    http_method = "POST"
    primary_keys = ("call_id",)
    schema = TRANSCRIPT_SCHEMA
    records_key = "callTranscripts"

    def __init__(self, tap: Tap, **kwargs: t.Any) -> None:
        super().__init__(tap, **kwargs)
        self._pool: ThreadPoolExecutor | None = None
        self._prefetched: dict[int, Future] = {}

    def prefetch(self, batch_number: int) -> None:
        """Request this batch's transcripts now; `get_records` takes them when the batch is synced."""
        if self._pool is None:
            self._pool = ThreadPoolExecutor(TRANSCRIPT_BATCHES_IN_FLIGHT, thread_name_prefix="transcripts")
        self._prefetched[batch_number] = self._pool.submit(lambda: list(self.fetch(batch_number)))

    def stop_prefetching(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None
        self._prefetched.clear()

    def prepare_request_payload(self, context: Context | None, next_page_token: str | None) -> dict:
        assert context is not None
        # Gong returns the transcripts of these ids "that took place during the time period": the period
        # the calls were listed with, widened to their `started` in case Gong filed any by scheduled time.
        calls, window = self.batches[context["call_batch"]]
        started = [parse_datetime(call["started"]) for call in calls if call["started"]]
        body: dict[str, t.Any] = {
            "filter": {
                "fromDateTime": iso(min([window.start, *started])),
                "toDateTime": iso(max([window.end, *(s + timedelta(seconds=1) for s in started)])),
                "callIds": [call["id"] for call in calls],
            }
        }
        if next_page_token:
            body["cursor"] = next_page_token
        return body

    def get_records(self, context: Context | None) -> t.Iterator[dict]:
        assert context is not None
        prefetched = self._prefetched.pop(context["call_batch"], None)
        yield from prefetched.result() if prefetched is not None else self.fetch(context["call_batch"])

    def fetch(self, batch_number: int) -> t.Iterator[dict]:
        context = {"call_batch": batch_number}
        started = {call["id"]: call["started"] for call in self.batch(context)}
        # Who said what (issue 13): the batch's own parties, no extra request.
        parties = {call["id"]: call.get("parties") for call in self.batch(context)}
        # Nothing promises one entry per call: a long transcript may come in parts, and a page may repeat
        # an entry. Parts are joined in time order; a repeated entry counts once.
        parts: dict[str, list[list]] = {}
        for item in self.read_all_resuming(context):
            call_id = str(item.get("callId"))
            if call_id not in started:
                continue  # not a call of this batch (never expected; never emitted unasked)
            transcript = item.get("transcript") or []
            entries = parts.setdefault(call_id, [])
            if transcript not in entries:
                entries.append(transcript)
        for call_id, entries in parts.items():
            monologues = entries[0] if len(entries) == 1 else sorted(chain(*entries), key=_monologue_start)
            yield {
                "call_id": call_id,
                "call_started": started[call_id],
                "transcript": add_gong_speakers(  # issue 13
                    [
                        {
                            "speaker_id": monologue.get("speakerId"),
                            "topic": monologue.get("topic"),
                            "sentences": monologue.get("sentences"),
                        }
                        for monologue in monologues
                    ],
                    parties[call_id],
                ),
            }


def _monologue_start(monologue: dict) -> float:
    sentences = monologue.get("sentences") or ()
    first = sentences[0].get("start") if sentences else None
    return first if isinstance(first, int | float) else 0


class UsersStream(GongStream):
    name = "users"
    path = "/v2/users"
    primary_keys = ("id",)
    replication_key = None
    schema = USER_SCHEMA
    records_key = "users"

    def get_url_params(self, context: Context | None, next_page_token: str | None) -> dict:
        return {"cursor": next_page_token} if next_page_token else {}

    def get_records(self, context: Context | None) -> t.Iterator[dict]:
        for user in self.request_records_resuming({}, key=lambda user: user["id"]):
            record = dict.fromkeys(USER_FIELDS)
            record.update(snake_keys(user))
            record["id"] = str(record["id"])
            yield record
        self.log_summary()
