"""Print the records per stream in DIR/*.jsonl (the demo's DIR is output/demo) next to what the running
sandbox expects.

Usage: python scripts/demo_counts.py --url SANDBOX_URL --output DIR --seed N --gong-calls N ...
(the sandbox's own parameters: parties are counted by rebuilding its deterministic data).
Exits 1 when a stream's count or primary keys differ from the sandbox's ground truth.
"""

from __future__ import annotations

import argparse
import json
import sys
import urllib.request
from datetime import timedelta
from pathlib import Path


def primary_keys() -> dict[str, tuple[str, ...]]:
    """The primary key of every stream the tap has (whichever sources are configured)."""
    from tap_calls.tap import TapCalls  # noqa: PLC0415 (the tap's venv runs this script)

    tap = TapCalls(config={}, parse_env_config=False, validate_config=False)
    return {name: tuple(stream.primary_keys or ()) for name, stream in tap.streams.items()}


def read_jsonl(path: Path) -> list[dict]:
    if not path.exists():
        return []
    with path.open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def expected_counts(args: argparse.Namespace) -> dict[str, int]:
    """What a complete run reads from the running sandbox, per stream (-1: could not be worked out)."""
    with urllib.request.urlopen(f"{args.url}/_sandbox/truth", timeout=30) as resp:  # noqa: S310 (local sandbox)
        truth = json.load(resp)
    calls = set(truth["gong_call_ids"])
    counts = {
        "calls": len(calls),
        "transcripts": len(calls & set(truth["gong_transcript_call_ids"])),
        "users": len(truth["gong_user_ids"]),
        "clari_calls": len(truth["clari_call_ids"]),
    }
    # The truth lists no parties nor the other streams: rebuild the same deterministic data set and count.
    from calls_sandbox import Sandbox  # noqa: PLC0415 (only needed here)
    from calls_sandbox.data import parse_iso  # noqa: PLC0415

    twin = Sandbox(
        seed=args.seed,
        now=parse_iso(truth["now"]),
        gong_calls=args.gong_calls,
        gong_span_days=args.gong_span_days,
        clari_calls=args.clari_calls,
        clari_span_days=args.clari_span_days,
    )
    if {c.id for c in twin.gong.expected_calls()} != calls:
        return {**counts, "parties": -1}  # could not rebuild: parameters differ
    counts["parties"] = sum(len(twin.gong.parties(c)) for c in twin.gong.expected_calls())
    more, clari = twin.gong_more, twin.clari_more
    # The demo starts a day before the span; the stats streams read up to the company's yesterday.
    first = (twin.now - timedelta(days=args.gong_span_days + 2)).date()
    counts.update(
        workspaces=len(twin.gong.workspaces),
        scorecards=len(more.scorecards),
        answered_scorecards=len(more.expected_answered()),
        trackers=len(more.trackers),
        call_outcomes=len(more.call_outcomes),
        library_folders=len(more.folders),
        library_folder_calls=sum(len(more.folder_content(f["id"])["calls"]) for f in more.folders),
        user_daily_activity=len(more.expected_daily_activity(first, more.today())),
        interaction_stats=len(more.expected_interaction_stats(first, more.today())),
        clari_users=len(clari.expected_users()),
        clari_topics=len(clari.expected_topics()),
        clari_scorecards=len(clari.expected_scorecards()),
        clari_scorecard_templates=len(clari.expected_templates()),
    )
    return counts


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--url", required=True)
    p.add_argument("--output", type=Path, default=Path("output"))
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--gong-calls", type=int, default=1250)
    p.add_argument("--gong-span-days", type=float, default=400)
    p.add_argument("--clari-calls", type=int, default=300)
    p.add_argument("--clari-span-days", type=float, default=400)
    args = p.parse_args()

    expected = expected_counts(args)
    keys_of = primary_keys()
    # Every stream that wrote a file, and every stream the sandbox has data for.
    emitted = {path.stem for path in args.output.glob("*.jsonl")}
    streams = sorted(emitted | {name for name, n in expected.items() if n != 0}, key=list(keys_of).index)
    ok = True
    rows = []
    for stream in streams:
        records = read_jsonl(args.output / f"{stream}.jsonl")
        keys = {tuple(r.get(k) for k in keys_of[stream]) for r in records}
        exp = expected.get(stream, -1)
        good = len(keys) == len(records) and (exp < 0 or len(records) == exp)
        ok &= good
        verdict = "ok" if good and exp >= 0 else ("ok (no expected count)" if good else "MISMATCH")
        rows.append((stream, len(records), len(keys), "?" if exp < 0 else str(exp), verdict))

    width = max(len(s) for s in streams)
    lines = [f"{'stream':<{width}} {'records':>8} {'unique keys':>12} {'expected':>9}  check"]
    lines += [f"{s:<{width}} {n:>8} {uniq:>12} {exp:>9}  {verdict}" for s, n, uniq, exp, verdict in rows]
    lines.append(f"{len(streams)} streams; files: {args.output.resolve()}/<stream>.jsonl")
    sys.stdout.write("\n" + "\n".join(lines) + "\n")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
