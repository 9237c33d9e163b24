"""Clari Copilot: `clari_calls`, each call of GET /calls merged with its GET /call-details.

Calls are listed per window of `last_modified_time` (filterModifiedGt/Lt, the upper bound frozen at
the run's start). Details cost one request per call, so they are fetched by a bounded pool of
threads that the source's rate limiter keeps at `clari_requests_per_second` in total.
"""

from __future__ import annotations

import collections
import threading
import typing as t
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from functools import cached_property
from urllib.parse import parse_qs, urlencode, urlparse

import requests
from singer_sdk import typing as th
from singer_sdk.authenticators import APIAuthenticatorBase
from singer_sdk.pagination import BaseAPIPaginator

from tap_calls.client import (
    RetryWaitTooLong,
    TapCallsError,
    Window,
    WindowedStream,
    iso,
    parse_datetime,
    response_json,
)
from tap_calls.keys import snake_keys
from tap_calls.speakers import CLARI_SPEAKER_FIELDS, add_clari_speakers, clari_user_names

if t.TYPE_CHECKING:
    from singer_sdk import Tap
    from singer_sdk.helpers.types import Context

# Clari answers with at most 6 MB and gives 502s on large pages (its staff advised 25 to a user listing
# 100). List items carry no transcript or summary, so 50 stays far below 6 MB (at 10 KB a call, 0.5 MB),
# within the 25-50 the reference recommends, and halves what listing takes of the 10/s budget vs 25.
PAGE_SIZE = 50
# Clari's advice for a 502 on a page: retry with a smaller `limit`. Halved on each, down to this.
MIN_PAGE_SIZE = 5
# `skip` above 10,000 is refused: a listing matching more than it can reach is split before it is paged.
MAX_SKIP = 10_000
# Bounds for splitting on call time (filterTimeGt/Lt) once a second of modification times matches too much.
CALL_TIME_FLOOR = datetime(1970, 1, 1, tzinfo=UTC)
CALL_TIME_CEILING_AHEAD = timedelta(days=3650)
DETAIL_WORKERS = 8
# Details queued ahead of the one being emitted, so listing the next page never leaves workers idle.
DETAILS_AHEAD = 4 * DETAIL_WORKERS
# Gt/Lt may be strict: windows overlap by a second (the filters' precision) so a call modified exactly on a
# boundary is not lost; the repeat is skipped.
BOUNDARY_OVERLAP = timedelta(seconds=1)

_str = th.StringType
_num = th.NumberType
_int = th.IntegerType
_bool = th.BooleanType
_dt = th.DateTimeType
# Clari sends these as numbers, numeric strings or "NaN" depending on the call.
_loose_number = th.CustomType({"type": ["string", "number", "null"]})
_loose_id = th.CustomType({"type": ["string", "integer", "null"]})

_participant = th.ObjectType(
    th.Property("name", _str),
    th.Property("email", _str),
    th.Property("phone", _str),
    th.Property("person_id", _loose_id),
)

