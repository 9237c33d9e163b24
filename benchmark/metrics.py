"""The six measurements. Each starts its own sandbox process, runs the tap as a subprocess, and returns a Row."""

from __future__ import annotations

import itertools
import json
import statistics
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from benchmark.harness import PYTHON, REPO, Run, Sandbox, TapRunner, log, run_process, select_only

EXTENSIVE = "/v2/calls/extensive"
TRANSCRIPT = "/v2/calls/transcript"
DETAILS = "/call-details"
if TYPE_CHECKING:
    from collections.abc import Callable

NO_LIMIT = 1000  # requests_per_second when the figure is not about the rate cap


@dataclass(frozen=True)
class Sizes:
    """How big each measurement is; ``FULL`` is the real benchmark, ``QUICK`` the smoke variant."""

    requests_calls: int  # 1
    rate_calls: int  # 2
    cpu_calls: int  # 3
    record_calls: int  # 4
    record_repeats: int  # 4: runs of each kind; the least CPU counts
    memory_small: int  # 5
    memory_large: int  # 5
    clari_calls: int  # 6


FULL = Sizes(
    requests_calls=20_000,
    rate_calls=3_000,
    cpu_calls=5_000,
    record_calls=20_000,
    record_repeats=3,
    memory_small=10_000,
    memory_large=100_000,
    clari_calls=300,
)
QUICK = Sizes(
    requests_calls=500,
    rate_calls=150,
    cpu_calls=200,
    record_calls=300,
    record_repeats=1,
    memory_small=200,
    memory_large=1_000,
    clari_calls=25,
)


@dataclass
class Row:
    number: int
    metric: str
    target: str
    measured: str = "-"
    value: float | None = None
    ok: bool = False
    notes: list[str] = field(default_factory=list)


class Bench:
    """Shared by the measurements: sizes, where files go, how the tap is run."""

    def __init__(self, sizes: Sizes, workdir: Path, profile_dir: Path | None = None, seed: int = 1) -> None:
        self.sizes = sizes
        self.workdir = workdir
        self.profile_dir = profile_dir
        self.seed = seed

    def tap(self, name: str) -> TapRunner:
        return TapRunner(self.workdir / name, self.profile_dir)

    def sandbox(self, name: str, **options: object) -> Sandbox:
        options.setdefault("seed", self.seed)
        options.setdefault("clari_calls", 0)
        return Sandbox(self.workdir / name, **options)


def _check_calls(row: Row, run: Run, truth: dict) -> bool:
    """The tap emitted every public call the sandbox holds (else the figure is not about a full sync)."""
    expected = truth["counts"]["gong_call"]
    emitted = run.records_done("calls")
    if emitted != expected:
        row.notes.append(f"the tap emitted {emitted} calls, the sandbox holds {expected} public calls")
        return False
    return True


# ------------------------------------------------------------------------------------------------ 1
def requests_per_1000_calls(bench: Bench, row: Row) -> None:
    n = bench.sizes.requests_calls
    with bench.sandbox("1-requests", gong_calls=n, gong_span_days=365, transcript_size="small") as sb:
        truth = sb.truth()
        run = bench.tap("1-requests").run("tap", sb.gong_config(requests_per_second=NO_LIMIT)).check()
        requests = sb.count("gong", (EXTENSIVE, TRANSCRIPT))
        extensive, transcript = sb.count("gong", (EXTENSIVE,)), sb.count("gong", (TRANSCRIPT,))
    calls = truth["counts"]["gong_call"] + truth["counts"]["gong_private_call"]
    public = set(truth["gong_call_ids"])
    transcripts = len(public.intersection(truth["gong_transcript_call_ids"]))
    row.value = 1000 * requests / calls
    row.measured = f"{row.value:.2f}"
    complete = _check_calls(row, run, truth)
    if run.records_done("transcripts") != transcripts:
        row.notes.append(f"the tap emitted {run.records_done('transcripts')} transcripts of {transcripts}")
        complete = False
    row.ok = complete and row.value <= 21
    row.notes.append(
        f"{calls:,} calls ({truth['counts']['gong_private_call']:,} private) over 365 days, small transcripts; "
        f"{requests} requests = {extensive} {EXTENSIVE} + {transcript} {TRANSCRIPT}"
    )


