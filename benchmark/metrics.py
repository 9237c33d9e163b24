"""The measurements. Each starts its own sandbox process, runs the tap as a subprocess, and fills in a Row."""

from __future__ import annotations

import collections
import itertools
import json
import statistics
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from benchmark.harness import (
    CALL_STREAMS,
    PYTHON,
    REPO,
    Output,
    Run,
    Sandbox,
    TapRunner,
    iso,
    log,
    read_output,
    run_process,
    select_only,
    select_streams,
)
from benchmark.stops import clari_spread_backfill, gong_quota_stop, gong_spread_backfill

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
    latency_calls: int  # 7, 8: Gong calls, about 100 a day
    gong_latency: tuple[float, float]  # 7, 8: the sandbox answers every Gong request after this many seconds
    clari_latency: float  # 9
    clari_latency_calls: int  # 9
    hourly_gong_per_day: int  # 10: Gong calls a day, over the 7-day look-back
    hourly_clari_calls: int  # 11: Clari calls over 14 days
    hourly_uncapped: bool  # 10, 11: the counted runs without the rate caps too (quick: counts only, faster)
    sentence_calls: int  # 12: calls with realistic transcripts
    sentence_record_calls: int  # 13
    spread_gong_calls: int  # spread backfill and quota stop: Gong calls over 400 days
    spread_gong_budget: int  # spread backfill: max_requests_per_run for Gong
    spread_clari_calls: int  # spread backfill: Clari calls over 200 days
    spread_clari_budget: int  # spread backfill: max_requests_per_run for Clari
    quota_stop_after: int  # quota stop: Gong requests before its daily quota runs out


FULL = Sizes(
    requests_calls=20_000,
    rate_calls=3_000,
    cpu_calls=5_000,
    record_calls=20_000,
    record_repeats=3,
    memory_small=10_000,
    memory_large=100_000,
    clari_calls=300,
    latency_calls=12_000,
    gong_latency=(1.0, 2.0),
    clari_latency=1.5,
    clari_latency_calls=600,
    hourly_gong_per_day=1_000,
    hourly_clari_calls=2_000,
    hourly_uncapped=False,
    spread_gong_calls=12_000,
    spread_gong_budget=100,
    spread_clari_calls=3_000,
    spread_clari_budget=600,
    quota_stop_after=120,
    sentence_calls=1_000,
    sentence_record_calls=300,
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
    latency_calls=100,
    gong_latency=(0.1, 0.2),
    clari_latency=0.15,
    clari_latency_calls=12,
    hourly_gong_per_day=30,
    hourly_clari_calls=60,
    hourly_uncapped=True,
    spread_gong_calls=600,
    spread_gong_budget=8,
    spread_clari_calls=60,
    spread_clari_budget=20,
    quota_stop_after=8,
    sentence_calls=20,
    sentence_record_calls=10,
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


def _keep_timeline(workdir: Path, sb: Sandbox) -> list[dict]:
    """The sandbox's log of Gong and Clari requests, also kept as ``requests.jsonl`` (to study a --workdir)."""
    served = [s for s in sb.requests_log() if s["source"] != "control"]
    with open(workdir / "requests.jsonl", "w", encoding="utf-8") as out:
        for s in served:
            out.write(json.dumps({k: s[k] for k in ("source", "path", "status", "t_start", "t_end")}) + "\n")
    return served


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
        f"(user {run.user:.2f} + sys {run.sys:.2f}, startup included), wall {run.wall:.1f} s; "
        f"peak RSS {run.maxrss_kb / 1024:.0f} MiB (issue 10: below 150 MiB with realistic transcripts)"
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
        f"the call streams, small transcripts, no cap: peak RSS {rss[small].maxrss_kb / 1024:.1f} MiB at "
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


def _clari_details_rate(bench: Bench, row: Row, *, name: str, calls: int, latency: float) -> None:
    """Details/s (first to last start), the busiest second of all Clari requests, and 429s."""
    with bench.sandbox(
        name, gong_calls=0, clari_calls=calls, clari_latency=latency, clari_rate_limit=10
    ) as sb:
        truth = sb.truth()
        runner = bench.tap(name)
        run = runner.run("tap", sb.clari_config()).check()
        served = [s for s in _keep_timeline(runner.workdir, sb) if s["source"] == "clari"]
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
        f"{calls} Clari calls answered after {latency:g} s; {len(details)} details requests over {span:.1f} s "
        f"(first to last start), {len(served) - len(details)} list requests; tap default "
        f"clari_requests_per_second; tap wall {run.wall:.1f} s"
    )