CLARI_CALL_SCHEMA = th.PropertiesList(
    th.Property("id", _str, required=True),
    th.Property("source_id", _str),
    th.Property("title", _str),
    th.Property(
        "users",
        th.ArrayType(
            th.ObjectType(
                th.Property("user_id", _str),
                th.Property("user_email", _str),
                th.Property("is_organizer", _bool),
                th.Property("person_id", _loose_id),
            )
        ),
    ),
    th.Property("external_participants", th.ArrayType(_participant)),
    th.Property("joined_participants", th.ArrayType(_participant)),
    th.Property("status", _str),
    th.Property("bot_not_join_reason", th.ArrayType(_str)),
    th.Property("type", _str),
    th.Property("time", _dt),
    th.Property("icaluid", _str),
    th.Property("calendar_id", _str),
    th.Property("recurring_event_id", _str),
    th.Property("original_start_time", _dt),
    th.Property("last_modified_time", _dt),
    th.Property("audio_url", _str),
    th.Property("video_url", _str),
    th.Property("disposition", _str),
    th.Property("deal_name", _str),
    th.Property("deal_value", _str),
    th.Property("deal_close_date", _dt),
    th.Property("deal_stage_before_call", _str),
    th.Property("account_name", _str),
    th.Property("contact_names", th.ArrayType(_str)),
    th.Property(
        "crm_info",
        th.ObjectType(
            th.Property("source_crm", _str),
            th.Property("deal_id", _str),
            th.Property("account_id", _str),
            th.Property("contact_ids", th.ArrayType(_str)),
        ),
    ),
    th.Property("bookmark_timestamps", th.ArrayType(_str)),
    th.Property(
        "metrics",
        th.ObjectType(
            th.Property("talk_listen_ratio", _num),
            th.Property("num_questions_asked", _num),
            th.Property("num_questions_asked_by_reps", _num),
            th.Property("call_duration", _num),
            th.Property("total_speak_duration", _num),
            th.Property("longest_monologue_duration", _num),
            th.Property("longest_monologue_start_time", _num),
            th.Property("engaging_questions", _num),
            th.Property(
                "categories",
                th.ArrayType(
                    th.ObjectType(
                        th.Property("name", _str),
                        th.Property("occurences", _num),
                        th.Property(
                            "phrases_matched",
                            th.ArrayType(
                                th.ObjectType(
                                    th.Property("text", _str),
                                    th.Property("user_id", _str),
                                    th.Property("name", _str),
                                    th.Property("time", _num),
                                )
                            ),
                        ),
                        th.Property("ai_detected", _bool),
                    )
                ),
            ),
        ),
    ),
    th.Property("call_review_page_url", _str),
    th.Property("deal_stage_live", _str),
    th.Property(
        "transcript",
        th.ArrayType(
            th.ObjectType(
                th.Property("text", _str),
                th.Property("start", _num),
                th.Property("end", _num),
                th.Property("person_id", _loose_id),
                th.Property("annotations", th.ArrayType(th.ObjectType())),
                # Who said what (issue 13): resolved from person_id (tap_calls/speakers.py).
                *(th.Property(name, _str) for name in CLARI_SPEAKER_FIELDS),
            )
        ),
    ),
    th.Property(
        "summary",
        th.ObjectType(
            th.Property("full_summary", _str),
            th.Property(
                "topics_discussed",
                th.ArrayType(
                    th.ObjectType(
                        th.Property("name", _str),
                        th.Property("start_timestamp", _loose_number),
                        th.Property("end_timestamp", _loose_number),
                        th.Property("summary", _str),
                    )
                ),
            ),
            th.Property(
                "key_action_items",
                th.ArrayType(
                    th.ObjectType(
                        th.Property("action_item", _str),
                        th.Property("speaker_name", _str),
                        th.Property("start_timestamp", _loose_number),
                        th.Property("end_timestamp", _loose_number),
                    )
                ),
            ),
        ),
    ),
    th.Property(
        "competitor_sentiments",
        th.ArrayType(
            th.ObjectType(
                th.Property("competitor_name", _str),
                th.Property("sentiment", _str),
                th.Property("reasoning", _str),
                th.Property("person_id", _loose_id),
                th.Property("turn_start_time", _loose_number),
            )
        ),
    ),
).to_dict()

CLARI_FIELDS = tuple(CLARI_CALL_SCHEMA["properties"])


class ClariAuthenticator(APIAuthenticatorBase):
    """Clari wants both headers on every request."""

    def __init__(self, api_key: str, api_password: str) -> None:
        super().__init__()
        self.auth_headers = {"X-Api-Key": api_key, "X-Api-Password": api_password}


class SkipPaginator(BaseAPIPaginator[int]):
    """Clari's offset paging: follow `pagination.nextPageSkip`, absent on the last page.

    Without a `pagination` object (includePagination=false answers have none), a full page means more.
    """

    def get_next(self, response: requests.Response) -> int | None:
        body = response_json(response)
        returned = len(body.get("calls") or ())
        pagination = body.get("pagination")
        if pagination is None:
            asked = parse_qs(urlparse(response.request.url).query).get("limit", [PAGE_SIZE])[0]
            next_skip = (self.current_value or 0) + returned if returned >= int(asked) else None
        elif not pagination.get("hasMore"):
            next_skip = None
        else:
            given = pagination.get("nextPageSkip")
            next_skip = int(given) if given is not None else (self.current_value or 0) + returned
        # Past MAX_SKIP Clari answers 400: the listing stops, falls short of `matched` and is split.
        return next_skip if next_skip is not None and next_skip <= MAX_SKIP else None


class ListingTooLarge(Exception):
    """The first page matched more calls than `skip` can reach."""


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
        params = {"filterModifiedGt": iso(self.modified_gt), "filterModifiedLt": iso(self.modified_lt)}
        if self.time_gt is not None and self.time_lt is not None:
            params |= {"filterTimeGt": iso(self.time_gt), "filterTimeLt": iso(self.time_lt)}
        return params

    def halves(self, now: datetime) -> tuple[Listing, Listing] | None:
        """Two listings that together hold this one's calls and each fewer; None when it cannot shrink."""
        gt, lt = self.modified_gt, self.modified_lt
        if middle := _middle(gt, lt):
            return replace(self, modified_lt=middle), replace(self, modified_gt=middle - BOUNDARY_OVERLAP)
        # Calls modified within the same few seconds (a bulk update): split on call time instead.
        low = self.time_gt or CALL_TIME_FLOOR
        high = self.time_lt or now + CALL_TIME_CEILING_AHEAD
        if middle := _middle(low, high):
            return replace(self, time_gt=low, time_lt=middle), replace(
                self, time_gt=middle - BOUNDARY_OVERLAP, time_lt=high
            )
        return None