# ------------------------------------------------------------------------------------------------ 2
def rate_cap_use(bench: Bench, row: Row) -> None:
    n = bench.sizes.rate_calls
    with bench.sandbox(
        "2-rate-cap", gong_calls=n, gong_span_days=90, transcript_size="realistic", gong_rate_limit=3
    ) as sb:
        truth = sb.truth()
        run = bench.tap("2-rate-cap").run("tap", sb.gong_config()).check()
        requests = sb.count("gong")
        too_many = sb.count("gong", status=429)
    row.value = run.wall / (requests / 3)
    row.measured = f"{row.value:.3f} ({too_many} x 429)"
    row.ok = _check_calls(row, run, truth) and row.value <= 1.1 and too_many == 0
    row.notes.append(
        f"{n:,} calls, realistic transcripts, tap default requests_per_second; {requests} Gong requests "
        f"(all paths and statuses) in {run.wall:.1f} s of tap wall time (ideal {requests / 3:.1f} s)"
    )


# ------------------------------------------------------------------------------------------------ 3
def cpu_throughput(bench: Bench, row: Row) -> None:
    n = bench.sizes.cpu_calls
    with bench.sandbox("3-cpu", gong_calls=n, gong_span_days=365, transcript_size="realistic") as sb:
        truth = sb.truth()
        run = bench.tap("3-cpu").run("tap", sb.gong_config(requests_per_second=NO_LIMIT)).check()
    calls = truth["counts"]["gong_call"]
    row.value = calls / run.cpu
    row.measured = f"{row.value:.0f}"
    row.ok = _check_calls(row, run, truth) and row.value >= 300
    row.notes.append(
        f"{calls:,} calls emitted with {run.records_done('parties')} parties and "
        f"{run.records_done('transcripts')} realistic transcripts in {run.cpu:.2f} CPU-s "
        f"(user {run.user:.2f} + sys {run.sys:.2f}, startup included), wall {run.wall:.1f} s"
    )


# ------------------------------------------------------------------------------------------------ 4
def _split_tap_output(path: Path, schema_path: Path, records_path: Path, stream: str) -> int:
    """The SCHEMA message and the records of ``stream`` from a tap's output, for the bare tap."""
    count = 0
    with open(path, encoding="utf-8") as lines, open(records_path, "w", encoding="utf-8") as out:
        for line in lines:
            message = json.loads(line)
            if message.get("stream") != stream:
                continue
            if message["type"] == "SCHEMA" and not schema_path.exists():
                schema_path.write_text(json.dumps(message), encoding="utf-8")
            elif message["type"] == "RECORD":
                out.write(json.dumps(message["record"]) + "\n")
                count += 1
    return count


def _same_records(records_path: Path, output_path: Path) -> str | None:
    """None when ``output_path`` holds exactly the records of ``records_path``, in order; else what differs."""
    with open(records_path, encoding="utf-8") as wanted, open(output_path, encoding="utf-8") as output:
        emitted = (m["record"] for m in map(json.loads, output) if m.get("type") == "RECORD")
        for i, (want, got) in enumerate(itertools.zip_longest(map(json.loads, wanted), emitted)):
            if want != got:
                return f"record {i} differs: {str(want)[:200]} != {str(got)[:200]}"
    return None


