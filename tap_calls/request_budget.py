"""`max_requests_per_run` for the Gong calls run: a window is opened only when what is left covers it.

A run that stops on its budget keeps every finished window (progress.py), so the budget is spent on windows
that can finish: each is opened only when what is left, besides what the windows already paged still need,
covers it, and a window larger than that is cut on its first page into parts that fit (splitting).
"""

from __future__ import annotations

import typing as t

from tap_calls.splitting import GONG_PAGE_SIZE, gong_cost

if t.TYPE_CHECKING:
    from collections.abc import Callable

    from tap_calls.page_chains import ChainPager
    from tap_calls.transcript_batches import TranscriptBatcher
    from tap_calls.windows import Window

# A window is opened when no other is paged and at least this much is left: its first page cuts it to fit.
MIN_USEFUL_REQUESTS = 6


class GongBudget:
    """What is left of the budget against what the open windows need (requests; None: no budget).

    The pager knows the windows paged and the calls each part of a split window should hold (`targets`), the
    batcher the transcript requests owed; a page costs `requests_per_page` (2 with transcripts: the page and
    its share of a batch). Used on the stream's thread only.
    """

    def __init__(self, left: Callable[[], int | None], pager: ChainPager, batcher: TranscriptBatcher) -> None:
        self.left = left
        self.pager = pager
        self.batcher = batcher
        self.targets = pager.targets

    def requests_per_page(self) -> int:
        return self.pager.stream.requests_per_page

    def reserved(self, but: Window | None = None) -> int:
        """Requests the paged windows (except `but`) still need (a window whose first page is not in: its
        part's target, else one page), and the transcript requests owed."""
        pages = self.pager.pages_owed(
            but, lambda w: -(-int(self.targets.get(w, (1, 0))[0]) // GONG_PAGE_SIZE)
        )
        return pages * self.requests_per_page() + self.batcher.owed

    def affordable(self, window: Window) -> bool:
        """Whether what is left covers `window` besides the paged windows' needs (its size known from its
        split, else its first page and one more request). When no window is paged, a larger one is opened
        still if a useful part of it fits: its first page cuts it to fit."""
        left = self.left()
        if left is None:
            return True
        spare = left - self.reserved()
        need = (
            gong_cost(int(self.targets[window][0]), self.requests_per_page()) if window in self.targets else 2
        )
        return spare >= need or (not len(self.pager.chains) and spare >= MIN_USEFUL_REQUESTS)

    def calls_that_fit(self, window: Window) -> int | None:
        """The most calls `window` may hold to be read within what is left besides the other paged windows'
        needs, its own first page included; None without a budget."""
        left = self.left()
        if left is None:
            return None
        return max(0, left - self.reserved(but=window)) // self.requests_per_page() * GONG_PAGE_SIZE