def clari_details_rate(bench: Bench, row: Row) -> None:
    _clari_details_rate(bench, row, name="6-clari", calls=bench.sizes.clari_calls, latency=0.15)


# ------------------------------------------------------------------------------------------------ 7, 8
GONG_RECORDS = {
    "calls": lambda call: {"id": call["id"], "party_ids": [p.get("id") for p in call.get("parties") or []]},
    "parties": ("call_id", "id"),
    "transcripts": ("call_id",),
}


def _exact_gong(output: Output, truth: dict) -> list[str]:
    """What differs between the Gong records a tap emitted and the sandbox's truth (empty: exact)."""
    problems: list[str] = []
    public = set(truth["gong_call_ids"])
    with_transcript = public.intersection(truth["gong_transcript_call_ids"])
    for stream, key, wanted in (("calls", "id", public), ("transcripts", "call_id", with_transcript)):
        ids = output.ids(stream, key)
        got = set(ids)
        if len(ids) != len(got) or got != wanted:
            problems.append(
                f"{stream}: {len(ids)} records, {len(got)} distinct ids, {len(wanted)} expected; "
                f"{len(wanted - got)} missing, {len(got - wanted)} unexpected"
            )
    nested = collections.Counter(
        (call["id"], party_id) for call in output.records.get("calls", []) for party_id in call["party_ids"]
    )
    parties = collections.Counter((p["call_id"], p["id"]) for p in output.records.get("parties", []))
    if parties != nested:
        problems.append(
            f"parties: {parties.total()} records, {nested.total()} in the calls' `parties`; "
            f"{(nested - parties).total()} missing, {(parties - nested).total()} unexpected"
        )
    return problems


def _gong_rate_at_latency(bench: Bench, row: Row, delay: float) -> None:
    n = bench.sizes.latency_calls
    span_days = n / 100
    name = f"{row.number}-gong-latency"
    runner = bench.tap(name)
    out_path = runner.workdir / "tap.jsonl"
    with bench.sandbox(
        name,
        gong_calls=n,
        gong_span_days=span_days,
        transcript_size="small",
        gong_rate_limit=3,
        gong_latency=delay,
    ) as sb:
        truth = sb.truth()
        run = runner.run("tap", sb.gong_config(), stdout=out_path, timeout=1500).check()
        requests = sb.count("gong")
        too_many = sb.count("gong", status=429)
        extensive, transcript = sb.count("gong", (EXTENSIVE,), 200), sb.count("gong", (TRANSCRIPT,), 200)
        _keep_timeline(runner.workdir, sb)
    output = read_output(out_path, GONG_RECORDS)
    out_path.unlink()
    problems = _exact_gong(output, truth)
    row.notes += problems
    row.value = run.wall / (requests / 3)
    share = 100 * too_many / requests
    row.measured = f"{row.value:.3f} ({too_many} x 429 = {share:.1f} %)"
    row.ok = not problems and row.value <= 1.15 and share <= 1
    row.notes.append(
        f"{n:,} calls over {span_days:g} day{'' if span_days == 1 else 's'} answered after {delay:g} s, sandbox limit 3/s, small transcripts, "
        f"tap default requests_per_second; {requests} Gong requests (all paths and statuses; {extensive} "
        f"{EXTENSIVE} + {transcript} {TRANSCRIPT} answered 200) in {run.wall:.1f} s of tap wall time "
        f"(ideal {requests / 3:.1f} s); calls, parties and transcripts "
        + ("exact" if not problems else "NOT exact")
        + f" ({len(output.records.get('calls', []))} calls, {len(output.records.get('parties', []))} parties, "
        f"{len(output.records.get('transcripts', []))} transcripts)"
    )


