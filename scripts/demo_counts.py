"""Print the records per stream in DIR/*.jsonl (the demo's DIR is output/demo), compactly, every stream found,
checked against what the running sandbox expects where its ground truth says (the streams of STREAMS).

Usage: python scripts/demo_counts.py --url SANDBOX_URL --output DIR --seed N --gong-calls N ...
(the sandbox's own parameters: parties are counted by rebuilding its deterministic data).
Exits 1 when a stream's count or primary keys differ from the sandbox's ground truth.
"""

from __future__ import annotations

import argparse
import json
import sys
import urllib.request
from pathlib import Path

STREAMS = ("calls", "parties", "transcripts", "users", "clari_calls")
KEYS = {
    "calls": ("id",),
    "parties": ("call_id", "id"),
    "transcripts": ("call_id",),
    "users": ("id",),
    "clari_calls": ("id",),
}


def read_jsonl(path: Path) -> list[dict]:
    if not path.exists():
        return []
    with path.open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def expected_counts(args: argparse.Namespace) -> dict[str, int]:
    with urllib.request.urlopen(f"{args.url}/_sandbox/truth", timeout=30) as resp:  # noqa: S310 (local sandbox)
        truth = json.load(resp)
    calls = set(truth["gong_call_ids"])
    counts = {
        "calls": len(calls),
        "transcripts": len(calls & set(truth["gong_transcript_call_ids"])),
        "users": len(truth["gong_user_ids"]),
        "clari_calls": len(truth["clari_call_ids"]),
    }
    # The truth lists no parties: rebuild the same deterministic data set and count them.
    from calls_sandbox import Sandbox  # noqa: PLC0415 (only needed here)
    from calls_sandbox.data import parse_iso  # noqa: PLC0415

    twin = Sandbox(
        seed=args.seed,
        now=parse_iso(truth["now"]),
        gong_calls=args.gong_calls,
        gong_span_days=args.gong_span_days,
        clari_calls=args.clari_calls,
    )
    twin_ids = {c.id for c in twin.gong.expected_calls()}
    if twin_ids != calls:
        counts["parties"] = -1  # could not rebuild: parameters differ
    else:
        counts["parties"] = sum(len(twin.gong.parties(c)) for c in twin.gong.expected_calls())
    return counts


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--url", required=True)
    p.add_argument("--output", type=Path, default=Path("output"))
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--gong-calls", type=int, default=1250)
    p.add_argument("--gong-span-days", type=float, default=400)
    p.add_argument("--clari-calls", type=int, default=300)
    args = p.parse_args()

    expected = expected_counts(args)
    ok = True
    cells = []
    found = sorted(p.stem for p in args.output.glob("*.jsonl"))
    for stream in [*STREAMS, *(s for s in found if s not in STREAMS)]:
        records = read_jsonl(args.output / f"{stream}.jsonl")
        if stream not in expected:
            cells.append(f"{stream} {len(records):,}")
            continue
        keys = {tuple(r.get(k) for k in KEYS[stream]) for r in records}
        exp = expected[stream]
        good = len(records) == exp and len(keys) == len(records)
        ok &= good
        cells.append(
            f"{stream} {len(records):,} ok"
            if good
            else f"{stream} {len(records):,} ({len(keys):,} keys) MISMATCH, expected {'?' if exp < 0 else exp}"
        )

    lines, line = (
        [f"Records per stream ('ok': as the sandbox's ground truth), in {args.output}/<stream>.jsonl:"],
        "",
    )
    for cell in cells:
        if line and len(line) + len(cell) + 3 > 110:
            lines.append(line)
            line = ""
        line = f"{line} · {cell}" if line else f"  {cell}"
    lines.append(line)
    sys.stdout.write("\n" + "\n".join(lines) + "\n")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
