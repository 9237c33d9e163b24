"""Clari Copilot: `clari_calls`, each call of GET /calls merged with its GET /call-details.

Calls are listed per window of `last_modified_time` (filterModifiedGt/Lt, the upper bound frozen at
the run's start). Details cost one request per call, so they are fetched by a bounded pool of
threads that the source's rate limiter keeps at `clari_requests_per_second` in total.
"""

from __future__ import annotations

import collections
import typing as t
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import timedelta
from functools import cached_property
from urllib.parse import urlparse

import requests
from singer_sdk import typing as th
from singer_sdk.authenticators import APIAuthenticatorBase
from singer_sdk.pagination import BaseAPIPaginator

from tap_calls.client import Window, WindowedStream, iso, response_json
from tap_calls.keys import snake_keys

if t.TYPE_CHECKING:
    from singer_sdk import Tap
    from singer_sdk.helpers.types import Context

# Clari answers with at most 6 MB and gives 502s on large pages (its staff advised 25 to a user listing
# 100). List items carry no transcript or summary, so 50 stays far below 6 MB (at 10 KB a call, 0.5 MB),
# within the 25-50 the reference recommends, and halves what listing takes of the 10/s budget vs 25.
PAGE_SIZE = 50
# `skip` above 10,000 is refused: a window matching more is narrowed before it is paged.
MAX_SKIP = 10_000
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
            return (self.current_value or 0) + returned if returned >= PAGE_SIZE else None
        if not pagination.get("hasMore"):
            return None
        next_skip = pagination.get("nextPageSkip")
        return int(next_skip) if next_skip is not None else (self.current_value or 0) + returned


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
        return {
            "filterModifiedGt": context["gt"],
            "filterModifiedLt": context["lt"],
            "sortTime": "asc",
            "limit": PAGE_SIZE,
            "skip": next_page_token or 0,
        }

    def is_empty_result(self, response: requests.Response) -> bool:
        # A call deleted between the list and its details: the list's data is emitted instead.
        return response.status_code == 404 and response.request.path_url.startswith(self._details_path)

    @property
    def _details_path(self) -> str:
        return urlparse(self.url_base).path + "/call-details"

    def records_in_window(self, response: requests.Response) -> int | None:
        return int((response_json(response).get("pagination") or {}).get("matched") or 0)

    def read_window(self, window: Window) -> t.Generator[dict, None, int]:
        context = {"gt": iso(window.start - BOUNDARY_OVERLAP), "lt": iso(window.end)}
        self._emitted_before, self._emitted = self._emitted, set()
        listed: set[str] = set()
        count = 0
        with ThreadPoolExecutor(DETAIL_WORKERS, thread_name_prefix="clari-details") as pool:
            queue: collections.deque[tuple[dict, Future]] = collections.deque()
            try:
                # Listed again once if the window ends with fewer ids than it matched at first:
                # calls modified while paging leave the window and shift the offsets of the rest.
                self.size_window(window)
                for _ in range(2):
                    for call in self.request_records(context):
                        call_id = str(call["id"])
                        if call_id in listed:
                            continue
                        listed.add(call_id)
                        count += 1
                        queue.append((call, pool.submit(self.fetch_details, call_id)))
                        while len(queue) > DETAILS_AHEAD:
                            yield from self._emit(*queue.popleft())
                    if len(listed) >= (self.window_total or 0):
                        break
                    self.logger.info("clari_calls: the window shifted while paging, listing it again")
                while queue:
                    yield from self._emit(*queue.popleft())
            finally:
                for _, future in queue:
                    future.cancel()
        return count

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

    def _emit(self, listed: dict, details: Future) -> t.Iterator[dict]:
        found = details.result()
        if found is None:
            self.logger.warning(
                "clari_calls: /call-details has no call %s any more; emitting what /calls listed",
                listed["id"],
            )
        record = dict.fromkeys(CLARI_FIELDS)
        record.update(snake_keys({**listed, **(found or {})}))
        record["id"] = str(record["id"])
        # Windows overlap by a second; a call on the boundary is emitted once.
        if record["id"] in self._emitted or record["id"] in self._emitted_before:
            return
        self._emitted.add(record["id"])
        yield record