def gong_rate_at_1s(bench: Bench, row: Row) -> None:
    _gong_rate_at_latency(bench, row, bench.sizes.gong_latency[0])


def gong_rate_at_2s(bench: Bench, row: Row) -> None:
    _gong_rate_at_latency(bench, row, bench.sizes.gong_latency[1])


# ------------------------------------------------------------------------------------------------ 9
def clari_details_rate_at_latency(bench: Bench, row: Row) -> None:
    _clari_details_rate(
        bench,
        row,
        name="9-clari-latency",
        calls=bench.sizes.clari_latency_calls,
        latency=bench.sizes.clari_latency,
    )


# ------------------------------------------------------------------------------------------------ 10, 11
# An hourly schedule: 23 runs a day re-read a short overlap before the bookmark, one a day the full look-back.
SHORT_RUNS_A_DAY = 23
GONG_QUOTA_PER_DAY = 10_000
CLARI_QUOTA_PER_WEEK = 100_000


def _instant(value: str) -> datetime:
    return datetime.fromisoformat(value).astimezone(UTC)


def _bookmark(state: dict | None, stream: str) -> datetime:
    value = ((state or {}).get("bookmarks", {}).get(stream) or {}).get("replication_key_value")
    if not value:
        raise RuntimeError(f"the tap's last STATE has no bookmark for {stream}: {str(state)[:300]}")
    return _instant(value)


@dataclass
class _Schedule:
    """Runs of the tap against one sandbox, each from the previous run's STATE, counting requests per run."""

    runner: TapRunner
    sb: Sandbox
    source: str  # "gong" | "clari"
    config: dict
    keep: dict  # what to read back of the records (read_output)
    state: dict | None = None
    uncapped: bool = False  # every run without the rate caps (else only where a run says so)
    log: list[dict] = field(default_factory=list)  # the last run's requests

    def run(self, name: str, **settings: object) -> tuple[Output, dict[str, int]]:
        """One run from the last STATE; its records and its requests: per path, ``total``, ``404``, ``429``."""
        self.sb.clear()
        if self.uncapped:
            settings = {"requests_per_second": NO_LIMIT, "clari_requests_per_second": NO_LIMIT, **settings}
        path = self.runner.workdir / f"{name}.jsonl"
        self.runner.run(
            name, {**self.config, **settings}, state=self.state, stdout=path, timeout=1500
        ).check()
        self.log = [s for s in self.sb.requests_log(bodies=True) if s["source"] == self.source]
        with open(self.runner.workdir / f"{name}.requests.jsonl", "w", encoding="utf-8") as out:
            out.writelines(json.dumps(s) + "\n" for s in self.log)
        output = read_output(path, self.keep)
        path.unlink()
        if output.state is None:
            raise RuntimeError(f"{name}: the tap wrote no STATE")
        self.state = output.state
        counts = collections.Counter(s["path"] for s in self.log)
        counts.update(
            total=len(self.log), **{str(c): sum(1 for s in self.log if s["status"] == c) for c in (404, 429)}
        )
        log(f"{name}: {_paths(counts)}")
        return output, dict(counts)


def _paths(counts: dict[str, int]) -> str:
    parts = [f"{n} {path}" for path, n in sorted(counts.items()) if path.startswith("/")]
    statuses = "".join(f", {counts[c]} answered {c}" for c in ("404", "429") if counts.get(c))
    return f"{counts.get('total', 0)} requests = " + " + ".join(parts or ["0"]) + statuses


