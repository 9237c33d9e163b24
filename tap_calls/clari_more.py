"""Clari Copilot beyond calls: `clari_users`, `clari_topics`, `clari_scorecards`, `clari_scorecard_templates`.

All four are full-table streams (reference/more_endpoints.md §13): `/users`, `/v2/topics` and
`/scorecard-template` are one unpaginated request each; `/scorecard` is offset-paged with `skip` capped at
10,000, so a listing that matches more is bisected by (hidden) scorecard time, and the whole read runs at
most once per `lookback_interval_hours`. `GET /users` is read once per run and shared with `clari_calls`
(`ClariDirectory`).

Each stream is a short declarative class; turning an API item into a record is a pure function
(`*_record`), tested on its own.
"""

from __future__ import annotations

import typing as t
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import requests
from singer_sdk.pagination import BaseAPIPaginator, SinglePagePaginator
from typing_extensions import override

from tap_calls.bookmarks import SCORECARDS_LAST_FULL_READ
from tap_calls.clari import ClariDirectory, ClariStream
from tap_calls.client import FullTableStream, response_json
from tap_calls.dates import ceil_second, iso, utc_now
from tap_calls.keys import as_id, snake_keys
from tap_calls.paging import MAX_SKIP
from tap_calls.schemas.clari_more import (
    CLARI_SCORECARD_SCHEMA,
    CLARI_SCORECARD_TEMPLATE_SCHEMA,
    CLARI_TOPIC_SCHEMA,
    CLARI_USER_SCHEMA,
)
from tap_calls.splitting import middle_second

if t.TYPE_CHECKING:
    from collections.abc import Iterator

    from singer_sdk import Tap
    from singer_sdk.helpers.types import Context

# /scorecard: `limit` at most 100, `skip` at most 10,000 (paging.MAX_SKIP). Clari caps answers at 6 MB and
# says so with a 502; its advice, a smaller `limit` on the retry, halves the page down to MIN_PAGE_SIZE.
SCORECARD_PAGE_SIZE = 100
MIN_PAGE_SIZE = 5
# Listings are bisected on scorecard time between this floor and the run's start; the outermost halves are
# left open, so a scorecard outside them (none should predate Copilot's predecessor Wingman) is still read.
SCORECARD_TIME_FLOOR = datetime(2015, 1, 1, tzinfo=UTC)
# The time filters take whole seconds and may be strict: halves overlap by a second, repeats are dropped by id.
BOUNDARY_OVERLAP = timedelta(seconds=1)
# The spec's key, then the one amp-labs found the live API to send (reference §13).
TEMPLATE_LIST_KEYS = ("scoreCardTemplates", "scorecardTemplates")


# ------------------------------------------------------------------------------------------ record builders


def _text(value: t.Any) -> t.Any:
    """Ids (and `order`) are strings in Clari's spec; a number sent in their place becomes its text (`7.0` ->
    `"7"`, as `keys.as_id`); anything else stays as sent."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return as_id(value)
    return value


def _fields(schema: dict[str, t.Any], item: dict[str, t.Any]) -> dict[str, t.Any]:
    """The contract's fields, null where the API left one out, then whatever else the API sent."""
    record = dict.fromkeys(schema["properties"])
    record.update(snake_keys(item))
    return record


def _object(value: t.Any, *keys: str) -> t.Any:
    """A nested object with its known keys present (null when omitted); anything else as sent."""
    return {**dict.fromkeys(keys), **value} if isinstance(value, dict) else value


def _texts(value: t.Any) -> t.Any:
    return [_text(v) for v in value] if isinstance(value, list) else value


def user_record(item: dict[str, t.Any]) -> dict[str, t.Any]:
    """A `GET /users` item (`manager_id` is omitted when empty)."""
    record = _fields(CLARI_USER_SCHEMA, item)
    record["id"] = _text(record["id"])
    record["manager_id"] = _text(record["manager_id"]) or None
    return record


def topic_record(item: dict[str, t.Any]) -> dict[str, t.Any]:
    """A `GET /v2/topics` item: keyword topics carry `keyword_topic`, custom ones `custom_topic`."""
    record = _fields(CLARI_TOPIC_SCHEMA, item)
    record["topic_id"] = _text(record["topic_id"])
    record["team_ids"] = _texts(record["team_ids"])
    record["custom_topic"] = _object(record["custom_topic"], "description", "status")
    keyword = _object(record["keyword_topic"], "trackers")
    if isinstance(keyword, dict):
        keyword["trackers"] = _texts(keyword["trackers"])
    record["keyword_topic"] = keyword
    return record


