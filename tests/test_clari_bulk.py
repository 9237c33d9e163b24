"""clari_calls when more calls share a modification time than Clari's `skip` (at most 10,000) can page.

A module of its own: these are the suite's longest in-process runs (12,000 /call-details requests each), and
pytest-xdist (`--dist loadfile`) runs a module on one worker, so they run beside test_clari.py's other tests.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from calls_sandbox import Sandbox
from tests.harness import requests_to, run_tap, selecting, tap_config


@pytest.mark.parametrize(
    "span",
    [
        pytest.param(timedelta(hours=1), id="within-one-hour"),
        # A bulk update: too many for `skip` even in one second of modification times, so the listing
        # is split on call time (filterTimeGt/Lt) as well.
        pytest.param(timedelta(seconds=2), id="within-two-seconds"),
    ],
)
def test_twelve_thousand_calls_modified_together_all_arrive(span):
    with Sandbox(seed=5, gong_calls=0, clari_calls=0) as sb:
        hour = sb.now - timedelta(hours=3)
        added = sb.clari.add_calls(12_000, hour, hour + span)
        config = tap_config(
            sb, "clari", start_date=(hour - timedelta(days=1)).isoformat(), clari_requests_per_second=2000
        )
        # clari_calls alone: the listing and the details requests are the same with its transcript lines
        # selected, which would only add about 150,000 records to a test about the listing.
        run = run_tap(config, catalog=selecting(config, {"clari_calls"}))
        expected = {c["id"] for c in added} - sb.clari.private_ids
        ids = run.ids("clari_calls")
        assert len(ids) == len(set(ids))
        assert set(ids) == expected
        assert all(int(r.query["skip"][0]) <= 10_000 for r in requests_to(sb, "clari", "/calls"))
        assert not [r for r in sb.log if r.status == 400]