def _missing(problems: list[str], what: str, wanted: set, got: set) -> None:
    if not wanted <= got:
        problems.append(f"{what}: {len(wanted - got)} of {len(wanted)} not emitted")


def _settings(bench: Bench) -> str:
    return "no rate caps (quick)" if bench.sizes.hourly_uncapped else "default settings"


def _per_day(short: int, full: int) -> int:
    return SHORT_RUNS_A_DAY * short + full


def gong_hourly(bench: Bench, row: Row) -> None:
    per_day = bench.sizes.hourly_gong_per_day
    days = 7  # the default lookback_days: a full look-back re-lists the whole account
    name = "10-gong-hourly"
    problems: list[str] = []
    keep = {"calls": ("id", "started"), "transcripts": ("call_id",)}
    with bench.sandbox(name, gong_calls=per_day * days, gong_span_days=days, transcript_size="small") as sb:
        config = sb.gong_config()
        del config["end_date"]  # a scheduled run reads up to its own start
        schedule = _Schedule(bench.tap(name), sb, "gong", config, keep, uncapped=bench.sizes.hourly_uncapped)
        backfill, backfill_counts = schedule.run("backfill", requests_per_second=NO_LIMIT)
        truth = sb.truth()
        public = set(truth["gong_call_ids"])
        had_transcript = set(truth["gong_transcript_call_ids"])
        if set(backfill.ids("calls")) != public:
            problems.append(f"backfill: {len(set(backfill.ids('calls')))} calls of {len(public)}")
        if set(backfill.ids("transcripts", "call_id")) != public & had_transcript:
            problems.append(
                f"backfill: {len(backfill.records.get('transcripts', []))} transcripts of {len(public & had_transcript)}"
            )
        bookmark = _bookmark(schedule.state, "calls")

        # A run right after, nothing new: the short overlap only.
        _, right_after = schedule.run("right-after")

        # An hour later: an hour's new calls (published at once) after the bookmark.
        added = sb.post(
            "/_sandbox/gong/add_calls",
            {
                "n": max(1, round(per_day / 24)),
                "started_from": iso(bookmark + timedelta(seconds=1)),
                "started_to": iso(datetime.now(UTC)),
            },
        )["ids"]
        truth = sb.truth()
        new = set(added) & set(truth["gong_call_ids"])
        hourly, hourly_counts = schedule.run("hour-later")
        _missing(problems, "hour later: new calls", new, set(hourly.ids("calls")))
        _missing(
            problems,
            "hour later: transcripts of new calls",
            new & set(truth["gong_transcript_call_ids"]),
            set(hourly.ids("transcripts", "call_id")),
        )

        # The daily full look-back, after 5 late calls (1 to 5 days back) and 5 late transcripts of calls the
        # backfill emitted without one.
        late = sb.post(
            "/_sandbox/gong/add_calls",
            {
                "n": 5,
                "started_from": iso(bookmark - timedelta(days=5)),
                "started_to": iso(bookmark - timedelta(days=1)),
            },
        )["ids"]
        look_back = bookmark - timedelta(days=7)
        in_look_back = [c["id"] for c in backfill.records["calls"] if _instant(c["started"]) >= look_back]
        late_transcripts = sorted(set(in_look_back) - had_transcript)[:5]
        for call_id in late_transcripts:
            sb.post("/_sandbox/gong/update_call", {"id": call_id, "has_transcript": True})
        truth = sb.truth()
        full, full_counts = schedule.run("full-look-back", lookback_interval_hours=0)
        asked = [
            len(s["body"]["filter"]["callIds"])
            for s in schedule.log
            if s["path"] == TRANSCRIPT and (s.get("body") or {}).get("filter", {}).get("callIds")
        ]
        late_public = set(late) & set(truth["gong_call_ids"])
        _missing(problems, "full look-back: late calls", late_public, set(full.ids("calls")))
        _missing(
            problems,
            "full look-back: late transcripts",
            (late_public & set(truth["gong_transcript_call_ids"])) | set(late_transcripts),
            set(full.ids("transcripts", "call_id")),
        )
    short, whole, transcripts = right_after["total"], full_counts["total"], full_counts.get(TRANSCRIPT, 0)
    row.value = _per_day(hourly_counts["total"], whole)
    share = 100 * row.value / GONG_QUOTA_PER_DAY
    row.measured = (
        f"{short} / {whole} ({transcripts} transcript); {row.value:,.0f}/day = {share:.1f} % of quota"
    )
    row.ok = not problems and short <= 10 and whole <= 95 and transcripts <= 12
    row.notes += problems
    row.notes += [
        f"{per_day:,} calls a day over {days} days ({len(public):,} public, {len(in_look_back):,} in the 7-day "
        f"look-back, {len(set(in_look_back) - had_transcript)} of them without a transcript); {_settings(bench)}, "
        f"backfill without cap: {_paths(backfill_counts)}",
        f"right after: {_paths(right_after)}; an hour later ({len(new)} new calls): {_paths(hourly_counts)}",
        f"full look-back ({len(late_public)} late calls, {len(late_transcripts)} late transcripts): "
        f"{_paths(full_counts)}; the transcript requests asked for {sum(asked):,} call ids (up to "
        f"{max(asked, default=0)} a request) and emitted {len(full.ids('transcripts', 'call_id')):,} transcripts, "
        f"{len(set(full.ids('transcripts', 'call_id')) & set(backfill.ids('transcripts', 'call_id'))):,} of them "
        f"already emitted by the backfill",
        f"hourly schedule: {SHORT_RUNS_A_DAY} x {hourly_counts['total']} (an hour later) + 1 x {whole} (full "
        f"look-back) = {row.value:,.0f} Gong requests/day = {share:.1f} % of the {GONG_QUOTA_PER_DAY:,}/day quota",
    ]