def scorecard_record(item: dict[str, t.Any]) -> dict[str, t.Any]:
    """A `GET /scorecard` item; `rep` and `scorer` are Copilot user ids."""
    record = _fields(CLARI_SCORECARD_SCHEMA, item)
    for key in ("id", "rep", "scorer", "template_id", "call_id"):
        record[key] = _text(record[key])
    if isinstance(record["questions_score"], list):
        record["questions_score"] = [
            {**_object(q, "score", "skill", "label", "order"), "order": _text(q.get("order"))}
            if isinstance(q, dict)
            else q
            for q in record["questions_score"]
        ]
    return record


def template_record(item: dict[str, t.Any]) -> dict[str, t.Any]:
    """A `GET /scorecard-template` item."""
    record = _fields(CLARI_SCORECARD_TEMPLATE_SCHEMA, item)
    record["id"] = _text(record["id"])
    record["customer_id"] = _text(record["customer_id"])
    if isinstance(record["questions"], list):
        record["questions"] = [
            {**_object(q, "skill", "label", "order"), "order": _text(q.get("order"))}
            if isinstance(q, dict)
            else q
            for q in record["questions"]
        ]
    return record


def template_items(body: t.Any) -> list[dict[str, t.Any]] | None:
    """The template list under either spelling of its key; None when the body has neither."""
    if isinstance(body, dict):
        for key in TEMPLATE_LIST_KEYS:
            if key in body:
                return list(body[key] or [])
    return None


@dataclass(frozen=True)
class TimeRange:
    """A `/scorecard` listing's `filterTimeGt`/`filterTimeLt` (strict, whole seconds); None leaves a side open."""

    gt: datetime | None = None
    lt: datetime | None = None

    def params(self) -> dict[str, str]:
        params = {}
        if self.gt is not None:
            params["filterTimeGt"] = iso(self.gt)
        if self.lt is not None:
            params["filterTimeLt"] = iso(self.lt)
        return params

    def halves(self, floor: datetime, ceiling: datetime) -> tuple[TimeRange, TimeRange] | None:
        """(earlier, later): together they hold this range's scorecards, the later starting a second before the
        earlier ends. An open side is split as if it were `floor` / `ceiling` and stays open. None when a half
        would not be smaller."""
        middle = middle_second(self.gt or floor, self.lt or ceiling, BOUNDARY_OVERLAP)
        if middle is None:
            return None
        return TimeRange(self.gt, middle), TimeRange(middle - BOUNDARY_OVERLAP, self.lt)


# ------------------------------------------------------------------------------------------ streams


class ClariFullTableStream(ClariStream, FullTableStream):
    """One full read per sync: every item the endpoint lists, built by `build` (ignores start/end dates;
    ACTIVATE_VERSION after a complete read lets targets drop or mark the rows that vanished)."""

    build: t.ClassVar[staticmethod[[dict[str, t.Any]], dict[str, t.Any]]]

    @override
    def get_new_paginator(self) -> BaseAPIPaginator[t.Any]:
        return SinglePagePaginator()  # /users, /v2/topics and /scorecard-template are not paginated

    def items(self, context: Context | None) -> t.Iterable[dict[str, t.Any]]:
        return self.request_records(context)

    @override
    def read_records(self, context: Context | None) -> Iterator[dict[str, t.Any]]:
        for item in self.items(context):
            yield type(self).build(item)


class ClariUsersStream(ClariFullTableStream):
    name = "clari_users"
    path = ClariDirectory.path
    primary_keys = ("id",)
    schema = CLARI_USER_SCHEMA
    build = staticmethod(user_record)

    def __init__(self, tap: Tap, *, directory: ClariDirectory, **kwargs: t.Any) -> None:
        super().__init__(tap, **kwargs)
        self.directory = directory

    @override
    def items(self, context: Context | None) -> t.Iterable[dict[str, t.Any]]:
        return self.directory.users(self)


class ClariTopicsStream(ClariFullTableStream):
    name = "clari_topics"
    path = "/v2/topics"
    primary_keys = ("topic_id",)
    schema = CLARI_TOPIC_SCHEMA
    records_key = "topics"
    build = staticmethod(topic_record)


class ClariScorecardTemplatesStream(ClariFullTableStream):
    name = "clari_scorecard_templates"
    path = "/scorecard-template"
    primary_keys = ("id",)
    schema = CLARI_SCORECARD_TEMPLATE_SCHEMA
    build = staticmethod(template_record)

    @override
    def parse_response(self, response: requests.Response) -> t.Iterable[dict[str, t.Any]]:
        body = response_json(response)
        items = template_items(body)
        if items is None:
            keys = sorted(body) if isinstance(body, dict) else type(body).__name__
            self.logger.warning(
                "clari_scorecard_templates: /scorecard-template answered without %s (keys: %s); no templates read",
                " or ".join(TEMPLATE_LIST_KEYS),
                keys,
            )
            return []
        return items


class ListingTooLarge(Exception):
    """A `/scorecard` listing's first page matched more than `skip` can reach."""


