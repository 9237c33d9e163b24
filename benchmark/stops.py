"""Benchmark rows for progress that survives every stop (interface.md, "Third release"):

- a Gong backfill spread over runs by `max_requests_per_run`: runs it takes, all runs' requests / a full run's;
- the same for Clari;
- a Gong quota stop: the resumed run's /v2/calls/extensive requests / a full run's (what the stop kept).

Each runs the tap as a process against the sandbox as a process, at the vendors' real caps.
"""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from benchmark.harness import read_output, select_streams

if TYPE_CHECKING:
    from benchmark.metrics import Bench, Row

EXTENSIVE = "/v2/calls/extensive"
GONG_STREAMS = ("calls", "parties", "transcripts")
KEEP = {
    "calls": ("id",),
    "parties": ("call_id", "id"),
    "transcripts": ("call_id",),
    "clari_calls": ("id",),
}


def _caps(bench: Bench) -> dict:
    """The vendors' caps for the real benchmark (window sizes follow them); none for the quick smoke run."""
    if bench.sizes.hourly_uncapped:
        return {"requests_per_second": 1000, "clari_requests_per_second": 1000}
    return {}


def _spread(bench: Bench, row: Row, *, source: str, calls: int, budget: int, span: int) -> None:
    name = f"{row.number}-spread-{source}"
    now = datetime.now(UTC).replace(microsecond=0)
    options = (
        {"gong_calls": calls, "gong_span_days": span, "clari_calls": 0}
        if source == "gong"
        else {"gong_calls": 0, "clari_calls": calls, "clari_span_days": span}
    )
    streams = GONG_STREAMS if source == "gong" else ("clari_calls",)
    tap = bench.tap(name)
    with bench.sandbox(name, now=now, gong_users=20, **options) as sb:
        config = sb.gong_config(lookback_days=0) if source == "gong" else sb.clari_config(lookback_days=0)
        config.update(_caps(bench))
        catalog = select_streams(tap.discover(config), streams)
        tap.run("full", config, catalog=catalog, stdout=tap.workdir / "full.jsonl").check()
        full = sum(r["count"] for r in sb.stats() if r["source"] == source)
        truth = read_output(tap.workdir / "full.jsonl", {s: KEEP[s] for s in streams})
        sb.clear()
        state, counts, seen = None, [], {s: set() for s in streams}
        stopped = True
        while stopped and len(counts) < math.ceil(full / budget) + 6:
            out = tap.workdir / f"run{len(counts) + 1}.jsonl"
            run = tap.run(
                f"run{len(counts) + 1}",
                {**config, "max_requests_per_run": budget},
                catalog=catalog,
                state=state,
                stdout=out,
            ).check()
            counts.append(sum(r["count"] for r in sb.stats() if r["source"] == source))
            sb.clear()
            output = read_output(out, {s: KEEP[s] for s in streams})
            for stream in streams:
                seen[stream] |= {tuple(r.values()) for r in output.records.get(stream, [])}
            state = output.state
            stopped = bool(re.search(r"stopped early", run.stderr_path.read_text(encoding="utf-8")))
    bound = math.ceil(full / budget) + 2
    lost = [s for s in streams if seen[s] != {tuple(r.values()) for r in truth.records.get(s, [])}]
    row.value = sum(counts) / full
    row.measured = f"{len(counts)} runs, {row.value:.3f}"
    row.ok = len(counts) <= bound and row.value <= 1.25 and not lost
    row.notes.append(
        f"{calls:,} calls over {span} days, max_requests_per_run={budget}: runs of {counts} requests "
        f"({sum(counts)}) vs {full} for one full run; bound {bound} runs; "
        + (f"LOST records of {lost}" if lost else "every record of the full run arrived")
    )


def gong_spread_backfill(bench: Bench, row: Row) -> None:
    sizes = bench.sizes
    _spread(
        bench, row, source="gong", calls=sizes.spread_gong_calls, budget=sizes.spread_gong_budget, span=400
    )


def clari_spread_backfill(bench: Bench, row: Row) -> None:
    sizes = bench.sizes
    _spread(
        bench, row, source="clari", calls=sizes.spread_clari_calls, budget=sizes.spread_clari_budget, span=200
    )


def gong_quota_stop(bench: Bench, row: Row) -> None:
    """Run 1 meets Gong's daily quota (429, Retry-After 3600) after `quota_stop_after` requests; run 2, from
    its last STATE, a new day: its extensive requests against a full run's."""
    sizes = bench.sizes
    name = f"{row.number}-quota-stop"
    now = datetime.now(UTC).replace(microsecond=0)
    tap = bench.tap(name)
    options = {"gong_calls": sizes.spread_gong_calls, "gong_span_days": 400, "gong_users": 20}
    with bench.sandbox(name, now=now, **options) as sb:
        config = sb.gong_config(lookback_days=0, **_caps(bench))
        catalog = select_streams(tap.discover(config), GONG_STREAMS)
        tap.run("full", config, catalog=catalog).check()
        full = sb.count("gong", (EXTENSIVE,))
    with bench.sandbox(f"{name}-quota", now=now, gong_daily_quota=sizes.quota_stop_after, **options) as sb:
        config = sb.gong_config(lookback_days=0, **_caps(bench))
        first = tap.run("stopped", config, catalog=catalog, stdout=tap.workdir / "stopped.jsonl")
        read = sb.count("gong", (EXTENSIVE,), status=200)
        stopped = read_output(tap.workdir / "stopped.jsonl", {})
    with bench.sandbox(f"{name}-resume", now=now, **options) as sb:
        config = sb.gong_config(lookback_days=0, **_caps(bench))
        tap.run("resumed", config, catalog=catalog, state=stopped.state).check()
        again = sb.count("gong", (EXTENSIVE,))
    row.value = again / full
    limit = (full - read / 2) / full
    row.measured = f"{row.value:.3f} (limit {limit:.3f})"
    row.ok = first.returncode != 0 and row.value <= limit
    row.notes.append(
        f"{sizes.spread_gong_calls:,} calls over 400 days at 3 req/s; the quota ran out after "
        f"{sizes.quota_stop_after} Gong requests ({read} extensive pages read, exit {first.returncode}); "
        f"the resumed run made {again} extensive requests, a full run {full}; what run 1 read and kept: "
        f"{(full - again) / max(1, read):.0%}"
    )