def clari_hourly(bench: Bench, row: Row) -> None:
    n = bench.sizes.hourly_clari_calls
    days = 14
    name = "11-clari-hourly"
    problems: list[str] = []
    keep = {"clari_calls": ("id", "last_modified_time")}
    with bench.sandbox(name, gong_calls=0, clari_calls=n, clari_span_days=days) as sb:
        config = sb.clari_config()
        del config["end_date"]
        schedule = _Schedule(bench.tap(name), sb, "clari", config, keep, uncapped=bench.sizes.hourly_uncapped)
        backfill, backfill_counts = schedule.run("backfill", clari_requests_per_second=NO_LIMIT)
        truth = sb.truth()
        if sorted(backfill.ids("clari_calls")) != sorted(truth["clari_call_ids"]):
            problems.append(
                f"backfill: {len(backfill.ids('clari_calls'))} clari_calls of {len(truth['clari_call_ids'])}"
            )
        bookmark = _bookmark(schedule.state, "clari_calls")

        _, right_after = schedule.run("right-after")

        # An hour later: an hour's new calls, modified in the last hour.
        now = datetime.now(UTC)
        added = sb.post(
            "/_sandbox/clari/add_calls",
            {
                "n": max(1, round(n / days / 24)),
                "modified_from": iso(now - timedelta(hours=1)),
                "modified_to": iso(now),
            },
        )["ids"]
        new = set(added) & set(sb.truth()["clari_call_ids"])
        hourly, hourly_counts = schedule.run("hour-later")
        _missing(problems, "hour later: new calls", new, set(hourly.ids("clari_calls")))

        # The daily full look-back, after 10 calls of the look-back changed.
        look_back = bookmark - timedelta(days=7)
        in_look_back = [
            c["id"] for c in backfill.records["clari_calls"] if _instant(c["last_modified_time"]) >= look_back
        ]
        changed = sorted(in_look_back)[:10]
        sb.post(
            "/_sandbox/clari/modify", {"ids": changed, "at": iso(datetime.now(UTC) - timedelta(seconds=1))}
        )
        full, full_counts = schedule.run("full-look-back", lookback_interval_hours=0)
        _missing(problems, "full look-back: changed calls", set(changed), set(full.ids("clari_calls")))
        listed_from = min(
            (_instant(s["query"]["filterModifiedGt"][0]) for s in schedule.log if s["path"] == "/calls"),
            default=None,
        )
    if listed_from is None or listed_from > look_back + timedelta(minutes=1):
        problems.append(
            f"full look-back: the listing starts at {listed_from}, not 7 days before {iso(bookmark)}"
        )
    short, whole, details = right_after["total"], full_counts["total"], full_counts.get(DETAILS, 0)
    row.value = _per_day(hourly_counts["total"], whole)
    share = 100 * 7 * row.value / CLARI_QUOTA_PER_WEEK
    row.measured = f"{short} / {whole} ({details} details); {row.value:,.0f}/day = {share:.1f} % of quota"
    row.ok = not problems and short <= 40 and details <= 12
    row.notes += problems
    row.notes += [
        f"{n:,} calls over {days} days ({len(in_look_back):,} in the 7-day look-back); {_settings(bench)}, "
        f"backfill without cap: {_paths(backfill_counts)}",
        f"right after: {_paths(right_after)}; an hour later ({len(new)} new calls): {_paths(hourly_counts)}",
        f"full look-back ({len(changed)} calls changed): {_paths(full_counts)}",
        f"hourly schedule: {SHORT_RUNS_A_DAY} x {hourly_counts['total']} (an hour later) + 1 x {whole} (full "
        f"look-back) = {row.value:,.0f} Clari requests/day, {7 * row.value:,.0f}/week = {share:.1f} % of the "
        f"{CLARI_QUOTA_PER_WEEK:,}/week quota",
    ]