class ClariScorecardsStream(ClariFullTableStream):
    """Every filled scorecard, read in full at most once per `lookback_interval_hours`.

    A listing whose first page matches more than 10,000 scorecards (beyond `skip`) is bisected on
    `filterTimeGt`/`filterTimeLt`, the later half first; the earlier half's own scorecards number the parent's
    `matched` minus the later half's, so an empty earlier half costs no request. Halves overlap by a second;
    repeats are dropped by id. The time of the last full read is kept in this stream's STATE.
    """

    default_page_size = SCORECARD_PAGE_SIZE
    prefetchable = False  # many requests, and read only when due

    name = "clari_scorecards"
    path = "/scorecard"
    primary_keys = ("id",)
    schema = CLARI_SCORECARD_SCHEMA
    records_key = "scorecards"
    build = staticmethod(scorecard_record)
    full_read = SCORECARDS_LAST_FULL_READ

    def __init__(self, tap: Tap, **kwargs: t.Any) -> None:
        super().__init__(tap, **kwargs)
        self.run_started_at = utc_now()
        self._first_page = False
        self._splittable = True
        self._matched: int | None = None
        self._due: bool | None = None
        self.listings = 0
        self.unlisted = 0

    @property
    def interval_hours(self) -> float:
        return float(self.config.get("lookback_interval_hours", 24))

    @property
    def due(self) -> bool:
        """Decided once per run, before the read: a run that reads nothing carries no version, activates none."""
        if self._due is None:
            self._due = self.full_read.due(self.stream_state, self.run_started_at, self.interval_hours)
        return self._due

    @override
    def reads_in_full(self) -> bool:
        return self.due

    @override
    def get_new_paginator(self) -> BaseAPIPaginator[t.Any]:
        return ClariStream.get_new_paginator(self)  # Clari's skip paging, never past MAX_SKIP

    @override
    def get_url_params(self, context: Context | None, next_page_token: int | None) -> dict[str, t.Any]:
        return {**(context or {}), "limit": self.page_size, "skip": next_page_token or 0}

    @override
    def parse_response(self, response: requests.Response) -> t.Iterable[dict[str, t.Any]]:
        # Decided on a listing's first page, before its next page is asked for.
        if self._first_page:
            self._first_page = False
            self._matched = int((response_json(response).get("pagination") or {}).get("matched") or 0)
            if self._splittable and self._matched > MAX_SKIP:
                raise ListingTooLarge
        return super().parse_response(response)

    @override
    def read_records(self, context: Context | None) -> Iterator[dict[str, t.Any]]:
        if not self.due:
            self.logger.info(
                "clari_scorecards: last full read at %s, less than lookback_interval_hours=%g ago; nothing read "
                "this run",
                self.full_read.last(self.stream_state),
                self.interval_hours,
            )
            return
        seen: set[str] = set()
        for item in self.read_listing(TimeRange(), seen, ceil_second(self.run_started_at)):
            yield scorecard_record(item)
        self.full_read.stamp(self, self.run_started_at)
        self.logger.info("clari_scorecards: full read in %d listings", self.listings)
        if self.unlisted:
            self.logger.warning(
                "clari_scorecards: /scorecard counted %d more scorecards than it returned (beyond skip, or changed "
                "while paged)",
                self.unlisted,
            )

    def read_listing(
        self, listing: TimeRange, seen: set[str], ceiling: datetime, *, splittable: bool = True
    ) -> t.Generator[dict[str, t.Any], None, int]:
        """Yield the listing's scorecards not in `seen`; return its `matched`."""
        self.listings += 1
        self._first_page, self._matched, self._splittable = True, None, splittable
        returned = 0
        try:
            for item in self.request_records(listing.params()):
                returned += 1
                if item.get("id") is None:
                    yield item  # no id: skipped with its own WARNING, never taken for another scorecard
                elif (key := str(item["id"])) not in seen:
                    seen.add(key)
                    yield item
        except ListingTooLarge:
            matched = self._matched or 0
            halves = listing.halves(SCORECARD_TIME_FLOOR, ceiling)
            if halves is None:
                self.logger.warning(
                    "clari_scorecards: %s matches %d scorecards within a few seconds, more than skip reaches; "
                    "reading the first %d",
                    listing.params(),
                    matched,
                    MAX_SKIP + self.page_size,
                )
                return (yield from self.read_listing(listing, seen, ceiling, splittable=False))
            earlier, later = halves
            self.logger.info(
                "clari_scorecards: %s matches %d scorecards, listing it in two parts",
                listing.params(),
                matched,
            )
            later_matched = yield from self.read_listing(later, seen, ceiling)
            if matched - later_matched > 0:  # else every scorecard of the earlier half is in the later one
                yield from self.read_listing(earlier, seen, ceiling)
            return matched
        matched = self._matched or 0
        self.unlisted += max(0, matched - returned)
        return matched