def calls_record_efficiency(bench: Bench, row: Row) -> None:
    n = bench.sizes.record_calls
    runner = bench.tap("4-records")
    work = runner.workdir
    with bench.sandbox("4-records", gong_calls=n, gong_span_days=365, transcript_size="small") as sb:
        truth = sb.truth()
        config = sb.gong_config(requests_per_second=NO_LIMIT)
        catalog = select_only(runner.discover(config), "calls")
        before_any = sb.now - timedelta(days=365 + 30)
        empty = {
            **config,
            "start_date": (before_any - timedelta(days=10)).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "end_date": before_any.strftime("%Y-%m-%dT%H:%M:%SZ"),
        }
        tap_full: list[Run] = []
        tap_empty: list[Run] = []
        for i in range(bench.sizes.record_repeats):
            out = work / f"tap-{i}.jsonl"
            tap_full.append(runner.run(f"tap-{i}", config, catalog=catalog, stdout=out).check())
            tap_empty.append(
                runner.run(f"tap-empty-{i}", empty, catalog=catalog, stdout=work / "tap-empty.jsonl").check()
            )
            if i:
                out.unlink()
    schema_path, records_path = work / "schema.json", work / "records.jsonl"
    records = _split_tap_output(work / "tap-0.jsonl", schema_path, records_path, "calls")
    (work / "tap-0.jsonl").unlink()
    empty_records = work / "records-empty.jsonl"
    empty_records.write_text("", encoding="utf-8")
    bare_full: list[Run] = []
    bare_empty: list[Run] = []
    for i in range(bench.sizes.record_repeats):
        for runs, source, name in (
            (bare_full, records_path, f"bare-{i}"),
            (bare_empty, empty_records, f"bare-empty-{i}"),
        ):
            config_path = runner.write_json(
                f"{name}.config.json", {"schema_path": str(schema_path), "records_path": str(source)}
            )
            args = [PYTHON, "-m", "benchmark.bare_tap", "--config", str(config_path)]
            log(
                f"{name}: python -m benchmark.bare_tap ({'0' if source == empty_records else records} records)"
            )
            run = run_process(args, name=name, workdir=work, stdout=work / f"{name}.jsonl", cwd=REPO).check()
            log(f"{name}: exit 0, wall {run.wall:.2f} s, cpu {run.cpu:.2f} s")
            runs.append(run)
    differs = _same_records(records_path, work / "bare-0.jsonl")
    for i in range(bench.sizes.record_repeats):
        (work / f"bare-{i}.jsonl").unlink()
    cpu = {
        name: min(r.cpu for r in runs)
        for name, runs in (("tap", tap_full), ("tap0", tap_empty), ("bare", bare_full), ("bare0", bare_empty))
    }
    tap_per_record = (cpu["tap"] - cpu["tap0"]) / records
    bare_per_record = (cpu["bare"] - cpu["bare0"]) / records
    row.value = 100 * bare_per_record / tap_per_record
    row.measured = f"{row.value:.0f} %"
    complete = _check_calls(row, tap_full[0], truth)
    if differs:
        row.notes.append(f"the bare tap's records are not the tap's: {differs}")
        complete = False
    row.ok = complete and row.value >= 100
    spread = ""
    if bench.sizes.record_repeats > 1:
        spread = (
            f"; median of {bench.sizes.record_repeats} runs: tap "
            f"{statistics.median(r.cpu for r in tap_full):.2f}, bare {statistics.median(r.cpu for r in bare_full):.2f} s"
        )
    row.notes.append(
        f"{records:,} calls records (only `calls` selected, small transcripts not requested); least CPU of "
        f"{bench.sizes.record_repeats} run(s): tap {cpu['tap']:.2f} s - {cpu['tap0']:.2f} s at 0 records = "
        f"{1e6 * tap_per_record:.0f} us/record; bare {cpu['bare']:.2f} s - {cpu['bare0']:.2f} s = "
        f"{1e6 * bare_per_record:.0f} us/record{spread}"
    )