# ------------------------------------------------------------------------------------------- 12, 13, 14
# Transcripts as rows (issue 31). At Gong's cap (3 requests/s, about 2 requests per 100 calls) a backfill
# receives 150 calls a second; its daily quota (10,000 requests, about 21 per 1,000 calls) allows about 476,000
# calls a day, 5.5 a second sustained. SENTENCE_TARGET is 10 x what that daily quota delivers in sentences per
# second at the realistic transcripts' sentences per call (measured in the run).
GONG_QUOTA_CALLS_PER_SECOND = 10_000 / 21 * 1000 / 86_400
SENTENCE_HEADROOM = 10


def _sentence_truth(sb: Sandbox) -> dict:
    return sb.get("/_sandbox/sentences")


def sentence_throughput(bench: Bench, row: Row) -> None:
    n = bench.sizes.sentence_calls
    runner = bench.tap("12-sentences")
    with bench.sandbox("12-sentences", gong_calls=n, gong_span_days=365, transcript_size="realistic") as sb:
        truth = _sentence_truth(sb)
        config = sb.gong_config(requests_per_second=NO_LIMIT)
        catalog = select_only(runner.discover(config), "transcript_sentences")
        run = runner.run("tap", config, catalog=catalog, stdout=runner.workdir / "tap.jsonl").check()
    emitted = run.records_done("transcript_sentences")
    sentences, transcripts = truth["gong_sentences"], truth["gong_transcripts"]
    per_call = sentences / max(1, transcripts)
    target = SENTENCE_HEADROOM * GONG_QUOTA_CALLS_PER_SECOND * per_call
    row.value = sentences / run.cpu
    row.measured = f"{row.value:,.0f}"
    complete = emitted == sentences
    if not complete:
        row.notes.append(f"the tap emitted {emitted} sentences, the sandbox served {sentences}")
    row.ok = complete and row.value >= target
    (runner.workdir / "tap.jsonl").unlink()
    at_rate_cap = 150 * per_call
    row.notes.append(
        f"only transcript_sentences selected, {transcripts:,} realistic transcripts ({per_call:.0f} sentences "
        f"a call), {sentences:,} sentences in {run.cpu:.2f} CPU-s (user {run.user:.2f} + sys {run.sys:.2f}, "
        f"startup included), wall {run.wall:.1f} s, peak RSS {run.maxrss_kb / 1024:.0f} MiB. Target: 10 x "
        f"Gong's daily quota ({GONG_QUOTA_CALLS_PER_SECOND:.1f} calls/s sustained) = {target:,.0f} sentences/s; "
        f"a burst at the 3/s rate cap (150 calls/s) would bring {at_rate_cap:,.0f}/s, "
        f"{row.value / at_rate_cap:.2f} x of it"
    )


