"""How ranges are cut into windows: every splitting rule of the tap, as pure functions.

A window is the unit of progress (a stop keeps every finished one) and of concurrency (one cursor chain or
listing each), so its size is a trade: large enough that partial last pages and first pages spent on splits
cost little, small enough that a chain ends in time and that a stop loses little. The rules:

- `consecutive`: fixed-size steps (Gong `GET /v2/calls` windows of 90 days, stats windows of N days).
- `split_evenly`: equal spans on whole seconds (a window with no usable sample; a Clari window).
- `quantile_split`: equal numbers of calls, at the quantiles of a page's `started` times (Gong).
- `chain_calls`, `gong_parts`, `gong_budget_targets`: how many calls a Gong window should hold and how a window
  whose first page counted too many is read instead.
- `clari_parts`: how a Clari window whose first listing page matched too many calls is read instead.
- `middle_second`: where a Clari listing that matches too much is halved (modification or call time).

Nothing here sends a request or reads a clock: the callers pass what the API answered (totals, samples) and
what the run knows (latency, the cap, what is left of `max_requests_per_run`).
"""

from __future__ import annotations

import itertools
import typing as t
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from tap_calls.dates import floor_second
from tap_calls.windows import Window

if t.TYPE_CHECKING:
    from collections.abc import Sequence

_D = t.TypeVar("_D", date, datetime)

# Gong pages hold 100 records (gong_api.md §3.3); the same number is the batch of call ids per transcript request.
GONG_PAGE_SIZE = 100


def consecutive(start: _D, end: _D, step: timedelta) -> list[tuple[_D, _D]]:
    """[start, end) as consecutive half-open ranges of `step` (the last one shorter); [] when start >= end."""
    out: list[tuple[_D, _D]] = []
    while start < end:
        out.append((start, min(end, start + step)))
        start = out[-1][1]
    return out


def split_evenly(window: Window, parts: int, min_span: timedelta = timedelta(seconds=1)) -> list[Window]:
    """`window` in `parts` contiguous windows of equal span, bounds on whole seconds (fewer when too short to
    give each part `min_span`). The first part keeps the window's exact start and the last its exact end."""
    span = (window.end - window.start).total_seconds()
    parts = max(1, min(parts, int(span // min_span.total_seconds())))
    bounds = [window.start]
    for index in range(1, parts):
        cut = floor_second(window.start + timedelta(seconds=span * index / parts))
        if cut > bounds[-1]:
            bounds.append(cut)
    bounds.append(window.end)
    return [Window(a, b) for a, b in itertools.pairwise(bounds)]


def quantile_split(
    window: Window, sample: Sequence[datetime], parts: int, min_span: timedelta
) -> list[Window] | None:
    """`window` cut into `parts` at the quantiles of `sample`, on whole seconds; None when the sample is too
    small (under 20 instants inside the window) or covers less than half of the window (then it says little
    about the rest: nothing promises the order of a page)."""
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


def middle_second(low: datetime, high: datetime, overlap: timedelta) -> datetime | None:
    """A whole-second cut of [low, high) into two halves that overlap by `overlap` (filters that may be
    strict), or None when the halves would not both be smaller (the range is within 3 x `overlap`)."""
    if high - low <= 3 * overlap:
        return None
    return low + timedelta(seconds=(high - low).total_seconds() // 2)


@dataclass(frozen=True)
class GongSizing:
    """How large Gong windows are made (calls per window).

    `target`: at most this many, so the bookmark moves during a long backfill and a stop loses little;
    `minimum` and `wanted` (windows per range): at least max(minimum, total // wanted), since a split costs a
    page and an answer time; `split_above`: a window from the plan is split when its first page counts more;
    `min_span`: no part is shorter.
    """

    target: int = 1000
    minimum: int = 500
    wanted: int = 10
    split_above: int = 1500
    min_span: timedelta = timedelta(minutes=1)


def chain_calls(
    total: int, *, latency: float, per_second: float, requests_per_page: int, sizing: GongSizing
) -> int:
    """The most calls one Gong window should hold when the windows of a range hold `total` calls in all.

    A window is one cursor chain (one page per answer, `latency` seconds), so it must end within the time the
    range's requests take at the cap (`total` / 100 pages x `requests_per_page` at `per_second`), less one
    answer to start and one for its last transcripts; within `sizing.target`; at least `sizing.minimum` and
    the range's share of `sizing.wanted` windows. Without a latency measured yet: `sizing.target`.
    """
    if latency <= 0:
        return sizing.target
    wall = total / GONG_PAGE_SIZE * requests_per_page / per_second
    pages = int((wall - 2 * latency) / latency)
    floor = max(sizing.minimum, total // sizing.wanted)
    return min(sizing.target, max(floor, pages * GONG_PAGE_SIZE))


def gong_parts(
    window: Window,
    total: int,
    sample: Sequence[datetime],
    *,
    threshold: float,
    target: int,
    min_span: timedelta,
) -> list[Window] | None:
    """The windows to read `window` as (about `target` calls each) when its first page counts `total` calls
    and that is more than `threshold`; None: read it whole (a split costs that first page).

    Parts hold about equal numbers of calls, cut at the quantiles of `sample` (the first page's `started`
    times) when it is a fair sample of the window, else in equal spans: equal parts make equal cursor chains,
    so no long last chain leaves the cap idle at the end.
    """
    if total <= threshold or window.end - window.start < 2 * min_span:
        return None
    count = -(-total // max(1, target))
    parts = quantile_split(window, sample, count, min_span) or split_evenly(window, count, min_span)
    return parts if len(parts) > 1 else None


def gong_cost(calls: int, requests_per_page: int) -> int:
    """Requests `calls` listed calls of one Gong window cost: their pages (100 calls each) and, with
    transcripts (`requests_per_page` 2), one transcript request per 100."""
    return -(-calls // GONG_PAGE_SIZE) * requests_per_page


def gong_budget_targets(
    total: int, fit: int | None, *, target: int, threshold: float, requests_per_page: int
) -> tuple[int, float] | None:
    """(target, threshold) for splitting a Gong window whose first page counted `total` calls when only `fit`
    calls fit in what is left of `max_requests_per_run` (None: no budget); None when not even one more page
    fits (the window is read as far as the budget goes). That first page is paid for already: the rest of the
    window needs one request fewer than a new part would."""
    if fit is None:
        return target, threshold
    if gong_cost(total, requests_per_page) - 1 <= fit // GONG_PAGE_SIZE * requests_per_page:
        return target, threshold
    if fit < GONG_PAGE_SIZE:
        return None
    return min(target, fit), min(threshold, fit)


def clari_parts(
    window: Window, matched: int, *, target: int, spare: int | None, page_size: int, min_span: timedelta
) -> list[Window] | None:
    """How a Clari window whose first listing page matched `matched` calls is read instead; None: whole.

    Each call costs a `/call-details` request and every `page_size` calls a listing page, so parts hold about
    `target` calls (equal spans of modification time), fewer when `spare` requests of `max_requests_per_run`
    (None: no budget) do not cover it. `[window]`: not even ten calls (or the whole window) fit any more.
    """
    if spare is not None:
        fit = spare - -(-spare // page_size)
        if -(-matched // page_size) + matched - 1 <= spare:
            fit = matched
        if fit < min(matched, 10):
            return [window]
        target = min(target, fit)
    if matched <= target:
        return None
    parts = split_evenly(window, -(-matched // target), min_span)
    return parts if len(parts) > 1 else None