# ------------------------------------------------------------------------------------------------ 5
def memory_growth(bench: Bench, row: Row) -> None:
    small, large = bench.sizes.memory_small, bench.sizes.memory_large
    rss: dict[int, Run] = {}
    for n in (small, large):
        name = f"5-memory-{n}"
        with bench.sandbox(name, gong_calls=n, gong_span_days=365, transcript_size="small") as sb:
            truth = sb.truth()
            run = (
                bench.tap(name).run("tap", sb.gong_config(requests_per_second=NO_LIMIT), timeout=1200).check()
            )
        rss[n] = run
        if not _check_calls(row, run, truth):
            row.notes.append(f"(the run with {n:,} calls)")
    row.value = rss[large].maxrss_kb / rss[small].maxrss_kb
    row.measured = f"{row.value:.2f}"
    row.ok = not row.notes and row.value <= 1.2
    row.notes.append(
        f"all Gong streams, small transcripts, no cap: peak RSS {rss[small].maxrss_kb / 1024:.1f} MiB at "
        f"{small:,} calls, {rss[large].maxrss_kb / 1024:.1f} MiB at {large:,} calls "
        f"({rss[large].wall:.0f} s wall)"
    )


# ------------------------------------------------------------------------------------------------ 6
def _busiest_second(times: list[float]) -> int:
    """Most requests starting within any 1-second span."""
    best, lo = 0, 0
    for hi, t in enumerate(times):
        while times[lo] <= t - 1.0:
            lo += 1
        best = max(best, hi - lo + 1)
    return best


def clari_details_rate(bench: Bench, row: Row) -> None:
    n = bench.sizes.clari_calls
    with bench.sandbox("6-clari", gong_calls=0, clari_calls=n, clari_latency=0.15, clari_rate_limit=10) as sb:
        truth = sb.truth()
        run = bench.tap("6-clari").run("tap", sb.clari_config()).check()
        served = [s for s in sb.requests_log() if s["source"] == "clari"]
    details = sorted(s["t_start"] for s in served if s["path"] == DETAILS)
    everything = sorted(s["t_start"] for s in served)
    too_many = sum(1 for s in served if s["status"] == 429)
    span = details[-1] - details[0] if len(details) > 1 else 0.0
    row.value = (len(details) - 1) / span if span > 0 else 0.0
    peak = _busiest_second(everything)
    row.measured = f"{row.value:.2f} (peak {peak}/s, {too_many} x 429)"
    expected = truth["counts"]["clari_call"]
    complete = run.records_done("clari_calls") == expected
    if not complete:
        row.notes.append(f"the tap emitted {run.records_done('clari_calls')} clari_calls of {expected}")
    row.ok = complete and row.value >= 9 and peak <= 10 and too_many == 0
    row.notes.append(
        f"{n} Clari calls; {len(details)} details requests over {span:.1f} s (first to last start), "
        f"{len(served) - len(details)} list requests; tap default clari_requests_per_second"
    )


@dataclass(frozen=True)
class Measurement:
    number: int
    metric: str
    target: str
    run: Callable[[Bench, Row], None]

    def row(self, sizes: Sizes) -> Row:
        return Row(self.number, self.metric.format(sizes=sizes), self.target)


MEASUREMENTS = (
    Measurement(
        1, "Gong requests per 1,000 calls (calls, parties, transcripts)", "<= 21", requests_per_1000_calls
    ),
    Measurement(2, "Rate-cap use at 3 req/s: wall / (Gong requests / 3)", "<= 1.1, 0 x 429", rate_cap_use),
    Measurement(3, "Calls per tap CPU-second (realistic transcripts)", ">= 300", cpu_throughput),
    Measurement(4, "calls stream efficiency vs bare SDK stream", ">= 100 %", calls_record_efficiency),
    Measurement(
        5, "Peak RSS {sizes.memory_large:,} calls / {sizes.memory_small:,} calls", "<= 1.2", memory_growth
    ),
    Measurement(
        6,
        "Clari details per second (150 ms latency, cap 10)",
        ">= 9, peak <= 10/s, 0 x 429",
        clari_details_rate,
    ),
)