def sentence_record_efficiency(bench: Bench, row: Row) -> None:
    """As metric 4, for `transcript_sentences`: CPU per record of the tap vs a bare SDK stream of the same rows."""
    n = bench.sizes.sentence_record_calls
    runner = bench.tap("13-sentence-records")
    work = runner.workdir
    with bench.sandbox(
        "13-sentence-records", gong_calls=n, gong_span_days=365, transcript_size="realistic"
    ) as sb:
        truth = _sentence_truth(sb)
        config = sb.gong_config(requests_per_second=NO_LIMIT)
        catalog = select_only(runner.discover(config), "transcript_sentences")
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
    records = _split_tap_output(work / "tap-0.jsonl", schema_path, records_path, "transcript_sentences")
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
            log(f"{name}: python -m benchmark.bare_tap")
            run = run_process(args, name=name, workdir=work, stdout=work / f"{name}.jsonl", cwd=REPO).check()
            log(f"{name}: exit 0, wall {run.wall:.2f} s, cpu {run.cpu:.2f} s")
            runs.append(run)
    differs = _same_records(records_path, work / "bare-0.jsonl")
    for i in range(bench.sizes.record_repeats):
        (work / f"bare-{i}.jsonl").unlink()
    records_path.unlink()
    cpu = {
        name: min(r.cpu for r in runs)
        for name, runs in (("tap", tap_full), ("tap0", tap_empty), ("bare", bare_full), ("bare0", bare_empty))
    }
    tap_per_record = (cpu["tap"] - cpu["tap0"]) / records
    bare_per_record = (cpu["bare"] - cpu["bare0"]) / records
    row.value = 100 * bare_per_record / tap_per_record
    row.measured = f"{row.value:.0f} %"
    complete = records == truth["gong_sentences"]
    if not complete:
        row.notes.append(f"the tap emitted {records} sentences, the sandbox served {truth['gong_sentences']}")
    if differs:
        row.notes.append(f"the bare tap's records are not the tap's: {differs}")
        complete = False
    row.ok = complete and row.value >= 100
    row.notes.append(
        f"{records:,} transcript_sentences records (alone: the tap also lists the calls and decodes the "
        f"transcripts); least CPU of {bench.sizes.record_repeats} run(s): tap {cpu['tap']:.2f} s - "
        f"{cpu['tap0']:.2f} s at 0 records = {1e6 * tap_per_record:.1f} us/record; bare {cpu['bare']:.2f} s - "
        f"{cpu['bare0']:.2f} s = {1e6 * bare_per_record:.1f} us/record"
    )


