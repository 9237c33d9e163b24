"""Paginators (Gong's cursor, Clari's skip) and the restart of a cursor chain whose cursor expired."""

from __future__ import annotations

import typing as t
from urllib.parse import parse_qs, urlparse

import msgspec
from singer_sdk.pagination import BaseAPIPaginator, JSONPathPaginator
from typing_extensions import override

from tap_calls.client import response_json
from tap_calls.errors import CursorExpired, TapCallsError

if t.TYPE_CHECKING:
    from collections.abc import Callable, Hashable, Iterable, Iterator
    from logging import Logger

    import requests

T = t.TypeVar("T")

# Gong cursors are short-lived: a chain is restarted from its first page at most this many times in a row.
MAX_CURSOR_RESTARTS = 3
# Clari refuses `skip` above this (clari_api.md §2): a listing that matches more is split, never paged past it.
MAX_SKIP = 10_000


class CursorPaginator(JSONPathPaginator):
    """Gong's cursor paging (`records.cursor`, absent on the last page), carrying on past an empty page
    while Gong still hands out a cursor (gong_api.md §2.2)."""

    def __init__(self) -> None:
        super().__init__("$.records.cursor")

    @override
    def get_next(self, response: requests.Response) -> str | None:
        return next_cursor(response)

    @override
    def continue_if_empty(self, response: requests.Response) -> bool:
        return self.get_next(response) is not None


class _PageRecords(msgspec.Struct):
    """A Gong page with only its `records` (paging) object decoded: the rest is checked, never built."""

    records: t.Any = None


def page_records(response: requests.Response) -> t.Any:
    """A Gong page's `records` object (paging: `totalRecords`, `cursor`, ...), decoding no more than that
    unless the whole body was decoded already.

    Raises:
        msgspec.DecodeError: the body is not a JSON object.
    """
    body = getattr(response, "_tap_calls_json", None)  # decoded in full already (client.response_json)
    if isinstance(body, dict):
        return body.get("records")
    records = getattr(response, "_tap_calls_records", _NOT_DECODED)
    if records is _NOT_DECODED:
        records = (
            msgspec.json.decode(response.content, type=_PageRecords).records if response.content else None
        )
        response._tap_calls_records = records  # type: ignore[attr-defined]
    return records


_NOT_DECODED = object()


def check_page_json(response: requests.Response) -> None:
    """Check that a Gong page's body is a JSON object, decoding only its `records` (cheap on 6 MB bodies).

    Raises:
        msgspec.DecodeError: the body is not a JSON object.
    """
    page_records(response)


def next_cursor(response: requests.Response) -> str | None:
    """The cursor of the page after this Gong response (`records.cursor`), None on the last page."""
    records = page_records(response)
    cursor = records.get("cursor") if isinstance(records, dict) else None
    return str(cursor) if cursor else None


class SkipPaginator(BaseAPIPaginator[int]):
    """Clari's offset paging: follow `pagination.nextPageSkip`, absent (or `hasMore` false) on the last page.

    Without a `pagination` object (includePagination=false answers have none), a full page means more.
    Never past `MAX_SKIP`: Clari answers 400 there, so a listing stops and is split by its caller.
    """

    def __init__(self, records_key: str, start_value: int = 0) -> None:
        super().__init__(start_value)
        self.records_key = records_key

    @override
    def get_next(self, response: requests.Response) -> int | None:
        body = response_json(response)
        returned = len(body.get(self.records_key) or ())
        pagination = body.get("pagination")
        if pagination is None:
            asked = int(parse_qs(urlparse(str(response.request.url)).query).get("limit", ["0"])[0])
            next_skip = (self.current_value or 0) + returned if returned and returned >= asked else None
        elif not pagination.get("hasMore"):
            next_skip = None
        else:
            given = pagination.get("nextPageSkip")
            next_skip = int(given) if given is not None else (self.current_value or 0) + returned
        return next_skip if next_skip is not None and next_skip <= MAX_SKIP else None


def restart_on_expiry(
    read: Callable[[], Iterable[T]], key: Callable[[T], Hashable | None], what: str, logger: Logger
) -> Iterator[T]:
    """`read()`'s items; when its cursor expires, `read()` again from page 1, skipping items already yielded.

    Items are told apart by `key`; an item whose key is None (an entry without an id) is never taken for
    another one: each is yielded (and the stream skips each with its own WARNING).

    Raises:
        TapCallsError: the cursor expired `MAX_CURSOR_RESTARTS + 1` times in a row.
    """
    seen: set[Hashable] = set()
    for attempt in range(MAX_CURSOR_RESTARTS + 1):
        try:
            for item in read():
                item_key = key(item)
                if item_key is None:
                    yield item
                elif item_key not in seen:
                    seen.add(item_key)
                    yield item
            return
        except CursorExpired:
            if attempt == MAX_CURSOR_RESTARTS:
                msg = f"Gong {what}: the cursor expired {attempt + 1} times in a row"
                raise TapCallsError(msg) from None
            logger.warning("Gong %s: cursor expired, reading it again from the first page", what)