def _middle(low: datetime, high: datetime) -> datetime | None:
    """A whole-second split point, if both halves (each overlapping the other by a second) are smaller."""
    if high - low <= 3 * BOUNDARY_OVERLAP:
        return None
    return low + timedelta(seconds=(high - low).total_seconds() // 2)


class ClariCallsStream(WindowedStream):
    name = "clari_calls"
    source = "Clari Copilot"
    url_setting = "clari_api_url"
    credential_settings = "clari_api_key and clari_api_password"
    path = "/calls"
    primary_keys = ("id",)
    replication_key = "last_modified_time"
    schema = CLARI_CALL_SCHEMA
    records_key = "calls"
    window_split_records = MAX_SKIP

    def __init__(self, tap: Tap, **kwargs: t.Any) -> None:
        super().__init__(tap, **kwargs)
        # Ids emitted by the previous and the current window: enough to skip boundary repeats.
        self._emitted_before: set[str] = set()
        self._emitted: set[str] = set()
        self._first_page = False
        self.listing_matched: int | None = None
        self.calls_not_found = 0
        self.calls_unlisted = 0
        self.page_size = PAGE_SIZE
        self._user_names_lock = threading.Lock()
        self._user_names_read = False
        self._user_names: dict[str, str] | None = None

    @cached_property
    def _send_details(self) -> t.Callable[..., requests.Response]:
        return self.request_decorator(self._request)

    @property
    def authenticator(self) -> ClariAuthenticator:
        return ClariAuthenticator(self.config["clari_api_key"], self.config["clari_api_password"])

    def get_new_paginator(self) -> SkipPaginator:
        return SkipPaginator(start_value=0)

    def get_url_params(self, context: Context | None, next_page_token: int | None) -> dict:
        assert context is not None
        return {**context, "sortTime": "asc", "limit": self.page_size, "skip": next_page_token or 0}

    def validate_response(self, response: requests.Response) -> None:
        if (
            response.status_code == 502
            and self._is_listing(response.request)
            and self.page_size > MIN_PAGE_SIZE
        ):
            # Clari caps answers at 6 MB and says so with a 502: the retry asks for a smaller page.
            self.page_size = max(MIN_PAGE_SIZE, self.page_size // 2)
            self.logger.warning(
                "clari_calls: HTTP 502 on /calls; asking for %d calls per page", self.page_size
            )
        super().validate_response(response)

    def _request(
        self, prepared_request: requests.PreparedRequest, context: Context | None
    ) -> requests.Response:
        if self._is_listing(prepared_request):
            url = urlparse(prepared_request.url)
            query = parse_qs(url.query)
            if int(query.get("limit", [0])[0]) > self.page_size:
                query["limit"] = [str(self.page_size)]
                prepared_request.url = url._replace(query=urlencode(query, doseq=True)).geturl()
        return super()._request(prepared_request, context)

    def _is_listing(self, request: requests.PreparedRequest) -> bool:
        return urlparse(request.url).path == urlparse(self.url_base).path + "/calls"

    def is_empty_result(self, response: requests.Response) -> bool:
        # An id /call-details does not know (deleted since it was listed): skipped, as Clari advises.
        return response.status_code == 404 and response.request.path_url.startswith(self._details_path)

    @property
    def _details_path(self) -> str:
        return urlparse(self.url_base).path + "/call-details"

    def records_in_window(self, response: requests.Response) -> int | None:
        return int((response_json(response).get("pagination") or {}).get("matched") or 0)

    def parse_response(self, response: requests.Response) -> t.Iterable[dict]:
        first_page, self._first_page = self._first_page, False
        records = super().parse_response(response)  # a window's very first page may narrow the window
        if first_page:
            self.listing_matched = self.records_in_window(response)
            if (self.listing_matched or 0) > MAX_SKIP + self.page_size:
                raise ListingTooLarge
        return records

    def read_window(self, window: Window) -> t.Generator[dict, None, int]:
        self._emitted_before, self._emitted = self._emitted, set()
        listed: set[str] = set()
        with ThreadPoolExecutor(DETAIL_WORKERS, thread_name_prefix="clari-details") as pool:
            queue: collections.deque[tuple[dict, Future]] = collections.deque()
            try:
                self.size_window(window)
                for call in self.list_calls(Listing(window.start - BOUNDARY_OVERLAP, window.end), listed):
                    queue.append((call, pool.submit(self.fetch_details, str(call["id"]))))
                    while len(queue) > DETAILS_AHEAD:
                        yield from self._emit(*queue.popleft())
                while queue:
                    yield from self._emit(*queue.popleft())
            finally:
                for _, future in queue:
                    future.cancel()
        return len(listed)

    def list_calls(self, listing: Listing, listed: set[str]) -> t.Iterator[dict]:
        """The calls of a listing not yet in `listed`, split until every part returns what it matched.

        Offsets are only as good as the order: calls modified while paging leave the frozen window, and
        calls with the same `time` may come in any order on each request. A part that fits one page
        cannot miss anything that way; a listing beyond `skip`'s reach is split before it is paged.
        """
        self._first_page = True
        self.listing_matched = None
        returned: set[str] = set()
        try:
            for call in self.request_records(listing.params()):
                call_id = str(call["id"])
                returned.add(call_id)
                if call_id not in listed:
                    listed.add(call_id)
                    yield call
        except ListingTooLarge:
            pass
        matched = self.listing_matched or 0
        if len(returned) >= matched:
            return
        halves = listing.halves(self.run_started_at) if matched > self.page_size else None
        if halves is None:
            self.calls_unlisted += matched - len(returned)
            self.logger.debug(
                "clari_calls: %s matched %d calls, listed %d", listing.params(), matched, len(returned)
            )
            return
        self.logger.info(
            "clari_calls: %s matched %d calls, listed %d; listing it in two parts",
            listing.params(),
            matched,
            len(returned),
        )
        for half in halves:
            yield from self.list_calls(half, listed)

    def fetch_details(self, call_id: str) -> dict | None:
        request = self.build_prepared_request(
            method="GET",
            url=self.url_base + "/call-details",
            params={"id": call_id},
            headers=self.http_headers,
        )
        response = self._send_details(request, None)
        if self.is_empty_result(response):
            return None
        return response_json(response).get("call") or {}

    # TODO(lead): share with clari_users: one GET /users per run for both streams (issue 13 needs the names).
    def user_names(self) -> dict[str, str] | None:
        """Copilot user names by user id, from one `GET /users` per run (memoised); None if it failed.

        A failure (after the usual retries) costs one WARNING and leaves internal speakers' names null; only
        a Retry-After beyond `max_retry_wait_seconds` still ends the run, as it does for any request.
        """
        with self._user_names_lock:
            if not self._user_names_read:
                self._user_names_read = True
                request = self.build_prepared_request(
                    method="GET", url=self.url_base + "/users", headers=self.http_headers
                )
                try:
                    body = response_json(self._send_details(request, None))
                    self._user_names = clari_user_names(body.get("users") if isinstance(body, dict) else None)
                except RetryWaitTooLong:
                    raise
                except (TapCallsError, requests.RequestException, ValueError) as exc:
                    self.logger.warning(
                        "clari_calls: GET /users failed (%s); transcript speakers who are Copilot users "
                        "keep a null speaker_name in this run",
                        exc,
                    )
            return self._user_names

    def _emit(self, listed: dict, details: Future) -> t.Iterator[dict]:
        found = details.result()
        if found is None:
            self.calls_not_found += 1
            self.logger.warning(
                "clari_calls: /call-details does not know call %s (404); skipped", listed["id"]
            )
            return
        record = dict.fromkeys(CLARI_FIELDS)
        record.update(snake_keys({**listed, **found}))
        record["id"] = str(record["id"])
        _ids_as_strings(record)
        # Windows overlap by a second; a call on the boundary is emitted once.
        if record["id"] in self._emitted or record["id"] in self._emitted_before:
            return
        # The first window reaches a second before the range (strict filters, whole seconds): trim to it.
        modified = record.get("last_modified_time")
        bounds = self.exact_bounds
        if modified and bounds is not None and not bounds.start <= parse_datetime(modified) < bounds.end:
            return
        # Who said what (issue 13): the names of internal speakers need GET /users, read once per run.
        if record.get("transcript"):
            names = self.user_names() if record.get("users") else None
            record["transcript"] = add_clari_speakers(record, names)
        self._emitted.add(record["id"])
        self.saw(modified)
        yield record

    def log_summary(self) -> None:
        super().log_summary()
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


def _ids_as_strings(record: dict) -> None:
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