def sentence_memory_growth(bench: Bench, row: Row) -> None:
    """As metric 5, with `transcript_sentences` selected too."""
    small, large = bench.sizes.memory_small, bench.sizes.memory_large
    rss: dict[int, Run] = {}
    counts: dict[int, tuple[int | None, int]] = {}
    for n in (small, large):
        name = f"14-memory-{n}"
        runner = bench.tap(name)
        with bench.sandbox(name, gong_calls=n, gong_span_days=365, transcript_size="small") as sb:
            truth = sb.truth()
            sentences = _sentence_truth(sb)["gong_sentences"]
            config = sb.gong_config(requests_per_second=NO_LIMIT)
            catalog = select_streams(runner.discover(config), (*CALL_STREAMS, "transcript_sentences"))
            run = runner.run("tap", config, catalog=catalog, timeout=1800).check()
        rss[n] = run
        counts[n] = (run.records_done("transcript_sentences"), sentences)
        if not _check_calls(row, run, truth):
            row.notes.append(f"(the run with {n:,} calls)")
        if counts[n][0] != sentences:
            row.notes.append(
                f"{n:,} calls: the tap emitted {counts[n][0]} sentences, the sandbox served {sentences}"
            )
    row.value = rss[large].maxrss_kb / rss[small].maxrss_kb
    row.measured = f"{row.value:.2f}"
    row.ok = not row.notes and row.value <= 1.2
    row.notes.append(
        f"the call streams and transcript_sentences, small transcripts, no cap: peak RSS "
        f"{rss[small].maxrss_kb / 1024:.1f} MiB at {small:,} calls ({counts[small][1]:,} sentences), "
        f"{rss[large].maxrss_kb / 1024:.1f} MiB at {large:,} calls ({counts[large][1]:,} sentences, "
        f"{rss[large].wall:.0f} s wall)"
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
    Measurement(
        7,
        "Rate-cap use, Gong answering in {sizes.gong_latency[0]:g} s: wall / (Gong requests / 3)",
        "<= 1.15, 429s <= 1 %",
        gong_rate_at_1s,
    ),
    Measurement(
        8,
        "Rate-cap use, Gong answering in {sizes.gong_latency[1]:g} s: wall / (Gong requests / 3)",
        "<= 1.15, 429s <= 1 %",
        gong_rate_at_2s,
    ),
    Measurement(
        9,
        "Clari details per second ({sizes.clari_latency:g} s latency, cap 10)",
        ">= 9, peak <= 10/s, 0 x 429",
        clari_details_rate_at_latency,
    ),
    Measurement(
        10,
        "Gong hourly, {sizes.hourly_gong_per_day:,} calls/day: requests right after / full look-back",
        "<= 10 / <= 95 (<= 12 transcript)",
        gong_hourly,
    ),
    Measurement(
        11,
        "Clari hourly, {sizes.hourly_clari_calls:,} calls/14 days: right after / full look-back",
        "<= 40 / 10 changed: <= 12 details",
        clari_hourly,
    ),
    Measurement(
        12,
        "Transcript sentences per tap CPU-second (realistic transcripts, no cap)",
        ">= 10 x Gong's daily quota",
        sentence_throughput,
    ),
    Measurement(
        13, "transcript_sentences efficiency vs bare SDK stream", ">= 100 %", sentence_record_efficiency
    ),
    Measurement(
        14,
        "Peak RSS {sizes.memory_large:,} / {sizes.memory_small:,} calls, transcript_sentences selected",
        "<= 1.2",
        sentence_memory_growth,
    ),
    Measurement(
        15,
        "Gong backfill spread over runs, {sizes.spread_gong_calls:,} calls, max_requests_per_run "
        "{sizes.spread_gong_budget}: runs, all runs' requests / one full run's",
        "<= ceil(full / budget) + 2 runs, <= 1.25, nothing lost",
        gong_spread_backfill,
    ),
    Measurement(
        16,
        "Clari backfill spread over runs, {sizes.spread_clari_calls:,} calls, max_requests_per_run "
        "{sizes.spread_clari_budget}: runs, all runs' requests / one full run's",
        "<= ceil(full / budget) + 2 runs, <= 1.25, nothing lost",
        clari_spread_backfill,
    ),
    Measurement(
        17,
        "Gong quota stop after {sizes.quota_stop_after} requests: the resume's extensive requests / a full run's",
        "<= (full - half of what run 1 read) / full",
        gong_quota_stop,
    ),
)
