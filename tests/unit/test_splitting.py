"""Unit tests of tap_calls/splitting.py: every rule that cuts a range into windows (no HTTP)."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, timedelta

from tap_calls.splitting import (
    GongSizing,
    chain_calls,
    clari_parts,
    consecutive,
    gong_budget_targets,
    gong_cost,
    gong_parts,
    middle_second,
    quantile_split,
    split_evenly,
)
from tap_calls.windows import Window

T0 = datetime(2026, 1, 1, tzinfo=UTC)
SIZING = GongSizing()


def hours(n: float) -> datetime:
    return T0 + timedelta(hours=n)


def test_consecutive_steps_cover_the_range_exactly_for_dates_and_instants():
    assert consecutive(date(2026, 1, 1), date(2026, 1, 6), timedelta(days=2)) == [
        (date(2026, 1, 1), date(2026, 1, 3)),
        (date(2026, 1, 3), date(2026, 1, 5)),
        (date(2026, 1, 5), date(2026, 1, 6)),
    ]
    assert consecutive(hours(0), hours(200 * 24), timedelta(days=90)) == [
        (hours(0), hours(90 * 24)),
        (hours(90 * 24), hours(180 * 24)),
        (hours(180 * 24), hours(200 * 24)),
    ]
    assert consecutive(hours(1), hours(1), timedelta(days=1)) == []


def test_split_evenly_keeps_exact_ends_and_whole_second_cuts():
    window = Window(hours(0) + timedelta(microseconds=250), hours(1) + timedelta(microseconds=500))
    parts = split_evenly(window, 7)
    assert len(parts) == 7
    assert parts[0].start == window.start and parts[-1].end == window.end
    assert all(a.end == b.start for a, b in itertools.pairwise(parts))
    assert all(p.start.microsecond == 0 for p in parts[1:])
    short = Window(hours(0), hours(0) + timedelta(seconds=3))
    assert split_evenly(short, 10) == split_evenly(short, 3)  # no part shorter than a second
    assert split_evenly(Window(hours(0), hours(1)), 5, timedelta(minutes=20)) == split_evenly(
        Window(hours(0), hours(1)), 3
    )


def test_quantile_split_cuts_at_the_sample_quantiles_and_refuses_a_poor_sample():
    window = Window(hours(0), hours(10))
    # 90 calls in the first hour, 10 spread over the other nine: equal halves cut inside the first hour.
    sample = [hours(i / 90) for i in range(90)] + [hours(1 + i) for i in range(10)]
    parts = quantile_split(window, sample, 2, timedelta(minutes=1))
    assert parts is not None and len(parts) == 2
    assert hours(0.5) <= parts[0].end < hours(0.6) and parts[-1].end == window.end
    assert quantile_split(window, sample[:19], 2, timedelta(minutes=1)) is None  # under 20 instants
    assert quantile_split(window, [hours(i / 100) for i in range(50)], 2, timedelta(minutes=1)) is None


def test_a_gong_window_holds_what_one_chain_reads_before_the_cap_would_end_the_range():
    def chain(total: int, latency: float, per_second: float, rpp: int) -> int:
        return chain_calls(
            total, latency=latency, per_second=per_second, requests_per_page=rpp, sizing=SIZING
        )

    # 6,000 calls, pages and transcripts at 3/s: 40 s; a 2 s chain reads (40 - 2 x 2) / 2 = 18 pages in it,
    # but a window holds at most the target (what a stop may lose).
    assert chain(6000, 2.0, 3, 2) == SIZING.target
    assert chain(3000, 2.0, 3, 2) == 800  # 20 s: 8 pages
    assert chain(6000, 2.0, 3, 1) == 800  # calls only: 20 s
    # Gong answering at once: the target; a short range: the floor (a split would not pay back).
    assert chain(6000, 0.0, 3, 2) == SIZING.target
    assert chain(300, 2.0, 3, 2) == SIZING.minimum
    assert chain(100_000, 2.0, 3, 2) == SIZING.target
    # A cap far above Gong's (the chain would be the limit): windows of the target, not of a page or two.
    assert chain(20_000, 0.01, 10_000, 2) == SIZING.target


def test_gong_parts_split_only_above_the_threshold_into_target_sized_parts():
    window = Window(hours(0), hours(100))
    spread = [hours(i) for i in range(100)]
    assert gong_parts(window, 1500, spread, threshold=1500, target=1000, min_span=SIZING.min_span) is None
    parts = gong_parts(window, 3000, spread, threshold=1500, target=1000, min_span=SIZING.min_span)
    assert parts is not None and len(parts) == 3
    assert parts[0].start == window.start and parts[-1].end == window.end
    # A window shorter than two minimum spans is read whole, whatever it holds.
    tiny = Window(hours(0), hours(0) + timedelta(seconds=90))
    assert gong_parts(tiny, 5000, [], threshold=100, target=100, min_span=SIZING.min_span) is None


def test_gong_budget_targets_cut_a_window_to_what_is_left():
    assert gong_cost(250, 2) == 6 and gong_cost(250, 1) == 3 and gong_cost(0, 2) == 0
    # No budget: the targets as they were.
    assert gong_budget_targets(5000, None, target=1000, threshold=1500, requests_per_page=2) == (1000, 1500)
    # The whole window fits (its first page paid: 10 pages + 10 batches - 1 = 19 <= 10 pages' worth x 2).
    assert gong_budget_targets(1000, 1000, target=1000, threshold=1500, requests_per_page=2) == (1000, 1500)
    # 400 calls fit: parts of at most 400, split above 400.
    assert gong_budget_targets(1200, 400, target=1000, threshold=1500, requests_per_page=2) == (400, 400)
    # Not a page more fits: read as far as the budget goes.
    assert gong_budget_targets(1200, 99, target=1000, threshold=1500, requests_per_page=2) is None


def test_clari_parts_follow_the_window_target_and_the_budget():
    window = Window(hours(0), hours(24))
    minute = timedelta(minutes=1)
    assert clari_parts(window, 400, target=500, spare=None, page_size=50, min_span=minute) is None
    parts = clari_parts(window, 1500, target=500, spare=None, page_size=50, min_span=minute)
    assert parts is not None and len(parts) == 3
    # 1,500 calls cost 1,530 requests; 600 spare cover 600 - 12 listing pages = 588 calls: parts of <= 588.
    parts = clari_parts(window, 1500, target=500, spare=600, page_size=50, min_span=minute)
    assert parts is not None and len(parts) == 3
    parts = clari_parts(window, 1500, target=5000, spare=600, page_size=50, min_span=minute)
    assert parts is not None and len(parts) == 3  # ceil(1500 / 588)
    # The whole window fits: read whole; not even ten calls fit: `[window]` (the next run reads it).
    assert clari_parts(window, 300, target=5000, spare=400, page_size=50, min_span=minute) is None
    assert clari_parts(window, 300, target=500, spare=5, page_size=50, min_span=minute) == [window]


def test_middle_second_halves_overlap_and_stop_at_three_overlaps():
    second = timedelta(seconds=1)
    assert middle_second(hours(0), hours(2), second) == hours(1)
    assert middle_second(hours(0), hours(0) + timedelta(seconds=3), second) is None
    assert middle_second(hours(0), hours(0) + timedelta(seconds=5), second) == hours(0) + timedelta(seconds=2)
